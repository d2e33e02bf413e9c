//! Completing checksum and segmentation offload in software.
//!
//! Linux hands frames to rvs with work left undone when the sender relied on offload (veth,
//! TAP and virtio do this by default): the L4 checksum may be partial, and a TCP or UDP frame
//! may be a super-frame of up to 64 KiB to be segmented at `gso.size`. A port that can take
//! such frames (AF_PACKET and TAP with a virtio-net header) passes them on untouched; for any
//! other port the transmit path calls [`complete_csum`] and [`segment`] first.
//!
//! # Invariants
//! * After [`complete_csum`], `meta.csum` is [`CsumState::Final`] and the L4 checksum verifies.
//! * [`segment`] produces frames no larger than headers + `gso.size`, each with final
//!   checksums and no GSO state; their payloads concatenated equal the super-frame's payload.

use crate::buf::PacketBuf;
use crate::checksum;
use crate::meta::{CsumState, Gso, GsoKind};
use crate::wire::{ethernet, ip_proto, tcp, udp, vlan, EtherType};

/// Why offload work could not be completed; the packet should be dropped and counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffloadError {
    /// The checksum start/offset points outside the frame.
    BadCsumOffsets,
    /// The headers of a GSO frame could not be parsed, or do not match its GSO kind.
    BadGsoHeaders,
    /// A GSO frame with a segment size of zero.
    BadGsoSize,
}

/// Folds a pending partial checksum into the frame. No-op for [`CsumState::Final`].
pub fn complete_csum(pkt: &mut PacketBuf) -> Result<(), OffloadError> {
    let CsumState::Partial { start, offset } = pkt.meta.csum else {
        return Ok(());
    };
    let (start, field) = (start as usize, start as usize + offset as usize);
    let data = pkt.data_mut();
    if start >= data.len() || field + 2 > data.len() {
        return Err(OffloadError::BadCsumOffsets);
    }
    let mut c = checksum::finish(checksum::sum(&data[start..], 0));
    // A computed UDP checksum of zero is sent as 0xffff (zero means "none"); harmless for TCP,
    // where both encode the same ones-complement value.
    if c == 0 {
        c = 0xffff;
    }
    data[field..field + 2].copy_from_slice(&c.to_be_bytes());
    pkt.meta.csum = CsumState::Final;
    Ok(())
}

/// Offsets of the layers of a frame, found by walking Ethernet, VLAN tags and IP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layers {
    /// Offset of the IP header.
    pub l3: usize,
    /// True for IPv4, false for IPv6.
    pub ipv4: bool,
    /// Offset of the L4 header.
    pub l4: usize,
    /// L4 protocol.
    pub proto: u8,
}

/// Finds the IP and L4 headers of a frame (through VLAN tags and IPv6 extension headers).
pub fn find_layers(frame: &[u8]) -> Option<Layers> {
    let mut off = ethernet::HEADER_LEN - 2;
    let mut ethertype;
    loop {
        ethertype = u16::from_be_bytes(frame.get(off..off + 2)?.try_into().ok()?);
        off += 2;
        if ethertype == EtherType::VLAN || ethertype == EtherType::QINQ {
            off += vlan::TAG_LEN - 2;
            continue;
        }
        break;
    }
    match ethertype {
        EtherType::IPV4 => {
            let ip = crate::wire::Ipv4Packet::new_checked(frame.get(off..)?).ok()?;
            Some(Layers { l3: off, ipv4: true, l4: off + ip.header_len(), proto: ip.protocol() })
        }
        EtherType::IPV6 => {
            let ip = crate::wire::Ipv6Packet::new_checked(frame.get(off..)?).ok()?;
            let ext = ip.walk_extensions().ok()?;
            Some(Layers { l3: off, ipv4: false, l4: off + ext.offset, proto: ext.protocol })
        }
        _ => None,
    }
}

