//! The flow key: every header field and metadata value a rule or megaflow can match, in one
//! fixed-layout struct, extracted from a frame in one pass.
//!
//! # Layout
//! [`FlowKey`] is `#[repr(C)]` and exactly [`FLOW_WORDS`] 64-bit words with no padding, grouped
//! by stage (metadata, tunnel, pipeline registers, L2, L3, L4, ARP/ND), so that masking, hashing
//! and comparing are loops over words. The same struct serves as a mask ([`FlowMask`]): a set
//! bit means "this bit of the key matters".
//!
//! Values are stored as native integers holding the *numeric* value of the field (an IPv4
//! address 10.0.0.1 is `0x0a000001`, a MAC address is its 48-bit number), so that field
//! descriptors ([`crate::field`]) can read and write any field generically.
//!
//! # Conventions (those of Open vSwitch's `struct flow`)
//! * `vlan_tci` holds the outer 802.1Q TCI with bit 0x1000 (the DEI/CFI bit position) set when
//!   a tag is present and clear when the frame is untagged. The frame's DEI bit is not kept.
//! * `dl_type` is the ethertype after the outer VLAN tag; 802.3 frames get [`DL_TYPE_NONE`].
//! * ARP: `nw_proto` holds the low byte of the opcode, `nw_src`/`nw_dst` the sender/target
//!   protocol addresses, `arp_sha`/`arp_tha` the hardware addresses.
//! * ICMP and ICMPv6: `tp_src` holds the type and `tp_dst` the code.
//! * IPv6 neighbour discovery: `nd_target`, with `arp_sha`/`arp_tha` holding the source and
//!   target link-layer address options.
//! * `nw_frag`: [`FRAG_ANY`] for any fragment, plus [`FRAG_LATER`] for non-first fragments,
//!   whose L4 fields stay zero.
//!
//! # Extraction and bad input
//! [`FlowKey::extract`] walks Ethernet, one or two VLAN tags, then ARP, IPv4 or IPv6 (with
//! extension headers), then TCP, UDP, SCTP, ICMP or ICMPv6. Each header is checked once. A
//! frame whose headers are truncated or inconsistent (an IPv4 IHL below 5, a total length
//! beyond the frame, a TCP data offset beyond the segment, ...) yields a [`Malformed`] reason;
//! the datapath counts it under that reason and drops the packet.
//!
//! # Cost
//! One pass, no allocation; the key is written in place. Extraction also returns the header
//! offsets that datapath actions need ([`HeaderOffsets`]). Fields that share a word are
//! gathered in registers and the word is stored whole: the exact-match cache hashes the
//! words right after, and a load spanning several narrower stores cannot be forwarded from
//! the store buffer (it waits for them to reach the cache). Writing field by field cost the
//! EMC path about a fifth of its time. Compile-time assertions check the layout the packing
//! assumes; a property test checks the extraction against the field-by-field one it replaced.
//!
//! # Word maps
//! [`FlowKey::extract_mapped`] also returns a bitmap of the words extraction may have written
//! (metadata word 0, the L2 words, and the L3/L4/ARP words of the protocol found). It depends
//! only on the frame's protocols, so equal keys get equal maps, and every word outside it is
//! zero. The exact-match cache hashes and compares only those words (7 of 30 for IPv4)
//! instead of scanning the whole key for its non-zero words ([`FlowKey::nonzero_map`]).

use bytemuck::{Pod, Zeroable};
use rvs_packet::wire::{self, ethernet, ip_proto, ipv4, EtherType};

/// Number of 64-bit words in a [`FlowKey`].
pub const FLOW_WORDS: usize = 30;

/// `dl_type` of frames without an Ethernet II ethertype (802.3 length field).
pub const DL_TYPE_NONE: u16 = 0x05ff;
/// Bit of `vlan_tci` meaning "a VLAN tag is present".
pub const VLAN_PRESENT: u16 = 0x1000;
/// VLAN id bits of `vlan_tci`.
pub const VLAN_VID_MASK: u16 = 0x0fff;
/// PCP bits of `vlan_tci`.
pub const VLAN_PCP_MASK: u16 = 0xe000;
/// `nw_frag` bit: the packet is a fragment.
pub const FRAG_ANY: u8 = 1;
/// `nw_frag` bit: the packet is a fragment other than the first.
pub const FRAG_LATER: u8 = 2;
/// Both `nw_frag` bits.
pub const FRAG_MASK: u8 = 3;

/// The flow key. See the module documentation for layout and conventions.
#[repr(C, align(16))]
#[derive(Clone, Copy, Eq, Pod, Zeroable)]
pub struct FlowKey {
    // --- datapath metadata (w0..w1)
    /// Input port (datapath port in the datapath; OpenFlow port during translation).
    pub in_port: u32,
    /// Recirculation id (0 for packets fresh from a port).
    pub recirc_id: u32,
    /// Datapath hash, for select groups and bundles.
    pub dp_hash: u32,
    /// Packet mark (skb mark).
    pub pkt_mark: u32,
    // --- tunnel metadata (w2..w4)
    /// Tunnel key (VNI / GRE key).
    pub tun_id: u64,
    /// Outer IPv4 source of the tunnel the packet came from.
    pub tun_src: u32,
    /// Outer IPv4 destination.
    pub tun_dst: u32,
    /// Tunnel flags (OVS `tun_flags`).
    pub tun_flags: u16,
    /// Outer TOS.
    pub tun_tos: u8,
    /// Outer TTL.
    pub tun_ttl: u8,
    /// Connection tracking state bits.
    pub ct_state: u32,
    // --- pipeline metadata (w5..w13)
    /// OpenFlow metadata.
    pub metadata: u64,
    /// Registers reg0..reg15.
    pub regs: [u32; 16],
    // --- L2 (w14..w16)
    /// Ethernet destination (48-bit number).
    pub dl_dst: u64,
    /// Ethernet source (48-bit number).
    pub dl_src: u64,
    /// Ethertype after the outer VLAN tag.
    pub dl_type: u16,
    /// Outer VLAN TCI, with [`VLAN_PRESENT`] set when tagged.
    pub vlan_tci: u16,
    /// IP protocol (or low byte of the ARP opcode).
    pub nw_proto: u8,
    /// IP TOS / IPv6 traffic class (DSCP << 2 | ECN).
    pub nw_tos: u8,
    /// IP TTL / IPv6 hop limit.
    pub nw_ttl: u8,
    /// Fragment bits ([`FRAG_ANY`], [`FRAG_LATER`]).
    pub nw_frag: u8,
    // --- L3 (w17..w22)
    /// IPv4 source (or ARP sender protocol address).
    pub nw_src: u32,
    /// IPv4 destination (or ARP target protocol address).
    pub nw_dst: u32,
    /// IPv6 source.
    pub ipv6_src: u128,
    /// IPv6 destination.
    pub ipv6_dst: u128,
    /// IPv6 flow label (20 bits).
    pub ipv6_label: u32,
    // --- L4 (w22..w23)
    /// TCP/UDP/SCTP source port, or ICMP type.
    pub tp_src: u16,
    /// TCP/UDP/SCTP destination port, or ICMP code.
    pub tp_dst: u16,
    /// TCP flags (12 bits).
    pub tcp_flags: u16,
    /// Connection tracking zone.
    pub ct_zone: u16,
    /// Connection tracking mark.
    pub ct_mark: u32,
    // --- ARP / ND (w24..w27)
    /// ARP sender hardware address, or ND source link-layer address.
    pub arp_sha: u64,
    /// ARP target hardware address, or ND target link-layer address.
    pub arp_tha: u64,
    /// IPv6 ND target address.
    pub nd_target: u128,
    // --- translation only (w28..w29)
    /// Conjunction id (`conj_id`): set by a conjunctive match during a table lookup (see
    /// [`crate::pipeline`]); zero in every packet's key and never in a megaflow.
    pub conj_id: u32,
    /// Padding to a multiple of 16 bytes (always zero).
    pub pad: [u32; 3],
}

const _: () = assert!(std::mem::size_of::<FlowKey>() == FLOW_WORDS * 8);

/// A mask over a [`FlowKey`]: a set bit means the key's bit matters.
pub type FlowMask = FlowKey;

