//! The OpenFlow server: each bridge's Unix socket (`<rundir>/<bridge>.mgmt`, as in OVS) and
//! the connections on it.
//!
//! # A connection's life
//! On accept we send `OFPT_HELLO` with our version bitmap. The peer's hello fixes the version
//! (the highest both speak; none in common: `OFPET_HELLO_FAILED`/`OFPHFC_INCOMPATIBLE` and
//! close). Then each complete message (see [`rvs_openflow::framing`]) is decoded and handled
//! in order; replies carry the request's xid. A message that does not decode gets an
//! `OFPT_ERROR` with the type and code the decoder chose and the request's first 64 bytes, and
//! the connection stays up. Only a broken stream (a length below 8) closes it.
//!
//! # Consistency
//! Flow-mods apply to the bridge's writer at once and are published, for every connection,
//! when the event loop finishes its round ([`crate::switch::Switch::publish_flows`]). A barrier
//! publishes, then waits for the revalidator to bring every PMD's megaflows in line
//! ([`crate::revalidator::Revalidator::sync`]) before replying: after a barrier reply, no packet
//! is forwarded by a megaflow the new rules would not produce. Flow statistics are read after
//! the same synchronisation, so counters include traffic up to the request.
//!
//! # Connections on the bridge socket are service connections
//! They are `ovs-ofctl`-style clients: they get replies, not packet-ins. With no controller
//! connected, packets sent to `CONTROLLER` are counted (`coverage/show`:
//! `packet_in_no_controller`) and dropped.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::sync::Arc;

use mio::net::{UnixListener, UnixStream};
use mio::{Interest, Registry, Token};
use rvs_flowcache::ofp::{FlowModCommand, N_TABLES};
use rvs_flowcache::{FlowModError, OfAction, OfPort, Rule};
use rvs_openflow::error::{BadAction, BadInstruction, BadRequest, FlowModFailed, HelloFailed, TableFeaturesFailed};
use rvs_openflow::framing::Framer;
use rvs_openflow::msg::{
    encode_multipart_reply, negotiate, ErrorMsg, Hello, MultipartReply, MultipartRequest, OfMessage, Version, VersionSet, MULTIPART_MORE,
};
use rvs_openflow::stats::{
    port_features, port_state, AggregateStats, FlowStats, FlowStatsRequest, PortDesc, PortStats, SwitchConfig, SwitchDesc,
    SwitchFeatures, TableStats,
};
use rvs_openflow::OfError;

use crate::store::Paths;
use crate::switch::{port_config, Switch};
use crate::vlog;

/// Capabilities we announce: flow, table and port statistics.
const CAPABILITIES: u32 = 0x1 | 0x2 | 0x4;
/// Tables announced in features (OVS announces 254: table 254 is reserved).
const N_TABLES_ANNOUNCED: u8 = 254;
/// The table OVS reserves for itself (flow-mods to it are refused with `OFPBRC_EPERM`).
const RESERVED_TABLE: u8 = 254;
/// Largest multipart reply message we send.
const MAX_REPLY: usize = 65535;

struct OfConn {
    bridge: String,
    stream: UnixStream,
    framer: Framer,
    out: Vec<u8>,
    version: Option<Version>,
    config: SwitchConfig,
    writable_registered: bool,
}

/// Listeners and connections of every bridge.
pub struct OfServer {
    paths: Paths,
    listeners: HashMap<Token, (String, UnixListener)>,
    conns: HashMap<Token, OfConn>,
}

impl OfServer {
    /// A server with no sockets yet.
    pub fn new(paths: Paths) -> Self {
        OfServer { paths, listeners: HashMap::new(), conns: HashMap::new() }
    }

