//! The AF_PACKET transmit handle: copies frames into the TPACKET_V2 transmit ring and kicks
//! the ring with one `send` per flush.
//!
//! # Offload
//! With virtio-net headers (the default) a packet's offload state goes to the kernel as it is:
//! a partial checksum as `NEEDS_CSUM`, a super-frame as `gso_type`/`gso_size`; the kernel (or
//! the NIC behind the interface) completes them, so rvs never touches the payload. States the
//! kernel would refuse (a super-frame with a final checksum) and every packet of a port with
//! `vnet_hdr=false` are completed in software instead: [`complete_csum`], or [`segment`] into
//! one ring frame per segment (this path takes pooled buffers per segment; it is the fallback).
//!
//! Ordinary frames are handed over with `hdr_len` covering the whole frame, so that the kernel
//! copies them into the socket buffer at once instead of referencing ring pages (see
//! `send_one`); super-frames carry their real header length, as GSO needs.
//!
//! # Super-frames larger than a ring frame
//! A socket with a transmit ring sends only from its ring, and ring frames are sized for the
//! MTU. A larger super-frame is written with one `sendmsg` on a second, ring-less socket, after
//! kicking the ring so that it leaves after the frames queued before it.
//!
//! # Ring full
//! Frames leave the ring asynchronously; the kernel marks a frame `AVAILABLE` again once the
//! driver is done with it. When the frame at the head is still in flight the ring is full and
//! `tx_burst` stops taking packets: the caller drops and counts the rest.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use rvs_packet::offload::{complete_csum, segment};
use rvs_packet::{CsumState, GsoKind, PacketBatch, PacketBuf};

use super::ring::{encode_tx, status, Ring};
use crate::port::TxQueue;
use crate::vnet::segment_count;
use crate::stats::{PortStats, QueueCounters};
use crate::sys::{kick, writev2};
use crate::vnet::{VnetError, VnetHdr, VNET_HDR_LEN};

/// What became of one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Queued for transmission.
    Queued,
    /// Taken but dropped (and counted).
    Dropped,
    /// Not taken: no room now.
    Full,
}

/// One transmit handle of an [`AfPacketPort`](super::AfPacketPort).
pub(crate) struct AfPacketTxq {
    fd: OwnedFd,
    ring: Ring,
    head: usize,
    /// Frames submitted since the last successful kick.
    pending: usize,
    big: OwnedFd,
    vnet: bool,
    /// Largest non-GSO frame the interface takes.
    max_frame: usize,
    /// Largest frame a ring frame holds.
    capacity: usize,
    counters: Arc<QueueCounters>,
}

impl AfPacketTxq {
    pub(crate) fn new(fd: OwnedFd, ring: Ring, big: OwnedFd, vnet: bool, max_frame: usize, counters: Arc<QueueCounters>) -> Self {
        let capacity = ring.layout().tx_capacity(vnet);
        AfPacketTxq { fd, ring, head: 0, pending: 0, big, vnet, max_frame, capacity, counters }
    }

    /// The zero header every frame of a virtio-net socket needs when there is nothing to say.
    fn plain_hdr(&self) -> Option<[u8; VNET_HDR_LEN]> {
        self.vnet.then_some([0u8; VNET_HDR_LEN])
    }

    fn send_one(&mut self, p: &mut PacketBuf, d: &mut PortStats) -> Outcome {
        let len = p.len();
        let gso = p.meta.gso.kind != GsoKind::None;
        if len < 14 || (!gso && len > self.max_frame) {
            d.tx_dropped += 1;
            return Outcome::Dropped;
        }
        if self.vnet {
            match VnetHdr::from_meta(&p.meta, p.data()) {
                Ok(mut h) => {
                    if !gso {
                        // The whole frame as "header": the kernel copies it into the skb's
                        // linear area instead of attaching the ring pages as zero-copy
                        // fragments, which veth and local delivery must then copy into freshly
                        // allocated pages (`skb_copy_ubufs`, a page allocation per packet).
                        h.hdr_len = len as u16;
                    }
                    let out = self.put(Some(h.emit()), p.data(), d);
                    if out == Outcome::Queued {
                        d.tx_packets += 1;
                        d.tx_bytes += len as u64;
                        d.tx_csum_offloaded += u64::from(matches!(p.meta.csum, CsumState::Partial { .. }));
                        d.tx_gso_offloaded += u64::from(gso);
                    }
                    return out;
                }
                Err(VnetError::BadCsumOffsets) => {
                    d.tx_dropped += 1;
                    return Outcome::Dropped;
                }
                Err(_) => {} // completed in software below
            }
        }
        self.send_software(p, d)
    }

