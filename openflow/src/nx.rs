//! Nicira (Open vSwitch) extensions: vendor id, action subtypes and extension errors.
//!
//! Open vSwitch carries the actions OpenFlow lacks (`resubmit`, `load`, `move`, `note`,
//! `dec_ttl` with controller ids, `controller` with a reason or id, `output` with truncation)
//! as experimenter actions with vendor id [`NX_VENDOR_ID`] and a 16-bit subtype, in every
//! OpenFlow version. The layouts are shared by the OpenFlow 1.0 and 1.3 codecs; the
//! constants live here so that both use the same numbers.

use crate::error::OfError;

/// Nicira's vendor (experimenter) id.
pub const NX_VENDOR_ID: u32 = 0x0000_2320;

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
    /// `load` with an OXM entry.
    pub const REG_LOAD2: u16 = 33;
    /// `controller(...)` with properties.
    pub const CONTROLLER2: u16 = 37;
    /// `output(port=P,max_len=N)`.
    pub const OUTPUT_TRUNC: u16 = 39;
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

/// `NXBRC_MUST_BE_ZERO`: reserved bytes that must be zero were not (a Nicira extension
/// error, sent as an experimenter error from OpenFlow 1.2 on).
pub const NXBRC_MUST_BE_ZERO: OfError = OfError::Experimenter { experimenter: NX_VENDOR_ID, exp_type: 5 };
