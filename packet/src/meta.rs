//! Per-packet metadata carried beside the frame.
//!
//! Offload state follows the virtio-net header (`struct virtio_net_hdr`), which is what Linux
//! reports on AF_PACKET (`PACKET_VNET_HDR`) and TAP (`IFF_VNET_HDR`) and what it accepts back:
//! a frame may arrive with its L4 checksum only *partially* computed (the pseudo-header sum is
//! in the checksum field; the rest must be summed from `start` and stored at `start + offset`),
//! and a TCP/UDP frame may be a segmentation-offload super-frame larger than the MTU, to be cut
//! into `size`-byte segments on the way out. Ports that can take either state pass it on;
//! others complete it in software (see [`crate::offload`]).

/// Where the L4 checksum of a packet stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CsumState {
    /// Nothing pending: the checksum in the packet is final (or absent).
    #[default]
    Final,
    /// The checksum field at `start + offset` (offsets from the frame start) holds the
    /// pseudo-header sum; the ones-complement sum of the bytes from `start` to the end of the
    /// frame must still be folded in.
    Partial {
        /// Offset of the first byte covered by the checksum (the L4 header).
        start: u16,
        /// Offset of the checksum field from `start`.
        offset: u16,
    },
}

/// Kind of a segmentation-offload super-frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GsoKind {
    /// An ordinary frame.
    #[default]
    None,
    /// TCP over IPv4, to be segmented at `size` bytes of payload.
    TcpV4,
    /// TCP over IPv6.
    TcpV6,
    /// UDP, segmented at the L4 level (UDP_L4 / USO).
    UdpL4,
}

/// Segmentation offload state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gso {
    /// What kind of super-frame this is.
    pub kind: GsoKind,
    /// Payload bytes per segment (the MSS for TCP).
    pub size: u16,
}

/// Metadata of one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketMeta {
    /// Datapath port the packet was received on.
    pub in_port: u32,
    /// L4 checksum state.
    pub csum: CsumState,
    /// Segmentation offload state.
    pub gso: Gso,
    /// Receive hash from the port (RSS), when `has_rss_hash`.
    pub rss_hash: u32,
    /// Whether `rss_hash` is valid.
    pub has_rss_hash: bool,
    /// Offset of the L3 header from the frame start, or [`PacketMeta::NO_OFFSET`]. Set by flow
    /// key extraction; kept right by the header rewrites in [`crate::ops`].
    pub l3_ofs: u16,
    /// Offset of the L4 header (TCP, UDP, ICMP, ...), or [`PacketMeta::NO_OFFSET`]. Not set for
    /// fragments other than the first.
    pub l4_ofs: u16,
}

impl PacketMeta {
    /// Marks an absent header offset.
    pub const NO_OFFSET: u16 = u16::MAX;

    /// Metadata of a packet received on `in_port`, with no offsets known yet.
    pub fn new(in_port: u32) -> Self {
        PacketMeta { in_port, ..Default::default() }
    }
}

impl Default for PacketMeta {
    fn default() -> Self {
        PacketMeta {
            in_port: 0,
            csum: CsumState::Final,
            gso: Gso::default(),
            rss_hash: 0,
            has_rss_hash: false,
            l3_ofs: Self::NO_OFFSET,
            l4_ofs: Self::NO_OFFSET,
        }
    }
}
