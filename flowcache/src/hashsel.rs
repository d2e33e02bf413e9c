//! Choices made by hashing the flow: the `multipath` and `bundle`/`bundle_load` actions.
//!
//! # What
//! `multipath(fields, basis, algorithm, n_links, arg, dst)` hashes some fields of the flow and
//! maps the hash to a link number in `0..n_links`, which it writes into `dst`.
//! `bundle(fields, basis, algorithm, ofport, members:P,Q,...)` picks one live member port and
//! outputs to it (`bundle_load` writes its number into a field instead). Both behave as in
//! Open vSwitch (ovs-actions(7)), and choose the same link or member for the same packet,
//! which needs Open vSwitch's hash functions bit for bit:
//! * `jhash_bytes`: Bob Jenkins' lookup3 over the bytes read as little-endian 32-bit words,
//!   a zero-padded tail going through the final mix (Open vSwitch's `jhash.c`);
//! * `hash_add`/`hash_finish`: the MurmurHash3 round and finaliser that Open vSwitch uses
//!   when it is built without SSE 4.2 (as Debian builds it);
//! * the flow hashes of `nx_hash_fields`, with the header fields in network byte order as
//!   they lie in Open vSwitch's `struct flow` (read as host, little-endian, integers).
//!
//! # Un-wildcarding
//! The flow hashes read the flow only through a caller-supplied reader, which translation
//! makes the un-wildcarding one: the megaflow then holds exactly the fields hashed (and the
//! ones that decided which fields to hash, such as `dl_type`).
//!
//! # Cost
//! Only translation runs this (once per megaflow); nothing here is on the per-packet path.

use serde::{Deserialize, Serialize};

use crate::field::Field;
use crate::ofp::{OfPort, SubField};

/// Which fields a `multipath` or `bundle` hashes (`NX_HASH_FIELDS_*`, numbered as on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HashFields {
    /// The Ethernet source.
    EthSrc = 0,
    /// Ethernet addresses, VLAN id, ethertype, IP addresses and protocol, and TCP/SCTP ports,
    /// the same in both directions.
    SymmetricL4 = 1,
    /// IP addresses, protocol and TCP/SCTP ports, both directions alike (0 for non-IP).
    SymmetricL3L4 = 2,
    /// As `SymmetricL3L4`, UDP ports included.
    SymmetricL3L4Udp = 3,
    /// The IPv4 source.
    NwSrc = 4,
    /// The IPv4 destination.
    NwDst = 5,
    /// IP addresses, both directions alike (0 for non-IP).
    SymmetricL3 = 6,
}

impl HashFields {
    const ALL: [HashFields; 7] = [
        HashFields::EthSrc,
        HashFields::SymmetricL4,
        HashFields::SymmetricL3L4,
        HashFields::SymmetricL3L4Udp,
        HashFields::NwSrc,
        HashFields::NwDst,
        HashFields::SymmetricL3,
    ];

    /// The name `ovs-ofctl` uses.
    pub fn name(self) -> &'static str {
        match self {
            HashFields::EthSrc => "eth_src",
            HashFields::SymmetricL4 => "symmetric_l4",
            HashFields::SymmetricL3L4 => "symmetric_l3l4",
            HashFields::SymmetricL3L4Udp => "symmetric_l3l4+udp",
            HashFields::NwSrc => "nw_src",
            HashFields::NwDst => "nw_dst",
            HashFields::SymmetricL3 => "symmetric_l3",
        }
    }

    /// The fields named `name`, if any.
    pub fn from_name(name: &str) -> Option<HashFields> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The fields numbered `n` on the wire, if any.
    pub fn from_wire(n: u16) -> Option<HashFields> {
        Self::ALL.into_iter().find(|f| *f as u16 == n)
    }
}

/// How `multipath` maps a hash to a link (`NX_MP_ALG_*`, numbered as on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MultipathAlgorithm {
    /// `hash % n_links`.
    ModuloN = 0,
    /// The hash space cut into `n_links` equal ranges.
    HashThreshold = 1,
    /// Highest random weight (iterated hashing above 64 links).
    Hrw = 2,
    /// Iterated hashing, `arg` the power of two to reduce by.
    IterHash = 3,
}

impl MultipathAlgorithm {
    const ALL: [MultipathAlgorithm; 4] =
        [MultipathAlgorithm::ModuloN, MultipathAlgorithm::HashThreshold, MultipathAlgorithm::Hrw, MultipathAlgorithm::IterHash];

