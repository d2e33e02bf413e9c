//! Translation of `clone(...)`: the nested actions run on a copy of the packet, its
//! metadata and the action set, none of which outlast the clone (ovs-actions(7)).

use super::tests::{fixture, udp_key};
use super::*;
use crate::dpaction::format_actions;
use crate::ofp::{Match, SubField};

fn output(p: u32) -> OfAction {
    OfAction::Output { port: OfPort(p), max_len: 0 }
}

#[test]
fn header_rewrites_inside_a_clone_are_undone_after_it() {
    let mut f = fixture(3);
    f.add(0, 1, Match::catchall(), vec![OfAction::Clone(vec![OfAction::SetIpv4Dst(9), output(2)]), output(3)]);
    let o = f.xlate(udp_key(1, 1, 2));
    assert_eq!(format_actions(&o.actions), "set(ipv4(dst=0.0.0.9)),12,set(ipv4(dst=10.0.0.2)),13");
    assert_eq!(o.wc.nw_dst, u32::MAX, "the value written back is the packet's own");
    assert_eq!(o.final_flow.nw_dst, 0x0a00_0002);
}

#[test]
fn registers_set_inside_a_clone_do_not_leak() {
    let mut f = fixture(3);
    let reg0 = SubField::whole(Field::Reg0);
    let load = OfAction::RegLoad { dst: reg0, value: 5 };
    f.add(0, 1, Match::catchall(), vec![OfAction::Clone(vec![load]), OfAction::Resubmit { in_port: None, table: Some(1) }]);
    f.add(1, 2, *Match::catchall().set(Field::Reg0, 5), vec![output(2)]);
    f.add(1, 1, Match::catchall(), vec![output(3)]);
    let o = f.xlate(udp_key(1, 1, 2));
    assert_eq!(format_actions(&o.actions), "13");
    assert_eq!(o.final_flow.regs[0], 0);
}

#[test]
fn a_clone_sees_the_registers_set_before_it() {
    let mut f = fixture(3);
    let load = OfAction::RegLoad { dst: SubField::whole(Field::Reg0), value: 5 };
    let resubmit = OfAction::Resubmit { in_port: None, table: Some(1) };
    f.add(0, 1, Match::catchall(), vec![load, OfAction::Clone(vec![resubmit]), output(3)]);
    f.add(1, 2, *Match::catchall().set(Field::Reg0, 5), vec![output(2)]);
    let o = f.xlate(udp_key(1, 1, 2));
    assert_eq!(format_actions(&o.actions), "12,13");
}

#[test]
fn the_action_set_written_inside_a_clone_is_dropped() {
    let mut f = fixture(3);
    let resubmit = OfAction::Resubmit { in_port: None, table: Some(1) };
    f.add(0, 1, Match::catchall(), vec![OfAction::Clone(vec![resubmit]), output(2)]);
    f.add(1, 1, Match::catchall(), vec![OfAction::WriteActions(vec![output(3)])]);
    let o = f.xlate(udp_key(1, 1, 2));
    assert_eq!(format_actions(&o.actions), "12");
}

#[test]
fn a_ttl_expiring_inside_a_clone_ends_only_the_clone() {
    let mut f = fixture(3);
    let clone = OfAction::Clone(vec![OfAction::DecTtl { controller_ids: vec![] }, output(2)]);
    f.add(0, 1, Match::catchall(), vec![clone, output(3)]);
    let mut key = udp_key(1, 1, 2);
    key.nw_ttl = 1;
    let o = f.xlate(key);
    let text = format_actions(&o.actions);
    assert!(!text.contains("12"), "{text}");
    assert!(text.ends_with(",13") && text.contains("userspace"), "{text}");
    key.nw_ttl = 9;
    assert_eq!(format_actions(&f.xlate(key).actions), "set(ipv4(ttl=8)),12,set(ipv4(ttl=9)),13");
}
