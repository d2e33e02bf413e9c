//! OpenFlow 1.0 flow-mods and flow-removed notifications, standard and Nicira.
//!
//! A flow-mod is `OFPT_FLOW_MOD` (an `ofp_match`) or `NXT_FLOW_MOD` (an NXM match, which may
//! also select rules by cookie); the connection's [`FlowFormat`] picks which one we write.
//! With the table-id extension on (`NXT_FLOW_MOD_TABLE_ID`), the high byte of the 16-bit
//! command is the table; without it the command is the whole 16 bits and the table is "any"
//! ([`ALL_TABLES`]: an addition goes to table 0, a modification or deletion affects every
//! table, as in Open vSwitch). Decoding follows `ofputil_decode_flow_mod` for OpenFlow 1.0:
//! the match is normalised, an exact-match standard rule gets priority 65535, an addition
//! resets the counters of the rule it replaces (the `reset_counts` flag is set), the
//! emergency flag is refused, unknown flags are `OFPFMFC_BAD_FLAGS`, unknown commands
//! `OFPFMFC_BAD_COMMAND`, a cookie mask on an addition `NXBRC_NXM_INVALID`; the actions are
//! checked against the match with OpenFlow 1.0's rules (inconsistencies are allowed, hard
//! errors are not).
//!
//! A flow-removed is `OFPT_FLOW_REMOVED` or `NXT_FLOW_REMOVED` (again by flow format); neither
//! carries the table or the hard timeout (decoded as table 255 and 0).

use super::ofp_match::{self, MATCH_LEN};
use super::{actions, nx_begin, NO_BUFFER};
use crate::check::{check, CheckContext};
use crate::codec::{Put, Reader};
use crate::error::{BadRequest, DecodeError, EncodeError, FlowModFailed, NxError, OfError};
use crate::msg::{FlowRemoved, FlowRemovedReason, OfMessage};
use crate::nx::nxt;
use crate::session::{FlowFormat, Session};
use rvs_flowcache::ofp::{flow_flags, FlowMod, FlowModCommand, OfPort, ALL_TABLES, ANY_GROUP};

/// `OFPFF10_EMERG`.
const FLAG_EMERG: u16 = 1 << 2;
/// Flow-mod flags OpenFlow 1.0 defines (besides the emergency flag).
const FLAGS_V10: u16 = flow_flags::SEND_FLOW_REM | flow_flags::CHECK_OVERLAP;

fn command_to_wire(c: FlowModCommand) -> u16 {
    match c {
        FlowModCommand::Add => 0,
        FlowModCommand::Modify => 1,
        FlowModCommand::ModifyStrict => 2,
        FlowModCommand::Delete => 3,
        FlowModCommand::DeleteStrict => 4,
    }
}

fn command_from_wire(c: u16) -> Option<FlowModCommand> {
    Some(match c {
        0 => FlowModCommand::Add,
        1 => FlowModCommand::Modify,
        2 => FlowModCommand::ModifyStrict,
        3 => FlowModCommand::Delete,
        4 => FlowModCommand::DeleteStrict,
        _ => return None,
    })
}

fn port16(p: OfPort) -> Result<u16, EncodeError> {
    if OfPort::from_ofp10(p.to_ofp10()) == p {
        Ok(p.to_ofp10())
    } else {
        Err(EncodeError::Unrepresentable(format!("port {} has no OpenFlow 1.0 number", p.0)))
    }
}

/// The cookie field of an OpenFlow 1.0 flow-mod: the cookie to give the rules.
fn new_cookie(fm: &FlowMod) -> u64 {
    match fm.command {
        FlowModCommand::Add => fm.cookie,
        FlowModCommand::Modify | FlowModCommand::ModifyStrict => fm.new_cookie.unwrap_or(u64::MAX),
        FlowModCommand::Delete | FlowModCommand::DeleteStrict => fm.new_cookie.unwrap_or(0),
    }
}

