//! The command line of `rvs-ofctl`, parsed as `ovs-ofctl`'s `getopt_long` parses it.
//!
//! Options may come anywhere (GNU argument permutation) until `--`; long options may be
//! abbreviated to any unambiguous prefix and take values as `--opt=VALUE` or `--opt VALUE`;
//! short options may be bundled (`-mO OpenFlow13`). Errors use `getopt`'s wording
//! (`unrecognized option '--bogus'`, `option requires an argument -- 't'`).
//!
//! Recognised: `-O/--protocols`, `-F/--flow-format`, `--strict`, `--bundle`, `--names`/`--no-names`, `--stats`/`--no-stats`,
//! `--sort[=FIELD]`/`--rsort[=FIELD]`, `-m/--more`, `-t/--timeout`, `-h/--help`,
//! `-V/--version`. `-O` accepts `ovs-ofctl`'s version names, alone or in lists separated by
//! commas or white space; without it, as with `ovs-ofctl`, only OpenFlow 1.0 (with Nicira's
//! extensions) is allowed. rvs-ofctl speaks OpenFlow 1.0 and 1.3. `-F` takes Open vSwitch's
//! flow protocol names (`NXM`, `OpenFlow10`, `OXM-OpenFlow13`, `NXM+table_id`, `any`, ...);
//! as in `ovs-ofctl`, the flow protocols and the versions then narrow each other.

use rvs_flowcache::field::Field;
use rvs_openflow::msg::{Version, VersionSet};
use rvs_openflow::protocols::Protocols;
use rvs_openflow::text::fields::field_from_name;

use super::conn::Fatal;

/// A `--sort`/`--rsort` criterion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortKey {
    /// The field; `None` sorts by priority.
    pub field: Option<Field>,
    /// Ascending (`--sort`) or descending (`--rsort`).
    pub ascending: bool,
}

