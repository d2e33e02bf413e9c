//! OVSDB values ("data") as `ovs-vsctl` reads them from the command line and prints them.
//!
//! A column has a [`ColumnType`]: a key [`BaseType`], an optional value base type (maps), and a
//! minimum and maximum number of elements. A [`Datum`] is the value of one column: a sorted set
//! of atoms, or a map sorted by key. Scalars and optional values are sets of 0 or 1 element.
//!
//! The text syntax is OVSDB's (ovs-vsctl(8), "Database Values"): atoms are integers or strings
//! (bare, or JSON-quoted when they contain delimiters), plus UUIDs for `_uuid`; sets are
//! `[1,2]`, `1,2` or `1 2`, with integer ranges `1-5` in integer sets; maps are `{a=b, c=d}` or
//! `a=b,c=d`. The parser, the printer and every error message follow `lib/ovsdb-data.c`, so that
//! scripts see the same text as with Open vSwitch. The columns rvs supports have no boolean or
//! real values, so those atomic types are not implemented.

use std::cmp::Ordering;
use std::fmt::Write as _;

/// Largest integer range `A-B` accepted in a set (OVS's `MAX_OVSDB_ATOM_RANGE_SIZE`).
const MAX_RANGE_SIZE: i64 = 4096;

/// "Unlimited" number of elements.
pub(crate) const UNLIMITED: u32 = u32::MAX;

/// The type of one atom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AtomicType {
    Integer,
    String,
    Uuid,
}

impl AtomicType {
    fn name(self) -> &'static str {
        match self {
            AtomicType::Integer => "integer",
            AtomicType::String => "string",
            AtomicType::Uuid => "uuid",
        }
    }
}

/// An atomic type with its constraints.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BaseType {
    pub(crate) atomic: AtomicType,
    /// Inclusive integer range (integers only).
    pub(crate) min: i64,
    pub(crate) max: i64,
    /// Allowed strings, sorted (string enums only).
    pub(crate) allowed: Option<&'static [&'static str]>,
}

impl BaseType {
    pub(crate) const STRING: BaseType =
        BaseType { atomic: AtomicType::String, min: i64::MIN, max: i64::MAX, allowed: None };
    pub(crate) const INTEGER: BaseType =
        BaseType { atomic: AtomicType::Integer, min: i64::MIN, max: i64::MAX, allowed: None };
    pub(crate) const UUID: BaseType =
        BaseType { atomic: AtomicType::Uuid, min: i64::MIN, max: i64::MAX, allowed: None };

    pub(crate) const fn int_range(min: i64, max: i64) -> BaseType {
        BaseType { atomic: AtomicType::Integer, min, max, allowed: None }
    }

    /// A string restricted to `allowed`, which must be sorted.
    pub(crate) const fn one_of(allowed: &'static [&'static str]) -> BaseType {
        BaseType { atomic: AtomicType::String, min: i64::MIN, max: i64::MAX, allowed: Some(allowed) }
    }

    /// OVS's `ovsdb_atom_check_constraints`.
    fn check(&self, atom: &Atom) -> Result<(), String> {
        match atom {
            Atom::Integer(i) if *i < self.min || *i > self.max => {
                Err(if self.min != i64::MIN && self.max != i64::MAX {
                    format!(
                        "constraint violation: {i} is not in the valid range {} to {} (inclusive)",
                        self.min, self.max
                    )
                } else if self.min != i64::MIN {
                    format!("constraint violation: {i} is less than minimum allowed value {}", self.min)
                } else {
                    format!("constraint violation: {i} is greater than maximum allowed value {}", self.max)
                })
            }
            Atom::String(s) => match self.allowed {
                Some(allowed) if !allowed.contains(&s.as_str()) => {
                    let set = Datum::from_atoms(allowed.iter().map(|a| Atom::String(a.to_string())).collect());
                    Err(format!(
                        "constraint violation: {} is not one of the allowed values ({})",
                        atom.to_text(),
                        set.to_text(&ColumnType::set(BaseType::STRING, 0, UNLIMITED))
                    ))
                }
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }
}

/// The type of a column.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ColumnType {
    pub(crate) key: BaseType,
    pub(crate) value: Option<BaseType>,
    pub(crate) n_min: u32,
    pub(crate) n_max: u32,
}

