//! IPv4 header (RFC 791): version/IHL(1) TOS(1) total length(2) id(2) flags/fragment(2)
//! TTL(1) protocol(1) checksum(2) source(4) destination(4) options(IHL*4-20).

use super::{be16, be32, put16, put32, Truncated};
use crate::checksum;

mod field {
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const TOTAL_LEN: usize = 2;
    pub const IDENT: usize = 4;
    pub const FLAGS_FRAG: usize = 6;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: usize = 10;
    pub const SRC: usize = 12;
    pub const DST: usize = 16;
    pub const MIN_HEADER_LEN: usize = 20;
}

/// Length of an IPv4 header without options.
pub const MIN_HEADER_LEN: usize = field::MIN_HEADER_LEN;
/// Offset of the source address in the header.
pub const SRC_OFFSET: usize = field::SRC;
/// Offset of the TTL in the header.
pub const TTL_OFFSET: usize = field::TTL;
/// Offset of the header checksum.
pub const CHECKSUM_OFFSET: usize = field::CHECKSUM;
/// "More fragments" flag in the flags/fragment-offset word.
pub const FLAG_MF: u16 = 0x2000;
/// "Don't fragment" flag.
pub const FLAG_DF: u16 = 0x4000;
/// Fragment offset bits (in 8-byte units).
pub const FRAG_OFFSET_MASK: u16 = 0x1fff;

/// Why an IPv4 header was rejected (finer than [`Truncated`], for drop counters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ipv4Error {
    /// Fewer than 20 bytes.
    Truncated,
    /// Version field is not 4.
    BadVersion,
    /// IHL below 5.
    BadIhl,
    /// IHL*4 beyond the bytes present.
    HeaderBeyondFrame,
    /// Total length shorter than the header.
    TotalLenTooShort,
    /// Total length beyond the bytes present.
    TotalLenBeyondFrame,
}

impl From<Ipv4Error> for Truncated {
    fn from(_: Ipv4Error) -> Self {
        Truncated
    }
}

/// A view over an IPv4 header and what follows it.
pub struct Ipv4Packet<B> {
    bytes: B,
}

impl<B: AsRef<[u8]>> Ipv4Packet<B> {
    /// Wraps without checking.
    pub const fn new_unchecked(bytes: B) -> Self {
        Ipv4Packet { bytes }
    }

    /// Wraps after checking version, IHL and total length against the bytes present.
    pub fn new_checked(bytes: B) -> Result<Self, Truncated> {
        Self::new_validated(bytes).map_err(Truncated::from)
    }

    /// As [`Ipv4Packet::new_checked`], saying what is wrong.
    pub fn new_validated(bytes: B) -> Result<Self, Ipv4Error> {
        let b = bytes.as_ref();
        if b.len() < field::MIN_HEADER_LEN {
            return Err(Ipv4Error::Truncated);
        }
        if b[field::VER_IHL] >> 4 != 4 {
            return Err(Ipv4Error::BadVersion);
        }
        let hlen = ((b[field::VER_IHL] & 0x0f) as usize) * 4;
        if hlen < field::MIN_HEADER_LEN {
            return Err(Ipv4Error::BadIhl);
        }
        if hlen > b.len() {
            return Err(Ipv4Error::HeaderBeyondFrame);
        }
        let total = be16(b, field::TOTAL_LEN) as usize;
        if total < hlen {
            return Err(Ipv4Error::TotalLenTooShort);
        }
        if total > b.len() {
            return Err(Ipv4Error::TotalLenBeyondFrame);
        }
        Ok(Self::new_unchecked(bytes))
    }

