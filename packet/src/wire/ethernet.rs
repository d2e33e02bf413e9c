//! Ethernet II frame header: destination(6) source(6) ethertype(2).

use super::{be16, put16, Truncated};

mod field {
    use core::ops::Range;
    pub const DST: Range<usize> = 0..6;
    pub const SRC: Range<usize> = 6..12;
    pub const ETHERTYPE: usize = 12;
    pub const HEADER_LEN: usize = 14;
}

/// Length of the Ethernet header.
pub const HEADER_LEN: usize = field::HEADER_LEN;

/// Ethertypes used by rvs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EtherType;

impl EtherType {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// ARP.
    pub const ARP: u16 = 0x0806;
    /// RARP.
    pub const RARP: u16 = 0x8035;
    /// 802.1Q customer VLAN tag.
    pub const VLAN: u16 = 0x8100;
    /// 802.1ad service VLAN tag.
    pub const QINQ: u16 = 0x88a8;
    /// IPv6.
    pub const IPV6: u16 = 0x86dd;
    /// MPLS unicast.
    pub const MPLS: u16 = 0x8847;
    /// MPLS multicast.
    pub const MPLS_MCAST: u16 = 0x8848;
    /// Values below this are 802.3 lengths, not ethertypes.
    pub const MIN: u16 = 0x0600;
}

/// A 48-bit MAC address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    /// 00:00:00:00:00:00.
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    /// True for group (multicast and broadcast) addresses.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 != 0
    }

    /// True for ff:ff:ff:ff:ff:ff.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// The address as a 48-bit integer (first byte most significant).
    pub fn to_u64(self) -> u64 {
        let b = self.0;
        u64::from_be_bytes([0, 0, b[0], b[1], b[2], b[3], b[4], b[5]])
    }

    /// The address of a 48-bit integer (upper 16 bits ignored).
    pub fn from_u64(v: u64) -> Self {
        let b = v.to_be_bytes();
        MacAddr([b[2], b[3], b[4], b[5], b[6], b[7]])
    }
}

impl std::fmt::Display for MacAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5])
    }
}

impl std::str::FromStr for MacAddr {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let mut out = [0u8; 6];
        let mut n = 0;
        for part in s.split(':') {
            if n == 6 || part.is_empty() || part.len() > 2 {
                return Err(());
            }
            out[n] = u8::from_str_radix(part, 16).map_err(|_| ())?;
            n += 1;
        }
        if n != 6 {
            return Err(());
        }
        Ok(MacAddr(out))
    }
}

/// A view over an Ethernet frame.
pub struct EthernetFrame<B> {
    bytes: B,
}

impl<B: AsRef<[u8]>> EthernetFrame<B> {
    /// Wraps without checking the length.
    pub const fn new_unchecked(bytes: B) -> Self {
        EthernetFrame { bytes }
    }

    /// Wraps after checking that a whole header is present.
    pub fn new_checked(bytes: B) -> Result<Self, Truncated> {
        if bytes.as_ref().len() < field::HEADER_LEN {
            return Err(Truncated);
        }
        Ok(Self::new_unchecked(bytes))
    }

    /// Destination address.
    pub fn dst(&self) -> MacAddr {
        MacAddr(self.bytes.as_ref()[field::DST].try_into().unwrap())
    }

    /// Source address.
    pub fn src(&self) -> MacAddr {
        MacAddr(self.bytes.as_ref()[field::SRC].try_into().unwrap())
    }

    /// Ethertype (or 802.3 length).
    pub fn ethertype(&self) -> u16 {
        be16(self.bytes.as_ref(), field::ETHERTYPE)
    }

    /// Bytes after the header.
    pub fn payload(&self) -> &[u8] {
        &self.bytes.as_ref()[field::HEADER_LEN..]
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<B> {
    /// Sets the destination address.
    pub fn set_dst(&mut self, mac: MacAddr) {
        self.bytes.as_mut()[field::DST].copy_from_slice(&mac.0);
    }

    /// Sets the source address.
    pub fn set_src(&mut self, mac: MacAddr) {
        self.bytes.as_mut()[field::SRC].copy_from_slice(&mac.0);
    }

    /// Sets the ethertype.
    pub fn set_ethertype(&mut self, ethertype: u16) {
        put16(self.bytes.as_mut(), field::ETHERTYPE, ethertype);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: [u8; 16] = [
        0x02, 0, 0, 0, 0, 0x02, // dst
        0x02, 0, 0, 0, 0, 0x01, // src
        0x08, 0x00, // IPv4
        0xaa, 0xbb,
    ];

    #[test]
    fn reads_a_known_frame() {
        let f = EthernetFrame::new_checked(&FRAME[..]).unwrap();
        assert_eq!(f.dst(), MacAddr([2, 0, 0, 0, 0, 2]));
        assert_eq!(f.src(), MacAddr([2, 0, 0, 0, 0, 1]));
        assert_eq!(f.ethertype(), EtherType::IPV4);
        assert_eq!(f.payload(), &[0xaa, 0xbb]);
    }

    #[test]
    fn writes_the_bytes_it_reads() {
        let mut bytes = [0u8; 16];
        bytes[14..].copy_from_slice(&[0xaa, 0xbb]);
        let mut f = EthernetFrame::new_unchecked(&mut bytes[..]);
        f.set_dst(MacAddr([2, 0, 0, 0, 0, 2]));
        f.set_src(MacAddr([2, 0, 0, 0, 0, 1]));
        f.set_ethertype(EtherType::IPV4);
        assert_eq!(bytes, FRAME);
    }

    #[test]
    fn rejects_a_truncated_header() {
        assert_eq!(EthernetFrame::new_checked(&FRAME[..13]).err(), Some(Truncated));
    }

    #[test]
    fn mac_text_and_integer_forms() {
        let m: MacAddr = "02:00:0a:ff:00:01".parse().unwrap();
        assert_eq!(m.to_string(), "02:00:0a:ff:00:01");
        assert_eq!(MacAddr::from_u64(m.to_u64()), m);
        assert!("02:00:0a:ff:00".parse::<MacAddr>().is_err());
        assert!("02:00:0a:ff:00:01:02".parse::<MacAddr>().is_err());
        assert!(MacAddr::BROADCAST.is_multicast());
    }
}