impl ColumnType {
    /// Exactly one atom.
    pub(crate) const fn scalar(key: BaseType) -> ColumnType {
        ColumnType { key, value: None, n_min: 1, n_max: 1 }
    }

    /// Zero or one atom.
    pub(crate) const fn optional(key: BaseType) -> ColumnType {
        ColumnType { key, value: None, n_min: 0, n_max: 1 }
    }

    pub(crate) const fn set(key: BaseType, n_min: u32, n_max: u32) -> ColumnType {
        ColumnType { key, value: None, n_min, n_max }
    }

    pub(crate) const fn map(key: BaseType, value: BaseType) -> ColumnType {
        ColumnType { key, value: Some(value), n_min: 0, n_max: UNLIMITED }
    }

    pub(crate) fn is_map(&self) -> bool {
        self.value.is_some()
    }

    /// OVS's `ovsdb_type_to_english`.
    fn english(&self) -> String {
        if self.value.is_none() && self.n_min == 1 && self.n_max == 1 {
            return self.key.atomic.name().to_string();
        }
        let mut s = String::from(if self.is_map() { "map" } else { "set" });
        if self.n_max == UNLIMITED {
            if self.n_min > 0 {
                let _ = write!(s, " of {} or more", self.n_min);
            } else {
                s.push_str(" of");
            }
        } else if self.n_min > 0 {
            let _ = write!(s, " of {} to {}", self.n_min, self.n_max);
        } else {
            let _ = write!(s, " of up to {}", self.n_max);
        }
        match self.value {
            None => {
                let _ = write!(s, " {}s", self.key.atomic.name());
            }
            Some(v) => {
                let _ = write!(s, " ({}, {}) pairs", self.key.atomic.name(), v.atomic.name());
            }
        }
        s
    }
}

/// One atom. Atoms of one column all have the same variant, so the derived order is OVSDB's.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Atom {
    Integer(i64),
    String(String),
    Uuid(String),
}

impl Atom {
    /// OVS's `ovsdb_atom_to_string`: strings are quoted only when needed.
    pub(crate) fn to_text(&self) -> String {
        match self {
            Atom::Integer(i) => i.to_string(),
            Atom::String(s) if string_needs_quotes(s) => json_quote(s),
            Atom::String(s) | Atom::Uuid(s) => s.clone(),
        }
    }

    /// OVS's `ovsdb_atom_to_bare`: strings never quoted.
    fn to_bare(&self) -> String {
        match self {
            Atom::String(s) => s.clone(),
            other => other.to_text(),
        }
    }

    fn to_json(&self) -> Json {
        match self {
            Atom::Integer(i) => Json::Int(*i),
            Atom::String(s) => Json::Str(s.clone()),
            Atom::Uuid(u) => Json::Array(vec![Json::Str("uuid".into()), Json::Str(u.clone())]),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            Atom::String(s) | Atom::Uuid(s) => s,
            _ => "",
        }
    }

    pub(crate) fn as_int(&self) -> i64 {
        match self {
            Atom::Integer(i) => *i,
            _ => 0,
        }
    }
}

/// `true` unless `s` is an identifier-like word (OVS's `string_needs_quotes`).
fn string_needs_quotes(s: &str) -> bool {
    let mut bytes = s.bytes();
    match bytes.next() {
        Some(c) if c.is_ascii_alphabetic() || c == b'_' => {}
        _ => return true,
    }
    if !bytes.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.') {
        return true;
    }
    s == "true" || s == "false"
}

