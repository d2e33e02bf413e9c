//! Key reuse: knowing, without extracting it, that a frame has the flow key of the frame
//! before it.
//!
//! # Why
//! A burst from a port is usually a run of packets of one flow (a bulk transfer, a VM's
//! stream): their headers are byte for byte the same. Extraction ([`FlowKey::extract_mapped`])
//! and the exact-match cache's hash and comparison cost a few dozen cycles per packet; a
//! comparison of the first 64 bytes costs a handful. The PMD compares each packet with the
//! last one it extracted and, when [`same_extraction`] says so, copies that key and its EMC
//! answer instead.
//!
//! # Why it is exact
//! Extraction is a function of the frame and the input port only (the port is the same: one
//! burst comes from one queue). For an IPv4 key (word map [`extract_map::IPV4`]) whose L4
//! header starts at `l4` (not a later fragment), extraction reads the Ethernet, VLAN and IPv4
//! headers (below `l4`), at most 14 bytes of the L4 header (TCP's flags are bytes 12-13; UDP's
//! length bytes 4-5; SCTP and ICMP less), and the frame's length (checked against the IP and
//! UDP lengths). So when `l4 + 20 <= 64` and the frames have the same length and the same
//! first `min(len, 64)` bytes, extraction reads the same bytes from both and returns the same
//! key, map and offsets. Other keys (IPv6, ARP, IPv4 with long options, later fragments) are
//! never reused: the PMD extracts them.
//!
//! # Invariant
//! `same_extraction(prev, map, off, frame)` implies `extract_mapped(frame, p) ==
//! extract_mapped(prev, p)` when `(off, map)` is what `extract_mapped(prev, p)` returned
//! (checked by a property test against extraction itself).

use crate::key::{extract_map, HeaderOffsets};

/// Leading bytes of a frame compared by [`same_extraction`].
pub const WINDOW: usize = 64;

/// Most L4 header bytes IPv4 extraction reads, rounded up.
const L4_READ: usize = 20;

/// True if `frame` (from the same port) extracts to the key, map and offsets that `prev`
/// extracted to, `(prev_off, prev_map)` being what [`FlowKey::extract_mapped`] returned for
/// `prev`. See the module documentation.
///
/// [`FlowKey::extract_mapped`]: crate::FlowKey::extract_mapped
#[inline(always)]
pub fn same_extraction(prev: &[u8], prev_map: u32, prev_off: HeaderOffsets, frame: &[u8]) -> bool {
    reusable(prev_map, prev_off) && same_head(prev, frame)
}

/// True if a key extracted with this map and these offsets may be reused for a frame whose
/// [`same_head`] as the frame it came from (the first half of [`same_extraction`]).
#[inline(always)]
pub fn reusable(map: u32, off: HeaderOffsets) -> bool {
    map == extract_map::IPV4 && off.l4 != rvs_packet::PacketMeta::NO_OFFSET && usize::from(off.l4) + L4_READ <= WINDOW
}

/// True if `a` and `b` have the same length and the same first `min(len, WINDOW)` bytes,
/// compared 16 bytes at a time (two overlapping 32-byte halves for frames of 32 to 63 bytes).
/// The second half of [`same_extraction`].
#[inline(always)]
pub fn same_head(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n >= 32 {
        // Four 16-byte blocks at 0, 16, t and t + 16 (the whole window, or the frame).
        let t = n.min(WINDOW) - 32;
        return blocks_equal(a, b, t);
    }
    a == b
}

/// A frame's head (its length and the bytes [`same_head`] compares), copied once to be
/// compared with many frames: [`Head::matches`] is [`same_head`] with this side held in
/// registers, as when the frames of a batch are compared with its first one.
#[derive(Clone, Copy, Debug)]
pub struct Head {
    len: usize,
    /// Frames of 32 bytes or more: the 16-byte blocks at 0, 16, `t` and `t + 16`
    /// (`t = min(len, WINDOW) - 32`). Shorter ones: the frame, zero-padded.
    blocks: [[u8; 16]; 4],
}

