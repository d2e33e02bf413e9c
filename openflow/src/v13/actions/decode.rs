//! Decoding OpenFlow 1.3 actions and instructions (see the parent module for the rules).

use super::{at, it, reason_from_wire};
use crate::check::subfield_bits;
use crate::codec::Reader;
use crate::error::{BadAction, BadInstruction, BadMatch, DecodeError};
use crate::nx::{controller2_prop, subtype, NXBRC_MUST_BE_ZERO, NX_VENDOR_ID};
use crate::oxm::{self, value_mask, Conv, Entry, CLASS_EXPERIMENTER};
use rvs_flowcache::field::Field;
use rvs_flowcache::key::VLAN_PRESENT;
use rvs_flowcache::ofp::{OfAction, OfPort, PacketInReason, SubField};

fn bac(code: BadAction, detail: &'static str) -> DecodeError {
    DecodeError::new(code, detail)
}

fn bic(code: BadInstruction, detail: &'static str) -> DecodeError {
    DecodeError::new(code, detail)
}

/// A decoded action before `set_queue,output,pop_queue` triples are folded into `enqueue`.
enum Raw {
    Act(OfAction),
    SetQueue(u32),
    PopQueue,
}

fn port_from_ofp11(p: u32) -> Result<OfPort, DecodeError> {
    if !(0xff00..0xffff_ff00).contains(&p) {
        Ok(OfPort(p))
    } else {
        Err(bac(BadAction::BadOutPort, "port number out of range"))
    }
}

fn check_out_port(p: OfPort) -> Result<OfPort, DecodeError> {
    match p {
        OfPort::ANY => Err(bac(BadAction::BadOutPort, "output to port ANY")),
        p => Ok(p),
    }
}

fn pull_set_field(body: &[u8]) -> Result<OfAction, DecodeError> {
    let mut r = Reader::new(body, bac(BadAction::BadSetLen, "truncated set_field"));
    let header = r.u32()?;
    let exp = if (header >> 16) as u16 == CLASS_EXPERIMENTER { r.u32()? } else { 0 };
    if header & 0x100 != 0 {
        return Err(bac(BadAction::BadSetArgument, "masked set_field needs OpenFlow 1.5"));
    }
    let e = oxm::entry_by_header(header, exp).ok_or(bac(BadAction::BadSetType, "set_field of an unknown field"))?;
    let vb = r.bytes(e.width as usize)?;
    if r.rest().iter().any(|&b| b != 0) {
        return Err(bac(BadAction::BadSetArgument, "set_field padding is not zero"));
    }
    let raw = vb.iter().fold(0u128, |acc, &b| (acc << 8) | b as u128);
    let field = e.field;
    if !field.desc().writable {
        return Err(bac(BadAction::BadSetArgument, "set_field of a read-only field"));
    }
    let value = match e.conv {
        Conv::Port16 => OfPort::from_ofp10(raw as u16).0 as u128,
        Conv::Plain => raw,
    };
    let invalid = raw & !value_mask(field) != 0
        || (field == Field::VlanVid && value & VLAN_PRESENT as u128 == 0)
        || (field == Field::InPort && e.conv == Conv::Plain && (0xff00..0xffff_ff00).contains(&(raw as u32)));
    if invalid {
        return Err(bac(BadAction::BadSetArgument, "invalid set_field value"));
    }
    Ok(OfAction::SetField { field, value, mask: value_mask(field) })
}

fn subfield_limit(e: &Entry) -> u32 {
    match (e.conv, e.field) {
        (Conv::Port16, _) => 16,
        (_, Field::InPort) => 32,
        (_, f) => subfield_bits(f),
    }
}

fn sub_of(e: &Entry, ofs: u32, n_bits: u32) -> Result<SubField, DecodeError> {
    if n_bits == 0 || ofs + n_bits > subfield_limit(e) {
        return Err(bac(BadAction::BadSetLen, "subfield beyond its field"));
    }
    Ok(SubField { field: e.field, ofs, n_bits })
}

