//! Flow-mod semantics of the pipeline, following Open vSwitch's `ofproto.c`: add and replace,
//! overlap checks, strict and non-strict modify and delete, cookie and output filters, table
//! 255, and idle and hard timeouts against a fake clock.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use rvs_flowcache::ofp::{flow_flags, ANY_GROUP};
use rvs_flowcache::{
    Field, FlowKey, FlowMask, FlowMod, FlowModCommand, FlowModError, FlowTableWriter, OfAction, OfPort, Pipeline,
    RemovedReason, Rule,
};

use FlowModCommand::*;

fn output(port: u32) -> OfAction {
    OfAction::Output { port: OfPort(port), max_len: 0 }
}

/// A flow-mod on table 0 matching `in_port` (0 = any) and, if given, an exact `nw_dst`.
fn fm(command: FlowModCommand, priority: u16, in_port: u32, nw_dst: Option<u32>) -> FlowMod {
    let mut fm = FlowMod::new(command);
    fm.priority = priority;
    if in_port != 0 {
        fm.match_.set(Field::InPort, in_port as u128);
    }
    if let Some(dst) = nw_dst {
        fm.match_.set(Field::EthType, 0x0800).set(Field::IpDst, dst as u128);
    }
    fm
}

fn with_actions(mut fm: FlowMod, actions: Vec<OfAction>) -> FlowMod {
    fm.actions = actions;
    fm
}

fn key(in_port: u32, nw_dst: u32) -> FlowKey {
    let mut k = FlowKey::ZERO;
    k.in_port = in_port;
    k.dl_type = 0x0800;
    k.nw_dst = nw_dst;
    k
}

fn lookup(p: &Pipeline, table: u8, k: &FlowKey) -> Option<Arc<Rule>> {
    let mut wc = FlowMask::ZERO;
    p.lookup(table, k, &mut wc).cloned()
}

fn ids(p: &Pipeline) -> Vec<u64> {
    let mut ids: Vec<u64> = p.rules().map(|r| r.id).collect();
    ids.sort_unstable();
    ids
}

/// Applies and returns the ids (added, modified (old, new), removed).
fn apply(p: &mut Pipeline, fm: &FlowMod, now: u64) -> (Vec<u64>, Vec<(u64, u64)>, Vec<u64>) {
    let out = p.apply(fm, now).expect("flow-mod accepted");
    (
        out.added.iter().map(|r| r.id).collect(),
        out.modified.iter().map(|(o, n)| (o.id, n.id)).collect(),
        out.removed
            .iter()
            .map(|(r, why)| {
                assert_eq!(*why, RemovedReason::Delete);
                r.id
            })
            .collect(),
    )
}

#[test]
fn add_replaces_an_identical_rule_and_keeps_its_counters_unless_reset() {
    let mut p = Pipeline::new();
    let mut first = with_actions(fm(Add, 10, 1, None), vec![output(2)]);
    first.cookie = 0xa;
    first.idle_timeout = 60;
    assert_eq!(apply(&mut p, &first, 100), (vec![1], vec![], vec![]));
    let old = lookup(&p, 0, &key(1, 0)).unwrap();
    old.stats.credit(5, 500, 150);

    let mut second = with_actions(fm(Add, 10, 1, None), vec![output(3)]);
    second.cookie = 0xb;
    let out = p.apply(&second, 200).unwrap();
    assert!(out.added.is_empty() && out.removed.is_empty(), "a replaced rule gets no flow-removed");
    let (replaced, new) = &out.modified[0];
    assert!(Arc::ptr_eq(replaced, &old));
    assert_eq!((new.id, new.cookie, new.idle_timeout, new.created_ms, new.modified_ms), (2, 0xb, 0, 200, 200));
    assert_eq!(&*new.actions, &[output(3)]);
    assert!(Arc::ptr_eq(&new.stats, &old.stats), "counters carry over");
    assert_eq!(p.n_rules(), 1);

    let mut reset = fm(Add, 10, 1, None);
    reset.flags = flow_flags::RESET_COUNTS;
    let out = p.apply(&reset, 300).unwrap();
    let new = &out.modified[0].1;
    assert_eq!(new.stats.packets.load(Ordering::Relaxed), 0);
    assert_eq!(new.stats.used_ms.load(Ordering::Relaxed), 300);
    assert_eq!(ids(&p), [3]);
}

