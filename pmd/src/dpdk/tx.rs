//! The DPDK transmit handle. A packet that holds an mbuf (received on a DPDK port, see
//! [`super::mbuf`]) is sent as that mbuf: its header gets the frame's new offset and length,
//! written from Rust as the packet is queued; no copy. The others are copied into mbufs
//! allocated together, once per burst. Then one `rte_eth_tx_burst` (retried while the device
//! takes more) in the packets' order; what the device refused is freed and counted as dropped.
//!
//! # Sharing
//! Every PMD thread and the control thread open a handle. A handle that finds a device queue
//! no other handle uses gets it to itself and sends without any lock, as long as another
//! device queue is left for the handles that come later; those share the remaining queues
//! (the least shared first) and take the queue's lock once per burst, as OVS's
//! `tx_q[].tx_lock` with `concurrent_txq`. Which it is, is decided once, when the handle
//! opens ([`TxQueues::assign`], under the port's mutex): a queue given to one handle alone is
//! never given to another until that handle is dropped, so a lock-free handle can never meet
//! another on its queue. PMD threads open their handles before the control thread does, so
//! with the default `n_txq` (CPUs + 1, where the device has that many) every PMD thread sends
//! without a lock. With fewer device queues than PMD threads, the first ones still get queues
//! of their own and the others all share the last queue (OVS would spread every thread over
//! every queue, all of them locking); a device with one queue is shared by all handles.
//!
//! # Offload
//! None is asked of the device: partial checksums are completed and super-frames cut into
//! segments in software (both come only from kernel ports with virtio-net headers).
//!
//! # What `tx_burst` takes
//! Every packet: sent, or dropped and counted (`tx_dropped`: larger than the MTU or an mbuf,
//! malformed offload state, pool empty, device queue full). Nothing is left for the caller.
//! Packets come out in the order they went in, lent mbufs and copies alike.
//!
//! # Cost
//! Per lent packet, read where it lies in the batch (not moved out): the checks that it is a
//! plain frame, the compare of its buffer kind, four mbuf header stores, the packet emptied in
//! place (two stores) and one array store; the emptied packets are forgotten together, not
//! dropped one by one. The burst's count and bytes stay in registers (a running count in
//! memory, per packet, was a dependency chain through the store buffer); the port's shared
//! state is borrowed, not reference-counted; no lock on a queue of the handle's own; nothing
//! touches a thread-local unless packets were copied.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use arrayvec::ArrayVec;
use rvs_packet::offload::{complete_csum, segment};
use rvs_packet::{with_local_pool, CsumState, ExternalKind, GsoKind, PacketBatch, PacketBuf, BURST_SIZE};

use super::ffi::{self, RteMbuf};
use super::port::Shared;
use super::{eal, mbuf};
use crate::port::TxQueue;
use crate::stats::{PortStats, QueueCounters};

/// How a device transmit queue is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Use {
    /// By one handle, without a lock.
    Exclusive,
    /// By this many handles (maybe none), each under the queue's lock.
    Shared(usize),
}

/// The device's transmit queues: their locks, and which handles use which (see "Sharing").
#[derive(Debug)]
pub(super) struct TxQueues {
    locks: Vec<Mutex<()>>,
    uses: Mutex<Vec<Use>>,
}

impl TxQueues {
    /// `n` (at least one) device queues, none in use.
    pub(super) fn new(n: usize) -> Self {
        assert!(n >= 1, "a port has at least one transmit queue");
        TxQueues { locks: (0..n).map(|_| Mutex::new(())).collect(), uses: Mutex::new(vec![Use::Shared(0); n]) }
    }

