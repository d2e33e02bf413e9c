//! Megaflows and the megaflow cache (OVS's "dpcls").
//!
//! # What
//! A [`Megaflow`] is the result of one translation, cached: a masked key, its mask, the
//! datapath actions, counters, and what the translation depended on (rules hit, pipeline
//! version, whether `NORMAL` was used). Every packet whose key agrees with the megaflow's key
//! on the mask gets the same actions: that is the soundness translation guarantees.
//!
//! # The cache: tuple space search
//! [`MegaflowCache`] keeps one subtable per distinct mask. A subtable is a hash table of
//! megaflows keyed by the hash of the masked key over the mask's non-zero words. A lookup
//! probes subtables in order until one matches; subtables are re-ranked by hit count
//! ([`MegaflowCache::rank`], called from PMD housekeeping) so the busiest are probed first.
//! Megaflows never need priorities: translation is deterministic, so any megaflow that
//! matches a key carries the actions a fresh translation of that key would produce (as long
//! as the revalidator removes the ones the pipeline has outgrown).
//!
//! # Ownership and concurrency
//! Each PMD thread owns its cache (`&mut self` for changes; lookups take `&self` and count
//! subtable hits in cells, so the PMD can hold several answers while it works on a batch). A megaflow lives in an `Arc`
//! shared with the exact-match cache and with the revalidator's registry. Its counters are
//! written only by the owning PMD (plain load/store of atomics, no read-modify-write) and read
//! by anyone. A megaflow being deleted is first marked [`Megaflow::dead`], which the
//! exact-match cache checks on every hit.
//!
//! Each slot of a subtable keeps, beside the megaflow's `Arc`, its hash and (for masks of up
//! to six words, nearly all) the masked key's words, so that a probe compares without
//! following the pointer.
//!
//! # Cost
//! Lookup: one masked hash and one probe per subtable visited. Insert and remove: O(1)
//! amortised. Nothing allocates on lookup.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use hashbrown::HashTable;

use crate::dpaction::DpAction;
use crate::key::{FlowKey, FlowMask};
use crate::ofp::Rule;
use crate::small_list::SmallList;

/// A megaflow's datapath actions: two inline (an output; a rewrite and an output).
pub type FlowActions = SmallList<DpAction, 2>;
/// The OpenFlow rules a megaflow's translation hit: two inline.
pub type RuleList = SmallList<Arc<Rule>, 2>;

/// Traffic counters of a megaflow. Written by the owning PMD only.
#[derive(Debug, Default)]
pub struct MegaflowStats {
    /// Packets.
    pub packets: AtomicU64,
    /// Bytes.
    pub bytes: AtomicU64,
    /// Last hit, monotonic ms.
    pub used_ms: AtomicU64,
    /// OR of the TCP flags seen.
    pub tcp_flags: AtomicU16,
}

impl MegaflowStats {
    /// Adds traffic. Must only be called by the owning PMD thread (single writer).
    #[inline]
    pub fn add(&self, packets: u64, bytes: u64, now_ms: u64, tcp_flags: u16) {
        let r = Ordering::Relaxed;
        self.packets.store(self.packets.load(r) + packets, r);
        self.bytes.store(self.bytes.load(r) + bytes, r);
        if self.used_ms.load(r) != now_ms {
            self.used_ms.store(now_ms, r);
        }
        if tcp_flags != 0 {
            let f = self.tcp_flags.load(r);
            if f | tcp_flags != f {
                self.tcp_flags.store(f | tcp_flags, r);
            }
        }
    }

    /// (packets, bytes, used_ms, tcp_flags).
    pub fn read(&self) -> (u64, u64, u64, u16) {
        let r = Ordering::Relaxed;
        (self.packets.load(r), self.bytes.load(r), self.used_ms.load(r), self.tcp_flags.load(r))
    }
}

