//! Splitting an `rvs-vsctl` command line into global options and commands.
//!
//! `ovs-vsctl` parses its global options with `getopt_long` in "stop at the first non-option"
//! mode (so long options may be abbreviated, and take their argument as `--opt=ARG` or
//! `--opt ARG`); command options such as `--may-exist` given among the global options apply to
//! the first command. The rest is split at `--` into commands, each of which may start with
//! its own options. Every error message here is the one `ovs-vsctl` 3.1 (or glibc's getopt)
//! prints, without the program name.

use super::table::{CellFormat, Style, TableFormat};

/// A command `rvs-vsctl` knows.
#[derive(Debug)]
pub(crate) struct Syntax {
    pub(crate) name: &'static str,
    pub(crate) min_args: usize,
    pub(crate) max_args: usize,
    /// The options the command accepts, as in OVS: `--a,--b=` (`=`: takes a value).
    pub(crate) options: &'static str,
}

const MANY: usize = usize::MAX;

const fn syntax(name: &'static str, min_args: usize, max_args: usize, options: &'static str) -> Syntax {
    Syntax { name, min_args, max_args, options }
}

/// The commands rvs implements.
static COMMANDS: &[Syntax] = &[
    syntax("init", 0, 0, ""),
    syntax("show", 0, 0, ""),
    syntax("emer-reset", 0, 0, ""),
    syntax("comment", 0, MANY, ""),
    syntax("add-br", 1, 3, "--may-exist"),
    syntax("del-br", 1, 1, "--if-exists"),
    syntax("list-br", 0, 0, "--real,--fake"),
    syntax("br-exists", 1, 1, ""),
    syntax("br-to-vlan", 1, 1, ""),
    syntax("br-to-parent", 1, 1, ""),
    syntax("br-set-external-id", 2, 3, ""),
    syntax("br-get-external-id", 1, 2, ""),
    syntax("list-ports", 1, 1, ""),
    syntax("add-port", 2, MANY, "--may-exist"),
    syntax("del-port", 1, 2, "--if-exists,--with-iface"),
    syntax("port-to-br", 1, 1, ""),
    syntax("list-ifaces", 1, 1, ""),
    syntax("iface-to-br", 1, 1, ""),
    syntax("get-controller", 1, 1, ""),
    syntax("del-controller", 1, 1, ""),
    syntax("set-controller", 2, MANY, "--inactivity-probe="),
    syntax("get-fail-mode", 1, 1, ""),
    syntax("del-fail-mode", 1, 1, ""),
    syntax("set-fail-mode", 2, 2, ""),
    syntax("get-manager", 0, 0, ""),
    syntax("del-manager", 0, 0, ""),
    syntax("get-ssl", 0, 0, ""),
    syntax("del-ssl", 0, 0, ""),
    syntax("get", 2, MANY, "--if-exists,--id="),
    syntax("list", 1, MANY, "--if-exists,--columns="),
    syntax("find", 1, MANY, "--columns="),
    syntax("set", 3, MANY, "--if-exists"),
    syntax("add", 4, MANY, "--if-exists"),
    syntax("remove", 4, MANY, "--if-exists"),
    syntax("clear", 3, MANY, "--if-exists"),
];

/// `ovs-vsctl` commands rvs refuses (bonds, managers, SSL, auto-attach, conntrack zones, and
/// the record-level `create`, `destroy` and `wait-until`).
const UNSUPPORTED_COMMANDS: &[&str] = &[
    "add-bond",
    "add-bond-iface",
    "del-bond-iface",
    "set-manager",
    "set-ssl",
    "add-aa-mapping",
    "del-aa-mapping",
    "get-aa-mapping",
    "add-zone-tp",
    "del-zone-tp",
    "list-zone-tp",
    "list-dp-cap",
    "create",
    "destroy",
    "wait-until",
];

/// One command with its options and arguments.
#[derive(Debug)]
pub(crate) struct Command {
    pub(crate) syntax: &'static Syntax,
    /// `--name` → value, in the order given.
    pub(crate) options: Vec<(String, Option<String>)>,
    /// The arguments after the command name.
    pub(crate) args: Vec<String>,
}

impl Command {
    pub(crate) fn has(&self, option: &str) -> bool {
        self.options.iter().any(|(k, _)| k == option)
    }

    pub(crate) fn value(&self, option: &str) -> Option<&str> {
        self.options.iter().rev().find(|(k, _)| k == option).and_then(|(_, v)| v.as_deref())
    }

