//! Fields in flow syntax: names, values, subfields, and setting them into a match.
//!
//! Open vSwitch names a few fields differently from [`Field::name`] (`nw_proto` for
//! `ip_proto`, `nw_ecn` for `ip_ecn`) and gives some a different byte width than our key's
//! container (`arp_op` is 2 bytes, `icmp_type` 1). [`ovs_name`] and [`ovs_bytes`] hold those
//! differences. [`parse_value`] is `mf_parse`, [`format_value`] is `mf_format`, and
//! [`set_in_match`] is `mf_set`, including its special cases (`dl_vlan=0xffff` means "no
//! tag", `dl_vlan` and `vlan_pcp` also require a tag, `nw_tos` and `ip_dscp` touch only the
//! DSCP bits, ICMP type and code constrain all 16 bits of `tp_src`/`tp_dst`).

use super::value::{
    format_ipv4_masked, format_ipv6_masked, format_mac_masked, format_port, hex0, parse_int_string, parse_ipv4_masked,
    parse_ipv6_masked, parse_mac_masked, parse_port, PortNames,
};
use crate::check::subfield_bits;
use crate::oxm::{self, set_field_masked, value_mask, Conv};
use rvs_flowcache::field::{Field, Format, Maskable};
use rvs_flowcache::key::{FRAG_ANY, FRAG_LATER, FRAG_MASK, VLAN_PRESENT};
use rvs_flowcache::ofp::{Match, SubField};

/// The name Open vSwitch prints for a field.
pub fn ovs_name(f: Field) -> &'static str {
    match f {
        Field::IpProto => "nw_proto",
        Field::IpEcn => "nw_ecn",
        f => f.name(),
    }
}

/// Looks a field up by any name Open vSwitch accepts in a match or `set_field`.
pub fn field_from_name(name: &str) -> Option<Field> {
    match name {
        "nw_ecn" => Some(Field::IpEcn),
        // Aliases of the flowcache table that Open vSwitch does not accept.
        "icmpv4_type" | "icmpv4_code" => None,
        _ => Field::from_name(name),
    }
}

/// The field's width in bytes in Open vSwitch (`mf_field.n_bytes`).
pub fn ovs_bytes(f: Field) -> usize {
    match f {
        Field::InPort => 2,
        Field::VlanPcp | Field::DlVlanPcp | Field::IpDscp | Field::NwTos | Field::IpEcn | Field::NwTtl => 1,
        Field::IpFrag | Field::IpProto | Field::IcmpType | Field::IcmpCode | Field::Icmpv6Type | Field::Icmpv6Code => 1,
        Field::DlVlan | Field::VlanVid | Field::VlanTci | Field::ArpOp | Field::EthType | Field::TcpFlags => 2,
        f => f.desc().nbits.div_ceil(8) as usize,
    }
}

const FRAGS: [(&str, u8, u8); 5] = [
    ("no", 0, FRAG_MASK),
    ("yes", FRAG_ANY, FRAG_ANY),
    ("first", FRAG_ANY, FRAG_MASK),
    ("later", FRAG_ANY | FRAG_LATER, FRAG_MASK),
    ("not_later", 0, FRAG_LATER),
];

/// `ip_frag` text for a value and mask (`<error>` for impossible combinations).
pub fn format_frag(value: u8, mask: u8) -> &'static str {
    let mask = mask & FRAG_MASK;
    let value = value & mask;
    FRAGS.iter().find(|(_, v, m)| *v == value && *m == mask).map_or("<error>", |(n, _, _)| n)
}

const TCP_FLAG_NAMES: [&str; 12] = ["fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns", "[200]", "[400]", "[800]"];