/// What a megaflow's translation depended on, for revalidation and crediting.
///
/// The versions are atomics so that the revalidator can record "still valid as of version
/// N" on a megaflow it keeps; `u64::MAX` in `mac_generation` means `NORMAL` was not used.
#[derive(Debug)]
pub struct XlateDeps {
    /// OpenFlow rules hit, credited with the megaflow's traffic (inline when few: see
    /// [`crate::small_list`]).
    pub rules: RuleList,
    /// Pipeline version the translation saw.
    pub pipeline_version: AtomicU64,
    /// MAC table generation the translation saw, or `u64::MAX` when `NORMAL` was not used.
    pub mac_generation: AtomicU64,
    /// Bridge configuration generation the translation saw.
    pub config_generation: AtomicU64,
    /// Groups the translation went through (and the buckets that ran), credited like rules.
    pub groups: Box<[crate::xlate::GroupHit]>,
    /// Flow-mods the translation's `learn` actions built. They depend only on bits in the
    /// megaflow's mask and on the rules hit, so every packet of the megaflow would learn
    /// them; the revalidator re-applies them when the megaflow sees traffic (see
    /// [`crate::learn`]). `None` when it learns nothing (an empty `Arc` would still be an
    /// allocation per flow setup).
    pub learned: Option<Arc<[crate::ofp::FlowMod]>>,
    /// `fin_timeout` actions of the translation: (rule, idle, hard), applied when the
    /// megaflow's TCP flags show a FIN or RST.
    pub fin_timeouts: Box<[(Arc<Rule>, u16, u16)]>,
}

impl XlateDeps {
    /// Dependencies of a translation.
    pub fn new(rules: impl Into<RuleList>, pipeline_version: u64, mac_generation: Option<u64>, config_generation: u64) -> Self {
        XlateDeps {
            rules: rules.into(),
            pipeline_version: AtomicU64::new(pipeline_version),
            mac_generation: AtomicU64::new(mac_generation.unwrap_or(u64::MAX)),
            config_generation: AtomicU64::new(config_generation),
            groups: Box::new([]),
            learned: None,
            fin_timeouts: Box::new([]),
        }
    }

    /// The same, also crediting `groups`.
    pub fn with_groups(mut self, groups: Vec<crate::xlate::GroupHit>) -> Self {
        self.groups = groups.into_boxed_slice();
        self
    }

    /// The same, with the translation's `fin_timeout` actions.
    pub fn with_fin_timeouts(mut self, fin: Vec<(Arc<Rule>, u16, u16)>) -> Self {
        self.fin_timeouts = fin.into_boxed_slice();
        self
    }

    /// Lowers the timeouts of the `fin_timeout` rules if `tcp_flags` has a FIN or RST.
    pub fn apply_fin_timeouts(&self, tcp_flags: u16) {
        if tcp_flags & (rvs_packet::wire::tcp::flags::FIN | rvs_packet::wire::tcp::flags::RST) != 0 {
            for (rule, idle, hard) in self.fin_timeouts.iter() {
                rule.stats.reduce_timeouts(*idle, *hard);
            }
        }
    }

    /// The same, with the flow-mods the translation learned.
    pub fn with_learned(mut self, learned: Arc<[crate::ofp::FlowMod]>) -> Self {
        self.learned = (!learned.is_empty()).then_some(learned);
        self
    }

    /// True if the translation is older than any of the given current versions.
    pub fn is_stale(&self, pipeline_version: u64, mac_generation: u64, config_generation: u64) -> bool {
        let r = Ordering::Relaxed;
        let mac = self.mac_generation.load(r);
        self.pipeline_version.load(r) != pipeline_version
            || (mac != u64::MAX && mac != mac_generation)
            || self.config_generation.load(r) != config_generation
    }

    /// Records that the translation is valid as of these versions.
    pub fn refresh(&self, pipeline_version: u64, mac_generation: u64, config_generation: u64) {
        let r = Ordering::Relaxed;
        self.pipeline_version.store(pipeline_version, r);
        if self.mac_generation.load(r) != u64::MAX {
            self.mac_generation.store(mac_generation, r);
        }
        self.config_generation.store(config_generation, r);
    }
}

