//! OXM and NXM: the type-length-value encoding of matches and fields.
//!
//! Since OpenFlow 1.2 a match is a list of OXM entries; Open vSwitch's NXM (used with OpenFlow
//! 1.0) has exactly the same layout. An entry is a 32-bit header, `class(16) field(7)
//! hasmask(1) length(8)`, then the value and, if `hasmask`, a mask of the same width. Class
//! `0x8000` is OpenFlow basic, `0x0000`/`0x0001` are Nicira's `NXM_OF_*`/`NXM_NX_*`, and class
//! `0xffff` is an experimenter OXM whose header is followed by a 32-bit experimenter id (the
//! ONF uses one for `tcp_flags` in OpenFlow 1.3).
//!
//! # The table
//! [`ENTRIES`] lists, for every [`Field`] that has a wire form, each header it can appear
//! under, tagged with the version that introduced it. Encoding for OpenFlow 1.3 uses the newest
//! header not newer than 1.3 (as Open vSwitch does); `load`/`move` and their NXM names use the
//! oldest. Decoding accepts every listed header in any version, again like Open vSwitch.
//!
//! # Matches
//! [`put_match_fields`] writes a [`Match`] in the order Open vSwitch's `nx_put_raw` does, so
//! that our bytes equal `ovs-ofctl`'s. A match that the entries cannot express exactly (a
//! partial mask on a field that has none on the wire, PCP without a VLAN, ...) is an
//! [`EncodeError`], never silently widened. [`pull_match_fields`] decodes untrusted entries
//! with the checks and error codes of Open vSwitch's `nx_pull_raw`: unknown header or wrong
//! length `OFPBMC_BAD_FIELD`, truncated `OFPBMC_BAD_LEN`, value bits outside the mask
//! `OFPBMC_BAD_WILDCARDS`, a mask on an unmaskable field `OFPBMC_BAD_MASK`, an impossible value
//! `OFPBMC_BAD_VALUE`, a field whose prerequisites the entries before it do not establish
//! `OFPBMC_BAD_PREREQ`, and a field given twice `OFPBMC_DUP_FIELD`.

use crate::codec::{Put, Reader};
use crate::error::{BadMatch, DecodeError, EncodeError, ONF_EXPERIMENTER};
use rvs_flowcache::field::{Field, Maskable};
use rvs_flowcache::key::{FlowKey, VLAN_PRESENT};
use rvs_flowcache::ofp::{Match, OfPort};
use rvs_packet::wire::{ip_proto, EtherType};

/// OXM class of `NXM_OF_*` fields.
pub const CLASS_NXM0: u16 = 0x0000;
/// OXM class of `NXM_NX_*` fields.
pub const CLASS_NXM1: u16 = 0x0001;
/// OXM class of OpenFlow basic fields.
pub const CLASS_OPENFLOW_BASIC: u16 = 0x8000;
/// OXM class of experimenter fields.
pub const CLASS_EXPERIMENTER: u16 = 0xffff;

/// Which wire version introduced a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Since {
    /// Nicira NXM (OpenFlow 1.0 era).
    Nxm,
    /// OpenFlow 1.2.
    Of12,
    /// OpenFlow 1.3.
    Of13,
    /// OpenFlow 1.5.
    Of15,
}

/// How a wire value maps onto the field's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conv {
    /// The wire integer is the field value.
    Plain,
    /// A 16-bit OpenFlow 1.0 port number (`NXM_OF_IN_PORT`).
    Port16,
}

/// One header a field can appear under.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    /// The field.
    pub field: Field,
    /// OXM class.
    pub class: u16,
    /// Field number within the class.
    pub number: u8,
    /// Experimenter id (class `0xffff` only).
    pub experimenter: u32,
    /// Value width in bytes.
    pub width: u8,
    /// Version that introduced the header.
    pub since: Since,
    /// Value mapping.
    pub conv: Conv,
    /// NXM/OXM name (`NXM_NX_REG0`, `OXM_OF_METADATA`), used by `load` and `move`.
    pub name: &'static str,
}

impl Entry {
    /// The 32-bit header (without experimenter id) for an exact or masked entry.
    pub fn header(&self, masked: bool) -> u32 {
        let exp = if self.class == CLASS_EXPERIMENTER { 4 } else { 0 };
        let len = self.width as u32 * (1 + masked as u32) + exp;
        (self.class as u32) << 16 | (self.number as u32) << 9 | (masked as u32) << 8 | len
    }

    /// Bytes of an exact entry including the header.
    pub fn entry_len(&self, masked: bool) -> usize {
        let exp = if self.class == CLASS_EXPERIMENTER { 4 } else { 0 };
        4 + exp + self.width as usize * (1 + masked as usize)
    }
}

