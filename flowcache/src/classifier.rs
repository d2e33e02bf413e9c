//! One OpenFlow table: the highest-priority rule that matches a packet, by tuple space search.
//!
//! # What
//! A [`Classifier`] holds [`Rule`]s. Each has a [`Match`] (key + mask) and a priority, and a
//! table holds at most one rule per (match, priority). [`Classifier::lookup`] returns the rule of
//! highest priority whose match accepts a [`FlowKey`]. Among rules of equal priority the lowest
//! [`Rule::id`] wins. OpenFlow leaves that case undefined; we make it deterministic so that the
//! table and its linear model agree, and ids are handed out in order, so the oldest rule wins.
//!
//! # Un-wildcarding
//! A lookup also ORs into the caller's `wc` every key bit its answer depended on. Translation
//! turns the union of those bits into a megaflow, so the contract is: **any key that agrees with
//! the looked-up key on `wc` gets the same answer.** A bit wrongly left out forwards other
//! packets the wrong way; an extra bit only costs cache hit rate. A miss depends on bits too:
//! "no rule of this mask matches" holds only while the bits that the mask selects stay the same.
//!
//! # Design: tuple space search
//! Rules with the same mask live in one *subtable*, a hash table keyed by the masked key (the
//! hash covers only the mask's non-zero words, [`FlowKey::nonzero_map`]). Rules of one subtable
//! with equal masked keys have identical matches; they share a *bucket*, sorted by priority,
//! highest first, so a subtable answers a probe with the head of one bucket.
//!
//! Subtables are ranked by the highest priority they hold. A lookup visits them in that order
//! and stops at the first subtable whose maximum priority is below the best match found so far:
//! no rule there can win. It continues through subtables whose maximum *equals* the best
//! priority, because one of them may hold a rule of that priority with a lower id.
//!
//! # Staged lookup
//! The key's words fall into four stages: metadata (ports, tunnel, registers), L2, L3 and L4
//! (with ARP/ND). Besides its buckets, a subtable keeps for every stage but its last the hashes
//! of its rules' masked keys up to and including that stage, chained stage by stage. A probe
//! hashes stage after stage and stops at the first stage whose partial hash no rule has. It
//! then un-wildcards only the mask bits of the stages it hashed. So a packet that misses a
//! subtable on its IP destination does not pull the subtable's TCP port bits into the megaflow.
//! Stages whose words the mask does not touch are skipped.
//!
//! # Why the mask given to `wc` is enough (soundness)
//! Let `K` be the key looked up and `K'` any key that agrees with `K` on every bit put in `wc`.
//! * In a subtable that `K` missed at stage `s`: the subtable's mask bits of stages `0..=s` are
//!   in `wc`, so `K'` has the same chained partial hashes and misses at the same stage.
//! * In a subtable that `K` probed to the end: its whole mask is in `wc`, so `K'` has the same
//!   masked key, and finds the same bucket, or none.
//! * A subtable that `K` did not visit has a maximum priority below the answer's, so it cannot
//!   change the answer for `K'` either; and if there was no answer, every subtable was visited.
//!
//! A hash collision can only make a stage pass that should fail. That costs a few extra mask
//! bits, never a wrong answer: buckets compare whole masked keys.
//!
//! # Costs
//! * Lookup: per visited subtable, one chained hash over the mask's words and one probe per
//!   non-empty stage. No allocation, `&self`. `tests/classifier_lookup_speed.rs` measures it
//!   (1,000 rules, 10 masks: some 20 to 50 ns in release builds on the CI machine).
//! * Insert and remove: O(1) amortised, plus re-ranking the subtable (O(subtables)) when its
//!   maximum priority changes. Removing a subtable's last rule removes the subtable.
//! * `covered_by`: one probe in the subtable with exactly the request's mask, a scan of the
//!   rules of subtables with wider masks. `has_overlap`: one probe per subtable (holding that
//!   priority) whose mask lies within the request's, a scan of the others. Open vSwitch scans
//!   in every case.
//! * Memory: per rule, its `Arc` in a 32-byte bucket, and one 8-byte counter per stage shared
//!   by all rules with the same partial key. Per subtable, a copy of the mask and a count of
//!   rules per priority.
//!
//! # Concurrency
//! Plain data: `&mut self` for changes, `&self` for lookups. Publishing a table to PMD threads
//! without ever blocking them is [`crate::versioned`]'s job.

