//! Text form of megaflows, as `ovs-appctl dpctl/dump-flows` prints datapath flows.
//!
//! `recirc_id(0),in_port(2),eth(src=..,dst=..),eth_type(0x0800),ipv4(src=..,frag=no),
//! udp(dst=53), packets:3, bytes:294, used:0.412s, actions:3`
//!
//! Only the fields the megaflow matches are shown; a fully matched field as `name=value`, a
//! partly matched one as `name=value/mask`. A header group appears when any of its fields is
//! matched. Tagged megaflows print the tag and the inner headers inside `encap(...)`, as OVS.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use rvs_flowcache::dpaction::format_actions;
use rvs_flowcache::key::{FRAG_ANY, FRAG_LATER, VLAN_PRESENT};
use rvs_flowcache::megaflow::Megaflow;
use rvs_flowcache::FlowKey;
use rvs_packet::wire::MacAddr;

struct Group {
    parts: Vec<String>,
}

impl Group {
    fn new() -> Self {
        Group { parts: Vec::new() }
    }

    fn field<T: Copy + PartialEq + Default>(&mut self, name: &str, v: T, m: T, full: T, show: impl Fn(T) -> String) {
        if m == T::default() {
            return;
        }
        if m == full {
            self.parts.push(format!("{name}={}", show(v)));
        } else {
            self.parts.push(format!("{name}={}/{}", show(v), show(m)));
        }
    }

    fn emit(self, out: &mut Vec<String>, name: &str) {
        if !self.parts.is_empty() {
            out.push(format!("{name}({})", self.parts.join(",")));
        }
    }
}

fn mac(v: u64) -> String {
    MacAddr::from_u64(v).to_string()
}

fn frag_text(v: u8, m: u8) -> Option<&'static str> {
    match (v & m, m) {
        (_, 0) => None,
        (0, _) => Some("no"),
        (x, _) if x & FRAG_LATER != 0 => Some("later"),
        (x, _) if x & FRAG_ANY != 0 && m & FRAG_LATER != 0 => Some("first"),
        _ => Some("yes"),
    }
}

/// The match part of a megaflow (`recirc_id(0),in_port(1),...`).
pub fn format_megaflow_match(k: &FlowKey, m: &FlowKey) -> String {
    let mut out = vec![format!("recirc_id({})", k.recirc_id), format!("in_port({})", k.in_port)];
    let mut eth = Group::new();
    eth.field("src", k.dl_src, m.dl_src, 0xffff_ffff_ffff, mac);
    eth.field("dst", k.dl_dst, m.dl_dst, 0xffff_ffff_ffff, mac);
    eth.emit(&mut out, "eth");
    let tagged = m.vlan_tci & VLAN_PRESENT != 0 && k.vlan_tci & VLAN_PRESENT != 0;
    let mut inner = Vec::new();
    if tagged {
        out.push("eth_type(0x8100)".to_string());
        let mut v = Group::new();
        v.field("vid", k.vlan_tci & 0x0fff, m.vlan_tci & 0x0fff, 0x0fff, |x| x.to_string());
        v.field("pcp", k.vlan_tci >> 13, m.vlan_tci >> 13, 7, |x| x.to_string());
        if v.parts.is_empty() {
            v.parts.push("vid=0/0".to_string());
        }
        v.emit(&mut out, "vlan");
    }
    let l3 = if tagged { &mut inner } else { &mut out };
    if m.dl_type != 0 {
        l3.push(format!("eth_type({:#06x})", k.dl_type));
    }
    match k.dl_type {
        0x0800 => {
            let mut g = Group::new();
            g.field("src", k.nw_src, m.nw_src, u32::MAX, |x| Ipv4Addr::from(x).to_string());
            g.field("dst", k.nw_dst, m.nw_dst, u32::MAX, |x| Ipv4Addr::from(x).to_string());
            g.field("proto", k.nw_proto, m.nw_proto, 0xff, |x| x.to_string());
            g.field("tos", k.nw_tos, m.nw_tos, 0xff, |x| format!("{x:#x}"));
            g.field("ttl", k.nw_ttl, m.nw_ttl, 0xff, |x| x.to_string());
            if let Some(f) = frag_text(k.nw_frag, m.nw_frag) {
                g.parts.push(format!("frag={f}"));
            }
            g.emit(l3, "ipv4");
        }
        0x86dd => {
            let mut g = Group::new();
            g.field("src", k.ipv6_src, m.ipv6_src, u128::MAX, |x| Ipv6Addr::from(x).to_string());
            g.field("dst", k.ipv6_dst, m.ipv6_dst, u128::MAX, |x| Ipv6Addr::from(x).to_string());
            g.field("label", k.ipv6_label, m.ipv6_label, 0xfffff, |x| format!("{x:#x}"));
            g.field("proto", k.nw_proto, m.nw_proto, 0xff, |x| x.to_string());
            g.field("tclass", k.nw_tos, m.nw_tos, 0xff, |x| format!("{x:#x}"));
            g.field("hlimit", k.nw_ttl, m.nw_ttl, 0xff, |x| x.to_string());
            if let Some(f) = frag_text(k.nw_frag, m.nw_frag) {
                g.parts.push(format!("frag={f}"));
            }
            g.emit(l3, "ipv6");
        }
        0x0806 | 0x8035 => {
            let mut g = Group::new();
            g.field("sip", k.nw_src, m.nw_src, u32::MAX, |x| Ipv4Addr::from(x).to_string());
            g.field("tip", k.nw_dst, m.nw_dst, u32::MAX, |x| Ipv4Addr::from(x).to_string());
            g.field("op", k.nw_proto, m.nw_proto, 0xff, |x| x.to_string());
            g.field("sha", k.arp_sha, m.arp_sha, 0xffff_ffff_ffff, mac);
            g.field("tha", k.arp_tha, m.arp_tha, 0xffff_ffff_ffff, mac);
            g.emit(l3, "arp");
        }
        _ => {}
    }
    if k.dl_type == 0x0800 || k.dl_type == 0x86dd {
        let name = match (k.nw_proto, k.dl_type) {
            (6, _) => Some("tcp"),
            (17, _) => Some("udp"),
            (132, _) => Some("sctp"),
            (1, 0x0800) => Some("icmp"),
            (58, 0x86dd) => Some("icmpv6"),
            _ => None,
        };
        if let Some(name) = name {
            let mut g = Group::new();
            let (a, b) = if name.starts_with("icmp") { ("type", "code") } else { ("src", "dst") };
            g.field(a, k.tp_src, m.tp_src, if name.starts_with("icmp") { 0xff } else { 0xffff }, |x| x.to_string());
            g.field(b, k.tp_dst, m.tp_dst, if name.starts_with("icmp") { 0xff } else { 0xffff }, |x| x.to_string());
            g.emit(l3, name);
            if name == "tcp" && m.tcp_flags != 0 {
                l3.push(format!("tcp_flags({:#x}/{:#x})", k.tcp_flags, m.tcp_flags));
            }
        }
    }
    if tagged && !inner.is_empty() {
        out.push(format!("encap({})", inner.join(",")));
    }
    out.join(",")
}