/// TCP flags as Open vSwitch prints them: `syn|ack` when fully masked, `+syn-ack` otherwise.
pub fn format_tcp_flags(value: u16, mask: u16) -> String {
    let mask = mask & 0x0fff;
    let value = value & 0x0fff;
    if mask == 0x0fff {
        if value == 0 {
            return "0".into();
        }
        let names: Vec<&str> = (0..12).filter(|b| value & (1 << b) != 0).map(|b| TCP_FLAG_NAMES[b]).collect();
        return names.join("|");
    }
    if mask == 0 {
        return "0/0".into();
    }
    (0..12)
        .filter(|b| mask & (1 << b) != 0)
        .map(|b| format!("{}{}", if value & (1 << b) != 0 { '+' } else { '-' }, TCP_FLAG_NAMES[b]))
        .collect()
}

/// Parses TCP flags (`parse_flags`): `0x12/0xff`, `+syn-ack`, or `syn|ack`.
fn parse_tcp_flags(s: &str) -> Result<(u16, u16), String> {
    let unknown = |rest: &str| format!("{rest}: unknown TCP flag(s)");
    if let Some((v, m)) = s.split_once('/') {
        let (value, mask) = (super::value::c_strto(v), super::value::c_strto(m));
        if value.len == v.len() && mask.len == m.len() && value.len > 0 && mask.len > 0 {
            if value.magnitude > 0x0fff || mask.magnitude > 0x0fff || value.negative || mask.negative {
                return Err(unknown(s));
            }
            return Ok((value.magnitude as u16, mask.magnitude as u16));
        }
    }
    let flag_at = |rest: &str, ends: &[char]| -> Option<(u16, usize)> {
        (0..12).find_map(|b| {
            let n = TCP_FLAG_NAMES[b];
            let after = rest.strip_prefix(n)?;
            (after.is_empty() || after.starts_with(ends)).then_some((1u16 << b, n.len()))
        })
    };
    if s.starts_with(['+', '-']) {
        let (mut flags, mut mask) = (0u16, 0u16);
        let mut rest = s;
        while !rest.is_empty() {
            let set = match rest.as_bytes()[0] {
                b'+' => true,
                b'-' => false,
                _ => return Err(format!("{rest}: TCP must be preceded by '+' (for SET) or '-' (NOT SET)")),
            };
            rest = &rest[1..];
            let (bit, len) = flag_at(rest, &['+', '-']).ok_or_else(|| unknown(rest))?;
            if mask & bit != 0 {
                return Err(format!("{rest}: Each TCP flag can be specified only once"));
            }
            if set {
                flags |= bit;
            }
            mask |= bit;
            rest = &rest[len..];
        }
        return Ok((flags, mask));
    }
    let mut flags = 0u16;
    let mut rest = s;
    while !rest.is_empty() {
        let n = super::value::c_strto(rest);
        if n.len > 0 {
            if n.magnitude > 0x0fff || n.negative {
                return Err(unknown(rest));
            }
            flags |= n.magnitude as u16;
            rest = &rest[n.len..];
            rest = rest.strip_prefix('|').unwrap_or(rest);
            continue;
        }
        let (bit, len) = flag_at(rest, &['|']).ok_or_else(|| unknown(rest))?;
        flags |= bit;
        rest = &rest[len..];
        rest = rest.strip_prefix('|').unwrap_or(rest);
    }
    Ok((flags, 0x0fff))
}

fn all_ones(bytes: usize) -> u128 {
    if bytes >= 16 {
        u128::MAX
    } else {
        (1u128 << (8 * bytes)) - 1
    }
}

