//! ARP for Ethernet and IPv4 (RFC 826): htype(2) ptype(2) hlen(1) plen(1) oper(2)
//! sha(6) spa(4) tha(6) tpa(4).

use super::{be16, be32, put16, put32, MacAddr, Truncated};

mod field {
    use core::ops::Range;
    pub const HTYPE: usize = 0;
    pub const PTYPE: usize = 2;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: usize = 6;
    pub const SHA: Range<usize> = 8..14;
    pub const SPA: usize = 14;
    pub const THA: Range<usize> = 18..24;
    pub const TPA: usize = 24;
    pub const HEADER_LEN: usize = 28;
}

/// Length of an Ethernet/IPv4 ARP packet.
pub const HEADER_LEN: usize = field::HEADER_LEN;
/// ARP request.
pub const OP_REQUEST: u16 = 1;
/// ARP reply.
pub const OP_REPLY: u16 = 2;

/// A view over an Ethernet/IPv4 ARP packet.
pub struct ArpPacket<B> {
    bytes: B,
}

impl<B: AsRef<[u8]>> ArpPacket<B> {
    /// Wraps without checking.
    pub const fn new_unchecked(bytes: B) -> Self {
        ArpPacket { bytes }
    }

    /// Wraps after checking the length and that the hardware and protocol address lengths are
    /// those of Ethernet (6) and IPv4 (4).
    pub fn new_checked(bytes: B) -> Result<Self, Truncated> {
        let b = bytes.as_ref();
        if b.len() < field::HEADER_LEN || b[field::HLEN] != 6 || b[field::PLEN] != 4 {
            return Err(Truncated);
        }
        Ok(Self::new_unchecked(bytes))
    }

    /// Hardware type (1 = Ethernet).
    pub fn htype(&self) -> u16 {
        be16(self.bytes.as_ref(), field::HTYPE)
    }
    /// Protocol type (0x0800 = IPv4).
    pub fn ptype(&self) -> u16 {
        be16(self.bytes.as_ref(), field::PTYPE)
    }
    /// Operation.
    pub fn oper(&self) -> u16 {
        be16(self.bytes.as_ref(), field::OPER)
    }
    /// Sender hardware address.
    pub fn sha(&self) -> MacAddr {
        MacAddr(self.bytes.as_ref()[field::SHA].try_into().unwrap())
    }
    /// Sender protocol address.
    pub fn spa(&self) -> u32 {
        be32(self.bytes.as_ref(), field::SPA)
    }
    /// Target hardware address.
    pub fn tha(&self) -> MacAddr {
        MacAddr(self.bytes.as_ref()[field::THA].try_into().unwrap())
    }
    /// Target protocol address.
    pub fn tpa(&self) -> u32 {
        be32(self.bytes.as_ref(), field::TPA)
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<B> {
    /// Writes the fixed Ethernet/IPv4 preamble (htype 1, ptype 0x0800, hlen 6, plen 4).
    pub fn set_ethernet_ipv4(&mut self) {
        let b = self.bytes.as_mut();
        put16(b, field::HTYPE, 1);
        put16(b, field::PTYPE, 0x0800);
        b[field::HLEN] = 6;
        b[field::PLEN] = 4;
    }
    /// Sets the operation.
    pub fn set_oper(&mut self, op: u16) {
        put16(self.bytes.as_mut(), field::OPER, op);
    }
    /// Sets the sender hardware address.
    pub fn set_sha(&mut self, mac: MacAddr) {
        self.bytes.as_mut()[field::SHA].copy_from_slice(&mac.0);
    }
    /// Sets the sender protocol address.
    pub fn set_spa(&mut self, ip: u32) {
        put32(self.bytes.as_mut(), field::SPA, ip);
    }
    /// Sets the target hardware address.
    pub fn set_tha(&mut self, mac: MacAddr) {
        self.bytes.as_mut()[field::THA].copy_from_slice(&mac.0);
    }
    /// Sets the target protocol address.
    pub fn set_tpa(&mut self, ip: u32) {
        put32(self.bytes.as_mut(), field::TPA, ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUEST: [u8; 28] = [
        0, 1, 8, 0, 6, 4, 0, 1, // eth/ipv4 request
        2, 0, 0, 0, 0, 1, 10, 0, 0, 1, // sender
        0, 0, 0, 0, 0, 0, 10, 0, 0, 2, // target
    ];

    #[test]
    fn reads_a_known_request() {
        let a = ArpPacket::new_checked(&REQUEST[..]).unwrap();
        assert_eq!(a.htype(), 1);
        assert_eq!(a.ptype(), 0x0800);
        assert_eq!(a.oper(), OP_REQUEST);
        assert_eq!(a.sha(), MacAddr([2, 0, 0, 0, 0, 1]));
        assert_eq!(a.spa(), 0x0a00_0001);
        assert_eq!(a.tha(), MacAddr::ZERO);
        assert_eq!(a.tpa(), 0x0a00_0002);
    }

    #[test]
    fn writes_the_bytes_it_reads() {
        let mut b = [0u8; 28];
        let mut a = ArpPacket::new_unchecked(&mut b[..]);
        a.set_ethernet_ipv4();
        a.set_oper(OP_REQUEST);
        a.set_sha(MacAddr([2, 0, 0, 0, 0, 1]));
        a.set_spa(0x0a00_0001);
        a.set_tha(MacAddr::ZERO);
        a.set_tpa(0x0a00_0002);
        assert_eq!(b, REQUEST);
    }

    #[test]
    fn rejects_truncated_or_foreign_arp() {
        assert!(ArpPacket::new_checked(&REQUEST[..27]).is_err());
        let mut other = REQUEST;
        other[4] = 8; // hlen 8
        assert!(ArpPacket::new_checked(&other[..]).is_err());
    }
}