/// One line of `dpctl/dump-flows`.
pub fn format_megaflow(f: &Megaflow, now_ms: u64) -> String {
    let (packets, bytes, used, tcp_flags) = f.stats.read();
    let mut s = format_megaflow_match(&f.key, &f.mask);
    let _ = write!(s, ", packets:{packets}, bytes:{bytes}, used:");
    if packets == 0 {
        s.push_str("never");
    } else {
        let _ = write!(s, "{:.3}s", now_ms.saturating_sub(used) as f64 / 1000.0);
    }
    if tcp_flags != 0 {
        let _ = write!(s, ", flags:{}", tcp_flags_text(tcp_flags));
    }
    let _ = write!(s, ", actions:{}", format_actions(&f.actions));
    s
}

fn tcp_flags_text(f: u16) -> String {
    const NAMES: [(u16, &str); 9] =
        [(0x001, "F"), (0x002, "S"), (0x004, "R"), (0x008, "P"), (0x010, "."), (0x020, "U"), (0x040, "E"), (0x080, "C"), (0x100, "N")];
    NAMES.iter().filter(|(b, _)| f & b != 0).map(|(_, n)| *n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_matched_fields_only() {
        let mut k = FlowKey::ZERO;
        let mut m = FlowKey::ZERO;
        k.in_port = 1;
        m.in_port = u32::MAX;
        m.recirc_id = u32::MAX;
        k.dl_src = 0x5054_0000_0001;
        k.dl_dst = 0x5054_0000_0002;
        m.dl_src = 0xffff_ffff_ffff;
        m.dl_dst = 0xffff_ffff_ffff;
        k.dl_type = 0x0800;
        m.dl_type = 0xffff;
        m.nw_frag = 0xff;
        assert_eq!(
            format_megaflow_match(&k, &m),
            "recirc_id(0),in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),ipv4(frag=no)"
        );
        k.nw_proto = 17;
        m.nw_proto = 0xff;
        k.nw_dst = 0x0a00_0000;
        m.nw_dst = 0xff00_0000;
        k.tp_dst = 53;
        m.tp_dst = 0xffff;
        assert!(format_megaflow_match(&k, &m).ends_with("ipv4(dst=10.0.0.0/255.0.0.0,proto=17,frag=no),udp(dst=53)"));
        k.vlan_tci = VLAN_PRESENT | 10;
        m.vlan_tci = 0xffff;
        let s = format_megaflow_match(&k, &m);
        assert!(s.contains("eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800),ipv4("), "{s}");
    }
}