fn pull_nx(sub: u16, len: usize, body: &[u8]) -> Result<Raw, DecodeError> {
    let mut r = Reader::new(body, bac(BadAction::BadLen, "truncated Nicira action"));
    let fixed = |n: usize| if len == n { Ok(()) } else { Err(bac(BadAction::BadLen, "Nicira action has the wrong length")) };
    Ok(Raw::Act(match sub {
        subtype::RESUBMIT | subtype::RESUBMIT_TABLE => {
            fixed(16)?;
            let port = OfPort::from_ofp10(r.u16()?);
            let table = r.u8()?;
            if sub == subtype::RESUBMIT_TABLE && r.rest().iter().any(|&b| b != 0) {
                return Err(bac(BadAction::BadArgument, "resubmit padding is not zero"));
            }
            let table = if sub == subtype::RESUBMIT { 0xff } else { table };
            OfAction::Resubmit {
                in_port: (port != OfPort::IN_PORT).then_some(port),
                table: (table != 0xff).then_some(table),
            }
        }
        subtype::POP_QUEUE => {
            fixed(16)?;
            return Ok(Raw::PopQueue);
        }
        subtype::REG_MOVE => {
            if len < 24 {
                return Err(bac(BadAction::BadLen, "NXAST_REG_MOVE too short"));
            }
            let n_bits = r.u16()? as u32;
            let src_ofs = r.u16()? as u32;
            let dst_ofs = r.u16()? as u32;
            let sh = r.u32()?;
            let dh = r.u32()?;
            if r.rest().iter().any(|&b| b != 0) {
                return Err(DecodeError::new(NXBRC_MUST_BE_ZERO, "NXAST_REG_MOVE padding is not zero"));
            }
            let unknown = DecodeError::new(BadMatch::BadField, "move of an unknown field");
            let se = oxm::entry_by_header(sh, 0).filter(|e| e.class != CLASS_EXPERIMENTER).ok_or(unknown)?;
            let de = oxm::entry_by_header(dh, 0).filter(|e| e.class != CLASS_EXPERIMENTER).ok_or(unknown)?;
            let src = sub_of(se, src_ofs, n_bits)?;
            let dst = sub_of(de, dst_ofs, n_bits)?;
            if !dst.field.desc().writable {
                return Err(bac(BadAction::BadSetArgument, "move to a read-only field"));
            }
            OfAction::RegMove { src, dst }
        }
        subtype::REG_LOAD => {
            fixed(24)?;
            let ofs_nbits = r.u16()?;
            let dh = r.u32()?;
            let value = r.u64()?;
            let e = oxm::entry_by_header(dh, 0)
                .filter(|e| e.class != CLASS_EXPERIMENTER)
                .ok_or(bac(BadAction::BadSetType, "load to an unknown field"))?;
            let dst = sub_of(e, (ofs_nbits >> 6) as u32, (ofs_nbits & 0x3f) as u32 + 1)?;
            if !dst.field.desc().writable {
                return Err(bac(BadAction::BadSetArgument, "load to a read-only field"));
            }
            if dst.n_bits < 64 && value >> dst.n_bits != 0 {
                return Err(bac(BadAction::BadArgument, "load value wider than its destination"));
            }
            OfAction::RegLoad { dst, value: value as u128 }
        }
        subtype::REG_LOAD2 => {
            let header = r.u32()?;
            let exp = if (header >> 16) as u16 == CLASS_EXPERIMENTER { r.u32()? } else { 0 };
            let e = oxm::entry_by_header(header, exp).ok_or(bac(BadAction::BadSetType, "load2 of an unknown field"))?;
            let w = e.width as usize;
            let masked = header & 0x100 != 0;
            let vb = r.bytes(w)?;
            let mb = if masked { r.bytes(w)? } else { &[][..] };
            if r.rest().iter().any(|&b| b != 0) {
                return Err(DecodeError::new(NXBRC_MUST_BE_ZERO, "NXAST_REG_LOAD2 padding is not zero"));
            }
            let value = vb.iter().fold(0u128, |acc, &b| (acc << 8) | b as u128);
            let full = value_mask(e.field);
            let mask = if masked { mb.iter().fold(0u128, |acc, &b| (acc << 8) | b as u128) } else { full };
            if e.conv != Conv::Plain || !e.field.desc().writable || value & !full != 0 || value & !mask != 0 {
                return Err(bac(BadAction::BadSetArgument, "invalid load2"));
            }
            OfAction::SetField { field: e.field, value, mask: mask & full }
        }
        subtype::NOTE => OfAction::Note(r.rest().to_vec()),
        subtype::DEC_TTL => {
            fixed(16)?;
            OfAction::DecTtl { controller_ids: vec![] }
        }
        subtype::CONTROLLER => {
            fixed(16)?;
            let max_len = r.u16()?;
            let controller_id = r.u16()?;
            let reason = reason_from_wire(r.u8()?).ok_or(bac(BadAction::BadArgument, "unsupported packet-in reason"))?;
            OfAction::Controller { max_len, reason, controller_id }
        }
        subtype::CONTROLLER2 => pull_controller2(&mut r)?,
        subtype::DEC_TTL_CNT_IDS => {
            let n = r.u16()? as usize;
            if r.bytes(4)?.iter().any(|&b| b != 0) {
                return Err(DecodeError::new(NXBRC_MUST_BE_ZERO, "dec_ttl reserved bytes are not zero"));
            }
            if r.remaining() < 2 * n {
                return Err(bac(BadAction::BadLen, "dec_ttl ids beyond the action"));
            }
            let controller_ids = (0..n).map(|_| r.u16()).collect::<Result<Vec<_>, _>>()?;
            OfAction::DecTtl { controller_ids }
        }
        subtype::OUTPUT_TRUNC => {
            fixed(16)?;
            let port = OfPort::from_ofp10(r.u16()?);
            let max_len = r.u32()?;
            if max_len < 14 || max_len > u16::MAX as u32 {
                return Err(bac(BadAction::BadArgument, "output max_len out of range"));
            }
            OfAction::Output { port: check_out_port(port)?, max_len: max_len as u16 }
        }
        _ => return Err(bac(BadAction::BadExpType, "unknown Nicira action")),
    }))
}

