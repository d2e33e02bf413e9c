//! Parsing whole flows: match fields, flow attributes and actions (`parse_ofp_str`).
//!
//! What a flow may contain depends on the command, as in `ovs-ofctl`: `add` takes actions,
//! timeouts, priority, flags and importance; `modify` the same but importance; `delete`
//! takes `out_port`/`out_group`, `delete_strict` also a priority; a flow statistics request
//! takes only `out_port`/`out_group` besides the match. A keyword not allowed for the command
//! gets the error `ovs-ofctl` gives (usually `unknown keyword` or `field ... missing value`).
//!
//! The match is normalised ([`crate::check::normalize_match`]) and the actions are checked
//! against it ([`crate::check::check`]); an inconsistent action restricts the flow to
//! OpenFlow 1.0, which [`ParsedFlow::usable`] reports.

use super::actions::parse_actions;
use super::fields::{field_from_name, parse_subfield, parse_value, set_in_match};
use super::lex::{extract_actions, KeyValues};
use super::value::{parse_int_string, parse_port, str_to_u64, str_to_uint_base10, str_to_uint_max, PortNames};
use super::TextError;
use crate::check::{check, normalize_match, CheckContext, Protocols};
use crate::stats::FlowStatsRequest;
use rvs_flowcache::field::Field;
use rvs_flowcache::ofp::{flow_flags, FlowMod, FlowModCommand, Match, OfPort, ALL_TABLES, ANY_GROUP};

/// A parsed flow and the protocols that can carry it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedFlow {
    /// The flow-mod. `table_id` is [`ALL_TABLES`] when no `table=` was given (encoders send
    /// table 0 for additions and modifications, as `ovs-ofctl` does).
    pub flow_mod: FlowMod,
    /// Protocols in which the flow can be sent (see [`crate::check`]).
    pub usable: Protocols,
}

/// `ofp_parse_protocol`: shorthand names for `dl_type` and `nw_proto`.
const PROTOCOLS: &[(&str, u16, u8)] = &[
    ("ip", 0x0800, 0),
    ("ipv4", 0x0800, 0),
    ("ip4", 0x0800, 0),
    ("arp", 0x0806, 0),
    ("rarp", 0x8035, 0),
    ("tcp", 0x0800, 6),
    ("udp", 0x0800, 17),
    ("sctp", 0x0800, 132),
    ("icmp", 0x0800, 1),
    ("igmp", 0x0800, 2),
    ("ipv6", 0x86dd, 0),
    ("ip6", 0x86dd, 0),
    ("icmp6", 0x86dd, 58),
    ("tcp6", 0x86dd, 6),
    ("udp6", 0x86dd, 17),
    ("sctp6", 0x86dd, 132),
    ("mpls", 0x8847, 0),
    ("mplsm", 0x8848, 0),
];

/// Which flow attributes a command accepts.
#[derive(Clone, Copy)]
struct Allowed {
    out_port: bool,
    actions: bool,
    importance: bool,
    timeout: bool,
    priority: bool,
    flags: bool,
}

fn allowed(command: Option<FlowModCommand>) -> Allowed {
    let none = Allowed { out_port: false, actions: false, importance: false, timeout: false, priority: false, flags: false };
    match command {
        None | Some(FlowModCommand::Delete) => Allowed { out_port: true, ..none },
        Some(FlowModCommand::DeleteStrict) => Allowed { out_port: true, priority: true, ..none },
        Some(FlowModCommand::Add) => Allowed { actions: true, timeout: true, priority: true, flags: true, importance: true, ..none },
        Some(FlowModCommand::Modify) | Some(FlowModCommand::ModifyStrict) => {
            Allowed { actions: true, timeout: true, priority: true, flags: true, ..none }
        }
    }
}

fn bad(keyword: &str, message: impl Into<String>) -> TextError {
    TextError::BadValue { keyword: keyword.to_string(), message: message.into() }
}