#[test]
fn check_overlap_refuses_only_overlapping_rules_of_the_same_priority() {
    let mut p = Pipeline::new();
    apply(&mut p, &fm(Add, 10, 1, None), 0);
    let mut overlapping = fm(Add, 10, 0, Some(0x0a00_0001)); // in_port=1 packets to 10.0.0.1 match both
    overlapping.flags = flow_flags::CHECK_OVERLAP;
    assert_eq!(p.apply(&overlapping, 0).unwrap_err(), FlowModError::Overlap);
    assert_eq!(ids(&p), [1], "a refused flow-mod changes nothing");

    overlapping.priority = 11;
    assert_eq!(apply(&mut p, &overlapping, 0).0.len(), 1, "another priority does not overlap");
    let mut disjoint = fm(Add, 10, 2, None);
    disjoint.flags = flow_flags::CHECK_OVERLAP;
    assert_eq!(apply(&mut p, &disjoint, 0).0.len(), 1, "in_port=2 and in_port=1 never both match");
    let mut identical = fm(Add, 10, 1, None);
    identical.flags = flow_flags::CHECK_OVERLAP;
    assert_eq!(apply(&mut p, &identical, 0).1, [(1, 4)], "an identical rule is replaced, not an overlap");
}

#[test]
fn modify_selects_covered_rules_by_cookie_and_keeps_their_identity() {
    let mut p = Pipeline::new();
    let mut a = fm(Add, 10, 1, Some(0x0a00_0001));
    a.cookie = 0x11;
    a.hard_timeout = 30;
    a.flags = flow_flags::SEND_FLOW_REM;
    apply(&mut p, &a, 100); // id 1
    let mut b = fm(Add, 20, 1, None);
    b.cookie = 0x12;
    apply(&mut p, &b, 100); // id 2
    let mut c = fm(Add, 10, 2, None);
    c.cookie = 0x11;
    apply(&mut p, &c, 100); // id 3
    apply(&mut p, &fm(Add, 5, 0, None), 100); // id 4: catch-all, wider than in_port=1

    // Non-strict, in_port=1: rules 1 and 2 (not 3, not the wider 4); out_port does not filter.
    let mut m = with_actions(fm(Modify, 0, 1, None), vec![output(9)]);
    m.out_port = OfPort(77);
    let out = p.apply(&m, 500).unwrap();
    assert_eq!(out.modified.iter().map(|(o, n)| (o.id, n.id)).collect::<Vec<_>>(), [(1, 1), (2, 2)]);
    let (old, new) = &out.modified[0];
    assert_eq!((new.priority, new.match_, new.cookie), (old.priority, old.match_, 0x11));
    assert_eq!(
        (new.hard_timeout, new.flags, new.created_ms, new.modified_ms),
        (30, flow_flags::SEND_FLOW_REM, 100, 500)
    );
    assert!(Arc::ptr_eq(&new.stats, &old.stats));
    assert_eq!(&*lookup(&p, 0, &key(1, 0x0a00_0001)).unwrap().actions, &[output(9)]);

    // Cookie filter: only cookie 0x11 under mask 0xff, and a new cookie written.
    let mut m = with_actions(fm(Modify, 0, 0, None), vec![output(8)]);
    m.cookie = 0x11;
    m.cookie_mask = 0xff;
    m.new_cookie = Some(0x99);
    let out = p.apply(&m, 600).unwrap();
    assert_eq!(out.modified.iter().map(|(_, n)| (n.id, n.cookie)).collect::<Vec<_>>(), [(1, 0x99), (3, 0x99)]);

    // Strict: exact match and priority only.
    let strict = with_actions(fm(ModifyStrict, 10, 1, None), vec![]);
    assert!(p.apply(&strict, 700).unwrap().is_empty(), "no rule is exactly in_port=1 at priority 10");
    let strict = with_actions(fm(ModifyStrict, 20, 1, None), vec![]);
    assert_eq!(apply(&mut p, &strict, 700).1, [(2, 2)]);
    assert_eq!(p.n_rules(), 4);
}

#[test]
fn modify_that_selects_nothing_adds_only_when_it_sets_a_cookie_without_filtering_on_one() {
    let mut p = Pipeline::new();
    let plain = fm(Modify, 7, 3, None);
    assert!(p.apply(&plain, 0).unwrap().is_empty());
    let mut filtered = fm(ModifyStrict, 7, 3, None);
    filtered.new_cookie = Some(5);
    filtered.cookie_mask = 1;
    assert!(p.apply(&filtered, 0).unwrap().is_empty());
    assert_eq!(p.n_rules(), 0);

    let mut adds = with_actions(fm(Modify, 7, 3, None), vec![output(1)]);
    adds.new_cookie = Some(5);
    adds.idle_timeout = 9;
    let out = p.apply(&adds, 40).unwrap();
    let r = &out.added[0];
    assert_eq!((r.priority, r.cookie, r.idle_timeout, r.created_ms), (7, 5, 9, 40));
    assert!(r.match_.matches(&key(3, 0)));
    // The same flow-mod again now selects the rule it added.
    assert_eq!(apply(&mut p, &adds, 50).1, [(r.id, r.id)]);
}

