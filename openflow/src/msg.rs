//! Version-neutral OpenFlow messages.
//!
//! [`OfMessage`] is what the switch and the tools exchange, whatever the wire version. A
//! message is encoded with [`OfMessage::encode`] for a [`Version`] and an xid, and decoded by
//! [`decode`], which dispatches on the version byte of the header to the OpenFlow 1.0 codec
//! ([`crate::v10`], with Open vSwitch's Nicira extensions) or the OpenFlow 1.3 one
//! ([`crate::v13`]).
//!
//! # Version-neutral, with Nicira's session messages
//! A message means the same whatever its version: an `NXT_FLOW_MOD` and an OpenFlow 1.3
//! `OFPT_FLOW_MOD` both decode to [`OfMessage::FlowMod`], `NXT_PACKET_IN2` and
//! `OFPT_PACKET_IN` to [`OfMessage::PacketIn`]. Which wire form a message takes on a
//! connection is decided by the connection's [`Session`] (flow format, table-id extension,
//! packet-in format), which the session messages ([`OfMessage::SetFlowFormat`],
//! [`OfMessage::FlowModTableId`], [`OfMessage::SetPacketInFormat`],
//! [`OfMessage::SetControllerId`], and Nicira's form of [`OfMessage::RoleRequest`]) change.
//! Two requests differ
//! in what they ask for and so stay apart: Nicira flow statistics
//! ([`OfMessage::NxStatsRequest`], answered with flow ages) and standard ones.
//!
//! # Version negotiation
//! Both sides send `OFPT_HELLO`. From OpenFlow 1.3.1 on, a hello may carry a version bitmap;
//! the agreed version is the highest one present in both bitmaps. A hello without a bitmap
//! stands for every version up to its header's version. [`negotiate`] implements both rules.

use crate::error::{BadRequest, DecodeError, EncodeError, HelloFailed, OfError};
use crate::stats::{
    AggregateStats, FlowStats, FlowStatsRequest, PortDesc, PortStats, SwitchConfig, SwitchDesc, SwitchFeatures,
    TableStats,
};
use crate::session::{FlowFormat, PacketInFormat, Session};
use crate::stats::{FeaturesWithPorts, NxFlowStats, TableStatsDesc};
use crate::table_features::TableFeatures;
use rvs_flowcache::ofp::{FlowMod, Match, OfAction, OfPort, PacketInReason};

/// An OpenFlow wire version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Version {
    /// OpenFlow 1.0 (wire 0x01).
    V1_0,
    /// OpenFlow 1.3 (wire 0x04).
    V1_3,
}

impl Version {
    /// The header's version byte.
    pub const fn wire(self) -> u8 {
        match self {
            Version::V1_0 => 0x01,
            Version::V1_3 => 0x04,
        }
    }

    /// The version of a header byte, if this crate knows it.
    pub fn from_wire(v: u8) -> Option<Version> {
        match v {
            0x01 => Some(Version::V1_0),
            0x04 => Some(Version::V1_3),
            _ => None,
        }
    }

    /// The versions this crate can encode and decode.
    pub const fn supported() -> VersionSet {
        VersionSet(1 << 0x01 | 1 << 0x04)
    }

    /// `ovs-ofctl` name (`OpenFlow13`).
    pub const fn name(self) -> &'static str {
        match self {
            Version::V1_0 => "OpenFlow10",
            Version::V1_3 => "OpenFlow13",
        }
    }
}

/// A set of wire versions, as the bitmap of a hello element (bit `n` = version byte `n`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct VersionSet(pub u32);

impl VersionSet {
    /// The set holding `v`.
    pub const fn of(v: Version) -> VersionSet {
        VersionSet(1 << v.wire())
    }

    /// Every version up to and including the wire version `max` (what a hello without a
    /// bitmap stands for).
    pub fn up_to(max: u8) -> VersionSet {
        if max >= 31 {
            VersionSet(!1)
        } else {
            VersionSet(((1u32 << (max + 1)) - 1) & !1)
        }
    }

    /// True if the wire version is in the set.
    pub fn contains(self, wire: u8) -> bool {
        wire < 32 && self.0 & (1 << wire) != 0
    }

