//! What the two ends of one OpenFlow connection have agreed on beyond the version.
//!
//! OpenFlow 1.0 with Open vSwitch's Nicira extensions has per-connection state that changes
//! how messages are encoded and read, set by session messages the controller sends:
//!
//! | message | state | effect |
//! | --- | --- | --- |
//! | `NXT_SET_FLOW_FORMAT` | [`FlowFormat`] | flow-removed notifications (and flow-mods a client sends) use `ofp_match` or NXM |
//! | `NXT_FLOW_MOD_TABLE_ID` | `table_id_extension` | the high byte of a flow-mod's command is its table id |
//! | `NXT_SET_PACKET_IN_FORMAT` | [`PacketInFormat`] | packet-ins are `OFPT_PACKET_IN`, `NXT_PACKET_IN` or `NXT_PACKET_IN2` |
//! | `NXT_SET_CONTROLLER_ID` | `controller_id` | which `controller(id=N)` actions reach this connection |
//! | `NXT_ROLE_REQUEST` (`OFPT_ROLE_REQUEST`) | [`ControllerRole`] | whether the controller may change the switch |
//!
//! [`Session`] holds that state with the version. [`Session::decode`] and
//! [`Session::encode`] read and write messages under it; [`Session::apply`] records a
//! session message (a switch calls it for every message it receives; a client calls it once
//! the switch accepted what it sent, that is, when the barrier after it is answered).
//! [`crate::msg::decode`] and [`crate::msg::OfMessage::encode`] use the state a connection
//! starts in (standard formats, no table ids).
//!
//! Nothing here does I/O.

use crate::error::{DecodeError, EncodeError};
use crate::msg::{ControllerRole, Header, OfMessage, RoleMsg, Version};

/// How flows are expressed in OpenFlow 1.0 messages (`NXT_SET_FLOW_FORMAT`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FlowFormat {
    /// The standard `ofp_match` (`NXFF_OPENFLOW10`, wire 0).
    #[default]
    OpenFlow10,
    /// Nicira extended matches (`NXFF_NXM`, wire 2).
    Nxm,
}

impl FlowFormat {
    /// The wire number.
    pub const fn wire(self) -> u32 {
        match self {
            FlowFormat::OpenFlow10 => 0,
            FlowFormat::Nxm => 2,
        }
    }

    /// The format of a wire number, if known.
    pub fn from_wire(v: u32) -> Option<FlowFormat> {
        match v {
            0 => Some(FlowFormat::OpenFlow10),
            2 => Some(FlowFormat::Nxm),
            _ => None,
        }
    }

    /// The name `ovs-ofctl` prints (`openflow10`, `nxm`).
    pub const fn name(self) -> &'static str {
        match self {
            FlowFormat::OpenFlow10 => "openflow10",
            FlowFormat::Nxm => "nxm",
        }
    }
}

/// How packet-ins are sent (`NXT_SET_PACKET_IN_FORMAT`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PacketInFormat {
    /// The version's `OFPT_PACKET_IN` (`NXPIF_STANDARD`, wire 0).
    #[default]
    Standard,
    /// `NXT_PACKET_IN` (`NXPIF_NXT_PACKET_IN`, wire 1).
    Nxt,
    /// `NXT_PACKET_IN2` (`NXPIF_NXT_PACKET_IN2`, wire 2).
    Nxt2,
}

impl PacketInFormat {
    /// The wire number.
    pub const fn wire(self) -> u32 {
        match self {
            PacketInFormat::Standard => 0,
            PacketInFormat::Nxt => 1,
            PacketInFormat::Nxt2 => 2,
        }
    }

    /// The format of a wire number, if known.
    pub fn from_wire(v: u32) -> Option<PacketInFormat> {
        match v {
            0 => Some(PacketInFormat::Standard),
            1 => Some(PacketInFormat::Nxt),
            2 => Some(PacketInFormat::Nxt2),
            _ => None,
        }
    }

    /// The name `ovs-ofctl` prints (`standard`, `nxt_packet_in`, `nxt_packet_in2`).
    pub const fn name(self) -> &'static str {
        match self {
            PacketInFormat::Standard => "standard",
            PacketInFormat::Nxt => "nxt_packet_in",
            PacketInFormat::Nxt2 => "nxt_packet_in2",
        }
    }
}

/// The state of one connection (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    /// Negotiated version.
    pub version: Version,
    /// Flow format (OpenFlow 1.0 only).
    pub flow_format: FlowFormat,
    /// `NXT_FLOW_MOD_TABLE_ID` enabled: OpenFlow 1.0 flow-mods carry a table id.
    pub table_id_extension: bool,
    /// Packet-in format.
    pub packet_in_format: PacketInFormat,
    /// The connection's controller id (`NXT_SET_CONTROLLER_ID`).
    pub controller_id: u16,
    /// The controller's role.
    pub role: ControllerRole,
    /// The last generation id a master or slave request carried (OpenFlow 1.2+).
    pub generation_id: Option<u64>,
}