    /// The command as OVS's `vsctl_context_to_string` quotes it in messages.
    pub(crate) fn to_quoted_string(&self) -> String {
        let words = self
            .options
            .iter()
            .map(|(k, _)| k.as_str())
            .chain([self.syntax.name])
            .chain(self.args.iter().map(String::as_str));
        let quoted: Vec<String> = words
            .map(|w| {
                if w.contains([' ', '\t', '\r', '\n', '\u{b}', '\\', '\'', '"']) {
                    format!("\"{}\"", w.replace('\\', "\\\\").replace('"', "\\\""))
                } else {
                    w.to_string()
                }
            })
            .collect();
        quoted.join(" ")
    }
}

/// Global options that change what `run` does or prints.
#[derive(Debug)]
pub(crate) struct Globals {
    pub(crate) oneline: bool,
    pub(crate) dry_run: bool,
    pub(crate) style: Style,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Arg {
    No,
    Required,
    Optional,
}

/// What a long option does here.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Opt {
    /// About the connection, logging or waiting: meaningless for the daemon-side engine.
    Ignored,
    Oneline,
    DryRun,
    Timeout,
    Format,
    Data,
    NoHeadings,
    Pretty,
    Bare,
    MaxColumnWidth,
    /// Handled by the client (`--help`, `--version`, `--commands`, `--options`).
    Client,
    /// A command option given globally: applies to the first command.
    Local,
}

/// `ovs-vsctl` 3.1's long options (`ovs-vsctl --options`), then the command options.
static LONG_OPTIONS: &[(&str, Arg, Opt, Option<char>)] = &[
    ("db", Arg::Required, Opt::Ignored, None),
    ("no-syslog", Arg::No, Opt::Ignored, None),
    ("no-wait", Arg::No, Opt::Ignored, None),
    ("dry-run", Arg::No, Opt::DryRun, None),
    ("oneline", Arg::No, Opt::Oneline, None),
    ("timeout", Arg::Required, Opt::Timeout, Some('t')),
    ("retry", Arg::No, Opt::Ignored, None),
    ("help", Arg::No, Opt::Client, Some('h')),
    ("commands", Arg::No, Opt::Client, None),
    ("options", Arg::No, Opt::Client, None),
    ("leader-only", Arg::No, Opt::Ignored, None),
    ("no-leader-only", Arg::No, Opt::Ignored, None),
    ("shuffle-remotes", Arg::No, Opt::Ignored, None),
    ("no-shuffle-remotes", Arg::No, Opt::Ignored, None),
    ("version", Arg::No, Opt::Client, Some('V')),
    ("verbose", Arg::Optional, Opt::Ignored, Some('v')),
    ("log-file", Arg::Optional, Opt::Ignored, None),
    ("syslog-method", Arg::Required, Opt::Ignored, None),
    ("syslog-target", Arg::Required, Opt::Ignored, None),
    ("format", Arg::Required, Opt::Format, Some('f')),
    ("data", Arg::Required, Opt::Data, Some('d')),
    ("no-headings", Arg::No, Opt::NoHeadings, None),
    ("pretty", Arg::No, Opt::Pretty, None),
    ("bare", Arg::No, Opt::Bare, None),
    ("max-column-width", Arg::Required, Opt::MaxColumnWidth, None),
    ("private-key", Arg::Required, Opt::Ignored, Some('p')),
    ("certificate", Arg::Required, Opt::Ignored, Some('c')),
    ("ca-cert", Arg::Required, Opt::Ignored, Some('C')),
    ("ssl-protocols", Arg::Required, Opt::Ignored, None),
    ("ssl-ciphers", Arg::Required, Opt::Ignored, None),
    ("bootstrap-ca-cert", Arg::Required, Opt::Ignored, None),
    ("peer-ca-cert", Arg::Required, Opt::Ignored, None),
    ("may-exist", Arg::No, Opt::Local, None),
    ("if-exists", Arg::No, Opt::Local, None),
    ("id", Arg::Required, Opt::Local, None),
    ("columns", Arg::Required, Opt::Local, None),
    ("with-iface", Arg::No, Opt::Local, None),
    ("real", Arg::No, Opt::Local, None),
    ("fake", Arg::No, Opt::Local, None),
    ("all", Arg::No, Opt::Local, None),
    ("fake-iface", Arg::No, Opt::Local, None),
    ("bootstrap", Arg::No, Opt::Local, None),
    ("inactivity-probe", Arg::Required, Opt::Local, None),
];