impl Default for FlowKey {
    fn default() -> Self {
        Self::zeroed()
    }
}

/// Word indexes of the key's stages, for staged lookups and diagnostics.
pub mod words {
    /// First word of the L2 stage (`dl_dst`).
    pub const L2: usize = 14;
    /// First word of the L3 stage (`nw_src`/`nw_dst`).
    pub const L3: usize = 17;
    /// The word holding `tp_src`/`tp_dst` (and `ipv6_label`).
    pub const L4: usize = 22;
}

/// Word maps of extracted keys (see "Word maps" in the module documentation).
pub mod extract_map {
    /// `in_port` (word 0), `dl_dst`, `dl_src`, and the word of `dl_type`, `vlan_tci` and the
    /// IP protocol, TOS, TTL and fragment bits: every extracted key.
    pub const BASE: u32 = 1 | 1 << 14 | 1 << 15 | 1 << 16;
    /// IPv4: `nw_src`/`nw_dst`, the L4 ports and TCP flags.
    pub const IPV4: u32 = BASE | 1 << 17 | 1 << 22 | 1 << 23;
    /// IPv6: addresses, flow label, L4 ports and TCP flags.
    pub const IPV6: u32 = BASE | 0b1111 << 18 | 1 << 22 | 1 << 23;
    /// IPv6 neighbour discovery: [`IPV6`] plus the link-layer addresses and the target.
    pub const IPV6_ND: u32 = IPV6 | 0b1111 << 24;
    /// ARP: protocol and hardware addresses.
    pub const ARP: u32 = BASE | 1 << 17 | 1 << 24 | 1 << 25;
}

impl FlowKey {
    /// The all-zero key, or the mask that matches everything.
    pub const ZERO: FlowKey = unsafe { std::mem::transmute([0u64; FLOW_WORDS]) };

    /// The mask with every bit set (exact match).
    pub fn exact() -> FlowMask {
        bytemuck::cast([u64::MAX; FLOW_WORDS])
    }

    /// The key as words.
    #[inline(always)]
    pub fn words(&self) -> &[u64; FLOW_WORDS] {
        bytemuck::cast_ref(self)
    }

    /// The key as words, writable.
    #[inline(always)]
    pub fn words_mut(&mut self) -> &mut [u64; FLOW_WORDS] {
        bytemuck::cast_mut(self)
    }

    /// The key as bytes (native layout).
    #[inline(always)]
    pub fn as_bytes(&self) -> &[u8] {
        bytemuck::bytes_of(self)
    }

    /// The key as bytes, writable.
    #[inline(always)]
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        bytemuck::bytes_of_mut(self)
    }

    /// Bitmap of the words that are non-zero. (With SSE4.1, two words per compare: the
    /// scalar loop does not vectorise, and cost 200 instructions per flow setup.)
    #[inline]
    pub fn nonzero_map(&self) -> u32 {
        #[cfg(all(target_arch = "x86_64", target_feature = "sse4.1"))]
        {
            use std::arch::x86_64::{__m128i, _mm_castsi128_pd, _mm_cmpeq_epi64, _mm_loadu_si128, _mm_movemask_pd, _mm_setzero_si128};
            const { assert!(FLOW_WORDS % 2 == 0) };
            let w = self.words();
            let mut m = 0;
            for i in (0..FLOW_WORDS).step_by(2) {
                // SAFETY: words i and i + 1 are in the array (FLOW_WORDS is even); the load
                // is unaligned; SSE4.1 is enabled at compile time (see .cargo/config.toml).
                let zero = unsafe {
                    let v = _mm_loadu_si128(w.as_ptr().add(i).cast::<__m128i>());
                    _mm_movemask_pd(_mm_castsi128_pd(_mm_cmpeq_epi64(v, _mm_setzero_si128()))) as u32
                };
                m |= (!zero & 3) << i;
            }
            m
        }
        #[cfg(not(all(target_arch = "x86_64", target_feature = "sse4.1")))]
        {
            nonzero_map_scalar(self)
        }
    }

    /// `self & mask`, word by word.
    #[inline]
    pub fn masked(&self, mask: &FlowMask) -> FlowKey {
        let mut out = FlowKey::ZERO;
        self.masked_into(mask, &mut out);
        out
    }

    /// Writes `self & mask` into `out` (no copy through the stack when `out` is in a heap
    /// block).
    #[inline]
    pub fn masked_into(&self, mask: &FlowMask, out: &mut FlowKey) {
        for ((o, k), m) in out.words_mut().iter_mut().zip(self.words()).zip(mask.words()) {
            *o = k & m;
        }
    }

    /// ORs `other` into `self` (mask union).
    #[inline]
    pub fn or_assign(&mut self, other: &FlowMask) {
        for (a, b) in self.words_mut().iter_mut().zip(other.words()) {
            *a |= b;
        }
    }

    /// True if `self` and `other` agree on every bit of `mask`.
    #[inline]
    pub fn equal_under(&self, other: &FlowKey, mask: &FlowMask) -> bool {
        let mut diff = 0;
        for ((a, b), m) in self.words().iter().zip(other.words()).zip(mask.words()) {
            diff |= (a ^ b) & m;
        }
        diff == 0
    }

    /// [`FlowKey::equal_under`], reading only the words in `map`, which must cover every
    /// non-zero word of `mask` (a catch-all mask compares nothing).
    #[inline]
    pub fn equal_under_map(&self, other: &FlowKey, mask: &FlowMask, map: u32) -> bool {
        let (a, b, m) = (self.words(), other.words(), mask.words());
        let mut bits = map;
        let mut diff = 0;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            diff |= (a[i] ^ b[i]) & m[i];
            bits &= bits - 1;
        }
        diff == 0
    }

    /// True if `self` and `other` agree on the words in `map`. For two masks with the same
    /// non-zero map, or two keys masked by one mask whose map this is, the same as `==`
    /// (the other words are zero in both), without reading all of them.
    #[inline]
    pub fn equal_in_map(&self, other: &FlowKey, map: u32) -> bool {
        let (a, b) = (self.words(), other.words());
        let mut bits = map;
        let mut diff = 0;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            diff |= a[i] ^ b[i];
            bits &= bits - 1;
        }
        diff == 0
    }

    /// True if every bit set in `self` (a mask) is also set in `other`.
    pub fn is_subset_of(&self, other: &FlowMask) -> bool {
        self.words().iter().zip(other.words()).all(|(a, b)| a & !b == 0)
    }

    /// True for the mask that matches everything.
    pub fn is_zero(&self) -> bool {
        self.words().iter().all(|w| *w == 0)
    }

    /// Hash of the words in `map` (a bitmap of word indexes), seeded with `basis`.
    /// Equal keys give equal hashes for the same `map`; words outside `map` are not read.
    #[inline]
    pub fn hash_words(&self, map: u32, basis: u32) -> u32 {
        let w = self.words();
        let mut h = basis as u64;
        let mut m = map;
        while m != 0 {
            let i = m.trailing_zeros() as usize;
            h = hash_add(h, w[i]);
            m &= m - 1;
        }
        hash_finish(h)
    }

    /// [`FlowKey::hash_words`] with the map known at compile time (the loop unrolls). Equal to
    /// `self.hash_words(MAP, basis)`.
    #[inline(always)]
    pub fn hash_words_const<const MAP: u32>(&self, basis: u32) -> u32 {
        let w = self.words();
        let mut h = basis as u64;
        let mut m = MAP;
        while m != 0 {
            h = hash_add(h, w[m.trailing_zeros() as usize]);
            m &= m - 1;
        }
        hash_finish(h)
    }

    /// Hash of `self & mask` over the words in `map`, which must cover every non-zero word of
    /// `mask`. Equal to `self.masked(mask).hash_words(map, basis)`, without building the copy.
    #[inline]
    pub fn hash_masked(&self, mask: &FlowMask, map: u32, basis: u32) -> u32 {
        let w = self.words();
        let mw = mask.words();
        let mut h = basis as u64;
        let mut m = map;
        while m != 0 {
            let i = m.trailing_zeros() as usize;
            h = hash_add(h, w[i] & mw[i]);
            m &= m - 1;
        }
        hash_finish(h)
    }

    /// Whether the frame carried a VLAN tag.
    #[inline]
    pub fn has_vlan(&self) -> bool {
        self.vlan_tci & VLAN_PRESENT != 0
    }

    /// True for IPv4 packets.
    #[inline]
    pub fn is_ipv4(&self) -> bool {
        self.dl_type == EtherType::IPV4
    }

    /// True for IPv6 packets.
    #[inline]
    pub fn is_ipv6(&self) -> bool {
        self.dl_type == EtherType::IPV6
    }

    /// True for IPv4 or IPv6.
    #[inline]
    pub fn is_ip_any(&self) -> bool {
        self.is_ipv4() || self.is_ipv6()
    }
}