macro_rules! e {
    ($f:ident, $class:expr, $num:expr, $w:expr, $since:ident, $name:literal) => {
        Entry { field: Field::$f, class: $class, number: $num, experimenter: 0, width: $w, since: Since::$since, conv: Conv::Plain, name: $name }
    };
}

const B: u16 = CLASS_OPENFLOW_BASIC;
const N0: u16 = CLASS_NXM0;
const N1: u16 = CLASS_NXM1;

/// Every header of every field.
pub static ENTRIES: &[Entry] = &[
    Entry { field: Field::InPort, class: N0, number: 0, experimenter: 0, width: 2, since: Since::Nxm, conv: Conv::Port16, name: "NXM_OF_IN_PORT" },
    e!(InPort, B, 0, 4, Of12, "OXM_OF_IN_PORT"),
    e!(Metadata, B, 2, 8, Of12, "OXM_OF_METADATA"),
    e!(Reg0, N1, 0, 4, Nxm, "NXM_NX_REG0"),
    e!(Reg1, N1, 1, 4, Nxm, "NXM_NX_REG1"),
    e!(Reg2, N1, 2, 4, Nxm, "NXM_NX_REG2"),
    e!(Reg3, N1, 3, 4, Nxm, "NXM_NX_REG3"),
    e!(Reg4, N1, 4, 4, Nxm, "NXM_NX_REG4"),
    e!(Reg5, N1, 5, 4, Nxm, "NXM_NX_REG5"),
    e!(Reg6, N1, 6, 4, Nxm, "NXM_NX_REG6"),
    e!(Reg7, N1, 7, 4, Nxm, "NXM_NX_REG7"),
    e!(Reg8, N1, 8, 4, Nxm, "NXM_NX_REG8"),
    e!(Reg9, N1, 9, 4, Nxm, "NXM_NX_REG9"),
    e!(Reg10, N1, 10, 4, Nxm, "NXM_NX_REG10"),
    e!(Reg11, N1, 11, 4, Nxm, "NXM_NX_REG11"),
    e!(Reg12, N1, 12, 4, Nxm, "NXM_NX_REG12"),
    e!(Reg13, N1, 13, 4, Nxm, "NXM_NX_REG13"),
    e!(Reg14, N1, 14, 4, Nxm, "NXM_NX_REG14"),
    e!(Reg15, N1, 15, 4, Nxm, "NXM_NX_REG15"),
    e!(TunId, N1, 16, 8, Nxm, "NXM_NX_TUN_ID"),
    e!(TunId, B, 38, 8, Of13, "OXM_OF_TUNNEL_ID"),
    e!(TunSrc, N1, 31, 4, Nxm, "NXM_NX_TUN_IPV4_SRC"),
    e!(TunDst, N1, 32, 4, Nxm, "NXM_NX_TUN_IPV4_DST"),
    e!(PktMark, N1, 33, 4, Nxm, "NXM_NX_PKT_MARK"),
    e!(ConjId, N1, 37, 4, Nxm, "NXM_NX_CONJ_ID"),
    e!(EthSrc, N0, 2, 6, Nxm, "NXM_OF_ETH_SRC"),
    e!(EthSrc, B, 4, 6, Of12, "OXM_OF_ETH_SRC"),
    e!(EthDst, N0, 1, 6, Nxm, "NXM_OF_ETH_DST"),
    e!(EthDst, B, 3, 6, Of12, "OXM_OF_ETH_DST"),
    e!(EthType, N0, 3, 2, Nxm, "NXM_OF_ETH_TYPE"),
    e!(EthType, B, 5, 2, Of12, "OXM_OF_ETH_TYPE"),
    e!(VlanTci, N0, 4, 2, Nxm, "NXM_OF_VLAN_TCI"),
    e!(VlanVid, B, 6, 2, Of12, "OXM_OF_VLAN_VID"),
    e!(VlanPcp, B, 7, 1, Of12, "OXM_OF_VLAN_PCP"),
    e!(IpSrc, N0, 7, 4, Nxm, "NXM_OF_IP_SRC"),
    e!(IpSrc, B, 11, 4, Of12, "OXM_OF_IPV4_SRC"),
    e!(IpDst, N0, 8, 4, Nxm, "NXM_OF_IP_DST"),
    e!(IpDst, B, 12, 4, Of12, "OXM_OF_IPV4_DST"),
    e!(Ipv6Src, N1, 19, 16, Nxm, "NXM_NX_IPV6_SRC"),
    e!(Ipv6Src, B, 26, 16, Of12, "OXM_OF_IPV6_SRC"),
    e!(Ipv6Dst, N1, 20, 16, Nxm, "NXM_NX_IPV6_DST"),
    e!(Ipv6Dst, B, 27, 16, Of12, "OXM_OF_IPV6_DST"),
    e!(Ipv6Label, N1, 27, 4, Nxm, "NXM_NX_IPV6_LABEL"),
    e!(Ipv6Label, B, 28, 4, Of12, "OXM_OF_IPV6_FLABEL"),
    e!(IpProto, N0, 6, 1, Nxm, "NXM_OF_IP_PROTO"),
    e!(IpProto, B, 10, 1, Of12, "OXM_OF_IP_PROTO"),
    e!(NwTos, N0, 5, 1, Nxm, "NXM_OF_IP_TOS"),
    e!(IpDscp, B, 8, 1, Of12, "OXM_OF_IP_DSCP"),
    e!(IpEcn, N1, 28, 1, Nxm, "NXM_NX_IP_ECN"),
    e!(IpEcn, B, 9, 1, Of12, "OXM_OF_IP_ECN"),
    e!(NwTtl, N1, 29, 1, Nxm, "NXM_NX_IP_TTL"),
    e!(IpFrag, N1, 26, 1, Nxm, "NXM_NX_IP_FRAG"),
    e!(ArpOp, N0, 15, 2, Nxm, "NXM_OF_ARP_OP"),
    e!(ArpOp, B, 21, 2, Of12, "OXM_OF_ARP_OP"),
    e!(ArpSpa, N0, 16, 4, Nxm, "NXM_OF_ARP_SPA"),
    e!(ArpSpa, B, 22, 4, Of12, "OXM_OF_ARP_SPA"),
    e!(ArpTpa, N0, 17, 4, Nxm, "NXM_OF_ARP_TPA"),
    e!(ArpTpa, B, 23, 4, Of12, "OXM_OF_ARP_TPA"),
    e!(ArpSha, N1, 17, 6, Nxm, "NXM_NX_ARP_SHA"),
    e!(ArpSha, B, 24, 6, Of12, "OXM_OF_ARP_SHA"),
    e!(ArpTha, N1, 18, 6, Nxm, "NXM_NX_ARP_THA"),
    e!(ArpTha, B, 25, 6, Of12, "OXM_OF_ARP_THA"),
    e!(TcpSrc, N0, 9, 2, Nxm, "NXM_OF_TCP_SRC"),
    e!(TcpSrc, B, 13, 2, Of12, "OXM_OF_TCP_SRC"),
    e!(TcpDst, N0, 10, 2, Nxm, "NXM_OF_TCP_DST"),
    e!(TcpDst, B, 14, 2, Of12, "OXM_OF_TCP_DST"),
    e!(UdpSrc, N0, 11, 2, Nxm, "NXM_OF_UDP_SRC"),
    e!(UdpSrc, B, 15, 2, Of12, "OXM_OF_UDP_SRC"),
    e!(UdpDst, N0, 12, 2, Nxm, "NXM_OF_UDP_DST"),
    e!(UdpDst, B, 16, 2, Of12, "OXM_OF_UDP_DST"),
    e!(SctpSrc, B, 17, 2, Of12, "OXM_OF_SCTP_SRC"),
    e!(SctpDst, B, 18, 2, Of12, "OXM_OF_SCTP_DST"),
    e!(TcpFlags, N1, 34, 2, Nxm, "NXM_NX_TCP_FLAGS"),
    Entry {
        field: Field::TcpFlags,
        class: CLASS_EXPERIMENTER,
        number: 42,
        experimenter: ONF_EXPERIMENTER,
        width: 2,
        since: Since::Of13,
        conv: Conv::Plain,
        name: "ONFOXM_ET_TCP_FLAGS",
    },
    e!(TcpFlags, B, 42, 2, Of15, "OXM_OF_TCP_FLAGS"),
    e!(IcmpType, N0, 13, 1, Nxm, "NXM_OF_ICMP_TYPE"),
    e!(IcmpType, B, 19, 1, Of12, "OXM_OF_ICMPV4_TYPE"),
    e!(IcmpCode, N0, 14, 1, Nxm, "NXM_OF_ICMP_CODE"),
    e!(IcmpCode, B, 20, 1, Of12, "OXM_OF_ICMPV4_CODE"),
    e!(Icmpv6Type, N1, 21, 1, Nxm, "NXM_NX_ICMPV6_TYPE"),
    e!(Icmpv6Type, B, 29, 1, Of12, "OXM_OF_ICMPV6_TYPE"),
    e!(Icmpv6Code, N1, 22, 1, Nxm, "NXM_NX_ICMPV6_CODE"),
    e!(Icmpv6Code, B, 30, 1, Of12, "OXM_OF_ICMPV6_CODE"),
    e!(NdTarget, N1, 23, 16, Nxm, "NXM_NX_ND_TARGET"),
    e!(NdTarget, B, 31, 16, Of12, "OXM_OF_IPV6_ND_TARGET"),
    e!(NdSll, N1, 24, 6, Nxm, "NXM_NX_ND_SLL"),
    e!(NdSll, B, 32, 6, Of12, "OXM_OF_IPV6_ND_SLL"),
    e!(NdTll, N1, 25, 6, Nxm, "NXM_NX_ND_TLL"),
    e!(NdTll, B, 33, 6, Of12, "OXM_OF_IPV6_ND_TLL"),
];

