//! The AF_PACKET receive queue: walks the TPACKET_V2 ring from its head, copies each frame
//! into a pooled buffer, reports offload state, and hands the ring frame back at once.
//!
//! Per frame: one acquire load of the status word, one copy, one release store. No system call
//! except for the full copy of a super-frame larger than a ring frame (`TP_STATUS_COPY`, one
//! `recv`), and every 1024 bursts a `PACKET_STATISTICS` read for the kernel's drop count.
//!
//! A VLAN tag that the kernel moved out of the frame into `tp_vlan_tci` is put back, so the
//! packet rvs sees is the frame on the wire; checksum offsets are shifted to match.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;

use rvs_packet::offload::find_layers;
use rvs_packet::wire::ip_proto;
use rvs_packet::{CsumState, Gso, GsoKind, PacketBatch, PacketBuf, LARGE_DATA_ROOM};

use super::ring::{decode_rx, status, Ring, RxEntry, StrippedVlan};
use crate::port::{RxClaim, RxQueue};
use crate::stats::{PortStats, QueueCounters};
use crate::sys::{self, recv2, TpacketStats};
use crate::vnet::{VnetHdr, VNET_HDR_LEN};

/// Bursts between two reads of the kernel's drop counter.
const KERNEL_STATS_EVERY: u32 = 1024;

/// One receive queue of an [`AfPacketPort`](super::AfPacketPort).
pub(crate) struct AfPacketRxq {
    fd: OwnedFd,
    ring: Ring,
    head: usize,
    vnet: bool,
    mtu: u32,
    counters: Arc<QueueCounters>,
    bursts: u32,
    _claim: RxClaim,
}

impl AfPacketRxq {
    pub(crate) fn new(fd: OwnedFd, ring: Ring, vnet: bool, mtu: u32, counters: Arc<QueueCounters>, claim: RxClaim) -> Self {
        AfPacketRxq { fd, ring, head: 0, vnet, mtu, counters, bursts: 0, _claim: claim }
    }

    /// Adds the kernel's drop count since the last read (the read resets it).
    fn read_kernel_drops(&self, d: &mut PortStats) {
        if let Ok(s) = sys::getsockopt::<TpacketStats>(&self.fd, libc::SOL_PACKET, sys::PACKET_STATISTICS) {
            d.rx_dropped += u64::from(s.drops);
        }
    }
}

impl RxQueue for AfPacketRxq {
    fn rx_burst(&mut self, batch: &mut PacketBatch) -> usize {
        let mut d = PortStats::default();
        self.bursts += 1;
        if self.bursts >= KERNEL_STATS_EVERY {
            self.bursts = 0;
            self.read_kernel_drops(&mut d);
            self.counters.add(&d);
            d = PortStats::default();
        }
        let room = batch.room();
        let frame_nr = self.ring.layout().frame_nr;
        let (mut n, mut entries) = (0, 0);
        while n < room {
            let Some((st, body)) = self.ring.rx_frame(self.head) else { break };
            if let Some(p) = take_frame(st, body, self.vnet, self.fd.as_raw_fd(), self.mtu, &mut d) {
                d.rx_packets += 1;
                d.rx_bytes += p.len() as u64;
                d.rx_csum_partial += u64::from(matches!(p.meta.csum, CsumState::Partial { .. }));
                d.rx_gso += u64::from(p.meta.gso.kind != GsoKind::None);
                batch.push_in_room(|| p);
                n += 1;
            }
            self.ring.rx_release(self.head);
            self.head = (self.head + 1) % frame_nr;
            entries += 1;
        }
        // An idle poll costs one atomic load and touches no counter.
        if entries != 0 {
            self.counters.add(&d);
        }
        n
    }

    fn wait_fd(&self) -> Option<RawFd> {
        Some(self.fd.as_raw_fd())
    }
}

impl Drop for AfPacketRxq {
    fn drop(&mut self) {
        let mut d = PortStats::default();
        self.read_kernel_drops(&mut d);
        self.counters.add(&d);
    }
}