/// The command field: with the table-id extension the table in the high byte.
fn tid_command(fm: &FlowMod, s: &Session) -> u16 {
    let c = command_to_wire(fm.command);
    if s.table_id_extension {
        let table = if fm.table_id == ALL_TABLES && fm.command == FlowModCommand::Add { 0 } else { fm.table_id };
        c | (table as u16) << 8
    } else {
        c
    }
}

/// Writes a flow-mod (header included) as the session's flow format says.
pub(crate) fn put_flow_mod(out: &mut Vec<u8>, xid: u32, fm: &FlowMod, buffer_id: Option<u32>, s: &Session) -> Result<(), EncodeError> {
    if !s.table_id_extension && fm.table_id != ALL_TABLES && fm.table_id != 0 {
        return Err(EncodeError::Unrepresentable(format!(
            "table {} needs the flow_mod_table_id extension in OpenFlow 1.0",
            fm.table_id
        )));
    }
    if fm.out_group != ANY_GROUP {
        return Err(EncodeError::Unrepresentable("out_group needs OpenFlow 1.1 or later".into()));
    }
    let flags = fm.flags & FLAGS_V10;
    match s.flow_format {
        FlowFormat::OpenFlow10 => {
            if fm.cookie_mask != 0 && fm.command != FlowModCommand::Add {
                return Err(EncodeError::Unrepresentable("a cookie filter needs NXM".into()));
            }
            super::begin(out, super::msg_type::FLOW_MOD, xid);
            ofp_match::put_match(out, &fm.match_)?;
            out.put_u64(new_cookie(fm));
            out.put_u16(tid_command(fm, s));
            out.put_u16(fm.idle_timeout);
            out.put_u16(fm.hard_timeout);
            out.put_u16(fm.priority);
            out.put_u32(buffer_id.unwrap_or(NO_BUFFER));
            out.put_u16(port16(fm.out_port)?);
            out.put_u16(flags);
        }
        FlowFormat::Nxm => {
            nx_begin(out, nxt::FLOW_MOD, xid);
            out.put_u64(new_cookie(fm));
            out.put_u16(tid_command(fm, s));
            out.put_u16(fm.idle_timeout);
            out.put_u16(fm.hard_timeout);
            out.put_u16(fm.priority);
            out.put_u32(buffer_id.unwrap_or(NO_BUFFER));
            out.put_u16(port16(fm.out_port)?);
            out.put_u16(flags);
            let at = out.len();
            out.put_u16(0);
            out.put_zeros(6);
            let (cookie, mask) = if fm.command == FlowModCommand::Add { (0, 0) } else { (fm.cookie, fm.cookie_mask) };
            let match_len = ofp_match::put_nx_match(out, &fm.match_, cookie, mask)?;
            out.set_u16(at, match_len);
        }
    }
    actions::put_actions(out, &fm.actions)
}

/// The body of a flow-mod after its match: what both forms share.
struct Tail {
    cookie: u64,
    command: u16,
    idle_timeout: u16,
    hard_timeout: u16,
    priority: u16,
    buffer_id: u32,
    out_port: u16,
    flags: u16,
}

fn pull_tail(r: &mut Reader<'_>) -> Result<Tail, DecodeError> {
    Ok(Tail {
        cookie: r.u64()?,
        command: r.u16()?,
        idle_timeout: r.u16()?,
        hard_timeout: r.u16()?,
        priority: r.u16()?,
        buffer_id: r.u32()?,
        out_port: r.u16()?,
        flags: r.u16()?,
    })
}