    /// Opens a socket for every new bridge and closes those of deleted bridges (and their
    /// connections).
    pub fn sync_bridges(&mut self, sw: &mut Switch, reg: &Registry, next_token: &mut usize) {
        let gone: Vec<Token> = self.listeners.iter().filter(|(_, (b, _))| !sw.bridges.contains_key(b)).map(|(t, _)| *t).collect();
        for t in gone {
            if let Some((b, mut l)) = self.listeners.remove(&t) {
                let _ = reg.deregister(&mut l);
                let _ = std::fs::remove_file(self.paths.bridge_socket(&b));
                let conns: Vec<Token> = self.conns.iter().filter(|(_, c)| c.bridge == b).map(|(t, _)| *t).collect();
                for c in conns {
                    self.close(reg, c);
                }
            }
        }
        for b in sw.bridges.keys() {
            if self.listeners.values().any(|(n, _)| n == b) {
                continue;
            }
            match crate::daemon::bind_private(&self.paths.bridge_socket(b)) {
                Ok(mut l) => {
                    let t = Token(*next_token);
                    *next_token += 1;
                    if reg.register(&mut l, t, Interest::READABLE).is_ok() {
                        self.listeners.insert(t, (b.clone(), l));
                    }
                }
                Err(e) => vlog::err("ofserver", &format!("{b}: could not listen on {}: {e}", self.paths.bridge_socket(b).display())),
            }
        }
    }

    /// Closes every socket (shutdown).
    pub fn close_all(&mut self) {
        for (_, (b, _)) in self.listeners.drain() {
            let _ = std::fs::remove_file(self.paths.bridge_socket(&b));
        }
        self.conns.clear();
    }

    fn close(&mut self, reg: &Registry, t: Token) {
        if let Some(mut c) = self.conns.remove(&t) {
            let _ = reg.deregister(&mut c.stream);
        }
    }

    /// Handles readiness of a listener or connection.
    pub fn handle_event(&mut self, sw: &mut Switch, reg: &Registry, next_token: &mut usize, t: Token, ev: &mio::event::Event) {
        if let Some((bridge, l)) = self.listeners.get(&t) {
            let bridge = bridge.clone();
            let mut accepted = Vec::new();
            loop {
                match l.accept() {
                    Ok((mut stream, _)) => {
                        let ct = Token(*next_token);
                        *next_token += 1;
                        if reg.register(&mut stream, ct, Interest::READABLE).is_err() {
                            continue;
                        }
                        let mut conn = OfConn {
                            bridge: bridge.clone(),
                            stream,
                            framer: Framer::new(),
                            out: Vec::new(),
                            version: None,
                            // Service connections get no table-miss packet data, as in OVS.
                            config: SwitchConfig { flags: 0, miss_send_len: 0 },
                            writable_registered: false,
                        };
                        let hello = OfMessage::Hello(Hello { versions: Some(ours()) });
                        if let Ok(bytes) = hello.encode(Version::V1_3, 1) {
                            conn.out.extend_from_slice(&bytes);
                        }
                        accepted.push((ct, conn));
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        vlog::warn("ofserver", &format!("{bridge}: accept failed: {e}"));
                        break;
                    }
                }
            }
            for (ct, conn) in accepted {
                self.conns.insert(ct, conn);
                self.flush(reg, ct);
            }
            return;
        }
        if !self.conns.contains_key(&t) {
            return;
        }
        if ev.is_writable() {
            self.flush(reg, t);
        }
        if ev.is_readable() || ev.is_read_closed() {
            let closed = self.read_and_handle(sw, t);
            self.flush(reg, t);
            if closed {
                self.close(reg, t);
            }
        }
    }

    /// Reads what is available and handles complete messages. Returns true if the connection
    /// is finished.
    fn read_and_handle(&mut self, sw: &mut Switch, t: Token) -> bool {
        let mut buf = [0u8; 65536];
        let mut eof = false;
        {
            let c = self.conns.get_mut(&t).expect("connection");
            loop {
                match c.stream.read(&mut buf) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(n) => c.framer.push(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => {
                        eof = true;
                        break;
                    }
                }
            }
        }
        loop {
            let msg = match self.conns.get_mut(&t).expect("connection").framer.next_message() {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(e) => {
                    vlog::warn("ofserver", &format!("closing connection: {e}"));
                    return true;
                }
            };
            if self.handle_message(sw, t, &msg) {
                return true;
            }
        }
        eof
    }

    fn send(&mut self, t: Token, msg: &OfMessage, xid: u32) {
        let Some(c) = self.conns.get_mut(&t) else { return };
        let v = c.version.unwrap_or(Version::V1_3);
        match msg.encode(v, xid) {
            Ok(bytes) => c.out.extend_from_slice(&bytes),
            Err(e) => vlog::err("ofserver", &format!("cannot encode reply: {e}")),
        }
    }

