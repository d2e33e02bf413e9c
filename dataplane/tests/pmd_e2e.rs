//! End-to-end tests of the PMD: frames injected on memory ports go through a real `Pmd`
//! (classification, caches, upcalls, actions, transmit) and are checked byte by byte where they
//! come out. Built on `rvs_dataplane::testkit`; everything runs on the test's thread.

use rvs_dataplane::drops::DropReason;
use rvs_dataplane::pmd_loop::PmdConfig;
use rvs_dataplane::testkit::{PortSetup, TestSwitch};
use rvs_flowcache::dpaction::DpAction;
use rvs_flowcache::xlate::VlanConfig;
use rvs_flowcache::Malformed;
use rvs_packet::checksum;
use rvs_packet::offload::{complete_csum, find_layers};
use rvs_packet::{CsumState, PacketBuf};

// ---------------------------------------------------------------- frames

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];
const MAC_C: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0c];

#[derive(Clone, Copy, PartialEq, Eq)]
enum L4 {
    Udp,
    Tcp,
}

/// An Ethernet (optionally 802.1Q) / IPv4 / UDP or TCP frame with valid checksums.
#[derive(Clone)]
struct Frame {
    dst: [u8; 6],
    src: [u8; 6],
    tci: Option<u16>,
    ip_src: [u8; 4],
    ip_dst: [u8; 4],
    ttl: u8,
    l4: L4,
    sport: u16,
    dport: u16,
    payload: Vec<u8>,
}

impl Frame {
    fn udp(src: [u8; 6], dst: [u8; 6]) -> Frame {
        Frame {
            dst,
            src,
            tci: None,
            ip_src: [10, 0, 0, 1],
            ip_dst: [10, 0, 0, 2],
            ttl: 64,
            l4: L4::Udp,
            sport: 1024,
            dport: 5000,
            payload: (0..22u8).collect(),
        }
    }

    fn tcp(src: [u8; 6], dst: [u8; 6]) -> Frame {
        Frame { l4: L4::Tcp, sport: 40000, dport: 80, ..Frame::udp(src, dst) }
    }

    fn tagged(mut self, tci: u16) -> Frame {
        self.tci = Some(tci);
        self
    }

    fn ports(mut self, sport: u16, dport: u16) -> Frame {
        self.sport = sport;
        self.dport = dport;
        self
    }

    fn l4_bytes(&self) -> Vec<u8> {
        let mut l4 = Vec::new();
        l4.extend_from_slice(&self.sport.to_be_bytes());
        l4.extend_from_slice(&self.dport.to_be_bytes());
        match self.l4 {
            L4::Udp => {
                l4.extend_from_slice(&((8 + self.payload.len()) as u16).to_be_bytes());
                l4.extend_from_slice(&[0, 0]);
            }
            L4::Tcp => {
                l4.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
            }
        }
        l4.extend_from_slice(&self.payload);
        l4
    }

    fn proto(&self) -> u8 {
        match self.l4 {
            L4::Udp => 17,
            L4::Tcp => 6,
        }
    }

    fn csum_at(&self) -> usize {
        match self.l4 {
            L4::Udp => 6,
            L4::Tcp => 16,
        }
    }

    /// The frame, with its L4 checksum complete.
    fn build(&self) -> Vec<u8> {
        self.build_with(false)
    }

