//! The DPDK receive queue: one `rte_eth_rx_burst` per call; each mbuf is lent to its packet
//! (no copy, see [`super::mbuf`]), or, where it cannot be, copied into a pooled
//! [`PacketBuf`](rvs_packet::PacketBuf) and freed with the burst's others in one bulk free.
//!
//! Reads from each mbuf header, in Rust ([`mbuf::Received`]): buffer, offsets, lengths,
//! segment count, reference count, flags and RSS hash. Writes to each packet: its bytes (or
//! its buffer, when lent), `meta.rss_hash`, `meta.has_rss_hash`. Multi-segment mbufs (jumbo
//! frames on devices with scattered receive, net_pcap's frames larger than an mbuf) are
//! gathered into the queue's scratch buffer first (one extra copy, no allocation).
//!
//! # Cost
//! The common burst, every mbuf lendable, runs one tight loop: a header read, one branch on
//! lendability, the packet built in its batch slot; its count and bytes stay in registers and
//! reach the queue's counters as two additions (`QueueCounters::add_rx`, not a `PortStats` of
//! fifteen counters filled and added one by one). The copying path, with its buffer pool
//! (a thread-local borrow) and bulk free, starts at the first mbuf that cannot be lent.

use std::os::fd::RawFd;
use std::sync::Arc;

use rvs_packet::{with_local_pool, ExternalKind, PacketBatch, BURST_SIZE};

use super::ffi::{self, RteMbuf};
use super::mbuf::{self, Received};
use super::port::Shared;
use super::eal;
use crate::port::{RxClaim, RxQueue};
use crate::stats::{PortStats, QueueCounters};

/// Largest packet gathered from segments (bigger ones are dropped as errors).
const MAX_GATHER: usize = 65536 + 256;

/// One receive queue of a [`DpdkPort`](super::DpdkPort).
pub(crate) struct DpdkRxq {
    shared: Arc<Shared>,
    queue: u16,
    /// [`mbuf::kind`], read once.
    kind: ExternalKind,
    mbufs: [*mut RteMbuf; BURST_SIZE],
    /// For multi-segment packets.
    gather: Vec<u8>,
    counters: Arc<QueueCounters>,
    _claim: RxClaim,
}

// SAFETY: the raw pointers are scratch space for one burst (empty between calls); the queue is
// used by one thread at a time, which the claim guarantees.
unsafe impl Send for DpdkRxq {}

impl DpdkRxq {
    pub(super) fn new(shared: Arc<Shared>, queue: u16, claim: RxClaim, counters: Arc<QueueCounters>) -> Self {
        DpdkRxq {
            shared,
            queue,
            kind: mbuf::kind(),
            mbufs: [std::ptr::null_mut(); BURST_SIZE],
            gather: Vec::new(),
            counters,
            _claim: claim,
        }
    }

    /// The burst's mbufs from `from` on (`got` in all), the first of which cannot be lent:
    /// lent or copied in order, the copied ones freed together at the end.
    #[cold]
    #[inline(never)]
    fn receive_rest(&mut self, from: usize, got: usize, batch: &mut PacketBatch) {
        let kind = self.kind;
        let mut d = PortStats::default();
        // mbufs copied (not lent), gathered at the front of the array as we go (never ahead
        // of the one being read).
        let mut copied = 0usize;
        let (mbufs, gather) = (&mut self.mbufs, &mut self.gather);
        with_local_pool(|pool| {
            for i in from..got {
                let m = mbufs[i];
                // SAFETY: received by this burst, not given up yet.
                let r = unsafe { Received::read(m) };
                let len = r.pkt_len as usize;
                if r.lendable {
                    // SAFETY: lendable, given up here.
                    batch.push_in_room(|| unsafe { r.lend(kind) });
                } else {
                    mbufs[copied] = m;
                    copied += 1;
                    let frame: &[u8] = if r.nb_segs <= 1 {
                        // SAFETY: the mbuf is ours until the bulk free below.
                        unsafe { r.first_segment() }
                    } else if len <= MAX_GATHER {
                        if gather.len() < len {
                            gather.resize(MAX_GATHER, 0);
                        }
                        // SAFETY: `gather` has at least pkt_len bytes; the chain is ours.
                        unsafe { ffi::rvs_dpdk_copy_out(m, gather.as_mut_ptr()) };
                        &gather[..len]
                    } else {
                        d.rx_errors += 1;
                        continue;
                    };
                    batch.push_in_room(|| {
                        let mut p = pool.packet_from_slice(frame);
                        p.meta.rss_hash = r.rss_hash;
                        p.meta.has_rss_hash = r.has_rss_hash;
                        p
                    });
                }
                d.rx_bytes += len as u64;
                d.rx_packets += 1;
            }
        });
        if copied > 0 {
            // SAFETY: the first `copied` entries are this burst's copied mbufs, referred to by
            // nothing any more.
            unsafe { ffi::rvs_dpdk_free_bulk(self.mbufs.as_mut_ptr(), copied as u32) };
        }
        self.counters.add(&d);
    }
}

impl RxQueue for DpdkRxq {
    fn rx_burst(&mut self, batch: &mut PacketBatch) -> usize {
        let room = batch.room();
        if room == 0 {
            return 0;
        }
        eal::attach_thread();
        // SAFETY: the queue is ours alone (claimed); the array holds BURST_SIZE >= room entries.
        let got = unsafe { ffi::rvs_dpdk_rx_burst(self.shared.port_id, self.queue, self.mbufs.as_mut_ptr(), room as u16) } as usize;
        if got == 0 {
            return 0;
        }
        let before = batch.len();
        let kind = self.kind;
        // The lent packets' count and bytes, in registers (`receive_rest` counts the others).
        let (mut i, mut bytes) = (0, 0u64);
        // Lent, until the first mbuf that cannot be. Each packet is built straight into its
        // batch slot (`got <= room`): a packet built in a local first went through a stack
        // temporary, and reloading that stalled store forwarding on every packet.
        for &m in &self.mbufs[..got] {
            // SAFETY: received by this burst, not given up yet.
            let r = unsafe { Received::read(m) };
            if !r.lendable {
                break;
            }
            // SAFETY: lendable, given up here.
            batch.push_in_room(|| unsafe { r.lend(kind) });
            bytes += u64::from(r.pkt_len);
            i += 1;
        }
        self.counters.add_rx(i as u64, bytes);
        if i < got {
            self.receive_rest(i, got, batch);
        }
        batch.len() - before
    }

    fn wait_fd(&self) -> Option<RawFd> {
        None
    }
}