    /// Sends an error carrying the whole failed request (as OVS does; OpenFlow asks for at
    /// least 64 bytes), so that `ovs-ofctl` can print the request back.
    fn send_error(&mut self, t: Token, error: OfError, request: &[u8], xid: u32) {
        let data = request[..request.len().min(MAX_REPLY - 12)].to_vec();
        self.send(t, &OfMessage::Error(ErrorMsg { error, data }), xid);
    }

    /// Handles one message. Returns true if the connection must close.
    fn handle_message(&mut self, sw: &mut Switch, t: Token, bytes: &[u8]) -> bool {
        let xid = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        let decoded = rvs_openflow::decode(bytes);
        let negotiated = self.conns[&t].version;
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
            match negotiate(ours(), header.version, h) {
                Ok(v) => {
                    self.conns.get_mut(&t).expect("connection").version = Some(v);
                }
                Err(e) => {
                    let text = format!("We support versions 0x04 only, you support {:#04x}.", header.version);
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
        let bridge = self.conns[&t].bridge.clone();
        if !sw.bridges.contains_key(&bridge) {
            return true;
        }
        match msg {
            OfMessage::EchoRequest(data) => self.send(t, &OfMessage::EchoReply(data), xid),
            OfMessage::EchoReply(_) => {}
            OfMessage::FeaturesRequest => {
                let dpid = sw.bridges[&bridge].datapath_id;
                let f = SwitchFeatures { datapath_id: dpid, n_buffers: 0, n_tables: N_TABLES_ANNOUNCED, auxiliary_id: 0, capabilities: CAPABILITIES };
                self.send(t, &OfMessage::FeaturesReply(f), xid);
            }
            OfMessage::GetConfigRequest => {
                let cfg = self.conns[&t].config;
                self.send(t, &OfMessage::GetConfigReply(cfg), xid);
            }
            OfMessage::SetConfig(cfg) => self.conns.get_mut(&t).expect("connection").config = cfg,
            OfMessage::BarrierRequest => {
                sw.publish_flows();
                sw.revalidator.sync();
                self.send(t, &OfMessage::BarrierReply, xid);
            }
            OfMessage::FlowMod { flow_mod, buffer_id } => {
                if buffer_id.is_some() {
                    self.send_error(t, OfError::BadRequest(BadRequest::BufferUnknown), bytes, xid);
                    return false;
                }
                if flow_mod.table_id == RESERVED_TABLE {
                    // Table 254 is reserved for the switch, as in OVS.
                    self.send_error(t, OfError::BadRequest(BadRequest::Eperm), bytes, xid);
                    return false;
                }
                if let Err(e) = validate_actions(&flow_mod.actions, flow_mod.table_id, flow_mod.command) {
                    self.send_error(t, e, bytes, xid);
                    return false;
                }
                let now = sw.dp.now_ms();
                let br = sw.bridges.get_mut(&bridge).expect("bridge");
                match br.writer.apply(&flow_mod, now) {
                    Ok(_outcome) => {}
                    Err(e) => {
                        let err = match e {
                            FlowModError::BadTableId => OfError::FlowModFailed(FlowModFailed::BadTableId),
                            FlowModError::Overlap => OfError::FlowModFailed(FlowModFailed::Overlap),
                        };
                        self.send_error(t, err, bytes, xid);
                    }
                }
            }
            // A table features request with a body reconfigures tables; rvs tables are fixed.
            OfMessage::MultipartRequest { flags, request: MultipartRequest::TableFeatures(ref tables) }
                if !tables.is_empty() || flags & MULTIPART_MORE != 0 =>
            {
                self.send_error(t, OfError::TableFeaturesFailed(TableFeaturesFailed::Eperm), bytes, xid);
            }
            OfMessage::MultipartRequest { request, .. } => self.multipart(sw, t, &bridge, version, xid, request),
            OfMessage::Error(e) => vlog::warn("ofserver", &format!("{bridge}: peer reported {}", e.error)),
            OfMessage::PacketOut(_) => {
                self.send_error(t, OfError::BadRequest(BadRequest::BadType), bytes, xid);
            }
            _ => self.send_error(t, OfError::BadRequest(BadRequest::BadType), bytes, xid),
        }
        false
    }

    fn multipart(&mut self, sw: &mut Switch, t: Token, bridge: &str, version: Version, xid: u32, req: MultipartRequest) {
        let reply = match req {
            MultipartRequest::Desc => MultipartReply::Desc(SwitchDesc {
                mfr_desc: "The rvs project".into(),
                hw_desc: "rvs".into(),
                sw_desc: env!("CARGO_PKG_VERSION").into(),
                serial_num: "None".into(),
                dp_desc: "rvs-netdev".into(),
            }),
            MultipartRequest::Flow(r) => {
                sw.publish_flows();
                sw.revalidator.sync();
                MultipartReply::Flow(flow_stats(sw, bridge, &r))
            }
            MultipartRequest::Aggregate(r) => {
                sw.publish_flows();
                sw.revalidator.sync();
                let flows = flow_stats(sw, bridge, &r);
                MultipartReply::Aggregate(AggregateStats {
                    packet_count: flows.iter().map(|f| f.packet_count).sum(),
                    byte_count: flows.iter().map(|f| f.byte_count).sum(),
                    flow_count: flows.len() as u32,
                })
            }
            MultipartRequest::Table => {
                sw.revalidator.sync();
                MultipartReply::Table(table_stats(sw, bridge))
            }
            MultipartRequest::PortStats { port_no } => MultipartReply::PortStats(port_stats(sw, bridge, port_no)),
            MultipartRequest::PortDesc => MultipartReply::PortDesc(port_descs(sw, bridge)),
            MultipartRequest::TableFeatures(_) => {
                MultipartReply::TableFeatures(rvs_openflow::table_features::rvs_table_features(N_TABLES_ANNOUNCED))
            }
        };
        match encode_multipart_reply(version, xid, &reply, MAX_REPLY) {
            Ok(parts) => {
                let c = self.conns.get_mut(&t).expect("connection");
                for p in parts {
                    c.out.extend_from_slice(&p);
                }
            }
            Err(e) => vlog::err("ofserver", &format!("cannot encode multipart reply: {e}")),
        }
    }

    fn flush(&mut self, reg: &Registry, t: Token) {
        let Some(c) = self.conns.get_mut(&t) else { return };
        while !c.out.is_empty() {
            match c.stream.write(&c.out) {
                Ok(0) => break,
                Ok(n) => {
                    c.out.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    c.out.clear();
                    break;
                }
            }
        }
        let want_write = !c.out.is_empty();
        if want_write != c.writable_registered {
            let interest = if want_write { Interest::READABLE | Interest::WRITABLE } else { Interest::READABLE };
            let _ = reg.reregister(&mut c.stream, t, interest);
            c.writable_registered = want_write;
        }
    }

    /// Hands packet-ins from PMDs to controllers. The bridge socket serves no controller, so
    /// they are counted as unsent and dropped.
    pub fn deliver_packet_ins(&mut self, sw: &mut Switch) {
        while sw.packet_in_rx.try_recv().is_ok() {
            sw.packet_ins_unsent += 1;
        }
    }

    /// Once a second: rule timeouts.
    pub fn tick(&mut self, sw: &mut Switch) {
        let now = sw.dp.now_ms();
        for br in sw.bridges.values_mut() {
            let removed = br.writer.expire(now);
            if !removed.is_empty() {
                vlog::info("ofserver", &format!("{}: {} rule(s) expired", br.name, removed.len()));
            }
        }
    }

    /// `ofproto/trace`: see [`crate::trace`].
    pub fn trace(&self, sw: &Switch, args: &[String]) -> Result<String, String> {
        crate::trace::run(sw, args)
    }
}

fn ours() -> VersionSet {
    VersionSet::of(Version::V1_3)
}

/// Checks what the classifier cannot: table references in instructions and actions, and port
/// numbers in outputs.
fn validate_actions(actions: &[OfAction], table: u8, cmd: FlowModCommand) -> Result<(), OfError> {
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
            OfAction::WriteActions(inner) => validate_actions(inner, table, cmd)?,
            _ => {}
        }
    }
    Ok(())
}

