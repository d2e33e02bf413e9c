//! The classifier against a trivial linear model of it (OVS `tests/test-classifier.c` style).
//!
//! For random tables (masks from a pool of realistic ones and random bit masks, priorities with
//! deliberate ties, up to 300 rules) and random keys (keys built to match rules, near misses
//! that differ in one masked word, and keys from a small value pool), checks that:
//! * `lookup` returns the rule the linear scan returns (highest priority, then lowest id);
//! * the megaflow is sound: a key that agrees with the looked-up key on the returned mask,
//!   whatever it holds elsewhere, gets the same answer from the linear model;
//! * insert/remove/replace sequences, `find_exact`, `iter`, `covered_by` and `has_overlap`
//!   agree with the model after every step.

use std::sync::Arc;

use proptest::prelude::*;
use rvs_flowcache::{Classifier, Field, FlowKey, FlowMask, Match, Rule, RuleStats, FLOW_WORDS};

/// Trivial (linear) classifier.
#[derive(Default)]
struct LinearTable {
    rules: Vec<Arc<Rule>>,
}

fn same_match(a: &Match, b: &Match) -> bool {
    a.mask == b.mask && a.key.equal_under(&b.key, &a.mask)
}

impl LinearTable {
    fn lookup(&self, key: &FlowKey) -> Option<&Arc<Rule>> {
        self.rules
            .iter()
            .filter(|r| r.match_.matches(key))
            .max_by(|a, b| a.priority.cmp(&b.priority).then(b.id.cmp(&a.id)))
    }

    fn position(&self, m: &Match, priority: u16) -> Option<usize> {
        self.rules.iter().position(|r| r.priority == priority && same_match(&r.match_, m))
    }

    fn insert(&mut self, rule: Arc<Rule>) -> Option<Arc<Rule>> {
        match self.position(&rule.match_, rule.priority) {
            Some(i) => Some(std::mem::replace(&mut self.rules[i], rule)),
            None => {
                self.rules.push(rule);
                None
            }
        }
    }

    fn remove(&mut self, m: &Match, priority: u16) -> Option<Arc<Rule>> {
        self.position(m, priority).map(|i| self.rules.swap_remove(i))
    }

    fn overlaps(&self, m: &Match, priority: u16) -> bool {
        self.rules
            .iter()
            .any(|r| r.priority == priority && r.match_.key.equal_under(&m.key, &m.mask.masked(&r.match_.mask)))
    }
}

/// splitmix64: the test's deterministic source of values.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Masks a real table would hold.
fn pool_mask(i: usize) -> FlowMask {
    let mut m = Match::catchall();
    let ip = |m: &mut Match| {
        m.set(Field::EthType, 0x0800);
    };
    match i % 14 {
        0 => {}
        1 => {
            m.set(Field::InPort, 1);
        }
        2 => ip(&mut m),
        3 => {
            ip(&mut m);
            m.set(Field::IpProto, 6);
        }
        4 => {
            ip(&mut m);
            m.set_masked(Field::IpDst, 0, 0xffff_ff00);
        }
        5 => {
            ip(&mut m);
            m.set(Field::IpSrc, 0).set(Field::IpDst, 0).set(Field::IpProto, 6).set(Field::TcpDst, 0);
        }
        6 => {
            m.set(Field::EthDst, 0);
        }
        7 => {
            m.set(Field::Metadata, 0).set(Field::Reg0, 0);
        }
        8 => {
            m.set_masked(Field::VlanTci, 0, 0x1fff);
        }
        9 => {
            m.set(Field::EthType, 0x86dd).set_masked(Field::Ipv6Dst, 0, u128::MAX << 64);
        }
        10 => {
            ip(&mut m);
            m.set(Field::InPort, 1).set_masked(Field::IpDst, 0, 0xffff_0000).set(Field::TcpSrc, 0);
        }
        11 => {
            m.set(Field::TunId, 0).set(Field::InPort, 0);
        }
        12 => {
            ip(&mut m);
            m.set(Field::IpProto, 6).set_masked(Field::TcpFlags, 0, 0x002);
        }
        _ => {
            m.set(Field::InPort, 0).set(Field::EthSrc, 0).set(Field::EthType, 0);
        }
    }
    m.mask
}

