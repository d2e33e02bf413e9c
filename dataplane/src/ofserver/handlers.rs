//! Requests: one decoded message at a time, in order, answered on the same connection.
//!
//! | message | handling |
//! |---|---|
//! | hello | version negotiation (see [`super`]); the connection's [`Session`] starts |
//! | session messages (flow format, table-id extension, packet-in format, controller id) | recorded in the session |
//! | echo request | echo reply with the same payload |
//! | features, get-config, get-async | the reply |
//! | set-config, set-async | per connection |
//! | barrier | flow-removed of the round, publish, revalidator sync, reply |
//! | flow-mod | validated, applied to the bridge's writer; deleted rules with `SEND_FLOW_REM` get flow-removed |
//! | multipart | [`super::replies`] |
//! | packet-out | [`super::packet_out`] |
//! | port-mod | `PORT_DOWN` sets the interface's administrative state; `NO_RECV`, `NO_FWD`, `NO_FLOOD`, `NO_PACKET_IN` go into the bridge's translation configuration |
//! | role request | equal, master (the previous master becomes slave) or slave, with OpenFlow's generation-id check |
//!
//! A slave's flow-mod, packet-out and port-mod get `OFPBRC_IS_SLAVE`. Anything else gets
//! `OFPBRC_BAD_TYPE`, and a message that does not decode the error its decoder chose; the
//! error carries the whole request, as OVS sends it.

use std::time::Instant;

use mio::Token;
use rvs_flowcache::ofp::{FlowModCommand, N_TABLES};
use rvs_flowcache::{FlowModError, OfAction, OfPort};
use rvs_openflow::error::{BadAction, BadInstruction, BadRequest, FlowModFailed, HelloFailed, PortModFailed, TableFeaturesFailed};
use rvs_openflow::msg::{
    encode_multipart_reply, encode_nx_stats_reply, negotiate, ControllerRole, ErrorMsg, MultipartRequest, NxStatsRequest, OfMessage, PortMod,
    RoleMsg, Version,
    MULTIPART_MORE,
};
use rvs_openflow::session::Session;
use rvs_openflow::stats::FeaturesWithPorts;
use rvs_openflow::v13::control::{OFPET_ROLE_REQUEST_FAILED, OFPRRFC_STALE};
use rvs_openflow::OfError;

use super::conn::ConnKind;
use super::{replies, OfServer};
use crate::switch::{port_config, Switch};
use crate::vlog;

/// The table OVS reserves for itself (flow-mods to it are refused with `OFPBRC_EPERM`).
const RESERVED_TABLE: u8 = 254;
/// Largest multipart reply message we send.
const MAX_REPLY: usize = 65535;
/// The OpenFlow 1.0 actions announced in its features reply (every `OFPAT10_*`, as OVS).
const OFP10_ACTIONS: u32 = 0xfff;
/// Port-mod configuration bits rvs applies (`OFPPC_*`).
const PORT_MOD_BITS: u32 =
    port_config::PORT_DOWN | port_config::NO_RECV | port_config::NO_FWD | port_config::NO_FLOOD | port_config::NO_PACKET_IN;