/// Parses a flow for `command` (`None`: a flow statistics request).
fn parse(s: &str, command: Option<FlowModCommand>, names: Option<&dyn PortNames>) -> Result<ParsedFlow, TextError> {
    let ok = allowed(command);
    let mut usable = Protocols::ANY;
    let mut fm = FlowMod::new(command.unwrap_or(FlowModCommand::Delete));
    fm.table_id = ALL_TABLES;
    let is_modify = matches!(command, Some(FlowModCommand::Modify) | Some(FlowModCommand::ModifyStrict));
    let (match_part, actions_part) = if ok.actions {
        let (m, a) = extract_actions(s);
        (m, Some(a.ok_or(TextError::MissingActions)?))
    } else {
        (s, None)
    };
    let mut m = Match::catchall();
    let mut new_cookie = None;
    for (name, value) in KeyValues::new(match_part) {
        if let Some((_, dl_type, nw_proto)) = PROTOCOLS.iter().find(|(n, _, _)| *n == name) {
            m.set(Field::EthType, *dl_type as u128);
            if *nw_proto != 0 {
                m.set(Field::IpProto, *nw_proto as u128);
            }
            continue;
        }
        let flag = match name {
            "send_flow_rem" => Some(flow_flags::SEND_FLOW_REM),
            "check_overlap" => Some(flow_flags::CHECK_OVERLAP),
            "reset_counts" => Some(flow_flags::RESET_COUNTS),
            "no_packet_counts" => Some(flow_flags::NO_PKT_COUNTS),
            "no_byte_counts" => Some(flow_flags::NO_BYT_COUNTS),
            _ => None,
        };
        if let (true, Some(f)) = (ok.flags, flag) {
            fm.flags |= f;
            if f != flow_flags::SEND_FLOW_REM && f != flow_flags::CHECK_OVERLAP {
                usable = usable.and(Protocols::OF13);
            }
            continue;
        }
        if matches!(name, "eth" | "no_readonly_table" | "allow_hidden_fields") {
            continue;
        }
        if let Some(f) = field_from_name(name).or(if name == "in_port_oxm" { Some(Field::InPort) } else { None }) {
            let v = if value.is_empty() { "0/0" } else { value };
            let (val, mask) = parse_value(f, v, names).map_err(|e| bad(name, e))?;
            set_in_match(&mut m, f, val, mask);
            continue;
        }
        if let Some(n) = name.strip_prefix("xreg").and_then(|d| d.parse::<usize>().ok()).filter(|n| *n < 8) {
            // `xregN` (OXM_OF_PKT_REGN) is reg(2N) in its high half and reg(2N+1) in its low
            // half; Open vSwitch keeps the registers and prints them.
            let v = if value.is_empty() { "0/0" } else { value };
            let (val, mask) = parse_value(Field::Metadata, v, names).map_err(|e| bad(name, e.replace("metadata", name)))?;
            for (reg, shift) in [(2 * n, 32), (2 * n + 1, 0)] {
                let (hv, hm) = ((val >> shift) as u32, (mask >> shift) as u32);
                if hm != 0 {
                    let f = Field::reg(reg).expect("16 registers");
                    set_in_match(&mut m, f, hv as u128, hm as u128);
                }
            }
            continue;
        }
        if name.contains('[') {
            let sf = parse_subfield(name).map_err(|e| bad(name, e))?;
            let width = sf.field.desc().nbits.div_ceil(8) as usize;
            let (v, tail) = parse_int_string(value, width)
                .ok()
                .filter(|(_, t)| t.is_empty())
                .ok_or_else(|| bad(name, format!("{name}: cannot parse integer value: {value}")))?;
            let _ = tail;
            if sf.n_bits < 128 && v >> sf.n_bits != 0 {
                let shown = super::fields::format_value(sf.field, v, sf.field.full_mask(), names);
                return Err(bad(name, format!("{name}: value {shown} does not fit into {} bits", sf.n_bits)));
            }
            let (cur_v, cur_m) = m.get(sf.field).unwrap_or((0, 0));
            let value = (cur_v & !sf.mask()) | (v << sf.ofs);
            let mask = cur_m | sf.mask();
            crate::oxm::set_field_masked(&mut m, sf.field, value & mask, mask);
            continue;
        }
        if value.is_empty() {
            return Err(TextError::MissingValue(name.to_string()));
        }
        match name {
            "table" => {
                let t = str_to_uint_base10(value).filter(|t| *t <= 255).ok_or_else(|| TextError::UnknownTable(value.to_string()))?;
                fm.table_id = t as u8;
            }
            "out_port" if ok.out_port => {
                fm.out_port = parse_port(value, names).ok_or_else(|| bad(name, format!("{value} is not a valid OpenFlow port")))?;
            }
            "out_group" if ok.out_port => {
                usable = usable.and(Protocols::OF13);
                fm.out_group = match value {
                    "all" | "ALL" => 0xffff_fffc,
                    "any" | "ANY" => ANY_GROUP,
                    _ => str_to_uint_base10(value)
                        .filter(|g| *g <= 0xffff_ff00)
                        .ok_or_else(|| bad(name, format!("{value} is not a valid OpenFlow group")))? as u32,
                };
            }
            "priority" if ok.priority => fm.priority = u16_of(name, value)?,
            "idle_timeout" if ok.timeout => fm.idle_timeout = u16_of(name, value)?,
            "hard_timeout" if ok.timeout => fm.hard_timeout = u16_of(name, value)?,
            "importance" if ok.importance => fm.importance = u16_of(name, value)?,
            "cookie" => {
                if let Some((v, mk)) = value.split_once('/') {
                    if command == Some(FlowModCommand::Add) {
                        return Err(TextError::CookieMaskOnAdd);
                    }
                    fm.cookie = str_to_u64(v).map_err(|e| bad(name, e))?;
                    fm.cookie_mask = str_to_u64(mk).map_err(|e| bad(name, e))?;
                } else {
                    if !matches!(command, Some(FlowModCommand::Add) | Some(FlowModCommand::Modify) | Some(FlowModCommand::ModifyStrict)) {
                        return Err(TextError::CannotSetCookie);
                    }
                    new_cookie = Some(str_to_u64(value).map_err(|e| bad(name, e))?);
                }
            }
            "duration" | "n_packets" | "n_bytes" | "idle_age" | "hard_age" => {}
            _ => return Err(TextError::UnknownKeyword(name.to_string())),
        }
    }
    fm.cookie &= fm.cookie_mask;
    match command {
        Some(FlowModCommand::Add) => fm.cookie = new_cookie.unwrap_or(0),
        _ if is_modify => {
            fm.new_cookie = if fm.cookie_mask == 0 { Some(new_cookie.unwrap_or(0)) } else { new_cookie };
        }
        _ => {}
    }
    let raw = m;
    normalize_match(&mut m);
    fm.match_ = m;
    if let Some(acts) = actions_part {
        let (actions, act_usable) = parse_actions(acts, names)?;
        usable = usable.and(act_usable);
        let ctx = CheckContext { table_id: fm.table_id, max_ports: OfPort(0xff00) };
        usable = usable.and(check(&raw, &actions, &ctx).map_err(TextError::InvalidActions)?);
        if usable.is_empty() {
            return Err(TextError::InvalidActions(crate::error::BadAction::MatchInconsistent.into()));
        }
        fm.actions = actions;
    }
    Ok(ParsedFlow { flow_mod: fm, usable })
}