    /// The highest wire version in the set.
    pub fn highest(self) -> Option<u8> {
        (self.0 != 0).then(|| 31 - self.0.leading_zeros() as u8)
    }

    /// Both sets.
    pub fn intersect(self, other: VersionSet) -> VersionSet {
        VersionSet(self.0 & other.0)
    }

    /// Either set.
    pub fn union(self, other: VersionSet) -> VersionSet {
        VersionSet(self.0 | other.0)
    }

    /// True if the set is every version from OpenFlow 1.0 up to its highest (a hello for
    /// it needs no version bitmap).
    pub fn is_contiguous_from_1(self) -> bool {
        self.highest().is_some_and(|h| self == VersionSet::up_to(h))
    }
}

/// Picks the version for a connection: the highest version both we (`ours`) and the peer
/// support. The peer's offer is its hello bitmap, or every version up to its header version.
/// Fails with `OFPHFC_INCOMPATIBLE` if there is none (or none this crate implements).
pub fn negotiate(ours: VersionSet, peer_header_version: u8, peer_hello: &Hello) -> Result<Version, OfError> {
    let theirs = peer_hello.versions.unwrap_or_else(|| VersionSet::up_to(peer_header_version));
    ours.intersect(theirs)
        .intersect(Version::supported())
        .highest()
        .and_then(Version::from_wire)
        .ok_or(OfError::HelloFailed(HelloFailed::Incompatible))
}

/// An OpenFlow header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Version byte.
    pub version: u8,
    /// Message type.
    pub msg_type: u8,
    /// Length of the whole message.
    pub length: u16,
    /// Transaction id.
    pub xid: u32,
}

impl Header {
    /// Reads the header of a message (the first 8 bytes; `length` must equal `bytes.len()`).
    pub fn parse(bytes: &[u8]) -> Result<Header, DecodeError> {
        if bytes.len() < 8 {
            return Err(DecodeError::new(BadRequest::BadLen, "message shorter than the OpenFlow header"));
        }
        let h = Header {
            version: bytes[0],
            msg_type: bytes[1],
            length: u16::from_be_bytes([bytes[2], bytes[3]]),
            xid: u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
        };
        if h.length as usize != bytes.len() {
            return Err(DecodeError::new(BadRequest::BadLen, "header length differs from the message size"));
        }
        Ok(h)
    }
}

/// A hello.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hello {
    /// The version bitmap element, if present.
    pub versions: Option<VersionSet>,
}

/// An error message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorMsg {
    /// Type and code.
    pub error: OfError,
    /// At least the first 64 bytes of the failed request (or ASCII text for hello failures).
    pub data: Vec<u8>,
}

impl ErrorMsg {
    /// The error for a failed `request`, carrying its first 64 bytes as OpenFlow asks.
    pub fn for_request(error: OfError, request: &[u8]) -> ErrorMsg {
        ErrorMsg { error, data: request[..request.len().min(64)].to_vec() }
    }
}

/// A packet-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketIn {
    /// Buffer holding the full packet, if the switch buffered it.
    pub buffer_id: Option<u32>,
    /// Length of the full packet.
    pub total_len: u16,
    /// Why the packet is sent.
    pub reason: PacketInReason,
    /// Table the packet was looked up in.
    pub table_id: u8,
    /// Cookie of the rule that sent it (`u64::MAX` for a table miss without a rule).
    pub cookie: u64,
    /// Pipeline fields of the packet (in_port, metadata, registers, tunnel).
    pub match_: Match,
    /// The packet (possibly truncated).
    pub data: Vec<u8>,
}

/// A packet-out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketOut {
    /// Buffered packet to send, or `None` to send `data`.
    pub buffer_id: Option<u32>,
    /// Input port of the packet (`CONTROLLER` if none).
    pub in_port: OfPort,
    /// Actions (no instructions).
    pub actions: Vec<OfAction>,
    /// The packet, when not buffered.
    pub data: Vec<u8>,
}

