//! Asynchronous messages: packet-in, flow-removed and port-status, to every connection that
//! wants them (see [`Conn::receives`]).
//!
//! # Packet-in
//! PMDs queue a [`PacketIn`] for every `CONTROLLER` datapath action (explicit actions and
//! table misses sent to the controller); packet-outs add theirs. Each becomes one
//! `OFPT_PACKET_IN`: `buffer_id` none and the whole packet (rvs has no buffers; OpenFlow then
//! asks for the entire packet, see the module documentation of [`super`]), the reason, table
//! and cookie of the rule, and in the match the pipeline fields translation recorded
//! (`in_port`, and `metadata`, `tun_id` and registers when not zero). It goes to each
//! connection whose controller id matches the action's, that wants the reason, whose rate
//! limit allows it and whose queue has room ([`super::queue`]); packets received on a port
//! configured `NO_PACKET_IN` are not sent. What reaches no connection is counted
//! (`packet_in_no_controller`).
//!
//! # Flow-removed
//! Rules with `SEND_FLOW_REM` that a flow-mod deleted or a timeout expired are collected during
//! the round and announced at its end, after a revalidator pass has credited the last
//! megaflow traffic to them: duration, idle and hard timeouts and counters are final.
//!
//! # Port-status
//! The bridge's port descriptions are compared with those last announced after every
//! configuration change, port-mod and once a second (link polling): new ports are `ADD`,
//! vanished ones `DELETE`, changed ones (configuration bits, administrative state, carrier)
//! `MODIFY`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use rvs_flowcache::ofp::flow_flags;
use rvs_flowcache::pipeline::RemovedReason;
use rvs_flowcache::ofp::PacketInReason;
use rvs_flowcache::{Match, OfPort, Rule};
use rvs_openflow::msg::{AsyncConfig, FlowRemoved, FlowRemovedReason, OfMessage, PacketIn as OfPacketIn, PortReason, PortStatus};
use rvs_openflow::session::Session;
use rvs_openflow::stats::PortDesc;

use super::conn::Conn;
use super::{replies, OfServer, Removal};
use crate::datapath::PacketIn;
use crate::switch::{port_config, Switch};

/// Room left in a packet-in for its header and match (the data is cut to fit 65535 bytes).
const PACKET_IN_OVERHEAD: usize = 1024;

/// `OFPR_*` number of a reason (its bit in the asynchronous configuration).
fn reason_bit(r: PacketInReason) -> u8 {
    match r {
        PacketInReason::NoMatch => 0,
        PacketInReason::Action => 1,
        PacketInReason::InvalidTtl => 2,
    }
}

fn removed_reason(r: RemovedReason) -> FlowRemovedReason {
    match r {
        RemovedReason::IdleTimeout => FlowRemovedReason::IdleTimeout,
        RemovedReason::HardTimeout => FlowRemovedReason::HardTimeout,
        RemovedReason::Delete => FlowRemovedReason::Delete,
        RemovedReason::GroupDelete => FlowRemovedReason::GroupDelete,
    }
}

fn port_reason_bit(r: PortReason) -> u8 {
    match r {
        PortReason::Add => 0,
        PortReason::Delete => 1,
        PortReason::Modify => 2,
    }
}

/// The OpenFlow packet-in for a datapath packet-in.
pub(super) fn packet_in_message(pi: &PacketIn) -> OfPacketIn {
    let mut match_ = Match::catchall();
    for (f, v) in &pi.action.pipeline_fields {
        match_.set(*f, *v);
    }
    let data_len = pi.packet.len().min(rvs_openflow::framing::MAX_MESSAGE_LEN - PACKET_IN_OVERHEAD);
    OfPacketIn {
        buffer_id: None,
        total_len: pi.packet.len().min(u16::MAX as usize) as u16,
        reason: pi.action.reason,
        table_id: pi.action.table_id,
        cookie: pi.action.cookie,
        match_,
        data: pi.packet[..data_len].to_vec(),
    }
}

/// The flow-removed message for `rule`, removed at `at_ms`.
pub(super) fn flow_removed_message(rule: &Rule, reason: RemovedReason, at_ms: u64) -> FlowRemoved {
    let (duration_sec, duration_nsec) = replies::duration(rule.created_ms, at_ms);
    FlowRemoved {
        cookie: rule.cookie,
        priority: rule.priority,
        reason: removed_reason(reason),
        table_id: rule.table_id,
        duration_sec,
        duration_nsec,
        idle_timeout: rule.timeouts().0,
        hard_timeout: rule.timeouts().1,
        packet_count: rule.stats.packets.load(std::sync::atomic::Ordering::Relaxed),
        byte_count: rule.stats.bytes.load(std::sync::atomic::Ordering::Relaxed),
        match_: rule.match_,
    }
}

