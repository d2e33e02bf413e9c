//! How long a lookup takes in a 1,000-rule table with 10 masks. A measurement, not a pass/fail
//! test (speed is for benchmarks, DESIGN "Testing"); run it with
//! `cargo test --release -p rvs-flowcache --test classifier_lookup_speed -- --ignored --nocapture`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use rvs_flowcache::{Classifier, Field, FlowKey, FlowMask, Match, Rule};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn ip4() -> Match {
    let mut m = Match::catchall();
    m.set(Field::EthType, 0x0800);
    m
}

/// A match of mask kind `kind` (0..10) whose values come from `v`, and the usual priority band
/// of such rules (bands overlap, so that early exit is not trivially perfect).
fn realistic(kind: usize, v: u64) -> (Match, u16) {
    let (a, b, c) = (v as u32 & 0xff, (v >> 8) as u32 & 0xff, (v >> 16) as u16);
    let mut m = ip4();
    let priority = match kind {
        0 => {
            m.set(Field::InPort, (a % 8) as u128).set(Field::IpProto, 6);
            m.set(Field::IpSrc, (0x0a00_0000 | a << 8 | b) as u128).set(Field::IpDst, (0x0a01_0000 | b) as u128);
            m.set(Field::TcpDst, (c % 64) as u128);
            1000
        }
        1 => {
            m.set_masked(Field::IpDst, (0x0a02_0000 | a << 8) as u128, 0xffff_ff00);
            900
        }
        2 => {
            m.set_masked(Field::IpDst, (0x0a00_0000 | a << 16) as u128, 0xffff_0000).set(Field::IpProto, 17);
            m.set(Field::UdpDst, (c % 1024) as u128);
            850
        }
        3 => {
            m = Match::catchall();
            m.set(Field::InPort, (a % 8) as u128).set(Field::EthDst, 0x0200_0000_0000 | v as u128 & 0xffff);
            700
        }
        4 => {
            m = Match::catchall();
            m.set(Field::EthDst, 0x0200_0000_0000 | v as u128 & 0xffff);
            650
        }
        5 => {
            m = Match::catchall();
            m.set(Field::Metadata, (a % 16) as u128).set(Field::Reg0, b as u128);
            600
        }
        6 => {
            m = Match::catchall();
            m.set_masked(Field::VlanTci, 0x1000 | (v as u128 & 0xfff), 0x1fff);
            500
        }
        7 => {
            m = Match::catchall();
            m.set(Field::EthType, 0x86dd).set_masked(
                Field::Ipv6Dst,
                (0x2001_0db8_0000_0000u128 | a as u128) << 64,
                u128::MAX << 64,
            );
            400
        }
        8 => {
            m = Match::catchall();
            m.set(Field::InPort, a as u128);
            100
        }
        _ => return (Match::catchall(), 0),
    };
    (m, priority + (c % 50))
}

fn table() -> (Classifier, Vec<Arc<Rule>>) {
    let counts = [300usize, 150, 100, 100, 100, 80, 60, 60, 49, 1];
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut cls = Classifier::new();
    let mut rules = Vec::new();
    let mut id = 0;
    for (kind, &n) in counts.iter().enumerate() {
        while rules.iter().filter(|r: &&Arc<Rule>| r.cookie == kind as u64).count() < n {
            let (match_, priority) = realistic(kind, rng.next());
            id += 1;
            let mut rule = Rule::bare(id, priority, match_);
            Arc::get_mut(&mut rule).expect("just made").cookie = kind as u64;
            if cls.insert(rule.clone()).is_none() {
                rules.push(rule);
            } else {
                rules.retain(|r| !(r.match_ == rule.match_ && r.priority == rule.priority));
                rules.push(rule);
            }
        }
    }
    (cls, rules)
}

fn measure(name: &str, cls: &Classifier, keys: &[FlowKey]) {
    const ROUNDS: usize = 2_000;
    let mut hits = 0usize;
    let start = Instant::now();
    for _ in 0..ROUNDS {
        for k in keys {
            let mut wc = FlowMask::ZERO;
            hits += black_box(cls.lookup(black_box(k), &mut wc)).is_some() as usize;
            black_box(&wc);
        }
    }
    let n = ROUNDS * keys.len();
    let ns = start.elapsed().as_nanos() as f64 / n as f64;
    println!(
        "{name:<44} {ns:7.1} ns/lookup  ({} rules, {} subtables, {:.0}% hits)",
        cls.len(),
        cls.n_subtables(),
        100.0 * hits as f64 / n as f64
    );
}

