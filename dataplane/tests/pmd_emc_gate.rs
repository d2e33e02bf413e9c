//! The exact-match cache gate through a real PMD (no root): with far more flows than EMC
//! entries the PMD stops consulting the EMC and still forwards every packet; when the
//! traffic narrows to one flow, the EMC answers again. Also: packets of a run of identical
//! packets take their first packet's answer, whichever cache or upcall gave it, and are
//! counted as that packet was. See `rvs_flowcache::emc::EmcGate`.

use rvs_dataplane::testkit::{anchor_udp_frame, PortSetup, TestSwitch};
use rvs_flowcache::emc::{EmcGate, DEFAULT_ENTRIES};
use rvs_packet::BURST_SIZE;

/// `n` distinct UDP five-tuples.
fn flows(n: u32) -> Vec<Vec<u8>> {
    (0..n).map(|i| anchor_udp_frame([10, 1, (i >> 8) as u8, i as u8], [10, 2, 0, 1], 1000 + (i % 7) as u16, 2000)).collect()
}

#[test]
fn thrashing_emc_is_bypassed_and_comes_back() {
    let many = 8 * DEFAULT_ENTRIES as u32;
    let mut sw = TestSwitch::builder().port(PortSetup::replay(flows(many))).port(PortSetup::sink()).build();
    sw.flows(&["in_port=1,actions=output:2"]);

    // Warm-up: two passes over every flow. The EMC holds at most an eighth of them.
    let batches = |packets: u32| u64::from(packets.div_ceil(BURST_SIZE as u32));
    sw.run(2 * batches(many));
    let c0 = sw.counters().clone();
    // The next pass: looked up in the EMC only by one batch in PROBE_EVERY.
    sw.run(batches(many));
    let c1 = sw.counters().since(&c0);
    assert_eq!(c1.rx_packets, u64::from(many));
    assert_eq!(c1.emc_hits + c1.megaflow_hits, c1.rx_packets, "every packet answered by a cache");
    assert!(c1.emc_hits * u64::from(EmcGate::PROBE_EVERY) <= c1.rx_packets / 4, "EMC still consulted: {c1:?}");
    assert_eq!(c1.upcalls, 0);
    assert_eq!(sw.port(1).stats().tx_packets, 3 * u64::from(many));

    // One flow: the measuring batches find it in the EMC (inserted as usual meanwhile), and
    // within two windows of their packets (the first may have begun with the many flows) the
    // EMC is consulted again.
    sw.port(0).handle().set_replay(flows(1));
    sw.run(2 * u64::from(EmcGate::WINDOW / BURST_SIZE as u32 * EmcGate::PROBE_EVERY) + 64);
    let c2 = sw.counters().clone();
    sw.run(100);
    let c3 = sw.counters().since(&c2);
    assert_eq!(c3.rx_packets, 100 * BURST_SIZE as u64);
    assert_eq!(c3.emc_hits, c3.rx_packets, "{c3:?}");
}

#[test]
fn runs_take_their_roots_answer() {
    let frame = anchor_udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 1000, 2000);
    let mut sw = TestSwitch::builder().port(PortSetup::replay(vec![frame])).port(PortSetup::sink()).build();
    sw.flows(&["in_port=1,actions=output:2"]);
    // First batch: one upcall (the root), the rest of the run is counted as megaflow hits.
    sw.run(1);
    let c = sw.counters().clone();
    assert_eq!((c.rx_packets, c.upcalls, c.megaflow_hits, c.emc_hits), (BURST_SIZE as u64, 1, BURST_SIZE as u64 - 1, 0));
    assert_eq!(sw.port(1).stats().tx_packets, BURST_SIZE as u64);
    // The upcall put the megaflow in the EMC: the next batch is all EMC hits.
    sw.run(1);
    let c = sw.counters().since(&c);
    assert_eq!((c.emc_hits, c.megaflow_hits, c.upcalls), (BURST_SIZE as u64, 0, 0));

    // A run whose root is dropped by the pipeline (no rule: table miss drops) is dropped whole
    // and counted.
    let mut sw = TestSwitch::builder().port(PortSetup::replay(vec![anchor_udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 1, 2)])).port(PortSetup::sink()).build();
    sw.run(2);
    let c = sw.counters();
    assert_eq!(c.rx_packets, 2 * BURST_SIZE as u64);
    assert_eq!(c.total_drops(), 2 * BURST_SIZE as u64);
    assert_eq!(sw.port(1).stats().tx_packets, 0);
}
