//! The OpenFlow 1.0 wire codec, with the Nicira extensions `ovs-ofctl` uses.
//!
//! [`encode`] and [`decode`] translate between [`OfMessage`] and OpenFlow 1.0 bytes (wire
//! version `0x01`) under a connection's [`Session`]: the standard messages (hello, error, echo,
//! vendor, features with ports, switch configuration, packet-in and -out, flow-removed,
//! port-status, flow-mod, port-mod, statistics, barrier) and Open vSwitch's Nicira messages
//! (`NXT_FLOW_MOD`, `NXT_FLOW_REMOVED`, `NXT_PACKET_IN`, `NXT_PACKET_IN2`, the session
//! messages, `NXST_FLOW` and `NXST_AGGREGATE`, flow monitors, and the group messages of
//! module `group`: `NXT_GROUP_MOD` and `NXST_GROUP*`). Matches are `ofp_match` or NXM
//! ([`ofp_match`]), actions OpenFlow 1.0's plus Nicira's ([`actions`]), statistics and ports
//! in [`stats`].
//!
//! Decoding follows Open vSwitch's `ofputil_decode_*` closely enough that a malformed
//! message gets the error Open vSwitch would send (numbered for OpenFlow 1.0 by
//! [`crate::error::v10`]): a body of the wrong size `OFPBRC_BAD_LEN`, an unknown type
//! `OFPBRC_BAD_TYPE`, an unknown statistics type `OFPBRC_BAD_STAT`, and so on. A vendor
//! message of another vendor, or a Nicira message this codec does not know, is passed on as
//! [`OfMessage::Experimenter`] for the switch to refuse.

pub mod actions;
mod flow;
mod group;
mod monitor;
pub mod ofp_match;
mod packet;
pub mod stats;
#[cfg(test)]
mod tests;

use crate::codec::{Put, Reader};
use crate::error::v10::NXET_VENDOR;
use crate::error::{BadRequest, DecodeError, EncodeError, OfError, WireError};
use crate::msg::{ErrorMsg, Header, OfMessage, PortMod, PortReason, PortStatus, Version};
use crate::nx::{messages, nxt, NX_VENDOR_ID};
use crate::session::Session;
use crate::stats::{FeaturesWithPorts, SwitchConfig, SwitchFeatures};
use rvs_flowcache::ofp::OfPort;
use rvs_packet::wire::MacAddr;

/// The OpenFlow 1.0 version byte.
pub const VERSION: u8 = 0x01;

/// `OFPT_*` message types of OpenFlow 1.0.
pub mod msg_type {
    /// Hello.
    pub const HELLO: u8 = 0;
    /// Error.
    pub const ERROR: u8 = 1;
    /// Echo request.
    pub const ECHO_REQUEST: u8 = 2;
    /// Echo reply.
    pub const ECHO_REPLY: u8 = 3;
    /// Vendor (Nicira messages).
    pub const VENDOR: u8 = 4;
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
    /// Port-mod.
    pub const PORT_MOD: u8 = 15;
    /// Statistics request.
    pub const STATS_REQUEST: u8 = 16;
    /// Statistics reply.
    pub const STATS_REPLY: u8 = 17;
    /// Barrier request.
    pub const BARRIER_REQUEST: u8 = 18;
    /// Barrier reply.
    pub const BARRIER_REPLY: u8 = 19;
}

/// `OFP_NO_BUFFER`.
pub const NO_BUFFER: u32 = 0xffff_ffff;

/// Capability bits OpenFlow 1.0 and 1.3 number alike (flow, table and port statistics, IP
/// reassembly, queue statistics).
const COMMON_CAPABILITIES: u32 = 0x1 | 0x2 | 0x4 | 0x20 | 0x40;

pub(crate) fn begin(out: &mut Vec<u8>, msg_type: u8, xid: u32) {
    out.put_u8(VERSION);
    out.put_u8(msg_type);
    out.put_u16(0);
    out.put_u32(xid);
}

