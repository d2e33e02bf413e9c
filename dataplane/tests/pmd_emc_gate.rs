//! The exact-match cache gate through a real PMD (no root). Whether batches consult the EMC
//! is decided by timing trials (`rvs_flowcache::emc::EmcGate`, whose decisions are tested
//! with given costs in its unit tests); here: every packet is forwarded and counted once
//! whichever way the trials go, `emc-insert-inv-prob=0` turns EMC lookups off, and packets of
//! a run of identical packets take their first packet's answer, whichever cache or upcall
//! gave it, and are counted as that packet was.

use rvs_dataplane::pmd_loop::PmdConfig;
use rvs_dataplane::testkit::{anchor_udp_frame, PortSetup, TestSwitch};
use rvs_flowcache::emc::{EmcGate, DEFAULT_ENTRIES};
use rvs_packet::BURST_SIZE;

/// `n` distinct UDP five-tuples.
fn flows(n: u32) -> Vec<Vec<u8>> {
    (0..n).map(|i| anchor_udp_frame([10, 1, (i >> 8) as u8, i as u8], [10, 2, 0, 1], 1000 + (i % 7) as u16, 2000)).collect()
}

#[test]
fn every_packet_is_answered_once_through_trials() {
    let many = 2 * DEFAULT_ENTRIES as u32;
    let mut sw = TestSwitch::builder().port(PortSetup::replay(flows(many))).port(PortSetup::sink()).build();
    sw.flows(&["in_port=1,actions=output:2"]);
    sw.run(u64::from(many) / BURST_SIZE as u64);
    let c0 = sw.counters().clone();
    // Through more than one epoch: trials, and stretches with and maybe without lookups.
    let batches = u64::from(EmcGate::EPOCH) + 2 * u64::from(EmcGate::TRIAL);
    sw.run(batches);
    let c = sw.counters().since(&c0);
    assert_eq!(c.rx_packets, batches * BURST_SIZE as u64);
    assert_eq!(c.emc_hits + c.megaflow_hits, c.rx_packets, "{c:?}");
    assert_eq!((c.upcalls, c.total_drops()), (0, 0));
    assert_eq!(sw.port(1).stats().tx_packets, sw.counters().rx_packets);
}

#[test]
fn emc_insert_inv_prob_zero_turns_lookups_off() {
    let mut sw = TestSwitch::builder().port(PortSetup::replay(flows(64))).port(PortSetup::sink()).build();
    sw.configure_pmd(PmdConfig { emc_insert_inv_prob: 0, ..PmdConfig::default() });
    sw.flows(&["in_port=1,actions=output:2"]);
    sw.run(100);
    let c = sw.counters();
    assert_eq!((c.emc_hits, c.upcalls, c.megaflow_hits), (0, 1, 100 * BURST_SIZE as u64 - 1));
}

#[test]
fn runs_take_their_roots_answer() {
    let frame = anchor_udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 1000, 2000);
    let mut sw = TestSwitch::builder().port(PortSetup::replay(vec![frame])).port(PortSetup::sink()).build();
    sw.flows(&["in_port=1,actions=output:2"]);
    // First batch: one upcall (the root); the rest of the run is counted as megaflow hits.
    sw.run(1);
    let c = sw.counters().clone();
    assert_eq!((c.rx_packets, c.upcalls, c.megaflow_hits, c.emc_hits), (BURST_SIZE as u64, 1, BURST_SIZE as u64 - 1, 0));
    assert_eq!(sw.port(1).stats().tx_packets, BURST_SIZE as u64);
    // Later batches: the whole run answered by the cache that answered its root.
    sw.run(2);
    let c = sw.counters().since(&c);
    assert_eq!(c.upcalls, 0);
    assert_eq!(c.emc_hits + c.megaflow_hits, 2 * BURST_SIZE as u64);
    assert_eq!(c.emc_hits % BURST_SIZE as u64, 0, "{c:?}");

    // A run whose root is dropped by the pipeline (no rule: table miss drops) is dropped whole
    // and counted.
    let frame = anchor_udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 1, 2);
    let mut sw = TestSwitch::builder().port(PortSetup::replay(vec![frame])).port(PortSetup::sink()).build();
    sw.run(2);
    let c = sw.counters();
    assert_eq!(c.rx_packets, 2 * BURST_SIZE as u64);
    assert_eq!(c.total_drops(), 2 * BURST_SIZE as u64);
    assert_eq!(sw.port(1).stats().tx_packets, 0);
}

#[test]
fn runs_through_action_lists_and_outputs() {
    // A run on a megaflow with two outputs (executed packet by packet) and one with a single
    // output (moved as a whole): every packet comes out, counted on its megaflow.
    let frame = anchor_udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 1000, 2000);
    let mut sw = TestSwitch::builder().port(PortSetup::replay(vec![frame.clone()])).port(PortSetup::sink()).port(PortSetup::sink()).build();
    sw.flows(&["in_port=1,actions=output:2,output:3"]);
    sw.run(5);
    assert_eq!(sw.port(1).stats().tx_packets, 5 * BURST_SIZE as u64);
    assert_eq!(sw.port(2).stats().tx_packets, 5 * BURST_SIZE as u64);
    let mf = &sw.megaflows()[0];
    assert_eq!(mf.stats.read().0, 5 * BURST_SIZE as u64);
    assert_eq!(mf.stats.read().1, 5 * BURST_SIZE as u64 * frame.len() as u64);

    let mut sw = TestSwitch::builder().port(PortSetup::replay(vec![frame.clone()])).port(PortSetup::sink()).build();
    sw.flows(&["in_port=1,actions=output:2"]);
    sw.run(5);
    assert_eq!(sw.port(1).stats().tx_packets, 5 * BURST_SIZE as u64);
    let mf = &sw.megaflows()[0];
    assert_eq!((mf.stats.read().0, mf.stats.read().1), (5 * BURST_SIZE as u64, 5 * BURST_SIZE as u64 * frame.len() as u64));
}
