//! OpenFlow groups: the model, and how translation picks buckets.
//!
//! # What
//! A group ([`Group`]) is a list of buckets, each a list of actions, reached from a flow's
//! `group:N` action. Its type says which buckets run:
//! * `all`: every bucket, each on its own copy of the packet (flooding, multicast);
//! * `indirect`: its one bucket (a shared next hop);
//! * `select`: one bucket, chosen by a hash of the packet's flow, weighted by the buckets'
//!   weights ([`select_bucket`]);
//! * `ff` (fast failover): the first bucket that is live ([`Group::first_live_bucket`]): its
//!   watched port is up with carrier, or its watched group has a live bucket.
//!
//! # Selection, and the megaflow
//! Open vSwitch's default selection method for `select` groups hashes the flow's
//! "symmetric L4" fields (Ethernet addresses and type, VLAN, IP addresses and protocol, L4
//! ports; the same hash in both directions) and picks, among the live buckets, the one with
//! the highest score `hash(bucket, flow hash) * weight` (rendezvous hashing: removing a
//! bucket only moves the flows that used it). rvs does the same with its own hash function,
//! so the choice of bucket for a given flow differs from Open vSwitch's but follows the same
//! rules. Translation reads the hashed fields through the tracked accessors, so they are
//! exact in the megaflow: another flow differing in any of them may pick another bucket.
//!
//! # Liveness
//! Port liveness is not part of the flow key; the switch passes the set of live ports in
//! the bridge's translation configuration and bumps its generation when it changes, so
//! megaflows that depended on a failover choice are translated again.
//!
//! # Counters
//! A group's counters ([`GroupCounters`]) are shared by the group's versions (a modify keeps
//! them) and credited by the revalidator with the traffic of every megaflow that used the
//! group, as rules are.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::ofp::{OfAction, OfPort};

/// `OFPG_MAX`: the largest group number a group-mod may use.
pub const MAX_GROUP: u32 = 0xffff_ff00;
/// `OFPG_ALL`: every group (deletes and statistics requests).
pub const ALL_GROUPS: u32 = 0xffff_fffc;
/// `OFPG_ANY`: no group (wildcard in flow filters, "no watch group" in buckets).
pub const ANY_GROUP: u32 = 0xffff_ffff;
/// `OFPG15_BUCKET_MAX`: the largest bucket id.
pub const MAX_BUCKET: u32 = 0xffff_ff00;

/// The type of a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GroupType {
    /// Every bucket.
    All,
    /// One bucket, chosen by hash.
    Select,
    /// The one bucket.
    Indirect,
    /// The first live bucket.
    FastFailover,
}

impl GroupType {
    /// The OpenFlow number (`OFPGT_*`).
    pub const fn to_wire(self) -> u8 {
        match self {
            GroupType::All => 0,
            GroupType::Select => 1,
            GroupType::Indirect => 2,
            GroupType::FastFailover => 3,
        }
    }

    /// The type of an OpenFlow number.
    pub fn from_wire(v: u8) -> Option<GroupType> {
        Some(match v {
            0 => GroupType::All,
            1 => GroupType::Select,
            2 => GroupType::Indirect,
            3 => GroupType::FastFailover,
            _ => return None,
        })
    }

    /// The name `ovs-ofctl` uses (`type=...`).
    pub const fn name(self) -> &'static str {
        match self {
            GroupType::All => "all",
            GroupType::Select => "select",
            GroupType::Indirect => "indirect",
            GroupType::FastFailover => "ff",
        }
    }
}

/// One bucket of a group.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Bucket {
    /// The bucket's id (OpenFlow 1.5, and Open vSwitch's Nicira group messages): unique within
    /// its group. OpenFlow 1.1 to 1.4 carry no ids; their buckets are numbered from 0 in order.
    /// Groups stored before ids existed read back with 0 and are renumbered when loaded.
    #[serde(default)]
    pub bucket_id: u32,
    /// Relative weight (`select` groups).
    pub weight: u16,
    /// Port whose liveness the bucket depends on (`ANY`: none).
    pub watch_port: OfPort,
    /// Group whose liveness the bucket depends on ([`ANY_GROUP`]: none).
    pub watch_group: u32,
    /// Actions.
    pub actions: Vec<OfAction>,
}

