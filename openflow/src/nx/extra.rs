//! `NXAST_SET_TUNNEL`/`NXAST_SET_TUNNEL64`, `NXAST_OUTPUT_REG` and `NXAST_SAMPLE`/`2`/`3`:
//! Nicira encodings shared by OpenFlow 1.0 and 1.3 (OpenFlow 1.3 writes `set_tunnel` as a
//! `set_field` of `tun_id` instead, as Open vSwitch does).
//!
//! Layouts after the 10-byte Nicira header (Open vSwitch's `nx_action_*`):
//! * `SET_TUNNEL` (2): pad(2) tun_id(4) — 16 bytes; `SET_TUNNEL64` (9): pad(6) tun_id(8) — 24;
//! * `OUTPUT_REG` (15): ofs_nbits(2) src NXM header(4) max_len(2) zero(6) — 24;
//! * `SAMPLE` (29): probability(2) collector_set_id(4) obs_domain_id(4) obs_point_id(4) — 24;
//!   `SAMPLE2` (38) adds sampling_port(2) and padding, `SAMPLE3` (41) also a direction byte —
//!   32. The shortest form that holds the action is written.

use super::actions::{begin, finish, nxm_entry};
use crate::codec::{Put, Reader};
use crate::error::{BadAction, BadMatch, DecodeError, EncodeError};
use crate::oxm::{self, Conv, CLASS_EXPERIMENTER};
use rvs_flowcache::field::Field;
use rvs_flowcache::ofp::{OfAction, OfPort, SubField};

/// `NXAST_SET_TUNNEL`.
pub(crate) const SET_TUNNEL: u16 = 2;
/// `NXAST_SET_TUNNEL64`.
pub(crate) const SET_TUNNEL64: u16 = 9;
/// `NXAST_OUTPUT_REG`.
pub(crate) const OUTPUT_REG: u16 = 15;
/// `NXAST_SAMPLE`.
pub(crate) const SAMPLE: u16 = 29;
/// `NXAST_SAMPLE2`.
pub(crate) const SAMPLE2: u16 = 38;
/// `NXAST_SAMPLE3`.
pub(crate) const SAMPLE3: u16 = 41;

fn bac(code: BadAction, detail: &'static str) -> DecodeError {
    DecodeError::new(code, detail)
}

/// `set_tunnel` / `set_tunnel64` in Nicira form (OpenFlow 1.0).
pub(crate) fn put_set_tunnel(out: &mut Vec<u8>, id: u64, wide: bool) -> Result<(), EncodeError> {
    if wide || id > u32::MAX as u64 {
        let start = begin(out, SET_TUNNEL64);
        out.put_zeros(6);
        out.put_u64(id);
        finish(out, start)
    } else {
        let start = begin(out, SET_TUNNEL);
        out.put_zeros(2);
        out.put_u32(id as u32);
        finish(out, start)
    }
}

/// `output:FIELD[bits]`.
pub(crate) fn put_output_reg(out: &mut Vec<u8>, src: &SubField, max_len: u16) -> Result<(), EncodeError> {
    let e = nxm_entry(src.field, src.ofs + src.n_bits)
        .ok_or_else(|| EncodeError::Unrepresentable(format!("output to {} (no NXM header)", src.field.name())))?;
    let start = begin(out, OUTPUT_REG);
    out.put_u16(((src.ofs as u16) << 6) | (src.n_bits as u16 - 1));
    out.put_u32(e.header(false));
    out.put_u16(max_len);
    out.put_zeros(6);
    finish(out, start)
}

/// `sample(...)`.
pub(crate) fn put_sample(out: &mut Vec<u8>, a: &OfAction) -> Result<(), EncodeError> {
    let OfAction::Sample { probability, collector_set_id, obs_domain_id, obs_point_id, sampling_port, direction } = a else {
        return Err(EncodeError::Unrepresentable("not a sample action".into()));
    };
    let sub = if *direction != 0 {
        SAMPLE3
    } else if *sampling_port != OfPort::ANY {
        SAMPLE2
    } else {
        SAMPLE
    };
    let start = begin(out, sub);
    out.put_u16(*probability);
    out.put_u32(*collector_set_id);
    out.put_u32(*obs_domain_id);
    out.put_u32(*obs_point_id);
    if sub != SAMPLE {
        out.put_u16(sampling_port.to_ofp10());
        out.put_u8(if sub == SAMPLE3 { *direction } else { 0 });
    }
    finish(out, start)
}