/// [`FlowKey::nonzero_map`], one word at a time.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse4.1"), allow(dead_code))]
fn nonzero_map_scalar(key: &FlowKey) -> u32 {
    let mut m = 0;
    for (i, w) in key.words().iter().enumerate() {
        m |= ((*w != 0) as u32) << i;
    }
    m
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse4.2"))]
#[inline(always)]
pub(crate) fn hash_add(h: u64, w: u64) -> u64 {
    // SAFETY: the target feature is enabled at compile time (see .cargo/config.toml).
    unsafe { std::arch::x86_64::_mm_crc32_u64(h, w) }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse4.2")))]
#[inline(always)]
pub(crate) fn hash_add(h: u64, w: u64) -> u64 {
    (h ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29)
}

#[inline(always)]
pub(crate) fn hash_finish(h: u64) -> u32 {
    let h = (h ^ (h >> 31)).wrapping_mul(0x7fb5_d329_728e_a185);
    (h ^ (h >> 27)) as u32
}

/// Word by word (the key has no padding: every byte is a field), not field by field as the
/// derived comparison did, at several times the cost on flow setups.
impl PartialEq for FlowKey {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.words() == other.words()
    }
}

impl std::fmt::Debug for FlowKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only the non-zero fields, by name, so that test failures are readable.
        let mut d = f.debug_struct("FlowKey");
        for field in crate::field::Field::ALL {
            let v = field.get(self);
            if v != 0 && !field.desc().is_subfield {
                d.field(field.name(), &format_args!("{v:#x}"));
            }
        }
        d.finish()
    }
}

/// Why a frame was not forwarded: its headers are truncated or inconsistent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Malformed {
    /// Shorter than an Ethernet header.
    EthTruncated,
    /// A VLAN tag is cut off.
    VlanTruncated,
    /// An ARP packet shorter than 28 bytes.
    ArpTruncated,
    /// IPv4 header shorter than 20 bytes.
    Ipv4Truncated,
    /// IPv4 version field is not 4.
    Ipv4BadVersion,
    /// IPv4 IHL below 5.
    Ipv4BadIhl,
    /// IPv4 header (IHL) longer than the frame.
    Ipv4HeaderBeyondFrame,
    /// IPv4 total length shorter than its header.
    Ipv4TotalLenTooShort,
    /// IPv4 total length beyond the frame.
    Ipv4TotalLenBeyondFrame,
    /// IPv6 header cut off or not version 6.
    Ipv6Truncated,
    /// IPv6 payload length beyond the frame.
    Ipv6PayloadBeyondFrame,
    /// An IPv6 extension header cut off (or too many of them).
    Ipv6ExtTruncated,
    /// TCP header cut off, or its data offset below 5 or beyond the segment.
    TcpTruncated,
    /// UDP header cut off, or its length field inconsistent with the IP payload.
    UdpTruncated,
    /// SCTP common header cut off.
    SctpTruncated,
    /// ICMP header cut off.
    IcmpTruncated,
    /// ICMPv6 header cut off, or a neighbour discovery message malformed.
    Icmpv6Truncated,
}

impl Malformed {
    /// Number of reasons.
    pub const COUNT: usize = 17;

    /// All reasons, in counter order.
    pub const ALL: [Malformed; Self::COUNT] = [
        Malformed::EthTruncated,
        Malformed::VlanTruncated,
        Malformed::ArpTruncated,
        Malformed::Ipv4Truncated,
        Malformed::Ipv4BadVersion,
        Malformed::Ipv4BadIhl,
        Malformed::Ipv4HeaderBeyondFrame,
        Malformed::Ipv4TotalLenTooShort,
        Malformed::Ipv4TotalLenBeyondFrame,
        Malformed::Ipv6Truncated,
        Malformed::Ipv6PayloadBeyondFrame,
        Malformed::Ipv6ExtTruncated,
        Malformed::TcpTruncated,
        Malformed::UdpTruncated,
        Malformed::SctpTruncated,
        Malformed::IcmpTruncated,
        Malformed::Icmpv6Truncated,
    ];

    /// Short name, for counters (`rvs-appctl dpif-netdev/pmd-stats-show`, `coverage/show`).
    pub const fn name(self) -> &'static str {
        match self {
            Malformed::EthTruncated => "eth_truncated",
            Malformed::VlanTruncated => "vlan_truncated",
            Malformed::ArpTruncated => "arp_truncated",
            Malformed::Ipv4Truncated => "ipv4_truncated",
            Malformed::Ipv4BadVersion => "ipv4_bad_version",
            Malformed::Ipv4BadIhl => "ipv4_bad_ihl",
            Malformed::Ipv4HeaderBeyondFrame => "ipv4_header_beyond_frame",
            Malformed::Ipv4TotalLenTooShort => "ipv4_total_len_too_short",
            Malformed::Ipv4TotalLenBeyondFrame => "ipv4_total_len_beyond_frame",
            Malformed::Ipv6Truncated => "ipv6_truncated",
            Malformed::Ipv6PayloadBeyondFrame => "ipv6_payload_beyond_frame",
            Malformed::Ipv6ExtTruncated => "ipv6_ext_truncated",
            Malformed::TcpTruncated => "tcp_truncated",
            Malformed::UdpTruncated => "udp_truncated",
            Malformed::SctpTruncated => "sctp_truncated",
            Malformed::IcmpTruncated => "icmp_truncated",
            Malformed::Icmpv6Truncated => "icmpv6_truncated",
        }
    }
}

/// Header offsets found during extraction ([`rvs_packet::PacketMeta::NO_OFFSET`] if absent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderOffsets {
    /// Offset of the L3 header (IP or ARP).
    pub l3: u16,
    /// Offset of the L4 header.
    pub l4: u16,
}

const NO: u16 = rvs_packet::PacketMeta::NO_OFFSET;

#[inline(always)]
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}


impl FlowKey {
    /// Extracts the key of `frame` received on `in_port` into `self`, which is overwritten.
    /// Returns the header offsets, or why the frame is malformed (the key is then partial and
    /// must not be used).
    #[inline]
    pub fn extract(&mut self, frame: &[u8], in_port: u32) -> Result<HeaderOffsets, Malformed> {
        self.extract_mapped(frame, in_port).map(|(off, _)| off)
    }

