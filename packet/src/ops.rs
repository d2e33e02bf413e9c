//! Header rewrites executed by datapath actions.
//!
//! Each rewrite works on a packet whose `meta.l3_ofs` / `meta.l4_ofs` were set by flow key
//! extraction, keeps every checksum that covers the rewritten bytes right (IPv4 header
//! checksum; TCP, UDP, ICMP and ICMPv6 checksums, in their final or partial form), and keeps
//! the offsets in the metadata right when headers move (VLAN push/pop).
//!
//! A rewrite whose header is absent returns [`OpError::NoSuchHeader`] and leaves the packet
//! unchanged; translation only emits a rewrite after matching the header's prerequisites, so
//! this signals a bug or a malformed packet, and the caller drops and counts it.

use crate::buf::PacketBuf;
use crate::checksum;
use crate::meta::{CsumState, PacketMeta};
use crate::wire::{ethernet, ip_proto, ipv4, ipv6, vlan, EtherType, MacAddr};

/// Why a rewrite could not be applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpError {
    /// The header to rewrite is not in the packet.
    NoSuchHeader,
    /// Not enough headroom to push a header.
    NoHeadroom,
}

const ETH_ADDRS_LEN: usize = 12;

fn shift_offsets(meta: &mut PacketMeta, delta: isize) {
    let shift = |o: &mut u16| {
        if *o != PacketMeta::NO_OFFSET {
            *o = (*o as isize + delta) as u16;
        }
    };
    shift(&mut meta.l3_ofs);
    shift(&mut meta.l4_ofs);
    if let CsumState::Partial { start, .. } = &mut meta.csum {
        *start = (*start as isize + delta) as u16;
    }
}

/// Inserts an outer VLAN tag (`tpid`, `tci`) after the MAC addresses.
pub fn push_vlan(pkt: &mut PacketBuf, tpid: u16, tci: u16) -> Result<(), OpError> {
    if pkt.len() < ethernet::HEADER_LEN {
        return Err(OpError::NoSuchHeader);
    }
    let gap = pkt.open_gap(ETH_ADDRS_LEN, vlan::TAG_LEN).ok_or(OpError::NoHeadroom)?;
    gap[..2].copy_from_slice(&tpid.to_be_bytes());
    gap[2..4].copy_from_slice(&tci.to_be_bytes());
    shift_offsets(&mut pkt.meta, vlan::TAG_LEN as isize);
    Ok(())
}

/// Removes the outer VLAN tag.
pub fn pop_vlan(pkt: &mut PacketBuf) -> Result<(), OpError> {
    let d = pkt.data();
    if d.len() < ethernet::HEADER_LEN + vlan::TAG_LEN {
        return Err(OpError::NoSuchHeader);
    }
    let tpid = u16::from_be_bytes([d[12], d[13]]);
    if tpid != EtherType::VLAN && tpid != EtherType::QINQ {
        return Err(OpError::NoSuchHeader);
    }
    pkt.close_gap(ETH_ADDRS_LEN, vlan::TAG_LEN);
    shift_offsets(&mut pkt.meta, -(vlan::TAG_LEN as isize));
    Ok(())
}

/// Rewrites the TCI of the outer VLAN tag.
pub fn set_vlan_tci(pkt: &mut PacketBuf, tci: u16) -> Result<(), OpError> {
    let d = pkt.data_mut();
    if d.len() < ethernet::HEADER_LEN + vlan::TAG_LEN {
        return Err(OpError::NoSuchHeader);
    }
    let tpid = u16::from_be_bytes([d[12], d[13]]);
    if tpid != EtherType::VLAN && tpid != EtherType::QINQ {
        return Err(OpError::NoSuchHeader);
    }
    d[14..16].copy_from_slice(&tci.to_be_bytes());
    Ok(())
}

/// Sets the Ethernet source address.
pub fn set_eth_src(pkt: &mut PacketBuf, mac: MacAddr) -> Result<(), OpError> {
    let d = pkt.data_mut();
    if d.len() < ethernet::HEADER_LEN {
        return Err(OpError::NoSuchHeader);
    }
    d[6..12].copy_from_slice(&mac.0);
    Ok(())
}

