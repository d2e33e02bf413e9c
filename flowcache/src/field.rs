//! OpenFlow fields ("meta-flow"): every matchable and settable field, described once.
//!
//! A [`Field`] knows where its bits live in a [`FlowKey`] (byte offset of a native integer
//! container, a shift and a width), whether it can be masked, what it requires of the packet
//! (its prerequisites, [`Prereq`]), whether actions may write it, and how its values are
//! written in `ovs-ofctl` syntax ([`Format`]). Matching, `set_field`/`load`/`move`, the wire
//! codecs and the text syntax all go through this table, so a field is added in one place.
//!
//! Several fields may share key bits (`dl_vlan` and `vlan_vid` are views of `vlan_tci`;
//! `tcp_dst`, `udp_dst` and `icmp_code` all live in `tp_dst`); such views are marked
//! `is_subfield` or differ only in prerequisites.

use crate::key::{FlowKey, FlowMask, VLAN_PRESENT};
use rvs_packet::wire::{ip_proto, EtherType};
use std::mem::offset_of;

/// How a field's values are written in flow syntax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Decimal, or hexadecimal with a `0x` prefix when masked.
    Decimal,
    /// Always hexadecimal with `0x`.
    Hex,
    /// `aa:bb:cc:dd:ee:ff`.
    Mac,
    /// Dotted quad, masks as prefix lengths where possible.
    Ipv4,
    /// RFC 5952 text, masks as prefix lengths where possible.
    Ipv6,
    /// An OpenFlow port number or name (`LOCAL`, `CONTROLLER`, ...).
    OfPort,
    /// `no`, `yes`, `first`, `later`, `not_later`.
    Frag,
    /// `+syn-ack` style flags.
    TcpFlags,
}

/// Whether a field can be matched with a mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Maskable {
    /// Exact match or wildcard only.
    No,
    /// Any bit mask.
    Bitwise,
}

/// What a field requires of the packet before it means anything (ovs-fields(7)
/// "prerequisites"). A match on the field is only valid together with a match that
/// establishes the prerequisite; an action that sets it only applies when it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prereq {
    /// Always meaningful.
    None,
    /// A VLAN tag is present.
    Vlan,
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
    /// IPv4 or IPv6.
    IpAny,
    /// ARP or RARP.
    Arp,
    /// TCP over IPv4 or IPv6.
    Tcp,
    /// UDP over IPv4 or IPv6.
    Udp,
    /// SCTP over IPv4 or IPv6.
    Sctp,
    /// ICMP over IPv4.
    Icmpv4,
    /// ICMPv6.
    Icmpv6,
    /// IPv6 neighbour solicitation or advertisement (ICMPv6 type 135 or 136, code 0).
    Nd,
    /// Neighbour solicitation.
    NdSolicit,
    /// Neighbour advertisement.
    NdAdvert,
}

impl Prereq {
    /// True if `key` satisfies the prerequisite.
    pub fn holds(self, key: &FlowKey) -> bool {
        let ip = key.is_ip_any();
        match self {
            Prereq::None => true,
            Prereq::Vlan => key.has_vlan(),
            Prereq::Ipv4 => key.is_ipv4(),
            Prereq::Ipv6 => key.is_ipv6(),
            Prereq::IpAny => ip,
            Prereq::Arp => key.dl_type == EtherType::ARP || key.dl_type == EtherType::RARP,
            Prereq::Tcp => ip && key.nw_proto == ip_proto::TCP,
            Prereq::Udp => ip && key.nw_proto == ip_proto::UDP,
            Prereq::Sctp => ip && key.nw_proto == ip_proto::SCTP,
            Prereq::Icmpv4 => key.is_ipv4() && key.nw_proto == ip_proto::ICMP,
            Prereq::Icmpv6 => key.is_ipv6() && key.nw_proto == ip_proto::ICMPV6,
            Prereq::Nd => Prereq::NdSolicit.holds(key) || Prereq::NdAdvert.holds(key),
            Prereq::NdSolicit => Prereq::Icmpv6.holds(key) && key.tp_src == 135 && key.tp_dst == 0,
            Prereq::NdAdvert => Prereq::Icmpv6.holds(key) && key.tp_src == 136 && key.tp_dst == 0,
        }
    }

