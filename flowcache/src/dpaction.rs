//! Datapath actions: what a megaflow does to a packet.
//!
//! Translation ([`crate::xlate`]) turns OpenFlow actions into a flat list of [`DpAction`]s,
//! which the PMD runs on every packet that hits the megaflow. The datapath knows nothing about
//! OpenFlow (STYLE example 14): no tables, no rule lookups, only ports, header rewrites and
//! hand-offs to userspace.
//!
//! Header rewrites are *commits*: translation compares the flow as the OpenFlow pipeline sees
//! it with the packet as the datapath will have left it, and emits one [`SetAction`] per
//! header whose fields differ, holding only the changed fields (OVS's masked `set`).
//!
//! Text forms follow `ovs-appctl dpctl/dump-flows`: `2`, `push_vlan(vid=10,pcp=0)`,
//! `pop_vlan`, `set(ipv4(dst=10.0.0.2,ttl=63))`, `userspace(controller(...))`, `drop`.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use rvs_packet::ops::{self, ArpField, L4Port, OpError};
use rvs_packet::wire::{EtherType, MacAddr};
use rvs_packet::PacketBuf;

use crate::ofp::PacketInReason;

/// A rewrite of some fields of one header. `None` fields are left alone.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SetAction {
    /// Ethernet addresses.
    Eth {
        /// New source.
        src: Option<MacAddr>,
        /// New destination.
        dst: Option<MacAddr>,
    },
    /// IPv4 header fields.
    Ipv4 {
        /// New source.
        src: Option<u32>,
        /// New destination.
        dst: Option<u32>,
        /// New TOS byte (DSCP and ECN).
        tos: Option<u8>,
        /// New TTL.
        ttl: Option<u8>,
    },
    /// IPv6 header fields.
    Ipv6 {
        /// New source.
        src: Option<u128>,
        /// New destination.
        dst: Option<u128>,
        /// New traffic class.
        tclass: Option<u8>,
        /// New flow label.
        label: Option<u32>,
        /// New hop limit.
        hlimit: Option<u8>,
        /// Upper-layer protocol (for the checksum an address change affects).
        l4_proto: u8,
    },
    /// TCP ports.
    Tcp {
        /// New source port.
        src: Option<u16>,
        /// New destination port.
        dst: Option<u16>,
    },
    /// UDP ports.
    Udp {
        /// New source port.
        src: Option<u16>,
        /// New destination port.
        dst: Option<u16>,
    },
    /// ICMP or ICMPv6 type and code (both are always written).
    Icmp {
        /// Type.
        icmp_type: u8,
        /// Code.
        code: u8,
        /// True for ICMPv6.
        v6: bool,
    },
    /// ARP fields.
    Arp {
        /// New opcode.
        op: Option<u16>,
        /// New sender protocol address.
        spa: Option<u32>,
        /// New target protocol address.
        tpa: Option<u32>,
        /// New sender hardware address.
        sha: Option<MacAddr>,
        /// New target hardware address.
        tha: Option<MacAddr>,
    },
}

/// What to tell the controller about a packet sent to userspace.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ControllerAction {
    /// Why.
    pub reason: PacketInReason,
    /// Bytes of the packet to include (65535 = all).
    pub max_len: u16,
    /// Controller connection id (0 = every controller).
    pub controller_id: u16,
    /// Table of the rule that sent it.
    pub table_id: u8,
    /// Cookie of that rule (all ones for a table miss).
    pub cookie: u64,
    /// The OpenFlow pipeline fields at that point (in_port, metadata, registers, tunnel id),
    /// as (field, value) pairs for the packet-in match.
    pub pipeline_fields: Vec<(crate::field::Field, u128)>,
}

/// One datapath action.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DpAction {
    /// Transmit a copy (or the packet itself, if last) on a datapath port.
    Output(u32),
    /// Push an outer VLAN tag.
    PushVlan {
        /// TPID.
        tpid: u16,
        /// TCI (VID and PCP; the DEI bit clear).
        tci: u16,
    },
    /// Remove the outer VLAN tag.
    PopVlan,
    /// Rewrite header fields.
    Set(SetAction),
    /// Hand the packet to the control thread as a packet-in.
    Controller(Box<ControllerAction>),
}

/// Why executing an action failed on a packet (the packet is dropped and counted).
pub type ExecError = OpError;

impl DpAction {
    /// Applies a header-rewriting action to `pkt`. `Output` and `Controller` are handled by
    /// the caller (they move the packet, not change it) and are a no-op here.
    pub fn apply(&self, pkt: &mut PacketBuf) -> Result<(), ExecError> {
        match self {
            DpAction::Output(_) | DpAction::Controller(_) => Ok(()),
            DpAction::PushVlan { tpid, tci } => ops::push_vlan(pkt, *tpid, *tci),
            DpAction::PopVlan => ops::pop_vlan(pkt),
            DpAction::Set(s) => s.apply(pkt),
        }
    }
}

