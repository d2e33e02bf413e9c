//! The AF_XDP transmit handle: copies packets into free UMEM frames, queues them on the TX
//! ring, and wakes the kernel once per flush.
//!
//! # Sharing
//! A port has one socket per queue, and a TX ring has one producer; but every PMD thread (and
//! the control thread, for packet-out) opens its own transmit handle. Handles are spread over
//! the queues round robin, and each takes its queue's [`TxSide`] lock once per `tx_burst` and
//! once per `flush`, never per packet: uncontended (one handle per queue) that is two atomic
//! operations a burst; with more handles than queues they take turns, as OVS's `tx_locks` do.
//!
//! # Offload
//! * A partial checksum goes to the kernel as transmit metadata (`XDP_TX_METADATA` with
//!   `XDP_TXMD_FLAGS_CHECKSUM`, Linux 6.11+ in copy mode): the socket buffer the kernel builds is
//!   `CHECKSUM_PARTIAL`, and the device, or the veth peer's stack, finishes it (the kernel does
//!   it in software for a device without checksum offload). Without kernel support, in
//!   zero-copy mode (a driver may not implement the request), or with
//!   `options:tx_csum_offload=false`, it is completed in software.
//! * AF_XDP has no segmentation offload: super-frames (from AF_PACKET or TAP ports) are cut in
//!   software into one frame per segment, with final checksums.
//!
//! # Wake-ups
//! In copy mode every flush with frames queued costs one `sendto` per 32 frames (the kernel
//! sends at most 32 per call); with `need_wakeup` and a zero-copy driver that is polling the
//! ring, none. Frames the kernel is done with come back on the completion ring and are
//! reclaimed at the start of each burst.
//!
//! A wake-up can make no progress for a while: the socket's send buffer is full of frames a
//! veth peer has not consumed yet, or the device stopped its queue (veth's backpressure). The
//! frames then wait in the ring, and the PMD calls `flush` again only when it next sends to the
//! port. So the handle raises the queue's `tx_pending` flag, and the receive queue of the same
//! socket, which its PMD polls every iteration (or sleeps on: `poll(2)` on an AF_XDP socket
//! drives copy-mode transmission too), wakes the kernel again until the ring is drained.
//!
//! # Ring full
//! When no frame is free or the TX ring is full, `tx_burst` stops taking packets; the caller
//! drops and counts the rest.

use std::os::fd::OwnedFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use rvs_packet::offload::{complete_csum, segment};
use rvs_packet::{CsumState, GsoKind, PacketBatch, PacketBuf};

use super::abi::{self, XdpDesc, XskTxMetadata, TX_METADATA_LEN, XDP_TXMD_FLAGS_CHECKSUM, XDP_TX_METADATA};
use super::ring::{ConsRing, ProdRing};
use super::umem::{frame_of, Umem, FRAME_SIZE};
use super::Shared;
use crate::port::TxQueue;
use crate::vnet::segment_count;
use crate::stats::{PortStats, QueueCounters};

/// Where a transmitted frame starts in its UMEM frame; the transmit metadata sits right
/// before it.
pub(super) const TX_DATA_OFFSET: usize = 64;
/// Largest frame a UMEM frame carries on transmit.
pub(super) const TX_CAPACITY: usize = FRAME_SIZE - TX_DATA_OFFSET;
// The metadata fits in front of the data, aligned, and a 1500-byte MTU frame fits after it.
const _: () = assert!(TX_DATA_OFFSET >= TX_METADATA_LEN as usize && TX_DATA_OFFSET.is_multiple_of(8));
const _: () = assert!(TX_CAPACITY >= 1500 + 14 + 8);
/// Wake-up calls per flush at most (each sends up to 32 frames in copy mode).
const MAX_KICKS: u32 = 64;

/// The transmit half of one queue's socket, shared by the handles assigned to the queue.
#[derive(Debug)]
pub(super) struct TxSide {
    tx: ProdRing<XdpDesc>,
    comp: ConsRing<u64>,
    /// Frames that are ours: neither on the TX ring nor in the kernel's hands.
    free: Vec<u64>,
}

impl TxSide {
    pub(super) fn new(tx: ProdRing<XdpDesc>, comp: ConsRing<u64>, frames: impl ExactSizeIterator<Item = u64>) -> Self {
        TxSide { tx, comp, free: frames.collect() }
    }

    /// Takes back the frames the kernel has finished with.
    fn reclaim(&mut self) {
        let n = self.comp.available(u32::MAX);
        for k in 0..n {
            // Capacity is the queue's frame count, so this never reallocates.
            self.free.push(frame_of(self.comp.read(k)));
        }
        self.comp.release(n);
    }

