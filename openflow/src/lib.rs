//! OpenFlow for rvs: the wire codec and the `ovs-ofctl` text syntax.
//!
//! This crate translates between three forms of the same thing:
//!
//! * the OpenFlow model of [`rvs_flowcache::ofp`] ([`FlowMod`], [`Match`], [`OfAction`]), which
//!   the switch and the tools work with;
//! * OpenFlow messages on the wire ([`msg::OfMessage`], encoded and decoded by
//!   [`msg::OfMessage::encode`] and [`msg::decode`]; the codec for OpenFlow 1.3 lives in
//!   [`v13`], with the Nicira extensions that `ovs-ofctl` sends inside OpenFlow 1.3);
//! * the flow syntax of `ovs-ofctl` ([`text`]): parsing flows as `add-flow`, `mod-flows` and
//!   `del-flows` accept them, and printing flow-mods and flow statistics byte for byte as
//!   `ovs-ofctl` prints them.
//!
//! # Version-neutral messages
//! [`msg::OfMessage`] does not depend on the wire version: a [`msg::Version`] is given when
//! encoding and found when decoding. Only OpenFlow 1.3 is implemented today; OpenFlow 1.0 with
//! Nicira extended matches (NXM) is meant to become a sibling module of [`v13`] behind the same
//! enum. NXM entries and OXM entries share one layout, so [`oxm`] already knows both.
//!
//! # Untrusted input
//! Decoding reads bytes from the network. It never panics, never allocates more than a small
//! multiple of the input, and every malformed input yields a [`DecodeError`] that carries the
//! OpenFlow error ([`OfError`]: type and code) that Open vSwitch would send back.
//! [`framing::Framer`] cuts a byte stream into messages and rejects impossible lengths.
//!
//! # What is checked where
//! * Decoding checks the encoding: lengths, known types, OXM prerequisites (in the order the
//!   fields appear), duplicate fields, values and masks.
//! * [`check`] checks a flow's actions against its match (Open vSwitch's `ofpacts_check`): an
//!   action that needs a header the match does not guarantee (`dec_ttl` without `ip`, `pop_vlan`
//!   without a VLAN) makes the flow unusable in OpenFlow 1.1+, and `set_field` of a field whose
//!   prerequisites are not met is an error in every version.
//!
//! This crate does no I/O and starts no threads.
#![warn(missing_docs)]
#![warn(unreachable_pub)]

pub mod check;
mod codec;
pub mod error;
pub mod framing;
pub mod group;
pub mod monitor;
pub mod msg;
pub mod nx;
pub mod oxm;
pub mod protocols;
pub mod session;
pub mod stats;
pub mod table_features;
pub mod text;
pub mod v10;
pub mod v13;

/// What the unit tests share.
#[cfg(test)]
pub(crate) mod test_util {
    /// Bytes from hex digits (whitespace ignored), as the tests write captured messages.
    pub(crate) fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }
}

pub use error::{DecodeError, EncodeError, OfError};
pub use framing::Framer;
pub use msg::{decode, Header, OfMessage, Version, VersionSet};
pub use rvs_flowcache::ofp::{FlowMod, FlowModCommand, Match, OfAction, OfPort};
