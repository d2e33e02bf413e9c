//! OpenFlow 1.0 message names and the bodies of Nicira messages, as `ovs-ofctl` prints them.
//!
//! OpenFlow 1.0 numbers its message types differently from 1.3 (port-mod 15, statistics 16
//! and 17, barrier 18 and 19) and carries Open vSwitch's extensions as vendor messages
//! (`NXT_*`) and vendor statistics (`NXST_*`), which print under their own names. The
//! session messages print their setting (`format=nxm`, `enable`, `id=7`, `role=primary`).

use std::fmt::Write;

use rvs_openflow::msg::{ControllerRole, OfMessage, RoleMsg};
use rvs_openflow::nx::{nxst, nxt, NX_VENDOR_ID};
use rvs_openflow::v10::stats::st;

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// The name of a Nicira message (`NXT_*`) of subtype `sub` in wire version `version`, if
/// Open vSwitch 3.1 has it there.
pub(super) fn nxt_name(sub: u32, version: u8) -> Option<&'static str> {
    let v10 = version == 0x01;
    Some(match sub {
        nxt::ROLE_REQUEST if v10 => "NXT_ROLE_REQUEST",
        nxt::ROLE_REPLY if v10 => "NXT_ROLE_REPLY",
        nxt::SET_FLOW_FORMAT if v10 => "NXT_SET_FLOW_FORMAT",
        nxt::FLOW_MOD if v10 => "NXT_FLOW_MOD",
        nxt::FLOW_REMOVED if v10 => "NXT_FLOW_REMOVED",
        nxt::FLOW_MOD_TABLE_ID => "NXT_FLOW_MOD_TABLE_ID",
        nxt::SET_PACKET_IN_FORMAT => "NXT_SET_PACKET_IN_FORMAT",
        nxt::PACKET_IN if v10 => "NXT_PACKET_IN",
        nxt::SET_CONTROLLER_ID => "NXT_SET_CONTROLLER_ID",
        nxt::PACKET_IN2 => "NXT_PACKET_IN2",
        nxt::GROUP_MOD if v10 => "NXT_GROUP_MOD",
        _ => return None,
    })
}

/// The name of a vendor message (type 4 in both versions), if it is a known Nicira one.
pub(super) fn vendor_name(msg: &[u8]) -> Option<String> {
    if msg.len() < 16 || be32(&msg[8..]) != NX_VENDOR_ID {
        return None;
    }
    nxt_name(be32(&msg[12..]), msg[0]).map(str::to_string)
}

/// The `ofpraw` name of an OpenFlow 1.0 message, from its header (and statistics type).
pub(super) fn raw_name_v10(msg: &[u8]) -> Option<String> {
    let t = msg[1];
    let fixed = match t {
        0 => "OFPT_HELLO",
        1 => "OFPT_ERROR",
        2 => "OFPT_ECHO_REQUEST",
        3 => "OFPT_ECHO_REPLY",
        4 => return vendor_name(msg),
        5 => "OFPT_FEATURES_REQUEST",
        6 => "OFPT_FEATURES_REPLY",
        7 => "OFPT_GET_CONFIG_REQUEST",
        8 => "OFPT_GET_CONFIG_REPLY",
        9 => "OFPT_SET_CONFIG",
        10 => "OFPT_PACKET_IN",
        11 => "OFPT_FLOW_REMOVED",
        12 => "OFPT_PORT_STATUS",
        13 => "OFPT_PACKET_OUT",
        14 => "OFPT_FLOW_MOD",
        15 => "OFPT_PORT_MOD",
        18 => "OFPT_BARRIER_REQUEST",
        19 => "OFPT_BARRIER_REPLY",
        16 | 17 => {
            if msg.len() < 12 {
                return None;
            }
            let dir = if t == 16 { "request" } else { "reply" };
            let kind = match u16::from_be_bytes([msg[8], msg[9]]) {
                st::DESC => "OFPST_DESC",
                st::FLOW => "OFPST_FLOW",
                st::AGGREGATE => "OFPST_AGGREGATE",
                st::TABLE => "OFPST_TABLE",
                st::PORT => "OFPST_PORT",
                st::QUEUE => "OFPST_QUEUE",
                st::PORT_DESC => "OFPST_PORT_DESC",
                st::VENDOR if msg.len() >= 20 && be32(&msg[12..]) == NX_VENDOR_ID => match be32(&msg[16..]) {
                    nxst::FLOW => "NXST_FLOW",
                    nxst::AGGREGATE => "NXST_AGGREGATE",
                    nxst::FLOW_MONITOR => "NXST_FLOW_MONITOR",
                    nxst::GROUP => "NXST_GROUP",
                    nxst::GROUP_DESC => "NXST_GROUP_DESC",
                    nxst::GROUP_FEATURES => "NXST_GROUP_FEATURES",
                    _ => return None,
                },
                _ => return None,
            };
            return Some(format!("{kind} {dir}"));
        }
        _ => return None,
    };
    Some(fixed.to_string())
}

fn role_name(r: ControllerRole) -> &'static str {
    match r {
        ControllerRole::NoChange => "nochange",
        ControllerRole::Equal => "equal",
        ControllerRole::Master => "primary",
        ControllerRole::Slave => "secondary",
    }
}

/// The body of a Nicira session message; false if `msg` is not one.
pub(super) fn session_body(s: &mut String, msg: &OfMessage, version: u8) -> bool {
    match msg {
        OfMessage::SetFlowFormat(f) => {
            let _ = write!(s, " format={}", f.name());
        }
        OfMessage::FlowModTableId(on) => s.push_str(if *on { " enable" } else { " disable" }),
        OfMessage::SetPacketInFormat(f) => {
            let _ = write!(s, " format={}", f.name());
        }
        OfMessage::SetControllerId(id) => {
            let _ = write!(s, " id={id}");
        }
        OfMessage::RoleRequest(RoleMsg { role, .. }) | OfMessage::RoleReply(RoleMsg { role, .. }) if version == 0x01 => {
            let _ = write!(s, " role={}", role_name(*role));
        }
        _ => return false,
    }
    true
}
