//! Receive queue scheduling with several PMDs driven by the test kit: the initial assignment,
//! a load shift measured over intervals, and the auto load balance moving queues. Assertions
//! are on assignments only (which PMD polls which queue), never on timings.

use rvs_dataplane::pmd_sched::SchedSettings;
use rvs_dataplane::sched::{AssignAlgo, INTERVALS};
use rvs_dataplane::testkit::{anchor_udp_frame, PortSetup, TestSwitch};

const BUSY_A: usize = 0;
const QUIET_B: usize = 1;
const QUIET_C: usize = 2;
const BUSY_D: usize = 3;

/// Four replaying ports (A B C D) and a sink, two PMDs, every packet to the sink.
fn switch() -> TestSwitch {
    let frame = anchor_udp_frame([172, 16, 0, 1], [10, 0, 0, 1], 1024, 5000);
    let mut sw = TestSwitch::builder().pmds(2).ports(4, PortSetup::replay(vec![frame])).port(PortSetup::sink()).build();
    sw.flows(&["actions=output:5"]);
    sw
}

/// Runs traffic for one measurement interval, then closes it.
fn interval(sw: &mut TestSwitch) {
    sw.run(200);
    sw.end_interval();
}

/// A first interval that carries the one-time costs (the first packet of each port is an
/// upcall, pools and caches warm up); the 12 after it push it out of the kept history, as the
/// seconds-long intervals of a real switch dwarf them.
fn warm_up(sw: &mut TestSwitch) {
    interval(sw);
}

#[test]
fn unmeasured_queues_go_up_then_down_over_the_pmds() {
    let sw = switch();
    // Nothing measured: port order, PMDs 0 1 1 0 (OVS's cycles algorithm).
    let owners: Vec<_> = (0..4).map(|i| sw.pmd_of_port(i)).collect();
    assert_eq!(owners, vec![Some(0), Some(1), Some(1), Some(0)]);
    assert_eq!(sw.pmd_of_port(4), None, "a sink is not polled");
}

#[test]
fn auto_load_balance_moves_a_queue_when_load_shifts() {
    let mut sw = switch();
    sw.set_sched_settings(SchedSettings { alb: true, ..SchedSettings::default() });
    // B and C (both on PMD 1) go quiet: PMD 0 now carries all the traffic (A and D).
    sw.port(QUIET_B).handle().set_replay(Vec::new());
    sw.port(QUIET_C).handle().set_replay(Vec::new());
    warm_up(&mut sw);
    for _ in 0..INTERVALS - 2 {
        interval(&mut sw);
    }
    // Overloaded for fewer than 12 intervals: nothing happens yet.
    assert_eq!(sw.auto_lb_check(), None);
    assert_eq!((sw.pmd_of_port(BUSY_A), sw.pmd_of_port(BUSY_D)), (Some(0), Some(0)));

    // Two more: 12 measured intervals of overload (the warm-up one has left the history).
    interval(&mut sw);
    interval(&mut sw);
    let before = sw.counters_of(1).rx_packets;
    // The busier of A and D stays on PMD 0, the other goes to PMD 1; the quiet queues follow
    // in port order (B to PMD 1, C to PMD 0): two queues move.
    assert_eq!(sw.auto_lb_check(), Some(2), "{:#?}", sw.sched_log());
    let mut busy = [sw.pmd_of_port(BUSY_A), sw.pmd_of_port(BUSY_D)];
    busy.sort();
    assert_eq!(busy, [Some(0), Some(1)]);
    assert_eq!(sw.pmd_of_port(QUIET_B), Some(1));
    assert_eq!(sw.pmd_of_port(QUIET_C), Some(0));
    assert!(sw.sched_log().iter().any(|l| l == "PMD auto load balance dry run. Requesting datapath reconfigure."));
    // The moved queue now feeds PMD 1, and nothing was lost on the way: all of it reaches the
    // sink.
    sw.run(10);
    assert!(sw.counters_of(1).rx_packets > before);
    sw.run(1);
    let rx: u64 = (0..2).map(|i| sw.counters_of(i).rx_packets).sum();
    let tx: u64 = (0..2).map(|i| sw.counters_of(i).tx_packets).sum();
    assert_eq!(rx, tx);
}

