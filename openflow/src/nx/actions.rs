//! Nicira actions (`NXAST_*`): encoders and the decoder, shared by the OpenFlow 1.0 and 1.3
//! codecs.
//!
//! A Nicira action is a vendor action: type `0xffff`, length, vendor id [`NX_VENDOR_ID`], a
//! 16-bit subtype, then the body, padded to a multiple of 8 bytes. The layouts do not depend
//! on the version; which subtypes a version accepts does (`NXAST_DEC_TTL` and
//! `NXAST_WRITE_METADATA` only in OpenFlow 1.0, where the standard actions are missing), and
//! [`pull_nx`] takes the version for that.
//!
//! Decoding follows Open vSwitch's checks and errors: a wrong length is `OFPBAC_BAD_LEN`, an
//! unknown subtype `OFPBAC_BAD_VENDOR_TYPE`, nonzero reserved bytes `NXBRC_MUST_BE_ZERO`, an
//! unknown field in `load` `OFPBAC_BAD_SET_TYPE` and in `move` `OFPBMC_BAD_FIELD`, a subfield
//! beyond its field `OFPBAC_BAD_SET_LEN`, a write to a read-only field
//! `OFPBAC_BAD_SET_ARGUMENT`.

use crate::check::subfield_bits;
use crate::codec::{Put, Reader};
use crate::error::{BadAction, BadMatch, DecodeError, EncodeError};
use crate::msg::Version;
use crate::nx::{controller2_prop, subtype, NXBRC_MUST_BE_ZERO, NX_VENDOR_ID};
use crate::oxm::{self, value_mask, Conv, Entry, CLASS_EXPERIMENTER};
use rvs_flowcache::field::Field;
use rvs_flowcache::ofp::{OfAction, OfPort, PacketInReason, SubField};

/// `OFPAT_VENDOR` / `OFPAT_EXPERIMENTER`.
pub(crate) const AT_VENDOR: u16 = 0xffff;

fn unrep(what: impl Into<String>) -> EncodeError {
    EncodeError::Unrepresentable(what.into())
}

fn bac(code: BadAction, detail: &'static str) -> DecodeError {
    DecodeError::new(code, detail)
}

/// The wire number of a packet-in reason.
pub(crate) fn reason_to_wire(r: PacketInReason) -> u8 {
    match r {
        PacketInReason::NoMatch => 0,
        PacketInReason::Action => 1,
        PacketInReason::InvalidTtl => 2,
    }
}

/// The packet-in reason of a wire number, if the model has it.
pub(crate) fn reason_from_wire(r: u8) -> Option<PacketInReason> {
    match r {
        0 => Some(PacketInReason::NoMatch),
        1 => Some(PacketInReason::Action),
        2 => Some(PacketInReason::InvalidTtl),
        _ => None,
    }
}

/// Starts a Nicira action; returns where it starts (for [`finish`]).
pub(crate) fn begin(out: &mut Vec<u8>, sub: u16) -> usize {
    let start = out.len();
    out.put_u16(AT_VENDOR);
    out.put_u16(0);
    out.put_u32(NX_VENDOR_ID);
    out.put_u16(sub);
    start
}

/// Pads an action started at `start` to a multiple of 8 bytes and fills in its length.
pub(crate) fn finish(out: &mut Vec<u8>, start: usize) -> Result<(), EncodeError> {
    out.pad_to_8(start);
    let len = out.len() - start;
    if len > 0xfff8 {
        return Err(EncodeError::TooLong(len));
    }
    out.set_u16(start + 2, len as u16);
    Ok(())
}

/// `NXAST_OUTPUT_TRUNC`.
pub(crate) fn put_output_trunc(out: &mut Vec<u8>, port: OfPort, max_len: u16) -> Result<(), EncodeError> {
    let start = begin(out, subtype::OUTPUT_TRUNC);
    out.put_u16(port.to_ofp10());
    out.put_u32(max_len as u32);
    finish(out, start)
}

/// `NXAST_CONTROLLER`.
pub(crate) fn put_controller(out: &mut Vec<u8>, max_len: u16, id: u16, reason: PacketInReason) -> Result<(), EncodeError> {
    let start = begin(out, subtype::CONTROLLER);
    out.put_u16(max_len);
    out.put_u16(id);
    out.put_u8(reason_to_wire(reason));
    finish(out, start)
}

/// `NXAST_POP_QUEUE`.
pub(crate) fn put_pop_queue(out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = begin(out, subtype::POP_QUEUE);
    finish(out, start)
}

/// The NXM header a subfield of `field` covering bits below `end` is loaded through.
pub(crate) fn nxm_entry(field: Field, end: u32) -> Option<&'static Entry> {
    let mut cands: Vec<&Entry> = oxm::ENTRIES.iter().filter(|e| e.field == field && e.class != CLASS_EXPERIMENTER).collect();
    cands.sort_by_key(|e| e.since);
    cands.into_iter().find(|e| e.width as u32 * 8 >= end)
}