impl Session {
    /// The state a connection of `version` starts in.
    pub const fn new(version: Version) -> Session {
        Session {
            version,
            flow_format: FlowFormat::OpenFlow10,
            table_id_extension: false,
            packet_in_format: PacketInFormat::Standard,
            controller_id: 0,
            role: ControllerRole::Equal,
            generation_id: None,
        }
    }

    /// Decodes one complete message of the session's version under the session's state. A
    /// hello of any version decodes too.
    pub fn decode(&self, bytes: &[u8]) -> Result<(Header, OfMessage), DecodeError> {
        crate::msg::decode_in(self, bytes)
    }

    /// Encodes `msg` for the session with transaction id `xid`.
    pub fn encode(&self, msg: &OfMessage, xid: u32) -> Result<Vec<u8>, EncodeError> {
        match self.version {
            Version::V1_0 => crate::v10::encode(msg, xid, self),
            Version::V1_3 => crate::v13::encode(msg, xid),
        }
    }

    /// Records a session message. Returns the reply the switch owes for it (a role reply
    /// carrying the role now in force), if any. Other messages leave the state alone.
    pub fn apply(&mut self, msg: &OfMessage) -> Option<OfMessage> {
        match msg {
            OfMessage::SetFlowFormat(f) => self.flow_format = *f,
            OfMessage::FlowModTableId(on) => self.table_id_extension = *on,
            OfMessage::SetPacketInFormat(f) => self.packet_in_format = *f,
            OfMessage::SetControllerId(id) => self.controller_id = *id,
            OfMessage::RoleRequest(r) => {
                if r.role != ControllerRole::NoChange {
                    self.role = r.role;
                    if matches!(r.role, ControllerRole::Master | ControllerRole::Slave) && self.version != Version::V1_0 {
                        self.generation_id = Some(r.generation_id);
                    }
                }
                let generation_id = match self.version {
                    Version::V1_0 => 0,
                    Version::V1_3 => self.generation_id.unwrap_or(u64::MAX),
                };
                return Some(OfMessage::RoleReply(RoleMsg { role: self.role, generation_id }));
            }
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_messages_change_the_state() {
        let mut s = Session::new(Version::V1_0);
        assert_eq!(s.apply(&OfMessage::SetFlowFormat(FlowFormat::Nxm)), None);
        assert_eq!(s.apply(&OfMessage::FlowModTableId(true)), None);
        assert_eq!(s.apply(&OfMessage::SetPacketInFormat(PacketInFormat::Nxt2)), None);
        assert_eq!(s.apply(&OfMessage::SetControllerId(7)), None);
        assert_eq!(s.apply(&OfMessage::BarrierRequest), None);
        assert_eq!((s.flow_format, s.table_id_extension, s.packet_in_format, s.controller_id), (FlowFormat::Nxm, true, PacketInFormat::Nxt2, 7));
        let reply = s.apply(&OfMessage::RoleRequest(RoleMsg { role: ControllerRole::Slave, generation_id: 0 }));
        assert_eq!(reply, Some(OfMessage::RoleReply(RoleMsg { role: ControllerRole::Slave, generation_id: 0 })));
        let reply = s.apply(&OfMessage::RoleRequest(RoleMsg { role: ControllerRole::NoChange, generation_id: 0 }));
        assert_eq!(reply, Some(OfMessage::RoleReply(RoleMsg { role: ControllerRole::Slave, generation_id: 0 })));
        let mut s13 = Session::new(Version::V1_3);
        let reply = s13.apply(&OfMessage::RoleRequest(RoleMsg { role: ControllerRole::Master, generation_id: 7 }));
        assert_eq!(reply, Some(OfMessage::RoleReply(RoleMsg { role: ControllerRole::Master, generation_id: 7 })));
    }

    #[test]
    fn wire_numbers() {
        for f in [FlowFormat::OpenFlow10, FlowFormat::Nxm] {
            assert_eq!(FlowFormat::from_wire(f.wire()), Some(f));
        }
        assert_eq!(FlowFormat::from_wire(1), None);
        for f in [PacketInFormat::Standard, PacketInFormat::Nxt, PacketInFormat::Nxt2] {
            assert_eq!(PacketInFormat::from_wire(f.wire()), Some(f));
        }
        assert_eq!(PacketInFormat::from_wire(3), None);
    }
}