use std::collections::BTreeMap;
use std::sync::Arc;

use hashbrown::hash_table::Entry;
use hashbrown::HashTable;

use crate::key::{words, FlowKey, FlowMask, FLOW_WORDS};
use crate::ofp::{Match, Rule};

/// Number of lookup stages.
const N_STAGES: usize = 4;

/// Words of each stage, as bitmaps of word indexes.
const STAGE_WORDS: [u32; N_STAGES] = [
    word_range(0, words::L2),
    word_range(words::L2, words::L3),
    word_range(words::L3, words::L4),
    word_range(words::L4, FLOW_WORDS),
];

const _: () = assert!(
    STAGE_WORDS[0] | STAGE_WORDS[1] | STAGE_WORDS[2] | STAGE_WORDS[3] == word_range(0, FLOW_WORDS),
    "the stages cover every word of the key"
);

const fn word_range(start: usize, end: usize) -> u32 {
    ((1u64 << end) - (1u64 << start)) as u32
}

/// Hash basis of the first stage of every subtable.
const STAGE_BASIS: u32 = 0x5ca1_ab1e;
/// Hash basis for finding a subtable by its mask.
const MASK_BASIS: u32 = 0x0dd_ba11;

/// Widens a 32-bit hash for `hashbrown`, which takes its bucket index from the low bits and its
/// 7-bit tag from the top bits of a 64-bit hash.
#[inline(always)]
fn spread(h: u32) -> u64 {
    (h as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Rules with identical matches (one subtable, equal masked keys), by priority, highest first.
#[derive(Clone)]
struct Bucket {
    /// Full (last-stage) hash of the masked key.
    hash: u32,
    /// The rule of highest priority: the bucket's answer to a lookup.
    head: Arc<Rule>,
    /// The others, by priority, descending. Usually empty (no allocation).
    rest: Box<[Arc<Rule>]>,
}

impl Bucket {
    fn rules(&self) -> impl Iterator<Item = &Arc<Rule>> {
        std::iter::once(&self.head).chain(self.rest.iter())
    }

    /// Adds `rule`, or replaces the rule of its priority and returns that one.
    fn insert(&mut self, rule: Arc<Rule>) -> Option<Arc<Rule>> {
        if rule.priority == self.head.priority {
            return Some(std::mem::replace(&mut self.head, rule));
        }
        if let Some(slot) = self.rest.iter_mut().find(|r| r.priority == rule.priority) {
            return Some(std::mem::replace(slot, rule));
        }
        let mut rest = std::mem::take(&mut self.rest).into_vec();
        if rule.priority > self.head.priority {
            rest.insert(0, std::mem::replace(&mut self.head, rule));
        } else {
            let at = rest.partition_point(|r| r.priority > rule.priority);
            rest.insert(at, rule);
        }
        self.rest = rest.into_boxed_slice();
        None
    }

    /// Removes the rule of `priority`, unless it is the only rule (the caller then removes the
    /// whole bucket).
    fn remove(&mut self, priority: u16) -> Option<Arc<Rule>> {
        let at = if self.head.priority == priority {
            0
        } else {
            1 + self.rest.iter().position(|r| r.priority == priority)?
        };
        debug_assert!(!self.rest.is_empty(), "the caller removes single-rule buckets");
        let mut rest = std::mem::take(&mut self.rest).into_vec();
        let removed = if at == 0 { std::mem::replace(&mut self.head, rest.remove(0)) } else { rest.remove(at - 1) };
        self.rest = rest.into_boxed_slice();
        Some(removed)
    }
}

/// How many rules of a subtable share a chained partial hash.
#[derive(Clone, Copy)]
struct PrefixCount {
    hash: u32,
    count: u32,
}

/// All rules of a table with one mask.
#[derive(Clone)]
struct Subtable {
    mask: FlowMask,
    /// Non-zero words of `mask`.
    map: u32,
    /// Words of `mask` hashed at each non-empty stage, in order.
    stage_maps: [u32; N_STAGES],
    /// Words of stages `0..=s`: what a miss at stage `s` un-wildcards.
    prefix_maps: [u32; N_STAGES],
    /// Number of stages in use (at least 1; a catch-all mask has one stage of no words).
    n_stages: usize,
    /// For every stage but the last: the chained partial hashes of the rules' keys.
    stage_index: [HashTable<PrefixCount>; N_STAGES - 1],
    buckets: HashTable<Bucket>,
    /// Rules per priority; the largest key is the subtable's maximum priority.
    priorities: BTreeMap<u16, u32>,
    n_rules: usize,
}

impl Subtable {
    fn new(mask: &FlowMask) -> Subtable {
        let map = mask.nonzero_map();
        let mut stage_maps = [0; N_STAGES];
        let mut prefix_maps = [0; N_STAGES];
        let mut n_stages = 0;
        let mut prefix = 0;
        for stage in STAGE_WORDS {
            if map & stage != 0 {
                prefix |= map & stage;
                stage_maps[n_stages] = map & stage;
                prefix_maps[n_stages] = prefix;
                n_stages += 1;
            }
        }
        Subtable {
            mask: *mask,
            map,
            stage_maps,
            prefix_maps,
            n_stages: n_stages.max(1),
            stage_index: Default::default(),
            buckets: HashTable::new(),
            priorities: BTreeMap::new(),
            n_rules: 0,
        }
    }

    fn max_priority(&self) -> Option<u16> {
        self.priorities.last_key_value().map(|(p, _)| *p)
    }

    /// The chained hash of `key` after each stage.
    fn stage_hashes(&self, key: &FlowKey) -> [u32; N_STAGES] {
        let mut hashes = [0; N_STAGES];
        let mut h = STAGE_BASIS;
        for (s, out) in hashes.iter_mut().enumerate().take(self.n_stages) {
            h = key.hash_masked(&self.mask, self.stage_maps[s], h);
            *out = h;
        }
        hashes
    }

    fn find_bucket(&self, key: &FlowKey) -> Option<&Bucket> {
        let h = self.stage_hashes(key)[self.n_stages - 1];
        self.buckets.find(spread(h), |b| b.hash == h && key.equal_under_map(&b.head.match_.key, &self.mask, self.map))
    }

    /// ORs the mask's bits in the words of `map` into `wc`.
    #[inline(always)]
    fn unwildcard(&self, wc: &mut FlowMask, map: u32) {
        let (w, m) = (wc.words_mut(), self.mask.words());
        let mut bits = map;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            w[i] |= m[i];
            bits &= bits - 1;
        }
    }

    /// The rule of highest priority in this subtable that matches `key`, un-wildcarding the
    /// stages examined.
    #[inline]
    fn lookup(&self, key: &FlowKey, wc: &mut FlowMask) -> Option<&Arc<Rule>> {
        let last = self.n_stages - 1;
        let mut h = STAGE_BASIS;
        for s in 0..last {
            h = key.hash_masked(&self.mask, self.stage_maps[s], h);
            if self.stage_index[s].find(spread(h), |e| e.hash == h).is_none() {
                self.unwildcard(wc, self.prefix_maps[s]);
                return None;
            }
        }
        h = key.hash_masked(&self.mask, self.stage_maps[last], h);
        self.unwildcard(wc, self.map);
        self.buckets
            .find(spread(h), |b| b.hash == h && key.equal_under_map(&b.head.match_.key, &self.mask, self.map))
            .map(|b| &b.head)
    }

    /// Adds `rule` (whose mask is this subtable's), or replaces the rule with the same match
    /// and priority and returns it.
    fn insert(&mut self, rule: Arc<Rule>) -> Option<Arc<Rule>> {
        let hashes = self.stage_hashes(&rule.match_.key);
        let h = hashes[self.n_stages - 1];
        let priority = rule.priority;
        let (mask, map) = (&self.mask, self.map);
        let key = rule.match_.key;
        match self.buckets.entry(
            spread(h),
            |b| b.hash == h && key.equal_under_map(&b.head.match_.key, mask, map),
            |b| spread(b.hash),
        ) {
            Entry::Occupied(mut e) => {
                if let Some(old) = e.get_mut().insert(rule) {
                    return Some(old);
                }
            }
            Entry::Vacant(e) => {
                e.insert(Bucket { hash: h, head: rule, rest: Box::default() });
            }
        }
        for (index, &h) in self.stage_index.iter_mut().zip(&hashes).take(self.n_stages - 1) {
            match index.entry(spread(h), |e| e.hash == h, |e| spread(e.hash)) {
                Entry::Occupied(mut e) => e.get_mut().count += 1,
                Entry::Vacant(e) => {
                    e.insert(PrefixCount { hash: h, count: 1 });
                }
            }
        }
        *self.priorities.entry(priority).or_insert(0) += 1;
        self.n_rules += 1;
        None
    }

    /// Removes the rule whose masked key is `key`'s and whose priority is `priority`.
    fn remove(&mut self, key: &FlowKey, priority: u16) -> Option<Arc<Rule>> {
        let hashes = self.stage_hashes(key);
        let h = hashes[self.n_stages - 1];
        let mask = &self.mask;
        let Ok(mut entry) =
            self.buckets.find_entry(spread(h), |b| b.hash == h && key.equal_under(&b.head.match_.key, mask))
        else {
            return None;
        };
        let bucket = entry.get_mut();
        let removed = if bucket.rest.is_empty() {
            if bucket.head.priority != priority {
                return None;
            }
            entry.remove().0.head
        } else {
            bucket.remove(priority)?
        };
        for (index, &h) in self.stage_index.iter_mut().zip(&hashes).take(self.n_stages - 1) {
            match index.find_entry(spread(h), |e| e.hash == h) {
                Ok(mut e) if e.get().count > 1 => e.get_mut().count -= 1,
                Ok(e) => {
                    e.remove();
                }
                Err(_) => debug_assert!(false, "stage index lost a rule's partial key"),
            }
        }
        match self.priorities.get_mut(&priority) {
            Some(n) if *n > 1 => *n -= 1,
            _ => {
                self.priorities.remove(&priority);
            }
        }
        self.n_rules -= 1;
        Some(removed)
    }

    fn rules(&self) -> impl Iterator<Item = &Arc<Rule>> {
        self.buckets.iter().flat_map(Bucket::rules)
    }
}

/// A subtable's place in the lookup order.
#[derive(Clone, Copy, Debug)]
struct Ranked {
    max_priority: u16,
    subtable: u32,
}

/// One OpenFlow table. See the module documentation.
#[derive(Clone, Default)]
pub struct Classifier {
    subtables: Vec<Subtable>,
    /// Indexes of `subtables` by maximum priority, highest first (the lookup order).
    ranking: Vec<Ranked>,
    /// Indexes of `subtables`, by mask.
    by_mask: HashTable<u32>,
    n_rules: usize,
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier").field("rules", &self.n_rules).field("subtables", &self.subtables.len()).finish()
    }
}

