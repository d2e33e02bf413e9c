//! OpenFlow 1.0 error numbering, as Open vSwitch 3.1 uses it.
//!
//! OpenFlow 1.0 defines six error types (hello failed, bad request, bad action, flow-mod
//! failed, port-mod failed, queue operation failed) with few codes. Open vSwitch sends every
//! other error it knows as a Nicira vendor error: type `NXET_VENDOR` (`0xb0c2`), code 0, then
//! the vendor id `0x2320` and a vendor type and code of its own choosing ([`WireError::Vendor`]).
//! Some errors have no OpenFlow 1.0 form at all (`OFPBIC_DUP_INST`, `OFPFMFC_BAD_TABLE_ID`,
//! ...); Open vSwitch then sends `NXBRC_UNENCODABLE_ERROR`, and so does [`OfError::to_wire_v10`].
//!
//! [`TABLE`] was read off `ovs-ofctl print-error` (Open vSwitch 3.1) for every error this crate
//! names; `tests/errors.rs` checks it against `tests/data/errors.txt`, which
//! `tests/gen_conformance.sh` regenerates from the tool.

use super::{
    BadAction, BadInstruction, BadMatch, BadRequest, FlowModFailed, GroupModFailed, HelloFailed, NxError, OfError,
    PortModFailed, QueueOpFailed, TableFeaturesFailed, WireError,
};
use crate::msg::Version;
use crate::nx::NX_VENDOR_ID;

/// `NXET_VENDOR`: the OpenFlow 1.0 error type of Nicira vendor errors.
pub const NXET_VENDOR: u16 = 0xb0c2;

const fn std(type_: u16, code: u16) -> WireError {
    WireError::Standard { type_, code }
}

const fn nx(type_: u16, code: u16) -> WireError {
    WireError::Vendor { vendor: NX_VENDOR_ID, type_, code }
}

/// Every error with an OpenFlow 1.0 form, and that form.
pub static TABLE: &[(OfError, WireError)] = &[
    (OfError::HelloFailed(HelloFailed::Incompatible), std(0, 0)),
    (OfError::HelloFailed(HelloFailed::Eperm), std(0, 1)),
    (OfError::BadRequest(BadRequest::BadVersion), std(1, 0)),
    (OfError::BadRequest(BadRequest::BadType), std(1, 1)),
    (OfError::BadRequest(BadRequest::BadMultipart), std(1, 2)),
    (OfError::BadRequest(BadRequest::BadExperimenter), std(1, 3)),
    (OfError::BadRequest(BadRequest::BadExpType), std(1, 4)),
    (OfError::BadRequest(BadRequest::Eperm), std(1, 5)),
    (OfError::BadRequest(BadRequest::BadLen), std(1, 6)),
    (OfError::BadRequest(BadRequest::BufferEmpty), std(1, 7)),
    (OfError::BadRequest(BadRequest::BufferUnknown), std(1, 8)),
    (OfError::BadRequest(BadRequest::IsSlave), std(1, 5)),
    (OfError::BadRequest(BadRequest::BadTableId), nx(1, 512)),
    (OfError::BadRequest(BadRequest::BadPort), nx(1, 514)),
    (OfError::BadAction(BadAction::BadType), std(2, 0)),
    (OfError::BadAction(BadAction::BadLen), std(2, 1)),
    (OfError::BadAction(BadAction::BadExperimenter), std(2, 2)),
    (OfError::BadAction(BadAction::BadExpType), std(2, 3)),
    (OfError::BadAction(BadAction::BadOutPort), std(2, 4)),
    (OfError::BadAction(BadAction::BadArgument), std(2, 5)),
    (OfError::BadAction(BadAction::Eperm), std(2, 6)),
    (OfError::BadAction(BadAction::TooMany), std(2, 7)),
    (OfError::BadAction(BadAction::BadQueue), std(2, 8)),
    (OfError::BadAction(BadAction::BadOutGroup), nx(2, 9)),
    (OfError::BadAction(BadAction::MatchInconsistent), nx(1, 522)),
    (OfError::BadAction(BadAction::BadSetType), nx(1, 523)),
    (OfError::BadAction(BadAction::BadSetLen), nx(1, 524)),
    (OfError::BadAction(BadAction::BadSetArgument), nx(1, 525)),
    (OfError::BadInstruction(BadInstruction::UnsupInst), nx(2, 257)),
    (OfError::BadMatch(BadMatch::BadField), nx(0, 263)),
    (OfError::BadMatch(BadMatch::BadValue), nx(1, 258)),
    (OfError::BadMatch(BadMatch::BadMask), nx(1, 259)),
    (OfError::BadMatch(BadMatch::BadPrereq), nx(1, 260)),
    (OfError::BadMatch(BadMatch::DupField), nx(1, 261)),
    (OfError::BadMatch(BadMatch::BadWildcards), nx(1, 262)),
    (OfError::FlowModFailed(FlowModFailed::TableFull), std(3, 0)),
    (OfError::FlowModFailed(FlowModFailed::Overlap), std(3, 1)),
    (OfError::FlowModFailed(FlowModFailed::Eperm), std(3, 2)),
    (OfError::FlowModFailed(FlowModFailed::BadCommand), std(3, 4)),
    (OfError::FlowModFailed(FlowModFailed::BadFlags), nx(3, 258)),
    (OfError::PortModFailed(PortModFailed::BadPort), std(4, 0)),
    (OfError::PortModFailed(PortModFailed::BadHwAddr), std(4, 1)),
    // Group-mod errors: Nicira vendor type 6 with the OpenFlow 1.1+ code.
    (OfError::GroupModFailed(GroupModFailed::GroupExists), nx(6, 0)),
    (OfError::GroupModFailed(GroupModFailed::InvalidGroup), nx(6, 1)),
    (OfError::GroupModFailed(GroupModFailed::WeightUnsupported), nx(6, 2)),
    (OfError::GroupModFailed(GroupModFailed::OutOfGroups), nx(6, 3)),
    (OfError::GroupModFailed(GroupModFailed::OutOfBuckets), nx(6, 4)),
    (OfError::GroupModFailed(GroupModFailed::ChainingUnsupported), nx(6, 5)),
    (OfError::GroupModFailed(GroupModFailed::WatchUnsupported), nx(6, 6)),
    (OfError::GroupModFailed(GroupModFailed::Loop), nx(6, 7)),
    (OfError::GroupModFailed(GroupModFailed::UnknownGroup), nx(6, 8)),
    (OfError::GroupModFailed(GroupModFailed::ChainedGroup), nx(6, 9)),
    (OfError::GroupModFailed(GroupModFailed::BadType), nx(6, 10)),
    (OfError::GroupModFailed(GroupModFailed::BadCommand), nx(6, 11)),
    (OfError::GroupModFailed(GroupModFailed::BadBucket), nx(6, 12)),
    (OfError::GroupModFailed(GroupModFailed::BadWatch), nx(6, 13)),
    (OfError::GroupModFailed(GroupModFailed::Eperm), nx(6, 14)),
    (OfError::QueueOpFailed(QueueOpFailed::BadPort), std(5, 0)),
    (OfError::QueueOpFailed(QueueOpFailed::BadQueue), std(5, 1)),
    (OfError::QueueOpFailed(QueueOpFailed::Eperm), std(5, 2)),
    (OfError::TableFeaturesFailed(TableFeaturesFailed::BadPropType), nx(13, 2)),
    (OfError::TableFeaturesFailed(TableFeaturesFailed::BadPropLen), nx(13, 3)),
    (OfError::TableFeaturesFailed(TableFeaturesFailed::BadPropValue), nx(13, 4)),
    // OFPRRFC_BAD_ROLE (OpenFlow 1.2+ type 11, code 2).
    (OfError::Other { type_: 11, code: 2 }, nx(1, 513)),
    (OfError::Nicira(NxError::NxmInvalid), nx(1, 256)),
    (OfError::Nicira(NxError::NxmBadType), nx(1, 257)),
    (OfError::Nicira(NxError::MustBeZero), nx(1, 515)),
    (OfError::Nicira(NxError::BadReason), nx(1, 516)),
    (OfError::Nicira(NxError::UnencodableError), nx(1, 521)),
];

