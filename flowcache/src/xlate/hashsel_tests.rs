//! Translation of `multipath` and `bundle`: the choice, where it goes, and the megaflow mask.

use std::sync::Arc;

use super::tests::{fixture, udp_key, Fixture};
use super::*;
use crate::dpaction::format_actions;
use crate::hashsel::{choose_link, hash_fields, Bundle, BundleAlgorithm, HashFields, Multipath, MultipathAlgorithm};
use crate::ofp::{Match, SubField};

fn output(p: u32) -> OfAction {
    OfAction::Output { port: OfPort(p), max_len: 0 }
}

fn multipath(fields: HashFields, n_links: u16) -> OfAction {
    OfAction::Multipath(Box::new(Multipath {
        fields,
        basis: 0,
        algorithm: MultipathAlgorithm::HashThreshold,
        max_link: n_links - 1,
        arg: 0,
        dst: SubField::whole(Field::Reg0),
    }))
}

/// Ports 1..=4; table 0 runs `first`, then resubmits to table 1, which outputs to port
/// `reg0 + 1`.
fn with_links(first: OfAction) -> Fixture {
    let mut f = fixture(4);
    f.add(0, 1, Match::catchall(), vec![first, OfAction::Resubmit { in_port: None, table: Some(1) }]);
    for link in 0..4u32 {
        f.add(1, 1, *Match::catchall().set(Field::Reg0, link as u128), vec![output(link + 1)]);
    }
    f
}

#[test]
fn multipath_writes_the_chosen_link_and_unwildcards_what_it_hashed() {
    let f = with_links(multipath(HashFields::SymmetricL4, 4));
    let mut seen = std::collections::BTreeSet::new();
    for sport in 1000..1040u16 {
        let mut key = udp_key(9, 1, 2);
        key.nw_proto = 6;
        key.tp_src = sport;
        let o = f.xlate(key);
        let want = choose_link(hash_fields(HashFields::SymmetricL4, 0, |fl| fl.get(&key)), MultipathAlgorithm::HashThreshold, 4, 0);
        assert_eq!(o.final_flow.regs[0], u32::from(want));
        assert_eq!(format_actions(&o.actions), format!("{}", 11 + u32::from(want)));
        assert_eq!((o.wc.dl_src, o.wc.dl_dst), (0xffff_ffff_ffff, 0xffff_ffff_ffff));
        assert_eq!((o.wc.nw_src, o.wc.nw_dst, o.wc.nw_proto), (u32::MAX, u32::MAX, u8::MAX));
        assert_eq!((o.wc.tp_src, o.wc.tp_dst), (u16::MAX, u16::MAX), "TCP ports are hashed");
        seen.insert(want);
    }
    assert!(seen.len() > 1, "the source port moves flows between links");
}

#[test]
fn multipath_on_the_ethernet_source_leaves_l3_wildcarded() {
    let f = with_links(multipath(HashFields::EthSrc, 4));
    let o = f.xlate(udp_key(9, 0x0200_0000_0001, 2));
    assert_eq!(o.wc.dl_src, 0xffff_ffff_ffff);
    assert_eq!((o.wc.dl_dst, o.wc.nw_src, o.wc.tp_src), (0, 0, 0));
}

#[test]
fn symmetric_l3l4_ignores_udp_ports_unless_asked() {
    let f = with_links(multipath(HashFields::SymmetricL3L4, 4));
    let o = f.xlate(udp_key(9, 1, 2));
    assert_eq!((o.wc.tp_src, o.wc.tp_dst), (0, 0));
    let f = with_links(multipath(HashFields::SymmetricL3L4Udp, 4));
    let o = f.xlate(udp_key(9, 1, 2));
    assert_eq!((o.wc.tp_src, o.wc.tp_dst), (u16::MAX, u16::MAX));
}

fn bundle(algorithm: BundleAlgorithm, members: &[u32], dst: Option<SubField>) -> OfAction {
    OfAction::Bundle(Box::new(Bundle {
        fields: HashFields::EthSrc,
        basis: 0,
        algorithm,
        members: members.iter().map(|p| OfPort(*p)).collect(),
        dst,
    }))
}

fn live(f: &mut Fixture, ports: &[u32]) {
    f.bridge.groups = Arc::new(GroupTable { live_ports: ports.iter().map(|p| OfPort(*p)).collect(), ..Default::default() });
}

#[test]
fn active_backup_outputs_to_the_first_live_member() {
    let mut f = fixture(4);
    f.add(0, 1, Match::catchall(), vec![bundle(BundleAlgorithm::ActiveBackup, &[2, 3], None)]);
    live(&mut f, &[2, 3]);
    assert_eq!(format_actions(&f.xlate(udp_key(1, 1, 2)).actions), "12");
    live(&mut f, &[3]);
    let o = f.xlate(udp_key(1, 1, 2));
    assert_eq!(format_actions(&o.actions), "13");
    assert_eq!(o.wc.dl_src, 0, "active_backup hashes nothing");
    live(&mut f, &[]);
    assert_eq!(format_actions(&f.xlate(udp_key(1, 1, 2)).actions), "drop");
}

#[test]
fn hrw_spreads_over_live_members_only() {
    let mut f = fixture(4);
    f.add(0, 1, Match::catchall(), vec![bundle(BundleAlgorithm::Hrw, &[2, 3, 4], None)]);
    live(&mut f, &[2, 3, 4]);
    let outs: std::collections::BTreeSet<String> =
        (1..60u64).map(|mac| format_actions(&f.xlate(udp_key(1, 0x0200_0000_0000 | mac, 2)).actions)).collect();
    assert_eq!(outs.into_iter().collect::<Vec<_>>(), ["12", "13", "14"]);
    live(&mut f, &[3]);
    for mac in 1..20u64 {
        let o = f.xlate(udp_key(1, 0x0200_0000_0000 | mac, 2));
        assert_eq!(format_actions(&o.actions), "13");
        assert_eq!(o.wc.dl_src, 0xffff_ffff_ffff);
    }
}

#[test]
fn bundle_load_writes_the_member_or_none() {
    let mut f = fixture(4);
    let dst = SubField { field: Field::Reg1, ofs: 0, n_bits: 16 };
    f.add(0, 1, Match::catchall(), vec![bundle(BundleAlgorithm::ActiveBackup, &[4, 2], Some(dst)), output(3)]);
    live(&mut f, &[2]);
    let o = f.xlate(udp_key(1, 1, 2));
    assert_eq!(o.final_flow.regs[1], 2);
    assert_eq!(format_actions(&o.actions), "13", "bundle_load does not output");
    live(&mut f, &[]);
    assert_eq!(f.xlate(udp_key(1, 1, 2)).final_flow.regs[1], 0xffff);
}
