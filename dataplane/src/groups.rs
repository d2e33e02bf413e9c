//! A bridge's OpenFlow groups: group-mods, the group statistics, description and features
//! replies, liveness for fast failover, and the groups file of the config store.
//!
//! # Semantics (as Open vSwitch's `ofproto`)
//! * add: the id must be at most `OFPG_MAX` (`OFPGMFC_INVALID_GROUP`) and new
//!   (`OFPGMFC_GROUP_EXISTS`); an `indirect` group has exactly one bucket
//!   (`OFPGMFC_INVALID_GROUP`); a fast-failover bucket watches a port or a group
//!   (`OFPGMFC_BAD_WATCH`), an `all` or `indirect` bucket watches nothing
//!   (`OFPGMFC_WATCH_UNSUPPORTED`), and a watched port must be a real port number
//!   (`OFPGMFC_BAD_WATCH`).
//! * modify: the group must exist (`OFPGMFC_UNKNOWN_GROUP`); type and buckets are replaced,
//!   the counters and creation time kept.
//! * delete: one group (nothing happens if it does not exist) or all (`OFPG_ALL`). Every
//!   rule that sends to a deleted group is deleted too, with flow-removed reason
//!   `GROUP_DELETE`.
//!
//! Flows may only send to groups that exist (checked by the flow-mod handler,
//! `OFPBAC_BAD_OUT_GROUP`); buckets may send to any group (a missing one drops), as in Open
//! vSwitch. Every change re-publishes the bridge's translation configuration, so megaflows
//! that went through a group are translated again.
//!
//! # Liveness
//! A port is live when it is administratively up, has carrier and is not `PORT_DOWN`.
//! [`Switch::refresh_group_liveness`] (called once a second) re-publishes the translation
//! configuration when the set of live ports changed (`bundle` actions choose among live
//! ports too, so this holds for bridges without groups as well).
//!
//! # Storage
//! `groups/<bridge>.json` in the config store holds the groups (id, type, buckets with their
//! ids), written
//! whole and atomically after every group-mod, and read back before the bridge's rules when
//! the daemon starts.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use rvs_flowcache::group::{Group, GroupCounters, GroupTable, ALL_GROUPS, ANY_GROUP, MAX_GROUP};
use rvs_flowcache::pipeline::RemovedReason;
use rvs_flowcache::{FlowMod, FlowModCommand, OfAction, OfPort, Rule};
use rvs_openflow::error::{GroupModFailed, OfError};
use rvs_openflow::group::{group_caps, Bucket, GroupDesc, GroupFeatures, GroupMod, GroupModCommand, GroupStats, GroupType};
use serde::{Deserialize, Serialize};

use crate::store;
use crate::switch::{port_config, Bridge, Switch};

/// A group as the groups file stores it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredGroup {
    /// Number.
    pub id: u32,
    /// Type.
    pub group_type: GroupType,
    /// Buckets.
    pub buckets: Vec<Bucket>,
}

/// The ports of `br` that fast-failover buckets and `bundle` actions may use.
fn live_ports(br: &Bridge) -> BTreeSet<OfPort> {
    br.ports
        .values()
        .filter(|p| {
            let l = p.port.link_state();
            l.admin_up && l.carrier && p.config & port_config::PORT_DOWN == 0
        })
        .map(|p| p.ofport)
        .collect()
}

/// The translation view of `br`'s groups.
pub(crate) fn group_table(br: &Bridge) -> Arc<GroupTable> {
    Arc::new(GroupTable { groups: br.groups.clone(), live_ports: live_ports(br) })
}

/// The actions OpenFlow 1.3 numbers that rvs executes in buckets (`OFPAT_*` bits): output,
/// push/pop VLAN, group, set/decrement TTL, set-field.
const BUCKET_ACTIONS: u32 = (1 << 0) | (1 << 17) | (1 << 18) | (1 << 22) | (1 << 23) | (1 << 24) | (1 << 25);

fn check_buckets(gm: &GroupMod) -> Result<(), OfError> {
    if gm.group_type == GroupType::Indirect && gm.buckets.len() != 1 {
        return Err(OfError::GroupModFailed(GroupModFailed::InvalidGroup));
    }
    for b in &gm.buckets {
        if b.watch_port != OfPort::ANY && b.watch_port.0 >= 0xff00 && b.watch_port != OfPort::LOCAL {
            return Err(OfError::GroupModFailed(GroupModFailed::BadWatch));
        }
        let watches = b.watch_port != OfPort::ANY || b.watch_group != ANY_GROUP;
        if matches!(gm.group_type, GroupType::All | GroupType::Indirect) && watches {
            return Err(OfError::GroupModFailed(GroupModFailed::WatchUnsupported));
        }
        if gm.group_type == GroupType::FastFailover && !watches {
            return Err(OfError::GroupModFailed(GroupModFailed::BadWatch));
        }
        if gm.group_type != GroupType::Select && b.weight != 0 {
            return Err(OfError::GroupModFailed(GroupModFailed::WeightUnsupported));
        }
        if b.actions.iter().any(OfAction::is_instruction) {
            return Err(OfError::GroupModFailed(GroupModFailed::BadBucket));
        }
    }
    Ok(())
}

