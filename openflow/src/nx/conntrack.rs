//! `NXAST_CT` (35), `NXAST_NAT` (36) and `NXAST_CT_CLEAR` (43), shared by the OpenFlow 1.0
//! and 1.3 codecs. rvs only carries these (see [`rvs_flowcache::conntrack`]).
//!
//! Layouts after the 10-byte Nicira header (Open vSwitch's `nx_action_conntrack`,
//! `nx_action_nat`):
//! * `CT`: flags(2) zone_src NXM header(4, 0 for a constant zone) zone_ofs_nbits or the
//!   constant zone(2) recirc_table(1, 255 = none) pad(3) alg(2) — 24 bytes, then the nested
//!   actions in the message version's encoding (framed like `clone`);
//! * `NAT`: pad(2) flags(2) range_present(2) — 16 bytes, then the range parts present, in
//!   order IPv4 min (4), IPv4 max (4), IPv6 min (16), IPv6 max (16), port min (2), port max
//!   (2), padded to a multiple of 8;
//! * `CT_CLEAR`: pad(6) — 16 bytes.
//!
//! Decoding follows Open vSwitch: a `ct` without `commit` may hold only a `nat` without
//! arguments (`OFPBAC_BAD_ARGUMENT`), a zone field must be 16 bits (`OFPBAC_BAD_SET_LEN`),
//! unknown NAT flags or range bits are `OFPBAC_BAD_ARGUMENT`.

use super::actions::{begin, finish, nxm_entry, sub_of};
use crate::codec::{Put, Reader};
use crate::error::{BadAction, BadMatch, DecodeError, EncodeError};
use crate::oxm::{self, CLASS_EXPERIMENTER};
use rvs_flowcache::conntrack::{Ct, CtZone, Nat, NatAddrs, CT_COMMIT, CT_FORCE, NAT_DST, NAT_SRC};
use rvs_flowcache::ofp::OfAction;

/// `NXAST_CT`.
pub(crate) const CT: u16 = 35;
/// `NXAST_NAT`.
pub(crate) const NAT: u16 = 36;
/// `NXAST_CT_CLEAR`.
pub(crate) const CT_CLEAR: u16 = 43;

const RANGE_IPV4_MIN: u16 = 1;
const RANGE_IPV4_MAX: u16 = 2;
const RANGE_IPV6_MIN: u16 = 4;
const RANGE_IPV6_MAX: u16 = 8;
const RANGE_PROTO_MIN: u16 = 16;
const RANGE_PROTO_MAX: u16 = 32;

fn bad_arg(detail: &'static str) -> DecodeError {
    DecodeError::new(BadAction::BadArgument, detail)
}

/// Writes `ct(...)`; `nested` writes the nested actions.
pub(crate) fn put_ct(
    out: &mut Vec<u8>,
    ct: &Ct,
    nested: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let start = begin(out, CT);
    out.put_u16(ct.flags);
    match &ct.zone {
        CtZone::Imm(z) => {
            out.put_u32(0);
            out.put_u16(*z);
        }
        CtZone::Field(sf) => {
            let e = nxm_entry(sf.field, sf.ofs + sf.n_bits)
                .ok_or_else(|| EncodeError::Unrepresentable(format!("{} has no NXM header", sf.field.name())))?;
            out.put_u32(e.header(false));
            out.put_u16(((sf.ofs as u16) << 6) | (sf.n_bits as u16 - 1));
        }
    }
    out.put_u8(ct.table.unwrap_or(255));
    out.put_zeros(3);
    out.put_u16(ct.alg);
    nested(out)?;
    finish(out, start)
}

/// Decodes the body of `NXAST_CT` after its subtype with the version's action decoder.
pub(crate) fn pull_ct(rest: &[u8], pull: impl FnOnce(&[u8]) -> Result<Vec<OfAction>, DecodeError>) -> Result<OfAction, DecodeError> {
    let mut r = Reader::new(rest, DecodeError::new(BadAction::BadLen, "truncated ct action"));
    let flags = r.u16()?;
    let zone_src = r.u32()?;
    let zone_word = r.u16()?;
    let table = r.u8()?;
    r.skip(3)?;
    let alg = r.u16()?;
    if flags & !(CT_COMMIT | CT_FORCE) != 0 {
        return Err(bad_arg("ct: unknown flags"));
    }
    let zone = if zone_src == 0 {
        CtZone::Imm(zone_word)
    } else {
        let e = oxm::entry_by_header(zone_src, 0)
            .filter(|e| e.class != CLASS_EXPERIMENTER)
            .ok_or(DecodeError::new(BadMatch::BadField, "ct zone from an unknown field"))?;
        let sf = sub_of(e, (zone_word >> 6) as u32, (zone_word & 0x3f) as u32 + 1)?;
        if sf.n_bits != 16 {
            return Err(DecodeError::new(BadAction::BadSetLen, "ct zone must be 16 bits"));
        }
        CtZone::Field(sf)
    };
    let actions = pull(r.rest())?;
    let plain_nat = |a: &OfAction| matches!(a, OfAction::Nat(n) if n.flags == 0 && n.addrs == NatAddrs::None);
    if flags & CT_COMMIT == 0 && !actions.iter().all(plain_nat) {
        return Err(bad_arg("ct needs commit for actions other than a plain nat"));
    }
    Ok(OfAction::Ct(Box::new(Ct { flags, zone, table: (table != 255).then_some(table), alg, actions })))
}

