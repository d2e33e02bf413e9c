//! Recognising partial checksums in frames received through XDP.
//!
//! # The problem
//! A Linux sender with checksum offload (veth, TAP and virtio peers by default) hands its
//! device TCP and UDP packets whose checksum field holds only the folded pseudo-header sum
//! (`CHECKSUM_PARTIAL`), leaving the rest to "the hardware". AF_PACKET reports that in a
//! virtio-net header; XDP and AF_XDP have no such channel (no XDP metadata kfunc reports it, up
//! to Linux 6.18 at least), so the frames arrive in the UMEM with those checksums and no word
//! about them. Forwarded as they are, every receiver drops them. Measured on a veth pair: every
//! UDP datagram and TCP segment from a peer with default offloads arrived that way.
//!
//! # The rule
//! A TCP or UDP checksum field that equals the folded pseudo-header sum of its packet is taken
//! as partial ([`CsumState::Partial`]), whatever the rest of the packet holds. Cost: one header
//! walk and a 12-to-36-byte sum per packet; the payload is not read.
//!
//! # Why a wrong guess does no harm
//! A *complete* checksum `C` can equal the pseudo-header sum `P` by chance (about 1 in 65536
//! packets). Taken as partial, the packet gets its checksum "completed" on the way out: the
//! ones-complement sum over the segment with the field holding `P` is computed and stored. As
//! the packet verified with `C = P`, that computation gives back `C` (up to the two encodings of
//! zero, which verify alike; see the `a_complete_checksum_equal_to_p_survives_completion`
//! test). The only packets changed are corrupt ones whose field happens to equal `P`: they
//! leave with a checksum that verifies, once in 65536 corrupt packets.
//!
//! A frame longer than its IP packet (Ethernet padding) with a partial checksum is completed
//! here, over the IP length, since [`CsumState::Partial`] covers up to the end of the frame.

use rvs_packet::checksum::{finish, fold, pseudo_v4, pseudo_v6, sum};
use rvs_packet::offload::find_layers;
use rvs_packet::wire::{ip_proto, Ipv4Packet, Ipv6Packet};
use rvs_packet::CsumState;

/// What [`classify`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Found {
    /// Nothing pending (or not TCP/UDP, or a fragment).
    Final,
    /// A partial checksum, to be completed by whoever transmits the packet.
    Partial(CsumState),
    /// A partial checksum in a padded frame, which [`classify`] completed in place.
    Completed,
}

