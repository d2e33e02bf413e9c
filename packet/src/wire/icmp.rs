//! ICMP header (RFC 792): type(1) code(1) checksum(2) rest-of-header(4).

use super::{be16, be32, put16, Truncated};

mod field {
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: usize = 2;
    pub const REST: usize = 4;
    pub const HEADER_LEN: usize = 8;
}

/// Length of the ICMP header.
pub const HEADER_LEN: usize = field::HEADER_LEN;
/// Echo reply.
pub const ECHO_REPLY: u8 = 0;
/// Destination unreachable.
pub const DEST_UNREACHABLE: u8 = 3;
/// Echo request.
pub const ECHO_REQUEST: u8 = 8;
/// Time exceeded.
pub const TIME_EXCEEDED: u8 = 11;

/// A view over an ICMP header.
pub struct IcmpHeader<B> {
    bytes: B,
}

impl<B: AsRef<[u8]>> IcmpHeader<B> {
    /// Wraps without checking.
    pub const fn new_unchecked(bytes: B) -> Self {
        IcmpHeader { bytes }
    }
    /// Wraps after checking the header length.
    pub fn new_checked(bytes: B) -> Result<Self, Truncated> {
        if bytes.as_ref().len() < field::HEADER_LEN {
            return Err(Truncated);
        }
        Ok(Self::new_unchecked(bytes))
    }
    /// Message type.
    pub fn msg_type(&self) -> u8 {
        self.bytes.as_ref()[field::TYPE]
    }
    /// Message code.
    pub fn code(&self) -> u8 {
        self.bytes.as_ref()[field::CODE]
    }
    /// Checksum.
    pub fn checksum(&self) -> u16 {
        be16(self.bytes.as_ref(), field::CHECKSUM)
    }
    /// The 4 type-specific bytes (identifier and sequence for echo).
    pub fn rest(&self) -> u32 {
        be32(self.bytes.as_ref(), field::REST)
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> IcmpHeader<B> {
    /// Sets the type.
    pub fn set_msg_type(&mut self, t: u8) {
        self.bytes.as_mut()[field::TYPE] = t;
    }
    /// Sets the code.
    pub fn set_code(&mut self, c: u8) {
        self.bytes.as_mut()[field::CODE] = c;
    }
    /// Sets the checksum.
    pub fn set_checksum(&mut self, c: u16) {
        put16(self.bytes.as_mut(), field::CHECKSUM, c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ECHO: [u8; 8] = [8, 0, 0xf7, 0xfd, 0, 1, 0, 1];

    #[test]
    fn reads_a_known_echo() {
        let h = IcmpHeader::new_checked(&ECHO[..]).unwrap();
        assert_eq!((h.msg_type(), h.code(), h.checksum(), h.rest()), (ECHO_REQUEST, 0, 0xf7fd, 0x0001_0001));
        assert_eq!(crate::checksum::fold(crate::checksum::sum(&ECHO, 0)), 0xffff);
    }

    #[test]
    fn writes_the_bytes_it_reads() {
        let mut b = ECHO;
        b[..4].fill(0);
        let mut h = IcmpHeader::new_unchecked(&mut b[..]);
        h.set_msg_type(ECHO_REQUEST);
        h.set_code(0);
        h.set_checksum(0xf7fd);
        assert_eq!(b, ECHO);
    }

    #[test]
    fn rejects_a_truncated_header() {
        assert!(IcmpHeader::new_checked(&ECHO[..7]).is_err());
    }
}
