//! OpenFlow errors: the (type, code) pairs a switch sends back, and the errors of this crate.
//!
//! [`OfError`] names every error the codec and the checker produce, grouped by OpenFlow error
//! type, with the code names Open vSwitch uses (`OFPBMC_BAD_PREREQ`, `OFPBAC_MATCH_INCONSISTENT`,
//! ...), so that `Display` prints what `ovs-ofctl` prints.
//!
//! # Numbering
//! The same error has different numbers in different versions. [`OfError::to_wire`] gives the
//! numbers for OpenFlow 1.3; errors that OpenFlow 1.3 lacks and Open vSwitch sends as
//! experimenter errors (ONF's `OFPBIC_DUP_INST`, Nicira's `NXBRC_*`) come out as
//! [`WireError::Experimenter`]. [`OfError::to_wire_v10`] gives the OpenFlow 1.0 numbers
//! ([`v10`]): the standard ones where OpenFlow 1.0 has the error, else Open vSwitch's Nicira
//! vendor error (`NXET_VENDOR`, [`WireError::Vendor`]); an error Open vSwitch cannot express in
//! OpenFlow 1.0 at all becomes `NXBRC_UNENCODABLE_ERROR`, as Open vSwitch sends it. Both tables
//! are checked against `ovs-ofctl print-error` (`tests/data/errors.txt`).
//!
//! [`DecodeError`] is what decoding untrusted bytes returns: the OpenFlow error to answer with,
//! plus a short static description for logs. [`EncodeError`] is what encoding a model value
//! that a wire version cannot express returns.

pub mod v10;

use std::fmt;

macro_rules! codes {
    ($(#[$doc:meta])* $name:ident { $( $(#[$vdoc:meta])* $variant:ident = $code:literal, $cname:literal; )* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vdoc])* $variant, )*
        }

        impl $name {
            /// Every code of this type.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )* ];

            /// The code number (for OpenFlow 1.3).
            pub const fn code(self) -> u16 {
                match self { $( $name::$variant => $code, )* }
            }

            /// The Open vSwitch name of the code.
            pub const fn name(self) -> &'static str {
                match self { $( $name::$variant => $cname, )* }
            }

            /// The code of a number, if known.
            pub fn from_code(code: u16) -> Option<$name> {
                Self::ALL.iter().copied().find(|c| c.code() == code)
            }
        }
    };
}

codes! {
    /// `OFPET_HELLO_FAILED` codes.
    HelloFailed {
        /// No compatible version.
        Incompatible = 0, "OFPHFC_INCOMPATIBLE";
        /// Permissions error.
        Eperm = 1, "OFPHFC_EPERM";
    }
}

codes! {
    /// `OFPET_BAD_REQUEST` codes.
    BadRequest {
        /// Version not supported.
        BadVersion = 0, "OFPBRC_BAD_VERSION";
        /// Message type not supported.
        BadType = 1, "OFPBRC_BAD_TYPE";
        /// Multipart type not supported.
        BadMultipart = 2, "OFPBRC_BAD_STAT";
        /// Experimenter id not supported.
        BadExperimenter = 3, "OFPBRC_BAD_VENDOR";
        /// Experimenter type not supported.
        BadExpType = 4, "OFPBRC_BAD_SUBTYPE";
        /// Permissions error.
        Eperm = 5, "OFPBRC_EPERM";
        /// Wrong length for the type.
        BadLen = 6, "OFPBRC_BAD_LEN";
        /// Buffer already used.
        BufferEmpty = 7, "OFPBRC_BUFFER_EMPTY";
        /// Buffer does not exist.
        BufferUnknown = 8, "OFPBRC_BUFFER_UNKNOWN";
        /// Table id out of range.
        BadTableId = 9, "OFPBRC_BAD_TABLE_ID";
        /// Denied because the controller is a secondary (slave).
        IsSlave = 10, "OFPBRC_IS_SECONDARY";
        /// Invalid port.
        BadPort = 11, "OFPBRC_BAD_PORT";
        /// Invalid packet in a packet-out.
        BadPacket = 12, "OFPBRC_BAD_PACKET";
        /// Multipart request overflowed the buffer.
        MultipartBufferOverflow = 13, "OFPBRC_MULTIPART_BUFFER_OVERFLOW";
    }
}

