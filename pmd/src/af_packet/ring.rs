//! TPACKET_V2 rings: layout, the frame header, and the ownership hand-off with the kernel.
//!
//! # Layout
//! A ring is `block_nr` blocks of `block_size` bytes, each holding `block_size / frame_size`
//! frames; block and frame sizes are powers of two here, so frame `i` starts at
//! `i * frame_size` of the mapping. Every frame starts with a `struct tpacket2_hdr`:
//!
//! ```text
//! 0 tp_status  4 tp_len  8 tp_snaplen  12 tp_mac  14 tp_net  16 tp_sec  20 tp_nsec
//! 24 tp_vlan_tci  26 tp_vlan_tpid  28 pad  | 32 struct sockaddr_ll (RX) | ...
//! ```
//! * RX: the frame's Ethernet header starts at `tp_mac`; with `PACKET_VNET_HDR` the 10-byte
//!   virtio-net header sits right before it. `tp_snaplen` bytes are in the ring, `tp_len` is
//!   the length on the wire. The kernel strips an offloaded VLAN tag into `tp_vlan_tci`.
//! * TX: the frame (after the virtio-net header, with `PACKET_VNET_HDR`) starts at byte 32;
//!   `tp_len` counts both.
//!
//! # Ownership
//! `tp_status` says who owns a frame. RX: `TP_STATUS_KERNEL` (0) the kernel may fill it,
//! `TP_STATUS_USER` bit set: ours until we store 0 back. TX: `AVAILABLE` (0) ours,
//! `SEND_REQUEST`/`SENDING` the kernel's until it stores `AVAILABLE` again. The status word is
//! read with acquire and written with release ordering, pairing with the kernel's barriers
//! around its own status updates, and it is never part of a byte slice this module hands out:
//! [`Ring`] gives out the rest of a frame (`body`, bytes 4..) only while the status says the
//! frame is ours, and only for as long as a `&self`/`&mut self` borrow lasts; handing a frame
//! back needs `&mut self`, so no slice can outlive our ownership.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::sys::{Mmap, TpacketReq};
use crate::vnet::VNET_HDR_LEN;

/// Field offsets of `struct tpacket2_hdr`, relative to the frame body (the frame less its
/// 4-byte status word).
mod field {
    pub(super) const BODY: usize = 4;
    pub(super) const LEN: usize = 4 - BODY;
    pub(super) const SNAPLEN: usize = 8 - BODY;
    pub(super) const MAC: usize = 12 - BODY;
    pub(super) const VLAN_TCI: usize = 24 - BODY;
    pub(super) const VLAN_TPID: usize = 26 - BODY;
    /// `sll_pkttype` of the `sockaddr_ll` at `TPACKET_ALIGN(sizeof(tpacket2_hdr))` = 32.
    pub(super) const SLL_PKTTYPE: usize = 32 + 10 - BODY;
    /// Where transmitted data starts: `TPACKET2_HDRLEN - sizeof(struct sockaddr_ll)`.
    pub(super) const TX_DATA: usize = 32 - BODY;
}

/// `tp_status` bits.
pub(crate) mod status {
    /// RX: the frame holds a packet for user space.
    pub(crate) const USER: u32 = 1;
    /// RX: the frame was too big for the ring; a full copy waits on the socket queue.
    pub(crate) const COPY: u32 = 1 << 1;
    /// RX: the L4 checksum is partial (no virtio-net header to say where).
    pub(crate) const CSUMNOTREADY: u32 = 1 << 3;
    /// RX: `tp_vlan_tci` holds a tag stripped from the frame.
    pub(crate) const VLAN_VALID: u32 = 1 << 4;
    /// RX: `tp_vlan_tpid` is valid.
    pub(crate) const VLAN_TPID_VALID: u32 = 1 << 6;
    /// RX: a TCP segmentation-offload super-frame.
    pub(crate) const GSO_TCP: u32 = 1 << 8;
    /// TX: free for user space.
    pub(crate) const AVAILABLE: u32 = 0;
    /// TX: filled, to be sent at the next kick.
    pub(crate) const SEND_REQUEST: u32 = 1;
}

/// `PACKET_OUTGOING` in `sll_pkttype`: a frame this host sent.
const PACKET_OUTGOING: u8 = 4;

/// Bytes in front of the Ethernet header in an RX frame, as `tpacket_rcv` computes it for
/// `SOCK_RAW`: `TPACKET_ALIGN(TPACKET2_HDRLEN + 16) + vnet - 14`. Used for sizing only; the
/// real offset is read from `tp_mac`.
pub(crate) const fn rx_overhead(vnet: bool) -> usize {
    let netoff = (52 + 16 + 15) & !15;
    netoff + if vnet { VNET_HDR_LEN } else { 0 } - 14
}