/// Turns one ring entry into a packet, or counts why not.
fn take_frame(st: u32, body: &[u8], vnet: bool, fd: RawFd, mtu: u32, d: &mut PortStats) -> Option<PacketBuf> {
    let e = match decode_rx(st, body, vnet) {
        Ok(e) => e,
        Err(_) => {
            // A COPY entry must still be matched with its queued copy, or later ones shift.
            if st & status::COPY != 0 {
                drain_copy(fd);
            }
            d.rx_errors += 1;
            return None;
        }
    };
    let (mut p, hdr) = if st & status::COPY != 0 {
        let got = recv_copy(fd, vnet, e.vlan);
        if e.outgoing {
            return None;
        }
        match got {
            Some(x) => x,
            None => {
                d.rx_truncated += 1;
                return None;
            }
        }
    } else {
        if e.outgoing {
            return None;
        }
        if e.truncated() {
            d.rx_truncated += 1;
            return None;
        }
        if e.data.len() < 14 {
            d.rx_errors += 1;
            return None;
        }
        (copy_frame(&e), e.vnet.copied().unwrap_or_default())
    };
    let shift = if e.vlan.is_some() { VLAN_TAG_LEN } else { 0 };
    if vnet {
        match VnetHdr::parse(&hdr).to_meta(p.len() - shift) {
            Ok((csum, gso)) => {
                p.meta.csum = match csum {
                    CsumState::Partial { start, offset } => CsumState::Partial { start: start + shift as u16, offset },
                    CsumState::Final => CsumState::Final,
                };
                p.meta.gso = gso;
            }
            Err(_) => {
                d.rx_errors += 1;
                return None;
            }
        }
    } else {
        guess_offload(&mut p, st, mtu);
    }
    Some(p)
}

const VLAN_TAG_LEN: usize = 4;

/// Writes `frame` into `out` with `vlan` (if any) put back after the MAC addresses; returns the
/// length written. `out` must have room for the frame and the tag.
fn write_with_tag(out: &mut [u8], frame: &[u8], vlan: Option<StrippedVlan>) -> usize {
    match vlan {
        None => {
            out[..frame.len()].copy_from_slice(frame);
            frame.len()
        }
        Some(v) => {
            out[..12].copy_from_slice(&frame[..12]);
            out[12..14].copy_from_slice(&v.tpid.to_be_bytes());
            out[14..16].copy_from_slice(&v.tci.to_be_bytes());
            out[16..16 + frame.len() - 12].copy_from_slice(&frame[12..]);
            frame.len() + VLAN_TAG_LEN
        }
    }
}

/// Copies a frame (at least 14 bytes) that is whole in the ring into a pooled buffer.
fn copy_frame(e: &RxEntry<'_>) -> PacketBuf {
    let extra = if e.vlan.is_some() { VLAN_TAG_LEN } else { 0 };
    let mut p = PacketBuf::with_room(e.data.len() + extra);
    let len = write_with_tag(p.spare_mut(), e.data, e.vlan);
    p.set_len(len);
    p
}

/// Reads the full copy of a super-frame from the socket queue; `None` if there is none or it
/// does not fit a large buffer.
fn recv_copy(fd: RawFd, vnet: bool, vlan: Option<StrippedVlan>) -> Option<(PacketBuf, [u8; VNET_HDR_LEN])> {
    let shift = if vlan.is_some() { VLAN_TAG_LEN } else { 0 };
    let mut p = PacketBuf::with_room(LARGE_DATA_ROOM);
    let mut hdr = [0u8; VNET_HDR_LEN];
    let head_len = if vnet { VNET_HDR_LEN } else { 0 };
    let len = {
        let spare = p.spare_mut();
        let room = spare.len() - shift;
        let n = recv2(fd, &mut hdr[..head_len], &mut spare[shift..]).ok()?;
        let len = n.checked_sub(head_len)?;
        if len < 14 || len > room {
            return None;
        }
        if let Some(v) = vlan {
            spare.copy_within(shift..shift + 12, 0);
            spare[12..14].copy_from_slice(&v.tpid.to_be_bytes());
            spare[14..16].copy_from_slice(&v.tci.to_be_bytes());
        }
        len + shift
    };
    p.set_len(len);
    Some((p, hdr))
}

/// Discards one queued copy.
fn drain_copy(fd: RawFd) {
    let mut scratch = [0u8; 64];
    let _ = recv2(fd, &mut [], &mut scratch);
}