/// OpenFlow 1.5 `packet_type` (Open vSwitch emits `packet_type=0`, Ethernet, in some 1.3
/// matches); accepted when it says Ethernet.
const OXM_PACKET_TYPE: (u16, u8) = (CLASS_OPENFLOW_BASIC, 44);

/// The header a field is encoded under for OpenFlow 1.3 (matches and `set_field`).
pub fn entry_v13(field: Field) -> Option<&'static Entry> {
    ENTRIES.iter().filter(|e| e.field == field && e.since <= Since::Of13).max_by_key(|e| e.since)
}

/// The header a field is named and loaded under by NXM actions (`load`, `move`): the oldest,
/// and never an experimenter one.
pub fn entry_nxm(field: Field) -> Option<&'static Entry> {
    ENTRIES.iter().filter(|e| e.field == field && e.class != CLASS_EXPERIMENTER).min_by_key(|e| e.since)
}

/// The entry of a 32-bit NXM/OXM header (the mask bit and a doubled length are accepted).
pub fn entry_by_header(header: u32, experimenter: u32) -> Option<&'static Entry> {
    let class = (header >> 16) as u16;
    let number = ((header >> 9) & 0x7f) as u8;
    let masked = header & 0x100 != 0;
    let exp = if class == CLASS_EXPERIMENTER { 4 } else { 0 };
    let len = (header & 0xff) as usize;
    let payload = len.checked_sub(exp)?;
    let width = if masked {
        if payload % 2 != 0 {
            return None;
        }
        payload / 2
    } else {
        payload
    };
    ENTRIES.iter().find(|e| {
        e.class == class
            && e.number == number
            && e.width as usize == width
            && (class != CLASS_EXPERIMENTER || e.experimenter == experimenter)
    })
}

