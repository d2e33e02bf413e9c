//! The exact-match cache (EMC): full flow key -> megaflow, per PMD.
//!
//! # What
//! The first cache a packet meets. A hit costs one hash of the key, one or two probes and a
//! key comparison, against one probe per subtable in the megaflow cache.
//!
//! # Keys: a word map and the words in it
//! An entry does not hold the whole 28-word [`FlowKey`], only the words of a *word map* that
//! covers every non-zero word of the key ([`EmcKey`]), packed, as OVS's miniflows do. The PMD
//! takes the map from extraction ([`FlowKey::extract_mapped`]: 7 words for IPv4, at most
//! [`ENTRY_WORDS`] for any frame), so hashing and comparing touch only those words, and an
//! entry is two cache lines (the first alone for IPv4: hash, map and seven words). Two keys
//! are equal exactly when their maps are equal and they agree on the map's words (every other
//! word is zero in both). Different maps for the same key only cost a miss. Other callers may
//! use [`EmcKey::of`], which finds a key's non-zero words by scanning it. A key with more
//! words than an entry holds is not cached.
//!
//! # Design
//! A power-of-two array of entries, each holding a packed key, its map and hash and an `Arc`
//! of the megaflow. A key may live in one of two slots (two independent bit ranges of its
//! hash). Insertion fills an empty or dead slot of the two, else replaces the one holding
//! the lower hash (an arbitrary but cheap choice, as in OVS). A megaflow marked dead is
//! treated as a miss. Entries are not counted as "owned": the megaflow cache is the truth,
//! the EMC only shortcuts to it. The PMD prefetches a key's two slots as soon as it has
//! hashed the key ([`Emc::prefetch`]), so a batch's misses overlap; runs of one flow hash
//! (and prefetch) only their first packet, so they do not pay for it. (A separate prefetch
//! pass over the whole batch, before key reuse, cost the single-flow case 5%.)
//!
//! # Thrashing
//! With more live flows than slots, inserting on every megaflow hit would evict hot entries
//! for cold ones. Callers insert megaflow hits with a probability (OVS's
//! `emc-insert-inv-prob`, default 1/100), see [`EmcInsertPolicy`]. The PMD inserts a new
//! megaflow, made by an upcall, always (unless the EMC is off): the next packets of its flow
//! are most often right behind the first.

use std::sync::Arc;

use crate::key::extract_map::IPV4;
use crate::key::FlowKey;
use crate::megaflow::Megaflow;

/// Default number of entries (OVS's `EM_FLOW_HASH_ENTRIES`).
pub const DEFAULT_ENTRIES: usize = 8192;

/// Most key words an entry holds (IPv6 neighbour discovery, the widest extracted key, has 14).
pub const ENTRY_WORDS: usize = 14;

/// Seed of EMC hashes.
const BASIS: u32 = 0x0e3c_0001;

/// How the EMC identifies a key: a map of word indexes covering every non-zero word of the
/// key, and the hash of the key's words in that map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmcKey {
    /// Word map (bit `i` = word `i`).
    pub map: u32,
    /// Hash of the words in `map`.
    pub hash: u32,
}

impl EmcKey {
    /// For `key` with a `map` that covers every non-zero word of it, such as the one
    /// [`FlowKey::extract_mapped`] returns. (With a map that misses a non-zero word, lookups
    /// could answer for a different key; debug builds check.)
    #[inline]
    pub fn new(key: &FlowKey, map: u32) -> EmcKey {
        debug_assert_eq!(key.nonzero_map() & !map, 0, "the EMC map must cover the key's non-zero words");
        // The IPv4 map, by far the most common, with its word indexes known at compile time:
        // the loop unrolls into seven loads and hash steps.
        let hash = if map == IPV4 { key.hash_words_const::<IPV4>(BASIS) } else { key.hash_words(map, BASIS) };
        EmcKey { map, hash }
    }

    /// For any key: its map is its non-zero words (found by scanning all of them).
    #[inline]
    pub fn of(key: &FlowKey) -> EmcKey {
        Self::new(key, key.nonzero_map())
    }
}

