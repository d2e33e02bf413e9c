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

/// The framing of flow updates that Nicira's (OpenFlow 1.0) and ONF's (OpenFlow 1.3) flow
/// monitor replies share. A full update is `length(2) event(2) reason(2) priority(2)
/// idle_timeout(2) hard_timeout(2) match_len(2) table_id(1) pad(1) cookie(8)`, then the match
/// and the actions in the encoding's own form; an abbreviated one is `length(2) 3(2) xid(4)`.
/// Each codec supplies its match and actions.
pub(crate) mod framing {
    use super::{FlowUpdate, FlowUpdateEvent};
    use crate::codec::{Put, Reader};
    use crate::error::{BadRequest, DecodeError, EncodeError};
    use rvs_flowcache::ofp::{Match, OfAction};

    const ABBREV: u16 = 3;

    fn bad_len(detail: &'static str) -> DecodeError {
        DecodeError::new(BadRequest::BadLen, detail)
    }

    /// Writes one update; `put_tail(out, at, match, actions)` writes the match and actions
    /// and the match length at offset `at`.
    pub(crate) fn put_update(
        out: &mut Vec<u8>,
        u: &FlowUpdate,
        put_tail: impl FnOnce(&mut Vec<u8>, usize, &Match, &[OfAction]) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        let start = out.len();
        match u {
            FlowUpdate::Abbrev { xid } => {
                out.put_u16(8);
                out.put_u16(ABBREV);
                out.put_u32(*xid);
            }
            FlowUpdate::Full { event, reason, priority, idle_timeout, hard_timeout, table_id, cookie, match_, actions } => {
                out.put_u16(0);
                out.put_u16(event.to_wire());
                out.put_u16(*reason);
                out.put_u16(*priority);
                out.put_u16(*idle_timeout);
                out.put_u16(*hard_timeout);
                let at = out.len();
                out.put_u16(0);
                out.put_u8(*table_id);
                out.put_zeros(1);
                out.put_u64(*cookie);
                put_tail(out, at, match_, actions)?;
                let total = out.len() - start;
                out.set_u16(start, u16::try_from(total).map_err(|_| EncodeError::TooLong(total))?);
            }
        }
        Ok(())
    }

    /// Reads the updates of a reply body; `pull_tail(entry, match_len)` reads the match and
    /// actions of a full update from the rest of its entry.
    pub(crate) fn pull_updates(
        r: &mut Reader<'_>,
        mut pull_tail: impl FnMut(&mut Reader<'_>, usize) -> Result<(Match, Vec<OfAction>), DecodeError>,
    ) -> Result<Vec<FlowUpdate>, DecodeError> {
        let mut v = Vec::new();
        while !r.is_empty() {
            if r.remaining() < 4 {
                return Err(bad_len("truncated flow update"));
            }
            let len = u16::from_be_bytes([r.peek()[0], r.peek()[1]]) as usize;
            if len < 8 || len > r.remaining() {
                return Err(bad_len("flow update length out of range"));
            }
            let mut e = Reader::new(r.bytes(len)?, bad_len("truncated flow update"));
            e.skip(2)?;
            let event = match e.u16()? {
                0 => FlowUpdateEvent::Added,
                1 => FlowUpdateEvent::Deleted,
                2 => FlowUpdateEvent::Modified,
                ABBREV => {
                    v.push(FlowUpdate::Abbrev { xid: e.u32()? });
                    continue;
                }
                _ => return Err(bad_len("unknown flow update event")),
            };
            let reason = e.u16()?;
            let priority = e.u16()?;
            let idle_timeout = e.u16()?;
            let hard_timeout = e.u16()?;
            let match_len = e.u16()? as usize;
            let table_id = e.u8()?;
            e.skip(1)?;
            let cookie = e.u64()?;
            let (match_, actions) = pull_tail(&mut e, match_len)?;
            v.push(FlowUpdate::Full { event, reason, priority, idle_timeout, hard_timeout, table_id, cookie, match_, actions });
        }
        Ok(v)
    }
}
