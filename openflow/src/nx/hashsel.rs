//! `NXAST_MULTIPATH` (10), `NXAST_BUNDLE` (12) and `NXAST_BUNDLE_LOAD` (13), shared by the
//! OpenFlow 1.0 and 1.3 codecs.
//!
//! Layouts after the 10-byte Nicira header (Open vSwitch's `nx_action_multipath` and
//! `nx_action_bundle`):
//! * `MULTIPATH`: fields(2) basis(2) pad(2) algorithm(2) max_link(2) arg(4) pad(2)
//!   ofs_nbits(2) dst NXM header(4) — 32 bytes;
//! * `BUNDLE`/`BUNDLE_LOAD`: algorithm(2) fields(2) basis(2) member_type(4, the NXM header of
//!   `in_port`) n_members(2) ofs_nbits(2) dst(4) zero(4) — 32 bytes, then the member ports
//!   (2 bytes each), padded to a multiple of 8. `BUNDLE` has no destination (zero).
//!
//! Decoding refuses what Open vSwitch refuses, with its errors: unknown fields or algorithm,
//! more than 2048 members, a member type other than `in_port`, nonzero reserved bytes, a
//! `bundle_load` destination narrower than 16 bits and a `multipath` destination too narrow
//! for its links are `OFPBAC_BAD_ARGUMENT`; members beyond the action `OFPBAC_BAD_LEN`.

use super::actions::{begin, finish, nxm_entry, sub_of};
use crate::codec::{Put, Reader};
use crate::error::{BadAction, BadMatch, DecodeError, EncodeError};
use crate::oxm::{self, CLASS_EXPERIMENTER};
use rvs_flowcache::field::Field;
use rvs_flowcache::hashsel::{Bundle, BundleAlgorithm, HashFields, Multipath, MultipathAlgorithm};
use rvs_flowcache::ofp::{OfAction, OfPort, SubField};

/// `NXAST_MULTIPATH`.
pub(crate) const MULTIPATH: u16 = 10;
/// `NXAST_BUNDLE`.
pub(crate) const BUNDLE: u16 = 12;
/// `NXAST_BUNDLE_LOAD`.
pub(crate) const BUNDLE_LOAD: u16 = 13;
/// Most members of a bundle (`BD_MAX_MEMBERS`).
pub(crate) const MAX_MEMBERS: usize = 2048;

fn bad_arg(detail: &'static str) -> DecodeError {
    DecodeError::new(BadAction::BadArgument, detail)
}

fn dst_header(dst: &SubField) -> Result<u32, EncodeError> {
    let e = nxm_entry(dst.field, dst.ofs + dst.n_bits)
        .ok_or_else(|| EncodeError::Unrepresentable(format!("{} has no NXM header", dst.field.name())))?;
    Ok(e.header(false))
}

fn ofs_nbits(dst: &SubField) -> u16 {
    ((dst.ofs as u16) << 6) | (dst.n_bits as u16 - 1)
}

fn pull_dst(ofs_nbits: u16, header: u32) -> Result<SubField, DecodeError> {
    let e = oxm::entry_by_header(header, 0)
        .filter(|e| e.class != CLASS_EXPERIMENTER)
        .ok_or(DecodeError::new(BadMatch::BadField, "destination is an unknown field"))?;
    sub_of(e, (ofs_nbits >> 6) as u32, (ofs_nbits & 0x3f) as u32 + 1)
}

/// `multipath(...)`.
pub(crate) fn put_multipath(out: &mut Vec<u8>, mp: &Multipath) -> Result<(), EncodeError> {
    let header = dst_header(&mp.dst)?;
    let start = begin(out, MULTIPATH);
    out.put_u16(mp.fields as u16);
    out.put_u16(mp.basis);
    out.put_zeros(2);
    out.put_u16(mp.algorithm as u16);
    out.put_u16(mp.max_link);
    out.put_u32(mp.arg);
    out.put_zeros(2);
    out.put_u16(ofs_nbits(&mp.dst));
    out.put_u32(header);
    finish(out, start)
}

/// `bundle(...)` and `bundle_load(...)`.
pub(crate) fn put_bundle(out: &mut Vec<u8>, b: &Bundle) -> Result<(), EncodeError> {
    let dst = b.dst.as_ref().map(|d| Ok::<_, EncodeError>((ofs_nbits(d), dst_header(d)?))).transpose()?;
    let start = begin(out, if dst.is_some() { BUNDLE_LOAD } else { BUNDLE });
    out.put_u16(b.algorithm as u16);
    out.put_u16(b.fields as u16);
    out.put_u16(b.basis);
    out.put_u32(nxm_entry(Field::InPort, 16).map_or(2, |e| e.header(false)));
    out.put_u16(b.members.len() as u16);
    let (ofs_nbits, header) = dst.unwrap_or((0, 0));
    out.put_u16(ofs_nbits);
    out.put_u32(header);
    out.put_zeros(4);
    for p in &b.members {
        out.put_u16(p.to_ofp10());
    }
    finish(out, start)
}

/// Decodes the body (after the subtype) of one of this module's actions, of total length
/// `len`; `None` if `sub` is not one of them.
pub(crate) fn pull(sub: u16, len: usize, body: &[u8]) -> Option<Result<OfAction, DecodeError>> {
    match sub {
        MULTIPATH => Some(pull_multipath(len, body)),
        BUNDLE | BUNDLE_LOAD => Some(pull_bundle(sub == BUNDLE_LOAD, body)),
        _ => None,
    }
}