fn mask_hash(mask: &FlowMask) -> u64 {
    spread(mask.hash_words(mask.nonzero_map(), MASK_BASIS))
}

impl Classifier {
    /// An empty table.
    pub fn new() -> Classifier {
        Classifier::default()
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.n_rules
    }

    /// True if the table holds no rule.
    pub fn is_empty(&self) -> bool {
        self.n_rules == 0
    }

    /// Number of distinct masks (subtables), for diagnostics.
    pub fn n_subtables(&self) -> usize {
        self.subtables.len()
    }

    fn subtable_index(&self, mask: &FlowMask) -> Option<usize> {
        self.by_mask.find(mask_hash(mask), |&i| self.subtables[i as usize].mask == *mask).map(|&i| i as usize)
    }

    /// Inserts, replacing and returning any rule with the same match and priority.
    pub fn insert(&mut self, rule: Arc<Rule>) -> Option<Arc<Rule>> {
        let mask = rule.match_.mask;
        let index = match self.subtable_index(&mask) {
            Some(i) => i,
            None => {
                let i = self.subtables.len();
                self.subtables.push(Subtable::new(&mask));
                let subtables = &self.subtables;
                self.by_mask.insert_unique(mask_hash(&mask), i as u32, |&j| mask_hash(&subtables[j as usize].mask));
                self.ranking.push(Ranked { max_priority: 0, subtable: i as u32 });
                i
            }
        };
        let priority = rule.priority;
        let before = self.subtables[index].max_priority();
        let replaced = self.subtables[index].insert(rule);
        if replaced.is_none() {
            self.n_rules += 1;
            if before.is_none_or(|b| priority > b) {
                self.rerank(index);
            }
        }
        replaced
    }