fn rule_stats(r: &Arc<Rule>, now_ms: u64) -> FlowStats {
    let age = now_ms.saturating_sub(r.created_ms);
    FlowStats {
        table_id: r.table_id,
        duration_sec: (age / 1000) as u32,
        duration_nsec: ((age % 1000) * 1_000_000) as u32,
        priority: r.priority,
        idle_timeout: r.idle_timeout,
        hard_timeout: r.hard_timeout,
        flags: r.flags,
        importance: r.importance,
        cookie: r.cookie,
        packet_count: r.stats.packets.load(std::sync::atomic::Ordering::Relaxed),
        byte_count: r.stats.bytes.load(std::sync::atomic::Ordering::Relaxed),
        match_: r.match_,
        actions: r.actions.to_vec(),
    }
}

fn flow_stats(sw: &Switch, bridge: &str, req: &FlowStatsRequest) -> Vec<FlowStats> {
    let now = sw.dp.now_ms();
    let br = &sw.bridges[bridge];
    let p = br.writer.current();
    let mut v: Vec<FlowStats> = p
        .rules()
        .filter(|r| req.table_id == rvs_flowcache::ofp::ALL_TABLES || r.table_id == req.table_id)
        .filter(|r| r.match_.is_covered_by(&req.match_))
        .filter(|r| (r.cookie ^ req.cookie) & req.cookie_mask == 0)
        .filter(|r| req.out_port == OfPort::ANY || r.actions.iter().any(|a| a.outputs_to(req.out_port)))
        .map(|r| rule_stats(r, now))
        .collect();
    v.sort_by(|a, b| (a.table_id, std::cmp::Reverse(a.priority)).cmp(&(b.table_id, std::cmp::Reverse(b.priority))));
    v
}