    /// Wakes the kernel until the TX ring is drained, it stops making progress, or the
    /// interface is down (frames then wait in the ring). Returns true if frames were left in
    /// the ring that need another wake-up later.
    pub(super) fn kick(&mut self, fd: &OwnedFd, need_wakeup: bool, d: &mut PortStats) -> bool {
        self.kick_rounds(fd, need_wakeup, d);
        self.tx.unconsumed() > 0 && (!need_wakeup || self.tx.needs_wakeup())
    }

    fn kick_rounds(&mut self, fd: &OwnedFd, need_wakeup: bool, d: &mut PortStats) {
        for _ in 0..MAX_KICKS {
            let before = self.tx.unconsumed();
            if before == 0 || (need_wakeup && !self.tx.needs_wakeup()) {
                return;
            }
            match abi::wake_tx(fd) {
                Ok(()) => {}
                // EAGAIN: 32 sent and more left, or the completion ring or socket buffer is
                // full; EBUSY: the device dropped one; ENOBUFS: no memory for a buffer.
                Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::EBUSY | libc::ENOBUFS)) => {
                    d.tx_errors += u64::from(e.raw_os_error() == Some(libc::EBUSY));
                }
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENETDOWN | libc::ENXIO)) => return,
                Err(_) => {
                    d.tx_errors += 1;
                    return;
                }
            }
            if self.tx.unconsumed() >= before {
                return;
            }
        }
    }
}

/// What became of one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Queued,
    Dropped,
    Full,
}

/// The frames and ring slots of one burst, written but not yet published.
struct Burst<'a> {
    side: &'a mut TxSide,
    umem: &'a Umem,
    /// Entries written to the TX ring since the last submit.
    written: u32,
}

impl Burst<'_> {
    /// True if `n` more frames fit now (free frames and TX ring slots).
    fn has_room(&mut self, n: u32) -> bool {
        self.side.free.len() >= n as usize && self.side.tx.free(self.written + n) == self.written + n
    }

    /// Copies `frame` into a free UMEM frame and writes its descriptor; `csum` is handed to the
    /// kernel in transmit metadata. The caller checked [`Burst::has_room`] and the length.
    fn put(&mut self, frame: &[u8], csum: Option<(u16, u16)>) {
        let base = self.side.free.pop().expect("room was checked");
        let data = base + TX_DATA_OFFSET as u64;
        // SAFETY: `base` came off our free list, so the frame is ours alone until the kernel
        // gets its descriptor (published by `submit`); `frame.len() <= TX_CAPACITY`.
        unsafe { self.umem.bytes_mut(data, frame.len()) }.copy_from_slice(frame);
        let mut options = 0;
        if let Some((start, offset)) = csum {
            let meta =
                XskTxMetadata { flags: XDP_TXMD_FLAGS_CHECKSUM, csum_start: start, csum_offset: offset, ..Default::default() };
            let at = data - u64::from(TX_METADATA_LEN);
            // SAFETY: the metadata lies inside the same frame, before the data; the frame is ours.
            let bytes = unsafe { self.umem.bytes_mut(at, TX_METADATA_LEN as usize) };
            // SAFETY: `bytes` has the size of the plain-data struct; an unaligned write is fine.
            unsafe { bytes.as_mut_ptr().cast::<XskTxMetadata>().write_unaligned(meta) };
            options = XDP_TX_METADATA;
        }
        self.side.tx.write(self.written, XdpDesc { addr: data, len: frame.len() as u32, options });
        self.written += 1;
    }
}

/// One transmit handle of an [`AfXdpPort`](super::AfXdpPort).
pub(crate) struct AfXdpTxq {
    shared: Arc<Shared>,
    queue: usize,
    /// Largest non-GSO frame the interface takes (MTU + Ethernet header + two VLAN tags).
    max_frame: usize,
    /// Hand partial checksums to the kernel (it supports transmit metadata, and the option
    /// allows it).
    csum_offload: bool,
    counters: Arc<QueueCounters>,
}

impl AfXdpTxq {
    pub(super) fn new(shared: Arc<Shared>, queue: usize, max_frame: usize, counters: Arc<QueueCounters>) -> Self {
        let csum_offload = shared.tx_metadata;
        AfXdpTxq { shared, queue, max_frame: max_frame.min(TX_CAPACITY), csum_offload, counters }
    }