/// Without virtio-net headers: derives the offload state from the ring status and the headers.
/// The segment size of a super-frame is not reported; it is taken as what fits the MTU.
fn guess_offload(p: &mut PacketBuf, st: u32, mtu: u32) {
    if st & (status::CSUMNOTREADY | status::GSO_TCP) == 0 {
        return;
    }
    let Some(l) = find_layers(p.data()) else { return };
    let (offset, l4_hlen) = match l.proto {
        ip_proto::TCP => match p.data().get(l.l4 + 12) {
            Some(b) => (16u16, usize::from(b >> 4) * 4),
            None => return,
        },
        ip_proto::UDP => (6, 8),
        _ => return,
    };
    if l.l4 + offset as usize + 2 > p.len() {
        return;
    }
    if st & status::CSUMNOTREADY != 0 {
        p.meta.csum = CsumState::Partial { start: l.l4 as u16, offset };
    }
    let l3_len = p.len() - l.l3;
    let headers = l.l4 - l.l3 + l4_hlen;
    if l3_len > mtu as usize && (mtu as usize) > headers {
        let kind = match (l.proto, l.ipv4) {
            (ip_proto::TCP, true) => GsoKind::TcpV4,
            (ip_proto::TCP, false) => GsoKind::TcpV6,
            _ => GsoKind::UdpL4,
        };
        p.meta.gso = Gso { kind, size: (mtu as usize - headers) as u16 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_with(frame: &[u8], vnet: Option<[u8; 10]>, wire_len: usize, mac: u16) -> Vec<u8> {
        let mut f = vec![0u8; (frame.len() + mac as usize).next_power_of_two().max(2048)];
        f[4..8].copy_from_slice(&(wire_len as u32).to_ne_bytes());
        f[8..12].copy_from_slice(&(frame.len() as u32).to_ne_bytes());
        f[12..14].copy_from_slice(&mac.to_ne_bytes());
        if let Some(h) = vnet {
            f[mac as usize - 10..mac as usize].copy_from_slice(&h);
        }
        f[mac as usize..mac as usize + frame.len()].copy_from_slice(frame);
        f.split_off(4)
    }

    /// Ethernet + IPv4 + TCP (20-byte header) + payload.
    fn tcp_frame(payload: usize) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        let total = 40 + payload;
        f.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8, 0, 1, 0x40, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        f.extend_from_slice(&[0x9c, 0x40, 0x14, 0x51, 0, 0, 0x10, 0, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0]);
        f.resize(14 + total, 0x5a);
        f
    }

    #[test]
    fn reports_kernel_offload_state_from_the_vnet_header() {
        let frame = tcp_frame(100);
        let body = body_with(&frame, Some([1, 0, 0, 0, 0, 0, 34, 0, 16, 0]), frame.len(), 76);
        let mut d = PortStats::default();
        let p = take_frame(status::USER, &body, true, -1, 1500, &mut d).unwrap();
        assert_eq!(p.data(), &frame[..]);
        assert_eq!(p.meta.csum, CsumState::Partial { start: 34, offset: 16 });
        assert_eq!(p.meta.gso, Gso::default());
        assert_eq!(d, PortStats::default());
    }

    #[test]
    fn puts_a_stripped_vlan_tag_back_and_shifts_offsets() {
        let frame = tcp_frame(10);
        let mut body = body_with(&frame, Some([1, 0, 0, 0, 0, 0, 34, 0, 16, 0]), frame.len(), 76);
        body[24 - 4..26 - 4].copy_from_slice(&0x0064u16.to_ne_bytes());
        let mut d = PortStats::default();
        let p = take_frame(status::USER | status::VLAN_VALID, &body, true, -1, 1500, &mut d).unwrap();
        assert_eq!(p.len(), frame.len() + 4);
        assert_eq!(&p.data()[..12], &frame[..12]);
        assert_eq!(&p.data()[12..16], &[0x81, 0x00, 0x00, 0x64]);
        assert_eq!(&p.data()[16..], &frame[12..]);
        assert_eq!(p.meta.csum, CsumState::Partial { start: 38, offset: 16 });
    }

    #[test]
    fn drops_truncated_frames_and_bad_headers() {
        let frame = tcp_frame(100);
        let body = body_with(&frame[..100], Some([0; 10]), frame.len(), 76);
        let mut d = PortStats::default();
        assert!(take_frame(status::USER, &body, true, -1, 1500, &mut d).is_none());
        assert_eq!(d.rx_truncated, 1);

        let body = body_with(&frame, Some([1, 0, 0, 0, 0, 0, 200, 0, 16, 0]), frame.len(), 76);
        assert!(take_frame(status::USER, &body, true, -1, 1500, &mut d).is_none());
        assert_eq!(d.rx_errors, 1);

        let mut body = body_with(&frame, Some([0; 10]), frame.len(), 76);
        body[32 + 10 - 4] = 4; // PACKET_OUTGOING
        assert!(take_frame(status::USER, &body, true, -1, 1500, &mut d).is_none());
        assert_eq!((d.rx_truncated, d.rx_errors), (1, 1));
    }

    #[test]
    fn guesses_offload_without_vnet_headers() {
        let frame = tcp_frame(3000);
        let body = body_with(&frame, None, frame.len(), 66);
        let mut d = PortStats::default();
        let st = status::USER | status::CSUMNOTREADY | status::GSO_TCP;
        let p = take_frame(st, &body, false, -1, 1500, &mut d).unwrap();
        assert_eq!(p.meta.csum, CsumState::Partial { start: 34, offset: 16 });
        assert_eq!(p.meta.gso, Gso { kind: GsoKind::TcpV4, size: 1460 });

        let small = tcp_frame(10);
        let body = body_with(&small, None, small.len(), 66);
        let p = take_frame(status::USER | status::CSUMNOTREADY, &body, false, -1, 1500, &mut d).unwrap();
        assert_eq!(p.meta.gso, Gso::default());
        let p = take_frame(status::USER, &body, false, -1, 1500, &mut d).unwrap();
        assert_eq!(p.meta.csum, CsumState::Final);
    }
}
