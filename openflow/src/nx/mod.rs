//! Nicira (Open vSwitch) extensions: vendor id, message, statistics and action subtypes,
//! extension errors, and the parts shared by every version.
//!
//! Open vSwitch carries what OpenFlow lacks as vendor (experimenter) extensions with vendor
//! id [`NX_VENDOR_ID`]:
//!
//! * messages (`NXT_*`, [`nxt`]): a vendor message whose header is followed by the vendor id
//!   and a 32-bit subtype. OpenFlow 1.0 calls the message type `OFPT_VENDOR`, OpenFlow 1.3
//!   `OFPT_EXPERIMENTER`; both are type 4 with the same layout, so [`messages`] encodes and
//!   decodes the session messages for both. `NXT_FLOW_MOD`, `NXT_FLOW_REMOVED`,
//!   `NXT_PACKET_IN` and `NXT_PACKET_IN2` live in [`crate::v10`], the only codec here that
//!   uses them.
//! * statistics (`NXST_*`, [`nxst`]): vendor statistics with a 32-bit subtype.
//! * actions (`NXAST_*`, [`subtype`], [`actions`]): `resubmit`, `load`, `move`, `note`,
//!   `dec_ttl` (with controller ids), `controller` with a reason or id, `output` with
//!   truncation, queues, `write_metadata`; `learn`, `conjunction`, `fin_timeout` (module
//!   `learn`); `set_tunnel`, output to a field, `sample` (module `extra`): the same bytes in
//!   every version.
//! * errors (`NXBRC_*`, [`crate::error::NxError`]).

pub(crate) mod actions;
pub(crate) mod conntrack;
pub(crate) mod extra;
pub(crate) mod hashsel;
pub(crate) mod learn;
pub(crate) mod messages;
pub(crate) mod mpls;
pub(crate) mod nest;

use crate::error::OfError;

/// Nicira's vendor (experimenter) id.
pub const NX_VENDOR_ID: u32 = 0x0000_2320;

/// `NXT_*` message subtypes.
pub mod nxt {
    /// `NXT_ROLE_REQUEST`.
    pub const ROLE_REQUEST: u32 = 10;
    /// `NXT_ROLE_REPLY`.
    pub const ROLE_REPLY: u32 = 11;
    /// `NXT_SET_FLOW_FORMAT`.
    pub const SET_FLOW_FORMAT: u32 = 12;
    /// `NXT_FLOW_MOD`.
    pub const FLOW_MOD: u32 = 13;
    /// `NXT_FLOW_REMOVED`.
    pub const FLOW_REMOVED: u32 = 14;
    /// `NXT_FLOW_MOD_TABLE_ID`.
    pub const FLOW_MOD_TABLE_ID: u32 = 15;
    /// `NXT_SET_PACKET_IN_FORMAT`.
    pub const SET_PACKET_IN_FORMAT: u32 = 16;
    /// `NXT_PACKET_IN`.
    pub const PACKET_IN: u32 = 17;
    /// `NXT_SET_CONTROLLER_ID`.
    pub const SET_CONTROLLER_ID: u32 = 20;
    /// `NXT_PACKET_IN2`.
    pub const PACKET_IN2: u32 = 30;
    /// `NXT_GROUP_MOD` (OpenFlow 1.5's layout).
    pub const GROUP_MOD: u32 = 31;
}

/// `NXST_*` statistics subtypes.
pub mod nxst {
    /// `NXST_FLOW`.
    pub const FLOW: u32 = 0;
    /// `NXST_AGGREGATE`.
    pub const AGGREGATE: u32 = 1;
    /// `NXST_FLOW_MONITOR`.
    pub const FLOW_MONITOR: u32 = 2;
    /// `NXST_GROUP`: group statistics.
    pub const GROUP: u32 = 7;
    /// `NXST_GROUP_DESC`: group descriptions.
    pub const GROUP_DESC: u32 = 8;
    /// `NXST_GROUP_FEATURES`: group features.
    pub const GROUP_FEATURES: u32 = 9;
}

/// `NXAST_*` action subtypes.
pub mod subtype {
    /// `resubmit:PORT`.
    pub const RESUBMIT: u16 = 1;
    /// `set_queue` (Nicira form).
    pub const SET_QUEUE: u16 = 4;
    /// `pop_queue`.
    pub const POP_QUEUE: u16 = 5;
    /// `move`.
    pub const REG_MOVE: u16 = 6;
    /// `load`.
    pub const REG_LOAD: u16 = 7;
    /// `note`.
    pub const NOTE: u16 = 8;
    /// `resubmit(PORT,TABLE)`.
    pub const RESUBMIT_TABLE: u16 = 14;
    /// `dec_ttl` (Nicira form, OpenFlow 1.0).
    pub const DEC_TTL: u16 = 18;
    /// `controller(...)`.
    pub const CONTROLLER: u16 = 20;
    /// `dec_ttl(ids)`.
    pub const DEC_TTL_CNT_IDS: u16 = 21;
    /// `write_metadata` (Nicira form, OpenFlow 1.0).
    pub const WRITE_METADATA: u16 = 22;
    /// `load` with an OXM entry.
    pub const REG_LOAD2: u16 = 33;
    /// `controller(...)` with properties.
    pub const CONTROLLER2: u16 = 37;
    /// `output(port=P,max_len=N)`.
    pub const OUTPUT_TRUNC: u16 = 39;
    /// `group:N` (OpenFlow 1.0's form).
    pub const GROUP: u16 = 40;
}

/// `NXAC2PT_*` properties of `NXAST_CONTROLLER2`.
pub mod controller2_prop {
    /// Maximum bytes to send (u16).
    pub const MAX_LEN: u16 = 0;
    /// Controller id (u16).
    pub const CONTROLLER_ID: u16 = 1;
    /// Packet-in reason (u8).
    pub const REASON: u16 = 2;
    /// Opaque user data.
    pub const USERDATA: u16 = 3;
    /// Pause the pipeline.
    pub const PAUSE: u16 = 4;
    /// Meter id (u32).
    pub const METER_ID: u16 = 5;
}

/// `NXBRC_MUST_BE_ZERO`: reserved bytes that must be zero were not.
pub const NXBRC_MUST_BE_ZERO: OfError = OfError::Nicira(crate::error::NxError::MustBeZero);
