//! Commits: turning the difference between `flow` and `base` into datapath header rewrites.
//!
//! Called before every output and packet-in. For each header, the fields the pipeline wrote
//! (`dirty`) become one [`SetAction`] (or `pop_vlan`/`push_vlan` for the VLAN tag). A written
//! value is emitted without comparing it to the packet's own value, so the actions do not
//! depend on it; only when an earlier commit made a field's datapath value known is an
//! unchanged field skipped. Bits of an emitted field that the pipeline did not write come
//! from the packet, so they are un-wildcarded (e.g. the ECN bits when only DSCP was set).

use rvs_packet::wire::ip_proto;

use super::Ctx;
use crate::dpaction::{DpAction, SetAction};
use crate::field::Field;
use crate::key::{FlowKey, VLAN_PRESENT};
use rvs_packet::wire::{EtherType, MacAddr};

impl Ctx<'_> {
    /// Takes a written field for emission: `Some(value)` if it must be rewritten.
    fn take(&mut self, f: Field) -> Option<u128> {
        let dirty = f.get(&self.dirty);
        if dirty == 0 {
            return None;
        }
        let full = f.full_mask();
        let value = f.get(&self.o.final_flow);
        let known = f.get(&self.base_known);
        f.set(&mut self.dirty, 0);
        if known == full && f.get(&self.base) == value {
            return None;
        }
        let from_packet = full & !dirty & !known;
        if from_packet != 0 {
            f.or_mask(&mut self.o.wc, from_packet);
        }
        f.set(&mut self.base, value);
        f.set(&mut self.base_known, full);
        Some(value)
    }

    /// Emits the rewrites that bring the datapath packet in line with the pipeline's flow.
    pub(crate) fn commit(&mut self) {
        if self.dirty.is_zero() && self.flow_tpid == self.base_tpid {
            return;
        }
        self.commit_vlan();
        let src = self.take(Field::EthSrc).map(|v| MacAddr::from_u64(v as u64));
        let dst = self.take(Field::EthDst).map(|v| MacAddr::from_u64(v as u64));
        if src.is_some() || dst.is_some() {
            self.o.actions.push(DpAction::Set(SetAction::Eth { src, dst }));
        }
        if !self.l3_dirty() {
            self.clear_metadata_dirty();
            return;
        }
        match self.read(Field::EthType) as u16 {
            EtherType::IPV4 => {
                let (src, dst) = (self.take(Field::IpSrc), self.take(Field::IpDst));
                let (tos, ttl) = (self.take(Field::NwTos), self.take(Field::NwTtl));
                if src.is_some() || dst.is_some() || tos.is_some() || ttl.is_some() {
                    self.o.actions.push(DpAction::Set(SetAction::Ipv4 {
                        src: src.map(|v| v as u32),
                        dst: dst.map(|v| v as u32),
                        tos: tos.map(|v| v as u8),
                        ttl: ttl.map(|v| v as u8),
                    }));
                }
                self.commit_l4(false);
            }
            EtherType::IPV6 => {
                let (src, dst) = (self.take(Field::Ipv6Src), self.take(Field::Ipv6Dst));
                let (tclass, label) = (self.take(Field::NwTos), self.take(Field::Ipv6Label));
                let hlimit = self.take(Field::NwTtl);
                if src.is_some() || dst.is_some() || tclass.is_some() || label.is_some() || hlimit.is_some() {
                    let l4_proto = self.read(Field::IpProto) as u8;
                    self.o.actions.push(DpAction::Set(SetAction::Ipv6 {
                        src,
                        dst,
                        tclass: tclass.map(|v| v as u8),
                        label: label.map(|v| v as u32),
                        hlimit: hlimit.map(|v| v as u8),
                        l4_proto,
                    }));
                }
                self.commit_l4(true);
            }
            EtherType::ARP | EtherType::RARP => {
                let op = self.take(Field::ArpOp).map(|v| v as u16);
                let spa = self.take(Field::ArpSpa).map(|v| v as u32);
                let tpa = self.take(Field::ArpTpa).map(|v| v as u32);
                let sha = self.take(Field::ArpSha).map(|v| MacAddr::from_u64(v as u64));
                let tha = self.take(Field::ArpTha).map(|v| MacAddr::from_u64(v as u64));
                if op.is_some() || spa.is_some() || tpa.is_some() || sha.is_some() || tha.is_some() {
                    self.o.actions.push(DpAction::Set(SetAction::Arp { op, spa, tpa, sha, tha }));
                }
            }
            _ => {}
        }
        self.clear_unsupported_dirty();
        self.clear_metadata_dirty();
    }

    fn l3_dirty(&self) -> bool {
        let d = &self.dirty;
        d.nw_src | d.nw_dst != 0
            || d.ipv6_src | d.ipv6_dst | d.nd_target != 0
            || (d.nw_tos | d.nw_ttl | d.nw_proto) != 0
            || d.ipv6_label != 0
            || (d.tp_src | d.tp_dst) != 0
            || d.arp_sha | d.arp_tha != 0
    }

    fn commit_l4(&mut self, v6: bool) {
        if self.dirty.tp_src | self.dirty.tp_dst == 0 {
            return;
        }
        match self.read(Field::IpProto) as u8 {
            ip_proto::TCP => {
                let (src, dst) = (self.take(Field::TcpSrc), self.take(Field::TcpDst));
                if src.is_some() || dst.is_some() {
                    let (src, dst) = (src.map(|v| v as u16), dst.map(|v| v as u16));
                    self.o.actions.push(DpAction::Set(SetAction::Tcp { src, dst }));
                }
            }
            ip_proto::UDP => {
                let (src, dst) = (self.take(Field::UdpSrc), self.take(Field::UdpDst));
                if src.is_some() || dst.is_some() {
                    let (src, dst) = (src.map(|v| v as u16), dst.map(|v| v as u16));
                    self.o.actions.push(DpAction::Set(SetAction::Udp { src, dst }));
                }
            }
            ip_proto::ICMP | ip_proto::ICMPV6 => {
                let (ty_f, code_f) = if v6 { (Field::Icmpv6Type, Field::Icmpv6Code) } else { (Field::IcmpType, Field::IcmpCode) };
                let t = self.take(ty_f);
                let c = self.take(code_f);
                if t.is_some() || c.is_some() {
                    // Both are written; the one not rewritten comes from the packet.
                    let icmp_type = t.unwrap_or_else(|| self.read(ty_f)) as u8;
                    let code = c.unwrap_or_else(|| self.read(code_f)) as u8;
                    self.o.actions.push(DpAction::Set(SetAction::Icmp { icmp_type, code, v6 }));
                }
            }
            _ => {
                // SCTP ports (CRC32c checksum) and other protocols: not rewritten by the
                // datapath.
                if self.dirty.tp_src | self.dirty.tp_dst != 0 {
                    self.trace_note("transport rewrite not supported for this protocol; skipped".to_string());
                }
            }
        }
    }

    /// VLAN: `pop_vlan` and/or `push_vlan` when the tag as the pipeline sees it differs from
    /// the datapath packet's.
    fn commit_vlan(&mut self) {
        if self.dirty.vlan_tci == 0 && self.flow_tpid == self.base_tpid {
            return;
        }
        if self.base_known.vlan_tci != u16::MAX {
            // Pop-or-not and the pushed TCI depend on the packet's own tag.
            self.o.wc.vlan_tci = u16::MAX;
        }
        let (b, f) = (self.base.vlan_tci, self.o.final_flow.vlan_tci);
        if b != f || (f & VLAN_PRESENT != 0 && self.flow_tpid != self.base_tpid) {
            if b & VLAN_PRESENT != 0 {
                self.o.actions.push(DpAction::PopVlan);
            }
            if f & VLAN_PRESENT != 0 {
                self.o.actions.push(DpAction::PushVlan { tpid: self.flow_tpid, tci: f & !VLAN_PRESENT });
            }
        }
        self.base.vlan_tci = f;
        self.base_known.vlan_tci = u16::MAX;
        self.base_tpid = self.flow_tpid;
        self.dirty.vlan_tci = 0;
    }

    /// Fields written that the datapath cannot rewrite (ND target/options); they still
    /// influence later lookups through `flow`.
    fn clear_unsupported_dirty(&mut self) {
        if self.dirty.nd_target != 0 || self.dirty.arp_sha | self.dirty.arp_tha != 0 {
            self.trace_note("neighbour discovery rewrite not supported by the datapath; skipped".to_string());
        }
        self.dirty = FlowKey::ZERO;
    }

    /// Pipeline metadata (registers, metadata, input port) is not part of the packet.
    fn clear_metadata_dirty(&mut self) {
        self.dirty.metadata = 0;
        self.dirty.regs = [0; 16];
        self.dirty.in_port = 0;
        self.dirty.pkt_mark = 0;
        self.dirty.tun_id = 0;
        self.dirty.tun_src = 0;
        self.dirty.tun_dst = 0;
    }
}