/// The port-status messages that take the announced ports `old` to `new`.
pub(super) fn diff_ports(old: &BTreeMap<OfPort, PortDesc>, new: &[PortDesc]) -> Vec<PortStatus> {
    let mut out = Vec::new();
    for (no, d) in old {
        if !new.iter().any(|n| n.port_no == *no) {
            out.push(PortStatus { reason: PortReason::Delete, desc: d.clone() });
        }
    }
    for d in new {
        match old.get(&d.port_no) {
            None => out.push(PortStatus { reason: PortReason::Add, desc: d.clone() }),
            Some(o) if o != d => out.push(PortStatus { reason: PortReason::Modify, desc: d.clone() }),
            Some(_) => {}
        }
    }
    out
}

/// Encodes a message once per distinct session (version, flow and packet-in formats).
#[derive(Default)]
struct Encoded(Vec<(Session, Vec<u8>)>);

impl Encoded {
    fn get(&mut self, msg: &OfMessage, c: &Conn) -> Option<Vec<u8>> {
        let s = c.session?;
        if let Some((_, b)) = self.0.iter().find(|(w, _)| *w == s) {
            return Some(b.clone());
        }
        let b = s.encode(msg, 0).ok()?;
        self.0.push((s, b.clone()));
        Some(b)
    }
}

impl OfServer {
    /// Hands the PMDs' packet-ins to the connections that want them.
    /// Flows learned by `learn` actions, which share the wake-up, are applied first.
    pub fn deliver_packet_ins(&mut self, sw: &mut Switch) {
        self.apply_learned(sw);
        let now = Instant::now();
        while let Ok(pi) = sw.packet_in_rx.try_recv() {
            self.packet_in(sw, &pi, now);
        }
    }

    /// Sends one packet-in. See the module documentation.
    pub(super) fn packet_in(&mut self, sw: &mut Switch, pi: &PacketIn, now: Instant) {
        let muted = sw
            .bridges
            .get(&pi.bridge)
            .and_then(|b| b.port_by_dp(pi.dp_port))
            .is_some_and(|p| p.config & port_config::NO_PACKET_IN != 0);
        if muted {
            sw.packet_ins_unsent += 1;
            return;
        }
        let msg = OfMessage::PacketIn(packet_in_message(pi));
        let reason = reason_bit(pi.action.reason);
        let mut enc = Encoded::default();
        let (mut sent, mut full, mut limited) = (0u64, 0u64, 0u64);
        for c in self.conns.values_mut() {
            let controller_id = c.session.map_or(0, |s| s.controller_id);
            if c.bridge != pi.bridge || pi.action.controller_id != controller_id || !c.receives(|a: &AsyncConfig| a.packet_in_mask, reason) {
                continue;
            }
            if let Some(bucket) = c.rate.as_mut() {
                if !bucket.take(now) {
                    limited += 1;
                    continue;
                }
            }
            let Some(bytes) = enc.get(&msg, c) else { continue };
            if c.queue_packet_in(bytes) {
                sent += 1;
            } else {
                full += 1;
            }
        }
        sw.packet_ins_sent += sent;
        sw.packet_ins_queue_full += full;
        sw.packet_ins_rate_limited += limited;
        if sent == 0 {
            sw.packet_ins_unsent += 1;
        }
    }

    /// Queues `msg` (which must not be lost) to every connection of `bridge` that `wants` it.
    fn broadcast(&mut self, bridge: &str, wants: impl Fn(&Conn) -> bool, msg: &OfMessage) {
        let mut enc = Encoded::default();
        for c in self.conns.values_mut().filter(|c| c.bridge == bridge && wants(c)) {
            if let Some(bytes) = enc.get(msg, c) {
                c.queue(bytes);
            }
        }
    }

    /// Notes rules removed from `bridge` at `at_ms`; those with `SEND_FLOW_REM` are announced
    /// at the end of the round ([`OfServer::flush_flow_removed`]).
    pub(super) fn note_removed(&mut self, bridge: &str, removed: Vec<(Arc<Rule>, RemovedReason)>, at_ms: u64) {
        self.report_removed(bridge, &removed);
        for (rule, reason) in removed {
            if rule.flags & flow_flags::SEND_FLOW_REM != 0 {
                self.removals.push(Removal { bridge: bridge.to_string(), rule, reason, at_ms });
            }
        }
    }

    /// Sends the flow-removed messages collected so far, with final counters.
    pub(super) fn flush_flow_removed(&mut self, sw: &mut Switch) {
        if self.removals.is_empty() {
            return;
        }
        let removals = std::mem::take(&mut self.removals);
        let wanted = removals.iter().any(|r| {
            let bit = r.reason as u8;
            self.conns.values().any(|c| c.bridge == r.bridge && c.receives(|a: &AsyncConfig| a.flow_removed_mask, bit))
        });
        if !wanted {
            return;
        }
        // Credit the removed rules with the traffic of their last megaflows.
        sw.publish_flows();
        sw.revalidator.sync();
        for r in removals {
            let msg = OfMessage::FlowRemoved(flow_removed_message(&r.rule, r.reason, r.at_ms));
            let bit = r.reason as u8;
            self.broadcast(&r.bridge, |c| c.receives(|a: &AsyncConfig| a.flow_removed_mask, bit), &msg);
        }
    }