/// Starts a Nicira message of subtype `sub`.
pub(crate) fn nx_begin(out: &mut Vec<u8>, sub: u32, xid: u32) {
    begin(out, msg_type::VENDOR, xid);
    out.put_u32(NX_VENDOR_ID);
    out.put_u32(sub);
}

pub(crate) fn finish(mut out: Vec<u8>) -> Result<Vec<u8>, EncodeError> {
    if out.len() > crate::framing::MAX_MESSAGE_LEN {
        return Err(EncodeError::TooLong(out.len()));
    }
    let len = out.len() as u16;
    out.set_u16(2, len);
    Ok(out)
}

fn put_features(out: &mut Vec<u8>, f: &SwitchFeatures, capabilities: u32, actions: u32) {
    out.put_u64(f.datapath_id);
    out.put_u32(f.n_buffers);
    out.put_u8(f.n_tables);
    out.put_zeros(3);
    out.put_u32(capabilities);
    out.put_u32(actions);
}

fn port_reason_to_wire(r: PortReason) -> u8 {
    match r {
        PortReason::Add => 0,
        PortReason::Delete => 1,
        PortReason::Modify => 2,
    }
}

/// Encodes a message as OpenFlow 1.0 under `session`.
pub fn encode(m: &OfMessage, xid: u32, session: &Session) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(64);
    match m {
        OfMessage::Hello(h) => {
            begin(&mut out, msg_type::HELLO, xid);
            if let Some(v) = h.versions.filter(|v| !v.is_contiguous_from_1()) {
                out.put_u16(1); // OFPHET_VERSIONBITMAP
                out.put_u16(8);
                out.put_u32(v.0);
            }
        }
        OfMessage::Error(e) => {
            begin(&mut out, msg_type::ERROR, xid);
            match e.error.to_wire_v10() {
                WireError::Standard { type_, code } => {
                    out.put_u16(type_);
                    out.put_u16(code);
                }
                WireError::Vendor { vendor, type_, code } => {
                    out.put_u16(NXET_VENDOR);
                    out.put_u16(0);
                    out.put_u32(vendor);
                    out.put_u16(type_);
                    out.put_u16(code);
                }
                WireError::Experimenter { exp_type, experimenter } => {
                    out.put_u16(NXET_VENDOR);
                    out.put_u16(0);
                    out.put_u32(experimenter);
                    out.put_u16(exp_type);
                    out.put_u16(0);
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
            begin(&mut out, msg_type::VENDOR, xid);
            out.put_u32(*experimenter);
            out.put_u32(*exp_type);
            out.extend_from_slice(data);
        }
        OfMessage::GroupMod(gm) => {
            nx_begin(&mut out, nxt::GROUP_MOD, xid);
            group::put_group_mod(&mut out, gm)?;
        }
        OfMessage::FeaturesRequest => begin(&mut out, msg_type::FEATURES_REQUEST, xid),
        OfMessage::FeaturesReply(f) => {
            begin(&mut out, msg_type::FEATURES_REPLY, xid);
            put_features(&mut out, f, f.capabilities & COMMON_CAPABILITIES, 0);
        }
        OfMessage::FeaturesReplyPorts(fp) => {
            begin(&mut out, msg_type::FEATURES_REPLY, xid);
            // OpenFlow 1.0's bit 3 is STP, not group statistics; bit 7 is ARP_MATCH_IP.
            let caps = fp.features.capabilities
                & (COMMON_CAPABILITIES | crate::stats::capabilities::ARP_MATCH_IP);
            put_features(&mut out, &fp.features, caps, fp.actions);
            for p in &fp.ports {
                stats::put_phy_port(&mut out, p)?;
            }
        }
        OfMessage::GetConfigRequest => begin(&mut out, msg_type::GET_CONFIG_REQUEST, xid),
        OfMessage::GetConfigReply(c) | OfMessage::SetConfig(c) => {
            let t = if matches!(m, OfMessage::SetConfig(_)) { msg_type::SET_CONFIG } else { msg_type::GET_CONFIG_REPLY };
            begin(&mut out, t, xid);
            out.put_u16(c.flags);
            out.put_u16(c.miss_send_len);
        }
        OfMessage::PacketIn(p) => packet::put_packet_in(&mut out, xid, p, session)?,
        OfMessage::FlowRemoved(f) => flow::put_flow_removed(&mut out, xid, f, session)?,
        OfMessage::PortStatus(s) => {
            begin(&mut out, msg_type::PORT_STATUS, xid);
            out.put_u8(port_reason_to_wire(s.reason));
            out.put_zeros(7);
            stats::put_phy_port(&mut out, &s.desc)?;
        }
        OfMessage::PacketOut(p) => packet::put_packet_out(&mut out, xid, p)?,
        OfMessage::FlowMod { flow_mod, buffer_id } => flow::put_flow_mod(&mut out, xid, flow_mod, *buffer_id, session)?,
        OfMessage::PortMod(pm) => {
            begin(&mut out, msg_type::PORT_MOD, xid);
            let p = pm.port_no;
            if OfPort::from_ofp10(p.to_ofp10()) != p {
                return Err(EncodeError::Unrepresentable(format!("port {} has no OpenFlow 1.0 number", p.0)));
            }
            out.put_u16(p.to_ofp10());
            out.extend_from_slice(&pm.hw_addr.0);
            out.put_u32(pm.config);
            out.put_u32(pm.mask);
            out.put_u32(stats::features_to_ofp10(pm.advertise));
            out.put_zeros(4);
        }
        OfMessage::MultipartRequest { flags, request } => {
            begin(&mut out, msg_type::STATS_REQUEST, xid);
            stats::put_request(&mut out, *flags, request)?;
        }
        OfMessage::MultipartReply { more, reply } => {
            begin(&mut out, msg_type::STATS_REPLY, xid);
            stats::put_reply_part(&mut out, *more, reply)?;
        }
        OfMessage::NxStatsRequest { flags, request } => {
            begin(&mut out, msg_type::STATS_REQUEST, xid);
            stats::put_nx_request(&mut out, *flags, request)?;
        }
        OfMessage::NxStatsReply { more, reply } => {
            begin(&mut out, msg_type::STATS_REPLY, xid);
            stats::put_nx_reply_part(&mut out, *more, reply)?;
        }
        OfMessage::BarrierRequest => begin(&mut out, msg_type::BARRIER_REQUEST, xid),
        OfMessage::BarrierReply => begin(&mut out, msg_type::BARRIER_REPLY, xid),
        OfMessage::GetAsyncRequest | OfMessage::GetAsyncReply(_) | OfMessage::SetAsync(_) => {
            return Err(EncodeError::Unrepresentable("asynchronous configuration needs OpenFlow 1.3".into()));
        }
        OfMessage::SetFlowFormat(_)
        | OfMessage::FlowModTableId(_)
        | OfMessage::SetPacketInFormat(_)
        | OfMessage::SetControllerId(_)
        | OfMessage::RoleRequest(_)
        | OfMessage::RoleReply(_) => {
            let (sub, body) = messages::put_session(m, Version::V1_0).expect("a Nicira session message")?;
            nx_begin(&mut out, sub, xid);
            out.extend_from_slice(&body);
        }
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

fn decode_vendor(body: &[u8], s: &Session) -> Result<OfMessage, DecodeError> {
    let mut r = Reader::new(body, bad_len("truncated vendor message"));
    let vendor = r.u32()?;
    let sub = r.u32()?;
    let rest = r.rest();
    if vendor == NX_VENDOR_ID {
        if let Some(m) = messages::pull_session(sub, rest, Version::V1_0) {
            return m;
        }
        match sub {
            nxt::FLOW_MOD => return flow::decode_nx_flow_mod(rest, s),
            nxt::FLOW_REMOVED => return flow::decode_nx_flow_removed(rest),
            nxt::PACKET_IN => return packet::decode_nx_packet_in(rest),
            nxt::PACKET_IN2 => return packet::decode_nx_packet_in2(rest),
            nxt::GROUP_MOD => return group::pull_group_mod(rest).map(OfMessage::GroupMod),
            _ => {}
        }
    }
    Ok(OfMessage::Experimenter { experimenter: vendor, exp_type: sub, data: rest.to_vec() })
}

/// Decodes one OpenFlow 1.0 message whose header is `h`, under `session`.
pub fn decode(h: Header, bytes: &[u8], session: &Session) -> Result<OfMessage, DecodeError> {
    let body = &bytes[8..];
    let mut r = Reader::new(body, bad_len("truncated message"));
    let msg = match h.msg_type {
        msg_type::HELLO => OfMessage::Hello(crate::v13::decode_hello(bytes)?),
        msg_type::ERROR => {
            let type_ = r.u16()?;
            let code = r.u16()?;
            let wire = if type_ == NXET_VENDOR {
                WireError::Vendor { vendor: r.u32()?, type_: r.u16()?, code: r.u16()? }
            } else {
                WireError::Standard { type_, code }
            };
            OfMessage::Error(ErrorMsg { error: OfError::from_wire_v10(wire), data: r.rest().to_vec() })
        }
        msg_type::ECHO_REQUEST => OfMessage::EchoRequest(body.to_vec()),
        msg_type::ECHO_REPLY => OfMessage::EchoReply(body.to_vec()),
        msg_type::VENDOR => decode_vendor(body, session)?,
        msg_type::FEATURES_REQUEST => {
            empty(body)?;
            OfMessage::FeaturesRequest
        }
        msg_type::FEATURES_REPLY => {
            if body.len() < 24 || !(body.len() - 24).is_multiple_of(stats::PHY_PORT_LEN) {
                return Err(bad_len("features reply is not 32 bytes plus whole ports"));
            }
            let datapath_id = r.u64()?;
            let n_buffers = r.u32()?;
            let n_tables = r.u8()?;
            r.skip(3)?;
            let capabilities = r.u32()?;
            let actions = r.u32()?;
            let mut ports = Vec::with_capacity(r.remaining() / stats::PHY_PORT_LEN);
            while !r.is_empty() {
                ports.push(stats::pull_phy_port(&mut r)?);
            }
            let features = SwitchFeatures { datapath_id, n_buffers, n_tables, auxiliary_id: 0, capabilities };
            OfMessage::FeaturesReplyPorts(FeaturesWithPorts { features, actions, ports })
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
        msg_type::PACKET_IN => packet::decode_packet_in(body)?,
        msg_type::FLOW_REMOVED => flow::decode_flow_removed(body)?,
        msg_type::PORT_STATUS => {
            if body.len() != 8 + stats::PHY_PORT_LEN {
                return Err(bad_len("port status must be 64 bytes"));
            }
            let reason = match r.u8()? {
                0 => PortReason::Add,
                1 => PortReason::Delete,
                2 => PortReason::Modify,
                _ => return Err(DecodeError::new(BadRequest::BadPacket, "unknown port-status reason")),
            };
            r.skip(7)?;
            OfMessage::PortStatus(PortStatus { reason, desc: stats::pull_phy_port(&mut r)? })
        }
        msg_type::PACKET_OUT => packet::decode_packet_out(body)?,
        msg_type::FLOW_MOD => flow::decode_flow_mod(body, session)?,
        msg_type::PORT_MOD => {
            if body.len() != 24 {
                return Err(bad_len("port-mod must be 32 bytes"));
            }
            let port_no = OfPort::from_ofp10(r.u16()?);
            let hw_addr = MacAddr(r.array()?);
            let config = r.u32()?;
            let mask = r.u32()?;
            let advertise = stats::features_from_ofp10(r.u32()?);
            OfMessage::PortMod(PortMod { port_no, hw_addr, config, mask, advertise })
        }
        msg_type::STATS_REQUEST => stats::decode_request(body)?,
        msg_type::STATS_REPLY => stats::decode_reply(body)?,
        msg_type::BARRIER_REQUEST => {
            empty(body)?;
            OfMessage::BarrierRequest
        }
        msg_type::BARRIER_REPLY => {
            empty(body)?;
            OfMessage::BarrierReply
        }
        _ => return Err(DecodeError::new(BadRequest::BadType, "unsupported OpenFlow 1.0 message type")),
    };
    Ok(msg)
}
