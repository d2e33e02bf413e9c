//! The OpenFlow side of `rvs-vswitchd`: every bridge's listeners, its controller connections,
//! and the messages on them.
//!
//! # Map
//! | module | what |
//! |---|---|
//! | [`transport`] | targets (`tcp:`, `unix:`, `ptcp:`, `punix:`), sockets |
//! | [`conn`] | one connection: framing, keepalive, OpenFlow state (role, async config, ...) |
//! | [`queue`] | its bounded output queue, and the packet-in rate limit |
//! | [`controller`] | reconnect backoff and fail-open, as pure state machines |
//! | `handlers` | requests: hello, echo, features, config, flow-mod, role, async, port-mod, ... |
//! | [`replies`] | features, statistics and port descriptions |
//! | `async_msgs` | packet-in, flow-removed and port-status delivery |
//! | `packet_out` | running a packet-out's actions on the control thread |
//! | `learned` | applying flows learned by `learn` actions; `delete_learned` |
//!
//! # Connections (OVS's connmgr)
//! Every bridge has its Unix socket `<rundir>/<bridge>.mgmt`, always, and its snoop socket
//! `<rundir>/<bridge>.snoop`, whose clients (`ovs-ofctl snoop`) get, after the hello
//! exchange, a copy of every message exchanged with the bridge's controllers (not with
//! service connections such as `ovs-ofctl`'s), as Open vSwitch does; and what
//! `Bridge:controller` lists: `ptcp:`/`punix:` listeners, whose clients are *service*
//! connections like those of the bridge socket, and `tcp:`/`unix:` *controllers*, which rvs
//! connects to and keeps connected (reconnect with backoff, echo keepalive; see
//! [`controller`] and [`conn`]). Several controllers may be connected at once; they share the
//! switch according to their roles (equal, master, slave; a slave may not change state and
//! gets `OFPBRC_IS_SLAVE`). [`OfServer::sync_bridges`] brings listeners and controllers in
//! line with the configuration after every `rvs-vsctl` transaction.
//!
//! # A connection's life
//! Both sides send `OFPT_HELLO`; the peer's fixes the version (the highest in both the
//! bridge's `protocols` and the codec's; none: `OFPHFC_INCOMPATIBLE` and close). Then each
//! complete message is decoded and handled in order; replies carry the request's xid. A
//! message that does not decode gets an `OFPT_ERROR` with the whole request and the connection
//! stays up. Only a broken stream (a length below 8), a dead peer (no answer to a probe) or an
//! output queue that cannot take a reply closes it.
//!
//! # Asynchronous messages
//! Packet-ins from the PMDs (and from packet-outs), flow-removed for rules with
//! `SEND_FLOW_REM`, and port-status for ports added, deleted or changed (configuration by
//! port-mod, administrative state or carrier, polled once a second) go to every connection
//! whose kind, role and asynchronous configuration ask for them (see [`conn::Conn::receives`]).
//! Packet-ins carry the whole packet, unbuffered: rvs keeps no packet buffers
//! (`n_buffers` is 0), and OpenFlow says an unbuffered packet-in holds the entire packet
//! whatever `max_len` or `miss_send_len` say, as OVS sends it. Packet-ins nobody takes are
//! counted (`coverage/show`: `packet_in_no_controller`) and dropped.
//!
//! # Consistency
//! Flow-mods apply to the bridge's writer at once and are published when the event loop ends
//! its round ([`OfServer::end_round`]). A barrier publishes, then waits for the revalidator to
//! bring every PMD's megaflows in line before replying: after a barrier reply, no packet is
//! forwarded by a megaflow the new rules would not produce. Flow-removed messages of a round
//! are sent after one such synchronisation, so their counters are final, and before any
//! later barrier reply.
//!
//! # Threads
//! Everything here runs on the control thread, which never blocks on a peer: sockets are
//! non-blocking and output is queued within bounds (see [`queue`]).

