//! IPv6 header (RFC 8200): version/traffic class/flow label(4) payload length(2)
//! next header(1) hop limit(1) source(16) destination(16), and its extension headers.
//!
//! Extension headers are walked with [`Ipv6Packet::walk_extensions`]: hop-by-hop, routing,
//! destination options (length in 8-byte units, plus 8), authentication (4-byte units, plus 2)
//! and fragment (fixed 8 bytes). The walk stops at the first header that is not one of these
//! (the upper-layer protocol, ESP or "no next header").

use super::{be16, be32, ip_proto, put16, put32, Truncated};

mod field {
    use core::ops::Range;
    pub const VER_TC_FL: usize = 0;
    pub const PAYLOAD_LEN: usize = 4;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: Range<usize> = 8..24;
    pub const DST: Range<usize> = 24..40;
    pub const HEADER_LEN: usize = 40;
}

/// Length of the fixed IPv6 header.
pub const HEADER_LEN: usize = field::HEADER_LEN;
/// Offset of the hop limit.
pub const HOP_LIMIT_OFFSET: usize = field::HOP_LIMIT;
/// Offset of the source address.
pub const SRC_OFFSET: usize = field::SRC.start;
/// Offset of the destination address.
pub const DST_OFFSET: usize = field::DST.start;
/// Most extension headers rvs walks before giving up on a packet.
pub const MAX_EXTENSIONS: usize = 16;

/// A view over an IPv6 header and what follows it.
pub struct Ipv6Packet<B> {
    bytes: B,
}

/// Where the upper-layer header starts, after the extension headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Extensions {
    /// Protocol of the upper layer (or the header where the walk stopped).
    pub protocol: u8,
    /// Offset of that header from the start of the IPv6 header.
    pub offset: usize,
    /// A fragment header was seen.
    pub fragment: bool,
    /// The fragment header has a non-zero offset: the upper-layer header is not here.
    pub later_fragment: bool,
}

impl<B: AsRef<[u8]>> Ipv6Packet<B> {
    /// Wraps without checking.
    pub const fn new_unchecked(bytes: B) -> Self {
        Ipv6Packet { bytes }
    }

    /// Wraps after checking the version, the length of the fixed header and that the payload
    /// length does not go beyond the bytes present.
    pub fn new_checked(bytes: B) -> Result<Self, Truncated> {
        let b = bytes.as_ref();
        if b.len() < field::HEADER_LEN || b[0] >> 4 != 6 {
            return Err(Truncated);
        }
        if field::HEADER_LEN + be16(b, field::PAYLOAD_LEN) as usize > b.len() {
            return Err(Truncated);
        }
        Ok(Self::new_unchecked(bytes))
    }

    /// Version (6).
    pub fn version(&self) -> u8 {
        self.bytes.as_ref()[0] >> 4
    }
    /// Traffic class (DSCP << 2 | ECN).
    pub fn traffic_class(&self) -> u8 {
        ((be32(self.bytes.as_ref(), field::VER_TC_FL) >> 20) & 0xff) as u8
    }
    /// Flow label (20 bits).
    pub fn flow_label(&self) -> u32 {
        be32(self.bytes.as_ref(), field::VER_TC_FL) & 0x000f_ffff
    }
    /// Payload length (everything after the fixed header).
    pub fn payload_len(&self) -> u16 {
        be16(self.bytes.as_ref(), field::PAYLOAD_LEN)
    }
    /// Next header.
    pub fn next_header(&self) -> u8 {
        self.bytes.as_ref()[field::NEXT_HEADER]
    }
    /// Hop limit.
    pub fn hop_limit(&self) -> u8 {
        self.bytes.as_ref()[field::HOP_LIMIT]
    }
    /// Source address.
    pub fn src(&self) -> u128 {
        u128::from_be_bytes(self.bytes.as_ref()[field::SRC].try_into().unwrap())
    }
    /// Destination address.
    pub fn dst(&self) -> u128 {
        u128::from_be_bytes(self.bytes.as_ref()[field::DST].try_into().unwrap())
    }

