//! The virtio-net header (`struct virtio_net_hdr`, 10 bytes, little-endian on every host Linux
//! runs rvs on) that AF_PACKET (`PACKET_VNET_HDR`) and TAP (`IFF_VNET_HDR`) put in front of each
//! frame, and its mapping to [`PacketMeta`] offload state.
//!
//! ```text
//! 0       1          2        4         6          8           10
//! | flags | gso_type | hdr_len | gso_size | csum_start | csum_offset |
//! ```
//! * `flags & NEEDS_CSUM`: the L4 checksum is partial; the field at `csum_start + csum_offset`
//!   holds the pseudo-header sum ([`CsumState::Partial`]). Offsets count from the first byte of
//!   the Ethernet header.
//! * `gso_type != NONE`: a super-frame to be cut at `gso_size` bytes of L4 payload. The kernel
//!   only reports GSO together with `NEEDS_CSUM`.
//! * `hdr_len`: length of the headers (a hint to the kernel on transmit; ignored on receive).
//!
//! [`VnetHdr::to_meta`] validates what the kernel reported before it becomes packet state;
//! [`VnetHdr::from_meta`] builds the header that hands a packet's state back to the kernel, and
//! refuses states the kernel would reject, so that the caller can complete them in software.

use rvs_packet::offload::find_layers;
use rvs_packet::wire::ip_proto;
use rvs_packet::{CsumState, Gso, GsoKind, PacketBuf, PacketMeta};

/// Size of `struct virtio_net_hdr`.
pub const VNET_HDR_LEN: usize = 10;

/// `flags` bits.
pub mod flags {
    /// The L4 checksum is partial (`VIRTIO_NET_HDR_F_NEEDS_CSUM`).
    pub const NEEDS_CSUM: u8 = 1;
    /// The checksum was verified by the sender's side (`VIRTIO_NET_HDR_F_DATA_VALID`).
    pub const DATA_VALID: u8 = 2;
}

/// `gso_type` values.
pub mod gso_type {
    /// Not a super-frame.
    pub const NONE: u8 = 0;
    /// TCP over IPv4.
    pub const TCPV4: u8 = 1;
    /// UDP fragmentation offload (UFO); Linux no longer produces it.
    pub const UDP: u8 = 3;
    /// TCP over IPv6.
    pub const TCPV6: u8 = 4;
    /// UDP segmentation (USO).
    pub const UDP_L4: u8 = 5;
    /// Flag: the TCP super-frame has CWR set; clear it after the first segment.
    pub const ECN: u8 = 0x80;
}

/// A parsed virtio-net header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VnetHdr {
    /// `flags` bits.
    pub flags: u8,
    /// `gso_type`, possibly with [`gso_type::ECN`].
    pub gso_type: u8,
    /// Header length hint.
    pub hdr_len: u16,
    /// Segment payload size.
    pub gso_size: u16,
    /// Start of the checksummed region, from the frame start.
    pub csum_start: u16,
    /// Offset of the checksum field from `csum_start`.
    pub csum_offset: u16,
}

/// Why a virtio-net header cannot describe a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VnetError {
    /// The checksum field would lie outside the frame.
    BadCsumOffsets,
    /// A `gso_type` rvs does not handle (such as UFO).
    UnknownGsoType(u8),
    /// A super-frame with a segment size of zero.
    ZeroGsoSize,
    /// A super-frame whose checksum is already final: the kernel needs it partial.
    GsoWithoutPartialCsum,
}

impl VnetHdr {
    /// Reads a header from its wire bytes.
    pub fn parse(b: &[u8; VNET_HDR_LEN]) -> Self {
        let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        VnetHdr {
            flags: b[0],
            gso_type: b[1],
            hdr_len: u16_at(2),
            gso_size: u16_at(4),
            csum_start: u16_at(6),
            csum_offset: u16_at(8),
        }
    }

