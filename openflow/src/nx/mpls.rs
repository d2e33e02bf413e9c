//! The MPLS actions on the wire, for OpenFlow 1.0 (Nicira) and 1.3 (standard actions and
//! `set_field`). rvs only carries them (see [`OfAction::PushMpls`]).
//!
//! Nicira layouts after the 10-byte header, all 16 bytes long: `PUSH_MPLS` (23) and
//! `POP_MPLS` (24) ethertype(2) pad(4); `SET_MPLS_TTL` (25) ttl(1) pad(5); `DEC_MPLS_TTL`
//! (26) pad(6); `SET_MPLS_LABEL` (30) pad(2) label(4); `SET_MPLS_TC` (31) tc(1) pad(5).
//! OpenFlow 1.3: `OFPAT_SET_MPLS_TTL` (15), `OFPAT_DEC_MPLS_TTL` (16), `OFPAT_PUSH_MPLS`
//! (19), `OFPAT_POP_MPLS` (20), 8 bytes each; the label and traffic class are `set_field`s of
//! `OXM_OF_MPLS_LABEL` and `OXM_OF_MPLS_TC`, as Open vSwitch writes them. A `push_mpls` of
//! an ethertype other than 0x8847/0x8848, a label above 20 bits or a traffic class above 7
//! is `OFPBAC_BAD_ARGUMENT` (`OFPBAC_BAD_SET_ARGUMENT` in a `set_field`).

use super::actions::{begin, finish};
use crate::codec::{Put, Reader};
use crate::error::{BadAction, DecodeError, EncodeError};
use rvs_flowcache::ofp::OfAction;

const PUSH_MPLS: u16 = 23;
const POP_MPLS: u16 = 24;
const SET_MPLS_TTL: u16 = 25;
const DEC_MPLS_TTL: u16 = 26;
const SET_MPLS_LABEL: u16 = 30;
const SET_MPLS_TC: u16 = 31;

/// OpenFlow 1.3 action types.
pub(crate) const AT_SET_MPLS_TTL: u16 = 15;
pub(crate) const AT_DEC_MPLS_TTL: u16 = 16;
pub(crate) const AT_PUSH_MPLS: u16 = 19;
pub(crate) const AT_POP_MPLS: u16 = 20;
/// OXM headers of `mpls_label` and `mpls_tc`.
pub(crate) const OXM_MPLS_LABEL: u32 = 0x8000_4404;
pub(crate) const OXM_MPLS_TC: u32 = 0x8000_4601;

fn is_mpls(ethertype: u16) -> bool {
    ethertype == 0x8847 || ethertype == 0x8848
}

/// Writes an MPLS action in its Nicira form (OpenFlow 1.0).
pub(crate) fn put_nx(out: &mut Vec<u8>, a: &OfAction) -> Result<(), EncodeError> {
    let (sub, body): (u16, [u8; 6]) = match a {
        OfAction::PushMpls { ethertype } => (PUSH_MPLS, pad_u16(*ethertype)),
        OfAction::PopMpls { ethertype } => (POP_MPLS, pad_u16(*ethertype)),
        OfAction::SetMplsTtl(ttl) => (SET_MPLS_TTL, [*ttl, 0, 0, 0, 0, 0]),
        OfAction::DecMplsTtl => (DEC_MPLS_TTL, [0; 6]),
        OfAction::SetMplsLabel(l) => {
            let b = l.to_be_bytes();
            (SET_MPLS_LABEL, [0, 0, b[0], b[1], b[2], b[3]])
        }
        OfAction::SetMplsTc(tc) => (SET_MPLS_TC, [*tc, 0, 0, 0, 0, 0]),
        _ => return Err(EncodeError::Unrepresentable("not an MPLS action".into())),
    };
    let start = begin(out, sub);
    out.extend_from_slice(&body);
    finish(out, start)
}

fn pad_u16(v: u16) -> [u8; 6] {
    let b = v.to_be_bytes();
    [b[0], b[1], 0, 0, 0, 0]
}

/// Writes an MPLS action as OpenFlow 1.3 does.
pub(crate) fn put_v13(out: &mut Vec<u8>, a: &OfAction) -> Result<(), EncodeError> {
    let short = |out: &mut Vec<u8>, ty: u16, body: [u8; 4]| {
        out.put_u16(ty);
        out.put_u16(8);
        out.extend_from_slice(&body);
    };
    match a {
        OfAction::PushMpls { ethertype } | OfAction::PopMpls { ethertype } => {
            let b = ethertype.to_be_bytes();
            let ty = if matches!(a, OfAction::PushMpls { .. }) { AT_PUSH_MPLS } else { AT_POP_MPLS };
            short(out, ty, [b[0], b[1], 0, 0]);
        }
        OfAction::SetMplsTtl(ttl) => short(out, AT_SET_MPLS_TTL, [*ttl, 0, 0, 0]),
        OfAction::DecMplsTtl => short(out, AT_DEC_MPLS_TTL, [0; 4]),
        OfAction::SetMplsLabel(_) | OfAction::SetMplsTc(_) => {
            // OFPAT_SET_FIELD: type, length 16, OXM header, value, padding.
            out.put_u16(25);
            out.put_u16(16);
            match a {
                OfAction::SetMplsLabel(l) => {
                    out.put_u32(OXM_MPLS_LABEL);
                    out.put_u32(*l);
                    out.put_zeros(4);
                }
                _ => {
                    let OfAction::SetMplsTc(tc) = a else { unreachable!("matched above") };
                    out.put_u32(OXM_MPLS_TC);
                    out.put_u8(*tc);
                    out.put_zeros(7);
                }
            }
        }
        _ => return Err(EncodeError::Unrepresentable("not an MPLS action".into())),
    }
    Ok(())
}