fn table_stats(sw: &Switch, bridge: &str) -> Vec<TableStats> {
    let p = sw.bridges[bridge].writer.current();
    (0..N_TABLES_ANNOUNCED)
        .map(|t| {
            let table = p.table(t);
            let matched: u64 = table.iter().map(|r| r.stats.packets.load(std::sync::atomic::Ordering::Relaxed)).sum();
            TableStats { table_id: t, active_count: table.len() as u32, lookup_count: matched, matched_count: matched }
        })
        .collect()
}

fn port_stats(sw: &Switch, bridge: &str, port_no: OfPort) -> Vec<PortStats> {
    let br = &sw.bridges[bridge];
    br.ports
        .values()
        .filter(|p| port_no == OfPort::ANY || p.ofport == port_no)
        .map(|p| {
            let s = p.port.stats();
            // Counters a port does not keep stay "unknown" (all ones), as OVS reports them.
            PortStats {
                rx_packets: s.rx_packets,
                tx_packets: s.tx_packets,
                rx_bytes: s.rx_bytes,
                tx_bytes: s.tx_bytes,
                rx_dropped: s.rx_dropped,
                tx_dropped: s.tx_dropped,
                rx_errors: s.rx_errors,
                tx_errors: s.tx_errors,
                duration_sec: 0,
                duration_nsec: 0,
                ..PortStats::unknown(p.ofport)
            }
        })
        .collect()
}

fn port_descs(sw: &Switch, bridge: &str) -> Vec<PortDesc> {
    let br = &sw.bridges[bridge];
    let mut v: Vec<PortDesc> = br
        .ports
        .values()
        .map(|p| {
            let link = p.port.link_state();
            let mut config = p.config & (port_config::NO_RECV | port_config::NO_FWD | port_config::NO_PACKET_IN);
            if !link.admin_up {
                config |= port_config::PORT_DOWN;
            }
            let state = if !link.carrier { port_state::LINK_DOWN } else { port_state::LIVE };
            let curr = if link.carrier { port_features::RATE_10GB_FD | port_features::COPPER } else { 0 };
            PortDesc {
                port_no: p.ofport,
                hw_addr: p.port.mac(),
                name: p.name.clone(),
                config,
                state,
                curr,
                advertised: 0,
                supported: 0,
                peer: 0,
                curr_speed: if link.carrier { 10_000_000 } else { 0 },
                max_speed: 0,
            }
        })
        .collect();
    // LOCAL last, as OVS lists it.
    v.sort_by_key(|d| d.port_no);
    v
}
