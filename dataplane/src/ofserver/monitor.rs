//! Flow monitors (`NXST_FLOW_MONITOR`, OpenFlow 1.0 with Nicira extensions, and ONF's
//! `ONFST_FLOW_MONITOR` in OpenFlow 1.3, the same model): what `ovs-ofctl monitor SWITCH
//! watch:` asks for.
//!
//! A connection's monitor request is answered with the flows it selects (with `INITIAL`),
//! then the connection keeps its monitors: every rule added, modified or deleted on the
//! bridge afterwards (by any connection, by a timeout or by a group deletion) is checked
//! against them, and a connection with a matching monitor gets one update, as a flow monitor
//! reply with xid 0, in full (with actions if a matching monitor asked for them) or, for a
//! change the connection made itself, abbreviated to the xid of its request (only with
//! `OWN`). Monitors end with the connection.

use std::sync::Arc;

use mio::Token;
use rvs_flowcache::pipeline::RemovedReason;
use rvs_flowcache::{OfPort, Rule};
use rvs_openflow::monitor::{monitor_flags as mf, FlowMonitorRequest, FlowUpdate, FlowUpdateEvent};
use rvs_openflow::msg::{encode_nx_stats_reply, NxStatsReply};

use super::OfServer;
use crate::switch::Switch;
use crate::vlog;

/// Longest reply message.
const MAX_REPLY: usize = 65535;

fn selects(m: &FlowMonitorRequest, rule: &Rule) -> bool {
    (m.table_id == 0xff || m.table_id == rule.table_id)
        && (m.out_port == OfPort::ANY || rule.actions.iter().any(|a| a.outputs_to(m.out_port)))
        && rule.match_.is_covered_by(&m.match_)
}

fn full(event: FlowUpdateEvent, reason: u16, rule: &Rule, with_actions: bool) -> FlowUpdate {
    FlowUpdate::Full {
        event,
        reason,
        priority: rule.priority,
        idle_timeout: rule.idle_timeout,
        hard_timeout: rule.hard_timeout,
        table_id: rule.table_id,
        cookie: rule.cookie,
        match_: rule.match_.clone(),
        actions: if with_actions { rule.actions.to_vec() } else { Vec::new() },
    }
}

impl OfServer {
    /// Sets up `reqs` for connection `t` and returns the initial reply.
    pub(super) fn start_monitors(&mut self, sw: &Switch, t: Token, bridge: &str, reqs: Vec<FlowMonitorRequest>) -> NxStatsReply {
        let mut updates = Vec::new();
        let p = sw.bridges[bridge].writer.current();
        let mut rules: Vec<Arc<Rule>> = p.rules().cloned().collect();
        rules.sort_by_key(|r| (r.table_id, std::cmp::Reverse(r.priority)));
        for r in &rules {
            let hits: Vec<&FlowMonitorRequest> = reqs.iter().filter(|m| m.flags & mf::INITIAL != 0 && selects(m, r)).collect();
            if !hits.is_empty() {
                let with_actions = hits.iter().any(|m| m.flags & mf::ACTIONS != 0);
                updates.push(full(FlowUpdateEvent::Added, 0, r, with_actions));
            }
        }
        self.monitors.entry(t).or_default().extend(reqs);
        NxStatsReply::FlowMonitor(updates)
    }

    /// Reports changed rules of `bridge` to the connections that monitor them. `origin` is
    /// the connection and xid of the request that made the change, if any.
    pub(super) fn report_flow_changes(
        &mut self,
        bridge: &str,
        changes: &[(FlowUpdateEvent, u16, Arc<Rule>)],
        origin: Option<(Token, u32)>,
    ) {
        if self.monitors.is_empty() || changes.is_empty() {
            return;
        }
        self.monitors.retain(|t, _| self.conns.contains_key(t));
        let tokens: Vec<Token> = self.monitors.keys().copied().collect();
        for t in tokens {
            let Some(c) = self.conns.get(&t) else { continue };
            if c.bridge != bridge {
                continue;
            }
            let Some(version) = c.version() else { continue };
            let mons = &self.monitors[&t];
            let mut updates = Vec::new();
            for (event, reason, rule) in changes {
                let want = match event {
                    FlowUpdateEvent::Added => mf::ADD,
                    FlowUpdateEvent::Deleted => mf::DELETE,
                    FlowUpdateEvent::Modified => mf::MODIFY,
                };
                let hits: Vec<&FlowMonitorRequest> = mons.iter().filter(|m| m.flags & want != 0 && selects(m, rule)).collect();
                if hits.is_empty() {
                    continue;
                }
                match origin {
                    Some((ot, xid)) if ot == t => {
                        if hits.iter().any(|m| m.flags & mf::OWN != 0) && !updates.contains(&FlowUpdate::Abbrev { xid }) {
                            updates.push(FlowUpdate::Abbrev { xid });
                        }
                    }
                    _ => {
                        let with_actions = hits.iter().any(|m| m.flags & mf::ACTIONS != 0);
                        updates.push(full(*event, *reason, rule, with_actions));
                    }
                }
            }
            if updates.is_empty() {
                continue;
            }
            match encode_nx_stats_reply(version, 0, &NxStatsReply::FlowMonitor(updates), MAX_REPLY) {
                Ok(parts) => {
                    let c = self.conns.get_mut(&t).expect("connection");
                    for p in parts {
                        c.queue(p);
                    }
                }
                Err(e) => vlog::warn("ofserver", &format!("{bridge}: cannot send a flow update: {e}")),
            }
        }
    }

    /// Reports removed rules (flow-mods, timeouts, group deletions).
    pub(super) fn report_removed(&mut self, bridge: &str, removed: &[(Arc<Rule>, RemovedReason)]) {
        let changes: Vec<(FlowUpdateEvent, u16, Arc<Rule>)> =
            removed.iter().map(|(r, why)| (FlowUpdateEvent::Deleted, *why as u16, r.clone())).collect();
        let origin = self.origin;
        self.report_flow_changes(bridge, &changes, origin);
    }
}