/// Sets the Ethernet destination address.
pub fn set_eth_dst(pkt: &mut PacketBuf, mac: MacAddr) -> Result<(), OpError> {
    let d = pkt.data_mut();
    if d.len() < ethernet::HEADER_LEN {
        return Err(OpError::NoSuchHeader);
    }
    d[0..6].copy_from_slice(&mac.0);
    Ok(())
}

fn l3(pkt: &PacketBuf, min: usize) -> Result<usize, OpError> {
    let o = pkt.meta.l3_ofs;
    if o == PacketMeta::NO_OFFSET || o as usize + min > pkt.len() {
        return Err(OpError::NoSuchHeader);
    }
    Ok(o as usize)
}

/// Where the L4 checksum field of a packet is, and whether 0 means "no checksum" (UDP/IPv4).
fn l4_csum_field(pkt: &PacketBuf, proto: u8, ipv4: bool) -> Option<(usize, bool)> {
    let l4 = pkt.meta.l4_ofs;
    if l4 == PacketMeta::NO_OFFSET {
        return None;
    }
    let (at, zero_is_none) = match proto {
        ip_proto::TCP => (16, false),
        ip_proto::UDP => (6, ipv4),
        ip_proto::ICMPV6 if !ipv4 => (2, false),
        _ => return None,
    };
    let field = l4 as usize + at;
    (field + 2 <= pkt.len()).then_some((field, zero_is_none))
}

/// Applies a pseudo-header change to the L4 checksum, in its final or partial form.
fn update_l4_pseudo(pkt: &mut PacketBuf, proto: u8, ipv4: bool, apply: impl Fn(u16, bool) -> u16) {
    let Some((field, zero_is_none)) = l4_csum_field(pkt, proto, ipv4) else { return };
    let partial = matches!(pkt.meta.csum, CsumState::Partial { .. });
    let d = pkt.data_mut();
    let old = u16::from_be_bytes([d[field], d[field + 1]]);
    if zero_is_none && old == 0 && !partial {
        return;
    }
    let mut new = apply(old, partial);
    if zero_is_none && new == 0 && !partial {
        new = 0xffff;
    }
    d[field..field + 2].copy_from_slice(&new.to_be_bytes());
}

/// Which IPv4 address to rewrite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ipv4Addr {
    /// The source address.
    Src,
    /// The destination address.
    Dst,
}

/// Rewrites an IPv4 address, updating the header checksum and the L4 checksum.
pub fn set_ipv4_addr(pkt: &mut PacketBuf, which: Ipv4Addr, addr: u32) -> Result<(), OpError> {
    let o = l3(pkt, ipv4::MIN_HEADER_LEN)?;
    let at = o + ipv4::SRC_OFFSET + if which == Ipv4Addr::Dst { 4 } else { 0 };
    let d = pkt.data_mut();
    let old = u32::from_be_bytes(d[at..at + 4].try_into().unwrap());
    if old == addr {
        return Ok(());
    }
    d[at..at + 4].copy_from_slice(&addr.to_be_bytes());
    let c = o + ipv4::CHECKSUM_OFFSET;
    let hc = checksum::update32(u16::from_be_bytes([d[c], d[c + 1]]), old, addr);
    d[c..c + 2].copy_from_slice(&hc.to_be_bytes());
    let proto = d[o + 9];
    update_l4_pseudo(pkt, proto, true, |csum, partial| {
        if partial {
            checksum::update_partial32(csum, old, addr)
        } else {
            checksum::update32(csum, old, addr)
        }
    });
    Ok(())
}

/// Rewrites the IPv4 TOS byte (DSCP and ECN), updating the header checksum.
pub fn set_ipv4_tos(pkt: &mut PacketBuf, tos: u8) -> Result<(), OpError> {
    let o = l3(pkt, ipv4::MIN_HEADER_LEN)?;
    let d = pkt.data_mut();
    let old = u16::from_be_bytes([d[o], d[o + 1]]);
    d[o + 1] = tos;
    let new = u16::from_be_bytes([d[o], d[o + 1]]);
    let c = o + ipv4::CHECKSUM_OFFSET;
    let hc = checksum::update16(u16::from_be_bytes([d[c], d[c + 1]]), old, new);
    d[c..c + 2].copy_from_slice(&hc.to_be_bytes());
    Ok(())
}

