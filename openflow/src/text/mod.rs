//! The `ovs-ofctl` flow syntax: parsing flows and printing flow-mods and flow statistics.
//!
//! # Parsing
//! [`parse_flow`] accepts a flow as `ovs-ofctl add-flow`, `mod-flows` or `del-flows` does:
//! `key=value` pairs and bare keywords separated by commas or white space, protocol
//! shorthands (`ip`, `tcp6`, `arp`, ...), every match field by its Open vSwitch name or alias
//! with `value/mask` or CIDR prefixes, flow attributes (`table`, `priority`, `cookie`,
//! timeouts, flags, `out_port`, ...) and `actions=` with every action the rvs model holds, in
//! all the spellings `ovs-ofctl` accepts ([`actions`]). Port names resolve through a
//! [`PortNames`]. Errors ([`TextError`]) carry `ovs-ofctl`'s wording.
//!
//! # Printing
//! [`FlowFormatter`] prints what `ovs-ofctl` prints for a protocol version: a flow-mod as
//! `ofp-print` shows it (`ADD table:3 priority=7,ip cookie:0x10 ... actions=...`) and a rule
//! of a flow statistics reply as `dump-flows` shows it, with or without statistics.
//! Parsing a printed flow and printing it again reproduces it.
//!
//! # Fidelity to `ovs-ofctl` and `ovs-ofctl -O OpenFlow13`
//! `ovs-ofctl parse-flow` prints a flow after encoding it for the protocol and decoding it
//! back, which is where `mod_nw_dst:1.2.3.4` becomes `set_field:1.2.3.4->ip_dst` in OpenFlow
//! 1.3 and `set_field:1.2.3.4->ip_src` becomes `mod_nw_src:1.2.3.4` in OpenFlow 1.0. The same
//! holds here: [`FlowFormatter`] prints the model as it is, with the version only where the
//! printed form of the same action differs (`strip_vlan`/`pop_vlan`, `enqueue`, the
//! `reset_counts` flag OpenFlow 1.0 never shows), and going through [`crate::v10`] or
//! [`crate::v13`] first gives `ovs-ofctl`'s output for that protocol (the conformance tests
//! do exactly this against fixtures produced by the real tool, for both protocol settings).

pub mod actions;
mod conntrack;
pub mod fields;
mod flow;
pub mod format;
pub mod group;
mod hashsel;
pub mod packet;
mod learn;
mod lex;
pub mod value;

pub use actions::parse_actions;
pub use flow::{parse_flow, parse_flow_line, parse_flow_stats_request, ParsedFlow};
pub use format::{format_actions, format_match};
pub use value::PortNames;

use crate::error::OfError;
use crate::msg::Version;
use crate::stats::{FlowStats, NxFlowStats};
use rvs_flowcache::ofp::{flow_flags, FlowMod, FlowModCommand, OfPort};
use std::fmt;