/// `NXAST_REG_LOAD` of `n_bits` bits at `ofs` of `field`.
pub(crate) fn put_reg_load(out: &mut Vec<u8>, field: Field, ofs: u32, n_bits: u32, value: u64) -> Result<(), EncodeError> {
    let e = nxm_entry(field, ofs + n_bits).ok_or_else(|| unrep(format!("load to {} has no NXM header", field.name())))?;
    let start = begin(out, subtype::REG_LOAD);
    out.put_u16(((ofs as u16) << 6) | (n_bits as u16 - 1));
    out.put_u32(e.header(false));
    out.put_u64(value);
    finish(out, start)
}

/// One `NXAST_REG_LOAD` per run of 1-bits of `mask` (at most 64 bits each), as Open vSwitch
/// writes a partial `set_field`, a `set_field` without a native form, and a `load` wider
/// than 64 bits.
pub(crate) fn put_reg_loads(out: &mut Vec<u8>, field: Field, value: u128, mask: u128) -> Result<(), EncodeError> {
    let mut ofs = 0u32;
    while ofs < 128 {
        if mask >> ofs == 0 {
            break;
        }
        if (mask >> ofs) & 1 == 0 {
            ofs += 1;
            continue;
        }
        let mut n = 0u32;
        while ofs + n < 128 && n < 64 && (mask >> (ofs + n)) & 1 == 1 {
            n += 1;
        }
        let seg = ((value >> ofs) & if n == 64 { u64::MAX as u128 } else { (1u128 << n) - 1 }) as u64;
        put_reg_load(out, field, ofs, n, seg)?;
        ofs += n;
    }
    Ok(())
}

/// A `load` action: one `NXAST_REG_LOAD`, or several for more than 64 bits.
pub(crate) fn put_load(out: &mut Vec<u8>, dst: &SubField, value: u128) -> Result<(), EncodeError> {
    if dst.n_bits == 0 || dst.n_bits > 128 {
        return Err(unrep("load of zero bits"));
    }
    if dst.n_bits <= 64 {
        put_reg_load(out, dst.field, dst.ofs, dst.n_bits, value as u64)
    } else {
        put_reg_loads(out, dst.field, value << dst.ofs, dst.mask())
    }
}

fn sf_entry(sf: &SubField) -> Result<&'static Entry, EncodeError> {
    nxm_entry(sf.field, sf.ofs + sf.n_bits).ok_or_else(|| unrep(format!("{} has no NXM header", sf.field.name())))
}

/// `NXAST_REG_MOVE`.
pub(crate) fn put_reg_move(out: &mut Vec<u8>, src: &SubField, dst: &SubField) -> Result<(), EncodeError> {
    let (se, de) = (sf_entry(src)?, sf_entry(dst)?);
    let start = begin(out, subtype::REG_MOVE);
    out.put_u16(src.n_bits as u16);
    out.put_u16(src.ofs as u16);
    out.put_u16(dst.ofs as u16);
    out.put_u32(se.header(false));
    out.put_u32(de.header(false));
    finish(out, start)
}

/// `NXAST_DEC_TTL` (OpenFlow 1.0's `dec_ttl`).
pub(crate) fn put_dec_ttl(out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = begin(out, subtype::DEC_TTL);
    finish(out, start)
}

/// `NXAST_DEC_TTL_CNT_IDS`.
pub(crate) fn put_dec_ttl_cnt_ids(out: &mut Vec<u8>, ids: &[u16]) -> Result<(), EncodeError> {
    let start = begin(out, subtype::DEC_TTL_CNT_IDS);
    out.put_u16(ids.len() as u16);
    out.put_zeros(4);
    for id in ids {
        out.put_u16(*id);
    }
    finish(out, start)
}

/// `NXAST_RESUBMIT_TABLE` (`None`: the packet's own port, the current table).
pub(crate) fn put_resubmit(out: &mut Vec<u8>, in_port: Option<OfPort>, table: Option<u8>) -> Result<(), EncodeError> {
    let start = begin(out, subtype::RESUBMIT_TABLE);
    out.put_u16(in_port.unwrap_or(OfPort::IN_PORT).to_ofp10());
    out.put_u8(table.unwrap_or(0xff));
    finish(out, start)
}

/// `NXAST_NOTE` (at least 6 bytes of note, zero-padded).
pub(crate) fn put_note(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), EncodeError> {
    let start = begin(out, subtype::NOTE);
    out.extend_from_slice(bytes);
    if out.len() - start < 16 {
        out.put_zeros(16 - (out.len() - start));
    }
    finish(out, start)
}

/// `NXAST_GROUP` (OpenFlow 1.0's `group:N`).
pub(crate) fn put_group(out: &mut Vec<u8>, group: u32) -> Result<(), EncodeError> {
    let start = begin(out, subtype::GROUP);
    out.put_zeros(2);
    out.put_u32(group);
    finish(out, start)
}

