//! Parsing actions and instructions in `ovs-ofctl` syntax (`ofpacts_parse__`).
//!
//! Each `key[:=(]value` pair of the action string is an action: an action name (any case),
//! one of the aliases Open vSwitch keeps for compatibility (`mod_vlan_vid`, `pop_vlan`,
//! `load`, ...), `drop`, or a port (`2`, `NORMAL`, `LOCAL`, a named port), which means
//! `output`. After the list is parsed, `drop` must be alone and instructions must come in
//! OpenFlow 1.1+ order (`apply_actions`, `clear_actions`, `write_actions`, `write_metadata`,
//! `goto_table`), with the messages Open vSwitch prints. Actions Open vSwitch knows but the
//! rvs model does not hold (`ct`, `meter`, `exit`, ...) are [`TextError::Unsupported`].
//! `learn`, `conjunction`, `fin_timeout` and `sample` are parsed by the `learn` module.

use super::fields::{field_from_name, parse_subfield, parse_subfield_prefix, parse_value};
use super::lex::KeyValues;
use super::value::{
    parse_int_string, parse_ipv4_masked, parse_mac_masked, parse_port, str_to_u32, str_to_u64, str_to_uint_base10,
    str_to_uint_max, PortNames,
};
use super::TextError;
use crate::check::Protocols;
use crate::oxm::{self, value_mask};
use rvs_flowcache::field::Field;
use rvs_flowcache::ofp::{OfAction, OfPort, PacketInReason};
use rvs_packet::wire::MacAddr;

/// Actions Open vSwitch accepts that rvs does not implement.
const UNSUPPORTED: &[&str] = &[
    "exit", "meter",
    "stack_push",
    "stack_pop", "encap", "decap", "check_pkt_larger", "dec_nsh_ttl", "delete_field", "unroll_xlate",
];

fn bad(keyword: &str, message: impl Into<String>) -> TextError {
    TextError::BadValue { keyword: keyword.to_string(), message: message.into() }
}

fn u16_arg(keyword: &str, what: &str, s: &str) -> Result<u16, TextError> {
    str_to_uint_max(s, u16::MAX as u64).map(|v| v as u16).ok_or_else(|| bad(keyword, format!("invalid {what} \"{s}\"")))
}

fn u8_arg(keyword: &str, what: &str, s: &str) -> Result<u8, TextError> {
    str_to_uint_max(s, u8::MAX as u64).map(|v| v as u8).ok_or_else(|| bad(keyword, format!("invalid {what} \"{s}\"")))
}

struct Parser<'a> {
    names: Option<&'a dyn PortNames>,
    usable: Protocols,
}

