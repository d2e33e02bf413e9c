//! Translation of groups: which buckets run, packet cloning between buckets, and what the
//! megaflow mask holds.

use std::sync::Arc;

use super::tests::{fixture, udp_key, Fixture};
use super::*;
use crate::dpaction::format_actions;
use crate::group::{Bucket, Group, GroupCounters, GroupType};
use crate::ofp::Match;

fn output(p: u32) -> OfAction {
    OfAction::Output { port: OfPort(p), max_len: 0 }
}

fn watched(p: u32, actions: Vec<OfAction>) -> Bucket {
    Bucket { watch_port: OfPort(p), weight: 1, ..Bucket::new(actions) }
}

/// Ports 1..=4, group 1 of `t` with `buckets`, and a rule sending everything to it.
fn with_group(t: GroupType, buckets: Vec<Bucket>, live: &[u32]) -> Fixture {
    let mut f = fixture(4);
    let mut table = GroupTable { live_ports: live.iter().map(|p| OfPort(*p)).collect(), ..Default::default() };
    let n = buckets.len();
    table.groups.insert(1, Arc::new(Group { id: 1, group_type: t, buckets, counters: Arc::new(GroupCounters::new(n)), created_ms: 0 }));
    f.bridge.groups = Arc::new(table);
    f.add(0, 1, Match::catchall(), vec![OfAction::Group(1)]);
    f
}

#[test]
fn all_runs_every_bucket_on_its_own_copy() {
    let set = OfAction::SetIpv4Dst(9);
    let f = with_group(GroupType::All, vec![Bucket::new(vec![output(2), set]), Bucket::new(vec![output(3)])], &[]);
    let o = f.xlate(udp_key(1, 1, 2));
    // The first bucket's rewrite comes before its output (action-set order) and is undone
    // before the second bucket's output.
    assert_eq!(format_actions(&o.actions), "set(ipv4(dst=0.0.0.9)),12,set(ipv4(dst=10.0.0.2)),13");
    assert_eq!(o.wc.nw_dst, u32::MAX, "the restored value is the packet's own");
    assert_eq!(o.groups.len(), 1);
    assert_eq!(o.groups[0].1, vec![0, 1]);
}

#[test]
fn indirect_runs_its_bucket_and_actions_after_the_group_see_the_packet_unchanged() {
    let mut f = with_group(GroupType::Indirect, vec![Bucket::new(vec![OfAction::SetIpv4Src(7), output(2)])], &[]);
    f.add(0, 2, Match::catchall(), vec![OfAction::Group(1), output(3)]);
    let o = f.xlate(udp_key(1, 1, 2));
    assert_eq!(format_actions(&o.actions), "set(ipv4(src=0.0.0.7)),12,set(ipv4(src=10.0.0.1)),13");
}

#[test]
fn fast_failover_uses_the_first_live_bucket() {
    let buckets = vec![watched(2, vec![output(2)]), watched(3, vec![output(3)])];
    let f = with_group(GroupType::FastFailover, buckets.clone(), &[2, 3]);
    assert_eq!(format_actions(&f.xlate(udp_key(1, 1, 2)).actions), "12");
    let f = with_group(GroupType::FastFailover, buckets.clone(), &[3]);
    let o = f.xlate(udp_key(1, 1, 2));
    assert_eq!(format_actions(&o.actions), "13");
    assert_eq!(o.groups[0].1, vec![1]);
    let f = with_group(GroupType::FastFailover, buckets, &[]);
    assert_eq!(format_actions(&f.xlate(udp_key(1, 1, 2)).actions), "drop");
    // Liveness is not in the flow: nothing of the packet beyond the rule's match is read.
    assert_eq!(f.xlate(udp_key(1, 1, 2)).wc.nw_dst, 0);
}

#[test]
fn select_hashes_the_symmetric_l4_fields_into_the_megaflow() {
    let buckets = (2..=4).map(|p| Bucket { weight: 1, ..Bucket::new(vec![output(p)]) }).collect();
    let f = with_group(GroupType::Select, buckets, &[]);
    let k = udp_key(1, 1, 2);
    let o = f.xlate(k);
    assert_eq!(o.actions.len(), 1);
    assert_eq!((o.wc.dl_src, o.wc.dl_dst, o.wc.nw_src, o.wc.nw_dst), (0xffff_ffff_ffff, 0xffff_ffff_ffff, u32::MAX, u32::MAX));
    assert_eq!((o.wc.nw_proto, o.wc.tp_src, o.wc.tp_dst), (u8::MAX, u16::MAX, u16::MAX));
    // Symmetric: the reply direction picks the same bucket.
    let mut back = udp_key(1, 2, 1);
    (back.nw_src, back.nw_dst, back.tp_src, back.tp_dst) = (k.nw_dst, k.nw_src, k.tp_dst, k.tp_src);
    assert_eq!(f.xlate(back).actions, o.actions);
    // Different flows spread over the buckets.
    let mut seen = std::collections::BTreeSet::new();
    for sport in 1000..1100 {
        let mut k = udp_key(1, 1, 2);
        k.tp_src = sport;
        seen.insert(format_actions(&f.xlate(k).actions));
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
}

#[test]
fn a_missing_group_drops() {
    let mut f = fixture(2);
    f.add(0, 1, Match::catchall(), vec![OfAction::Group(5), output(2)]);
    assert_eq!(format_actions(&f.xlate(udp_key(1, 1, 2)).actions), "12");
}
