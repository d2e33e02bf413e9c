//! The AF_XDP receive queue: takes descriptors from the RX ring, copies each frame from the
//! UMEM into a pooled [`PacketBuf`](rvs_packet::PacketBuf), and gives the frame straight back on
//! the fill ring.
//!
//! Per burst: one acquire load of the RX producer index and one relaxed load of the queue's
//! `tx_pending` flag (an idle poll costs nothing more), one release store each for the RX
//! consumer and fill producer indices, no system call unless the kernel set
//! `XDP_RING_NEED_WAKEUP` on the fill ring (zero-copy drivers that ran out of frames; never in
//! copy mode) or transmit frames wait for a retried wake-up (see [`super::tx`]). Per frame: a
//! bounds check, one copy, the partial-checksum test of [`super::csum`]. Every 1024 bursts, one
//! `XDP_STATISTICS` read for the kernel's drops.

use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use rvs_packet::{with_local_pool, PacketBatch};

use super::abi::{self, XdpDesc, XdpStatistics};
use super::csum::{self, Found};
use super::ring::{ConsRing, ProdRing};
use super::socket::statistics;
use super::umem::frame_of;
use super::Shared;
use crate::port::RxQueue;
use crate::stats::{PortStats, QueueCounters};

/// Bursts between two reads of the socket's statistics.
const KERNEL_STATS_EVERY: u32 = 1024;

/// The receive half of one queue's socket: owned by the queue's [`AfXdpRxq`] while it is open,
/// parked in the port's shared state otherwise (frames keep their places in the rings).
#[derive(Debug)]
pub(super) struct RxSide {
    rx: ConsRing<XdpDesc>,
    fill: ProdRing<u64>,
    /// Kernel statistics as last read (they are cumulative).
    last: XdpStatistics,
}

impl RxSide {
    /// Takes the rings and hands every one of `frames` to the kernel on the fill ring, which
    /// must have room for them all (it is sized to the queue's receive frames).
    pub(super) fn new(rx: ConsRing<XdpDesc>, mut fill: ProdRing<u64>, frames: impl ExactSizeIterator<Item = u64>) -> Self {
        let n = frames.len() as u32;
        assert_eq!(fill.free(n), n, "fill ring smaller than the receive frames");
        for (k, addr) in frames.enumerate() {
            fill.write(k as u32, addr);
        }
        fill.submit(n);
        RxSide { rx, fill, last: XdpStatistics::default() }
    }

    /// Adds the kernel's counts since the last read to `d`.
    fn read_kernel_stats(&mut self, fd: &impl AsRawFd, d: &mut PortStats) {
        let s = statistics(fd);
        let delta = |now: u64, then: u64| now.wrapping_sub(then);
        // A full RX ring is a drop too; an empty fill ring is already in `rx_dropped`.
        d.rx_dropped += delta(s.rx_dropped, self.last.rx_dropped) + delta(s.rx_ring_full, self.last.rx_ring_full);
        d.rx_errors += delta(s.rx_invalid_descs, self.last.rx_invalid_descs);
        d.tx_errors += delta(s.tx_invalid_descs, self.last.tx_invalid_descs);
        self.last = s;
    }
}

/// One receive queue of an [`AfXdpPort`](super::AfXdpPort).
pub(crate) struct AfXdpRxq {
    shared: Arc<Shared>,
    queue: usize,
    /// Always `Some` until dropped.
    side: Option<RxSide>,
    counters: Arc<QueueCounters>,
    bursts: u32,
}

impl AfXdpRxq {
    pub(super) fn new(shared: Arc<Shared>, queue: usize, side: RxSide, counters: Arc<QueueCounters>) -> Self {
        AfXdpRxq { shared, queue, side: Some(side), counters, bursts: 0 }
    }

    fn fd(&self) -> RawFd {
        self.shared.queues[self.queue].fd.as_raw_fd()
    }
}

impl RxQueue for AfXdpRxq {
    fn rx_burst(&mut self, batch: &mut PacketBatch) -> usize {
        let shared = &*self.shared;
        let side = self.side.as_mut().expect("receive side present until drop");
        let mut d = PortStats::default();
        self.bursts += 1;
        if self.bursts >= KERNEL_STATS_EVERY {
            self.bursts = 0;
            side.read_kernel_stats(&self.shared.queues[self.queue].fd, &mut d);
        }
        let avail = side.rx.available(batch.room() as u32);
        // Every frame taken goes back at once, so the fill ring has room for all the frames on
        // the RX ring, but maybe not yet in its published consumer index: the kernel publishes
        // the RX producer index first and the fill consumer index right after (`xsk_flush`).
        // Take only what can go back now; the rest waits for the next burst.
        let n = side.fill.free(avail);
        let mut got = 0;
        if n > 0 {
            let umem = &shared.umem;
            with_local_pool(|pool| {
                for k in 0..n {
                    let desc = side.rx.read(k);
                    side.fill.write(k, frame_of(desc.addr));
                    let len = desc.len as usize;
                    if len < 14 || !umem.contains(desc.addr, len) {
                        d.rx_errors += 1;
                        continue;
                    }
                    // SAFETY: the frame came off the RX ring and is not yet back on the fill
                    // ring (submitted below), so it is ours; `contains` was checked.
                    let mut p = pool.packet_from_slice(unsafe { umem.bytes(desc.addr, len) });
                    match csum::classify(p.data_mut()) {
                        Found::Final => {}
                        Found::Partial(c) => {
                            p.meta.csum = c;
                            d.rx_csum_partial += 1;
                        }
                        Found::Completed => d.rx_csum_partial += 1,
                    }
                    d.rx_packets += 1;
                    d.rx_bytes += len as u64;
                    // `n` is at most the batch's room.
                    batch.push_in_room(|| p);
                    got += 1;
                }
            });
            side.rx.release(n);
            side.fill.submit(n);
        }
        let q = &shared.queues[self.queue];
        if q.tx_pending.load(Ordering::Relaxed) {
            // Transmit frames stuck behind a wake-up that made no progress: try again (the
            // transmit handles hold the lock only for a burst; if one has it, it kicks itself).
            if let Ok(mut tx) = q.tx.try_lock() {
                let left = tx.kick(&q.fd, shared.need_wakeup, &mut d);
                q.tx_pending.store(left, Ordering::Relaxed);
            }
        }
        if shared.need_wakeup && side.fill.needs_wakeup() {
            // Zero-copy drivers that ran dry wait for this; copy mode never asks.
            let _ = abi::wake_rx(&shared.queues[self.queue].fd);
        }
        if n != 0 || d != PortStats::default() {
            self.counters.add(&d);
        }
        got
    }

    fn wait_fd(&self) -> Option<RawFd> {
        Some(self.fd())
    }
}

impl Drop for AfXdpRxq {
    fn drop(&mut self) {
        if let Some(mut side) = self.side.take() {
            let mut d = PortStats::default();
            side.read_kernel_stats(&self.shared.queues[self.queue].fd, &mut d);
            self.counters.add(&d);
            *self.shared.queues[self.queue].rx.lock().unwrap_or_else(|e| e.into_inner()) = Some(side);
        }
    }
}
