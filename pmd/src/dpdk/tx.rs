//! The DPDK transmit handle. A packet that holds an mbuf (received on a DPDK port, see
//! [`super::mbuf`]) is sent as that mbuf, with its frame's new offset and length: no copy. The
//! others are copied into mbufs allocated together, once per burst. Then one
//! `rte_eth_tx_burst` (retried while the device takes more) in the packets' order; what the
//! device refused is freed and counted as dropped.
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
//! Packets come out in the order they went in, lent mbufs and copies alike.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use arrayvec::ArrayVec;
use rvs_packet::offload::{complete_csum, segment};
use rvs_packet::{with_local_pool, CsumState, GsoKind, PacketBatch, PacketBuf, BURST_SIZE};

use super::ffi::{self, RteMbuf};
use super::port::Shared;
use super::{eal, mbuf};
use crate::port::TxQueue;
use crate::stats::{PortStats, QueueCounters};

/// The frames of one transmit burst, in order: mbufs taken back from packets, and packets to
/// copy into fresh mbufs (their slots filled at send time).
struct Pending {
    n: usize,
    mbufs: [*mut RteMbuf; BURST_SIZE],
    offs: [u16; BURST_SIZE],
    lens: [u16; BURST_SIZE],
    /// Packets to copy, with their slots.
    copies: ArrayVec<(u8, PacketBuf), BURST_SIZE>,
    /// Fresh mbufs and their data pointers, for the copies.
    fresh: [*mut RteMbuf; BURST_SIZE],
    data: [*mut u8; BURST_SIZE],
}

/// One transmit handle of a [`DpdkPort`](super::DpdkPort).
pub(crate) struct DpdkTxq {
    shared: Arc<Shared>,
    queue: u16,
    max_frame: usize,
    pending: Box<Pending>,
    counters: Arc<QueueCounters>,
}

// SAFETY: the raw pointers are scratch space for one burst (empty between calls); the device
// queue is used under its lock.
unsafe impl Send for DpdkTxq {}

impl DpdkTxq {
    pub(super) fn new(shared: Arc<Shared>, queue: u16, max_frame: usize, counters: Arc<QueueCounters>) -> Self {
        let max_frame = max_frame.min(shared.mbuf_room);
        let pending = Box::new(Pending {
            n: 0,
            mbufs: [std::ptr::null_mut(); BURST_SIZE],
            offs: [0; BURST_SIZE],
            lens: [0; BURST_SIZE],
            copies: ArrayVec::new(),
            fresh: [std::ptr::null_mut(); BURST_SIZE],
            data: [std::ptr::null_mut(); BURST_SIZE],
        });
        DpdkTxq { shared, queue, max_frame, pending, counters }
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

    /// Queues a prepared packet for the burst, sending the burst first if it is full.
    #[inline]
    fn push(&mut self, p: PacketBuf, d: &mut PortStats) {
        let n = self.pending.n;
        self.pending.n = self.push_at(n, p, d);
    }

    /// [`DpdkTxq::push`] with the burst's count `n` held by the caller (in a register during
    /// `tx_burst`; `Pending::n` is only written back when something else reads it): read and
    /// written in memory per packet, it made a dependency chain through the store buffer.
    /// Returns the new count.
    #[inline]
    fn push_at(&mut self, mut n: usize, p: PacketBuf, d: &mut PortStats) -> usize {
        if n == BURST_SIZE {
            self.pending.n = n;
            self.send_pending(d);
            n = 0;
        }
        let q = &mut *self.pending;
        match mbuf::take_back(p) {
            Ok((m, off, len)) => {
                q.mbufs[n] = m;
                q.offs[n] = off;
                q.lens[n] = len;
            }
            Err(p) => {
                q.lens[n] = p.len() as u16;
                q.copies.push((n as u8, p));
            }
        }
        n + 1
    }

    /// Copies what needs copying into fresh mbufs and sends the burst. The caller holds the
    /// queue's lock.
    fn send_pending(&mut self, d: &mut PortStats) {
        let q = &mut *self.pending;
        let mut n = q.n;
        if n == 0 {
            return;
        }
        let c = q.copies.len();
        if c > 0 {
            let mut off = 0u16;
            // SAFETY: the arrays hold BURST_SIZE >= c entries; the pool outlives `shared`.
            let r = unsafe { ffi::rvs_dpdk_alloc(self.shared.pool.0, q.fresh.as_mut_ptr(), q.data.as_mut_ptr(), c as u32, &mut off) };
            if r == 0 {
                for (j, (slot, p)) in q.copies.iter().enumerate() {
                    let f = p.data();
                    // SAFETY: a fresh mbuf with room for max_frame >= f.len() bytes at data[j].
                    unsafe { std::ptr::copy_nonoverlapping(f.as_ptr(), q.data[j], f.len()) };
                    let s = usize::from(*slot);
                    q.mbufs[s] = q.fresh[j];
                    q.offs[s] = off;
                }
            } else {
                // Pool empty: the copies are dropped, the lent mbufs still go, in order.
                self.shared.tx_nombuf.fetch_add(c as u64, Ordering::Relaxed);
                let mut keep = 0;
                let mut copy_slots = q.copies.iter().map(|(s, _)| usize::from(*s)).peekable();
                for i in 0..n {
                    if copy_slots.peek() == Some(&i) {
                        copy_slots.next();
                        continue;
                    }
                    q.mbufs[keep] = q.mbufs[i];
                    q.offs[keep] = q.offs[i];
                    q.lens[keep] = q.lens[i];
                    keep += 1;
                }
                n = keep;
            }
            let copies = &mut q.copies;
            with_local_pool(|pool| copies.drain(..).for_each(|(_, p)| pool.recycle(p)));
        }
        // SAFETY: n mbufs of ours with their frames; the shim frees those the device refuses.
        let sent = unsafe {
            ffi::rvs_dpdk_tx(self.shared.port_id, self.queue, q.mbufs.as_mut_ptr(), q.offs.as_ptr(), q.lens.as_ptr(), n as u16)
        } as usize;
        d.tx_bytes += q.lens[..sent].iter().map(|l| u64::from(*l)).sum::<u64>();
        d.tx_packets += sent as u64;
        d.tx_dropped += (n - sent) as u64;
        q.n = 0;
    }

    /// Cuts a super-frame into segments and queues them.
    fn push_segmented(&mut self, p: PacketBuf, d: &mut PortStats) {
        let mut segs: Vec<PacketBuf> = Vec::new();
        let max = self.max_frame;
        let mut fits = true;
        let r = segment(p, |s| {
            fits &= s.len() <= max;
            segs.push(s);
        });
        if r.is_err() || !fits {
            d.tx_dropped += 1;
            return;
        }
        d.tx_gso_segmented += 1;
        for s in segs {
            self.push(s, d);
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
        let mut n = self.pending.n;
        for mut p in batch.drain() {
            if p.meta.gso.kind != GsoKind::None {
                self.pending.n = n;
                self.push_segmented(p, &mut d);
                n = self.pending.n;
            } else if self.prepare(&mut p, &mut d) {
                n = self.push_at(n, p, &mut d);
            }
        }
        self.pending.n = n;
        self.send_pending(&mut d);
        drop(_guard);
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