fn pull_controller2(r: &mut Reader<'_>) -> Result<OfAction, DecodeError> {
    if r.bytes(6)?.iter().any(|&b| b != 0) {
        return Err(DecodeError::new(NXBRC_MUST_BE_ZERO, "controller2 padding is not zero"));
    }
    let (mut max_len, mut controller_id, mut reason) = (u16::MAX, 0u16, PacketInReason::Action);
    while r.remaining() >= 4 {
        let ty = r.u16()?;
        let len = r.u16()? as usize;
        if len < 4 {
            return Err(bac(BadAction::BadLen, "controller2 property too short"));
        }
        let body = r.bytes(len - 4)?;
        r.skip((len.div_ceil(8) * 8 - len).min(r.remaining()))?;
        let mut pr = Reader::new(body, bac(BadAction::BadLen, "controller2 property too short"));
        match ty {
            controller2_prop::MAX_LEN => max_len = pr.u16()?,
            controller2_prop::CONTROLLER_ID => controller_id = pr.u16()?,
            controller2_prop::REASON => {
                reason = reason_from_wire(pr.u8()?).ok_or(bac(BadAction::BadArgument, "unsupported packet-in reason"))?
            }
            _ => return Err(bac(BadAction::BadArgument, "controller userdata, pause and meters are not supported")),
        }
    }
    Ok(OfAction::Controller { max_len, reason, controller_id })
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
    Ok(Raw::Act(match ty {
        at::OUTPUT => {
            fixed(16)?;
            let port = check_out_port(port_from_ofp11(b.u32()?)?)?;
            let max_len = b.u16()?;
            OfAction::Output { port, max_len: if port == OfPort::CONTROLLER { max_len } else { 0 } }
        }
        at::PUSH_VLAN => {
            fixed(8)?;
            let ethertype = b.u16()?;
            if ethertype != 0x8100 && ethertype != 0x88a8 {
                return Err(bac(BadAction::BadArgument, "push_vlan of a non-VLAN ethertype"));
            }
            OfAction::PushVlan { ethertype }
        }
        at::POP_VLAN => {
            fixed(8)?;
            OfAction::StripVlan
        }
        at::SET_QUEUE => {
            fixed(8)?;
            return Ok(Raw::SetQueue(b.u32()?));
        }
        at::GROUP => {
            fixed(8)?;
            return Err(bac(BadAction::BadOutGroup, "groups are not supported"));
        }
        at::SET_NW_TTL => {
            fixed(8)?;
            OfAction::SetIpTtl(b.u8()?)
        }
        at::DEC_NW_TTL => {
            fixed(8)?;
            OfAction::DecTtl { controller_ids: vec![] }
        }
        at::SET_FIELD => pull_set_field(body)?,
        at::EXPERIMENTER => {
            let vendor = b.u32()?;
            if vendor != NX_VENDOR_ID {
                return Err(bac(BadAction::BadExperimenter, "unknown experimenter action"));
            }
            let sub = b.u16()?;
            return pull_nx(sub, len, b.rest());
        }
        _ => return Err(bac(BadAction::BadType, "unsupported action type")),
    }))
}