    /// The device queue for a new handle, and whether the handle has it to itself: a free
    /// queue, if another queue stays open to sharing; else the least shared open queue.
    pub(super) fn assign(&self) -> (u16, bool) {
        let mut uses = self.uses.lock().unwrap_or_else(|e| e.into_inner());
        let open = uses.iter().filter(|u| **u != Use::Exclusive).count();
        if open >= 2 {
            if let Some(q) = uses.iter().position(|u| *u == Use::Shared(0)) {
                uses[q] = Use::Exclusive;
                return (q as u16, true);
            }
        }
        let (q, users) = uses
            .iter()
            .enumerate()
            .filter_map(|(q, u)| match u {
                Use::Shared(n) => Some((q, *n)),
                Use::Exclusive => None,
            })
            .min_by_key(|(_, n)| *n)
            .expect("one queue is always left open to sharing");
        uses[q] = Use::Shared(users + 1);
        (q as u16, false)
    }

    /// A handle of queue `q` is gone.
    fn release(&self, q: u16, exclusive: bool) {
        let mut uses = self.uses.lock().unwrap_or_else(|e| e.into_inner());
        let u = &mut uses[usize::from(q)];
        *u = match *u {
            Use::Exclusive if exclusive => Use::Shared(0),
            Use::Shared(n) if !exclusive && n > 0 => Use::Shared(n - 1),
            other => unreachable!("transmit queue {q} released as exclusive={exclusive} while {other:?}"),
        };
    }
}

/// The device queue a burst goes to (borrowed from the handle for the burst).
#[derive(Clone, Copy)]
struct Dev<'a> {
    shared: &'a Shared,
    queue: u16,
}

/// The frames of one transmit burst, in order: mbufs taken back from packets (their headers
/// already set), and packets to copy into fresh mbufs (their slots filled at send time).
struct Pending {
    mbufs: [*mut RteMbuf; BURST_SIZE],
    /// Packets to copy, with their slots.
    copies: ArrayVec<(u8, PacketBuf), BURST_SIZE>,
    /// Fresh mbufs for the copies.
    fresh: [*mut RteMbuf; BURST_SIZE],
}

/// A handle's own burst state (apart from the port's shared state, so that a burst can borrow
/// both at once).
struct Burst {
    /// [`mbuf::kind`], read once.
    kind: ExternalKind,
    max_frame: usize,
    pending: Box<Pending>,
}

/// One transmit handle of a [`DpdkPort`](super::DpdkPort).
pub(crate) struct DpdkTxq {
    shared: Arc<Shared>,
    queue: u16,
    /// The device queue is this handle's alone: no lock (see "Sharing").
    exclusive: bool,
    burst: Burst,
    counters: Arc<QueueCounters>,
}

// SAFETY: the raw pointers are scratch space for one burst (empty between calls); the device
// queue is this handle's alone or used under its lock.
unsafe impl Send for DpdkTxq {}

impl DpdkTxq {
    /// A handle of device queue `queue`, as [`TxQueues::assign`] gave it.
    pub(super) fn new(shared: Arc<Shared>, (queue, exclusive): (u16, bool), max_frame: usize, counters: Arc<QueueCounters>) -> Self {
        let max_frame = max_frame.min(shared.mbuf_room);
        let pending = Box::new(Pending {
            mbufs: [std::ptr::null_mut(); BURST_SIZE],
            copies: ArrayVec::new(),
            fresh: [std::ptr::null_mut(); BURST_SIZE],
        });
        DpdkTxq { shared, queue, exclusive, burst: Burst { kind: mbuf::kind(), max_frame, pending }, counters }
    }
}

impl Burst {
    /// Whether `p` is a plain frame that fits an mbuf: no segmentation or checksum pending.
    #[inline(always)]
    fn is_plain(&self, p: &PacketBuf) -> bool {
        p.meta.gso.kind == GsoKind::None && p.meta.csum == CsumState::Final && (14..=self.max_frame).contains(&p.len())
    }

    /// Queues the plain frame `p` as slot `n` of the burst (sending the burst first if it is
    /// full) and returns the new count, which the caller keeps in a register. A lent mbuf is
    /// taken back in place, the packet read where it lies in its batch (moving it out first
    /// cost a copy of the packet to the stack and back); any other packet is moved out, to be
    /// copied.
    #[inline(always)]
    fn push_frame(&mut self, mut n: usize, p: &mut PacketBuf, dev: Dev<'_>, d: &mut PortStats) -> usize {
        if n == BURST_SIZE {
            self.send(n, dev, d);
            n = 0;
        }
        let q = &mut *self.pending;
        match mbuf::take_back(self.kind, p) {
            Some(m) => q.mbufs[n] = m,
            None => q.copies.push((n as u8, p.take())),
        }
        n + 1
    }