    /// The frame with the L4 checksum field holding only the pseudo-header sum, as a sender
    /// relying on checksum offload hands it over.
    fn build_with(&self, partial: bool) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&self.dst);
        f.extend_from_slice(&self.src);
        if let Some(tci) = self.tci {
            f.extend_from_slice(&[0x81, 0x00]);
            f.extend_from_slice(&tci.to_be_bytes());
        }
        f.extend_from_slice(&[0x08, 0x00]);
        let mut l4 = self.l4_bytes();
        let mut ip = [0u8; 20];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
        ip[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
        ip[8] = self.ttl;
        ip[9] = self.proto();
        ip[12..16].copy_from_slice(&self.ip_src);
        ip[16..20].copy_from_slice(&self.ip_dst);
        let hc = checksum::finish(checksum::sum(&ip, 0));
        ip[10..12].copy_from_slice(&hc.to_be_bytes());
        let pseudo = checksum::pseudo_v4(
            u32::from_be_bytes(self.ip_src),
            u32::from_be_bytes(self.ip_dst),
            self.proto(),
            l4.len() as u16,
        );
        let c = if partial { checksum::fold(pseudo) } else { checksum::finish(checksum::sum(&l4, pseudo)) };
        let at = self.csum_at();
        l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&ip);
        f.extend_from_slice(&l4);
        f
    }
}

/// Checks the IPv4 header checksum and the TCP/UDP checksum of a frame (a UDP checksum of 0
/// counts as absent, and is refused here: every frame these tests build has one).
fn assert_checksums_valid(frame: &[u8]) {
    let layers = find_layers(frame).expect("an IP frame");
    assert!(layers.ipv4);
    let ip = &frame[layers.l3..layers.l4];
    assert_eq!(checksum::fold(checksum::sum(ip, 0)), 0xffff, "IPv4 header checksum of {frame:02x?}");
    let total = u16::from_be_bytes([ip[2], ip[3]]) as usize;
    let l4 = &frame[layers.l4..layers.l3 + total];
    let src = u32::from_be_bytes(ip[12..16].try_into().unwrap());
    let dst = u32::from_be_bytes(ip[16..20].try_into().unwrap());
    let pseudo = checksum::pseudo_v4(src, dst, layers.proto, l4.len() as u16);
    if layers.proto == 17 {
        assert_ne!(&l4[6..8], &[0, 0], "UDP checksum missing");
    }
    assert_eq!(checksum::fold(checksum::sum(l4, pseudo)), 0xffff, "L4 checksum of {frame:02x?}");
}

fn datas(packets: &[PacketBuf]) -> Vec<Vec<u8>> {
    packets.iter().map(|p| p.data().to_vec()).collect()
}

// ---------------------------------------------------------------- NORMAL

#[test]
fn normal_floods_unknown_destinations_then_learns() {
    let mut sw = TestSwitch::new(3);
    sw.flows(&["actions=NORMAL"]);
    let a_to_b = Frame::udp(MAC_A, MAC_B).build();
    let b_to_a = Frame::udp(MAC_B, MAC_A).build();

    // B is unknown: flooded to every port but the input one. A is learned on port 1.
    sw.port(0).inject(&a_to_b);
    sw.run_until_idle();
    assert!(sw.captured(0).is_empty());
    assert_eq!(datas(&sw.captured(1)), vec![a_to_b.clone()]);
    assert_eq!(datas(&sw.captured(2)), vec![a_to_b.clone()]);

    // The reply goes to A's port only (and teaches the switch where B is).
    sw.port(1).inject(&b_to_a);
    sw.run_until_idle();
    assert_eq!(datas(&sw.captured(0)), vec![b_to_a.clone()]);
    assert!(sw.captured(1).is_empty() && sw.captured(2).is_empty());

    // The flooding megaflow depended on the MAC table, which changed: revalidation removes
    // it, and A -> B now goes to B's port only.
    let pass = sw.revalidate();
    assert!(pass.deleted_stale >= 1, "{pass:?}");
    sw.port(0).inject(&a_to_b);
    sw.run_until_idle();
    assert_eq!(datas(&sw.captured(1)), vec![a_to_b]);
    assert!(sw.captured(0).is_empty() && sw.captured(2).is_empty());
    assert_eq!(sw.counters().total_drops(), 0);
}