    /// Announces what changed in `bridge`'s ports since the last announcement.
    pub(super) fn refresh_ports(&mut self, sw: &Switch, bridge: &str) {
        let new = replies::port_descs(sw, bridge);
        let Some(ctl) = self.bridges.get_mut(bridge) else { return };
        let changes = diff_ports(&ctl.ports, &new);
        if changes.is_empty() {
            return;
        }
        ctl.ports = new.into_iter().map(|d| (d.port_no, d)).collect();
        for ps in changes {
            let bit = port_reason_bit(ps.reason);
            self.broadcast(bridge, |c| c.receives(|a: &AsyncConfig| a.port_status_mask, bit), &OfMessage::PortStatus(ps));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_flowcache::Field;
    use rvs_flowcache::dpaction::ControllerAction;
    use rvs_openflow::stats::port_state;
    use rvs_packet::wire::MacAddr;

    fn desc(no: u32, state: u32) -> PortDesc {
        PortDesc {
            port_no: OfPort(no),
            hw_addr: MacAddr([2, 0, 0, 0, 0, no as u8]),
            name: format!("p{no}"),
            config: 0,
            state,
            curr: 0,
            advertised: 0,
            supported: 0,
            peer: 0,
            curr_speed: 0,
            max_speed: 0,
        }
    }

    #[test]
    fn port_changes_become_add_delete_and_modify() {
        let old: BTreeMap<OfPort, PortDesc> = [(OfPort(1), desc(1, port_state::LIVE)), (OfPort(2), desc(2, port_state::LIVE))].into();
        let new = vec![desc(2, port_state::LINK_DOWN), desc(3, port_state::LIVE)];
        let d = diff_ports(&old, &new);
        let got: Vec<(PortReason, u32)> = d.iter().map(|s| (s.reason, s.desc.port_no.0)).collect();
        assert_eq!(got, vec![(PortReason::Delete, 1), (PortReason::Modify, 2), (PortReason::Add, 3)]);
        assert_eq!(d[0].desc, old[&OfPort(1)], "a deleted port is described as it was");
        assert!(diff_ports(&old, &old.values().cloned().collect::<Vec<_>>()).is_empty());
    }

    #[test]
    fn packet_ins_carry_the_whole_packet_and_the_pipeline_fields() {
        let action = ControllerAction {
            reason: PacketInReason::NoMatch,
            max_len: 128,
            controller_id: 0,
            table_id: 3,
            cookie: 0xabc,
            pipeline_fields: vec![(Field::InPort, 2), (Field::Metadata, 9)],
        };
        let pi = PacketIn { bridge: "br0".into(), dp_port: 5, action, packet: vec![0xaa; 300] };
        let m = packet_in_message(&pi);
        assert_eq!((m.buffer_id, m.total_len, m.data.len()), (None, 300, 300));
        assert_eq!((m.reason, m.table_id, m.cookie), (PacketInReason::NoMatch, 3, 0xabc));
        assert_eq!(m.match_.get(Field::InPort), Some((2, u32::MAX as u128)));
        assert_eq!(m.match_.get(Field::Metadata), Some((9, u64::MAX as u128)));
        // The message stays within OpenFlow's 64 KiB.
        let big = PacketIn { packet: vec![0; 70_000], ..pi };
        let m = packet_in_message(&big);
        assert_eq!(m.total_len, u16::MAX);
        assert!(OfMessage::PacketIn(m).encode(rvs_openflow::Version::V1_3, 1).is_ok());
    }

    #[test]
    fn flow_removed_reports_lifetime_and_counters() {
        let mut p = rvs_flowcache::pipeline::Pipeline::new();
        let mut fm = rvs_flowcache::FlowMod::new(rvs_flowcache::FlowModCommand::Add);
        fm.idle_timeout = 10;
        fm.flags = flow_flags::SEND_FLOW_REM;
        fm.cookie = 7;
        let rule = p.apply(&fm, 1000).unwrap().added[0].clone();
        rule.stats.credit(3, 180, 2000);
        let m = flow_removed_message(&rule, RemovedReason::IdleTimeout, 13_250);
        assert_eq!((m.duration_sec, m.duration_nsec), (12, 250_000_000));
        assert_eq!((m.packet_count, m.byte_count, m.cookie, m.idle_timeout), (3, 180, 7, 10));
        assert_eq!(m.reason, FlowRemovedReason::IdleTimeout);
    }
}
