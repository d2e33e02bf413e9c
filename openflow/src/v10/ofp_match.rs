//! OpenFlow 1.0's `ofp_match` and the NXM match of Nicira's OpenFlow 1.0 messages.
//!
//! # `ofp_match`
//! A fixed 40-byte structure: a wildcard bitmap, then in-port, Ethernet addresses, VLAN id
//! and priority, Ethernet type, IP TOS and protocol, IPv4 addresses and L4 ports. A set
//! wildcard bit means "any value"; the IPv4 addresses instead carry a 6-bit count of
//! wildcarded low-order bits (32 or more: the whole address), so only CIDR masks exist.
//! `dl_vlan = 0xffff` means "no VLAN tag". The translation follows Open vSwitch's
//! `ofputil_match_{from,to}_ofp10_match`: [`pull_match`] does not check prerequisites
//! (flow-mods normalise afterwards), and [`put_match`] refuses a match it cannot express
//! exactly (a partial mask on a field without one, a non-CIDR address mask, an IPv6 or
//! register match, ...) with an [`EncodeError`], where Open vSwitch would have restricted
//! the usable protocols to NXM beforehand.
//!
//! # NXM
//! Nicira's messages carry the match as NXM entries (the OXM layout with NXM headers,
//! [`crate::oxm::Dialect::Nxm`]) after a `match_len`, padded to 8 bytes; flow-mods and flow
//! statistics requests may add `NXM_NX_COOKIE` to select rules by cookie.

use crate::codec::{Put, Reader};
use crate::error::{BadMatch, DecodeError, EncodeError};
use crate::oxm::{self, Dialect, NXM_NX_COOKIE};
use rvs_flowcache::field::Field;
use rvs_flowcache::key::{DL_TYPE_NONE, VLAN_PRESENT};
use rvs_flowcache::ofp::{Match, OfPort};

/// Size of `ofp_match`.
pub const MATCH_LEN: usize = 40;

/// `OFPFW10_*` wildcard bits.
pub mod wildcards {
    /// Input port.
    pub const IN_PORT: u32 = 1 << 0;
    /// VLAN id.
    pub const DL_VLAN: u32 = 1 << 1;
    /// Ethernet source.
    pub const DL_SRC: u32 = 1 << 2;
    /// Ethernet destination.
    pub const DL_DST: u32 = 1 << 3;
    /// Ethernet type.
    pub const DL_TYPE: u32 = 1 << 4;
    /// IP protocol (ARP opcode).
    pub const NW_PROTO: u32 = 1 << 5;
    /// L4 source port (ICMP type).
    pub const TP_SRC: u32 = 1 << 6;
    /// L4 destination port (ICMP code).
    pub const TP_DST: u32 = 1 << 7;
    /// Shift of the count of wildcarded IPv4 source bits.
    pub const NW_SRC_SHIFT: u32 = 8;
    /// Shift of the count of wildcarded IPv4 destination bits.
    pub const NW_DST_SHIFT: u32 = 14;
    /// The whole IPv4 source wildcarded.
    pub const NW_SRC_ALL: u32 = 32 << NW_SRC_SHIFT;
    /// The whole IPv4 destination wildcarded.
    pub const NW_DST_ALL: u32 = 32 << NW_DST_SHIFT;
    /// VLAN priority.
    pub const DL_VLAN_PCP: u32 = 1 << 20;
    /// IP TOS (DSCP bits).
    pub const NW_TOS: u32 = 1 << 21;
    /// Every wildcard bit.
    pub const ALL: u32 = (1 << 22) - 1;
}

/// `OFP_VLAN_NONE`: "no VLAN tag" in `dl_vlan`.
const VLAN_NONE: u16 = 0xffff;

/// The netmask a count of wildcarded bits stands for.
fn wcbits_to_netmask(wcbits: u32) -> u32 {
    let w = wcbits & 0x3f;
    if w < 32 {
        !((1u32 << w) - 1)
    } else {
        0
    }
}