#[test]
fn normal_tags_and_untags_between_access_ports_and_trunks() {
    let mut sw = TestSwitch::builder()
        .port(PortSetup { vlan: VlanConfig::access(10), ..Default::default() })
        .port(PortSetup { vlan: VlanConfig::trunk(vec![10, 20]), ..Default::default() })
        .port(PortSetup { vlan: VlanConfig::access(20), ..Default::default() })
        .build();
    sw.flows(&["actions=NORMAL"]);

    // Untagged in on the access port of VLAN 10: out tagged on the trunk, nowhere else.
    let untagged = Frame::tcp(MAC_A, MAC_B);
    sw.port(0).inject(&untagged.build());
    sw.run_until_idle();
    let out = sw.captured(1);
    assert_eq!(datas(&out), vec![untagged.clone().tagged(10).build()]);
    assert_eq!(out[0].meta.l3_ofs, 18, "offsets follow the pushed tag");
    assert_checksums_valid(out[0].data());
    assert!(sw.captured(2).is_empty());

    // Tagged 10 in on the trunk, to A (learned on the access port): out untagged there.
    let tagged = Frame::tcp(MAC_B, MAC_A).tagged(10);
    sw.port(1).inject(&tagged.build());
    sw.run_until_idle();
    let mut expect = tagged.clone();
    expect.tci = None;
    assert_eq!(datas(&sw.captured(0)), vec![expect.build()]);

    // Tagged 20 on the trunk to an unknown address: only the VLAN 20 access port, untagged.
    let v20 = Frame::udp(MAC_B, MAC_C).tagged(20);
    sw.port(1).inject(&v20.build());
    sw.run_until_idle();
    let mut expect = v20.clone();
    expect.tci = None;
    assert_eq!(datas(&sw.captured(2)), vec![expect.build()]);
    assert!(sw.captured(0).is_empty());
}

// ---------------------------------------------------------------- explicit actions

#[test]
fn explicit_output_sends_exact_copies() {
    let mut sw = TestSwitch::new(4);
    sw.flows(&["priority=10,in_port=1,actions=output:3", "priority=10,in_port=2,actions=output:3,output:4,output:1"]);
    let f = Frame::udp(MAC_A, MAC_B).build();
    sw.port(0).inject(&f);
    sw.run_until_idle();
    assert_eq!(datas(&sw.captured(2)), vec![f.clone()]);
    assert!(sw.captured(1).is_empty() && sw.captured(3).is_empty() && sw.captured(0).is_empty());

    // Several outputs: a copy each, in the same bytes.
    let g = Frame::tcp(MAC_B, MAC_A).build();
    sw.port(1).inject(&g);
    sw.run_until_idle();
    for port in [0, 2, 3] {
        assert_eq!(datas(&sw.captured(port)), vec![g.clone()], "port index {port}");
    }
    assert!(sw.captured(1).is_empty());
    assert_eq!(sw.counters().tx_packets, 4);
    // The megaflow of several outputs counted the packet once, however many copies went out.
    let several = sw.megaflows().into_iter().find(|f| f.actions.len() == 3).expect("the three-output megaflow");
    assert_eq!(several.stats.read().0, 1);
}

#[test]
fn vlan_push_and_pop_actions() {
    let mut sw = TestSwitch::new(3);
    sw.flows(&[
        "in_port=1,actions=mod_vlan_vid:100,mod_vlan_pcp:5,output:2",
        "in_port=2,dl_vlan=100,actions=strip_vlan,output:3",
    ]);
    let plain = Frame::udp(MAC_A, MAC_B);
    sw.port(0).inject(&plain.build());
    sw.run_until_idle();
    let out = sw.captured(1);
    let tagged = plain.clone().tagged((5 << 13) | 100).build();
    assert_eq!(datas(&out), vec![tagged.clone()]);
    assert_checksums_valid(out[0].data());

    sw.port(1).inject(&tagged);
    sw.run_until_idle();
    assert_eq!(datas(&sw.captured(2)), vec![plain.build()]);
}