/// A mask of random bits in a few random words.
fn random_mask(rng: &mut Rng) -> FlowMask {
    let mut m = FlowMask::ZERO;
    for _ in 0..1 + rng.below(4) {
        let w = rng.below(FLOW_WORDS as u64) as usize;
        m.words_mut()[w] |= match rng.below(4) {
            0 => u64::MAX,
            1 => 0xffff,
            2 => rng.next() & rng.next(),
            _ => rng.next(),
        };
    }
    m
}

/// A key whose words come from a small pool, so that keys and rules often agree.
fn pool_key(rng: &mut Rng) -> FlowKey {
    let mut k = FlowKey::ZERO;
    for (i, w) in k.words_mut().iter_mut().enumerate() {
        *w = match rng.below(6) {
            0 | 1 => 0,
            2 => 1,
            3 => u64::MAX,
            4 => 0x0800_0a00_0001_0050 ^ i as u64,
            _ => rng.next(),
        };
    }
    k
}

/// Bits of `from` where `mask` is set, bits of `rest` elsewhere.
fn merge(from: &FlowKey, mask: &FlowMask, rest: &FlowKey) -> FlowKey {
    let mut k = FlowKey::ZERO;
    for ((o, (a, b)), m) in k.words_mut().iter_mut().zip(from.words().iter().zip(rest.words())).zip(mask.words()) {
        *o = (a & m) | (b & !m);
    }
    k
}

#[derive(Clone, Copy, Debug)]
enum MaskSpec {
    Pool(usize),
    Random(u64),
}

#[derive(Clone, Copy, Debug)]
struct RuleSpec {
    mask: MaskSpec,
    priority: u16,
    values: u64,
}

fn rule_spec() -> impl Strategy<Value = RuleSpec> {
    // The catch-all is rare, so that some keys miss the whole table.
    let mask = prop_oneof![
        1 => Just(MaskSpec::Pool(0)),
        30 => (1..14usize).prop_map(MaskSpec::Pool),
        10 => any::<u64>().prop_map(MaskSpec::Random),
    ];
    let priority = prop_oneof![Just(0u16), Just(1), Just(100), Just(0x8000), Just(u16::MAX), 0..4u16, any::<u16>()];
    (mask, priority, any::<u64>()).prop_map(|(mask, priority, values)| RuleSpec { mask, priority, values })
}

fn make_rule(spec: &RuleSpec, id: u64) -> Arc<Rule> {
    let mut rng = Rng(spec.values);
    let mask = match spec.mask {
        MaskSpec::Pool(i) => pool_mask(i),
        MaskSpec::Random(seed) => random_mask(&mut Rng(seed)),
    };
    let key = pool_key(&mut rng).masked(&mask);
    Rule::bare(id, spec.priority, Match { key, mask })
}

/// A key to look up: one that matches `rules[i]`, a near miss of it, one merging two rules, or
/// a pool key.
fn make_key(rules: &[Arc<Rule>], choice: u64, seed: u64) -> FlowKey {
    let mut rng = Rng(seed);
    let filler = pool_key(&mut rng);
    if rules.is_empty() {
        return filler;
    }
    let r = &rules[(choice % rules.len() as u64) as usize].match_;
    let mut k = merge(&r.key, &r.mask, &filler);
    match rng.below(4) {
        0 => k,
        1 => {
            // Near miss: one masked word differs.
            let map = r.mask.nonzero_map();
            if map != 0 {
                let words: Vec<usize> = (0..FLOW_WORDS).filter(|w| map & (1 << w) != 0).collect();
                let w = words[rng.below(words.len() as u64) as usize];
                let m = r.mask.words()[w];
                let lowest_bit = m & m.wrapping_neg();
                k.words_mut()[w] ^= (m & rng.next()) | lowest_bit;
            }
            k
        }
        2 => {
            let o = &rules[rng.below(rules.len() as u64) as usize].match_;
            merge(&o.key, &o.mask, &k)
        }
        _ => filler,
    }
}

