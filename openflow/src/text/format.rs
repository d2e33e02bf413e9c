//! Printing matches and actions exactly as `ovs-ofctl` prints them.
//!
//! [`format_match`] follows Open vSwitch's `match_format`: the fields come in a fixed order
//! (`priority`, `pkt_mark`, the protocol shorthand such as `tcp` or `arp` chosen from
//! `dl_type` and `nw_proto`, registers, tunnel, `metadata`, `in_port`, VLAN, Ethernet
//! addresses, `dl_type` when no shorthand said it, L3 addresses, `nw_proto`/`arp_op`, ARP
//! hardware addresses, `nw_tos`, `nw_ecn`, `nw_ttl`, `nw_frag`, L4 ports or ICMP type and
//! code, ND fields, `tcp_flags`), each with the formatting Open vSwitch uses for it (hex for
//! registers, CIDR prefixes for addresses when the mask allows, `dl_vlan` instead of
//! `vlan_tci` when the TCI mask is a plain VID/PCP match).
//!
//! [`format_actions`] follows `ofpacts_format`, with the protocol version as a parameter
//! where the printed form depends on it: OpenFlow 1.3 has `pop_vlan` where OpenFlow 1.0 has
//! `strip_vlan`, and `enqueue` is sent (and so printed) as `set_queue,output,pop_queue`.

use super::fields::{format_subfield, format_tcp_flags, format_value, ovs_name};
use super::value::{format_ipv4_masked, format_ipv6_masked, format_mac_masked, format_port, hex0, PortNames};
use crate::msg::Version;
use rvs_flowcache::key::{FRAG_ANY, FRAG_LATER, VLAN_PRESENT};
use rvs_flowcache::ofp::{Match, OfAction, OfPort, PacketInReason, DEFAULT_PRIORITY};
use rvs_packet::wire::{ip_proto, EtherType};
use std::fmt::Write;

