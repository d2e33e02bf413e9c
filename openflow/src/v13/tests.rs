//! Byte fixtures for every OpenFlow 1.3 message the codec handles.
//!
//! Requests are the bytes `ovs-ofctl -O OpenFlow13` 3.1 sent (captured with
//! `tests/ofctl_capture.py`); replies and notifications were written by hand and checked with
//! `ovs-ofctl ofp-print`, which prints them without complaint (see `tests/ovs_ofctl_live.rs`
//! for the same check on our encoder's output). Each fixture is decoded to a known value,
//! encoded back to the same bytes, and every truncation that cuts into a fixed-size part must
//! be refused.

use super::*;
use crate::error::{BadMatch, BadRequest, OfError};
use crate::msg::{decode, MultipartReply, MultipartRequest, Version};
use crate::stats::{
    AggregateStats, FlowStats, FlowStatsRequest, PortDesc, PortStats, QueueStatsRequest, SwitchDesc, TableStats, ALL_QUEUES,
};
use rvs_flowcache::ofp::PacketInReason;
use rvs_flowcache::Field;
use rvs_packet::wire::MacAddr;
use std::ops::Range;

const HELLO: &str = "04000010000000010001000800000010";
const ERROR: &str = "0401001400000002000400090405000800000002";
const ECHO_REPLY: &str = "0403000c0000000201020304";
const FEATURES_REPLY: &str = "0406002000000002000000000000000100000100fe0000000000004f00000000";
const GET_CONFIG_REPLY: &str = "0408000c0000000200000080";
const SET_CONFIG: &str = "0409000c000000020001ffff";
const PACKET_IN: &str = "040a003800000002ffffffff000e010000000000000000050001000c80000004000000030000000000000001020304050a0b0c0d0e0f0800";
const FLOW_REMOVED: &str = "040b004000000002000000000000001000640203000000071dcd6500000a0000000000000000000c0000000000000d480001000a80000a020800000000000000";
const PORT_STATUS: &str = "040c005000000002020000000000000000000001000000000200000000010000657468310000000000000000000000000000000100000004000028200000282000003820000000000098968000989680";
const FLOW_MOD_DELETE: &str = "040e00380000000200000000000000000000000000000000ff03000000008000ffffffffffffffffffffffff000000000001000400000000";
const MP_FLOW_REPLY: &str = "041300680000000200010000000000000058030000000005000000000064000a00140001000000000000000000001234000000000000000500000000000002580001000a80000a020800000000000000000400180000000000000010fffffffa0000000000000000";
const MP_AGGREGATE_REPLY: &str = "04130028000000020002000000000000000000000000000500000000000002580000000200000000";
const MP_TABLE_REPLY: &str = "04130028000000020003000100000000000000000000000200000000000000640000000000000032";
const MP_PORT_STATS_REPLY: &str = "041300800000000200040000000000000000000100000000000000000000000100000000000000020000000000000003000000000000000400000000000000050000000000000006000000000000000700000000000000080000000000000009000000000000000a000000000000000b000000000000000c0000003c00000005";
const MP_PORT_DESC_REPLY: &str = "0413005000000002000d000000000000fffffffe000000000200000000020000627230000000000000000000000000000000000100000004000028200000282000003820000000000098968000989680";
const BARRIER_REPLY: &str = "0415000800000002";
const ECHO_REQUEST: &str = "0402000800000000";
const FEATURES_REQUEST: &str = "0405000800000002";
const GET_CONFIG_REQUEST: &str = "0407000800000002";
const BARRIER_REQUEST: &str = "0414000800000003";
const PACKET_OUT: &str = "040d003700000002ffffffff00000001001000000000000000000010000000020000000000000000000102030405000000000001080045";
const MP_FLOW_REQUEST: &str = "04120048000000020001000000000000ff000000ffffffffffffffff00000000000000000000000000000000000000000001001580000a020800800014010680001c020050000000";
const MP_AGGREGATE_REQUEST: &str = "0412003800000002000200000000000001000000ffffffffffffffff00000000000000000000000000000000000000000001000400000000";
const MP_TABLE_REQUEST: &str = "04120010000000020003000000000000";
const MP_PORT_STATS_REQUEST: &str = "041200180000000200040000000000000000000100000000";
const MP_PORT_STATS_ALL_REQUEST: &str = "04120018000000020004000000000000ffffffff00000000";
const MP_PORT_DESC_REQUEST: &str = "0412001000000002000d000000000000";
const MP_DESC_REQUEST: &str = "04120010000000020000000000000000";