    /// Removes and returns the rule with exactly this match and priority.
    pub fn remove(&mut self, m: &Match, priority: u16) -> Option<Arc<Rule>> {
        let index = self.subtable_index(&m.mask)?;
        let subtable = &mut self.subtables[index];
        let before = subtable.max_priority();
        let removed = subtable.remove(&m.key, priority)?;
        self.n_rules -= 1;
        if subtable.n_rules == 0 {
            self.destroy_subtable(index);
        } else if subtable.max_priority() != before {
            self.rerank(index);
        }
        Some(removed)
    }

    /// Moves subtable `index` to its place in the ranking after its maximum priority changed.
    fn rerank(&mut self, index: usize) {
        let max_priority = self.subtables[index].max_priority().unwrap_or(0);
        let r = &mut self.ranking;
        let mut at = r.iter().position(|x| x.subtable as usize == index).expect("every subtable is ranked");
        r[at].max_priority = max_priority;
        while at > 0 && r[at - 1].max_priority < max_priority {
            r.swap(at - 1, at);
            at -= 1;
        }
        while at + 1 < r.len() && r[at + 1].max_priority > max_priority {
            r.swap(at, at + 1);
            at += 1;
        }
    }

    fn destroy_subtable(&mut self, index: usize) {
        let last = self.subtables.len() - 1;
        let mask_of = |i: usize| mask_hash(&self.subtables[i].mask);
        let (h, h_last) = (mask_of(index), mask_of(last));
        if let Ok(e) = self.by_mask.find_entry(h, |&i| i as usize == index) {
            e.remove();
        }
        self.ranking.retain(|x| x.subtable as usize != index);
        self.subtables.swap_remove(index);
        if index != last {
            if let Some(i) = self.by_mask.find_mut(h_last, |&i| i as usize == last) {
                *i = index as u32;
            }
            if let Some(x) = self.ranking.iter_mut().find(|x| x.subtable as usize == last) {
                x.subtable = index as u32;
            }
        }
    }