/// A JSON string literal, escaped as OVS's JSON serializer does.
pub(crate) fn json_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Decodes the inside of a JSON string literal (without its quotes).
fn json_unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('/') => out.push('/'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let hex = |chars: &mut std::str::Chars<'_>| -> Result<u32, String> {
                    let h: String = chars.take(4).collect();
                    u32::from_str_radix(&h, 16).map_err(|_| "malformed \\u escape".to_string())
                };
                let mut code = hex(&mut chars)?;
                if (0xd800..0xdc00).contains(&code) {
                    if chars.next() != Some('\\') || chars.next() != Some('u') {
                        return Err("malformed escaped surrogate pair".into());
                    }
                    let low = hex(&mut chars)?;
                    code = 0x10000 + ((code - 0xd800) << 10) + (low.wrapping_sub(0xdc00) & 0x3ff);
                }
                out.push(char::from_u32(code).ok_or("invalid UTF-16 escape")?);
            }
            _ => return Err("bad escape \\".into()),
        }
    }
    Ok(out)
}

/// OVS's `ovsdb_token_is_delim`.
fn is_delim(c: u8) -> bool {
    b":=, []{}!<>".contains(&c)
}

/// OVS's `ovsdb_token_parse`: the token at the start of `s` (up to an unquoted, unescaped
/// delimiter) and the rest of `s`. Backslashes escape the next character; double quotes are
/// kept in the token.
pub(crate) fn parse_token(s: &str) -> Result<(String, &str), String> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut in_quotes = false;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\\' {
            if in_quotes {
                out.push(b'\\');
            }
            if i + 1 >= bytes.len() {
                return Err(format!("{s}: backslash at end of argument"));
            }
            out.push(bytes[i + 1]);
            i += 2;
        } else if !in_quotes && is_delim(c) {
            break;
        } else {
            out.push(c);
            if c == b'"' {
                in_quotes = !in_quotes;
            }
            i += 1;
        }
    }
    if in_quotes {
        return Err(format!("{s}: quoted string extends past end of argument"));
    }
    // A backslash may have split a multi-byte character only if the input was not UTF-8.
    let token = String::from_utf8(out).map_err(|_| format!("{s}: invalid UTF-8"))?;
    Ok((token, &s[i..]))
}

/// strtoll-like decimal parse of the whole of `s` (optional leading spaces and sign).
fn parse_i64(s: &str) -> Option<i64> {
    let t = s.trim_start();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.strip_prefix('+').unwrap_or(t).parse().ok()
}

/// `A-B` as an integer range.
fn parse_range(s: &str) -> Option<(i64, i64)> {
    let t = s.trim_start();
    let start_len = t.strip_prefix(['+', '-']).map_or(0, |_| 1);
    let dash = t[start_len..].find('-')? + start_len;
    Some((parse_i64(&t[..dash])?, parse_i64(&t[dash + 1..])?))
}

/// OVS's `ovsdb_atom_from_string`. With `allow_range`, an integer may be a range `A-B`, and
/// every atom of it is returned.
pub(crate) fn parse_atom(base: &BaseType, s: &str, allow_range: bool) -> Result<Vec<Atom>, String> {
    let atoms = match base.atomic {
        AtomicType::Integer => match parse_range(s).filter(|_| allow_range) {
            Some((start, end)) => {
                if end < start {
                    return Err(format!("\"{s}\" is not a valid range. Range end cannot be before start."));
                }
                base.check(&Atom::Integer(start))?;
                base.check(&Atom::Integer(end))?;
                if (end as u64).wrapping_sub(start as u64) >= MAX_RANGE_SIZE as u64 {
                    return Err(format!(
                        "constraint violation: Range \"{start}-{end}\" is too big. Maximum allowed size is {MAX_RANGE_SIZE}."
                    ));
                }
                return Ok((start..=end).map(Atom::Integer).collect());
            }
            None => Atom::Integer(parse_i64(s).ok_or_else(|| format!("\"{s}\" is not a valid integer or range"))?),
        },
        AtomicType::String => {
            if s.is_empty() {
                return Err("An empty string is not valid as input; use \"\" to represent the empty string".into());
            } else if let Some(inner) = s.strip_prefix('"') {
                let Some(inner) = inner.strip_suffix('"') else {
                    return Err(format!("{s}: missing quote at end of quoted string"));
                };
                Atom::String(json_unescape(inner).map_err(|e| format!("{s}: {e}"))?)
            } else {
                Atom::String(s.to_string())
            }
        }
        AtomicType::Uuid => {
            if !crate::vsctl::schema::is_uuid(s) {
                return Err(format!("\"{s}\" is not a valid UUID"));
            }
            Atom::Uuid(s.to_ascii_lowercase())
        }
    };
    base.check(&atoms)?;
    Ok(vec![atoms])
}

