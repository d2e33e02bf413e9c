//! The OpenFlow 1.3 wire codec.
//!
//! [`encode`] and [`decode`] translate between [`OfMessage`] and OpenFlow 1.3 bytes (wire
//! version `0x04`). Matches are OXM ([`crate::oxm`]), actions and instructions live in
//! [`actions`], multipart bodies and port structures in [`multipart`].
//!
//! Decoding follows Open vSwitch's `ofputil_decode_*` functions closely enough that a
//! malformed message yields the same OpenFlow error Open vSwitch would send: a body of the
//! wrong size is `OFPBRC_BAD_LEN`, an unknown message type `OFPBRC_BAD_TYPE`, an `ADD` to table
//! 255 `OFPFMFC_BAD_TABLE_ID`, an unknown flow-mod command `OFPFMFC_BAD_COMMAND`, unknown
//! flow-mod flags `OFPFMFC_BAD_FLAGS`. A decoded flow-mod has also passed the consistency
//! check of [`crate::check`] (as `ofputil_decode_flow_mod` ends with
//! `ofpacts_check_consistency`).

pub mod actions;
pub mod control;
pub mod group;
pub mod monitor;
pub mod multipart;
mod nicira;
pub mod table_features;
#[cfg(test)]
mod tests;

use crate::check::{check_consistency, CheckContext, FlowState};
use crate::codec::{Put, Reader};
use crate::error::{BadRequest, DecodeError, EncodeError, FlowModFailed, OfError, WireError, OFPET_EXPERIMENTER};
use crate::msg::{
    ErrorMsg, FlowRemoved, FlowRemovedReason, Header, Hello, NxStatsReply, NxStatsRequest, OfMessage, PacketIn, PacketOut,
    PortReason, PortStatus, VersionSet,
};
use crate::oxm;
use crate::stats::{SwitchConfig, SwitchFeatures};
use rvs_flowcache::ofp::{flow_flags, FlowMod, FlowModCommand, Match, OfAction, OfPort, ALL_TABLES, ANY_GROUP};

/// The OpenFlow 1.3 version byte.
pub const VERSION: u8 = 0x04;

/// `OFPT_*` message types of OpenFlow 1.3.
pub mod msg_type {
    /// Hello.
    pub const HELLO: u8 = 0;
    /// Error.
    pub const ERROR: u8 = 1;
    /// Echo request.
    pub const ECHO_REQUEST: u8 = 2;
    /// Echo reply.
    pub const ECHO_REPLY: u8 = 3;
    /// Experimenter.
    pub const EXPERIMENTER: u8 = 4;
    /// Features request.
    pub const FEATURES_REQUEST: u8 = 5;
    /// Features reply.
    pub const FEATURES_REPLY: u8 = 6;
    /// Get-config request.
    pub const GET_CONFIG_REQUEST: u8 = 7;
    /// Get-config reply.
    pub const GET_CONFIG_REPLY: u8 = 8;
    /// Set-config.
    pub const SET_CONFIG: u8 = 9;
    /// Packet-in.
    pub const PACKET_IN: u8 = 10;
    /// Flow-removed.
    pub const FLOW_REMOVED: u8 = 11;
    /// Port-status.
    pub const PORT_STATUS: u8 = 12;
    /// Packet-out.
    pub const PACKET_OUT: u8 = 13;
    /// Flow-mod.
    pub const FLOW_MOD: u8 = 14;
    /// Group-mod.
    pub const GROUP_MOD: u8 = 15;
    /// Port-mod.
    pub const PORT_MOD: u8 = 16;
    /// Multipart request.
    pub const MULTIPART_REQUEST: u8 = 18;
    /// Multipart reply.
    pub const MULTIPART_REPLY: u8 = 19;
    /// Barrier request.
    pub const BARRIER_REQUEST: u8 = 20;
    /// Barrier reply.
    pub const BARRIER_REPLY: u8 = 21;
    /// Role request.
    pub const ROLE_REQUEST: u8 = 24;
    /// Role reply.
    pub const ROLE_REPLY: u8 = 25;
    /// Get-async request.
    pub const GET_ASYNC_REQUEST: u8 = 26;
    /// Get-async reply.
    pub const GET_ASYNC_REPLY: u8 = 27;
    /// Set-async.
    pub const SET_ASYNC: u8 = 28;
}

/// `OFP_NO_BUFFER`.
pub const NO_BUFFER: u32 = 0xffff_ffff;