fn finish_flow_mod(
    t: Tail,
    mut match_: rvs_flowcache::ofp::Match,
    cookie_match: Option<(u64, u64)>,
    actions_bytes: &[u8],
    s: &Session,
) -> Result<OfMessage, DecodeError> {
    let (command, table_id) = if s.table_id_extension { (t.command & 0xff, (t.command >> 8) as u8) } else { (t.command, ALL_TABLES) };
    let command = command_from_wire(command).ok_or(DecodeError::new(FlowModFailed::BadCommand, "unknown flow_mod command"))?;
    let (cookie, cookie_mask) = cookie_match.unwrap_or((0, 0));
    if command == FlowModCommand::Add && cookie_mask != 0 {
        return Err(DecodeError::new(NxError::NxmInvalid, "an addition cannot match on the cookie"));
    }
    let actions = actions::pull_actions(actions_bytes)?;
    if t.flags & FLAG_EMERG != 0 {
        let e = if t.idle_timeout != 0 || t.hard_timeout != 0 {
            OfError::Other { type_: 3, code: 3 }
        } else {
            OfError::FlowModFailed(FlowModFailed::TableFull)
        };
        return Err(DecodeError { error: e, detail: "emergency flows are not supported" });
    }
    if t.flags & !FLAGS_V10 != 0 {
        return Err(DecodeError::new(FlowModFailed::BadFlags, "unknown flow_mod flags"));
    }
    crate::check::normalize_match_ofp10(&mut match_);
    let add = command == FlowModCommand::Add;
    let table_id = if add && table_id == ALL_TABLES { 0 } else { table_id };
    let flags = if add { t.flags | flow_flags::RESET_COUNTS } else { t.flags };
    let fm = FlowMod {
        command,
        table_id,
        priority: t.priority,
        cookie: if add { t.cookie } else { cookie & cookie_mask },
        cookie_mask: if add { 0 } else { cookie_mask },
        new_cookie: if add || t.cookie == u64::MAX { None } else { Some(t.cookie) },
        idle_timeout: t.idle_timeout,
        hard_timeout: t.hard_timeout,
        importance: 0,
        flags,
        out_port: OfPort::from_ofp10(t.out_port),
        out_group: ANY_GROUP,
        match_,
        actions,
        learn_limit: 0,
    };
    let ctx = CheckContext { table_id, max_ports: OfPort(0xff00) };
    check(&fm.match_, &fm.actions, &ctx).map_err(|e| DecodeError { error: e, detail: "actions invalid with the match" })?;
    Ok(OfMessage::FlowMod { flow_mod: fm, buffer_id: (t.buffer_id != NO_BUFFER).then_some(t.buffer_id) })
}

/// Decodes an `OFPT_FLOW_MOD` body.
pub(crate) fn decode_flow_mod(body: &[u8], s: &Session) -> Result<OfMessage, DecodeError> {
    let mut r = Reader::new(body, DecodeError::new(BadRequest::BadLen, "truncated flow_mod"));
    let (match_, exact) = ofp_match::pull_match(&mut r)?;
    let mut t = pull_tail(&mut r)?;
    if exact {
        // OpenFlow 1.0: exact-match rules have the highest priority.
        t.priority = u16::MAX;
    }
    finish_flow_mod(t, match_, None, r.rest(), s)
}

/// Decodes an `NXT_FLOW_MOD` body (after the Nicira header).
pub(crate) fn decode_nx_flow_mod(body: &[u8], s: &Session) -> Result<OfMessage, DecodeError> {
    let mut r = Reader::new(body, DecodeError::new(BadRequest::BadLen, "truncated NXT_FLOW_MOD"));
    let t = pull_tail(&mut r)?;
    let match_len = r.u16()? as usize;
    r.skip(6)?;
    let (match_, cookie) = ofp_match::pull_nx_match(&mut r, match_len, true)?;
    finish_flow_mod(t, match_, cookie, r.rest(), s)
}

fn reason_to_wire(r: FlowRemovedReason) -> u8 {
    match r {
        FlowRemovedReason::IdleTimeout => 0,
        FlowRemovedReason::HardTimeout => 1,
        FlowRemovedReason::Delete => 2,
        FlowRemovedReason::GroupDelete => 3,
    }
}

fn reason_from_wire(r: u8) -> Result<FlowRemovedReason, DecodeError> {
    Ok(match r {
        0 => FlowRemovedReason::IdleTimeout,
        1 => FlowRemovedReason::HardTimeout,
        2 => FlowRemovedReason::Delete,
        3 => FlowRemovedReason::GroupDelete,
        _ => return Err(DecodeError::new(BadRequest::BadPacket, "unknown flow-removed reason")),
    })
}

