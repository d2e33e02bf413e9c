//! OpenFlow 1.3 actions and instructions, with the Nicira actions `ovs-ofctl` sends.
//!
//! # Encoding
//! The model's single list of actions and instructions ([`OfAction`]) becomes instructions in
//! the only order OpenFlow 1.1+ allows: `apply_actions` (every plain action, in order), then
//! `clear_actions`, `write_actions`, `write_metadata`, `goto_table`. A list in another order
//! cannot be expressed and is an [`EncodeError`] (the text parser refuses it too).
//!
//! Each action is encoded the way Open vSwitch 3.1 encodes it for OpenFlow 1.3, so that our
//! bytes equal `ovs-ofctl`'s: `mod_nw_dst` and friends become `set_field`, `mod_vlan_vid`
//! becomes `push_vlan` (when no tag is known, see [`crate::check::FlowState`]) plus
//! `set_field:vid|0x1000->vlan_vid`, `enqueue` becomes `set_queue,output,pop_queue`, a
//! partial `set_field` becomes one `NXAST_REG_LOAD` per run of mask bits, and `resubmit`,
//! `load`, `move`, `note`, `dec_ttl(ids)`, `controller(...)` and `output(max_len)` become
//! Nicira experimenter actions. The MPLS actions, `clone`, `multipath`, `bundle` and `ct` are
//! encoded as Open vSwitch does (see `nx::mpls`, `nx::nest`, `nx::hashsel`, `nx::conntrack`).
//!
//! # Decoding
//! Decoding is the reverse, with the error codes Open vSwitch uses: bad lengths
//! `OFPBAC_BAD_LEN`/`OFPBIC_BAD_LEN`, unknown types `OFPBAC_BAD_TYPE`, unknown experimenters
//! `OFPBAC_BAD_VENDOR`, unknown Nicira subtypes `OFPBAC_BAD_VENDOR_TYPE`, unknown set-field
//! fields `OFPBAC_BAD_SET_TYPE`, bad set-field values `OFPBAC_BAD_SET_ARGUMENT`, a repeated
//! instruction `OFPBIC_DUP_INST`. Actions the model cannot hold are refused rather than
//! dropped: groups (`OFPBAC_BAD_OUT_GROUP`, as for a group that does not exist), meters
//! (`OFPBIC_UNSUP_INST`), PBB (`OFPBAC_BAD_TYPE`), `set_queue`/`pop_queue` other than
//! the `enqueue` triple (`OFPBAC_BAD_TYPE`), `controller` with user data or pause
//! (`OFPBAC_BAD_ARGUMENT`).

mod decode;

pub(crate) use decode::{pull_actions, pull_instructions};

use crate::check::{CheckContext, FlowState};
use crate::codec::Put;
use crate::error::EncodeError;
use crate::nx::actions as nx;
use crate::oxm::{self, value_mask, Conv, Entry, CLASS_EXPERIMENTER};
use rvs_flowcache::field::Field;
use rvs_flowcache::key::VLAN_PRESENT;
use rvs_flowcache::ofp::{OfAction, OfPort};
use rvs_packet::wire::ip_proto;

/// `OFPAT_*` action types.
pub(crate) mod at {
    pub(crate) const OUTPUT: u16 = 0;
    pub(crate) const PUSH_VLAN: u16 = 17;
    pub(crate) const POP_VLAN: u16 = 18;
    pub(crate) const SET_QUEUE: u16 = 21;
    pub(crate) const GROUP: u16 = 22;
    pub(crate) const SET_NW_TTL: u16 = 23;
    pub(crate) const DEC_NW_TTL: u16 = 24;
    pub(crate) const SET_FIELD: u16 = 25;
    pub(crate) const EXPERIMENTER: u16 = 0xffff;
}

/// `OFPIT_*` instruction types.
pub(crate) mod it {
    pub(crate) const GOTO_TABLE: u16 = 1;
    pub(crate) const WRITE_METADATA: u16 = 2;
    pub(crate) const WRITE_ACTIONS: u16 = 3;
    pub(crate) const APPLY_ACTIONS: u16 = 4;
    pub(crate) const CLEAR_ACTIONS: u16 = 5;
    pub(crate) const METER: u16 = 6;
    pub(crate) const EXPERIMENTER: u16 = 0xffff;
}

