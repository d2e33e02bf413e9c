//! OpenFlow 1.0 packet-ins (`OFPT_PACKET_IN`, `NXT_PACKET_IN`, `NXT_PACKET_IN2`) and
//! packet-outs.
//!
//! Which packet-in form a switch sends is the connection's [`PacketInFormat`]
//! (`NXT_SET_PACKET_IN_FORMAT`). The standard form carries only the input port of the
//! packet's metadata and neither table nor cookie (decoded as table 0 and cookie 0, as Open
//! vSwitch does); `NXT_PACKET_IN` adds the table, the cookie and an NXM match of the
//! metadata; `NXT_PACKET_IN2` carries the same as properties (packet, full length when
//! truncated, table, cookie unless it is all-ones, reason, metadata as Open vSwitch's OXM for
//! OpenFlow 1.0, [`Dialect::Oxm10`]). Properties the model
//! has no place for (user data, continuations) are refused with `OFPBPC_BAD_TYPE`.
//!
//! A packet-out's input port must be a port, `LOCAL`, `CONTROLLER` or `NONE`
//! (`OFPBRC_BAD_PORT` otherwise, as in Open vSwitch).

use super::{actions, begin, nx_begin, ofp_match, NO_BUFFER};
use crate::codec::{Put, Reader};
use crate::error::{BadRequest, DecodeError, EncodeError, NxError, TableFeaturesFailed};
use crate::msg::{OfMessage, PacketIn, PacketOut};
use crate::nx::actions::{reason_from_wire, reason_to_wire};
use crate::nx::nxt;
use crate::oxm::{self, Dialect};
use crate::session::{PacketInFormat, Session};
use rvs_flowcache::field::Field;
use rvs_flowcache::ofp::{Match, OfPort};

/// `NXPINT_*` properties of `NXT_PACKET_IN2`.
mod prop {
    pub(super) const PACKET: u16 = 0;
    pub(super) const FULL_LEN: u16 = 1;
    pub(super) const BUFFER_ID: u16 = 2;
    pub(super) const TABLE_ID: u16 = 3;
    pub(super) const COOKIE: u16 = 4;
    pub(super) const REASON: u16 = 5;
    pub(super) const METADATA: u16 = 6;
}

fn bad_len(detail: &'static str) -> DecodeError {
    DecodeError::new(BadRequest::BadLen, detail)
}

fn in_port16(m: &Match) -> Result<u16, EncodeError> {
    let p = OfPort(m.get(Field::InPort).map_or(OfPort::ANY.0, |(v, _)| v as u32));
    if OfPort::from_ofp10(p.to_ofp10()) != p {
        return Err(EncodeError::Unrepresentable(format!("in_port {} has no OpenFlow 1.0 number", p.0)));
    }
    Ok(p.to_ofp10())
}

fn put_prop(out: &mut Vec<u8>, ty: u16, body: &[u8]) {
    let start = out.len();
    out.put_u16(ty);
    out.put_u16((4 + body.len()) as u16);
    out.extend_from_slice(body);
    out.pad_to_8(start);
}

