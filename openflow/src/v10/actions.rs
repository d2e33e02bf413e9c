//! OpenFlow 1.0 actions (`OFPAT10_*`), with the Nicira actions Open vSwitch adds.
//!
//! # Encoding
//! Each action of the model is written the way Open vSwitch 3.1 writes it for OpenFlow 1.0,
//! so that our bytes equal `ovs-ofctl`'s: `output`, `enqueue`, `mod_vlan_vid`/`mod_vlan_pcp`,
//! `strip_vlan`, `mod_dl_*`, `mod_nw_src`/`mod_nw_dst`/`mod_nw_tos` and `mod_tp_*` have
//! native forms; `set_field` uses the native form of its field where there is one
//! (`set_field:1.2.3.4->ip_src` is `mod_nw_src`, `ip_dscp` is `mod_nw_tos` shifted) and
//! `NXAST_REG_LOAD`s otherwise; `mod_nw_ttl` and `mod_nw_ecn` are loads into
//! `NXM_NX_IP_TTL`/`NXM_NX_IP_ECN`; `dec_ttl` is `NXAST_DEC_TTL`, `goto_table` a
//! `resubmit(,TABLE)`, `write_metadata` `NXAST_WRITE_METADATA`. OpenFlow 1.0 has no
//! `push_vlan`, `clear_actions` or `write_actions`: Open vSwitch writes nothing for them, and
//! so do we (a flow using them is usable only in OpenFlow 1.1+, which the protocol choice
//! sees first).
//!
//! # Decoding
//! With Open vSwitch's checks and errors: wrong lengths `OFPBAC_BAD_LEN`, unknown types
//! `OFPBAC_BAD_TYPE`, unknown vendors `OFPBAC_BAD_VENDOR`, a VLAN id above 4095, a priority
//! above 7 or a TOS with ECN bits `OFPBAC_BAD_ARGUMENT`, an output or enqueue to an invalid
//! port `OFPBAC_BAD_OUT_PORT`. `mod_vlan_vid` always decodes as pushing a tag when needed
//! (OpenFlow 1.0's semantics).

use crate::codec::{Put, Reader};
use crate::error::{BadAction, DecodeError, EncodeError};
use crate::msg::Version;
use crate::nx::actions::{self as nx, fold_queues, pull_nx, Raw, AT_VENDOR};
use crate::nx::NX_VENDOR_ID;
use rvs_flowcache::field::Field;
use rvs_flowcache::ofp::{OfAction, OfPort};
use rvs_packet::wire::MacAddr;

/// `OFPAT10_*` action types.
pub mod at {
    /// Output to a port.
    pub const OUTPUT: u16 = 0;
    /// Set the VLAN id.
    pub const SET_VLAN_VID: u16 = 1;
    /// Set the VLAN priority.
    pub const SET_VLAN_PCP: u16 = 2;
    /// Remove the VLAN tag.
    pub const STRIP_VLAN: u16 = 3;
    /// Set the Ethernet source.
    pub const SET_DL_SRC: u16 = 4;
    /// Set the Ethernet destination.
    pub const SET_DL_DST: u16 = 5;
    /// Set the IPv4 source.
    pub const SET_NW_SRC: u16 = 6;
    /// Set the IPv4 destination.
    pub const SET_NW_DST: u16 = 7;
    /// Set the IP TOS (DSCP bits).
    pub const SET_NW_TOS: u16 = 8;
    /// Set the L4 source port.
    pub const SET_TP_SRC: u16 = 9;
    /// Set the L4 destination port.
    pub const SET_TP_DST: u16 = 10;
    /// Output to a queue of a port.
    pub const ENQUEUE: u16 = 11;
}

fn unrep(what: impl Into<String>) -> EncodeError {
    EncodeError::Unrepresentable(what.into())
}

fn port16(p: OfPort) -> Result<u16, EncodeError> {
    if OfPort::from_ofp10(p.to_ofp10()) == p {
        Ok(p.to_ofp10())
    } else {
        Err(unrep(format!("port {} has no OpenFlow 1.0 number", p.0)))
    }
}

fn put_header(out: &mut Vec<u8>, ty: u16, len: u16) {
    out.put_u16(ty);
    out.put_u16(len);
}

fn put_u16_action(out: &mut Vec<u8>, ty: u16, v: u16) {
    put_header(out, ty, 8);
    out.put_u16(v);
    out.put_zeros(2);
}

fn put_u8_action(out: &mut Vec<u8>, ty: u16, v: u8) {
    put_header(out, ty, 8);
    out.put_u8(v);
    out.put_zeros(3);
}