    /// [`Burst::push_frame`] for the rest, whose bytes it counts itself: super-frames (cut
    /// into segments), partial checksums (completed), and frames too short or too long
    /// (dropped).
    #[cold]
    #[inline(never)]
    fn push_other(&mut self, n: usize, mut p: PacketBuf, dev: Dev<'_>, d: &mut PortStats) -> usize {
        if p.meta.gso.kind != GsoKind::None {
            return self.push_segmented(n, p, dev, d);
        }
        if p.len() < 14 || p.len() > self.max_frame {
            d.tx_dropped += 1;
            return n;
        }
        if let CsumState::Partial { .. } = p.meta.csum {
            if complete_csum(&mut p).is_err() {
                d.tx_dropped += 1;
                return n;
            }
            d.tx_csum_completed += 1;
        }
        d.tx_bytes = d.tx_bytes.wrapping_add(p.len() as u64);
        self.push_frame(n, &mut p, dev, d)
    }

    /// Cuts a super-frame into segments and queues them.
    fn push_segmented(&mut self, mut n: usize, p: PacketBuf, dev: Dev<'_>, d: &mut PortStats) -> usize {
        let mut segs: Vec<PacketBuf> = Vec::new();
        let max = self.max_frame;
        let mut fits = true;
        let r = segment(p, |s| {
            fits &= s.len() <= max;
            segs.push(s);
        });
        if r.is_err() || !fits {
            d.tx_dropped += 1;
            return n;
        }
        d.tx_gso_segmented += 1;
        for s in segs {
            n = self.push_other(n, s, dev, d);
        }
        n
    }

    /// Copies what needs copying into fresh mbufs and sends the `n` frames of the burst. The
    /// caller has the device queue (alone or under its lock).
    #[inline(never)]
    fn send(&mut self, mut n: usize, dev: Dev<'_>, d: &mut PortStats) {
        if n == 0 {
            return;
        }
        if !self.pending.copies.is_empty() {
            n = self.fill_copies(n, dev, d);
        }
        let q = &mut *self.pending;
        // SAFETY: n mbufs of ours, their headers set; the device queue is ours for the call.
        let sent = unsafe { ffi::rvs_dpdk_tx_burst(dev.shared.port_id, dev.queue, q.mbufs.as_mut_ptr(), n as u16) } as usize;
        d.tx_packets += sent as u64;
        if sent < n {
            let refused = &mut q.mbufs[sent..n];
            d.tx_dropped += refused.len() as u64;
            // SAFETY: the refused mbufs are still ours: read, then freed.
            unsafe {
                // Wrapping: the plain frames' bytes are added at the end of the burst.
                d.tx_bytes = d.tx_bytes.wrapping_sub(refused.iter().map(|&m| u64::from(mbuf::pkt_len(m))).sum::<u64>());
                ffi::rvs_dpdk_free_bulk(refused.as_mut_ptr(), refused.len() as u32);
            }
        }
    }