impl Head {
    /// The head of `frame`.
    #[inline(always)]
    pub fn of(frame: &[u8]) -> Head {
        let len = frame.len();
        let mut blocks = [[0u8; 16]; 4];
        if len >= 32 {
            let t = len.min(WINDOW) - 32;
            for (k, at) in [0, 16, t, t + 16].into_iter().enumerate() {
                blocks[k].copy_from_slice(&frame[at..at + 16]);
            }
        } else {
            for (k, chunk) in frame.chunks(16).enumerate() {
                blocks[k][..chunk.len()].copy_from_slice(chunk);
            }
        }
        Head { len, blocks }
    }

    /// [`same_head`] of this head's frame and `frame`.
    #[inline(always)]
    pub fn matches(&self, frame: &[u8]) -> bool {
        let n = self.len;
        if frame.len() != n {
            return false;
        }
        if n >= 32 {
            return blocks_equal_to(&self.blocks, frame, n.min(WINDOW) - 32);
        }
        frame.iter().zip(self.blocks.iter().flatten()).all(|(a, b)| a == b)
    }
}

/// True if `frame` (of at least `t + 32` bytes) has `blocks` at 0, 16, `t` and `t + 16`.
#[inline(always)]
fn blocks_equal_to(blocks: &[[u8; 16]; 4], frame: &[u8], t: usize) -> bool {
    blocks_match(blocks.each_ref(), frame, t)
}

/// True if `a` and `b` (of at least `t + 32` bytes) agree on the 16-byte blocks at 0, 16, `t`
/// and `t + 16`.
#[inline(always)]
fn blocks_equal(a: &[u8], b: &[u8], t: usize) -> bool {
    assert!(a.len() >= t + 32);
    let block = |at: usize| -> &[u8; 16] { a[at..at + 16].try_into().expect("16 bytes") };
    blocks_match([block(0), block(16), block(t), block(t + 16)], b, t)
}

