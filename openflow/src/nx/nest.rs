//! `NXAST_CLONE` (subtype 42): a Nicira action that holds an action list, shared by the
//! OpenFlow 1.0 and 1.3 codecs.
//!
//! Layout (Open vSwitch's `ext_action_header` then the actions): type `0xffff`, length,
//! vendor, subtype 42, six bytes of padding (not checked on decoding, as in Open vSwitch),
//! then the nested actions in the encoding of the message's version. The nested list can
//! hold only actions, never instructions. Encoding and decoding the nested list is the
//! version's job: this module only frames it, through the closures the codecs pass.

use super::actions::{begin, finish};
use crate::codec::Put;
use crate::error::{BadAction, DecodeError, EncodeError};
use rvs_flowcache::ofp::OfAction;

/// `NXAST_CLONE`.
pub(crate) const CLONE: u16 = 42;

/// Writes `clone(...)`; `nested` writes the inner actions.
pub(crate) fn put_clone(
    out: &mut Vec<u8>,
    nested: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let start = begin(out, CLONE);
    out.put_zeros(6);
    nested(out)?;
    finish(out, start)
}

/// Decodes the body of `NXAST_CLONE` after its subtype (`rest`: padding then actions) with
/// the version's action-list decoder.
pub(crate) fn pull_clone(
    rest: &[u8],
    pull: impl FnOnce(&[u8]) -> Result<Vec<OfAction>, DecodeError>,
) -> Result<OfAction, DecodeError> {
    let inner = rest.get(6..).ok_or(DecodeError::new(BadAction::BadLen, "truncated clone action"))?;
    let actions = pull(inner)?;
    if actions.iter().any(OfAction::is_instruction) {
        return Err(DecodeError::new(BadAction::UnsupportedOrder, "instruction inside clone"));
    }
    Ok(OfAction::Clone(actions))
}

/// `ct_clear` (`NXAST_CT_CLEAR`: six bytes of padding).
pub(crate) fn put_ct_clear(out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = begin(out, super::conntrack::CT_CLEAR);
    out.put_zeros(6);
    finish(out, start)
}