/// `nat(...)`.
pub(crate) fn put_nat(out: &mut Vec<u8>, nat: &Nat) -> Result<(), EncodeError> {
    let start = begin(out, NAT);
    out.put_zeros(2);
    out.put_u16(nat.flags);
    let present_at = out.len();
    out.put_u16(0);
    let mut present = 0;
    match nat.addrs {
        NatAddrs::V4(min, max) => {
            for (v, bit) in [(min, RANGE_IPV4_MIN), (max, RANGE_IPV4_MAX)] {
                if v != 0 {
                    out.put_u32(v);
                    present |= bit;
                }
            }
        }
        NatAddrs::V6(min, max) => {
            for (v, bit) in [(min, RANGE_IPV6_MIN), (max, RANGE_IPV6_MAX)] {
                if v != 0 {
                    out.extend_from_slice(&v.to_be_bytes());
                    present |= bit;
                }
            }
        }
        NatAddrs::None => {}
    }
    if nat.addrs != NatAddrs::None {
        for (v, bit) in [(nat.ports.0, RANGE_PROTO_MIN), (nat.ports.1, RANGE_PROTO_MAX)] {
            if v != 0 {
                out.put_u16(v);
                present |= bit;
            }
        }
    }
    out.set_u16(present_at, present);
    finish(out, start)
}

/// Decodes `NAT` and `CT_CLEAR`; `None` for other subtypes.
pub(crate) fn pull(sub: u16, len: usize, body: &[u8]) -> Option<Result<OfAction, DecodeError>> {
    match sub {
        CT_CLEAR => Some(if len == 16 { Ok(OfAction::CtClear) } else { Err(DecodeError::new(BadAction::BadLen, "ct_clear has the wrong length")) }),
        NAT => Some(pull_nat(body)),
        _ => None,
    }
}

fn pull_nat(body: &[u8]) -> Result<OfAction, DecodeError> {
    let mut r = Reader::new(body, DecodeError::new(BadAction::BadLen, "truncated nat action"));
    r.skip(2)?;
    let flags = r.u16()?;
    let present = r.u16()?;
    if flags & !0x1f != 0 || present & !0x3f != 0 {
        return Err(bad_arg("nat: unknown flags or range"));
    }
    if flags & NAT_SRC != 0 && flags & NAT_DST != 0 {
        return Err(bad_arg("nat: both src and dst"));
    }
    let v4 = present & (RANGE_IPV4_MIN | RANGE_IPV4_MAX) != 0;
    let v6 = present & (RANGE_IPV6_MIN | RANGE_IPV6_MAX) != 0;
    if v4 && v6 {
        return Err(bad_arg("nat: both IPv4 and IPv6 addresses"));
    }
    let mut take = |bit: u16, n: usize| -> Result<u128, DecodeError> {
        if present & bit == 0 {
            return Ok(0);
        }
        Ok(r.bytes(n)?.iter().fold(0u128, |a, &b| (a << 8) | u128::from(b)))
    };
    let (a, b) = (take(RANGE_IPV4_MIN, 4)?, take(RANGE_IPV4_MAX, 4)?);
    let (c, d) = (take(RANGE_IPV6_MIN, 16)?, take(RANGE_IPV6_MAX, 16)?);
    let (p, q) = (take(RANGE_PROTO_MIN, 2)?, take(RANGE_PROTO_MAX, 2)?);
    let addrs = if v4 {
        NatAddrs::V4(a as u32, b as u32)
    } else if v6 {
        NatAddrs::V6(c, d)
    } else {
        NatAddrs::None
    };
    Ok(OfAction::Nat(Box::new(Nat { flags, addrs, ports: (p as u16, q as u16) })))
}