/// The entry of an NXM/OXM name (`NXM_NX_REG0`, `OXM_OF_METADATA`; a `_W` suffix allowed).
pub fn entry_by_name(name: &str) -> Option<&'static Entry> {
    let name = name.strip_suffix("_W").unwrap_or(name);
    ENTRIES.iter().find(|e| e.name == name)
}

/// The bits of a field that hold meaning: `nw_tos` carries DSCP in TOS position, so its
/// low two bits are not part of it; every other field uses its full width.
pub fn value_mask(field: Field) -> u128 {
    match field {
        Field::NwTos => 0xfc,
        f => f.full_mask(),
    }
}

/// Constrains `field` in `m` the way Open vSwitch's `mf_set` does: ICMP type and code
/// constrain the whole 16-bit `tp_src`/`tp_dst`, a VLAN PCP match also requires a tag, and
/// `nw_tos` only touches the DSCP bits.
pub fn set_field_masked(m: &mut Match, field: Field, value: u128, mask: u128) {
    let mask = mask & value_mask(field);
    match field {
        Field::IcmpType | Field::Icmpv6Type if mask != 0 => {
            m.set_masked(Field::TcpSrc, value & 0xff, 0xffff);
        }
        Field::IcmpCode | Field::Icmpv6Code if mask != 0 => {
            m.set_masked(Field::TcpDst, value & 0xff, 0xffff);
        }
        Field::ArpOp if mask != 0 => {
            m.set_masked(Field::IpProto, value & 0xff, 0xff);
        }
        Field::VlanPcp | Field::DlVlanPcp if mask != 0 => {
            m.set_masked(Field::VlanPcp, value, 7);
            let (tci, tmask) = (Field::VlanTci.get(&m.key), Field::VlanTci.get(&m.mask));
            m.set_masked(Field::VlanTci, tci | VLAN_PRESENT as u128, tmask | VLAN_PRESENT as u128);
        }
        _ => {
            let old_mask = field.get(&m.mask) & !value_mask(field);
            let old_key = field.get(&m.key) & !value_mask(field);
            m.set_masked(field, old_key | (value & mask), old_mask | mask);
        }
    }
}