/// Prints a match (and its priority unless it is the default), without a trailing comma.
pub fn format_match(m: &Match, priority: u16, names: Option<&dyn PortNames>) -> String {
    let k = &m.key.masked(&m.mask);
    let w = &m.mask;
    let mut s = String::new();
    let put = |s: &mut String, name: &str, v: String| {
        let _ = write!(s, "{name}={v},");
    };
    if priority != DEFAULT_PRIORITY {
        put(&mut s, "priority", priority.to_string());
    }
    if w.conj_id != 0 {
        put(&mut s, "conj_id", k.conj_id.to_string());
    }
    if w.pkt_mark != 0 {
        put(&mut s, "pkt_mark", u32_masked_hex(k.pkt_mark, w.pkt_mark));
    }
    let dl_type = k.dl_type;
    let (mut skip_type, mut skip_proto) = (false, false);
    if w.dl_type != 0 {
        skip_type = true;
        let short = match dl_type {
            EtherType::IPV4 => {
                if w.nw_proto != 0 {
                    skip_proto = true;
                    match k.nw_proto {
                        ip_proto::ICMP => "icmp",
                        2 => "igmp",
                        ip_proto::TCP => "tcp",
                        ip_proto::UDP => "udp",
                        ip_proto::SCTP => "sctp",
                        _ => {
                            skip_proto = false;
                            "ip"
                        }
                    }
                } else {
                    "ip"
                }
            }
            EtherType::IPV6 => {
                if w.nw_proto != 0 {
                    skip_proto = true;
                    match k.nw_proto {
                        ip_proto::ICMPV6 => "icmp6",
                        ip_proto::TCP => "tcp6",
                        ip_proto::UDP => "udp6",
                        ip_proto::SCTP => "sctp6",
                        _ => {
                            skip_proto = false;
                            "ipv6"
                        }
                    }
                } else {
                    "ipv6"
                }
            }
            EtherType::ARP => "arp",
            EtherType::RARP => "rarp",
            EtherType::MPLS => "mpls",
            EtherType::MPLS_MCAST => "mplsm",
            _ => {
                skip_type = false;
                ""
            }
        };
        if skip_type {
            s.push_str(short);
            s.push(',');
        }
    }
    for r in 0..16 {
        if w.regs[r] != 0 {
            put(&mut s, &format!("reg{r}"), u32_masked_hex(k.regs[r], w.regs[r]));
        }
    }
    if w.tun_id != 0 {
        put(&mut s, "tun_id", u64_masked_hex(k.tun_id, w.tun_id));
    }
    if w.tun_src != 0 {
        put(&mut s, "tun_src", format_ipv4_masked(k.tun_src, w.tun_src));
    }
    if w.tun_dst != 0 {
        put(&mut s, "tun_dst", format_ipv4_masked(k.tun_dst, w.tun_dst));
    }
    if w.metadata != 0 {
        put(&mut s, "metadata", u64_masked_hex(k.metadata, w.metadata));
    }
    if w.in_port != 0 {
        put(&mut s, "in_port", format_port(OfPort(k.in_port), names));
    }
    if w.vlan_tci != 0 {
        let vid_mask = w.vlan_tci & 0x0fff;
        let pcp_mask = w.vlan_tci & 0xe000;
        let cfi = w.vlan_tci & VLAN_PRESENT;
        if cfi != 0
            && k.vlan_tci & VLAN_PRESENT != 0
            && (vid_mask == 0 || vid_mask == 0x0fff)
            && (pcp_mask == 0 || pcp_mask == 0xe000)
            && (vid_mask != 0 || pcp_mask != 0)
        {
            if vid_mask != 0 {
                put(&mut s, "dl_vlan", (k.vlan_tci & 0x0fff).to_string());
            }
            if pcp_mask != 0 {
                put(&mut s, "dl_vlan_pcp", (k.vlan_tci >> 13).to_string());
            }
        } else if w.vlan_tci == 0xffff {
            put(&mut s, "vlan_tci", format!("0x{:04x}", k.vlan_tci));
        } else {
            put(&mut s, "vlan_tci", format!("0x{:04x}/0x{:04x}", k.vlan_tci, w.vlan_tci));
        }
    }
    if w.dl_src != 0 {
        put(&mut s, "dl_src", format_mac_masked(k.dl_src, w.dl_src));
    }
    if w.dl_dst != 0 {
        put(&mut s, "dl_dst", format_mac_masked(k.dl_dst, w.dl_dst));
    }
    if !skip_type && w.dl_type != 0 {
        put(&mut s, "dl_type", format!("0x{dl_type:04x}"));
    }
    let is_arp = dl_type == EtherType::ARP || dl_type == EtherType::RARP;
    if dl_type == EtherType::IPV6 {
        if w.ipv6_src != 0 {
            put(&mut s, "ipv6_src", format_ipv6_masked(k.ipv6_src, w.ipv6_src));
        }
        if w.ipv6_dst != 0 {
            put(&mut s, "ipv6_dst", format_ipv6_masked(k.ipv6_dst, w.ipv6_dst));
        }
        if w.ipv6_label != 0 {
            if w.ipv6_label == 0x000f_ffff || w.ipv6_label == u32::MAX {
                put(&mut s, "ipv6_label", format!("0x{:05x}", k.ipv6_label));
            } else {
                put(&mut s, "ipv6_label", format!("0x{:05x}/0x{:05x}", k.ipv6_label, w.ipv6_label));
            }
        }
    } else if is_arp {
        if w.nw_src != 0 {
            put(&mut s, "arp_spa", format_ipv4_masked(k.nw_src, w.nw_src));
        }
        if w.nw_dst != 0 {
            put(&mut s, "arp_tpa", format_ipv4_masked(k.nw_dst, w.nw_dst));
        }
    } else {
        if w.nw_src != 0 {
            put(&mut s, "nw_src", format_ipv4_masked(k.nw_src, w.nw_src));
        }
        if w.nw_dst != 0 {
            put(&mut s, "nw_dst", format_ipv4_masked(k.nw_dst, w.nw_dst));
        }
    }
    if !skip_proto && w.nw_proto != 0 {
        put(&mut s, if is_arp { "arp_op" } else { "nw_proto" }, k.nw_proto.to_string());
    }
    if is_arp {
        if w.arp_sha != 0 {
            put(&mut s, "arp_sha", format_mac_masked(k.arp_sha, w.arp_sha));
        }
        if w.arp_tha != 0 {
            put(&mut s, "arp_tha", format_mac_masked(k.arp_tha, w.arp_tha));
        }
    }
    if w.nw_tos & 0xfc != 0 {
        put(&mut s, "nw_tos", (k.nw_tos & 0xfc).to_string());
    }
    if w.nw_tos & 3 != 0 {
        put(&mut s, "nw_ecn", (k.nw_tos & 3).to_string());
    }
    if w.nw_ttl != 0 {
        put(&mut s, "nw_ttl", k.nw_ttl.to_string());
    }
    match w.nw_frag & 3 {
        3 => put(
            &mut s,
            "nw_frag",
            match (k.nw_frag & FRAG_ANY != 0, k.nw_frag & FRAG_LATER != 0) {
                (true, true) => "later",
                (true, false) => "first",
                (false, true) => "<error>",
                (false, false) => "no",
            }
            .into(),
        ),
        1 => put(&mut s, "nw_frag", if k.nw_frag & FRAG_ANY != 0 { "yes" } else { "no" }.into()),
        2 => put(&mut s, "nw_frag", if k.nw_frag & FRAG_LATER != 0 { "later" } else { "not_later" }.into()),
        _ => {}
    }
    let (tp_names, icmp6) = match (dl_type, k.nw_proto) {
        (EtherType::IPV4, ip_proto::ICMP) => (("icmp_type", "icmp_code"), false),
        (EtherType::IPV4, 2) => (("igmp_type", "igmp_code"), false),
        (EtherType::IPV6, ip_proto::ICMPV6) => (("icmp_type", "icmp_code"), true),
        _ => (("tp_src", "tp_dst"), false),
    };
    if w.tp_src != 0 {
        put(&mut s, tp_names.0, u16_masked(k.tp_src, w.tp_src));
    }
    if w.tp_dst != 0 {
        put(&mut s, tp_names.1, u16_masked(k.tp_dst, w.tp_dst));
    }
    if icmp6 {
        if w.nd_target != 0 {
            put(&mut s, "nd_target", format_ipv6_masked(k.nd_target, w.nd_target));
        }
        if w.arp_sha != 0 {
            put(&mut s, "nd_sll", format_mac_masked(k.arp_sha, w.arp_sha));
        }
        if w.arp_tha != 0 {
            put(&mut s, "nd_tll", format_mac_masked(k.arp_tha, w.arp_tha));
        }
    }
    if k.is_ip_any() && k.nw_proto == ip_proto::TCP && w.tcp_flags != 0 {
        put(&mut s, "tcp_flags", format_tcp_flags(k.tcp_flags, w.tcp_flags));
    }
    if s.ends_with(',') {
        s.pop();
    }
    s
}