/// Bytes in front of the frame in a TX frame.
pub(crate) const fn tx_overhead(vnet: bool) -> usize {
    field::TX_DATA + field::BODY + if vnet { VNET_HDR_LEN } else { 0 }
}

/// Geometry of one ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RingLayout {
    pub(crate) frame_size: usize,
    pub(crate) frame_nr: usize,
    pub(crate) block_size: usize,
}

impl RingLayout {
    /// Smallest block the layout uses: 64 KiB (order-4 pages; the kernel falls back to vmalloc
    /// when contiguous pages are short).
    const MIN_BLOCK: usize = 64 * 1024;

    /// At least `frames` frames, each with room for `overhead + max_frame` bytes.
    pub(crate) fn new(overhead: usize, max_frame: usize, frames: usize) -> Self {
        let frame_size = (overhead + max_frame).next_power_of_two().max(2048);
        let block_size = frame_size.max(Self::MIN_BLOCK);
        let per_block = block_size / frame_size;
        let block_nr = frames.div_ceil(per_block).max(1);
        RingLayout { frame_size, frame_nr: block_nr * per_block, block_size }
    }

    /// The `PACKET_RX_RING` / `PACKET_TX_RING` request.
    pub(crate) fn req(&self) -> TpacketReq {
        TpacketReq {
            block_size: self.block_size as u32,
            block_nr: (self.frame_nr * self.frame_size / self.block_size) as u32,
            frame_size: self.frame_size as u32,
            frame_nr: self.frame_nr as u32,
        }
    }

    /// Bytes of the mapping.
    pub(crate) fn bytes(&self) -> usize {
        self.frame_nr * self.frame_size
    }

    /// Largest frame (after the virtio-net header, if any) a TX frame holds.
    pub(crate) fn tx_capacity(&self, vnet: bool) -> usize {
        self.frame_size - tx_overhead(vnet)
    }
}

/// A stripped VLAN tag reported beside the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StrippedVlan {
    pub(crate) tpid: u16,
    pub(crate) tci: u16,
}

/// What an RX frame holds, decoded from its header.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RxEntry<'a> {
    /// The bytes in the ring (`tp_snaplen` of them) from the Ethernet header on.
    pub(crate) data: &'a [u8],
    /// The frame's length on the wire (`tp_len`).
    pub(crate) wire_len: usize,
    /// The virtio-net header, if the socket has `PACKET_VNET_HDR`.
    pub(crate) vnet: Option<&'a [u8; VNET_HDR_LEN]>,
    /// A tag the kernel took out of the frame.
    pub(crate) vlan: Option<StrippedVlan>,
    /// `tp_status`.
    pub(crate) status: u32,
    /// A frame this host sent (seen when `PACKET_IGNORE_OUTGOING` is unavailable).
    pub(crate) outgoing: bool,
}

impl RxEntry<'_> {
    /// The ring holds only part of the frame.
    pub(crate) fn truncated(&self) -> bool {
        self.data.len() < self.wire_len
    }
}

/// The header offsets of an RX frame point outside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Malformed;

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_ne_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_ne_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// Decodes an RX frame given its status word and its body (the frame less the status word).
pub(crate) fn decode_rx(status: u32, body: &[u8], vnet: bool) -> Result<RxEntry<'_>, Malformed> {
    if body.len() < field::SLL_PKTTYPE + 1 {
        return Err(Malformed);
    }
    let wire_len = u32_at(body, field::LEN) as usize;
    let snaplen = u32_at(body, field::SNAPLEN) as usize;
    let mac = (u16_at(body, field::MAC) as usize).checked_sub(field::BODY).ok_or(Malformed)?;
    let end = mac.checked_add(snaplen).ok_or(Malformed)?;
    if end > body.len() || snaplen > wire_len || (vnet && mac < field::SLL_PKTTYPE + VNET_HDR_LEN) {
        return Err(Malformed);
    }
    let vnet = if vnet {
        Some(body[mac - VNET_HDR_LEN..mac].try_into().expect("10-byte slice"))
    } else {
        None
    };
    let vlan = (status & status::VLAN_VALID != 0).then(|| StrippedVlan {
        tpid: if status & status::VLAN_TPID_VALID != 0 { u16_at(body, field::VLAN_TPID) } else { 0x8100 },
        tci: u16_at(body, field::VLAN_TCI),
    });
    Ok(RxEntry {
        data: &body[mac..end],
        wire_len,
        vnet,
        vlan,
        status,
        outgoing: body[field::SLL_PKTTYPE] == PACKET_OUTGOING,
    })
}

