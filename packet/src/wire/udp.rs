//! UDP header (RFC 768): source port(2) destination port(2) length(2) checksum(2).

use super::{be16, put16, Truncated};

mod field {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const LENGTH: usize = 4;
    pub const CHECKSUM: usize = 6;
    pub const HEADER_LEN: usize = 8;
}

/// Length of the UDP header.
pub const HEADER_LEN: usize = field::HEADER_LEN;
/// Offset of the checksum field.
pub const CHECKSUM_OFFSET: usize = field::CHECKSUM;

/// A view over a UDP header.
pub struct UdpHeader<B> {
    bytes: B,
}

impl<B: AsRef<[u8]>> UdpHeader<B> {
    /// Wraps without checking.
    pub const fn new_unchecked(bytes: B) -> Self {
        UdpHeader { bytes }
    }

    /// Wraps after checking that the 8-byte header is present.
    pub fn new_checked(bytes: B) -> Result<Self, Truncated> {
        if bytes.as_ref().len() < field::HEADER_LEN {
            return Err(Truncated);
        }
        Ok(Self::new_unchecked(bytes))
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        be16(self.bytes.as_ref(), field::SRC_PORT)
    }
    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        be16(self.bytes.as_ref(), field::DST_PORT)
    }
    /// Length field (header + payload).
    pub fn length(&self) -> u16 {
        be16(self.bytes.as_ref(), field::LENGTH)
    }
    /// Checksum field (0 = none, over IPv4).
    pub fn checksum(&self) -> u16 {
        be16(self.bytes.as_ref(), field::CHECKSUM)
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> UdpHeader<B> {
    /// Sets the source port.
    pub fn set_src_port(&mut self, p: u16) {
        put16(self.bytes.as_mut(), field::SRC_PORT, p);
    }
    /// Sets the destination port.
    pub fn set_dst_port(&mut self, p: u16) {
        put16(self.bytes.as_mut(), field::DST_PORT, p);
    }
    /// Sets the length field.
    pub fn set_length(&mut self, l: u16) {
        put16(self.bytes.as_mut(), field::LENGTH, l);
    }
    /// Sets the checksum field.
    pub fn set_checksum(&mut self, c: u16) {
        put16(self.bytes.as_mut(), field::CHECKSUM, c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: [u8; 8] = [0x04, 0x00, 0x13, 0x88, 0x00, 0x1a, 0xab, 0xcd];

    #[test]
    fn reads_a_known_header() {
        let u = UdpHeader::new_checked(&HEADER[..]).unwrap();
        assert_eq!((u.src_port(), u.dst_port(), u.length(), u.checksum()), (1024, 5000, 26, 0xabcd));
    }

    #[test]
    fn writes_the_bytes_it_reads() {
        let mut b = [0u8; 8];
        let mut u = UdpHeader::new_unchecked(&mut b[..]);
        u.set_src_port(1024);
        u.set_dst_port(5000);
        u.set_length(26);
        u.set_checksum(0xabcd);
        assert_eq!(b, HEADER);
    }

    #[test]
    fn rejects_a_truncated_header() {
        assert!(UdpHeader::new_checked(&HEADER[..7]).is_err());
    }
}