use crate::test_util::unhex;

/// Decodes `hex` to `expect`, encodes it back, and checks that every truncation whose length
/// is in `reject` (with the header length adjusted) is refused.
fn fixture(hex: &str, expect: OfMessage, reject: Range<usize>) {
    let bytes = unhex(hex);
    let (h, m) = decode(&bytes).unwrap_or_else(|e| panic!("{hex}: {e}"));
    assert_eq!(m, expect, "{hex}");
    assert_eq!(m.encode(Version::V1_3, h.xid).unwrap(), bytes, "re-encoding {hex}");
    for n in reject {
        let mut t = bytes[..n].to_vec();
        t[2..4].copy_from_slice(&(n as u16).to_be_bytes());
        assert!(decode(&t).is_err(), "{hex} truncated to {n} bytes was accepted: {:?}", decode(&t));
    }
}

fn ip_match() -> Match {
    let mut m = Match::catchall();
    m.set(Field::EthType, 0x0800);
    m
}

fn port(no: OfPort, mac: [u8; 6], name: &str) -> PortDesc {
    PortDesc {
        port_no: no,
        hw_addr: MacAddr(mac),
        name: name.into(),
        config: 1,
        state: 4,
        curr: 0x2820,
        advertised: 0x2820,
        supported: 0x3820,
        peer: 0,
        curr_speed: 10_000_000,
        max_speed: 10_000_000,
    }
}

#[test]
fn symmetric_messages() {
    fixture(HELLO, OfMessage::Hello(Hello { versions: Some(VersionSet(0x10)) }), 0..0);
    fixture(ECHO_REQUEST, OfMessage::EchoRequest(vec![]), 0..0);
    fixture(ECHO_REPLY, OfMessage::EchoReply(vec![1, 2, 3, 4]), 0..0);
    fixture(BARRIER_REQUEST, OfMessage::BarrierRequest, 0..0);
    fixture(BARRIER_REPLY, OfMessage::BarrierReply, 0..0);
    let err = ErrorMsg { error: OfError::BadMatch(BadMatch::BadPrereq), data: unhex(FEATURES_REQUEST) };
    fixture(ERROR, OfMessage::Error(err), 8..12);
}

#[test]
fn switch_configuration() {
    fixture(FEATURES_REQUEST, OfMessage::FeaturesRequest, 0..0);
    let f = SwitchFeatures { datapath_id: 1, n_buffers: 256, n_tables: 254, auxiliary_id: 0, capabilities: 0x4f };
    fixture(FEATURES_REPLY, OfMessage::FeaturesReply(f), 8..32);
    fixture(GET_CONFIG_REQUEST, OfMessage::GetConfigRequest, 0..0);
    fixture(GET_CONFIG_REPLY, OfMessage::GetConfigReply(SwitchConfig { flags: 0, miss_send_len: 128 }), 8..12);
    fixture(SET_CONFIG, OfMessage::SetConfig(SwitchConfig { flags: 1, miss_send_len: 0xffff }), 8..12);
    // A request with a body is refused.
    let mut long = unhex(FEATURES_REQUEST);
    long.extend_from_slice(&[0; 8]);
    long[3] = 16;
    assert_eq!(decode(&long).unwrap_err().error, OfError::BadRequest(BadRequest::BadLen));
}

#[test]
fn asynchronous_messages() {
    let mut m = Match::catchall();
    m.set(Field::InPort, 3);
    let pin = PacketIn {
        buffer_id: None,
        total_len: 14,
        reason: PacketInReason::Action,
        table_id: 0,
        cookie: 5,
        match_: m,
        data: unhex("0001020304050a0b0c0d0e0f0800"),
    };
    fixture(PACKET_IN, OfMessage::PacketIn(pin), 8..42);
    let fr = FlowRemoved {
        cookie: 0x10,
        priority: 100,
        reason: FlowRemovedReason::Delete,
        table_id: 3,
        duration_sec: 7,
        duration_nsec: 500_000_000,
        idle_timeout: 10,
        hard_timeout: 0,
        packet_count: 12,
        byte_count: 3400,
        match_: ip_match(),
    };
    fixture(FLOW_REMOVED, OfMessage::FlowRemoved(fr), 8..64);
    let ps = PortStatus { reason: PortReason::Modify, desc: port(OfPort(1), [2, 0, 0, 0, 0, 1], "eth1") };
    fixture(PORT_STATUS, OfMessage::PortStatus(ps), 8..80);
}

