//! The central invariant of the datapath, as property tests over random pipelines (at least
//! 3 tables and 50 rules) and random packets:
//!
//! 1. Megaflow soundness: any key that agrees with a translated key on the megaflow mask gets
//!    the same datapath actions.
//! 2. Cache equivalence: a PMD-like sequence of lookups (exact-match cache, then megaflow
//!    cache, then upcall and install), with the revalidator's algorithm run after MAC table
//!    and pipeline changes, answers every packet as a fresh translation does.

use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use rvs_flowcache::dpaction::DpAction;
use rvs_flowcache::emc::{emc_hash, Emc};
use rvs_flowcache::hashsel::{Bundle, BundleAlgorithm, HashFields, Multipath, MultipathAlgorithm};
use rvs_flowcache::mac_learning::MacTable;
use rvs_flowcache::megaflow::{revalidate, Megaflow, MegaflowCache, Revalidation, XlateDeps};
use rvs_flowcache::xlate::{xlate, VlanConfig, XPort, XlateBridge, XlateInput, XlateOutput};
use rvs_flowcache::{Field, FlowKey, FlowMod, FlowModCommand, Match, OfAction, OfPort, Pipeline, SubField, FLOW_WORDS};

const N_PORTS: u32 = 4;
const MACS: [u64; 5] = [0x0200_0000_0001, 0x0200_0000_0002, 0x0200_0000_0003, 0x0200_0000_0004, 0xffff_ffff_ffff];
const IPS: [u32; 4] = [0x0a00_0001, 0x0a00_0002, 0x0a00_0102, 0xc0a8_0001];
const TP: [u16; 3] = [53, 80, 443];
const N_TABLES: u8 = 4;

#[derive(Clone, Copy, Debug)]
enum Proto {
    Any,
    Ip,
    Tcp,
    Udp,
    Arp,
}

fn arb_match() -> impl Strategy<Value = Match> {
    let proto = prop_oneof![Just(Proto::Any), Just(Proto::Ip), Just(Proto::Tcp), Just(Proto::Udp), Just(Proto::Arp)];
    (
        proto,
        proptest::option::of(1..=N_PORTS),
        proptest::option::of(0..MACS.len()),
        proptest::option::of(0..MACS.len()),
        proptest::option::of((0..IPS.len(), prop_oneof![Just(32u32), Just(24), Just(16)])),
        proptest::option::of(0..TP.len()),
        proptest::option::of(prop_oneof![Just(0u16), Just(0x1000 | 10), Just(0x1000 | 20)]),
        proptest::option::of(0u128..3),
    )
        .prop_map(|(proto, in_port, src, dst, nw_dst, tp_dst, vlan, reg0)| {
            let mut m = Match::catchall();
            if let Some(p) = in_port {
                m.set(Field::InPort, p as u128);
            }
            if let Some(i) = src {
                m.set(Field::EthSrc, MACS[i] as u128);
            }
            if let Some(i) = dst {
                m.set(Field::EthDst, MACS[i] as u128);
            }
            if let Some(v) = vlan {
                m.set_masked(Field::VlanTci, v as u128, 0x1fff);
            }
            if let Some(r) = reg0 {
                m.set(Field::Reg0, r);
            }
            match proto {
                Proto::Any => {}
                Proto::Arp => {
                    m.set(Field::EthType, 0x0806);
                }
                Proto::Ip | Proto::Tcp | Proto::Udp => {
                    m.set(Field::EthType, 0x0800);
                    if let Some((i, plen)) = nw_dst {
                        let mask = if plen == 32 { u32::MAX } else { !((1u32 << (32 - plen)) - 1) };
                        m.set_masked(Field::IpDst, IPS[i] as u128, mask as u128);
                    }
                    let l4 = match proto {
                        Proto::Tcp => Some((6, Field::TcpDst)),
                        Proto::Udp => Some((17, Field::UdpDst)),
                        _ => None,
                    };
                    if let Some((p, f)) = l4 {
                        m.set(Field::IpProto, p);
                        if let Some(t) = tp_dst {
                            m.set(f, TP[t] as u128);
                        }
                    }
                }
            }
            m
        })
}