fn be_value(b: &[u8]) -> u128 {
    b.iter().fold(0u128, |acc, &x| (acc << 8) | x as u128)
}

fn put_be(out: &mut Vec<u8>, v: u128, width: usize) {
    let bytes = v.to_be_bytes();
    out.extend_from_slice(&bytes[16 - width..]);
}

/// Writes one entry (exact when `mask` covers the field, masked otherwise; nothing when
/// `mask` is zero) and records the bits it covers in `covered`.
fn put_entry(out: &mut Vec<u8>, covered: &mut FlowKey, e: &Entry, value: u128, mask: u128) {
    let full = match e.conv {
        Conv::Port16 => 0xffff,
        Conv::Plain => {
            if e.width as u32 * 8 >= 128 {
                u128::MAX
            } else {
                (1u128 << (e.width as u32 * 8)) - 1
            }
        }
    };
    let field_full = value_mask(e.field);
    if mask == 0 {
        return;
    }
    let exact = mask & field_full == field_full;
    out.put_u32(e.header(!exact));
    if e.class == CLASS_EXPERIMENTER {
        out.put_u32(e.experimenter);
    }
    put_be(out, value & full, e.width as usize);
    if !exact {
        put_be(out, mask & full, e.width as usize);
    }
    e.field.or_mask(covered, if exact { field_full } else { mask });
}

fn unrepresentable(what: &str) -> EncodeError {
    EncodeError::Unrepresentable(format!("match on {what} cannot be expressed in OXM"))
}

/// Which family of headers a match is written with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// Nicira's NXM (OpenFlow 1.0): the oldest header of each field, the 16-bit
    /// `NXM_OF_IN_PORT`, the whole TCI as `NXM_OF_VLAN_TCI`, DSCP as `NXM_OF_IP_TOS`.
    Nxm,
    /// OXM as Open vSwitch writes it for OpenFlow 1.0 (in `NXT_PACKET_IN2` metadata): NXM's
    /// headers except for the 32-bit `OXM_OF_IN_PORT`, with OXM's VLAN and DSCP fields.
    Oxm10,
    /// OXM as OpenFlow 1.3 has it.
    Oxm13,
}

impl Dialect {
    /// The header `field` is written under.
    pub fn entry(self, field: Field) -> Option<&'static Entry> {
        match (self, field) {
            (Dialect::Oxm10, Field::InPort | Field::VlanVid | Field::VlanPcp | Field::IpDscp) => entry_v13(field),
            (Dialect::Nxm | Dialect::Oxm10, _) => entry_nxm(field),
            (Dialect::Oxm13, _) => entry_v13(field),
        }
    }
}

/// Writes the OXM entries of `m` for OpenFlow 1.3, in Open vSwitch's order.
pub fn put_match_fields(out: &mut Vec<u8>, m: &Match) -> Result<(), EncodeError> {
    put_match_fields_as(out, m, Dialect::Oxm13)
}

