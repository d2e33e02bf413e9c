//! Trace events recorded by translation for `ofproto/trace`.
//!
//! Translation records what it did in the order it did it; the daemon renders the events in
//! the layout of Open vSwitch's `ofproto/trace` (tables visited with the matching rule, the
//! actions run, notes such as "no learned MAC for destination, flooding"), followed by the
//! final flow, the megaflow and the datapath actions.

use std::sync::Arc;

use crate::ofp::{FlowMod, OfAction, Rule};

/// One step of a translation.
#[derive(Clone, Debug)]
pub enum TraceEvent {
    /// A table lookup.
    Table {
        /// Resubmit nesting depth.
        depth: u32,
        /// Table.
        table: u8,
        /// The rule that matched, or `None` for a miss.
        rule: Option<Arc<Rule>>,
        /// Reached by `resubmit` (as opposed to the pipeline start or `goto_table`).
        resubmit: bool,
    },
    /// An action of the matched rule, about to run.
    Action {
        /// Depth.
        depth: u32,
        /// The action.
        action: OfAction,
    },
    /// The flow-mod a `learn` action built.
    Learned {
        /// Depth.
        depth: u32,
        /// The flow-mod.
        flow_mod: Box<FlowMod>,
    },
    /// Something translation decided or noticed.
    Note {
        /// Depth.
        depth: u32,
        /// Text.
        text: String,
    },
}
