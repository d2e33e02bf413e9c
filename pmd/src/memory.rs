//! In-memory ports, for tests and benchmarks (always compiled; no privileges needed).
//!
//! # Receive side ([`MemoryRx`])
//! * `Queue`: frames injected through the [`MemoryHandle`] are delivered once each, in order
//!   (any receive queue of the port may pick them up). The queue is locked once per burst, and
//!   not at all while it is empty.
//! * `Replay`: loops forever over a preloaded set of frames, copying each into a pooled
//!   [`PacketBuf`], as DPDK's `net_pcap` does with `infinite_rx`. No lock and, once the thread's
//!   buffer pool is warm, no allocation per packet: the frames are shared read-only, and each
//!   queue keeps its own cursor. The handle can swap the set at run time; queues notice a
//!   generation counter change once per burst.
//!
//! # Transmit side ([`MemoryTx`])
//! * `Capture`: keeps transmitted packets (with their metadata) for inspection through the
//!   handle, up to [`MemoryOptions::capture_limit`]; beyond it they are dropped and counted.
//!   One lock per burst.
//! * `Discard`: counts and drops: no lock, no allocation.
//!
//! With `tx_offload: false` the port behaves like a device without checksum/TSO offload:
//! partial checksums are completed and super-frames segmented in software before capture or
//! discard, and counted in `tx_csum_completed` / `tx_gso_segmented`.
//!
//! # Through [`open_port`](crate::open_port)
//! `type=memory` ports take options `rx_pcap=FILE` (replay the file's frames), `tx=capture|discard`
//! (default discard), `mac`, `mtu`, `n_rxq` and `tx_offload`. Their handle is found by name with
//! [`MemoryHandle::find`].

use std::collections::VecDeque;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use rvs_packet::offload::{complete_csum, segment};
use rvs_packet::wire::MacAddr;
use rvs_packet::{with_local_pool, CsumState, GsoKind, PacketBatch, PacketBuf};

use crate::error::PortError;
use crate::options::Options;
use crate::port::{LinkState, Port, PortKind, PortSpec, RxClaim, RxClaims, RxQueue, TxQueue};
use crate::stats::{PortStats, QueueCounters, StatsRegistry};

/// What a memory port receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemoryRx {
    /// Frames injected through the handle, each delivered once.
    Queue,
    /// These frames, looped over forever (an empty set receives nothing).
    Replay(Vec<Vec<u8>>),
}

/// What a memory port does with transmitted packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryTx {
    /// Keep them for [`MemoryHandle::take_captured`].
    Capture,
    /// Count and drop them.
    Discard,
}

/// Port attributes of a memory port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryOptions {
    /// The port's MAC.
    pub mac: MacAddr,
    /// The port's MTU.
    pub mtu: u32,
    /// Receive queues.
    pub n_rxq: usize,
    /// Accept partial checksums and super-frames as they are (else complete them in software).
    pub tx_offload: bool,
    /// Most packets kept in capture mode.
    pub capture_limit: usize,
}

impl Default for MemoryOptions {
    fn default() -> Self {
        MemoryOptions {
            mac: MacAddr([0x02, 0, 0, 0, 0, 0x01]),
            mtu: 1500,
            n_rxq: 1,
            tx_offload: true,
            capture_limit: 1 << 16,
        }
    }
}

type Frames = Arc<[Box<[u8]>]>;

#[derive(Debug)]
struct Shared {
    name: String,
    injected: Mutex<VecDeque<PacketBuf>>,
    injected_len: AtomicUsize,
    replay: Mutex<Frames>,
    replay_gen: AtomicU64,
    captured: Mutex<VecDeque<PacketBuf>>,
    capture: AtomicBool,
    admin_up: AtomicBool,
    carrier: AtomicBool,
    capture_limit: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn to_frames(frames: Vec<Vec<u8>>) -> Frames {
    frames.into_iter().map(Vec::into_boxed_slice).collect()
}

/// Memory ports created so far, by name, for [`MemoryHandle::find`].
static REGISTRY: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());

/// The test side of a memory port: inject frames, swap the replay set, read captured packets.
#[derive(Clone, Debug)]
pub struct MemoryHandle {
    shared: Arc<Shared>,
}

