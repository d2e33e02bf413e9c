//! Values in flow syntax: integers, MAC and IP addresses, ports, with the exact acceptance
//! rules and wording of Open vSwitch's parsers and the exact output of its printers.
//!
//! Open vSwitch parses numbers with C's `strtoll`/`strtoull` in base 0 (so `0x10` is hex,
//! `010` is octal and leading white space is skipped) and addresses with `scanf`-style
//! patterns whose `%hhu`/`%hhx` conversions keep only the low byte (`1.2.3.400` is
//! `1.2.3.144`). These functions reproduce that, because users feed us flows written for
//! `ovs-ofctl`. IPv6 addresses are printed the way glibc's `inet_ntop` prints them.

use std::fmt::Write;
use std::net::Ipv6Addr;

use rvs_flowcache::ofp::OfPort;

/// Resolves port names (`in_port=eth1`, `output:eth1`) and prints them (`--names`).
pub trait PortNames {
    /// The number of a port name.
    fn port_number(&self, name: &str) -> Option<OfPort>;
    /// The name of a port number, if it has one.
    fn port_name(&self, port: OfPort) -> Option<String>;
}

/// Result of C `strtoull`/`strtoll` in base 0 on a prefix of a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CNum {
    /// Magnitude (saturated at `u64::MAX` on overflow).
    pub(crate) magnitude: u64,
    /// A `-` sign was present.
    pub(crate) negative: bool,
    /// The magnitude overflowed 64 bits (`ERANGE`).
    pub(crate) overflow: bool,
    /// Bytes consumed (0 if no digits: `EINVAL`).
    pub(crate) len: usize,
}

/// C `strtoull(s, &end, 0)` / `strtoll` digit scanning.
pub(crate) fn c_strto(s: &str) -> CNum {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let mut negative = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        negative = b[i] == b'-';
        i += 1;
    }
    let (radix, start) = if i + 1 < b.len() && b[i] == b'0' && (b[i + 1] == b'x' || b[i + 1] == b'X') && b.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit()) {
        (16, i + 2)
    } else if i < b.len() && b[i] == b'0' {
        (8, i)
    } else {
        (10, i)
    };
    let mut j = start;
    let mut v: u64 = 0;
    let mut overflow = false;
    while j < b.len() {
        let d = match (b[j] as char).to_digit(radix) {
            Some(d) => d as u64,
            None => break,
        };
        match v.checked_mul(radix as u64).and_then(|x| x.checked_add(d)) {
            Some(n) => v = n,
            None => {
                overflow = true;
                v = u64::MAX;
            }
        }
        j += 1;
    }
    if j == start {
        return CNum { magnitude: 0, negative: false, overflow: false, len: 0 };
    }
    CNum { magnitude: v, negative, overflow, len: j }
}

/// Open vSwitch's `str_to_llong(s, 0)`: the whole string must be a number in range.
pub(crate) fn str_to_llong(s: &str) -> Option<i64> {
    let n = c_strto(s);
    if n.len == 0 || n.len != s.len() || n.overflow {
        return None;
    }
    if n.negative {
        if n.magnitude > i64::MAX as u64 + 1 {
            return None;
        }
        Some((n.magnitude as i128).wrapping_neg() as i64)
    } else {
        i64::try_from(n.magnitude).ok()
    }
}

/// Open vSwitch's `str_to_u16`/`str_to_u8` family: `invalid NAME "VALUE"` on failure.
pub(crate) fn str_to_uint_max(s: &str, max: u64) -> Option<u64> {
    let v = str_to_llong(s)?;
    if v < 0 || v as u64 > max || v > i32::MAX as i64 {
        return None;
    }
    Some(v as u64)
}

/// Open vSwitch's `str_to_uint(s, 10)` (table numbers, group numbers).
pub(crate) fn str_to_uint_base10(s: &str) -> Option<u64> {
    let b = s.trim_start_matches([' ', '\t', '\n', '\r']);
    let skipped = s.len() - b.len();
    let (neg, digits) = match b.as_bytes().first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    let n = digits.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 || skipped + (b.len() - digits.len()) + n != s.len() {
        return None;
    }
    let v: i64 = digits[..n].parse().ok()?;
    if neg || v > u32::MAX as i64 {
        return None;
    }
    Some(v as u64)
}

