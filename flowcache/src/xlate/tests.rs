//! Translation tests: each builds a small pipeline, translates a key and checks the datapath
//! actions and the megaflow mask.

use super::*;
use crate::dpaction::{format_actions, SetAction};
use crate::ofp::{FlowMod, FlowModCommand, Match, SubField};
use rvs_packet::wire::MacAddr;

const A: u64 = 0x0200_0000_000a;
const B: u64 = 0x0200_0000_000b;

pub(crate) struct Fixture {
    pub pipeline: Pipeline,
    pub bridge: XlateBridge,
    pub macs: Mutex<MacTable>,
}

/// Ports 1..=n with datapath numbers 10+n, all trunks, plus LOCAL (dp 1).
pub(crate) fn fixture(n: u32) -> Fixture {
    let mut bridge = XlateBridge { name: "br0".into(), ..Default::default() };
    for p in 1..=n {
        bridge.ports.insert(
            OfPort(p),
            XPort { ofport: OfPort(p), dp_port: 10 + p, name: format!("p{p}"), vlan: VlanConfig::default(), no_flood: false, no_fwd: false },
        );
    }
    bridge.ports.insert(
        OfPort::LOCAL,
        XPort { ofport: OfPort::LOCAL, dp_port: 1, name: "br0".into(), vlan: VlanConfig::default(), no_flood: false, no_fwd: false },
    );
    Fixture { pipeline: Pipeline::new(), bridge, macs: Mutex::new(MacTable::default()) }
}

impl Fixture {
    pub fn add(&mut self, table: u8, priority: u16, m: Match, actions: Vec<OfAction>) {
        let mut fm = FlowMod::new(FlowModCommand::Add);
        fm.table_id = table;
        fm.priority = priority;
        fm.match_ = m;
        fm.actions = actions;
        self.pipeline.apply(&fm, 0).unwrap();
    }

    pub fn xlate(&self, key: FlowKey) -> XlateOutput {
        self.xlate_at(key, 0, true)
    }

    pub fn xlate_at(&self, key: FlowKey, now_ms: u64, may_learn: bool) -> XlateOutput {
        xlate(&XlateInput { pipeline: &self.pipeline, bridge: &self.bridge, macs: &self.macs, key, now_ms, may_learn, trace: true })
    }
}

pub(crate) fn udp_key(in_port: u32, src: u64, dst: u64) -> FlowKey {
    let mut k = FlowKey::ZERO;
    k.in_port = in_port;
    k.dl_src = src;
    k.dl_dst = dst;
    k.dl_type = 0x0800;
    k.nw_proto = 17;
    k.nw_src = 0x0a00_0001;
    k.nw_dst = 0x0a00_0002;
    k.nw_ttl = 64;
    k.tp_src = 1024;
    k.tp_dst = 53;
    k
}

fn out(o: &XlateOutput) -> String {
    format_actions(&o.actions)
}

fn m() -> Match {
    Match::catchall()
}

fn output(p: u32) -> OfAction {
    OfAction::Output { port: OfPort(p), max_len: 0 }
}

#[test]
fn simple_output_wildcards_all_but_in_port() {
    let mut f = fixture(2);
    f.add(0, 100, *m().set(Field::InPort, 1), vec![output(2)]);
    let o = f.xlate(udp_key(1, A, B));
    assert_eq!(out(&o), "12");
    let mut want = FlowKey::ZERO;
    want.in_port = u32::MAX;
    want.recirc_id = u32::MAX;
    assert_eq!(o.wc, want, "only in_port and recirc_id are exact");
    assert_eq!(o.rules.len(), 1);
}

#[test]
fn table_miss_drops() {
    let f = fixture(2);
    let o = f.xlate(udp_key(1, A, B));
    assert_eq!(out(&o), "drop");
    assert!(o.rules.is_empty());
}

#[test]
fn output_to_the_input_port_needs_in_port() {
    let mut f = fixture(2);
    f.add(0, 100, m(), vec![output(1)]);
    assert_eq!(out(&f.xlate(udp_key(1, A, B))), "drop");
    let mut f = fixture(2);
    f.add(0, 100, m(), vec![OfAction::Output { port: OfPort::IN_PORT, max_len: 0 }]);
    assert_eq!(out(&f.xlate(udp_key(1, A, B))), "11");
}