#[test]
fn delete_filters_by_match_cookie_out_port_and_out_group() {
    let mut p = Pipeline::new();
    apply(&mut p, &with_actions(fm(Add, 10, 1, Some(1)), vec![output(2)]), 0); // 1
    apply(&mut p, &with_actions(fm(Add, 20, 1, None), vec![output(3)]), 0); // 2
    let mut cookie = with_actions(fm(Add, 10, 2, None), vec![OfAction::WriteActions(vec![output(2)])]);
    cookie.cookie = 0xc0;
    apply(&mut p, &cookie, 0); // 3
    apply(
        &mut p,
        &with_actions(
            fm(Add, 1, 0, None),
            vec![OfAction::Controller { max_len: 0, reason: Default::default(), controller_id: 0 }],
        ),
        0,
    ); // 4

    let mut by_port = fm(Delete, 0, 0, None);
    by_port.out_port = OfPort(2);
    by_port.out_group = 5;
    assert!(p.apply(&by_port, 0).unwrap().is_empty(), "no rule outputs to group 5");
    by_port.out_group = ANY_GROUP;
    assert_eq!(apply(&mut p, &by_port, 0).2, [1, 3], "outputs to port 2, also inside write_actions");

    let mut by_cookie = fm(Delete, 0, 0, None);
    by_cookie.cookie = 0xc0;
    by_cookie.cookie_mask = u64::MAX;
    assert!(p.apply(&by_cookie, 0).unwrap().is_empty());

    let mut controller = fm(Delete, 0, 0, None);
    controller.out_port = OfPort::CONTROLLER;
    assert_eq!(apply(&mut p, &controller, 0).2, [4]);
    assert_eq!(ids(&p), [2]);
}

#[test]
fn strict_delete_needs_the_exact_match_and_priority() {
    let mut p = Pipeline::new();
    let mut a = fm(Add, 10, 1, None);
    a.flags = flow_flags::SEND_FLOW_REM;
    apply(&mut p, &a, 0);
    apply(&mut p, &fm(Add, 10, 1, Some(1)), 0);
    assert!(p.apply(&fm(DeleteStrict, 11, 1, None), 0).unwrap().is_empty());
    assert!(p.apply(&fm(DeleteStrict, 10, 0, None), 0).unwrap().is_empty());
    let out = p.apply(&fm(DeleteStrict, 10, 1, None), 0).unwrap();
    assert_eq!(out.removed.len(), 1);
    let (rule, why) = &out.removed[0];
    assert_eq!((rule.id, *why, rule.flags & flow_flags::SEND_FLOW_REM != 0), (1, RemovedReason::Delete, true));
    assert_eq!(ids(&p), [2]);
}

#[test]
fn table_255_means_all_tables_for_modify_and_delete() {
    let mut p = Pipeline::new();
    for table in [0u8, 3, 254] {
        let mut add = fm(Add, 10, 1, None);
        add.table_id = table;
        apply(&mut p, &add, 0);
    }
    let mut bad = fm(Add, 10, 1, None);
    bad.table_id = 255;
    assert_eq!(p.apply(&bad, 0).unwrap_err(), FlowModError::BadTableId);
    // A modify over every table reaches the rule in each (OpenFlow 1.0 without a table id).
    let mut everywhere_mod = fm(ModifyStrict, 10, 1, None);
    everywhere_mod.table_id = 255;
    everywhere_mod.actions = vec![OfAction::Output { port: OfPort(9), max_len: 0 }];
    let out = p.apply(&everywhere_mod, 0).unwrap();
    assert_eq!(out.modified.len(), 3);
    let mut in_three = fm(Delete, 10, 1, None);
    in_three.table_id = 3;
    assert_eq!(apply(&mut p, &in_three, 0).2, [2]);
    assert!(lookup(&p, 3, &key(1, 0)).is_none() && lookup(&p, 254, &key(1, 0)).is_some());
    let mut everywhere = fm(DeleteStrict, 10, 1, None);
    everywhere.table_id = 255;
    assert_eq!(apply(&mut p, &everywhere, 0).2, [1, 3]);
    assert_eq!(p.n_rules(), 0);
}