/// Writes the entries of `m` in `dialect`, in Open vSwitch's order (`nx_put_raw`).
pub fn put_match_fields_as(out: &mut Vec<u8>, m: &Match, dialect: Dialect) -> Result<(), EncodeError> {
    let mut covered = FlowKey::ZERO;
    let k = &m.key;
    let mk = &m.mask;
    let put = |out: &mut Vec<u8>, covered: &mut FlowKey, f: Field| {
        if let Some(e) = dialect.entry(f) {
            put_entry(out, covered, e, f.get(k), f.get(mk));
        }
    };
    let exact = |f: Field, what: &str| -> Result<(), EncodeError> {
        let mv = f.get(mk);
        if mv != 0 && mv != value_mask(f) {
            return Err(unrepresentable(what));
        }
        Ok(())
    };

    // As OVS's nx_put_raw: conj_id comes before in_port.
    put(out, &mut covered, Field::ConjId);
    exact(Field::InPort, "in_port with a mask")?;
    if dialect == Dialect::Nxm && mk.in_port != 0 {
        let p = OfPort(k.in_port);
        if OfPort::from_ofp10(p.to_ofp10()) != p {
            return Err(unrepresentable("an in_port beyond 16 bits"));
        }
        put_entry(out, &mut covered, entry_nxm(Field::InPort).expect("in_port"), p.to_ofp10() as u128, u128::MAX);
    } else {
        put(out, &mut covered, Field::InPort);
    }
    put(out, &mut covered, Field::EthSrc);
    put(out, &mut covered, Field::EthDst);
    exact(Field::EthType, "dl_type with a mask")?;
    put(out, &mut covered, Field::EthType);

    // 802.1Q. NXM: the whole TCI, any mask. OXM: VLAN_VID carries the presence bit and VID;
    // PCP only alongside a tag.
    if dialect == Dialect::Nxm {
        put(out, &mut covered, Field::VlanTci);
    }
    let vid = k.vlan_tci & 0x1fff;
    let vid_mask = mk.vlan_tci & 0x1fff;
    let pcp_mask = mk.vlan_tci >> 13;
    if vid_mask != 0 && dialect != Dialect::Nxm {
        put_entry(out, &mut covered, entry_v13(Field::VlanVid).expect("vlan_vid"), vid as u128, vid_mask as u128);
    }
    if pcp_mask != 0 && dialect != Dialect::Nxm {
        if pcp_mask != 7 || vid & VLAN_PRESENT == 0 || vid_mask & VLAN_PRESENT == 0 {
            return Err(unrepresentable("a VLAN PCP without a VLAN tag"));
        }
        put_entry(out, &mut covered, entry_v13(Field::VlanPcp).expect("vlan_pcp"), (k.vlan_tci >> 13) as u128, 7);
    }

    let dl_type = k.dl_type;
    if dl_type == EtherType::IPV4 || dl_type == EtherType::IPV6 {
        if dl_type == EtherType::IPV4 {
            put(out, &mut covered, Field::IpSrc);
            put(out, &mut covered, Field::IpDst);
        } else {
            put(out, &mut covered, Field::Ipv6Src);
            put(out, &mut covered, Field::Ipv6Dst);
        }
        put(out, &mut covered, Field::IpFrag);
        if mk.nw_tos & 0xfc != 0 {
            exact(Field::IpDscp, "a partial DSCP")?;
            match dialect {
                Dialect::Nxm => {
                    let e = entry_nxm(Field::NwTos).expect("nw_tos");
                    put_entry(out, &mut covered, e, (k.nw_tos & 0xfc) as u128, 0xfc);
                }
                Dialect::Oxm10 | Dialect::Oxm13 => put(out, &mut covered, Field::IpDscp),
            }
        }
        if mk.nw_tos & 3 != 0 {
            exact(Field::IpEcn, "a partial ECN")?;
            put(out, &mut covered, Field::IpEcn);
        }
        exact(Field::NwTtl, "a partial TTL")?;
        put(out, &mut covered, Field::NwTtl);
        put(out, &mut covered, Field::Ipv6Label);
        if mk.nw_proto != 0 {
            exact(Field::IpProto, "a partial IP protocol")?;
            put(out, &mut covered, Field::IpProto);
            match k.nw_proto {
                ip_proto::TCP => {
                    put(out, &mut covered, Field::TcpSrc);
                    put(out, &mut covered, Field::TcpDst);
                    put(out, &mut covered, Field::TcpFlags);
                }
                ip_proto::UDP => {
                    put(out, &mut covered, Field::UdpSrc);
                    put(out, &mut covered, Field::UdpDst);
                }
                ip_proto::SCTP => {
                    put(out, &mut covered, Field::SctpSrc);
                    put(out, &mut covered, Field::SctpDst);
                }
                ip_proto::ICMP if dl_type == EtherType::IPV4 => {
                    put_icmp(out, &mut covered, m, Field::IcmpType, Field::IcmpCode, dialect)?;
                }
                ip_proto::ICMPV6 if dl_type == EtherType::IPV6 => {
                    put_icmp(out, &mut covered, m, Field::Icmpv6Type, Field::Icmpv6Code, dialect)?;
                    if k.tp_dst == 0 && (k.tp_src == 135 || k.tp_src == 136) {
                        put(out, &mut covered, Field::NdTarget);
                        if k.tp_src == 135 {
                            put(out, &mut covered, Field::NdSll);
                        } else {
                            put(out, &mut covered, Field::NdTll);
                        }
                    }
                }
                _ => {}
            }
        }
    } else if dl_type == EtherType::ARP || dl_type == EtherType::RARP {
        if mk.nw_proto != 0 {
            exact(Field::ArpOp, "a partial ARP opcode")?;
            put_entry(out, &mut covered, dialect.entry(Field::ArpOp).expect("arp_op"), k.nw_proto as u128, 0xff);
        }
        put(out, &mut covered, Field::ArpSpa);
        put(out, &mut covered, Field::ArpTpa);
        put(out, &mut covered, Field::ArpSha);
        put(out, &mut covered, Field::ArpTha);
    }

    put(out, &mut covered, Field::TunId);
    put(out, &mut covered, Field::TunSrc);
    put(out, &mut covered, Field::TunDst);
    for r in 0..16 {
        put(out, &mut covered, Field::reg(r).expect("16 registers"));
    }
    put(out, &mut covered, Field::PktMark);
    put(out, &mut covered, Field::Metadata);

    if !m.mask.is_subset_of(&covered) {
        let lost = Field::ALL
            .iter()
            .find(|f| !f.desc().is_subfield && f.get(&m.mask) & !f.get(&covered) != 0)
            .map_or("a field", |f| f.name());
        return Err(unrepresentable(lost));
    }
    Ok(())
}

