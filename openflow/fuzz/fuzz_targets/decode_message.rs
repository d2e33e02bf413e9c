//! Fuzzes OpenFlow message decoding: framing, then decoding each complete message, then
//! re-encoding whatever decoded (which must succeed for every decoded flow-mod and match).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rvs_openflow::framing::split_messages;
use rvs_openflow::msg::{decode, OfMessage, Version};

fuzz_target!(|data: &[u8]| {
    let Ok((messages, _rest)) = split_messages(data) else { return };
    for m in messages {
        if let Ok((h, msg)) = decode(m) {
            if h.version == Version::V1_3.wire() {
                if let OfMessage::FlowMod { .. } | OfMessage::FlowRemoved(_) | OfMessage::PacketIn(_) = msg {
                    msg.encode(Version::V1_3, h.xid).expect("a decoded message encodes");
                }
            }
        }
    }
});
