//! Flow caching and translation for rvs: the pure core of the switch.
//!
//! * [`key`]: the fixed-layout [`FlowKey`] and its one-pass extraction from a frame.
//! * [`field`]: every OpenFlow field, described once (location, width, prerequisites).
//! * [`ofp`]: the OpenFlow model (ports, matches, actions, rules, flow-mods).
//! * [`classifier`]: one OpenFlow table (tuple space search with un-wildcarding);
//!   [`pipeline`]: the 255 tables and flow-mod semantics; [`versioned`]: publication of new
//!   versions to PMD threads without blocking them.
//! * [`group`]: OpenFlow groups and how their buckets are chosen.
//! * [`xlate`]: translation of a flow through the pipeline into datapath actions and a megaflow
//!   mask; [`mac_learning`] for its `NORMAL` action; [`dpaction`] for what it produces.
//! * [`megaflow`] and [`emc`]: the per-PMD caches of translations, tuple space search over
//!   megaflow masks and an exact-match front cache; [`small_list`] keeps a megaflow's actions
//!   and rules inside it.
//!
//! This crate does no I/O, starts no threads and reads no clock: time is a parameter.
#![warn(missing_docs)]

pub mod classifier;
pub mod conjunction;
pub mod conntrack;
pub mod dpaction;
pub mod emc;
pub mod field;
pub mod group;
pub mod hashsel;
pub mod key;
pub mod key_reuse;
pub mod learn;
pub mod mac_learning;
pub mod megaflow;
pub mod megaflow_pool;
pub mod ofp;
pub mod pipeline;
pub mod small_list;
pub mod versioned;
pub mod xlate;

pub use classifier::Classifier;
pub use field::{Field, Prereq};
pub use key::{FlowKey, FlowMask, Malformed, FLOW_WORDS};
pub use ofp::{FlowMod, FlowModCommand, Match, OfAction, OfPort, Rule, RuleId, RuleStats, SubField};
pub use pipeline::{FlowModError, FlowModOutcome, Pipeline, RemovedReason};
pub use versioned::{FlowTableReader, FlowTableWriter};
