//! Property tests of the OpenFlow 1.0 codec.
//!
//! * Decoding arbitrary OpenFlow 1.0 bytes, bodies of every message type (Nicira vendor
//!   messages and statistics included), and valid messages with random corruption, never
//!   panics, in every session state.
//! * Flow-mods that the session's match format can express survive encode → decode unchanged
//!   (up to what OpenFlow 1.0 adds: the `reset_counts` flag of an addition), with and without
//!   table ids, in both flow formats; and whatever decodes encodes back to the same bytes.

#[path = "common/arb.rs"]
mod arb;
use arb::arb_learn;
use proptest::prelude::*;
use rvs_flowcache::ofp::{flow_flags, SubField};
use rvs_flowcache::Field;
use rvs_openflow::msg::{OfMessage, Version};
use rvs_openflow::session::{FlowFormat, PacketInFormat, Session};
use rvs_openflow::{FlowMod, FlowModCommand, Match, OfAction, OfPort};

fn frame(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![1, msg_type, 0, 0, 0, 0, 0, 1];
    v.extend_from_slice(body);
    let n = v.len() as u16;
    v[2..4].copy_from_slice(&n.to_be_bytes());
    v
}

fn arb_session() -> impl Strategy<Value = Session> {
    (any::<bool>(), any::<bool>(), 0u8..3).prop_map(|(nxm, tid, pif)| Session {
        flow_format: if nxm { FlowFormat::Nxm } else { FlowFormat::OpenFlow10 },
        table_id_extension: tid,
        packet_in_format: [PacketInFormat::Standard, PacketInFormat::Nxt, PacketInFormat::Nxt2][pif as usize],
        ..Session::new(Version::V1_0)
    })
}

fn arb_match(nxm: bool) -> impl Strategy<Value = Match> {
    (prop::option::of(1u32..0xff00), 0u8..5, prop::option::of((0u32..=32, any::<u32>())), prop::option::of(any::<u16>()), prop::option::of(0u16..0x1000), prop::option::of(any::<u32>()))
        .prop_map(move |(in_port, l3, ip, tp, vid, reg)| {
            let mut m = Match::catchall();
            if let Some(p) = in_port {
                m.set(Field::InPort, p as u128);
            }
            if let Some(vid) = vid {
                m.set_masked(Field::VlanTci, (0x1000 | vid) as u128, 0x1fff);
            }
            let (dl_type, proto) = [(None, None), (Some(0x0800), None), (Some(0x0800), Some(6)), (Some(0x0800), Some(17)), (Some(0x0806), None)][l3 as usize];
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
            if let (true, Some(r)) = (nxm, reg) {
                m.set(Field::Reg3, r as u128);
            }
            m
        })
}

/// Actions whose OpenFlow 1.0 encoding decodes back to themselves.
fn arb_action() -> impl Strategy<Value = OfAction> {
    prop_oneof![
        (1u32..0xff00).prop_map(|p| OfAction::Output { port: OfPort(p), max_len: 0 }),
        any::<u16>().prop_map(|l| OfAction::Output { port: OfPort::CONTROLLER, max_len: l }),
        (1u32..0xff00, any::<u32>()).prop_map(|(p, queue)| OfAction::Enqueue { port: OfPort(p), queue }),
        (0u16..0x1000).prop_map(|vid| OfAction::SetVlanVid { vid, push_if_needed: true }),
        (0u8..8).prop_map(|pcp| OfAction::SetVlanPcp { pcp, push_if_needed: true }),
        Just(OfAction::StripVlan),
        any::<u32>().prop_map(OfAction::SetIpv4Dst),
        (0u8..64).prop_map(|d| OfAction::SetIpDscp(d << 2)),
        any::<u16>().prop_map(OfAction::SetL4SrcPort),
        (0u32..32, 1u32..=32, any::<u32>()).prop_map(|(ofs, n, v)| {
            let n = n.min(32 - ofs);
            OfAction::RegLoad { dst: SubField { field: Field::Reg1, ofs, n_bits: n }, value: (v as u128) & ((1u128 << n) - 1) }
        }),
        prop::collection::vec(any::<u16>(), 1..4).prop_map(|controller_ids| OfAction::DecTtl { controller_ids }),
        (prop::option::of(1u32..0xff00), prop::option::of(0u8..255))
            .prop_filter("a port or a table", |(p, t)| p.is_some() || t.is_some())
            .prop_map(|(p, table)| OfAction::Resubmit { in_port: p.map(OfPort), table }),
        arb_learn(),
        (any::<u16>(), any::<u16>()).prop_map(|(idle, hard)| OfAction::FinTimeout { idle, hard }),
    ]
}