/// Decodes an action list (apply-actions, write-actions, packet-out).
pub(crate) fn pull_actions(bytes: &[u8]) -> Result<Vec<OfAction>, DecodeError> {
    let mut r = Reader::new(bytes, bac(BadAction::BadLen, "truncated action"));
    let mut raws = Vec::new();
    while !r.is_empty() {
        raws.push(pull_one(&mut r)?);
    }
    let mut out = Vec::with_capacity(raws.len());
    let mut it = raws.into_iter().peekable();
    while let Some(raw) = it.next() {
        match raw {
            Raw::Act(a) => out.push(a),
            Raw::SetQueue(queue) => {
                let port = match it.next() {
                    Some(Raw::Act(OfAction::Output { port, .. })) => port,
                    _ => return Err(bac(BadAction::BadType, "set_queue is only supported as part of enqueue")),
                };
                if !matches!(it.next(), Some(Raw::PopQueue)) {
                    return Err(bac(BadAction::BadType, "set_queue is only supported as part of enqueue"));
                }
                out.push(OfAction::Enqueue { port, queue });
            }
            Raw::PopQueue => return Err(bac(BadAction::BadType, "pop_queue is only supported as part of enqueue")),
        }
    }
    Ok(out)
}

/// Decodes OpenFlow 1.1+ instructions into the model's single list.
pub(crate) fn pull_instructions(bytes: &[u8]) -> Result<Vec<OfAction>, DecodeError> {
    if !bytes.len().is_multiple_of(8) {
        return Err(bic(BadInstruction::BadLen, "instructions are not a multiple of 8 bytes"));
    }
    let mut r = Reader::new(bytes, bic(BadInstruction::BadLen, "truncated instruction"));
    let mut apply = None;
    let mut clear = false;
    let mut write = None;
    let mut metadata = None;
    let mut goto = None;
    let dup = || bic(BadInstruction::DupInst, "instruction appears twice");
    while !r.is_empty() {
        let ty = r.u16()?;
        let len = r.u16()? as usize;
        if len < 8 || !len.is_multiple_of(8) || len - 4 > r.remaining() {
            return Err(bic(BadInstruction::BadLen, "bad instruction length"));
        }
        let body = r.bytes(len - 4)?;
        let mut b = Reader::new(body, bic(BadInstruction::BadLen, "truncated instruction"));
        let fixed = |n: usize| if len == n { Ok(()) } else { Err(bic(BadInstruction::BadLen, "instruction has the wrong length")) };
        match ty {
            it::GOTO_TABLE => {
                fixed(8)?;
                if goto.replace(b.u8()?).is_some() {
                    return Err(dup());
                }
            }
            it::WRITE_METADATA => {
                fixed(24)?;
                b.skip(4)?;
                let value = b.u64()?;
                let mask = b.u64()?;
                if metadata.replace((value, mask)).is_some() {
                    return Err(dup());
                }
            }
            it::WRITE_ACTIONS | it::APPLY_ACTIONS => {
                b.skip(4)?;
                let acts = pull_actions(b.rest())?;
                let slot = if ty == it::APPLY_ACTIONS { &mut apply } else { &mut write };
                if slot.replace(acts).is_some() {
                    return Err(dup());
                }
            }
            it::CLEAR_ACTIONS => {
                fixed(8)?;
                if std::mem::replace(&mut clear, true) {
                    return Err(dup());
                }
            }
            it::METER => return Err(bic(BadInstruction::UnsupInst, "meters are not supported")),
            it::EXPERIMENTER => return Err(bic(BadInstruction::BadExperimenter, "unknown experimenter instruction")),
            _ => return Err(bic(BadInstruction::UnknownInst, "unknown instruction")),
        }
    }
    let mut out = apply.unwrap_or_default();
    if clear {
        out.push(OfAction::ClearActions);
    }
    if let Some(w) = write {
        out.push(OfAction::WriteActions(w));
    }
    if let Some((value, mask)) = metadata {
        out.push(OfAction::WriteMetadata { value, mask });
    }
    if let Some(t) = goto {
        out.push(OfAction::GotoTable(t));
    }
    Ok(out)
}