/// A column's value: sorted by key, keys unique; `Some` values for maps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Datum {
    pub(crate) entries: Vec<(Atom, Option<Atom>)>,
}

impl Datum {
    pub(crate) fn empty() -> Datum {
        Datum::default()
    }

    /// A set from atoms (sorted and deduplicated here).
    pub(crate) fn from_atoms(mut atoms: Vec<Atom>) -> Datum {
        atoms.sort();
        atoms.dedup();
        Datum { entries: atoms.into_iter().map(|a| (a, None)).collect() }
    }

    /// A set of zero or one atom.
    pub(crate) fn from_option(atom: Option<Atom>) -> Datum {
        Datum::from_atoms(atom.into_iter().collect())
    }

    /// A map from key/value pairs (sorted here; later duplicates are dropped).
    pub(crate) fn from_pairs(pairs: impl IntoIterator<Item = (Atom, Atom)>) -> Datum {
        let mut entries: Vec<(Atom, Option<Atom>)> = pairs.into_iter().map(|(k, v)| (k, Some(v))).collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|a, b| a.0 == b.0);
        Datum { entries }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &Atom> {
        self.entries.iter().map(|(k, _)| k)
    }

    pub(crate) fn find_key(&self, key: &Atom) -> Option<&(Atom, Option<Atom>)> {
        self.entries.binary_search_by(|(k, _)| k.cmp(key)).ok().map(|i| &self.entries[i])
    }

    /// OVS's `ovsdb_datum_from_string`.
    pub(crate) fn parse(ty: &ColumnType, s: &str) -> Result<Datum, String> {
        let is_map = ty.is_map();
        let mut p = s.trim_start();
        let end_delim = if p.starts_with(if is_map { '{' } else { '[' }) {
            p = p[1..].trim_start();
            Some(if is_map { '}' } else { ']' })
        } else if p.is_empty() {
            return Err(if is_map {
                "use \"{}\" to specify the empty map"
            } else {
                "use \"[]\" to specify the empty set"
            }
            .into());
        } else {
            None
        };
        let mut entries: Vec<(Atom, Option<Atom>)> = Vec::new();
        while let Some(c) = p.chars().next() {
            if Some(c) == end_delim {
                break;
            }
            if c.is_ascii() && is_delim(c as u8) {
                return Err(format!("{s}: unexpected \"{c}\" parsing {}", ty.english()));
            }
            let start = p;
            let (token, rest) = parse_token(p)?;
            let keys = parse_atom(&ty.key, &token, ty.key.atomic == AtomicType::Integer)?;
            p = rest;
            if let Some(vtype) = &ty.value {
                p = p.trim_start();
                let Some(after) = p.strip_prefix('=') else {
                    // OVS prints the offending character with %c; at the end it is a NUL,
                    // which ends the C string right after the opening quote.
                    return Err(match p.chars().next() {
                        Some(c) => format!("{start}: syntax error at \"{c}\" expecting \"=\""),
                        None => format!("{start}: syntax error at \""),
                    });
                };
                let (vtoken, rest) = parse_token(after.trim_start())?;
                let value = parse_atom(vtype, &vtoken, false)?.remove(0);
                p = rest;
                entries.extend(keys.into_iter().map(|k| (k, Some(value.clone()))));
            } else {
                entries.extend(keys.into_iter().map(|k| (k, None)));
            }
            p = p.trim_start();
            if let Some(rest) = p.strip_prefix(',') {
                p = rest.trim_start();
            }
        }
        match end_delim {
            Some(d) if !p.starts_with(d) => return Err(format!("{s}: missing \"{d}\" at end of data")),
            Some(d) if !p[d.len_utf8()..].trim_start().is_empty() => {
                return Err(format!("{s}: trailing garbage after \"{d}\""));
            }
            _ => {}
        }
        let what = if is_map { "pair(s)" } else { "value(s)" };
        let n = entries.len();
        if n < ty.n_min as usize {
            return Err(format!("{s}: {n} {what} specified but the minimum number is {}", ty.n_min));
        } else if n > ty.n_max as usize {
            return Err(format!("{s}: {n} {what} specified but the maximum number is {}", ty.n_max));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        if entries.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(if is_map {
                format!("{s}: map contains duplicate key")
            } else {
                format!("{s}: set contains duplicate value")
            });
        }
        Ok(Datum { entries })
    }