    /// Completes offload work in software, then queues the result.
    fn send_software(&mut self, p: &mut PacketBuf, d: &mut PortStats) -> Outcome {
        let len = p.len() as u64;
        let hdr = self.plain_hdr();
        if p.meta.gso.kind == GsoKind::None {
            let partial = matches!(p.meta.csum, CsumState::Partial { .. });
            if complete_csum(p).is_err() {
                d.tx_dropped += 1;
                return Outcome::Dropped;
            }
            let out = self.put(hdr, p.data(), d);
            if out == Outcome::Queued {
                d.tx_packets += 1;
                d.tx_bytes += len;
                d.tx_csum_completed += u64::from(partial);
            }
            return out;
        }
        let Some(n) = segment_count(p) else {
            d.tx_dropped += 1;
            return Outcome::Dropped;
        };
        if n > self.ring.layout().frame_nr {
            d.tx_dropped += 1;
            return Outcome::Dropped;
        }
        if !self.ring_has_room(n) {
            return Outcome::Full;
        }
        let mut all_fit = true;
        let res = segment(std::mem::take(p), |seg| {
            all_fit &= seg.len() <= self.capacity && self.ring_put(hdr, seg.data());
        });
        if res.is_ok() && all_fit {
            d.tx_packets += 1;
            d.tx_bytes += len;
            d.tx_gso_segmented += 1;
            Outcome::Queued
        } else {
            d.tx_dropped += 1;
            Outcome::Dropped
        }
    }

    /// Queues one frame: into the ring when it fits a ring frame, else with one `sendmsg`.
    fn put(&mut self, hdr: Option<[u8; VNET_HDR_LEN]>, frame: &[u8], d: &mut PortStats) -> Outcome {
        if frame.len() <= self.capacity {
            return if self.ring_put(hdr, frame) { Outcome::Queued } else { Outcome::Full };
        }
        if self.pending > 0 {
            self.kick(d);
        }
        let head = hdr.as_ref().map_or(&[][..], |h| &h[..]);
        match writev2(self.big.as_raw_fd(), head, frame) {
            Ok(_) => Outcome::Queued,
            Err(e) if is_transient(&e) => Outcome::Full,
            Err(_) => {
                d.tx_errors += 1;
                Outcome::Dropped
            }
        }
    }

    /// Copies a frame into the ring frame at the head; false if that frame is still in flight.
    fn ring_put(&mut self, hdr: Option<[u8; VNET_HDR_LEN]>, frame: &[u8]) -> bool {
        let Some(body) = self.ring.tx_frame(self.head) else { return false };
        encode_tx(body, hdr.as_ref(), frame);
        self.ring.tx_submit(self.head);
        self.head = (self.head + 1) % self.ring.layout().frame_nr;
        self.pending += 1;
        true
    }

    /// True when the `n` ring frames from the head are all free.
    fn ring_has_room(&self, n: usize) -> bool {
        let nr = self.ring.layout().frame_nr;
        (0..n).all(|k| self.ring.status((self.head + k) % nr) == status::AVAILABLE)
    }

    fn kick(&mut self, d: &mut PortStats) {
        match kick(self.fd.as_raw_fd()) {
            Ok(()) => self.pending = 0,
            // Frames stay requested and leave with the next kick.
            Err(e) if is_transient(&e) => {}
            Err(_) => d.tx_errors += 1,
        }
    }
}

fn is_transient(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::ENOBUFS) | Some(libc::EINTR))
}

impl TxQueue for AfPacketTxq {
    fn tx_burst(&mut self, batch: &mut PacketBatch) -> usize {
        let mut d = PortStats::default();
        let mut taken = 0;
        for i in 0..batch.len() {
            if self.send_one(&mut batch[i], &mut d) == Outcome::Full {
                break;
            }
            taken += 1;
        }
        batch.remove_front(taken);
        self.counters.add(&d);
        taken
    }

    fn flush(&mut self) {
        if self.pending == 0 {
            return;
        }
        let mut d = PortStats::default();
        self.kick(&mut d);
        self.counters.add(&d);
    }
}

impl Drop for AfPacketTxq {
    fn drop(&mut self) {
        // Send what is queued; the socket's close waits for nothing.
        if self.pending > 0 {
            let _ = kick(self.fd.as_raw_fd());
        }
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
        p.meta.gso.size = 1500;
        assert_eq!(segment_count(&p), Some(2));
        p.meta.gso.size = 0;
        assert_eq!(segment_count(&p), None);
        p.truncate(20);
        p.meta.gso.size = 1448;
        assert_eq!(segment_count(&p), None);
    }
}