impl MemoryHandle {
    /// The handle of the most recently created live memory port called `name`.
    pub fn find(name: &str) -> Option<MemoryHandle> {
        let mut r = lock(&REGISTRY);
        r.retain(|w| w.strong_count() > 0);
        r.iter().rev().filter_map(Weak::upgrade).find(|s| s.name == name).map(|shared| MemoryHandle { shared })
    }

    /// Queues a copy of `frame` for reception.
    pub fn inject(&self, frame: &[u8]) {
        self.inject_packet(PacketBuf::from_slice(frame));
    }

    /// Queues a packet (with its metadata, e.g. offload state) for reception.
    pub fn inject_packet(&self, p: PacketBuf) {
        let mut q = lock(&self.shared.injected);
        q.push_back(p);
        self.shared.injected_len.store(q.len(), Ordering::Release);
    }

    /// Injected frames not yet received.
    pub fn pending(&self) -> usize {
        self.shared.injected_len.load(Ordering::Acquire)
    }

    /// Replaces the replay set (empty: back to delivering injected frames only).
    pub fn set_replay(&self, frames: Vec<Vec<u8>>) {
        *lock(&self.shared.replay) = to_frames(frames);
        self.shared.replay_gen.fetch_add(1, Ordering::Release);
    }

    /// Switches between capturing and discarding transmitted packets.
    pub fn set_tx(&self, tx: MemoryTx) {
        self.shared.capture.store(tx == MemoryTx::Capture, Ordering::Relaxed);
    }

    /// Takes all captured packets, oldest first.
    pub fn take_captured(&self) -> Vec<PacketBuf> {
        lock(&self.shared.captured).drain(..).collect()
    }

    /// Number of captured packets waiting.
    pub fn captured_len(&self) -> usize {
        lock(&self.shared.captured).len()
    }

    /// Sets the carrier the port reports.
    pub fn set_carrier(&self, up: bool) {
        self.shared.carrier.store(up, Ordering::Relaxed);
    }
}

/// An in-memory port.
#[derive(Debug)]
pub struct MemoryPort {
    opts: MemoryOptions,
    shared: Arc<Shared>,
    claims: RxClaims,
    stats: StatsRegistry,
}

impl MemoryPort {
    /// A memory port with default options, and its handle.
    pub fn new(name: &str, rx: MemoryRx, tx: MemoryTx) -> (Arc<MemoryPort>, MemoryHandle) {
        Self::with_options(name, rx, tx, MemoryOptions::default())
    }

    /// A memory port with `opts`, and its handle.
    pub fn with_options(name: &str, rx: MemoryRx, tx: MemoryTx, opts: MemoryOptions) -> (Arc<MemoryPort>, MemoryHandle) {
        let replay = match rx {
            MemoryRx::Queue => to_frames(Vec::new()),
            MemoryRx::Replay(f) => to_frames(f),
        };
        let shared = Arc::new(Shared {
            name: name.to_string(),
            injected: Mutex::new(VecDeque::new()),
            injected_len: AtomicUsize::new(0),
            replay: Mutex::new(replay),
            replay_gen: AtomicU64::new(1),
            captured: Mutex::new(VecDeque::new()),
            capture: AtomicBool::new(tx == MemoryTx::Capture),
            admin_up: AtomicBool::new(true),
            carrier: AtomicBool::new(true),
            capture_limit: opts.capture_limit,
        });
        lock(&REGISTRY).push(Arc::downgrade(&shared));
        let handle = MemoryHandle { shared: shared.clone() };
        let claims = RxClaims::new(opts.n_rxq);
        (Arc::new(MemoryPort { opts, shared, claims, stats: StatsRegistry::default() }), handle)
    }

    /// Another handle on this port.
    pub fn handle(&self) -> MemoryHandle {
        MemoryHandle { shared: self.shared.clone() }
    }