fn u32_masked_hex(v: u32, m: u32) -> String {
    if m == u32::MAX {
        hex0(v as u128)
    } else {
        format!("{}/{}", hex0(v as u128), hex0(m as u128))
    }
}

fn u64_masked_hex(v: u64, m: u64) -> String {
    if m == u64::MAX {
        hex0(v as u128)
    } else {
        format!("{}/{}", hex0(v as u128), hex0(m as u128))
    }
}

fn u16_masked(v: u16, m: u16) -> String {
    if m == u16::MAX {
        v.to_string()
    } else {
        format!("0x{v:x}/0x{m:x}")
    }
}

/// The name of a packet-in reason in `controller(reason=...)`.
pub fn reason_name(r: PacketInReason) -> &'static str {
    match r {
        PacketInReason::NoMatch => "no_match",
        PacketInReason::Action => "action",
        PacketInReason::InvalidTtl => "invalid_ttl",
    }
}

fn format_output_port(s: &mut String, port: OfPort, names: Option<&dyn PortNames>) {
    if port.0 < OfPort(0xff00).0 {
        s.push_str("output:");
    }
    s.push_str(&format_port(port, names));
}

fn format_action(s: &mut String, a: &OfAction, version: Version, names: Option<&dyn PortNames>) {
    match a {
        OfAction::Output { port, max_len } => {
            if *port == OfPort::CONTROLLER {
                let _ = write!(s, "CONTROLLER:{max_len}");
            } else if *max_len != 0 {
                let _ = write!(s, "output(port={},max_len={max_len})", format_port(*port, names));
            } else {
                format_output_port(s, *port, names);
            }
        }
        OfAction::Controller { max_len, reason, controller_id } => {
            if *reason == PacketInReason::Action && *controller_id == 0 {
                let _ = write!(s, "CONTROLLER:{max_len}");
            } else {
                let mut parts = Vec::new();
                if *reason != PacketInReason::Action {
                    parts.push(format!("reason={}", reason_name(*reason)));
                }
                if *max_len != u16::MAX {
                    parts.push(format!("max_len={max_len}"));
                }
                if *controller_id != 0 {
                    parts.push(format!("id={controller_id}"));
                }
                let _ = write!(s, "controller({})", parts.join(","));
            }
        }
        OfAction::Enqueue { port, queue } => {
            if version == Version::V1_0 {
                let _ = write!(s, "enqueue:{}:{queue}", format_port(*port, names));
            } else {
                let _ = write!(s, "set_queue:{queue},");
                format_output_port(s, *port, names);
                s.push_str(",pop_queue");
            }
        }
        OfAction::SetVlanVid { vid, push_if_needed } => {
            let _ = write!(s, "{}:{vid}", if *push_if_needed { "mod_vlan_vid" } else { "set_vlan_vid" });
        }
        OfAction::SetVlanPcp { pcp, push_if_needed } => {
            let _ = write!(s, "{}:{pcp}", if *push_if_needed { "mod_vlan_pcp" } else { "set_vlan_pcp" });
        }
        OfAction::StripVlan => s.push_str(if version == Version::V1_0 { "strip_vlan" } else { "pop_vlan" }),
        OfAction::PushVlan { ethertype } => {
            let _ = write!(s, "push_vlan:{ethertype:#x}");
        }
        OfAction::SetEthSrc(mac) => {
            let _ = write!(s, "mod_dl_src:{}", format_mac_masked(mac.to_u64(), 0xffff_ffff_ffff));
        }
        OfAction::SetEthDst(mac) => {
            let _ = write!(s, "mod_dl_dst:{}", format_mac_masked(mac.to_u64(), 0xffff_ffff_ffff));
        }
        OfAction::SetIpv4Src(ip) => {
            let _ = write!(s, "mod_nw_src:{}", format_ipv4_masked(*ip, u32::MAX));
        }
        OfAction::SetIpv4Dst(ip) => {
            let _ = write!(s, "mod_nw_dst:{}", format_ipv4_masked(*ip, u32::MAX));
        }
        OfAction::SetIpDscp(tos) => {
            let _ = write!(s, "mod_nw_tos:{tos}");
        }
        OfAction::SetIpEcn(ecn) => {
            let _ = write!(s, "mod_nw_ecn:{ecn}");
        }
        OfAction::SetIpTtl(ttl) => {
            let _ = write!(s, "mod_nw_ttl:{ttl}");
        }
        OfAction::SetL4SrcPort(p) => {
            let _ = write!(s, "mod_tp_src:{p}");
        }
        OfAction::SetL4DstPort(p) => {
            let _ = write!(s, "mod_tp_dst:{p}");
        }
        OfAction::SetField { field, value, mask } => {
            let _ = write!(s, "set_field:{}->{}", format_value(*field, *value, *mask, names), ovs_name(*field));
        }
        OfAction::RegLoad { dst, value } => {
            let _ = write!(s, "load:{}->{}", hex0(*value), format_subfield(dst));
        }
        OfAction::RegMove { src, dst } => {
            let _ = write!(s, "move:{}->{}", format_subfield(src), format_subfield(dst));
        }
        OfAction::DecTtl { controller_ids } => {
            s.push_str("dec_ttl");
            if !controller_ids.is_empty() {
                let ids: Vec<String> = controller_ids.iter().map(u16::to_string).collect();
                let _ = write!(s, "({})", ids.join(","));
            }
        }
        OfAction::Resubmit { in_port, table } => match (in_port, table) {
            (Some(p), None) => {
                let _ = write!(s, "resubmit:{}", format_port(*p, names));
            }
            _ => {
                let p = in_port.map(|p| format_port(p, names)).unwrap_or_default();
                let t = table.map(|t| t.to_string()).unwrap_or_default();
                let _ = write!(s, "resubmit({p},{t})");
            }
        },
        OfAction::GotoTable(t) => {
            let _ = write!(s, "goto_table:{t}");
        }
        OfAction::WriteMetadata { value, mask } => {
            let _ = write!(s, "write_metadata:{}", hex0(*value as u128));
            if *mask != u64::MAX {
                let _ = write!(s, "/{}", hex0(*mask as u128));
            }
        }
        OfAction::ClearActions => s.push_str("clear_actions"),
        OfAction::WriteActions(inner) => {
            let _ = write!(s, "write_actions({})", format_actions(inner, version, names));
        }
        OfAction::Multipath(mp) => super::hashsel::format_multipath(s, mp),
        OfAction::Bundle(b) => super::hashsel::format_bundle(s, b, names),
        OfAction::Ct(ct) => super::conntrack::format_ct(s, ct, &|acts| format_actions(acts, version, names)),
        OfAction::Nat(nat) => super::conntrack::format_nat(s, nat),
        OfAction::CtClear => s.push_str("ct_clear"),
        OfAction::PushMpls { ethertype } => {
            let _ = write!(s, "push_mpls:{ethertype:#06x}");
        }
        OfAction::PopMpls { ethertype } => {
            let _ = write!(s, "pop_mpls:{ethertype:#06x}");
        }
        // OpenFlow 1.0 has actions for these; 1.2+ sets the fields.
        OfAction::SetMplsLabel(l) if version == Version::V1_0 => {
            let _ = write!(s, "set_mpls_label({l})");
        }
        OfAction::SetMplsLabel(l) => {
            let _ = write!(s, "set_field:{l}->mpls_label");
        }
        OfAction::SetMplsTc(tc) if version == Version::V1_0 => {
            let _ = write!(s, "set_mpls_tc({tc})");
        }
        OfAction::SetMplsTc(tc) => {
            let _ = write!(s, "set_field:{tc}->mpls_tc");
        }
        OfAction::SetMplsTtl(ttl) => {
            let _ = write!(s, "set_mpls_ttl({ttl})");
        }
        OfAction::DecMplsTtl => s.push_str("dec_mpls_ttl"),
        OfAction::Clone(inner) => {
            let _ = write!(s, "clone({})", format_actions(inner, version, names));
        }
        OfAction::Note(bytes) => {
            let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let _ = write!(s, "note:{}", hex.join("."));
        }
        OfAction::Group(g) => {
            let _ = write!(s, "group:{g}");
        }
        OfAction::Learn(l) => super::learn::format_learn(s, l, names),
        OfAction::FinTimeout { idle, hard } => super::learn::format_fin_timeout(s, *idle, *hard),
        OfAction::SetTunnel { id, wide } => {
            // OpenFlow 1.3 carries it as set_field (and decodes it as such).
            let _ = write!(s, "{}:{id:#x}", if *wide { "set_tunnel64" } else { "set_tunnel" });
        }
        OfAction::OutputReg { src, .. } => {
            let _ = write!(s, "output:{}", format_subfield(src));
        }
        OfAction::Sample { .. } => super::learn::format_sample(s, a, names),
        OfAction::Conjunction { id, clause, n_clauses } => {
            let _ = write!(s, "conjunction({id},{}/{n_clauses})", clause + 1);
        }
    }
}

/// Prints actions and instructions (`drop` when there are none).
pub fn format_actions(actions: &[OfAction], version: Version, names: Option<&dyn PortNames>) -> String {
    if actions.is_empty() {
        return "drop".into();
    }
    let mut s = String::new();
    for (i, a) in actions.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        format_action(&mut s, a, version, names);
    }
    s
}