/// Cuts a GSO super-frame into MTU-sized frames with final checksums, handing each to `emit`
/// in order. A frame without GSO state only gets its checksum completed.
pub fn segment(mut pkt: PacketBuf, mut emit: impl FnMut(PacketBuf)) -> Result<(), OffloadError> {
    let gso = pkt.meta.gso;
    if gso.kind == GsoKind::None {
        complete_csum(&mut pkt)?;
        emit(pkt);
        return Ok(());
    }
    if gso.size == 0 {
        return Err(OffloadError::BadGsoSize);
    }
    let frame = pkt.data();
    let layers = find_layers(frame).ok_or(OffloadError::BadGsoHeaders)?;
    let is_tcp = matches!(gso.kind, GsoKind::TcpV4 | GsoKind::TcpV6);
    let l4_hlen = if is_tcp {
        if layers.proto != ip_proto::TCP {
            return Err(OffloadError::BadGsoHeaders);
        }
        tcp::TcpHeader::new_checked(&frame[layers.l4..])
            .map_err(|_| OffloadError::BadGsoHeaders)?
            .header_len()
    } else {
        if layers.proto != ip_proto::UDP || frame.len() < layers.l4 + udp::HEADER_LEN {
            return Err(OffloadError::BadGsoHeaders);
        }
        udp::HEADER_LEN
    };
    let hdr_len = layers.l4 + l4_hlen;
    if hdr_len > frame.len() {
        return Err(OffloadError::BadGsoHeaders);
    }
    let payload = &frame[hdr_len..];
    let seg = gso.size as usize;
    let n = payload.len().div_ceil(seg).max(1);
    let (seq0, flags0) = if is_tcp {
        let t = tcp::TcpHeader::new_unchecked(&frame[layers.l4..]);
        (t.seq(), t.flags())
    } else {
        (0, 0)
    };
    let ident0 = if layers.ipv4 {
        crate::wire::Ipv4Packet::new_unchecked(&frame[layers.l3..]).ident()
    } else {
        0
    };
    for i in 0..n {
        let chunk = &payload[(i * seg).min(payload.len())..((i + 1) * seg).min(payload.len())];
        let mut out = PacketBuf::with_room(hdr_len + chunk.len());
        out.meta = pkt.meta;
        out.meta.gso = Gso::default();
        out.meta.csum = CsumState::Final;
        out.extend_from_slice(&frame[..hdr_len]);
        out.extend_from_slice(chunk);
        let d = out.data_mut();
        let l4_len = (d.len() - layers.l4) as u16;
        let (src4, dst4, src6, dst6);
        if layers.ipv4 {
            let mut ip = crate::wire::Ipv4Packet::new_unchecked(&mut d[layers.l3..]);
            ip.set_total_len((l4_len as usize + ip.header_len()) as u16);
            ip.set_ident(ident0.wrapping_add(i as u16));
            ip.fill_checksum();
            (src4, dst4, src6, dst6) = (ip.src(), ip.dst(), 0, 0);
        } else {
            let plen = (d.len() - layers.l3 - crate::wire::ipv6::HEADER_LEN) as u16;
            crate::wire::Ipv6Packet::new_unchecked(&mut d[layers.l3..]).set_payload_len(plen);
            let ip = crate::wire::Ipv6Packet::new_unchecked(&d[layers.l3..]);
            (src4, dst4, src6, dst6) = (0, 0, ip.src(), ip.dst());
        }
        let pseudo = if layers.ipv4 {
            checksum::pseudo_v4(src4, dst4, layers.proto, l4_len)
        } else {
            checksum::pseudo_v6(src6, dst6, layers.proto, l4_len as u32)
        };
        let l4 = &mut d[layers.l4..];
        if is_tcp {
            let mut t = tcp::TcpHeader::new_unchecked(&mut *l4);
            t.set_seq(seq0.wrapping_add((i * seg) as u32));
            let mut fl = flags0;
            if i + 1 != n {
                fl &= !(tcp::flags::FIN | tcp::flags::PSH);
            }
            if i != 0 {
                fl &= !tcp::flags::CWR;
            }
            t.set_flags(fl);
            t.set_checksum(0);
            let c = checksum::finish(checksum::sum(l4, pseudo));
            tcp::TcpHeader::new_unchecked(&mut *l4).set_checksum(c);
        } else {
            let mut u = udp::UdpHeader::new_unchecked(&mut *l4);
            u.set_length(l4_len);
            u.set_checksum(0);
            let mut c = checksum::finish(checksum::sum(l4, pseudo));
            if c == 0 {
                c = 0xffff;
            }
            udp::UdpHeader::new_unchecked(&mut *l4).set_checksum(c);
        }
        emit(out);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Ipv4Packet, TcpHeader};

    /// Ethernet + IPv4 + TCP (20) + payload, with a partial checksum as Linux leaves it.
    fn tcp_frame(payload: &[u8], partial: bool) -> PacketBuf {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        let total = 20 + 20 + payload.len();
        f.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8, 0, 7, 0x40, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        f.extend_from_slice(&[0x9c, 0x40, 0x14, 0x51, 0, 0, 0x10, 0, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
        f.extend_from_slice(payload);
        let mut p = PacketBuf::from_slice(&f);
        Ipv4Packet::new_unchecked(&mut p.data_mut()[14..]).fill_checksum();
        let pseudo = checksum::pseudo_v4(0x0a00_0001, 0x0a00_0002, 6, (20 + payload.len()) as u16);
        if partial {
            let c = checksum::fold(pseudo);
            p.data_mut()[34 + 16..34 + 18].copy_from_slice(&c.to_be_bytes());
            p.meta.csum = CsumState::Partial { start: 34, offset: 16 };
        } else {
            let c = checksum::finish(checksum::sum(&p.data()[34..], pseudo));
            p.data_mut()[34 + 16..34 + 18].copy_from_slice(&c.to_be_bytes());
        }
        p
    }

    fn tcp_csum_ok(frame: &[u8]) -> bool {
        let ip = Ipv4Packet::new_checked(&frame[14..]).unwrap();
        let l4 = &frame[14 + ip.header_len()..14 + ip.total_len() as usize];
        let pseudo = checksum::pseudo_v4(ip.src(), ip.dst(), 6, l4.len() as u16);
        checksum::fold(checksum::sum(l4, pseudo)) == 0xffff
    }

    #[test]
    fn completing_a_partial_checksum_gives_the_full_one() {
        let payload: Vec<u8> = (0..101u8).collect();
        let mut p = tcp_frame(&payload, true);
        assert!(!tcp_csum_ok(p.data()));
        complete_csum(&mut p).unwrap();
        assert_eq!(p.meta.csum, CsumState::Final);
        assert!(tcp_csum_ok(p.data()));
        assert_eq!(p.data(), tcp_frame(&payload, false).data());
    }

    #[test]
    fn bad_offsets_are_refused() {
        let mut p = tcp_frame(&[1, 2, 3], true);
        p.meta.csum = CsumState::Partial { start: 60, offset: 16 };
        assert_eq!(complete_csum(&mut p), Err(OffloadError::BadCsumOffsets));
    }

    #[test]
    fn tcp_super_frame_is_cut_into_mss_segments() {
        let payload: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        let mut p = tcp_frame(&payload, true);
        p.data_mut()[34 + 13] = 0x19; // ACK|PSH|FIN
        p.meta.gso = Gso { kind: GsoKind::TcpV4, size: 1448 };
        let mut segs = Vec::new();
        segment(p, |s| segs.push(s)).unwrap();
        assert_eq!(segs.len(), 3);
        let mut joined = Vec::new();
        for (i, s) in segs.iter().enumerate() {
            assert!(tcp_csum_ok(s.data()), "segment {i} checksum");
            let ip = Ipv4Packet::new_checked(&s.data()[14..]).unwrap();
            assert!(ip.verify_checksum());
            assert_eq!(ip.ident(), 7 + i as u16);
            let t = TcpHeader::new_checked(&s.data()[34..]).unwrap();
            assert_eq!(t.seq(), 0x1000 + (i as u32) * 1448);
            let fin_psh = t.flags() & (tcp::flags::FIN | tcp::flags::PSH);
            assert_eq!(fin_psh != 0, i == 2);
            joined.extend_from_slice(&s.data()[54..]);
            assert_eq!(s.meta.gso.kind, GsoKind::None);
        }
        assert_eq!(joined, payload);
        assert_eq!(segs[0].len(), 54 + 1448);
        assert_eq!(segs[2].len(), 54 + 3000 - 2 * 1448);
    }

    #[test]
    fn gso_with_wrong_headers_is_refused() {
        let mut p = tcp_frame(&[0; 100], false);
        p.meta.gso = Gso { kind: GsoKind::UdpL4, size: 10 };
        assert_eq!(segment(p, |_| {}).err(), Some(OffloadError::BadGsoHeaders));
        let mut p = tcp_frame(&[0; 100], false);
        p.meta.gso = Gso { kind: GsoKind::TcpV4, size: 0 };
        assert_eq!(segment(p, |_| {}).err(), Some(OffloadError::BadGsoSize));
    }

    #[test]
    fn finds_layers_through_vlan_tags() {
        let p = tcp_frame(&[0; 4], false);
        let mut tagged = p.data()[..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a]);
        tagged.extend_from_slice(&p.data()[12..]);
        let l = find_layers(&tagged).unwrap();
        assert_eq!(l, Layers { l3: 18, ipv4: true, l4: 38, proto: 6 });
        assert!(find_layers(&tagged[..20]).is_none());
    }
}
