//! ICMPv6 (RFC 4443) and the neighbour discovery messages rvs looks into (RFC 4861).
//!
//! Neighbour solicitation (135) and advertisement (136): type(1) code(1) checksum(2)
//! reserved/flags(4) target(16) options, each option type(1) length(1, in 8-byte units).
//! Option 1 is the source link-layer address, option 2 the target link-layer address.

use super::{be16, put16, MacAddr, Truncated};

mod field {
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: usize = 2;
    pub const HEADER_LEN: usize = 4;
    pub const ND_TARGET: usize = 8;
    pub const ND_OPTIONS: usize = 24;
}

/// Length of the common ICMPv6 header.
pub const HEADER_LEN: usize = field::HEADER_LEN;
/// Neighbour solicitation.
pub const ND_NEIGHBOR_SOLICIT: u8 = 135;
/// Neighbour advertisement.
pub const ND_NEIGHBOR_ADVERT: u8 = 136;
/// Echo request.
pub const ECHO_REQUEST: u8 = 128;
/// Echo reply.
pub const ECHO_REPLY: u8 = 129;

/// A view over the common ICMPv6 header.
pub struct Icmpv6Header<B> {
    bytes: B,
}

impl<B: AsRef<[u8]>> Icmpv6Header<B> {
    /// Wraps without checking.
    pub const fn new_unchecked(bytes: B) -> Self {
        Icmpv6Header { bytes }
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
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Icmpv6Header<B> {
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

/// What a neighbour solicitation or advertisement says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NdMessage {
    /// Target address.
    pub target: u128,
    /// Source link-layer address option (solicitations).
    pub sll: Option<MacAddr>,
    /// Target link-layer address option (advertisements).
    pub tll: Option<MacAddr>,
}

impl NdMessage {
    /// Parses an NS or NA message (the whole ICMPv6 message). `Err` if the target is
    /// truncated, an option has length 0 or runs beyond the message, or a link-layer option
    /// appears twice (as OVS treats it).
    pub fn parse(icmp: &[u8]) -> Result<NdMessage, Truncated> {
        if icmp.len() < field::ND_OPTIONS {
            return Err(Truncated);
        }
        let mut nd = NdMessage {
            target: u128::from_be_bytes(icmp[field::ND_TARGET..field::ND_OPTIONS].try_into().unwrap()),
            ..Default::default()
        };
        let mut opts = &icmp[field::ND_OPTIONS..];
        while opts.len() >= 8 {
            let kind = opts[0];
            let len = opts[1] as usize * 8;
            if len == 0 || len > opts.len() {
                return Err(Truncated);
            }
            if len == 8 {
                let mac = MacAddr(opts[2..8].try_into().unwrap());
                match kind {
                    1 if nd.sll.is_none() => nd.sll = Some(mac),
                    2 if nd.tll.is_none() => nd.tll = Some(mac),
                    1 | 2 => return Err(Truncated),
                    _ => {}
                }
            }
            opts = &opts[len..];
        }
        Ok(nd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solicitation(opts: &[u8]) -> Vec<u8> {
        let mut b = vec![ND_NEIGHBOR_SOLICIT, 0, 0x12, 0x34, 0, 0, 0, 0];
        b.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
        b.extend_from_slice(opts);
        b
    }

    #[test]
    fn reads_a_known_header_and_nd_message() {
        let b = solicitation(&[1, 1, 2, 0, 0, 0, 0, 1]);
        let h = Icmpv6Header::new_checked(&b[..]).unwrap();
        assert_eq!((h.msg_type(), h.code(), h.checksum()), (ND_NEIGHBOR_SOLICIT, 0, 0x1234));
        let nd = NdMessage::parse(&b).unwrap();
        assert_eq!(nd.target, 0xfe80_0000_0000_0000_0000_0000_0000_0009);
        assert_eq!(nd.sll, Some(MacAddr([2, 0, 0, 0, 0, 1])));
        assert_eq!(nd.tll, None);
    }

    #[test]
    fn writes_the_bytes_it_reads() {
        let want = solicitation(&[]);
        let mut b = want.clone();
        b[..4].fill(0);
        let mut h = Icmpv6Header::new_unchecked(&mut b[..]);
        h.set_msg_type(ND_NEIGHBOR_SOLICIT);
        h.set_checksum(0x1234);
        assert_eq!(b, want);
    }

    #[test]
    fn rejects_bad_options() {
        assert!(NdMessage::parse(&solicitation(&[1, 0, 0, 0, 0, 0, 0, 0])).is_err());
        assert!(NdMessage::parse(&solicitation(&[1, 2, 0, 0, 0, 0, 0, 0])).is_err());
        assert!(NdMessage::parse(&solicitation(&[1, 1, 2, 0, 0, 0, 0, 1, 1, 1, 2, 0, 0, 0, 0, 2])).is_err());
        assert!(NdMessage::parse(&solicitation(&[])[..20]).is_err());
        assert!(Icmpv6Header::new_checked(&[0u8; 3][..]).is_err());
    }
}