codes! {
    /// `OFPET_BAD_ACTION` codes.
    BadAction {
        /// Unknown action type.
        BadType = 0, "OFPBAC_BAD_TYPE";
        /// Length problem in actions.
        BadLen = 1, "OFPBAC_BAD_LEN";
        /// Unknown experimenter id.
        BadExperimenter = 2, "OFPBAC_BAD_VENDOR";
        /// Unknown action for the experimenter id.
        BadExpType = 3, "OFPBAC_BAD_VENDOR_TYPE";
        /// Problem validating the output port.
        BadOutPort = 4, "OFPBAC_BAD_OUT_PORT";
        /// Bad action argument.
        BadArgument = 5, "OFPBAC_BAD_ARGUMENT";
        /// Permissions error.
        Eperm = 6, "OFPBAC_EPERM";
        /// Too many actions.
        TooMany = 7, "OFPBAC_TOO_MANY";
        /// Problem validating the output queue.
        BadQueue = 8, "OFPBAC_BAD_QUEUE";
        /// Invalid group id.
        BadOutGroup = 9, "OFPBAC_BAD_OUT_GROUP";
        /// Action cannot apply to this match, or a set-field lacks its prerequisites.
        MatchInconsistent = 10, "OFPBAC_MATCH_INCONSISTENT";
        /// Action order is unsupported.
        UnsupportedOrder = 11, "OFPBAC_UNSUPPORTED_ORDER";
        /// Action uses an unsupported tag or encapsulation.
        BadTag = 12, "OFPBAC_BAD_TAG";
        /// Unsupported type in a set-field action.
        BadSetType = 13, "OFPBAC_BAD_SET_TYPE";
        /// Length problem in a set-field action.
        BadSetLen = 14, "OFPBAC_BAD_SET_LEN";
        /// Bad argument in a set-field action.
        BadSetArgument = 15, "OFPBAC_BAD_SET_ARGUMENT";
    }
}

codes! {
    /// `OFPET_BAD_INSTRUCTION` codes.
    BadInstruction {
        /// Unknown instruction.
        UnknownInst = 0, "OFPBIC_UNKNOWN_INST";
        /// Switch or table does not support the instruction.
        UnsupInst = 1, "OFPBIC_UNSUP_INST";
        /// Invalid table id.
        BadTableId = 2, "OFPBIC_BAD_TABLE_ID";
        /// Metadata value unsupported.
        UnsupMetadata = 3, "OFPBIC_UNSUP_METADATA";
        /// Metadata mask unsupported.
        UnsupMetadataMask = 4, "OFPBIC_UNSUP_METADATA_MASK";
        /// Unknown experimenter id.
        BadExperimenter = 5, "OFPBIC_BAD_EXPERIMENTER";
        /// Unknown instruction for the experimenter id.
        BadExpType = 6, "OFPBIC_BAD_EXP_TYPE";
        /// Length problem in instructions.
        BadLen = 7, "OFPBIC_BAD_LEN";
        /// Permissions error.
        Eperm = 8, "OFPBIC_EPERM";
        /// The same instruction twice (an ONF extension error in OpenFlow 1.3).
        DupInst = 2600, "OFPBIC_DUP_INST";
    }
}

codes! {
    /// `OFPET_BAD_MATCH` codes.
    BadMatch {
        /// Unsupported match type.
        BadType = 0, "OFPBMC_BAD_TYPE";
        /// Length problem in the match.
        BadLen = 1, "OFPBMC_BAD_LEN";
        /// Unsupported tag or encapsulation.
        BadTag = 2, "OFPBMC_BAD_TAG";
        /// Unsupported datalink address mask.
        BadDlAddrMask = 3, "OFPBMC_BAD_DL_ADDR_MASK";
        /// Unsupported network address mask.
        BadNwAddrMask = 4, "OFPBMC_BAD_NW_ADDR_MASK";
        /// Unsupported wildcards, or value bits set outside the mask.
        BadWildcards = 5, "OFPBMC_BAD_WILDCARDS";
        /// Unsupported field.
        BadField = 6, "OFPBMC_BAD_FIELD";
        /// Unsupported value in a match field.
        BadValue = 7, "OFPBMC_BAD_VALUE";
        /// Unsupported mask.
        BadMask = 8, "OFPBMC_BAD_MASK";
        /// A prerequisite was not met.
        BadPrereq = 9, "OFPBMC_BAD_PREREQ";
        /// A field appears twice.
        DupField = 10, "OFPBMC_DUP_FIELD";
        /// Permissions error.
        Eperm = 11, "OFPBMC_EPERM";
    }
}

