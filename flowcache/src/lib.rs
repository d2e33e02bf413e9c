//! Flow caching and translation for rvs: the pure core of the switch.
//!
//! * [`key`]: the fixed-layout [`FlowKey`] and its one-pass extraction from a frame.
//! * [`field`]: every OpenFlow field, described once (location, width, prerequisites).
//! * [`ofp`]: the OpenFlow model (ports, matches, actions, rules, flow-mods).
//!
//! This crate does no I/O, starts no threads and reads no clock: time is a parameter.
#![warn(missing_docs)]

pub mod field;
pub mod key;
pub mod ofp;

pub use field::{Field, Prereq};
pub use key::{FlowKey, FlowMask, Malformed, FLOW_WORDS};
pub use ofp::{FlowMod, FlowModCommand, Match, OfAction, OfPort, Rule, RuleId, RuleStats, SubField};