    /// OVS's `ovsdb_datum_to_string`.
    pub(crate) fn to_text(&self, ty: &ColumnType) -> String {
        let brackets = ty.n_max > 1 || self.entries.is_empty();
        let mut out = String::new();
        if brackets {
            out.push(if ty.is_map() { '{' } else { '[' });
        }
        for (i, (k, v)) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&k.to_text());
            if let Some(v) = v {
                out.push('=');
                out.push_str(&v.to_text());
            }
        }
        if brackets {
            out.push(if ty.is_map() { '}' } else { ']' });
        }
        out
    }

    /// OVS's `ovsdb_datum_to_bare`: space-separated, strings unquoted, no brackets.
    pub(crate) fn to_bare(&self) -> String {
        let items: Vec<String> = self
            .entries
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{}={}", k.to_bare(), v.to_bare()),
                None => k.to_bare(),
            })
            .collect();
        items.join(" ")
    }

    /// OVS's `ovsdb_datum_to_json` (RFC 7047 notation).
    pub(crate) fn to_json(&self, ty: &ColumnType) -> Json {
        if ty.is_map() {
            let pairs = self
                .entries
                .iter()
                .map(|(k, v)| Json::Array(vec![k.to_json(), v.as_ref().map_or(Json::Null, Atom::to_json)]))
                .collect();
            Json::Array(vec![Json::Str("map".into()), Json::Array(pairs)])
        } else if self.entries.len() == 1 {
            self.entries[0].0.to_json()
        } else {
            Json::Array(vec![Json::Str("set".into()), Json::Array(self.keys().map(Atom::to_json).collect())])
        }
    }

    /// OVS's `ovsdb_datum_compare_3way`: by size, then keys, then values.
    pub(crate) fn compare(&self, other: &Datum) -> Ordering {
        self.len()
            .cmp(&other.len())
            .then_with(|| self.keys().cmp(other.keys()))
            .then_with(|| self.entries.iter().map(|e| &e.1).cmp(other.entries.iter().map(|e| &e.1)))
    }

    /// Whether `self` has an element equal to `entry` (the value compared only if both have one).
    fn contains(&self, entry: &(Atom, Option<Atom>)) -> bool {
        match self.find_key(&entry.0) {
            Some((_, v)) => v.is_none() || entry.1.is_none() || *v == entry.1,
            None => false,
        }
    }

    /// Every element of `self` is in `other`.
    pub(crate) fn is_subset_of(&self, other: &Datum) -> bool {
        self.len() <= other.len() && self.entries.iter().all(|e| other.contains(e))
    }

    /// No element of `self` is in `other`.
    pub(crate) fn is_disjoint_from(&self, other: &Datum) -> bool {
        self.entries.iter().all(|e| !other.contains(e))
    }

    /// Adds the elements of `other`; for maps, values of `other` replace existing ones.
    pub(crate) fn union_replace(&mut self, other: &Datum) {
        for e in &other.entries {
            match self.entries.binary_search_by(|(k, _)| k.cmp(&e.0)) {
                Ok(i) => self.entries[i].1 = e.1.clone(),
                Err(i) => self.entries.insert(i, e.clone()),
            }
        }
    }

    /// Adds the elements of `other` whose keys are not present yet.
    pub(crate) fn union_keep(&mut self, other: &Datum) {
        for e in &other.entries {
            if let Err(i) = self.entries.binary_search_by(|(k, _)| k.cmp(&e.0)) {
                self.entries.insert(i, e.clone());
            }
        }
    }

    /// Removes the elements of `other` (by key, or by key and value when `other` has values).
    pub(crate) fn subtract(&mut self, other: &Datum) {
        self.entries.retain(|e| match other.find_key(&e.0) {
            Some((_, Some(v))) => e.1.as_ref() != Some(v),
            Some((_, None)) => false,
            None => true,
        });
    }
}