#[test]
fn field_rewrites_keep_checksums_valid() {
    let mut sw = TestSwitch::new(2);
    sw.flows(&[
        "priority=10,in_port=1,tcp,actions=mod_dl_src:02:00:00:00:00:ee,mod_nw_src:192.168.1.1,\
         mod_nw_dst:172.16.5.4,mod_tp_src:1111,mod_tp_dst:2222,dec_ttl,output:2",
        "priority=10,in_port=1,udp,actions=mod_nw_dst:10.1.2.3,mod_tp_dst:53,mod_nw_tos:32,output:2",
    ]);
    for (f, expect) in [
        (Frame::tcp(MAC_A, MAC_B), {
            let mut e = Frame::tcp([0x02, 0, 0, 0, 0, 0xee], MAC_B).ports(1111, 2222);
            e.ip_src = [192, 168, 1, 1];
            e.ip_dst = [172, 16, 5, 4];
            e.ttl = 63;
            e.build()
        }),
        (Frame::udp(MAC_A, MAC_B), {
            let mut e = Frame::udp(MAC_A, MAC_B).ports(1024, 53);
            e.ip_dst = [10, 1, 2, 3];
            let mut b = e.build();
            // TOS 32 changes the IPv4 header checksum: rebuild it.
            b[15] = 32;
            b[24..26].copy_from_slice(&[0, 0]);
            let c = checksum::finish(checksum::sum(&b[14..34], 0));
            b[24..26].copy_from_slice(&c.to_be_bytes());
            b
        }),
    ] {
        sw.port(0).inject(&f.build());
        sw.run_until_idle();
        let out = sw.captured(1);
        assert_eq!(datas(&out), vec![expect], "rewritten bytes");
        assert_checksums_valid(out[0].data());
    }
}

#[test]
fn each_flow_keeps_its_order_through_shared_and_full_transmit_buffers() {
    let mut sw = TestSwitch::new(4);
    sw.flows(&[
        "priority=10,in_port=1,udp,tp_dst=1,actions=output:3",
        "priority=10,in_port=1,udp,tp_dst=2,actions=output:4",
        "priority=10,in_port=2,actions=output:3",
    ]);
    let frame = |sport: u16, dport: u16| Frame::udp(MAC_A, MAC_B).ports(sport, dport).build();
    // Port 1: two flows interleaved in one batch. Port 2: a whole batch for the port that
    // port 1's first flow also uses, so that its transmit buffer is not empty; then more than
    // a buffer holds.
    for i in 0..32 {
        sw.port(0).inject(&frame(i, 1 + i % 2));
    }
    for i in 0..40 {
        sw.port(1).inject(&frame(100 + i, 7));
    }
    sw.run(1);
    let sports = |packets: Vec<PacketBuf>| packets.iter().map(|p| u16::from_be_bytes([p.data()[34], p.data()[35]])).collect::<Vec<_>>();
    let mut want3: Vec<u16> = (0..32).step_by(2).collect();
    want3.extend(100..132);
    assert_eq!(sports(sw.captured(2)), want3);
    assert_eq!(sports(sw.captured(3)), (1..32).step_by(2).collect::<Vec<_>>());

    // The 8 left in port 2's queue, then 32 more: two more bursts, order kept.
    for i in 0..32 {
        sw.port(1).inject(&frame(200 + i, 7));
    }
    sw.run_until_idle();
    let mut want = (132..140).collect::<Vec<u16>>();
    want.extend(200..232);
    assert_eq!(sports(sw.captured(2)), want);
    assert_eq!(sw.counters().total_drops(), 0);
    assert_eq!(sw.counters().tx_packets, 32 + 40 + 32);
}

// ---------------------------------------------------------------- caches

/// `emc-insert-inv-prob=1`: every new megaflow and every megaflow hit goes into the EMC, so
/// that tests can say which packet hits where.
fn every_flow_into_the_emc() -> PmdConfig {
    PmdConfig { emc_insert_inv_prob: 1, ..PmdConfig::default() }
}