    /// As [`FlowKey::extract`], also returning the key's word map (see the module
    /// documentation): a bitmap of word indexes outside which every word of the key is zero,
    /// equal for equal keys.
    ///
    /// Always inlined: returned through memory, the offsets (two 16-bit stores) were read
    /// back by the PMD as one 32-bit load, which the store buffer cannot forward, a stall on
    /// every packet (perf annotate of the PMD under rvs-bench, 1flow).
    #[inline(always)]
    pub fn extract_mapped(&mut self, frame: &[u8], in_port: u32) -> Result<(HeaderOffsets, u32), Malformed> {
        *self = FlowKey::ZERO;
        // Words are written whole, from values gathered in registers: the exact-match cache
        // hashes them right after, and a load that spans several narrower stores cannot be
        // forwarded from the store buffer (it waits until they reach the cache, some 20
        // cycles; this alone cost a fifth of the EMC path's time).
        self.words_mut()[0] = pack_u32x2(in_port, 0);
        let mut off = HeaderOffsets { l3: NO, l4: NO };
        let Some(eth) = frame.first_chunk::<{ ethernet::HEADER_LEN }>() else {
            return Err(Malformed::EthTruncated);
        };
        // The addresses as 48-bit numbers (from the fixed-size header: no bounds checks).
        let w = self.words_mut();
        w[14] = u64::from_be_bytes([0, 0, eth[0], eth[1], eth[2], eth[3], eth[4], eth[5]]);
        w[15] = u64::from_be_bytes([eth[4], eth[5], eth[6], eth[7], eth[8], eth[9], eth[10], eth[11]]) & 0xffff_ffff_ffff;
        let mut at = 14;
        let mut ethertype = u16::from_be_bytes([eth[12], eth[13]]);
        let mut vlan_tci = 0;
        if ethertype == EtherType::VLAN || ethertype == EtherType::QINQ {
            if frame.len() < at + 4 {
                return Err(Malformed::VlanTruncated);
            }
            vlan_tci = (be16(frame, at) & !wire::vlan::DEI) | VLAN_PRESENT;
            ethertype = be16(frame, at + 2);
            at += 4;
            // An inner (customer) tag behind a service tag: skip it, as OVS does without
            // double-tag matching.
            if ethertype == EtherType::VLAN || ethertype == EtherType::QINQ {
                if frame.len() < at + 4 {
                    return Err(Malformed::VlanTruncated);
                }
                ethertype = be16(frame, at + 2);
                at += 4;
            }
        }
        let mut l3w = L3Word::new(ethertype, vlan_tci);
        let map = if ethertype < EtherType::MIN {
            l3w.set_dl_type(DL_TYPE_NONE);
            extract_map::BASE
        } else {
            let l3 = &frame[at..];
            match ethertype {
                EtherType::IPV4 => {
                    off.l3 = at as u16;
                    self.extract_ipv4(l3, at, &mut l3w, &mut off)?;
                    extract_map::IPV4
                }
                EtherType::IPV6 => {
                    off.l3 = at as u16;
                    self.extract_ipv6(frame, at, &mut l3w, &mut off)?
                }
                EtherType::ARP | EtherType::RARP => {
                    off.l3 = at as u16;
                    self.extract_arp(l3, &mut l3w)?;
                    extract_map::ARP
                }
                _ => extract_map::BASE,
            }
        };
        self.words_mut()[16] = l3w.pack();
        debug_assert_eq!(self.nonzero_map() & !map, 0, "extraction wrote outside its word map");
        Ok((off, map))
    }

    /// IPv4 (`l3` from the IP header on, at offset `at` of the frame): words 17, 22 and 23.
    #[inline(always)]
    fn extract_ipv4(&mut self, l3: &[u8], at: usize, l3w: &mut L3Word, off: &mut HeaderOffsets) -> Result<(), Malformed> {
        // The checks of `wire::Ipv4Packet::new_validated`, in its order, on a fixed-size view
        // of the header (no per-field bounds checks).
        let Some(h) = l3.first_chunk::<{ ipv4::MIN_HEADER_LEN }>() else {
            return Err(Malformed::Ipv4Truncated);
        };
        if h[0] >> 4 != 4 {
            return Err(Malformed::Ipv4BadVersion);
        }
        let hlen = (h[0] & 0x0f) as usize * 4;
        if hlen < ipv4::MIN_HEADER_LEN {
            return Err(Malformed::Ipv4BadIhl);
        }
        if hlen > l3.len() {
            return Err(Malformed::Ipv4HeaderBeyondFrame);
        }
        let total = u16::from_be_bytes([h[2], h[3]]) as usize;
        if total < hlen {
            return Err(Malformed::Ipv4TotalLenTooShort);
        }
        if total > l3.len() {
            return Err(Malformed::Ipv4TotalLenBeyondFrame);
        }
        l3w.set_nw_proto(h[9]);
        l3w.set_nw_tos(h[1]);
        l3w.set_nw_ttl(h[8]);
        let nw_src = u32::from_be_bytes([h[12], h[13], h[14], h[15]]);
        let nw_dst = u32::from_be_bytes([h[16], h[17], h[18], h[19]]);
        self.words_mut()[17] = pack_u32x2(nw_src, nw_dst);
        let flags_frag = u16::from_be_bytes([h[6], h[7]]);
        if flags_frag & (ipv4::FLAG_MF | ipv4::FRAG_OFFSET_MASK) != 0 {
            l3w.set_nw_frag(FRAG_ANY);
            if flags_frag & ipv4::FRAG_OFFSET_MASK != 0 {
                l3w.set_nw_frag(FRAG_ANY | FRAG_LATER);
                return Ok(());
            }
        }
        let mut l4 = L4Fields::default();
        if extract_l4(&l3[hlen..total], l3w.nw_proto(), l3w.nw_frag(), true, &mut l4)? {
            let w = self.words_mut();
            w[22] = pack_u32x2(0, pack_u16x2(l4.tp_src, l4.tp_dst));
            w[23] = pack_u16x4(l4.tcp_flags, 0, 0, 0);
            off.l4 = (at + hlen) as u16;
        }
        Ok(())
    }

    /// IPv6 at offset `at` of `frame`: addresses, words 22 and 23, neighbour discovery.
    /// Returns the word map.
    fn extract_ipv6(&mut self, frame: &[u8], at: usize, l3w: &mut L3Word, off: &mut HeaderOffsets) -> Result<u32, Malformed> {
        let l3 = &frame[at..];
        if l3.len() < wire::ipv6::HEADER_LEN || l3[0] >> 4 != 6 {
            return Err(Malformed::Ipv6Truncated);
        }
        let ip = wire::Ipv6Packet::new_checked(l3).map_err(|_| Malformed::Ipv6PayloadBeyondFrame)?;
        self.ipv6_src = ip.src();
        self.ipv6_dst = ip.dst();
        let label = ip.flow_label();
        l3w.set_nw_tos(ip.traffic_class());
        l3w.set_nw_ttl(ip.hop_limit());
        let ext = ip.walk_extensions().map_err(|_| Malformed::Ipv6ExtTruncated)?;
        l3w.set_nw_proto(ext.protocol);
        let mut map = extract_map::IPV6;
        let mut l4 = L4Fields::default();
        let mut has_l4 = false;
        if ext.fragment {
            l3w.set_nw_frag(FRAG_ANY);
            if ext.later_fragment {
                l3w.set_nw_frag(FRAG_ANY | FRAG_LATER);
            }
        }
        let end = at + wire::ipv6::HEADER_LEN + ip.payload_len() as usize;
        let l4_at = at + ext.offset;
        if l3w.nw_frag() & FRAG_LATER == 0 {
            has_l4 = extract_l4(&frame[l4_at..end], l3w.nw_proto(), l3w.nw_frag(), false, &mut l4)?;
        }
        let w = self.words_mut();
        w[22] = pack_u32x2(label, pack_u16x2(l4.tp_src, l4.tp_dst));
        w[23] = pack_u16x4(l4.tcp_flags, 0, 0, 0);
        if has_l4 {
            off.l4 = l4_at as u16;
            if l3w.nw_proto() == ip_proto::ICMPV6 {
                map = extract_map::IPV6_ND;
                self.extract_nd(&frame[l4_at..end], l4.tp_src as u8, l4.tp_dst as u8)?;
            }
        } else if l3w.nw_proto() == ip_proto::ICMPV6 {
            map = extract_map::IPV6_ND;
        }
        Ok(map)
    }

    /// ARP (Ethernet/IPv4 only has fields in the key; others match on `dl_type` only).
    fn extract_arp(&mut self, l3: &[u8], l3w: &mut L3Word) -> Result<(), Malformed> {
        if l3.len() < wire::arp::HEADER_LEN {
            return Err(Malformed::ArpTruncated);
        }
        if let Ok(arp) = wire::ArpPacket::new_checked(l3) {
            if arp.htype() == 1 && arp.ptype() == EtherType::IPV4 {
                let op = arp.oper();
                if op <= 0xff {
                    l3w.set_nw_proto(op as u8);
                }
                self.words_mut()[17] = pack_u32x2(arp.spa(), arp.tpa());
                self.arp_sha = arp.sha().to_u64();
                self.arp_tha = arp.tha().to_u64();
            }
        }
        Ok(())
    }

