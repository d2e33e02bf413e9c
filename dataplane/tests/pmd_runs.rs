//! Runs through a real PMD (no root): a burst whose packets are all copies of its first is
//! answered as a whole (the PMD's step 1 compares each packet with the first and gives the
//! copies the first one's key; dispatch counts and sends the run at once). Here: a packet
//! that breaks a run, wherever it is in the burst, is classified on its own and the others
//! still take the run's answer; a run on an action list counts its TCP flags, and its
//! header rewrites find every copy's header offsets.

use rvs_dataplane::testkit::{anchor_udp_frame, PortSetup, TestSwitch};
use rvs_packet::BURST_SIZE;

/// An Ethernet / IPv4 / TCP frame of 60 bytes with TCP flags `flags`.
fn tcp_frame(flags: u8) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00];
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&40u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&[10, 0, 0, 1]);
    ip[16..20].copy_from_slice(&[10, 0, 0, 2]);
    let csum = rvs_packet::checksum::finish(rvs_packet::checksum::sum(&ip, 0));
    ip[10..12].copy_from_slice(&csum.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&[0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    f.resize(60, 0);
    f
}

#[test]
fn a_run_broken_by_one_packet_sends_each_where_it_belongs() {
    let a = anchor_udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 1000, 5000);
    let b = anchor_udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 1000, 5001);
    // `b` a different flow; `c` the flow of `a` with another IP identification (extracted,
    // not reused, same megaflow).
    let mut c = a.clone();
    c[18] ^= 0x55;
    for (odd, same_flow) in [(&b, false), (&c, true)] {
        for at in [0, 1, 2, 16, 30, 31] {
            let mut burst = vec![a.clone(); BURST_SIZE];
            burst[at] = odd.clone();
            let mut sw = TestSwitch::builder().port(PortSetup::replay(burst)).port(PortSetup::sink()).port(PortSetup::sink()).build();
            sw.flows(&["udp,tp_dst=5000,actions=output:2", "udp,tp_dst=5001,actions=output:3"]);
            let batches = 4;
            sw.run(batches);
            let n = batches * BURST_SIZE as u64;
            let c = sw.counters();
            assert_eq!(c.rx_packets, n, "odd packet at {at}");
            assert_eq!(c.total_drops(), 0, "odd packet at {at}");
            assert_eq!(c.upcalls, if same_flow { 1 } else { 2 }, "odd packet at {at}");
            assert_eq!(c.emc_hits + c.megaflow_hits + c.upcalls, n, "odd packet at {at}: {c:?}");
            let (to_a, to_b) = if same_flow { (n, 0) } else { (n - batches, batches) };
            assert_eq!((sw.port(1).stats().tx_packets, sw.port(2).stats().tx_packets), (to_a, to_b), "odd packet at {at}");
            let mut counted: Vec<(u64, u64)> = sw.megaflows().iter().map(|f| (f.stats.read().0, f.stats.read().1)).collect();
            counted.sort();
            let len = a.len() as u64;
            let expect = if same_flow { vec![(n, n * len)] } else { vec![(batches, batches * len), (n - batches, (n - batches) * len)] };
            assert_eq!(counted, expect, "odd packet at {at}");
        }
    }
}

#[test]
fn a_run_on_an_action_list_counts_its_tcp_flags() {
    let t = tcp_frame(0x12);
    let mut sw = TestSwitch::builder().port(PortSetup::replay(vec![t.clone()])).port(PortSetup::sink()).port(PortSetup::sink()).build();
    sw.flows(&["tcp,actions=output:2,output:3"]);
    sw.run(3);
    let n = 3 * BURST_SIZE as u64;
    assert_eq!((sw.port(1).stats().tx_packets, sw.port(2).stats().tx_packets), (n, n));
    let flows = sw.megaflows();
    assert_eq!(flows.len(), 1);
    let (packets, bytes, _, tcp_flags) = flows[0].stats.read();
    assert_eq!((packets, bytes, tcp_flags), (n, n * t.len() as u64, 0x12));

    // A run of SYNs, then a run of ACKs: the megaflow has seen both.
    let runs = [vec![tcp_frame(0x02); BURST_SIZE], vec![tcp_frame(0x10); BURST_SIZE]].concat();
    let mut sw = TestSwitch::builder().port(PortSetup::replay(runs)).port(PortSetup::sink()).port(PortSetup::sink()).build();
    sw.flows(&["tcp,actions=output:2,output:3"]);
    sw.run(2);
    let (packets, _, _, tcp_flags) = sw.megaflows()[0].stats.read();
    assert_eq!((packets, tcp_flags), (2 * BURST_SIZE as u64, 0x12));
}

#[test]
fn a_run_whose_actions_rewrite_headers_rewrites_every_copy() {
    // Header rewrites read the packets' header offsets, which a whole run's copies only get
    // when it executes an action list.
    let mut sw = TestSwitch::new(3);
    sw.flows(&["udp,actions=mod_nw_dst:10.1.2.3,mod_tp_dst:53,output:2,output:3"]);
    let f = anchor_udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 1000, 5000);
    // One packet alone first: the reference rewrite (and the megaflow's upcall).
    sw.port(0).inject(&f);
    sw.run_until_idle();
    let reference = sw.captured(1)[0].data().to_vec();
    assert_ne!(reference, f);
    assert_eq!(sw.captured(2).len(), 1);
    // Then a burst that is one run.
    for _ in 0..BURST_SIZE {
        sw.port(0).inject(&f);
    }
    sw.run_until_idle();
    for port in [1, 2] {
        let out = sw.captured(port);
        assert_eq!(out.len(), BURST_SIZE);
        for p in &out {
            assert_eq!(p.data(), &reference[..]);
            assert_eq!((p.meta.l3_ofs, p.meta.l4_ofs), (14, 34));
        }
    }
    let c = sw.counters();
    assert_eq!((c.rx_packets, c.upcalls, c.total_drops()), (1 + BURST_SIZE as u64, 1, 0));
}