/// Writes a packet-in (header included) in the session's packet-in format.
pub(crate) fn put_packet_in(out: &mut Vec<u8>, xid: u32, p: &PacketIn, s: &Session) -> Result<(), EncodeError> {
    match s.packet_in_format {
        PacketInFormat::Standard => {
            begin(out, super::msg_type::PACKET_IN, xid);
            out.put_u32(p.buffer_id.unwrap_or(NO_BUFFER));
            out.put_u16(p.total_len);
            out.put_u16(in_port16(&p.match_)?);
            out.put_u8(reason_to_wire(p.reason));
            out.put_zeros(1);
            out.extend_from_slice(&p.data);
        }
        PacketInFormat::Nxt => {
            nx_begin(out, nxt::PACKET_IN, xid);
            out.put_u32(p.buffer_id.unwrap_or(NO_BUFFER));
            out.put_u16(p.total_len);
            out.put_u8(reason_to_wire(p.reason));
            out.put_u8(p.table_id);
            out.put_u64(p.cookie);
            let at = out.len();
            out.put_u16(0);
            out.put_zeros(6);
            let match_len = ofp_match::put_nx_match(out, &p.match_, 0, 0)?;
            out.set_u16(at, match_len);
            out.put_zeros(2);
            out.extend_from_slice(&p.data);
        }
        PacketInFormat::Nxt2 => {
            nx_begin(out, nxt::PACKET_IN2, xid);
            put_prop(out, prop::PACKET, &p.data);
            if p.total_len as usize != p.data.len() {
                put_prop(out, prop::FULL_LEN, &(p.total_len as u32).to_be_bytes());
            }
            if let Some(b) = p.buffer_id {
                put_prop(out, prop::BUFFER_ID, &b.to_be_bytes());
            }
            put_prop(out, prop::TABLE_ID, &[p.table_id]);
            if p.cookie != u64::MAX {
                // 64-bit properties are aligned: 4 bytes of padding after the header.
                let mut v = vec![0u8; 4];
                v.extend_from_slice(&p.cookie.to_be_bytes());
                put_prop(out, prop::COOKIE, &v);
            }
            put_prop(out, prop::REASON, &[reason_to_wire(p.reason)]);
            let mut md = Vec::new();
            oxm::put_match_fields_as(&mut md, &p.match_, Dialect::Oxm10)?;
            put_prop(out, prop::METADATA, &md);
        }
    }
    Ok(())
}

fn reason(r: u8) -> Result<rvs_flowcache::ofp::PacketInReason, DecodeError> {
    reason_from_wire(r).ok_or(DecodeError::new(NxError::BadReason, "unsupported packet-in reason"))
}

/// Decodes an `OFPT_PACKET_IN` body.
pub(crate) fn decode_packet_in(body: &[u8]) -> Result<OfMessage, DecodeError> {
    let mut r = Reader::new(body, bad_len("truncated packet-in"));
    let buffer_id = r.u32()?;
    let total_len = r.u16()?;
    let in_port = OfPort::from_ofp10(r.u16()?);
    let reason = reason(r.u8()?)?;
    r.skip(1)?;
    let mut match_ = Match::catchall();
    match_.set(Field::InPort, in_port.0 as u128);
    Ok(OfMessage::PacketIn(PacketIn {
        buffer_id: (buffer_id != NO_BUFFER).then_some(buffer_id),
        total_len,
        reason,
        table_id: 0,
        cookie: 0,
        match_,
        data: r.rest().to_vec(),
    }))
}

/// Decodes an `NXT_PACKET_IN` body (after the Nicira header).
pub(crate) fn decode_nx_packet_in(body: &[u8]) -> Result<OfMessage, DecodeError> {
    let mut r = Reader::new(body, bad_len("truncated NXT_PACKET_IN"));
    let buffer_id = r.u32()?;
    let total_len = r.u16()?;
    let reason = reason(r.u8()?)?;
    let table_id = r.u8()?;
    let cookie = r.u64()?;
    let match_len = r.u16()? as usize;
    r.skip(6)?;
    let (match_, _) = ofp_match::pull_nx_match(&mut r, match_len, false)?;
    r.skip(2)?;
    Ok(OfMessage::PacketIn(PacketIn {
        buffer_id: (buffer_id != NO_BUFFER).then_some(buffer_id),
        total_len,
        reason,
        table_id,
        cookie,
        match_,
        data: r.rest().to_vec(),
    }))
}

