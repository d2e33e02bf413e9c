//! Fuzzes OpenFlow message decoding: framing, then decoding each complete message in every
//! session state (OpenFlow 1.0 with either flow format, with and without table ids; OpenFlow
//! 1.3), then re-encoding whatever decoded (which must succeed for every decoded flow-mod,
//! flow-removed and packet-in) and decoding that again (which must give the same message).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rvs_openflow::framing::split_messages;
use rvs_openflow::msg::{OfMessage, Version};
use rvs_openflow::session::{FlowFormat, Session};

fuzz_target!(|data: &[u8]| {
    let Ok((messages, _rest)) = split_messages(data) else { return };
    let v10 = Session::new(Version::V1_0);
    let sessions = [
        v10,
        Session { table_id_extension: true, ..v10 },
        Session { flow_format: FlowFormat::Nxm, ..v10 },
        Session::new(Version::V1_3),
    ];
    for m in messages {
        for s in &sessions {
            let Ok((h, msg)) = s.decode(m) else { continue };
            if h.version != s.version.wire() {
                continue;
            }
            if let OfMessage::FlowMod { .. } | OfMessage::FlowRemoved(_) | OfMessage::PacketIn(_) = msg {
                let bytes = s.encode(&msg, h.xid).expect("a decoded message encodes");
                let (_, again) = s.decode(&bytes).expect("an encoded message decodes");
                assert_eq!(s.encode(&again, h.xid).expect("and encodes"), bytes);
            }
        }
    }
});