/// Options that shape what a command does and prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Versions allowed for connections (`-O`; OpenFlow 1.0 by default).
    pub versions: VersionSet,
    /// `--strict`.
    pub strict: bool,
    /// `--bundle`: flow-mods in one bundle ([`super::bundle`]).
    pub bundle: bool,
    /// `--names` (`Some(true)`), `--no-names` (`Some(false)`), or neither.
    pub names: Option<bool>,
    /// `--stats` (the default) or `--no-stats`.
    pub stats: bool,
    /// Sort criteria; when any is given, a final descending sort by priority follows.
    pub sort: Vec<SortKey>,
    /// `-m`/`--more`, counted.
    pub verbosity: u32,
    /// `-t SECS`.
    pub timeout: Option<u32>,
    /// Flow protocols allowed (`-F`; every one by default), already narrowed to those of
    /// [`Options::versions`].
    pub protocols: Protocols,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            versions: VersionSet::of(Version::V1_0),
            strict: false,
            bundle: false,
            names: None,
            stats: true,
            sort: Vec::new(),
            verbosity: 0,
            timeout: None,
            protocols: Protocols::ANY,
        }
    }
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invocation {
    /// `--help`.
    Help,
    /// `--version`.
    Version,
    /// A command and its arguments.
    Run {
        /// Options.
        options: Options,
        /// The command name and its arguments.
        args: Vec<String>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Arg {
    None,
    Required,
    Optional,
}

/// Long options: name, argument, short equivalent.
const LONG: &[(&str, Arg, Option<char>)] = &[
    ("timeout", Arg::Required, Some('t')),
    ("strict", Arg::None, None),
    ("bundle", Arg::None, None),
    ("more", Arg::None, Some('m')),
    ("sort", Arg::Optional, None),
    ("rsort", Arg::Optional, None),
    ("names", Arg::None, None),
    ("no-names", Arg::None, None),
    ("stats", Arg::None, None),
    ("no-stats", Arg::None, None),
    ("help", Arg::None, Some('h')),
    ("version", Arg::None, Some('V')),
    ("protocols", Arg::Required, Some('O')),
    ("flow-format", Arg::Required, Some('F')),
];

/// The name of wire version `v` (`OpenFlow13`).
fn version_name(v: u8) -> &'static str {
    ["", "OpenFlow10", "OpenFlow11", "OpenFlow12", "OpenFlow13", "OpenFlow14", "OpenFlow15"][usize::from(v)]
}

/// Parses `-O` (`ofputil_versions_from_string`): names separated by commas or white space.
pub fn parse_versions(s: &str) -> Result<VersionSet, Fatal> {
    let mut bits = 0u32;
    for name in s.split([',', ' ', '\t']).filter(|n| !n.is_empty()) {
        let wire = match name {
            "OpenFlow10" => 1,
            "OpenFlow11" => 2,
            "OpenFlow12" => 3,
            "OpenFlow13" => 4,
            "OpenFlow14" => 5,
            "OpenFlow15" => 6,
            _ => return Err(Fatal(format!("Unknown OpenFlow version: \"{name}\""))),
        };
        bits |= 1 << wire;
    }
    Ok(VersionSet(bits))
}

fn sort_key(value: Option<&str>, ascending: bool) -> Result<SortKey, Fatal> {
    match value {
        None => Ok(SortKey { field: None, ascending }),
        Some(v) if v.eq_ignore_ascii_case("priority") => Ok(SortKey { field: None, ascending }),
        Some(v) => match field_from_name(v) {
            Some(f) => Ok(SortKey { field: Some(f), ascending }),
            None => Err(Fatal(format!("{v}: unknown field name"))),
        },
    }
}

fn apply(o: &mut Options, name: &str, value: Option<&str>) -> Result<Option<Invocation>, Fatal> {
    match name {
        "timeout" => {
            let v = value.unwrap_or("");
            // strtoul: leading digits; 0 (or nothing) is invalid.
            let digits: String = v.trim_start().chars().take_while(char::is_ascii_digit).collect();
            match digits.parse::<u32>() {
                Ok(n) if n > 0 => o.timeout = Some(n),
                _ => return Err(Fatal(format!("value {v} on -t or --timeout is invalid"))),
            }
        }
        "strict" => o.strict = true,
        "bundle" => o.bundle = true,
        "more" => o.verbosity += 1,
        "sort" => o.sort.push(sort_key(value, true)?),
        "rsort" => o.sort.push(sort_key(value, false)?),
        "names" => o.names = Some(true),
        "no-names" => o.names = Some(false),
        "stats" => o.stats = true,
        "no-stats" => o.stats = false,
        "help" => return Ok(Some(Invocation::Help)),
        "version" => return Ok(Some(Invocation::Version)),
        "protocols" => o.versions = parse_versions(value.unwrap_or(""))?,
        "flow-format" => o.protocols = Protocols::from_names(value.unwrap_or("")).map_err(Fatal)?,
        _ => unreachable!("option table and handler disagree on {name}"),
    }
    Ok(None)
}

/// Parses the arguments after the program name.
pub fn parse(argv: &[String]) -> Result<Invocation, Fatal> {
    let mut o = Options::default();
    let mut args = Vec::new();
    let mut i = 0;
    while i < argv.len() {
        let a = &argv[i];
        i += 1;
        if a == "--" {
            args.extend(argv[i..].iter().cloned());
            break;
        }
        if let Some(body) = a.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let exact = LONG.iter().find(|(n, _, _)| *n == name);
            let candidates: Vec<&(&str, Arg, Option<char>)> = match exact {
                Some(e) => vec![e],
                None => LONG.iter().filter(|(n, _, _)| n.starts_with(name)).collect(),
            };
            let &(full, kind, _) = match candidates.as_slice() {
                [one] => *one,
                [] => return Err(Fatal(format!("unrecognized option '{a}'"))),
                many => {
                    let names: Vec<String> = many.iter().map(|(n, _, _)| format!("'--{n}'")).collect();
                    return Err(Fatal(format!("option '--{name}' is ambiguous; possibilities: {}", names.join(" "))));
                }
            };
            let value = match (kind, inline) {
                (Arg::None, Some(_)) => return Err(Fatal(format!("option '--{full}' doesn't allow an argument"))),
                (Arg::Required, None) => {
                    let v = argv.get(i).ok_or_else(|| Fatal(format!("option '--{full}' requires an argument")))?;
                    i += 1;
                    Some(v.as_str())
                }
                (_, v) => v,
            };
            if let Some(inv) = apply(&mut o, full, value)? {
                return Ok(inv);
            }
            continue;
        }
        if a.len() > 1 && a.starts_with('-') {
            let chars: Vec<char> = a[1..].chars().collect();
            let mut j = 0;
            while j < chars.len() {
                let c = chars[j];
                j += 1;
                let Some(&(full, kind, _)) = LONG.iter().find(|(_, _, s)| *s == Some(c)) else {
                    return Err(Fatal(format!("invalid option -- '{c}'")));
                };
                let value = if kind == Arg::Required {
                    let rest: String = chars[j..].iter().collect();
                    j = chars.len();
                    if !rest.is_empty() {
                        Some(rest)
                    } else {
                        let v = argv.get(i).ok_or_else(|| Fatal(format!("option requires an argument -- '{c}'")))?;
                        i += 1;
                        Some(v.clone())
                    }
                } else {
                    None
                };
                if let Some(inv) = apply(&mut o, full, value.as_deref())? {
                    return Ok(inv);
                }
            }
            continue;
        }
        args.push(a.clone());
    }
    if !o.sort.is_empty() {
        o.sort.push(SortKey { field: None, ascending: false });
    }
    // As `ovs-ofctl`: the flow formats and the versions narrow each other.
    let version_protocols = Protocols::of_versions(o.versions);
    if o.protocols.and(version_protocols).is_empty() {
        let names: Vec<&str> = (1..=6u8).filter(|v| o.versions.contains(*v)).map(version_name).collect();
        return Err(Fatal(format!(
            "None of the enabled OpenFlow versions ({}) supports any of the enabled flow formats ({}).  (Use -O to enable additional OpenFlow versions or -F to enable additional flow formats.)",
            names.join(", "),
            o.protocols
        )));
    }
    o.protocols = o.protocols.and(version_protocols);
    o.versions = o.versions.intersect(o.protocols.versions());
    Ok(Invocation::Run { options: o, args })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(v: &[&str]) -> Result<(Options, Vec<String>), Fatal> {
        match parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())? {
            Invocation::Run { options, args } => Ok((options, args)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn options_may_follow_the_command() {
        let (o, a) = run(&["dump-flows", "--no-stats", "br0", "-O", "OpenFlow13", "--strict"]).unwrap();
        assert_eq!(a, ["dump-flows", "br0"]);
        assert!(!o.stats && o.strict);
        let (_, a) = run(&["del-flows", "br0", "--", "--no-stats"]).unwrap();
        assert_eq!(a, ["del-flows", "br0", "--no-stats"]);
    }

    #[test]
    fn abbreviations_and_errors_match_getopt() {
        assert!(!run(&["--no-st", "x"]).unwrap().0.stats);
        assert_eq!(
            run(&["--no", "x"]).unwrap_err(),
            Fatal("option '--no' is ambiguous; possibilities: '--no-names' '--no-stats'".into())
        );
        assert_eq!(run(&["--bogus"]).unwrap_err(), Fatal("unrecognized option '--bogus'".into()));
        assert_eq!(run(&["-Z"]).unwrap_err(), Fatal("invalid option -- 'Z'".into()));
        assert_eq!(run(&["-t"]).unwrap_err(), Fatal("option requires an argument -- 't'".into()));
        assert_eq!(run(&["-t", "0"]).unwrap_err(), Fatal("value 0 on -t or --timeout is invalid".into()));
        assert_eq!(run(&["-O", "foo"]).unwrap_err(), Fatal("Unknown OpenFlow version: \"foo\"".into()));
        assert_eq!(run(&["--sort=nosuch"]).unwrap_err(), Fatal("nosuch: unknown field name".into()));
        assert_eq!(run(&["-mmO", "OpenFlow10,OpenFlow13"]).unwrap().0.verbosity, 2);
        assert_eq!(run(&["-OOpenFlow13"]).unwrap().0.versions, VersionSet(1 << 4));
    }

    #[test]
    fn sorting_ends_with_priority_descending() {
        let (o, _) = run(&["--sort=in_port", "--rsort"]).unwrap();
        assert_eq!(
            o.sort,
            vec![
                SortKey { field: Some(Field::InPort), ascending: true },
                SortKey { field: None, ascending: false },
                SortKey { field: None, ascending: false }
            ]
        );
        assert!(run(&["x"]).unwrap().0.sort.is_empty());
    }

    #[test]
    fn help_and_version_stop_parsing() {
        assert_eq!(parse(&["--help".to_string(), "--bogus".to_string()]).unwrap(), Invocation::Help);
        assert_eq!(parse(&["-V".to_string()]).unwrap(), Invocation::Version);
    }
}