/// The fields an OpenFlow 1.0 wildcard bitmap lets rules wildcard, in Open vSwitch's
/// (`mf_bitmap_from_of10`) terms.
pub fn fields_of_wildcards(w: u32) -> Vec<Field> {
    use wildcards::*;
    let bits = [
        (IN_PORT, Field::InPort),
        (DL_VLAN, Field::VlanVid),
        (DL_SRC, Field::EthSrc),
        (DL_DST, Field::EthDst),
        (DL_TYPE, Field::EthType),
        (NW_PROTO, Field::IpProto),
        (TP_SRC, Field::TcpSrc),
        (TP_DST, Field::TcpDst),
        (0x3f << NW_SRC_SHIFT, Field::IpSrc),
        (0x3f << NW_DST_SHIFT, Field::IpDst),
        (DL_VLAN_PCP, Field::VlanPcp),
        (NW_TOS, Field::NwTos),
    ];
    bits.iter().filter(|(b, _)| w & b != 0).map(|(_, f)| *f).collect()
}

/// The wildcard bitmap of a set of fields (`mf_bitmap_to_of10`).
pub fn wildcards_of_fields(fields: &[Field]) -> u32 {
    use wildcards::*;
    fields.iter().fold(0, |w, f| {
        w | match f {
            Field::InPort => IN_PORT,
            Field::VlanVid | Field::DlVlan => DL_VLAN,
            Field::EthSrc => DL_SRC,
            Field::EthDst => DL_DST,
            Field::EthType => DL_TYPE,
            Field::IpProto => NW_PROTO,
            Field::TcpSrc => TP_SRC,
            Field::TcpDst => TP_DST,
            Field::IpSrc => 0x3f << NW_SRC_SHIFT,
            Field::IpDst => 0x3f << NW_DST_SHIFT,
            Field::VlanPcp | Field::DlVlanPcp => DL_VLAN_PCP,
            Field::NwTos | Field::IpDscp => NW_TOS,
            _ => 0,
        }
    })
}

/// Reads an `ofp_match` (`ofputil_match_from_ofp10_match`). Returns the match and whether
/// every field was wildcarded-free (an "exact-match" rule, which OpenFlow 1.0 gives the
/// highest priority).
pub(crate) fn pull_match(r: &mut Reader<'_>) -> Result<(Match, bool), DecodeError> {
    use wildcards::*;
    let w = r.u32()? & ALL;
    let in_port = r.u16()?;
    let dl_src = r.array::<6>()?;
    let dl_dst = r.array::<6>()?;
    let dl_vlan = r.u16()?;
    let dl_vlan_pcp = r.u8()?;
    r.skip(1)?;
    let dl_type = r.u16()?;
    let nw_tos = r.u8()?;
    let nw_proto = r.u8()?;
    r.skip(2)?;
    let nw_src = r.u32()?;
    let nw_dst = r.u32()?;
    let tp_src = r.u16()?;
    let tp_dst = r.u16()?;

    let mut m = Match::catchall();
    let mac = |b: [u8; 6]| b.iter().fold(0u128, |a, &x| (a << 8) | x as u128);
    if w & IN_PORT == 0 {
        m.set(Field::InPort, OfPort::from_ofp10(in_port).0 as u128);
    }
    if w & DL_SRC == 0 {
        m.set(Field::EthSrc, mac(dl_src));
    }
    if w & DL_DST == 0 {
        m.set(Field::EthDst, mac(dl_dst));
    }
    if w & DL_TYPE == 0 {
        m.set(Field::EthType, if dl_type >= 0x600 { dl_type } else { DL_TYPE_NONE } as u128);
    }
    if w & NW_PROTO == 0 {
        m.set(Field::IpProto, nw_proto as u128);
    }
    if w & NW_TOS == 0 {
        m.set_masked(Field::NwTos, (nw_tos & 0xfc) as u128, 0xfc);
    }
    let (src_mask, dst_mask) = (wcbits_to_netmask(w >> NW_SRC_SHIFT), wcbits_to_netmask(w >> NW_DST_SHIFT));
    if src_mask != 0 {
        m.set_masked(Field::IpSrc, (nw_src & src_mask) as u128, src_mask as u128);
    }
    if dst_mask != 0 {
        m.set_masked(Field::IpDst, (nw_dst & dst_mask) as u128, dst_mask as u128);
    }
    if w & TP_SRC == 0 {
        m.set(Field::TcpSrc, tp_src as u128);
    }
    if w & TP_DST == 0 {
        m.set(Field::TcpDst, tp_dst as u128);
    }
    if w & DL_VLAN == 0 && dl_vlan == VLAN_NONE {
        m.set_masked(Field::VlanTci, 0, 0xffff);
    } else {
        let mut tmask = 0u16;
        if w & DL_VLAN_PCP == 0 {
            tmask |= 0xe000 | VLAN_PRESENT;
        }
        if w & DL_VLAN == 0 {
            tmask |= 0x0fff | VLAN_PRESENT;
        }
        let tci = (dl_vlan & 0x0fff) | (((dl_vlan_pcp as u16) << 13) & 0xe000) | VLAN_PRESENT;
        if tmask != 0 {
            m.set_masked(Field::VlanTci, (tci & tmask) as u128, tmask as u128);
        }
    }
    Ok((m, w == 0))
}