#[test]
fn normal_floods_learns_and_forwards() {
    let mut f = fixture(3);
    f.add(0, 0, m(), vec![OfAction::Output { port: OfPort::NORMAL, max_len: 0 }]);
    // A -> B, B unknown: flood to 2, 3 and LOCAL.
    let o = f.xlate(udp_key(1, A, B));
    assert_eq!(out(&o), "12,13,1");
    assert_eq!(o.wc.dl_src & 0xffff_ffff_ffff, 0xffff_ffff_ffff);
    assert_eq!(o.wc.dl_dst & 0xffff_ffff_ffff, 0xffff_ffff_ffff);
    assert_eq!(o.wc.vlan_tci & 0x1fff, 0x1fff);
    assert!(o.used_normal);
    // B -> A: A was learned on port 1.
    let o = f.xlate(udp_key(2, B, A));
    assert_eq!(out(&o), "11");
    // A -> B now known on port 2.
    assert_eq!(out(&f.xlate(udp_key(1, A, B))), "12");
    // Broadcast floods.
    assert_eq!(out(&f.xlate(udp_key(1, A, 0xffff_ffff_ffff))), "12,13,1");
    // Reserved multicast is dropped.
    assert_eq!(out(&f.xlate(udp_key(1, A, 0x0180_c200_0000))), "drop");
}

#[test]
fn normal_without_learning_leaves_the_table_alone() {
    let mut f = fixture(2);
    f.add(0, 0, m(), vec![OfAction::Output { port: OfPort::NORMAL, max_len: 0 }]);
    f.xlate_at(udp_key(1, A, B), 0, false);
    assert!(f.macs.lock().unwrap().is_empty());
}

#[test]
fn normal_vlans_access_and_trunk() {
    let mut f = fixture(4);
    f.bridge.ports.get_mut(&OfPort(1)).unwrap().vlan = VlanConfig::access(10);
    f.bridge.ports.get_mut(&OfPort(2)).unwrap().vlan = VlanConfig::access(10);
    f.bridge.ports.get_mut(&OfPort(3)).unwrap().vlan = VlanConfig::access(20);
    f.bridge.ports.get_mut(&OfPort(4)).unwrap().vlan = VlanConfig::trunk(vec![]);
    f.bridge.ports.get_mut(&OfPort::LOCAL).unwrap().vlan = VlanConfig::access(99);
    f.add(0, 0, m(), vec![OfAction::Output { port: OfPort::NORMAL, max_len: 0 }]);
    // Untagged on access port 1 (VLAN 10): flood to port 2 untagged, trunk 4 tagged 10.
    let o = f.xlate(udp_key(1, A, 0xffff_ffff_ffff));
    assert_eq!(out(&o), "12,push_vlan(vid=10,pcp=0),14");
    // Tagged VLAN 20 with priority 5 on the trunk: to port 3 untagged only.
    let mut k = udp_key(4, B, 0xffff_ffff_ffff);
    k.vlan_tci = crate::key::VLAN_PRESENT | (5 << 13) | 20;
    assert_eq!(out(&f.xlate(k)), "pop_vlan,13");
    // Tagged VLAN 10 from the trunk to the learned A on port 1 (untagged).
    k.vlan_tci = crate::key::VLAN_PRESENT | (5 << 13) | 10;
    k.dl_dst = A;
    assert_eq!(out(&f.xlate(k)), "pop_vlan,11");
    // A tagged frame on an access port is dropped.
    let mut k = udp_key(1, A, B);
    k.vlan_tci = crate::key::VLAN_PRESENT | 10;
    assert_eq!(out(&f.xlate(k)), "drop");
    // Flooding from access 10 keeps priority 0 and excludes VLAN 20 and 99 ports.
    let o = f.xlate(udp_key(2, B, 0xffff_ffff_ffff));
    assert_eq!(out(&o), "11,push_vlan(vid=10,pcp=0),14");
    // Retagging from the trunk keeps the frame's priority: 10 with pcp 5 from trunk to... a
    // second trunk.
    f.bridge.ports.get_mut(&OfPort(3)).unwrap().vlan = VlanConfig::trunk(vec![10]);
    let mut k = udp_key(4, B, 0xffff_ffff_ffff);
    k.vlan_tci = crate::key::VLAN_PRESENT | (5 << 13) | 10;
    assert_eq!(out(&f.xlate(k)), "pop_vlan,11,12,push_vlan(vid=10,pcp=5),13");
}