/// Checks what the classifier cannot: table references in instructions and actions, and port
/// numbers in outputs.
pub(super) fn validate_actions(actions: &[OfAction], table: u8, cmd: FlowModCommand) -> Result<(), OfError> {
    if matches!(cmd, FlowModCommand::Delete | FlowModCommand::DeleteStrict) {
        return Ok(());
    }
    for a in actions {
        match a {
            OfAction::GotoTable(t) if *t <= table || *t as usize >= N_TABLES - 1 => {
                return Err(OfError::BadInstruction(BadInstruction::BadTableId));
            }
            OfAction::Resubmit { table: Some(t), .. } if *t as usize >= N_TABLES => {
                return Err(OfError::BadAction(BadAction::BadArgument));
            }
            OfAction::Output { port, .. } | OfAction::Enqueue { port, .. }
                if *port == OfPort::ANY || (port.0 >= OfPort::MAX.0 && port.reserved_name().is_none()) || port.0 == 0 =>
            {
                return Err(OfError::BadAction(BadAction::BadOutPort));
            }
            OfAction::WriteActions(inner) | OfAction::Clone(inner) => validate_actions(inner, table, cmd)?,
            // Parsed and encoded, but rvs has no connection tracker: refused as Open vSwitch
            // refuses them on a datapath without conntrack support, never silently ignored.
            OfAction::Ct(_) | OfAction::Nat(_) | OfAction::CtClear => {
                let name = match a {
                    OfAction::CtClear => "ct_clear",
                    OfAction::Nat(_) => "nat",
                    _ => "ct",
                };
                crate::vlog::warn("ofserver", &format!("{name} action: rvs has no connection tracking yet: refused (OFPBAC_BAD_TYPE)"));
                return Err(OfError::BadAction(BadAction::BadType));
            }
            OfAction::PushMpls { .. }
            | OfAction::PopMpls { .. }
            | OfAction::SetMplsLabel(_)
            | OfAction::SetMplsTc(_)
            | OfAction::SetMplsTtl(_)
            | OfAction::DecMplsTtl => {
                crate::vlog::warn("ofserver", "MPLS action: rvs does not execute MPLS yet: refused (OFPBAC_BAD_TYPE)");
                return Err(OfError::BadAction(BadAction::BadType));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Text of a hello failure, as OVS words it.
fn incompatible_text(ours: rvs_openflow::msg::VersionSet, theirs: u8) -> String {
    let list: Vec<String> = (0..32u8).filter(|v| ours.contains(*v)).map(|v| format!("{v:#04x}")).collect();
    let ours = match list.as_slice() {
        [] => "no versions".to_string(),
        [one] => format!("version {one}"),
        many => format!("versions {}", many.join(", ")),
    };
    format!("We support {ours}, you support {theirs:#04x}.")
}

impl OfServer {
    pub(super) fn send(&mut self, t: Token, msg: &OfMessage, xid: u32) {
        if let Some(c) = self.conns.get_mut(&t) {
            c.send(msg, xid);
        }
    }

    /// Sends an error carrying the whole failed request (as OVS does; OpenFlow asks for at
    /// least 64 bytes), so that `ovs-ofctl` can print the request back.
    pub(super) fn send_error(&mut self, t: Token, error: OfError, request: &[u8], xid: u32) {
        let data = request[..request.len().min(MAX_REPLY - 12)].to_vec();
        self.send(t, &OfMessage::Error(ErrorMsg { error, data }), xid);
    }

    /// Handles one message. Returns true if the connection must close.
    pub(super) fn handle_message(&mut self, sw: &mut Switch, t: Token, bytes: &[u8], now: Instant) -> bool {
        let xid = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        let Some(c) = self.conns.get_mut(&t) else { return true };
        if c.kind == ConnKind::Controller {
            c.snooped.push(bytes.to_vec());
        }
        let (bridge, session) = (c.bridge.clone(), c.session);
        let negotiated = session.map(|s| s.version);
        let Some(versions) = self.bridges.get(&bridge).map(|b| b.versions) else { return true };
        let decoded = match session {
            Some(s) => s.decode(bytes),
            None => rvs_openflow::decode(bytes),
        };
        let (header, msg) = match decoded {
            Ok(x) => x,
            Err(e) => {
                if negotiated.is_none() && bytes[1] == 0 {
                    self.send_error(t, OfError::HelloFailed(HelloFailed::Incompatible), b"unsupported version", xid);
                    return true;
                }
                self.send_error(t, e.error, bytes, xid);
                return false;
            }
        };
        if let OfMessage::Hello(h) = &msg {
            match negotiate(versions, header.version, h) {
                Ok(v) => self.conns.get_mut(&t).expect("connection").session = Some(Session::new(v)),
                Err(e) => {
                    let text = incompatible_text(versions, header.version);
                    vlog::warn("ofserver", &format!("{}: version negotiation failed: {text}", self.conns[&t].name));
                    self.send(t, &OfMessage::Error(ErrorMsg { error: e, data: text.into_bytes() }), xid);
                    return true;
                }
            }
            return false;
        }
        let Some(version) = negotiated else {
            self.send_error(t, OfError::BadRequest(BadRequest::BadType), bytes, xid);
            return false;
        };
        if header.version != version.wire() {
            self.send_error(t, OfError::BadRequest(BadRequest::BadVersion), bytes, xid);
            return false;
        }
        if !sw.bridges.contains_key(&bridge) {
            return true;
        }
        if !matches!(msg, OfMessage::EchoRequest(_) | OfMessage::EchoReply(_) | OfMessage::Error(_)) {
            self.admit(t, now);
        }
        // A snoop client only listens (beyond the handshake and echoes).
        if self.conns[&t].kind == ConnKind::Snoop {
            if let OfMessage::EchoRequest(data) = msg {
                self.send(t, &OfMessage::EchoReply(data), xid);
            }
            return false;
        }
        let slave = self.conns[&t].role() == ControllerRole::Slave;
        self.origin = Some((t, xid));
        if slave && matches!(msg, OfMessage::FlowMod { .. } | OfMessage::PacketOut(_) | OfMessage::PortMod(_) | OfMessage::GroupMod(_)) {
            self.send_error(t, OfError::BadRequest(BadRequest::IsSlave), bytes, xid);
            return false;
        }
        match msg {
            OfMessage::EchoRequest(data) => self.send(t, &OfMessage::EchoReply(data), xid),
            OfMessage::EchoReply(_) => {}
            OfMessage::FeaturesRequest => {
                let features = replies::features(sw, &bridge);
                let reply = match version {
                    // OpenFlow 1.0 lists the ports and the actions in the features reply.
                    Version::V1_0 => OfMessage::FeaturesReplyPorts(FeaturesWithPorts {
                        features,
                        actions: OFP10_ACTIONS,
                        ports: replies::port_descs(sw, &bridge),
                    }),
                    _ => OfMessage::FeaturesReply(features),
                };
                self.send(t, &reply, xid);
            }
            // Session messages change how this connection's messages are encoded and read.
            OfMessage::SetFlowFormat(_) | OfMessage::FlowModTableId(_) | OfMessage::SetPacketInFormat(_) | OfMessage::SetControllerId(_) => {
                if let Some(s) = self.conns.get_mut(&t).and_then(|c| c.session.as_mut()) {
                    s.apply(&msg);
                }
            }
            OfMessage::GetConfigRequest => {
                let cfg = self.conns[&t].config;
                self.send(t, &OfMessage::GetConfigReply(cfg), xid);
            }
            OfMessage::SetConfig(cfg) => self.conns.get_mut(&t).expect("connection").config = cfg,
            OfMessage::GetAsyncRequest => {
                let cfg = self.conns[&t].async_cfg;
                self.send(t, &OfMessage::GetAsyncReply(cfg), xid);
            }
            OfMessage::SetAsync(cfg) => self.conns.get_mut(&t).expect("connection").async_cfg = cfg,
            OfMessage::BarrierRequest => {
                self.flush_flow_removed(sw);
                sw.publish_flows();
                sw.revalidator.sync();
                self.send(t, &OfMessage::BarrierReply, xid);
            }
            OfMessage::FlowMod { flow_mod, buffer_id } => {
                if let Err(e) = self.flow_mod(sw, &bridge, &flow_mod, buffer_id) {
                    self.send_error(t, e, bytes, xid);
                }
            }
            // A table features request with a body reconfigures tables; rvs tables are fixed.
            OfMessage::MultipartRequest { flags, request: MultipartRequest::TableFeatures(ref tables) }
                if !tables.is_empty() || flags & MULTIPART_MORE != 0 =>
            {
                self.send_error(t, OfError::TableFeaturesFailed(TableFeaturesFailed::Eperm), bytes, xid);
            }
            OfMessage::MultipartRequest { request, .. } => {
                let reply = match replies::multipart(sw, &bridge, request) {
                    Ok(r) => r,
                    Err(e) => {
                        self.send_error(t, e, bytes, xid);
                        return false;
                    }
                };
                match encode_multipart_reply(version, xid, &reply, MAX_REPLY) {
                    Ok(parts) => {
                        let c = self.conns.get_mut(&t).expect("connection");
                        for p in parts {
                            c.queue(p);
                        }
                    }
                    Err(e) => vlog::err("ofserver", &format!("cannot encode multipart reply: {e}")),
                }
            }
            OfMessage::NxStatsRequest { request: NxStatsRequest::FlowMonitor(reqs), .. } => {
                let reply = self.start_monitors(sw, t, &bridge, reqs);
                match encode_nx_stats_reply(version, xid, &reply, MAX_REPLY) {
                    Ok(parts) => {
                        let c = self.conns.get_mut(&t).expect("connection");
                        for p in parts {
                            c.queue(p);
                        }
                    }
                    Err(_) => self.send_error(t, OfError::BadRequest(BadRequest::BadMultipart), bytes, xid),
                }
            }
            OfMessage::NxStatsRequest { request, .. } => {
                let reply = replies::nx_stats(sw, &bridge, request);
                match encode_nx_stats_reply(version, xid, &reply, MAX_REPLY) {
                    Ok(parts) => {
                        let c = self.conns.get_mut(&t).expect("connection");
                        for p in parts {
                            c.queue(p);
                        }
                    }
                    // Nicira statistics exist in OpenFlow 1.0 only.
                    Err(_) => self.send_error(t, OfError::BadRequest(BadRequest::BadMultipart), bytes, xid),
                }
            }
            OfMessage::PacketOut(po) => {
                if let Err(e) = self.packet_out(sw, &bridge, &po) {
                    self.send_error(t, e, bytes, xid);
                }
            }
            OfMessage::GroupMod(gm) => match sw.group_mod(&bridge, &gm) {
                Ok(removed) => {
                    let now = sw.dp.now_ms();
                    self.note_removed(&bridge, removed, now);
                }
                Err(e) => self.send_error(t, e, bytes, xid),
            },
            OfMessage::PortMod(pm) => match port_mod(sw, &bridge, &pm) {
                Ok(()) => self.refresh_ports(sw, &bridge),
                Err(e) => self.send_error(t, e, bytes, xid),
            },
            OfMessage::RoleRequest(r) => match self.role_request(t, &bridge, r) {
                Ok(reply) => self.send(t, &OfMessage::RoleReply(reply), xid),
                Err(e) => self.send_error(t, e, bytes, xid),
            },
            OfMessage::Experimenter { experimenter, exp_type, ref data }
                if experimenter == rvs_openflow::error::ONF_EXPERIMENTER
                    && (exp_type == super::bundle::BUNDLE_CONTROL || exp_type == super::bundle::BUNDLE_ADD) =>
            {
                self.bundle_message(sw, t, &bridge, exp_type, data, bytes, xid)
            }
            OfMessage::Error(e) => vlog::warn("ofserver", &format!("{bridge}: peer reported {}", e.error)),
            _ => self.send_error(t, OfError::BadRequest(BadRequest::BadType), bytes, xid),
        }
        false
    }

    /// The peer has done something beyond the handshake (OVS's "admitted"); a controller's
    /// admission ends fail-open.
    fn admit(&mut self, t: Token, now: Instant) {
        let Some(c) = self.conns.get_mut(&t) else { return };
        if c.admitted {
            return;
        }
        c.admitted = true;
        if c.kind != ConnKind::Controller {
            return;
        }
        let (bridge, target) = (c.bridge.clone(), c.target.clone());
        if let Some(ctl) = target.and_then(|k| self.bridges.get_mut(&bridge)?.controllers.get_mut(&k)) {
            ctl.last_admitted = now;
        }
    }

    /// Applies a flow-mod; deleted rules that asked for it get a flow-removed.
    fn flow_mod(&mut self, sw: &mut Switch, bridge: &str, fm: &rvs_flowcache::FlowMod, buffer_id: Option<u32>) -> Result<(), OfError> {
        if buffer_id.is_some() {
            return Err(OfError::BadRequest(BadRequest::BufferUnknown));
        }
        if fm.table_id == RESERVED_TABLE {
            // Table 254 is reserved for the switch, as in OVS.
            return Err(OfError::BadRequest(BadRequest::Eperm));
        }
        validate_actions(&fm.actions, fm.table_id, fm.command)?;
        // Flows may only send to groups that exist (OVS's `ofproto_check_ofpacts`).
        if matches!(fm.command, FlowModCommand::Add | FlowModCommand::Modify | FlowModCommand::ModifyStrict)
            && fm.actions.iter().any(|a| uses_missing_group(a, &|g| sw.has_group(bridge, g)))
        {
            return Err(OfError::BadAction(rvs_openflow::error::BadAction::BadOutGroup));
        }
        let now = sw.dp.now_ms();
        let br = sw.bridges.get_mut(bridge).expect("bridge exists");
        match br.writer.apply(fm, now) {
            Ok(outcome) => {
                self.after_change(sw, bridge, outcome, now);
                Ok(())
            }
            Err(FlowModError::BadTableId) => Err(OfError::FlowModFailed(FlowModFailed::BadTableId)),
            Err(FlowModError::Overlap) => Err(OfError::FlowModFailed(FlowModFailed::Overlap)),
        }
    }

    /// Role request (OVS's `handle_role_request`). OpenFlow 1.0's (Nicira's) carries no
    /// generation id.
    fn role_request(&mut self, t: Token, bridge: &str, r: RoleMsg) -> Result<RoleMsg, OfError> {
        let ctl = self.bridges.get_mut(bridge).expect("bridge exists");
        let v13 = self.conns[&t].version() != Some(Version::V1_0);
        if r.role != ControllerRole::NoChange {
            if r.role != ControllerRole::Equal && v13 {
                // Generation ids compare as a wrapping sequence: older ones are stale.
                if let Some(cur) = ctl.master_election_id {
                    if (r.generation_id.wrapping_sub(cur) as i64) < 0 {
                        return Err(OfError::Other { type_: OFPET_ROLE_REQUEST_FAILED, code: OFPRRFC_STALE });
                    }
                }
                ctl.master_election_id = Some(r.generation_id);
            }
            if r.role == ControllerRole::Master {
                for (ot, c) in self.conns.iter_mut() {
                    if *ot != t && c.bridge == bridge && c.role() == ControllerRole::Master {
                        vlog::info("ofserver", &format!("{}: demoted to slave", c.name));
                        if let Some(s) = c.session.as_mut() {
                            s.role = ControllerRole::Slave;
                        }
                    }
                }
            }
            if let Some(s) = self.conns.get_mut(&t).and_then(|c| c.session.as_mut()) {
                s.role = r.role;
            }
        }
        let generation_id = if v13 { self.bridges[bridge].master_election_id.unwrap_or(u64::MAX) } else { 0 };
        Ok(RoleMsg { role: self.conns[&t].role(), generation_id })
    }
}

/// Applies a port-mod (OVS's `handle_port_mod`): the port must exist and the address match.
fn port_mod(sw: &mut Switch, bridge: &str, pm: &PortMod) -> Result<(), OfError> {
    let br = sw.bridges.get_mut(bridge).expect("bridge exists");
    let Some(p) = br.ports.get_mut(&pm.port_no) else {
        return Err(OfError::PortModFailed(PortModFailed::BadPort));
    };
    if p.port.mac() != pm.hw_addr {
        return Err(OfError::PortModFailed(PortModFailed::BadHwAddr));
    }
    let mask = pm.mask & PORT_MOD_BITS;
    if mask & port_config::PORT_DOWN != 0 {
        let up = pm.config & port_config::PORT_DOWN == 0;
        if let Err(e) = p.port.set_admin_up(up) {
            vlog::warn("ofserver", &format!("{bridge}: {}: could not set the port {}: {e}", p.name, if up { "up" } else { "down" }));
            return Err(OfError::PortModFailed(PortModFailed::Eperm));
        }
    }
    let bits = mask & !port_config::PORT_DOWN;
    let new = (p.config & !bits) | (pm.config & bits);
    if new != p.config {
        p.config = new;
        sw.refresh_xlate(bridge);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_openflow::msg::VersionSet;

    #[test]
    fn hello_failure_text_lists_our_versions() {
        assert_eq!(incompatible_text(VersionSet(1 << 4), 1), "We support version 0x04, you support 0x01.");
        assert_eq!(incompatible_text(VersionSet((1 << 1) | (1 << 4)), 6), "We support versions 0x01, 0x04, you support 0x06.");
    }

    #[test]
    fn actions_that_cannot_be_in_a_rule_are_refused() {
        let out = |p| OfAction::Output { port: p, max_len: 0 };
        assert!(validate_actions(&[out(OfPort(1)), out(OfPort::CONTROLLER)], 0, FlowModCommand::Add).is_ok());
        assert_eq!(validate_actions(&[out(OfPort(0))], 0, FlowModCommand::Add), Err(OfError::BadAction(BadAction::BadOutPort)));
        assert_eq!(validate_actions(&[out(OfPort::ANY)], 0, FlowModCommand::Add), Err(OfError::BadAction(BadAction::BadOutPort)));
        assert_eq!(validate_actions(&[OfAction::GotoTable(1)], 1, FlowModCommand::Add), Err(OfError::BadInstruction(BadInstruction::BadTableId)));
        assert!(validate_actions(&[out(OfPort(0))], 0, FlowModCommand::Delete).is_ok());
        let ct = OfAction::Ct(Box::new(rvs_flowcache::conntrack::Ct {
            flags: rvs_flowcache::conntrack::CT_COMMIT,
            zone: rvs_flowcache::conntrack::CtZone::Imm(0),
            table: None,
            alg: 0,
            actions: vec![],
        }));
        let mpls = OfAction::PushMpls { ethertype: 0x8847 };
        for refused in [vec![ct.clone()], vec![OfAction::CtClear, out(OfPort(1))], vec![OfAction::Clone(vec![ct])], vec![mpls, out(OfPort(2))]] {
            assert_eq!(validate_actions(&refused, 0, FlowModCommand::Add), Err(OfError::BadAction(BadAction::BadType)), "{refused:?}");
        }
    }
}

/// True if `a` (or an action inside it) sends to a group for which `exists` is false.
fn uses_missing_group(a: &rvs_flowcache::OfAction, exists: &dyn Fn(u32) -> bool) -> bool {
    match a {
        rvs_flowcache::OfAction::Group(g) => !exists(*g),
        a => a.nested().is_some_and(|inner| inner.iter().any(|b| uses_missing_group(b, exists))),
    }
}