fn arb_action(table: u8) -> impl Strategy<Value = OfAction> {
    let port = (1..=N_PORTS).prop_map(|p| OfAction::Output { port: OfPort(p), max_len: 0 });
    prop_oneof![
        4 => port,
        2 => Just(OfAction::Output { port: OfPort::NORMAL, max_len: 0 }),
        1 => Just(OfAction::Output { port: OfPort::FLOOD, max_len: 0 }),
        1 => Just(OfAction::Output { port: OfPort::IN_PORT, max_len: 0 }),
        1 => Just(OfAction::Output { port: OfPort::CONTROLLER, max_len: 128 }),
        2 => (0..N_TABLES).prop_map(|t| OfAction::Resubmit { in_port: None, table: Some(t) }),
        1 => ((1..=N_PORTS), (0..N_TABLES)).prop_map(|(p, t)| OfAction::Resubmit { in_port: Some(OfPort(p)), table: Some(t) }),
        2 => (0u128..3).prop_map(|v| OfAction::RegLoad { dst: SubField::whole(Field::Reg0), value: v }),
        1 => (0..IPS.len()).prop_map(|i| OfAction::SetIpv4Dst(IPS[i])),
        1 => (0..TP.len()).prop_map(|i| OfAction::SetL4DstPort(TP[i])),
        1 => (0..MACS.len()).prop_map(|i| OfAction::SetEthDst(rvs_packet::wire::MacAddr::from_u64(MACS[i]))),
        1 => Just(OfAction::DecTtl { controller_ids: vec![] }),
        1 => Just(OfAction::StripVlan),
        1 => prop_oneof![Just(10u16), Just(20)].prop_map(|vid| OfAction::SetVlanVid { vid, push_if_needed: true }),
        1 => Just(OfAction::RegMove { src: SubField { field: Field::IpSrc, ofs: 0, n_bits: 2 }, dst: SubField { field: Field::Reg0, ofs: 0, n_bits: 2 } }),
        1 => Just(OfAction::WriteActions(vec![OfAction::Output { port: OfPort(1), max_len: 0 }])),
        1 => (0u8..3).prop_map(learn_action),
        2 => (0usize..7, 0u8..4).prop_map(|(f, a)| multipath_action(f, a)),
        1 => (0..IPS.len(), 1..=N_PORTS).prop_map(|(i, p)| OfAction::Clone(vec![
            OfAction::SetIpv4Dst(IPS[i]),
            OfAction::RegLoad { dst: SubField::whole(Field::Reg0), value: 2 },
            OfAction::Output { port: OfPort(p), max_len: 0 },
        ])),
        1 => (0usize..7, proptest::bool::ANY).prop_map(|(f, hrw)| bundle_action(f, hrw)),
    ]
    .prop_map(move |a| a)
    .prop_filter("no resubmit to self-table loops at table > 0 only", move |_| table < N_TABLES)
}

const HASH_FIELDS: [HashFields; 7] = [
    HashFields::EthSrc,
    HashFields::SymmetricL4,
    HashFields::SymmetricL3L4,
    HashFields::SymmetricL3L4Udp,
    HashFields::NwSrc,
    HashFields::NwDst,
    HashFields::SymmetricL3,
];

/// `multipath(FIELDS,0,ALGORITHM,3,0,reg0[0..1])`: the link lands where rules match.
fn multipath_action(fields: usize, algorithm: u8) -> OfAction {
    let algorithm = [MultipathAlgorithm::ModuloN, MultipathAlgorithm::HashThreshold, MultipathAlgorithm::Hrw, MultipathAlgorithm::IterHash]
        [algorithm as usize];
    OfAction::Multipath(Box::new(Multipath {
        fields: HASH_FIELDS[fields],
        basis: 0,
        algorithm,
        max_link: 2,
        arg: 0,
        dst: SubField { field: Field::Reg0, ofs: 0, n_bits: 2 },
    }))
}

/// `bundle(FIELDS,0,hrw|active_backup,ofport,members:1,2,3)` (ports 1 and 3 live).
fn bundle_action(fields: usize, hrw: bool) -> OfAction {
    OfAction::Bundle(Box::new(Bundle {
        fields: HASH_FIELDS[fields],
        basis: 0,
        algorithm: if hrw { BundleAlgorithm::Hrw } else { BundleAlgorithm::ActiveBackup },
        members: vec![OfPort(1), OfPort(2), OfPort(3)],
        dst: None,
    }))
}