impl Parser<'_> {
    fn port(&self, s: &str) -> Option<OfPort> {
        parse_port(s, self.names)
    }

    fn output(&mut self, arg: &str) -> Result<OfAction, TextError> {
        if arg.contains("port") && arg.contains("max_len") {
            let (mut port, mut max_len) = (None, None);
            for (k, v) in KeyValues::new(arg) {
                match k {
                    "port" => {
                        let p = self.port(v).ok_or_else(|| bad("output", format!("output to unknown truncate port: {v}")))?;
                        if p.0 >= 0xff00 && p != OfPort::LOCAL && p != OfPort::IN_PORT {
                            return Err(bad("output", format!("output to unsupported truncate port: {v}")));
                        }
                        port = Some(p);
                    }
                    "max_len" => {
                        let n = str_to_u32(v).map_err(|e| bad("output", e))?;
                        max_len = Some(u16::try_from(n).map_err(|_| TextError::Unsupported {
                            keyword: "output".into(),
                            reason: "max_len above 65535",
                        })?);
                    }
                    _ => return Err(bad("output", format!("invalid key '{k}' in output_trunc argument"))),
                }
            }
            return Ok(OfAction::Output { port: port.unwrap_or(OfPort(0)), max_len: max_len.unwrap_or(0) });
        }
        if let Some(port) = self.port(arg) {
            let max_len = if port == OfPort::CONTROLLER { u16::MAX } else { 0 };
            return Ok(OfAction::Output { port, max_len });
        }
        if arg.contains('[') {
            if let Ok(src) = parse_subfield(arg) {
                return Ok(OfAction::OutputReg { src, max_len: u16::MAX });
            }
        }
        Err(bad("output", format!("{arg}: output to unknown port")))
    }

    fn controller(&mut self, arg: &str) -> Result<OfAction, TextError> {
        let (mut reason, mut max_len, mut id) = (PacketInReason::Action, u16::MAX, 0u16);
        if arg.is_empty() {
        } else if arg.bytes().all(|c| c.is_ascii_digit()) {
            max_len = u16_arg("controller", "max_len", arg)?;
        } else {
            for (k, v) in KeyValues::new(arg) {
                match k {
                    "reason" => {
                        reason = match v {
                            "no_match" => PacketInReason::NoMatch,
                            "action" => PacketInReason::Action,
                            "invalid_ttl" => PacketInReason::InvalidTtl,
                            "action_set" | "group" | "packet_out" => {
                                return Err(TextError::Unsupported { keyword: "controller".into(), reason: "this packet-in reason" })
                            }
                            _ => return Err(bad("controller", format!("unknown reason \"{v}\""))),
                        }
                    }
                    "max_len" => max_len = u16_arg("controller", "max_len", v)?,
                    "id" => id = u16_arg("controller", "id", v)?,
                    "userdata" | "pause" | "meter_id" => {
                        return Err(TextError::Unsupported { keyword: "controller".into(), reason: "userdata, pause and meter_id" })
                    }
                    _ => return Err(bad("controller", format!("unknown key \"{k}\" parsing controller action"))),
                }
            }
        }
        if reason == PacketInReason::Action && id == 0 {
            Ok(OfAction::Output { port: OfPort::CONTROLLER, max_len })
        } else {
            Ok(OfAction::Controller { max_len, reason, controller_id: id })
        }
    }

    fn enqueue(&mut self, arg: &str) -> Result<OfAction, TextError> {
        let syntax = || bad("enqueue", "\"enqueue\" syntax is \"enqueue:PORT:QUEUE\" or \"enqueue(PORT,QUEUE)\"");
        // strtok_r(arg, ":q,") then the rest.
        let t = arg.trim_start_matches([':', 'q', ',']);
        let end = t.find([':', 'q', ',']).ok_or_else(syntax)?;
        let (port_s, rest) = (&t[..end], &t[end + 1..]);
        if port_s.is_empty() || rest.is_empty() {
            return Err(syntax());
        }
        let port = self.port(port_s).ok_or_else(|| bad("enqueue", format!("{port_s}: enqueue to unknown port")))?;
        let queue = str_to_u32(rest).map_err(|e| bad("enqueue", e))?;
        Ok(OfAction::Enqueue { port, queue })
    }

    fn set_field(&mut self, arg: &str) -> Result<OfAction, TextError> {
        let (value, name) = split_arrow("set_field", arg)?;
        if let Some(a) = mpls_set_field(name, value)? {
            return Ok(a);
        }
        let field = field_from_name(name).ok_or_else(|| bad("set_field", format!("{name} is not a valid OXM field name")))?;
        if !field.desc().writable {
            return Err(bad("set_field", format!("{name} is read-only")));
        }
        let (v, m) = parse_value(field, value, self.names).map_err(|e| bad("set_field", e))?;
        let (field, v, m) = set_field_model(field, v, m);
        if v & !value_mask(field) != 0 && !matches!(field, Field::InPort) {
            return Err(bad("set_field", format!("{value} is not a valid value for field {name}")));
        }
        if oxm::entry_nxm(field).is_none_or(|e| e.class == oxm::CLASS_OPENFLOW_BASIC) {
            self.usable = self.usable.and(Protocols::OF13);
        }
        Ok(OfAction::SetField { field, value: v, mask: m })
    }

    fn load(&mut self, arg: &str) -> Result<OfAction, TextError> {
        let (value, dst) = split_arrow("load", arg)?;
        let dst = parse_subfield(dst).map_err(|e| bad("load", e))?;
        let width = dst.field.desc().nbits.div_ceil(8).max(1) as usize;
        let (v, tail) = parse_int_string(value, width).map_err(|_| bad("load", format!("{arg}: cannot parse integer value")))?;
        if !tail.is_empty() {
            return Err(bad("load", format!("{arg}: cannot parse integer value")));
        }
        if dst.n_bits < 128 && v >> dst.n_bits != 0 {
            let shown = super::fields::format_value(dst.field, v, dst.field.full_mask(), self.names);
            return Err(bad("load", format!("{arg}: value {shown} does not fit into {} bits", dst.n_bits)));
        }
        Ok(OfAction::RegLoad { dst, value: v })
    }

    fn move_(&mut self, arg: &str) -> Result<OfAction, TextError> {
        let (src, rest) = parse_subfield_prefix(arg).map_err(|e| bad("move", e))?;
        let rest = rest.strip_prefix("->").ok_or_else(|| bad("move", format!("{arg}: missing `->' following source")))?;
        let dst = parse_subfield(rest).map_err(|e| bad("move", e))?;
        if src.n_bits != dst.n_bits {
            return Err(bad(
                "move",
                format!("{arg}: source field is {} bits wide but destination is {} bits wide", src.n_bits, dst.n_bits),
            ));
        }
        Ok(OfAction::RegMove { src, dst })
    }

    fn resubmit(&mut self, arg: &str) -> Result<OfAction, TextError> {
        let mut parts = arg.splitn(3, ',');
        let port_s = parts.next().unwrap_or("");
        let table_s = parts.next().unwrap_or("");
        let ct_s = parts.next().unwrap_or("");
        let in_port = if port_s.is_empty() {
            None
        } else {
            let p = self.port(port_s).ok_or_else(|| bad("resubmit", format!("{port_s}: resubmit to unknown port")))?;
            (p != OfPort::IN_PORT).then_some(p)
        };
        let table = if table_s.is_empty() {
            None
        } else {
            let t = str_to_uint_base10(table_s)
                .filter(|t| *t <= 255)
                .ok_or_else(|| bad("resubmit", format!("{table_s}: resubmit to unknown table")))?;
            (t != 255).then_some(t as u8)
        };
        if !ct_s.is_empty() {
            if ct_s != "ct" {
                return Err(bad("resubmit", format!("{ct_s}: unknown parameter")));
            }
            return Err(TextError::Unsupported { keyword: "resubmit".into(), reason: "resubmit with ct" });
        }
        if in_port.is_none() && table.is_none() {
            return Err(bad("resubmit", "at least one \"in_port\" or \"table\" must be specified on resubmit"));
        }
        Ok(OfAction::Resubmit { in_port, table })
    }

    fn note(&mut self, arg: &str) -> Result<OfAction, TextError> {
        let mut bytes = Vec::new();
        let mut rest = arg;
        loop {
            rest = rest.trim_start_matches([' ', '\t', '\r', '\n']);
            let b = rest.as_bytes();
            if b.len() >= 2 && b[0].is_ascii_hexdigit() && b[1].is_ascii_hexdigit() {
                bytes.push(u8::from_str_radix(&rest[..2], 16).unwrap_or(0));
                rest = &rest[2..];
                rest = rest.strip_prefix('.').unwrap_or(rest);
            } else {
                break;
            }
        }
        if !rest.is_empty() {
            return Err(bad("note", "bad hex digit in `note' argument"));
        }
        Ok(OfAction::Note(bytes))
    }

    fn dec_ttl(&mut self, arg: &str) -> Result<OfAction, TextError> {
        if arg.is_empty() {
            return Ok(OfAction::DecTtl { controller_ids: vec![] });
        }
        let ids: Vec<u16> = arg.split([',', ' ']).filter(|t| !t.is_empty()).map(atoi16).collect();
        if ids.is_empty() {
            return Err(bad("dec_ttl", "dec_ttl_cnt_ids: expected at least one controller id."));
        }
        Ok(OfAction::DecTtl { controller_ids: ids })
    }

    fn write_metadata(&mut self, arg: &str) -> Result<OfAction, TextError> {
        self.usable = self.usable.and(Protocols::OF13);
        let (v, m) = match arg.split_once('/') {
            Some((v, m)) => (v, Some(m)),
            None => (arg, None),
        };
        let mask = match m {
            Some(m) => str_to_u64(m).map_err(|e| bad("write_metadata", e))?,
            None => u64::MAX,
        };
        let value = str_to_u64(v).map_err(|e| bad("write_metadata", e))?;
        Ok(OfAction::WriteMetadata { value, mask })
    }

    fn one(&mut self, key: &str, value: &str, allow_instructions: bool) -> Result<Option<Item>, TextError> {
        let lower = key.to_ascii_lowercase();
        let vlan = |kw: &str, v: &str, push: bool| -> Result<OfAction, TextError> {
            let vid = u16_arg(kw, "VLAN VID", v)?;
            if vid & !0x0fff != 0 {
                return Err(bad(kw, format!("{v}: not a valid VLAN VID")));
            }
            Ok(OfAction::SetVlanVid { vid, push_if_needed: push })
        };
        let pcp = |kw: &str, v: &str, push: bool| -> Result<OfAction, TextError> {
            let p = u8_arg(kw, "VLAN PCP", v)?;
            if p & !7 != 0 {
                return Err(bad(kw, format!("{v}: not a valid VLAN PCP")));
            }
            Ok(OfAction::SetVlanPcp { pcp: p, push_if_needed: push })
        };
        let is_instruction = matches!(lower.as_str(), "goto_table" | "write_metadata" | "clear_actions" | "write_actions");
        if is_instruction && !allow_instructions {
            return Err(TextError::InstructionNotAllowed(instruction_name(&lower)));
        }
        if is_instruction {
            self.usable = self.usable.and(Protocols::OF13);
        }
        let a = match lower.as_str() {
            "output" => self.output(value)?,
            "controller" => self.controller(value)?,
            "enqueue" => self.enqueue(value)?,
            "set_field" => self.set_field(value)?,
            "set_vlan_vid" => vlan(key, value, false)?,
            "mod_vlan_vid" => vlan(key, value, true)?,
            "set_vlan_pcp" => pcp(key, value, false)?,
            "mod_vlan_pcp" => pcp(key, value, true)?,
            "strip_vlan" => OfAction::StripVlan,
            "pop_vlan" => OfAction::StripVlan,
            "push_vlan" => {
                self.usable = self.usable.and(Protocols::OF13);
                let e = u16_arg(key, "ethertype", value)?;
                if e != 0x8100 && e != 0x88a8 {
                    return Err(bad(key, format!("{value}: not a valid VLAN ethertype")));
                }
                OfAction::PushVlan { ethertype: e }
            }
            "mod_dl_src" | "mod_dl_dst" => {
                let (mac, mask) = parse_mac_masked(value).map_err(|_| bad(key, format!("invalid mac address {value}")))?;
                if mask != 0xffff_ffff_ffff {
                    return Err(bad(key, format!("invalid mac address {value}")));
                }
                let mac = MacAddr::from_u64(mac);
                if lower == "mod_dl_src" {
                    OfAction::SetEthSrc(mac)
                } else {
                    OfAction::SetEthDst(mac)
                }
            }
            "mod_nw_src" | "mod_nw_dst" => {
                let (ip, mask) = parse_ipv4_masked(value).map_err(|_| bad(key, format!("{value}: could not convert to IP address")))?;
                if mask != u32::MAX {
                    return Err(bad(key, format!("{value}: could not convert to IP address")));
                }
                if lower == "mod_nw_src" {
                    OfAction::SetIpv4Src(ip)
                } else {
                    OfAction::SetIpv4Dst(ip)
                }
            }
            "mod_nw_tos" => {
                let tos = u8_arg(key, "TOS", value)?;
                if tos & 3 != 0 {
                    return Err(bad(key, format!("{value}: not a valid TOS")));
                }
                OfAction::SetIpDscp(tos)
            }
            "mod_nw_ecn" => {
                self.usable = self.usable.and(Protocols::OF13);
                let ecn = u8_arg(key, "ECN", value)?;
                if ecn & !3 != 0 {
                    return Err(bad(key, format!("{value}: not a valid ECN")));
                }
                OfAction::SetIpEcn(ecn)
            }
            "mod_nw_ttl" | "set_nw_ttl" => {
                self.usable = self.usable.and(Protocols::OF13);
                OfAction::SetIpTtl(u8_arg(key, "TTL", value)?)
            }
            "mod_tp_src" => OfAction::SetL4SrcPort(u16_arg(key, "source port", value)?),
            "mod_tp_dst" => OfAction::SetL4DstPort(u16_arg(key, "destination port", value)?),
            "move" => self.move_(value)?,
            "load" => self.load(value)?,
            "dec_ttl" => self.dec_ttl(value)?,
            "resubmit" => self.resubmit(value)?,
            "note" => self.note(value)?,
            "group" => OfAction::Group(str_to_u32(value).map_err(|e| bad(key, e))?),
            "learn" => OfAction::Learn(Box::new(super::learn::parse_learn(value, self.names)?)),
            "conjunction" => super::learn::parse_conjunction(value)?,
            "fin_timeout" => super::learn::parse_fin_timeout(value)?,
            "set_tunnel" | "set_tunnel64" => {
                let id = str_to_u64(value).map_err(|e| bad(key, e))?;
                OfAction::SetTunnel { id, wide: lower == "set_tunnel64" || id > u32::MAX as u64 }
            }
            "sample" => super::learn::parse_sample(value, self.names)?,
            "goto_table" => {
                let t = str_to_uint_base10(value).filter(|t| *t <= 255).ok_or_else(|| bad(key, format!("unknown table \"{value}\"")))?;
                OfAction::GotoTable(t as u8)
            }
            "write_metadata" => self.write_metadata(value)?,
            "clear_actions" => OfAction::ClearActions,
            "write_actions" => {
                let inner = self.list(value, false)?;
                OfAction::WriteActions(inner)
            }
            "clone" => OfAction::Clone(self.list(value, false)?),
            "multipath" => super::hashsel::parse_multipath(value)?,
            "bundle" => super::hashsel::parse_bundle(value, false, self.names)?,
            "bundle_load" => super::hashsel::parse_bundle(value, true, self.names)?,
            "ct" => super::conntrack::parse_ct(value, &mut |v| self.list(v, false))?,
            "ct_clear" => OfAction::CtClear,
            "push_mpls" | "pop_mpls" => {
                let e = str_to_uint_max(value, u16::MAX as u64).ok_or_else(|| bad(key, format!("invalid {lower} \"{value}\"")))? as u16;
                if lower == "push_mpls" {
                    OfAction::PushMpls { ethertype: e }
                } else {
                    OfAction::PopMpls { ethertype: e }
                }
            }
            "set_mpls_label" => {
                let l = str_to_u32(value).map_err(|e| bad(key, e))?;
                if l & !0xfffff != 0 {
                    return Err(bad(key, format!("{value}: not a valid MPLS label")));
                }
                OfAction::SetMplsLabel(l)
            }
            "set_mpls_tc" => {
                let tc = u8_arg(key, "MPLS TC", value)?;
                if tc & !7 != 0 {
                    return Err(bad(key, format!("{value}: not a valid MPLS TC")));
                }
                OfAction::SetMplsTc(tc)
            }
            "set_mpls_ttl" => OfAction::SetMplsTtl(
                str_to_uint_max(value, u8::MAX as u64).ok_or_else(|| bad(key, format!("invalid MPLS TTL \"{value}\"")))? as u8,
            ),
            "dec_mpls_ttl" => OfAction::DecMplsTtl,
            "nat" => return Err(bad(key, "Cannot have NAT action outside of \"ct\" action")),
            "drop" => return Ok(None),
            "set_queue" => {
                let q = str_to_u32(value).map_err(|e| bad(key, e))?;
                return Ok(Some(Item::SetQueue(q)));
            }
            "pop_queue" => return Ok(Some(Item::PopQueue)),
            "apply_actions" => return Err(TextError::ApplyActions),
            l if UNSUPPORTED.contains(&l) => {
                return Err(TextError::Unsupported { keyword: key.to_string(), reason: "this action is not implemented by rvs" })
            }
            _ => match self.port(key) {
                Some(port) => OfAction::Output { port, max_len: 0 },
                None => return Err(TextError::UnknownAction(key.to_string())),
            },
        };
        Ok(Some(Item::Act(a)))
    }

    fn list(&mut self, s: &str, allow_instructions: bool) -> Result<Vec<OfAction>, TextError> {
        let mut items = Vec::new();
        let mut drop = false;
        for (k, v) in KeyValues::new(s) {
            match self.one(k, v, allow_instructions)? {
                Some(a) => items.push(a),
                None => drop = true,
            }
        }
        let out = fold_enqueue(items)?;
        if drop && !out.is_empty() {
            return Err(TextError::DropWithOthers);
        }
        if out.iter().any(|a| matches!(a, OfAction::Conjunction { .. })) {
            if let Some(other) = out.iter().find(|a| !matches!(a, OfAction::Conjunction { .. } | OfAction::Note(_))) {
                return Err(bad(
                    "conjunction",
                    format!(
                        "\"conjunction\" actions may be used along with \"note\" but not any other kind of action (such as the \"{}\" action used here)",
                        action_kind(other)
                    ),
                ));
            }
        }
        verify_order(&out)?;
        Ok(out)
    }
}

