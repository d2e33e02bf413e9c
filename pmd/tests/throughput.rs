//! Throughput measurements, not timed tests: ignored by default, they print rates.
//! Run with `cargo test -p rvs-pmd --release --test throughput -- --ignored --nocapture`.
//! They still assert that packets moved, so a broken path fails.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{mac_of, needs_root, test_frame, Netns};
use rvs_packet::{PacketBatch, PacketBuf};
use rvs_pmd::{open_port, MemoryPort, MemoryRx, MemoryTx, Port, PortKind, PortSpec};

#[test]
#[ignore = "measurement; run with --release -- --ignored --nocapture"]
fn memory_port_replay_to_discard_rate() {
    let frames: Vec<Vec<u8>> = (0..64).map(|i| test_frame([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], i, 64)).collect();
    let (rx_port, _h1) = MemoryPort::new("bench-rx", MemoryRx::Replay(frames), MemoryTx::Discard);
    let (tx_port, _h2) = MemoryPort::new("bench-tx", MemoryRx::Queue, MemoryTx::Discard);
    let mut rxq = rx_port.open_rxq(0).unwrap();
    let mut txq = tx_port.open_txq().unwrap();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(2) {
        for _ in 0..1024 {
            let mut b = PacketBatch::new();
            n += rxq.rx_burst(&mut b) as u64;
            txq.tx_burst(&mut b);
            txq.flush();
        }
    }
    let mpps = n as f64 / start.elapsed().as_secs_f64() / 1e6;
    eprintln!("memory replay -> discard, 64-byte frames: {mpps:.1} Mpps");
    assert_eq!(tx_port.stats().tx_packets, n);
}

#[test]
#[ignore = "measurement; run with --release -- --ignored --nocapture"]
fn af_packet_ring_to_ring_rate() {
    if !needs_root("af_packet_ring_to_ring_rate") {
        return;
    }
    let (sw, a) = (Netns::new("sw"), Netns::new("a"));
    sw.veth("p0", &a, "h0");
    let dst = mac_of(&sw, "p0");
    let src = mac_of(&a, "h0");
    let (receiver, mut rxq) = {
        let _in = sw.enter();
        let p: Arc<dyn Port> = open_port(&PortSpec::new("p0", PortKind::System)).unwrap();
        let q = p.open_rxq(0).unwrap();
        (p, q)
    };
    let (sender, mut txq) = {
        let _in = a.enter();
        let p: Arc<dyn Port> = open_port(&PortSpec::new("h0", PortKind::System)).unwrap();
        let q = p.open_txq().unwrap();
        (p, q)
    };
    let frame = test_frame(dst, src, 1, 64);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let rx = thread::spawn(move || {
        let mut n = 0u64;
        while !flag.load(Ordering::Relaxed) {
            let mut b = PacketBatch::new();
            let got = rxq.rx_burst(&mut b);
            if got == 0 {
                // Idle back-off, as a PMD with nothing to do would: leave the core to the sender.
                rvs_pmd::wait_readable(rxq.wait_fd().unwrap(), 1);
            }
            n += got as u64;
        }
        n
    });
    let start = Instant::now();
    let mut sent = 0u64;
    while start.elapsed() < Duration::from_secs(3) {
        let mut b = PacketBatch::new();
        while !b.is_full() {
            b.push(PacketBuf::from_slice(&frame)).unwrap();
        }
        sent += txq.tx_burst(&mut b) as u64;
        txq.flush();
    }
    let secs = start.elapsed().as_secs_f64();
    thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    let got = rx.join().unwrap();
    let rs = receiver.stats();
    eprintln!(
        "AF_PACKET veth, 64-byte frames: tx {:.2} Mpps, rx {:.2} Mpps (kernel drops {}, {:.1}% delivered)",
        sent as f64 / secs / 1e6,
        got as f64 / secs / 1e6,
        rs.rx_dropped,
        100.0 * got as f64 / sent.max(1) as f64
    );
    assert!(got > 0 && sent > 0);
    assert_eq!(sender.stats().tx_packets, sent);
}