fn put_u32_action(out: &mut Vec<u8>, ty: u16, v: u32) {
    put_header(out, ty, 8);
    out.put_u32(v);
}

fn put_mac_action(out: &mut Vec<u8>, ty: u16, mac: MacAddr) {
    put_header(out, ty, 16);
    out.extend_from_slice(&mac.0);
    out.put_zeros(6);
}

/// `OFPAT10_OUTPUT`.
pub(crate) fn put_output(out: &mut Vec<u8>, port: OfPort, max_len: u16) -> Result<(), EncodeError> {
    let p = port16(port)?;
    put_header(out, at::OUTPUT, 8);
    out.put_u16(p);
    out.put_u16(max_len);
    Ok(())
}

/// A `set_field` in OpenFlow 1.0 (`set_field_to_legacy_openflow`): the native action of the
/// field where there is one (with the value as given, whatever the mask, as Open vSwitch
/// does), else loads of the masked bits.
fn put_set_field(out: &mut Vec<u8>, field: Field, value: u128, mask: u128) -> Result<(), EncodeError> {
    match field {
        Field::VlanTci => {
            if value as u16 & rvs_flowcache::key::VLAN_PRESENT != 0 {
                put_u16_action(out, at::SET_VLAN_VID, value as u16 & 0x0fff);
                put_u8_action(out, at::SET_VLAN_PCP, (value >> 13) as u8 & 7);
            } else {
                put_header(out, at::STRIP_VLAN, 8);
                out.put_zeros(4);
            }
        }
        Field::VlanVid | Field::DlVlan => put_u16_action(out, at::SET_VLAN_VID, value as u16 & 0x0fff),
        Field::VlanPcp | Field::DlVlanPcp => put_u8_action(out, at::SET_VLAN_PCP, value as u8 & 7),
        Field::EthSrc => put_mac_action(out, at::SET_DL_SRC, MacAddr::from_u64(value as u64)),
        Field::EthDst => put_mac_action(out, at::SET_DL_DST, MacAddr::from_u64(value as u64)),
        Field::IpSrc => put_u32_action(out, at::SET_NW_SRC, value as u32),
        Field::IpDst => put_u32_action(out, at::SET_NW_DST, value as u32),
        Field::NwTos => put_u8_action(out, at::SET_NW_TOS, value as u8 & 0xfc),
        Field::IpDscp => put_u8_action(out, at::SET_NW_TOS, (value as u8) << 2),
        Field::TcpSrc | Field::UdpSrc => put_u16_action(out, at::SET_TP_SRC, value as u16),
        Field::TcpDst | Field::UdpDst => put_u16_action(out, at::SET_TP_DST, value as u16),
        Field::InPort if mask & 0xffff_ffff == 0xffff_ffff => {
            let p = OfPort(value as u32);
            nx::put_reg_load(out, Field::InPort, 0, 16, port16(p)? as u64)?;
        }
        // Open vSwitch's arp_op is 16 bits wide.
        Field::ArpOp if mask & 0xff == 0xff => nx::put_reg_load(out, Field::ArpOp, 0, 16, value as u64)?,
        f => nx::put_reg_loads(out, f, value, mask & crate::oxm::value_mask(f))?,
    }
    Ok(())
}