codes! {
    /// `OFPET_FLOW_MOD_FAILED` codes.
    FlowModFailed {
        /// Unspecified error.
        Unknown = 0, "OFPFMFC_UNKNOWN";
        /// The table is full.
        TableFull = 1, "OFPFMFC_TABLE_FULL";
        /// Table does not exist.
        BadTableId = 2, "OFPFMFC_BAD_TABLE_ID";
        /// `check_overlap` found an overlapping rule.
        Overlap = 3, "OFPFMFC_OVERLAP";
        /// Permissions error.
        Eperm = 4, "OFPFMFC_EPERM";
        /// Timeouts not supported.
        BadTimeout = 5, "OFPFMFC_BAD_TIMEOUT";
        /// Unknown command.
        BadCommand = 6, "OFPFMFC_BAD_COMMAND";
        /// Unsupported or unknown flags.
        BadFlags = 7, "OFPFMFC_BAD_FLAGS";
    }
}

codes! {
    /// `OFPET_PORT_MOD_FAILED` codes.
    PortModFailed {
        /// No such port.
        BadPort = 0, "OFPPMFC_BAD_PORT";
        /// Hardware address does not match.
        BadHwAddr = 1, "OFPPMFC_BAD_HW_ADDR";
        /// Bad configuration.
        BadConfig = 2, "OFPPMFC_BAD_CONFIG";
        /// Bad advertised features.
        BadAdvertise = 3, "OFPPMFC_BAD_ADVERTISE";
        /// Permissions error.
        Eperm = 4, "OFPPMFC_EPERM";
    }
}

codes! {
    /// `OFPET_GROUP_MOD_FAILED` codes.
    GroupModFailed {
        /// A group with this id exists already.
        GroupExists = 0, "OFPGMFC_GROUP_EXISTS";
        /// The group id is reserved or out of range.
        InvalidGroup = 1, "OFPGMFC_INVALID_GROUP";
        /// Unequal weights are not supported.
        WeightUnsupported = 2, "OFPGMFC_WEIGHT_UNSUPPORTED";
        /// The group table is full.
        OutOfGroups = 3, "OFPGMFC_OUT_OF_GROUPS";
        /// Too many buckets.
        OutOfBuckets = 4, "OFPGMFC_OUT_OF_BUCKETS";
        /// Groups may not forward to groups.
        ChainingUnsupported = 5, "OFPGMFC_CHAINING_UNSUPPORTED";
        /// Watching a port or group is not supported.
        WatchUnsupported = 6, "OFPGMFC_WATCH_UNSUPPORTED";
        /// The group would forward to itself.
        Loop = 7, "OFPGMFC_LOOP";
        /// Modify of a group that does not exist.
        UnknownGroup = 8, "OFPGMFC_UNKNOWN_GROUP";
        /// Delete of a group another group forwards to.
        ChainedGroup = 9, "OFPGMFC_CHAINED_GROUP";
        /// Unsupported or unknown group type.
        BadType = 10, "OFPGMFC_BAD_TYPE";
        /// Unsupported or unknown command.
        BadCommand = 11, "OFPGMFC_BAD_COMMAND";
        /// A bucket is wrong.
        BadBucket = 12, "OFPGMFC_BAD_BUCKET";
        /// A watched port or group is wrong.
        BadWatch = 13, "OFPGMFC_BAD_WATCH";
        /// Permissions error.
        Eperm = 14, "OFPGMFC_EPERM";
    }
}

codes! {
    /// `OFPET_QUEUE_OP_FAILED` codes.
    QueueOpFailed {
        /// No such port.
        BadPort = 0, "OFPQOFC_BAD_PORT";
        /// No such queue.
        BadQueue = 1, "OFPQOFC_BAD_QUEUE";
        /// Permissions error.
        Eperm = 2, "OFPQOFC_EPERM";
    }
}

codes! {
    /// `OFPET_TABLE_MOD_FAILED` codes.
    TableModFailed {
        /// No such table.
        BadTable = 0, "OFPTMFC_BAD_TABLE";
        /// Bad configuration.
        BadConfig = 1, "OFPTMFC_BAD_CONFIG";
        /// Permissions error.
        Eperm = 2, "OFPTMFC_EPERM";
    }
}