#[test]
fn packet_out() {
    let po = PacketOut {
        buffer_id: None,
        in_port: OfPort(1),
        actions: vec![OfAction::Output { port: OfPort(2), max_len: 0 }],
        data: unhex("000102030405000000000001080045"),
    };
    fixture(PACKET_OUT, OfMessage::PacketOut(po), 8..40);
}

#[test]
fn flow_mod_delete_all_tables() {
    let mut fm = FlowMod::new(FlowModCommand::Delete);
    fm.table_id = 255;
    fixture(FLOW_MOD_DELETE, OfMessage::flow_mod(fm), 8..56);
    // table 255 is refused for an add.
    let mut add = unhex(FLOW_MOD_DELETE);
    add[25] = 0;
    assert_eq!(decode(&add).unwrap_err().error, OfError::FlowModFailed(crate::error::FlowModFailed::BadTableId));
    // An unknown command.
    let mut cmd = unhex(FLOW_MOD_DELETE);
    cmd[24] = 0;
    cmd[25] = 9;
    assert_eq!(decode(&cmd).unwrap_err().error, OfError::FlowModFailed(crate::error::FlowModFailed::BadCommand));
    // Unknown flags.
    let mut flags = unhex(FLOW_MOD_DELETE);
    flags[45] = 0x40;
    assert_eq!(decode(&flags).unwrap_err().error, OfError::FlowModFailed(crate::error::FlowModFailed::BadFlags));
}

#[test]
fn multipart_requests() {
    let req = |request| OfMessage::MultipartRequest { flags: 0, request };
    let mut tcp80 = Match::catchall();
    tcp80.set(Field::EthType, 0x0800).set(Field::IpProto, 6).set(Field::TcpDst, 80);
    let flow = FlowStatsRequest { match_: tcp80, ..FlowStatsRequest::default() };
    fixture(MP_FLOW_REQUEST, req(MultipartRequest::Flow(flow)), 8..72);
    let agg = FlowStatsRequest { table_id: 1, ..FlowStatsRequest::default() };
    fixture(MP_AGGREGATE_REQUEST, req(MultipartRequest::Aggregate(agg)), 8..56);
    fixture(MP_TABLE_REQUEST, req(MultipartRequest::Table), 8..16);
    fixture(MP_PORT_STATS_REQUEST, req(MultipartRequest::PortStats { port_no: OfPort(1) }), 8..24);
    fixture(MP_PORT_STATS_ALL_REQUEST, req(MultipartRequest::PortStats { port_no: OfPort::ANY }), 8..24);
    fixture(MP_PORT_DESC_REQUEST, req(MultipartRequest::PortDesc), 8..16);
    fixture(MP_DESC_REQUEST, req(MultipartRequest::Desc), 8..16);
    // An empty table features request (what ovs-ofctl sends) asks for the tables' features.
    let tf = unhex("0412001000000002000c000000000000");
    assert_eq!(decode(&tf).unwrap().1, req(MultipartRequest::TableFeatures(Vec::new())));
    // Queue statistics (type 5), every port and queue, as ovs-ofctl sends it.
    let queue = unhex("04120018000000020005000000000000ffffffffffffffff");
    let all = QueueStatsRequest { port_no: OfPort::ANY, queue_id: ALL_QUEUES };
    assert_eq!(decode(&queue).unwrap().1, req(MultipartRequest::Queue(all)));
    assert_eq!(req(MultipartRequest::Queue(all)).encode(Version::V1_3, 2).unwrap(), queue);
    // Meter statistics (type 9) are not supported.
    let meter = unhex("04120018000000020009000000000000ffffffff00000000");
    assert_eq!(decode(&meter).unwrap_err().error, OfError::BadRequest(BadRequest::BadMultipart));
}