/// A parsed action, or half of the `set_queue:Q,output:P,pop_queue` form of `enqueue` that
/// OpenFlow 1.3 prints.
enum Item {
    Act(OfAction),
    SetQueue(u32),
    PopQueue,
}

/// Folds `set_queue:Q,output:P,pop_queue` into `enqueue(P,Q)`; other uses of `set_queue` and
/// `pop_queue` are not supported by the model.
fn fold_enqueue(items: Vec<Item>) -> Result<Vec<OfAction>, TextError> {
    let unsupported = |k: &str| TextError::Unsupported { keyword: k.into(), reason: "only as part of set_queue,output,pop_queue" };
    let mut out = Vec::with_capacity(items.len());
    let mut it = items.into_iter();
    while let Some(item) = it.next() {
        match item {
            Item::Act(a) => out.push(a),
            Item::SetQueue(queue) => match (it.next(), it.next()) {
                (Some(Item::Act(OfAction::Output { port, .. })), Some(Item::PopQueue)) => out.push(OfAction::Enqueue { port, queue }),
                _ => return Err(unsupported("set_queue")),
            },
            Item::PopQueue => return Err(unsupported("pop_queue")),
        }
    }
    Ok(out)
}

/// Open vSwitch's name of an action's kind (`ofpact_name`), for messages.
pub(super) fn action_kind(a: &OfAction) -> &'static str {
    use OfAction::*;
    match a {
        Output { .. } => "output",
        Controller { .. } => "controller",
        Enqueue { .. } => "enqueue",
        SetVlanVid { .. } => "set_vlan_vid",
        SetVlanPcp { .. } => "set_vlan_pcp",
        StripVlan => "strip_vlan",
        PushVlan { .. } => "push_vlan",
        SetEthSrc(_) => "mod_dl_src",
        SetEthDst(_) => "mod_dl_dst",
        SetIpv4Src(_) => "mod_nw_src",
        SetIpv4Dst(_) => "mod_nw_dst",
        SetIpDscp(_) => "mod_nw_tos",
        SetIpEcn(_) => "mod_nw_ecn",
        SetIpTtl(_) => "mod_nw_ttl",
        SetL4SrcPort(_) => "mod_tp_src",
        SetL4DstPort(_) => "mod_tp_dst",
        SetField { .. } | RegLoad { .. } => "set_field",
        RegMove { .. } => "move",
        DecTtl { .. } => "dec_ttl",
        Resubmit { .. } => "resubmit",
        GotoTable(_) => "goto_table",
        WriteMetadata { .. } => "write_metadata",
        ClearActions => "clear_actions",
        WriteActions(_) => "write_actions",
        Note(_) => "note",
        Learn(_) => "learn",
        FinTimeout { .. } => "fin_timeout",
        Conjunction { .. } => "conjunction",
        SetTunnel { .. } => "set_tunnel",
        OutputReg { .. } => "output_reg",
        Sample { .. } => "sample",
        Group(_) => "group",
        Clone(_) => "clone",
        Multipath(_) => "multipath",
        Bundle(_) => "bundle",
        Ct(_) => "ct",
        Nat(_) => "nat",
        CtClear => "ct_clear",
        PushMpls { .. } => "push_mpls",
        PopMpls { .. } => "pop_mpls",
        SetMplsLabel(_) => "set_mpls_label",
        SetMplsTc(_) => "set_mpls_tc",
        SetMplsTtl(_) => "set_mpls_ttl",
        DecMplsTtl => "dec_mpls_ttl",
    }
}