/// Encodes one action for OpenFlow 1.0.
fn put_action(out: &mut Vec<u8>, a: &OfAction) -> Result<(), EncodeError> {
    match a {
        OfAction::Output { port, max_len } => {
            if *port == OfPort::CONTROLLER || *max_len == 0 {
                put_output(out, *port, if *port == OfPort::CONTROLLER { *max_len } else { 0 })?;
            } else {
                nx::put_output_trunc(out, *port, *max_len)?;
            }
        }
        OfAction::Controller { max_len, reason, controller_id } => nx::put_controller(out, *max_len, *controller_id, *reason)?,
        OfAction::Enqueue { port, queue } => {
            put_header(out, at::ENQUEUE, 16);
            out.put_u16(port16(*port)?);
            out.put_zeros(6);
            out.put_u32(*queue);
        }
        OfAction::SetVlanVid { vid, .. } => put_u16_action(out, at::SET_VLAN_VID, *vid & 0x0fff),
        OfAction::SetVlanPcp { pcp, .. } => put_u8_action(out, at::SET_VLAN_PCP, *pcp & 7),
        OfAction::StripVlan => {
            put_header(out, at::STRIP_VLAN, 8);
            out.put_zeros(4);
        }
        // OpenFlow 1.0 pushes a tag only as a side effect of setting its VID or priority.
        OfAction::PushVlan { .. } => {}
        OfAction::SetEthSrc(mac) => put_mac_action(out, at::SET_DL_SRC, *mac),
        OfAction::SetEthDst(mac) => put_mac_action(out, at::SET_DL_DST, *mac),
        OfAction::SetIpv4Src(ip) => put_u32_action(out, at::SET_NW_SRC, *ip),
        OfAction::SetIpv4Dst(ip) => put_u32_action(out, at::SET_NW_DST, *ip),
        OfAction::SetIpDscp(tos) => put_u8_action(out, at::SET_NW_TOS, *tos & 0xfc),
        OfAction::SetIpEcn(ecn) => nx::put_reg_load(out, Field::IpEcn, 0, 2, (*ecn & 3) as u64)?,
        OfAction::SetIpTtl(ttl) => nx::put_reg_load(out, Field::NwTtl, 0, 8, *ttl as u64)?,
        OfAction::SetL4SrcPort(p) => put_u16_action(out, at::SET_TP_SRC, *p),
        OfAction::SetL4DstPort(p) => put_u16_action(out, at::SET_TP_DST, *p),
        OfAction::SetField { field, value, mask } => put_set_field(out, *field, *value, *mask)?,
        OfAction::RegLoad { dst, value } => nx::put_load(out, dst, *value)?,
        OfAction::RegMove { src, dst } => nx::put_reg_move(out, src, dst)?,
        OfAction::DecTtl { controller_ids } => {
            if controller_ids.is_empty() {
                nx::put_dec_ttl(out)?;
            } else {
                nx::put_dec_ttl_cnt_ids(out, controller_ids)?;
            }
        }
        OfAction::Resubmit { in_port, table } => nx::put_resubmit(out, *in_port, *table)?,
        OfAction::Note(bytes) => nx::put_note(out, bytes)?,
        OfAction::Group(g) => nx::put_group(out, *g)?,
        OfAction::Learn(l) => crate::nx::learn::put_learn(out, l)?,
        OfAction::SetTunnel { id, wide } => crate::nx::extra::put_set_tunnel(out, *id, *wide)?,
        OfAction::OutputReg { src, max_len } => crate::nx::extra::put_output_reg(out, src, *max_len)?,
        OfAction::Sample { .. } => crate::nx::extra::put_sample(out, a)?,
        OfAction::Multipath(mp) => crate::nx::hashsel::put_multipath(out, mp)?,
        OfAction::Bundle(b) => crate::nx::hashsel::put_bundle(out, b)?,
        OfAction::Conjunction { id, clause, n_clauses } => crate::nx::learn::put_conjunction(out, *id, *clause, *n_clauses)?,
        OfAction::FinTimeout { idle, hard } => crate::nx::learn::put_fin_timeout(out, *idle, *hard)?,
        OfAction::GotoTable(t) => nx::put_resubmit(out, None, Some(*t))?,
        OfAction::WriteMetadata { value, mask } => nx::put_write_metadata(out, *value, *mask)?,
        // No OpenFlow 1.0 form; Open vSwitch writes nothing either.
        OfAction::ClearActions | OfAction::WriteActions(_) => {}
        OfAction::Clone(inner) => crate::nx::nest::put_clone(out, |out| put_actions(out, inner))?,
        OfAction::Ct(ct) => crate::nx::conntrack::put_ct(out, ct, |out| put_actions(out, &ct.actions))?,
        OfAction::Nat(nat) => crate::nx::conntrack::put_nat(out, nat)?,
        OfAction::CtClear => crate::nx::nest::put_ct_clear(out)?,
        OfAction::PushMpls { .. }
        | OfAction::PopMpls { .. }
        | OfAction::SetMplsLabel(_)
        | OfAction::SetMplsTc(_)
        | OfAction::SetMplsTtl(_)
        | OfAction::DecMplsTtl => crate::nx::mpls::put_nx(out, a)?,
    }
    Ok(())
}

/// Encodes an action list for OpenFlow 1.0.
pub(crate) fn put_actions(out: &mut Vec<u8>, actions: &[OfAction]) -> Result<(), EncodeError> {
    for a in actions {
        put_action(out, a)?;
    }
    Ok(())
}

fn bac(code: BadAction, detail: &'static str) -> DecodeError {
    DecodeError::new(code, detail)
}