/// Just enough JSON for `--format=json` and `--data=json`, printed as OVS prints it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Json {
    Null,
    Int(i64),
    Str(String),
    Array(Vec<Json>),
    /// Members in the order given (OVS sorts them; callers pass them sorted).
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Compact, or OVS's "pretty" layout (every element on its own line, two-space indent,
    /// closing brackets on the last element's line).
    pub(crate) fn to_text(&self, pretty: bool) -> String {
        let mut out = String::new();
        self.write(&mut out, pretty, 0);
        out
    }

    fn write(&self, out: &mut String, pretty: bool, depth: usize) {
        let newline = |out: &mut String, depth: usize| {
            if pretty {
                out.push('\n');
                out.push_str(&" ".repeat(depth * 2));
            }
        };
        match self {
            Json::Null => out.push_str("null"),
            Json::Int(i) => out.push_str(&i.to_string()),
            Json::Str(s) => out.push_str(&json_quote(s)),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    item.write(out, pretty, depth + 1);
                }
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    out.push_str(&json_quote(k));
                    out.push(':');
                    if pretty {
                        out.push(' ');
                    }
                    v.write(out, pretty, depth + 1);
                }
                out.push('}');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STR_MAP: ColumnType = ColumnType::map(BaseType::STRING, BaseType::STRING);
    const VLANS: ColumnType = ColumnType::set(BaseType::int_range(0, 4095), 0, 4096);

    #[test]
    fn quotes_strings_only_when_needed() {
        assert_eq!(Atom::String("br0".into()).to_text(), "br0");
        assert_eq!(Atom::String("a.b-c_d".into()).to_text(), "a.b-c_d");
        for s in ["0abc", "a:b", "true", "x y", "", "é", "-x"] {
            assert_eq!(Atom::String(s.into()).to_text(), json_quote(s), "{s}");
        }
    }

    #[test]
    fn parses_maps_and_sets() {
        let d = Datum::parse(&STR_MAP, "{b=\"x y\", a=1}").unwrap();
        assert_eq!(d.to_text(&STR_MAP), "{a=\"1\", b=\"x y\"}");
        let v = Datum::parse(&VLANS, "5,1-3 10").unwrap();
        assert_eq!(v.to_text(&VLANS), "[1, 2, 3, 5, 10]");
        assert_eq!(Datum::parse(&VLANS, "[]").unwrap(), Datum::empty());
    }

    #[test]
    fn reports_errors_like_ovs() {
        assert_eq!(Datum::parse(&VLANS, "1,1").unwrap_err(), "1,1: set contains duplicate value");
        assert_eq!(
            Datum::parse(&VLANS, "1,,2").unwrap_err(),
            "1,,2: unexpected \",\" parsing set of up to 4096 integers"
        );
        assert_eq!(Datum::parse(&STR_MAP, "a").unwrap_err(), "a: syntax error at \"");
        assert_eq!(
            Datum::parse(&VLANS, "5000").unwrap_err(),
            "constraint violation: 5000 is not in the valid range 0 to 4095 (inclusive)"
        );
    }

    #[test]
    fn pretty_json_matches_ovs_layout() {
        let j = Json::Object(vec![("a".into(), Json::Array(vec![Json::Int(1), Json::Str("x".into())]))]);
        assert_eq!(j.to_text(false), "{\"a\":[1,\"x\"]}");
        assert_eq!(j.to_text(true), "{\n  \"a\": [\n    1,\n    \"x\"]}");
    }
}