/// A flow that does not parse, with `ovs-ofctl`'s message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextError {
    /// `add-flow`/`mod-flows` without `actions=`.
    MissingActions,
    /// A keyword that is neither a field, an attribute allowed for the command, nor known.
    UnknownKeyword(String),
    /// A flow attribute given without a value.
    MissingValue(String),
    /// `cookie=V/M` in an addition.
    CookieMaskOnAdd,
    /// `cookie=V` in a delete.
    CannotSetCookie,
    /// `table=` that is not a table number.
    UnknownTable(String),
    /// A value that does not parse or fit; `message` is `ovs-ofctl`'s and names the value.
    BadValue {
        /// The field, attribute or action the value belongs to.
        keyword: String,
        /// The message.
        message: String,
    },
    /// An action name that is not an action and not a port.
    UnknownAction(String),
    /// `drop` together with other actions.
    DropWithOthers,
    /// `apply_actions(...)` spelled out.
    ApplyActions,
    /// Instructions out of OpenFlow 1.1+ order.
    InstructionOrder {
        /// The instruction that must come first.
        before: &'static str,
        /// The instruction it came after.
        after: &'static str,
    },
    /// The same instruction twice.
    DuplicateInstruction(&'static str),
    /// An instruction inside `write_actions(...)`.
    InstructionNotAllowed(&'static str),
    /// The actions do not fit the match (`OFPBAC_MATCH_INCONSISTENT`, `OFPBAC_BAD_OUT_PORT`,
    /// `OFPBIC_BAD_TABLE_ID`, ...).
    InvalidActions(OfError),
    /// Valid for `ovs-ofctl` but not implemented by rvs.
    Unsupported {
        /// The keyword or action.
        keyword: String,
        /// What is missing.
        reason: &'static str,
    },
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextError::MissingActions => f.write_str("must specify an action"),
            TextError::UnknownKeyword(k) => write!(f, "unknown keyword {k}"),
            TextError::MissingValue(k) => write!(f, "field {k} missing value"),
            TextError::CookieMaskOnAdd => f.write_str("flow additions cannot use a cookie mask"),
            TextError::CannotSetCookie => f.write_str("cannot set cookie"),
            TextError::UnknownTable(t) => write!(f, "unknown table \"{t}\""),
            TextError::BadValue { message, .. } => f.write_str(message),
            TextError::UnknownAction(a) => write!(f, "unknown action {a}"),
            TextError::DropWithOthers => f.write_str("\"drop\" must not be accompanied by any other action or instruction"),
            TextError::ApplyActions => f.write_str("apply_actions is the default instruction"),
            TextError::InstructionOrder { before, after } => {
                write!(f, "invalid instruction ordering: {before} must appear before {after}, for OpenFlow 1.1+ compatibility")
            }
            TextError::DuplicateInstruction(i) => write!(f, "duplicate {i} instruction not allowed, for OpenFlow 1.1+ compatibility"),
            TextError::InstructionNotAllowed(i) => write!(f, "{i} instruction not allowed here"),
            TextError::InvalidActions(e) => write!(f, "actions are invalid with specified match ({e})"),
            TextError::Unsupported { keyword, reason } => write!(f, "{keyword}: not supported by rvs ({reason})"),
        }
    }
}

impl std::error::Error for TextError {}

/// Prints flows as `ovs-ofctl` does for one protocol version.
#[derive(Clone, Copy)]
pub struct FlowFormatter<'a> {
    /// Protocol version (the printed forms of some actions differ).
    pub version: Version,
    /// `--no-stats`: leave out cookie (when zero), duration, table (when zero) and counters.
    pub no_stats: bool,
    /// `--names`: print port names.
    pub names: Option<&'a dyn PortNames>,
}

impl fmt::Debug for FlowFormatter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowFormatter").field("version", &self.version).field("no_stats", &self.no_stats).finish()
    }
}

fn flags_text(flags: u16, version: Version) -> String {
    let mut s = String::new();
    let names = [
        (flow_flags::SEND_FLOW_REM, "send_flow_rem "),
        (flow_flags::CHECK_OVERLAP, "check_overlap "),
        (flow_flags::RESET_COUNTS, "reset_counts "),
        (flow_flags::NO_PKT_COUNTS, "no_packet_counts "),
        (flow_flags::NO_BYT_COUNTS, "no_byte_counts "),
    ];
    for (bit, name) in names {
        if flags & bit != 0 && !(bit == flow_flags::RESET_COUNTS && version == Version::V1_0) {
            s.push_str(name);
        }
    }
    s
}

/// Seconds with the fraction Open vSwitch prints (`ofp_print_duration`).
pub fn format_duration(sec: u32, nsec: u32) -> String {
    let mut s = sec.to_string();
    if nsec > 0 {
        let msec = nsec / 1_000_000;
        if msec * 1_000_000 == nsec {
            s.push_str(&format!(".{msec:03}"));
        } else {
            let frac = format!("{nsec:09}");
            s.push('.');
            s.push_str(frac.trim_end_matches('0'));
        }
    }
    s.push('s');
    s
}