#[test]
fn roundrobin_never_auto_balances_but_a_rebalance_applies_it() {
    let mut sw = switch();
    sw.set_sched_settings(SchedSettings { alb: true, algo: AssignAlgo::RoundRobin, ..SchedSettings::default() });
    sw.port(QUIET_B).handle().set_replay(Vec::new());
    sw.port(QUIET_C).handle().set_replay(Vec::new());
    for _ in 0..INTERVALS {
        interval(&mut sw);
    }
    assert_eq!(sw.auto_lb_check(), None);
    assert!(sw.sched_log()[0].contains("roundrobin"), "{:?}", sw.sched_log());
    // pmd-rxq-rebalance with roundrobin: port order, PMDs 0 1 0 1.
    assert_eq!(sw.rebalance(), 2);
    let owners: Vec<_> = (0..4).map(|i| sw.pmd_of_port(i)).collect();
    assert_eq!(owners, vec![Some(0), Some(1), Some(0), Some(1)]);
}

#[test]
fn a_balanced_switch_stays_put() {
    let mut sw = switch();
    sw.set_sched_settings(SchedSettings { alb: true, ..SchedSettings::default() });
    // A (PMD 0) and B (PMD 1) carry the traffic, C and D are quiet: both PMDs are overloaded,
    // but the best assignment is the one in place (or its mirror image, which spreads the
    // load no better), so the dry run finds no improvement and nothing moves.
    sw.port(QUIET_C).handle().set_replay(Vec::new());
    sw.port(BUSY_D).handle().set_replay(Vec::new());
    warm_up(&mut sw);
    for _ in 0..INTERVALS {
        interval(&mut sw);
    }
    let before: Vec<_> = (0..4).map(|i| sw.pmd_of_port(i)).collect();
    assert_eq!(sw.auto_lb_check(), None, "{:#?}", sw.sched_log());
    assert!(sw.sched_log().iter().any(|l| l.ends_with("is not met.")), "{:#?}", sw.sched_log());
    let after: Vec<_> = (0..4).map(|i| sw.pmd_of_port(i)).collect();
    assert_eq!(before, after);
}

#[test]
fn cycles_are_charged_to_the_queues_that_received() {
    let mut sw = switch();
    sw.port(QUIET_B).handle().set_replay(Vec::new());
    sw.run(20);
    sw.end_interval();
    let history = |sw: &TestSwitch, port: usize| {
        let dp_port = sw.port(port).dp_port();
        let pmd = sw.pmd_shared(sw.pmd_of_port(port).expect("polled"));
        let rxqs = pmd.rxqs.lock().unwrap();
        rxqs.iter().find(|e| e.dp_port == dp_port).expect("listed").stats.history()
    };
    assert!(history(&sw, BUSY_A) > 0);
    assert_eq!(history(&sw, QUIET_B), 0);
    // PMD 0 polls A and D, which always have packets: every iteration is busy, and each stage
    // of the path was timed.
    let c = sw.counters_of(0);
    assert_eq!(c.busy_iterations, c.iterations);
    assert!(c.rx_cycles > 0 && c.lookup_cycles > 0 && c.action_cycles > 0 && c.tx_cycles > 0);
    assert!(c.upcall_cycles > 0, "the first packet of each port was an upcall");
    assert!(c.rx_cycles + c.lookup_cycles + c.upcall_cycles + c.action_cycles + c.tx_cycles <= c.busy_cycles);
    let p0 = sw.pmd_shared(0);
    assert_eq!(p0.intervals.completed(), 1);
    assert!(p0.intervals.interval_cycles() > 0);
}