/// What a megaflow's packets need, decided once from its actions when it is made: the
/// packet path reads this, in the megaflow's first cache line, instead of the action list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// No actions: drop.
    Drop,
    /// A single output to this datapath port.
    Output(u32),
    /// Anything else: run the action list.
    Execute,
}

impl Disposition {
    /// The disposition of an action list.
    pub fn of(actions: &[DpAction]) -> Disposition {
        match actions {
            [] => Disposition::Drop,
            [DpAction::Output(port)] => Disposition::Output(*port),
            _ => Disposition::Execute,
        }
    }
}

/// A cached translation. See the module documentation.
///
/// # Layout
/// A hit reads `dead` (the exact-match cache), `disposition`, and writes `stats`: they come
/// first, next to the `Arc`'s counts, so that a hit on a megaflow out of cache costs one or
/// two misses, not one per field. The keys, which only insertion, revalidation and dumps
/// read, follow. The struct is not cache-line aligned on purpose: an over-aligned `Arc::new`
/// is a `posix_memalign`, which glibc serves outside its thread cache, at about a fifth of
/// the cost of a flow setup.
#[derive(Debug)]
#[repr(C)]
pub struct Megaflow {
    /// Set when the megaflow is being removed; caches treat it as absent.
    pub dead: AtomicBool,
    /// What its packets need ([`Disposition::of`] its `actions`, which never change).
    pub disposition: Disposition,
    /// Scratch for the owning PMD while it groups a batch by megaflow: the index of this
    /// megaflow's group in the batch being grouped (OVS's `flow->batch`). Only a hint: the
    /// PMD checks that the group it names is this megaflow's, so stale values from earlier
    /// batches are harmless. Written by the owning PMD only.
    pub batch_group: AtomicU8,
    /// Counters.
    pub stats: MegaflowStats,
    /// Datapath actions (empty = drop), inline when few (see [`crate::small_list`]): those
    /// of a megaflow that needs them (`Execute`) are read right after its first cache line.
    pub actions: FlowActions,
    /// Unique id (OVS's ufid, as a number).
    pub id: u64,
    /// Non-zero words of `mask`.
    pub map: u32,
    /// When it was installed (monotonic ms).
    pub created_ms: u64,
    /// Key, masked (datapath port in `in_port`).
    pub key: FlowKey,
    /// Mask.
    pub mask: FlowMask,
    /// What its translation depended on.
    pub deps: XlateDeps,
}

impl Megaflow {
    /// A megaflow for `key` (unmasked, datapath `in_port`) under `mask`.
    pub fn new(id: u64, key: &FlowKey, mask: &FlowMask, actions: impl Into<FlowActions>, deps: XlateDeps, now_ms: u64) -> Megaflow {
        let actions: FlowActions = actions.into();
        let stats = MegaflowStats::default();
        stats.used_ms.store(now_ms, Ordering::Relaxed);
        Megaflow {
            dead: AtomicBool::new(false),
            disposition: Disposition::of(&actions),
            batch_group: AtomicU8::new(u8::MAX),
            stats,
            actions,
            id,
            map: mask.nonzero_map(),
            created_ms: now_ms,
            key: key.masked(mask),
            mask: *mask,
            deps,
        }
    }

    /// Becomes the megaflow [`Megaflow::new`] would make with these arguments, in place (a
    /// recycled block: see [`crate::megaflow_pool`]), dropping what the old one owned (its
    /// actions, rules, groups and learned flows). Only through `&mut`: nothing else can see
    /// the rewrite.
    pub fn renew(&mut self, id: u64, key: &FlowKey, mask: &FlowMask, actions: FlowActions, deps: XlateDeps, now_ms: u64) {
        // Every field, by name: a field added to `Megaflow` must be renewed here too.
        let Megaflow {
            dead,
            disposition,
            batch_group,
            stats,
            actions: old_actions,
            id: old_id,
            map,
            created_ms,
            key: old_key,
            mask: old_mask,
            deps: old_deps,
        } = self;
        *dead.get_mut() = false;
        *disposition = Disposition::of(&actions);
        *batch_group.get_mut() = u8::MAX;
        *stats = MegaflowStats::default();
        *stats.used_ms.get_mut() = now_ms;
        *old_actions = actions;
        *old_id = id;
        *map = mask.nonzero_map();
        *created_ms = now_ms;
        key.masked_into(mask, old_key);
        *old_mask = *mask;
        *old_deps = deps;
    }

