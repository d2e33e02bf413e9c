//! The exact-match cache (EMC): full flow key -> megaflow, per PMD.
//!
//! # What
//! The first cache a packet meets. A hit costs one hash of the key, one or two probes and a
//! key comparison, against one probe per subtable in the megaflow cache.
//!
//! # Design
//! A power-of-two array of entries, each holding a full [`FlowKey`], its hash and an `Arc`
//! of the megaflow. A key may live in one of two slots (two independent bit ranges of its
//! hash). Insertion fills an empty or dead slot of the two, else replaces the one holding
//! the lower hash (an arbitrary but cheap choice, as in OVS). A megaflow marked dead is
//! treated as a miss. Entries are not counted as "owned": the megaflow cache is the truth,
//! the EMC only shortcuts to it.
//!
//! # Thrashing
//! With more live flows than slots, inserting on every megaflow hit would evict hot entries
//! for cold ones. Callers insert with a probability (OVS's `emc-insert-inv-prob`, default
//! 1/100), see [`EmcInsertPolicy`].

use std::sync::Arc;

use crate::key::FlowKey;
use crate::megaflow::Megaflow;

/// Default number of entries (OVS's `EM_FLOW_HASH_ENTRIES`).
pub const DEFAULT_ENTRIES: usize = 8192;

struct Entry {
    key: FlowKey,
    hash: u32,
    flow: Option<Arc<Megaflow>>,
}

/// The exact-match cache. See the module documentation.
pub struct Emc {
    entries: Box<[Entry]>,
    mask: u32,
    shift: u32,
}

impl Emc {
    /// A cache of `n` entries (rounded up to a power of two, at least 2).
    pub fn new(n: usize) -> Emc {
        let n = n.max(2).next_power_of_two();
        let entries = (0..n).map(|_| Entry { key: FlowKey::ZERO, hash: 0, flow: None }).collect::<Vec<_>>();
        let bits = n.trailing_zeros();
        Emc { entries: entries.into_boxed_slice(), mask: (n - 1) as u32, shift: (32 - bits).min(16) }
    }

    #[inline(always)]
    fn slots(&self, hash: u32) -> (usize, usize) {
        ((hash & self.mask) as usize, ((hash >> self.shift) & self.mask) as usize)
    }

    /// The megaflow cached for exactly `key` (whose hash is `hash`).
    #[inline]
    pub fn lookup(&self, key: &FlowKey, hash: u32) -> Option<&Arc<Megaflow>> {
        let (a, b) = self.slots(hash);
        for i in [a, b] {
            let e = &self.entries[i];
            if e.hash == hash {
                if let Some(f) = &e.flow {
                    if keys_equal(&e.key, key) && !f.is_dead() {
                        return Some(f);
                    }
                }
            }
        }
        None
    }

    /// Caches `flow` for `key`.
    pub fn insert(&mut self, key: &FlowKey, hash: u32, flow: &Arc<Megaflow>) {
        let (a, b) = self.slots(hash);
        let pick = |e: &Entry| e.flow.as_ref().is_none_or(|f| f.is_dead()) || (e.hash == hash && keys_equal(&e.key, key));
        let i = if pick(&self.entries[a]) {
            a
        } else if pick(&self.entries[b]) {
            b
        } else if self.entries[a].hash <= self.entries[b].hash {
            a
        } else {
            b
        };
        let e = &mut self.entries[i];
        e.key = *key;
        e.hash = hash;
        e.flow = Some(flow.clone());
    }

    /// Drops entries whose megaflow is dead (so their memory can go). Housekeeping.
    pub fn sweep_dead(&mut self) {
        for e in self.entries.iter_mut() {
            if e.flow.as_ref().is_some_and(|f| f.is_dead()) {
                e.flow = None;
            }
        }
    }

    /// Empties the cache.
    pub fn clear(&mut self) {
        for e in self.entries.iter_mut() {
            e.flow = None;
        }
    }

