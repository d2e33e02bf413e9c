//! Property tests of the codec and the text syntax.
//!
//! * Decoding arbitrary bytes, and valid messages with random corruption, never panics.
//! * Random flow-mods built from canonical parts (values that are their own decoding) survive
//!   encode → decode unchanged; any flow-mod the encoder accepts reaches a fixed point after
//!   one round trip.
//! * Parsing arbitrary text never panics, and the printed form of a parsed flow parses back to
//!   the same flow-mod.

#[path = "common/arb.rs"]
mod arb;
use arb::arb_learn;
use proptest::prelude::*;
use rvs_openflow::check::{check, CheckContext, Protocols};
use rvs_openflow::msg::{decode, OfMessage, Version};
use rvs_openflow::text::{parse_flow, FlowFormatter};
use rvs_openflow::{FlowMod, FlowModCommand, Match, OfAction, OfPort};
use rvs_flowcache::ofp::{PacketInReason, SubField};
use rvs_flowcache::Field;
use rvs_packet::wire::MacAddr;

fn frame(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![4, msg_type, 0, 0, 0, 0, 0, 1];
    v.extend_from_slice(body);
    let n = v.len() as u16;
    v[2..4].copy_from_slice(&n.to_be_bytes());
    v
}

fn arb_match() -> impl Strategy<Value = Match> {
    (
        prop::option::of(1u32..0xff00),
        prop::option::of(any::<(u64, u64)>()),
        prop::option::of((any::<u32>(), any::<u32>())),
        0u8..6,
        prop::option::of((0u32..=32, any::<u32>())),
        prop::option::of(any::<u16>()),
        prop::option::of(0u16..0x1000),
    )
        .prop_map(|(in_port, metadata, reg, l3, ip, tp, vid)| {
            let mut m = Match::catchall();
            if let Some(p) = in_port {
                m.set(Field::InPort, p as u128);
            }
            if let Some((v, mask)) = metadata {
                m.set_masked(Field::Metadata, (v & mask) as u128, mask as u128);
            }
            if let Some((v, mask)) = reg {
                m.set_masked(Field::Reg5, (v & mask) as u128, mask as u128);
            }
            if let Some(vid) = vid {
                m.set_masked(Field::VlanVid, (0x1000 | vid) as u128, 0x1fff);
            }
            let (dl_type, proto) = match l3 {
                0 => (None, None),
                1 => (Some(0x0800), None),
                2 => (Some(0x0800), Some(6)),
                3 => (Some(0x0800), Some(17)),
                4 => (Some(0x86dd), Some(6)),
                _ => (Some(0x0806), None),
            };
            if let Some(t) = dl_type {
                m.set(Field::EthType, t);
            }
            if let Some(p) = proto {
                m.set(Field::IpProto, p);
            }
            if let (Some(0x0800), Some((plen, addr))) = (dl_type, ip) {
                let mask = if plen == 0 { 0 } else { u32::MAX << (32 - plen) };
                if mask != 0 {
                    m.set_masked(Field::IpDst, (addr & mask) as u128, mask as u128);
                }
            }
            if let (Some(_), Some(port)) = (proto, tp) {
                m.set(Field::TcpDst, port as u128);
            }
            m
        })
}