impl Switch {
    /// Applies a group-mod to `bridge`. Returns the rules deleted with deleted groups.
    pub fn group_mod(&mut self, bridge: &str, gm: &GroupMod) -> Result<Vec<(Arc<Rule>, RemovedReason)>, OfError> {
        let now = self.dp.now_ms();
        let br = self.bridges.get_mut(bridge).expect("bridge exists");
        let mut removed = Vec::new();
        match gm.command {
            GroupModCommand::Add | GroupModCommand::Modify => {
                if gm.group_id > MAX_GROUP {
                    return Err(OfError::GroupModFailed(GroupModFailed::InvalidGroup));
                }
                let old = br.groups.get(&gm.group_id).cloned();
                match (gm.command, &old) {
                    (GroupModCommand::Add, Some(_)) => return Err(OfError::GroupModFailed(GroupModFailed::GroupExists)),
                    (GroupModCommand::Modify, None) => return Err(OfError::GroupModFailed(GroupModFailed::UnknownGroup)),
                    _ => {}
                }
                check_buckets(gm)?;
                let counters = GroupCounters::new(gm.buckets.len());
                let mut created_ms = now;
                if let Some(o) = &old {
                    counters.packets.store(o.counters.packets.load(Ordering::Relaxed), Ordering::Relaxed);
                    counters.bytes.store(o.counters.bytes.load(Ordering::Relaxed), Ordering::Relaxed);
                    created_ms = o.created_ms;
                }
                let group = Group {
                    id: gm.group_id,
                    group_type: gm.group_type,
                    buckets: gm.buckets.clone(),
                    counters: Arc::new(counters),
                    created_ms,
                };
                br.groups.insert(gm.group_id, Arc::new(group));
            }
            GroupModCommand::Delete => {
                let ids: Vec<u32> = if gm.group_id == ALL_GROUPS {
                    br.groups.keys().copied().collect()
                } else {
                    br.groups.contains_key(&gm.group_id).then_some(gm.group_id).into_iter().collect()
                };
                for id in ids {
                    br.groups.remove(&id);
                    let mut fm = FlowMod::new(FlowModCommand::Delete);
                    fm.table_id = 0xff;
                    fm.out_group = id;
                    if let Ok(outcome) = br.writer.apply(&fm, now) {
                        removed.extend(outcome.removed.into_iter().map(|(r, _)| (r, RemovedReason::GroupDelete)));
                    }
                }
            }
        }
        self.save_groups(bridge);
        self.refresh_xlate(bridge);
        Ok(removed)
    }

    /// True if `bridge` has group `id`.
    pub fn has_group(&self, bridge: &str, id: u32) -> bool {
        self.bridges.get(bridge).is_some_and(|b| b.groups.contains_key(&id))
    }

    /// Group statistics of `bridge` (`ALL_GROUPS`: every group).
    pub fn group_stats(&self, bridge: &str, id: u32) -> Vec<GroupStats> {
        let br = &self.bridges[bridge];
        let now = self.dp.now_ms();
        let rules: Vec<Arc<Rule>> = br.writer.snapshot().rules().cloned().collect();
        br.groups
            .values()
            .filter(|g| id == ALL_GROUPS || g.id == id)
            .map(|g| {
                let age = now.saturating_sub(g.created_ms);
                let ref_count = rules.iter().filter(|r| r.actions.iter().any(|a| a.uses_group(g.id))).count() as u32;
                GroupStats {
                    group_id: g.id,
                    ref_count,
                    packet_count: g.counters.packets.load(Ordering::Relaxed),
                    byte_count: g.counters.bytes.load(Ordering::Relaxed),
                    duration_sec: (age / 1000) as u32,
                    duration_nsec: ((age % 1000) * 1_000_000) as u32,
                    buckets: g.counters.buckets.iter().map(|(p, b)| (p.load(Ordering::Relaxed), b.load(Ordering::Relaxed))).collect(),
                }
            })
            .collect()
    }

