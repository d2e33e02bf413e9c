//! Nicira session messages: bodies of `NXT_FLOW_MOD_TABLE_ID`, `NXT_SET_PACKET_IN_FORMAT`,
//! `NXT_SET_CONTROLLER_ID` and (OpenFlow 1.0 only, as in Open vSwitch 3.1)
//! `NXT_SET_FLOW_FORMAT` and `NXT_ROLE_REQUEST`/`NXT_ROLE_REPLY`.
//!
//! The body follows the vendor header (`vendor(4) subtype(4)`), the same in OpenFlow 1.0 and
//! 1.3. Errors are Open vSwitch's: a body of the wrong size `OFPBRC_BAD_LEN`, an unknown flow
//! or packet-in format `OFPBRC_EPERM`, an unknown role `OFPRRFC_BAD_ROLE`
//! (OpenFlow 1.2+'s type 11, code 2, which this crate carries as [`OfError::Other`]).

use crate::codec::{Put, Reader};
use crate::error::{BadRequest, DecodeError, EncodeError, OfError};
use crate::msg::{ControllerRole, OfMessage, RoleMsg, Version};
use crate::nx::nxt;
use crate::session::{FlowFormat, PacketInFormat};

/// Nicira's numbers for roles (`NX_ROLE_*`).
fn nx_role_to_wire(r: ControllerRole) -> Result<u32, EncodeError> {
    match r {
        ControllerRole::Equal => Ok(0),
        ControllerRole::Master => Ok(1),
        ControllerRole::Slave => Ok(2),
        ControllerRole::NoChange => Err(EncodeError::Unrepresentable("Nicira role requests cannot say \"no change\"".into())),
    }
}

/// The subtype and body of a Nicira session message, or `None` if `msg` is not one that
/// `version` sends as a Nicira message.
pub(crate) fn put_session(msg: &OfMessage, version: Version) -> Option<Result<(u32, Vec<u8>), EncodeError>> {
    let mut b = Vec::with_capacity(8);
    let sub = match msg {
        OfMessage::SetFlowFormat(f) if version == Version::V1_0 => {
            b.put_u32(f.wire());
            nxt::SET_FLOW_FORMAT
        }
        OfMessage::FlowModTableId(on) => {
            b.put_u8(*on as u8);
            b.put_zeros(7);
            nxt::FLOW_MOD_TABLE_ID
        }
        OfMessage::SetPacketInFormat(f) => {
            b.put_u32(f.wire());
            nxt::SET_PACKET_IN_FORMAT
        }
        OfMessage::SetControllerId(id) => {
            b.put_zeros(6);
            b.put_u16(*id);
            nxt::SET_CONTROLLER_ID
        }
        OfMessage::RoleRequest(r) | OfMessage::RoleReply(r) if version == Version::V1_0 => {
            match nx_role_to_wire(r.role) {
                Ok(v) => b.put_u32(v),
                Err(e) => return Some(Err(e)),
            }
            if matches!(msg, OfMessage::RoleRequest(_)) {
                nxt::ROLE_REQUEST
            } else {
                nxt::ROLE_REPLY
            }
        }
        _ => return None,
    };
    Some(Ok((sub, b)))
}

/// Decodes the body of a Nicira session message of subtype `sub`, or `None` if `sub` is not
/// a session message in `version`.
pub(crate) fn pull_session(sub: u32, body: &[u8], version: Version) -> Option<Result<OfMessage, DecodeError>> {
    let bad_len = DecodeError::new(BadRequest::BadLen, "Nicira session message of the wrong size");
    let mut r = Reader::new(body, bad_len);
    let exact = |n: usize| if body.len() == n { Ok(()) } else { Err(bad_len) };
    let eperm = DecodeError::new(BadRequest::Eperm, "unknown format");
    (|| -> Option<Result<OfMessage, DecodeError>> {
        Some(match sub {
            nxt::SET_FLOW_FORMAT if version == Version::V1_0 => exact(4)
                .and_then(|_| r.u32())
                .and_then(|v| FlowFormat::from_wire(v).ok_or(eperm))
                .map(OfMessage::SetFlowFormat),
            nxt::FLOW_MOD_TABLE_ID => exact(8).and_then(|_| r.u8()).map(|v| OfMessage::FlowModTableId(v != 0)),
            nxt::SET_PACKET_IN_FORMAT => exact(4)
                .and_then(|_| r.u32())
                .and_then(|v| PacketInFormat::from_wire(v).ok_or(eperm))
                .map(OfMessage::SetPacketInFormat),
            nxt::SET_CONTROLLER_ID => exact(8).and_then(|_| r.skip(6)).and_then(|_| r.u16()).map(OfMessage::SetControllerId),
            nxt::ROLE_REQUEST | nxt::ROLE_REPLY if version == Version::V1_0 => exact(4).and_then(|_| r.u32()).and_then(|v| {
                let role = match v {
                    0 => ControllerRole::Equal,
                    1 => ControllerRole::Master,
                    2 => ControllerRole::Slave,
                    _ => return Err(DecodeError::new(OfError::Other { type_: 11, code: 2 }, "unknown Nicira role")),
                };
                let m = RoleMsg { role, generation_id: 0 };
                Ok(if sub == nxt::ROLE_REQUEST { OfMessage::RoleRequest(m) } else { OfMessage::RoleReply(m) })
            }),
            _ => return None,
        })
    })()
}