/// Actions whose OpenFlow 1.3 encoding decodes back to themselves.
fn arb_canonical_action() -> impl Strategy<Value = OfAction> {
    prop_oneof![
        (1u32..0xff00).prop_map(|p| OfAction::Output { port: OfPort(p), max_len: 0 }),
        (1u32..0xff00, 14u16..).prop_map(|(p, l)| OfAction::Output { port: OfPort(p), max_len: l }),
        any::<u16>().prop_map(|l| OfAction::Output { port: OfPort::CONTROLLER, max_len: l }),
        Just(OfAction::Output { port: OfPort::NORMAL, max_len: 0 }),
        (any::<u16>(), any::<u16>(), 0u8..3).prop_map(|(max_len, controller_id, r)| OfAction::Controller {
            max_len,
            controller_id,
            reason: [PacketInReason::NoMatch, PacketInReason::Action, PacketInReason::InvalidTtl][r as usize],
        }),
        (1u32..0xff00, any::<u32>()).prop_map(|(p, queue)| OfAction::Enqueue { port: OfPort(p), queue }),
        any::<u64>().prop_map(|v| OfAction::SetField { field: Field::EthSrc, value: (v & 0xffff_ffff_ffff) as u128, mask: 0xffff_ffff_ffff }),
        any::<u32>().prop_map(|v| OfAction::SetField { field: Field::Reg2, value: v as u128, mask: 0xffff_ffff }),
        any::<u64>().prop_map(|v| OfAction::SetField { field: Field::Metadata, value: v as u128, mask: u64::MAX as u128 }),
        (0u32..32, 1u32..=32, any::<u64>()).prop_map(|(ofs, n, v)| {
            let n = n.min(32 - ofs);
            let value = (v as u128) & ((1u128 << n) - 1);
            OfAction::RegLoad { dst: SubField { field: Field::Reg1, ofs, n_bits: n }, value }
        }),
        (0u32..32, 0u32..32, 1u32..=32).prop_map(|(a, b, n)| {
            let n = n.min(32 - a).min(32 - b);
            OfAction::RegMove { src: SubField { field: Field::Reg3, ofs: a, n_bits: n }, dst: SubField { field: Field::Reg4, ofs: b, n_bits: n } }
        }),
        prop::collection::vec(any::<u16>(), 1..5).prop_map(|controller_ids| OfAction::DecTtl { controller_ids }),
        (prop::option::of(1u32..0xff00), prop::option::of(0u8..255))
            .prop_filter("resubmit needs a port or a table", |(p, t)| p.is_some() || t.is_some())
            .prop_map(|(p, table)| OfAction::Resubmit { in_port: p.map(OfPort), table }),
        (0usize..3).prop_flat_map(|k| prop::collection::vec(any::<u8>(), 6 + 8 * k)).prop_map(OfAction::Note),
        Just(OfAction::PushVlan { ethertype: 0x88a8 }),
        any::<u8>().prop_map(OfAction::SetIpTtl),
        arb_learn(),
        (any::<u16>(), any::<u16>()).prop_map(|(idle, hard)| OfAction::FinTimeout { idle, hard }),
    ]
}