#[test]
fn new_flows_enter_the_emc_unless_it_is_off() {
    // Every new megaflow goes into the EMC, whatever the insertion probability of megaflow
    // hits (default 1 in 100); none when the EMC is off (probability 0). (Counted in the EMC
    // itself: its hit counters depend on the EMC gate's trials.)
    let frames: Vec<Vec<u8>> =
        (0..320u16).map(|i| Frame { ip_src: [10, 1, (i >> 8) as u8, i as u8], ..Frame::udp(MAC_A, MAC_B) }.build()).collect();
    let setups = |config: PmdConfig| {
        let mut sw = TestSwitch::new(2);
        sw.configure_pmd(config);
        // Megaflows (nearly) exact on the source address: most packets are setups.
        sw.flows(&["ip,nw_src=1.1.1.1,actions=drop", "in_port=1,actions=output:2"]);
        for f in &frames {
            sw.port(0).inject(f);
        }
        sw.run_until_idle();
        let c = sw.counters();
        assert_eq!(c.rx_packets, 320);
        assert!(c.upcalls >= 100, "{c:?}");
        (c.upcalls as usize, sw.n_emc_entries())
    };
    let (upcalls, in_emc) = setups(PmdConfig::default());
    assert_eq!(in_emc, upcalls);
    let (_, in_emc) = setups(PmdConfig { emc_insert_inv_prob: 0, ..PmdConfig::default() });
    assert_eq!(in_emc, 0);
}

#[test]
fn repeated_flows_hit_the_caches_not_the_upcall_path() {
    let mut sw = TestSwitch::new(2);
    sw.configure_pmd(every_flow_into_the_emc());
    sw.flows(&["in_port=1,actions=output:2"]);
    let f = Frame::udp(MAC_A, MAC_B).build();
    sw.port(0).inject(&f);
    sw.run_until_idle();
    assert_eq!((sw.counters().upcalls, sw.counters().emc_hits, sw.counters().megaflow_hits), (1, 0, 0));

    // Same flow again: the upcall put it in the exact-match cache (insertion probability 1).
    sw.port(0).inject(&f);
    sw.run_until_idle();
    assert_eq!((sw.counters().upcalls, sw.counters().emc_hits, sw.counters().megaflow_hits), (1, 1, 0));

    // Another five-tuple under the same megaflow (the rule looks at in_port only).
    sw.port(0).inject(&Frame::udp(MAC_A, MAC_B).ports(7, 9).build());
    sw.run_until_idle();
    assert_eq!((sw.counters().upcalls, sw.counters().emc_hits, sw.counters().megaflow_hits), (1, 1, 1));

    // Two packets of one new flow in the same batch: one upcall, the second finds its megaflow.
    sw.flush_caches();
    let g = Frame::tcp(MAC_A, MAC_B).build();
    sw.port(0).inject(&g);
    sw.port(0).inject(&g);
    sw.run(1);
    assert_eq!((sw.counters().upcalls, sw.counters().megaflow_hits), (2, 2));
    assert_eq!(sw.captured(1).len(), 5);
    assert_eq!(sw.n_megaflows(), 1);
}