fn unrep(what: impl Into<String>) -> EncodeError {
    EncodeError::Unrepresentable(what.into())
}

pub(crate) use crate::nx::actions::{reason_from_wire, reason_to_wire};

fn finish(out: &mut Vec<u8>, start: usize) -> Result<(), EncodeError> {
    nx::finish(out, start)
}

fn put_output(out: &mut Vec<u8>, port: OfPort, max_len: u16) {
    out.put_u16(at::OUTPUT);
    out.put_u16(16);
    out.put_u32(port.0);
    out.put_u16(max_len);
    out.put_zeros(6);
}

fn put_set_field(out: &mut Vec<u8>, e: &Entry, value: u128) -> Result<(), EncodeError> {
    let start = out.len();
    out.put_u16(at::SET_FIELD);
    out.put_u16(0);
    out.put_u32(e.header(false));
    if e.class == CLASS_EXPERIMENTER {
        out.put_u32(e.experimenter);
    }
    let v = match e.conv {
        Conv::Port16 => OfPort(value as u32).to_ofp10() as u128,
        Conv::Plain => value,
    };
    out.extend_from_slice(&v.to_be_bytes()[16 - e.width as usize..]);
    finish(out, start)
}

/// Encodes one action (never an instruction) for OpenFlow 1.3, updating `st`.
fn put_action(out: &mut Vec<u8>, a: &OfAction, st: &mut FlowState) -> Result<(), EncodeError> {
    let field_entry = |f: Field| oxm::entry_v13(f).ok_or_else(|| unrep(format!("set_field of {}", f.name())));
    let before = *st;
    // Keep the abstract packet in step with the checker (errors were reported by it).
    let _ = crate::check::step(a, st, &CheckContext { table_id: rvs_flowcache::ofp::ALL_TABLES, max_ports: OfPort::MAX });
    match a {
        OfAction::Output { port, max_len } => {
            if *port == OfPort::CONTROLLER || *max_len == 0 {
                put_output(out, *port, if *port == OfPort::CONTROLLER { *max_len } else { 0 });
            } else {
                nx::put_output_trunc(out, *port, *max_len)?;
            }
        }
        OfAction::Controller { max_len, reason, controller_id } => nx::put_controller(out, *max_len, *controller_id, *reason)?,
        OfAction::Enqueue { port, queue } => {
            out.put_u16(at::SET_QUEUE);
            out.put_u16(8);
            out.put_u32(*queue);
            put_output(out, *port, u16::MAX);
            nx::put_pop_queue(out)?;
        }
        OfAction::SetVlanVid { vid, push_if_needed } => {
            if *push_if_needed && !before.has_vlan() {
                put_push_vlan(out, 0x8100);
            }
            put_set_field(out, field_entry(Field::VlanVid)?, (*vid as u128 & 0xfff) | VLAN_PRESENT as u128)?;
        }
        OfAction::SetVlanPcp { pcp, push_if_needed } => {
            if *push_if_needed && !before.has_vlan() {
                put_push_vlan(out, 0x8100);
            }
            put_set_field(out, field_entry(Field::VlanPcp)?, *pcp as u128 & 7)?;
        }
        OfAction::StripVlan => {
            out.put_u16(at::POP_VLAN);
            out.put_u16(8);
            out.put_zeros(4);
        }
        OfAction::PushVlan { ethertype } => put_push_vlan(out, *ethertype),
        OfAction::SetEthSrc(mac) => put_set_field(out, field_entry(Field::EthSrc)?, mac.to_u64() as u128)?,
        OfAction::SetEthDst(mac) => put_set_field(out, field_entry(Field::EthDst)?, mac.to_u64() as u128)?,
        OfAction::SetIpv4Src(ip) => put_set_field(out, field_entry(Field::IpSrc)?, *ip as u128)?,
        OfAction::SetIpv4Dst(ip) => put_set_field(out, field_entry(Field::IpDst)?, *ip as u128)?,
        OfAction::SetIpDscp(tos) => put_set_field(out, field_entry(Field::IpDscp)?, (*tos >> 2) as u128)?,
        OfAction::SetIpEcn(ecn) => put_set_field(out, field_entry(Field::IpEcn)?, (*ecn & 3) as u128)?,
        OfAction::SetIpTtl(ttl) => {
            out.put_u16(at::SET_NW_TTL);
            out.put_u16(8);
            out.put_u8(*ttl);
            out.put_zeros(3);
        }
        OfAction::SetL4SrcPort(p) | OfAction::SetL4DstPort(p) => {
            let src = matches!(a, OfAction::SetL4SrcPort(_));
            let f = match (before.key.nw_proto, src) {
                (ip_proto::TCP, true) => Field::TcpSrc,
                (ip_proto::TCP, false) => Field::TcpDst,
                (ip_proto::UDP, true) => Field::UdpSrc,
                (ip_proto::UDP, false) => Field::UdpDst,
                (ip_proto::SCTP, true) => Field::SctpSrc,
                (ip_proto::SCTP, false) => Field::SctpDst,
                _ => return Err(unrep("mod_tp_src/mod_tp_dst needs a match on tcp, udp or sctp in OpenFlow 1.3")),
            };
            put_set_field(out, field_entry(f)?, *p as u128)?;
        }
        OfAction::SetField { field, value, mask } => {
            let full = value_mask(*field);
            let (field, value, mask) = match *field {
                Field::DlVlan => (Field::VlanVid, (value & 0xfff) | VLAN_PRESENT as u128, mask & 0xfff),
                Field::DlVlanPcp => (Field::VlanPcp, *value, *mask),
                f => (f, *value, *mask),
            };
            let full = if field == Field::VlanVid { value_mask(field) } else { full };
            if field == Field::InPort && mask & full == full {
                // `in_port` is Open vSwitch's 16-bit field, sent as NXM_OF_IN_PORT when it fits.
                let p = OfPort(value as u32);
                let e = if OfPort::from_ofp10(p.to_ofp10()) == p { nx::nxm_entry(field, 16) } else { oxm::entry_v13(field) };
                put_set_field(out, e.ok_or_else(|| unrep("set_field of in_port"))?, value)?;
            } else if mask & full == full || (field == Field::VlanVid && mask & 0xfff == 0xfff) {
                put_set_field(out, field_entry(field)?, value & value_mask(field))?;
            } else {
                nx::put_reg_loads(out, field, value, mask & full)?;
            }
        }
        OfAction::RegLoad { dst, value } => nx::put_load(out, dst, *value)?,
        OfAction::RegMove { src, dst } => nx::put_reg_move(out, src, dst)?,
        OfAction::DecTtl { controller_ids } => {
            if controller_ids.is_empty() {
                out.put_u16(at::DEC_NW_TTL);
                out.put_u16(8);
                out.put_zeros(4);
            } else {
                nx::put_dec_ttl_cnt_ids(out, controller_ids)?;
            }
        }
        OfAction::Resubmit { in_port, table } => nx::put_resubmit(out, *in_port, *table)?,
        OfAction::Note(bytes) => nx::put_note(out, bytes)?,
        OfAction::Group(g) => {
            out.put_u16(at::GROUP);
            out.put_u16(8);
            out.put_u32(*g);
        }
        OfAction::Learn(l) => crate::nx::learn::put_learn(out, l)?,
        // As Open vSwitch: OpenFlow 1.2+ has set_field for the tunnel id.
        OfAction::SetTunnel { id, .. } => put_set_field(out, field_entry(Field::TunId)?, *id as u128)?,
        OfAction::OutputReg { src, max_len } => crate::nx::extra::put_output_reg(out, src, *max_len)?,
        OfAction::Sample { .. } => crate::nx::extra::put_sample(out, a)?,
        OfAction::Multipath(mp) => crate::nx::hashsel::put_multipath(out, mp)?,
        OfAction::Bundle(b) => crate::nx::hashsel::put_bundle(out, b)?,
        OfAction::Conjunction { id, clause, n_clauses } => crate::nx::learn::put_conjunction(out, *id, *clause, *n_clauses)?,
        OfAction::FinTimeout { idle, hard } => crate::nx::learn::put_fin_timeout(out, *idle, *hard)?,
        OfAction::Clone(inner) => {
            // What the clone does to the packet does not outlast it (as `ofpacts_check`).
            let mut copy = before;
            crate::nx::nest::put_clone(out, |out| put_actions(out, inner, &mut copy))?;
        }
        OfAction::Ct(ct) => {
            let mut copy = before;
            crate::nx::conntrack::put_ct(out, ct, |out| put_actions(out, &ct.actions, &mut copy))?;
        }
        OfAction::Nat(nat) => crate::nx::conntrack::put_nat(out, nat)?,
        OfAction::CtClear => crate::nx::nest::put_ct_clear(out)?,
        OfAction::PushMpls { .. }
        | OfAction::PopMpls { .. }
        | OfAction::SetMplsLabel(_)
        | OfAction::SetMplsTc(_)
        | OfAction::SetMplsTtl(_)
        | OfAction::DecMplsTtl => crate::nx::mpls::put_v13(out, a)?,
        OfAction::GotoTable(_) | OfAction::WriteMetadata { .. } | OfAction::ClearActions | OfAction::WriteActions(_) => {
            return Err(unrep("an instruction inside an action list"));
        }
    }
    Ok(())
}