mod async_msgs;
pub mod conn;
pub mod controller;
mod bundle;
mod handlers;
mod monitor;
mod learned;
mod packet_out;
pub mod queue;
pub mod replies;
pub mod transport;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Interest, Registry, Token};
use rvs_flowcache::pipeline::RemovedReason;
use rvs_flowcache::{OfPort, Rule};
use rvs_openflow::msg::{Hello, OfMessage, Version, VersionSet};
use rvs_openflow::stats::PortDesc;

use crate::config::BridgeConfig;
use crate::store::Paths;
use crate::switch::Switch;
use crate::vlog;
use conn::{Conn, ConnKind, Keepalive, MGMT_PROBE_INTERVAL, PROBE_INTERVAL};
use controller::{CtlState, Controller};
use queue::{QueueLimits, TokenBucket};
use transport::{Listener, Stream, Target};

/// Messages handled per connection before others get a turn.
const READ_BUDGET: usize = 64;

/// A listening socket of a bridge.
struct ListenerEntry {
    bridge: String,
    /// `punix:...`, `ptcp:...`, or the bridge socket's path.
    name: String,
    listener: Listener,
    probe: Duration,
    /// `<bridge>.snoop`: its clients get copies of the controller conversations.
    snoop: bool,
}

/// Per-bridge state of the connection manager.
struct BridgeCtl {
    /// Token of the bridge's own Unix socket.
    mgmt: Option<Token>,
    /// Token of the bridge's snoop socket (`<rundir>/<bridge>.snoop`).
    snoop: Option<Token>,
    /// `ptcp:`/`punix:` listeners by target text.
    services: BTreeMap<String, Token>,
    /// `tcp:`/`unix:` controllers by target text.
    controllers: BTreeMap<String, Controller>,
    /// The controller list last applied (to log configuration errors once).
    configured: Vec<String>,
    standalone: bool,
    fail_open: bool,
    /// Versions allowed by `protocols`.
    versions: VersionSet,
    limits: QueueLimits,
    /// Packet-in rate limit (packets per second, burst), if configured.
    rate: Option<(u32, u32)>,
    /// Master election generation id, once a master or slave request set one.
    master_election_id: Option<u64>,
    /// Ports as last announced by port-status.
    ports: BTreeMap<OfPort, PortDesc>,
}

/// A rule removed this round whose flow-removed is yet to be sent.
struct Removal {
    bridge: String,
    rule: Arc<Rule>,
    reason: RemovedReason,
    at_ms: u64,
}

/// Listeners and connections of every bridge. See the module documentation.
pub struct OfServer {
    paths: Paths,
    bridges: BTreeMap<String, BridgeCtl>,
    listeners: HashMap<Token, ListenerEntry>,
    conns: HashMap<Token, Conn>,
    /// Connections with input left to handle (read budget used up, or queue drained).
    pending: BTreeSet<Token>,
    removals: Vec<Removal>,
    /// Flow monitors by connection ([`monitor`]).
    monitors: HashMap<Token, Vec<rvs_openflow::monitor::FlowMonitorRequest>>,
    /// The connection and xid of the message being handled, for changes it makes.
    origin: Option<(Token, u32)>,
    /// Open bundles by connection and bundle id ([`bundle`]).
    bundles: HashMap<(Token, u32), bundle::Bundle>,
}

fn alloc(next_token: &mut usize) -> Token {
    let t = Token(*next_token);
    *next_token += 1;
    t
}

/// The versions a bridge's `protocols` allow, among those the codec implements.
fn allowed_versions(cfg: &BridgeConfig) -> VersionSet {
    let supported = Version::supported();
    if cfg.protocols.is_empty() {
        return supported;
    }
    let mut set = VersionSet(0);
    for p in &cfg.protocols {
        let wire = match p.as_str() {
            "OpenFlow10" => 1,
            "OpenFlow11" => 2,
            "OpenFlow12" => 3,
            "OpenFlow13" => 4,
            "OpenFlow14" => 5,
            "OpenFlow15" => 6,
            _ => continue,
        };
        set.0 |= 1 << wire;
    }
    set.intersect(supported)
}