fn bad_arg(detail: &'static str) -> DecodeError {
    DecodeError::new(BadAction::BadArgument, detail)
}

/// Decodes a Nicira MPLS action's body (after the subtype); `None` for other subtypes.
pub(crate) fn pull_nx(sub: u16, len: usize, body: &[u8]) -> Option<Result<OfAction, DecodeError>> {
    if !matches!(sub, PUSH_MPLS | POP_MPLS | SET_MPLS_TTL | DEC_MPLS_TTL | SET_MPLS_LABEL | SET_MPLS_TC) {
        return None;
    }
    let mut r = Reader::new(body, DecodeError::new(BadAction::BadLen, "truncated MPLS action"));
    Some((|| {
        if len != 16 {
            return Err(DecodeError::new(BadAction::BadLen, "MPLS action has the wrong length"));
        }
        Ok(match sub {
            PUSH_MPLS => {
                let ethertype = r.u16()?;
                if !is_mpls(ethertype) {
                    return Err(bad_arg("push_mpls of a non-MPLS ethertype"));
                }
                OfAction::PushMpls { ethertype }
            }
            POP_MPLS => OfAction::PopMpls { ethertype: r.u16()? },
            SET_MPLS_TTL => OfAction::SetMplsTtl(r.u8()?),
            DEC_MPLS_TTL => OfAction::DecMplsTtl,
            SET_MPLS_LABEL => {
                r.skip(2)?;
                let label = r.u32()?;
                if label > 0xfffff {
                    return Err(bad_arg("MPLS label above 20 bits"));
                }
                OfAction::SetMplsLabel(label)
            }
            _ => {
                let tc = r.u8()?;
                if tc > 7 {
                    return Err(bad_arg("MPLS traffic class above 7"));
                }
                OfAction::SetMplsTc(tc)
            }
        })
    })())
}

/// Decodes an OpenFlow 1.3 MPLS action (`ty`, 8 bytes, `body` after the header).
pub(crate) fn pull_v13(ty: u16, len: usize, body: &[u8]) -> Result<OfAction, DecodeError> {
    if len != 8 {
        return Err(DecodeError::new(BadAction::BadLen, "MPLS action has the wrong length"));
    }
    let mut r = Reader::new(body, DecodeError::new(BadAction::BadLen, "truncated MPLS action"));
    Ok(match ty {
        AT_PUSH_MPLS => {
            let ethertype = r.u16()?;
            if !is_mpls(ethertype) {
                return Err(bad_arg("push_mpls of a non-MPLS ethertype"));
            }
            OfAction::PushMpls { ethertype }
        }
        AT_POP_MPLS => OfAction::PopMpls { ethertype: r.u16()? },
        AT_SET_MPLS_TTL => OfAction::SetMplsTtl(r.u8()?),
        _ => OfAction::DecMplsTtl,
    })
}

/// Decodes the value of a `set_field` of `mpls_label` or `mpls_tc` (`rest`: value and
/// padding); `None` for other headers.
pub(crate) fn pull_set_field(header: u32, rest: &[u8]) -> Option<Result<OfAction, DecodeError>> {
    let bad = || DecodeError::new(BadAction::BadSetArgument, "invalid MPLS set_field value");
    match header {
        OXM_MPLS_LABEL => Some(
            rest.get(..4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                .filter(|l| *l <= 0xfffff)
                .map(OfAction::SetMplsLabel)
                .ok_or_else(bad),
        ),
        OXM_MPLS_TC => Some(rest.first().copied().filter(|tc| *tc <= 7).map(OfAction::SetMplsTc).ok_or_else(bad)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_both_encodings() {
        for a in [
            OfAction::PushMpls { ethertype: 0x8848 },
            OfAction::PopMpls { ethertype: 0x0800 },
            OfAction::SetMplsTtl(9),
            OfAction::DecMplsTtl,
            OfAction::SetMplsLabel(0xfffff),
            OfAction::SetMplsTc(7),
        ] {
            let mut nx = Vec::new();
            put_nx(&mut nx, &a).unwrap();
            assert_eq!(nx.len(), 16);
            let sub = u16::from_be_bytes([nx[8], nx[9]]);
            assert_eq!(pull_nx(sub, 16, &nx[10..]).unwrap().unwrap(), a);
            let mut v13 = Vec::new();
            put_v13(&mut v13, &a).unwrap();
            let ty = u16::from_be_bytes([v13[0], v13[1]]);
            let back = if ty == 25 {
                let h = u32::from_be_bytes([v13[4], v13[5], v13[6], v13[7]]);
                pull_set_field(h, &v13[8..]).unwrap().unwrap()
            } else {
                pull_v13(ty, v13.len(), &v13[4..]).unwrap()
            };
            assert_eq!(back, a);
        }
        let mut nx = Vec::new();
        put_nx(&mut nx, &OfAction::PushMpls { ethertype: 0x0800 }).unwrap();
        assert!(pull_nx(PUSH_MPLS, 16, &nx[10..]).unwrap().is_err());
    }
}