codes! {
    /// `OFPET_SWITCH_CONFIG_FAILED` codes.
    SwitchConfigFailed {
        /// Bad flags.
        BadFlags = 0, "OFPSCFC_BAD_FLAGS";
        /// Bad miss_send_len.
        BadLen = 1, "OFPSCFC_BAD_LEN";
        /// Permissions error.
        Eperm = 2, "OFPSCFC_EPERM";
    }
}

codes! {
    /// `OFPET_TABLE_FEATURES_FAILED` codes.
    TableFeaturesFailed {
        /// No such table.
        BadTable = 0, "OFPTFFC_BAD_TABLE";
        /// Bad metadata mask.
        BadMetadata = 1, "OFPTFFC_BAD_METADATA";
        /// Unknown property type (Open vSwitch's name in OpenFlow 1.3).
        BadPropType = 2, "OFPBPC_BAD_TYPE";
        /// Length problem in a property (Open vSwitch's name in OpenFlow 1.3).
        BadPropLen = 3, "OFPBPC_BAD_LEN";
        /// Unsupported property value (Open vSwitch's name in OpenFlow 1.3).
        BadPropValue = 4, "OFPBPC_BAD_VALUE";
        /// Permissions error (the switch does not let its tables be reconfigured).
        Eperm = 5, "OFPTFFC_EPERM";
    }
}

codes! {
    /// Nicira extension errors (`NXBRC_*`). The code is the experimenter type they carry from
    /// OpenFlow 1.2 on; OpenFlow 1.0 numbers them differently (see [`v10`]).
    NxError {
        /// Invalid NXM match.
        NxmInvalid = 2, "NXBRC_NXM_INVALID";
        /// Unknown NXM header, or a header with a bad length or mask bit.
        NxmBadType = 3, "NXBRC_NXM_BAD_TYPE";
        /// Reserved bytes that must be zero were not.
        MustBeZero = 4, "NXBRC_MUST_BE_ZERO";
        /// Unknown packet-in reason.
        BadReason = 5, "NXBRC_BAD_REASON";
        /// The error to send cannot be expressed in the connection's version.
        UnencodableError = 10, "NXBRC_UNENCODABLE_ERROR";
    }
}

/// The ONF experimenter id, used by ONF extension errors and OXMs.
pub const ONF_EXPERIMENTER: u32 = 0x4f4e_4600;

/// An OpenFlow error, as carried by `OFPT_ERROR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OfError {
    /// `OFPET_HELLO_FAILED`.
    HelloFailed(HelloFailed),
    /// `OFPET_BAD_REQUEST`.
    BadRequest(BadRequest),
    /// `OFPET_BAD_ACTION`.
    BadAction(BadAction),
    /// `OFPET_BAD_INSTRUCTION`.
    BadInstruction(BadInstruction),
    /// `OFPET_BAD_MATCH`.
    BadMatch(BadMatch),
    /// `OFPET_FLOW_MOD_FAILED`.
    FlowModFailed(FlowModFailed),
    /// `OFPET_PORT_MOD_FAILED`.
    PortModFailed(PortModFailed),
    /// `OFPET_GROUP_MOD_FAILED`.
    GroupModFailed(GroupModFailed),
    /// `OFPET_QUEUE_OP_FAILED`.
    QueueOpFailed(QueueOpFailed),
    /// `OFPET_TABLE_MOD_FAILED`.
    TableModFailed(TableModFailed),
    /// `OFPET_SWITCH_CONFIG_FAILED`.
    SwitchConfigFailed(SwitchConfigFailed),
    /// `OFPET_TABLE_FEATURES_FAILED`.
    TableFeaturesFailed(TableFeaturesFailed),
    /// A Nicira extension error.
    Nicira(NxError),
    /// A standard error type and code this crate does not name (received from a peer).
    Other {
        /// Error type.
        type_: u16,
        /// Error code.
        code: u16,
    },
    /// An experimenter error this crate does not name.
    Experimenter {
        /// Experimenter id.
        experimenter: u32,
        /// Experimenter-defined type.
        exp_type: u16,
    },
    /// An OpenFlow 1.0 vendor error (`NXET_VENDOR`) this crate does not name.
    Vendor {
        /// Vendor id.
        vendor: u32,
        /// Vendor-defined type.
        type_: u16,
        /// Vendor-defined code.
        code: u16,
    },
}

