//! DPDK ports against DPDK's virtual devices: `net_ring` (a loopback ring), `net_null` (a source
//! and sink), `net_pcap` (reads one pcap file, writes another). Needs the `dpdk` feature and root
//! (`sudo -E cargo test -p rvs-pmd --features dpdk --test dpdk`); without either, the tests print
//! a loud `SKIPPED` line. EAL is initialised once for the whole test process, with hugepages if
//! some are free and `--no-huge` otherwise (see `rvs_pmd::dpdk::EalConfig`); each test uses vdev
//! names of its own, and every port it opens is closed (device removed) before it returns.

mod common;

#[cfg(not(feature = "dpdk"))]
#[test]
fn dpdk_ports_need_the_feature() {
    use std::io::Write;
    let spec = rvs_pmd::PortSpec::new("d0", rvs_pmd::PortKind::Dpdk).with_option("dpdk-devargs", "net_null0");
    let e = rvs_pmd::open_port(&spec).err().expect("opened without the feature");
    assert!(matches!(e, rvs_pmd::PortError::NotBuiltIn { .. }), "{e}");
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED: DPDK integration tests: build with `--features dpdk` (cargo test -p rvs-pmd --features dpdk) ***\n"
    );
}

#[cfg(feature = "dpdk")]
mod with_feature {
    use std::collections::BTreeMap;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, OnceLock};

    use super::common::{needs_root, test_frame};
    use rvs_packet::{PacketBatch, PacketBuf};
    use rvs_pmd::dpdk::{self, DpdkPort, EalConfig};
    use rvs_pmd::{open_port, Port, PortError, PortKind, PortSpec};

    static SEQ: AtomicUsize = AtomicUsize::new(0);

    /// EAL for this process: initialised by the first test that gets here.
    fn eal(test: &str) -> bool {
        if !needs_root(test) {
            return false;
        }
        static INIT: OnceLock<Result<(), String>> = OnceLock::new();
        let r = INIT.get_or_init(|| {
            let mut oc = BTreeMap::new();
            oc.insert("dpdk-init".to_string(), "true".to_string());
            // Little memory either way: these tests move a few hundred packets.
            // net_null90 is probed by EAL itself, as a PCI device bound to vfio-pci would be.
            oc.insert("dpdk-extra".to_string(), "--no-pci --no-telemetry --vdev net_null90".to_string());
            let plan = EalConfig::from_other_config(&oc).unwrap().plan(dpdk::hugepages_free(), dpdk::first_allowed_cpu());
            eprintln!("EAL arguments: {}", plan.args.join(" "));
            dpdk::init(&plan)
        });
        r.as_ref().expect("EAL initialises");
        assert!(dpdk::initialized());
        true
    }

    /// A vdev name no other test uses.
    fn vdev(driver: &str) -> String {
        format!("{driver}{}", SEQ.fetch_add(1, Ordering::Relaxed) + 10)
    }

    fn spec(devargs: &str) -> PortSpec {
        PortSpec::new(format!("dpdk-{devargs}"), PortKind::Dpdk).with_option("dpdk-devargs", devargs)
    }

    fn open(spec: &PortSpec) -> Arc<dyn Port> {
        open_port(spec).unwrap_or_else(|e| panic!("opening {spec:?}: {e}"))
    }

    fn frames(n: usize, len: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| test_frame([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1], i as u8, len + i % 7)).collect()
    }

    /// Sends `frames` out of `port` in bursts of up to 32.
    fn send(port: &dyn Port, frames: &[Vec<u8>]) {
        let mut txq = port.open_txq().unwrap();
        for chunk in frames.chunks(32) {
            let mut b = PacketBatch::new();
            for f in chunk {
                b.push(PacketBuf::from_slice(f)).unwrap();
            }
            assert_eq!(txq.tx_burst(&mut b), chunk.len());
            assert!(b.is_empty());
            txq.flush();
        }
    }

    /// Receives until `n` packets came or 1000 bursts found nothing more.
    fn receive(port: &dyn Port, n: usize) -> Vec<PacketBuf> {
        let mut rxq = port.open_rxq(0).unwrap();
        let mut got = Vec::new();
        let mut empty = 0;
        while got.len() < n && empty < 1000 {
            let mut b = PacketBatch::new();
            if rxq.rx_burst(&mut b) == 0 {
                empty += 1;
                std::thread::yield_now();
            }
            got.extend(b.drain());
        }
        got
    }

    #[test]
    fn ring_loopback_returns_every_frame_unchanged() {
        if !eal("ring_loopback_returns_every_frame_unchanged") {
            return;
        }
        let dev = vdev("net_ring");
        let port = open(&spec(&dev));
        assert_eq!(port.kind(), PortKind::Dpdk);
        assert_eq!(port.mtu(), 1500);
        let sent = frames(100, 60);
        send(&*port, &sent);
        let got = receive(&*port, sent.len());
        let got: Vec<Vec<u8>> = got.iter().map(|p| p.data().to_vec()).collect();
        assert_eq!(got, sent);
        let s = port.stats();
        assert_eq!((s.tx_packets, s.rx_packets, s.tx_dropped), (100, 100, 0));
        assert_eq!(s.rx_bytes, sent.iter().map(|f| f.len() as u64).sum::<u64>());
    }

    #[test]
    fn frames_a_full_ring_refuses_are_dropped_and_not_counted_as_sent() {
        if !eal("frames_a_full_ring_refuses_are_dropped_and_not_counted_as_sent") {
            return;
        }
        let port = DpdkPort::open(&spec(&vdev("net_ring"))).unwrap();
        let free = port.pool_available();
        // Nobody receives: the ring fills up, and the device refuses the rest.
        let sent = frames(5000, 60);
        let mut txq = port.open_txq().unwrap();
        for chunk in sent.chunks(32) {
            let mut b = PacketBatch::new();
            for f in chunk {
                b.push(PacketBuf::from_slice(f)).unwrap();
            }
            assert_eq!(txq.tx_burst(&mut b), chunk.len(), "every packet is taken");
        }
        let s = port.stats();
        assert!(s.tx_dropped > 0 && s.tx_packets > 0, "{s:?}");
        assert_eq!(s.tx_packets + s.tx_dropped, 5000);
        let n = s.tx_packets as usize;
        assert_eq!(s.tx_bytes, sent[..n].iter().map(|f| f.len() as u64).sum::<u64>());
        // What the ring took comes back, in order; every mbuf returns to the pool.
        let got = receive(&port, n);
        assert_eq!(got.iter().map(|p| p.data().to_vec()).collect::<Vec<_>>(), sent[..n]);
        drop(got);
        assert_eq!(port.pool_available(), free);
    }

    #[test]
    fn null_device_sinks_and_sources_and_every_mbuf_comes_back() {
        if !eal("null_device_sinks_and_sources_and_every_mbuf_comes_back") {
            return;
        }
        let dev = vdev("net_null");
        let port = DpdkPort::open(&spec(&dev).with_option("n_txq", "2").with_option("n_rxq_desc", "512")).unwrap();
        assert_eq!(port.driver(), "net_null");
        assert_eq!(port.n_txq(), 2);
        let before = port.pool_available();
        send(&port, &frames(64, 100));
        let got = receive(&port, 64);
        assert_eq!(got.len(), 64);
        // net_null makes 64-byte packets.
        assert!(got.iter().all(|p| p.len() == 64), "{:?}", got.iter().map(|p| p.len()).collect::<Vec<_>>());
        let s = port.stats();
        assert_eq!((s.tx_packets, s.tx_dropped), (64, 0));
        assert!(s.rx_packets >= 64);
        // Received packets hold their mbufs (lent, not copied)...
        assert!(got.iter().all(|p| p.external_kind().is_some()));
        assert_eq!(port.pool_available(), before - 64);
        // ...and give them back when dropped. Nothing leaks: every mbuf taken for transmit or
        // receive went back to the pool (the receive ring's own were taken before `before`).
        drop(got);
        assert_eq!(port.pool_available(), before);
        // The link of a vdev is up; the administrative flag follows set_admin_up.
        assert!(port.link_state().carrier);
        port.set_admin_up(false).unwrap();
        assert!(!port.link_state().admin_up);
    }

    #[test]
    fn pcap_in_pcap_out_same_frames() {
        if !eal("pcap_in_pcap_out_same_frames") {
            return;
        }
        let scratch = ScratchDir::new("pcap");
        let dir = &scratch.0;
        let (inp, out) = (dir.join("in.pcap"), dir.join("out.pcap"));
        let sent = frames(50, 200);
        rvs_pmd::pcap::write(std::fs::File::create(&inp).unwrap(), &sent).unwrap();
        let dev = format!("{},rx_pcap={},tx_pcap={}", vdev("net_pcap"), inp.display(), out.display());
        {
            let port = open(&spec(&dev));
            let got = receive(&*port, sent.len());
            assert_eq!(got.len(), sent.len());
            // Sent back as they came: the mbufs themselves go to the device.
            let mut txq = port.open_txq().unwrap();
            let mut got = got.into_iter().peekable();
            while got.peek().is_some() {
                let mut b = PacketBatch::new();
                b.fill(got.by_ref().take(32));
                txq.tx_burst(&mut b);
            }
        }
        // The port is closed: the device is removed and the file complete.
        assert_eq!(rvs_pmd::pcap::read_file(&out).unwrap(), sent);
    }

    #[test]
    fn chained_mbufs_are_gathered_into_copies_in_order() {
        if !eal("chained_mbufs_are_gathered_into_copies_in_order") {
            return;
        }
        let scratch = ScratchDir::new("chain");
        let dir = &scratch.0;
        let (inp, out) = (dir.join("in.pcap"), dir.join("out.pcap"));
        // net_pcap puts a frame larger than an mbuf's room (2 KiB at MTU 1500) into a chain
        // of mbufs: those cannot be lent and are copied, between lent ones, in order.
        let sizes = [60, 3000, 61, 62, 5000, 4100, 63];
        let sent: Vec<Vec<u8>> = sizes.iter().enumerate().map(|(i, &n)| test_frame([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1], i as u8, n)).collect();
        rvs_pmd::pcap::write(std::fs::File::create(&inp).unwrap(), &sent).unwrap();
        let dev = format!("{},rx_pcap={},tx_pcap={}", vdev("net_pcap"), inp.display(), out.display());
        let port = DpdkPort::open(&spec(&dev)).unwrap();
        let free = port.pool_available();
        let got = receive(&port, sent.len());
        assert_eq!(got.iter().map(|p| p.data().to_vec()).collect::<Vec<_>>(), sent);
        let lent: Vec<bool> = got.iter().map(|p| p.external_kind().is_some()).collect();
        assert_eq!(lent, sizes.iter().map(|&n| n < 2048).collect::<Vec<_>>());
        // The chains were freed at receive, the lent mbufs come back when dropped.
        assert_eq!(port.pool_available(), free - 4);
        drop(got);
        assert_eq!(port.pool_available(), free);
        let s = port.stats();
        assert_eq!((s.rx_packets, s.rx_bytes), (7, sizes.iter().sum::<usize>() as u64));
    }

    #[test]
    fn received_mbufs_are_forwarded_without_copy_even_when_changed() {
        if !eal("received_mbufs_are_forwarded_without_copy_even_when_changed") {
            return;
        }
        let (a, b) = (DpdkPort::open(&spec(&vdev("net_ring"))).unwrap(), DpdkPort::open(&spec(&vdev("net_ring"))).unwrap());
        let (a_free, b_free) = (a.pool_available(), b.pool_available());
        let sent = frames(40, 80);
        send(&a, &sent);
        // Off a's ring: packets over a's mbufs. Changed (a tag pushed in the headroom, one
        // frame cut short, one copied to the heap), then sent through b and received again.
        let mut got = receive(&a, sent.len());
        assert!(got.iter().all(|p| p.external_kind().is_some()));
        let mut want = Vec::new();
        for (i, p) in got.iter_mut().enumerate() {
            p.prepend(4).unwrap().copy_from_slice(&[0xee, 0xee, 0xee, i as u8]);
            if i == 7 {
                p.truncate(30);
            }
            want.push(p.data().to_vec());
        }
        got[9] = got[9].duplicate();
        let mut txq = b.open_txq().unwrap();
        let mut it = got.into_iter().peekable();
        while it.peek().is_some() {
            let mut batch = PacketBatch::new();
            batch.fill(it.by_ref().take(32));
            txq.tx_burst(&mut batch);
        }
        // b's transmit took a's mbufs (39 of them) and one of its own.
        assert_eq!(b.pool_available(), b_free - 1);
        let back = receive(&b, want.len());
        assert_eq!(back.iter().map(|p| p.data().to_vec()).collect::<Vec<_>>(), want);
        drop(back);
        assert_eq!((a.pool_available(), b.pool_available()), (a_free, b_free));
        let s = b.stats();
        assert_eq!((s.tx_packets, s.tx_dropped, s.rx_packets), (40, 0, 40));
    }

    #[test]
    fn devices_are_hot_plugged_once_and_removed_with_their_port() {
        if !eal("devices_are_hot_plugged_once_and_removed_with_their_port") {
            return;
        }
        let dev = vdev("net_null");
        let a = open(&spec(&dev));
        match open_port(&spec(&dev)) {
            Err(PortError::Busy { .. }) => {}
            Err(e) => panic!("second open of {dev}: unexpected {e}"),
            Ok(_) => panic!("{dev} opened twice"),
        }
        drop(a);
        // Removed with the port: the same devargs probe again.
        let b = open(&spec(&dev));
        assert_eq!(b.n_rxq(), 1);
        // An rx queue opens once at a time.
        let q = b.open_rxq(0).unwrap();
        assert!(matches!(b.open_rxq(0), Err(PortError::Busy { .. })));
        drop(q);
        b.open_rxq(0).unwrap();
    }

    #[test]
    fn a_device_probed_by_eal_at_start_is_used_once() {
        if !eal("a_device_probed_by_eal_at_start_is_used_once") {
            return;
        }
        let a = open(&spec("net_null90"));
        assert!(matches!(open_port(&spec("net_null90")), Err(PortError::Busy { .. })));
        drop(a);
    }

    #[test]
    fn bad_options_are_refused_before_or_after_probing() {
        if !eal("bad_options_are_refused_before_or_after_probing") {
            return;
        }
        let e = open_port(&PortSpec::new("d", PortKind::Dpdk)).err().unwrap();
        assert!(e.to_string().contains("dpdk-devargs"), "{e}");
        let e = open_port(&spec("net_null99").with_option("n_rxq_desc", "1000")).err().unwrap();
        assert!(e.to_string().contains("power of two"), "{e}");
        let e = open_port(&spec("net_nonesuch0")).err().unwrap();
        assert!(e.to_string().contains("rte_dev_probe"), "{e}");
        // net_ring has at most 16 queues (RTE_PMD_RING_MAX_RX_RINGS): asking for more fails, and the device is
        // removed again (a correct open of the same name then works).
        let dev = vdev("net_ring");
        let e = open_port(&spec(&dev).with_option("n_rxq", "1000")).err().unwrap();
        assert!(e.to_string().contains("receive queues"), "{e}");
        open(&spec(&dev));
    }

    /// A fresh directory for a test's files, removed when dropped (also when the test fails).
    struct ScratchDir(PathBuf);

    impl ScratchDir {
        fn new(tag: &str) -> ScratchDir {
            let dir = std::env::temp_dir().join(format!("rvs-dpdk-{tag}-{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed)));
            std::fs::create_dir_all(&dir).unwrap();
            ScratchDir(dir)
        }
    }

    impl Drop for ScratchDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
