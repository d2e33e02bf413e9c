//! Splitting flow text into `key=value` pairs, exactly as Open vSwitch does.
//!
//! [`KeyValues`] is `ofputil_parse_key_value`: pairs are separated by commas and white space;
//! a key ends at one of `:=(, \t\r\n`; after `:` or `=` the value runs to the next comma or
//! white space, after `(` it runs to the matching `)` (and a following `->dst`, for
//! `load(...)->x`-style values); a value may contain parenthesised groups with commas inside
//! (`write_actions(output:1,output:2)`) and double-quoted strings (port names with spaces). A
//! key without a delimiter has an empty value.
//! [`extract_actions`] is `ofp_extract_actions`: everything after the first `action...=`.

/// Iterator over `(key, value)` pairs.
#[derive(Clone, Debug)]
pub(crate) struct KeyValues<'a> {
    rest: &'a str,
}

impl<'a> KeyValues<'a> {
    pub(crate) fn new(s: &'a str) -> KeyValues<'a> {
        KeyValues { rest: s }
    }
}

/// Length of a value that ends at one of `delims`, skipping over balanced parentheses.
fn value_len(s: &str, delims: &[u8]) -> usize {
    let b = s.as_bytes();
    let mut n = 0;
    while n < b.len() && !delims.contains(&b[n]) {
        if b[n] == b'(' {
            let mut level = 0i32;
            loop {
                if n >= b.len() {
                    return n;
                }
                match b[n] {
                    b'(' => level += 1,
                    b')' => level -= 1,
                    _ => {}
                }
                n += 1;
                if level <= 0 {
                    break;
                }
            }
        } else if b[n] == b'"' {
            // A quoted string (a port name with spaces or commas), with backslash escapes.
            n += 1;
            while n < b.len() && b[n] != b'"' {
                n += if b[n] == b'\\' && n + 1 < b.len() { 2 } else { 1 };
            }
            n = (n + 1).min(b.len());
        } else {
            n += 1;
        }
    }
    n
}

impl<'a> Iterator for KeyValues<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<(&'a str, &'a str)> {
        let s = self.rest.trim_start_matches([',', ' ', '\t', '\r', '\n']);
        if s.is_empty() {
            self.rest = s;
            return None;
        }
        let key_len = s.find([':', '=', '(', ',', ' ', '\t', '\r', '\n']).unwrap_or(s.len());
        let key = &s[..key_len];
        let delim = s.as_bytes().get(key_len).copied();
        let after = if delim.is_some() { &s[key_len + 1..] } else { &s[key_len..] };
        let value_delims: &[u8] = match delim {
            Some(b':') | Some(b'=') => b", \t\r\n",
            Some(b'(') => b")",
            _ => {
                self.rest = after;
                return Some((key, ""));
            }
        };
        let mut vlen = value_len(after, value_delims);
        let ab = after.as_bytes();
        if delim == Some(b'(') && ab.get(vlen) == Some(&b')') && ab.get(vlen + 1) == Some(&b'-') && ab.get(vlen + 2) == Some(&b'>') {
            vlen += value_len(&after[vlen..], b", \t\r\n");
        }
        let value = &after[..vlen];
        self.rest = if vlen < after.len() { &after[vlen + 1..] } else { &after[vlen..] };
        Some((key, value))
    }
}

/// Splits a flow into its match part and its actions (`ofp_extract_actions`): the match is
/// everything before the first `action`, the actions everything after the `=` that follows
/// it. `None` if there is no `action` or no `=` after it.
pub(crate) fn extract_actions(s: &str) -> (&str, Option<&str>) {
    match s.find("action") {
        Some(i) => {
            let m = &s[..i];
            let acts = s[i + 1..].find('=').map(|j| &s[i + 1 + j + 1..]);
            (m, acts)
        }
        None => (s, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(s: &str) -> Vec<(&str, &str)> {
        KeyValues::new(s).collect()
    }

    #[test]
    fn splits_like_ovs() {
        assert_eq!(kv("in_port=1, tcp,tp_dst=80"), vec![("in_port", "1"), ("tcp", ""), ("tp_dst", "80")]);
        assert_eq!(kv("output:2,resubmit(,3),drop"), vec![("output", "2"), ("resubmit", ",3"), ("drop", "")]);
        assert_eq!(
            kv("write_actions(output:1,output:2),goto_table:3"),
            vec![("write_actions", "output:1,output:2"), ("goto_table", "3")]
        );
        assert_eq!(kv("enqueue:1:2"), vec![("enqueue", "1:2")]);
        assert_eq!(kv("set_field:1->reg0"), vec![("set_field", "1->reg0")]);
        assert_eq!(kv("controller(reason=no_match,max_len=1)"), vec![("controller", "reason=no_match,max_len=1")]);
        assert_eq!(kv("  "), vec![]);
    }

    #[test]
    fn actions_follow_the_first_action_word() {
        assert_eq!(extract_actions("ip,actions=1"), ("ip,", Some("1")));
        assert_eq!(extract_actions("ip action=drop"), ("ip ", Some("drop")));
        assert_eq!(extract_actions("ip"), ("ip", None));
        assert_eq!(extract_actions("ip,actions"), ("ip,", None));
    }
}