#[test]
fn rewrites_are_committed_before_output() {
    let mut f = fixture(2);
    f.add(0, 100, m(), vec![
        OfAction::SetIpv4Dst(0x0a00_0009),
        OfAction::SetL4DstPort(5353),
        OfAction::SetEthSrc(MacAddr([0, 0, 0, 0, 0, 1])),
        output(2),
    ]);
    let o = f.xlate(udp_key(1, A, B));
    assert_eq!(out(&o), "set(eth(src=00:00:00:00:00:01)),set(ipv4(dst=10.0.0.9)),set(udp(dst=5353)),12");
    assert_eq!(o.wc.dl_type, 0xffff);
    assert_eq!(o.wc.nw_proto, 0xff);
    assert_eq!(o.wc.nw_dst, 0, "a rewrite does not read the old value");
    // On a non-IP packet the IP rewrites do nothing.
    let mut k = udp_key(1, A, B);
    k.dl_type = 0x0806;
    assert_eq!(out(&f.xlate(k)), "set(eth(src=00:00:00:00:00:01)),12");
}

#[test]
fn dscp_rewrite_reads_ecn() {
    let mut f = fixture(2);
    f.add(0, 100, m(), vec![OfAction::SetIpDscp(0xb8), output(2)]);
    let mut k = udp_key(1, A, B);
    k.nw_tos = 0x01;
    let o = f.xlate(k);
    assert_eq!(out(&o), "set(ipv4(tos=0xb9)),12");
    assert_eq!(o.wc.nw_tos, 0x03, "the ECN bits come from the packet");
}

#[test]
fn dec_ttl_reads_the_ttl_and_expires_to_the_controller() {
    let mut f = fixture(2);
    f.add(0, 100, m(), vec![OfAction::DecTtl { controller_ids: vec![] }, output(2)]);
    let o = f.xlate(udp_key(1, A, B));
    assert_eq!(out(&o), "set(ipv4(ttl=63)),12");
    assert_eq!(o.wc.nw_ttl, 0xff);
    let mut k = udp_key(1, A, B);
    k.nw_ttl = 1;
    let o = f.xlate(k);
    assert_eq!(o.actions.len(), 1);
    match &o.actions[0] {
        DpAction::Controller(c) => assert_eq!(c.reason, PacketInReason::InvalidTtl),
        a => panic!("{a:?}"),
    }
}

#[test]
fn resubmit_with_registers_and_goto_table() {
    let mut f = fixture(3);
    let reg0 = SubField::whole(Field::Reg0);
    f.add(0, 100, *m().set(Field::InPort, 1), vec![
        OfAction::RegLoad { dst: reg0, value: 5 },
        OfAction::Resubmit { in_port: None, table: Some(1) },
        OfAction::GotoTable(2),
    ]);
    f.add(1, 100, *m().set(Field::Reg0, 5), vec![output(2)]);
    f.add(2, 100, *m().set(Field::Reg0, 5), vec![output(3)]);
    let o = f.xlate(udp_key(1, A, B));
    assert_eq!(out(&o), "12,13");
    assert_eq!(o.rules.len(), 3);
    // A resubmit with another in_port sees it, and it is restored afterwards.
    let mut f = fixture(3);
    f.add(0, 100, *m().set(Field::InPort, 1), vec![OfAction::Resubmit { in_port: Some(OfPort(3)), table: Some(1) }, output(2)]);
    f.add(1, 100, *m().set(Field::InPort, 3), vec![OfAction::Output { port: OfPort::IN_PORT, max_len: 0 }]);
    assert_eq!(out(&f.xlate(udp_key(1, A, B))), "13,12");
}

