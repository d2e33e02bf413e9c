//! Reading interface options: typed getters that remember which keys were read, so that a
//! misspelt option is reported instead of silently ignored.

use std::collections::BTreeMap;
use std::str::FromStr;

use crate::error::PortError;

/// The options of one port being parsed.
pub(crate) struct Options<'a> {
    map: &'a BTreeMap<String, String>,
    known: Vec<&'static str>,
}

impl<'a> Options<'a> {
    pub(crate) fn new(map: &'a BTreeMap<String, String>) -> Self {
        Options { map, known: Vec::new() }
    }

    /// The raw value of `key`, if given.
    pub(crate) fn str(&mut self, key: &'static str) -> Option<&'a str> {
        self.known.push(key);
        self.map.get(key).map(String::as_str)
    }

    /// `key` parsed as a boolean (`true`/`false`), `default` when absent.
    pub(crate) fn bool(&mut self, key: &'static str, default: bool) -> Result<bool, PortError> {
        match self.str(key) {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(v) => Err(PortError::bad_option(key, v, "expected true or false")),
        }
    }

    /// `key` parsed as an integer in `range`, `default` when absent.
    pub(crate) fn int<T>(&mut self, key: &'static str, default: T, range: std::ops::RangeInclusive<T>) -> Result<T, PortError>
    where
        T: FromStr + PartialOrd + Copy + std::fmt::Display,
    {
        let Some(v) = self.str(key) else { return Ok(default) };
        let why = || format!("expected an integer from {} to {}", range.start(), range.end());
        let n: T = v.parse().map_err(|_| PortError::bad_option(key, v, why()))?;
        if !range.contains(&n) {
            return Err(PortError::bad_option(key, v, why()));
        }
        Ok(n)
    }

    /// Fails on the first key that no getter asked for.
    pub(crate) fn finish(self) -> Result<(), PortError> {
        for (k, v) in self.map {
            if !self.known.contains(&k.as_str()) {
                let mut known = self.known.clone();
                known.sort_unstable();
                known.dedup();
                let why = if known.is_empty() {
                    "this port type takes no options".to_string()
                } else {
                    format!("unknown option for this port type (known: {})", known.join(", "))
                };
                return Err(PortError::bad_option(k, v, why));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn typed_getters_and_unknown_keys() {
        let m = map(&[("n_rxq", "4"), ("vnet_hdr", "false")]);
        let mut o = Options::new(&m);
        assert_eq!(o.int("n_rxq", 1usize, 1..=16).unwrap(), 4);
        assert!(!o.bool("vnet_hdr", true).unwrap());
        assert_eq!(o.int("rx_ring_frames", 7u32, 1..=9).unwrap(), 7);
        assert!(o.finish().is_ok());

        let m = map(&[("n_rxq", "40")]);
        let e = Options::new(&m).int("n_rxq", 1usize, 1..=16).unwrap_err();
        assert_eq!(e.to_string(), "bad interface option n_rxq=\"40\": expected an integer from 1 to 16");

        let m = map(&[("n_rxqs", "4")]);
        let mut o = Options::new(&m);
        let _ = o.int("n_rxq", 1usize, 1..=16);
        let e = o.finish().unwrap_err().to_string();
        assert!(e.contains("n_rxqs") && e.contains("known: n_rxq"), "{e}");

        let m = map(&[("x", "y")]);
        assert!(Options::new(&m).bool("x", false).is_err());
    }
}