    /// IP version (4).
    pub fn version(&self) -> u8 {
        self.bytes.as_ref()[field::VER_IHL] >> 4
    }
    /// Header length in bytes (IHL * 4).
    pub fn header_len(&self) -> usize {
        ((self.bytes.as_ref()[field::VER_IHL] & 0x0f) as usize) * 4
    }
    /// Type of service byte (DSCP << 2 | ECN).
    pub fn tos(&self) -> u8 {
        self.bytes.as_ref()[field::TOS]
    }
    /// Total length (header + payload).
    pub fn total_len(&self) -> u16 {
        be16(self.bytes.as_ref(), field::TOTAL_LEN)
    }
    /// Identification.
    pub fn ident(&self) -> u16 {
        be16(self.bytes.as_ref(), field::IDENT)
    }
    /// Flags and fragment offset word.
    pub fn flags_frag(&self) -> u16 {
        be16(self.bytes.as_ref(), field::FLAGS_FRAG)
    }
    /// True if this is any fragment (MF set or offset non-zero).
    pub fn is_fragment(&self) -> bool {
        self.flags_frag() & (FLAG_MF | FRAG_OFFSET_MASK) != 0
    }
    /// True if this is a fragment other than the first.
    pub fn is_later_fragment(&self) -> bool {
        self.flags_frag() & FRAG_OFFSET_MASK != 0
    }
    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.bytes.as_ref()[field::TTL]
    }
    /// Protocol of the payload.
    pub fn protocol(&self) -> u8 {
        self.bytes.as_ref()[field::PROTOCOL]
    }
    /// Header checksum.
    pub fn checksum(&self) -> u16 {
        be16(self.bytes.as_ref(), field::CHECKSUM)
    }
    /// Source address.
    pub fn src(&self) -> u32 {
        be32(self.bytes.as_ref(), field::SRC)
    }
    /// Destination address.
    pub fn dst(&self) -> u32 {
        be32(self.bytes.as_ref(), field::DST)
    }
    /// True if the header checksum verifies.
    pub fn verify_checksum(&self) -> bool {
        checksum::fold(checksum::sum(&self.bytes.as_ref()[..self.header_len()], 0)) == 0xffff
    }
    /// The payload: bytes after the header, up to the total length.
    pub fn payload(&self) -> &[u8] {
        &self.bytes.as_ref()[self.header_len()..self.total_len() as usize]
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<B> {
    /// Sets version 4 and the header length (a multiple of 4, at least 20).
    pub fn set_version_and_header_len(&mut self, header_len: usize) {
        self.bytes.as_mut()[field::VER_IHL] = 0x40 | ((header_len / 4) as u8 & 0x0f);
    }
    /// Sets the TOS byte.
    pub fn set_tos(&mut self, tos: u8) {
        self.bytes.as_mut()[field::TOS] = tos;
    }
    /// Sets the total length.
    pub fn set_total_len(&mut self, len: u16) {
        put16(self.bytes.as_mut(), field::TOTAL_LEN, len);
    }
    /// Sets the identification.
    pub fn set_ident(&mut self, id: u16) {
        put16(self.bytes.as_mut(), field::IDENT, id);
    }
    /// Sets flags and fragment offset.
    pub fn set_flags_frag(&mut self, v: u16) {
        put16(self.bytes.as_mut(), field::FLAGS_FRAG, v);
    }
    /// Sets the TTL.
    pub fn set_ttl(&mut self, ttl: u8) {
        self.bytes.as_mut()[field::TTL] = ttl;
    }
    /// Sets the protocol.
    pub fn set_protocol(&mut self, p: u8) {
        self.bytes.as_mut()[field::PROTOCOL] = p;
    }
    /// Sets the checksum field as is.
    pub fn set_checksum(&mut self, c: u16) {
        put16(self.bytes.as_mut(), field::CHECKSUM, c);
    }
    /// Sets the source address.
    pub fn set_src(&mut self, a: u32) {
        put32(self.bytes.as_mut(), field::SRC, a);
    }
    /// Sets the destination address.
    pub fn set_dst(&mut self, a: u32) {
        put32(self.bytes.as_mut(), field::DST, a);
    }
    /// Computes and stores the header checksum.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let hlen = self.header_len();
        let c = !checksum::fold(checksum::sum(&self.bytes.as_ref()[..hlen], 0));
        self.set_checksum(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 10.0.0.1 -> 10.0.0.2, UDP, TTL 64, total length 28, DF, valid checksum.
    const HEADER: [u8; 28] = [
        0x45, 0x00, 0x00, 0x1c, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x14, 0x9b, 10, 0, 0, 1, 10,
        0, 0, 2, // header
        0x04, 0x00, 0x13, 0x88, 0x00, 0x08, 0x00, 0x00, // udp
    ];

    #[test]
    fn reads_a_known_header() {
        let ip = Ipv4Packet::new_checked(&HEADER[..]).unwrap();
        assert_eq!(ip.version(), 4);
        assert_eq!(ip.header_len(), 20);
        assert_eq!(ip.total_len(), 28);
        assert_eq!(ip.ident(), 0x1234);
        assert_eq!(ip.flags_frag(), FLAG_DF);
        assert!(!ip.is_fragment());
        assert_eq!(ip.ttl(), 64);
        assert_eq!(ip.protocol(), 17);
        assert_eq!(ip.src(), 0x0a00_0001);
        assert_eq!(ip.dst(), 0x0a00_0002);
        assert!(ip.verify_checksum());
        assert_eq!(ip.payload().len(), 8);
    }

    #[test]
    fn writes_the_bytes_it_reads() {
        let mut b = HEADER;
        b[..20].fill(0);
        let mut ip = Ipv4Packet::new_unchecked(&mut b[..]);
        ip.set_version_and_header_len(20);
        ip.set_total_len(28);
        ip.set_ident(0x1234);
        ip.set_flags_frag(FLAG_DF);
        ip.set_ttl(64);
        ip.set_protocol(17);
        ip.set_src(0x0a00_0001);
        ip.set_dst(0x0a00_0002);
        ip.fill_checksum();
        assert_eq!(b, HEADER);
    }

    #[test]
    fn rejects_inconsistent_headers() {
        assert_eq!(Ipv4Packet::new_validated(&HEADER[..19]).err(), Some(Ipv4Error::Truncated));
        let mut b = HEADER;
        b[0] = 0x44;
        assert_eq!(Ipv4Packet::new_validated(&b[..]).err(), Some(Ipv4Error::BadIhl));
        b[0] = 0x65;
        assert_eq!(Ipv4Packet::new_validated(&b[..]).err(), Some(Ipv4Error::BadVersion));
        b[0] = 0x4f;
        assert_eq!(Ipv4Packet::new_validated(&b[..]).err(), Some(Ipv4Error::HeaderBeyondFrame));
        let mut b = HEADER;
        b[3] = 0x40;
        assert_eq!(Ipv4Packet::new_validated(&b[..]).err(), Some(Ipv4Error::TotalLenBeyondFrame));
        b[3] = 10;
        assert_eq!(Ipv4Packet::new_validated(&b[..]).err(), Some(Ipv4Error::TotalLenTooShort));
    }
}