/// Output-queue limits and packet-in rate limit from bridge `other_config`:
/// `controller-queue-size` (packet-ins queued per connection, 1..512, default 100, as OVS),
/// `controller-rate-limit` (packet-ins per second per connection, at least 100; unset: no
/// limit, as OVS) and `controller-burst-limit` (at least 25; default a quarter of the rate).
fn limits_from(cfg: &BridgeConfig) -> (QueueLimits, Option<(u32, u32)>) {
    let mut limits = QueueLimits::default();
    limits.packet_ins = cfg.other("controller-queue-size", limits.packet_ins).clamp(1, 512);
    let rate = cfg.other_config.get("controller-rate-limit").and_then(|r| r.parse::<u32>().ok()).map(|r| r.max(100));
    let rate = rate.map(|r| (r, cfg.other("controller-burst-limit", r / 4).max(25)));
    (limits, rate)
}

impl BridgeCtl {
    fn new() -> BridgeCtl {
        BridgeCtl {
            mgmt: None,
            snoop: None,
            services: BTreeMap::new(),
            controllers: BTreeMap::new(),
            configured: Vec::new(),
            standalone: true,
            fail_open: false,
            versions: Version::supported(),
            limits: QueueLimits::default(),
            rate: None,
            master_election_id: None,
            ports: BTreeMap::new(),
        }
    }
}

impl OfServer {
    /// A server with no sockets yet.
    pub fn new(paths: Paths) -> Self {
        OfServer { paths, bridges: BTreeMap::new(), listeners: HashMap::new(), conns: HashMap::new(), pending: BTreeSet::new(), removals: Vec::new(), monitors: HashMap::new(), origin: None, bundles: HashMap::new() }
    }

    /// Brings sockets and controllers in line with the configuration: opens what new bridges
    /// and targets need, closes what deleted ones had, applies fail modes and limits, and
    /// announces port changes.
    pub fn sync_bridges(&mut self, sw: &mut Switch, reg: &Registry, next_token: &mut usize) {
        let now = Instant::now();
        let gone: Vec<String> = self.bridges.keys().filter(|b| !sw.bridges.contains_key(*b)).cloned().collect();
        for b in gone {
            self.remove_bridge(reg, &b, now);
        }
        let names: Vec<String> = sw.bridges.keys().cloned().collect();
        for name in names {
            let cfg = sw.cfg.bridges.get(&name).cloned().unwrap_or_default();
            if !self.bridges.contains_key(&name) {
                self.bridges.insert(name.clone(), BridgeCtl::new());
                // The ports a new bridge starts with need no announcement.
                let ports = replies::port_descs(sw, &name).into_iter().map(|d| (d.port_no, d)).collect();
                self.bridges.get_mut(&name).expect("just inserted").ports = ports;
            }
            if self.bridges[&name].mgmt.is_none() {
                let path = self.paths.bridge_socket(&name);
                let t = self.listen(reg, next_token, &name, path.display().to_string(), &Target::PUnix(path), MGMT_PROBE_INTERVAL);
                self.bridges.get_mut(&name).expect("bridge").mgmt = t;
            }
            if self.bridges[&name].snoop.is_none() {
                let path = self.paths.rundir.join(format!("{name}.snoop"));
                let t = self.listen(reg, next_token, &name, path.display().to_string(), &Target::PUnix(path), MGMT_PROBE_INTERVAL);
                if let Some(l) = t.and_then(|t| self.listeners.get_mut(&t)) {
                    l.snoop = true;
                }
                self.bridges.get_mut(&name).expect("bridge").snoop = t;
            }
            self.sync_targets(reg, next_token, &name, &cfg, now);
            let (limits, rate) = limits_from(&cfg);
            let ctl = self.bridges.get_mut(&name).expect("bridge");
            ctl.standalone = cfg.fail_mode.as_deref() != Some("secure");
            ctl.versions = allowed_versions(&cfg);
            if (ctl.limits, ctl.rate) != (limits, rate) {
                ctl.limits = limits;
                ctl.rate = rate;
                for c in self.conns.values_mut().filter(|c| c.bridge == name) {
                    c.limits = limits;
                    c.rate = rate.map(|(r, b)| TokenBucket::new(r, b, now));
                }
            }
            self.refresh_ports(sw, &name);
        }
        self.run_timers(sw, reg, next_token);
    }

