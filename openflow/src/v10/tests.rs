//! Byte fixtures for the OpenFlow 1.0 codec: messages `ovs-ofctl` 3.1 sent and a real Open
//! vSwitch 3.1 answered (from `tests/data/conversations.txt`). Each decodes to a known value
//! under the session it was sent in, encodes back to the same bytes, and every truncation of
//! a fixed-size part is refused. `tests/conversations.rs` checks all recorded messages the
//! same way, without the known values.

use super::*;
use crate::error::{BadRequest, OfError};
use crate::msg::{decode, MultipartRequest, NxStatsRequest};
use crate::session::FlowFormat;
use crate::stats::FlowStatsRequest;
use rvs_flowcache::ofp::{FlowModCommand, OfAction, ALL_TABLES};

const FEATURES_REPLY: &str = "010600b000000002000000000000000100000000fe000000000000c700000ffffffef6825c5c714e627230000000000000000000000000000000000000000000000000000000000000000000000000000001aa55aa55000f703100000000000000000000000000000000000000000000000000000000000000000000000000000002aa55aa55000e70320000000000000000000000000000000000000000000000000000000000000000000000000000";
const PORT_STATS_REQUEST: &str = "0110001400000002000400000001000000000000";
const SET_FLOW_FORMAT: &str = "0104001400000002000023200000000c00000002";
const FLOW_MOD_TABLE_ID: &str = "0104001800000006000023200000000f0100000000000000";
const NXST_FLOW_REQUEST: &str = "0110002000000004ffff0000000023200000000000000000ffff0000ff000000";
const PORT_MOD: &str = "010f0020000000040001aa55aa55000f00000001000000010000000000000000";
/// `add-flow table=254,actions=1` with table ids on.
const FLOW_MOD_TABLE_254: &str = "010e005000000008003820ff0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000fe00000000008000ffffffffffff00000000000800010000";
/// Open vSwitch's `OFPBRC_EPERM` for the flow-mod above, carrying it whole.
const ERROR_EPERM: &str = "0101005c0000000800010005010e005000000008003820ff0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000fe00000000008000ffffffffffff00000000000800010000";

use crate::test_util::unhex;

/// Decodes `hex` under `session`, encodes it back, and checks that cutting the message at
/// every length in `reject` (header length adjusted) is refused.
fn fixture(hex: &str, session: &Session, reject: std::ops::Range<usize>) -> OfMessage {
    let bytes = unhex(hex);
    let (h, m) = session.decode(&bytes).unwrap_or_else(|e| panic!("{hex}: {e}"));
    assert_eq!(session.encode(&m, h.xid).unwrap(), bytes, "re-encoding {hex}");
    for n in reject {
        let mut t = bytes[..n].to_vec();
        t[2..4].copy_from_slice(&(n as u16).to_be_bytes());
        assert!(session.decode(&t).is_err(), "{hex} truncated to {n} bytes decoded");
    }
    m
}

#[test]
fn features_reply_lists_the_ports() {
    let s = Session::new(Version::V1_0);
    let OfMessage::FeaturesReplyPorts(f) = fixture(FEATURES_REPLY, &s, 8..32) else { panic!() };
    assert_eq!((f.features.datapath_id, f.features.n_tables, f.features.capabilities, f.actions), (1, 254, 0xc7, 0xfff));
    let names: Vec<(&str, OfPort)> = f.ports.iter().map(|p| (p.name.as_str(), p.port_no)).collect();
    assert_eq!(names, vec![("br0", OfPort::LOCAL), ("p1", OfPort(1)), ("p2", OfPort(2))]);
    // A port cut in the middle is refused.
    let bytes = unhex(FEATURES_REPLY);
    let mut t = bytes[..bytes.len() - 4].to_vec();
    let n = t.len() as u16;
    t[2..4].copy_from_slice(&n.to_be_bytes());
    assert_eq!(decode(&t).unwrap_err().error, OfError::BadRequest(BadRequest::BadLen));
}