fn unrep(what: &str) -> EncodeError {
    EncodeError::Unrepresentable(format!("{what} cannot be expressed in an OpenFlow 1.0 match"))
}

/// Writes `m` as an `ofp_match` (`ofputil_match_to_ofp10_match`), refusing what the
/// structure cannot express exactly.
pub(crate) fn put_match(out: &mut Vec<u8>, m: &Match) -> Result<(), EncodeError> {
    use wildcards::*;
    let k = m.key.masked(&m.mask);
    let w = &m.mask;
    let whole = |mask: u128, full: u128, what: &str| -> Result<bool, EncodeError> {
        match mask {
            0 => Ok(false),
            m if m == full => Ok(true),
            _ => Err(unrep(what)),
        }
    };
    let mut ofpfw = 0u32;
    let in_port = OfPort(k.in_port);
    if !whole(w.in_port as u128, u32::MAX as u128, "a masked in_port")? {
        ofpfw |= IN_PORT;
    } else if OfPort::from_ofp10(in_port.to_ofp10()) != in_port {
        return Err(unrep("an in_port beyond 16 bits"));
    }
    if !whole(w.dl_type as u128, 0xffff, "a masked dl_type")? {
        ofpfw |= DL_TYPE;
    }
    if !whole(w.nw_proto as u128, 0xff, "a masked nw_proto")? {
        ofpfw |= NW_PROTO;
    }
    for (mask, shift) in [(w.nw_src, NW_SRC_SHIFT), (w.nw_dst, NW_DST_SHIFT)] {
        if mask.leading_ones() + mask.trailing_zeros() != 32 && mask != 0 {
            return Err(unrep("a non-CIDR IPv4 mask"));
        }
        ofpfw |= (32 - mask.leading_ones()) << shift;
    }
    match w.nw_tos {
        0 => ofpfw |= NW_TOS,
        0xfc => {}
        _ => return Err(unrep("IP ECN or a partial DSCP")),
    }
    if !whole(w.tp_src as u128, 0xffff, "a masked L4 source")? {
        ofpfw |= TP_SRC;
    }
    if !whole(w.tp_dst as u128, 0xffff, "a masked L4 destination")? {
        ofpfw |= TP_DST;
    }
    if !whole(w.dl_src as u128, 0xffff_ffff_ffff, "a masked dl_src")? {
        ofpfw |= DL_SRC;
    }
    if !whole(w.dl_dst as u128, 0xffff_ffff_ffff, "a masked dl_dst")? {
        ofpfw |= DL_DST;
    }
    let (mut dl_vlan, mut dl_vlan_pcp) = (0u16, 0u8);
    let tmask = w.vlan_tci;
    if tmask == 0 {
        ofpfw |= DL_VLAN | DL_VLAN_PCP;
    } else if tmask & VLAN_PRESENT != 0 && k.vlan_tci & VLAN_PRESENT == 0 {
        // "No tag", whatever else the mask says (as Open vSwitch writes it).
        dl_vlan = VLAN_NONE;
    } else {
        let (vid_mask, pcp_mask) = (tmask & 0x0fff, tmask & 0xe000);
        if tmask & VLAN_PRESENT == 0 || (vid_mask != 0 && vid_mask != 0x0fff) || (pcp_mask != 0 && pcp_mask != 0xe000) {
            return Err(unrep("a partial TCI match"));
        }
        if vid_mask == 0 {
            ofpfw |= DL_VLAN;
        } else {
            dl_vlan = k.vlan_tci & 0x0fff;
        }
        if pcp_mask == 0 {
            ofpfw |= DL_VLAN_PCP;
        } else {
            dl_vlan_pcp = (k.vlan_tci >> 13) as u8;
        }
        if vid_mask == 0 && pcp_mask == 0 {
            return Err(unrep("a VLAN tag of any VID and priority"));
        }
    }
    // Everything else must be wildcarded.
    let mut rest = *w;
    for f in [
        Field::InPort,
        Field::EthType,
        Field::IpProto,
        Field::IpSrc,
        Field::IpDst,
        Field::NwTos,
        Field::TcpSrc,
        Field::TcpDst,
        Field::EthSrc,
        Field::EthDst,
        Field::VlanTci,
    ] {
        f.set(&mut rest, 0);
    }
    if !rest.is_zero() {
        let lost = Field::ALL
            .iter()
            .find(|f| !f.desc().is_subfield && f.get(&rest) != 0)
            .map_or("a field", |f| f.name());
        return Err(unrep(lost));
    }
    out.put_u32(ofpfw);
    out.put_u16(in_port.to_ofp10());
    out.extend_from_slice(&k.dl_src.to_be_bytes()[2..]);
    out.extend_from_slice(&k.dl_dst.to_be_bytes()[2..]);
    out.put_u16(dl_vlan);
    out.put_u8(dl_vlan_pcp);
    out.put_zeros(1);
    out.put_u16(k.dl_type);
    out.put_u8(k.nw_tos & 0xfc);
    out.put_u8(k.nw_proto);
    out.put_zeros(2);
    out.put_u32(k.nw_src);
    out.put_u32(k.nw_dst);
    out.put_u16(k.tp_src);
    out.put_u16(k.tp_dst);
    Ok(())
}