    /// Neighbour discovery fields of an ICMPv6 message of type `ty` and code `code`.
    fn extract_nd(&mut self, l4: &[u8], ty: u8, code: u8) -> Result<(), Malformed> {
        if code == 0 && (ty == wire::icmpv6::ND_NEIGHBOR_SOLICIT || ty == wire::icmpv6::ND_NEIGHBOR_ADVERT) {
            let nd = wire::NdMessage::parse(l4).map_err(|_| Malformed::Icmpv6Truncated)?;
            self.nd_target = nd.target;
            if ty == wire::icmpv6::ND_NEIGHBOR_SOLICIT {
                self.arp_sha = nd.sll.map_or(0, |m| m.to_u64());
            } else {
                self.arp_tha = nd.tll.map_or(0, |m| m.to_u64());
            }
        }
        Ok(())
    }
}

/// The L4 fields of the key.
#[derive(Clone, Copy, Default)]
struct L4Fields {
    tp_src: u16,
    tp_dst: u16,
    tcp_flags: u16,
}

/// L4 of a non-fragment or first fragment (`l4` runs to the end of the IP payload): fills
/// `out` and returns true if the protocol has fields in the key (false if it has none, or a
/// first fragment cut them off), or says why the header is malformed. (An out-parameter
/// rather than an `Option` in the result keeps the fields in registers once inlined.)
#[inline(always)]
fn extract_l4(l4: &[u8], nw_proto: u8, nw_frag: u8, is_v4: bool, out: &mut L4Fields) -> Result<bool, Malformed> {
    let first_fragment = nw_frag & FRAG_ANY != 0;
    // A first fragment may legitimately carry only part of the L4 header: leave L4 empty.
    let short = |need: usize, reason: Malformed| -> Result<bool, Malformed> {
        if l4.len() >= need {
            Ok(false)
        } else if first_fragment {
            Ok(true)
        } else {
            Err(reason)
        }
    };
    match nw_proto {
        ip_proto::TCP => {
            if short(wire::tcp::MIN_HEADER_LEN, Malformed::TcpTruncated)? {
                return Ok(false);
            }
            let tcp = wire::TcpHeader::new_unchecked(l4);
            let hl = tcp.header_len();
            if hl < wire::tcp::MIN_HEADER_LEN || hl > l4.len() {
                if first_fragment {
                    return Ok(false);
                }
                return Err(Malformed::TcpTruncated);
            }
            *out = L4Fields { tp_src: tcp.src_port(), tp_dst: tcp.dst_port(), tcp_flags: tcp.flags() };
        }
        ip_proto::UDP => {
            if short(wire::udp::HEADER_LEN, Malformed::UdpTruncated)? {
                return Ok(false);
            }
            let udp = wire::UdpHeader::new_unchecked(l4);
            let ulen = udp.length() as usize;
            // UDP length 0 is allowed for IPv6 jumbograms only; otherwise it must fit.
            let jumbogram = ulen == 0 && !is_v4;
            if !first_fragment && !jumbogram && (ulen < wire::udp::HEADER_LEN || ulen > l4.len()) {
                return Err(Malformed::UdpTruncated);
            }
            *out = L4Fields { tp_src: udp.src_port(), tp_dst: udp.dst_port(), tcp_flags: 0 };
        }
        ip_proto::SCTP => {
            if short(12, Malformed::SctpTruncated)? {
                return Ok(false);
            }
            *out = L4Fields { tp_src: be16(l4, 0), tp_dst: be16(l4, 2), tcp_flags: 0 };
        }
        ip_proto::ICMP if is_v4 => {
            if short(wire::icmp::HEADER_LEN, Malformed::IcmpTruncated)? {
                return Ok(false);
            }
            *out = L4Fields { tp_src: l4[0] as u16, tp_dst: l4[1] as u16, tcp_flags: 0 };
        }
        ip_proto::ICMPV6 if !is_v4 => {
            if short(wire::icmpv6::HEADER_LEN, Malformed::Icmpv6Truncated)? {
                return Ok(false);
            }
            *out = L4Fields { tp_src: l4[0] as u16, tp_dst: l4[1] as u16, tcp_flags: 0 };
        }
        _ => return Ok(false),
    }
    Ok(true)
}

// Whole-word packing, in the key's memory layout (native byte order), for the words the
// extraction writes whole: see the offsets checked below.
const _: () = {
    use std::mem::offset_of;
    assert!(offset_of!(FlowKey, in_port) == 0 && offset_of!(FlowKey, recirc_id) == 4);
    assert!(offset_of!(FlowKey, dl_type) == 16 * 8 && offset_of!(FlowKey, vlan_tci) == 16 * 8 + 2);
    assert!(offset_of!(FlowKey, nw_proto) == 16 * 8 + 4 && offset_of!(FlowKey, nw_tos) == 16 * 8 + 5);
    assert!(offset_of!(FlowKey, nw_ttl) == 16 * 8 + 6 && offset_of!(FlowKey, nw_frag) == 16 * 8 + 7);
    assert!(offset_of!(FlowKey, nw_src) == 17 * 8 && offset_of!(FlowKey, nw_dst) == 17 * 8 + 4);
    assert!(offset_of!(FlowKey, ipv6_label) == 22 * 8 && offset_of!(FlowKey, tp_src) == 22 * 8 + 4);
    assert!(offset_of!(FlowKey, tp_dst) == 22 * 8 + 6 && offset_of!(FlowKey, tcp_flags) == 23 * 8);
};

/// A word holding `a` then `b` (two `u32` fields).
#[inline(always)]
fn pack_u32x2(a: u32, b: u32) -> u64 {
    if cfg!(target_endian = "little") {
        a as u64 | (b as u64) << 32
    } else {
        (a as u64) << 32 | b as u64
    }
}

/// A word holding four `u16` fields, in order.
#[inline(always)]
fn pack_u16x4(a: u16, b: u16, c: u16, d: u16) -> u64 {
    pack_u32x2(pack_u16x2(a, b), pack_u16x2(c, d))
}

#[inline(always)]
fn pack_u16x2(a: u16, b: u16) -> u32 {
    if cfg!(target_endian = "little") {
        a as u32 | (b as u32) << 16
    } else {
        (a as u32) << 16 | b as u32
    }
}

/// The fields of word 16, gathered during extraction and written once: `dl_type`,
/// `vlan_tci` (16 bits each), `nw_proto`, `nw_tos`, `nw_ttl`, `nw_frag` (8 bits each), at the
/// byte positions the key's fields have in that word.
///
/// One `u64`, updated with shifts and masks, not a struct of six fields: LLVM turned the
/// struct's packing into a single 8-byte load of the struct from the stack, right after its
/// fields were stored one by one (2- and 1-byte stores), a store-forwarding stall on every
/// packet (perf annotate of the PMD under rvs-bench, 1flow). As one integer it stays in a
/// register.
#[derive(Clone, Copy, Default)]
struct L3Word(u64);

impl L3Word {
    /// The shift of a field of `width` bytes at byte `at` of the word in memory order.
    #[inline(always)]
    const fn shift(at: u32, width: u32) -> u32 {
        if cfg!(target_endian = "little") {
            at * 8
        } else {
            64 - (at + width) * 8
        }
    }

    #[inline(always)]
    fn set(&mut self, at: u32, width: u32, v: u64) {
        let s = Self::shift(at, width);
        let mask = (u64::MAX >> (64 - width * 8)) << s;
        self.0 = (self.0 & !mask) | ((v << s) & mask);
    }

    #[inline(always)]
    fn get8(self, at: u32) -> u8 {
        (self.0 >> Self::shift(at, 1)) as u8
    }

    #[inline(always)]
    fn new(dl_type: u16, vlan_tci: u16) -> Self {
        let mut w = L3Word(0);
        w.set_dl_type(dl_type);
        w.set(2, 2, u64::from(vlan_tci));
        w
    }

    #[inline(always)]
    fn set_dl_type(&mut self, v: u16) {
        self.set(0, 2, u64::from(v));
    }

    #[inline(always)]
    fn nw_proto(self) -> u8 {
        self.get8(4)
    }

    #[inline(always)]
    fn set_nw_proto(&mut self, v: u8) {
        self.set(4, 1, u64::from(v));
    }

    #[inline(always)]
    fn set_nw_tos(&mut self, v: u8) {
        self.set(5, 1, u64::from(v));
    }

    #[inline(always)]
    fn set_nw_ttl(&mut self, v: u8) {
        self.set(6, 1, u64::from(v));
    }

    #[inline(always)]
    fn nw_frag(self) -> u8 {
        self.get8(7)
    }