    /// Group descriptions of `bridge` (`ALL_GROUPS`: every group).
    pub fn group_descs(&self, bridge: &str, id: u32) -> Vec<GroupDesc> {
        self.bridges[bridge]
            .groups
            .values()
            .filter(|g| id == ALL_GROUPS || g.id == id)
            .map(|g| GroupDesc { group_type: g.group_type, group_id: g.id, buckets: g.buckets.clone() })
            .collect()
    }

    /// What rvs's groups can do.
    pub fn group_features(&self) -> GroupFeatures {
        GroupFeatures {
            types: 0xf,
            capabilities: group_caps::SELECT_WEIGHT | group_caps::SELECT_LIVENESS | group_caps::CHAINING,
            max_groups: [MAX_GROUP; 4],
            actions: [BUCKET_ACTIONS; 4],
        }
    }

    /// Re-publishes `bridge`'s translation configuration if its live ports changed (fast
    /// failover buckets and `bundle` actions choose by them; republishing revalidates the
    /// megaflows).
    pub fn refresh_group_liveness(&mut self, bridge: &str) {
        let Some(br) = self.bridges.get(bridge) else { return };
        let live = live_ports(br);
        if br.dp.xlate.load().bridge.groups.live_ports != live {
            self.refresh_xlate(bridge);
        }
    }

    fn save_groups(&self, bridge: &str) {
        let Some(br) = self.bridges.get(bridge) else { return };
        let stored: Vec<StoredGroup> =
            br.groups.values().map(|g| StoredGroup { id: g.id, group_type: g.group_type, buckets: g.buckets.clone() }).collect();
        let path = self.paths.groups_file(bridge);
        let result = serde_json::to_vec_pretty(&stored).map_err(std::io::Error::other).and_then(|b| store::write_atomic(&path, &b));
        if let Err(e) = result {
            crate::vlog::err("groups", &format!("{}: {e}", path.display()));
        }
    }

    /// Reads `bridge`'s stored groups (at start, before its rules).
    pub(crate) fn restore_groups(&mut self, bridge: &str) -> std::io::Result<()> {
        let path = self.paths.groups_file(bridge);
        let stored: Vec<StoredGroup> = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let now = self.dp.now_ms();
        let br = self.bridges.get_mut(bridge).expect("bridge exists");
        for mut g in stored {
            // Groups stored before buckets had ids read back with id 0 everywhere.
            let ids: BTreeSet<u32> = g.buckets.iter().map(|b| b.bucket_id).collect();
            if ids.len() != g.buckets.len() {
                Bucket::number(&mut g.buckets);
            }
            let counters = Arc::new(GroupCounters::new(g.buckets.len()));
            br.groups.insert(g.id, Arc::new(Group { id: g.id, group_type: g.group_type, buckets: g.buckets, counters, created_ms: now }));
        }
        self.refresh_xlate(bridge);
        Ok(())
    }

    /// Forgets `bridge`'s stored groups (the bridge is gone).
    pub(crate) fn remove_stored_groups(&self, bridge: &str) {
        let _ = std::fs::remove_file(self.paths.groups_file(bridge));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gm(t: GroupType, buckets: Vec<Bucket>) -> GroupMod {
        GroupMod { command: GroupModCommand::Add, group_type: t, group_id: 1, buckets }
    }

    #[test]
    fn bucket_rules_are_ovs_rules() {
        let plain = Bucket::new(vec![OfAction::Output { port: OfPort(1), max_len: 0 }]);
        assert!(check_buckets(&gm(GroupType::All, vec![plain.clone(), plain.clone()])).is_ok());
        assert_eq!(
            check_buckets(&gm(GroupType::Indirect, vec![])),
            Err(OfError::GroupModFailed(GroupModFailed::InvalidGroup))
        );
        assert_eq!(
            check_buckets(&gm(GroupType::FastFailover, vec![plain.clone()])),
            Err(OfError::GroupModFailed(GroupModFailed::BadWatch))
        );
        let weighted = Bucket { weight: 3, ..plain.clone() };
        assert!(check_buckets(&gm(GroupType::Select, vec![weighted.clone()])).is_ok());
        assert_eq!(
            check_buckets(&gm(GroupType::All, vec![weighted])),
            Err(OfError::GroupModFailed(GroupModFailed::WeightUnsupported))
        );
        assert_eq!(
            check_buckets(&gm(GroupType::All, vec![Bucket { watch_group: 2, ..plain.clone() }])),
            Err(OfError::GroupModFailed(GroupModFailed::WatchUnsupported))
        );
        let bad_watch = Bucket { watch_port: OfPort::CONTROLLER, ..plain };
        assert_eq!(
            check_buckets(&gm(GroupType::FastFailover, vec![bad_watch])),
            Err(OfError::GroupModFailed(GroupModFailed::BadWatch))
        );
    }
}
