//! Port and table names: the maps `ovs-ofctl` fetches from a switch, and ports in text.
//!
//! A [`NameMap`] follows Open vSwitch's `namemap`: a name given to two numbers, or a number
//! given two names, becomes ambiguous and resolves in neither direction. Ports are named in
//! port descriptions, tables in table features (most switches leave them unnamed).
//!
//! [`parse_port`] is `ofputil_port_from_string` (a number, a reserved name in any case, or a
//! name, optionally in double quotes) and [`format_port`] prints a port with a name when the
//! map has one, quoted when it would not read back as a name.

use std::collections::HashMap;

use rvs_openflow::text::PortNames;
use rvs_openflow::OfPort;

#[derive(Clone, Debug)]
struct Entry {
    number: u32,
    name: String,
    duplicate: bool,
}

/// Names of ports or tables, both ways.
#[derive(Clone, Debug, Default)]
pub struct NameMap {
    entries: Vec<Entry>,
    by_name: HashMap<String, usize>,
    by_number: HashMap<u32, usize>,
}

impl NameMap {
    /// An empty map.
    pub fn new() -> NameMap {
        NameMap::default()
    }

    /// Adds `number` ↔ `name` (`namemap_put`).
    pub fn put(&mut self, number: u32, name: &str) {
        if let Some(&i) = self.by_name.get(name) {
            if self.entries[i].number != number {
                self.entries[i].duplicate = true;
            }
            return;
        }
        if let Some(&i) = self.by_number.get(&number) {
            self.entries[i].duplicate = true;
            return;
        }
        self.entries.push(Entry { number, name: name.to_string(), duplicate: false });
        self.by_name.insert(name.to_string(), self.entries.len() - 1);
        self.by_number.insert(number, self.entries.len() - 1);
    }

    /// The number of an unambiguous name.
    pub fn number(&self, name: &str) -> Option<u32> {
        self.by_name.get(name).map(|&i| &self.entries[i]).filter(|e| !e.duplicate).map(|e| e.number)
    }

    /// The name of an unambiguous number.
    pub fn name(&self, number: u32) -> Option<&str> {
        self.by_number.get(&number).map(|&i| &self.entries[i]).filter(|e| !e.duplicate).map(|e| e.name.as_str())
    }

    /// True if the map holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A [`NameMap`] of ports, usable by the flow parser and printer.
#[derive(Clone, Debug, Default)]
pub struct PortMap(pub NameMap);

impl PortNames for PortMap {
    fn port_number(&self, name: &str) -> Option<OfPort> {
        self.0.number(name).map(OfPort)
    }

    fn port_name(&self, port: OfPort) -> Option<String> {
        self.0.name(port.0).map(str::to_string)
    }
}

/// True if `name` prints without quotes (it reads back as the same name).
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
        && !name.bytes().all(|c| c.is_ascii_digit())
        && OfPort::from_reserved_name(name).is_none()
}

/// `json_string_escape`: `name` in double quotes with JSON escapes.
fn json_quoted(name: &str) -> String {
    let mut s = String::from('"');
    for c in name.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\u{8}' => s.push_str("\\b"),
            '\u{c}' => s.push_str("\\f"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 => s.push_str(&format!("\\u{:04x}", c as u32)),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// Prints a port: its reserved name, its name in `names` (quoted when needed), or its
/// number.
pub fn format_port(port: OfPort, names: Option<&PortMap>) -> String {
    if let Some(n) = port.reserved_name() {
        return n.to_string();
    }
    match names.and_then(|m| m.port_name(port)) {
        Some(name) if is_plain_name(&name) => name,
        Some(name) => json_quoted(&name),
        None => port.0.to_string(),
    }
}

/// `str_to_uint(s, 10)`: decimal digits only (after optional white space and `+`).
fn decimal(s: &str) -> Option<u64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let t = t.strip_prefix('+').unwrap_or(t);
    if t.is_empty() || !t.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    t.parse::<u64>().ok().filter(|v| *v <= u32::MAX as u64)
}

/// Parses a port as `ofputil_port_from_string` does; `names` resolves port names.
pub fn parse_port(s: &str, names: Option<&PortMap>) -> Option<OfPort> {
    if s.starts_with('-') {
        return None;
    }
    if let Some(v) = decimal(s) {
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
    names.and_then(|m| m.port_number(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ambiguous_names_resolve_in_neither_direction() {
        let mut m = NameMap::new();
        m.put(1, "p1");
        m.put(2, "p2");
        m.put(3, "p2");
        m.put(1, "p1");
        assert_eq!(m.number("p1"), Some(1));
        assert_eq!(m.name(1), Some("p1"));
        assert_eq!(m.number("p2"), None);
        assert_eq!(m.name(2), None);
        assert_eq!(m.name(3), None);
        m.put(1, "other");
        assert_eq!(m.name(1), None);
    }

    #[test]
    fn ports_parse_and_print_like_ovs() {
        let mut m = NameMap::new();
        m.put(1, "p1");
        m.put(2, "my port");
        m.put(3, "7");
        let m = PortMap(m);
        assert_eq!(parse_port("p1", Some(&m)), Some(OfPort(1)));
        assert_eq!(parse_port("\"my port\"", Some(&m)), Some(OfPort(2)));
        assert_eq!(parse_port("p1", None), None);
        assert_eq!(parse_port("local", None), Some(OfPort::LOCAL));
        assert_eq!(parse_port("65534", None), Some(OfPort::LOCAL));
        assert_eq!(parse_port("70000", None), None);
        assert_eq!(parse_port("-1", None), None);
        assert_eq!(format_port(OfPort(1), Some(&m)), "p1");
        assert_eq!(format_port(OfPort(2), Some(&m)), "\"my port\"");
        assert_eq!(format_port(OfPort(3), Some(&m)), "\"7\"");
        let mut odd = NameMap::new();
        odd.put(5, "x\u{1}y\"\\");
        assert_eq!(format_port(OfPort(5), Some(&PortMap(odd))), "\"x\\u0001y\\\"\\\\\"");
        assert_eq!(format_port(OfPort(4), Some(&m)), "4");
        assert_eq!(format_port(OfPort::LOCAL, Some(&m)), "LOCAL");
    }
}