    /// Builds a memory port from interface options (see the module doc).
    pub fn open(spec: &PortSpec) -> Result<Arc<dyn Port>, PortError> {
        let d = MemoryOptions::default();
        let mut o = Options::new(&spec.options);
        let rx = match o.str("rx_pcap") {
            None => MemoryRx::Queue,
            Some(path) => MemoryRx::Replay(
                crate::pcap::read_file(Path::new(path)).map_err(|e| PortError::bad_option("rx_pcap", path, e.to_string()))?,
            ),
        };
        let tx = match o.str("tx") {
            None | Some("discard") => MemoryTx::Discard,
            Some("capture") => MemoryTx::Capture,
            Some(v) => return Err(PortError::bad_option("tx", v, "expected capture or discard")),
        };
        let mac = match o.str("mac") {
            None => d.mac,
            Some(v) => v.parse().map_err(|_| PortError::bad_option("mac", v, "expected a MAC such as 02:00:00:00:00:01"))?,
        };
        let opts = MemoryOptions {
            mac,
            mtu: o.int("mtu", d.mtu, 68..=65535)?,
            n_rxq: o.int("n_rxq", d.n_rxq, 1..=16)?,
            tx_offload: o.bool("tx_offload", d.tx_offload)?,
            capture_limit: d.capture_limit,
        };
        o.finish()?;
        let (port, _) = Self::with_options(&spec.name, rx, tx, opts);
        Ok(port)
    }
}

impl Port for MemoryPort {
    fn name(&self) -> &str {
        &self.shared.name
    }

    fn kind(&self) -> PortKind {
        PortKind::Memory
    }

    fn mac(&self) -> MacAddr {
        self.opts.mac
    }

    fn mtu(&self) -> u32 {
        self.opts.mtu
    }

    fn ifindex(&self) -> Option<u32> {
        None
    }

    fn link_state(&self) -> LinkState {
        let admin_up = self.shared.admin_up.load(Ordering::Relaxed);
        LinkState { admin_up, carrier: admin_up && self.shared.carrier.load(Ordering::Relaxed) }
    }

    fn set_admin_up(&self, up: bool) -> io::Result<()> {
        self.shared.admin_up.store(up, Ordering::Relaxed);
        Ok(())
    }

    fn n_rxq(&self) -> usize {
        self.opts.n_rxq
    }

    fn open_rxq(&self, queue: usize) -> Result<Box<dyn RxQueue>, PortError> {
        let claim = self.claims.claim(&self.shared.name, queue)?;
        Ok(Box::new(MemoryRxq {
            _claim: claim,
            shared: self.shared.clone(),
            frames: to_frames(Vec::new()),
            generation: 0,
            cursor: 0,
            counters: self.stats.register(),
        }))
    }

    fn open_txq(&self) -> Result<Box<dyn TxQueue>, PortError> {
        Ok(Box::new(MemoryTxq {
            shared: self.shared.clone(),
            tx_offload: self.opts.tx_offload,
            counters: self.stats.register(),
        }))
    }

    fn stats(&self) -> PortStats {
        self.stats.sum()
    }
}

struct MemoryRxq {
    _claim: RxClaim,
    shared: Arc<Shared>,
    /// This queue's copy of the replay set.
    frames: Frames,
    generation: u64,
    cursor: usize,
    counters: Arc<QueueCounters>,
}

fn count_rx(d: &mut PortStats, p: &PacketBuf) {
    d.rx_packets += 1;
    d.rx_bytes += p.len() as u64;
    d.rx_csum_partial += u64::from(matches!(p.meta.csum, CsumState::Partial { .. }));
    d.rx_gso += u64::from(p.meta.gso.kind != GsoKind::None);
}

impl RxQueue for MemoryRxq {
    fn rx_burst(&mut self, batch: &mut PacketBatch) -> usize {
        if !self.shared.admin_up.load(Ordering::Relaxed) {
            return 0;
        }
        let g = self.shared.replay_gen.load(Ordering::Acquire);
        if g != self.generation {
            self.frames = lock(&self.shared.replay).clone();
            self.generation = g;
            self.cursor = 0;
        }
        let mut d = PortStats::default();
        let mut n = 0;
        if !self.frames.is_empty() {
            // One pool borrow for the burst; replayed frames carry no offload state.
            let (frames, cursor, bytes) = (&self.frames, &mut self.cursor, &mut d.rx_bytes);
            n = with_local_pool(|pool| {
                batch.fill(std::iter::from_fn(|| {
                    let frame = &frames[*cursor];
                    *cursor += 1;
                    if *cursor == frames.len() {
                        *cursor = 0;
                    }
                    *bytes += frame.len() as u64;
                    Some(pool.packet_from_slice(frame))
                }))
            });
            d.rx_packets = n as u64;
        } else if self.shared.injected_len.load(Ordering::Acquire) > 0 {
            let mut q = lock(&self.shared.injected);
            while batch.room() > 0 {
                let Some(p) = q.pop_front() else { break };
                count_rx(&mut d, &p);
                batch.push_in_room(|| p);
                n += 1;
            }
            self.shared.injected_len.store(q.len(), Ordering::Release);
        }
        self.counters.add(&d);
        n
    }