#[test]
fn hard_and_idle_timeouts_expire_on_the_fake_clock() {
    let mut p = Pipeline::new();
    let mut hard = fm(Add, 1, 1, None);
    hard.hard_timeout = 10;
    apply(&mut p, &hard, 1_000); // 1: expires after 11_000
    let mut idle = fm(Add, 1, 2, None);
    idle.idle_timeout = 5;
    apply(&mut p, &idle, 1_000); // 2: idle since 1_000
    let mut both = fm(Add, 1, 3, None);
    both.idle_timeout = 2;
    both.hard_timeout = 4;
    apply(&mut p, &both, 1_000); // 3
    apply(&mut p, &fm(Add, 1, 4, None), 0); // 4: never expires

    assert!(p.expire(3_000).is_empty(), "3_000 is not past 1_000 + 2_000");
    let idle_rule = lookup(&p, 0, &key(2, 0)).unwrap();
    idle_rule.stats.credit(1, 64, 4_000); // the revalidator saw traffic
    lookup(&p, 0, &key(3, 0)).unwrap().stats.credit(1, 64, 4_000);
    let expired = p.expire(5_001);
    assert_eq!(expired.iter().map(|(r, why)| (r.id, *why)).collect::<Vec<_>>(), [(3, RemovedReason::HardTimeout)]);
    assert!(p.expire(9_000).is_empty(), "idle until 4_000 + 5_000");
    let expired = p.expire(9_001);
    assert_eq!(expired.iter().map(|(r, why)| (r.id, *why)).collect::<Vec<_>>(), [(2, RemovedReason::IdleTimeout)]);

    // A modify restarts the hard timeout (OVS measures it from the last modification).
    let modify = fm(ModifyStrict, 1, 1, None);
    apply(&mut p, &modify, 10_000);
    assert!(p.expire(11_001).is_empty());
    let expired = p.expire(20_001);
    assert_eq!(expired.iter().map(|(r, why)| (r.id, *why)).collect::<Vec<_>>(), [(1, RemovedReason::HardTimeout)]);
    assert_eq!(ids(&p), [4]);
    assert!(p.expire(u64::MAX / 2).is_empty());
}

#[test]
fn only_a_flow_mod_that_resets_counters_restarts_the_idle_time() {
    let mut p = Pipeline::new();
    let mut idle = fm(Add, 1, 1, None);
    idle.idle_timeout = 1;
    apply(&mut p, &idle, 0);
    let mut keep = fm(Modify, 1, 1, None);
    apply(&mut p, &keep, 900);
    assert_eq!(p.expire(1_001).len(), 1, "keeping the counters keeps the idle time");
    apply(&mut p, &idle, 2_000);
    keep.flags = flow_flags::RESET_COUNTS;
    apply(&mut p, &keep, 2_900);
    assert!(p.expire(3_001).is_empty());
    assert_eq!(p.expire(3_901).len(), 1);

    // An add over an identical rule: the same, according to whether it resets the counters.
    apply(&mut p, &idle, 5_000);
    apply(&mut p, &idle, 5_900);
    assert_eq!(p.expire(6_001).len(), 1, "the replacing rule inherits the idle time");
    apply(&mut p, &idle, 7_000);
    idle.flags = flow_flags::RESET_COUNTS;
    apply(&mut p, &idle, 7_900);
    assert!(p.expire(8_001).is_empty());
    assert_eq!(p.expire(8_901).len(), 1);
}

#[test]
fn the_writer_expires_and_reports_through_the_same_batch_path() {
    let mut w = FlowTableWriter::new();
    let r = w.reader();
    let mut a = fm(Add, 1, 1, None);
    a.hard_timeout = 1;
    a.flags = flow_flags::SEND_FLOW_REM;
    w.apply(&a, 0).unwrap();
    w.publish();
    let expired = w.expire(1_001);
    assert_eq!(expired.len(), 1);
    assert_eq!(r.snapshot().n_rules(), 1, "not yet published");
    w.publish();
    assert_eq!(r.snapshot().n_rules(), 0);
    // The replayed spare agrees: adding the rule again works on the next batch.
    assert_eq!(w.apply(&a, 2_000).unwrap().added.len(), 1);
    assert_eq!(w.current().n_rules(), 1);
}