    /// True once marked for removal.
    #[inline]
    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Relaxed)
    }

    /// True if `key` falls under this megaflow.
    #[inline]
    pub fn matches(&self, key: &FlowKey) -> bool {
        key.equal_under_map(&self.key, &self.mask, self.map)
    }
}

/// Words of a megaflow's masked key kept in its subtable slot, so that a probe compares them
/// without following the pointer to the megaflow (a cache miss per probe otherwise). Masks
/// with more words compare through the megaflow.
const SLOT_WORDS: usize = 6;

/// One megaflow in a subtable.
struct Slot {
    hash: u32,
    /// The masked key's words of the subtable's map, in index order (if they fit).
    words: [u64; SLOT_WORDS],
    flow: Arc<Megaflow>,
}

struct Subtable {
    mask: FlowMask,
    map: u32,
    /// The map's word indexes and the mask's words there, packed (when the map has at most
    /// [`SLOT_WORDS`] words; `n_words` is 0 otherwise).
    word_index: [u8; SLOT_WORDS],
    mask_words: [u64; SLOT_WORDS],
    n_words: usize,
    flows: HashTable<Slot>,
    /// Hits since the last ranking. A `Cell` so that lookups take `&self` (the owning PMD is
    /// the only user of the cache, so there is no sharing to guard against).
    hits: Cell<u64>,
}

impl Subtable {
    fn new(mask: &FlowMask, map: u32) -> Subtable {
        let mut st = Subtable {
            mask: *mask,
            map,
            word_index: [0; SLOT_WORDS],
            mask_words: [0; SLOT_WORDS],
            n_words: 0,
            flows: HashTable::new(),
            hits: Cell::new(0),
        };
        if map.count_ones() as usize <= SLOT_WORDS {
            let mut m = map;
            while m != 0 {
                let i = m.trailing_zeros() as usize;
                st.word_index[st.n_words] = i as u8;
                st.mask_words[st.n_words] = mask.words()[i];
                st.n_words += 1;
                m &= m - 1;
            }
        }
        st
    }

    /// Hash of `key` under the mask (equal to the masked key's `hash_words(map, BASIS)`).
    #[inline(always)]
    fn hash(&self, key: &FlowKey) -> u32 {
        if self.n_words == 0 {
            return key.hash_masked(&self.mask, self.map, BASIS);
        }
        let w = key.words();
        let mut h = BASIS as u64;
        for j in 0..self.n_words {
            h = crate::key::hash_add(h, w[self.word_index[j] as usize] & self.mask_words[j]);
        }
        crate::key::hash_finish(h)
    }

    /// A slot for `flow` (whose key is masked by this subtable's mask).
    fn slot(&self, flow: Arc<Megaflow>) -> Slot {
        let mut words = [0; SLOT_WORDS];
        for (j, w) in words.iter_mut().enumerate().take(self.n_words) {
            *w = flow.key.words()[self.word_index[j] as usize];
        }
        Slot { hash: flow.key.hash_words(self.map, BASIS), words, flow }
    }

    /// True if `key` falls under the slot's megaflow.
    #[inline(always)]
    fn covers(&self, slot: &Slot, key: &FlowKey) -> bool {
        if self.n_words == 0 {
            return key.equal_under_map(&slot.flow.key, &self.mask, self.map);
        }
        let w = key.words();
        let mut diff = 0;
        for j in 0..self.n_words {
            diff |= (w[self.word_index[j] as usize] & self.mask_words[j]) ^ slot.words[j];
        }
        diff == 0
    }