    fn wait_fd(&self) -> Option<std::os::fd::RawFd> {
        None
    }
}

struct MemoryTxq {
    shared: Arc<Shared>,
    tx_offload: bool,
    counters: Arc<QueueCounters>,
}

impl MemoryTxq {
    /// Keeps `p` when capturing; false if the capture is full.
    fn deliver(&self, p: PacketBuf, captured: &mut Option<MutexGuard<'_, VecDeque<PacketBuf>>>) -> bool {
        match captured {
            Some(q) if q.len() >= self.shared.capture_limit => false,
            Some(q) => {
                q.push_back(p);
                true
            }
            None => true,
        }
    }
}

impl TxQueue for MemoryTxq {
    fn tx_burst(&mut self, batch: &mut PacketBatch) -> usize {
        let n = batch.len();
        let mut d = PortStats::default();
        let capture = self.shared.capture.load(Ordering::Relaxed);
        if !capture {
            // Discard: count, and hand the buffers back to the pool in one go, unless some
            // packet needs offload work done in software first.
            let (mut bytes, mut partial, mut gso) = (0u64, 0u64, 0u64);
            for p in batch.iter() {
                bytes += p.len() as u64;
                partial += u64::from(matches!(p.meta.csum, CsumState::Partial { .. }));
                gso += u64::from(p.meta.gso.kind != GsoKind::None);
            }
            if self.tx_offload || partial + gso == 0 {
                d.tx_packets = n as u64;
                d.tx_bytes = bytes;
                d.tx_csum_offloaded = partial;
                d.tx_gso_offloaded = gso;
                batch.clear();
                self.counters.add(&d);
                return n;
            }
        }
        let mut captured = capture.then(|| lock(&self.shared.captured));
        for mut p in batch.drain() {
            let len = p.len() as u64;
            let partial = matches!(p.meta.csum, CsumState::Partial { .. });
            let gso = p.meta.gso.kind != GsoKind::None;
            let ok = if self.tx_offload || !(partial || gso) {
                d.tx_csum_offloaded += u64::from(partial);
                d.tx_gso_offloaded += u64::from(gso);
                self.deliver(p, &mut captured)
            } else if gso {
                let mut all = true;
                let cut = segment(p, |s| all &= self.deliver(s, &mut captured)).is_ok();
                d.tx_gso_segmented += u64::from(cut);
                cut && all
            } else if complete_csum(&mut p).is_ok() {
                d.tx_csum_completed += 1;
                self.deliver(p, &mut captured)
            } else {
                false
            };
            if ok {
                d.tx_packets += 1;
                d.tx_bytes += len;
            } else {
                d.tx_dropped += 1;
            }
        }
        drop(captured);
        self.counters.add(&d);
        n
    }