/// Writes a TX frame body: optional virtio-net header, then `frame`; sets `tp_len`. The caller
/// has checked that it fits ([`RingLayout::tx_capacity`]).
pub(crate) fn encode_tx(body: &mut [u8], vnet: Option<&[u8; VNET_HDR_LEN]>, frame: &[u8]) {
    let mut at = field::TX_DATA;
    if let Some(h) = vnet {
        body[at..at + VNET_HDR_LEN].copy_from_slice(h);
        at += VNET_HDR_LEN;
    }
    body[at..at + frame.len()].copy_from_slice(frame);
    let tp_len = (at - field::TX_DATA + frame.len()) as u32;
    body[field::LEN..field::LEN + 4].copy_from_slice(&tp_len.to_ne_bytes());
}

/// A mapped ring of one packet socket.
#[derive(Debug)]
pub(crate) struct Ring {
    map: Mmap,
    layout: RingLayout,
}

impl Ring {
    /// Maps the ring that was just configured on `fd` with `layout`.
    pub(crate) fn map(fd: &impl AsRawFd, layout: RingLayout) -> io::Result<Ring> {
        let map = Mmap::shared(fd, layout.bytes())?;
        Ok(Ring { map, layout })
    }

    /// The geometry.
    pub(crate) fn layout(&self) -> &RingLayout {
        &self.layout
    }

    fn status_word(&self, i: usize) -> &AtomicU32 {
        assert!(i < self.layout.frame_nr);
        let off = i * self.layout.frame_size;
        debug_assert!(off + self.layout.frame_size <= self.map.len());
        // SAFETY: `off` is inside the mapping and 4-byte aligned (frame sizes are powers of two
        // >= 2048, the mapping is page aligned); the kernel accesses this word concurrently, which
        // is what an atomic is for, and no byte slice this type hands out covers it.
        unsafe { &*self.map.as_ptr().add(off).cast::<AtomicU32>() }
    }

    /// The status of frame `i` (acquire: the frame contents written before it are visible).
    pub(crate) fn status(&self, i: usize) -> u32 {
        self.status_word(i).load(Ordering::Acquire)
    }