    /// The megaflow (live or dead) with exactly this masked key.
    fn find_exact(&self, masked_key: &FlowKey) -> Option<&Arc<Megaflow>> {
        let h = masked_key.hash_words(self.map, BASIS);
        self.flows.find(h as u64, |s| s.hash == h && s.flow.key.equal_in_map(masked_key, self.map)).map(|s| &s.flow)
    }

    /// The live megaflow covering `key`, whose hash is `h`.
    #[inline(always)]
    fn find(&self, key: &FlowKey, h: u32) -> Option<&Arc<Megaflow>> {
        self.flows.find(h as u64, |s| s.hash == h && self.covers(s, key) && !s.flow.is_dead()).map(|s| &s.flow)
    }
}

/// Seed of megaflow subtable hashes.
const BASIS: u32 = 0x5eed_1234;

/// The per-PMD megaflow cache. See the module documentation.
#[derive(Default)]
pub struct MegaflowCache {
    subtables: Vec<Subtable>,
    n_flows: usize,
}

impl MegaflowCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of megaflows.
    pub fn len(&self) -> usize {
        self.n_flows
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.n_flows == 0
    }

    /// Number of subtables (distinct masks).
    pub fn n_subtables(&self) -> usize {
        self.subtables.len()
    }

    /// The megaflow covering `key`, if any. Counts a hit on the subtable that answered.
    #[inline]
    pub fn lookup(&self, key: &FlowKey) -> Option<&Arc<Megaflow>> {
        self.lookup_counted(key).map(|(f, _)| f)
    }

    /// As [`MegaflowCache::lookup`], also returning how many subtables were probed.
    #[inline]
    pub fn lookup_counted(&self, key: &FlowKey) -> Option<(&Arc<Megaflow>, u32)> {
        for (i, st) in self.subtables.iter().enumerate() {
            if let Some(f) = st.find(key, st.hash(key)) {
                st.hits.set(st.hits.get() + 1);
                return Some((f, i as u32 + 1));
            }
        }
        None
    }

    /// The subtable of `mask`, whose non-zero word map is `map` (compared first: masks of
    /// other subtables mostly differ there, and it saves comparing 240 bytes).
    fn subtable_index(&self, mask: &FlowMask, map: u32) -> Option<usize> {
        self.subtables.iter().position(|s| s.map == map && s.mask.equal_in_map(mask, map))
    }

    /// The megaflow with exactly this masked key and mask.
    pub fn find_exact(&self, masked_key: &FlowKey, mask: &FlowMask) -> Option<&Arc<Megaflow>> {
        let st = &self.subtables[self.subtable_index(mask, mask.nonzero_map())?];
        st.find_exact(masked_key)
    }

    /// Inserts a megaflow. Returns `false` (and does nothing) if a live one with the same key
    /// and mask is already there; a dead one is replaced.
    pub fn insert(&mut self, flow: Arc<Megaflow>) -> bool {
        let idx = match self.subtable_index(&flow.mask, flow.map) {
            Some(i) => {
                if let Some(old) = self.subtables[i].find_exact(&flow.key) {
                    if !old.is_dead() {
                        return false;
                    }
                    // Replace the dead twin; its removal may drop the subtable: start over.
                    let old = old.clone();
                    self.remove(&old);
                    return self.insert(flow);
                }
                i
            }
            None => {
                self.subtables.push(Subtable::new(&flow.mask, flow.map));
                self.subtables.len() - 1
            }
        };
        let st = &mut self.subtables[idx];
        let slot = st.slot(flow);
        st.flows.insert_unique(slot.hash as u64, slot, |s| s.hash as u64);
        self.n_flows += 1;
        true
    }

    /// Removes `flow` (by identity). Empty subtables are dropped. Returns whether it was there.
    pub fn remove(&mut self, flow: &Arc<Megaflow>) -> bool {
        let Some(idx) = self.subtable_index(&flow.mask, flow.map) else { return false };
        let st = &mut self.subtables[idx];
        let h = flow.key.hash_words(st.map, BASIS);
        let Ok(entry) = st.flows.find_entry(h as u64, |s| Arc::ptr_eq(&s.flow, flow)) else { return false };
        entry.remove();
        self.n_flows -= 1;
        if st.flows.is_empty() {
            self.subtables.remove(idx);
        }
        true
    }

    /// Every megaflow.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Megaflow>> {
        self.subtables.iter().flat_map(|s| s.flows.iter().map(|slot| &slot.flow))
    }

    /// Orders subtables by hits since the last ranking (busiest first) and restarts counting.
    /// Subtables left empty by [`MegaflowCache::clear`] are dropped here.
    pub fn rank(&mut self) {
        self.subtables.retain(|s| !s.flows.is_empty());
        self.subtables.sort_by_key(|s| std::cmp::Reverse(s.hits.get()));
        for s in &mut self.subtables {
            s.hits.set(0);
        }
    }

    /// Removes every megaflow, marking each dead (so that other holders, such as an
    /// exact-match cache, treat it as absent), and returns how many there were. The subtables
    /// stay, empty, with their tables' memory: a purge is mostly followed by the same masks
    /// again, and growing the tables back cost more than the purge. [`MegaflowCache::rank`]
    /// drops the ones still empty by then. (Draining instead of collecting the megaflows
    /// first saves a reference count round trip per megaflow.)
    pub fn clear(&mut self) -> usize {
        for st in &mut self.subtables {
            for slot in st.flows.drain() {
                slot.flow.dead.store(true, Ordering::Relaxed);
            }
        }
        std::mem::take(&mut self.n_flows)
    }
}