/// Parses a field's value and mask as Open vSwitch's `mf_parse` does. The value and mask are
/// those of Open vSwitch's field (`ip_dscp` unshifted, `dl_vlan=0xffff` kept as is); the
/// mask is all ones of [`ovs_bytes`] for an exact value.
pub fn parse_value(f: Field, s: &str, names: Option<&dyn PortNames>) -> Result<(u128, u128), String> {
    if s == "*" {
        return Ok((0, 0));
    }
    let bytes = ovs_bytes(f);
    let name = ovs_name(f);
    let (value, mask) = match f.desc().format {
        Format::Decimal | Format::Hex => {
            let syntax = |what: &str, err: bool| {
                if err {
                    format!("{s}: {what} too large for {bytes}-byte field {name}")
                } else {
                    format!("{s}: bad syntax for {name} {what}")
                }
            };
            let (v, tail) = parse_int_string(s, bytes).map_err(|e| syntax("value", e))?;
            if tail.is_empty() {
                (v, all_ones(bytes))
            } else if let Some(m) = tail.strip_prefix('/') {
                let (m, t) = parse_int_string(m, bytes).map_err(|e| syntax("mask", e))?;
                if !t.is_empty() {
                    return Err(syntax("mask", false));
                }
                (v, m)
            } else {
                return Err(syntax("value", false));
            }
        }
        Format::Mac => {
            let (v, m) = parse_mac_masked(s)?;
            (v as u128, m as u128)
        }
        Format::Ipv4 => {
            let (v, m) = parse_ipv4_masked(s)?;
            (v as u128, m as u128)
        }
        Format::Ipv6 => parse_ipv6_masked(s)?,
        Format::OfPort => {
            let p = parse_port(s, names).ok_or_else(|| format!("{s}: invalid or unknown port for {name}"))?;
            (p.0 as u128, u128::MAX)
        }
        Format::Frag => {
            let (_, v, m) = FRAGS.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(s)).ok_or_else(|| {
                format!("{s}: unknown fragment type (valid types are \"no\", \"yes\", \"first\", \"later\", \"not_later\"")
            })?;
            (*v as u128, *m as u128)
        }
        Format::TcpFlags => {
            let (v, m) = parse_tcp_flags(s)?;
            (v as u128, m as u128)
        }
    };
    let full = all_ones(bytes);
    if f.desc().maskable == Maskable::No && f.desc().format != Format::OfPort && mask & full != 0 && mask & full != full {
        return Err(format!("{s}: invalid mask for field {name}"));
    }
    Ok((value, mask))
}

/// Constrains `f` in `m` to `value`/`mask` as parsed by [`parse_value`] (`mf_set`).
pub fn set_in_match(m: &mut Match, f: Field, value: u128, mask: u128) {
    let full = all_ones(ovs_bytes(f));
    if mask & full == 0 {
        // A zero mask clears the field (`mf_set_wild`).
        clear_in_match(m, f);
        return;
    }
    let tci = |m: &Match| (Field::VlanTci.get(&m.key) as u16, Field::VlanTci.get(&m.mask) as u16);
    match f {
        Field::DlVlan => {
            let (t, tm) = tci(m);
            let v = value as u16;
            if v == 0xffff {
                m.set_masked(Field::VlanTci, 0, 0xffff);
            } else {
                let t = (t & !0x0fff) | VLAN_PRESENT | (v & 0x0fff);
                m.set_masked(Field::VlanTci, t as u128, (tm | 0x1fff) as u128);
            }
        }
        Field::DlVlanPcp | Field::VlanPcp => set_field_masked(m, Field::VlanPcp, value & 7, 7),
        Field::VlanVid => {
            let (t, tm) = tci(m);
            let vm = mask as u16 & 0x1fff;
            let t = (value as u16 & vm) | (t & 0xe000);
            m.set_masked(Field::VlanTci, t as u128, (vm | (tm & 0xe000)) as u128);
        }
        Field::IpDscp => set_field_masked(m, Field::NwTos, ((value as u8) << 2) as u128, 0xfc),
        Field::NwTos => set_field_masked(m, Field::NwTos, value & 0xfc, 0xfc),
        Field::IpEcn => set_field_masked(m, Field::IpEcn, value & 3, 3),
        Field::InPort => {
            m.set(Field::InPort, value);
        }
        _ => set_field_masked(m, f, value & mask, mask & f.full_mask()),
    }
}

fn clear_in_match(m: &mut Match, f: Field) {
    let f = match f {
        Field::IcmpType | Field::Icmpv6Type => Field::TcpSrc,
        Field::IcmpCode | Field::Icmpv6Code => Field::TcpDst,
        Field::ArpOp => Field::IpProto,
        Field::DlVlan => Field::VlanVid,
        Field::DlVlanPcp => Field::VlanPcp,
        f => f,
    };
    let bits = value_mask(f);
    let cur_mask = f.get(&m.mask) & !bits;
    let cur_key = f.get(&m.key) & !bits;
    f.set(&mut m.mask, cur_mask);
    f.set(&mut m.key, cur_key);
}