    /// The name `ovs-ofctl` uses.
    pub fn name(self) -> &'static str {
        match self {
            MultipathAlgorithm::ModuloN => "modulo_n",
            MultipathAlgorithm::HashThreshold => "hash_threshold",
            MultipathAlgorithm::Hrw => "hrw",
            MultipathAlgorithm::IterHash => "iter_hash",
        }
    }

    /// The algorithm named `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The algorithm numbered `n` on the wire, if any.
    pub fn from_wire(n: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|a| *a as u16 == n)
    }
}

/// `multipath(fields, basis, algorithm, n_links, arg, dst)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Multipath {
    /// Fields hashed.
    pub fields: HashFields,
    /// Hash basis.
    pub basis: u16,
    /// Link choice.
    pub algorithm: MultipathAlgorithm,
    /// Number of links minus one.
    pub max_link: u16,
    /// Algorithm argument (`iter_hash`'s modulus).
    pub arg: u32,
    /// Where the link number goes.
    pub dst: SubField,
}

/// How `bundle` picks a member (`NX_BD_ALG_*`, numbered as on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BundleAlgorithm {
    /// The first live member.
    ActiveBackup = 0,
    /// Highest random weight among the live members.
    Hrw = 1,
}

impl BundleAlgorithm {
    /// The name `ovs-ofctl` uses.
    pub fn name(self) -> &'static str {
        match self {
            BundleAlgorithm::ActiveBackup => "active_backup",
            BundleAlgorithm::Hrw => "hrw",
        }
    }

    /// The algorithm named `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        [BundleAlgorithm::ActiveBackup, BundleAlgorithm::Hrw].into_iter().find(|a| a.name() == name)
    }

    /// The algorithm numbered `n` on the wire, if any.
    pub fn from_wire(n: u16) -> Option<Self> {
        [BundleAlgorithm::ActiveBackup, BundleAlgorithm::Hrw].into_iter().find(|a| *a as u16 == n)
    }
}

/// `bundle(...)` (output to the chosen member) and `bundle_load(...)` (`dst` set: load its
/// number instead, `0xffff` when no member is live).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Bundle {
    /// Fields hashed (`hrw`).
    pub fields: HashFields,
    /// Hash basis.
    pub basis: u16,
    /// Member choice.
    pub algorithm: BundleAlgorithm,
    /// Member ports, in order.
    pub members: Vec<OfPort>,
    /// `bundle_load`'s destination.
    pub dst: Option<SubField>,
}

fn rot(x: u32, k: u32) -> u32 {
    x.rotate_left(k)
}