/// `set_field` of `mpls_label` or `mpls_tc`, which the model holds as MPLS actions (rvs has
/// no MPLS fields); `None` for other fields.
fn mpls_set_field(name: &str, value: &str) -> Result<Option<OfAction>, TextError> {
    let invalid = || bad("set_field", format!("{value} is not a valid value for field {name}"));
    Ok(match name {
        "mpls_label" | "OXM_OF_MPLS_LABEL" => {
            Some(OfAction::SetMplsLabel(str_to_uint_max(value, 0xfffff).ok_or_else(invalid)? as u32))
        }
        "mpls_tc" | "OXM_OF_MPLS_TC" => Some(OfAction::SetMplsTc(str_to_uint_max(value, 7).ok_or_else(invalid)? as u8)),
        _ => None,
    })
}

fn atoi16(s: &str) -> u16 {
    let t = s.trim_start();
    let (neg, d) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let v = d.bytes().take_while(u8::is_ascii_digit).fold(0u64, |a, c| a.wrapping_mul(10).wrapping_add((c - b'0') as u64));
    (if neg { v.wrapping_neg() } else { v }) as u16
}

/// Converts a parsed `set_field` into the model's form (`dl_vlan`/`dl_vlan_pcp` become
/// their 1.2+ equivalents only at encoding; `ip_dscp` is kept as its own field).
fn set_field_model(field: Field, v: u128, m: u128) -> (Field, u128, u128) {
    let full = value_mask(field);
    let ones = if super::fields::ovs_bytes(field) >= 16 { u128::MAX } else { (1u128 << (8 * super::fields::ovs_bytes(field))) - 1 };
    let m = if m & ones == ones { full } else { m & full };
    let v = match field {
        Field::InPort => v,
        Field::VlanVid => v & 0x1fff,
        _ => v,
    };
    (field, v, m)
}