/// Decodes an `NXT_PACKET_IN2` body (after the Nicira header).
pub(crate) fn decode_nx_packet_in2(body: &[u8]) -> Result<OfMessage, DecodeError> {
    let mut r = Reader::new(body, bad_len("truncated NXT_PACKET_IN2 property"));
    let (mut data, mut full_len, mut buffer_id, mut table_id, mut cookie, mut why, mut match_) =
        (None, None, None, 0u8, u64::MAX, None, Match::catchall());
    while !r.is_empty() {
        let ty = r.u16()?;
        let len = r.u16()? as usize;
        if len < 4 {
            return Err(bad_len("NXT_PACKET_IN2 property shorter than its header"));
        }
        let value = r.bytes(len - 4)?;
        r.skip((len.div_ceil(8) * 8 - len).min(r.remaining()))?;
        let mut v = Reader::new(value, bad_len("NXT_PACKET_IN2 property too short"));
        let exact = |n: usize| if value.len() == n { Ok(()) } else { Err(bad_len("NXT_PACKET_IN2 property of the wrong size")) };
        match ty {
            prop::PACKET => data = Some(value.to_vec()),
            prop::FULL_LEN => {
                exact(4)?;
                full_len = Some(v.u32()?);
            }
            prop::BUFFER_ID => {
                exact(4)?;
                buffer_id = Some(v.u32()?);
            }
            prop::TABLE_ID => {
                exact(1)?;
                table_id = v.u8()?;
            }
            prop::COOKIE => {
                exact(12)?;
                v.skip(4)?;
                cookie = v.u64()?;
            }
            prop::REASON => {
                exact(1)?;
                why = Some(reason(v.u8()?)?);
            }
            prop::METADATA => match_ = oxm::pull_match_fields(value)?,
            _ => return Err(DecodeError::new(TableFeaturesFailed::BadPropType, "unsupported NXT_PACKET_IN2 property")),
        }
    }
    let data = data.ok_or(bad_len("NXT_PACKET_IN2 without a packet"))?;
    let total_len = full_len.unwrap_or(data.len() as u32).min(u16::MAX as u32) as u16;
    Ok(OfMessage::PacketIn(PacketIn {
        buffer_id: buffer_id.filter(|b| *b != NO_BUFFER),
        total_len,
        reason: why.ok_or(bad_len("NXT_PACKET_IN2 without a reason"))?,
        table_id,
        cookie,
        match_,
        data,
    }))
}

/// Writes a packet-out (header included).
pub(crate) fn put_packet_out(out: &mut Vec<u8>, xid: u32, p: &PacketOut) -> Result<(), EncodeError> {
    begin(out, super::msg_type::PACKET_OUT, xid);
    out.put_u32(p.buffer_id.unwrap_or(NO_BUFFER));
    let mut m = Match::catchall();
    m.set(Field::InPort, p.in_port.0 as u128);
    out.put_u16(in_port16(&m)?);
    let len_at = out.len();
    out.put_u16(0);
    let start = out.len();
    actions::put_actions(out, &p.actions)?;
    let alen = out.len() - start;
    out.set_u16(len_at, u16::try_from(alen).map_err(|_| EncodeError::TooLong(alen))?);
    out.extend_from_slice(&p.data);
    Ok(())
}

/// Decodes an `OFPT_PACKET_OUT` body.
pub(crate) fn decode_packet_out(body: &[u8]) -> Result<OfMessage, DecodeError> {
    let mut r = Reader::new(body, bad_len("truncated packet-out"));
    let buffer_id = r.u32()?;
    let in_port = OfPort::from_ofp10(r.u16()?);
    let actions_len = r.u16()? as usize;
    let acts = r.bytes(actions_len)?;
    if in_port.0 >= 0xff00 && ![OfPort::LOCAL, OfPort::ANY, OfPort::CONTROLLER].contains(&in_port) {
        return Err(DecodeError::new(BadRequest::BadPort, "packet-out in_port out of range"));
    }
    let actions = actions::pull_actions(acts)?;
    Ok(OfMessage::PacketOut(PacketOut {
        buffer_id: (buffer_id != NO_BUFFER).then_some(buffer_id),
        in_port,
        actions,
        data: r.rest().to_vec(),
    }))
}