fn put_push_vlan(out: &mut Vec<u8>, ethertype: u16) {
    out.put_u16(at::PUSH_VLAN);
    out.put_u16(8);
    out.put_u16(ethertype);
    out.put_zeros(2);
}

/// Encodes a list of plain actions (an apply-actions or write-actions list, or a
/// packet-out's actions).
pub(crate) fn put_actions(out: &mut Vec<u8>, actions: &[OfAction], st: &mut FlowState) -> Result<(), EncodeError> {
    for a in actions {
        put_action(out, a, st)?;
    }
    Ok(())
}

fn instruction_rank(a: &OfAction) -> u8 {
    match a {
        OfAction::ClearActions => 1,
        OfAction::WriteActions(_) => 2,
        OfAction::WriteMetadata { .. } => 3,
        OfAction::GotoTable(_) => 4,
        _ => 0,
    }
}

/// Encodes actions and instructions as OpenFlow 1.3 instructions, given what the match
/// guarantees about the packet.
pub(crate) fn put_instructions(out: &mut Vec<u8>, actions: &[OfAction], mut st: FlowState) -> Result<(), EncodeError> {
    let mut rank = 0;
    for a in actions {
        let r = instruction_rank(a);
        if r < rank || (r == rank && r != 0) {
            return Err(unrep("instructions out of order (apply, clear_actions, write_actions, write_metadata, goto_table)"));
        }
        rank = r;
    }
    let n_apply = actions.iter().take_while(|a| instruction_rank(a) == 0).count();
    if n_apply > 0 {
        let start = out.len();
        out.put_u16(it::APPLY_ACTIONS);
        out.put_u16(0);
        out.put_zeros(4);
        put_actions(out, &actions[..n_apply], &mut st)?;
        finish(out, start)?;
    }
    for a in &actions[n_apply..] {
        let start = out.len();
        match a {
            OfAction::ClearActions => {
                out.put_u16(it::CLEAR_ACTIONS);
                out.put_u16(8);
                out.put_zeros(4);
            }
            OfAction::WriteActions(inner) => {
                out.put_u16(it::WRITE_ACTIONS);
                out.put_u16(0);
                out.put_zeros(4);
                let mut copy = st;
                put_actions(out, inner, &mut copy)?;
                finish(out, start)?;
            }
            OfAction::WriteMetadata { value, mask } => {
                out.put_u16(it::WRITE_METADATA);
                out.put_u16(24);
                out.put_zeros(4);
                out.put_u64(*value);
                out.put_u64(*mask);
            }
            OfAction::GotoTable(t) => {
                out.put_u16(it::GOTO_TABLE);
                out.put_u16(8);
                out.put_u8(*t);
                out.put_zeros(3);
            }
            _ => unreachable!("ranked as an instruction"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{BadAction, BadInstruction};
    use rvs_flowcache::ofp::{Match, PacketInReason, SubField};

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    use crate::test_util::unhex;

    fn ip_match() -> Match {
        let mut m = Match::catchall();
        m.set(Field::EthType, 0x0800);
        m
    }

    /// Bytes `ovs-ofctl -O OpenFlow13 add-flow` sent for
    /// `ip,actions=dec_ttl,dec_ttl(1,2),note:aa.bb,controller(id=3),controller:100,enqueue:1:2,
    /// set_field:0x10/0xff->reg3,move:reg0[0..3]->reg1[4..7]` (the instructions only).
    const CAPTURED: &str = "000400b0000000000018000800000000ffff00180000232000150002000000000001000200000000ffff0010000023200008aabb00000000ffff0010000023200014ffff0003010000000010fffffffd006400000000000000150008000000020000001000000001ffff000000000000ffff0010000023200005000000000000ffff00180000232000070007000106040000000000000010ffff00180000232000060004000000040001000400010204";

    fn captured_actions() -> Vec<OfAction> {
        vec![
            OfAction::DecTtl { controller_ids: vec![] },
            OfAction::DecTtl { controller_ids: vec![1, 2] },
            OfAction::Note(vec![0xaa, 0xbb, 0, 0, 0, 0]),
            OfAction::Controller { max_len: u16::MAX, reason: PacketInReason::Action, controller_id: 3 },
            OfAction::Output { port: OfPort::CONTROLLER, max_len: 100 },
            OfAction::Enqueue { port: OfPort(1), queue: 2 },
            OfAction::RegLoad { dst: SubField { field: Field::Reg3, ofs: 0, n_bits: 8 }, value: 0x10 },
            OfAction::RegMove {
                src: SubField { field: Field::Reg0, ofs: 0, n_bits: 4 },
                dst: SubField { field: Field::Reg1, ofs: 4, n_bits: 4 },
            },
        ]
    }

    #[test]
    fn reads_the_instructions_ovs_ofctl_sent() {
        assert_eq!(pull_instructions(&unhex(CAPTURED)).unwrap(), captured_actions());
    }

    #[test]
    fn writes_the_instructions_ovs_ofctl_sent() {
        let mut out = Vec::new();
        put_instructions(&mut out, &captured_actions(), FlowState::from_match(&ip_match())).unwrap();
        assert_eq!(hex(&out), CAPTURED);
    }

    #[test]
    fn rejects_truncated_and_malformed_lists() {
        let bytes = unhex(CAPTURED);
        for n in 1..bytes.len() {
            if n % 8 == 0 {
                continue;
            }
            assert!(pull_instructions(&bytes[..n]).is_err(), "{n}");
        }
        // Action length 12 (not a multiple of 8).
        let bad = unhex("00040010000000000000000c00000000");
        assert_eq!(pull_instructions(&bad).unwrap_err().error, BadAction::BadLen.into());
        // Duplicate goto_table.
        let dup = unhex("00010008010000000001000802000000");
        assert_eq!(pull_instructions(&dup).unwrap_err().error, BadInstruction::DupInst.into());
        // Unknown instruction.
        assert_eq!(pull_instructions(&unhex("0009000800000000")).unwrap_err().error, BadInstruction::UnknownInst.into());
        // Group action: decoded; a truncated one is refused.
        assert_eq!(pull_actions(&unhex("0016000800000001")).unwrap(), vec![OfAction::Group(1)]);
        assert_eq!(pull_actions(&unhex("0016001000000001")).unwrap_err().error, BadAction::BadLen.into());
        // set_field vlan_vid without the present bit (Open vSwitch refuses it too).
        assert_eq!(
            pull_actions(&unhex("0019001080000c020005000000000000")).unwrap_err().error,
            BadAction::BadSetArgument.into()
        );
        // Unknown Nicira subtype.
        assert_eq!(pull_actions(&unhex("ffff00100000232000ff000000000000")).unwrap_err().error, BadAction::BadExpType.into());
    }

    #[test]
    fn mod_vlan_vid_pushes_only_without_a_tag() {
        let act = [OfAction::SetVlanVid { vid: 10, push_if_needed: true }];
        let mut out = Vec::new();
        put_actions(&mut out, &act, &mut FlowState::from_match(&Match::catchall())).unwrap();
        let back = pull_actions(&out).unwrap();
        assert_eq!(
            back,
            vec![
                OfAction::PushVlan { ethertype: 0x8100 },
                OfAction::SetField { field: Field::VlanVid, value: 0x100a, mask: 0x1fff }
            ]
        );
        let mut tagged = Match::catchall();
        tagged.set_masked(Field::VlanVid, 0x1005, 0x1fff);
        let mut out = Vec::new();
        put_actions(&mut out, &act, &mut FlowState::from_match(&tagged)).unwrap();
        assert_eq!(pull_actions(&out).unwrap().len(), 1);
    }
}