    /// The fields a test of this prerequisite reads (for un-wildcarding).
    pub fn fields_read(self) -> &'static [Field] {
        use Field::*;
        match self {
            Prereq::None => &[],
            Prereq::Vlan => &[VlanTci],
            Prereq::Ipv4 | Prereq::Ipv6 | Prereq::IpAny | Prereq::Arp => &[EthType],
            Prereq::Tcp | Prereq::Udp | Prereq::Sctp | Prereq::Icmpv4 | Prereq::Icmpv6 => &[EthType, IpProto],
            Prereq::Nd | Prereq::NdSolicit | Prereq::NdAdvert => &[EthType, IpProto, Icmpv6Type, Icmpv6Code],
        }
    }
}

/// Everything known about one field.
#[derive(Clone, Copy, Debug)]
pub struct FieldDesc {
    /// Canonical `ovs-ofctl` name.
    pub name: &'static str,
    /// Other accepted names.
    pub aliases: &'static [&'static str],
    /// Width of the value in bits.
    pub nbits: u32,
    /// Byte offset of the native integer container in [`FlowKey`].
    pub offset: usize,
    /// Container size in bytes (1, 2, 4, 8 or 16).
    pub container: usize,
    /// Bit position of the value's least significant bit in the container.
    pub shift: u32,
    /// Masking support.
    pub maskable: Maskable,
    /// What the packet must be for the field to mean anything.
    pub prereq: Prereq,
    /// May actions write it (`set_field`, `load`, `move` destination)?
    pub writable: bool,
    /// Text form of values.
    pub format: Format,
    /// A view of bits that another field also covers (not printed by `Debug`).
    pub is_subfield: bool,
}

macro_rules! fields {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal [$($alias:literal),*] bits $nbits:literal at $off:expr, $cont:literal, $shift:literal, $mask:ident, $prereq:ident, $writable:literal, $format:ident, $sub:literal; )*) => {
        /// An OpenFlow field. See [`FieldDesc`] for what each one carries.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Field {
            $( $(#[$doc])* $variant, )*
        }

        impl Field {
            /// Every field, in table order.
            pub const ALL: &'static [Field] = &[ $( Field::$variant, )* ];

            /// The field's description.
            pub const fn desc(self) -> &'static FieldDesc {
                &DESCS[self as usize]
            }
        }

        const DESCS: &[FieldDesc] = &[
            $( FieldDesc {
                name: $name,
                aliases: &[$($alias),*],
                nbits: $nbits,
                offset: $off,
                container: $cont,
                shift: $shift,
                maskable: Maskable::$mask,
                prereq: Prereq::$prereq,
                writable: $writable,
                format: Format::$format,
                is_subfield: $sub,
            }, )*
        ];
    };
}

const fn reg_off(n: usize) -> usize {
    offset_of!(FlowKey, regs) + 4 * n
}