/// A `learn` reading a few fields (partial and whole), as br-tun's MAC learning does.
fn learn_action(variant: u8) -> OfAction {
    use rvs_flowcache::learn::{Learn, LearnDst, LearnSpec, LearnSrc};
    let sf = |field, ofs, n_bits| SubField { field, ofs, n_bits };
    let mut specs = vec![
        LearnSpec { src: LearnSrc::Field(sf(Field::VlanTci, 0, 12)), dst: LearnDst::Match(sf(Field::VlanTci, 0, 12)), n_bits: 12 },
        LearnSpec { src: LearnSrc::Field(SubField::whole(Field::EthSrc)), dst: LearnDst::Match(SubField::whole(Field::EthDst)), n_bits: 48 },
    ];
    match variant {
        0 => specs.push(LearnSpec { src: LearnSrc::Field(sf(Field::InPort, 0, 16)), dst: LearnDst::Output, n_bits: 16 }),
        1 => specs.push(LearnSpec { src: LearnSrc::Field(sf(Field::IpSrc, 8, 8)), dst: LearnDst::Load(sf(Field::Reg1, 0, 8)), n_bits: 8 }),
        _ => specs.push(LearnSpec { src: LearnSrc::Field(sf(Field::Reg0, 0, 2)), dst: LearnDst::Match(sf(Field::Reg2, 4, 2)), n_bits: 2 }),
    }
    OfAction::Learn(Box::new(Learn { table_id: 3, priority: 7, specs, ..Learn::default() }))
}

/// A rule of a random pipeline: mostly ordinary ones; some are clauses of conjunctions 1 and 2
/// (two clauses each), some match `conj_id`.
fn arb_rule() -> impl Strategy<Value = FlowMod> {
    prop_oneof![
        6 => arb_plain_rule(),
        2 => (0..N_TABLES, 0u16..4, arb_match(), 1u32..3, 0u8..2).prop_map(|(table, prio, m, id, clause)| {
            let mut fm = FlowMod::new(FlowModCommand::Add);
            fm.table_id = table;
            fm.priority = prio * 100;
            fm.match_ = m;
            fm.actions = vec![OfAction::Conjunction { id, clause, n_clauses: 2 }];
            fm
        }),
        1 => (0..N_TABLES, 0u16..4, 1u32..3, 1..=N_PORTS).prop_map(|(table, prio, id, port)| {
            let mut fm = FlowMod::new(FlowModCommand::Add);
            fm.table_id = table;
            fm.priority = prio * 100;
            fm.match_.set(Field::ConjId, id as u128);
            fm.actions = vec![OfAction::Output { port: OfPort(port), max_len: 0 }];
            fm
        }),
    ]
}

fn arb_plain_rule() -> impl Strategy<Value = FlowMod> {
    (0..N_TABLES, 0u16..4, arb_match())
        .prop_flat_map(|(table, prio, m)| {
            let goto = if table + 1 < N_TABLES { proptest::option::of(table + 1..N_TABLES).boxed() } else { Just(None).boxed() };
            (Just(table), Just(prio), Just(m), proptest::collection::vec(arb_action(table), 0..4), goto)
        })
        .prop_map(|(table, prio, m, mut actions, goto)| {
            if let Some(t) = goto {
                actions.push(OfAction::GotoTable(t));
            }
            let mut fm = FlowMod::new(FlowModCommand::Add);
            fm.table_id = table;
            fm.priority = prio * 100;
            fm.match_ = m;
            fm.actions = actions;
            fm
        })
}