/// `ofpact_check_output_port` with OpenFlow 1.0's port limit.
fn check_output_port(p: OfPort) -> Result<OfPort, DecodeError> {
    match p {
        OfPort::IN_PORT | OfPort::TABLE | OfPort::NORMAL | OfPort::FLOOD | OfPort::ALL | OfPort::CONTROLLER | OfPort::LOCAL => Ok(p),
        p if p.0 < 0xff00 => Ok(p),
        _ => Err(bac(BadAction::BadOutPort, "output to an invalid port")),
    }
}

fn pull_one(r: &mut Reader<'_>) -> Result<Raw, DecodeError> {
    if r.remaining() < 8 {
        return Err(bac(BadAction::BadLen, "truncated action header"));
    }
    let ty = r.u16()?;
    let len = r.u16()? as usize;
    if len < 8 || !len.is_multiple_of(8) || len - 4 > r.remaining() {
        return Err(bac(BadAction::BadLen, "action length is not a multiple of 8 within the list"));
    }
    let body = r.bytes(len - 4)?;
    let mut b = Reader::new(body, bac(BadAction::BadLen, "truncated action"));
    let fixed = |n: usize| if len == n { Ok(()) } else { Err(bac(BadAction::BadLen, "action has the wrong length")) };
    let mac = |b: &mut Reader<'_>| -> Result<MacAddr, DecodeError> { Ok(MacAddr(b.array()?)) };
    Ok(Raw::Act(match ty {
        at::OUTPUT => {
            fixed(8)?;
            let port = check_output_port(OfPort::from_ofp10(b.u16()?))?;
            let max_len = b.u16()?;
            OfAction::Output { port, max_len: if port == OfPort::CONTROLLER { max_len } else { 0 } }
        }
        at::SET_VLAN_VID => {
            fixed(8)?;
            let vid = b.u16()?;
            if vid & !0x0fff != 0 {
                return Err(bac(BadAction::BadArgument, "VLAN id above 4095"));
            }
            OfAction::SetVlanVid { vid, push_if_needed: true }
        }
        at::SET_VLAN_PCP => {
            fixed(8)?;
            let pcp = b.u8()?;
            if pcp & !7 != 0 {
                return Err(bac(BadAction::BadArgument, "VLAN priority above 7"));
            }
            OfAction::SetVlanPcp { pcp, push_if_needed: true }
        }
        at::STRIP_VLAN => {
            fixed(8)?;
            OfAction::StripVlan
        }
        at::SET_DL_SRC => {
            fixed(16)?;
            OfAction::SetEthSrc(mac(&mut b)?)
        }
        at::SET_DL_DST => {
            fixed(16)?;
            OfAction::SetEthDst(mac(&mut b)?)
        }
        at::SET_NW_SRC => {
            fixed(8)?;
            OfAction::SetIpv4Src(b.u32()?)
        }
        at::SET_NW_DST => {
            fixed(8)?;
            OfAction::SetIpv4Dst(b.u32()?)
        }
        at::SET_NW_TOS => {
            fixed(8)?;
            let tos = b.u8()?;
            if tos & 3 != 0 {
                return Err(bac(BadAction::BadArgument, "TOS with ECN bits"));
            }
            OfAction::SetIpDscp(tos)
        }
        at::SET_TP_SRC => {
            fixed(8)?;
            OfAction::SetL4SrcPort(b.u16()?)
        }
        at::SET_TP_DST => {
            fixed(8)?;
            OfAction::SetL4DstPort(b.u16()?)
        }
        at::ENQUEUE => {
            fixed(16)?;
            let port = OfPort::from_ofp10(b.u16()?);
            b.skip(6)?;
            let queue = b.u32()?;
            if port.0 >= 0xff00 && port != OfPort::IN_PORT && port != OfPort::LOCAL {
                return Err(bac(BadAction::BadOutPort, "enqueue to an invalid port"));
            }
            OfAction::Enqueue { port, queue }
        }
        AT_VENDOR => {
            if b.u32()? != NX_VENDOR_ID {
                return Err(bac(BadAction::BadExperimenter, "unknown vendor action"));
            }
            let sub = b.u16()?;
            if sub == crate::nx::nest::CLONE {
                return crate::nx::nest::pull_clone(b.rest(), pull_actions).map(Raw::Act);
            }
            if sub == crate::nx::conntrack::CT {
                return crate::nx::conntrack::pull_ct(b.rest(), pull_actions).map(Raw::Act);
            }
            return pull_nx(sub, len, b.rest(), Version::V1_0);
        }
        _ => return Err(bac(BadAction::BadType, "unknown OpenFlow 1.0 action")),
    }))
}