fn arb_flow_mod() -> impl Strategy<Value = FlowMod> {
    (
        arb_match(),
        prop::collection::vec(arb_canonical_action(), 0..6),
        (0u8..5, 0u8..254, any::<u16>(), any::<u64>(), any::<u64>()),
        (any::<u16>(), any::<u16>(), 0u16..32),
        (any::<bool>(), any::<bool>(), prop::option::of(any::<(u64, u64)>()), prop::option::of(1u8..255)),
    )
        .prop_map(|(match_, mut actions, (cmd, table, priority, cookie, mask), (idle, hard, flags), (clear, write, md, goto))| {
            let command = [
                FlowModCommand::Add,
                FlowModCommand::Modify,
                FlowModCommand::ModifyStrict,
                FlowModCommand::Delete,
                FlowModCommand::DeleteStrict,
            ][cmd as usize];
            let mut fm = FlowMod::new(command);
            fm.table_id = table;
            fm.priority = priority;
            if command == FlowModCommand::Add {
                fm.cookie = cookie;
            } else {
                fm.cookie = cookie & mask;
                fm.cookie_mask = mask;
            }
            fm.idle_timeout = idle;
            fm.hard_timeout = hard;
            fm.flags = flags;
            fm.match_ = match_;
            if clear {
                actions.push(OfAction::ClearActions);
            }
            if write {
                actions.push(OfAction::WriteActions(vec![OfAction::Output { port: OfPort(3), max_len: 0 }]));
            }
            if let Some((value, mask)) = md {
                actions.push(OfAction::WriteMetadata { value, mask });
            }
            if let Some(t) = goto {
                actions.push(OfAction::GotoTable(table.saturating_add(t).max(table + 1)));
            }
            fm.actions = actions;
            fm
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode(&bytes);
    }

    #[test]
    fn decoding_arbitrary_bodies_never_panics(t in 0u8..25, body in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode(&frame(t, &body));
    }

    #[test]
    fn decoding_corrupted_flow_mods_never_panics(fm in arb_flow_mod(), flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
        if let Ok(mut bytes) = OfMessage::flow_mod(fm).encode(Version::V1_3, 7) {
            for (i, b) in flips {
                let n = bytes.len();
                bytes[8 + i % (n - 8)] ^= b;
            }
            let keep = 8 + cut % (bytes.len() - 7);
            bytes.truncate(keep);
            let n = bytes.len() as u16;
            bytes[2..4].copy_from_slice(&n.to_be_bytes());
            let _ = decode(&bytes);
        }
    }

    #[test]
    fn canonical_flow_mods_survive_the_wire(fm in arb_flow_mod()) {
        let ctx = CheckContext { table_id: fm.table_id, ..CheckContext::default() };
        prop_assume!(check(&fm.match_, &fm.actions, &ctx).map(|p| p.contains(Protocols::OF13)).unwrap_or(false));
        let bytes = OfMessage::flow_mod(fm.clone()).encode(Version::V1_3, 7).unwrap();
        let (h, msg) = decode(&bytes).unwrap();
        prop_assert_eq!(h.xid, 7);
        let mut want = fm;
        if want.command != FlowModCommand::Delete && want.command != FlowModCommand::DeleteStrict {
            want.out_group = rvs_flowcache::ofp::ANY_GROUP;
        }
        prop_assert_eq!(msg, OfMessage::flow_mod(want));
    }

    #[test]
    fn every_encodable_flow_mod_is_a_fixed_point_after_one_trip(
        fm in arb_flow_mod(),
        extra in prop::sample::select(vec![
            OfAction::SetVlanVid { vid: 10, push_if_needed: true },
            OfAction::SetVlanPcp { pcp: 3, push_if_needed: true },
            OfAction::SetEthDst(MacAddr([2, 0, 0, 0, 0, 1])),
            OfAction::SetIpv4Src(0x0a00_0001),
            OfAction::SetIpDscp(16),
            OfAction::SetIpEcn(1),
            OfAction::SetL4DstPort(80),
            OfAction::DecTtl { controller_ids: vec![] },
            OfAction::SetField { field: Field::Reg0, value: 0x10, mask: 0xff0f },
            OfAction::Note(vec![1, 2]),
        ]),
    ) {
        let mut fm = fm;
        let n_apply = fm.actions.iter().take_while(|a| !a.is_instruction()).count();
        fm.actions.insert(n_apply, extra);
        let Ok(bytes) = OfMessage::flow_mod(fm).encode(Version::V1_3, 1) else { return Ok(()) };
        let Ok((_, once)) = decode(&bytes) else { return Ok(()) };
        let again = once.encode(Version::V1_3, 1).unwrap();
        prop_assert_eq!(&again, &bytes);
        prop_assert_eq!(decode(&again).unwrap().1, once);
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(s in "[a-z_0-9:=,()/.\\[\\]>+-]{0,80}") {
        let _ = parse_flow(&s, FlowModCommand::Add, None);
        let _ = parse_flow(&s, FlowModCommand::Delete, None);
    }

    #[test]
    fn parsing_arbitrary_unicode_never_panics(s in any::<String>()) {
        let _ = parse_flow(&s, FlowModCommand::Add, None);
        let _ = rvs_openflow::text::parse_flow_line(&s, None);
    }

    #[test]
    fn printed_flows_parse_back(fm in arb_flow_mod()) {
        let mut fm = fm;
        fm.command = FlowModCommand::Add;
        let ctx = CheckContext { table_id: fm.table_id, ..CheckContext::default() };
        prop_assume!(check(&fm.match_, &fm.actions, &ctx).map(|p| p.contains(Protocols::OF13)).unwrap_or(false));
        let f = FlowFormatter::new(Version::V1_3);
        let m = f.format_match(&fm.match_, fm.priority);
        let text = format!("table={},{} actions={}", fm.table_id, m, f.format_actions(&fm.actions));
        let parsed = parse_flow(&text, FlowModCommand::Add, None).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(&parsed.flow_mod.match_, &fm.match_, "{}", text);
        prop_assert_eq!(&parsed.flow_mod.actions, &fm.actions, "{}", text);
        prop_assert_eq!(parsed.flow_mod.priority, fm.priority);
    }
}

#[test]
fn a_message_with_a_huge_claimed_count_does_not_allocate_it() {
    // dec_ttl with n_controllers = 65535 but no ids.
    let act = [0xff, 0xff, 0, 16, 0, 0, 0x23, 0x20, 0, 21, 0xff, 0xff, 0, 0, 0, 0];
    let mut body = vec![0u8; 40];
    body[8 + 1..8 + 4].copy_from_slice(&[0, 0, 0]);
    body[18..20].copy_from_slice(&0x8000u16.to_be_bytes());
    body[20..32].copy_from_slice(&[0xff; 12]);
    body.extend_from_slice(&[0, 1, 0, 4, 0, 0, 0, 0]);
    body.extend_from_slice(&[0, 4, 0, 24, 0, 0, 0, 0]);
    body.extend_from_slice(&act);
    let msg = frame(14, &body);
    assert!(decode(&msg).is_err());
}
