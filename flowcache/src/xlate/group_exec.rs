//! Translation of the `group:N` action (see [`crate::group`] for the model).
//!
//! Each bucket that runs is translated as a clone of the packet, as Open vSwitch does (the
//! `clone(...)` action uses the same machinery, [`Ctx::run_as_clone`]): its
//! actions are executed in action-set order (a bucket is an action set), then the flow is
//! rolled back to what it was before the group, so neither the other buckets nor the actions
//! after the group see the bucket's changes. Header rewrites a bucket committed to the
//! datapath are undone by the next commit: those fields are marked written again (and exact
//! in the megaflow, since the value written back may be the packet's own).
//!
//! Groups may chain (a bucket may send to another group); chains count against the same
//! depth limit as resubmits.

use std::sync::Arc;

use super::{action_set_rank, Ctx, XlateError, MAX_DEPTH};
use crate::field::{Field, Prereq};
use crate::group::{mix, select_bucket, Group, GroupType};
use crate::key::FlowKey;
use crate::ofp::OfAction;

impl Ctx<'_> {
    /// Runs group `id`.
    pub(super) fn group(&mut self, id: u32) {
        let table = self.bridge().groups.clone();
        let Some(group) = table.groups.get(&id).cloned() else {
            self.trace_note(format!("group {id} does not exist, dropping"));
            return;
        };
        if self.depth >= MAX_DEPTH {
            self.o.error = Some(XlateError::RecursionTooDeep);
            self.trace_note("over max translation depth".to_string());
            return;
        }
        let chosen: Vec<usize> = match group.group_type {
            GroupType::All => (0..group.buckets.len()).collect(),
            GroupType::Indirect => (0..group.buckets.len().min(1)).collect(),
            GroupType::FastFailover => group.first_live_bucket(&table).into_iter().collect(),
            GroupType::Select => {
                let hash = self.symmetric_l4_hash();
                select_bucket(&group, &table, hash).into_iter().collect()
            }
        };
        if chosen.is_empty() {
            self.trace_note(format!("group {id}: no live bucket, dropping"));
        }
        self.note_group(&group, &chosen);
        self.depth += 1;
        for b in &chosen {
            if self.o.error.is_some() {
                break;
            }
            self.trace_note(format!("group {id}: bucket {b}"));
            let mut actions = group.buckets[*b].actions.clone();
            actions.sort_by_key(action_set_rank);
            self.run_as_clone(&actions, false);
        }
        self.depth -= 1;
    }

    /// Translates `actions` on a copy of the packet: afterwards the flow and the action set
    /// are as before. The actions start with the current action set when `with_action_set`
    /// (the `clone` action), with an empty one otherwise (a group bucket).
    pub(super) fn run_as_clone(&mut self, actions: &[OfAction], with_action_set: bool) {
        let (flow, dirty, flow_tpid) = (self.o.final_flow, self.dirty, self.flow_tpid);
        let (base, base_known) = (self.base, self.base_known);
        let saved_set = if with_action_set { self.action_set.clone() } else { std::mem::take(&mut self.action_set) };
        self.trace_depth += 1;
        self.do_actions(actions);
        self.trace_depth -= 1;
        self.action_set = saved_set;
        self.o.final_flow = flow;
        self.flow_tpid = flow_tpid;
        // Fields whose datapath value the bucket changed must be written back.
        let mut changed = FlowKey::ZERO;
        for (i, w) in changed.words_mut().iter_mut().enumerate() {
            *w = (self.base.words()[i] ^ base.words()[i]) | (self.base_known.words()[i] ^ base_known.words()[i]);
        }
        self.dirty = dirty;
        self.dirty.or_assign(&changed);
        self.o.wc.or_assign(&changed);
    }

    /// Records that the megaflow goes through `buckets` of `group` (for its counters).
    fn note_group(&mut self, group: &Arc<Group>, buckets: &[usize]) {
        match self.o.groups.iter_mut().find(|(c, _)| Arc::ptr_eq(c, &group.counters)) {
            Some((_, bs)) => {
                for b in buckets {
                    if !bs.contains(b) {
                        bs.push(*b);
                    }
                }
            }
            None => self.o.groups.push((group.counters.clone(), buckets.to_vec())),
        }
    }

    /// Open vSwitch's "symmetric L4" hash of the flow (the same in both directions), reading
    /// (and so un-wildcarding) the fields it hashes.
    fn symmetric_l4_hash(&mut self) -> u32 {
        let eth = self.read(Field::EthSrc) ^ self.read(Field::EthDst);
        let mut h = mix(eth as u32, (eth >> 32) as u32);
        h = mix(h, self.read(Field::EthType) as u32);
        h = mix(h, self.read_masked(Field::VlanTci, 0x0fff) as u32);
        let ip = if self.check(Prereq::Ipv4) {
            Some(self.read(Field::IpSrc) ^ self.read(Field::IpDst))
        } else if self.check(Prereq::Ipv6) {
            Some(self.read(Field::Ipv6Src) ^ self.read(Field::Ipv6Dst))
        } else {
            None
        };
        if let Some(ip) = ip {
            for word in [ip as u32, (ip >> 32) as u32, (ip >> 64) as u32, (ip >> 96) as u32] {
                h = mix(h, word);
            }
            let proto = self.read(Field::IpProto) as u8;
            h = mix(h, u32::from(proto));
            if matches!(proto, 6 | 17 | 132) {
                let ports = self.read(Field::TcpSrc) ^ self.read(Field::TcpDst);
                h = mix(h, ports as u32);
            }
        }
        h
    }
}