    /// Number of occupied entries with a live megaflow.
    pub fn count(&self) -> usize {
        self.entries.iter().filter(|e| e.flow.as_ref().is_some_and(|f| !f.is_dead())).count()
    }
}

/// Full-key equality as a branch-free word loop (vectorises).
#[inline(always)]
fn keys_equal(a: &FlowKey, b: &FlowKey) -> bool {
    let mut diff = 0u64;
    for (x, y) in a.words().iter().zip(b.words()) {
        diff |= x ^ y;
    }
    diff == 0
}

/// The EMC hash of a key: over its non-zero words.
#[inline]
pub fn emc_hash(key: &FlowKey) -> u32 {
    key.hash_words(key.nonzero_map(), 0x0e3c_0001)
}

/// Decides whether a megaflow hit should also be inserted into the EMC: with probability
/// 1/`inv_prob` (0 = never, 1 = always), by a cheap per-PMD pseudo-random sequence.
#[derive(Clone, Debug)]
pub struct EmcInsertPolicy {
    inv_prob: u32,
    state: u32,
}

impl EmcInsertPolicy {
    /// OVS's default `emc-insert-inv-prob`.
    pub const DEFAULT_INV_PROB: u32 = 100;

    /// A policy inserting once in `inv_prob` hits.
    pub fn new(inv_prob: u32, seed: u32) -> Self {
        EmcInsertPolicy { inv_prob, state: seed | 1 }
    }

    /// Changes the probability.
    pub fn set_inv_prob(&mut self, inv_prob: u32) {
        self.inv_prob = inv_prob;
    }

    /// True if this hit should be inserted.
    #[inline]
    pub fn should_insert(&mut self) -> bool {
        match self.inv_prob {
            0 => false,
            1 => true,
            n => {
                // xorshift32
                let mut x = self.state;
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                self.state = x;
                x.is_multiple_of(n)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dpaction::DpAction;
    use crate::megaflow::XlateDeps;
    use std::sync::atomic::Ordering;

    fn flow(id: u64) -> Arc<Megaflow> {
        let deps = XlateDeps::new(vec![], 0, None, 0);
        Arc::new(Megaflow::new(id, &FlowKey::ZERO, &FlowKey::ZERO, vec![DpAction::Output(id as u32)], deps, 0))
    }

    fn key(n: u32) -> FlowKey {
        let mut k = FlowKey::ZERO;
        k.in_port = 1;
        k.nw_src = n;
        k
    }

    #[test]
    fn hits_exact_keys_only_and_skips_dead_flows() {
        let mut emc = Emc::new(16);
        let f = flow(7);
        let k = key(5);
        let h = emc_hash(&k);
        emc.insert(&k, h, &f);
        assert_eq!(emc.lookup(&k, h).map(|f| f.id), Some(7));
        let other = key(6);
        assert!(emc.lookup(&other, emc_hash(&other)).is_none());
        assert_eq!(emc.count(), 1);
        f.dead.store(true, Ordering::Relaxed);
        assert!(emc.lookup(&k, h).is_none());
        emc.sweep_dead();
        assert_eq!(emc.count(), 0);
    }

    #[test]
    fn keeps_two_colliding_keys() {
        let mut emc = Emc::new(4);
        let (f1, f2) = (flow(1), flow(2));
        let (k1, k2) = (key(1), key(2));
        // Same hash for both keys: they share both slots.
        emc.insert(&k1, 0x0003_0001, &f1);
        emc.insert(&k2, 0x0003_0001, &f2);
        assert_eq!(emc.lookup(&k1, 0x0003_0001).map(|f| f.id), Some(1));
        assert_eq!(emc.lookup(&k2, 0x0003_0001).map(|f| f.id), Some(2));
    }

    #[test]
    fn insertion_probability() {
        let mut p = EmcInsertPolicy::new(100, 12345);
        let n = (0..100_000).filter(|_| p.should_insert()).count();
        assert!((500..1500).contains(&n), "{n}");
        assert!(EmcInsertPolicy::new(1, 1).should_insert());
        assert!(!EmcInsertPolicy::new(0, 1).should_insert());
    }
}
