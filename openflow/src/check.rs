//! Checking a flow's actions against its match (Open vSwitch's `ofpacts_check`).
//!
//! Some actions only make sense for some packets: `dec_ttl` needs IP, `pop_vlan` a VLAN tag,
//! `mod_tp_src` TCP, UDP or SCTP. The checker walks the actions with an abstract packet,
//! [`FlowState`], that starts as what the match guarantees and changes as actions push and
//! pop tags or rewrite fields. Two kinds of findings result, exactly as in Open vSwitch:
//!
//! * **Inconsistencies** (an action whose header the match does not guarantee) are tolerated
//!   by OpenFlow 1.0 and refused by OpenFlow 1.1 and later. They narrow the [`Protocols`] a
//!   flow can be sent with; a switch receiving one in OpenFlow 1.3 answers
//!   `OFPBAC_MATCH_INCONSISTENT` ([`check_consistency`]).
//! * **Errors** are refused in every version: `set_field`, `load` or `move` of a field whose
//!   prerequisites do not hold (`OFPBAC_MATCH_INCONSISTENT`), output to an impossible port
//!   (`OFPBAC_BAD_OUT_PORT`), `goto_table` to an earlier table (`OFPBIC_BAD_TABLE_ID`), a
//!   third VLAN tag (`OFPBAC_BAD_TAG`), a subfield beyond its field (`OFPBAC_BAD_SET_LEN`).
//!
//! The OpenFlow 1.3 encoder uses the same walk: `mod_vlan_vid` becomes `push_vlan` +
//! `set_field` only when no tag is known to be there, and `mod_tp_src` becomes `set_field` of
//! `tcp_src`, `udp_src` or `sctp_src` according to the protocol the match established.

use crate::error::{BadAction, BadInstruction, OfError};
use rvs_flowcache::field::Field;
use rvs_flowcache::key::{FlowKey, FRAG_LATER, VLAN_PRESENT};
use rvs_flowcache::learn::{Learn, LearnDst, LearnSrc};
use rvs_flowcache::ofp::{Match, OfAction, OfPort, SubField, ALL_TABLES};
use rvs_packet::wire::{ip_proto, EtherType};

/// A set of protocols (wire versions) a flow can be expressed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Protocols(u8);

impl Protocols {
    /// OpenFlow 1.0 (with Nicira extensions).
    pub const OF10: Protocols = Protocols(1);
    /// OpenFlow 1.3.
    pub const OF13: Protocols = Protocols(2);
    /// Every protocol.
    pub const ANY: Protocols = Protocols(3);
    /// No protocol.
    pub const NONE: Protocols = Protocols(0);

    /// True if every protocol of `other` is in `self`.
    pub fn contains(self, other: Protocols) -> bool {
        self.0 & other.0 == other.0
    }

    /// Protocols in both.
    pub fn and(self, other: Protocols) -> Protocols {
        Protocols(self.0 & other.0)
    }

    /// True if no protocol is left.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// What the actions so far know about the packet.
#[derive(Clone, Copy, Debug)]
pub struct FlowState {
    /// The packet's fields as far as known (from the match, updated by actions).
    pub key: FlowKey,
    /// The TCI of a second (inner) VLAN tag.
    pub inner_tci: u16,
}

impl FlowState {
    /// The state a match guarantees.
    pub fn from_match(m: &Match) -> FlowState {
        FlowState { key: m.key.masked(&m.mask), inner_tci: 0 }
    }

    /// True if the packet is known to carry a VLAN tag.
    pub fn has_vlan(&self) -> bool {
        self.key.vlan_tci & VLAN_PRESENT != 0
    }

    /// True for IPv4 or IPv6.
    pub fn is_ip(&self) -> bool {
        self.key.is_ip_any()
    }