    /// The rule with exactly this match and priority.
    pub fn find_exact(&self, m: &Match, priority: u16) -> Option<&Arc<Rule>> {
        let subtable = &self.subtables[self.subtable_index(&m.mask)?];
        subtable.find_bucket(&m.key)?.rules().find(|r| r.priority == priority)
    }

    /// The highest-priority rule matching `key`; among equal priorities the lowest `Rule::id`.
    /// ORs into `wc` every key bit the answer depended on (un-wildcarding): the megaflow built
    /// from it is sound: any key that agrees with `key` on `wc` gets the same answer.
    #[inline]
    pub fn lookup(&self, key: &FlowKey, wc: &mut FlowMask) -> Option<&Arc<Rule>> {
        let mut best: Option<&Arc<Rule>> = None;
        for ranked in &self.ranking {
            if best.is_some_and(|b| ranked.max_priority < b.priority) {
                break;
            }
            if let Some(found) = self.subtables[ranked.subtable as usize].lookup(key, wc) {
                if best.is_none_or(|b| found.priority > b.priority || (found.priority == b.priority && found.id < b.id))
                {
                    best = Some(found);
                }
            }
        }
        best
    }

    /// Every rule, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Rule>> {
        self.subtables.iter().flat_map(Subtable::rules)
    }

    /// Rules whose match is covered by `m` (Match::is_covered_by), for non-strict modify/delete.
    pub fn covered_by<'a>(&'a self, m: &'a Match) -> impl Iterator<Item = &'a Arc<Rule>> + 'a {
        self.subtables.iter().filter(move |st| m.mask.is_subset_of(&st.mask)).flat_map(move |st| {
            // Same mask: only the bucket of `m`'s key. A wider mask: scan.
            let (one, scan) = if st.mask == m.mask {
                (st.find_bucket(&m.key), None)
            } else {
                (None, Some(st.buckets.iter().filter(move |b| b.head.match_.key.equal_under(&m.key, &m.mask))))
            };
            one.into_iter().chain(scan.into_iter().flatten()).flat_map(Bucket::rules)
        })
    }

    /// True if a rule of this priority overlaps `m` (some packet matches both): OFPFF_CHECK_OVERLAP.
    pub fn has_overlap(&self, m: &Match, priority: u16) -> bool {
        let has_priority = |b: &Bucket| b.rules().any(|r| r.priority == priority);
        self.subtables.iter().filter(|st| st.priorities.contains_key(&priority)).any(|st| {
            // Two matches overlap iff they agree on the bits both constrain.
            if st.mask.is_subset_of(&m.mask) {
                st.find_bucket(&m.key).is_some_and(has_priority)
            } else {
                let common = m.mask.masked(&st.mask);
                st.buckets.iter().any(|b| b.head.match_.key.equal_under(&m.key, &common) && has_priority(b))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Field;

    fn rule(id: u64, priority: u16, fields: &[(Field, u128, u128)]) -> Arc<Rule> {
        let mut m = Match::catchall();
        for &(f, v, mask) in fields {
            m.set_masked(f, v, mask);
        }
        Rule::bare(id, priority, m)
    }

    fn tcp_key(dst: u32, port: u16) -> FlowKey {
        let mut k = FlowKey::ZERO;
        k.in_port = 1;
        k.dl_type = 0x0800;
        k.nw_proto = 6;
        k.nw_dst = dst;
        k.tp_dst = port;
        k
    }

    #[test]
    fn a_miss_at_l3_does_not_unwildcard_l4() {
        let mut t = Classifier::new();
        let ip = (Field::EthType, 0x0800, 0xffff);
        t.insert(rule(1, 10, &[ip, (Field::IpDst, 0x0a00_0001, u32::MAX as u128), (Field::TcpDst, 80, 0xffff)]));
        let mut wc = FlowMask::ZERO;
        assert!(t.lookup(&tcp_key(0x0a00_0002, 80), &mut wc).is_none());
        assert_eq!((wc.dl_type, wc.nw_dst, wc.tp_dst), (0xffff, u32::MAX, 0));

        let mut wc = FlowMask::ZERO;
        assert_eq!(t.lookup(&tcp_key(0x0a00_0001, 80), &mut wc).map(|r| r.id), Some(1));
        assert_eq!((wc.dl_type, wc.nw_dst, wc.tp_dst), (0xffff, u32::MAX, 0xffff));
    }

    #[test]
    fn lookup_stops_below_the_best_priority_and_breaks_ties_by_id() {
        let mut t = Classifier::new();
        t.insert(rule(5, 100, &[(Field::InPort, 1, 0xffff_ffff)]));
        t.insert(rule(3, 100, &[(Field::EthType, 0x0800, 0xffff)]));
        t.insert(rule(1, 1, &[(Field::IpDst, 0x0a00_0001, 0xffff_ffff)]));
        let mut wc = FlowMask::ZERO;
        assert_eq!(t.lookup(&tcp_key(0x0a00_0001, 80), &mut wc).map(|r| r.id), Some(3));
        // Both priority-100 subtables were visited; the priority-1 one was not.
        assert_eq!((wc.in_port, wc.dl_type, wc.nw_dst), (u32::MAX, 0xffff, 0));
    }

    #[test]
    fn rules_with_one_match_share_a_bucket() {
        let mut t = Classifier::new();
        let f = [(Field::EthType, 0x0800, 0xffff)];
        assert!(t.insert(rule(1, 10, &f)).is_none());
        assert!(t.insert(rule(2, 30, &f)).is_none());
        assert!(t.insert(rule(3, 20, &f)).is_none());
        assert_eq!(t.insert(rule(4, 20, &f)).map(|r| r.id), Some(3));
        assert_eq!((t.len(), t.n_subtables()), (3, 1));
        let m = rule(0, 0, &f).match_;
        let mut wc = FlowMask::ZERO;
        assert_eq!(t.lookup(&tcp_key(1, 1), &mut wc).map(|r| r.id), Some(2));
        assert_eq!(t.remove(&m, 30).map(|r| r.id), Some(2));
        assert_eq!(t.lookup(&tcp_key(1, 1), &mut wc).map(|r| r.id), Some(4));
        assert_eq!(t.find_exact(&m, 10).map(|r| r.id), Some(1));
        assert!(t.remove(&m, 30).is_none());
        assert_eq!(t.remove(&m, 20).map(|r| r.id), Some(4));
        assert_eq!(t.remove(&m, 10).map(|r| r.id), Some(1));
        assert!(t.is_empty() && t.n_subtables() == 0);
        assert!(t.lookup(&tcp_key(1, 1), &mut wc).is_none());
    }

    #[test]
    fn a_catchall_rule_depends_on_no_bit() {
        let mut t = Classifier::new();
        t.insert(rule(1, 0, &[]));
        let mut wc = FlowMask::ZERO;
        assert_eq!(t.lookup(&tcp_key(1, 1), &mut wc).map(|r| r.id), Some(1));
        assert!(wc.is_zero());
    }
}