/// Writes a flow-removed (header included) as the session's flow format says.
pub(crate) fn put_flow_removed(out: &mut Vec<u8>, xid: u32, f: &FlowRemoved, s: &Session) -> Result<(), EncodeError> {
    match s.flow_format {
        FlowFormat::OpenFlow10 => {
            super::begin(out, super::msg_type::FLOW_REMOVED, xid);
            ofp_match::put_match(out, &f.match_)?;
            out.put_u64(f.cookie);
            out.put_u16(f.priority);
            out.put_u8(reason_to_wire(f.reason));
            out.put_zeros(1);
            out.put_u32(f.duration_sec);
            out.put_u32(f.duration_nsec);
            out.put_u16(f.idle_timeout);
            out.put_zeros(2);
            out.put_u64(f.packet_count);
            out.put_u64(f.byte_count);
        }
        FlowFormat::Nxm => {
            nx_begin(out, nxt::FLOW_REMOVED, xid);
            out.put_u64(f.cookie);
            out.put_u16(f.priority);
            out.put_u8(reason_to_wire(f.reason));
            out.put_zeros(1);
            out.put_u32(f.duration_sec);
            out.put_u32(f.duration_nsec);
            out.put_u16(f.idle_timeout);
            let at = out.len();
            out.put_u16(0);
            out.put_u64(f.packet_count);
            out.put_u64(f.byte_count);
            let match_len = ofp_match::put_nx_match(out, &f.match_, 0, 0)?;
            out.set_u16(at, match_len);
        }
    }
    Ok(())
}

/// Decodes an `OFPT_FLOW_REMOVED` body.
pub(crate) fn decode_flow_removed(body: &[u8]) -> Result<OfMessage, DecodeError> {
    if body.len() != MATCH_LEN + 40 {
        return Err(DecodeError::new(BadRequest::BadLen, "flow-removed must be 88 bytes"));
    }
    let mut r = Reader::new(body, DecodeError::new(BadRequest::BadLen, "truncated flow-removed"));
    let (match_, _) = ofp_match::pull_match(&mut r)?;
    let cookie = r.u64()?;
    let priority = r.u16()?;
    let reason = reason_from_wire(r.u8()?)?;
    r.skip(1)?;
    let duration_sec = r.u32()?;
    let duration_nsec = r.u32()?;
    let idle_timeout = r.u16()?;
    r.skip(2)?;
    Ok(OfMessage::FlowRemoved(FlowRemoved {
        cookie,
        priority,
        reason,
        table_id: ALL_TABLES,
        duration_sec,
        duration_nsec,
        idle_timeout,
        hard_timeout: 0,
        packet_count: r.u64()?,
        byte_count: r.u64()?,
        match_,
    }))
}

/// Decodes an `NXT_FLOW_REMOVED` body (after the Nicira header).
pub(crate) fn decode_nx_flow_removed(body: &[u8]) -> Result<OfMessage, DecodeError> {
    let mut r = Reader::new(body, DecodeError::new(BadRequest::BadLen, "truncated NXT_FLOW_REMOVED"));
    let cookie = r.u64()?;
    let priority = r.u16()?;
    let reason = reason_from_wire(r.u8()?)?;
    r.skip(1)?;
    let duration_sec = r.u32()?;
    let duration_nsec = r.u32()?;
    let idle_timeout = r.u16()?;
    let match_len = r.u16()? as usize;
    let packet_count = r.u64()?;
    let byte_count = r.u64()?;
    let (match_, _) = ofp_match::pull_nx_match(&mut r, match_len, false)?;
    if !r.is_empty() {
        return Err(DecodeError::new(BadRequest::BadLen, "bytes after the NXT_FLOW_REMOVED match"));
    }
    Ok(OfMessage::FlowRemoved(FlowRemoved {
        cookie,
        priority,
        reason,
        table_id: ALL_TABLES,
        duration_sec,
        duration_nsec,
        idle_timeout,
        hard_timeout: 0,
        packet_count,
        byte_count,
        match_,
    }))
}