fn arb_key() -> impl Strategy<Value = FlowKey> {
    (
        1..=N_PORTS,
        0..MACS.len() - 1,
        0..MACS.len(),
        prop_oneof![Just(0u16), Just(0x1000 | 10), Just(0x1000 | (3 << 13) | 20)],
        prop_oneof![Just((0x0800u16, 6u8)), Just((0x0800, 17)), Just((0x0800, 1)), Just((0x0806, 1)), Just((0x86dd, 17))],
        0..IPS.len(),
        0..IPS.len(),
        0..TP.len(),
        prop_oneof![Just(64u8), Just(1), Just(2)],
    )
        .prop_map(|(in_port, src, dst, vlan, (dl_type, proto), s, d, tp, ttl)| {
            let mut k = FlowKey::ZERO;
            k.in_port = in_port;
            k.dl_src = MACS[src];
            k.dl_dst = MACS[dst];
            k.vlan_tci = vlan;
            k.dl_type = dl_type;
            k.nw_proto = proto;
            match dl_type {
                0x0800 => {
                    k.nw_src = IPS[s];
                    k.nw_dst = IPS[d];
                    k.nw_ttl = ttl;
                    if proto != 1 {
                        k.tp_src = 1024;
                        k.tp_dst = TP[tp];
                    } else {
                        k.tp_src = 8;
                    }
                }
                0x0806 => {
                    k.nw_src = IPS[s];
                    k.nw_dst = IPS[d];
                    k.arp_sha = MACS[src];
                }
                _ => {
                    k.ipv6_src = 0xfe80 << 112 | s as u128;
                    k.ipv6_dst = 0xfe80 << 112 | d as u128;
                    k.nw_ttl = ttl;
                    k.tp_dst = TP[tp];
                }
            }
            k
        })
}

struct World {
    pipeline: Pipeline,
    bridge: XlateBridge,
    macs: Mutex<MacTable>,
}

fn world(rules: &[FlowMod]) -> World {
    let mut bridge = XlateBridge { name: "br0".into(), ..Default::default() };
    for p in 1..=N_PORTS {
        let vlan = match p {
            1 => VlanConfig::access(10),
            2 => VlanConfig::access(20),
            _ => VlanConfig::trunk(vec![]),
        };
        bridge.ports.insert(OfPort(p), XPort { ofport: OfPort(p), dp_port: 100 + p, name: format!("p{p}"), vlan, no_flood: p == 4, no_fwd: false });
    }
    // Ports 1 and 3 are live, for `bundle`.
    bridge.groups = Arc::new(rvs_flowcache::group::GroupTable { live_ports: [OfPort(1), OfPort(3)].into(), ..Default::default() });
    let mut pipeline = Pipeline::new();
    for fm in rules {
        pipeline.apply(fm, 0).unwrap();
    }
    World { pipeline, bridge, macs: Mutex::new(MacTable::default()) }
}

impl World {
    fn xlate(&self, key: FlowKey, may_learn: bool) -> XlateOutput {
        xlate(&XlateInput { pipeline: &self.pipeline, bridge: &self.bridge, macs: &self.macs, key, now_ms: 1, may_learn, trace: false })
    }
}

/// `key` with random bits changed outside `wc`.
fn twin(key: &FlowKey, wc: &FlowKey, noise: &[u64; FLOW_WORDS]) -> FlowKey {
    let mut t = *key;
    for ((w, m), n) in t.words_mut().iter_mut().zip(wc.words()).zip(noise) {
        *w ^= n & !m;
    }
    // Translation-only words are zero in every packet.
    t.conj_id = 0;
    t.pad = [0; 3];
    t
}