#[test]
fn multipart_replies() {
    let rep = |more, reply| OfMessage::MultipartReply { more, reply };
    let fs = FlowStats {
        table_id: 3,
        duration_sec: 5,
        duration_nsec: 0,
        priority: 100,
        idle_timeout: 10,
        hard_timeout: 20,
        flags: 1,
        importance: 0,
        cookie: 0x1234,
        packet_count: 5,
        byte_count: 600,
        match_: ip_match(),
        actions: vec![OfAction::Output { port: OfPort::NORMAL, max_len: 0 }],
    };
    fixture(MP_FLOW_REPLY, rep(false, MultipartReply::Flow(vec![fs])), 17..104);
    let agg = AggregateStats { packet_count: 5, byte_count: 600, flow_count: 2 };
    fixture(MP_AGGREGATE_REPLY, rep(false, MultipartReply::Aggregate(agg)), 8..40);
    let t = TableStats { table_id: 0, active_count: 2, lookup_count: 100, matched_count: 50 };
    fixture(MP_TABLE_REPLY, rep(true, MultipartReply::Table(vec![t])), 17..40);
    let ps = PortStats {
        port_no: OfPort(1),
        rx_packets: 1,
        tx_packets: 2,
        rx_bytes: 3,
        tx_bytes: 4,
        rx_dropped: 5,
        tx_dropped: 6,
        rx_errors: 7,
        tx_errors: 8,
        rx_frame_err: 9,
        rx_over_err: 10,
        rx_crc_err: 11,
        collisions: 12,
        duration_sec: 60,
        duration_nsec: 5,
    };
    fixture(MP_PORT_STATS_REPLY, rep(false, MultipartReply::PortStats(vec![ps])), 17..128);
    let pd = port(OfPort::LOCAL, [2, 0, 0, 0, 0, 2], "br0");
    fixture(MP_PORT_DESC_REPLY, rep(false, MultipartReply::PortDesc(vec![pd])), 17..80);

    let desc = SwitchDesc {
        mfr_desc: "Nicira, Inc.".into(),
        hw_desc: "Open vSwitch".into(),
        sw_desc: "3.1.0".into(),
        serial_num: "None".into(),
        dp_desc: "br0".into(),
    };
    let msg = rep(false, MultipartReply::Desc(desc));
    let bytes = msg.encode(Version::V1_3, 2).unwrap();
    assert_eq!(bytes.len(), 1072);
    assert_eq!(&bytes[16..28], b"Nicira, Inc.");
    assert_eq!(&bytes[16 + 768..16 + 772], b"None");
    assert_eq!(decode(&bytes).unwrap().1, msg);
    let mut short = bytes[..1071].to_vec();
    short[2..4].copy_from_slice(&1071u16.to_be_bytes());
    assert!(decode(&short).is_err());
}

#[test]
fn large_replies_are_split_with_the_more_flag() {
    let one = FlowStats {
        table_id: 0,
        duration_sec: 1,
        duration_nsec: 0,
        priority: 1,
        idle_timeout: 0,
        hard_timeout: 0,
        flags: 0,
        importance: 0,
        cookie: 0,
        packet_count: 0,
        byte_count: 0,
        match_: ip_match(),
        actions: vec![OfAction::Output { port: OfPort(1), max_len: 0 }],
    };
    let flows: Vec<FlowStats> = (0..2000).map(|i| FlowStats { priority: i, ..one.clone() }).collect();
    let reply = MultipartReply::Flow(flows.clone());
    assert!(matches!(OfMessage::MultipartReply { more: false, reply: reply.clone() }.encode(Version::V1_3, 9), Err(EncodeError::TooLong(_))));
    let parts = crate::msg::encode_multipart_reply(Version::V1_3, 9, &reply, 65535).unwrap();
    assert!(parts.len() >= 3);
    let mut all = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        assert!(p.len() <= 65535);
        match decode(p).unwrap().1 {
            OfMessage::MultipartReply { more, reply: MultipartReply::Flow(f) } => {
                assert_eq!(more, i + 1 < parts.len());
                all.extend(f);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(all, flows);
    // A small limit still never splits an entry (each is 88 bytes here).
    let parts = crate::msg::encode_multipart_reply(Version::V1_3, 9, &MultipartReply::Flow(flows[..3].to_vec()), 110).unwrap();
    assert_eq!(parts.len(), 3);
}

#[test]
fn unknown_types_and_versions() {
    // OFPT_METER_MOD (29) is not supported.
    assert_eq!(decode(&unhex("041d000800000001")).unwrap_err().error, OfError::BadRequest(BadRequest::BadType));
    // OpenFlow 1.1 is not supported, but its hello is understood for negotiation.
    assert_eq!(decode(&unhex("0205000800000001")).unwrap_err().error, OfError::BadRequest(BadRequest::BadVersion));
    assert!(matches!(decode(&unhex("0200000800000001")).unwrap().1, OfMessage::Hello(Hello { versions: None })));
}