    /// Fills the copies' slots with fresh mbufs holding their frames; returns the burst's new
    /// count (smaller when the pool was empty: the copies are then dropped, the lent mbufs
    /// still go, in order).
    #[cold]
    fn fill_copies(&mut self, mut n: usize, dev: Dev<'_>, d: &mut PortStats) -> usize {
        let q = &mut *self.pending;
        let c = q.copies.len();
        // SAFETY: the array holds BURST_SIZE >= c entries; the pool outlives `shared`.
        let r = unsafe { ffi::rvs_dpdk_alloc_bulk(dev.shared.pool.0, q.fresh.as_mut_ptr(), c as u32) };
        if r == 0 {
            for (&m, (slot, p)) in q.fresh.iter().zip(&q.copies) {
                let f = p.data();
                // SAFETY: a fresh mbuf of ours, reset (one segment, data at its headroom), with
                // room for max_frame >= f.len() bytes.
                unsafe {
                    std::ptr::copy_nonoverlapping(f.as_ptr(), mbuf::data_room(m), f.len());
                    mbuf::set_frame(m, mbuf::data_off(m), f.len() as u16);
                }
                q.mbufs[usize::from(*slot)] = m;
            }
        } else {
            dev.shared.tx_nombuf.fetch_add(c as u64, Ordering::Relaxed);
            // Wrapping, as in `send`.
            d.tx_bytes = d.tx_bytes.wrapping_sub(q.copies.iter().map(|(_, p)| p.len() as u64).sum::<u64>());
            let mut keep = 0;
            let mut copy_slots = q.copies.iter().map(|(s, _)| usize::from(*s)).peekable();
            for i in 0..n {
                if copy_slots.peek() == Some(&i) {
                    copy_slots.next();
                    continue;
                }
                q.mbufs[keep] = q.mbufs[i];
                keep += 1;
            }
            n = keep;
        }
        let copies = &mut q.copies;
        with_local_pool(|pool| copies.drain(..).for_each(|(_, p)| pool.recycle(p)));
        n
    }
}

impl TxQueue for DpdkTxq {
    fn tx_burst(&mut self, batch: &mut PacketBatch) -> usize {
        let taken = batch.len();
        if taken == 0 {
            return 0;
        }
        eal::attach_thread();
        let dev = Dev { shared: &self.shared, queue: self.queue };
        let _guard = (!self.exclusive).then(|| dev.shared.tx.locks[usize::from(dev.queue)].lock().unwrap_or_else(|e| e.into_inner()));
        let mut d = PortStats::default();
        let burst = &mut self.burst;
        // The count and the plain frames' bytes stay in registers (see "Cost").
        let (mut n, mut bytes) = (0, 0);
        for p in batch.iter_mut() {
            if burst.is_plain(p) {
                bytes += p.len() as u64;
                n = burst.push_frame(n, p, dev, &mut d);
            } else {
                n = burst.push_other(n, p.take(), dev, &mut d);
            }
        }
        burst.send(n, dev, &mut d);
        drop(_guard);
        // The refused and dropped frames' bytes were taken off already (wrapping).
        d.tx_bytes = d.tx_bytes.wrapping_add(bytes);
        // Every packet was taken out of its slot: forget the emptied packets.
        batch.clear_taken();
        self.counters.add(&d);
        taken
    }

    fn flush(&mut self) {}
}

impl Drop for DpdkTxq {
    fn drop(&mut self) {
        self.shared.tx.release(self.queue, self.exclusive);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_get_queues_of_their_own_while_one_is_left_to_share() {
        let t = TxQueues::new(3);
        // Two alone, then everyone on the third.
        assert_eq!((t.assign(), t.assign(), t.assign(), t.assign()), ((0, true), (1, true), (2, false), (2, false)));
        // A queue given back goes to the next handle, alone.
        t.release(1, true);
        assert_eq!(t.assign(), (1, true));
        // Sharers gone: the third is free but stays the one to share.
        t.release(2, false);
        t.release(2, false);
        assert_eq!(t.assign(), (2, false));
        // With one queue, everyone shares it.
        let one = TxQueues::new(1);
        assert_eq!((one.assign(), one.assign()), ((0, false), (0, false)));
        // Queues given back are taken alone again, while another stays open to sharing.
        let t = TxQueues::new(3);
        assert_eq!((t.assign(), t.assign(), t.assign()), ((0, true), (1, true), (2, false)));
        t.release(0, true);
        t.release(1, true);
        assert_eq!((t.assign(), t.assign(), t.assign()), ((0, true), (1, true), (2, false)));
        let t = TxQueues::new(2);
        assert_eq!((t.assign(), t.assign(), t.assign()), ((0, true), (1, false), (1, false)));
    }
}