#[test]
fn deleted_megaflows_are_set_up_again_in_their_blocks() {
    let mut sw = TestSwitch::new(2);
    sw.configure_pmd(every_flow_into_the_emc());
    // An exact-nw_src rule: every source address gets a megaflow of its own.
    sw.flows(&["priority=10,ip,nw_src=192.168.0.1,actions=drop", "priority=0,actions=output:2"]);
    let sources: Vec<[u8; 4]> = (1..=20).map(|i| [10, 0, 1, i]).collect();
    let send_all = |sw: &mut TestSwitch| {
        for &ip_src in &sources {
            sw.port(0).inject(&Frame { ip_src, ..Frame::udp(MAC_A, MAC_B) }.build());
        }
        sw.run_until_idle();
    };
    send_all(&mut sw);
    assert_eq!((sw.counters().upcalls, sw.n_megaflows(), sw.n_pooled_megaflows()), (20, 20, 0));

    // A dump holds five of them while they are deleted: those are not the pool's to reuse.
    let held: Vec<_> = sw.megaflows().into_iter().take(5).collect();
    sw.flush_caches();
    assert_eq!((sw.n_megaflows(), sw.n_pooled_megaflows()), (0, 15));
    assert!(held.iter().all(|f| f.is_dead()));
    drop(held);

    // Set up again: fifteen in kept blocks, five allocated; every packet forwarded.
    send_all(&mut sw);
    assert_eq!((sw.counters().upcalls, sw.n_megaflows(), sw.n_pooled_megaflows()), (40, 20, 0));
    assert_eq!(sw.captured(1).len(), 40);
    let mut srcs: Vec<u32> = sw.megaflows().iter().map(|f| f.key.nw_src).collect();
    srcs.sort_unstable();
    let want: Vec<u32> = sources.iter().map(|a| u32::from_be_bytes(*a)).collect();
    assert_eq!(srcs, want);
    assert!(sw.megaflows().iter().all(|f| !f.is_dead() && f.stats.read().0 == 1));

    // Hits find the renewed megaflows (in the EMC too: insertion probability 1).
    send_all(&mut sw);
    assert_eq!(sw.counters().upcalls, 40);
    assert_eq!(sw.captured(1).len(), 20, "captured() takes what it returns");
}

#[test]
fn flow_mods_reach_cached_flows_after_revalidation() {
    let mut sw = TestSwitch::new(3);
    sw.configure_pmd(every_flow_into_the_emc());
    sw.flows(&["priority=10,in_port=1,actions=output:2"]);
    let web = Frame::udp(MAC_A, MAC_B).ports(1024, 5000).build();
    let other = Frame::udp(MAC_A, MAC_B).ports(1024, 6000).build();
    let send = |sw: &mut TestSwitch, f: &[u8]| -> [usize; 3] {
        sw.port(0).inject(f);
        sw.run_until_idle();
        [sw.captured(0).len(), sw.captured(1).len(), sw.captured(2).len()]
    };
    // Cache it (upcall, then an EMC hit).
    assert_eq!(send(&mut sw, &web), [0, 1, 0]);
    assert_eq!(send(&mut sw, &web), [0, 1, 0]);
    assert_eq!(sw.counters().emc_hits, 1);
    let web_port2 = sw.port(2).dp_port();

    // A higher-priority rule for UDP port 5000 to port 3.
    sw.flows(&["priority=20,in_port=1,udp,tp_dst=5000,actions=output:3"]);
    let pass = sw.revalidate();
    assert_eq!(pass.deleted_stale, 1, "{pass:?}");
    assert_eq!(send(&mut sw, &web), [0, 0, 1]);
    assert_eq!(send(&mut sw, &other), [0, 1, 0]);

    // Modify it to drop.
    sw.flows(&["modify_strict priority=20,in_port=1,udp,tp_dst=5000,actions=drop"]);
    sw.revalidate();
    assert_eq!(send(&mut sw, &web), [0, 0, 0]);
    assert_eq!(sw.counters().drops[DropReason::Actions.index()], 1);
    assert!(sw.megaflows().iter().all(|f| !f.actions.contains(&DpAction::Output(web_port2))), "no stale megaflow left");

    // Delete it: back to the priority 10 rule.
    sw.flows(&["delete_strict priority=20,in_port=1,udp,tp_dst=5000"]);
    sw.revalidate();
    assert_eq!(send(&mut sw, &web), [0, 1, 0]);
    assert_eq!(send(&mut sw, &other), [0, 1, 0]);

    // Rule counters are credited by the revalidator with what the megaflows forwarded.
    sw.revalidate();
    let rules = sw.bridge().tables.snapshot();
    let p10 = rules.rules().find(|r| r.priority == 10).unwrap();
    let p10_packets = p10.stats.packets.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(p10_packets, 5, "2 web + 1 other before, 1 web + 1 other after");
}

// ---------------------------------------------------------------- bad input