fn pull_multipath(len: usize, body: &[u8]) -> Result<OfAction, DecodeError> {
    if len != 32 {
        return Err(DecodeError::new(BadAction::BadLen, "multipath has the wrong length"));
    }
    let mut r = Reader::new(body, DecodeError::new(BadAction::BadLen, "truncated multipath"));
    let fields = r.u16()?;
    let basis = r.u16()?;
    r.skip(2)?;
    let algorithm = r.u16()?;
    let max_link = r.u16()?;
    let arg = r.u32()?;
    r.skip(2)?;
    let ofs_nbits = r.u16()?;
    let header = r.u32()?;
    let fields = HashFields::from_wire(fields).ok_or(bad_arg("multipath: unsupported fields"))?;
    let algorithm = MultipathAlgorithm::from_wire(algorithm).ok_or(bad_arg("multipath: unsupported algorithm"))?;
    let dst = pull_dst(ofs_nbits, header)?;
    if dst.n_bits < 16 && u32::from(max_link) + 1 > 1 << dst.n_bits {
        return Err(bad_arg("multipath: destination too narrow for the links"));
    }
    Ok(OfAction::Multipath(Box::new(Multipath { fields, basis, algorithm, max_link, arg, dst })))
}

fn pull_bundle(load: bool, body: &[u8]) -> Result<OfAction, DecodeError> {
    let mut r = Reader::new(body, DecodeError::new(BadAction::BadLen, "truncated bundle"));
    let algorithm = r.u16()?;
    let fields = r.u16()?;
    let basis = r.u16()?;
    let member_type = r.u32()?;
    let n_members = r.u16()? as usize;
    let ofs_nbits = r.u16()?;
    let header = r.u32()?;
    let zero = r.bytes(4)?;
    let fields = HashFields::from_wire(fields).ok_or(bad_arg("bundle: unsupported fields"))?;
    let algorithm = BundleAlgorithm::from_wire(algorithm).ok_or(bad_arg("bundle: unsupported algorithm"))?;
    if n_members > MAX_MEMBERS {
        return Err(bad_arg("bundle: too many members"));
    }
    if nxm_entry(Field::InPort, 16).map_or(2, |e| e.header(false)) != member_type {
        return Err(bad_arg("bundle: members are not OpenFlow ports"));
    }
    if zero.iter().any(|&b| b != 0) {
        return Err(bad_arg("bundle: reserved bytes are not zero"));
    }
    let dst = if load {
        let d = pull_dst(ofs_nbits, header)?;
        if d.n_bits < 16 {
            return Err(bad_arg("bundle_load needs a destination of at least 16 bits"));
        }
        Some(d)
    } else {
        if ofs_nbits != 0 || header != 0 {
            return Err(bad_arg("bundle with a destination"));
        }
        None
    };
    if r.remaining() < 2 * n_members {
        return Err(DecodeError::new(BadAction::BadLen, "bundle members beyond the action"));
    }
    let members = (0..n_members).map(|_| r.u16().map(OfPort::from_ofp10)).collect::<Result<Vec<_>, _>>()?;
    Ok(OfAction::Bundle(Box::new(Bundle { fields, basis, algorithm, members, dst })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(a: OfAction, len: usize) {
        let mut out = Vec::new();
        match &a {
            OfAction::Multipath(mp) => put_multipath(&mut out, mp).unwrap(),
            OfAction::Bundle(b) => put_bundle(&mut out, b).unwrap(),
            _ => unreachable!("only this module's actions"),
        }
        assert_eq!(out.len(), len, "{a:?}");
        let sub = u16::from_be_bytes([out[8], out[9]]);
        assert_eq!(pull(sub, out.len(), &out[10..]).unwrap().unwrap(), a);
    }

    #[test]
    fn round_trips() {
        let dst = SubField { field: Field::Reg0, ofs: 0, n_bits: 6 };
        let mp = Multipath { fields: HashFields::SymmetricL4, basis: 1024, algorithm: MultipathAlgorithm::HashThreshold, max_link: 1, arg: 0, dst };
        round(OfAction::Multipath(Box::new(mp.clone())), 32);
        let b = Bundle { fields: HashFields::EthSrc, basis: 0, algorithm: BundleAlgorithm::Hrw, members: vec![OfPort(4), OfPort(8)], dst: None };
        round(OfAction::Bundle(Box::new(b.clone())), 40);
        let load = Bundle { dst: Some(SubField::whole(Field::Reg0)), members: vec![OfPort(1); 5], ..b.clone() };
        round(OfAction::Bundle(Box::new(load)), 48);
        // bundle_load needs 16 bits to hold a port number (Open vSwitch checks only here).
        let narrow = Bundle { dst: Some(SubField { field: Field::Reg2, ofs: 0, n_bits: 8 }), ..b };
        let mut out = Vec::new();
        put_bundle(&mut out, &narrow).unwrap();
        let e = pull(BUNDLE_LOAD, out.len(), &out[10..]).unwrap().unwrap_err();
        assert_eq!(e.error, crate::error::OfError::BadAction(BadAction::BadArgument));
        // A 2-bit destination cannot number 7 links.
        let mut out = Vec::new();
        put_multipath(&mut out, &Multipath { max_link: 6, dst: SubField { n_bits: 2, ..dst }, ..mp }).unwrap();
        assert!(pull(MULTIPATH, out.len(), &out[10..]).unwrap().is_err());
    }
}