impl Bucket {
    /// A bucket with these actions, id 0, weight 0 and no watch.
    pub fn new(actions: Vec<OfAction>) -> Bucket {
        Bucket { bucket_id: 0, weight: 0, watch_port: OfPort::ANY, watch_group: ANY_GROUP, actions }
    }

    /// Numbers `buckets` 0, 1, ... in order (OpenFlow 1.1 to 1.4 give no ids).
    pub fn number(buckets: &mut [Bucket]) {
        for (i, b) in buckets.iter_mut().enumerate() {
            b.bucket_id = i as u32;
        }
    }
}

/// A group's counters, shared by its versions.
#[derive(Debug, Default)]
pub struct GroupCounters {
    /// Packets through the group.
    pub packets: AtomicU64,
    /// Bytes through the group.
    pub bytes: AtomicU64,
    /// Per bucket: packets and bytes.
    pub buckets: Box<[(AtomicU64, AtomicU64)]>,
}

impl GroupCounters {
    /// Counters for `n` buckets, all zero.
    pub fn new(n: usize) -> GroupCounters {
        GroupCounters { buckets: (0..n).map(|_| (AtomicU64::new(0), AtomicU64::new(0))).collect(), ..Default::default() }
    }

    /// Adds traffic that went through `buckets` of the group.
    pub fn credit(&self, buckets: &[usize], packets: u64, bytes: u64) {
        if packets == 0 {
            return;
        }
        self.packets.fetch_add(packets, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        for b in buckets {
            if let Some((p, by)) = self.buckets.get(*b) {
                p.fetch_add(packets, Ordering::Relaxed);
                by.fetch_add(bytes, Ordering::Relaxed);
            }
        }
    }
}

/// A group as the switch holds it.
#[derive(Debug)]
pub struct Group {
    /// Number.
    pub id: u32,
    /// Type.
    pub group_type: GroupType,
    /// Buckets, in order.
    pub buckets: Vec<Bucket>,
    /// Counters.
    pub counters: Arc<GroupCounters>,
    /// When it was added (ms, the switch's monotonic clock).
    pub created_ms: u64,
}

/// Groups by number, as translation sees them, with the bridge's live ports.
#[derive(Clone, Debug, Default)]
pub struct GroupTable {
    /// Groups.
    pub groups: BTreeMap<u32, Arc<Group>>,
    /// Ports that are up with carrier (for fast failover and select liveness).
    pub live_ports: BTreeSet<OfPort>,
}

/// How deep watched groups are followed when deciding liveness (a loop ends there).
const MAX_WATCH_DEPTH: u32 = 32;

impl GroupTable {
    /// True if `bucket` may be used: its watched port (if any) is live and its watched
    /// group (if any) has a live bucket.
    pub fn bucket_is_live(&self, bucket: &Bucket) -> bool {
        self.bucket_live_at(bucket, 0)
    }

    fn bucket_live_at(&self, bucket: &Bucket, depth: u32) -> bool {
        if bucket.watch_port != OfPort::ANY && !self.live_ports.contains(&bucket.watch_port) {
            return false;
        }
        if bucket.watch_group != ANY_GROUP {
            if depth >= MAX_WATCH_DEPTH {
                return false;
            }
            let Some(g) = self.groups.get(&bucket.watch_group) else { return false };
            return g.buckets.iter().any(|b| self.bucket_live_at(b, depth + 1));
        }
        true
    }
}

impl Group {
    /// The first live bucket (fast failover), if any.
    pub fn first_live_bucket(&self, table: &GroupTable) -> Option<usize> {
        self.buckets.iter().position(|b| table.bucket_is_live(b))
    }
}

/// Picks a bucket of a `select` group for a flow whose symmetric hash is `flow_hash`: the
/// live bucket with the highest `score(bucket index, flow_hash) * weight` (ties: the first).
/// Buckets of weight 0 are never picked. `None` if no bucket qualifies.
pub fn select_bucket(group: &Group, table: &GroupTable, flow_hash: u32) -> Option<usize> {
    let mut best: Option<(u64, usize)> = None;
    for (i, b) in group.buckets.iter().enumerate() {
        if b.weight == 0 || !table.bucket_is_live(b) {
            continue;
        }
        let score = u64::from(mix(i as u32, flow_hash) & 0xffff) * u64::from(b.weight);
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, i));
        }
    }
    best.map(|(_, i)| i)
}