#[test]
fn requests_ovs_ofctl_sends() {
    let s = Session::new(Version::V1_0);
    let m = fixture(PORT_STATS_REQUEST, &s, 8..20);
    assert_eq!(m, OfMessage::MultipartRequest { flags: 0, request: MultipartRequest::PortStats { port_no: OfPort(1) } });
    assert_eq!(fixture(SET_FLOW_FORMAT, &s, 8..20), OfMessage::SetFlowFormat(FlowFormat::Nxm));
    assert_eq!(fixture(FLOW_MOD_TABLE_ID, &s, 8..24), OfMessage::FlowModTableId(true));
    let m = fixture(NXST_FLOW_REQUEST, &s, 8..32);
    let all = FlowStatsRequest { table_id: ALL_TABLES, ..FlowStatsRequest::default() };
    assert_eq!(m, OfMessage::NxStatsRequest { flags: 0, request: NxStatsRequest::Flow(all) });
    let OfMessage::PortMod(pm) = fixture(PORT_MOD, &s, 8..32) else { panic!() };
    assert_eq!((pm.port_no, pm.config, pm.mask, pm.advertise), (OfPort(1), 1, 1, 0));
}

#[test]
fn the_table_id_extension_changes_how_flow_mods_read() {
    let mut s = Session::new(Version::V1_0);
    // Without the extension, the high byte makes the command unknown, as in Open vSwitch.
    let bytes = unhex(FLOW_MOD_TABLE_254);
    assert_eq!(s.decode(&bytes).unwrap_err().error, OfError::FlowModFailed(crate::error::FlowModFailed::BadCommand));
    s.apply(&OfMessage::FlowModTableId(true));
    let OfMessage::FlowMod { flow_mod, buffer_id } = fixture(FLOW_MOD_TABLE_254, &s, 8..72) else { panic!() };
    assert_eq!((flow_mod.command, flow_mod.table_id, buffer_id), (FlowModCommand::Add, 254, None));
    assert_eq!(flow_mod.actions, vec![OfAction::Output { port: OfPort(1), max_len: 0 }]);
    // Without a table id, an addition goes to table 0 and a deletion to every table.
    let s = Session::new(Version::V1_0);
    let mut add = flow_mod.clone();
    add.table_id = 0;
    let (_, m) = s.decode(&s.encode(&OfMessage::flow_mod(add), 1).unwrap()).unwrap();
    let OfMessage::FlowMod { flow_mod: back, .. } = m else { panic!() };
    assert_eq!(back.table_id, 0);
    let mut del = rvs_flowcache::ofp::FlowMod::new(FlowModCommand::Delete);
    del.table_id = ALL_TABLES;
    let (_, m) = s.decode(&s.encode(&OfMessage::flow_mod(del), 1).unwrap()).unwrap();
    let OfMessage::FlowMod { flow_mod: back, .. } = m else { panic!() };
    assert_eq!(back.table_id, ALL_TABLES);
    // A table other than 0 cannot be sent without the extension.
    let mut t3 = rvs_flowcache::ofp::FlowMod::new(FlowModCommand::Add);
    t3.table_id = 3;
    assert!(s.encode(&OfMessage::flow_mod(t3.clone()), 1).is_err());
    let nxm = Session { flow_format: FlowFormat::Nxm, ..s };
    assert!(nxm.encode(&OfMessage::flow_mod(t3), 1).is_err());
}

#[test]
fn errors_carry_the_request_and_open_vswitch_numbers() {
    let s = Session::new(Version::V1_0);
    let OfMessage::Error(e) = fixture(ERROR_EPERM, &s, 8..12) else { panic!() };
    assert_eq!(e.error, OfError::BadRequest(BadRequest::Eperm));
    assert_eq!(e.data, unhex(FLOW_MOD_TABLE_254));
    // An error OpenFlow 1.0 lacks goes out as a Nicira vendor error.
    let prereq = OfMessage::Error(crate::msg::ErrorMsg {
        error: OfError::BadMatch(crate::error::BadMatch::BadPrereq),
        data: unhex("0100000800000005"),
    });
    let bytes = s.encode(&prereq, 5).unwrap();
    // `ovs-ofctl encode-error-reply OFPBMC_BAD_PREREQ 0100000800000005`.
    assert_eq!(bytes, unhex("0101001c00000005b0c2000000002320000101040100000800000005"));
    assert_eq!(decode(&bytes).unwrap().1, prereq);
}