pub(crate) fn begin(out: &mut Vec<u8>, msg_type: u8, xid: u32) {
    out.put_u8(VERSION);
    out.put_u8(msg_type);
    out.put_u16(0);
    out.put_u32(xid);
}

pub(crate) fn finish(mut out: Vec<u8>) -> Result<Vec<u8>, EncodeError> {
    if out.len() > crate::framing::MAX_MESSAGE_LEN {
        return Err(EncodeError::TooLong(out.len()));
    }
    let len = out.len() as u16;
    out.set_u16(2, len);
    Ok(out)
}

fn command_to_wire(c: FlowModCommand) -> u8 {
    match c {
        FlowModCommand::Add => 0,
        FlowModCommand::Modify => 1,
        FlowModCommand::ModifyStrict => 2,
        FlowModCommand::Delete => 3,
        FlowModCommand::DeleteStrict => 4,
    }
}

fn command_from_wire(c: u8) -> Option<FlowModCommand> {
    Some(match c {
        0 => FlowModCommand::Add,
        1 => FlowModCommand::Modify,
        2 => FlowModCommand::ModifyStrict,
        3 => FlowModCommand::Delete,
        4 => FlowModCommand::DeleteStrict,
        _ => return None,
    })
}

/// Flow-mod flags OpenFlow 1.3 defines.
const FLOW_FLAGS_V13: u16 = flow_flags::SEND_FLOW_REM
    | flow_flags::CHECK_OVERLAP
    | flow_flags::RESET_COUNTS
    | flow_flags::NO_PKT_COUNTS
    | flow_flags::NO_BYT_COUNTS;

fn put_flow_mod(out: &mut Vec<u8>, fm: &FlowMod, buffer_id: Option<u32>) -> Result<(), EncodeError> {
    let is_delete = matches!(fm.command, FlowModCommand::Delete | FlowModCommand::DeleteStrict);
    if fm.command == FlowModCommand::Add {
        out.put_u64(fm.cookie);
    } else {
        out.put_u64(fm.cookie & fm.cookie_mask);
    }
    out.put_u64(fm.cookie_mask);
    out.put_u8(if fm.table_id != ALL_TABLES || is_delete { fm.table_id } else { 0 });
    out.put_u8(command_to_wire(fm.command));
    out.put_u16(fm.idle_timeout);
    out.put_u16(fm.hard_timeout);
    out.put_u16(fm.priority);
    out.put_u32(buffer_id.unwrap_or(NO_BUFFER));
    out.put_u32(fm.out_port.0);
    out.put_u32(fm.out_group);
    out.put_u16(fm.flags & FLOW_FLAGS_V13);
    out.put_zeros(2);
    oxm::put_match(out, &fm.match_)?;
    actions::put_instructions(out, &fm.actions, FlowState::from_match(&fm.match_))
}