fn arb_noise() -> impl Strategy<Value = [u64; FLOW_WORDS]> {
    proptest::array::uniform30(prop_oneof![Just(0u64), any::<u64>(), (0u32..64).prop_map(|b| 1u64 << b)])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn megaflows_are_sound(
        rules in proptest::collection::vec(arb_rule(), 50..90),
        learned in proptest::collection::vec((0..MACS.len() - 1, 1..=N_PORTS, prop_oneof![Just(0u16), Just(10), Just(20)]), 0..6),
        keys in proptest::collection::vec((arb_key(), proptest::collection::vec(arb_noise(), 4)), 1..24),
    ) {
        let w = world(&rules);
        for (mac, port, vlan) in learned {
            w.macs.lock().unwrap().learn(vlan, MACS[mac], OfPort(port), 0);
        }
        for (key, noises) in keys {
            let out = w.xlate(key, false);
            prop_assert_eq!(out.wc.in_port, u32::MAX);
            for noise in &noises {
                let t = twin(&key, &out.wc, noise);
                let o2 = w.xlate(t, false);
                prop_assert_eq!(&o2.actions, &out.actions, "key {:?}\ntwin {:?}\nwc {:?}", key, t, out.wc);
                // `learn` reads through the mask too: every packet of a megaflow learns the same.
                prop_assert_eq!(&o2.learned, &out.learned, "key {:?}\ntwin {:?}\nwc {:?}", key, t, out.wc);
            }
        }
    }

    #[test]
    fn caches_answer_like_a_fresh_translation(
        rules in proptest::collection::vec(arb_rule(), 50..90),
        extra in proptest::collection::vec(arb_rule(), 0..10),
        keys in proptest::collection::vec(arb_key(), 1..60),
        change_at in 0usize..60,
    ) {
        let mut w = world(&rules);
        let mut pmd = Pmd::default();
        for (i, key) in keys.iter().enumerate() {
            if i == change_at {
                // A flow-mod batch: new rules, then a delete, then revalidation.
                for fm in &extra {
                    w.pipeline.apply(fm, 0).unwrap();
                }
                let mut del = FlowMod::new(FlowModCommand::Delete);
                del.table_id = 1;
                w.pipeline.apply(&del, 0).unwrap();
                pmd.revalidate(&w, 1);
            }
            let first = pmd.process(&w, key);
            pmd.revalidate(&w, 0);
            let fresh = w.xlate(*key, false);
            // The upcall's own answer already reflects what it learned.
            prop_assert_eq!(&first, &fresh.actions, "first answer for {:?}", key);
            // Once revalidated, the caches answer as a fresh translation: from a surviving
            // entry, or through a new upcall if revalidation removed it.
            let again = pmd.process(&w, key);
            prop_assert_eq!(&again, &w.xlate(*key, false).actions, "second answer for {:?}", key);
            for k in keys[..i].iter().rev().take(4) {
                if let Some(cached) = pmd.lookup(k) {
                    pmd.hits += 1;
                    prop_assert_eq!(&cached, &w.xlate(*k, false).actions, "cached answer for {:?}", k);
                }
            }
        }
    }
}

/// The PMD's side of the datapath, reduced to its caches, plus the revalidator's algorithm.
#[derive(Default)]
struct Pmd {
    emc: Option<Emc>,
    dpcls: MegaflowCache,
    registry: Vec<Arc<Megaflow>>,
    next_id: u64,
    version: u64,
    hits: u64,
}

impl Pmd {
    fn emc(&mut self) -> &mut Emc {
        self.emc.get_or_insert_with(|| Emc::new(64))
    }

    /// Lookup without upcall: EMC, then megaflow cache.
    fn lookup(&mut self, key: &FlowKey) -> Option<Vec<DpAction>> {
        let h = emc_hash(key);
        if let Some(f) = self.emc().lookup(key, h) {
            return Some(f.actions.to_vec());
        }
        let f = self.dpcls.lookup(key)?.clone();
        self.emc().insert(key, h, &f);
        Some(f.actions.to_vec())
    }

    fn process(&mut self, w: &World, key: &FlowKey) -> Vec<DpAction> {
        if let Some(a) = self.lookup(key) {
            return a;
        }
        let mac_gen = w.macs.lock().unwrap().generation();
        let out = w.xlate(*key, true);
        self.next_id += 1;
        let deps = XlateDeps::new(out.rules.clone(), self.version, out.used_normal.then_some(mac_gen), 0);
        let f = Arc::new(Megaflow::new(self.next_id, key, &out.wc, out.actions.clone(), deps, 0));
        assert!(self.dpcls.insert(f.clone()));
        self.registry.push(f.clone());
        self.emc().insert(key, emc_hash(key), &f);
        out.actions
    }

    /// The revalidator: re-translate stale megaflows, delete the ones that changed.
    fn revalidate(&mut self, w: &World, version_bump: u64) {
        self.version += version_bump;
        let mac_gen = w.macs.lock().unwrap().generation();
        let mut keep = Vec::new();
        for f in std::mem::take(&mut self.registry) {
            if !f.deps.is_stale(self.version, mac_gen, 0) {
                keep.push(f);
                continue;
            }
            let out = w.xlate(f.key, false);
            match revalidate(&f, &out.actions, &out.wc, &out.rules) {
                Revalidation::Keep => {
                    f.deps.refresh(self.version, mac_gen, 0);
                    keep.push(f);
                }
                Revalidation::Delete => {
                    f.dead.store(true, std::sync::atomic::Ordering::Relaxed);
                    assert!(self.dpcls.remove(&f));
                }
            }
        }
        self.registry = keep;
    }
}