    #[inline(always)]
    fn set_nw_frag(&mut self, v: u8) {
        self.set(7, 1, u64::from(v));
    }

    #[inline(always)]
    fn pack(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonzero_map_agrees_with_the_scalar_loop() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for round in 0..2000 {
            let mut words = [0u64; FLOW_WORDS];
            for (i, w) in words.iter_mut().enumerate() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Mostly zero words; non-zero ones with a single bit anywhere, the top included.
                if (x >> 3) % 4 == 0 || i == round % FLOW_WORDS {
                    *w = 1 << (x % 64);
                }
            }
            let key: FlowKey = bytemuck::cast(words);
            assert_eq!(key.nonzero_map(), nonzero_map_scalar(&key), "{words:x?}");
        }
        assert_eq!(FlowKey::ZERO.nonzero_map(), 0);
        assert_eq!(FlowKey::exact().nonzero_map(), (1 << FLOW_WORDS) - 1);
    }

    pub(crate) fn eth(dst: u8, src: u8, ethertype: u16) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, dst, 2, 0, 0, 0, 0, src];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f
    }

    fn ipv4(proto: u8, l4: &[u8], frag: u16) -> Vec<u8> {
        let total = (20 + l4.len()) as u16;
        let mut f = eth(2, 1, 0x0800);
        f.extend_from_slice(&[0x45, 0xb8]);
        f.extend_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&[0, 1]);
        f.extend_from_slice(&frag.to_be_bytes());
        f.extend_from_slice(&[63, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        f.extend_from_slice(l4);
        f
    }

    #[test]
    fn udp_over_ipv4() {
        let f = ipv4(17, &[0x04, 0x00, 0x13, 0x88, 0, 12, 0, 0, 1, 2, 3, 4], 0);
        let mut k = FlowKey::ZERO;
        let off = k.extract(&f, 3).unwrap();
        assert_eq!(off, HeaderOffsets { l3: 14, l4: 34 });
        assert_eq!(k.in_port, 3);
        assert_eq!(k.dl_dst, 0x0200_0000_0002);
        assert_eq!(k.dl_src, 0x0200_0000_0001);
        assert_eq!(k.dl_type, 0x0800);
        assert_eq!((k.nw_src, k.nw_dst, k.nw_proto, k.nw_tos, k.nw_ttl), (0x0a000001, 0x0a000002, 17, 0xb8, 63));
        assert_eq!((k.tp_src, k.tp_dst, k.nw_frag), (1024, 5000, 0));
        assert!(!k.has_vlan());
    }

    #[test]
    fn tcp_flags_and_vlan() {
        let l4 = [0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x12, 0xff, 0xff, 0, 0, 0, 0];
        let mut f = ipv4(6, &l4, 0);
        // insert a tag with PCP 3, DEI set, VID 10
        let tag = [0x81, 0x00, 0x70, 0x0a];
        f.splice(12..12, tag);
        let mut k = FlowKey::ZERO;
        let off = k.extract(&f, 1).unwrap();
        assert_eq!(off.l3, 18);
        assert_eq!(k.vlan_tci, 0x600a | VLAN_PRESENT);
        assert_eq!((k.tp_src, k.tp_dst, k.tcp_flags), (40000, 80, 0x12));
    }

    #[test]
    fn fragments() {
        let f = ipv4(17, &[0; 16], 0x0002); // offset 2*8: later fragment
        let mut k = FlowKey::ZERO;
        let off = k.extract(&f, 1).unwrap();
        assert_eq!(k.nw_frag, FRAG_ANY | FRAG_LATER);
        assert_eq!((k.tp_src, off.l4), (0, NO));
        let f = ipv4(6, &[0x9c, 0x40], 0x2000); // first fragment, TCP header cut short
        let off = k.extract(&f, 1).unwrap();
        assert_eq!(k.nw_frag, FRAG_ANY);
        assert_eq!((k.tp_src, off.l4), (0, NO));
    }

    #[test]
    fn arp() {
        let mut f = eth(0xff, 1, 0x0806);
        f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2]);
        let mut k = FlowKey::ZERO;
        k.extract(&f, 1).unwrap();
        assert_eq!((k.nw_proto, k.nw_src, k.nw_dst), (1, 0x0a000001, 0x0a000002));
        assert_eq!((k.arp_sha, k.arp_tha), (0x0200_0000_0001, 0));
        assert_eq!(k.extract(&f[..40], 1), Err(Malformed::ArpTruncated));
    }

    fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = eth(2, 1, 0x86dd);
        f.extend_from_slice(&[0x60, 0x00, 0x00, 0x07]);
        f.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        f.extend_from_slice(&[next, 255]);
        f.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        f.extend_from_slice(&[0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 2]);
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn ipv6_neighbour_solicitation() {
        let mut icmp = vec![135, 0, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        icmp.extend_from_slice(&[1, 1, 2, 0, 0, 0, 0, 1]);
        let f = ipv6(58, &icmp);
        let mut k = FlowKey::ZERO;
        let off = k.extract(&f, 1).unwrap();
        assert_eq!(off, HeaderOffsets { l3: 14, l4: 54 });
        assert_eq!((k.nw_proto, k.tp_src, k.tp_dst, k.nw_ttl, k.ipv6_label), (58, 135, 0, 255, 7));
        assert_eq!(k.nd_target, 0xfe80_0000_0000_0000_0000_0000_0000_0002);
        assert_eq!(k.arp_sha, 0x0200_0000_0001);
        assert_eq!(k.ipv6_src, 0xfe80_0000_0000_0000_0000_0000_0000_0001);
    }

    #[test]
    fn malformed_frames_name_their_reason() {
        let mut k = FlowKey::ZERO;
        assert_eq!(k.extract(&[0; 13], 1), Err(Malformed::EthTruncated));
        let good = ipv4(17, &[0x04, 0x00, 0x13, 0x88, 0, 8, 0, 0], 0);
        let mut bad = good.clone();
        bad[14] = 0x44;
        assert_eq!(k.extract(&bad, 1), Err(Malformed::Ipv4BadIhl));
        let mut bad = good.clone();
        bad[17] = 200;
        assert_eq!(k.extract(&bad, 1), Err(Malformed::Ipv4TotalLenBeyondFrame));
        assert_eq!(k.extract(&good[..30], 1), Err(Malformed::Ipv4Truncated));
        let mut bad = good.clone();
        bad[39] = 9; // UDP length 9 > 8 bytes present
        assert_eq!(k.extract(&bad, 1), Err(Malformed::UdpTruncated));
        let tcp = ipv4(6, &[0; 12], 0);
        assert_eq!(k.extract(&tcp, 1), Err(Malformed::TcpTruncated));
        let mut tagged = good.clone();
        tagged.truncate(12);
        tagged.extend_from_slice(&[0x81, 0x00, 0x00]);
        assert_eq!(k.extract(&tagged, 1), Err(Malformed::VlanTruncated));
        let v6 = ipv6(17, &[0; 8]);
        assert_eq!(k.extract(&v6[..50], 1), Err(Malformed::Ipv6Truncated));
        assert_eq!(k.extract(&v6[..60], 1), Err(Malformed::Ipv6PayloadBeyondFrame));
        // Ethernet padding after the IP total length is fine.
        let mut padded = good.clone();
        padded.extend_from_slice(&[0; 10]);
        assert!(k.extract(&padded, 1).is_ok());
    }

    #[test]
    fn word_maps_cover_every_written_word() {
        let udp = ipv4(17, &[0x04, 0x00, 0x13, 0x88, 0, 8, 0, 0], 0);
        let tcp = ipv4(6, &[0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x12, 0xff, 0xff, 0, 0, 0, 0], 0);
        let mut tagged = tcp.clone();
        tagged.splice(12..12, [0x81, 0x00, 0x70, 0x0a]);
        let mut arp = eth(0xff, 1, 0x0806);
        arp.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 2, 0, 0, 0, 0, 9, 10, 0, 0, 2]);
        let mut ns = vec![135, 0, 0, 0, 0, 0, 0, 0];
        ns.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        ns.extend_from_slice(&[1, 1, 2, 0, 0, 0, 0, 1]);
        let v6_tcp = ipv6(6, &tcp[34..]);
        let cases = [
            (&udp, extract_map::IPV4),
            (&tcp, extract_map::IPV4),
            (&tagged, extract_map::IPV4),
            (&arp, extract_map::ARP),
            (&ipv6(58, &ns), extract_map::IPV6_ND),
            (&v6_tcp, extract_map::IPV6),
            (&eth(2, 1, 0x0042), extract_map::BASE),
            (&eth(2, 1, 0x88cc), extract_map::BASE),
        ];
        for (frame, want) in cases {
            let mut k = FlowKey::ZERO;
            k.regs[3] = 7; // overwritten
            let (_, map) = k.extract_mapped(frame, 9).unwrap();
            assert_eq!(map, want, "{k:?}");
            assert_eq!(k.nonzero_map() & !map, 0, "{k:?}");
            assert!(map.count_ones() <= 14);
        }
        assert_eq!(extract_map::IPV4.count_ones(), 7);
    }

    #[test]
    fn masks_hashes_and_maps() {
        let f = ipv4(17, &[0x04, 0x00, 0x13, 0x88, 0, 8, 0, 0], 0);
        let mut k = FlowKey::ZERO;
        k.extract(&f, 1).unwrap();
        let mut mask = FlowKey::ZERO;
        mask.nw_dst = 0xffff_ff00;
        mask.dl_type = 0xffff;
        let m = k.masked(&mask);
        assert_eq!((m.nw_dst, m.nw_src, m.dl_type), (0x0a000000, 0, 0x0800));
        let map = mask.nonzero_map();
        assert_eq!(k.hash_masked(&mask, map, 7), m.hash_words(map, 7));
        assert_eq!(k.hash_words_const::<{ extract_map::IPV4 }>(7), k.hash_words(extract_map::IPV4, 7));
        let mut other = k;
        other.nw_src = 1;
        assert!(other.equal_under(&k, &mask));
        assert!(other.equal_under_map(&k, &mask, map));
        other.nw_dst ^= 0x100;
        assert!(!other.equal_under(&k, &mask));
        assert!(!other.equal_under_map(&k, &mask, map));
        assert!(other.equal_under_map(&k, &FlowKey::ZERO, 0), "a catch-all mask compares nothing");
        let (a, b) = (k.masked(&mask), other.masked(&mask));
        assert_eq!(a.equal_in_map(&b, map), a == b);
        assert!(a.equal_in_map(&k.masked(&mask), map) && !a.equal_in_map(&b, map));
        assert!(mask.is_subset_of(&FlowKey::exact()));
        assert!(!FlowKey::exact().is_subset_of(&mask));
        assert_eq!(k.nonzero_map() & (1 << words::L3), 1 << words::L3);
    }

    /// The extraction as it was before it was tuned for speed (git history: the first
    /// flowcache commit), kept as the model the tuned one must agree with.
    mod reference {
        use super::super::*;

        fn ref_mac_at(b: &[u8], at: usize) -> u64 {
            u64::from_be_bytes([0, 0, b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5]])
        }

        pub(super) fn reference_extract(k: &mut FlowKey, frame: &[u8], in_port: u32) -> Result<HeaderOffsets, Malformed> {
            *k = FlowKey::ZERO;
            k.in_port = in_port;
            let mut off = HeaderOffsets { l3: NO, l4: NO };
            if frame.len() < ethernet::HEADER_LEN {
                return Err(Malformed::EthTruncated);
            }
            k.dl_dst = ref_mac_at(frame, 0);
            k.dl_src = ref_mac_at(frame, 6);
            let mut at = 12;
            let mut ethertype = be16(frame, at);
            at += 2;
            if ethertype == EtherType::VLAN || ethertype == EtherType::QINQ {
                if frame.len() < at + 4 {
                    return Err(Malformed::VlanTruncated);
                }
                k.vlan_tci = (be16(frame, at) & !wire::vlan::DEI) | VLAN_PRESENT;
                ethertype = be16(frame, at + 2);
                at += 4;
                // An inner (customer) tag behind a service tag: skip it, as OVS does without
                // double-tag matching.
                if ethertype == EtherType::VLAN || ethertype == EtherType::QINQ {
                    if frame.len() < at + 4 {
                        return Err(Malformed::VlanTruncated);
                    }
                    ethertype = be16(frame, at + 2);
                    at += 4;
                }
            }
            if ethertype < EtherType::MIN {
                k.dl_type = DL_TYPE_NONE;
                return Ok(off);
            }
            k.dl_type = ethertype;
            let l3 = &frame[at..];
            match ethertype {
                EtherType::IPV4 => {
                    off.l3 = at as u16;
                    let ip = wire::Ipv4Packet::new_validated(l3).map_err(|e| match e {
                        ipv4::Ipv4Error::Truncated => Malformed::Ipv4Truncated,
                        ipv4::Ipv4Error::BadVersion => Malformed::Ipv4BadVersion,
                        ipv4::Ipv4Error::BadIhl => Malformed::Ipv4BadIhl,
                        ipv4::Ipv4Error::HeaderBeyondFrame => Malformed::Ipv4HeaderBeyondFrame,
                        ipv4::Ipv4Error::TotalLenTooShort => Malformed::Ipv4TotalLenTooShort,
                        ipv4::Ipv4Error::TotalLenBeyondFrame => Malformed::Ipv4TotalLenBeyondFrame,
                    })?;
                    k.nw_src = ip.src();
                    k.nw_dst = ip.dst();
                    k.nw_proto = ip.protocol();
                    k.nw_tos = ip.tos();
                    k.nw_ttl = ip.ttl();
                    let hlen = ip.header_len();
                    let total = ip.total_len() as usize;
                    if ip.is_fragment() {
                        k.nw_frag = FRAG_ANY;
                        if ip.is_later_fragment() {
                            k.nw_frag |= FRAG_LATER;
                            return Ok(off);
                        }
                    }
                    let l4_at = at + hlen;
                    reference_extract_l4(k, &frame[l4_at..at + total], l4_at, true, &mut off)?;
                }
                EtherType::IPV6 => {
                    off.l3 = at as u16;
                    if l3.len() < wire::ipv6::HEADER_LEN || l3[0] >> 4 != 6 {
                        return Err(Malformed::Ipv6Truncated);
                    }
                    let ip = wire::Ipv6Packet::new_checked(l3).map_err(|_| Malformed::Ipv6PayloadBeyondFrame)?;
                    k.ipv6_src = ip.src();
                    k.ipv6_dst = ip.dst();
                    k.ipv6_label = ip.flow_label();
                    k.nw_tos = ip.traffic_class();
                    k.nw_ttl = ip.hop_limit();
                    let ext = ip.walk_extensions().map_err(|_| Malformed::Ipv6ExtTruncated)?;
                    k.nw_proto = ext.protocol;
                    if ext.fragment {
                        k.nw_frag = FRAG_ANY;
                        if ext.later_fragment {
                            k.nw_frag |= FRAG_LATER;
                            return Ok(off);
                        }
                    }
                    let end = at + wire::ipv6::HEADER_LEN + ip.payload_len() as usize;
                    let l4_at = at + ext.offset;
                    reference_extract_l4(k, &frame[l4_at..end], l4_at, false, &mut off)?;
                }
                EtherType::ARP | EtherType::RARP => {
                    off.l3 = at as u16;
                    if l3.len() < wire::arp::HEADER_LEN {
                        return Err(Malformed::ArpTruncated);
                    }
                    // Only Ethernet/IPv4 ARP has fields in the key; others match on dl_type only.
                    if let Ok(arp) = wire::ArpPacket::new_checked(l3) {
                        if arp.htype() == 1 && arp.ptype() == EtherType::IPV4 {
                            let op = arp.oper();
                            if op <= 0xff {
                                k.nw_proto = op as u8;
                            }
                            k.nw_src = arp.spa();
                            k.nw_dst = arp.tpa();
                            k.arp_sha = arp.sha().to_u64();
                            k.arp_tha = arp.tha().to_u64();
                        }
                    }
                }
                _ => {}
            }
            Ok(off)
        }

        /// L4 of a non-fragment or first fragment. `l4` runs to the end of the IP payload.
        fn reference_extract_l4(k: &mut FlowKey, l4: &[u8], l4_at: usize, is_v4: bool, off: &mut HeaderOffsets) -> Result<(), Malformed> {
            let first_fragment = k.nw_frag & FRAG_ANY != 0;
            // A first fragment may legitimately carry only part of the L4 header: leave L4 empty.
            let short = |need: usize, reason: Malformed| -> Result<bool, Malformed> {
                if l4.len() >= need {
                    Ok(false)
                } else if first_fragment {
                    Ok(true)
                } else {
                    Err(reason)
                }
            };
            match k.nw_proto {
                ip_proto::TCP => {
                    if short(wire::tcp::MIN_HEADER_LEN, Malformed::TcpTruncated)? {
                        return Ok(());
                    }
                    let tcp = wire::TcpHeader::new_unchecked(l4);
                    let hl = tcp.header_len();
                    if hl < wire::tcp::MIN_HEADER_LEN || hl > l4.len() {
                        if first_fragment {
                            return Ok(());
                        }
                        return Err(Malformed::TcpTruncated);
                    }
                    k.tp_src = tcp.src_port();
                    k.tp_dst = tcp.dst_port();
                    k.tcp_flags = tcp.flags();
                }
                ip_proto::UDP => {
                    if short(wire::udp::HEADER_LEN, Malformed::UdpTruncated)? {
                        return Ok(());
                    }
                    let udp = wire::UdpHeader::new_unchecked(l4);
                    let ulen = udp.length() as usize;
                    // UDP length 0 is allowed for IPv6 jumbograms only; otherwise it must fit.
                    let jumbogram = ulen == 0 && !is_v4;
                    if !first_fragment && !jumbogram && (ulen < wire::udp::HEADER_LEN || ulen > l4.len()) {
                        return Err(Malformed::UdpTruncated);
                    }
                    k.tp_src = udp.src_port();
                    k.tp_dst = udp.dst_port();
                }
                ip_proto::SCTP => {
                    if short(12, Malformed::SctpTruncated)? {
                        return Ok(());
                    }
                    k.tp_src = be16(l4, 0);
                    k.tp_dst = be16(l4, 2);
                }
                ip_proto::ICMP if is_v4 => {
                    if short(wire::icmp::HEADER_LEN, Malformed::IcmpTruncated)? {
                        return Ok(());
                    }
                    k.tp_src = l4[0] as u16;
                    k.tp_dst = l4[1] as u16;
                }
                ip_proto::ICMPV6 if !is_v4 => {
                    if short(wire::icmpv6::HEADER_LEN, Malformed::Icmpv6Truncated)? {
                        return Ok(());
                    }
                    let (ty, code) = (l4[0], l4[1]);
                    k.tp_src = ty as u16;
                    k.tp_dst = code as u16;
                    if code == 0 && (ty == wire::icmpv6::ND_NEIGHBOR_SOLICIT || ty == wire::icmpv6::ND_NEIGHBOR_ADVERT) {
                        let nd = wire::NdMessage::parse(l4).map_err(|_| Malformed::Icmpv6Truncated)?;
                        k.nd_target = nd.target;
                        if ty == wire::icmpv6::ND_NEIGHBOR_SOLICIT {
                            k.arp_sha = nd.sll.map_or(0, |m| m.to_u64());
                        } else {
                            k.arp_tha = nd.tll.map_or(0, |m| m.to_u64());
                        }
                    }
                }
                _ => return Ok(()),
            }
            off.l4 = l4_at as u16;
            Ok(())
        }
    }

    fn arb_frame() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        // Valid frames of every kind the extractor knows, then damaged: truncated, a byte
        // changed (in the headers, where it matters), or padded.
        let udp = ipv4(17, &[0x04, 0x00, 0x13, 0x88, 0, 12, 0, 0, 1, 2, 3, 4], 0);
        let tcp = ipv4(6, &[0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x12, 0xff, 0xff, 0, 0, 0, 0], 0);
        let frag = ipv4(17, &[0; 16], 0x2001);
        let icmp = ipv4(1, &[8, 0, 0, 0, 0, 1, 0, 1], 0);
        let sctp = ipv4(132, &[0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0], 0);
        let mut tagged = tcp.clone();
        tagged.splice(12..12, [0x81, 0x00, 0x70, 0x0a]);
        let mut qinq = udp.clone();
        qinq.splice(12..12, [0x88, 0xa8, 0x00, 0x05, 0x81, 0x00, 0x00, 0x07]);
        let mut arp = eth(0xff, 1, 0x0806);
        arp.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 2, 0, 0, 0, 0, 9, 10, 0, 0, 2]);
        let mut ns = vec![135, 0, 0, 0, 0, 0, 0, 0];
        ns.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        ns.extend_from_slice(&[1, 1, 2, 0, 0, 0, 0, 1]);
        let na = {
            let mut na = ns.clone();
            na[0] = 136;
            na[24] = 2;
            na
        };
        let v6_tcp = ipv6(6, &tcp[34..]);
        let v6_udp = ipv6(17, &udp[34..]);
        let v6_frag = ipv6(44, &[17, 0, 0, 8, 0, 0, 0, 1, 0x04, 0x00, 0x13, 0x88, 0, 8, 0, 0]);
        // IPv4 options (IHL 6) and TCP options (data offset 6): truncations then land on
        // every boundary of both length checks.
        let mut ip_opts = tcp.clone();
        ip_opts[14] = 0x46;
        ip_opts.splice(34..34, [1, 1, 1, 0]);
        ip_opts[17] += 4;
        let tcp_opts = ipv4(6, &[0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x02, 0xff, 0xff, 0, 0, 0, 0, 2, 4, 5, 0xb4], 0);
        let bases = vec![
            ip_opts, tcp_opts, udp, tcp, frag, icmp, sctp, tagged, qinq, arp, ipv6(58, &ns), ipv6(58, &na), v6_tcp, v6_udp, v6_frag,
            eth(2, 1, 0x0042), eth(2, 1, 0x88cc),
        ];
        // Small byte values make lengths, IHLs and offsets too short; header bytes matter most.
        let edit = (0usize..70, prop_oneof![any::<u8>(), 0u8..24, Just(0u8), Just(0xffu8)]);
        (proptest::sample::select(bases), 0usize..4, proptest::collection::vec(edit, 1..5), 0usize..80).prop_map(
            |(mut f, how, edits, n)| {
                match how {
                    0 => {}
                    1 => f.truncate(n.min(f.len())),
                    2 => {
                        for (at, byte) in edits {
                            let at = at % f.len();
                            f[at] = byte;
                        }
                    }
                    _ => f.extend(std::iter::repeat_n(edits[0].1, n % 16)),
                }
                f
            },
        )
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]
        /// The tuned extraction gives the same key, offsets and errors as the reference, and a
        /// word map that covers the key.
        #[test]
        fn extraction_agrees_with_the_reference(frame in arb_frame(), in_port in 0u32..4) {
            let (mut fast, mut slow) = (FlowKey::exact(), FlowKey::exact());
            let got = fast.extract_mapped(&frame, in_port);
            let want = reference::reference_extract(&mut slow, &frame, in_port);
            proptest::prop_assert_eq!(got.map(|(off, _)| off), want, "{:02x?}", frame);
            if let Ok((_, map)) = got {
                proptest::prop_assert_eq!(fast, slow, "{:02x?}", frame);
                proptest::prop_assert_eq!(fast.nonzero_map() & !map, 0);
            }
        }
    }
}

#[cfg(test)]
mod fuzz_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

        /// Extraction never panics and never reports offsets beyond the frame, whatever
        /// the bytes (the same property the fuzz target `flow_key_extract` explores).
        #[test]
        fn extraction_of_arbitrary_bytes_is_total(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
            ethertype in prop_oneof![Just(0x0800u16), Just(0x86dd), Just(0x0806), Just(0x8100), any::<u16>()],
        ) {
            let mut frame = bytes;
            if frame.len() >= 14 {
                frame[12..14].copy_from_slice(&ethertype.to_be_bytes());
            }
            let mut k = FlowKey::ZERO;
            if let Ok(off) = k.extract(&frame, 1) {
                for o in [off.l3, off.l4] {
                    prop_assert!(o == NO || (o as usize) <= frame.len());
                }
            }
        }
    }

}