/// Encodes a message as OpenFlow 1.3.
pub fn encode(m: &OfMessage, xid: u32) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(64);
    match m {
        OfMessage::Hello(h) => {
            begin(&mut out, msg_type::HELLO, xid);
            if let Some(VersionSet(bits)) = h.versions {
                out.put_u16(1); // OFPHET_VERSIONBITMAP
                out.put_u16(8);
                out.put_u32(bits);
            }
        }
        OfMessage::Error(e) => {
            begin(&mut out, msg_type::ERROR, xid);
            match e.error.to_wire() {
                WireError::Standard { type_, code } => {
                    out.put_u16(type_);
                    out.put_u16(code);
                }
                WireError::Experimenter { exp_type, experimenter } | WireError::Vendor { vendor: experimenter, type_: exp_type, .. } => {
                    out.put_u16(OFPET_EXPERIMENTER);
                    out.put_u16(exp_type);
                    out.put_u32(experimenter);
                }
            }
            out.extend_from_slice(&e.data);
        }
        OfMessage::EchoRequest(d) | OfMessage::EchoReply(d) => {
            let t = if matches!(m, OfMessage::EchoRequest(_)) { msg_type::ECHO_REQUEST } else { msg_type::ECHO_REPLY };
            begin(&mut out, t, xid);
            out.extend_from_slice(d);
        }
        OfMessage::Experimenter { experimenter, exp_type, data } => {
            begin(&mut out, msg_type::EXPERIMENTER, xid);
            out.put_u32(*experimenter);
            out.put_u32(*exp_type);
            out.extend_from_slice(data);
        }
        OfMessage::FeaturesRequest => begin(&mut out, msg_type::FEATURES_REQUEST, xid),
        OfMessage::FeaturesReply(f) => {
            begin(&mut out, msg_type::FEATURES_REPLY, xid);
            out.put_u64(f.datapath_id);
            out.put_u32(f.n_buffers);
            out.put_u8(f.n_tables);
            out.put_u8(f.auxiliary_id);
            out.put_zeros(2);
            // Bit 7 (OpenFlow 1.0's ARP_MATCH_IP) is reserved from OpenFlow 1.1 on.
            out.put_u32(f.capabilities & !crate::stats::capabilities::ARP_MATCH_IP);
            out.put_u32(0);
        }
        OfMessage::GetConfigRequest => begin(&mut out, msg_type::GET_CONFIG_REQUEST, xid),
        OfMessage::GetConfigReply(c) | OfMessage::SetConfig(c) => {
            let t = if matches!(m, OfMessage::SetConfig(_)) { msg_type::SET_CONFIG } else { msg_type::GET_CONFIG_REPLY };
            begin(&mut out, t, xid);
            out.put_u16(c.flags);
            out.put_u16(c.miss_send_len);
        }
        OfMessage::PacketIn(p) => {
            begin(&mut out, msg_type::PACKET_IN, xid);
            out.put_u32(p.buffer_id.unwrap_or(NO_BUFFER));
            out.put_u16(p.total_len);
            out.put_u8(actions::reason_to_wire(p.reason));
            out.put_u8(p.table_id);
            out.put_u64(p.cookie);
            oxm::put_match(&mut out, &p.match_)?;
            out.put_zeros(2);
            out.extend_from_slice(&p.data);
        }
        OfMessage::FlowRemoved(f) => {
            begin(&mut out, msg_type::FLOW_REMOVED, xid);
            out.put_u64(f.cookie);
            out.put_u16(f.priority);
            out.put_u8(match f.reason {
                FlowRemovedReason::IdleTimeout => 0,
                FlowRemovedReason::HardTimeout => 1,
                FlowRemovedReason::Delete => 2,
                FlowRemovedReason::GroupDelete => 3,
            });
            out.put_u8(f.table_id);
            out.put_u32(f.duration_sec);
            out.put_u32(f.duration_nsec);
            out.put_u16(f.idle_timeout);
            out.put_u16(f.hard_timeout);
            out.put_u64(f.packet_count);
            out.put_u64(f.byte_count);
            oxm::put_match(&mut out, &f.match_)?;
        }
        OfMessage::PortStatus(s) => {
            begin(&mut out, msg_type::PORT_STATUS, xid);
            out.put_u8(match s.reason {
                PortReason::Add => 0,
                PortReason::Delete => 1,
                PortReason::Modify => 2,
            });
            out.put_zeros(7);
            multipart::put_port(&mut out, &s.desc);
        }
        OfMessage::PacketOut(p) => {
            begin(&mut out, msg_type::PACKET_OUT, xid);
            out.put_u32(p.buffer_id.unwrap_or(NO_BUFFER));
            out.put_u32(p.in_port.0);
            let len_at = out.len();
            out.put_u16(0);
            out.put_zeros(6);
            let start = out.len();
            let mut m = Match::catchall();
            m.set(rvs_flowcache::Field::InPort, p.in_port.0 as u128);
            actions::put_actions(&mut out, &p.actions, &mut FlowState::from_match(&m))?;
            let alen = out.len() - start;
            if alen > u16::MAX as usize {
                return Err(EncodeError::TooLong(alen));
            }
            out.set_u16(len_at, alen as u16);
            out.extend_from_slice(&p.data);
        }
        OfMessage::FlowMod { flow_mod, buffer_id } => {
            begin(&mut out, msg_type::FLOW_MOD, xid);
            put_flow_mod(&mut out, flow_mod, *buffer_id)?;
        }
        OfMessage::MultipartRequest { flags, request } => {
            begin(&mut out, msg_type::MULTIPART_REQUEST, xid);
            multipart::put_request(&mut out, *flags, request)?;
        }
        OfMessage::MultipartReply { more, reply } => {
            begin(&mut out, msg_type::MULTIPART_REPLY, xid);
            multipart::put_reply_part(&mut out, *more, reply)?;
        }
        OfMessage::BarrierRequest => begin(&mut out, msg_type::BARRIER_REQUEST, xid),
        OfMessage::BarrierReply => begin(&mut out, msg_type::BARRIER_REPLY, xid),
        OfMessage::PortMod(pm) => {
            begin(&mut out, msg_type::PORT_MOD, xid);
            control::put_port_mod(&mut out, pm);
        }
        OfMessage::GroupMod(gm) => {
            begin(&mut out, msg_type::GROUP_MOD, xid);
            group::put_group_mod(&mut out, gm)?;
        }
        OfMessage::RoleRequest(r) | OfMessage::RoleReply(r) => {
            let t = if matches!(m, OfMessage::RoleRequest(_)) { msg_type::ROLE_REQUEST } else { msg_type::ROLE_REPLY };
            begin(&mut out, t, xid);
            control::put_role(&mut out, r);
        }
        OfMessage::GetAsyncRequest => begin(&mut out, msg_type::GET_ASYNC_REQUEST, xid),
        OfMessage::GetAsyncReply(a) | OfMessage::SetAsync(a) => {
            let t = if matches!(m, OfMessage::SetAsync(_)) { msg_type::SET_ASYNC } else { msg_type::GET_ASYNC_REPLY };
            begin(&mut out, t, xid);
            control::put_async(&mut out, a);
        }
        OfMessage::FeaturesReplyPorts(_)
        | OfMessage::SetFlowFormat(_)
        | OfMessage::FlowModTableId(_)
        | OfMessage::SetPacketInFormat(_)
        | OfMessage::SetControllerId(_) => return nicira::encode(m, xid),
        OfMessage::NxStatsRequest { flags, request: NxStatsRequest::FlowMonitor(reqs) } => {
            begin(&mut out, msg_type::MULTIPART_REQUEST, xid);
            multipart::put_experimenter_head(&mut out, *flags);
            monitor::put_requests(&mut out, reqs)?;
        }
        OfMessage::NxStatsReply { more, reply: NxStatsReply::FlowMonitor(updates) } => {
            begin(&mut out, msg_type::MULTIPART_REPLY, xid);
            multipart::put_experimenter_head(&mut out, if *more { crate::msg::MULTIPART_MORE } else { 0 });
            for u in updates {
                monitor::put_update(&mut out, u)?;
            }
        }
        OfMessage::NxStatsRequest { .. } | OfMessage::NxStatsReply { .. } => return nicira::encode(m, xid),
    }
    finish(out)
}