    fn flush(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_packet::{Gso, BURST_SIZE};

    fn frame(i: u8, len: usize) -> Vec<u8> {
        let mut f = vec![i; len];
        f[12..14].copy_from_slice(&[0x88, 0xb5]);
        f
    }

    #[test]
    fn injected_frames_arrive_once_in_order() {
        let (port, h) = MemoryPort::new("m-inject", MemoryRx::Queue, MemoryTx::Capture);
        let mut rxq = port.open_rxq(0).unwrap();
        for i in 0..40 {
            h.inject(&frame(i, 60));
        }
        let mut b = PacketBatch::new();
        assert_eq!(rxq.rx_burst(&mut b), BURST_SIZE);
        assert_eq!(b[0].data()[0], 0);
        b.clear();
        assert_eq!(rxq.rx_burst(&mut b), 8);
        assert_eq!(b[7].data()[0], 39);
        b.clear();
        assert_eq!(rxq.rx_burst(&mut b), 0);
        assert_eq!(h.pending(), 0);
        assert_eq!(port.stats().rx_packets, 40);
        assert_eq!(port.stats().rx_bytes, 40 * 60);
        assert!(rxq.wait_fd().is_none());
        assert!(matches!(port.open_rxq(1), Err(PortError::NoSuchQueue { .. })));
        assert!(matches!(port.open_rxq(0), Err(PortError::Busy { .. })));
        drop(rxq);
        assert!(port.open_rxq(0).is_ok());
    }

    #[test]
    fn replay_loops_forever_and_can_be_swapped() {
        let frames = vec![frame(1, 60), frame(2, 64), frame(3, 128)];
        let (port, h) = MemoryPort::new("m-replay", MemoryRx::Replay(frames), MemoryTx::Discard);
        let mut rxq = port.open_rxq(0).unwrap();
        let mut b = PacketBatch::new();
        for round in 0..10 {
            b.clear();
            assert_eq!(rxq.rx_burst(&mut b), BURST_SIZE);
            let first = (round * BURST_SIZE) % 3;
            assert_eq!(b[0].data()[0] as usize, first + 1);
        }
        h.set_replay(vec![frame(9, 60)]);
        b.clear();
        rxq.rx_burst(&mut b);
        assert!(b.iter().all(|p| p.data()[0] == 9));
        h.set_replay(Vec::new());
        b.clear();
        assert_eq!(rxq.rx_burst(&mut b), 0);
        assert_eq!(port.stats().rx_packets, 11 * BURST_SIZE as u64);
    }

    #[test]
    fn capture_keeps_packets_and_discard_counts_them() {
        let (port, h) = MemoryPort::new("m-tx", MemoryRx::Queue, MemoryTx::Capture);
        let mut txq = port.open_txq().unwrap();
        let mut b = PacketBatch::new();
        for i in 0..5 {
            b.push(PacketBuf::from_slice(&frame(i, 100))).unwrap();
        }
        b[0].meta.csum = CsumState::Partial { start: 14, offset: 6 };
        assert_eq!(txq.tx_burst(&mut b), 5);
        assert!(b.is_empty());
        let got = h.take_captured();
        assert_eq!(got.len(), 5);
        assert_eq!(got[4].data(), &frame(4, 100)[..]);
        assert_eq!(got[0].meta.csum, CsumState::Partial { start: 14, offset: 6 });

        h.set_tx(MemoryTx::Discard);
        for i in 0..3 {
            b.push(PacketBuf::from_slice(&frame(i, 100))).unwrap();
        }
        assert_eq!(txq.tx_burst(&mut b), 3);
        assert_eq!(h.captured_len(), 0);
        let s = port.stats();
        assert_eq!((s.tx_packets, s.tx_bytes, s.tx_csum_offloaded), (8, 800, 1));
    }

    #[test]
    fn capture_is_bounded() {
        let opts = MemoryOptions { capture_limit: 3, ..Default::default() };
        let (port, h) = MemoryPort::with_options("m-limit", MemoryRx::Queue, MemoryTx::Capture, opts);
        let mut txq = port.open_txq().unwrap();
        let mut b = PacketBatch::new();
        for i in 0..5 {
            b.push(PacketBuf::from_slice(&frame(i, 60))).unwrap();
        }
        txq.tx_burst(&mut b);
        assert_eq!(h.captured_len(), 3);
        let s = port.stats();
        assert_eq!((s.tx_packets, s.tx_dropped), (3, 2));
    }

    /// A TCP/IPv4 super-frame with a partial checksum, as Linux hands it over.
    fn tcp_super_frame(payload: usize, mss: u16) -> PacketBuf {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        let total = 40 + payload;
        f.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8, 0, 1, 0x40, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        f.extend_from_slice(&[0x9c, 0x40, 0x14, 0x51, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0]);
        f.extend((0..payload).map(|i| i as u8));
        let mut p = PacketBuf::from_slice(&f);
        rvs_packet::wire::Ipv4Packet::new_unchecked(&mut p.data_mut()[14..]).fill_checksum();
        let pseudo = rvs_packet::checksum::pseudo_v4(0x0a00_0001, 0x0a00_0002, 6, (20 + payload) as u16);
        let c = rvs_packet::checksum::fold(pseudo);
        p.data_mut()[50..52].copy_from_slice(&c.to_be_bytes());
        p.meta.csum = CsumState::Partial { start: 34, offset: 16 };
        p.meta.gso = Gso { kind: GsoKind::TcpV4, size: mss };
        p
    }

    fn tcp_csum_ok(frame: &[u8]) -> bool {
        let len = frame.len() - 34;
        let pseudo = rvs_packet::checksum::pseudo_v4(0x0a00_0001, 0x0a00_0002, 6, len as u16);
        rvs_packet::checksum::fold(rvs_packet::checksum::sum(&frame[34..], pseudo)) == 0xffff
    }

    #[test]
    fn without_tx_offload_work_is_done_in_software() {
        let opts = MemoryOptions { tx_offload: false, ..Default::default() };
        let (port, h) = MemoryPort::with_options("m-sw", MemoryRx::Queue, MemoryTx::Capture, opts);
        let mut txq = port.open_txq().unwrap();
        let mut b = PacketBatch::new();
        b.push(tcp_super_frame(4000, 1448)).unwrap();
        let mut single = tcp_super_frame(100, 1448);
        single.meta.gso = Gso::default();
        b.push(single).unwrap();
        assert_eq!(txq.tx_burst(&mut b), 2);
        let got = h.take_captured();
        assert_eq!(got.len(), 4);
        for p in &got {
            assert!(tcp_csum_ok(p.data()));
            assert_eq!(p.meta.csum, CsumState::Final);
            assert!(p.len() <= 54 + 1448);
        }
        let s = port.stats();
        assert_eq!((s.tx_gso_segmented, s.tx_csum_completed, s.tx_packets), (1, 1, 2));
    }

    #[test]
    fn admin_down_ports_receive_nothing() {
        let (port, h) = MemoryPort::new("m-down", MemoryRx::Queue, MemoryTx::Discard);
        let mut rxq = port.open_rxq(0).unwrap();
        h.inject(&frame(1, 60));
        port.set_admin_up(false).unwrap();
        assert_eq!(port.link_state(), LinkState { admin_up: false, carrier: false });
        let mut b = PacketBatch::new();
        assert_eq!(rxq.rx_burst(&mut b), 0);
        port.set_admin_up(true).unwrap();
        assert_eq!(rxq.rx_burst(&mut b), 1);
        h.set_carrier(false);
        assert_eq!(port.link_state(), LinkState { admin_up: true, carrier: false });
    }

    #[test]
    fn open_port_builds_memory_ports_from_options() {
        let dir = std::env::temp_dir().join(format!("rvs-pmd-mem-{}.pcap", std::process::id()));
        crate::pcap::write(std::fs::File::create(&dir).unwrap(), [frame(7, 60)]).unwrap();
        let spec = PortSpec::new("m-opened", PortKind::Memory)
            .with_option("rx_pcap", dir.to_str().unwrap())
            .with_option("tx", "capture")
            .with_option("mtu", "9000");
        let port = crate::open_port(&spec).unwrap();
        std::fs::remove_file(&dir).unwrap();
        assert_eq!((port.kind(), port.mtu(), port.ifindex()), (PortKind::Memory, 9000, None));
        let mut rxq = port.open_rxq(0).unwrap();
        let mut b = PacketBatch::new();
        assert_eq!(rxq.rx_burst(&mut b), BURST_SIZE);
        assert_eq!(b[0].data(), &frame(7, 60)[..]);
        let mut txq = port.open_txq().unwrap();
        txq.tx_burst(&mut b);
        let h = MemoryHandle::find("m-opened").unwrap();
        assert_eq!(h.captured_len(), BURST_SIZE);
        drop(port);
        drop((rxq, txq, h));
        assert!(MemoryHandle::find("m-opened").is_none());

        let bad = PortSpec::new("m-bad", PortKind::Memory).with_option("tx", "keep");
        assert!(matches!(crate::open_port(&bad), Err(PortError::BadOption { .. })));
    }
}
