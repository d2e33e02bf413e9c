//! Bundles (ONF extension 230 for OpenFlow 1.3, what `ovs-ofctl -O OpenFlow13 --bundle`
//! uses): flow-mods collected in a bundle apply all together or not at all.
//!
//! # Messages
//! Experimenter messages of the ONF experimenter id: `ONFT_BUNDLE_CONTROL` (2300):
//! `bundle_id(4) type(2) flags(2) [properties]`, and `ONFT_BUNDLE_ADD_MESSAGE` (2301):
//! `bundle_id(4) pad(2) flags(2) message [padding, properties]`.
//!
//! # Semantics (as Open vSwitch's)
//! * open: a new bundle of this connection (`OFPBFC_BAD_ID` if the id is in use); reply
//!   `OPEN_REPLY`.
//! * add: opens the bundle if needed (`OFPBFC_BUNDLE_CLOSED` once closed); the message's xid
//!   must be the add's (`OFPBFC_MSG_BAD_XID`); it must be a flow-mod (`OFPBFC_MSG_UNSUP`),
//!   which is decoded and checked now, an error then being answered to the add (quoting the
//!   whole add message, as Open vSwitch does).
//! * close: no more adds; reply `CLOSE_REPLY`.
//! * commit: with the flags the bundle was opened with (`OFPBFC_BAD_FLAGS`); every flow-mod is applied to the tables' unpublished copy (pending changes of
//!   other connections are published first); if one fails, its error goes out (with its xid
//!   and bytes), the copy is rolled back ([`rvs_flowcache::FlowTableWriter::discard`]) and
//!   the commit fails with `OFPBFC_MSG_FAILED`; otherwise the changes are reported (flow
//!   monitors, flow-removed) and published together, and `COMMIT_REPLY` answers. The bundle
//!   is gone either way.
//! * discard: the bundle is gone; reply `DISCARD_REPLY`.
//!
//! Bundles end with their connection.

use mio::Token;
use rvs_openflow::error::{FlowModFailed, OfError, ONF_EXPERIMENTER};
use rvs_openflow::msg::OfMessage;

use super::handlers::validate_actions;
use super::OfServer;
use crate::switch::Switch;

/// `ONFT_BUNDLE_CONTROL`.
pub(super) const BUNDLE_CONTROL: u32 = 2300;
/// `ONFT_BUNDLE_ADD_MESSAGE`.
pub(super) const BUNDLE_ADD: u32 = 2301;

const OPEN_REQUEST: u16 = 0;
const CLOSE_REQUEST: u16 = 2;
const COMMIT_REQUEST: u16 = 4;
const DISCARD_REQUEST: u16 = 6;

/// `OFPBFC_*` as OpenFlow 1.3 carries them (ONF experimenter errors, 2300 + code).
fn bfc(code: u16) -> OfError {
    OfError::Experimenter { experimenter: ONF_EXPERIMENTER, exp_type: 2300 + code }
}
const BFC_BAD_ID: u16 = 2;
const BFC_BUNDLE_CLOSED: u16 = 4;
const BFC_BAD_TYPE: u16 = 6;
const BFC_BAD_FLAGS: u16 = 7;
const BFC_MSG_BAD_XID: u16 = 9;
const BFC_MSG_UNSUP: u16 = 10;
const BFC_MSG_FAILED: u16 = 13;

/// One open bundle.
#[derive(Default)]
pub(super) struct Bundle {
    flags: u16,
    closed: bool,
    /// The flow-mods, with their xid and bytes (for errors at commit).
    msgs: Vec<(u32, Vec<u8>, rvs_flowcache::FlowMod)>,
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

impl OfServer {
    /// Handles an ONF bundle message (`exp_type` 2300 or 2301, `data` after it) of
    /// connection `t`, whose own bytes are `bytes`.
    pub(super) fn bundle_message(&mut self, sw: &mut Switch, t: Token, bridge: &str, exp_type: u32, data: &[u8], bytes: &[u8], xid: u32) {
        if data.len() < 8 {
            self.send_error(t, OfError::BadRequest(rvs_openflow::error::BadRequest::BadLen), bytes, xid);
            return;
        }
        let (id, flags) = (be32(data), be16(&data[6..]));
        if exp_type == BUNDLE_ADD {
            if let Err((e, data)) = self.bundle_add(t, id, flags, &data[8..], xid) {
                self.send_error(t, e, data.as_deref().unwrap_or(bytes), xid);
            }
            return;
        }
        let reply_type = be16(&data[4..]) + 1;
        let key = (t, id);
        let result = match be16(&data[4..]) {
            OPEN_REQUEST if self.bundles.contains_key(&key) => Err(bfc(BFC_BAD_ID)),
            OPEN_REQUEST => {
                self.bundles.insert(key, Bundle { flags, ..Bundle::default() });
                Ok(())
            }
            CLOSE_REQUEST => match self.bundles.get_mut(&key) {
                None => Err(bfc(BFC_BAD_ID)),
                Some(b) if b.closed => Err(bfc(BFC_BUNDLE_CLOSED)),
                Some(b) => {
                    b.closed = true;
                    Ok(())
                }
            },
            COMMIT_REQUEST => match self.bundles.remove(&key) {
                None => Err(bfc(BFC_BAD_ID)),
                Some(b) if b.flags != flags => Err(bfc(BFC_BAD_FLAGS)),
                Some(b) => self.bundle_commit(sw, t, bridge, b),
            },
            DISCARD_REQUEST => match self.bundles.remove(&key) {
                None => Err(bfc(BFC_BAD_ID)),
                Some(_) => Ok(()),
            },
            _ => Err(bfc(BFC_BAD_TYPE)),
        };
        match result {
            Ok(()) => {
                let mut reply = Vec::with_capacity(8);
                reply.extend_from_slice(&id.to_be_bytes());
                reply.extend_from_slice(&reply_type.to_be_bytes());
                reply.extend_from_slice(&flags.to_be_bytes());
                let msg = OfMessage::Experimenter { experimenter: ONF_EXPERIMENTER, exp_type: BUNDLE_CONTROL, data: reply };
                self.send(t, &msg, xid);
            }
            Err(e) => self.send_error(t, e, bytes, xid),
        }
    }