/// How an [`OfError`] is numbered on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    /// A standard error type and code.
    Standard {
        /// Error type.
        type_: u16,
        /// Error code.
        code: u16,
    },
    /// `OFPET_EXPERIMENTER` with an experimenter type and id.
    Experimenter {
        /// Experimenter-defined type.
        exp_type: u16,
        /// Experimenter id.
        experimenter: u32,
    },
    /// OpenFlow 1.0's `NXET_VENDOR` error (type `0xb0c2`, code 0), followed by a vendor id,
    /// type and code.
    Vendor {
        /// Vendor id.
        vendor: u32,
        /// Vendor-defined type.
        type_: u16,
        /// Vendor-defined code.
        code: u16,
    },
}

/// `OFPET_EXPERIMENTER`.
pub const OFPET_EXPERIMENTER: u16 = 0xffff;

impl OfError {
    /// The OpenFlow 1.3 numbering of the error.
    pub fn to_wire(self) -> WireError {
        let std = |type_: u16, code: u16| WireError::Standard { type_, code };
        match self {
            OfError::HelloFailed(c) => std(0, c.code()),
            OfError::BadRequest(c) => std(1, c.code()),
            OfError::BadAction(c) => std(2, c.code()),
            OfError::BadInstruction(BadInstruction::DupInst) => {
                WireError::Experimenter { exp_type: BadInstruction::DupInst.code(), experimenter: ONF_EXPERIMENTER }
            }
            OfError::BadInstruction(c) => std(3, c.code()),
            OfError::BadMatch(c) => std(4, c.code()),
            OfError::FlowModFailed(c) => std(5, c.code()),
            OfError::GroupModFailed(c) => std(6, c.code()),
            OfError::PortModFailed(c) => std(7, c.code()),
            OfError::QueueOpFailed(c) => std(9, c.code()),
            OfError::TableModFailed(c) => std(8, c.code()),
            OfError::SwitchConfigFailed(c) => std(10, c.code()),
            OfError::TableFeaturesFailed(c) => std(13, c.code()),
            OfError::Nicira(c) => WireError::Experimenter { exp_type: c.code(), experimenter: crate::nx::NX_VENDOR_ID },
            OfError::Other { type_, code } => std(type_, code),
            OfError::Experimenter { experimenter, exp_type } => WireError::Experimenter { exp_type, experimenter },
            // OpenFlow 1.2+ experimenter errors have no code.
            OfError::Vendor { vendor, type_, .. } => WireError::Experimenter { exp_type: type_, experimenter: vendor },
        }
    }

    /// The error of an OpenFlow 1.3 numbering.
    pub fn from_wire(w: WireError) -> OfError {
        match w {
            WireError::Standard { type_, code } => {
                let known = match type_ {
                    0 => HelloFailed::from_code(code).map(OfError::HelloFailed),
                    1 => BadRequest::from_code(code).map(OfError::BadRequest),
                    2 => BadAction::from_code(code).map(OfError::BadAction),
                    3 => BadInstruction::from_code(code).filter(|c| *c != BadInstruction::DupInst).map(OfError::BadInstruction),
                    4 => BadMatch::from_code(code).map(OfError::BadMatch),
                    5 => FlowModFailed::from_code(code).map(OfError::FlowModFailed),
                    6 => GroupModFailed::from_code(code).map(OfError::GroupModFailed),
                    7 => PortModFailed::from_code(code).map(OfError::PortModFailed),
                    9 => QueueOpFailed::from_code(code).map(OfError::QueueOpFailed),
                    8 => TableModFailed::from_code(code).map(OfError::TableModFailed),
                    10 => SwitchConfigFailed::from_code(code).map(OfError::SwitchConfigFailed),
                    13 => TableFeaturesFailed::from_code(code).map(OfError::TableFeaturesFailed),
                    _ => None,
                };
                known.unwrap_or(OfError::Other { type_, code })
            }
            WireError::Experimenter { exp_type, experimenter } => {
                if experimenter == ONF_EXPERIMENTER && exp_type == BadInstruction::DupInst.code() {
                    OfError::BadInstruction(BadInstruction::DupInst)
                } else if let Some(c) = NxError::from_code(exp_type).filter(|_| experimenter == crate::nx::NX_VENDOR_ID) {
                    OfError::Nicira(c)
                } else {
                    OfError::Experimenter { experimenter, exp_type }
                }
            }
            WireError::Vendor { vendor, type_, code } => OfError::Vendor { vendor, type_, code },
        }
    }

