//! `multipath(...)`, `bundle(...)` and `bundle_load(...)` in `ovs-ofctl` syntax, parsed and
//! printed as Open vSwitch does (`multipath_parse`, `bundle_parse`, `bundle_parse_load` and
//! their formatters), messages included.
//!
//! The arguments are tokens separated by commas or spaces (C's `strtok_r`): numbers are read
//! as C's `atoi` reads them (leading digits, nothing else checked), names of fields and
//! algorithms in any case. A bundle's member list follows `members:` (or the old
//! `slaves:`); `bundle_load` takes its destination before it.

use super::fields::{format_subfield, parse_subfield};
use super::value::{format_port, parse_port, PortNames};
use super::TextError;
use rvs_flowcache::hashsel::{Bundle, BundleAlgorithm, HashFields, Multipath, MultipathAlgorithm};
use rvs_flowcache::ofp::OfAction;
use std::fmt::Write;

fn bad(keyword: &str, message: String) -> TextError {
    TextError::BadValue { keyword: keyword.to_string(), message }
}

/// C's `strtok_r` over a string.
struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Tokens<'a> {
    fn next(&mut self, delims: &str) -> Option<&'a str> {
        let s = self.rest.trim_start_matches(|c| delims.contains(c));
        if s.is_empty() {
            self.rest = s;
            return None;
        }
        match s.find(|c| delims.contains(c)) {
            Some(i) => {
                let c = s[i..].chars().next().map_or(1, char::len_utf8);
                self.rest = &s[i + c..];
                Some(&s[..i])
            }
            None => {
                self.rest = "";
                Some(s)
            }
        }
    }
}

/// C's `atoi`.
fn atoi(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, d) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let v = d.bytes().take_while(u8::is_ascii_digit).fold(0i64, |a, c| a.wrapping_mul(10).wrapping_add(i64::from(c - b'0')));
    let v = if neg { v.wrapping_neg() } else { v };
    v as i32 as i64
}

fn hash_fields(keyword: &str, whole: &str, s: &str) -> Result<HashFields, TextError> {
    HashFields::from_name(&s.to_ascii_lowercase()).ok_or_else(|| bad(keyword, format!("{whole}: unknown fields `{s}'")))
}

/// `multipath(fields, basis, algorithm, n_links, arg, dst)`.
pub(super) fn parse_multipath(arg: &str) -> Result<OfAction, TextError> {
    let kw = "multipath";
    let mut t = Tokens { rest: arg };
    let toks: Vec<Option<&str>> = (0..6).map(|_| t.next(", ")).collect();
    let [Some(fields), Some(basis), Some(algorithm), Some(n_links), Some(mp_arg), Some(dst)] = toks[..] else {
        return Err(bad(kw, format!("{arg}: not enough arguments to multipath action")));
    };
    let fields = hash_fields(kw, arg, fields)?;
    let algorithm = MultipathAlgorithm::from_name(&algorithm.to_ascii_lowercase())
        .ok_or_else(|| bad(kw, format!("{arg}: unknown algorithm `{algorithm}'")))?;
    let n_links = atoi(n_links);
    if !(1..=65536).contains(&n_links) {
        return Err(bad(kw, format!("{arg}: n_links {n_links} is not in valid range 1 to 65536")));
    }
    let dst = parse_subfield(dst).map_err(|e| bad(kw, e))?;
    if dst.n_bits < 16 && n_links > 1 << dst.n_bits {
        return Err(bad(
            kw,
            format!(
                "{arg}: {}-bit destination field has {} possible values, less than specified n_links {n_links}",
                dst.n_bits,
                1u32 << dst.n_bits
            ),
        ));
    }
    Ok(OfAction::Multipath(Box::new(Multipath {
        fields,
        basis: atoi(basis) as u16,
        algorithm,
        max_link: (n_links - 1) as u16,
        arg: atoi(mp_arg) as u32,
        dst,
    })))
}

/// `bundle(fields, basis, algorithm, ofport, members:P,...)` or, with `load`,
/// `bundle_load(fields, basis, algorithm, ofport, dst, members:P,...)`.
pub(super) fn parse_bundle(arg: &str, load: bool, names: Option<&dyn PortNames>) -> Result<OfAction, TextError> {
    let kw = if load { "bundle_load" } else { "bundle" };
    let mut t = Tokens { rest: arg };
    let fields = t.next(", ");
    let basis = t.next(", ");
    let algorithm = t.next(", ");
    let member_type = t.next(", ");
    let dst = if load { t.next(", ") } else { None };
    let delim = t.next(": ");
    let (Some(fields), Some(basis), Some(algorithm), Some(member_type), Some(delim)) = (fields, basis, algorithm, member_type, delim)
    else {
        return Err(bad(kw, format!("{arg}: not enough arguments to bundle action")));
    };
    if !delim.eq_ignore_ascii_case("members") && !delim.eq_ignore_ascii_case("slaves") {
        return Err(bad(kw, format!("{arg}: missing member delimiter, expected `members', got `{delim}'")));
    }
    let mut members = Vec::new();
    while members.len() < crate::nx::hashsel::MAX_MEMBERS {
        let Some(m) = t.next(", []") else { break };
        members.push(parse_port(m, names).ok_or_else(|| bad(kw, format!("{m}: bad port number")))?);
    }
    let fields = hash_fields(kw, arg, fields)?;
    let algorithm = BundleAlgorithm::from_name(&algorithm.to_ascii_lowercase())
        .ok_or_else(|| bad(kw, format!("{arg}: unknown algorithm `{algorithm}'")))?;
    if !member_type.eq_ignore_ascii_case("ofport") {
        return Err(bad(kw, format!("{arg}: unknown member_type `{member_type}'")));
    }
    let dst = dst.map(|d| parse_subfield(d).map_err(|e| bad(kw, e))).transpose()?;
    Ok(OfAction::Bundle(Box::new(Bundle { fields, basis: atoi(basis) as u16, algorithm, members, dst })))
}

/// Prints `multipath(...)`.
pub(super) fn format_multipath(s: &mut String, mp: &Multipath) {
    let _ = write!(
        s,
        "multipath({},{},{},{},{},{})",
        mp.fields.name(),
        mp.basis,
        mp.algorithm.name(),
        u32::from(mp.max_link) + 1,
        mp.arg,
        format_subfield(&mp.dst)
    );
}

/// Prints `bundle(...)` or `bundle_load(...)`.
pub(super) fn format_bundle(s: &mut String, b: &Bundle, names: Option<&dyn PortNames>) {
    let name = if b.dst.is_some() { "bundle_load" } else { "bundle" };
    let _ = write!(s, "{name}({},{},{},ofport,", b.fields.name(), b.basis, b.algorithm.name());
    if let Some(dst) = &b.dst {
        let _ = write!(s, "{},", format_subfield(dst));
    }
    s.push_str("members:");
    let ports: Vec<String> = b.members.iter().map(|p| format_port(*p, names)).collect();
    let _ = write!(s, "{})", ports.join(","));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_split_as_strtok_does() {
        let mut t = Tokens { rest: " a,,b c:d" };
        assert_eq!(t.next(", "), Some("a"));
        assert_eq!(t.next(", "), Some("b"));
        assert_eq!(t.next(": "), Some("c"));
        assert_eq!(t.next(", "), Some("d"));
        assert_eq!(t.next(", "), None);
        assert_eq!(atoi("12abc"), 12);
        assert_eq!(atoi("x"), 0);
        assert_eq!(atoi("-3"), -3);
    }
}
