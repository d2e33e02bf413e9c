//! Applying what `learn` actions learned, and `delete_learned` (control thread).
//!
//! Learned flow-mods arrive from PMD upcalls and from the revalidator through
//! [`crate::datapath::DatapathShared::send_learned`], and from `ofproto/trace -generate`. Each
//! goes through the bridge's writer like an OpenFlow flow-mod, except that a rule that already
//! exists unchanged is only refreshed ([`rvs_flowcache::learn::refresh_existing`]: its hard
//! timeout restarts, nothing is republished), and one a `learn(limit=N)` made is dropped if
//! its table holds `N` rules with its cookie by now ([`rvs_flowcache::learn::may_learn`]).
//! Like OpenFlow flow-mods they are published at
//! the end of the event-loop round, and rules they displace get flow-removed if they asked.
//!
//! After every change to a bridge's tables (OpenFlow flow-mods, learned flow-mods, expiry),
//! [`OfServer::after_change`] deletes the rules learned by `learn(..., delete_learned)` actions
//! that no longer exist anywhere in the tables ([`rvs_flowcache::learn::delete_learned_mods`]).

use std::sync::Arc;

use rvs_flowcache::learn::{delete_learned_mods, may_learn, refresh_existing};
use rvs_flowcache::pipeline::{FlowModOutcome, RemovedReason};
use rvs_flowcache::{FlowMod, Rule};

use super::OfServer;
use crate::switch::Switch;
use crate::vlog;

impl OfServer {
    /// Applies every learned flow-mod waiting in the datapath's queue.
    pub fn apply_learned(&mut self, sw: &mut Switch) {
        while let Ok(l) = sw.dp.learn_rx.try_recv() {
            self.apply_learned_mods(sw, &l.bridge, &l.flow_mods);
        }
    }

    /// Applies learned flow-mods to `bridge` (gone bridges are ignored).
    pub(crate) fn apply_learned_mods(&mut self, sw: &mut Switch, bridge: &str, mods: &[FlowMod]) {
        let now = sw.dp.now_ms();
        for fm in mods {
            let Some(br) = sw.bridges.get_mut(bridge) else { return };
            if refresh_existing(br.writer.current(), fm, now) {
                continue;
            }
            // `learn(limit=N)`: checked again here, against the tables as they are now.
            if !may_learn(br.writer.current(), fm) {
                continue;
            }
            match br.writer.apply(fm, now) {
                Ok(outcome) => self.after_change(sw, bridge, outcome, now),
                Err(e) => vlog::warn("ofserver", &format!("{bridge}: learned flow refused: {e}")),
            }
        }
    }

    /// Bookkeeping after a change to `bridge`'s tables: flow-removed for removed rules that
    /// asked for it, then the `delete_learned` cascade.
    pub(super) fn after_change(&mut self, sw: &mut Switch, bridge: &str, outcome: FlowModOutcome, now: u64) {
        // Flow monitors hear of additions and modifications here, of removals in `note_removed`.
        use rvs_openflow::monitor::FlowUpdateEvent;
        let changes: Vec<_> = outcome
            .added
            .iter()
            .map(|r| (FlowUpdateEvent::Added, 0, r.clone()))
            .chain(outcome.modified.iter().map(|(_, r)| (FlowUpdateEvent::Modified, 0, r.clone())))
            .collect();
        if !changes.is_empty() {
            let origin = self.origin;
            self.report_flow_changes(bridge, &changes, origin);
        }
        let mut pending = vec![outcome];
        while let Some(outcome) = pending.pop() {
            let Some(br) = sw.bridges.get_mut(bridge) else { return };
            let deletes = delete_learned_mods(br.writer.current(), &outcome);
            self.note_removed(bridge, outcome.removed, now);
            for fm in deletes {
                if let Ok(o) = br.writer.apply(&fm, now) {
                    pending.push(o);
                }
            }
        }
    }

    /// [`OfServer::after_change`] for rules that expired.
    pub(super) fn after_expiry(&mut self, sw: &mut Switch, bridge: &str, removed: Vec<(Arc<Rule>, RemovedReason)>, now: u64) {
        self.after_change(sw, bridge, FlowModOutcome { removed, ..FlowModOutcome::default() }, now);
    }
}
