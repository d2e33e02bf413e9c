//! 802.1Q / 802.1ad tag as it follows the MAC addresses: TPID(2) TCI(2). The TCI holds
//! PCP(3) DEI(1) VID(12). In a frame, the tag's TPID sits where the ethertype would be, and the
//! inner ethertype follows the TCI.

use super::{be16, put16, Truncated};

mod field {
    pub const TPID: usize = 0;
    pub const TCI: usize = 2;
    pub const HEADER_LEN: usize = 4;
}

/// Length of one tag.
pub const TAG_LEN: usize = field::HEADER_LEN;
/// VID bits of a TCI.
pub const VID_MASK: u16 = 0x0fff;
/// PCP bits of a TCI.
pub const PCP_MASK: u16 = 0xe000;
/// Shift of the PCP in a TCI.
pub const PCP_SHIFT: u16 = 13;
/// The DEI (formerly CFI) bit of a TCI.
pub const DEI: u16 = 0x1000;

/// A view over a VLAN tag (TPID + TCI).
pub struct VlanTag<B> {
    bytes: B,
}

impl<B: AsRef<[u8]>> VlanTag<B> {
    /// Wraps without checking the length.
    pub const fn new_unchecked(bytes: B) -> Self {
        VlanTag { bytes }
    }

    /// Wraps after checking that a whole tag is present.
    pub fn new_checked(bytes: B) -> Result<Self, Truncated> {
        if bytes.as_ref().len() < field::HEADER_LEN {
            return Err(Truncated);
        }
        Ok(Self::new_unchecked(bytes))
    }

    /// Tag protocol identifier (0x8100 or 0x88a8).
    pub fn tpid(&self) -> u16 {
        be16(self.bytes.as_ref(), field::TPID)
    }

    /// Tag control information.
    pub fn tci(&self) -> u16 {
        be16(self.bytes.as_ref(), field::TCI)
    }

    /// VLAN id.
    pub fn vid(&self) -> u16 {
        self.tci() & VID_MASK
    }

    /// Priority code point.
    pub fn pcp(&self) -> u8 {
        (self.tci() >> PCP_SHIFT) as u8
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> VlanTag<B> {
    /// Sets the TPID.
    pub fn set_tpid(&mut self, tpid: u16) {
        put16(self.bytes.as_mut(), field::TPID, tpid);
    }

    /// Sets the TCI.
    pub fn set_tci(&mut self, tci: u16) {
        put16(self.bytes.as_mut(), field::TCI, tci);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: [u8; 4] = [0x81, 0x00, 0xa0, 0x0a]; // pcp 5, vid 10

    #[test]
    fn reads_a_known_tag() {
        let t = VlanTag::new_checked(&TAG[..]).unwrap();
        assert_eq!(t.tpid(), 0x8100);
        assert_eq!(t.vid(), 10);
        assert_eq!(t.pcp(), 5);
    }

    #[test]
    fn writes_the_bytes_it_reads() {
        let mut b = [0u8; 4];
        let mut t = VlanTag::new_unchecked(&mut b[..]);
        t.set_tpid(0x8100);
        t.set_tci((5 << PCP_SHIFT) | 10);
        assert_eq!(b, TAG);
    }

    #[test]
    fn rejects_a_truncated_tag() {
        assert_eq!(VlanTag::new_checked(&TAG[..3]).err(), Some(Truncated));
    }
}