/// Rewrites the IPv4 TTL, updating the header checksum.
pub fn set_ipv4_ttl(pkt: &mut PacketBuf, ttl: u8) -> Result<(), OpError> {
    let o = l3(pkt, ipv4::MIN_HEADER_LEN)?;
    let d = pkt.data_mut();
    let t = o + ipv4::TTL_OFFSET;
    let old = u16::from_be_bytes([d[t], d[t + 1]]);
    d[t] = ttl;
    let new = u16::from_be_bytes([d[t], d[t + 1]]);
    let c = o + ipv4::CHECKSUM_OFFSET;
    let hc = checksum::update16(u16::from_be_bytes([d[c], d[c + 1]]), old, new);
    d[c..c + 2].copy_from_slice(&hc.to_be_bytes());
    Ok(())
}

/// Which IPv6 address to rewrite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ipv6Addr {
    /// The source address.
    Src,
    /// The destination address.
    Dst,
}

/// Rewrites an IPv6 address, updating the L4 checksum. `l4_proto` is the upper-layer protocol
/// (after extension headers), as flow extraction found it.
pub fn set_ipv6_addr(pkt: &mut PacketBuf, which: Ipv6Addr, addr: u128, l4_proto: u8) -> Result<(), OpError> {
    let o = l3(pkt, ipv6::HEADER_LEN)?;
    let at = o + if which == Ipv6Addr::Src { ipv6::SRC_OFFSET } else { ipv6::DST_OFFSET };
    let d = pkt.data_mut();
    let old = u128::from_be_bytes(d[at..at + 16].try_into().unwrap());
    if old == addr {
        return Ok(());
    }
    d[at..at + 16].copy_from_slice(&addr.to_be_bytes());
    update_l4_pseudo(pkt, l4_proto, false, |csum, partial| {
        if partial {
            checksum::update_partial128(csum, old, addr)
        } else {
            checksum::update128(csum, old, addr)
        }
    });
    Ok(())
}

/// Rewrites the IPv6 traffic class.
pub fn set_ipv6_tclass(pkt: &mut PacketBuf, tc: u8) -> Result<(), OpError> {
    let o = l3(pkt, ipv6::HEADER_LEN)?;
    crate::wire::Ipv6Packet::new_unchecked(&mut pkt.data_mut()[o..]).set_traffic_class(tc);
    Ok(())
}

/// Rewrites the IPv6 flow label.
pub fn set_ipv6_label(pkt: &mut PacketBuf, label: u32) -> Result<(), OpError> {
    let o = l3(pkt, ipv6::HEADER_LEN)?;
    crate::wire::Ipv6Packet::new_unchecked(&mut pkt.data_mut()[o..]).set_flow_label(label);
    Ok(())
}

/// Rewrites the IPv6 hop limit.
pub fn set_ipv6_hlimit(pkt: &mut PacketBuf, hl: u8) -> Result<(), OpError> {
    let o = l3(pkt, ipv6::HEADER_LEN)?;
    pkt.data_mut()[o + ipv6::HOP_LIMIT_OFFSET] = hl;
    Ok(())
}

/// Which transport port to rewrite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L4Port {
    /// The source port.
    Src,
    /// The destination port.
    Dst,
}

