//! The DPDK transmit handle: a burst of mbufs allocated at once, each packet copied into one,
//! one `rte_eth_tx_burst` (retried while the device takes more), what it refused freed and
//! counted as dropped.
//!
//! # Sharing
//! Every PMD thread and the control thread open a handle; handles go to the least shared of the
//! device's `n_txq` queues, and take that queue's lock once per burst (uncontended when each
//! has its own queue, which the default `n_txq` of CPUs + 1 gives where the device has
//! enough queues), as OVS's `tx_q[].tx_lock`.
//!
//! # Offload
//! None is asked of the device: partial checksums are completed and super-frames cut into
//! segments in software (both come only from kernel ports with virtio-net headers).
//!
//! # What `tx_burst` takes
//! Every packet: sent, or dropped and counted (`tx_dropped`: larger than the MTU or an mbuf,
//! malformed offload state, pool empty, device queue full). Nothing is left for the caller.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use rvs_packet::offload::{complete_csum, segment};
use rvs_packet::{with_local_pool, CsumState, GsoKind, PacketBatch, PacketBuf, BURST_SIZE};

use super::eal;
use super::ffi::{self, RteMbuf};
use super::port::Shared;
use crate::port::TxQueue;
use crate::stats::{PortStats, QueueCounters};

/// One transmit handle of a [`DpdkPort`](super::DpdkPort).
pub(crate) struct DpdkTxq {
    shared: Arc<Shared>,
    queue: u16,
    max_frame: usize,
    mbufs: [*mut RteMbuf; BURST_SIZE],
    data: [*mut u8; BURST_SIZE],
    lens: [u16; BURST_SIZE],
    counters: Arc<QueueCounters>,
}

// SAFETY: the raw pointers are scratch space for one burst (empty between calls); the device
// queue is used under its lock.
unsafe impl Send for DpdkTxq {}

impl DpdkTxq {
    pub(super) fn new(shared: Arc<Shared>, queue: u16, max_frame: usize, counters: Arc<QueueCounters>) -> Self {
        let max_frame = max_frame.min(shared.mbuf_room);
        DpdkTxq {
            shared,
            queue,
            max_frame,
            mbufs: [std::ptr::null_mut(); BURST_SIZE],
            data: [std::ptr::null_mut(); BURST_SIZE],
            lens: [0; BURST_SIZE],
            counters,
        }
    }

    /// Sends `frames` (each at most `max_frame` bytes) in one burst; counts what was sent and
    /// what was dropped. The caller holds the queue's lock.
    fn send_frames<'a>(&mut self, frames: impl ExactSizeIterator<Item = &'a [u8]>, d: &mut PortStats) {
        let n = frames.len();
        if n == 0 {
            return;
        }
        debug_assert!(n <= BURST_SIZE);
        let mut room = 0u32;
        // SAFETY: the arrays hold BURST_SIZE >= n entries; the pool outlives `shared`.
        let r = unsafe {
            ffi::rvs_dpdk_alloc(self.shared.pool.0, self.mbufs.as_mut_ptr(), self.data.as_mut_ptr(), n as u32, &mut room)
        };
        if r < 0 {
            self.shared.tx_nombuf.fetch_add(n as u64, Ordering::Relaxed);
            return;
        }
        let mut bytes = 0u64;
        for (i, f) in frames.enumerate() {
            debug_assert!(f.len() <= room as usize);
            // SAFETY: a fresh mbuf of ours with `room >= f.len()` bytes at `data[i]`.
            unsafe { std::ptr::copy_nonoverlapping(f.as_ptr(), self.data[i], f.len()) };
            self.lens[i] = f.len() as u16;
            bytes += f.len() as u64;
        }
        // SAFETY: n fresh mbufs with their lengths; the shim frees those the device refuses.
        let sent = unsafe {
            ffi::rvs_dpdk_tx(self.shared.port_id, self.queue, self.mbufs.as_mut_ptr(), self.lens.as_ptr(), n as u16)
        } as usize;
        if sent == n {
            d.tx_bytes += bytes;
        } else {
            d.tx_bytes += self.lens[..sent].iter().map(|l| u64::from(*l)).sum::<u64>();
        }
        d.tx_packets += sent as u64;
        d.tx_dropped += (n - sent) as u64;
    }

    /// Brings a packet to a plain frame (checksum completed) if it can be sent as one.
    fn prepare(&self, p: &mut PacketBuf, d: &mut PortStats) -> bool {
        if p.len() < 14 || p.len() > self.max_frame {
            d.tx_dropped += 1;
            return false;
        }
        if let CsumState::Partial { .. } = p.meta.csum {
            if complete_csum(p).is_err() {
                d.tx_dropped += 1;
                return false;
            }
            d.tx_csum_completed += 1;
        }
        true
    }

    /// Cuts a super-frame into segments and sends them, in bursts.
    fn send_segmented(&mut self, p: PacketBuf, d: &mut PortStats) {
        let mut segs: Vec<PacketBuf> = Vec::new();
        let max = self.max_frame;
        let mut bad = false;
        if segment(p, |s| {
            if s.len() <= max {
                segs.push(s)
            } else {
                bad = true
            }
        })
        .is_err()
            || bad
        {
            d.tx_dropped += 1;
            return;
        }
        d.tx_gso_segmented += 1;
        for chunk in segs.chunks(BURST_SIZE) {
            self.send_frames(chunk.iter().map(|s| s.data()), d);
        }
    }
}

impl TxQueue for DpdkTxq {
    fn tx_burst(&mut self, batch: &mut PacketBatch) -> usize {
        let n = batch.len();
        if n == 0 {
            return 0;
        }
        eal::attach_thread();
        let shared = self.shared.clone();
        let _guard = shared.tx[usize::from(self.queue)].lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut d = PortStats::default();
        // Frames ready to go, in order; a super-frame first sends what is before it.
        let mut ready = [0u8; BURST_SIZE];
        let mut k = 0;
        for i in 0..n {
            if batch[i].meta.gso.kind != GsoKind::None {
                self.send_frames(ready[..k].iter().map(|j| batch[usize::from(*j)].data()), &mut d);
                k = 0;
                let p = std::mem::take(&mut batch[i]);
                self.send_segmented(p, &mut d);
            } else if self.prepare(&mut batch[i], &mut d) {
                ready[k] = i as u8;
                k += 1;
            }
        }
        self.send_frames(ready[..k].iter().map(|j| batch[usize::from(*j)].data()), &mut d);
        drop(_guard);
        with_local_pool(|pool| pool.recycle_all(batch.as_mut_slice()));
        batch.clear();
        self.counters.add(&d);
        n
    }

    fn flush(&mut self) {}
}

impl Drop for DpdkTxq {
    fn drop(&mut self) {
        self.shared.tx[usize::from(self.queue)].users.fetch_sub(1, Ordering::Relaxed);
    }
}