fn put_icmp(
    out: &mut Vec<u8>,
    covered: &mut FlowKey,
    m: &Match,
    ty: Field,
    code: Field,
    dialect: Dialect,
) -> Result<(), EncodeError> {
    for (container, f) in [(Field::TcpSrc, ty), (Field::TcpDst, code)] {
        let mask = container.get(&m.mask);
        let value = container.get(&m.key);
        if mask == 0 {
            continue;
        }
        if (mask != 0xffff && mask != 0xff) || value > 0xff {
            return Err(unrepresentable("an ICMP type or code wider than 8 bits"));
        }
        put_entry(out, covered, dialect.entry(f).expect("icmp"), value, 0xff);
        container.or_mask(covered, 0xffff);
    }
    Ok(())
}

/// Writes an OpenFlow 1.1+ `ofp_match` (type OXM, length, entries, padding to 8 bytes).
pub fn put_match(out: &mut Vec<u8>, m: &Match) -> Result<(), EncodeError> {
    let start = out.len();
    out.put_u16(1); // OFPMT_OXM
    out.put_u16(0);
    put_match_fields(out, m)?;
    let len = out.len() - start;
    out.set_u16(start + 2, len as u16);
    out.pad_to_8(start);
    Ok(())
}

fn bad(code: BadMatch, detail: &'static str) -> DecodeError {
    DecodeError::new(code, detail)
}

/// One decoded entry: its table entry, value and mask (all-ones mask for exact entries).
#[derive(Clone, Copy, Debug)]
pub struct RawEntry {
    /// Table entry.
    pub entry: &'static Entry,
    /// Value (already converted, e.g. 16-bit ports to 32-bit).
    pub value: u128,
    /// Mask (the field's full mask for exact entries).
    pub mask: u128,
    /// The header had the mask bit.
    pub masked: bool,
}

/// What to do with an entry whose header is unknown.
enum Pulled {
    Entry(RawEntry),
    /// `packet_type=0` (Ethernet): carries no constraint for us.
    Ignore,
}

fn pull_entry(r: &mut Reader<'_>) -> Result<Pulled, DecodeError> {
    let header = r.u32()?;
    let class = (header >> 16) as u16;
    let experimenter = if class == CLASS_EXPERIMENTER { r.u32()? } else { 0 };
    let len = (header & 0xff) as usize;
    let exp_len = if class == CLASS_EXPERIMENTER { 4 } else { 0 };
    let payload_len = len.checked_sub(exp_len).ok_or(bad(BadMatch::BadLen, "OXM length shorter than its experimenter id"))?;
    let payload = r.bytes(payload_len)?;
    let masked = header & 0x100 != 0;
    let number = ((header >> 9) & 0x7f) as u8;
    if (class, number) == OXM_PACKET_TYPE && !masked && payload_len == 4 {
        if payload == [0, 0, 0, 0] {
            return Ok(Pulled::Ignore);
        }
        return Err(bad(BadMatch::BadValue, "unsupported packet_type"));
    }
    let entry = entry_by_header(header, experimenter).ok_or(bad(BadMatch::BadField, "unknown OXM field"))?;
    let w = entry.width as usize;
    let (vb, mb) = if masked { payload.split_at(w) } else { (payload, &[][..]) };
    if masked && vb.iter().zip(mb).any(|(v, m)| v & !m != 0) {
        return Err(bad(BadMatch::BadWildcards, "OXM value has 1-bits where the mask is 0"));
    }
    let raw_full = if w >= 16 { u128::MAX } else { (1u128 << (8 * w)) - 1 };
    let raw_value = be_value(vb);
    let raw_mask = if masked { be_value(mb) } else { raw_full };
    let field = entry.field;
    if field.desc().maskable == Maskable::No && raw_mask != 0 && raw_mask != raw_full {
        return Err(bad(BadMatch::BadMask, "mask on a field that cannot be masked"));
    }
    let (value, mask) = match entry.conv {
        Conv::Port16 => (OfPort::from_ofp10(raw_value as u16).0 as u128, if raw_mask == 0 { 0 } else { 0xffff_ffff }),
        Conv::Plain => {
            if field == Field::InPort && (0xff00..0xffff_ff00).contains(&(raw_value as u32)) {
                return Err(bad(BadMatch::BadValue, "in_port out of range"));
            }
            let vm = value_mask(field);
            if raw_value & !vm != 0 {
                return Err(bad(BadMatch::BadValue, "value does not fit the field"));
            }
            (raw_value, raw_mask & vm)
        }
    };
    Ok(Pulled::Entry(RawEntry { entry, value, mask, masked }))
}