/// Decodes an OpenFlow 1.0 action list. `write_metadata` (an instruction in OpenFlow 1.1+)
/// must come last, or only be followed by `goto_table`'s `resubmit`... which is an action
/// here, so: last (`ofpacts_verify`, `OFPBAC_UNSUPPORTED_ORDER`).
pub(crate) fn pull_actions(bytes: &[u8]) -> Result<Vec<OfAction>, DecodeError> {
    let mut r = Reader::new(bytes, bac(BadAction::BadLen, "truncated action"));
    let mut raws = Vec::new();
    while !r.is_empty() {
        raws.push(pull_one(&mut r)?);
    }
    let acts = fold_queues(raws)?;
    if let Some(i) = acts.iter().position(|a| matches!(a, OfAction::WriteMetadata { .. })) {
        if i + 1 != acts.len() {
            return Err(bac(BadAction::UnsupportedOrder, "write_metadata must be the last action"));
        }
    }
    Ok(acts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_flowcache::ofp::{PacketInReason, SubField};

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn native_actions_round_trip() {
        let acts = vec![
            OfAction::Output { port: OfPort(2), max_len: 0 },
            OfAction::Output { port: OfPort::CONTROLLER, max_len: 128 },
            OfAction::Enqueue { port: OfPort(1), queue: 2 },
            OfAction::SetVlanVid { vid: 10, push_if_needed: true },
            OfAction::SetVlanPcp { pcp: 3, push_if_needed: true },
            OfAction::StripVlan,
            OfAction::SetEthSrc(MacAddr([0, 1, 2, 3, 4, 5])),
            OfAction::SetEthDst(MacAddr([6, 7, 8, 9, 10, 11])),
            OfAction::SetIpv4Src(0x0102_0304),
            OfAction::SetIpv4Dst(0x0506_0708),
            OfAction::SetIpDscp(0x40),
            OfAction::SetL4SrcPort(80),
            OfAction::SetL4DstPort(443),
            OfAction::DecTtl { controller_ids: vec![] },
            OfAction::DecTtl { controller_ids: vec![1, 2] },
            OfAction::Resubmit { in_port: None, table: Some(3) },
            OfAction::RegLoad { dst: SubField { field: Field::Reg1, ofs: 0, n_bits: 32 }, value: 5 },
            OfAction::Controller { max_len: 100, reason: PacketInReason::NoMatch, controller_id: 3 },
            OfAction::WriteMetadata { value: 5, mask: 0xff },
        ];
        let mut out = Vec::new();
        put_actions(&mut out, &acts).unwrap();
        assert_eq!(pull_actions(&out).unwrap(), acts);
    }

    #[test]
    fn actions_without_a_native_form_are_written_as_ovs_writes_them() {
        let mut out = Vec::new();
        put_actions(&mut out, &[OfAction::SetIpTtl(3), OfAction::GotoTable(1), OfAction::ClearActions]).unwrap();
        // load:0x3->NXM_NX_IP_TTL[], resubmit(,1) (nothing for clear_actions).
        assert_eq!(
            hex(&out),
            "ffff0018000023200007000700013a010000000000000003ffff001000002320000efff801000000"
        );
        let mut out = Vec::new();
        put_actions(&mut out, &[OfAction::SetField { field: Field::IpDscp, value: 16, mask: 0x3f }]).unwrap();
        assert_eq!(pull_actions(&out).unwrap(), vec![OfAction::SetIpDscp(64)]);
        // write_metadata is an instruction in OpenFlow 1.1+: nothing may follow it.
        let mut out = Vec::new();
        put_actions(&mut out, &[OfAction::WriteMetadata { value: 1, mask: 1 }, OfAction::GotoTable(2)]).unwrap();
        assert_eq!(pull_actions(&out).unwrap_err().error, BadAction::UnsupportedOrder.into());
    }

    #[test]
    fn malformed_actions_have_ovs_error_codes() {
        let code = |h: &str| {
            let b: Vec<u8> = (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect();
            pull_actions(&b).unwrap_err().error
        };
        assert_eq!(code("0001000810000000"), BadAction::BadArgument.into());
        assert_eq!(code("000c000800000000"), BadAction::BadType.into());
        assert_eq!(code("0000000c0001000000000000"), BadAction::BadLen.into());
        assert_eq!(code("00000008ff000000"), BadAction::BadOutPort.into());
        assert_eq!(code("ffff0010000000010000000000000000"), BadAction::BadExperimenter.into());
    }
}