fn arb_flow_mod(nxm: bool) -> impl Strategy<Value = FlowMod> {
    (arb_match(nxm), prop::collection::vec(arb_action(), 0..5), 0u8..5, 0u8..254, any::<u16>(), any::<u64>(), any::<u64>(), 0u16..4)
        .prop_map(move |(match_, actions, cmd, table, priority, cookie, mask, flags)| {
            let command = [FlowModCommand::Add, FlowModCommand::Modify, FlowModCommand::ModifyStrict, FlowModCommand::Delete, FlowModCommand::DeleteStrict][cmd as usize];
            let mut fm = FlowMod::new(command);
            fm.table_id = table;
            fm.priority = priority;
            fm.flags = flags;
            let cookie = cookie.min(u64::MAX - 1);
            match command {
                FlowModCommand::Add => {
                    fm.cookie = cookie;
                    fm.flags |= flow_flags::RESET_COUNTS;
                }
                _ => {
                    fm.new_cookie = Some(cookie);
                    if nxm {
                        fm.cookie = cookie & mask;
                        fm.cookie_mask = mask;
                    }
                }
            }
            fm.match_ = match_;
            fm.actions = actions;
            fm
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn decoding_arbitrary_bytes_never_panics(s in arb_session(), bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let mut b = bytes;
        if b.len() >= 8 {
            b[0] = 1;
            let n = b.len() as u16;
            b[2..4].copy_from_slice(&n.to_be_bytes());
        }
        let _ = s.decode(&b);
    }

    #[test]
    fn decoding_arbitrary_bodies_never_panics(s in arb_session(), t in 0u8..22, sub in 0u32..32, body in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = s.decode(&frame(t, &body));
        // Nicira messages and statistics.
        let mut nx = vec![0, 0, 0x23, 0x20];
        nx.extend_from_slice(&sub.to_be_bytes());
        nx.extend_from_slice(&body);
        let _ = s.decode(&frame(4, &nx));
        let mut st = vec![0xff, 0xff, 0, 0, 0, 0, 0x23, 0x20, 0, 0, 0, (sub & 1) as u8, 0, 0, 0, 0];
        st.extend_from_slice(&body);
        let _ = s.decode(&frame(16, &st));
        let _ = s.decode(&frame(17, &st));
    }

    #[test]
    fn flow_mods_survive_the_wire(s in arb_session(), fm in any::<bool>().prop_flat_map(arb_flow_mod)) {
        let mut fm = fm;
        let std_match = rvs_openflow::v10::ofp_match::representable(&fm.match_);
        prop_assume!(s.flow_format == FlowFormat::Nxm || (std_match && fm.cookie_mask == 0));
        if !s.table_id_extension {
            fm.table_id = if fm.command == FlowModCommand::Add { 0 } else { rvs_flowcache::ofp::ALL_TABLES };
        }
        let bytes = s.encode(&OfMessage::flow_mod(fm.clone()), 7).unwrap();
        let (h, msg) = s.decode(&bytes).map_err(|e| TestCaseError::fail(format!("{e}: {fm:?}")))?;
        prop_assert_eq!(h.xid, 7);
        let OfMessage::FlowMod { flow_mod: back, .. } = msg.clone() else { panic!() };
        prop_assert_eq!(back, fm);
        prop_assert_eq!(s.encode(&msg, 7).unwrap(), bytes);
    }

    #[test]
    fn corrupted_flow_mods_never_panic(s in arb_session(), fm in arb_flow_mod(true), flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
        if let Ok(mut bytes) = s.encode(&OfMessage::flow_mod(fm), 7) {
            for (i, b) in flips {
                let n = bytes.len();
                bytes[8 + i % (n - 8)] ^= b;
            }
            let keep = 8 + cut % (bytes.len() - 7);
            bytes.truncate(keep);
            let n = bytes.len() as u16;
            bytes[2..4].copy_from_slice(&n.to_be_bytes());
            if let Ok((_, m)) = s.decode(&bytes) {
                // Whatever decodes encodes again, and is then stable.
                if let Ok(again) = s.encode(&m, 7) {
                    let (_, m2) = s.decode(&again).unwrap();
                    prop_assert_eq!(s.encode(&m2, 7).unwrap(), again);
                }
            }
        }
    }
}