/// True if `frame` (of at least `t + 32` bytes) holds `blocks` at 0, 16, `t` and `t + 16`.
/// In SSE2 registers: as `u128` values the XORs went through pairs of general registers and
/// back.
#[inline(always)]
fn blocks_match(blocks: [&[u8; 16]; 4], frame: &[u8], t: usize) -> bool {
    assert!(frame.len() >= t + 32);
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_setzero_si128, _mm_xor_si128};
        // SAFETY: SSE2 is part of x86_64; the frame loads read 16 bytes at offsets of at most
        // t + 16 in a slice of at least t + 32 bytes (asserted above), the others 16-byte
        // arrays; unaligned loads.
        unsafe {
            let d = |k: usize, at: usize| -> __m128i {
                _mm_xor_si128(_mm_loadu_si128(blocks[k].as_ptr().cast()), _mm_loadu_si128(frame.as_ptr().add(at).cast()))
            };
            let x = _mm_or_si128(_mm_or_si128(d(0, 0), d(1, 16)), _mm_or_si128(d(2, t), d(3, t + 16)));
            _mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_setzero_si128())) == 0xffff
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        [0, 16, t, t + 16].iter().zip(blocks).all(|(&at, b)| frame[at..at + 16] == b[..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FlowKey;

    /// An Ethernet + IPv4 + UDP/TCP/ICMP frame of `len` bytes, from a few varying numbers.
    fn frame(proto: u8, src: u8, port: u16, len: usize, ihl: u8) -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
        let hlen = usize::from(ihl) * 4;
        let total = (len - 14) as u16;
        let mut ip = vec![0x40 | ihl, 0, 0, 0, 0, 1, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, src, 10, 0, 0, 9];
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        ip.resize(hlen, 1);
        f.extend_from_slice(&ip);
        let mut l4 = vec![0u8; len - f.len()];
        if l4.len() >= 8 {
            l4[0..2].copy_from_slice(&port.to_be_bytes());
            l4[2..4].copy_from_slice(&80u16.to_be_bytes());
            l4[4..6].copy_from_slice(&((len - f.len()) as u16).to_be_bytes());
        }
        if proto == 6 && l4.len() >= 20 {
            l4[12] = 0x50;
            l4[13] = 0x10;
        }
        f.extend_from_slice(&l4);
        f
    }

    fn extract(f: &[u8]) -> Option<(FlowKey, HeaderOffsets, u32)> {
        let mut k = FlowKey::ZERO;
        k.extract_mapped(f, 3).ok().map(|(o, m)| (k, o, m))
    }

    /// Every protocol, length and header length below, against copies with each bit of
    /// one byte flipped in turn (every byte position), one byte longer, and unchanged.
    #[test]
    fn reuse_is_claimed_only_where_extraction_agrees() {
        let (mut claimed, mut checked) = (0, 0);
        for proto in [6u8, 17, 1, 47] {
            for len in [42usize, 54, 60, 64, 65, 100] {
                for ihl in [5u8, 6, 10, 15] {
                    if 14 + usize::from(ihl) * 4 > len {
                        continue;
                    }
                    let a = frame(proto, 1, 1000, len, ihl);
                    let Some((ka, oa, ma)) = extract(&a) else { continue };
                    let mut variants = vec![a.clone(), [a.clone(), vec![0]].concat()];
                    for at in 0..a.len() {
                        let mut b = a.clone();
                        b[at] ^= 1 << (at % 8);
                        variants.push(b);
                    }
                    for b in variants {
                        checked += 1;
                        if same_extraction(&a, ma, oa, &b) {
                            claimed += 1;
                            let (kb, ob, mb) = extract(&b).expect("b extracts when reuse is claimed");
                            assert_eq!((kb, ob, mb), (ka, oa, ma), "proto {proto} len {len} ihl {ihl}\na {a:02x?}\nb {b:02x?}");
                        }
                    }
                }
            }
        }
        assert!(checked > 3_000 && claimed > 200, "the test exercised reuse: {claimed} of {checked}");
    }

    /// A held head agrees with `same_head` on every length from 0 to 100 bytes, against
    /// copies with each byte changed in turn, one byte longer and one shorter.
    #[test]
    fn held_head_matches_as_same_head_does() {
        let (mut checked, mut equal) = (0, 0);
        for len in 0..100usize {
            let a: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let head = Head::of(&a);
            let mut variants = vec![a.clone(), [a.clone(), vec![0]].concat(), a[..len.saturating_sub(1)].to_vec()];
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 0x10;
                variants.push(b);
            }
            for b in variants {
                checked += 1;
                let same = same_head(&a, &b);
                equal += usize::from(same);
                assert_eq!(head.matches(&b), same, "len {len}\na {a:02x?}\nb {b:02x?}");
            }
        }
        assert!(checked > 5_000 && equal > 500, "{equal} equal of {checked}");
    }

    #[test]
    fn equal_frames_reuse_and_unusual_ones_do_not() {
        let udp = frame(17, 1, 1000, 60, 5);
        let (_, o, m) = extract(&udp).unwrap();
        assert!(same_extraction(&udp, m, o, &udp.clone()));
        // A different source address, a different length: extract.
        assert!(!same_extraction(&udp, m, o, &frame(17, 2, 1000, 60, 5)));
        assert!(!same_extraction(&udp, m, o, &frame(17, 1, 1000, 61, 5)));
        // IPv4 options pushing L4 past the window: never reused.
        let opts = frame(17, 1, 1000, 100, 15);
        let (_, o, m) = extract(&opts).unwrap();
        assert!(!same_extraction(&opts, m, o, &opts.clone()));
        // Not IPv4: never reused.
        let mut arp = vec![0xff; 6];
        arp.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x06]);
        arp.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2]);
        arp.resize(60, 0);
        let (_, o, m) = extract(&arp).unwrap();
        assert!(!same_extraction(&arp, m, o, &arp.clone()));
    }
}