    /// The header's wire bytes.
    pub fn emit(&self) -> [u8; VNET_HDR_LEN] {
        let mut b = [0u8; VNET_HDR_LEN];
        b[0] = self.flags;
        b[1] = self.gso_type;
        b[2..4].copy_from_slice(&self.hdr_len.to_le_bytes());
        b[4..6].copy_from_slice(&self.gso_size.to_le_bytes());
        b[6..8].copy_from_slice(&self.csum_start.to_le_bytes());
        b[8..10].copy_from_slice(&self.csum_offset.to_le_bytes());
        b
    }

    /// The offload state this header reports for a frame of `frame_len` bytes.
    pub fn to_meta(&self, frame_len: usize) -> Result<(CsumState, Gso), VnetError> {
        let csum = if self.flags & flags::NEEDS_CSUM != 0 {
            if self.csum_start as usize + self.csum_offset as usize + 2 > frame_len {
                return Err(VnetError::BadCsumOffsets);
            }
            CsumState::Partial { start: self.csum_start, offset: self.csum_offset }
        } else {
            CsumState::Final
        };
        let kind = match self.gso_type & !gso_type::ECN {
            gso_type::NONE => return Ok((csum, Gso::default())),
            gso_type::TCPV4 => GsoKind::TcpV4,
            gso_type::TCPV6 => GsoKind::TcpV6,
            gso_type::UDP_L4 => GsoKind::UdpL4,
            other => return Err(VnetError::UnknownGsoType(other)),
        };
        if self.gso_size == 0 {
            return Err(VnetError::ZeroGsoSize);
        }
        Ok((csum, Gso { kind, size: self.gso_size }))
    }

    /// The header handing `meta`'s offload state for `frame` to the kernel.
    pub fn from_meta(meta: &PacketMeta, frame: &[u8]) -> Result<Self, VnetError> {
        let mut h = VnetHdr::default();
        if let CsumState::Partial { start, offset } = meta.csum {
            let field_end = start as usize + offset as usize + 2;
            if field_end > frame.len() {
                return Err(VnetError::BadCsumOffsets);
            }
            h.flags = flags::NEEDS_CSUM;
            h.csum_start = start;
            h.csum_offset = offset;
            h.hdr_len = field_end as u16;
        }
        let ty = match meta.gso.kind {
            GsoKind::None => return Ok(h),
            GsoKind::TcpV4 => gso_type::TCPV4,
            GsoKind::TcpV6 => gso_type::TCPV6,
            GsoKind::UdpL4 => gso_type::UDP_L4,
        };
        let CsumState::Partial { start, .. } = meta.csum else {
            return Err(VnetError::GsoWithoutPartialCsum);
        };
        if meta.gso.size == 0 {
            return Err(VnetError::ZeroGsoSize);
        }
        let l4 = start as usize;
        h.gso_type = ty;
        h.gso_size = meta.gso.size;
        if ty == gso_type::UDP_L4 {
            h.hdr_len = (l4 + 8).min(frame.len()) as u16;
        } else {
            // TCP: the whole header (data offset), and ECN when the super-frame carries CWR.
            let doff = frame.get(l4 + 12).map_or(20, |b| usize::from(b >> 4) * 4);
            h.hdr_len = (l4 + doff.max(20)).min(frame.len()) as u16;
            if frame.get(l4 + 13).is_some_and(|f| f & 0x80 != 0) {
                h.gso_type |= gso_type::ECN;
            }
        }
        Ok(h)
    }
}