/// Why a rule was removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlowRemovedReason {
    /// Idle timeout.
    IdleTimeout,
    /// Hard timeout.
    HardTimeout,
    /// Deleted by a flow-mod.
    Delete,
    /// Deleted with its group.
    GroupDelete,
}

/// A flow-removed notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowRemoved {
    /// Cookie.
    pub cookie: u64,
    /// Priority.
    pub priority: u16,
    /// Reason.
    pub reason: FlowRemovedReason,
    /// Table.
    pub table_id: u8,
    /// Lifetime, seconds.
    pub duration_sec: u32,
    /// Lifetime, nanoseconds beyond `duration_sec`.
    pub duration_nsec: u32,
    /// Idle timeout.
    pub idle_timeout: u16,
    /// Hard timeout.
    pub hard_timeout: u16,
    /// Packets.
    pub packet_count: u64,
    /// Bytes.
    pub byte_count: u64,
    /// Match.
    pub match_: Match,
}

/// Why a port-status message is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PortReason {
    /// The port was added.
    Add,
    /// The port was removed.
    Delete,
    /// Some attribute changed.
    Modify,
}

/// A port-status notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortStatus {
    /// Reason.
    pub reason: PortReason,
    /// The port.
    pub desc: PortDesc,
}

/// A port-mod (`OFPT_PORT_MOD`): changes a port's `OFPPC_*` configuration bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortMod {
    /// The port.
    pub port_no: OfPort,
    /// The port's Ethernet address (a sanity check: it must match).
    pub hw_addr: rvs_packet::wire::MacAddr,
    /// New values of the `OFPPC_*` bits selected by `mask`.
    pub config: u32,
    /// The `OFPPC_*` bits to change.
    pub mask: u32,
    /// `OFPPF_*` features to advertise (0 = no change).
    pub advertise: u32,
}

/// A controller's role (`OFPCR_ROLE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ControllerRole {
    /// Keep the current role (a query).
    NoChange,
    /// Full access, as every other equal controller (the initial role).
    Equal,
    /// Full access; at most one master per switch.
    Master,
    /// Read-only access, no packet-ins by default.
    Slave,
}

/// A role request or reply (`OFPT_ROLE_REQUEST`, `OFPT_ROLE_REPLY`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoleMsg {
    /// Role.
    pub role: ControllerRole,
    /// Master election generation id.
    pub generation_id: u64,
}

/// Which asynchronous messages a connection receives (`OFPT_SET_ASYNC`,
/// `OFPT_GET_ASYNC_REPLY`): bit `n` of a mask enables reason `n`. Index 0 applies in the
/// master and equal roles, index 1 in the slave role.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AsyncConfig {
    /// Packet-in reasons (`OFPR_*`).
    pub packet_in_mask: [u32; 2],
    /// Port-status reasons (`OFPPR_*`).
    pub port_status_mask: [u32; 2],
    /// Flow-removed reasons (`OFPRR_*`).
    pub flow_removed_mask: [u32; 2],
}

/// A multipart (statistics) request body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MultipartRequest {
    /// Switch description.
    Desc,
    /// Rules.
    Flow(FlowStatsRequest),
    /// Totals over rules.
    Aggregate(FlowStatsRequest),
    /// Tables.
    Table,
    /// Port counters (`ANY` = all ports).
    PortStats {
        /// Port.
        port_no: OfPort,
    },
    /// Port descriptions.
    PortDesc,
    /// Table features: empty to ask for them, else a request to reconfigure the tables
    /// (see [`crate::table_features`]).
    TableFeatures(Vec<TableFeatures>),
    /// Queue counters.
    Queue(crate::stats::QueueStatsRequest),
    /// Group counters (`ALL_GROUPS`: every group).
    Group {
        /// Group.
        group_id: u32,
    },
    /// Group descriptions (`ALL_GROUPS`: every group; OpenFlow 1.3 always asks for all).
    GroupDesc {
        /// Group.
        group_id: u32,
    },
    /// Group features.
    GroupFeatures,
}