/// Open vSwitch's `str_to_u64` (`strtoull` in base 0, whole string; negative values wrap).
pub(crate) fn str_to_u64(s: &str) -> Result<u64, String> {
    if s.is_empty() {
        return Err("missing required numeric argument".into());
    }
    let n = c_strto(s);
    if n.len == 0 || n.len != s.len() || n.overflow {
        return Err(format!("invalid numeric format {s}"));
    }
    Ok(if n.negative { n.magnitude.wrapping_neg() } else { n.magnitude })
}

/// Open vSwitch's `str_to_u32`.
pub(crate) fn str_to_u32(s: &str) -> Result<u32, String> {
    let v = str_to_u64(s)?;
    Ok(v as u32)
}

/// Open vSwitch's `parse_int_string`: a value of `width` bytes, hex with `0x` (any number of
/// digits) or a C integer. Returns the value and the unparsed tail, or `Err(true)` for a
/// value too large and `Err(false)` for bad syntax.
pub(crate) fn parse_int_string(s: &str, width: usize) -> Result<(u128, &str), bool> {
    let max_bits = (width * 8) as u32;
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        let n = hex.bytes().take_while(u8::is_ascii_hexdigit).count();
        if n == 0 {
            return Err(false);
        }
        let digits = hex[..n].trim_start_matches('0');
        if digits.len() * 4 > max_bits as usize + 3 || digits.len() > 32 {
            return Err(true);
        }
        let v = if digits.is_empty() { 0 } else { u128::from_str_radix(digits, 16).map_err(|_| false)? };
        if max_bits < 128 && v >> max_bits != 0 {
            return Err(true);
        }
        return Ok((v, &hex[n..]));
    }
    let n = c_strto(s);
    if n.len == 0 {
        return Err(false);
    }
    if n.overflow {
        return Err(true);
    }
    let v = if n.negative { n.magnitude.wrapping_neg() } else { n.magnitude } as u128;
    if max_bits < 64 && v >> max_bits != 0 {
        return Err(true);
    }
    Ok((v, &s[n.len..]))
}

/// Scans `%hhu` (decimal digits, low byte kept) at the start of `s`.
fn scan_hhu(s: &str) -> Option<(u8, &str)> {
    let n = c_strto_dec(s)?;
    Some(n)
}

fn c_strto_dec(s: &str) -> Option<(u8, &str)> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    let neg = if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
        b[i - 1] == b'-'
    } else {
        false
    };
    let start = i;
    let mut v: u64 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        v = v.wrapping_mul(10).wrapping_add((b[i] - b'0') as u64);
        i += 1;
    }
    if i == start {
        return None;
    }
    let v = if neg { v.wrapping_neg() } else { v };
    Some((v as u8, &s[i..]))
}

/// Scans `%hhx` at the start of `s`.
fn scan_hhx(s: &str) -> Option<(u8, &str)> {
    let b = s.as_bytes();
    let mut i = 0;
    if b.len() >= 2 && b[0] == b'0' && (b[1] == b'x' || b[1] == b'X') && b.get(2).is_some_and(u8::is_ascii_hexdigit) {
        i = 2;
    }
    let start = i;
    let mut v: u64 = 0;
    while i < b.len() && b[i].is_ascii_hexdigit() {
        v = v.wrapping_mul(16).wrapping_add((b[i] as char).to_digit(16).unwrap_or(0) as u64);
        i += 1;
    }
    if i == start {
        return None;
    }
    Some((v as u8, &s[i..]))
}

/// Scans `IP_SCAN_FMT` (`%hhu.%hhu.%hhu.%hhu`).
pub(crate) fn scan_ipv4(s: &str) -> Option<(u32, &str)> {
    let (a, s) = scan_hhu(s)?;
    let s = s.strip_prefix('.')?;
    let (b, s) = scan_hhu(s)?;
    let s = s.strip_prefix('.')?;
    let (c, s) = scan_hhu(s)?;
    let s = s.strip_prefix('.')?;
    let (d, s) = scan_hhu(s)?;
    Some((u32::from_be_bytes([a, b, c, d]), s))
}

/// Scans `ETH_ADDR_SCAN_FMT` (six `%hhx` separated by `:`).
pub(crate) fn scan_mac(s: &str) -> Option<(u64, &str)> {
    let mut v = 0u64;
    let mut rest = s;
    for i in 0..6 {
        if i > 0 {
            rest = rest.strip_prefix(':')?;
        }
        let (b, r) = scan_hhx(rest)?;
        v = (v << 8) | b as u64;
        rest = r;
    }
    Some((v, rest))
}