/// True if `m` can be written as an `ofp_match`.
pub fn representable(m: &Match) -> bool {
    put_match(&mut Vec::with_capacity(MATCH_LEN), m).is_ok()
}

/// Writes `m` (and the cookie to select, if `cookie_mask` is nonzero) as NXM entries padded
/// to 8 bytes (`nx_put_match`). Returns the unpadded length, for the `match_len` field.
pub(crate) fn put_nx_match(out: &mut Vec<u8>, m: &Match, cookie: u64, cookie_mask: u64) -> Result<u16, EncodeError> {
    let start = out.len();
    oxm::put_match_fields_as(out, m, Dialect::Nxm)?;
    if cookie_mask != 0 {
        let masked = cookie_mask != u64::MAX;
        out.put_u32(NXM_NX_COOKIE | if masked { 0x110 } else { 0x08 });
        out.put_u64(cookie & cookie_mask);
        if masked {
            out.put_u64(cookie_mask);
        }
    }
    let len = out.len() - start;
    out.pad_to_8(start);
    u16::try_from(len).map_err(|_| EncodeError::TooLong(len))
}

/// Reads `match_len` bytes of NXM entries and their padding (`nx_pull_match`); with
/// `cookie`, `NXM_NX_COOKIE` is accepted and returned as `(cookie, mask)`.
pub(crate) fn pull_nx_match(
    r: &mut Reader<'_>,
    match_len: usize,
    cookie: bool,
) -> Result<(Match, Option<(u64, u64)>), DecodeError> {
    let padded = match_len.div_ceil(8) * 8;
    if padded > r.remaining() {
        return Err(DecodeError::new(BadMatch::BadLen, "NXM match longer than the message"));
    }
    let all = r.bytes(padded)?;
    let mut c = None;
    let m = oxm::pull_match_fields_with(&all[..match_len], if cookie { Some(&mut c) } else { None })?;
    Ok((m, c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::BadRequest;

    fn round_trip(m: &Match) -> Match {
        let mut v = Vec::new();
        put_match(&mut v, m).unwrap();
        assert_eq!(v.len(), MATCH_LEN);
        pull_match(&mut Reader::new(&v, DecodeError::new(BadRequest::BadLen, "short"))).unwrap().0
    }

    #[test]
    fn reads_the_match_ovs_ofctl_sends() {
        // `in_port=1` from `ovs-ofctl add-flow` (captured).
        let bytes: Vec<u8> = [0x00, 0x38, 0x20, 0xfe, 0x00, 0x01].iter().copied().chain([0u8; 34]).collect();
        let (m, exact) = pull_match(&mut Reader::new(&bytes, DecodeError::new(BadRequest::BadLen, "short"))).unwrap();
        let mut want = Match::catchall();
        want.set(Field::InPort, 1);
        assert_eq!((m, exact), (want, false));
        let mut out = Vec::new();
        put_match(&mut out, &want).unwrap();
        assert_eq!(out, bytes);
    }

    #[test]
    fn every_ofp10_field_round_trips() {
        let mut m = Match::catchall();
        m.set(Field::InPort, OfPort::LOCAL.0 as u128).set(Field::EthSrc, 0x0011_2233_4455).set(Field::EthDst, 1);
        m.set(Field::EthType, 0x0800).set(Field::IpProto, 6).set_masked(Field::NwTos, 0x28, 0xfc);
        m.set_masked(Field::IpSrc, 0x0a00_0000, 0xff00_0000).set(Field::IpDst, 0x0102_0304);
        m.set(Field::TcpSrc, 80).set(Field::TcpDst, 443).set_masked(Field::VlanTci, 0x1005 | 3 << 13, 0xffff);
        assert_eq!(round_trip(&m), m);
        let mut untagged = Match::catchall();
        untagged.set_masked(Field::VlanTci, 0, 0xffff);
        assert_eq!(round_trip(&untagged), untagged);
        let mut pcp_only = Match::catchall();
        pcp_only.set_masked(Field::VlanTci, 0x1000 | 5 << 13, 0xf000);
        assert_eq!(round_trip(&pcp_only), pcp_only);
    }

    #[test]
    fn what_ofp_match_cannot_say_is_refused() {
        for (f, v, mask) in [
            (Field::Reg0, 1, u32::MAX as u128),
            (Field::IpSrc, 0x0100_0001, 0xff00_00ff),
            (Field::EthDst, 0x0100_0000_0000, 0x0100_0000_0000),
            (Field::VlanTci, 0x1000, 0x1000),
            (Field::TcpDst, 0x10, 0xf0),
        ] {
            let mut m = Match::catchall();
            m.set(Field::EthType, 0x0800).set(Field::IpProto, 6);
            m.set_masked(f, v, mask);
            assert!(!representable(&m), "{}", f.name());
        }
        let mut v6 = Match::catchall();
        v6.set(Field::EthType, 0x86dd).set(Field::Ipv6Src, 1);
        assert!(!representable(&v6));
    }

    #[test]
    fn wildcard_bitmaps_name_fields() {
        let all = fields_of_wildcards(0x003f_ffff);
        assert_eq!(all.len(), 12);
        assert_eq!(wildcards_of_fields(&all), 0x003f_ffff);
    }
}