/// glibc's long option lookup: an exact name, or a prefix that selects one option (prefixes
/// of several options that behave alike select the first).
fn find_long(name: &str) -> Result<usize, String> {
    if let Some(i) = LONG_OPTIONS.iter().position(|o| o.0 == name) {
        return Ok(i);
    }
    let found: Vec<usize> = (0..LONG_OPTIONS.len()).filter(|&i| LONG_OPTIONS[i].0.starts_with(name)).collect();
    match found.as_slice() {
        [] => Err(String::new()),
        [first, rest @ ..] => {
            let same = |i: &usize| {
                let (a, b) = (&LONG_OPTIONS[*i], &LONG_OPTIONS[*first]);
                a.1 == b.1 && a.2 == b.2 && a.2 == Opt::Local
            };
            if rest.iter().all(same) {
                Ok(*first)
            } else {
                let names: Vec<String> = found.iter().map(|i| format!("'--{}'", LONG_OPTIONS[*i].0)).collect();
                Err(format!("option '--{name}' is ambiguous; possibilities: {}", names.join(" ")))
            }
        }
    }
}

fn apply(
    globals: &mut Globals,
    locals: &mut Vec<(String, Option<String>)>,
    idx: usize,
    value: Option<String>,
) -> Result<(), String> {
    let (name, _, what, _) = LONG_OPTIONS[idx];
    let value_str = value.clone().unwrap_or_default();
    match what {
        Opt::Ignored => {}
        Opt::Oneline => globals.oneline = true,
        Opt::DryRun => globals.dry_run = true,
        Opt::Timeout => {
            if value_str.parse::<u32>().is_err() {
                return Err(format!("value {value_str} on -t or --timeout is invalid"));
            }
        }
        Opt::Format => {
            globals.style.format = match value_str.as_str() {
                "table" => TableFormat::Table,
                "list" => TableFormat::List,
                "html" => TableFormat::Html,
                "csv" => TableFormat::Csv,
                "json" => TableFormat::Json,
                _ => return Err(format!("unknown output format \"{value_str}\"")),
            }
        }
        Opt::Data => {
            globals.style.cells = match value_str.as_str() {
                "string" => CellFormat::String,
                "bare" => CellFormat::Bare,
                "json" => CellFormat::Json,
                _ => return Err(format!("unknown data format \"{value_str}\"")),
            }
        }
        Opt::NoHeadings => globals.style.headings = false,
        Opt::Pretty => globals.style.pretty = true,
        Opt::Bare => {
            globals.style.format = TableFormat::List;
            globals.style.cells = CellFormat::Bare;
            globals.style.headings = false;
        }
        Opt::MaxColumnWidth => return Err("--max-column-width is not supported by rvs-vsctl".into()),
        Opt::Client => return Err(format!("option '--{name}' is handled by rvs-vsctl itself, not by the daemon")),
        Opt::Local => locals.push((format!("--{name}"), value)),
    }
    Ok(())
}

/// Parses the global options and splits the rest into commands.
pub(crate) fn parse(args: &[String]) -> Result<(Globals, Vec<Command>), String> {
    let mut globals = Globals { oneline: false, dry_run: false, style: Style::default() };
    let mut locals = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        if arg == "--" {
            i += 1;
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let idx =
                find_long(name).map_err(|e| if e.is_empty() { format!("unrecognized option '{arg}'") } else { e })?;
            let (full, has_arg, _, _) = LONG_OPTIONS[idx];
            let value = match (has_arg, inline) {
                (Arg::No, Some(_)) => return Err(format!("option '--{full}' doesn't allow an argument")),
                (Arg::Required, None) => {
                    i += 1;
                    Some(args.get(i).cloned().ok_or_else(|| format!("option '--{full}' requires an argument"))?)
                }
                (_, v) => v,
            };
            apply(&mut globals, &mut locals, idx, value)?;
        } else if arg.len() > 1 && arg.starts_with('-') {
            let c = arg[1..].chars().next().unwrap_or('-');
            let idx =
                LONG_OPTIONS.iter().position(|o| o.3 == Some(c)).ok_or_else(|| format!("invalid option -- '{c}'"))?;
            let rest = &arg[1 + c.len_utf8()..];
            let value = match LONG_OPTIONS[idx].1 {
                Arg::Required if rest.is_empty() => {
                    i += 1;
                    Some(args.get(i).cloned().ok_or_else(|| format!("option requires an argument -- '{c}'"))?)
                }
                Arg::No if !rest.is_empty() => {
                    return Err(format!("invalid option -- '{}'", rest.chars().next().unwrap_or(c)))
                }
                Arg::No => None,
                _ => (!rest.is_empty()).then(|| rest.to_string()),
            };
            apply(&mut globals, &mut locals, idx, value)?;
        } else {
            break;
        }
        i += 1;
    }
    let commands = split_commands(&args[i.min(args.len())..], locals)?;
    Ok((globals, commands))
}