fields! {
    /// Input port (32-bit, OpenFlow 1.1+ numbering).
    InPort => "in_port" [] bits 32 at offset_of!(FlowKey, in_port), 4, 0, No, None, true, OfPort, false;
    /// OpenFlow metadata.
    Metadata => "metadata" [] bits 64 at offset_of!(FlowKey, metadata), 8, 0, Bitwise, None, true, Hex, false;
    /// Register 0.
    Reg0 => "reg0" [] bits 32 at reg_off(0), 4, 0, Bitwise, None, true, Hex, false;
    /// Register 1.
    Reg1 => "reg1" [] bits 32 at reg_off(1), 4, 0, Bitwise, None, true, Hex, false;
    /// Register 2.
    Reg2 => "reg2" [] bits 32 at reg_off(2), 4, 0, Bitwise, None, true, Hex, false;
    /// Register 3.
    Reg3 => "reg3" [] bits 32 at reg_off(3), 4, 0, Bitwise, None, true, Hex, false;
    /// Register 4.
    Reg4 => "reg4" [] bits 32 at reg_off(4), 4, 0, Bitwise, None, true, Hex, false;
    /// Register 5.
    Reg5 => "reg5" [] bits 32 at reg_off(5), 4, 0, Bitwise, None, true, Hex, false;
    /// Register 6.
    Reg6 => "reg6" [] bits 32 at reg_off(6), 4, 0, Bitwise, None, true, Hex, false;
    /// Register 7.
    Reg7 => "reg7" [] bits 32 at reg_off(7), 4, 0, Bitwise, None, true, Hex, false;
    /// Register 8.
    Reg8 => "reg8" [] bits 32 at reg_off(8), 4, 0, Bitwise, None, true, Hex, false;
    /// Register 9.
    Reg9 => "reg9" [] bits 32 at reg_off(9), 4, 0, Bitwise, None, true, Hex, false;
    /// Register 10.
    Reg10 => "reg10" [] bits 32 at reg_off(10), 4, 0, Bitwise, None, true, Hex, false;
    /// Register 11.
    Reg11 => "reg11" [] bits 32 at reg_off(11), 4, 0, Bitwise, None, true, Hex, false;
    /// Register 12.
    Reg12 => "reg12" [] bits 32 at reg_off(12), 4, 0, Bitwise, None, true, Hex, false;
    /// Register 13.
    Reg13 => "reg13" [] bits 32 at reg_off(13), 4, 0, Bitwise, None, true, Hex, false;
    /// Register 14.
    Reg14 => "reg14" [] bits 32 at reg_off(14), 4, 0, Bitwise, None, true, Hex, false;
    /// Register 15.
    Reg15 => "reg15" [] bits 32 at reg_off(15), 4, 0, Bitwise, None, true, Hex, false;
    /// Tunnel key.
    TunId => "tun_id" ["tunnel_id"] bits 64 at offset_of!(FlowKey, tun_id), 8, 0, Bitwise, None, true, Hex, false;
    /// Tunnel outer IPv4 source.
    TunSrc => "tun_src" [] bits 32 at offset_of!(FlowKey, tun_src), 4, 0, Bitwise, None, true, Ipv4, false;
    /// Tunnel outer IPv4 destination.
    TunDst => "tun_dst" [] bits 32 at offset_of!(FlowKey, tun_dst), 4, 0, Bitwise, None, true, Ipv4, false;
    /// Packet mark.
    PktMark => "pkt_mark" [] bits 32 at offset_of!(FlowKey, pkt_mark), 4, 0, Bitwise, None, true, Hex, false;
    /// Ethernet source.
    EthSrc => "eth_src" ["dl_src"] bits 48 at offset_of!(FlowKey, dl_src), 8, 0, Bitwise, None, true, Mac, false;
    /// Ethernet destination.
    EthDst => "eth_dst" ["dl_dst"] bits 48 at offset_of!(FlowKey, dl_dst), 8, 0, Bitwise, None, true, Mac, false;
    /// Ethertype.
    EthType => "eth_type" ["dl_type"] bits 16 at offset_of!(FlowKey, dl_type), 2, 0, No, None, false, Hex, false;
    /// 802.1Q TCI with the presence bit (OVS `vlan_tci`).
    VlanTci => "vlan_tci" [] bits 16 at offset_of!(FlowKey, vlan_tci), 2, 0, Bitwise, None, true, Hex, false;
    /// OpenFlow 1.2+ VLAN id with the presence bit (13 bits).
    VlanVid => "vlan_vid" [] bits 13 at offset_of!(FlowKey, vlan_tci), 2, 0, Bitwise, None, true, Decimal, true;
    /// VLAN priority.
    VlanPcp => "vlan_pcp" [] bits 3 at offset_of!(FlowKey, vlan_tci), 2, 13, No, Vlan, true, Decimal, true;
    /// OpenFlow 1.0 VLAN id (12 bits; matching it implies a tag is present).
    DlVlan => "dl_vlan" [] bits 12 at offset_of!(FlowKey, vlan_tci), 2, 0, No, None, true, Decimal, true;
    /// OpenFlow 1.0 VLAN priority.
    DlVlanPcp => "dl_vlan_pcp" [] bits 3 at offset_of!(FlowKey, vlan_tci), 2, 13, No, None, true, Decimal, true;
    /// IPv4 source.
    IpSrc => "ip_src" ["nw_src"] bits 32 at offset_of!(FlowKey, nw_src), 4, 0, Bitwise, Ipv4, true, Ipv4, false;
    /// IPv4 destination.
    IpDst => "ip_dst" ["nw_dst"] bits 32 at offset_of!(FlowKey, nw_dst), 4, 0, Bitwise, Ipv4, true, Ipv4, false;
    /// IPv6 source.
    Ipv6Src => "ipv6_src" [] bits 128 at offset_of!(FlowKey, ipv6_src), 16, 0, Bitwise, Ipv6, true, Ipv6, false;
    /// IPv6 destination.
    Ipv6Dst => "ipv6_dst" [] bits 128 at offset_of!(FlowKey, ipv6_dst), 16, 0, Bitwise, Ipv6, true, Ipv6, false;
    /// IPv6 flow label.
    Ipv6Label => "ipv6_label" [] bits 20 at offset_of!(FlowKey, ipv6_label), 4, 0, Bitwise, Ipv6, true, Hex, false;
    /// IP protocol.
    IpProto => "ip_proto" ["nw_proto"] bits 8 at offset_of!(FlowKey, nw_proto), 1, 0, No, IpAny, false, Decimal, false;
    /// DSCP (6 bits, the value, not shifted into TOS position).
    IpDscp => "ip_dscp" [] bits 6 at offset_of!(FlowKey, nw_tos), 1, 2, No, IpAny, true, Decimal, true;
    /// DSCP in TOS-byte position (OVS `nw_tos`, low two bits zero).
    NwTos => "nw_tos" [] bits 8 at offset_of!(FlowKey, nw_tos), 1, 0, No, IpAny, true, Decimal, true;
    /// ECN.
    IpEcn => "ip_ecn" ["nw_ecn"] bits 2 at offset_of!(FlowKey, nw_tos), 1, 0, No, IpAny, true, Decimal, true;
    /// TTL / hop limit.
    NwTtl => "nw_ttl" [] bits 8 at offset_of!(FlowKey, nw_ttl), 1, 0, No, IpAny, true, Decimal, false;
    /// Fragment bits.
    IpFrag => "ip_frag" ["nw_frag"] bits 2 at offset_of!(FlowKey, nw_frag), 1, 0, Bitwise, IpAny, false, Frag, false;
    /// ARP opcode.
    ArpOp => "arp_op" [] bits 8 at offset_of!(FlowKey, nw_proto), 1, 0, No, Arp, true, Decimal, true;
    /// ARP sender protocol address.
    ArpSpa => "arp_spa" [] bits 32 at offset_of!(FlowKey, nw_src), 4, 0, Bitwise, Arp, true, Ipv4, true;
    /// ARP target protocol address.
    ArpTpa => "arp_tpa" [] bits 32 at offset_of!(FlowKey, nw_dst), 4, 0, Bitwise, Arp, true, Ipv4, true;
    /// ARP sender hardware address.
    ArpSha => "arp_sha" [] bits 48 at offset_of!(FlowKey, arp_sha), 8, 0, Bitwise, Arp, true, Mac, false;
    /// ARP target hardware address.
    ArpTha => "arp_tha" [] bits 48 at offset_of!(FlowKey, arp_tha), 8, 0, Bitwise, Arp, true, Mac, false;
    /// TCP source port.
    TcpSrc => "tcp_src" ["tp_src"] bits 16 at offset_of!(FlowKey, tp_src), 2, 0, Bitwise, Tcp, true, Decimal, false;
    /// TCP destination port.
    TcpDst => "tcp_dst" ["tp_dst"] bits 16 at offset_of!(FlowKey, tp_dst), 2, 0, Bitwise, Tcp, true, Decimal, false;
    /// UDP source port.
    UdpSrc => "udp_src" [] bits 16 at offset_of!(FlowKey, tp_src), 2, 0, Bitwise, Udp, true, Decimal, true;
    /// UDP destination port.
    UdpDst => "udp_dst" [] bits 16 at offset_of!(FlowKey, tp_dst), 2, 0, Bitwise, Udp, true, Decimal, true;
    /// SCTP source port.
    SctpSrc => "sctp_src" [] bits 16 at offset_of!(FlowKey, tp_src), 2, 0, Bitwise, Sctp, true, Decimal, true;
    /// SCTP destination port.
    SctpDst => "sctp_dst" [] bits 16 at offset_of!(FlowKey, tp_dst), 2, 0, Bitwise, Sctp, true, Decimal, true;
    /// TCP flags.
    TcpFlags => "tcp_flags" [] bits 12 at offset_of!(FlowKey, tcp_flags), 2, 0, Bitwise, Tcp, false, TcpFlags, false;
    /// ICMP type.
    IcmpType => "icmp_type" ["icmpv4_type"] bits 8 at offset_of!(FlowKey, tp_src), 2, 0, No, Icmpv4, true, Decimal, true;
    /// ICMP code.
    IcmpCode => "icmp_code" ["icmpv4_code"] bits 8 at offset_of!(FlowKey, tp_dst), 2, 0, No, Icmpv4, true, Decimal, true;
    /// ICMPv6 type.
    Icmpv6Type => "icmpv6_type" [] bits 8 at offset_of!(FlowKey, tp_src), 2, 0, No, Icmpv6, true, Decimal, true;
    /// ICMPv6 code.
    Icmpv6Code => "icmpv6_code" [] bits 8 at offset_of!(FlowKey, tp_dst), 2, 0, No, Icmpv6, true, Decimal, true;
    /// ND target.
    NdTarget => "nd_target" [] bits 128 at offset_of!(FlowKey, nd_target), 16, 0, Bitwise, Nd, true, Ipv6, false;
    /// ND source link-layer address.
    NdSll => "nd_sll" [] bits 48 at offset_of!(FlowKey, arp_sha), 8, 0, Bitwise, NdSolicit, true, Mac, true;
    /// ND target link-layer address.
    NdTll => "nd_tll" [] bits 48 at offset_of!(FlowKey, arp_tha), 8, 0, Bitwise, NdAdvert, true, Mac, true;
    /// Conjunction id (translation only: set by conjunctive matches).
    ConjId => "conj_id" [] bits 32 at offset_of!(FlowKey, conj_id), 4, 0, No, None, false, Decimal, false;
}