impl OfError {
    /// The OpenFlow 1.0 numbering of the error (`NXBRC_UNENCODABLE_ERROR`'s when OpenFlow 1.0
    /// cannot express it).
    pub fn to_wire_v10(self) -> WireError {
        if let Some((_, w)) = TABLE.iter().find(|(e, _)| *e == self) {
            return *w;
        }
        match self {
            OfError::Other { type_, code } => WireError::Standard { type_, code },
            OfError::Vendor { vendor, type_, code } => WireError::Vendor { vendor, type_, code },
            _ => nx(1, 521),
        }
    }

    /// The error of an OpenFlow 1.0 numbering. Where two errors share a number (OpenFlow
    /// 1.0's `OFPBRC_EPERM` also stands for `OFPBRC_IS_SECONDARY`), the first in [`TABLE`]
    /// wins, as in Open vSwitch.
    pub fn from_wire_v10(w: WireError) -> OfError {
        if let Some((e, _)) = TABLE.iter().find(|(_, x)| *x == w) {
            return *e;
        }
        match w {
            WireError::Standard { type_, code } => OfError::Other { type_, code },
            WireError::Vendor { vendor, type_, code } => OfError::Vendor { vendor, type_, code },
            WireError::Experimenter { exp_type, experimenter } => OfError::Experimenter { experimenter, exp_type },
        }
    }

    /// The numbering of the error in `version`.
    pub fn to_wire_for(self, version: Version) -> WireError {
        match version {
            Version::V1_0 => self.to_wire_v10(),
            Version::V1_3 => self.to_wire(),
        }
    }

    /// The error of a numbering in `version`.
    pub fn from_wire_for(w: WireError, version: Version) -> OfError {
        match version {
            Version::V1_0 => OfError::from_wire_v10(w),
            Version::V1_3 => OfError::from_wire(w),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_unencodable_errors_say_so() {
        for (e, w) in TABLE {
            assert_eq!(e.to_wire_v10(), *w, "{e}");
            if *e != OfError::BadRequest(BadRequest::IsSlave) {
                assert_eq!(OfError::from_wire_v10(*w), *e, "{e}");
            }
        }
        // OpenFlow 1.0 has one code for both.
        assert_eq!(OfError::from_wire_v10(std(1, 5)), OfError::BadRequest(BadRequest::Eperm));
        let dup = OfError::BadInstruction(BadInstruction::DupInst);
        assert_eq!(dup.to_wire_v10(), nx(1, 521));
        assert_eq!(OfError::from_wire_v10(dup.to_wire_v10()), OfError::Nicira(NxError::UnencodableError));
        let unknown = WireError::Vendor { vendor: 7, type_: 1, code: 2 };
        assert_eq!(OfError::from_wire_v10(unknown).to_wire_v10(), unknown);
    }
}