/// Rewrites a TCP, UDP or SCTP port. `proto` and `ipv4` describe the packet as extracted.
/// (SCTP's CRC32c is not updated; SCTP port rewrites are refused by translation.)
pub fn set_l4_port(pkt: &mut PacketBuf, which: L4Port, port: u16, proto: u8, ipv4: bool) -> Result<(), OpError> {
    let l4 = pkt.meta.l4_ofs;
    if l4 == PacketMeta::NO_OFFSET || l4 as usize + 8 > pkt.len() {
        return Err(OpError::NoSuchHeader);
    }
    let at = l4 as usize + if which == L4Port::Dst { 2 } else { 0 };
    let d = pkt.data_mut();
    let old = u16::from_be_bytes([d[at], d[at + 1]]);
    if old == port {
        return Ok(());
    }
    d[at..at + 2].copy_from_slice(&port.to_be_bytes());
    // A partial checksum has not summed the L4 bytes yet: nothing to update there.
    if matches!(pkt.meta.csum, CsumState::Partial { .. }) {
        return Ok(());
    }
    if let Some((field, zero_is_none)) = l4_csum_field(pkt, proto, ipv4) {
        let d = pkt.data_mut();
        let c = u16::from_be_bytes([d[field], d[field + 1]]);
        if !(zero_is_none && c == 0) {
            let mut n = checksum::update16(c, old, port);
            if zero_is_none && n == 0 {
                n = 0xffff;
            }
            d[field..field + 2].copy_from_slice(&n.to_be_bytes());
        }
    }
    Ok(())
}

/// Rewrites the ICMP (v4 or v6) type and code, updating its checksum.
pub fn set_icmp_type_code(pkt: &mut PacketBuf, msg_type: u8, code: u8) -> Result<(), OpError> {
    let l4 = pkt.meta.l4_ofs;
    if l4 == PacketMeta::NO_OFFSET || l4 as usize + 4 > pkt.len() {
        return Err(OpError::NoSuchHeader);
    }
    let l4 = l4 as usize;
    let partial = matches!(pkt.meta.csum, CsumState::Partial { .. });
    let d = pkt.data_mut();
    let old = u16::from_be_bytes([d[l4], d[l4 + 1]]);
    let new = u16::from_be_bytes([msg_type, code]);
    d[l4] = msg_type;
    d[l4 + 1] = code;
    if !partial {
        let c = u16::from_be_bytes([d[l4 + 2], d[l4 + 3]]);
        d[l4 + 2..l4 + 4].copy_from_slice(&checksum::update16(c, old, new).to_be_bytes());
    }
    Ok(())
}

/// Which ARP field to rewrite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArpField {
    /// Operation (16 bits).
    Op(u16),
    /// Sender protocol address.
    Spa(u32),
    /// Target protocol address.
    Tpa(u32),
    /// Sender hardware address.
    Sha(MacAddr),
    /// Target hardware address.
    Tha(MacAddr),
}