/// Prints a field value (`mf_format`): the value alone when `mask` covers the field, else
/// `value/mask`.
pub fn format_value(f: Field, value: u128, mask: u128, names: Option<&dyn PortNames>) -> String {
    let full = value_mask(f);
    let exact = mask & full == full;
    match f.desc().format {
        Format::OfPort => format_port(rvs_flowcache::ofp::OfPort(value as u32), names),
        Format::Decimal => {
            if exact {
                value.to_string()
            } else {
                format!("{value}/{}", hex0(mask))
            }
        }
        Format::Hex => {
            if exact {
                hex0(value)
            } else {
                format!("{}/{}", hex0(value), hex0(mask))
            }
        }
        Format::Mac => format_mac_masked(value as u64, if exact { 0xffff_ffff_ffff } else { mask as u64 }),
        Format::Ipv4 => format_ipv4_masked(value as u32, if exact { u32::MAX } else { mask as u32 }),
        Format::Ipv6 => format_ipv6_masked(value, if exact { u128::MAX } else { mask }),
        Format::Frag => format_frag(value as u8, if exact { FRAG_MASK } else { mask as u8 }).into(),
        Format::TcpFlags => format_tcp_flags(value as u16, if exact { 0x0fff } else { mask as u16 }),
    }
}

/// The NXM/OXM entry a subfield is named and loaded through (`NXM_OF_IN_PORT` for the low 16
/// bits of `in_port`, `OXM_OF_IN_PORT` beyond).
pub fn subfield_entry(sf: &SubField) -> Option<&'static oxm::Entry> {
    let end = sf.ofs + sf.n_bits;
    let mut cands: Vec<&oxm::Entry> =
        oxm::ENTRIES.iter().filter(|e| e.field == sf.field && e.class != oxm::CLASS_EXPERIMENTER).collect();
    cands.sort_by_key(|e| e.since);
    cands.into_iter().find(|e| e.width as u32 * 8 >= end)
}

fn entry_bits(e: &oxm::Entry) -> u32 {
    match (e.conv, e.field) {
        (Conv::Port16, _) => 16,
        (_, Field::InPort) => 32,
        (_, f) => subfield_bits(f),
    }
}

/// Prints a subfield (`mf_format_subfield`): `NXM_NX_REG0[]`, `NXM_NX_REG0[3]`,
/// `NXM_NX_REG0[0..7]`.
pub fn format_subfield(sf: &SubField) -> String {
    let (name, whole) = match subfield_entry(sf) {
        Some(e) => (e.name.to_string(), entry_bits(e)),
        None => (ovs_name(sf.field).to_string(), subfield_bits(sf.field)),
    };
    if sf.ofs == 0 && sf.n_bits == whole {
        format!("{name}[]")
    } else if sf.n_bits == 1 {
        format!("{name}[{}]", sf.ofs)
    } else {
        format!("{name}[{}..{}]", sf.ofs, sf.ofs + sf.n_bits - 1)
    }
}