    /// The Open vSwitch name (`OFPBMC_BAD_PREREQ`), or a numeric description for unknown codes.
    pub fn name(self) -> String {
        match self {
            OfError::HelloFailed(c) => c.name().into(),
            OfError::BadRequest(c) => c.name().into(),
            OfError::BadAction(c) => c.name().into(),
            OfError::BadInstruction(c) => c.name().into(),
            OfError::BadMatch(c) => c.name().into(),
            OfError::FlowModFailed(c) => c.name().into(),
            OfError::PortModFailed(c) => c.name().into(),
            OfError::GroupModFailed(c) => c.name().into(),
            OfError::QueueOpFailed(c) => c.name().into(),
            OfError::TableModFailed(c) => c.name().into(),
            OfError::SwitchConfigFailed(c) => c.name().into(),
            OfError::TableFeaturesFailed(c) => c.name().into(),
            OfError::Nicira(c) => c.name().into(),
            OfError::Other { type_, code } => format!("OFPET({type_},{code})"),
            OfError::Experimenter { experimenter, exp_type } => format!("OFPET_EXPERIMENTER({experimenter:#x},{exp_type})"),
            OfError::Vendor { vendor, type_, code } => format!("NXET_VENDOR({vendor:#x},{type_},{code})"),
        }
    }
}

impl fmt::Display for OfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl std::error::Error for OfError {}

impl From<BadRequest> for OfError {
    fn from(c: BadRequest) -> Self {
        OfError::BadRequest(c)
    }
}
impl From<GroupModFailed> for OfError {
    fn from(c: GroupModFailed) -> Self {
        OfError::GroupModFailed(c)
    }
}
impl From<BadAction> for OfError {
    fn from(c: BadAction) -> Self {
        OfError::BadAction(c)
    }
}
impl From<BadInstruction> for OfError {
    fn from(c: BadInstruction) -> Self {
        OfError::BadInstruction(c)
    }
}
impl From<BadMatch> for OfError {
    fn from(c: BadMatch) -> Self {
        OfError::BadMatch(c)
    }
}
impl From<FlowModFailed> for OfError {
    fn from(c: FlowModFailed) -> Self {
        OfError::FlowModFailed(c)
    }
}
impl From<TableFeaturesFailed> for OfError {
    fn from(c: TableFeaturesFailed) -> Self {
        OfError::TableFeaturesFailed(c)
    }
}
impl From<NxError> for OfError {
    fn from(c: NxError) -> Self {
        OfError::Nicira(c)
    }
}
impl From<HelloFailed> for OfError {
    fn from(c: HelloFailed) -> Self {
        OfError::HelloFailed(c)
    }
}

/// Decoding untrusted bytes failed: the OpenFlow error to answer with, and what was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// The error a switch sends back (type and code).
    pub error: OfError,
    /// A short description for logs.
    pub detail: &'static str,
}

impl DecodeError {
    /// A decode error.
    pub fn new(error: impl Into<OfError>, detail: &'static str) -> DecodeError {
        DecodeError { error: error.into(), detail }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.detail, self.error)
    }
}

impl std::error::Error for DecodeError {}

/// Encoding a message failed: the wire version cannot express it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// The version has no codec in this crate yet.
    UnsupportedVersion(u8),
    /// The message would exceed 65535 bytes.
    TooLong(usize),
    /// The match, action or message has no representation in the version.
    Unrepresentable(String),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::UnsupportedVersion(v) => write!(f, "OpenFlow version {v:#x} is not supported"),
            EncodeError::TooLong(n) => write!(f, "message of {n} bytes exceeds the OpenFlow limit of 65535"),
            EncodeError::Unrepresentable(what) => write!(f, "{what}"),
        }
    }
}

impl std::error::Error for EncodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names_round_trip() {
        for &c in BadMatch::ALL {
            let e = OfError::BadMatch(c);
            assert_eq!(OfError::from_wire(e.to_wire()), e);
        }
        let e = OfError::BadMatch(BadMatch::BadPrereq);
        assert_eq!(e.to_wire(), WireError::Standard { type_: 4, code: 9 });
        assert_eq!(e.to_string(), "OFPBMC_BAD_PREREQ");
        let dup = OfError::BadInstruction(BadInstruction::DupInst);
        assert_eq!(dup.to_wire(), WireError::Experimenter { exp_type: 2600, experimenter: ONF_EXPERIMENTER });
        assert_eq!(OfError::from_wire(dup.to_wire()), dup);
        assert_eq!(OfError::from_wire(WireError::Standard { type_: 99, code: 1 }), OfError::Other { type_: 99, code: 1 });
    }
}