/// Checks `lookup` against the model for `key`, and the soundness of its mask with three twins.
fn check_key(cls: &Classifier, model: &LinearTable, key: &FlowKey, seed: u64) -> Result<(), TestCaseError> {
    let mut wc = FlowMask::ZERO;
    let found = cls.lookup(key, &mut wc).map(|r| r.id);
    prop_assert_eq!(found, model.lookup(key).map(|r| r.id), "lookup of {:?}", key);

    let mut rng = Rng(seed);
    let others: Vec<FlowKey> = (0..3)
        .map(|i| match i {
            // Anything at all outside the mask.
            0 => {
                let mut noise = FlowKey::ZERO;
                noise.words_mut().iter_mut().for_each(|w| *w = rng.next());
                noise
            }
            // Values rules care about.
            1 => pool_key(&mut rng),
            // Another rule's values.
            _ => match model.rules.get(rng.below(model.rules.len().max(1) as u64) as usize) {
                Some(r) => merge(&r.match_.key, &r.match_.mask, &pool_key(&mut rng)),
                None => pool_key(&mut rng),
            },
        })
        .collect();
    for other in &others {
        let twin = merge(key, &wc, other);
        prop_assert_eq!(model.lookup(&twin).map(|r| r.id), found, "twin {:?} of {:?} under {:?}", twin, key, wc);
        let mut twin_wc = FlowMask::ZERO;
        prop_assert_eq!(cls.lookup(&twin, &mut twin_wc).map(|r| r.id), found);
    }
    Ok(())
}

fn sorted_ids<'a>(rules: impl Iterator<Item = &'a Arc<Rule>>) -> Vec<u64> {
    let mut ids: Vec<u64> = rules.map(|r| r.id).collect();
    ids.sort_unstable();
    ids
}

/// A request match for covered_by / has_overlap: a pool or random mask, values of a rule.
fn make_request(model: &LinearTable, seed: u64) -> (Match, u16) {
    let mut rng = Rng(seed);
    let mask = if rng.below(3) == 0 { random_mask(&mut rng) } else { pool_mask(rng.below(14) as usize) };
    let (values, priority) = match model.rules.get(rng.below(model.rules.len().max(1) as u64) as usize) {
        Some(r) => (merge(&r.match_.key, &r.match_.mask, &pool_key(&mut rng)), r.priority),
        None => (pool_key(&mut rng), 0),
    };
    (Match { key: values.masked(&mask), mask }, priority)
}

fn check_table(cls: &Classifier, model: &LinearTable, seed: u64) -> Result<(), TestCaseError> {
    prop_assert_eq!(cls.len(), model.rules.len());
    prop_assert_eq!(cls.is_empty(), model.rules.is_empty());
    prop_assert_eq!(sorted_ids(cls.iter()), sorted_ids(model.rules.iter()));
    for r in &model.rules {
        prop_assert_eq!(cls.find_exact(&r.match_, r.priority).map(|f| f.id), Some(r.id));
    }
    let mut rng = Rng(seed);
    for _ in 0..8 {
        let (m, priority) = make_request(model, rng.next());
        let covered = sorted_ids(model.rules.iter().filter(|r| r.match_.is_covered_by(&m)));
        prop_assert_eq!(sorted_ids(cls.covered_by(&m)), covered, "covered by {:?}", m);
        prop_assert_eq!(cls.has_overlap(&m, priority), model.overlaps(&m, priority), "overlap {:?}", m);
        prop_assert_eq!(cls.has_overlap(&m, priority ^ 1), model.overlaps(&m, priority ^ 1));
    }
    Ok(())
}