/// `NXM_NX_COOKIE`, without the mask bit and length: flow-mods and flow statistics requests
/// carry the cookie to match inside their NXM match.
pub const NXM_NX_COOKIE: u32 = 0x0001_3c00;

/// Decodes OXM/NXM entries into a match, checking each entry against those before it.
pub fn pull_match_fields(bytes: &[u8]) -> Result<Match, DecodeError> {
    pull_match_fields_with(bytes, None)
}

/// Decodes entries like [`pull_match_fields`]; `NXM_NX_COOKIE` entries are accepted when
/// `cookie` is given and stored there as `(cookie, mask)`.
pub fn pull_match_fields_with(bytes: &[u8], mut cookie: Option<&mut Option<(u64, u64)>>) -> Result<Match, DecodeError> {
    let mut m = Match::catchall();
    let mut r = Reader::new(bytes, bad(BadMatch::BadLen, "truncated OXM entry"));
    while !r.is_empty() {
        if r.remaining() < 4 {
            return Err(bad(BadMatch::BadLen, "truncated OXM header"));
        }
        let head = r.peek();
        let header = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        if header & 0xffff_fe00 == NXM_NX_COOKIE {
            let slot = cookie.as_deref_mut().ok_or(bad(BadMatch::BadField, "cookie in a match that cannot have one"))?;
            let masked = header & 0x100 != 0;
            if header & 0xff != if masked { 16 } else { 8 } {
                return Err(bad(BadMatch::BadField, "NXM_NX_COOKIE with a bad length"));
            }
            r.skip(4)?;
            let value = r.u64()?;
            let mask = if masked { r.u64()? } else { u64::MAX };
            if value & !mask != 0 {
                return Err(bad(BadMatch::BadWildcards, "cookie has 1-bits where the mask is 0"));
            }
            if slot.replace((value, mask)).is_some() {
                return Err(bad(BadMatch::DupField, "cookie appears twice"));
            }
            continue;
        }
        let e = match pull_entry(&mut r)? {
            Pulled::Entry(e) => e,
            Pulled::Ignore => continue,
        };
        let field = e.entry.field;
        if !field.desc().prereq.holds(&m.key) {
            return Err(bad(BadMatch::BadPrereq, "OXM field without its prerequisites"));
        }
        let already = match field {
            Field::IcmpType | Field::Icmpv6Type => m.mask.tp_src != 0,
            Field::IcmpCode | Field::Icmpv6Code => m.mask.tp_dst != 0,
            f => f.get(&m.mask) & value_mask(f) != 0,
        };
        if already {
            return Err(bad(BadMatch::DupField, "OXM field appears twice"));
        }
        set_field_masked(&mut m, field, e.value, e.mask);
    }
    Ok(m)
}

/// Reads an OpenFlow 1.1+ `ofp_match` with its padding.
pub(crate) fn pull_match(r: &mut Reader<'_>) -> Result<Match, DecodeError> {
    if r.remaining() < 4 {
        return Err(bad(BadMatch::BadLen, "truncated ofp_match"));
    }
    let head = r.peek();
    let ty = u16::from_be_bytes([head[0], head[1]]);
    let len = u16::from_be_bytes([head[2], head[3]]) as usize;
    if len < 4 {
        return Err(bad(BadMatch::BadLen, "ofp_match length below 4"));
    }
    if ty != 1 {
        return Err(bad(BadMatch::BadType, "match type is not OXM"));
    }
    let padded = len.div_ceil(8) * 8;
    if padded > r.remaining() {
        return Err(bad(BadMatch::BadLen, "ofp_match longer than the message"));
    }
    let all = r.bytes(padded).map_err(|_| bad(BadMatch::BadLen, "ofp_match longer than the message"))?;
    pull_match_fields(&all[4..len])
}

#[cfg(test)]
mod tests;