/// Parses a MAC address with an optional `/mask` (`mf_from_ethernet_string`).
pub(crate) fn parse_mac_masked(s: &str) -> Result<(u64, u64), String> {
    let err = || format!("{s}: invalid Ethernet address");
    let (v, rest) = scan_mac(s).ok_or_else(err)?;
    if rest.is_empty() {
        return Ok((v, 0xffff_ffff_ffff));
    }
    let m = rest.strip_prefix('/').ok_or_else(err)?;
    let (mask, rest) = scan_mac(m).ok_or_else(err)?;
    if !rest.is_empty() {
        return Err(err());
    }
    Ok((v, mask))
}

/// The mask of an IPv4 prefix length.
pub(crate) fn prefix_mask32(n: u32) -> u32 {
    if n == 0 {
        0
    } else {
        u32::MAX << (32 - n)
    }
}

/// Parses an IPv4 address with an optional `/mask` or `/prefix` (`ip_parse_masked`).
pub(crate) fn parse_ipv4_masked(s: &str) -> Result<(u32, u32), String> {
    let err = || format!("{s}: invalid IP address");
    let (ip, rest) = scan_ipv4(s).ok_or_else(err)?;
    let (mask, rest) = if let Some(m) = rest.strip_prefix('/') {
        if let Some((mask, r)) = scan_ipv4(m) {
            (mask, r)
        } else {
            let (neg, digits) = match m.as_bytes().first() {
                Some(b'-') => (true, &m[1..]),
                Some(b'+') => (false, &m[1..]),
                _ => (false, m),
            };
            let n = digits.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return Err(err());
            }
            let p: i64 = digits[..n].parse().unwrap_or(i64::MAX);
            if neg && p != 0 || p > 32 {
                return Err(format!("{s}: IPv4 network prefix bits not between 0 and 32, inclusive"));
            }
            (prefix_mask32(p as u32), &digits[n..])
        }
    } else {
        (u32::MAX, rest)
    };
    if !rest.is_empty() {
        return Err(err());
    }
    Ok((ip, mask))
}

/// The mask of an IPv6 prefix length.
pub(crate) fn prefix_mask128(n: u32) -> u128 {
    if n == 0 {
        0
    } else {
        u128::MAX << (128 - n)
    }
}

fn scan_ipv6_chars(s: &str) -> (&str, &str) {
    let n = s.bytes().take(46).take_while(|c| c.is_ascii_hexdigit() || *c == b':' || *c == b'.').count();
    s.split_at(n)
}

/// Parses an IPv6 address with an optional `/mask` or `/prefix` (`ipv6_parse_masked`).
pub(crate) fn parse_ipv6_masked(s: &str) -> Result<(u128, u128), String> {
    let err = || format!("{s}: invalid IPv6 address");
    let t = s.trim_start();
    let (addr, rest) = scan_ipv6_chars(t);
    let ip: Ipv6Addr = addr.parse().map_err(|_| err())?;
    let (mask, rest) = if let Some(m) = rest.strip_prefix('/') {
        let (neg, digits) = match m.as_bytes().first() {
            Some(b'-') => (true, &m[1..]),
            Some(b'+') => (false, &m[1..]),
            _ => (false, m),
        };
        let n = digits.bytes().take_while(u8::is_ascii_digit).count();
        if n > 0 {
            let p: i64 = digits[..n].parse().unwrap_or(i64::MAX);
            if neg && p != 0 || p > 128 {
                return Err(format!("{s}: IPv6 network prefix bits not between 0 and 128, inclusive"));
            }
            (prefix_mask128(p as u32), &digits[n..])
        } else {
            let (maddr, r) = scan_ipv6_chars(m);
            let mask: Ipv6Addr = maddr.parse().map_err(|_| format!("{s}: Invalid IPv6 mask"))?;
            (u128::from(mask), r)
        }
    } else {
        (u128::MAX, rest)
    };
    if !rest.is_empty() {
        return Err(err());
    }
    Ok((u128::from(ip), mask))
}