#[test]
fn resubmit_loops_are_cut_and_dropped() {
    let mut f = fixture(2);
    f.add(0, 100, m(), vec![output(2), OfAction::Resubmit { in_port: None, table: Some(0) }]);
    let o = f.xlate(udp_key(1, A, B));
    assert_eq!(o.error, Some(XlateError::RecursionTooDeep));
    assert_eq!(out(&o), "drop");
}

#[test]
fn vlan_actions() {
    let mut f = fixture(2);
    f.add(0, 100, m(), vec![OfAction::SetVlanVid { vid: 10, push_if_needed: true }, output(2)]);
    assert_eq!(out(&f.xlate(udp_key(1, A, B))), "push_vlan(vid=10,pcp=0),12");
    let mut k = udp_key(1, A, B);
    k.vlan_tci = crate::key::VLAN_PRESENT | (3 << 13) | 20;
    assert_eq!(out(&f.xlate(k)), "pop_vlan,push_vlan(vid=10,pcp=3),12");
    let mut f = fixture(2);
    f.add(0, 100, m(), vec![OfAction::StripVlan, output(2)]);
    assert_eq!(out(&f.xlate(k)), "pop_vlan,12");
    assert_eq!(out(&f.xlate(udp_key(1, A, B))), "12");
    // set_field on vlan_vid leaves untagged packets alone.
    let mut f = fixture(2);
    f.add(0, 100, m(), vec![OfAction::SetField { field: Field::VlanVid, value: 0x1000 | 30, mask: u128::MAX }, output(2)]);
    assert_eq!(out(&f.xlate(udp_key(1, A, B))), "12");
    assert_eq!(out(&f.xlate(k)), "pop_vlan,push_vlan(vid=30,pcp=3),12");
}

#[test]
fn flood_all_local_and_controller() {
    let mut f = fixture(3);
    f.bridge.ports.get_mut(&OfPort(3)).unwrap().no_flood = true;
    f.add(0, 100, m(), vec![OfAction::Output { port: OfPort::FLOOD, max_len: 0 }]);
    assert_eq!(out(&f.xlate(udp_key(1, A, B))), "12,1");
    let mut f = fixture(3);
    f.add(0, 100, m(), vec![OfAction::Output { port: OfPort::ALL, max_len: 0 }, OfAction::Output { port: OfPort::LOCAL, max_len: 0 }]);
    assert_eq!(out(&f.xlate(udp_key(1, A, B))), "12,13,1,1");
    let mut f = fixture(1);
    f.add(0, 100, m(), vec![OfAction::SetIpv4Dst(7), OfAction::Output { port: OfPort::CONTROLLER, max_len: 128 }]);
    let o = f.xlate(udp_key(1, A, B));
    assert!(matches!(&o.actions[0], DpAction::Set(SetAction::Ipv4 { dst: Some(7), .. })), "committed before the packet-in");
    match &o.actions[1] {
        DpAction::Controller(c) => {
            assert_eq!((c.reason, c.max_len), (PacketInReason::Action, 128));
            assert_eq!(c.pipeline_fields[0], (Field::InPort, 1));
        }
        a => panic!("{a:?}"),
    }
}

#[test]
fn write_actions_run_at_the_end() {
    let mut f = fixture(3);
    f.add(0, 100, m(), vec![
        OfAction::WriteActions(vec![output(3), OfAction::SetIpv4Dst(9)]),
        OfAction::GotoTable(1),
    ]);
    f.add(1, 100, m(), vec![output(2), OfAction::WriteActions(vec![output(2)])]);
    let o = f.xlate(udp_key(1, A, B));
    assert_eq!(out(&o), "12,set(ipv4(dst=0.0.0.9)),12");
    let mut f = fixture(3);
    f.add(0, 100, m(), vec![OfAction::WriteActions(vec![output(3)]), OfAction::ClearActions]);
    assert_eq!(out(&f.xlate(udp_key(1, A, B))), "drop");
}