impl serde::Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Field {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Field, D::Error> {
        let s = String::deserialize(d)?;
        Field::from_name(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown field {s:?}")))
    }
}

impl Field {
    /// Canonical name.
    pub fn name(self) -> &'static str {
        self.desc().name
    }

    /// Looks a field up by canonical name or alias (`reg0`, `nw_src`, `dl_dst`, ...).
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.iter().copied().find(|f| {
            let d = f.desc();
            d.name == name || d.aliases.contains(&name)
        })
    }

    /// The register field `regN`.
    pub fn reg(n: usize) -> Option<Field> {
        const REGS: [Field; 16] = [
            Field::Reg0, Field::Reg1, Field::Reg2, Field::Reg3, Field::Reg4, Field::Reg5, Field::Reg6, Field::Reg7,
            Field::Reg8, Field::Reg9, Field::Reg10, Field::Reg11, Field::Reg12, Field::Reg13, Field::Reg14, Field::Reg15,
        ];
        REGS.get(n).copied()
    }

    /// All-ones value of the field's width.
    #[inline]
    pub fn full_mask(self) -> u128 {
        let n = self.desc().nbits;
        if n >= 128 {
            u128::MAX
        } else {
            (1u128 << n) - 1
        }
    }

    #[inline]
    fn read_container(self, key: &FlowKey) -> u128 {
        let d = self.desc();
        let b = &key.as_bytes()[d.offset..d.offset + d.container];
        match d.container {
            1 => b[0] as u128,
            2 => u16::from_ne_bytes(b.try_into().unwrap()) as u128,
            4 => u32::from_ne_bytes(b.try_into().unwrap()) as u128,
            8 => u64::from_ne_bytes(b.try_into().unwrap()) as u128,
            _ => u128::from_ne_bytes(b.try_into().unwrap()),
        }
    }

    #[inline]
    fn write_container(self, key: &mut FlowKey, v: u128) {
        let d = self.desc();
        let b = &mut key.as_bytes_mut()[d.offset..d.offset + d.container];
        match d.container {
            1 => b[0] = v as u8,
            2 => b.copy_from_slice(&(v as u16).to_ne_bytes()),
            4 => b.copy_from_slice(&(v as u32).to_ne_bytes()),
            8 => b.copy_from_slice(&(v as u64).to_ne_bytes()),
            _ => b.copy_from_slice(&v.to_ne_bytes()),
        }
    }

    /// The field's value in `key`.
    #[inline]
    pub fn get(self, key: &FlowKey) -> u128 {
        (self.read_container(key) >> self.desc().shift) & self.full_mask()
    }

    /// Sets the field's value in `key` (bits beyond the width are ignored).
    #[inline]
    pub fn set(self, key: &mut FlowKey, value: u128) {
        self.set_masked(key, value, u128::MAX);
    }

    /// Sets the bits of the field selected by `mask` to those of `value`.
    #[inline]
    pub fn set_masked(self, key: &mut FlowKey, value: u128, mask: u128) {
        let d = self.desc();
        let m = (mask & self.full_mask()) << d.shift;
        let c = self.read_container(key);
        self.write_container(key, (c & !m) | ((value << d.shift) & m));
    }

    /// A key mask with the field's bits selected by `mask` set (all others clear).
    pub fn mask_of(self, mask: u128) -> FlowMask {
        let mut m = FlowKey::ZERO;
        self.set_masked(&mut m, u128::MAX, mask);
        m
    }

    /// ORs the field's bits selected by `mask` into the key mask `m`.
    #[inline]
    pub fn or_mask(self, m: &mut FlowMask, mask: u128) {
        let cur = self.get(m);
        self.set(m, cur | (mask & self.full_mask()));
    }
}

