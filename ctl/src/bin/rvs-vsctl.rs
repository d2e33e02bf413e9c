//! `rvs-vsctl`: `ovs-vsctl` for rvs. Sends its arguments to `rvs-vswitchd`, which runs them
//! (see `rvs_dataplane::vsctl`), and prints the answer. Exit status: 0, 1 on error, 2 for
//! `br-exists` of a missing bridge.

use std::process::ExitCode;
use std::time::Duration;

use rvs_ctl::mgmt::{self, ClientError, Response, Tool};

const USAGE: &str = "\
rvs-vsctl: rvs-vswitchd management utility
usage: rvs-vsctl [OPTIONS] COMMAND [ARG...]

Open vSwitch commands:
  init                        initialize database, if not yet initialized
  show                        print overview of database contents
  emer-reset                  reset configuration to clean state

Bridge commands:
  add-br BRIDGE               create a new bridge named BRIDGE
  del-br BRIDGE               delete BRIDGE and all of its ports
  list-br                     print the names of all the bridges
  br-exists BRIDGE            exit 2 if BRIDGE does not exist
  br-to-vlan BRIDGE           print the VLAN which BRIDGE is on
  br-to-parent BRIDGE         print the parent of BRIDGE
  br-set-external-id BRIDGE KEY VALUE  set KEY on BRIDGE to VALUE
  br-set-external-id BRIDGE KEY  unset KEY on BRIDGE
  br-get-external-id BRIDGE KEY  print value of KEY on BRIDGE
  br-get-external-id BRIDGE  list key-value pairs on BRIDGE

Port commands:
  list-ports BRIDGE           print the names of all the ports on BRIDGE
  add-port BRIDGE PORT        add network device PORT to BRIDGE
  del-port [BRIDGE] PORT      delete PORT from BRIDGE
  port-to-br PORT             print name of bridge that contains PORT

Interface commands (one interface per port, named like the port):
  list-ifaces BRIDGE          print the names of all interfaces on BRIDGE
  iface-to-br IFACE           print name of bridge that contains IFACE

Controller commands:
  get-controller BRIDGE      print the controllers for BRIDGE
  del-controller BRIDGE      delete the controllers for BRIDGE
  set-controller BRIDGE TARGET...  set the controllers for BRIDGE
  get-fail-mode BRIDGE       print the fail-mode for BRIDGE
  del-fail-mode BRIDGE       delete the fail-mode for BRIDGE
  set-fail-mode BRIDGE MODE  set the fail-mode for BRIDGE to MODE

Database commands (tables Open_vSwitch, Bridge, Port, Interface):
  list TBL [REC]              list RECord (or all records) in TBL
  find TBL CONDITION...       list records satisfying CONDITION in TBL
  get TBL REC COL[:KEY]       print values of COLumns in RECord in TBL
  set TBL REC COL[:KEY]=VALUE set COLumn values in RECord in TBL
  add TBL REC COL [KEY=]VALUE add (KEY=)VALUE to COLumn in RECord in TBL
  remove TBL REC COL [KEY=]VALUE  remove (KEY=)VALUE from COLumn
  clear TBL REC COL           clear values from COLumn in RECord in TBL

Not supported by rvs: fake (VLAN) bridges, bonds, managers, SSL, auto-attach,
conntrack zones, create, destroy, wait-until.

Options:
  --no-wait                   accepted for compatibility (changes apply at once)
  -t, --timeout=SECS          wait at most SECS seconds for rvs-vswitchd
  --dry-run                   do not commit changes to the configuration
  --oneline                   print exactly one line of output per command
  --format=FORMAT             list/find output: list, table, csv, html or json
  --data=FORMAT               cell format: string, bare or json
  --no-headings, --pretty, --bare  as in ovs-vsctl
  --db=DATABASE               accepted and ignored (the daemon's socket is
                              $RVS_RUNDIR/rvs-vswitchd.ctl, default /var/run/rvs)

Other options:
  -h, --help                  display this help message
  -V, --version               display version information
";

/// What the client itself must know among the global options (which precede the first
/// command): help, version and the timeout. Everything else is for the daemon.
enum Local {
    Help,
    Version,
    Run(Option<Duration>),
}

fn local_options(args: &[String]) -> Result<Local, String> {
    let mut timeout = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--" || !a.starts_with('-') || a == "-" {
            break;
        }
        let value = match a {
            "-h" | "--help" => return Ok(Local::Help),
            "-V" | "--version" => return Ok(Local::Version),
            "-t" | "--timeout" => {
                i += 1;
                args.get(i).map(String::as_str)
            }
            _ => a.strip_prefix("--timeout=").or_else(|| a.strip_prefix("-t").filter(|v| !v.is_empty())),
        };
        if let Some(v) = value {
            timeout = Some(mgmt::parse_timeout(v).ok_or_else(|| format!("value {v} on -t or --timeout is invalid"))?);
        }
        i += 1;
    }
    Ok(Local::Run(timeout.flatten()))
}

/// Prints the daemon's answer and returns the exit status it asks for.
fn finish(response: Response) -> ExitCode {
    for warning in &response.warnings {
        eprintln!("rvs-vsctl: {}", warning.trim_end_matches('\n'));
    }
    match response.into_result() {
        Ok(output) => {
            print!("{output}");
            ExitCode::SUCCESS
        }
        Err((error, status)) => {
            if !error.is_empty() {
                eprintln!("rvs-vsctl: {}", error.trim_end_matches('\n'));
            }
            ExitCode::from(u8::try_from(status).unwrap_or(1))
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let timeout = match local_options(&args) {
        Ok(Local::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Local::Version) => {
            println!("rvs-vsctl (rvs) {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Ok(Local::Run(t)) => t,
        Err(e) => {
            eprintln!("rvs-vsctl: {e}");
            return ExitCode::FAILURE;
        }
    };
    match mgmt::call(Tool::Vsctl, &args, timeout) {
        Ok(response) => finish(response),
        Err(ClientError::Connect { path, source }) => {
            eprintln!("rvs-vsctl: unix:{}: database connection failed ({})", path.display(), mgmt::strerror(&source));
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("rvs-vsctl: {e}");
            ExitCode::FAILURE
        }
    }
}