#[repr(C, align(64))]
struct Entry {
    hash: u32,
    map: u32,
    /// The key's words in `map`, in index order; the rest zero.
    words: [u64; ENTRY_WORDS],
    flow: Option<Arc<Megaflow>>,
}

impl Entry {
    /// True if the entry holds exactly `key` (identified by `k`).
    #[inline(always)]
    fn holds(&self, key: &FlowKey, k: EmcKey) -> bool {
        if self.hash != k.hash || self.map != k.map {
            return false;
        }
        if k.map == IPV4 {
            return self.holds_const::<IPV4>(key);
        }
        // Equal maps: at most ENTRY_WORDS bits, one per packed word.
        let w = key.words();
        let mut m = k.map;
        let mut diff = 0;
        for packed in &self.words {
            if m == 0 {
                break;
            }
            diff |= w[m.trailing_zeros() as usize] ^ packed;
            m &= m - 1;
        }
        diff == 0
    }

    /// [`Entry::holds`] for an entry whose map is known to be `MAP` (unrolled).
    #[inline(always)]
    fn holds_const<const MAP: u32>(&self, key: &FlowKey) -> bool {
        const { assert!(MAP.count_ones() as usize <= ENTRY_WORDS) };
        let w = key.words();
        let mut diff = 0;
        let mut m = MAP;
        let mut j = 0;
        while m != 0 {
            diff |= w[m.trailing_zeros() as usize] ^ self.words[j];
            m &= m - 1;
            j += 1;
        }
        diff == 0
    }
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
        let entries = (0..n).map(|_| Entry { hash: 0, map: 0, words: [0; ENTRY_WORDS], flow: None }).collect::<Vec<_>>();
        let bits = n.trailing_zeros();
        Emc { entries: entries.into_boxed_slice(), mask: (n - 1) as u32, shift: (32 - bits).min(16) }
    }

    #[inline(always)]
    fn slots(&self, hash: u32) -> (usize, usize) {
        ((hash & self.mask) as usize, ((hash >> self.shift) & self.mask) as usize)
    }

    /// Starts loading the two slots a key of hash `hash` may live in, so that a lookup a
    /// little later finds them in cache. A batch's keys are all hashed before any is looked
    /// up: prefetching each as it is hashed overlaps the batch's cache misses instead of
    /// taking them one after another.
    #[inline(always)]
    pub fn prefetch(&self, hash: u32) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let (a, b) = self.slots(hash);
            let base = self.entries.as_ptr();
            // SAFETY: prefetching has no effect on memory and cannot fault; `a` and `b` are
            // below the table's length (masked), so the addresses are inside it anyway.
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(base.add(a).cast());
                _mm_prefetch::<_MM_HINT_T0>(base.add(a).cast::<u8>().add(64).cast());
                _mm_prefetch::<_MM_HINT_T0>(base.add(b).cast());
                _mm_prefetch::<_MM_HINT_T0>(base.add(b).cast::<u8>().add(64).cast());
            }
        }
    }

    /// The megaflow cached for exactly `key` (whose hash is `hash`, from [`emc_hash`]).
    #[inline]
    pub fn lookup(&self, key: &FlowKey, hash: u32) -> Option<&Arc<Megaflow>> {
        self.lookup_key(key, EmcKey { map: key.nonzero_map(), hash })
    }

    /// The megaflow cached for exactly `key`, identified by `k`.
    #[inline]
    pub fn lookup_key(&self, key: &FlowKey, k: EmcKey) -> Option<&Arc<Megaflow>> {
        let (a, b) = self.slots(k.hash);
        for i in [a, b] {
            let e = &self.entries[i];
            if e.holds(key, k) {
                if let Some(f) = &e.flow {
                    if !f.is_dead() {
                        return Some(f);
                    }
                }
            }
        }
        None
    }

    /// Caches `flow` for `key` (whose hash is `hash`, from [`emc_hash`]).
    pub fn insert(&mut self, key: &FlowKey, hash: u32, flow: &Arc<Megaflow>) {
        self.insert_key(key, EmcKey { map: key.nonzero_map(), hash }, flow)
    }

    /// Caches `flow` for `key`, identified by `k`. Keys with more than [`ENTRY_WORDS`] words
    /// in their map are not cached.
    pub fn insert_key(&mut self, key: &FlowKey, k: EmcKey, flow: &Arc<Megaflow>) {
        if k.map.count_ones() as usize > ENTRY_WORDS {
            return;
        }
        let (a, b) = self.slots(k.hash);
        let pick = |e: &Entry| e.flow.as_ref().is_none_or(|f| f.is_dead()) || e.holds(key, k);
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
        e.hash = k.hash;
        e.map = k.map;
        e.words = [0; ENTRY_WORDS];
        let w = key.words();
        let mut m = k.map;
        for packed in e.words.iter_mut() {
            if m == 0 {
                break;
            }
            *packed = w[m.trailing_zeros() as usize];
            m &= m - 1;
        }
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

/// The EMC hash of a key: over its non-zero words (as [`EmcKey::of`]).
#[inline]
pub fn emc_hash(key: &FlowKey) -> u32 {
    EmcKey::of(key).hash
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

    /// False when the EMC is off (`emc-insert-inv-prob=0`): nothing is inserted.
    #[inline]
    pub fn enabled(&self) -> bool {
        self.inv_prob != 0
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

/// Decides, batch by batch, whether the EMC is worth consulting at all, by measuring.
///
/// The EMC pays only where a megaflow lookup is dear: with many subtables to probe, a hit
/// saves several of them. Where the megaflow cache answers in one probe of a table in
/// cache (one rule, whatever the number of flows), an EMC lookup costs as much as the
/// megaflow lookup it saves, and with more live flows than entries (10,000 flows over 8,192
/// entries) its misses and its probes out of cache cost more than that. Hit rates do not
/// tell which case holds; the cycles do. So every [`EmcGate::EPOCH`] batches the gate runs a
/// trial of [`EmcGate::TRIAL`] batches, alternately with and without EMC lookups, and the
/// PMD reports each trial batch's cycles per packet (batches with upcalls excluded: a
/// translation's cost says nothing of the caches). Until the next trial, batches use the
/// EMC only if the trial's batches that used it were cheaper per packet. Batches that skip
/// it skip the key's hash too; insertions go on as usual either way (the caller hashes the
/// few keys it inserts), so the EMC holds what it would hold if consulted, and the next
/// trial measures it warm. An `emc-insert-inv-prob` of 0 turns the EMC off altogether, as in
/// OVS.
///
/// Skipping the EMC is always correct: it only shortcuts the megaflow cache.
#[derive(Clone, Debug, Default)]
pub struct EmcGate {
    /// Batches since the current epoch began.
    batches: u32,
    /// The choice for batches outside trials: skip EMC lookups (`false`, lookups, until a
    /// trial says otherwise).
    skip: bool,
    /// (cycles, packets) of the trial's batches without and with EMC lookups.
    trial: [(u64, u64); 2],
}

/// What the gate decided for a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmcChoice {
    /// Look the batch's keys up in the EMC.
    pub lookup: bool,
    /// A trial batch: report its cost with [`EmcGate::record`].
    pub measure: bool,
}

impl EmcGate {
    /// Batches from one trial's start to the next.
    pub const EPOCH: u32 = 1 << 15;
    /// Batches in a trial, half with and half without EMC lookups, alternating.
    pub const TRIAL: u32 = 512;

    /// The choice for the next batch under insertion policy `policy`.
    #[inline]
    pub fn next(&mut self, policy: &EmcInsertPolicy) -> EmcChoice {
        if policy.inv_prob == 0 {
            return EmcChoice { lookup: false, measure: false };
        }
        let b = self.batches;
        self.batches = if b + 1 == Self::EPOCH { 0 } else { b + 1 };
        if b == Self::TRIAL {
            // Every trial batch has reported: decide.
            self.decide();
        }
        if b < Self::TRIAL {
            EmcChoice { lookup: b & 1 == 1, measure: true }
        } else {
            EmcChoice { lookup: !self.skip, measure: false }
        }
    }

    /// Reports a trial batch: whether it looked up (`choice.lookup`), its cycles and
    /// packets. The choice is made by the first [`EmcGate::next`] after the trial.
    #[inline]
    pub fn record(&mut self, choice: EmcChoice, cycles: u64, packets: usize) {
        let arm = &mut self.trial[usize::from(choice.lookup)];
        arm.0 += cycles;
        arm.1 += packets as u64;
    }

    /// Ends a trial: keeps the cheaper way, and starts counting afresh.
    fn decide(&mut self) {
        let [(off_c, off_p), (on_c, on_p)] = self.trial;
        if off_p > 0 && on_p > 0 {
            // off_c / off_p < on_c / on_p, without division.
            self.skip = u128::from(off_c) * u128::from(on_p) < u128::from(on_c) * u128::from(off_p);
        }
        self.trial = [(0, 0); 2];
    }

    /// True while batches outside trials skip the EMC.
    pub fn bypassed(&self) -> bool {
        self.skip
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

    /// Runs a gate through one epoch whose trial batches cost `off` and `on` cycles per
    /// packet; returns how many batches outside the trial looked up.
    fn epoch(g: &mut EmcGate, policy: &EmcInsertPolicy, off: u64, on: u64) -> u32 {
        let mut lookups = 0;
        for _ in 0..EmcGate::EPOCH {
            let c = g.next(policy);
            if c.measure {
                g.record(c, if c.lookup { on } else { off } * 32, 32);
            } else {
                lookups += u32::from(c.lookup);
            }
        }
        lookups
    }

    #[test]
    fn gate_keeps_the_cheaper_way_trial_after_trial() {
        let policy = EmcInsertPolicy::new(100, 1);
        let mut g = EmcGate::default();
        // The first trial: half its batches look up, alternating.
        let trial: Vec<bool> = (0..8).map(|_| g.next(&policy).lookup).collect();
        assert_eq!(trial, [false, true, false, true, false, true, false, true]);
        let mut g = EmcGate::default();
        let outside = EmcGate::EPOCH - EmcGate::TRIAL;
        // Lookups dearer than skipping: skipped until the next trial.
        assert_eq!(epoch(&mut g, &policy, 40, 50), 0);
        assert!(g.bypassed());
        // The next trial finds the EMC cheaper: used again.
        assert_eq!(epoch(&mut g, &policy, 60, 45), outside);
        assert!(!g.bypassed());
        // A trial without a usable measurement of both ways keeps the last choice.
        for _ in 0..EmcGate::EPOCH {
            g.next(&policy);
        }
        assert!(!g.bypassed());
        // emc-insert-inv-prob=0: never, and nothing to measure.
        assert_eq!(g.next(&EmcInsertPolicy::new(0, 1)), EmcChoice { lookup: false, measure: false });
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
    fn keys_with_extraction_maps_compare_only_their_words() {
        let mut emc = Emc::new(64);
        let (f1, f2) = (flow(1), flow(2));
        let map = crate::key::extract_map::IPV4;
        let mut k1 = key(5);
        k1.dl_type = 0x0800;
        let mut k2 = k1;
        k2.tp_dst = 80; // a word inside the map, otherwise zero
        let (e1, e2) = (EmcKey::new(&k1, map), EmcKey::new(&k2, map));
        emc.insert_key(&k1, e1, &f1);
        emc.insert_key(&k2, e2, &f2);
        assert_eq!(emc.lookup_key(&k1, e1).map(|f| f.id), Some(1));
        assert_eq!(emc.lookup_key(&k2, e2).map(|f| f.id), Some(2));
        // The same key under another map is another EMC key: a miss, never a wrong answer.
        assert!(emc.lookup_key(&k1, EmcKey::of(&k1)).is_none());
        // Same hash and map, different words: no match.
        assert!(emc.lookup_key(&k2, EmcKey { map, hash: e1.hash }).is_none());
        // A key too wide for an entry is not cached.
        let wide = FlowKey::exact();
        emc.insert_key(&wide, EmcKey::of(&wide), &f1);
        assert!(emc.lookup_key(&wide, EmcKey::of(&wide)).is_none());
        assert_eq!(emc.count(), 2);
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