#[test]
fn move_reads_its_source() {
    let mut f = fixture(3);
    f.add(0, 100, m(), vec![
        OfAction::RegMove { src: SubField { field: Field::IpSrc, ofs: 0, n_bits: 8 }, dst: SubField { field: Field::Reg1, ofs: 0, n_bits: 8 } },
        OfAction::Resubmit { in_port: None, table: Some(1) },
    ]);
    f.add(1, 100, *m().set(Field::Reg1, 1), vec![output(2)]);
    f.add(1, 50, m(), vec![output(3)]);
    let o = f.xlate(udp_key(1, A, B));
    assert_eq!(out(&o), "12");
    assert_eq!(o.wc.nw_src & 0xff, 0xff, "the moved source bits are in the megaflow");
}

#[test]
fn trace_records_tables_and_notes() {
    let mut f = fixture(2);
    f.add(0, 0, m(), vec![OfAction::Output { port: OfPort::NORMAL, max_len: 0 }]);
    let o = f.xlate(udp_key(1, A, B));
    assert!(matches!(o.trace[0], TraceEvent::Table { table: 0, rule: Some(_), .. }));
    assert!(o.trace.iter().any(|e| matches!(e, TraceEvent::Note { text, .. } if text.contains("flooding"))));
}

/// `learn` as br-tun's table 10 uses it: the flow-mod comes back in `learned`, built from the
/// packet, and exactly the source bits are un-wildcarded.
#[test]
fn learn_builds_from_the_packet_and_unwildcards_its_sources() {
    use crate::learn::{Learn, LearnDst, LearnSpec, LearnSrc};
    let mut f = fixture(3);
    let learn = Learn {
        table_id: 20,
        priority: 1,
        hard_timeout: 300,
        specs: vec![
            LearnSpec {
                src: LearnSrc::Field(SubField { field: Field::VlanTci, ofs: 0, n_bits: 12 }),
                dst: LearnDst::Match(SubField { field: Field::VlanTci, ofs: 0, n_bits: 12 }),
                n_bits: 12,
            },
            LearnSpec { src: LearnSrc::Field(SubField::whole(Field::EthSrc)), dst: LearnDst::Match(SubField::whole(Field::EthDst)), n_bits: 48 },
            LearnSpec { src: LearnSrc::Field(SubField { field: Field::InPort, ofs: 0, n_bits: 16 }), dst: LearnDst::Output, n_bits: 16 },
        ],
        ..Learn::default()
    };
    f.add(0, 1, m(), vec![OfAction::Learn(Box::new(learn)), output(3)]);
    let mut k = udp_key(1, A, B);
    k.vlan_tci = 0x1000 | 5;
    let o = f.xlate(k);
    assert_eq!(out(&o), "13");
    assert_eq!(o.learned.len(), 1);
    let fm = &o.learned[0];
    assert_eq!((fm.table_id, fm.priority, fm.hard_timeout), (20, 1, 300));
    assert_eq!(fm.match_.get(Field::EthDst), Some((A as u128, 0xffff_ffff_ffff)));
    assert_eq!(fm.match_.get(Field::VlanTci), Some((5, 0x0fff)));
    assert_eq!(fm.actions, vec![output(1)]);
    assert_eq!(o.wc.dl_src, 0xffff_ffff_ffff);
    assert_eq!(o.wc.vlan_tci & 0x0fff, 0x0fff);
    assert_eq!(o.wc.dl_dst, 0, "learn does not read eth_dst");
    assert!(o.trace.iter().any(|e| matches!(e, TraceEvent::Learned { .. })));
    // Any packet that agrees on the mask learns the same flow.
    let mut twin = k;
    twin.dl_dst = 0x0200_0000_00ff;
    twin.nw_dst = 0x0a00_0009;
    assert_eq!(f.xlate(twin).learned, o.learned);
    // Translation does not install anything itself.
    assert_eq!(f.pipeline.n_rules(), 1);
}