/// `NXAST_WRITE_METADATA` (OpenFlow 1.0's `write_metadata`).
pub(crate) fn put_write_metadata(out: &mut Vec<u8>, value: u64, mask: u64) -> Result<(), EncodeError> {
    let start = begin(out, subtype::WRITE_METADATA);
    out.put_zeros(6);
    out.put_u64(value);
    out.put_u64(mask);
    finish(out, start)
}

/// A decoded Nicira action, before `set_queue,output,pop_queue` triples are folded into
/// `enqueue` (the model has no queue actions of their own).
pub(crate) enum Raw {
    /// An action of the model.
    Act(OfAction),
    /// `set_queue`.
    SetQueue(u32),
    /// `pop_queue`.
    PopQueue,
}

fn subfield_limit(e: &Entry) -> u32 {
    match (e.conv, e.field) {
        (Conv::Port16, _) => 16,
        (_, Field::InPort) => 32,
        (_, f) => subfield_bits(f),
    }
}

pub(crate) fn sub_of(e: &Entry, ofs: u32, n_bits: u32) -> Result<SubField, DecodeError> {
    if n_bits == 0 || ofs + n_bits > subfield_limit(e) {
        return Err(bac(BadAction::BadSetLen, "subfield beyond its field"));
    }
    Ok(SubField { field: e.field, ofs, n_bits })
}

fn check_out_port(p: OfPort) -> Result<OfPort, DecodeError> {
    match p {
        OfPort::ANY => Err(bac(BadAction::BadOutPort, "output to port ANY")),
        p => Ok(p),
    }
}

/// Decodes the body (after the subtype) of a Nicira action of total length `len`.
pub(crate) fn pull_nx(sub: u16, len: usize, body: &[u8], version: Version) -> Result<Raw, DecodeError> {
    let mut r = Reader::new(body, bac(BadAction::BadLen, "truncated Nicira action"));
    let fixed = |n: usize| if len == n { Ok(()) } else { Err(bac(BadAction::BadLen, "Nicira action has the wrong length")) };
    if let Some(a) = super::extra::pull(sub, len, body).or_else(|| super::hashsel::pull(sub, len, body)).or_else(|| super::conntrack::pull(sub, len, body)).or_else(|| super::mpls::pull_nx(sub, len, body)) {
        return a.map(Raw::Act);
    }
    let v10_only = |what: &'static str| {
        if version == Version::V1_0 {
            Ok(())
        } else {
            Err(bac(BadAction::BadExpType, what))
        }
    };
    Ok(Raw::Act(match sub {
        subtype::RESUBMIT | subtype::RESUBMIT_TABLE => {
            fixed(16)?;
            let port = OfPort::from_ofp10(r.u16()?);
            let table = r.u8()?;
            if sub == subtype::RESUBMIT_TABLE && r.rest().iter().any(|&b| b != 0) {
                return Err(bac(BadAction::BadArgument, "resubmit padding is not zero"));
            }
            let table = if sub == subtype::RESUBMIT { 0xff } else { table };
            OfAction::Resubmit { in_port: (port != OfPort::IN_PORT).then_some(port), table: (table != 0xff).then_some(table) }
        }
        subtype::GROUP => {
            fixed(16)?;
            r.skip(2)?;
            OfAction::Group(r.u32()?)
        }
        subtype::SET_QUEUE => {
            fixed(16)?;
            r.skip(2)?;
            return Ok(Raw::SetQueue(r.u32()?));
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
            v10_only("NXAST_DEC_TTL is an OpenFlow 1.0 action")?;
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
        subtype::WRITE_METADATA => {
            v10_only("NXAST_WRITE_METADATA is an OpenFlow 1.0 action")?;
            fixed(32)?;
            if r.bytes(6)?.iter().any(|&b| b != 0) {
                return Err(DecodeError::new(NXBRC_MUST_BE_ZERO, "write_metadata padding is not zero"));
            }
            OfAction::WriteMetadata { value: r.u64()?, mask: r.u64()? }
        }
        subtype::OUTPUT_TRUNC => {
            fixed(16)?;
            let port = OfPort::from_ofp10(r.u16()?);
            let max_len = r.u32()?;
            if !(14..=u16::MAX as u32).contains(&max_len) {
                return Err(bac(BadAction::BadArgument, "output max_len out of range"));
            }
            OfAction::Output { port: check_out_port(port)?, max_len: max_len as u16 }
        }
        super::learn::LEARN | super::learn::LEARN2 => super::learn::pull_learn(sub, r.rest())?,
        super::learn::CONJUNCTION => {
            fixed(16)?;
            super::learn::pull_conjunction(r.rest())?
        }
        super::learn::FIN_TIMEOUT => {
            fixed(16)?;
            super::learn::pull_fin_timeout(r.rest())?
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

/// Folds `set_queue:Q,output:P,pop_queue` triples into `enqueue`; any other use of the
/// queue actions is `OFPBAC_BAD_TYPE` (the model has no place for it).
pub(crate) fn fold_queues(raws: Vec<Raw>) -> Result<Vec<OfAction>, DecodeError> {
    let mut out = Vec::with_capacity(raws.len());
    let mut it = raws.into_iter();
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