/// Parses a subfield at the start of `s` (`mf_parse_subfield__`), returning it and the rest.
pub fn parse_subfield_prefix(s: &str) -> Result<(SubField, &str), String> {
    let name_len = s.find(['[', '-']).unwrap_or(s.len());
    let name = &s[..name_len];
    let (field, bits) = if let Some(e) = oxm::entry_by_name(name) {
        (e.field, entry_bits(e))
    } else {
        let f = match name {
            "in_port_oxm" => Some((Field::InPort, 32)),
            _ => field_from_name(name).map(|f| (f, subfield_bits(f))),
        };
        f.ok_or_else(|| format!("{s}: unknown field `{name}'"))?
    };
    let rest = &s[name_len..];
    let Some(inner) = rest.strip_prefix('[') else {
        return Ok((SubField { field, ofs: 0, n_bits: bits }, rest));
    };
    let syntax = || format!("{s}: syntax error expecting [] or [<bit>] or [<start>..<end>]");
    let close = inner.find(']').ok_or_else(syntax)?;
    let spec = &inner[..close];
    let after = &inner[close + 1..];
    if spec.is_empty() {
        return Ok((SubField { field, ofs: 0, n_bits: bits }, after));
    }
    let num = |t: &str| -> Option<i64> {
        let t = t.trim_start();
        let (neg, d) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        if d.is_empty() || !d.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let v: i64 = d.parse().ok()?;
        Some(if neg { -v } else { v })
    };
    let (start, end) = match spec.split_once("..") {
        Some((a, b)) => (num(a).ok_or_else(syntax)?, num(b).ok_or_else(syntax)?),
        None => {
            let a = num(spec).ok_or_else(syntax)?;
            (a, a)
        }
    };
    if start > end {
        return Err(format!("{s}: starting bit {start} is after ending bit {end}"));
    }
    if start < 0 || start >= bits as i64 {
        return Err(format!("{s}: starting bit {start} is not valid because field is only {bits} bits wide"));
    }
    if end >= bits as i64 {
        return Err(format!("{s}: ending bit {end} is not valid because field is only {bits} bits wide"));
    }
    Ok((SubField { field, ofs: start as u32, n_bits: (end - start + 1) as u32 }, after))
}

/// Parses a whole subfield string.
pub fn parse_subfield(s: &str) -> Result<SubField, String> {
    let (sf, rest) = parse_subfield_prefix(s)?;
    if !rest.is_empty() {
        return Err(format!("{s}: trailing garbage following subfield"));
    }
    Ok(sf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_flags_round_trip() {
        assert_eq!(parse_tcp_flags("+syn-ack"), Ok((0x002, 0x012)));
        assert_eq!(parse_tcp_flags("0x012/0x0ff"), Ok((0x012, 0x0ff)));
        assert_eq!(parse_tcp_flags("syn|ack"), Ok((0x012, 0x0fff)));
        assert_eq!(format_tcp_flags(0x012, 0x0ff), "-fin+syn-rst-psh+ack-urg-ece-cwr");
        assert_eq!(format_tcp_flags(0x002, 0x012), "+syn-ack");
        assert_eq!(format_tcp_flags(0x012, 0xfff), "syn|ack");
        assert_eq!(parse_tcp_flags("+foo"), Err("foo: unknown TCP flag(s)".into()));
    }

    #[test]
    fn subfields() {
        let sf = parse_subfield("NXM_NX_REG0[0..3]").unwrap();
        assert_eq!(sf, SubField { field: Field::Reg0, ofs: 0, n_bits: 4 });
        assert_eq!(format_subfield(&sf), "NXM_NX_REG0[0..3]");
        assert_eq!(format_subfield(&parse_subfield("reg1[]").unwrap()), "NXM_NX_REG1[]");
        assert_eq!(format_subfield(&parse_subfield("in_port[]").unwrap()), "NXM_OF_IN_PORT[]");
        assert_eq!(format_subfield(&parse_subfield("metadata[5]").unwrap()), "OXM_OF_METADATA[5]");
        assert!(parse_subfield("reg0[0..32]").unwrap_err().contains("ending bit 32"));
        assert!(parse_subfield("nope[]").unwrap_err().contains("unknown field `nope'"));
    }

    #[test]
    fn values() {
        assert_eq!(parse_value(Field::TcpDst, "80", None), Ok((80, 0xffff)));
        assert_eq!(parse_value(Field::TcpDst, "70000", None), Err("70000: value too large for 2-byte field tcp_dst".into()));
        assert_eq!(parse_value(Field::EthType, "0x800/0xff00", None), Err("0x800/0xff00: invalid mask for field eth_type".into()));
        assert_eq!(format_value(Field::Reg0, 0x10, 0xff, None), "0x10/0xff");
        assert_eq!(format_value(Field::VlanVid, 4106, 0x1fff, None), "4106");
        assert_eq!(format_value(Field::IpFrag, 1, 3, None), "first");
    }
}
