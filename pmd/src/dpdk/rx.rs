//! The DPDK receive queue: one `rte_eth_rx_burst` per call; each mbuf is lent to its packet
//! (no copy, see [`super::mbuf`]), or, where it cannot be, copied into a pooled
//! [`PacketBuf`](rvs_packet::PacketBuf) and freed with the burst's others in one bulk free.
//!
//! Reads from each mbuf (through the shim's descriptors): data, lengths, segment count, the
//! RSS hash and its flag. Writes to each packet: its bytes, `meta.rss_hash`,
//! `meta.has_rss_hash`. Multi-segment mbufs (jumbo frames on devices with scattered receive)
//! are gathered into the queue's scratch buffer first (one extra copy, no allocation).

use std::os::fd::RawFd;
use std::sync::Arc;

use rvs_packet::{with_local_pool, PacketBatch, BURST_SIZE};

use super::{eal, mbuf};
use super::ffi::{self, RteMbuf, RxDesc};
use super::port::Shared;
use crate::port::{RxClaim, RxQueue};
use crate::stats::{PortStats, QueueCounters};

/// Largest packet gathered from segments (bigger ones are dropped as errors).
const MAX_GATHER: usize = 65536 + 256;

/// One receive queue of a [`DpdkPort`](super::DpdkPort).
pub(crate) struct DpdkRxq {
    shared: Arc<Shared>,
    queue: u16,
    mbufs: [*mut RteMbuf; BURST_SIZE],
    descs: [RxDesc; BURST_SIZE],
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
            mbufs: [std::ptr::null_mut(); BURST_SIZE],
            descs: [RxDesc::EMPTY; BURST_SIZE],
            gather: Vec::new(),
            counters,
            _claim: claim,
        }
    }
}

impl RxQueue for DpdkRxq {
    fn rx_burst(&mut self, batch: &mut PacketBatch) -> usize {
        let room = batch.room();
        if room == 0 {
            return 0;
        }
        eal::attach_thread();
        // SAFETY: the queue is ours alone (claimed); the arrays hold BURST_SIZE >= room entries.
        let got = unsafe {
            ffi::rvs_dpdk_rx(self.shared.port_id, self.queue, self.mbufs.as_mut_ptr(), self.descs.as_mut_ptr(), room as u16)
        } as usize;
        if got == 0 {
            return 0;
        }
        let mut d = PortStats::default();
        let mut appended = 0;
        // mbufs copied (not lent): freed together after the burst.
        let mut copied = 0usize;
        let (mbufs, descs, gather) = (&mut self.mbufs, &self.descs, &mut self.gather);
        with_local_pool(|pool| {
            for i in 0..got {
                let desc = &descs[i];
                let len = desc.pkt_len as usize;
                // Each packet is built straight into its batch slot (room was checked:
                // `got <= room`), then given its hash there: a packet built in a local first
                // went through a stack temporary, and reloading that stalled store forwarding
                // on every packet.
                if desc.lendable != 0 {
                    // SAFETY: a lendable mbuf of this burst, given up here.
                    batch.push_in_room(|| unsafe { mbuf::lend(desc) });
                } else {
                    let m = mbufs[i];
                    mbufs[copied] = m;
                    copied += 1;
                    let frame: &[u8] = if desc.nb_segs <= 1 {
                        // SAFETY: the shim read this mbuf's data pointer and length; the mbuf
                        // is ours until the bulk free below.
                        unsafe { std::slice::from_raw_parts(desc.data, usize::from(desc.data_len)) }
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
                    batch.push_in_room(|| pool.packet_from_slice(frame));
                }
                if desc.has_rss_hash != 0 {
                    if let Some(p) = batch.as_mut_slice().last_mut() {
                        p.meta.rss_hash = desc.rss_hash;
                        p.meta.has_rss_hash = true;
                    }
                }
                d.rx_bytes += len as u64;
                appended += 1;
            }
        });
        if copied > 0 {
            // SAFETY: the first `copied` entries are this burst's copied mbufs, referred to by
            // nothing any more.
            unsafe { ffi::rvs_dpdk_free_bulk(self.mbufs.as_mut_ptr(), copied as u32) };
        }
        d.rx_packets = appended as u64;
        self.counters.add(&d);
        appended
    }

    fn wait_fd(&self) -> Option<RawFd> {
        None
    }
}