/// Reads the presence bit and VID of `vlan_tci` the way `dl_vlan` is matched in OpenFlow 1.0:
/// `0xffff` means "no tag".
pub const OFP10_VLAN_NONE: u16 = 0xffff;

/// The `vlan_tci` value and mask that `vlan_vid` (OpenFlow 1.2+ semantics, with
/// `OFPVID_PRESENT` = 0x1000) value/mask correspond to. They are the same bits.
pub fn vlan_vid_to_tci(vid: u16, mask: u16) -> (u16, u16) {
    (vid & (VLAN_PRESENT | 0x0fff), mask & (VLAN_PRESENT | 0x0fff))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_resolve() {
        assert_eq!(Field::from_name("nw_src"), Some(Field::IpSrc));
        assert_eq!(Field::from_name("ip_src"), Some(Field::IpSrc));
        assert_eq!(Field::from_name("dl_dst"), Some(Field::EthDst));
        assert_eq!(Field::from_name("reg7"), Some(Field::Reg7));
        assert_eq!(Field::from_name("tp_dst"), Some(Field::TcpDst));
        assert_eq!(Field::from_name("nope"), None);
    }

    #[test]
    fn every_field_fits_its_container() {
        for f in Field::ALL {
            let d = f.desc();
            assert!(d.offset + d.container <= std::mem::size_of::<FlowKey>(), "{}", d.name);
            assert!(d.shift + d.nbits <= 8 * d.container as u32, "{}", d.name);
        }
    }

    #[test]
    fn get_and_set_round_trip_through_the_key() {
        let mut k = FlowKey::ZERO;
        Field::IpDst.set(&mut k, 0x0a00_0002);
        Field::TcpDst.set(&mut k, 80);
        Field::EthSrc.set(&mut k, 0x0200_0000_0001);
        Field::Reg3.set(&mut k, 0xdead_beef);
        Field::Ipv6Src.set(&mut k, 0xfe80 << 112 | 1);
        Field::VlanPcp.set(&mut k, 5);
        Field::DlVlan.set(&mut k, 10);
        assert_eq!(k.nw_dst, 0x0a00_0002);
        assert_eq!(k.tp_dst, 80);
        assert_eq!(k.dl_src, 0x0200_0000_0001);
        assert_eq!(k.regs[3], 0xdead_beef);
        assert_eq!(k.ipv6_src, 0xfe80 << 112 | 1);
        assert_eq!(k.vlan_tci, (5 << 13) | 10);
        assert_eq!(Field::VlanPcp.get(&k), 5);
        assert_eq!(Field::UdpDst.get(&k), 80);
        // masked set touches only masked bits
        Field::Reg3.set_masked(&mut k, 0x0000_1234, 0x0000_ffff);
        assert_eq!(k.regs[3], 0xdead_1234);
        // DSCP and ECN share nw_tos
        Field::IpDscp.set(&mut k, 46);
        Field::IpEcn.set(&mut k, 1);
        assert_eq!(k.nw_tos, (46 << 2) | 1);
        assert_eq!(Field::NwTos.get(&k), (46 << 2) | 1);
    }

    #[test]
    fn masks_select_only_the_fields_bits() {
        let m = Field::IpDscp.mask_of(u128::MAX);
        assert_eq!(m.nw_tos, 0xfc);
        let m = Field::VlanVid.mask_of(u128::MAX);
        assert_eq!(m.vlan_tci, 0x1fff);
        let mut acc = FlowKey::ZERO;
        Field::IpDst.or_mask(&mut acc, 0xffff_ff00);
        Field::IpDst.or_mask(&mut acc, 0x0000_00ff);
        assert_eq!(acc.nw_dst, 0xffff_ffff);
    }

    #[test]
    fn prerequisites_read_the_key() {
        let mut k = FlowKey::ZERO;
        k.dl_type = 0x0800;
        k.nw_proto = 6;
        assert!(Prereq::Tcp.holds(&k));
        assert!(!Prereq::Udp.holds(&k));
        assert!(Prereq::IpAny.holds(&k));
        k.dl_type = 0x86dd;
        k.nw_proto = 58;
        k.tp_src = 135;
        assert!(Prereq::NdSolicit.holds(&k));
        assert!(!Prereq::NdAdvert.holds(&k));
    }
}