    /// Adds a message to a bundle; otherwise the error (and other bytes to quote than the
    /// add message's, if any).
    fn bundle_add(&mut self, t: Token, id: u32, flags: u16, rest: &[u8], xid: u32) -> Result<(), (OfError, Option<Vec<u8>>)> {
        let b = self.bundles.entry((t, id)).or_insert_with(|| Bundle { flags, ..Bundle::default() });
        if b.closed {
            return Err((bfc(BFC_BUNDLE_CLOSED), None));
        }
        if rest.len() < 8 || (be16(&rest[2..]) as usize) < 8 || be16(&rest[2..]) as usize > rest.len() {
            return Err((OfError::BadRequest(rvs_openflow::error::BadRequest::BadLen), None));
        }
        let inner = &rest[..be16(&rest[2..]) as usize];
        if be32(&inner[4..]) != xid {
            return Err((bfc(BFC_MSG_BAD_XID), None));
        }
        let session = self.conns.get(&t).and_then(|c| c.session).ok_or((bfc(BFC_MSG_UNSUP), None))?;
        let fm = match session.decode(inner) {
            Ok((_, OfMessage::FlowMod { flow_mod, buffer_id: None })) => flow_mod,
            Ok(_) => return Err((bfc(BFC_MSG_UNSUP), None)),
            Err(e) => return Err((e.error, None)),
        };
        validate_actions(&fm.actions, fm.table_id, fm.command).map_err(|e| (e, None))?;
        let b = self.bundles.get_mut(&(t, id)).expect("bundle exists");
        b.msgs.push((xid, inner.to_vec(), fm));
        Ok(())
    }

    /// Applies a bundle's flow-mods all together, or none of them.
    fn bundle_commit(&mut self, sw: &mut Switch, t: Token, bridge: &str, b: Bundle) -> Result<(), OfError> {
        use rvs_openflow::monitor::FlowUpdateEvent;
        sw.publish_flows();
        let now = sw.dp.now_ms();
        let br = sw.bridges.get_mut(bridge).expect("bridge exists");
        let mut outcomes = Vec::new();
        for (xid, raw, fm) in &b.msgs {
            let result = if fm.table_id == 254 {
                Err(OfError::BadRequest(rvs_openflow::error::BadRequest::Eperm))
            } else {
                br.writer.apply(fm, now).map_err(|e| match e {
                    rvs_flowcache::FlowModError::BadTableId => OfError::FlowModFailed(FlowModFailed::BadTableId),
                    rvs_flowcache::FlowModError::Overlap => OfError::FlowModFailed(FlowModFailed::Overlap),
                })
            };
            match result {
                Ok(o) => outcomes.push(o),
                Err(e) => {
                    br.writer.discard();
                    self.send_error(t, e, raw, *xid);
                    return Err(bfc(BFC_MSG_FAILED));
                }
            }
        }
        for o in outcomes {
            let changes: Vec<_> = o
                .added
                .iter()
                .map(|r| (FlowUpdateEvent::Added, 0, r.clone()))
                .chain(o.modified.iter().map(|(_, r)| (FlowUpdateEvent::Modified, 0, r.clone())))
                .collect();
            let origin = self.origin;
            self.report_flow_changes(bridge, &changes, origin);
            self.note_removed(bridge, o.removed, now);
        }
        sw.publish_flows();
        Ok(())
    }
}