/// How many frames segmenting `p` (a GSO super-frame) produces, for transmit paths that must
/// know before segmenting whether the frames fit; `None` if its headers do not parse.
pub(crate) fn segment_count(p: &PacketBuf) -> Option<usize> {
    let size = usize::from(p.meta.gso.size);
    if size == 0 {
        return None;
    }
    let l = find_layers(p.data())?;
    let l4_hlen = match l.proto {
        ip_proto::TCP => usize::from(p.data().get(l.l4 + 12)? >> 4) * 4,
        ip_proto::UDP => 8,
        _ => return None,
    };
    let payload = p.len().checked_sub(l.l4 + l4_hlen)?;
    Some(payload.div_ceil(size).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the kernel put in front of a 7306-byte TCP/IPv4 super-frame from a veth (captured
    /// with a PACKET_VNET_HDR ring on Linux 6.18): NEEDS_CSUM, TCPV4, hdr_len 66, MSS 1448,
    /// checksum at 34 + 16.
    const TCP_GSO: [u8; 10] = [1, 1, 66, 0, 0xa8, 0x05, 34, 0, 16, 0];

    #[test]
    fn parses_a_kernel_header() {
        let h = VnetHdr::parse(&TCP_GSO);
        assert_eq!(
            h,
            VnetHdr { flags: 1, gso_type: 1, hdr_len: 66, gso_size: 1448, csum_start: 34, csum_offset: 16 }
        );
        assert_eq!(h.emit(), TCP_GSO);
        let (csum, gso) = h.to_meta(7306).unwrap();
        assert_eq!(csum, CsumState::Partial { start: 34, offset: 16 });
        assert_eq!(gso, Gso { kind: GsoKind::TcpV4, size: 1448 });
    }

    #[test]
    fn rejects_what_it_cannot_describe() {
        let h = VnetHdr::parse(&TCP_GSO);
        assert_eq!(h.to_meta(51), Err(VnetError::BadCsumOffsets));
        assert_eq!(h.to_meta(52).map(|m| m.0), Ok(CsumState::Partial { start: 34, offset: 16 }));
        let ufo = VnetHdr { gso_type: gso_type::UDP, gso_size: 1000, ..h };
        assert_eq!(ufo.to_meta(7306), Err(VnetError::UnknownGsoType(3)));
        let zero = VnetHdr { gso_size: 0, ..h };
        assert_eq!(zero.to_meta(7306), Err(VnetError::ZeroGsoSize));
        assert_eq!(VnetHdr::default().to_meta(0), Ok((CsumState::Final, Gso::default())));
        let ecn = VnetHdr { gso_type: gso_type::TCPV6 | gso_type::ECN, ..h };
        assert_eq!(ecn.to_meta(7306).unwrap().1.kind, GsoKind::TcpV6);
    }

    fn tcp_frame(flags: u8) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 20 + 32 + 100];
        f[14 + 20 + 12] = 8 << 4; // data offset 32
        f[14 + 20 + 13] = flags;
        f
    }

    #[test]
    fn builds_headers_from_meta() {
        let f = tcp_frame(0x10);
        let mut m = PacketMeta::default();
        assert_eq!(VnetHdr::from_meta(&m, &f).unwrap(), VnetHdr::default());

        m.csum = CsumState::Partial { start: 34, offset: 16 };
        let h = VnetHdr::from_meta(&m, &f).unwrap();
        assert_eq!((h.flags, h.gso_type, h.hdr_len, h.csum_start, h.csum_offset), (1, 0, 52, 34, 16));

        m.gso = Gso { kind: GsoKind::TcpV4, size: 1448 };
        let h = VnetHdr::from_meta(&m, &f).unwrap();
        assert_eq!((h.gso_type, h.gso_size, h.hdr_len), (gso_type::TCPV4, 1448, 66));
        assert_eq!(h.to_meta(f.len()).unwrap(), (m.csum, m.gso));

        let h = VnetHdr::from_meta(&m, &tcp_frame(0x90)).unwrap();
        assert_eq!(h.gso_type, gso_type::TCPV4 | gso_type::ECN);

        m.gso = Gso { kind: GsoKind::UdpL4, size: 1400 };
        assert_eq!(VnetHdr::from_meta(&m, &f).unwrap().hdr_len, 42);
    }

    #[test]
    fn refuses_states_the_kernel_would_reject() {
        let f = tcp_frame(0x10);
        let mut m = PacketMeta { gso: Gso { kind: GsoKind::TcpV4, size: 1448 }, ..Default::default() };
        assert_eq!(VnetHdr::from_meta(&m, &f), Err(VnetError::GsoWithoutPartialCsum));
        m.csum = CsumState::Partial { start: 34, offset: 16 };
        m.gso.size = 0;
        assert_eq!(VnetHdr::from_meta(&m, &f), Err(VnetError::ZeroGsoSize));
        m.gso = Gso::default();
        m.csum = CsumState::Partial { start: 200, offset: 16 };
        assert_eq!(VnetHdr::from_meta(&m, &f), Err(VnetError::BadCsumOffsets));
    }
}