/// Looks at the TCP/UDP checksum of `frame` and completes it if it is partial in a padded frame.
pub(super) fn classify(frame: &mut [u8]) -> Found {
    let Some(l) = find_layers(frame) else { return Found::Final };
    let offset = match l.proto {
        ip_proto::TCP => 16,
        ip_proto::UDP => 6,
        _ => return Found::Final,
    };
    let (pseudo, end) = if l.ipv4 {
        let ip = Ipv4Packet::new_unchecked(&frame[l.l3..]);
        // find_layers checked the header and the total length against the frame.
        if ip.is_fragment() {
            return Found::Final;
        }
        let total = ip.total_len() as usize;
        let l4_len = (l.l3 + total).saturating_sub(l.l4);
        (pseudo_v4(ip.src(), ip.dst(), l.proto, l4_len as u16), l.l3 + total)
    } else {
        let ip = Ipv6Packet::new_unchecked(&frame[l.l3..]);
        let end = l.l3 + 40 + ip.payload_len() as usize;
        if ip.payload_len() == 0 || end > frame.len() {
            return Found::Final;
        }
        (pseudo_v6(ip.src(), ip.dst(), l.proto, (end - l.l4) as u32), end)
    };
    let field = l.l4 + offset;
    if field + 2 > end {
        return Found::Final;
    }
    if u16::from_be_bytes([frame[field], frame[field + 1]]) != fold(pseudo) {
        return Found::Final;
    }
    if end == frame.len() {
        return Found::Partial(CsumState::Partial { start: l.l4 as u16, offset: offset as u16 });
    }
    let mut c = finish(sum(&frame[l.l4..end], 0));
    if c == 0 && l.proto == ip_proto::UDP {
        c = 0xffff;
    }
    frame[field..field + 2].copy_from_slice(&c.to_be_bytes());
    Found::Completed
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_packet::offload::complete_csum;
    use rvs_packet::PacketBuf;

    /// Ethernet + IPv4 + UDP (`proto` 17) or TCP (6) with `payload` bytes; checksum field zero.
    fn v4_frame(proto: u8, payload: &[u8]) -> Vec<u8> {
        let l4h = if proto == 6 { 20 } else { 8 };
        let total = 20 + l4h + payload.len();
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        f.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8, 0, 1, 0x40, 0, 64, proto, 0, 0]);
        f.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        if proto == 6 {
            f.extend_from_slice(&[0x9c, 0x40, 0x14, 0x51, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
        } else {
            let ul = (8 + payload.len()) as u16;
            f.extend_from_slice(&[0x9c, 0x40, 0x1b, 0x58]);
            f.extend_from_slice(&ul.to_be_bytes());
            f.extend_from_slice(&[0, 0]);
        }
        f.extend_from_slice(payload);
        f
    }

    /// The IPv4 pseudo-header sum of an IPv4 frame (no options).
    fn pseudo_sum(f: &[u8]) -> u32 {
        let l4_len = u16::from_be_bytes([f[16], f[17]]) - 20;
        let addr = |at: usize| u32::from_be_bytes(f[at..at + 4].try_into().unwrap());
        pseudo_v4(addr(26), addr(30), f[23], l4_len)
    }

    fn pseudo_of(f: &[u8]) -> u16 {
        fold(pseudo_sum(f))
    }

    fn set_field(f: &mut [u8], at: usize, v: u16) {
        f[at..at + 2].copy_from_slice(&v.to_be_bytes());
    }

    /// True if the L4 checksum of an IPv4 frame verifies.
    fn verifies(f: &[u8]) -> bool {
        let l4_len = (u16::from_be_bytes([f[16], f[17]]) - 20) as usize;
        fold(sum(&f[34..34 + l4_len], pseudo_sum(f))) == 0xffff
    }

    /// What a Linux sender with checksum offload puts on a veth: the pseudo-header sum.
    fn partial(proto: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = v4_frame(proto, payload);
        let at = 34 + if proto == 6 { 16 } else { 6 };
        let p = pseudo_of(&f);
        set_field(&mut f, at, p);
        f
    }

    fn complete(proto: u8, payload: &[u8]) -> Vec<u8> {
        let mut p = PacketBuf::from_slice(&partial(proto, payload));
        p.meta.csum = CsumState::Partial { start: 34, offset: if proto == 6 { 16 } else { 6 } };
        complete_csum(&mut p).unwrap();
        p.data().to_vec()
    }

    #[test]
    fn finds_partial_tcp_and_udp_checksums() {
        let mut f = partial(17, b"hello, world");
        assert_eq!(classify(&mut f), Found::Partial(CsumState::Partial { start: 34, offset: 6 }));
        let mut f = partial(6, &[7; 100]);
        assert_eq!(classify(&mut f), Found::Partial(CsumState::Partial { start: 34, offset: 16 }));
    }

    #[test]
    fn leaves_complete_checksums_and_other_packets_alone() {
        for proto in [6, 17] {
            let mut f = complete(proto, b"some payload bytes");
            assert!(verifies(&f));
            assert_eq!(classify(&mut f), Found::Final);
        }
        let mut icmp = v4_frame(1, &[0; 30]);
        assert_eq!(classify(&mut icmp), Found::Final);
        let mut arp = vec![0xff; 14 + 28];
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(classify(&mut arp), Found::Final);
        let mut frag = partial(17, &[1; 40]);
        frag[20] = 0x20; // MF
        assert_eq!(classify(&mut frag), Found::Final);
        let mut short = partial(6, &[]);
        short.truncate(40);
        assert_eq!(classify(&mut short), Found::Final);
    }

    #[test]
    fn completes_partial_checksums_of_padded_frames() {
        let mut f = partial(17, b"x");
        let unpadded = f.len();
        f.resize(60, 0);
        assert_eq!(classify(&mut f), Found::Completed);
        assert!(verifies(&f[..unpadded]));
    }

    #[test]
    fn finds_them_behind_vlan_tags_and_in_ipv6() {
        let mut f = partial(6, &[3; 20]);
        f.splice(12..12, [0x81, 0x00, 0x00, 0x64]);
        assert_eq!(classify(&mut f), Found::Partial(CsumState::Partial { start: 38, offset: 16 }));

        let payload = [9u8; 24];
        let mut v6 = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd, 0x60, 0, 0, 0, 0, 32, 17, 64];
        let (src, dst) = (0xfd00_0000_0000_0000_0000_0000_0000_0001u128, 0xfd00_0000_0000_0000_0000_0000_0000_0002u128);
        v6.extend_from_slice(&src.to_be_bytes());
        v6.extend_from_slice(&dst.to_be_bytes());
        v6.extend_from_slice(&[0x9c, 0x40, 0x1b, 0x58, 0, 32]);
        v6.extend_from_slice(&fold(pseudo_v6(src, dst, 17, 32)).to_be_bytes());
        v6.extend_from_slice(&payload);
        assert_eq!(classify(&mut v6), Found::Partial(CsumState::Partial { start: 54, offset: 6 }));
    }

    #[test]
    fn a_complete_checksum_equal_to_p_survives_completion() {
        // Make a TCP segment whose complete checksum equals its pseudo-header sum by choosing
        // two payload bytes, then treat it as partial and complete it: it must still verify,
        // with the same checksum value.
        for seed in 0u16..64 {
            let mut f = v4_frame(6, &[seed as u8; 40]);
            let p = pseudo_of(&f);
            set_field(&mut f, 50, p);
            // Sum with the field = P and the last payload word = 0; pick that word so the
            // whole verifies: pseudo + rest + word == 0xffff (ones complement).
            let n = f.len();
            set_field(&mut f, n - 2, 0);
            let l4_len = (n - 34) as u16;
            let ps = pseudo_v4(0x0a00_0001, 0x0a00_0002, 6, l4_len);
            let s = fold(sum(&f[34..], ps));
            set_field(&mut f, n - 2, !s);
            assert!(verifies(&f), "seed {seed}: constructed segment does not verify");
            assert_eq!(classify(&mut f), Found::Partial(CsumState::Partial { start: 34, offset: 16 }));
            let mut pkt = PacketBuf::from_slice(&f);
            pkt.meta.csum = CsumState::Partial { start: 34, offset: 16 };
            complete_csum(&mut pkt).unwrap();
            assert!(verifies(pkt.data()), "seed {seed}: completion broke a good checksum");
            let after = u16::from_be_bytes([pkt.data()[50], pkt.data()[51]]);
            assert!(after == p || (after, p) == (0xffff, 0) || (after, p) == (0, 0xffff), "seed {seed}: {after:#x} != {p:#x}");
        }
    }
}
