//! TCP header (RFC 9293): source port(2) destination port(2) sequence(4) acknowledgment(4)
//! data offset/flags(2) window(2) checksum(2) urgent pointer(2) options.

use super::{be16, be32, put16, put32, Truncated};

mod field {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const SEQ: usize = 4;
    pub const ACK: usize = 8;
    pub const OFF_FLAGS: usize = 12;
    pub const WINDOW: usize = 14;
    pub const CHECKSUM: usize = 16;
    pub const URGENT: usize = 18;
    pub const MIN_HEADER_LEN: usize = 20;
}

/// Length of a TCP header without options.
pub const MIN_HEADER_LEN: usize = field::MIN_HEADER_LEN;
/// Offset of the checksum field.
pub const CHECKSUM_OFFSET: usize = field::CHECKSUM;

/// TCP flag bits as they appear in the low 12 bits of the offset/flags word.
pub mod flags {
    /// FIN.
    pub const FIN: u16 = 0x001;
    /// SYN.
    pub const SYN: u16 = 0x002;
    /// RST.
    pub const RST: u16 = 0x004;
    /// PSH.
    pub const PSH: u16 = 0x008;
    /// ACK.
    pub const ACK: u16 = 0x010;
    /// URG.
    pub const URG: u16 = 0x020;
    /// ECE.
    pub const ECE: u16 = 0x040;
    /// CWR.
    pub const CWR: u16 = 0x080;
    /// NS (RFC 3540).
    pub const NS: u16 = 0x100;
    /// All 12 flag bits.
    pub const MASK: u16 = 0x0fff;
}

/// A view over a TCP header.
pub struct TcpHeader<B> {
    bytes: B,
}

impl<B: AsRef<[u8]>> TcpHeader<B> {
    /// Wraps without checking.
    pub const fn new_unchecked(bytes: B) -> Self {
        TcpHeader { bytes }
    }

    /// Wraps after checking that the header, including its options, is present and that the
    /// data offset is at least 5 words.
    pub fn new_checked(bytes: B) -> Result<Self, Truncated> {
        let b = bytes.as_ref();
        if b.len() < field::MIN_HEADER_LEN {
            return Err(Truncated);
        }
        let h = Self::new_unchecked(bytes);
        let hl = h.header_len();
        if hl < field::MIN_HEADER_LEN || hl > h.bytes.as_ref().len() {
            return Err(Truncated);
        }
        Ok(h)
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        be16(self.bytes.as_ref(), field::SRC_PORT)
    }
    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        be16(self.bytes.as_ref(), field::DST_PORT)
    }
    /// Sequence number.
    pub fn seq(&self) -> u32 {
        be32(self.bytes.as_ref(), field::SEQ)
    }
    /// Acknowledgment number.
    pub fn ack(&self) -> u32 {
        be32(self.bytes.as_ref(), field::ACK)
    }
    /// Header length in bytes (data offset * 4).
    pub fn header_len(&self) -> usize {
        ((self.bytes.as_ref()[field::OFF_FLAGS] >> 4) as usize) * 4
    }
    /// The 12 flag bits.
    pub fn flags(&self) -> u16 {
        be16(self.bytes.as_ref(), field::OFF_FLAGS) & flags::MASK
    }
    /// Window.
    pub fn window(&self) -> u16 {
        be16(self.bytes.as_ref(), field::WINDOW)
    }
    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.bytes.as_ref(), field::CHECKSUM)
    }
    /// Urgent pointer.
    pub fn urgent(&self) -> u16 {
        be16(self.bytes.as_ref(), field::URGENT)
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> TcpHeader<B> {
    /// Sets the source port.
    pub fn set_src_port(&mut self, p: u16) {
        put16(self.bytes.as_mut(), field::SRC_PORT, p);
    }
    /// Sets the destination port.
    pub fn set_dst_port(&mut self, p: u16) {
        put16(self.bytes.as_mut(), field::DST_PORT, p);
    }
    /// Sets the sequence number.
    pub fn set_seq(&mut self, v: u32) {
        put32(self.bytes.as_mut(), field::SEQ, v);
    }
    /// Sets the acknowledgment number.
    pub fn set_ack(&mut self, v: u32) {
        put32(self.bytes.as_mut(), field::ACK, v);
    }
    /// Sets header length (bytes, multiple of 4) and flags.
    pub fn set_header_len_and_flags(&mut self, header_len: usize, fl: u16) {
        let v = (((header_len / 4) as u16) << 12) | (fl & flags::MASK);
        put16(self.bytes.as_mut(), field::OFF_FLAGS, v);
    }
    /// Sets the flags, keeping the header length.
    pub fn set_flags(&mut self, fl: u16) {
        let hl = self.header_len();
        self.set_header_len_and_flags(hl, fl);
    }
    /// Sets the window.
    pub fn set_window(&mut self, w: u16) {
        put16(self.bytes.as_mut(), field::WINDOW, w);
    }
    /// Sets the checksum field.
    pub fn set_checksum(&mut self, c: u16) {
        put16(self.bytes.as_mut(), field::CHECKSUM, c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: [u8; 20] = [
        0x04, 0x00, 0x00, 0x50, // 1024 -> 80
        0, 0, 0, 1, 0, 0, 0, 2, // seq 1 ack 2
        0x50, 0x12, // 5 words, SYN|ACK
        0xff, 0xff, 0x12, 0x34, 0, 0,
    ];

    #[test]
    fn reads_a_known_header() {
        let t = TcpHeader::new_checked(&HEADER[..]).unwrap();
        assert_eq!((t.src_port(), t.dst_port()), (1024, 80));
        assert_eq!((t.seq(), t.ack()), (1, 2));
        assert_eq!(t.header_len(), 20);
        assert_eq!(t.flags(), flags::SYN | flags::ACK);
        assert_eq!(t.window(), 0xffff);
        assert_eq!(t.checksum(), 0x1234);
    }

    #[test]
    fn writes_the_bytes_it_reads() {
        let mut b = [0u8; 20];
        let mut t = TcpHeader::new_unchecked(&mut b[..]);
        t.set_src_port(1024);
        t.set_dst_port(80);
        t.set_seq(1);
        t.set_ack(2);
        t.set_header_len_and_flags(20, flags::SYN | flags::ACK);
        t.set_window(0xffff);
        t.set_checksum(0x1234);
        assert_eq!(b, HEADER);
    }

    #[test]
    fn rejects_truncated_or_short_offset() {
        assert!(TcpHeader::new_checked(&HEADER[..19]).is_err());
        let mut b = HEADER;
        b[12] = 0x40; // data offset 4
        assert!(TcpHeader::new_checked(&b[..]).is_err());
        b[12] = 0x60; // 24 bytes claimed, 20 present
        assert!(TcpHeader::new_checked(&b[..]).is_err());
    }
}
