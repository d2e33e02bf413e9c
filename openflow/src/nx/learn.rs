//! `NXAST_LEARN`, `NXAST_LEARN2`, `NXAST_CONJUNCTION` and `NXAST_FIN_TIMEOUT`: the same
//! Nicira encodings in OpenFlow 1.0 and 1.3.
//!
//! # `NXAST_LEARN` (subtype 16, Open vSwitch's `nx_action_learn`)
//! After the 10-byte Nicira action header: `idle_timeout(2) hard_timeout(2) priority(2)
//! cookie(8) flags(2) table_id(1) pad(1) fin_idle_timeout(2) fin_hard_timeout(2)` (32 bytes in
//! all), then the specs, then zeros up to a multiple of 8. `NXAST_LEARN2` (subtype 45) adds
//! `limit(4) result_dst_ofs(2) pad(2)` and, with `NX_LEARN_F_WRITE_RESULT`, the NXM header of
//! `result_dst` before the specs; Open vSwitch (and so rvs) writes it only when `limit` or
//! `result_dst` is used.
//!
//! A spec starts with a 16-bit header: `n_bits` in bits 0..10, the source type in bit 13
//! (0 field, 1 immediate), the destination type in bits 11..13 (0 match, 1 load, 2 output).
//! A field source is an NXM header and a 16-bit offset; an immediate is `n_bits` rounded up to
//! 16-bit units, big-endian. A match or load destination is an NXM header and an offset. A
//! zero header ends the list (the padding).

use super::actions::{begin, finish, nxm_entry};
use crate::codec::{Put, Reader};
use crate::error::{BadAction, BadMatch, DecodeError, EncodeError};
use crate::oxm::{self, Conv, CLASS_EXPERIMENTER};
use rvs_flowcache::field::Field;
use rvs_flowcache::learn::{Learn, LearnDst, LearnSpec, LearnSrc, DELETE_LEARNED, SEND_FLOW_REM, WRITE_RESULT};
use rvs_flowcache::ofp::{OfAction, SubField};

/// `NXAST_LEARN`.
pub(crate) const LEARN: u16 = 16;
/// `NXAST_FIN_TIMEOUT`.
pub(crate) const FIN_TIMEOUT: u16 = 19;
/// `NXAST_CONJUNCTION`.
pub(crate) const CONJUNCTION: u16 = 34;
/// `NXAST_LEARN2`.
pub(crate) const LEARN2: u16 = 45;

const SRC_IMMEDIATE: u16 = 1 << 13;
const DST_LOAD: u16 = 1 << 11;
const DST_OUTPUT: u16 = 2 << 11;
const DST_MASK: u16 = 3 << 11;
const N_BITS_MASK: u16 = 0x3ff;

fn bac(code: BadAction, detail: &'static str) -> DecodeError {
    DecodeError::new(code, detail)
}

fn header_of(sf: &SubField) -> Result<u32, EncodeError> {
    nxm_entry(sf.field, sf.ofs + sf.n_bits)
        .map(|e| e.header(false))
        .ok_or_else(|| EncodeError::Unrepresentable(format!("learn of {} (no NXM header)", sf.field.name())))
}

fn put_sf(out: &mut Vec<u8>, sf: &SubField) -> Result<(), EncodeError> {
    out.put_u32(header_of(sf)?);
    out.put_u16(sf.ofs as u16);
    Ok(())
}