/// `aa:bb:cc:dd:ee:ff`.
pub(crate) fn format_mac(v: u64) -> String {
    let b = v.to_be_bytes();
    format!("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[2], b[3], b[4], b[5], b[6], b[7])
}

/// A MAC address with its mask unless exact (`eth_format_masked`).
pub(crate) fn format_mac_masked(v: u64, mask: u64) -> String {
    if mask == 0xffff_ffff_ffff {
        format_mac(v)
    } else {
        format!("{}/{}", format_mac(v), format_mac(mask))
    }
}

/// Dotted quad.
pub(crate) fn format_ipv4(v: u32) -> String {
    let b = v.to_be_bytes();
    format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
}

/// An IPv4 address with `/prefix` or `/mask` unless exact (`ip_format_masked`).
pub(crate) fn format_ipv4_masked(v: u32, mask: u32) -> String {
    if mask == u32::MAX {
        format_ipv4(v)
    } else if mask.leading_ones() + mask.trailing_zeros() == 32 {
        format!("{}/{}", format_ipv4(v), mask.leading_ones())
    } else {
        format!("{}/{}", format_ipv4(v), format_ipv4(mask))
    }
}

/// An IPv6 address as glibc's `inet_ntop` prints it (RFC 5952 compression of the longest
/// run of two or more zero groups, IPv4 tail for IPv4-mapped and IPv4-compatible addresses).
pub(crate) fn format_ipv6(v: u128) -> String {
    let w: [u16; 8] = std::array::from_fn(|i| (v >> (112 - 16 * i)) as u16);
    // Longest run of zero groups (first one wins ties); runs of one are not compressed.
    let (mut best, mut best_len, mut cur, mut cur_len) = (usize::MAX, 0, 0, 0);
    for (i, &g) in w.iter().enumerate() {
        if g == 0 {
            if cur_len == 0 {
                cur = i;
            }
            cur_len += 1;
            if cur_len > best_len {
                best = cur;
                best_len = cur_len;
            }
        } else {
            cur_len = 0;
        }
    }
    if best_len < 2 {
        best = usize::MAX;
    }
    let mut s = String::new();
    let mut i = 0;
    while i < 8 {
        if i == best {
            s.push(':');
            if i == 0 {
                s.push(':');
            }
            i += best_len;
            continue;
        }
        // IPv4 tail: ::a.b.c.d (not ::1 or ::0.0.0.1 forms of ::/127), ::ffff:a.b.c.d
        if i == 6 && best == 0 && (best_len == 6 || (best_len == 7 && w[7] != 1) || (best_len == 5 && w[5] == 0xffff)) {
            let _ = write!(s, "{}", format_ipv4(v as u32));
            return s;
        }
        let _ = write!(s, "{:x}", w[i]);
        if i < 7 {
            s.push(':');
        }
        i += 1;
    }
    s
}

/// An IPv6 address with `/prefix` or `/mask` unless exact (`ipv6_format_masked`).
pub(crate) fn format_ipv6_masked(v: u128, mask: u128) -> String {
    if mask == u128::MAX {
        format_ipv6(v)
    } else if mask.leading_ones() + mask.trailing_zeros() == 128 {
        format!("{}/{}", format_ipv6(v), mask.leading_ones())
    } else {
        format!("{}/{}", format_ipv6(v), format_ipv6(mask))
    }
}

/// Open vSwitch's `ds_put_hex` of a number: `0` or `0x` and the digits (like C's `%#x`).
pub(crate) fn hex0(v: u128) -> String {
    if v == 0 {
        "0".into()
    } else {
        format!("{v:#x}")
    }
}

/// Parses a port (`ofputil_port_from_string`): a number, a reserved name (any case), or a
/// name known to `names` (optionally in double quotes).
pub(crate) fn parse_port(s: &str, names: Option<&dyn PortNames>) -> Option<OfPort> {
    if s.starts_with('-') {
        return None;
    }
    if let Some(v) = str_to_uint_base10(s) {
        let v = v as u32;
        return if v < 0x10000 {
            Some(OfPort::from_ofp10(v as u16))
        } else if v >= 0xffff_ff00 {
            Some(OfPort(v))
        } else {
            None
        };
    }
    if let Some(p) = OfPort::from_reserved_name(s) {
        return Some(p);
    }
    let name = if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') { &s[1..s.len() - 1] } else { s };
    names.and_then(|n| n.port_number(name))
}

/// Prints a port: its reserved name, its name from `names`, or its number.
pub(crate) fn format_port(p: OfPort, names: Option<&dyn PortNames>) -> String {
    if let Some(n) = p.reserved_name() {
        return n.into();
    }
    if let Some(name) = names.and_then(|n| n.port_name(p)) {
        let plain = !name.is_empty()
            && name.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
            && !name.bytes().all(|c| c.is_ascii_digit())
            && OfPort::from_reserved_name(&name).is_none();
        return if plain { name } else { format!("{name:?}") };
    }
    p.0.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_numbers() {
        assert_eq!(str_to_llong("0x10"), Some(16));
        assert_eq!(str_to_llong("010"), Some(8));
        assert_eq!(str_to_llong(" 7"), Some(7));
        assert_eq!(str_to_llong("-1"), Some(-1));
        assert_eq!(str_to_llong("7a"), None);
        assert_eq!(str_to_llong(""), None);
        assert_eq!(str_to_llong("0x"), None);
        assert_eq!(str_to_uint_max("65535", 65535), Some(65535));
        assert_eq!(str_to_uint_max("65536", 65535), None);
        assert_eq!(str_to_u64("-1"), Ok(u64::MAX));
        assert_eq!(str_to_u64("0x1g"), Err("invalid numeric format 0x1g".into()));
        assert_eq!(parse_int_string("0x0001", 1), Ok((1, "")));
        assert_eq!(parse_int_string("0x100", 1), Err(true));
        assert_eq!(parse_int_string("256", 1), Err(true));
        assert_eq!(parse_int_string("80/0xf0", 2), Ok((80, "/0xf0")));
    }

    #[test]
    fn addresses_parse_like_scanf() {
        assert_eq!(parse_ipv4_masked("1.2.3.400"), Ok((0x0102_0390, u32::MAX)));
        assert_eq!(parse_ipv4_masked("10.0.0.0/255.255.0.0"), Ok((0x0a00_0000, 0xffff_0000)));
        assert_eq!(parse_ipv4_masked("10.0.0.0/8"), Ok((0x0a00_0000, 0xff00_0000)));
        assert!(parse_ipv4_masked("10.0.0.0/33").unwrap_err().contains("prefix bits"));
        assert_eq!(parse_ipv4_masked("foo"), Err("foo: invalid IP address".into()));
        assert_eq!(parse_mac_masked("0:1:2:3:4:5"), Ok((0x0001_0203_0405, 0xffff_ffff_ffff)));
        assert!(parse_mac_masked("00:11:22:33:44").is_err());
        assert_eq!(parse_ipv6_masked("2001:db8::/32").map(|(_, m)| m), Ok(prefix_mask128(32)));
    }

    #[test]
    fn ipv6_prints_like_inet_ntop() {
        let p = |s: &str| format_ipv6(u128::from(s.parse::<Ipv6Addr>().unwrap()));
        assert_eq!(p("::"), "::");
        assert_eq!(p("::1"), "::1");
        assert_eq!(p("fe80::1"), "fe80::1");
        assert_eq!(p("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
        assert_eq!(p("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");
        assert_eq!(p("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
        assert_eq!(p("::1.2.3.4"), "::1.2.3.4");
        assert_eq!(p("1::"), "1::");
    }

    #[test]
    fn masks_print_as_prefixes_when_they_can() {
        assert_eq!(format_ipv4_masked(0x0a00_0000, 0xffff_0000), "10.0.0.0/16");
        assert_eq!(format_ipv4_masked(0x0a00_0000, 0xff00_ff00), "10.0.0.0/255.0.255.0");
        assert_eq!(format_mac_masked(0x0100_0000_0000, 0x0100_0000_0000), "01:00:00:00:00:00/01:00:00:00:00:00");
        assert_eq!(hex0(0), "0");
        assert_eq!(hex0(255), "0xff");
    }

    #[test]
    fn ports() {
        assert_eq!(parse_port("LOCAL", None), Some(OfPort::LOCAL));
        assert_eq!(parse_port("in_port", None), Some(OfPort::IN_PORT));
        assert_eq!(parse_port("65534", None), Some(OfPort::LOCAL));
        assert_eq!(parse_port("4294967294", None), Some(OfPort::LOCAL));
        assert_eq!(parse_port("70000", None), None);
        assert_eq!(parse_port("eth1", None), None);
        assert_eq!(format_port(OfPort(3), None), "3");
        assert_eq!(format_port(OfPort::CONTROLLER, None), "CONTROLLER");
    }
}