fn split_arrow<'s>(keyword: &str, arg: &'s str) -> Result<(&'s str, &'s str), TextError> {
    let i = arg.find("->").ok_or_else(|| bad(keyword, format!("{arg}: missing `->'")))?;
    let (v, f) = (&arg[..i], &arg[i + 2..]);
    if f.is_empty() {
        return Err(bad(keyword, format!("{arg}: missing field name following `->'")));
    }
    Ok((v, f))
}

fn instruction_name(lower: &str) -> &'static str {
    match lower {
        "goto_table" => "goto_table",
        "write_metadata" => "write_metadata",
        "clear_actions" => "clear_actions",
        _ => "write_actions",
    }
}

fn rank(a: &OfAction) -> (u8, &'static str) {
    match a {
        OfAction::ClearActions => (2, "clear_actions"),
        OfAction::WriteActions(_) => (3, "write_actions"),
        OfAction::WriteMetadata { .. } => (4, "write_metadata"),
        OfAction::GotoTable(_) => (5, "goto_table"),
        _ => (1, "apply_actions"),
    }
}

/// Checks OpenFlow 1.1+ instruction order (`ofpacts_verify`).
fn verify_order(list: &[OfAction]) -> Result<(), TextError> {
    let mut inst = (0u8, "meter");
    for (i, a) in list.iter().enumerate() {
        let next = rank(a);
        let bad_order = if inst.0 == 1 { next.0 < inst.0 } else { next.0 <= inst.0 };
        if i > 0 && bad_order {
            if next.0 == inst.0 {
                return Err(TextError::DuplicateInstruction(inst.1));
            }
            return Err(TextError::InstructionOrder { before: next.1, after: inst.1 });
        }
        inst = next;
    }
    Ok(())
}