/// Encodes `learn` (`NXAST_LEARN`, or `NXAST_LEARN2` with `limit` or `result_dst`).
pub(crate) fn put_learn(out: &mut Vec<u8>, l: &Learn) -> Result<(), EncodeError> {
    let v2 = l.limit != 0 || l.flags & WRITE_RESULT != 0;
    let start = begin(out, if v2 { LEARN2 } else { LEARN });
    out.put_u16(l.idle_timeout);
    out.put_u16(l.hard_timeout);
    out.put_u16(l.priority);
    out.put_u64(l.cookie);
    out.put_u16(l.flags);
    out.put_u8(l.table_id);
    out.put_u8(0);
    out.put_u16(l.fin_idle_timeout);
    out.put_u16(l.fin_hard_timeout);
    if v2 {
        out.put_u32(l.limit);
        out.put_u16(l.result_dst.map_or(0, |sf| sf.ofs as u16));
        out.put_zeros(2);
        if let (true, Some(sf)) = (l.flags & WRITE_RESULT != 0, &l.result_dst) {
            out.put_u32(header_of(sf)?);
        }
    }
    for spec in &l.specs {
        if spec.n_bits == 0 || spec.n_bits > N_BITS_MASK as u32 {
            return Err(EncodeError::Unrepresentable("learn spec width".into()));
        }
        let (src_bit, dst_bits) = (
            match spec.src {
                LearnSrc::Field(_) => 0,
                LearnSrc::Immediate(_) => SRC_IMMEDIATE,
            },
            match spec.dst {
                LearnDst::Match(_) => 0,
                LearnDst::Load(_) => DST_LOAD,
                LearnDst::Output => DST_OUTPUT,
            },
        );
        out.put_u16(spec.n_bits as u16 | src_bit | dst_bits);
        match &spec.src {
            LearnSrc::Field(sf) => put_sf(out, sf)?,
            LearnSrc::Immediate(v) => {
                let n = spec.n_bits.div_ceil(16) as usize * 2;
                let bytes = v.to_be_bytes();
                if n > 16 {
                    out.put_zeros(n - 16);
                    out.extend_from_slice(&bytes);
                } else {
                    out.extend_from_slice(&bytes[16 - n..]);
                }
            }
        }
        match &spec.dst {
            LearnDst::Match(sf) | LearnDst::Load(sf) => put_sf(out, sf)?,
            LearnDst::Output => {}
        }
    }
    finish(out, start)
}

fn pull_sf(r: &mut Reader<'_>, n_bits: u32) -> Result<SubField, DecodeError> {
    let h = r.u32()?;
    let ofs = r.u16()? as u32;
    let e = oxm::entry_by_header(h, 0)
        .filter(|e| e.class != CLASS_EXPERIMENTER)
        .ok_or(DecodeError::new(BadMatch::BadField, "learn of an unknown field"))?;
    let limit = match (e.conv, e.field) {
        (Conv::Port16, _) => 16,
        (_, Field::InPort) => 32,
        (_, f) => crate::check::subfield_bits(f),
    };
    if ofs + n_bits > limit {
        return Err(bac(BadAction::BadArgument, "learn subfield beyond its field"));
    }
    Ok(SubField { field: e.field, ofs, n_bits })
}