    /// Opens, keeps or closes the bridge's `ptcp:`/`punix:` listeners and `tcp:`/`unix:`
    /// controllers to match `cfg.controllers`.
    fn sync_targets(&mut self, reg: &Registry, next_token: &mut usize, bridge: &str, cfg: &BridgeConfig, now: Instant) {
        let log_errors = self.bridges[bridge].configured != cfg.controllers;
        let mut passive = BTreeMap::new();
        let mut active = BTreeMap::new();
        for text in &cfg.controllers {
            // Relative socket paths are in the run directory, as OVS's.
            let parsed = Target::parse(text).map(|t| match t {
                Target::Unix(p) if p.is_relative() => Target::Unix(self.paths.rundir.join(p)),
                Target::PUnix(p) if p.is_relative() => Target::PUnix(self.paths.rundir.join(p)),
                t => t,
            });
            match parsed {
                Ok(t) if t.is_active() => {
                    active.insert(text.clone(), t);
                }
                Ok(t) => {
                    passive.insert(text.clone(), t);
                }
                Err(e) if log_errors => vlog::err("ofserver", &format!("{bridge}: {e}")),
                Err(_) => {}
            }
        }
        let ctl = self.bridges.get_mut(bridge).expect("bridge");
        ctl.configured = cfg.controllers.clone();
        let stale_services: Vec<(String, Token)> =
            ctl.services.iter().filter(|(k, _)| !passive.contains_key(*k)).map(|(k, t)| (k.clone(), *t)).collect();
        let stale_ctls: Vec<Controller> = {
            let keys: Vec<String> = ctl.controllers.keys().filter(|k| !active.contains_key(*k)).cloned().collect();
            keys.iter().filter_map(|k| ctl.controllers.remove(k)).collect()
        };
        for (k, t) in stale_services {
            self.bridges.get_mut(bridge).expect("bridge").services.remove(&k);
            self.close_listener(reg, t);
        }
        for c in stale_ctls {
            vlog::info("ofserver", &format!("{bridge}<->{}: controller removed", c.target_text));
            if let Some(t) = c.token() {
                self.close(reg, t, now);
            }
        }
        for (text, target) in passive {
            if self.bridges[bridge].services.contains_key(&text) {
                continue;
            }
            if let Some(t) = self.listen(reg, next_token, bridge, text.clone(), &target, PROBE_INTERVAL) {
                self.bridges.get_mut(bridge).expect("bridge").services.insert(text, t);
            }
        }
        let ctl = self.bridges.get_mut(bridge).expect("bridge");
        for (text, target) in active {
            ctl.controllers.entry(text.clone()).or_insert_with(|| Controller::new(&text, target, now));
        }
    }

    fn listen(&mut self, reg: &Registry, next_token: &mut usize, bridge: &str, name: String, target: &Target, probe: Duration) -> Option<Token> {
        match Listener::bind(target) {
            Ok(mut listener) => {
                let t = alloc(next_token);
                if let Err(e) = reg.register(&mut listener, t, Interest::READABLE) {
                    vlog::err("ofserver", &format!("{bridge}: {name}: {e}"));
                    listener.remove_file();
                    return None;
                }
                vlog::info("ofserver", &format!("{bridge}: listening on {name}"));
                self.listeners.insert(t, ListenerEntry { bridge: bridge.to_string(), name, listener, probe, snoop: false });
                Some(t)
            }
            Err(e) => {
                vlog::err("ofserver", &format!("{bridge}: could not listen on {name}: {e}"));
                None
            }
        }
    }