fn bad_len(detail: &'static str) -> DecodeError {
    DecodeError::new(BadRequest::BadLen, detail)
}

fn empty(body: &[u8]) -> Result<(), DecodeError> {
    if body.is_empty() {
        Ok(())
    } else {
        Err(bad_len("message has an unexpected body"))
    }
}

/// Decodes a hello of any version (its elements are the same in every version).
pub fn decode_hello(bytes: &[u8]) -> Result<Hello, DecodeError> {
    let mut r = Reader::new(bytes.get(8..).unwrap_or(&[]), bad_len("truncated hello"));
    let mut hello = Hello::default();
    while r.remaining() >= 4 {
        let ty = r.u16()?;
        let len = r.u16()? as usize;
        if len < 4 || len - 4 > r.remaining() {
            break;
        }
        let body = r.bytes(len - 4)?;
        if ty == 1 && body.len() >= 4 {
            hello.versions = Some(VersionSet(u32::from_be_bytes([body[0], body[1], body[2], body[3]])));
        }
        let pad = (len.div_ceil(8) * 8 - len).min(r.remaining());
        r.skip(pad)?;
    }
    Ok(hello)
}

fn decode_flow_mod(body: &[u8]) -> Result<OfMessage, DecodeError> {
    let mut r = Reader::new(body, bad_len("truncated flow_mod"));
    let cookie = r.u64()?;
    let cookie_mask = r.u64()?;
    let table_id = r.u8()?;
    let command = r.u8()?;
    let idle_timeout = r.u16()?;
    let hard_timeout = r.u16()?;
    let priority = r.u16()?;
    let buffer_id = r.u32()?;
    let out_port = r.u32()?;
    let out_group = r.u32()?;
    let flags = r.u16()?;
    r.skip(2)?;
    let match_ = oxm::pull_match(&mut r)?;
    let is_delete = command == 3 || command == 4;
    if table_id == ALL_TABLES && !is_delete {
        return Err(DecodeError::new(FlowModFailed::BadTableId, "table 255 is only valid for deletes"));
    }
    if (0xff00..0xffff_ff00).contains(&out_port) {
        return Err(DecodeError::new(crate::error::BadAction::BadOutPort, "out_port out of range"));
    }
    let command = command_from_wire(command).ok_or(DecodeError::new(FlowModFailed::BadCommand, "unknown flow_mod command"))?;
    let actions = actions::pull_instructions(r.rest())?;
    if flags & !FLOW_FLAGS_V13 != 0 {
        return Err(DecodeError::new(FlowModFailed::BadFlags, "unknown flow_mod flags"));
    }
    let add = command == FlowModCommand::Add;
    let fm = FlowMod {
        command,
        table_id,
        priority,
        cookie: if add { cookie } else { cookie & cookie_mask },
        cookie_mask: if add { 0 } else { cookie_mask },
        new_cookie: None,
        idle_timeout,
        hard_timeout,
        importance: 0,
        flags,
        out_port: OfPort(out_port),
        out_group: if is_delete { out_group } else { ANY_GROUP },
        match_,
        actions,
        learn_limit: 0,
    };
    let ctx = CheckContext { table_id, max_ports: OfPort(0xff00) };
    check_consistency(&fm.match_, &fm.actions, &ctx).map_err(|e| DecodeError { error: e, detail: "actions inconsistent with the match" })?;
    Ok(OfMessage::FlowMod { flow_mod: fm, buffer_id: (buffer_id != NO_BUFFER).then_some(buffer_id) })
}

