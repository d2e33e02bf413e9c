//! What OpenFlow 1.3 makes of the messages that Nicira's OpenFlow 1.0 extensions brought
//! into the version-neutral [`OfMessage`]: an OpenFlow 1.0 features reply becomes a plain
//! one (1.3 lists no ports; the capabilities both versions number alike stay), the Nicira
//! session messages are experimenter messages with the same bodies, and what Open vSwitch
//! defines for OpenFlow 1.0 only (`NXT_SET_FLOW_FORMAT`, Nicira flow statistics) cannot be
//! sent.

use super::{begin, finish, msg_type};
use crate::codec::Put;
use crate::error::EncodeError;
use crate::msg::{OfMessage, Version};
use crate::nx::{messages, NX_VENDOR_ID};
use crate::stats::SwitchFeatures;

/// Capability bits OpenFlow 1.0 and 1.3 number alike.
const COMMON_CAPABILITIES: u32 = 0x1 | 0x2 | 0x4 | 0x20 | 0x40;

/// Encodes one of the messages above as OpenFlow 1.3.
pub(super) fn encode(m: &OfMessage, xid: u32) -> Result<Vec<u8>, EncodeError> {
    if let OfMessage::FeaturesReplyPorts(fp) = m {
        let f = SwitchFeatures { capabilities: fp.features.capabilities & COMMON_CAPABILITIES, ..fp.features.clone() };
        return super::encode(&OfMessage::FeaturesReply(f), xid);
    }
    let Some(session) = messages::put_session(m, Version::V1_3) else {
        return Err(EncodeError::Unrepresentable("Nicira flow formats and statistics are OpenFlow 1.0 messages".into()));
    };
    let (sub, body) = session?;
    let mut out = Vec::with_capacity(16 + body.len());
    begin(&mut out, msg_type::EXPERIMENTER, xid);
    out.put_u32(NX_VENDOR_ID);
    out.put_u32(sub);
    out.extend_from_slice(&body);
    finish(out)
}