#[test]
fn malformed_frames_are_dropped_by_reason_and_good_ones_in_the_batch_go_through() {
    let mut sw = TestSwitch::new(2);
    sw.flows(&["actions=output:2"]);
    let good1 = Frame::udp(MAC_A, MAC_B).build();
    let good2 = Frame::tcp(MAC_A, MAC_B).build();
    let truncated_ipv4 = good1[..30].to_vec();
    let mut bad_ihl = good1.clone();
    bad_ihl[14] = 0x44;
    let mut long_total = good1.clone();
    long_total[16..18].copy_from_slice(&500u16.to_be_bytes());
    // TCP with only 12 bytes of header, consistent IPv4 lengths.
    let mut short_tcp = good2[..14 + 20 + 12].to_vec();
    short_tcp[16..18].copy_from_slice(&32u16.to_be_bytes());
    let mut vlan_cut = good1[..12].to_vec();
    vlan_cut.extend_from_slice(&[0x81, 0x00, 0x00]);

    for f in [&good1, &truncated_ipv4, &bad_ihl, &long_total, &short_tcp, &vlan_cut, &good2] {
        sw.port(0).inject(f);
    }
    sw.run(1); // one batch
    assert_eq!(datas(&sw.captured(1)), vec![good1, good2]);
    let c = sw.counters();
    let dropped = |m: Malformed| c.drops[DropReason::Malformed(m).index()];
    assert_eq!(dropped(Malformed::Ipv4Truncated), 1);
    assert_eq!(dropped(Malformed::Ipv4BadIhl), 1);
    assert_eq!(dropped(Malformed::Ipv4TotalLenBeyondFrame), 1);
    assert_eq!(dropped(Malformed::TcpTruncated), 1);
    assert_eq!(dropped(Malformed::VlanTruncated), 1);
    assert_eq!((c.total_drops(), c.rx_packets, c.tx_packets), (5, 7, 2));
}

// ---------------------------------------------------------------- checksum offload

#[test]
fn partial_checksums_pass_to_offloading_ports_and_are_completed_for_others() {
    let mut sw = TestSwitch::builder()
        .port(PortSetup::default())
        .port(PortSetup { tx_offload: true, ..Default::default() })
        .port(PortSetup { tx_offload: false, ..Default::default() })
        .build();
    sw.flows(&[
        "priority=10,in_port=1,tcp,actions=output:2,output:3",
        "priority=10,in_port=1,udp,actions=mod_nw_src:192.0.2.7,mod_tp_src:4242,output:2,output:3",
    ]);
    for (frame, rewritten) in [(Frame::tcp(MAC_A, MAC_B), None), (Frame::udp(MAC_A, MAC_B), Some(([192, 0, 2, 7], 4242)))] {
        let mut p = PacketBuf::from_slice(&frame.build_with(true));
        let partial = CsumState::Partial { start: 34, offset: frame.csum_at() as u16 };
        p.meta.csum = partial;
        sw.port(0).inject_packet(p);
        sw.run_until_idle();
        let mut expect = frame.clone();
        if let Some((src, sport)) = rewritten {
            expect.ip_src = src;
            expect.sport = sport;
        }

        // Offload-capable: still partial, bytes as the sender would have left them after the
        // same rewrites (the pseudo-header sum updated for the new address).
        let mut offloaded = sw.captured(1);
        assert_eq!(offloaded.len(), 1);
        assert_eq!(offloaded[0].meta.csum, partial);
        assert_eq!(offloaded[0].data(), &expect.build_with(true)[..]);
        complete_csum(&mut offloaded[0]).unwrap();
        assert_checksums_valid(offloaded[0].data());

        // No offload: completed in software before it left.
        let done = sw.captured(2);
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].meta.csum, CsumState::Final);
        assert_eq!(done[0].data(), &expect.build()[..]);
        assert_checksums_valid(done[0].data());
    }
    assert_eq!(sw.port(1).stats().tx_csum_offloaded, 2);
    assert_eq!(sw.port(2).stats().tx_csum_completed, 2);
}