    fn send_one(&self, b: &mut Burst<'_>, p: &mut PacketBuf, d: &mut PortStats) -> Outcome {
        let len = p.len();
        if p.meta.gso.kind != GsoKind::None {
            return self.send_segmented(b, p, d);
        }
        if len < 14 || len > self.max_frame {
            d.tx_dropped += 1;
            return Outcome::Dropped;
        }
        if !b.has_room(1) {
            return Outcome::Full;
        }
        let csum = match p.meta.csum {
            CsumState::Final => None,
            CsumState::Partial { start, offset } if self.csum_offload => {
                if start as usize + offset as usize + 2 > len {
                    d.tx_dropped += 1;
                    return Outcome::Dropped;
                }
                d.tx_csum_offloaded += 1;
                Some((start, offset))
            }
            CsumState::Partial { .. } => {
                if complete_csum(p).is_err() {
                    d.tx_dropped += 1;
                    return Outcome::Dropped;
                }
                d.tx_csum_completed += 1;
                None
            }
        };
        b.put(p.data(), csum);
        d.tx_packets += 1;
        d.tx_bytes += len as u64;
        Outcome::Queued
    }

    /// Cuts a super-frame into segments, one frame each (all or none).
    fn send_segmented(&self, b: &mut Burst<'_>, p: &mut PacketBuf, d: &mut PortStats) -> Outcome {
        let len = p.len() as u64;
        let Some(n) = segment_count(p) else {
            d.tx_dropped += 1;
            return Outcome::Dropped;
        };
        if n > b.side.tx.size() as usize || n > b.side.free.capacity() {
            d.tx_dropped += 1;
            return Outcome::Dropped;
        }
        if !b.has_room(n as u32) {
            return Outcome::Full;
        }
        let max = self.max_frame;
        let mut all_fit = true;
        let res = segment(std::mem::take(p), |seg| {
            if seg.len() <= max && b.has_room(1) {
                b.put(seg.data(), None);
            } else {
                all_fit = false;
            }
        });
        if res.is_ok() && all_fit {
            d.tx_packets += 1;
            d.tx_bytes += len;
            d.tx_gso_segmented += 1;
        } else {
            d.tx_dropped += 1;
        }
        // Segments already written stay queued: the packet is gone either way.
        if res.is_ok() && all_fit { Outcome::Queued } else { Outcome::Dropped }
    }
}

impl TxQueue for AfXdpTxq {
    fn tx_burst(&mut self, batch: &mut PacketBatch) -> usize {
        let shared = &*self.shared;
        let q = &shared.queues[self.queue];
        let mut side = q.tx.lock().unwrap_or_else(|e| e.into_inner());
        let mut d = PortStats::default();
        side.reclaim();
        if side.free.len() < batch.len() {
            // Out of frames: push out what is queued and take back what is done.
            let left = side.kick(&q.fd, shared.need_wakeup, &mut d);
            q.tx_pending.store(left, Ordering::Relaxed);
            side.reclaim();
        }
        let mut b = Burst { side: &mut side, umem: &shared.umem, written: 0 };
        let mut taken = 0;
        for i in 0..batch.len() {
            if self.send_one(&mut b, &mut batch[i], &mut d) == Outcome::Full {
                break;
            }
            taken += 1;
        }
        let written = b.written;
        side.tx.submit(written);
        drop(side);
        batch.remove_front(taken);
        if taken != 0 || d != PortStats::default() {
            self.counters.add(&d);
        }
        taken
    }

    fn flush(&mut self) {
        let shared = &*self.shared;
        let q = &shared.queues[self.queue];
        let mut side = q.tx.lock().unwrap_or_else(|e| e.into_inner());
        if side.tx.unconsumed() == 0 {
            return;
        }
        let mut d = PortStats::default();
        let left = side.kick(&q.fd, shared.need_wakeup, &mut d);
        q.tx_pending.store(left, Ordering::Relaxed);
        drop(side);
        if d != PortStats::default() {
            self.counters.add(&d);
        }
    }
}

impl Drop for AfXdpTxq {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_packet::Gso;

    #[test]
    fn counts_segments_of_super_frames() {
        let mut f = vec![0u8; 14 + 20 + 32 + 3000];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[16..18].copy_from_slice(&((20 + 32 + 3000) as u16).to_be_bytes());
        f[14 + 9] = 6;
        f[34 + 12] = 8 << 4;
        let mut p = PacketBuf::from_slice(&f);
        p.meta.gso = Gso { kind: GsoKind::TcpV4, size: 1448 };
        assert_eq!(segment_count(&p), Some(3));
        p.meta.gso.size = 0;
        assert_eq!(segment_count(&p), None);
    }
}