fn decode_packet_out(body: &[u8]) -> Result<OfMessage, DecodeError> {
    let mut r = Reader::new(body, bad_len("truncated packet_out"));
    let buffer_id = r.u32()?;
    let in_port = r.u32()?;
    let actions_len = r.u16()? as usize;
    r.skip(6)?;
    let acts = r.bytes(actions_len)?;
    // As `ofputil_decode_packet_out`: a port number Open vSwitch can hold, or LOCAL, ANY or
    // CONTROLLER among the reserved ports.
    let reserved_ok = [OfPort::LOCAL, OfPort::ANY, OfPort::CONTROLLER].contains(&OfPort(in_port));
    if in_port >= 0xff00 && !reserved_ok {
        return Err(DecodeError::new(BadRequest::BadPort, "packet_out in_port out of range"));
    }
    let actions = actions::pull_actions(acts)?;
    Ok(OfMessage::PacketOut(PacketOut {
        buffer_id: (buffer_id != NO_BUFFER).then_some(buffer_id),
        in_port: OfPort(in_port),
        actions,
        data: r.rest().to_vec(),
    }))
}

/// Decodes one OpenFlow 1.3 message whose header is `h`.
pub fn decode(h: Header, bytes: &[u8]) -> Result<OfMessage, DecodeError> {
    let body = &bytes[8..];
    let mut r = Reader::new(body, bad_len("truncated message"));
    let msg = match h.msg_type {
        msg_type::HELLO => OfMessage::Hello(decode_hello(bytes)?),
        msg_type::ERROR => {
            let type_ = r.u16()?;
            let code = r.u16()?;
            let error = if type_ == OFPET_EXPERIMENTER {
                let experimenter = r.u32()?;
                OfError::from_wire(WireError::Experimenter { exp_type: code, experimenter })
            } else {
                OfError::from_wire(WireError::Standard { type_, code })
            };
            OfMessage::Error(ErrorMsg { error, data: r.rest().to_vec() })
        }
        msg_type::ECHO_REQUEST => OfMessage::EchoRequest(body.to_vec()),
        msg_type::ECHO_REPLY => OfMessage::EchoReply(body.to_vec()),
        msg_type::EXPERIMENTER => {
            let experimenter = r.u32()?;
            let exp_type = r.u32()?;
            let rest = r.rest();
            if experimenter == crate::nx::NX_VENDOR_ID {
                if let Some(m) = crate::nx::messages::pull_session(exp_type, rest, crate::msg::Version::V1_3) {
                    return m;
                }
            }
            OfMessage::Experimenter { experimenter, exp_type, data: rest.to_vec() }
        }
        msg_type::FEATURES_REQUEST => {
            empty(body)?;
            OfMessage::FeaturesRequest
        }
        msg_type::FEATURES_REPLY => {
            if body.len() != 24 {
                return Err(bad_len("features reply must be 32 bytes"));
            }
            let datapath_id = r.u64()?;
            let n_buffers = r.u32()?;
            let n_tables = r.u8()?;
            let auxiliary_id = r.u8()?;
            r.skip(2)?;
            let capabilities = r.u32()?;
            OfMessage::FeaturesReply(SwitchFeatures { datapath_id, n_buffers, n_tables, auxiliary_id, capabilities })
        }
        msg_type::GET_CONFIG_REQUEST => {
            empty(body)?;
            OfMessage::GetConfigRequest
        }
        msg_type::GET_CONFIG_REPLY | msg_type::SET_CONFIG => {
            if body.len() != 4 {
                return Err(bad_len("switch config must be 12 bytes"));
            }
            let c = SwitchConfig { flags: r.u16()?, miss_send_len: r.u16()? };
            if h.msg_type == msg_type::SET_CONFIG {
                OfMessage::SetConfig(c)
            } else {
                OfMessage::GetConfigReply(c)
            }
        }
        msg_type::PACKET_IN => {
            let buffer_id = r.u32()?;
            let total_len = r.u16()?;
            let reason = actions::reason_from_wire(r.u8()?).ok_or(DecodeError::new(BadRequest::BadPacket, "unknown packet-in reason"))?;
            let table_id = r.u8()?;
            let cookie = r.u64()?;
            let match_ = oxm::pull_match(&mut r)?;
            r.skip(2)?;
            OfMessage::PacketIn(PacketIn {
                buffer_id: (buffer_id != NO_BUFFER).then_some(buffer_id),
                total_len,
                reason,
                table_id,
                cookie,
                match_,
                data: r.rest().to_vec(),
            })
        }
        msg_type::FLOW_REMOVED => {
            let cookie = r.u64()?;
            let priority = r.u16()?;
            let reason = match r.u8()? {
                0 => FlowRemovedReason::IdleTimeout,
                1 => FlowRemovedReason::HardTimeout,
                2 => FlowRemovedReason::Delete,
                3 => FlowRemovedReason::GroupDelete,
                _ => return Err(DecodeError::new(BadRequest::BadPacket, "unknown flow-removed reason")),
            };
            let table_id = r.u8()?;
            let duration_sec = r.u32()?;
            let duration_nsec = r.u32()?;
            let idle_timeout = r.u16()?;
            let hard_timeout = r.u16()?;
            let packet_count = r.u64()?;
            let byte_count = r.u64()?;
            let match_ = oxm::pull_match(&mut r)?;
            if !r.is_empty() {
                return Err(bad_len("bytes after the flow-removed match"));
            }
            OfMessage::FlowRemoved(FlowRemoved {
                cookie,
                priority,
                reason,
                table_id,
                duration_sec,
                duration_nsec,
                idle_timeout,
                hard_timeout,
                packet_count,
                byte_count,
                match_,
            })
        }
        msg_type::PORT_STATUS => {
            if body.len() != 72 {
                return Err(bad_len("port status must be 80 bytes"));
            }
            let reason = match r.u8()? {
                0 => PortReason::Add,
                1 => PortReason::Delete,
                2 => PortReason::Modify,
                _ => return Err(DecodeError::new(BadRequest::BadPacket, "unknown port-status reason")),
            };
            r.skip(7)?;
            OfMessage::PortStatus(PortStatus { reason, desc: multipart::pull_port(&mut r)? })
        }
        msg_type::PACKET_OUT => decode_packet_out(body)?,
        msg_type::FLOW_MOD => decode_flow_mod(body)?,
        msg_type::MULTIPART_REQUEST => multipart::decode_request(body)?,
        msg_type::MULTIPART_REPLY => multipart::decode_reply(body)?,
        msg_type::BARRIER_REQUEST => {
            empty(body)?;
            OfMessage::BarrierRequest
        }
        msg_type::BARRIER_REPLY => {
            empty(body)?;
            OfMessage::BarrierReply
        }
        msg_type::PORT_MOD => OfMessage::PortMod(control::pull_port_mod(body)?),
        msg_type::GROUP_MOD => OfMessage::GroupMod(group::pull_group_mod(body)?),
        msg_type::ROLE_REQUEST => OfMessage::RoleRequest(control::pull_role(body)?),
        msg_type::ROLE_REPLY => OfMessage::RoleReply(control::pull_role(body)?),
        msg_type::GET_ASYNC_REQUEST => {
            empty(body)?;
            OfMessage::GetAsyncRequest
        }
        msg_type::GET_ASYNC_REPLY => OfMessage::GetAsyncReply(control::pull_async(body)?),
        msg_type::SET_ASYNC => OfMessage::SetAsync(control::pull_async(body)?),
        _ => return Err(DecodeError::new(BadRequest::BadType, "unsupported message type")),
    };
    Ok(msg)
}

/// True if an action list holds an instruction (packet-outs may not).
pub fn has_instruction(actions: &[OfAction]) -> bool {
    actions.iter().any(OfAction::is_instruction)
}