#[test]
fn a_receive_hash_from_the_port_is_the_exact_match_cache_hash() {
    let mut sw = TestSwitch::new(2);
    sw.configure_pmd(every_flow_into_the_emc());
    sw.flows(&["in_port=1,actions=output:2"]);
    let with_hash = |frame: &[u8], hash: u32| {
        let mut p = PacketBuf::from_slice(frame);
        p.meta.rss_hash = hash;
        p.meta.has_rss_hash = true;
        p
    };
    let f = Frame::udp(MAC_A, MAC_B).build();
    // The upcall inserts the flow into the EMC under the port's hash...
    sw.port(0).inject_packet(with_hash(&f, 0x1234_5678));
    sw.run_until_idle();
    sw.port(0).inject_packet(with_hash(&f, 0x1234_5678));
    sw.run_until_idle();
    assert_eq!((sw.counters().upcalls, sw.counters().emc_hits, sw.counters().megaflow_hits), (1, 1, 0));
    // ...so the same packet without it (hashed in software) misses the EMC and finds the
    // megaflow.
    sw.port(0).inject(&f);
    sw.run_until_idle();
    assert_eq!((sw.counters().upcalls, sw.counters().emc_hits, sw.counters().megaflow_hits), (1, 1, 1));
    // Another flow with the same port hash (RSS hashes can collide): the full key decides, so
    // it is not taken for the first flow, and both are forwarded unchanged.
    let g = Frame::udp(MAC_A, MAC_B).ports(7, 9).build();
    sw.port(0).inject_packet(with_hash(&g, 0x1234_5678));
    sw.run_until_idle();
    assert_eq!(sw.counters().emc_hits, 1, "a colliding hash must not hit another flow's entry");
    assert_eq!(datas(&sw.captured(1)), vec![f.clone(), f.clone(), f, g]);
}

/// Runs of identical packets in one burst take the key of the run's first packet
/// (`key_reuse`): each packet still goes where its own headers say, whatever its neighbours,
/// with runs before, between and after single different packets.
#[test]
fn runs_of_identical_packets_in_a_burst_go_where_each_belongs() {
    let mut sw = TestSwitch::new(4);
    sw.flows(&["priority=10,udp,tp_dst=5000,actions=output:2", "priority=10,udp,tp_dst=5001,actions=output:3", "priority=10,tcp,actions=output:4"]);
    let a = Frame::udp(MAC_A, MAC_B).build();
    let b = Frame { dport: 5001, ..Frame::udp(MAC_A, MAC_B) }.build();
    let t = Frame::tcp(MAC_A, MAC_B).build();
    // a a a b b a t t a: runs after the first packet, after a difference, and after two.
    let burst = [&a, &a, &a, &b, &b, &a, &t, &t, &a];
    for f in burst {
        sw.port(0).inject(f);
    }
    sw.run_until_idle();
    assert_eq!(datas(&sw.captured(1)), vec![a.clone(); 5]);
    assert_eq!(datas(&sw.captured(2)), vec![b.clone(); 2]);
    assert_eq!(datas(&sw.captured(3)), vec![t.clone(); 2]);
    let c = sw.counters().clone();
    assert_eq!((c.rx_packets, c.upcalls, c.tx_packets), (9, 3, 9));

    // The same burst again, all answered by the caches.
    for f in burst {
        sw.port(0).inject(f);
    }
    sw.run_until_idle();
    assert_eq!(datas(&sw.captured(1)).len(), 5);
    assert_eq!(datas(&sw.captured(2)).len(), 2);
    assert_eq!(datas(&sw.captured(3)).len(), 2);
    let d = sw.counters();
    assert_eq!(d.upcalls, 3, "no new upcalls");
    assert_eq!((d.emc_hits + d.megaflow_hits) - (c.emc_hits + c.megaflow_hits), 9, "every packet a cache hit");
}