/// What the revalidator should do with a megaflow after re-translating its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revalidation {
    /// Still right: same actions, and the new translation needs no bit the mask lacks.
    Keep,
    /// The actions changed, or the translation now depends on bits outside the mask (some
    /// packets it covers would be treated differently): delete it.
    Delete,
}

/// Decides whether `flow` survives a re-translation of its masked key that produced
/// `actions` under mask `wc`, hitting `rules`.
///
/// Keeping is sound: every key the megaflow covers agrees with its key on `flow.mask`, which
/// includes `wc`, so by soundness of the new translation all of them get `actions`. The rules
/// must be the same (by id: a modified rule keeps its id and counters) so that the
/// megaflow's traffic is still credited to the right rules.
pub fn revalidate(flow: &Megaflow, actions: &[DpAction], wc: &FlowMask, rules: &[Arc<Rule>]) -> Revalidation {
    let same_rules = flow.deps.rules.len() == rules.len() && flow.deps.rules.iter().zip(rules).all(|(a, b)| a.id == b.id);
    if same_rules && wc.is_subset_of(&flow.mask) && *flow.actions == *actions {
        Revalidation::Keep
    } else {
        Revalidation::Delete
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deps() -> XlateDeps {
        XlateDeps::new(vec![], 0, None, 0)
    }

    fn key(in_port: u32, nw_dst: u32, tp_dst: u16) -> FlowKey {
        let mut k = FlowKey::ZERO;
        k.in_port = in_port;
        k.dl_type = 0x0800;
        k.nw_proto = 17;
        k.nw_dst = nw_dst;
        k.tp_dst = tp_dst;
        k
    }

    #[test]
    fn finds_by_mask_and_removes() {
        let mut c = MegaflowCache::new();
        let mut m1 = FlowKey::ZERO;
        m1.in_port = u32::MAX;
        let mut m2 = m1;
        m2.nw_dst = 0xffff_ff00;
        let f1 = Arc::new(Megaflow::new(1, &key(1, 0, 0), &m1, vec![DpAction::Output(2)], deps(), 0));
        let f2 = Arc::new(Megaflow::new(2, &key(2, 0x0a00_0001, 0), &m2, vec![DpAction::Output(3)], deps(), 0));
        assert!(c.insert(f1.clone()));
        assert!(c.insert(f2.clone()));
        assert!(!c.insert(Arc::new(Megaflow::new(3, &key(1, 9, 9), &m1, vec![], deps(), 0))), "same key and mask");
        assert_eq!(c.len(), 2);
        assert_eq!(c.n_subtables(), 2);
        assert_eq!(c.lookup(&key(1, 77, 5)).map(|f| f.id), Some(1));
        assert_eq!(c.lookup(&key(2, 0x0a00_0042, 5)).map(|f| f.id), Some(2));
        assert!(c.lookup(&key(2, 0x0a00_0142, 5)).is_none());
        assert!(c.lookup(&key(3, 0, 0)).is_none());
        c.rank();
        assert!(c.remove(&f1));
        assert!(!c.remove(&f1));
        assert_eq!(c.n_subtables(), 1);
        assert!(c.lookup(&key(1, 77, 5)).is_none());
        assert_eq!(c.clear(), 1);
        assert!(c.is_empty());
        assert!(f2.is_dead(), "cleared megaflows are marked dead");
        assert!(c.lookup(&key(2, 0x0a00_0042, 5)).is_none());
        assert_eq!(c.n_subtables(), 1, "the empty subtable stays until the next ranking");
        assert!(c.insert(Arc::new(Megaflow::new(4, &key(2, 0x0a00_0001, 0), &m2, vec![], deps(), 0))));
        assert_eq!(c.lookup(&key(2, 0x0a00_0042, 5)).map(|f| f.id), Some(4));
        assert_eq!((c.n_subtables(), c.len()), (1, 1));
        c.clear();
        c.rank();
        assert_eq!(c.n_subtables(), 0, "ranking drops empty subtables");
    }

    #[test]
    fn wide_and_narrow_masks_compare_right() {
        let mut c = MegaflowCache::new();
        let mut m1 = FlowKey::ZERO;
        m1.in_port = u32::MAX;
        m1.nw_dst = 0xffff_ff00;
        // A mask too wide for a slot's inline words: compared through the megaflow.
        let mut m2 = FlowKey::exact();
        m2.regs = [0; 16];
        let f1 = Arc::new(Megaflow::new(1, &key(1, 0x0a00_0001, 0), &m1, vec![DpAction::Output(2)], deps(), 0));
        let f2 = Arc::new(Megaflow::new(2, &key(2, 0x0a00_0001, 80), &m2, vec![DpAction::Output(3)], deps(), 0));
        assert!(c.insert(f1.clone()) && c.insert(f2.clone()));
        let hits = [key(1, 0x0a00_0077, 9), key(2, 0x0a00_0001, 80)];
        let misses = [key(2, 0x0a00_0001, 81), key(1, 0x0a00_0177, 9), key(3, 0x0a00_0001, 80)];
        assert_eq!(hits.map(|k| c.lookup(&k).map(|f| f.id)), [Some(1), Some(2)]);
        assert!(misses.iter().all(|k| c.lookup(k).is_none()));
        assert_eq!(c.lookup_counted(&misses[0]).map(|(_, p)| p), None);
        f1.dead.store(true, Ordering::Relaxed);
        assert!(c.lookup(&hits[0]).is_none(), "dead megaflows answer nothing");
    }

    #[test]
    fn a_dead_twin_is_replaced() {
        let mut c = MegaflowCache::new();
        let mut m = FlowKey::ZERO;
        m.in_port = u32::MAX;
        let old = Arc::new(Megaflow::new(1, &key(1, 0, 0), &m, vec![DpAction::Output(2)], deps(), 0));
        assert!(c.insert(old.clone()));
        old.dead.store(true, Ordering::Relaxed);
        let new = Arc::new(Megaflow::new(2, &key(1, 5, 5), &m, vec![DpAction::Output(3)], deps(), 0));
        assert!(c.insert(new), "a dead megaflow with the same key and mask gives way");
        assert_eq!((c.len(), c.n_subtables()), (1, 1));
        assert_eq!(c.lookup(&key(1, 7, 7)).map(|f| f.id), Some(2));
        assert!(!c.remove(&old), "the dead one is gone");
    }

    #[test]
    fn stats_accumulate() {
        let s = MegaflowStats::default();
        s.add(2, 120, 5, 0x02);
        s.add(1, 60, 9, 0x10);
        assert_eq!(s.read(), (3, 180, 9, 0x12));
    }
}