/// A multipart (statistics) reply body; one OpenFlow message holds a part of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MultipartReply {
    /// Switch description.
    Desc(SwitchDesc),
    /// Rules.
    Flow(Vec<FlowStats>),
    /// Totals over rules.
    Aggregate(AggregateStats),
    /// Tables.
    Table(Vec<TableStats>),
    /// Port counters.
    PortStats(Vec<PortStats>),
    /// Port descriptions.
    PortDesc(Vec<PortDesc>),
    /// Table features, one entry per table.
    TableFeatures(Vec<TableFeatures>),
    /// Tables with the description OpenFlow 1.0 sends with their counters (OpenFlow 1.3 sends
    /// the counters only).
    TableStatsDesc(Vec<TableStatsDesc>),
    /// Queue counters.
    Queue(Vec<crate::stats::QueueStats>),
    /// Group counters.
    Group(Vec<crate::group::GroupStats>),
    /// Group descriptions.
    GroupDesc(Vec<crate::group::GroupDesc>),
    /// Group features.
    GroupFeatures(crate::group::GroupFeatures),
}

/// A Nicira statistics request (`NXST_*`): flow statistics with an NXM match, and flow
/// monitors (in OpenFlow 1.3, ONF's `ONFST_FLOW_MONITOR`, the same model).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NxStatsRequest {
    /// `NXST_FLOW`.
    Flow(FlowStatsRequest),
    /// `NXST_AGGREGATE`.
    Aggregate(FlowStatsRequest),
    /// `NXST_FLOW_MONITOR`: monitors to set up.
    FlowMonitor(Vec<crate::monitor::FlowMonitorRequest>),
}

/// A Nicira statistics reply (`NXST_*`); one OpenFlow message holds a part of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NxStatsReply {
    /// `NXST_FLOW`: rules with their ages.
    Flow(Vec<NxFlowStats>),
    /// `NXST_AGGREGATE`.
    Aggregate(AggregateStats),
    /// `NXST_FLOW_MONITOR`: flow updates.
    FlowMonitor(Vec<crate::monitor::FlowUpdate>),
}

/// `OFPMPF_REQ_MORE` / `OFPMPF_REPLY_MORE`.
pub const MULTIPART_MORE: u16 = 1;

