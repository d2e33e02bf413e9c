//! Flow monitoring (Open vSwitch's Nicira extension, `NXST_FLOW_MONITOR`): what a monitor
//! asks for and the updates a switch sends, independent of the wire.
//!
//! A controller sends monitor requests in a flow monitor statistics request; the switch
//! answers with the flows they select (with `INITIAL`), then keeps sending updates, as more
//! flow monitor replies with xid 0, whenever a selected flow is added, modified or deleted.
//! Changes the monitoring connection itself made are reported abbreviated (only the xid of
//! the request that made them), and only with `OWN`.

use crate::stats::FlowStatsRequest;
use rvs_flowcache::ofp::{Match, OfAction, OfPort};

/// `NXFMF_*` flags of a monitor request.
pub mod monitor_flags {
    /// Report the flows that match now.
    pub const INITIAL: u16 = 1 << 0;
    /// Report additions.
    pub const ADD: u16 = 1 << 1;
    /// Report deletions.
    pub const DELETE: u16 = 1 << 2;
    /// Report modifications.
    pub const MODIFY: u16 = 1 << 3;
    /// Include actions in full updates.
    pub const ACTIONS: u16 = 1 << 4;
    /// Report changes this connection made (abbreviated).
    pub const OWN: u16 = 1 << 5;
}

/// One monitor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowMonitorRequest {
    /// Monitor id (chosen by the controller).
    pub id: u32,
    /// `NXFMF_*` bits.
    pub flags: u16,
    /// Only flows that output to this port (`NONE`/`ANY`: any).
    pub out_port: OfPort,
    /// Only flows in this table (`0xff`: any).
    pub table_id: u8,
    /// Only flows whose match this one covers.
    pub match_: Match,
}

impl FlowMonitorRequest {
    /// The same selection as a flow statistics request.
    pub fn as_stats_request(&self) -> FlowStatsRequest {
        FlowStatsRequest { table_id: self.table_id, out_port: self.out_port, match_: self.match_.clone(), ..FlowStatsRequest::default() }
    }
}

/// What happened to a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowUpdateEvent {
    /// Added.
    Added,
    /// Deleted.
    Deleted,
    /// Actions changed.
    Modified,
}

impl FlowUpdateEvent {
    /// `NXFME_*`.
    pub const fn to_wire(self) -> u16 {
        match self {
            FlowUpdateEvent::Added => 0,
            FlowUpdateEvent::Deleted => 1,
            FlowUpdateEvent::Modified => 2,
        }
    }

    /// The name `ovs-ofctl` prints.
    pub const fn name(self) -> &'static str {
        match self {
            FlowUpdateEvent::Added => "ADDED",
            FlowUpdateEvent::Deleted => "DELETED",
            FlowUpdateEvent::Modified => "MODIFIED",
        }
    }
}

/// One update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlowUpdate {
    /// A flow, in full.
    Full {
        /// What happened.
        event: FlowUpdateEvent,
        /// Why a deleted flow went (`OFPRR_*`), 0 otherwise.
        reason: u16,
        /// Priority.
        priority: u16,
        /// Idle timeout.
        idle_timeout: u16,
        /// Hard timeout.
        hard_timeout: u16,
        /// Table.
        table_id: u8,
        /// Cookie.
        cookie: u64,
        /// Match.
        match_: Match,
        /// Actions (empty unless the monitor asked for them).
        actions: Vec<OfAction>,
    },
    /// A change the monitoring connection made: the xid of its request.
    Abbrev {
        /// The request's xid.
        xid: u32,
    },
}