    /// Walks the extension headers within the payload length. `Err` if one is truncated or
    /// there are more than [`MAX_EXTENSIONS`].
    pub fn walk_extensions(&self) -> Result<Ipv6Extensions, Truncated> {
        let b = self.bytes.as_ref();
        let end = (field::HEADER_LEN + self.payload_len() as usize).min(b.len());
        let mut next = self.next_header();
        let mut off = field::HEADER_LEN;
        let mut fragment = false;
        let mut later_fragment = false;
        for _ in 0..MAX_EXTENSIONS {
            match next {
                ip_proto::HOPOPTS | ip_proto::ROUTING | ip_proto::DSTOPTS | ip_proto::AH => {
                    let ext = Ipv6ExtHeader::new_checked(&b[off.min(end)..end], next)?;
                    next = ext.next_header();
                    off += ext.len();
                }
                ip_proto::FRAGMENT => {
                    let frag = Ipv6FragHeader::new_checked(&b[off.min(end)..end])?;
                    fragment = true;
                    later_fragment = frag.offset() != 0;
                    next = frag.next_header();
                    off += Ipv6FragHeader::<&[u8]>::LEN;
                    if later_fragment {
                        break;
                    }
                }
                _ => return Ok(Ipv6Extensions { protocol: next, offset: off, fragment, later_fragment }),
            }
        }
        if later_fragment {
            return Ok(Ipv6Extensions { protocol: next, offset: off, fragment, later_fragment });
        }
        Err(Truncated)
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<B> {
    /// Sets version, traffic class and flow label at once.
    pub fn set_version_tc_flow(&mut self, tc: u8, flow_label: u32) {
        let v = (6u32 << 28) | ((tc as u32) << 20) | (flow_label & 0x000f_ffff);
        put32(self.bytes.as_mut(), field::VER_TC_FL, v);
    }
    /// Sets the traffic class, keeping the flow label.
    pub fn set_traffic_class(&mut self, tc: u8) {
        let fl = self.flow_label();
        self.set_version_tc_flow(tc, fl);
    }
    /// Sets the flow label, keeping the traffic class.
    pub fn set_flow_label(&mut self, fl: u32) {
        let tc = self.traffic_class();
        self.set_version_tc_flow(tc, fl);
    }
    /// Sets the payload length.
    pub fn set_payload_len(&mut self, len: u16) {
        put16(self.bytes.as_mut(), field::PAYLOAD_LEN, len);
    }
    /// Sets the next header.
    pub fn set_next_header(&mut self, nh: u8) {
        self.bytes.as_mut()[field::NEXT_HEADER] = nh;
    }
    /// Sets the hop limit.
    pub fn set_hop_limit(&mut self, hl: u8) {
        self.bytes.as_mut()[field::HOP_LIMIT] = hl;
    }
    /// Sets the source address.
    pub fn set_src(&mut self, a: u128) {
        self.bytes.as_mut()[field::SRC].copy_from_slice(&a.to_be_bytes());
    }
    /// Sets the destination address.
    pub fn set_dst(&mut self, a: u128) {
        self.bytes.as_mut()[field::DST].copy_from_slice(&a.to_be_bytes());
    }
}

/// A generic extension header (hop-by-hop, routing, destination options, AH):
/// next header(1) length(1) data.
pub struct Ipv6ExtHeader<B> {
    bytes: B,
    kind: u8,
}

impl<B: AsRef<[u8]>> Ipv6ExtHeader<B> {
    /// Wraps after checking that the whole header, as its length field says, is present.
    /// `kind` is the protocol number that announced it (AH counts length in 4-byte units).
    pub fn new_checked(bytes: B, kind: u8) -> Result<Self, Truncated> {
        let h = Ipv6ExtHeader { bytes, kind };
        let b = h.bytes.as_ref();
        if b.len() < 8 || h.len() > b.len() {
            return Err(Truncated);
        }
        Ok(h)
    }
    /// The header that follows.
    pub fn next_header(&self) -> u8 {
        self.bytes.as_ref()[0]
    }
    /// Length of this header in bytes.
    pub fn len(&self) -> usize {
        let l = self.bytes.as_ref()[1] as usize;
        if self.kind == ip_proto::AH {
            (l + 2) * 4
        } else {
            (l + 1) * 8
        }
    }
    /// Never true: an extension header is at least 8 bytes.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// The IPv6 fragment header: next header(1) reserved(1) offset/flags(2) identification(4).
pub struct Ipv6FragHeader<B> {
    bytes: B,
}

impl<B: AsRef<[u8]>> Ipv6FragHeader<B> {
    /// Length of the fragment header.
    pub const LEN: usize = 8;

    /// Wraps after checking the length.
    pub fn new_checked(bytes: B) -> Result<Self, Truncated> {
        if bytes.as_ref().len() < Self::LEN {
            return Err(Truncated);
        }
        Ok(Ipv6FragHeader { bytes })
    }
    /// The header that follows.
    pub fn next_header(&self) -> u8 {
        self.bytes.as_ref()[0]
    }
    /// Fragment offset in 8-byte units.
    pub fn offset(&self) -> u16 {
        be16(self.bytes.as_ref(), 2) >> 3
    }
    /// More fragments follow.
    pub fn more(&self) -> bool {
        be16(self.bytes.as_ref(), 2) & 1 != 0
    }
    /// Identification.
    pub fn ident(&self) -> u32 {
        be32(self.bytes.as_ref(), 4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(next: u8, payload: &[u8]) -> Vec<u8> {
        let mut b = vec![
            0x60, 0x12, 0x34, 0x56, // tc 0x01, flow 0x23456
            0, 0, next, 64, // payload len patched below
        ];
        b.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        b.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        b[4..6].copy_from_slice(&(payload.len() as u16).to_be_bytes());
        b.extend_from_slice(payload);
        b
    }

    #[test]
    fn reads_a_known_header() {
        let b = header(ip_proto::UDP, &[0; 8]);
        let ip = Ipv6Packet::new_checked(&b[..]).unwrap();
        assert_eq!(ip.version(), 6);
        assert_eq!(ip.traffic_class(), 0x01);
        assert_eq!(ip.flow_label(), 0x23456);
        assert_eq!(ip.payload_len(), 8);
        assert_eq!(ip.next_header(), ip_proto::UDP);
        assert_eq!(ip.hop_limit(), 64);
        assert_eq!(ip.src(), 0xfe80_0000_0000_0000_0000_0000_0000_0001);
        assert_eq!(ip.dst(), 0xfe80_0000_0000_0000_0000_0000_0000_0002);
        let ext = ip.walk_extensions().unwrap();
        assert_eq!((ext.protocol, ext.offset, ext.fragment), (ip_proto::UDP, 40, false));
    }

    #[test]
    fn writes_the_bytes_it_reads() {
        let want = header(ip_proto::UDP, &[0; 8]);
        let mut b = vec![0u8; want.len()];
        let mut ip = Ipv6Packet::new_unchecked(&mut b[..]);
        ip.set_version_tc_flow(0x01, 0x23456);
        ip.set_payload_len(8);
        ip.set_next_header(ip_proto::UDP);
        ip.set_hop_limit(64);
        ip.set_src(0xfe80_0000_0000_0000_0000_0000_0000_0001);
        ip.set_dst(0xfe80_0000_0000_0000_0000_0000_0000_0002);
        assert_eq!(b, want);
    }

    #[test]
    fn walks_extension_headers() {
        // hop-by-hop (8 bytes) -> destination options (16 bytes) -> fragment (first) -> TCP
        let mut payload = vec![ip_proto::DSTOPTS, 0, 0, 0, 0, 0, 0, 0];
        payload.extend_from_slice(&[ip_proto::FRAGMENT, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        payload.extend_from_slice(&[ip_proto::TCP, 0, 0x00, 0x01, 0, 0, 0, 7]);
        payload.extend_from_slice(&[0; 20]);
        let b = header(ip_proto::HOPOPTS, &payload);
        let ext = Ipv6Packet::new_checked(&b[..]).unwrap().walk_extensions().unwrap();
        assert_eq!(ext, Ipv6Extensions { protocol: ip_proto::TCP, offset: 40 + 32, fragment: true, later_fragment: false });
    }

    #[test]
    fn later_fragment_stops_the_walk() {
        let mut payload = vec![ip_proto::UDP, 0, 0x00, 0x10, 0, 0, 0, 7]; // offset 2
        payload.extend_from_slice(&[0; 8]);
        let b = header(ip_proto::FRAGMENT, &payload);
        let ext = Ipv6Packet::new_checked(&b[..]).unwrap().walk_extensions().unwrap();
        assert!(ext.later_fragment);
        assert_eq!(ext.protocol, ip_proto::UDP);
    }

    #[test]
    fn rejects_truncated_headers_and_extensions() {
        let b = header(ip_proto::UDP, &[0; 8]);
        assert!(Ipv6Packet::new_checked(&b[..39]).is_err());
        assert!(Ipv6Packet::new_checked(&b[..45]).is_err()); // payload length beyond frame
        // a hop-by-hop header claiming 16 bytes with only 8 present
        let b = header(ip_proto::HOPOPTS, &[ip_proto::UDP, 1, 0, 0, 0, 0, 0, 0]);
        assert!(Ipv6Packet::new_checked(&b[..]).unwrap().walk_extensions().is_err());
    }
}