/// An OpenFlow message, independent of wire version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OfMessage {
    /// `OFPT_HELLO`.
    Hello(Hello),
    /// `OFPT_ERROR`.
    Error(ErrorMsg),
    /// `OFPT_ECHO_REQUEST` with its payload.
    EchoRequest(Vec<u8>),
    /// `OFPT_ECHO_REPLY` with its payload.
    EchoReply(Vec<u8>),
    /// `OFPT_EXPERIMENTER` (not interpreted).
    Experimenter {
        /// Experimenter id.
        experimenter: u32,
        /// Experimenter-defined type.
        exp_type: u32,
        /// Payload after the experimenter header.
        data: Vec<u8>,
    },
    /// `OFPT_FEATURES_REQUEST`.
    FeaturesRequest,
    /// `OFPT_FEATURES_REPLY`.
    FeaturesReply(SwitchFeatures),
    /// `OFPT_GET_CONFIG_REQUEST`.
    GetConfigRequest,
    /// `OFPT_GET_CONFIG_REPLY`.
    GetConfigReply(SwitchConfig),
    /// `OFPT_SET_CONFIG`.
    SetConfig(SwitchConfig),
    /// `OFPT_PACKET_IN`.
    PacketIn(PacketIn),
    /// `OFPT_FLOW_REMOVED`.
    FlowRemoved(FlowRemoved),
    /// `OFPT_PORT_STATUS`.
    PortStatus(PortStatus),
    /// `OFPT_PACKET_OUT`.
    PacketOut(PacketOut),
    /// `OFPT_FLOW_MOD`.
    FlowMod {
        /// The flow-mod.
        flow_mod: FlowMod,
        /// Buffered packet to apply the new rule to, if any.
        buffer_id: Option<u32>,
    },
    /// `OFPT_MULTIPART_REQUEST`.
    MultipartRequest {
        /// `OFPMPF_REQ_*` flags.
        flags: u16,
        /// The request.
        request: MultipartRequest,
    },
    /// `OFPT_MULTIPART_REPLY` (one part).
    MultipartReply {
        /// More parts follow.
        more: bool,
        /// This part's body.
        reply: MultipartReply,
    },
    /// `OFPT_BARRIER_REQUEST`.
    BarrierRequest,
    /// `OFPT_BARRIER_REPLY`.
    BarrierReply,
    /// `OFPT_PORT_MOD`.
    PortMod(PortMod),
    /// `OFPT_GROUP_MOD` (OpenFlow 1.1+).
    GroupMod(crate::group::GroupMod),
    /// `OFPT_ROLE_REQUEST`.
    RoleRequest(RoleMsg),
    /// `OFPT_ROLE_REPLY`.
    RoleReply(RoleMsg),
    /// `OFPT_GET_ASYNC_REQUEST`.
    GetAsyncRequest,
    /// `OFPT_GET_ASYNC_REPLY`.
    GetAsyncReply(AsyncConfig),
    /// `OFPT_SET_ASYNC`.
    SetAsync(AsyncConfig),
    /// `OFPT_FEATURES_REPLY` with the switch's ports and supported actions, as OpenFlow 1.0
    /// sends it (an OpenFlow 1.0 features reply always decodes to this).
    FeaturesReplyPorts(FeaturesWithPorts),
    /// `NXT_SET_FLOW_FORMAT` (session).
    SetFlowFormat(FlowFormat),
    /// `NXT_FLOW_MOD_TABLE_ID`: enables or disables table ids in OpenFlow 1.0 flow-mods
    /// (session).
    FlowModTableId(bool),
    /// `NXT_SET_PACKET_IN_FORMAT` (session).
    SetPacketInFormat(PacketInFormat),
    /// `NXT_SET_CONTROLLER_ID` (session).
    SetControllerId(u16),
    /// `NXST_FLOW` / `NXST_AGGREGATE` request.
    NxStatsRequest {
        /// Statistics request flags.
        flags: u16,
        /// The request.
        request: NxStatsRequest,
    },
    /// `NXST_FLOW` / `NXST_AGGREGATE` reply (one part).
    NxStatsReply {
        /// More parts follow.
        more: bool,
        /// This part's body.
        reply: NxStatsReply,
    },
}

impl OfMessage {
    /// Encodes the message for `version` with transaction id `xid`, for a connection in its
    /// initial state (see [`Session`] for the others).
    pub fn encode(&self, version: Version, xid: u32) -> Result<Vec<u8>, EncodeError> {
        Session::new(version).encode(self, xid)
    }

    /// True for the messages that change a connection's [`Session`].
    pub fn is_session(&self) -> bool {
        matches!(
            self,
            OfMessage::SetFlowFormat(_)
                | OfMessage::FlowModTableId(_)
                | OfMessage::SetPacketInFormat(_)
                | OfMessage::SetControllerId(_)
                | OfMessage::RoleRequest(_)
        )
    }

    /// A flow-mod message without a buffered packet.
    pub fn flow_mod(flow_mod: FlowMod) -> OfMessage {
        OfMessage::FlowMod { flow_mod, buffer_id: None }
    }
}

/// Encodes a multipart reply as one message or, when it does not fit in 65535 bytes, as
/// several with the "more" flag set on all but the last. Every message stays within
/// `max_len` bytes (at most 65535; entries are never split).
pub fn encode_multipart_reply(
    version: Version,
    xid: u32,
    reply: &MultipartReply,
    max_len: usize,
) -> Result<Vec<Vec<u8>>, EncodeError> {
    match version {
        Version::V1_0 => crate::v10::stats::encode_reply_split(xid, reply, max_len),
        Version::V1_3 => crate::v13::multipart::encode_reply_split(xid, reply, max_len),
    }
}

/// Encodes a Nicira statistics reply as one message or, like [`encode_multipart_reply`],
/// as several within `max_len` bytes each. OpenFlow 1.0 has them all; OpenFlow 1.3 has the
/// flow monitor only, as ONF's `ONFST_FLOW_MONITOR` ([`crate::v13::monitor`]).
pub fn encode_nx_stats_reply(
    version: Version,
    xid: u32,
    reply: &NxStatsReply,
    max_len: usize,
) -> Result<Vec<Vec<u8>>, EncodeError> {
    match version {
        Version::V1_0 => crate::v10::stats::encode_nx_reply_split(xid, reply, max_len),
        Version::V1_3 => crate::v13::multipart::encode_nx_reply_split(xid, reply, max_len),
    }
}