fn is_ipv4_packet(pkt: &PacketBuf) -> bool {
    let o = pkt.meta.l3_ofs as usize;
    pkt.data().get(o).is_some_and(|b| b >> 4 == 4)
}

impl SetAction {
    /// Applies the rewrite, keeping checksums right.
    pub fn apply(&self, pkt: &mut PacketBuf) -> Result<(), ExecError> {
        match *self {
            SetAction::Eth { src, dst } => {
                if let Some(m) = src {
                    ops::set_eth_src(pkt, m)?;
                }
                if let Some(m) = dst {
                    ops::set_eth_dst(pkt, m)?;
                }
            }
            SetAction::Ipv4 { src, dst, tos, ttl } => {
                if let Some(a) = src {
                    ops::set_ipv4_addr(pkt, ops::Ipv4Addr::Src, a)?;
                }
                if let Some(a) = dst {
                    ops::set_ipv4_addr(pkt, ops::Ipv4Addr::Dst, a)?;
                }
                if let Some(t) = tos {
                    ops::set_ipv4_tos(pkt, t)?;
                }
                if let Some(t) = ttl {
                    ops::set_ipv4_ttl(pkt, t)?;
                }
            }
            SetAction::Ipv6 { src, dst, tclass, label, hlimit, l4_proto } => {
                if let Some(a) = src {
                    ops::set_ipv6_addr(pkt, ops::Ipv6Addr::Src, a, l4_proto)?;
                }
                if let Some(a) = dst {
                    ops::set_ipv6_addr(pkt, ops::Ipv6Addr::Dst, a, l4_proto)?;
                }
                if let Some(t) = tclass {
                    ops::set_ipv6_tclass(pkt, t)?;
                }
                if let Some(l) = label {
                    ops::set_ipv6_label(pkt, l)?;
                }
                if let Some(h) = hlimit {
                    ops::set_ipv6_hlimit(pkt, h)?;
                }
            }
            SetAction::Tcp { src, dst } | SetAction::Udp { src, dst } => {
                let proto = if matches!(self, SetAction::Tcp { .. }) { 6 } else { 17 };
                let v4 = is_ipv4_packet(pkt);
                if let Some(p) = src {
                    ops::set_l4_port(pkt, L4Port::Src, p, proto, v4)?;
                }
                if let Some(p) = dst {
                    ops::set_l4_port(pkt, L4Port::Dst, p, proto, v4)?;
                }
            }
            SetAction::Icmp { icmp_type, code, .. } => ops::set_icmp_type_code(pkt, icmp_type, code)?,
            SetAction::Arp { op, spa, tpa, sha, tha } => {
                if let Some(v) = op {
                    ops::set_arp(pkt, ArpField::Op(v))?;
                }
                if let Some(v) = spa {
                    ops::set_arp(pkt, ArpField::Spa(v))?;
                }
                if let Some(v) = tpa {
                    ops::set_arp(pkt, ArpField::Tpa(v))?;
                }
                if let Some(v) = sha {
                    ops::set_arp(pkt, ArpField::Sha(v))?;
                }
                if let Some(v) = tha {
                    ops::set_arp(pkt, ArpField::Tha(v))?;
                }
            }
        }
        Ok(())
    }
}

impl SetAction {
    /// The header name and its rewritten fields, as `dpctl` prints them.
    fn parts(&self) -> (&'static str, Vec<(&'static str, String)>) {
        fn put(v: &mut Vec<(&'static str, String)>, name: &'static str, val: Option<String>) {
            if let Some(val) = val {
                v.push((name, val));
            }
        }
        let mut v = Vec::new();
        let name = match self {
            SetAction::Eth { src, dst } => {
                put(&mut v, "src", src.map(|m| m.to_string()));
                put(&mut v, "dst", dst.map(|m| m.to_string()));
                "eth"
            }
            SetAction::Ipv4 { src, dst, tos, ttl } => {
                put(&mut v, "src", src.map(|a| Ipv4Addr::from(a).to_string()));
                put(&mut v, "dst", dst.map(|a| Ipv4Addr::from(a).to_string()));
                put(&mut v, "tos", tos.map(|t| format!("{t:#x}")));
                put(&mut v, "ttl", ttl.map(|t| t.to_string()));
                "ipv4"
            }
            SetAction::Ipv6 { src, dst, tclass, label, hlimit, .. } => {
                put(&mut v, "src", src.map(|a| Ipv6Addr::from(a).to_string()));
                put(&mut v, "dst", dst.map(|a| Ipv6Addr::from(a).to_string()));
                put(&mut v, "tclass", tclass.map(|t| format!("{t:#x}")));
                put(&mut v, "label", label.map(|t| format!("{t:#x}")));
                put(&mut v, "hlimit", hlimit.map(|t| t.to_string()));
                "ipv6"
            }
            SetAction::Tcp { src, dst } | SetAction::Udp { src, dst } => {
                put(&mut v, "src", src.map(|p| p.to_string()));
                put(&mut v, "dst", dst.map(|p| p.to_string()));
                if matches!(self, SetAction::Tcp { .. }) {
                    "tcp"
                } else {
                    "udp"
                }
            }
            SetAction::Icmp { icmp_type, code, v6 } => {
                v.push(("type", icmp_type.to_string()));
                v.push(("code", code.to_string()));
                if *v6 {
                    "icmpv6"
                } else {
                    "icmp"
                }
            }
            SetAction::Arp { op, spa, tpa, sha, tha } => {
                put(&mut v, "sip", spa.map(|a| Ipv4Addr::from(a).to_string()));
                put(&mut v, "tip", tpa.map(|a| Ipv4Addr::from(a).to_string()));
                put(&mut v, "op", op.map(|o| o.to_string()));
                put(&mut v, "sha", sha.map(|m| m.to_string()));
                put(&mut v, "tha", tha.map(|m| m.to_string()));
                "arp"
            }
        };
        (name, v)
    }
}