    fn close_listener(&mut self, reg: &Registry, t: Token) {
        if let Some(mut l) = self.listeners.remove(&t) {
            let _ = reg.deregister(&mut l.listener);
            l.listener.remove_file();
            vlog::info("ofserver", &format!("{}: stopped listening on {}", l.bridge, l.name));
        }
    }

    fn remove_bridge(&mut self, reg: &Registry, bridge: &str, now: Instant) {
        let Some(ctl) = self.bridges.remove(bridge) else { return };
        for t in ctl.mgmt.into_iter().chain(ctl.snoop).chain(ctl.services.into_values()) {
            self.close_listener(reg, t);
        }
        let conns: Vec<Token> = self.conns.iter().filter(|(_, c)| c.bridge == bridge).map(|(t, _)| *t).collect();
        for t in conns {
            self.close(reg, t, now);
        }
        self.removals.retain(|r| r.bridge != bridge);
    }

    /// Closes every socket (shutdown).
    pub fn close_all(&mut self) {
        for (_, l) in self.listeners.drain() {
            l.listener.remove_file();
        }
        self.conns.clear();
        self.bridges.clear();
    }

    /// Closes a connection; a controller's goes back to backoff.
    fn close(&mut self, reg: &Registry, t: Token, now: Instant) {
        let Some(mut c) = self.conns.remove(&t) else { return };
        let _ = reg.deregister(&mut c.stream);
        self.pending.remove(&t);
        let Some(target) = &c.target else {
            vlog::info("ofserver", &format!("{}: connection closed", c.name));
            return;
        };
        let Some(ctl) = self.bridges.get_mut(&c.bridge).and_then(|b| b.controllers.get_mut(target)) else { return };
        if ctl.token() != Some(t) {
            return;
        }
        if c.admitted {
            ctl.last_admitted = now;
        }
        let was_connected = matches!(ctl.state, CtlState::Connected { .. });
        let wait = ctl.disconnected(now);
        let what = if was_connected { "connection closed" } else { "connection failed" };
        vlog::info("ofserver", &format!("{}: {what}; waiting {} seconds before reconnect", c.name, wait.as_secs()));
    }

    /// Closes the connections that failed.
    fn reap(&mut self, reg: &Registry, now: Instant) {
        let failed: Vec<Token> = self.conns.iter().filter(|(_, c)| c.failed).map(|(t, _)| *t).collect();
        for t in failed {
            self.close(reg, t, now);
        }
    }