/// Decodes the body (after the subtype) of one of this module's actions, of total length
/// `len`; `None` if `sub` is not one of them.
pub(crate) fn pull(sub: u16, len: usize, body: &[u8]) -> Option<Result<OfAction, DecodeError>> {
    let fixed = |n: usize| if len == n { Ok(()) } else { Err(bac(BadAction::BadLen, "Nicira action has the wrong length")) };
    let mut r = Reader::new(body, bac(BadAction::BadLen, "truncated Nicira action"));
    let a = (|| -> Result<OfAction, DecodeError> {
        match sub {
            SET_TUNNEL => {
                fixed(16)?;
                r.skip(2)?;
                Ok(OfAction::SetTunnel { id: r.u32()? as u64, wide: false })
            }
            SET_TUNNEL64 => {
                fixed(24)?;
                r.skip(6)?;
                Ok(OfAction::SetTunnel { id: r.u64()?, wide: true })
            }
            OUTPUT_REG => {
                fixed(24)?;
                let ofs_nbits = r.u16()?;
                let h = r.u32()?;
                let max_len = r.u16()?;
                if r.rest().iter().any(|&b| b != 0) {
                    return Err(DecodeError::new(super::NXBRC_MUST_BE_ZERO, "output_reg padding is not zero"));
                }
                let e = oxm::entry_by_header(h, 0)
                    .filter(|e| e.class != CLASS_EXPERIMENTER)
                    .ok_or(DecodeError::new(BadMatch::BadField, "output to an unknown field"))?;
                let (ofs, n_bits) = ((ofs_nbits >> 6) as u32, (ofs_nbits & 0x3f) as u32 + 1);
                let limit = match (e.conv, e.field) {
                    (Conv::Port16, _) => 16,
                    (_, Field::InPort) => 32,
                    (_, f) => crate::check::subfield_bits(f),
                };
                if ofs + n_bits > limit {
                    return Err(bac(BadAction::BadArgument, "output_reg subfield beyond its field"));
                }
                Ok(OfAction::OutputReg { src: SubField { field: e.field, ofs, n_bits }, max_len })
            }
            SAMPLE | SAMPLE2 | SAMPLE3 => {
                fixed(if sub == SAMPLE { 24 } else { 32 })?;
                let probability = r.u16()?;
                let (collector_set_id, obs_domain_id, obs_point_id) = (r.u32()?, r.u32()?, r.u32()?);
                let (mut sampling_port, mut direction) = (OfPort::ANY, 0u8);
                if sub != SAMPLE {
                    sampling_port = OfPort::from_ofp10(r.u16()?);
                    let d = r.u8()?;
                    if sub == SAMPLE3 {
                        if d > 2 {
                            return Err(bac(BadAction::BadArgument, "bad sample direction"));
                        }
                        direction = d;
                    }
                }
                if probability == 0 {
                    return Err(bac(BadAction::BadArgument, "sample probability is zero"));
                }
                Ok(OfAction::Sample { probability, collector_set_id, obs_domain_id, obs_point_id, sampling_port, direction })
            }
            _ => Err(bac(BadAction::BadExpType, "unknown Nicira action")),
        }
    })();
    matches!(sub, SET_TUNNEL | SET_TUNNEL64 | OUTPUT_REG | SAMPLE | SAMPLE2 | SAMPLE3).then_some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(a: OfAction, len: usize) {
        let mut out = Vec::new();
        match &a {
            OfAction::SetTunnel { id, wide } => put_set_tunnel(&mut out, *id, *wide).unwrap(),
            OfAction::OutputReg { src, max_len } => put_output_reg(&mut out, src, *max_len).unwrap(),
            _ => put_sample(&mut out, &a).unwrap(),
        }
        assert_eq!(out.len(), len, "{a:?}");
        let sub = u16::from_be_bytes([out[8], out[9]]);
        assert_eq!(pull(sub, out.len(), &out[10..]).unwrap().unwrap(), a);
    }

    #[test]
    fn round_trips_in_the_shortest_form() {
        round(OfAction::SetTunnel { id: 0x64, wide: false }, 16);
        round(OfAction::SetTunnel { id: 0x1_0000_0000, wide: true }, 24);
        round(OfAction::SetTunnel { id: 5, wide: true }, 24);
        round(OfAction::OutputReg { src: SubField { field: Field::Reg0, ofs: 0, n_bits: 16 }, max_len: 0 }, 24);
        let s = |port, direction| OfAction::Sample {
            probability: 100,
            collector_set_id: 1,
            obs_domain_id: 2,
            obs_point_id: 3,
            sampling_port: port,
            direction,
        };
        round(s(OfPort::ANY, 0), 24);
        round(s(OfPort(5), 0), 32);
        round(s(OfPort::LOCAL, 2), 32);
        assert!(pull(99, 16, &[0; 6]).is_none());
    }
}
