//! `rvs-appctl`: `ovs-appctl` for rvs. Sends a runtime command to `rvs-vswitchd` and prints
//! the answer. Exit status: 0; 2 when the daemon reports an error; 1 when it cannot be reached
//! or on bad usage.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use rvs_ctl::mgmt::{self, ClientError, Response, Tool};

const USAGE: &str = "\
rvs-appctl, for querying and controlling the rvs daemon
usage: rvs-appctl [TARGET] COMMAND [ARG...]
Targets:
  -t, --target=TARGET  daemon name or socket to contact (default: rvs-vswitchd,
                       whose socket is $RVS_RUNDIR/rvs-vswitchd.ctl)
Common commands:
  list-commands      List commands supported by the target
  version            Print version of the target
Other options:
  -T, --timeout=SECS wait at most SECS seconds for a response
  -h, --help         Print this helpful information
  -V, --version      Display rvs-appctl version information
";

/// The parsed command line.
struct Invocation {
    target: String,
    timeout: Option<Duration>,
    command: Vec<String>,
}

enum Parsed {
    Help,
    Version,
    Run(Invocation),
}

/// getopt_long-style parsing that stops at the first non-option (the command).
fn parse(args: &[String]) -> Result<Parsed, String> {
    let mut target = "rvs-vswitchd".to_string();
    let mut timeout = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') || a == "-" {
            break;
        }
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if a.starts_with("--") => (n, Some(v.to_string())),
            _ if !a.starts_with("--") && a.len() > 2 => (&a[..2], Some(a[2..].to_string())),
            _ => (a, None),
        };
        let mut value = |short: char| -> Result<String, String> {
            if let Some(v) = inline.clone() {
                return Ok(v);
            }
            i += 1;
            args.get(i).cloned().ok_or_else(|| {
                if name.starts_with("--") {
                    format!("option '{name}' requires an argument")
                } else {
                    format!("option requires an argument -- '{short}'")
                }
            })
        };
        match name {
            "-h" | "--help" => return Ok(Parsed::Help),
            "-V" | "--version" => return Ok(Parsed::Version),
            "-t" | "--target" => target = value('t')?,
            "-T" | "--timeout" => {
                let v = value('T')?;
                timeout = mgmt::parse_timeout(&v).ok_or_else(|| format!("value {v} on -T or --timeout is invalid"))?;
            }
            _ if name.starts_with("--") => return Err(format!("unrecognized option '{a}'")),
            _ => return Err(format!("invalid option -- '{}'", &name[1..])),
        }
        i += 1;
    }
    let command = args[i.min(args.len())..].to_vec();
    if command.is_empty() {
        return Err("at least one non-option argument is required (use --help for help)".into());
    }
    Ok(Parsed::Run(Invocation { target, timeout, command }))
}

/// The socket of `target`: a path if it contains a `/`, else `$RVS_RUNDIR/TARGET.ctl`.
fn socket_of(target: &str) -> PathBuf {
    if target.contains('/') {
        PathBuf::from(target)
    } else {
        mgmt::rundir().join(format!("{target}.ctl"))
    }
}

/// Prints the daemon's answer as `ovs-appctl` does and returns the exit status: 2 when the
/// daemon reports an error.
fn finish(response: Response, target: &str) -> ExitCode {
    for warning in &response.warnings {
        eprintln!("rvs-appctl: {}", warning.trim_end_matches('\n'));
    }
    match response.into_result() {
        Ok(output) => {
            print!("{output}");
            ExitCode::SUCCESS
        }
        Err((error, _)) => {
            eprint!("{error}");
            if !error.is_empty() && !error.ends_with('\n') {
                eprintln!();
            }
            eprintln!("rvs-appctl: {target}: server returned an error");
            ExitCode::from(2)
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let inv = match parse(&args) {
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Version) => {
            println!("rvs-appctl (rvs) {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Run(inv)) => inv,
        Err(e) => {
            eprintln!("rvs-appctl: {e}");
            return ExitCode::FAILURE;
        }
    };
    match mgmt::call_at(&socket_of(&inv.target), Tool::Appctl, &inv.command, inv.timeout) {
        Ok(response) => finish(response, &inv.target),
        Err(e @ ClientError::Connect { .. }) => {
            eprintln!("rvs-appctl: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("rvs-appctl: {}: {e}", inv.target);
            ExitCode::FAILURE
        }
    }
}