/// Decodes the body (after the subtype) of `NXAST_LEARN` or `NXAST_LEARN2`.
pub(crate) fn pull_learn(sub: u16, body: &[u8]) -> Result<OfAction, DecodeError> {
    let mut r = Reader::new(body, bac(BadAction::BadLen, "truncated learn action"));
    let mut l = Learn {
        idle_timeout: r.u16()?,
        hard_timeout: r.u16()?,
        priority: r.u16()?,
        cookie: r.u64()?,
        flags: r.u16()?,
        table_id: r.u8()?,
        ..Learn::default()
    };
    let pad = r.u8()?;
    l.fin_idle_timeout = r.u16()?;
    l.fin_hard_timeout = r.u16()?;
    let allowed = SEND_FLOW_REM | DELETE_LEARNED | if sub == LEARN2 { WRITE_RESULT } else { 0 };
    if l.flags & !allowed != 0 || l.table_id == 0xff || pad != 0 {
        return Err(bac(BadAction::BadArgument, "bad learn flags, table or padding"));
    }
    if sub == LEARN2 {
        l.limit = r.u32()?;
        let ofs = r.u16()? as u32;
        if r.u16()? != 0 {
            return Err(bac(BadAction::BadArgument, "learn2 padding is not zero"));
        }
        if l.flags & WRITE_RESULT != 0 {
            let mut sf = pull_sf_at(&mut r, ofs)?;
            sf.n_bits = 1;
            if !sf.field.desc().writable {
                return Err(bac(BadAction::BadArgument, "learn result_dst is read-only"));
            }
            l.result_dst = Some(sf);
        }
    }
    while r.remaining() >= 2 {
        let h = r.u16()?;
        if h == 0 {
            break;
        }
        let n_bits = (h & N_BITS_MASK) as u32;
        if h & 0xc000 != 0 || h & DST_MASK == DST_MASK || n_bits == 0 {
            return Err(bac(BadAction::BadArgument, "bad learn spec header"));
        }
        let src = if h & SRC_IMMEDIATE != 0 {
            let n = n_bits.div_ceil(16) as usize * 2;
            let b = r.bytes(n)?;
            let skip = n.saturating_sub(16);
            if b[..skip].iter().any(|&x| x != 0) {
                return Err(bac(BadAction::BadArgument, "learn immediate wider than 128 bits"));
            }
            LearnSrc::Immediate(b[skip..].iter().fold(0u128, |a, &x| (a << 8) | x as u128))
        } else {
            LearnSrc::Field(pull_sf(&mut r, n_bits)?)
        };
        let dst = match h & DST_MASK {
            0 => LearnDst::Match(pull_sf(&mut r, n_bits)?),
            DST_LOAD => {
                let sf = pull_sf(&mut r, n_bits)?;
                if !sf.field.desc().writable {
                    return Err(bac(BadAction::BadArgument, "learn load to a read-only field"));
                }
                LearnDst::Load(sf)
            }
            _ => {
                if matches!(src, LearnSrc::Immediate(_)) {
                    return Err(bac(BadAction::BadArgument, "learn output of an immediate"));
                }
                LearnDst::Output
            }
        };
        l.specs.push(LearnSpec { src, dst, n_bits });
    }
    if r.rest().iter().any(|&b| b != 0) {
        return Err(bac(BadAction::BadArgument, "learn padding is not zero"));
    }
    Ok(OfAction::Learn(Box::new(l)))
}

fn pull_sf_at(r: &mut Reader<'_>, ofs: u32) -> Result<SubField, DecodeError> {
    let h = r.u32()?;
    let e = oxm::entry_by_header(h, 0)
        .filter(|e| e.class != CLASS_EXPERIMENTER)
        .ok_or(DecodeError::new(BadMatch::BadField, "learn result_dst of an unknown field"))?;
    Ok(SubField { field: e.field, ofs, n_bits: 1 })
}

/// Encodes `conjunction(id,k/n)`.
pub(crate) fn put_conjunction(out: &mut Vec<u8>, id: u32, clause: u8, n_clauses: u8) -> Result<(), EncodeError> {
    let start = begin(out, CONJUNCTION);
    out.put_u8(clause);
    out.put_u8(n_clauses);
    out.put_u32(id);
    finish(out, start)
}

/// Decodes the body of `NXAST_CONJUNCTION`.
pub(crate) fn pull_conjunction(body: &[u8]) -> Result<OfAction, DecodeError> {
    let mut r = Reader::new(body, bac(BadAction::BadLen, "truncated conjunction action"));
    let clause = r.u8()?;
    let n_clauses = r.u8()?;
    let id = r.u32()?;
    if !(2..=64).contains(&n_clauses) || clause >= n_clauses {
        return Err(bac(BadAction::BadArgument, "bad conjunction clause"));
    }
    Ok(OfAction::Conjunction { id, clause, n_clauses })
}