/// OVS's `ctl_parse_commands`.
fn split_commands(args: &[String], mut locals: Vec<(String, Option<String>)>) -> Result<Vec<Command>, String> {
    let mut commands = Vec::new();
    for chunk in args.split(|a| a == "--") {
        if !chunk.is_empty() {
            commands.push(parse_command(chunk, std::mem::take(&mut locals))?);
        } else if !locals.is_empty() {
            return Err("missing command name (use --help for help)".into());
        }
    }
    if commands.is_empty() {
        return Err("missing command name (use --help for help)".into());
    }
    Ok(commands)
}

/// OVS's `parse_command`.
fn parse_command(argv: &[String], mut options: Vec<(String, Option<String>)>) -> Result<Command, String> {
    let mut i = 0;
    while i < argv.len() && argv[i].starts_with('-') {
        let (key, value) = match argv[i].split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (argv[i].clone(), None),
        };
        if options.iter().any(|(k, _)| *k == key) {
            return Err(format!("'{}' option specified multiple times", argv[i]));
        }
        options.push((key, value));
        i += 1;
    }
    let Some(name) = argv.get(i) else { return Err("missing command name (use --help for help)".into()) };
    let Some(syntax) = COMMANDS.iter().find(|s| s.name == name) else {
        return Err(if UNSUPPORTED_COMMANDS.contains(&name.as_str()) {
            format!("'{name}' command is not supported by rvs")
        } else {
            format!("unknown command '{name}'; use --help for help")
        });
    };
    for (key, value) in &options {
        let end = syntax.options.find(key.as_str()).map(|at| syntax.options.as_bytes().get(at + key.len()).copied());
        let end = match end {
            Some(Some(c)) if c == b'=' || c == b',' || c == b' ' => Some(c),
            Some(None) => Some(0),
            _ => return Err(format!("'{name}' command has no '{key}' option")),
        };
        if (end == Some(b'=')) != value.is_some() {
            return Err(if end == Some(b'=') {
                format!("missing argument to '{key}' option on '{name}' command")
            } else {
                format!("'{key}' option on '{name}' does not accept an argument")
            });
        }
    }
    let args = &argv[i + 1..];
    if args.len() < syntax.min_args {
        return Err(format!("'{name}' command requires at least {} arguments", syntax.min_args));
    } else if args.len() > syntax.max_args {
        let note = if args.iter().any(|a| a.starts_with('-')) {
            " (note that options must precede command names and follow a \"--\" argument)"
        } else {
            ""
        };
        return Err(format!("'{name}' command takes at most {} arguments{note}", syntax.max_args));
    }
    Ok(Command { syntax, options, args: args.to_vec() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn global_command_options_apply_to_the_first_command() {
        let (_, cmds) = parse(&words("--may-exist add-br br0 -- add-port br0 p1")).unwrap();
        assert_eq!(cmds.len(), 2);
        assert!(cmds[0].has("--may-exist"));
        assert!(!cmds[1].has("--may-exist"));
    }

    #[test]
    fn long_options_may_be_abbreviated() {
        let (g, cmds) = parse(&words("--one --if del-br br0")).unwrap();
        assert!(g.oneline);
        assert!(cmds[0].has("--if-exists"));
        assert!(parse(&words("--no list-br"))
            .unwrap_err()
            .starts_with("option '--no' is ambiguous; possibilities: '--no-syslog'"));
    }

    #[test]
    fn reports_misplaced_options() {
        assert_eq!(
            parse(&words("list-br --may-exist")).unwrap_err(),
            "'list-br' command takes at most 0 arguments (note that options must precede command names and follow a \"--\" argument)"
        );
        assert_eq!(parse(&words("--may-exist list-br")).unwrap_err(), "'list-br' command has no '--may-exist' option");
        assert_eq!(parse(&words("add-bond br0 b a c")).unwrap_err(), "'add-bond' command is not supported by rvs");
    }
}