/// A 32-bit mixing function (the finaliser of MurmurHash3) of two words.
pub fn mix(a: u32, b: u32) -> u32 {
    let mut h = a.wrapping_mul(0x9e37_79b9) ^ b;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(t: GroupType, buckets: Vec<Bucket>) -> Group {
        let n = buckets.len();
        Group { id: 1, group_type: t, buckets, counters: Arc::new(GroupCounters::new(n)), created_ms: 0 }
    }

    fn watched(port: u32) -> Bucket {
        Bucket { watch_port: OfPort(port), ..Bucket::new(vec![OfAction::Output { port: OfPort(port), max_len: 0 }]) }
    }

    #[test]
    fn fast_failover_takes_the_first_live_bucket() {
        let g = group(GroupType::FastFailover, vec![watched(1), watched(2), watched(3)]);
        let mut t = GroupTable { live_ports: [OfPort(2), OfPort(3)].into(), ..Default::default() };
        assert_eq!(g.first_live_bucket(&t), Some(1));
        t.live_ports.insert(OfPort(1));
        assert_eq!(g.first_live_bucket(&t), Some(0));
        t.live_ports.clear();
        assert_eq!(g.first_live_bucket(&t), None);
    }

    #[test]
    fn a_watched_group_is_live_if_one_of_its_buckets_is() {
        let mut t = GroupTable::default();
        t.groups.insert(7, Arc::new(group(GroupType::FastFailover, vec![watched(4)])));
        let b = Bucket { watch_group: 7, ..Bucket::new(Vec::new()) };
        assert!(!t.bucket_is_live(&b));
        t.live_ports.insert(OfPort(4));
        assert!(t.bucket_is_live(&b));
        // A watch of a missing group is never live; a loop of watches ends.
        assert!(!t.bucket_is_live(&Bucket { watch_group: 8, ..Bucket::new(Vec::new()) }));
        let looped = Bucket { watch_group: 9, ..Bucket::new(Vec::new()) };
        t.groups.insert(9, Arc::new(group(GroupType::FastFailover, vec![looped.clone()])));
        assert!(!t.bucket_is_live(&looped));
    }

    #[test]
    fn select_spreads_by_weight_and_skips_dead_and_weightless_buckets() {
        let mut buckets = vec![watched(1), watched(2), watched(3)];
        buckets[0].weight = 1;
        buckets[1].weight = 3;
        buckets[2].weight = 0;
        let g = group(GroupType::Select, buckets);
        let t = GroupTable { live_ports: [OfPort(1), OfPort(2), OfPort(3)].into(), ..Default::default() };
        let mut counts = [0u32; 3];
        for h in 0..4000u32 {
            counts[select_bucket(&g, &t, mix(h, 12345)).unwrap()] += 1;
        }
        assert_eq!(counts[2], 0, "weight 0 is never picked");
        assert!(counts[1] > 2 * counts[0], "weight 3 gets more than twice weight 1: {counts:?}");
        assert!(counts[0] > 200, "weight 1 gets a share: {counts:?}");
        let only2 = GroupTable { live_ports: [OfPort(2)].into(), ..Default::default() };
        assert!((0..100).all(|h| select_bucket(&g, &only2, h) == Some(1)));
        assert_eq!(select_bucket(&g, &GroupTable::default(), 5), None);
    }

    #[test]
    fn removing_a_bucket_moves_only_its_flows() {
        let mk = |ports: &[u32]| {
            let bs = ports.iter().map(|p| Bucket { weight: 1, ..Bucket::new(vec![OfAction::Output { port: OfPort(*p), max_len: 0 }]) });
            group(GroupType::Select, bs.collect())
        };
        let t = GroupTable::default();
        let (three, two) = (mk(&[1, 2, 3]), mk(&[1, 2]));
        for h in 0..1000 {
            let a = select_bucket(&three, &t, h).unwrap();
            if a < 2 {
                assert_eq!(select_bucket(&two, &t, h), Some(a));
            }
        }
    }

    #[test]
    fn counters_credit_the_group_and_its_buckets() {
        let c = GroupCounters::new(2);
        c.credit(&[1], 3, 300);
        c.credit(&[0, 1], 0, 0);
        assert_eq!(c.packets.load(Ordering::Relaxed), 3);
        assert_eq!(c.buckets[1].1.load(Ordering::Relaxed), 300);
        assert_eq!(c.buckets[0].0.load(Ordering::Relaxed), 0);
    }
}