    /// The body of frame `i` if its status has the RX `USER` bit, with that status.
    pub(crate) fn rx_frame(&self, i: usize) -> Option<(u32, &[u8])> {
        let st = self.status(i);
        if st & status::USER == 0 {
            return None;
        }
        let off = i * self.layout.frame_size + field::BODY;
        // SAFETY: the frame is ours (USER) until `rx_release`, which takes `&mut self` and so
        // cannot run while this borrow lives; the range is inside the mapping and excludes the
        // status word.
        let body = unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(off), self.layout.frame_size - field::BODY) };
        Some((st, body))
    }

    /// Hands RX frame `i` back to the kernel.
    pub(crate) fn rx_release(&mut self, i: usize) {
        self.status_word(i).store(0, Ordering::Release);
    }

    /// The body of TX frame `i` if it is available to user space.
    pub(crate) fn tx_frame(&mut self, i: usize) -> Option<&mut [u8]> {
        if self.status(i) != status::AVAILABLE {
            return None;
        }
        let off = i * self.layout.frame_size + field::BODY;
        // SAFETY: the frame is ours (AVAILABLE) until `tx_submit`, which takes `&mut self`; the
        // range is inside the mapping and excludes the status word.
        Some(unsafe { std::slice::from_raw_parts_mut(self.map.as_ptr().add(off), self.layout.frame_size - field::BODY) })
    }

    /// Marks TX frame `i` (filled with [`encode_tx`]) for sending at the next kick.
    pub(crate) fn tx_submit(&mut self, i: usize) {
        self.status_word(i).store(status::SEND_REQUEST, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An RX frame as the kernel wrote it (Linux 6.18, PACKET_VNET_HDR, 2048-byte frames): a
    /// 66-byte TCP ACK with a partial checksum. tp_mac 76, tp_net 90, status USER|CSUMNOTREADY.
    fn rx_fixture(status_bits: u32, vlan: Option<(u16, u16)>) -> Vec<u8> {
        let mut f = vec![0u8; 2048];
        f[0..4].copy_from_slice(&status_bits.to_ne_bytes());
        f[4..8].copy_from_slice(&66u32.to_ne_bytes());
        f[8..12].copy_from_slice(&66u32.to_ne_bytes());
        f[12..14].copy_from_slice(&76u16.to_ne_bytes());
        f[14..16].copy_from_slice(&90u16.to_ne_bytes());
        if let Some((tpid, tci)) = vlan {
            f[24..26].copy_from_slice(&tci.to_ne_bytes());
            f[26..28].copy_from_slice(&tpid.to_ne_bytes());
        }
        f[32 + 10] = 0; // sll_pkttype PACKET_HOST
        f[66..76].copy_from_slice(&[1, 0, 0, 0, 0, 0, 34, 0, 16, 0]);
        for (i, b) in f[76..76 + 66].iter_mut().enumerate() {
            *b = i as u8;
        }
        f
    }

    #[test]
    fn decodes_a_kernel_rx_frame() {
        let f = rx_fixture(status::USER | status::CSUMNOTREADY, None);
        let e = decode_rx(u32::from_ne_bytes(f[0..4].try_into().unwrap()), &f[4..], true).unwrap();
        assert_eq!(e.data.len(), 66);
        assert_eq!(e.data[0], 0);
        assert_eq!(e.data[65], 65);
        assert_eq!(e.vnet, Some(&[1, 0, 0, 0, 0, 0, 34, 0, 16, 0]));
        assert_eq!(e.vlan, None);
        assert!(!e.truncated() && !e.outgoing);
    }

    #[test]
    fn reports_stripped_vlan_tags() {
        let f = rx_fixture(status::USER | status::VLAN_VALID, Some((0x88a8, 0x2064)));
        let e = decode_rx(status::USER | status::VLAN_VALID, &f[4..], true).unwrap();
        assert_eq!(e.vlan, Some(StrippedVlan { tpid: 0x8100, tci: 0x2064 }));
        let st = status::USER | status::VLAN_VALID | status::VLAN_TPID_VALID;
        let e = decode_rx(st, &f[4..], true).unwrap();
        assert_eq!(e.vlan, Some(StrippedVlan { tpid: 0x88a8, tci: 0x2064 }));
    }

    #[test]
    fn flags_truncated_and_outgoing_frames() {
        let mut f = rx_fixture(status::USER, None);
        f[4..8].copy_from_slice(&7306u32.to_ne_bytes());
        f[32 + 10] = PACKET_OUTGOING;
        let e = decode_rx(status::USER | status::COPY, &f[4..], true).unwrap();
        assert!(e.truncated());
        assert!(e.outgoing);
        assert_eq!(e.wire_len, 7306);
    }

    #[test]
    fn rejects_offsets_outside_the_frame() {
        let mut f = rx_fixture(status::USER, None);
        f[8..12].copy_from_slice(&2000u32.to_ne_bytes()); // snaplen past the frame end
        f[4..8].copy_from_slice(&2000u32.to_ne_bytes());
        assert_eq!(decode_rx(status::USER, &f[4..], true), Err(Malformed));
        let mut f = rx_fixture(status::USER, None);
        f[12..14].copy_from_slice(&40u16.to_ne_bytes()); // no room for the vnet header
        assert_eq!(decode_rx(status::USER, &f[4..], true), Err(Malformed));
        let mut f = rx_fixture(status::USER, None);
        f[8..12].copy_from_slice(&67u32.to_ne_bytes()); // snaplen > len
        assert_eq!(decode_rx(status::USER, &f[4..], true), Err(Malformed));
        assert_eq!(decode_rx(status::USER, &f[4..20], true), Err(Malformed));
        // Without a vnet header the same frame is fine.
        let f = rx_fixture(status::USER, None);
        assert!(decode_rx(status::USER, &f[4..], false).unwrap().vnet.is_none());
    }

    #[test]
    fn encodes_tx_frames_where_the_kernel_reads_them() {
        let mut f = vec![0u8; 2048];
        let hdr = [1, 1, 66, 0, 0xa8, 5, 34, 0, 16, 0];
        encode_tx(&mut f[4..], Some(&hdr), &[0xaa; 60]);
        assert_eq!(u32::from_ne_bytes(f[4..8].try_into().unwrap()), 70);
        assert_eq!(&f[32..42], &hdr);
        assert_eq!(&f[42..102], &[0xaa; 60]);
        let mut f = vec![0u8; 2048];
        encode_tx(&mut f[4..], None, &[0xbb; 60]);
        assert_eq!(u32::from_ne_bytes(f[4..8].try_into().unwrap()), 60);
        assert_eq!(&f[32..92], &[0xbb; 60]);
    }

    #[test]
    fn layouts_fit_frames_and_blocks() {
        assert_eq!(rx_overhead(true), 76);
        assert_eq!(rx_overhead(false), 66);
        let l = RingLayout::new(rx_overhead(true), 1500 + 22, 1000);
        assert_eq!((l.frame_size, l.block_size), (2048, 65536));
        assert_eq!(l.frame_nr, 1024);
        assert_eq!(l.req(), TpacketReq { block_size: 65536, block_nr: 32, frame_size: 2048, frame_nr: 1024 });
        let l = RingLayout::new(tx_overhead(true), 9000 + 22, 100);
        assert_eq!(l.frame_size, 16384);
        assert_eq!(l.tx_capacity(true), 16384 - 42);
        assert_eq!(l.frame_nr % 4, 0);
        let l = RingLayout::new(0, 70000, 3);
        assert_eq!((l.frame_size, l.block_size, l.frame_nr), (131072, 131072, 3));
    }
}