/// Rewrites a field of an Ethernet/IPv4 ARP packet.
pub fn set_arp(pkt: &mut PacketBuf, f: ArpField) -> Result<(), OpError> {
    let o = l3(pkt, crate::wire::arp::HEADER_LEN)?;
    let mut a = crate::wire::ArpPacket::new_unchecked(&mut pkt.data_mut()[o..]);
    match f {
        ArpField::Op(v) => a.set_oper(v),
        ArpField::Spa(v) => a.set_spa(v),
        ArpField::Tpa(v) => a.set_tpa(v),
        ArpField::Sha(v) => a.set_sha(v),
        ArpField::Tha(v) => a.set_tha(v),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offload::complete_csum;
    use crate::wire::{Ipv4Packet, UdpHeader};

    /// Eth + IPv4 + UDP(8) + 4 bytes payload with valid checksums; offsets set as extraction would.
    fn udp_frame(partial: bool) -> PacketBuf {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        f.extend_from_slice(&[0x45, 0, 0, 32, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        f.extend_from_slice(&[0x04, 0x00, 0x13, 0x88, 0, 12, 0, 0, 0xde, 0xad, 0xbe, 0xef]);
        let mut p = PacketBuf::from_slice(&f);
        Ipv4Packet::new_unchecked(&mut p.data_mut()[14..]).fill_checksum();
        let pseudo = checksum::pseudo_v4(0x0a00_0001, 0x0a00_0002, 17, 12);
        let c = if partial { checksum::fold(pseudo) } else { checksum::finish(checksum::sum(&p.data()[34..], pseudo)) };
        UdpHeader::new_unchecked(&mut p.data_mut()[34..]).set_checksum(c);
        p.meta.l3_ofs = 14;
        p.meta.l4_ofs = 34;
        if partial {
            p.meta.csum = CsumState::Partial { start: 34, offset: 6 };
        }
        p
    }

    fn checksums_ok(p: &PacketBuf) -> bool {
        let l3 = p.meta.l3_ofs as usize;
        let ip = Ipv4Packet::new_checked(&p.data()[l3..]).unwrap();
        let l4 = &p.data()[l3 + 20..];
        let pseudo = checksum::pseudo_v4(ip.src(), ip.dst(), 17, l4.len() as u16);
        ip.verify_checksum() && checksum::fold(checksum::sum(l4, pseudo)) == 0xffff
    }

    #[test]
    fn address_and_port_rewrites_keep_checksums_right() {
        for partial in [false, true] {
            let mut p = udp_frame(partial);
            set_ipv4_addr(&mut p, Ipv4Addr::Src, 0xc0a8_0001).unwrap();
            set_ipv4_addr(&mut p, Ipv4Addr::Dst, 0xc0a8_0002).unwrap();
            set_l4_port(&mut p, L4Port::Dst, 53, 17, true).unwrap();
            set_ipv4_ttl(&mut p, 3).unwrap();
            set_ipv4_tos(&mut p, 0xb8).unwrap();
            complete_csum(&mut p).unwrap();
            assert!(checksums_ok(&p), "partial={partial}");
            let ip = Ipv4Packet::new_checked(&p.data()[14..]).unwrap();
            assert_eq!((ip.src(), ip.dst(), ip.ttl(), ip.tos()), (0xc0a8_0001, 0xc0a8_0002, 3, 0xb8));
            assert_eq!(UdpHeader::new_checked(&p.data()[34..]).unwrap().dst_port(), 53);
        }
    }

    #[test]
    fn udp_without_checksum_stays_without() {
        let mut p = udp_frame(false);
        UdpHeader::new_unchecked(&mut p.data_mut()[34..]).set_checksum(0);
        set_ipv4_addr(&mut p, Ipv4Addr::Src, 0xc0a8_0001).unwrap();
        set_l4_port(&mut p, L4Port::Src, 7, 17, true).unwrap();
        assert_eq!(UdpHeader::new_checked(&p.data()[34..]).unwrap().checksum(), 0);
    }

    #[test]
    fn vlan_push_and_pop_move_offsets() {
        let mut p = udp_frame(true);
        let orig = p.data().to_vec();
        push_vlan(&mut p, EtherType::VLAN, 10).unwrap();
        assert_eq!(&p.data()[12..18], &[0x81, 0x00, 0x00, 0x0a, 0x08, 0x00]);
        assert_eq!((p.meta.l3_ofs, p.meta.l4_ofs), (18, 38));
        assert_eq!(p.meta.csum, CsumState::Partial { start: 38, offset: 6 });
        set_vlan_tci(&mut p, 20).unwrap();
        assert_eq!(&p.data()[14..16], &[0x00, 0x14]);
        set_ipv4_addr(&mut p, Ipv4Addr::Dst, 0x0a00_0009).unwrap();
        pop_vlan(&mut p).unwrap();
        assert_eq!((p.meta.l3_ofs, p.meta.l4_ofs), (14, 34));
        assert_eq!(&p.data()[..24], &orig[..24]);
        assert!(pop_vlan(&mut p).is_err());
        complete_csum(&mut p).unwrap();
        assert!(checksums_ok(&p));
    }

    #[test]
    fn rewrites_without_their_header_are_refused() {
        let mut p = PacketBuf::from_slice(&[0; 14]);
        assert_eq!(set_ipv4_ttl(&mut p, 1), Err(OpError::NoSuchHeader));
        assert_eq!(set_l4_port(&mut p, L4Port::Src, 1, 6, true), Err(OpError::NoSuchHeader));
        assert_eq!(pop_vlan(&mut p), Err(OpError::NoSuchHeader));
        assert!(set_eth_dst(&mut p, MacAddr::BROADCAST).is_ok());
    }
}