fn jhash_mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c);
    *a ^= rot(*c, 4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= rot(*a, 6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= rot(*b, 8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c);
    *a ^= rot(*c, 16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= rot(*a, 19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= rot(*b, 4);
    *b = b.wrapping_add(*a);
}

fn jhash_final(a: &mut u32, b: &mut u32, c: &mut u32) {
    *c ^= *b;
    *c = c.wrapping_sub(rot(*b, 14));
    *a ^= *c;
    *a = a.wrapping_sub(rot(*c, 11));
    *b ^= *a;
    *b = b.wrapping_sub(rot(*a, 25));
    *c ^= *b;
    *c = c.wrapping_sub(rot(*b, 16));
    *a ^= *c;
    *a = a.wrapping_sub(rot(*c, 4));
    *b ^= *a;
    *b = b.wrapping_sub(rot(*a, 14));
    *c ^= *b;
    *c = c.wrapping_sub(rot(*b, 24));
}

/// Open vSwitch's `jhash_bytes`: lookup3 over `bytes` read as little-endian words.
pub fn jhash_bytes(bytes: &[u8], basis: u32) -> u32 {
    let init = 0xdead_beef_u32.wrapping_add(bytes.len() as u32).wrapping_add(basis);
    let (mut a, mut b, mut c) = (init, init, init);
    let word = |s: &[u8]| {
        let mut w = [0u8; 4];
        w[..s.len()].copy_from_slice(s);
        u32::from_le_bytes(w)
    };
    let mut rest = bytes;
    while rest.len() > 12 {
        a = a.wrapping_add(word(&rest[0..4]));
        b = b.wrapping_add(word(&rest[4..8]));
        c = c.wrapping_add(word(&rest[8..12]));
        jhash_mix(&mut a, &mut b, &mut c);
        rest = &rest[12..];
    }
    if !rest.is_empty() {
        let mut tail = [0u8; 12];
        tail[..rest.len()].copy_from_slice(rest);
        a = a.wrapping_add(word(&tail[0..4]));
        b = b.wrapping_add(word(&tail[4..8]));
        c = c.wrapping_add(word(&tail[8..12]));
        jhash_final(&mut a, &mut b, &mut c);
    }
    c
}

/// One MurmurHash3 round (Open vSwitch's `hash_add`); a zero word leaves the state's value
/// before the rotation unchanged.
pub fn hash_add(hash: u32, data: u32) -> u32 {
    let mut h = hash;
    if data != 0 {
        h ^= rot(data.wrapping_mul(0xcc9e_2d51), 15).wrapping_mul(0x1b87_3593);
    }
    rot(h, 13).wrapping_mul(5).wrapping_add(0xe654_6b64)
}

/// `hash_add` of both halves of a 64-bit word, low half first.
pub fn hash_add64(hash: u32, data: u64) -> u32 {
    hash_add(hash_add(hash, data as u32), (data >> 32) as u32)
}

/// The MurmurHash3 finaliser of `hash ^ fin` (Open vSwitch's `hash_finish`).
pub fn hash_finish(hash: u32, fin: u32) -> u32 {
    let mut h = hash ^ fin;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// Open vSwitch's `hash_2words`.
pub fn hash_2words(x: u32, y: u32) -> u32 {
    hash_finish(hash_add(hash_add(x, 0), y), 8)
}

/// A 32-bit header field as `struct flow` holds it (network order), read as a host integer.
fn be32(v: u128) -> u32 {
    (v as u32).swap_bytes()
}

fn be16(v: u128) -> u16 {
    (v as u16).swap_bytes()
}

fn mac_bytes(v: u128) -> [u8; 6] {
    let b = (v as u64).to_be_bytes();
    [b[2], b[3], b[4], b[5], b[6], b[7]]
}

const ETH_TYPE_IP: u16 = 0x0800;
const ETH_TYPE_IPV6: u16 = 0x86dd;
const TCP: u8 = 6;
const UDP: u8 = 17;
const SCTP: u8 = 132;

/// The IP addresses, both directions alike, in the layout of `struct flow` (16 bytes:
/// an IPv4 address in the first four), or `None` for non-IP.
fn symmetric_addresses(dl_type: u16, read: &mut impl FnMut(Field) -> u128) -> Option<[u8; 16]> {
    let mut out = [0u8; 16];
    match dl_type {
        ETH_TYPE_IP => out[..4].copy_from_slice(&((read(Field::IpSrc) ^ read(Field::IpDst)) as u32).to_be_bytes()),
        ETH_TYPE_IPV6 => out = (read(Field::Ipv6Src) ^ read(Field::Ipv6Dst)).to_be_bytes(),
        _ => return None,
    }
    Some(out)
}

/// Open vSwitch's `flow_hash_symmetric_l4`.
fn symmetric_l4(basis: u32, read: &mut impl FnMut(Field) -> u128) -> u32 {
    // union { be32; in6_addr } (16), eth_type (2), vlan_tci (2), tp_port (2), eth_addr (6),
    // ip_proto (1), padding (3): 32 bytes, zeroed first.
    let mut fields = [0u8; 32];
    let eth = mac_bytes(read(Field::EthSrc) ^ read(Field::EthDst));
    fields[22..28].copy_from_slice(&eth);
    let vid = read(Field::VlanTci) as u16 & 0x0fff;
    fields[18..20].copy_from_slice(&vid.to_be_bytes());
    let dl_type = read(Field::EthType) as u16;
    fields[16..18].copy_from_slice(&dl_type.to_be_bytes());
    if let Some(addr) = symmetric_addresses(dl_type, read) {
        fields[..16].copy_from_slice(&addr);
        let proto = read(Field::IpProto) as u8;
        fields[28] = proto;
        if proto == TCP || proto == SCTP {
            let ports = (read(Field::TcpSrc) ^ read(Field::TcpDst)) as u16;
            fields[20..22].copy_from_slice(&ports.to_be_bytes());
        }
    }
    jhash_bytes(&fields, basis)
}

/// Open vSwitch's `flow_hash_symmetric_l3l4` (`with_udp`: UDP ports count too) and, with
/// `ports` false, `flow_hash_symmetric_l3`.
fn symmetric_l3l4(basis: u32, ports: bool, with_udp: bool, read: &mut impl FnMut(Field) -> u128) -> u32 {
    let dl_type = read(Field::EthType) as u16;
    let mut hash = basis;
    match dl_type {
        ETH_TYPE_IP => hash = hash_add(hash, be32(read(Field::IpSrc) ^ read(Field::IpDst))),
        ETH_TYPE_IPV6 => {
            let x = (read(Field::Ipv6Src) ^ read(Field::Ipv6Dst)).to_be_bytes();
            for half in x.chunks_exact(8) {
                hash = hash_add64(hash, u64::from_le_bytes(half.try_into().expect("8 bytes")));
            }
        }
        // ovs-actions(7): other protocols "hash to a constant zero". (Open vSwitch 3.1 in
        // fact hashes something that depends on the Ethernet source for them; see
        // tests/hashsel_vs_ovs.rs.)
        _ => return 0,
    }
    if ports {
        let proto = read(Field::IpProto) as u8;
        hash = hash_add(hash, u32::from(proto));
        if proto == TCP || proto == SCTP || (with_udp && proto == UDP) {
            hash = hash_add(hash, u32::from(be16(read(Field::TcpSrc) ^ read(Field::TcpDst))));
        }
    }
    hash_finish(hash, basis)
}

/// Open vSwitch's `flow_hash_symmetric_l3`.
fn symmetric_l3(basis: u32, read: &mut impl FnMut(Field) -> u128) -> u32 {
    // union { be32; in6_addr } (16), eth_type (2), padding (2): 20 bytes, zeroed first.
    let mut fields = [0u8; 20];
    let dl_type = read(Field::EthType) as u16;
    fields[16..18].copy_from_slice(&dl_type.to_be_bytes());
    if let Some(addr) = symmetric_addresses(dl_type, read) {
        fields[..16].copy_from_slice(&addr);
    }
    jhash_bytes(&fields, basis)
}

/// Open vSwitch's `flow_hash_fields`: the hash of `fields` of the flow, which `read` gives
/// (and, in translation, un-wildcards).
pub fn hash_fields(fields: HashFields, basis: u16, mut read: impl FnMut(Field) -> u128) -> u32 {
    let basis = u32::from(basis);
    match fields {
        HashFields::EthSrc => jhash_bytes(&mac_bytes(read(Field::EthSrc)), basis),
        HashFields::SymmetricL4 => symmetric_l4(basis, &mut read),
        HashFields::SymmetricL3L4 => symmetric_l3l4(basis, true, false, &mut read),
        HashFields::SymmetricL3L4Udp => symmetric_l3l4(basis, true, true, &mut read),
        HashFields::SymmetricL3 => symmetric_l3(basis, &mut read),
        HashFields::NwSrc | HashFields::NwDst => {
            let src = fields == HashFields::NwSrc;
            match read(Field::EthType) as u16 {
                ETH_TYPE_IP => {
                    let f = if src { Field::IpSrc } else { Field::IpDst };
                    jhash_bytes(&(read(f) as u32).to_be_bytes(), basis)
                }
                ETH_TYPE_IPV6 => {
                    let f = if src { Field::Ipv6Src } else { Field::Ipv6Dst };
                    jhash_bytes(&read(f).to_be_bytes(), basis)
                }
                _ => basis,
            }
        }
    }
}

fn round_up_pow2(n: u32) -> u32 {
    n.checked_next_power_of_two().unwrap_or(0)
}

fn iter_hash(hash: u32, n_links: u32, arg: u32) -> u16 {
    let modulo = if arg < n_links || arg / 2 > n_links { round_up_pow2(n_links) } else { arg };
    let mut i = 0u32;
    loop {
        let link = hash_2words(hash, i) % modulo;
        i += 1;
        if link < n_links {
            return link as u16;
        }
    }
}

/// The link `multipath` chooses for `hash` among `n_links` (1..=65536).
pub fn choose_link(hash: u32, algorithm: MultipathAlgorithm, n_links: u32, arg: u32) -> u16 {
    match algorithm {
        MultipathAlgorithm::ModuloN => (hash % n_links) as u16,
        MultipathAlgorithm::HashThreshold if n_links == 1 => 0,
        MultipathAlgorithm::HashThreshold => (hash / (u32::MAX / n_links + 1)) as u16,
        MultipathAlgorithm::Hrw if n_links <= 64 => {
            let mut best = (0u16, hash_2words(hash, 0));
            for link in 1..n_links {
                let w = hash_2words(hash, link);
                if w > best.1 {
                    best = (link as u16, w);
                }
            }
            best.0
        }
        MultipathAlgorithm::Hrw => iter_hash(hash, n_links, 0),
        MultipathAlgorithm::IterHash => iter_hash(hash, n_links, arg),
    }
}

/// The member `bundle` chooses, given which members are live, or `None`. `hash` is asked
/// for only when the algorithm needs it (so that only then are the fields un-wildcarded).
pub fn choose_member(b: &Bundle, live: impl Fn(OfPort) -> bool, hash: impl FnOnce() -> u32) -> Option<OfPort> {
    match b.algorithm {
        BundleAlgorithm::ActiveBackup => b.members.iter().copied().find(|p| live(*p)),
        BundleAlgorithm::Hrw => {
            let h = if b.members.len() > 1 { hash() } else { 0 };
            let mut best: Option<(OfPort, u32)> = None;
            for (i, p) in b.members.iter().enumerate() {
                if live(*p) {
                    let w = hash_2words(i as u32, h);
                    if best.is_none_or(|(_, bw)| w > bw) {
                        best = Some((*p, w));
                    }
                }
            }
            best.map(|(p, _)| p)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup3_of_no_bytes_is_its_initial_value() {
        assert_eq!(jhash_bytes(&[], 0), 0xdead_beef);
        assert_ne!(jhash_bytes(&[1], 0), jhash_bytes(&[2], 0));
        assert_ne!(jhash_bytes(&[1], 0), jhash_bytes(&[1], 1));
    }

    #[test]
    fn links_stay_in_range_and_spread() {
        for alg in MultipathAlgorithm::ALL {
            for n in [1u32, 2, 3, 7, 64, 65, 1000] {
                let mut seen = std::collections::BTreeSet::new();
                for h in 0..400u32 {
                    let l = choose_link(hash_finish(h, 0), alg, n, 5);
                    assert!(u32::from(l) < n, "{alg:?} {n}: {l}");
                    seen.insert(l);
                }
                assert!(seen.len() as u32 >= n.min(50) / 2, "{alg:?} {n}: only {} links used", seen.len());
            }
        }
    }

    #[test]
    fn symmetric_hashes_are_the_same_both_ways() {
        let flow = |src: u128, dst: u128, sp: u128, dp: u128| {
            move |f: Field| match f {
                Field::EthType => 0x0800,
                Field::IpSrc => src,
                Field::IpDst => dst,
                Field::IpProto => 17,
                Field::TcpSrc => sp,
                Field::TcpDst => dp,
                Field::EthSrc => 0x0200_0000_0001,
                Field::EthDst => 0x0200_0000_0002,
                _ => 0,
            }
        };
        for fields in [HashFields::SymmetricL4, HashFields::SymmetricL3L4, HashFields::SymmetricL3L4Udp, HashFields::SymmetricL3] {
            let there = hash_fields(fields, 7, flow(1, 2, 1000, 53));
            let back = hash_fields(fields, 7, flow(2, 1, 53, 1000));
            assert_eq!(there, back, "{fields:?}");
            assert_ne!(there, hash_fields(fields, 7, flow(1, 3, 1000, 53)), "{fields:?}");
        }
        // UDP ports count only for symmetric_l3l4+udp.
        assert_eq!(hash_fields(HashFields::SymmetricL3L4, 0, flow(1, 2, 1, 2)), hash_fields(HashFields::SymmetricL3L4, 0, flow(1, 2, 3, 9)));
        assert_ne!(
            hash_fields(HashFields::SymmetricL3L4Udp, 0, flow(1, 2, 1, 2)),
            hash_fields(HashFields::SymmetricL3L4Udp, 0, flow(1, 2, 3, 9))
        );
    }

    #[test]
    fn bundles_skip_dead_members() {
        let b = |algorithm| Bundle { fields: HashFields::EthSrc, basis: 0, algorithm, members: vec![OfPort(4), OfPort(8)], dst: None };
        let ab = b(BundleAlgorithm::ActiveBackup);
        assert_eq!(choose_member(&ab, |_| true, || 0), Some(OfPort(4)));
        assert_eq!(choose_member(&ab, |p| p == OfPort(8), || 0), Some(OfPort(8)));
        assert_eq!(choose_member(&ab, |_| false, || 0), None);
        let hrw = b(BundleAlgorithm::Hrw);
        for h in 0..50 {
            assert_eq!(choose_member(&hrw, |p| p == OfPort(8), || h), Some(OfPort(8)));
        }
        let picks: std::collections::BTreeSet<_> = (0..50).map(|h| choose_member(&hrw, |_| true, || hash_finish(h, 0))).collect();
        assert_eq!(picks.len(), 2, "both members get flows");
    }
}