/// Decodes one complete message (as cut by [`crate::framing`]) for a connection in its
/// initial state (see [`Session::decode`] for the others).
pub fn decode(bytes: &[u8]) -> Result<(Header, OfMessage), DecodeError> {
    let header = Header::parse(bytes)?;
    match Version::from_wire(header.version) {
        Some(v) => decode_in(&Session::new(v), bytes),
        // A hello of any version is understood, so that negotiation can answer it.
        _ if header.msg_type == 0 => crate::v13::decode_hello(bytes).map(|h| (header, OfMessage::Hello(h))),
        _ => Err(DecodeError::new(BadRequest::BadVersion, "unsupported OpenFlow version")),
    }
}

/// Decodes one complete message under `session`'s state. A message of another version than
/// the session's is decoded in its own version's initial state.
pub(crate) fn decode_in(session: &Session, bytes: &[u8]) -> Result<(Header, OfMessage), DecodeError> {
    let header = Header::parse(bytes)?;
    let initial;
    let session = if header.version == session.version.wire() {
        session
    } else {
        match Version::from_wire(header.version) {
            Some(v) => {
                initial = Session::new(v);
                &initial
            }
            None if header.msg_type == 0 => {
                return crate::v13::decode_hello(bytes).map(|h| (header, OfMessage::Hello(h)));
            }
            None => return Err(DecodeError::new(BadRequest::BadVersion, "unsupported OpenFlow version")),
        }
    };
    match session.version {
        Version::V1_0 => crate::v10::decode(header, bytes, session).map(|m| (header, m)),
        Version::V1_3 => crate::v13::decode(header, bytes).map(|m| (header, m)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_picks_the_highest_common_version() {
        let ours = VersionSet::of(Version::V1_3);
        let bitmap = Hello { versions: Some(VersionSet((1 << 1) | (1 << 4) | (1 << 5))) };
        assert_eq!(negotiate(ours, 5, &bitmap), Ok(Version::V1_3));
        let only10 = Hello { versions: Some(VersionSet(1 << 1)) };
        assert_eq!(negotiate(ours, 1, &only10), Err(OfError::HelloFailed(HelloFailed::Incompatible)));
        // Both versions on our side: an OpenFlow 1.0 peer (ovs-ofctl's default) gets 1.0.
        let both = VersionSet::of(Version::V1_0).union(VersionSet::of(Version::V1_3));
        assert_eq!(negotiate(both, 1, &Hello::default()), Ok(Version::V1_0));
        assert_eq!(negotiate(both, 6, &Hello::default()), Ok(Version::V1_3));
        assert_eq!(negotiate(both, 3, &Hello::default()), Ok(Version::V1_0));
        // No bitmap: everything up to the header version.
        assert_eq!(negotiate(ours, 6, &Hello::default()), Ok(Version::V1_3));
        assert_eq!(negotiate(ours, 3, &Hello::default()), Err(OfError::HelloFailed(HelloFailed::Incompatible)));
    }

    #[test]
    fn version_sets() {
        assert_eq!(VersionSet::up_to(4), VersionSet(0b11110));
        assert_eq!(VersionSet::up_to(4).highest(), Some(4));
        assert!(VersionSet::up_to(4).contains(1));
        assert!(!VersionSet::up_to(4).contains(40));
        assert_eq!(VersionSet(0).highest(), None);
    }

    #[test]
    fn header_must_match_the_message_size() {
        assert!(Header::parse(&[4, 0, 0, 8, 0, 0, 0, 1]).is_ok());
        assert_eq!(Header::parse(&[4, 0, 0, 9, 0, 0, 0, 1]).unwrap_err().error, OfError::BadRequest(BadRequest::BadLen));
        assert_eq!(Header::parse(&[4, 0, 0]).unwrap_err().error, OfError::BadRequest(BadRequest::BadLen));
    }
}