impl fmt::Display for SetAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, fields) = self.parts();
        write!(f, "set({name}(")?;
        for (i, (k, v)) in fields.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{k}={v}")?;
        }
        f.write_str("))")
    }
}

impl fmt::Display for DpAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DpAction::Output(p) => write!(f, "{p}"),
            DpAction::PushVlan { tpid, tci } => {
                let vid = tci & 0x0fff;
                let pcp = tci >> 13;
                if *tpid == EtherType::VLAN {
                    write!(f, "push_vlan(vid={vid},pcp={pcp})")
                } else {
                    write!(f, "push_vlan(tpid={tpid:#06x},vid={vid},pcp={pcp})")
                }
            }
            DpAction::PopVlan => f.write_str("pop_vlan"),
            DpAction::Set(s) => s.fmt(f),
            DpAction::Controller(c) => {
                let reason = match c.reason {
                    PacketInReason::NoMatch => "no_match",
                    PacketInReason::Action => "action",
                    PacketInReason::InvalidTtl => "invalid_ttl",
                };
                write!(
                    f,
                    "userspace(controller(reason={reason},controller_id={},max_len={},rule_cookie={:#x}))",
                    c.controller_id, c.max_len, c.cookie
                )
            }
        }
    }
}

/// Formats an action list as OVS does: comma-separated, or `drop` when empty.
pub fn format_actions(actions: &[DpAction]) -> String {
    if actions.is_empty() {
        return "drop".to_string();
    }
    actions.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms() {
        let acts = vec![
            DpAction::PushVlan { tpid: 0x8100, tci: (3 << 13) | 10 },
            DpAction::Set(SetAction::Ipv4 { src: None, dst: Some(0x0a000002), tos: None, ttl: Some(63) }),
            DpAction::Set(SetAction::Eth { src: Some(MacAddr([0, 1, 2, 3, 4, 5])), dst: None }),
            DpAction::Output(2),
            DpAction::PopVlan,
            DpAction::Output(3),
        ];
        assert_eq!(
            format_actions(&acts),
            "push_vlan(vid=10,pcp=3),set(ipv4(dst=10.0.0.2,ttl=63)),set(eth(src=00:01:02:03:04:05)),2,pop_vlan,3"
        );
        assert_eq!(format_actions(&[]), "drop");
        let tcp = DpAction::Set(SetAction::Tcp { src: None, dst: Some(8080) });
        assert_eq!(tcp.to_string(), "set(tcp(dst=8080))");
    }

    #[test]
    fn rewrites_apply_to_packets() {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        f.extend_from_slice(&[0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        f.extend_from_slice(&[0x04, 0x00, 0x13, 0x88, 0, 8, 0, 0]);
        let mut p = PacketBuf::from_slice(&f);
        rvs_packet::wire::Ipv4Packet::new_unchecked(&mut p.data_mut()[14..]).fill_checksum();
        p.meta.l3_ofs = 14;
        p.meta.l4_ofs = 34;
        DpAction::Set(SetAction::Udp { src: None, dst: Some(53) }).apply(&mut p).unwrap();
        DpAction::Set(SetAction::Ipv4 { src: None, dst: None, tos: None, ttl: Some(9) }).apply(&mut p).unwrap();
        DpAction::PushVlan { tpid: 0x8100, tci: 10 }.apply(&mut p).unwrap();
        let d = p.data();
        assert_eq!(&d[12..16], &[0x81, 0x00, 0x00, 0x0a]);
        assert_eq!(d[18 + 8], 9);
        assert_eq!(&d[38 + 2..38 + 4], &[0, 53]);
        let ip = rvs_packet::wire::Ipv4Packet::new_checked(&d[18..]).unwrap();
        assert!(ip.verify_checksum());
    }
}