#[test]
#[ignore = "a measurement; run with --release --ignored --nocapture"]
fn lookup_in_a_1000_rule_table_with_10_masks() {
    let (cls, rules) = table();
    assert_eq!((cls.len(), cls.n_subtables()), (1000, 10));
    let mut rng = Rng(42);
    let matching = |kind: u64, rng: &mut Rng| -> FlowKey {
        let r = loop {
            let r = &rules[rng.next() as usize % rules.len()];
            if r.cookie == kind {
                break r;
            }
        };
        let mut k = FlowKey::ZERO;
        k.words_mut().iter_mut().for_each(|w| *w = rng.next());
        k.dl_type = 0x0800;
        let (mk, mm) = (r.match_.key, r.match_.mask);
        for ((o, v), m) in k.words_mut().iter_mut().zip(mk.words()).zip(mm.words()) {
            *o = (*o & !m) | (v & m);
        }
        k
    };
    let top: Vec<FlowKey> = (0..1024).map(|_| matching(0, &mut rng)).collect();
    let middle: Vec<FlowKey> = (0..1024).map(|_| matching(4, &mut rng)).collect();
    let misses: Vec<FlowKey> = (0..1024)
        .map(|_| {
            let mut k = FlowKey::ZERO;
            k.words_mut().iter_mut().for_each(|w| *w = rng.next());
            k.dl_type = 0x0800;
            k
        })
        .collect();
    // Realistic packets that match nothing specific: an in_port and addresses rules use, a
    // TCP port none uses. Stage indexes pass up to L4 in several subtables.
    let near: Vec<FlowKey> = top
        .iter()
        .zip(&middle)
        .map(|(t, m)| {
            let mut k = *t;
            k.tp_dst = 10_000;
            k.dl_dst = m.dl_dst;
            k.in_port = m.in_port % 8;
            k
        })
        .collect();
    let mixed: Vec<FlowKey> = (0..1024).map(|i| [&top, &middle, &misses, &near][i % 4][i]).collect();
    measure("hit in the top-priority subtable (5-tuple)", &cls, &top);
    measure("hit in a middle subtable (dl_dst)", &cls, &middle);
    measure("only the catch-all matches (all 10 visited)", &cls, &misses);
    measure("near misses (top 5-tuple but for the port)", &cls, &near);
    measure("mixed", &cls, &mixed);
}

/// Peak resident memory of this process, in MiB (Linux).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok());
    kib.unwrap_or(0.0) / 1024.0
}

#[test]
#[ignore = "a measurement; run with --release --ignored --nocapture"]
fn a_million_flow_mods_in_one_batch() {
    use rvs_flowcache::{FlowMod, FlowModCommand, FlowTableWriter};
    const N: u32 = 1_000_000;
    let before = peak_rss_mib();
    let mut w = FlowTableWriter::new();
    let start = Instant::now();
    for i in 0..N {
        let mut fm = FlowMod::new(FlowModCommand::Add);
        fm.priority = (i % 7) as u16;
        fm.match_.set(Field::EthType, 0x0800).set(Field::IpDst, i as u128);
        if i % 2 == 0 {
            fm.match_.set(Field::InPort, (i % 64) as u128);
        }
        fm.actions = vec![rvs_flowcache::OfAction::Output { port: rvs_flowcache::OfPort(1), max_len: 0 }];
        w.apply(&fm, 0).unwrap();
    }
    let applied = start.elapsed();
    w.publish();
    let start = Instant::now();
    let mut one = FlowMod::new(FlowModCommand::Add);
    one.match_.set(Field::InPort, 1);
    w.apply(&one, 0).unwrap(); // replays the million on the other copy
    let replayed = start.elapsed();
    w.publish();
    let snapshot = w.reader().snapshot();
    assert_eq!(snapshot.n_rules(), N as usize + 1);
    let mut key = FlowKey::ZERO;
    key.dl_type = 0x0800;
    key.nw_dst = 12_345;
    key.in_port = 12_345 % 64;
    assert!(snapshot.lookup(0, &key, &mut FlowMask::ZERO.clone()).is_some());
    println!(
        "1M adds: {:.0} ns each; replay on the spare: {:.0} ns each; peak RSS {:.0} MiB (+{:.0}), {:.0} B/rule for two copies, rules and all",
        applied.as_nanos() as f64 / N as f64,
        replayed.as_nanos() as f64 / N as f64,
        peak_rss_mib(),
        peak_rss_mib() - before,
        (peak_rss_mib() - before) * 1024.0 * 1024.0 / N as f64,
    );
}