/// Encodes `fin_timeout(...)`.
pub(crate) fn put_fin_timeout(out: &mut Vec<u8>, idle: u16, hard: u16) -> Result<(), EncodeError> {
    let start = begin(out, FIN_TIMEOUT);
    out.put_u16(idle);
    out.put_u16(hard);
    finish(out, start)
}

/// Decodes the body of `NXAST_FIN_TIMEOUT`.
pub(crate) fn pull_fin_timeout(body: &[u8]) -> Result<OfAction, DecodeError> {
    let mut r = Reader::new(body, bac(BadAction::BadLen, "truncated fin_timeout action"));
    Ok(OfAction::FinTimeout { idle: r.u16()?, hard: r.u16()? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_flowcache::field::Field;

    fn neutron() -> Learn {
        Learn {
            table_id: 20,
            priority: 1,
            hard_timeout: 300,
            cookie: 0x1234,
            specs: vec![
                LearnSpec {
                    src: LearnSrc::Field(SubField { field: Field::VlanTci, ofs: 0, n_bits: 12 }),
                    dst: LearnDst::Match(SubField { field: Field::VlanTci, ofs: 0, n_bits: 12 }),
                    n_bits: 12,
                },
                LearnSpec { src: LearnSrc::Immediate(0), dst: LearnDst::Load(SubField::whole(Field::VlanTci)), n_bits: 16 },
                LearnSpec { src: LearnSrc::Field(SubField { field: Field::InPort, ofs: 0, n_bits: 32 }), dst: LearnDst::Output, n_bits: 32 },
            ],
            ..Learn::default()
        }
    }

    #[test]
    fn learn_round_trips_and_has_ovs_layout() {
        let mut out = Vec::new();
        put_learn(&mut out, &neutron()).unwrap();
        assert_eq!(out.len() % 8, 0);
        assert_eq!(&out[..4], &[0xff, 0xff, 0, out.len() as u8]);
        assert_eq!(u16::from_be_bytes([out[8], out[9]]), LEARN);
        // First spec: 12 bits, field -> match, NXM_OF_VLAN_TCI (0x0000_0802) at offset 0.
        assert_eq!(&out[32..40], &[0x00, 0x0c, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00]);
        assert_eq!(pull_learn(LEARN, &out[10..]).unwrap(), OfAction::Learn(Box::new(neutron())));
        let mut v2 = neutron();
        v2.limit = 10;
        v2.flags = WRITE_RESULT;
        v2.result_dst = Some(SubField { field: Field::Reg0, ofs: 1, n_bits: 1 });
        let mut out = Vec::new();
        put_learn(&mut out, &v2).unwrap();
        assert_eq!(u16::from_be_bytes([out[8], out[9]]), LEARN2);
        assert_eq!(pull_learn(LEARN2, &out[10..]).unwrap(), OfAction::Learn(Box::new(v2)));
    }

    #[test]
    fn bad_learn_is_refused() {
        let mut out = Vec::new();
        put_learn(&mut out, &neutron()).unwrap();
        let mut bad = out.clone();
        bad[24] = 0x80; // flags: unknown bit
        assert!(pull_learn(LEARN, &bad[10..]).is_err());
        let mut bad = out.clone();
        let n = bad.len();
        bad[n - 1] = 1; // nonzero padding
        assert!(pull_learn(LEARN, &bad[10..]).is_err());
    }

    #[test]
    fn conjunction_and_fin_timeout_round_trip() {
        let mut out = Vec::new();
        put_conjunction(&mut out, 9, 1, 3).unwrap();
        assert_eq!(out.len(), 16);
        assert_eq!(pull_conjunction(&out[10..]).unwrap(), OfAction::Conjunction { id: 9, clause: 1, n_clauses: 3 });
        let mut out = Vec::new();
        put_fin_timeout(&mut out, 5, 7).unwrap();
        assert_eq!(out.len(), 16);
        assert_eq!(pull_fin_timeout(&out[10..]).unwrap(), OfAction::FinTimeout { idle: 5, hard: 7 });
    }
}