/// `set_tunnel` writes the tunnel id (metadata only: no datapath action without a tunnel
/// port); `output:FIELD[]` outputs to the port held in the field and un-wildcards exactly
/// those bits; `sample` does nothing without an IPFIX exporter.
#[test]
fn set_tunnel_output_reg_and_sample() {
    let mut f = fixture(3);
    let reg0_low = SubField { field: Field::Reg0, ofs: 0, n_bits: 16 };
    f.add(
        0,
        1,
        m(),
        vec![
            OfAction::SetTunnel { id: 0x64, wide: false },
            OfAction::Sample { probability: 100, collector_set_id: 1, obs_domain_id: 2, obs_point_id: 3, sampling_port: OfPort::ANY, direction: 0 },
            OfAction::RegLoad { dst: reg0_low, value: 2 },
            OfAction::Resubmit { in_port: None, table: Some(1) },
        ],
    );
    f.add(1, 1, m(), vec![OfAction::OutputReg { src: reg0_low, max_len: 0 }]);
    let o = f.xlate(udp_key(1, A, B));
    assert_eq!(out(&o), "12");
    assert_eq!(o.final_flow.tun_id, 0x64);
    // Reading a register the packet brings in un-wildcards the bits read.
    let mut f = fixture(3);
    f.add(0, 1, m(), vec![OfAction::OutputReg { src: SubField { field: Field::Reg1, ofs: 4, n_bits: 8 }, max_len: 0 }]);
    let mut k = udp_key(1, A, B);
    k.regs[1] = 3 << 4;
    let o = f.xlate(k);
    assert_eq!(out(&o), "13");
    assert_eq!(o.wc.regs[1], 0xff0);
    k.regs[1] = 0xfff << 4; // port 0xff: no such port
    assert_eq!(out(&f.xlate(k)), "drop");
}

/// `fin_timeout` records the rule, un-wildcards the protocol, and, applied after a FIN, lowers
/// the timeouts the pipeline expires the rule by (a rule without timeouts gets one).
#[test]
fn fin_timeout_lowers_timeouts_after_fin() {
    let mut f = fixture(2);
    let mut tcp = Match::catchall();
    tcp.set(Field::EthType, 0x0800).set(Field::IpProto, 6);
    f.add(0, 1, tcp, vec![OfAction::FinTimeout { idle: 5, hard: 0 }, output(2)]);
    let mut k = udp_key(1, A, B);
    k.nw_proto = 6;
    let o = f.xlate(k);
    assert_eq!(out(&o), "12");
    assert_eq!(o.wc.nw_proto, 0xff);
    assert_eq!(o.fin_timeouts.len(), 1);
    let (rule, idle, hard) = o.fin_timeouts[0].clone();
    assert_eq!((idle, hard), (5, 0));
    assert_eq!(rule.timeouts(), (0, 0));
    let deps = crate::megaflow::XlateDeps::new(o.rules.clone(), 0, None, 0).with_fin_timeouts(o.fin_timeouts.clone());
    deps.apply_fin_timeouts(0x010); // ACK only: nothing
    assert_eq!(rule.timeouts(), (0, 0));
    assert!(f.pipeline.expire(60_000).is_empty());
    deps.apply_fin_timeouts(0x011); // FIN|ACK
    assert_eq!(rule.timeouts(), (5, 0));
    rule.stats.reduce_timeouts(9, 0); // never raised
    assert_eq!(rule.timeouts(), (5, 0));
    assert_eq!(f.pipeline.expire(60_000).len(), 1, "idle for 60 s with a 5 s idle timeout");
}

#[test]
fn connection_tracking_and_mpls_drop_the_packet() {
    // The switch refuses flows with ct or MPLS actions; should one reach translation,
    // nothing is forwarded.
    for unsupported in [OfAction::CtClear, OfAction::PushMpls { ethertype: 0x8847 }, OfAction::DecMplsTtl] {
        let mut f = fixture(2);
        f.add(0, 1, m(), vec![output(2), unsupported.clone(), output(1)]);
        let o = f.xlate(udp_key(1, A, B));
        assert_eq!(out(&o), "drop", "{unsupported:?}");
        assert_eq!(o.error, Some(XlateError::Unsupported));
    }
}