    /// Handles readiness of a listener or connection.
    pub fn handle_event(&mut self, sw: &mut Switch, reg: &Registry, next_token: &mut usize, t: Token, ev: &mio::event::Event) {
        let now = Instant::now();
        if self.listeners.contains_key(&t) {
            self.accept(reg, next_token, t, now);
            return;
        }
        let Some(c) = self.conns.get_mut(&t) else { return };
        if c.connecting {
            match c.stream.finish_connect() {
                Ok(true) => self.connected(t, now),
                Ok(false) => return,
                Err(e) => {
                    vlog::info("ofserver", &format!("{}: connection failed ({e})", c.name));
                    c.failed = true;
                }
            }
        }
        if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
            self.serve(sw, t, now);
        }
        self.flush(reg, t);
        self.reap(reg, now);
    }

    fn accept(&mut self, reg: &Registry, next_token: &mut usize, lt: Token, now: Instant) {
        loop {
            let l = &self.listeners[&lt];
            let stream = match l.listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    vlog::warn("ofserver", &format!("{}: accept on {} failed: {e}", l.bridge, l.name));
                    return;
                }
            };
            let (bridge, name, probe) = (l.bridge.clone(), format!("{}<->{}", l.bridge, l.name), l.probe);
            let kind = if l.snoop { ConnKind::Snoop } else { ConnKind::Service };
            let t = alloc(next_token);
            let mut c = Conn::new(&bridge, name, kind, stream, Some(probe), now);
            if c.register(reg, t).is_err() {
                continue;
            }
            self.init_conn(&mut c, now);
            self.conns.insert(t, c);
            self.send_hello(t);
            self.flush(reg, t);
        }
    }

    /// Applies the bridge's limits to a new connection.
    fn init_conn(&self, c: &mut Conn, now: Instant) {
        let Some(ctl) = self.bridges.get(&c.bridge) else { return };
        c.limits = ctl.limits;
        c.rate = ctl.rate.map(|(r, b)| TokenBucket::new(r, b, now));
    }

    /// Sends our hello: the versions the bridge allows.
    fn send_hello(&mut self, t: Token) {
        let Some(c) = self.conns.get_mut(&t) else { return };
        let versions = self.bridges.get(&c.bridge).map_or(Version::supported(), |b| b.versions);
        c.send(&OfMessage::Hello(Hello { versions: Some(versions) }), 1);
    }

    /// An active connection completed.
    fn connected(&mut self, t: Token, now: Instant) {
        let Some(c) = self.conns.get_mut(&t) else { return };
        c.connecting = false;
        c.stream.set_nodelay();
        let (bridge, target) = (c.bridge.clone(), c.target.clone());
        vlog::info("ofserver", &format!("{}: connected", c.name));
        if let Some(ctl) = target.and_then(|k| self.bridges.get_mut(&bridge)?.controllers.get_mut(&k)) {
            ctl.connected(t, now);
        }
        self.send_hello(t);
    }

    /// Starts connecting the controllers whose backoff has passed.
    fn connect_due(&mut self, reg: &Registry, next_token: &mut usize, now: Instant) {
        let due: Vec<(String, String, Target)> = self
            .bridges
            .iter()
            .flat_map(|(b, ctl)| ctl.controllers.values().filter(|c| c.due(now)).map(move |c| (b.clone(), c.target_text.clone(), c.target.clone())))
            .collect();
        for (bridge, text, target) in due {
            let name = format!("{bridge}<->{text}");
            let t = alloc(next_token);
            let ctl = self.bridges.get_mut(&bridge).and_then(|b| b.controllers.get_mut(&text)).expect("controller listed");
            ctl.connecting(t, now);
            let stream = match Stream::connect(&target) {
                Ok(s) => s,
                Err(e) => {
                    let wait = ctl.disconnected(now);
                    vlog::info("ofserver", &format!("{name}: connection failed ({e}); waiting {} seconds before reconnect", wait.as_secs()));
                    continue;
                }
            };
            let mut c = Conn::new(&bridge, name, ConnKind::Controller, stream, Some(PROBE_INTERVAL), now);
            c.target = Some(text);
            c.connecting = matches!(target, Target::Tcp(_));
            self.init_conn(&mut c, now);
            if let Err(e) = c.register(reg, t) {
                vlog::err("ofserver", &format!("{}: {e}", c.name));
                self.conns.insert(t, c);
                self.conns.get_mut(&t).expect("inserted").failed = true;
                continue;
            }
            let connecting = c.connecting;
            self.conns.insert(t, c);
            if !connecting {
                self.connected(t, now);
                self.flush(reg, t);
            }
        }
    }

    /// Handles what a connection has to say, within its read budget and queue limit.
    fn serve(&mut self, sw: &mut Switch, t: Token, now: Instant) {
        let mut budget = READ_BUDGET;
        loop {
            let Some(c) = self.conns.get_mut(&t) else { return };
            if c.failed || c.connecting {
                return;
            }
            if c.over_soft_limit() {
                c.read_paused = true;
                return;
            }
            if budget == 0 {
                self.pending.insert(t);
                return;
            }
            match c.next_message(now) {
                Ok(Some(msg)) => {
                    budget -= 1;
                    if self.handle_message(sw, t, &msg, now) {
                        if let Some(c) = self.conns.get_mut(&t) {
                            c.failed = true;
                        }
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    vlog::info("ofserver", &format!("{}: {e}", c.name));
                    c.failed = true;
                    return;
                }
            }
        }
    }

    /// Writes a connection's queue; resumes reading once a paused queue has drained.
    fn flush(&mut self, reg: &Registry, t: Token) {
        let Some(c) = self.conns.get_mut(&t) else { return };
        c.flush(reg, t);
        if c.read_paused && c.out.bytes() <= c.limits.soft_bytes / 2 {
            c.read_paused = false;
            self.pending.insert(t);
        }
    }

    /// Timers and deferred work: input left over, keepalives, connect timeouts and
    /// reconnects, fail-open. Called after every round of events.
    pub fn run_timers(&mut self, sw: &mut Switch, reg: &Registry, next_token: &mut usize) {
        let now = Instant::now();
        for t in std::mem::take(&mut self.pending) {
            self.serve(sw, t, now);
            self.flush(reg, t);
        }
        for c in self.conns.values_mut() {
            match c.keepalive(now) {
                Keepalive::Fine => {}
                Keepalive::Probe => c.send(&OfMessage::EchoRequest(Vec::new()), 0),
                Keepalive::Dead => {
                    let secs = c.probe_interval().map_or(0, |p| p.as_secs());
                    vlog::warn("ofserver", &format!("{}: no response to inactivity probe after {secs} seconds, disconnecting", c.name));
                    c.failed = true;
                }
            }
        }
        let timed_out: Vec<Token> = self
            .bridges
            .values()
            .flat_map(|b| b.controllers.values())
            .filter_map(|c| match c.state {
                CtlState::Connecting { token, deadline } if now >= deadline => Some(token),
                _ => None,
            })
            .collect();
        for t in timed_out {
            if let Some(c) = self.conns.get_mut(&t) {
                vlog::info("ofserver", &format!("{}: connection timed out", c.name));
                c.failed = true;
            }
        }
        self.reap(reg, now);
        self.connect_due(reg, next_token, now);
        self.update_bridge_modes(sw, now);
        let tokens: Vec<Token> = self.conns.iter().filter(|(_, c)| !c.out.is_empty()).map(|(t, _)| *t).collect();
        for t in tokens {
            self.flush(reg, t);
        }
        self.reap(reg, now);
    }

    /// Fail-open and the OpenFlow 1.0 table-miss behaviour, per bridge, into translation.
    fn update_bridge_modes(&mut self, sw: &mut Switch, now: Instant) {
        for (name, ctl) in self.bridges.iter_mut() {
            let conns = || self.conns.values().filter(|c| &c.bridge == name);
            let admitted = conns().any(|c| c.kind == ConnKind::Controller && c.admitted);
            let open = controller::should_fail_open(ctl.standalone, ctl.controllers.values(), admitted, PROBE_INTERVAL, now);
            if open != ctl.fail_open {
                ctl.fail_open = open;
                if open {
                    vlog::warn("ofserver", &format!("{name}: no controller connected for {} seconds: failing open (NORMAL switching)", 3 * PROBE_INTERVAL.as_secs()));
                } else {
                    vlog::info("ofserver", &format!("{name}: leaving fail-open mode"));
                }
            }
            // OpenFlow 1.0 sends table misses to the controller; 1.3 drops them (OVS's
            // connmgr_wants_packet_in_on_miss), for connections that can get packet-ins.
            let miss = conns().any(|c| {
                c.version().is_some_and(|v| v < Version::V1_3) && (c.kind == ConnKind::Controller || c.config.miss_send_len > 0)
            });
            sw.set_controller_modes(name, ctl.fail_open, miss);
        }
    }

    /// When [`OfServer::run_timers`] next has something to do.
    pub fn next_wakeup(&self) -> Option<Instant> {
        let now = Instant::now();
        if !self.pending.is_empty() {
            return Some(now);
        }
        let conns = self.conns.values().filter_map(Conn::keepalive_deadline);
        let ctls = self.bridges.values().flat_map(|b| b.controllers.values()).filter_map(Controller::deadline);
        let fail_open = self
            .bridges
            .values()
            .filter(|b| b.standalone && !b.fail_open)
            .filter_map(|b| controller::fail_open_deadline(b.controllers.values(), PROBE_INTERVAL));
        conns.chain(ctls).chain(fail_open.filter(|t| *t > now)).min()
    }

    /// Once a second: rule timeouts (flow-removed) and link state (port-status).
    pub fn tick(&mut self, sw: &mut Switch) {
        let now = sw.dp.now_ms();
        let names: Vec<String> = sw.bridges.keys().cloned().collect();
        self.origin = None;
        for name in names {
            let removed = sw.bridges.get_mut(&name).expect("bridge").writer.expire(now);
            if !removed.is_empty() {
                vlog::info("ofserver", &format!("{name}: {} rule(s) expired", removed.len()));
            }
            self.after_expiry(sw, &name, removed, now);
            self.refresh_ports(sw, &name);
            sw.refresh_group_liveness(&name);
        }
    }

    /// The end of an event-loop round: publish flow-mods, send the round's flow-removed
    /// messages, write what was queued.
    pub fn end_round(&mut self, sw: &mut Switch, reg: &Registry) {
        sw.publish_flows();
        self.flush_flow_removed(sw);
        self.copy_to_snoops();
        let tokens: Vec<Token> = self.conns.iter().filter(|(_, c)| !c.out.is_empty()).map(|(t, _)| *t).collect();
        for t in tokens {
            self.flush(reg, t);
        }
        self.reap(reg, Instant::now());
    }

    /// Copies the round's controller conversations to the snoop connections of their bridge
    /// (those that finished their handshake), in order; without snoopers they are dropped.
    fn copy_to_snoops(&mut self) {
        let mut copies: Vec<(String, Vec<Vec<u8>>)> = Vec::new();
        for c in self.conns.values_mut() {
            if !c.snooped.is_empty() {
                copies.push((c.bridge.clone(), std::mem::take(&mut c.snooped)));
            }
        }
        for (bridge, msgs) in copies {
            for c in self.conns.values_mut().filter(|c| c.kind == ConnKind::Snoop && c.bridge == bridge && c.session.is_some()) {
                for m in &msgs {
                    c.queue(m.clone());
                }
            }
        }
    }

    /// `ofproto/trace`: see [`crate::trace`].
    pub fn trace(&self, sw: &Switch, args: &[String]) -> Result<String, String> {
        crate::trace::run(sw, args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_select_versions_the_codec_has() {
        let mut cfg = BridgeConfig::default();
        assert_eq!(allowed_versions(&cfg), Version::supported());
        cfg.protocols = vec!["OpenFlow13".into(), "OpenFlow15".into()];
        assert!(allowed_versions(&cfg).contains(4));
        assert!(!allowed_versions(&cfg).contains(6), "no OpenFlow 1.5 codec");
        cfg.protocols = vec!["OpenFlow14".into()];
        assert_eq!(allowed_versions(&cfg), VersionSet(0));
    }

    #[test]
    fn limits_follow_ovs_defaults_and_bounds() {
        let mut cfg = BridgeConfig::default();
        assert_eq!(limits_from(&cfg), (QueueLimits::default(), None));
        cfg.other_config.insert("controller-queue-size".into(), "1000".into());
        cfg.other_config.insert("controller-rate-limit".into(), "1000".into());
        let (l, r) = limits_from(&cfg);
        assert_eq!((l.packet_ins, r), (512, Some((1000, 250))));
        cfg.other_config.insert("controller-rate-limit".into(), "10".into());
        cfg.other_config.insert("controller-burst-limit".into(), "1".into());
        assert_eq!(limits_from(&cfg).1, Some((100, 25)));
    }
}