impl<'a> FlowFormatter<'a> {
    /// A formatter for `version` with statistics and without port names.
    pub fn new(version: Version) -> FlowFormatter<'a> {
        FlowFormatter { version, no_stats: false, names: None }
    }

    /// The match and priority.
    pub fn format_match(&self, m: &rvs_flowcache::ofp::Match, priority: u16) -> String {
        format_match(m, priority, self.names)
    }

    /// The actions.
    pub fn format_actions(&self, a: &[rvs_flowcache::ofp::OfAction]) -> String {
        format_actions(a, self.version, self.names)
    }

    /// A flow-mod as `ovs-ofctl ofp-print` prints its body (`ADD priority=7,ip actions=...`).
    pub fn flow_mod(&self, fm: &FlowMod) -> String {
        let mut s = String::from(match fm.command {
            FlowModCommand::Add => "ADD",
            FlowModCommand::Modify => "MOD",
            FlowModCommand::ModifyStrict => "MOD_STRICT",
            FlowModCommand::Delete => "DEL",
            FlowModCommand::DeleteStrict => "DEL_STRICT",
        });
        if fm.table_id != 0 {
            s.push_str(&format!(" table:{}", fm.table_id));
        }
        s.push(' ');
        s.push_str(&self.format_match(&fm.match_, fm.priority));
        if !s.ends_with(' ') {
            s.push(' ');
        }
        let new_cookie = if fm.command == FlowModCommand::Add { Some(fm.cookie) } else { fm.new_cookie };
        if let Some(c) = new_cookie.filter(|c| *c != 0 && *c != u64::MAX) {
            s.push_str(&format!("cookie:{c:#x} "));
        }
        if fm.cookie_mask != 0 && fm.command != FlowModCommand::Add {
            s.push_str(&format!("cookie:{:#x}/{:#x} ", fm.cookie, fm.cookie_mask));
        }
        if fm.idle_timeout != 0 {
            s.push_str(&format!("idle:{} ", fm.idle_timeout));
        }
        if fm.hard_timeout != 0 {
            s.push_str(&format!("hard:{} ", fm.hard_timeout));
        }
        if fm.importance != 0 {
            s.push_str(&format!("importance:{} ", fm.importance));
        }
        if fm.out_port != OfPort::ANY {
            s.push_str(&format!("out_port:{} ", value::format_port(fm.out_port, self.names)));
        }
        s.push_str(&flags_text(fm.flags, self.version));
        s.push_str("actions=");
        s.push_str(&self.format_actions(&fm.actions));
        s
    }

    /// The line `ovs-ofctl dump-flows` prints before the rules of each reply message
    /// (`OFPST_FLOW reply (OF1.3) (xid=0x2): flags=[more]`); none with `--no-stats`.
    pub fn flow_stats_reply_header(&self, xid: u32, more: bool) -> Option<String> {
        self.reply_header("OFPST_FLOW", xid, more)
    }

    /// The same for a Nicira reply (`NXST_FLOW reply (xid=0x4):`), what `ovs-ofctl
    /// dump-flows` gets with its default protocols.
    pub fn nx_flow_stats_reply_header(&self, xid: u32, more: bool) -> Option<String> {
        self.reply_header("NXST_FLOW", xid, more)
    }

    fn reply_header(&self, name: &str, xid: u32, more: bool) -> Option<String> {
        if self.no_stats {
            return None;
        }
        let v = match self.version {
            Version::V1_0 => String::new(),
            Version::V1_3 => " (OF1.3)".into(),
        };
        Some(format!("{name} reply{v} (xid={xid:#x}):{}", if more { " flags=[more]" } else { "" }))
    }

    /// A rule of a Nicira flow statistics reply (`NXST_FLOW`) as `ovs-ofctl dump-flows` prints
    /// it: like [`FlowFormatter::flow_stats`], with `idle_age` and (when it differs from the
    /// duration) `hard_age` after the flags.
    pub fn nx_flow_stats(&self, n: &NxFlowStats) -> String {
        self.flow_stats_aged(&n.stats, n.idle_age, n.hard_age)
    }

    /// A rule as `ovs-ofctl dump-flows` prints it, without the leading space
    /// (`cookie=0x0, duration=1.234s, table=0, n_packets=0, n_bytes=0, priority=0 actions=NORMAL`).
    pub fn flow_stats(&self, fs: &FlowStats) -> String {
        self.flow_stats_aged(fs, None, None)
    }

    /// [`FlowFormatter::flow_stats`] with the ages a Nicira reply carries (`None`: unknown,
    /// not printed), as `ofputil_flow_stats_format` prints them.
    pub fn flow_stats_aged(&self, fs: &FlowStats, idle_age: Option<u16>, hard_age: Option<u16>) -> String {
        let show = !self.no_stats;
        let mut s = String::new();
        if show || fs.cookie != 0 {
            s.push_str(&format!("cookie={:#x}, ", fs.cookie));
        }
        if show {
            s.push_str(&format!("duration={}, ", format_duration(fs.duration_sec, fs.duration_nsec)));
        }
        if show || fs.table_id != 0 {
            s.push_str(&format!("table={}, ", fs.table_id));
        }
        if show {
            let stat = |v: u64| if v == u64::MAX { "?".to_string() } else { v.to_string() };
            s.push_str(&format!("n_packets={}, n_bytes={}, ", stat(fs.packet_count), stat(fs.byte_count)));
        }
        if fs.idle_timeout != 0 {
            s.push_str(&format!("idle_timeout={}, ", fs.idle_timeout));
        }
        if fs.hard_timeout != 0 {
            s.push_str(&format!("hard_timeout={}, ", fs.hard_timeout));
        }
        s.push_str(&flags_text(fs.flags, self.version));
        if fs.importance != 0 {
            s.push_str(&format!("importance={}, ", fs.importance));
        }
        if show {
            if let Some(a) = idle_age {
                s.push_str(&format!("idle_age={a}, "));
            }
            if let Some(a) = hard_age.filter(|a| *a as u32 != fs.duration_sec) {
                s.push_str(&format!("hard_age={a}, "));
            }
        }
        let m = self.format_match(&fs.match_, fs.priority);
        if !m.is_empty() {
            s.push_str(&m);
            s.push(' ');
        }
        s.push_str("actions=");
        s.push_str(&self.format_actions(&fs.actions));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_flowcache::ofp::{Match, OfAction};
    use rvs_flowcache::Field;

    struct Ports;

    impl PortNames for Ports {
        fn port_number(&self, name: &str) -> Option<OfPort> {
            match name {
                "eth1" => Some(OfPort(1)),
                "my port" => Some(OfPort(2)),
                _ => None,
            }
        }
        fn port_name(&self, port: OfPort) -> Option<String> {
            match port.0 {
                1 => Some("eth1".into()),
                2 => Some("my port".into()),
                _ => None,
            }
        }
    }

    #[test]
    fn port_names_resolve_and_print() {
        let p = parse_flow("in_port=eth1,actions=output:\"my port\",eth1,resubmit(eth1,2)", FlowModCommand::Add, Some(&Ports)).unwrap();
        let fm = p.flow_mod;
        let mut m = Match::catchall();
        m.set(Field::InPort, 1);
        assert_eq!(fm.match_, m);
        assert_eq!(
            fm.actions,
            vec![
                OfAction::Output { port: OfPort(2), max_len: 0 },
                OfAction::Output { port: OfPort(1), max_len: 0 },
                OfAction::Resubmit { in_port: Some(OfPort(1)), table: Some(2) },
            ]
        );
        let f = FlowFormatter { version: Version::V1_3, no_stats: true, names: Some(&Ports) };
        assert_eq!(f.format_match(&fm.match_, fm.priority), "in_port=eth1");
        assert_eq!(f.format_actions(&fm.actions), "output:\"my port\",output:eth1,resubmit(eth1,2)");
        // Without a resolver the name is an error worded as ovs-ofctl words it.
        let e = parse_flow("in_port=eth1,actions=drop", FlowModCommand::Add, None).unwrap_err();
        assert_eq!(e.to_string(), "eth1: invalid or unknown port for in_port");
    }

    #[test]
    fn commands_limit_what_a_flow_may_say() {
        let del = parse_flow("priority=5,out_port=2,ip", FlowModCommand::Delete, None).unwrap_err();
        assert_eq!(del, TextError::UnknownKeyword("priority".into()));
        let strict = parse_flow("priority=5,out_port=2,ip", FlowModCommand::DeleteStrict, None).unwrap().flow_mod;
        assert_eq!((strict.priority, strict.out_port, strict.table_id), (5, OfPort(2), 255));
        assert_eq!(parse_flow("cookie=1,ip", FlowModCommand::Delete, None).unwrap_err(), TextError::CannotSetCookie);
        let m = parse_flow("cookie=0x5/0xff,actions=drop", FlowModCommand::Modify, None).unwrap().flow_mod;
        assert_eq!((m.cookie, m.cookie_mask, m.new_cookie), (5, 0xff, None));
        let line = parse_flow_line("delete_strict priority=7,tcp", None).unwrap().flow_mod;
        assert_eq!((line.command, line.priority), (FlowModCommand::DeleteStrict, 7));
        assert_eq!(parse_flow_line("ip,actions=1", None).unwrap().flow_mod.command, FlowModCommand::Add);
        let (req, _) = parse_flow_stats_request("table=3,tcp,out_port=LOCAL", None).unwrap();
        assert_eq!((req.table_id, req.out_port), (3, OfPort::LOCAL));
    }

    #[test]
    fn durations_print_like_ovs() {
        assert_eq!(format_duration(1, 234_000_000), "1.234s");
        assert_eq!(format_duration(0, 1), "0.000000001s");
        assert_eq!(format_duration(5, 0), "5s");
        assert_eq!(format_duration(0, 500), "0.0000005s");
    }
}