    fn l4_known(&self) -> bool {
        self.is_ip()
            && self.key.nw_frag & FRAG_LATER == 0
            && matches!(self.key.nw_proto, ip_proto::TCP | ip_proto::UDP | ip_proto::SCTP)
    }
}

/// Where a flow lives, for the checks that depend on it.
#[derive(Clone, Copy, Debug)]
pub struct CheckContext {
    /// The flow's table (`ALL_TABLES` if unknown).
    pub table_id: u8,
    /// Ports at or above this number (other than reserved ports) are invalid outputs.
    pub max_ports: OfPort,
}

impl Default for CheckContext {
    fn default() -> Self {
        CheckContext { table_id: ALL_TABLES, max_ports: OfPort(0xff00) }
    }
}

fn check_output_port(port: OfPort, max_ports: OfPort) -> Result<(), OfError> {
    match port {
        OfPort::IN_PORT | OfPort::TABLE | OfPort::NORMAL | OfPort::FLOOD | OfPort::ALL | OfPort::CONTROLLER | OfPort::LOCAL => Ok(()),
        p if p.0 < max_ports.0 => Ok(()),
        _ => Err(BadAction::BadOutPort.into()),
    }
}

/// Width of a field as `load` and `move` see it, which is Open vSwitch's width of the field
/// (`in_port` is 16 bits there, `vlan_vid` 12, `arp_op` 16).
pub fn subfield_bits(field: Field) -> u32 {
    match field {
        Field::InPort | Field::ArpOp => 16,
        Field::VlanVid => 12,
        f => f.desc().nbits,
    }
}

fn check_subfield(sf: &SubField, st: &FlowState) -> Result<(), OfError> {
    let bits = sf.field.desc().nbits.max(subfield_bits(sf.field));
    if sf.n_bits == 0 || sf.ofs >= bits || sf.ofs + sf.n_bits > bits {
        return Err(BadAction::BadSetLen.into());
    }
    if !sf.field.desc().prereq.holds(&st.key) {
        return Err(BadAction::MatchInconsistent.into());
    }
    Ok(())
}

/// `check_CT` and `check_NAT`: connection tracking needs IP, an FTP helper TCP, a TFTP
/// helper UDP, and NAT addresses of the packet's IP version.
fn ct_check(ct: &rvs_flowcache::conntrack::Ct, st: &FlowState, ctx: &CheckContext) -> Result<(), OfError> {
    use rvs_flowcache::conntrack::{CtZone, NatAddrs};
    let inconsistent = !st.is_ip()
        || (ct.alg == 21 && st.key.nw_proto != ip_proto::TCP)
        || (ct.alg == 69 && st.key.nw_proto != ip_proto::UDP);
    if inconsistent {
        return Err(BadAction::MatchInconsistent.into());
    }
    if let CtZone::Field(sf) = &ct.zone {
        check_subfield(sf, st)?;
    }
    let mut copy = *st;
    for a in &ct.actions {
        match a {
            OfAction::Nat(nat) => {
                let family_ok = match nat.addrs {
                    NatAddrs::V4(..) => st.key.dl_type == EtherType::IPV4,
                    NatAddrs::V6(..) => st.key.dl_type == EtherType::IPV6,
                    NatAddrs::None => true,
                };
                if !family_ok {
                    return Err(BadAction::MatchInconsistent.into());
                }
            }
            a => {
                step(a, &mut copy, ctx)?;
            }
        }
    }
    Ok(())
}

fn is_mpls(dl_type: u16) -> bool {
    dl_type == EtherType::MPLS || dl_type == EtherType::MPLS_MCAST
}

/// `mf_check_dst`: the bits exist, the field's prerequisites hold and it is writable.
fn check_dst(dst: &SubField, st: &FlowState) -> Result<(), OfError> {
    check_subfield(dst, st)?;
    if !dst.field.desc().writable {
        return Err(BadAction::BadSetArgument.into());
    }
    Ok(())
}

/// Applies one action to the state, returning whether it is consistent (an error if it is
/// refused in every version).
pub fn step(a: &OfAction, st: &mut FlowState, ctx: &CheckContext) -> Result<bool, OfError> {
    let mut consistent = true;
    match a {
        OfAction::Output { port, .. } => check_output_port(*port, ctx.max_ports)?,
        OfAction::Enqueue { port, .. } => {
            if port.0 >= ctx.max_ports.0 && *port != OfPort::IN_PORT && *port != OfPort::LOCAL {
                return Err(BadAction::BadOutPort.into());
            }
        }
        OfAction::Controller { .. } | OfAction::Resubmit { .. } | OfAction::Note(_) => {}
        // Whether the group exists is the switch's to check.
        OfAction::Group(g) => {
            if *g > rvs_flowcache::group::MAX_GROUP {
                return Err(BadAction::BadOutGroup.into());
            }
        }
        OfAction::Conjunction { .. } | OfAction::SetTunnel { .. } | OfAction::Sample { .. } => {}
        OfAction::OutputReg { src, .. } => check_subfield(src, st)?,
        OfAction::FinTimeout { .. } => consistent = st.is_ip() && st.key.nw_proto == ip_proto::TCP,
        OfAction::Learn(l) => learn_check(l, st)?,
        OfAction::SetVlanVid { push_if_needed, .. } | OfAction::SetVlanPcp { push_if_needed, .. } => {
            if !st.has_vlan() && !push_if_needed {
                consistent = false;
            }
            st.key.vlan_tci |= VLAN_PRESENT;
        }
        OfAction::StripVlan => {
            if !st.has_vlan() {
                consistent = false;
            }
            st.key.vlan_tci = st.inner_tci;
            st.inner_tci = 0;
        }
        OfAction::PushVlan { .. } => {
            if st.inner_tci & VLAN_PRESENT != 0 {
                return Err(BadAction::BadTag.into());
            }
            st.inner_tci = st.key.vlan_tci;
            st.key.vlan_tci |= VLAN_PRESENT;
        }
        OfAction::SetEthSrc(_) | OfAction::SetEthDst(_) => {}
        OfAction::SetIpv4Src(_) | OfAction::SetIpv4Dst(_) => consistent = st.key.dl_type == EtherType::IPV4,
        OfAction::SetIpDscp(_) | OfAction::SetIpEcn(_) | OfAction::SetIpTtl(_) | OfAction::DecTtl { .. } => {
            consistent = st.is_ip()
        }
        OfAction::SetL4SrcPort(_) | OfAction::SetL4DstPort(_) => consistent = st.l4_known(),
        OfAction::SetField { field, value, .. } => set_field_check(*field, *value, st)?,
        OfAction::RegLoad { dst, value } => {
            check_subfield(dst, st)?;
            if dst.field == Field::VlanTci {
                let cur = st.key.vlan_tci as u128;
                st.key.vlan_tci = ((cur & !dst.mask()) | ((value << dst.ofs) & dst.mask())) as u16;
            } else {
                set_field_check(dst.field, 0, st)?;
            }
        }
        OfAction::RegMove { src, dst } => {
            check_subfield(src, st)?;
            check_subfield(dst, st)?;
            if !dst.field.desc().writable {
                return Err(BadAction::BadSetArgument.into());
            }
        }
        OfAction::GotoTable(t) => {
            if ctx.table_id != ALL_TABLES && *t <= ctx.table_id {
                return Err(BadInstruction::BadTableId.into());
            }
        }
        OfAction::WriteMetadata { .. } | OfAction::ClearActions => {}
        OfAction::WriteActions(inner) => {
            // The action set's consistency cannot be known here; only hard errors count.
            let mut copy = *st;
            for a in inner {
                step(a, &mut copy, ctx)?;
            }
        }
        OfAction::Multipath(mp) => check_dst(&mp.dst, st)?,
        OfAction::Bundle(b) => {
            if let Some(dst) = &b.dst {
                check_dst(dst, st)?;
            }
            for p in &b.members {
                if *p == OfPort::CONTROLLER {
                    return Err(BadAction::BadOutPort.into());
                }
                if *p != OfPort::ANY {
                    check_output_port(*p, ctx.max_ports)?;
                }
            }
        }
        OfAction::Ct(ct) => ct_check(ct, st, ctx)?,
        // `nat` only inside `ct` (`ofpacts_verify`).
        OfAction::Nat(_) => return Err(BadAction::BadArgument.into()),
        OfAction::CtClear => {}
        OfAction::PushMpls { ethertype } => st.key.dl_type = *ethertype,
        OfAction::PopMpls { ethertype } => {
            consistent = is_mpls(st.key.dl_type);
            st.key.dl_type = *ethertype;
        }
        OfAction::SetMplsLabel(_) | OfAction::SetMplsTc(_) | OfAction::SetMplsTtl(_) | OfAction::DecMplsTtl => {
            consistent = is_mpls(st.key.dl_type)
        }
        OfAction::Clone(inner) => {
            // As `check_subactions`: the nested actions see (and change) a copy of the state.
            let mut copy = *st;
            for a in inner {
                consistent &= step(a, &mut copy, ctx)?;
            }
        }
    }
    Ok(consistent)
}

/// `learn_check`: field sources need their prerequisites in the flow's match; match
/// destinations need theirs among the learned match's immediates that come before them; load
/// destinations likewise and must be writable.
fn learn_check(l: &Learn, st: &FlowState) -> Result<(), OfError> {
    let mut learned = FlowState { key: FlowKey::ZERO, inner_tci: 0 };
    for spec in &l.specs {
        if let LearnSrc::Field(src) = &spec.src {
            check_subfield(src, st)?;
        }
        match &spec.dst {
            LearnDst::Match(dst) => {
                check_subfield(dst, &learned)?;
                if let LearnSrc::Immediate(v) = &spec.src {
                    dst.field.set_masked(&mut learned.key, v << dst.ofs, dst.mask());
                }
            }
            LearnDst::Load(dst) => {
                check_subfield(dst, &learned)?;
                if !dst.field.desc().writable {
                    return Err(BadAction::BadSetArgument.into());
                }
            }
            LearnDst::Output => {}
        }
    }
    if let Some(sf) = &l.result_dst {
        check_subfield(sf, st)?;
    }
    Ok(())
}

fn set_field_check(field: Field, value: u128, st: &mut FlowState) -> Result<(), OfError> {
    let needs_tag = matches!(field, Field::VlanVid | Field::VlanPcp | Field::DlVlan | Field::DlVlanPcp);
    if !field.desc().prereq.holds(&st.key) || (needs_tag && !st.has_vlan()) {
        return Err(BadAction::MatchInconsistent.into());
    }
    if field == Field::VlanTci {
        st.key.vlan_tci = value as u16;
    }
    Ok(())
}

/// Checks `actions` against `m` for a flow in `ctx.table_id`. Returns the protocols the flow
/// is consistent in, or the error every version refuses it with.
pub fn check(m: &Match, actions: &[OfAction], ctx: &CheckContext) -> Result<Protocols, OfError> {
    let mut st = FlowState::from_match(m);
    let mut usable = Protocols::ANY;
    for a in actions {
        if !step(a, &mut st, ctx)? {
            usable = usable.and(Protocols::OF10);
        }
    }
    Ok(usable)
}

/// What a switch speaking OpenFlow 1.3 does with a received flow: every error, plus
/// `OFPBAC_MATCH_INCONSISTENT` for inconsistencies.
pub fn check_consistency(m: &Match, actions: &[OfAction], ctx: &CheckContext) -> Result<(), OfError> {
    if check(m, actions, ctx)?.contains(Protocols::OF13) {
        Ok(())
    } else {
        Err(BadAction::MatchInconsistent.into())
    }
}

/// Drops the constraints a match cannot use because their headers are not established
/// (Open vSwitch's `ofputil_normalize_match`): L3 fields without `dl_type` IPv4/IPv6/ARP,
/// ports without TCP/UDP/SCTP/ICMP, ND fields without a neighbour solicitation or
/// advertisement, and so on. Also drops what no OXM encoding can carry for the same reason
/// (`tcp_flags` without TCP, `nw_frag` without IP, ND fields with a nonzero ICMPv6 code, a
/// VLAN PCP without a tag), which Open vSwitch drops silently when it encodes the match.
/// Returns true if the match changed.
pub fn normalize_match(m: &mut Match) -> bool {
    normalize(m, true)
}

/// [`normalize_match`] as Open vSwitch applies it to an OpenFlow 1.0 flow-mod: a VLAN
/// priority without a tag is kept (`ofp_match` cannot express it anyway, and `dl_vlan=0xffff`
/// stands for a TCI of 0 with every bit matched).
pub fn normalize_match_ofp10(m: &mut Match) -> bool {
    normalize(m, false)
}

fn normalize(m: &mut Match, drop_untagged_pcp: bool) -> bool {
    let before = *m;
    let k = m.key.masked(&m.mask);
    let w = &mut m.mask;
    let dl_type = k.dl_type;
    let (mut nw_addr, mut tp_addr, mut nw_proto, mut ipvx, mut arp_sha, mut arp_tha, mut ipv6, mut nd_target) =
        (false, false, false, false, false, false, false, false);
    if dl_type == EtherType::IPV4 {
        nw_proto = true;
        ipvx = true;
        nw_addr = true;
        tp_addr = matches!(k.nw_proto, ip_proto::TCP | ip_proto::UDP | ip_proto::SCTP | ip_proto::ICMP);
    } else if dl_type == EtherType::IPV6 {
        nw_proto = true;
        ipvx = true;
        ipv6 = true;
        match k.nw_proto {
            ip_proto::TCP | ip_proto::UDP | ip_proto::SCTP => tp_addr = true,
            ip_proto::ICMPV6 => {
                tp_addr = true;
                let nd = k.tp_dst == 0;
                if k.tp_src == 135 {
                    nd_target = nd;
                    arp_sha = nd;
                } else if k.tp_src == 136 {
                    nd_target = nd;
                    arp_tha = nd;
                }
            }
            _ => {}
        }
    } else if dl_type == EtherType::ARP || dl_type == EtherType::RARP {
        nw_proto = true;
        nw_addr = true;
        arp_sha = true;
        arp_tha = true;
    }
    if !nw_addr {
        w.nw_src = 0;
        w.nw_dst = 0;
    }
    if !tp_addr {
        w.tp_src = 0;
        w.tp_dst = 0;
    }
    if !nw_proto {
        w.nw_proto = 0;
    }
    if !ipvx {
        w.nw_tos = 0;
        w.nw_ttl = 0;
        w.nw_frag = 0;
    }
    if !arp_sha {
        w.arp_sha = 0;
    }
    if !arp_tha {
        w.arp_tha = 0;
    }
    if !ipv6 {
        w.ipv6_src = 0;
        w.ipv6_dst = 0;
        w.ipv6_label = 0;
    }
    if !nd_target {
        w.nd_target = 0;
    }
    if !(k.is_ip_any() && k.nw_proto == ip_proto::TCP && w.nw_proto != 0) {
        w.tcp_flags = 0;
    }
    if drop_untagged_pcp && w.vlan_tci & 0xe000 != 0 && (k.vlan_tci & VLAN_PRESENT == 0 || w.vlan_tci & VLAN_PRESENT == 0) {
        w.vlan_tci &= !0xe000;
    }
    m.normalize();
    *m != before
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip() -> Match {
        let mut m = Match::catchall();
        m.set(Field::EthType, 0x0800);
        m
    }

    #[test]
    fn inconsistent_actions_narrow_to_openflow10() {
        let ctx = CheckContext::default();
        let dec = [OfAction::DecTtl { controller_ids: vec![] }];
        assert_eq!(check(&Match::catchall(), &dec, &ctx), Ok(Protocols::OF10));
        assert_eq!(check(&ip(), &dec, &ctx), Ok(Protocols::ANY));
        assert!(check_consistency(&Match::catchall(), &dec, &ctx).is_err());
        let pop = [OfAction::StripVlan];
        assert_eq!(check(&Match::catchall(), &pop, &ctx), Ok(Protocols::OF10));
        let push_pop = [OfAction::PushVlan { ethertype: 0x8100 }, OfAction::StripVlan];
        assert_eq!(check(&Match::catchall(), &push_pop, &ctx), Ok(Protocols::ANY));
    }

    #[test]
    fn normalization_drops_fields_without_prerequisites() {
        let mut m = Match::catchall();
        m.set(Field::IpSrc, 0x0102_0304).set(Field::TcpDst, 80);
        assert!(normalize_match(&mut m));
        assert_eq!(m, Match::catchall());
        let mut udp = ip();
        udp.set(Field::IpProto, 17).set(Field::TcpDst, 53).set_masked(Field::TcpFlags, 2, 2);
        assert!(normalize_match(&mut udp));
        assert_eq!(udp.get(Field::TcpDst), Some((53, 0xffff)));
        assert_eq!(udp.get(Field::TcpFlags), None);
        let mut tcp = ip();
        tcp.set(Field::IpProto, 6).set(Field::TcpDst, 80);
        assert!(!normalize_match(&mut tcp));
    }

    #[test]
    fn errors_in_every_version() {
        let ctx = CheckContext::default();
        let sf = [OfAction::SetField { field: Field::IpSrc, value: 1, mask: 0xffff_ffff }];
        assert_eq!(check(&Match::catchall(), &sf, &ctx), Err(BadAction::MatchInconsistent.into()));
        assert!(check(&ip(), &sf, &ctx).is_ok());
        let out = [OfAction::Output { port: OfPort::ANY, max_len: 0 }];
        assert_eq!(check(&Match::catchall(), &out, &ctx), Err(BadAction::BadOutPort.into()));
        let goto = [OfAction::GotoTable(1)];
        let t2 = CheckContext { table_id: 2, ..ctx };
        assert_eq!(check(&Match::catchall(), &goto, &t2), Err(BadInstruction::BadTableId.into()));
        let three = [OfAction::PushVlan { ethertype: 0x8100 }, OfAction::PushVlan { ethertype: 0x8100 }, OfAction::PushVlan { ethertype: 0x8100 }];
        assert_eq!(check(&Match::catchall(), &three, &ctx), Err(BadAction::BadTag.into()));
        let mv = [OfAction::RegMove { src: SubField::whole(Field::IpSrc), dst: SubField::whole(Field::Reg0) }];
        assert_eq!(check(&Match::catchall(), &mv, &ctx), Err(BadAction::MatchInconsistent.into()));
        assert!(check(&ip(), &mv, &ctx).is_ok());
    }
}