/// Parses an action string (what follows `actions=`), with instructions allowed. Returns
/// the actions and the protocols that can carry them.
pub fn parse_actions(s: &str, names: Option<&dyn PortNames>) -> Result<(Vec<OfAction>, Protocols), TextError> {
    let mut p = Parser { names, usable: Protocols::ANY };
    let list = p.list(s, true)?;
    Ok((list, p.usable))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_flowcache::ofp::SubField;

    fn p(s: &str) -> Result<Vec<OfAction>, String> {
        parse_actions(s, None).map(|(a, _)| a).map_err(|e| e.to_string())
    }

    #[test]
    fn spellings_of_output() {
        let out = |port| OfAction::Output { port, max_len: 0 };
        assert_eq!(p("output:2,2,NORMAL,normal"), Ok(vec![out(OfPort(2)), out(OfPort(2)), out(OfPort::NORMAL), out(OfPort::NORMAL)]));
        assert_eq!(p("in_port,IN_PORT,LOCAL"), Ok(vec![out(OfPort::IN_PORT), out(OfPort::IN_PORT), out(OfPort::LOCAL)]));
        assert_eq!(p("CONTROLLER:100"), Ok(vec![OfAction::Output { port: OfPort::CONTROLLER, max_len: 100 }]));
        assert_eq!(p("controller"), Ok(vec![OfAction::Output { port: OfPort::CONTROLLER, max_len: u16::MAX }]));
        assert_eq!(p("output(port=2,max_len=100)"), Ok(vec![OfAction::Output { port: OfPort(2), max_len: 100 }]));
        assert_eq!(
            p("controller(reason=no_match,max_len=200,id=3)"),
            Ok(vec![OfAction::Controller { max_len: 200, reason: PacketInReason::NoMatch, controller_id: 3 }])
        );
    }

    #[test]
    fn registers() {
        assert_eq!(
            p("load:5->reg0[0..3],move:reg0[]->NXM_NX_REG1[]"),
            Ok(vec![
                OfAction::RegLoad { dst: SubField { field: Field::Reg0, ofs: 0, n_bits: 4 }, value: 5 },
                OfAction::RegMove { src: SubField::whole(Field::Reg0), dst: SubField::whole(Field::Reg1) },
            ])
        );
        assert_eq!(p("load:0x100->reg0[0..7]").unwrap_err(), "0x100->reg0[0..7]: value 0x100 does not fit into 8 bits");
        assert_eq!(
            p("move:reg0[0..3]->reg1[0..4]").unwrap_err(),
            "reg0[0..3]->reg1[0..4]: source field is 4 bits wide but destination is 5 bits wide"
        );
    }

    #[test]
    fn drop_and_instruction_order() {
        assert_eq!(p("drop"), Ok(vec![]));
        assert_eq!(p(""), Ok(vec![]));
        assert_eq!(p("drop,output:1").unwrap_err(), "\"drop\" must not be accompanied by any other action or instruction");
        assert_eq!(
            p("goto_table:1,output:2").unwrap_err(),
            "invalid instruction ordering: apply_actions must appear before goto_table, for OpenFlow 1.1+ compatibility"
        );
        assert_eq!(p("goto_table:1,goto_table:2").unwrap_err(), "duplicate goto_table instruction not allowed, for OpenFlow 1.1+ compatibility");
        assert!(p("output:1,clear_actions,write_actions(output:2),write_metadata:1/1,goto_table:3").is_ok());
        assert_eq!(p("bogus").unwrap_err(), "unknown action bogus");
    }
}