/// Ids in a shuffled order, so that id order and insertion order differ.
fn shuffled_ids(n: usize, seed: u64) -> Vec<u64> {
    let mut ids: Vec<u64> = (1..=n as u64).collect();
    let mut rng = Rng(seed);
    for i in (1..n).rev() {
        ids.swap(i, rng.below(i as u64 + 1) as usize);
    }
    ids
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn same_rule_as_a_linear_scan_and_sound_megaflows(
        specs in prop::collection::vec(rule_spec(), 0..300),
        keys in prop::collection::vec((any::<u64>(), any::<u64>()), 1..200),
        seed: u64,
    ) {
        let ids = shuffled_ids(specs.len(), seed);
        let (mut cls, mut model) = (Classifier::new(), LinearTable::default());
        for (spec, id) in specs.iter().zip(ids) {
            let rule = make_rule(spec, id);
            let replaced = cls.insert(rule.clone()).map(|r| r.id);
            prop_assert_eq!(replaced, model.insert(rule).map(|r| r.id));
        }
        for (i, &(choice, key_seed)) in keys.iter().enumerate() {
            let key = make_key(&model.rules, choice, key_seed);
            check_key(&cls, &model, &key, seed ^ i as u64)?;
        }
        check_table(&cls, &model, seed)?;
    }

    #[test]
    fn insert_remove_replace_sequences_agree_with_the_model(
        ops in prop::collection::vec((0..10u8, rule_spec(), any::<u64>()), 1..400),
        seed: u64,
    ) {
        let (mut cls, mut model) = (Classifier::new(), LinearTable::default());
        let mut next_id = 1;
        for (step, (op, spec, pick)) in ops.iter().enumerate() {
            let existing = (!model.rules.is_empty()).then(|| model.rules[(*pick % model.rules.len() as u64) as usize].clone());
            match (op, existing) {
                // Remove an existing rule.
                (0..=2, Some(victim)) => {
                    let removed = cls.remove(&victim.match_, victim.priority).map(|r| r.id);
                    prop_assert_eq!(removed, Some(victim.id));
                    model.remove(&victim.match_, victim.priority);
                    prop_assert!(cls.find_exact(&victim.match_, victim.priority).is_none());
                    prop_assert!(cls.remove(&victim.match_, victim.priority).is_none());
                }
                // Replace an existing rule (same match and priority, new id).
                (3, Some(victim)) => {
                    let rule = Arc::new(Rule { id: next_id, stats: Arc::new(RuleStats::default()), actions: Arc::from([]), ..*victim });
                    next_id += 1;
                    prop_assert_eq!(cls.insert(rule.clone()).map(|r| r.id), Some(victim.id));
                    model.insert(rule);
                }
                // Remove something that may not exist.
                (4, _) => {
                    let probe = make_rule(spec, 0);
                    let removed = cls.remove(&probe.match_, probe.priority).map(|r| r.id);
                    prop_assert_eq!(removed, model.remove(&probe.match_, probe.priority).map(|r| r.id));
                }
                _ => {
                    let rule = make_rule(spec, next_id);
                    next_id += 1;
                    let replaced = cls.insert(rule.clone()).map(|r| r.id);
                    prop_assert_eq!(replaced, model.insert(rule).map(|r| r.id));
                }
            }
            prop_assert_eq!(cls.len(), model.rules.len());
            let key = make_key(&model.rules, *pick, spec.values ^ seed);
            check_key(&cls, &model, &key, seed.wrapping_add(step as u64))?;
            if step % 50 == 0 {
                check_table(&cls, &model, seed ^ step as u64)?;
            }
        }
        check_table(&cls, &model, seed)?;
        // Empty the table: every subtable must go away with its last rule.
        for r in std::mem::take(&mut model.rules) {
            prop_assert_eq!(cls.remove(&r.match_, r.priority).map(|f| f.id), Some(r.id));
        }
        prop_assert!(cls.is_empty());
        prop_assert_eq!(cls.n_subtables(), 0);
        prop_assert!(cls.lookup(&FlowKey::ZERO, &mut FlowMask::default()).is_none());
    }
}

/// The model itself, on a case worked by hand, so that a broken model cannot hide a broken
/// classifier.
#[test]
fn the_model_prefers_priority_then_the_lowest_id() {
    let spec = |mask, priority| RuleSpec { mask: MaskSpec::Pool(mask), priority, values: 7 };
    let mut model = LinearTable::default();
    model.insert(make_rule(&spec(0, 5), 9)); // catch-all
    model.insert(make_rule(&spec(0, 5), 8)); // same match and priority: replaces 9
    model.insert(make_rule(&spec(1, 5), 3)); // in_port, same priority
    assert_eq!(model.rules.len(), 2);
    let mut key = FlowKey::ZERO;
    key.in_port = make_rule(&spec(1, 5), 0).match_.key.in_port;
    assert_eq!(model.lookup(&key).map(|r| r.id), Some(3));
    key.in_port ^= 1;
    assert_eq!(model.lookup(&key).map(|r| r.id), Some(8));
}
