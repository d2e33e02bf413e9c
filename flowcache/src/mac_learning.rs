//! The MAC learning table behind the `NORMAL` action.
//!
//! # What
//! Maps (VLAN, MAC address) to the OpenFlow port the address was last seen on. `NORMAL`
//! learns every unicast source address of the packets it switches and forwards frames to a
//! known destination out of its port only; unknown, multicast and broadcast destinations are
//! flooded within the VLAN.
//!
//! # Aging and size
//! An entry not refreshed for `aging_ms` (default 300 s, OVS's `mac-aging-time`) is ignored by
//! lookups and removed by [`MacTable::expire`]. The table holds at most `max_entries` (default
//! 8192, OVS's `mac-table-size`); when full, the least recently refreshed entry is evicted.
//!
//! # Invalidating megaflows
//! Megaflows derived from `NORMAL` embed decisions of this table (flood vs. one port). Every
//! change that can alter a decision (new entry, moved entry, removal) increments
//! [`MacTable::generation`]; the revalidator re-translates `NORMAL` megaflows when it moved.
//! Refreshing an entry does not.
//!
//! # Concurrency and time
//! Pure data: the daemon wraps it in a mutex taken only during translation (upcalls and
//! revalidation), never per packet. Time is passed in as monotonic milliseconds.

use std::collections::HashMap;

use crate::ofp::OfPort;

/// Default aging time: OVS's `mac-aging-time` default of 300 s.
pub const DEFAULT_AGING_MS: u64 = 300_000;
/// Default size: OVS's `mac-table-size` default.
pub const DEFAULT_MAX_ENTRIES: usize = 8192;

/// One learned address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacEntry {
    /// VLAN (0 = untagged).
    pub vlan: u16,
    /// Address (48-bit number).
    pub mac: u64,
    /// Port it was last seen on.
    pub port: OfPort,
    /// When it was last refreshed.
    pub used_ms: u64,
}

/// What learning an address did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Learned {
    /// A new entry.
    New,
    /// The address moved from another port.
    Moved {
        /// Where it was before.
        from: OfPort,
    },
    /// Already known on this port; its age was reset.
    Refreshed,
}

/// The table. See the module documentation.
#[derive(Debug)]
pub struct MacTable {
    entries: HashMap<(u16, u64), MacEntry>,
    aging_ms: u64,
    max_entries: usize,
    generation: u64,
}

impl Default for MacTable {
    fn default() -> Self {
        Self::new(DEFAULT_AGING_MS, DEFAULT_MAX_ENTRIES)
    }
}

impl MacTable {
    /// An empty table.
    pub fn new(aging_ms: u64, max_entries: usize) -> Self {
        MacTable { entries: HashMap::new(), aging_ms, max_entries: max_entries.max(1), generation: 0 }
    }

    /// Changes the aging time and size limit.
    pub fn configure(&mut self, aging_ms: u64, max_entries: usize) {
        self.aging_ms = aging_ms;
        self.max_entries = max_entries.max(1);
    }

    /// Counts changes that can alter a forwarding decision.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Number of entries (including expired ones not yet removed).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn fresh(&self, e: &MacEntry, now_ms: u64) -> bool {
        now_ms.saturating_sub(e.used_ms) < self.aging_ms
    }

    /// The port `mac` was last seen on in `vlan`, if the entry has not aged out.
    pub fn lookup(&self, vlan: u16, mac: u64, now_ms: u64) -> Option<OfPort> {
        self.entries.get(&(vlan, mac)).filter(|e| self.fresh(e, now_ms)).map(|e| e.port)
    }

    /// Records that `mac` was seen on `port` in `vlan`.
    pub fn learn(&mut self, vlan: u16, mac: u64, port: OfPort, now_ms: u64) -> Learned {
        if let Some(e) = self.entries.get_mut(&(vlan, mac)) {
            let was_fresh = now_ms.saturating_sub(e.used_ms) < self.aging_ms;
            let from = e.port;
            e.used_ms = now_ms;
            e.port = port;
            if from != port {
                self.generation += 1;
                return Learned::Moved { from };
            }
            if !was_fresh {
                self.generation += 1;
                return Learned::New;
            }
            return Learned::Refreshed;
        }
        if self.entries.len() >= self.max_entries {
            if let Some(oldest) = self.entries.values().min_by_key(|e| e.used_ms).map(|e| (e.vlan, e.mac)) {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert((vlan, mac), MacEntry { vlan, mac, port, used_ms: now_ms });
        self.generation += 1;
        Learned::New
    }

    /// Removes aged-out entries; returns how many.
    pub fn expire(&mut self, now_ms: u64) -> usize {
        let aging = self.aging_ms;
        let before = self.entries.len();
        self.entries.retain(|_, e| now_ms.saturating_sub(e.used_ms) < aging);
        let n = before - self.entries.len();
        if n > 0 {
            self.generation += 1;
        }
        n
    }

    /// Forgets every address learned on `port` (the port was removed or reconfigured).
    pub fn flush_port(&mut self, port: OfPort) {
        let before = self.entries.len();
        self.entries.retain(|_, e| e.port != port);
        if self.entries.len() != before {
            self.generation += 1;
        }
    }

    /// Forgets everything.
    pub fn flush(&mut self) {
        if !self.entries.is_empty() {
            self.generation += 1;
        }
        self.entries.clear();
    }

    /// The fresh entries, sorted by port, VLAN and address (for `fdb/show`).
    pub fn entries(&self, now_ms: u64) -> Vec<MacEntry> {
        let mut v: Vec<MacEntry> = self.entries.values().filter(|e| self.fresh(e, now_ms)).copied().collect();
        v.sort_by_key(|e| (e.port, e.vlan, e.mac));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_moves_and_ages() {
        let mut t = MacTable::new(1000, 10);
        assert_eq!(t.learn(0, 0xa, OfPort(1), 0), Learned::New);
        let g = t.generation();
        assert_eq!(t.learn(0, 0xa, OfPort(1), 10), Learned::Refreshed);
        assert_eq!(t.generation(), g, "refresh does not invalidate");
        assert_eq!(t.lookup(0, 0xa, 500), Some(OfPort(1)));
        assert_eq!(t.lookup(10, 0xa, 500), None, "VLANs are separate");
        assert_eq!(t.learn(0, 0xa, OfPort(2), 20), Learned::Moved { from: OfPort(1) });
        assert!(t.generation() > g);
        assert_eq!(t.lookup(0, 0xa, 1019), Some(OfPort(2)));
        assert_eq!(t.lookup(0, 0xa, 1020), None, "aged out");
        assert_eq!(t.expire(1020), 1);
        assert!(t.is_empty());
    }

    #[test]
    fn evicts_the_oldest_when_full() {
        let mut t = MacTable::new(10_000, 2);
        t.learn(0, 1, OfPort(1), 0);
        t.learn(0, 2, OfPort(1), 5);
        t.learn(0, 3, OfPort(1), 6);
        assert_eq!(t.len(), 2);
        assert_eq!(t.lookup(0, 1, 7), None);
        assert_eq!(t.lookup(0, 3, 7), Some(OfPort(1)));
        t.flush_port(OfPort(1));
        assert!(t.is_empty());
    }
}