fn u16_of(name: &str, value: &str) -> Result<u16, TextError> {
    str_to_uint_max(value, u16::MAX as u64).map(|v| v as u16).ok_or_else(|| bad(name, format!("invalid {name} \"{value}\"")))
}

/// Parses a flow as `ovs-ofctl add-flow`, `mod-flows` (`Modify`, or `ModifyStrict` for
/// `--strict`), or `del-flows` (`Delete`/`DeleteStrict`) accept it. `names` resolves port
/// names such as `in_port=eth1`.
pub fn parse_flow(s: &str, command: FlowModCommand, names: Option<&dyn PortNames>) -> Result<ParsedFlow, TextError> {
    parse(s, Some(command), names)
}

/// Parses a line of an `ovs-ofctl add-flows` file, which may start with `add`, `modify`,
/// `delete`, `modify_strict` or `delete_strict` (or an abbreviation of one); no command means
/// `add`.
pub fn parse_flow_line(s: &str, names: Option<&dyn PortNames>) -> Result<ParsedFlow, TextError> {
    let t = s.trim_start_matches([' ', '\t', '\r', '\n']);
    let len = t.find([',', ' ', '\t', '\r', '\n']).unwrap_or(t.len());
    let word = &t[..len];
    let commands = [
        ("add", FlowModCommand::Add),
        ("delete", FlowModCommand::Delete),
        ("delete_strict", FlowModCommand::DeleteStrict),
        ("modify", FlowModCommand::Modify),
        ("modify_strict", FlowModCommand::ModifyStrict),
    ];
    // `strncmp(string, name, len)`: the first command the word is a prefix of.
    match commands.iter().find(|(n, _)| !word.is_empty() && n.starts_with(word)) {
        Some((_, c)) => parse(&t[len..], Some(*c), names),
        None => parse(t, Some(FlowModCommand::Add), names),
    }
}

/// Parses the flow filter of `ovs-ofctl dump-flows` / `dump-aggregate`.
pub fn parse_flow_stats_request(s: &str, names: Option<&dyn PortNames>) -> Result<(FlowStatsRequest, Protocols), TextError> {
    let p = parse(s, None, names)?;
    let fm = p.flow_mod;
    Ok((
        FlowStatsRequest {
            table_id: fm.table_id,
            out_port: fm.out_port,
            out_group: fm.out_group,
            cookie: fm.cookie,
            cookie_mask: fm.cookie_mask,
            match_: fm.match_,
        },
        p.usable,
    ))
}
