//! One OpenFlow connection: its socket, framing, output queue and keepalive, and the OpenFlow
//! state its peer set (version, role, asynchronous configuration, `miss_send_len`).
//!
//! # Kinds (OVS's `ofconn_type`)
//! * **Service** connections come from listeners (the bridge's Unix socket, `ptcp:`,
//!   `punix:`): `ovs-ofctl`-style clients. Their `miss_send_len` starts at 0, and a service
//!   connection gets no asynchronous message at all until it sets a nonzero one.
//! * **Controller** connections are the ones rvs makes to `tcp:`/`unix:` targets. They start
//!   with `miss_send_len` 128 and OVS's default asynchronous configuration.
//!
//! # Keepalive (OVS's rconn probes)
//! With a probe interval `P` (5 s for controllers and `ptcp`/`punix` clients, 60 s on the
//! bridge socket, as OVS's management socket): after `P` without receiving anything, send an
//! echo request; after another `P` still without anything, the connection is dead.
//!
//! # Reading with backpressure
//! Requests are read and handled only while the output queue is below its soft limit
//! ([`QueueLimits::soft_bytes`]); a peer that does not read its replies is not served more.
//! Reading resumes when the queue drains (see [`super::OfServer`]).

use std::io::{self, Read};
use std::time::{Duration, Instant};

use mio::{Interest, Registry, Token};
use rvs_openflow::framing::{Framer, FramingError};
use rvs_openflow::msg::{AsyncConfig, ControllerRole, OfMessage, Version};
use rvs_openflow::session::Session;
use rvs_openflow::stats::SwitchConfig;

use super::queue::{OutQueue, QueueLimits, TokenBucket};
use super::transport::Stream;
use crate::vlog;

/// Probe interval of controller, `ptcp:` and `punix:` connections (OVS's default
/// `inactivity_probe`).
pub const PROBE_INTERVAL: Duration = Duration::from_secs(5);
/// Probe interval on the bridge's own Unix socket (OVS's management socket).
pub const MGMT_PROBE_INTERVAL: Duration = Duration::from_secs(60);
/// OpenFlow's default `miss_send_len` (`OFP_DEFAULT_MISS_SEND_LEN`).
pub const DEFAULT_MISS_SEND_LEN: u16 = 128;

/// Who is at the other end. See the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnKind {
    /// A client of a listener.
    Service,
    /// A controller rvs connected to.
    Controller,
    /// A client of the bridge's snoop socket: gets copies of the controller conversations,
    /// nothing else.
    Snoop,
}

/// `OFPR_*`, `OFPPR_*` and `OFPRR_*` bit sets of OVS's default asynchronous configuration
/// for OpenFlow 1.3: masters and equals get packet-ins for table misses and actions (not for
/// invalid TTLs), port-status and flow-removed; slaves get port-status only.
pub fn default_async_config() -> AsyncConfig {
    let pin = (1 << 0) | (1 << 1);
    let port_status = 0b111;
    let flow_removed = 0b1111;
    AsyncConfig { packet_in_mask: [pin, 0], port_status_mask: [port_status, port_status], flow_removed_mask: [flow_removed, 0] }
}

/// What a keepalive check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keepalive {
    /// Nothing to do.
    Fine,
    /// Send an echo request now.
    Probe,
    /// No answer to the probe: close.
    Dead,
}

/// One connection. See the module documentation.
pub struct Conn {
    /// Bridge name.
    pub bridge: String,
    /// Name for logs (`br0<->tcp:127.0.0.1:6653`).
    pub name: String,
    /// Service or controller.
    pub kind: ConnKind,
    /// The controller target this connection serves (controllers only).
    pub target: Option<String>,
    /// The socket.
    pub stream: Stream,
    framer: Framer,
    /// What waits to be written.
    pub out: OutQueue,
    /// Bounds of `out`.
    pub limits: QueueLimits,
    /// A TCP connect is still in progress.
    pub connecting: bool,
    writable_registered: bool,
    /// Requests are not read until the output queue drains.
    pub read_paused: bool,
    /// The connection must be closed (stream error, queue overflow, dead peer).
    pub failed: bool,
    probe_interval: Option<Duration>,
    last_rx: Instant,
    probe_sent: bool,
    /// Negotiated version and what the session messages set (flow and packet-in formats,
    /// controller id, role), after the peer's hello.
    pub session: Option<Session>,
    /// Fragment handling and `miss_send_len`.
    pub config: SwitchConfig,
    /// Which asynchronous messages it gets.
    pub async_cfg: AsyncConfig,
    /// The peer sent something other than hello, echo and errors (OVS's "admitted").
    pub admitted: bool,
    /// Packet-in rate limit, if configured.
    pub rate: Option<TokenBucket>,
    /// Messages of a controller conversation (both ways, in order) not yet copied to the
    /// bridge's snoop connections.
    pub snooped: Vec<Vec<u8>>,
}

impl Conn {
    /// A new connection on `stream`, in the state OpenFlow prescribes before any request.
    pub fn new(bridge: &str, name: String, kind: ConnKind, stream: Stream, probe_interval: Option<Duration>, now: Instant) -> Conn {
        let miss_send_len = if kind == ConnKind::Controller { DEFAULT_MISS_SEND_LEN } else { 0 };
        Conn {
            bridge: bridge.to_string(),
            name,
            kind,
            target: None,
            stream,
            framer: Framer::new(),
            out: OutQueue::default(),
            limits: QueueLimits::default(),
            connecting: false,
            writable_registered: false,
            read_paused: false,
            failed: false,
            probe_interval,
            last_rx: now,
            probe_sent: false,
            session: None,
            config: SwitchConfig { flags: 0, miss_send_len },
            async_cfg: default_async_config(),
            admitted: false,
            rate: None,
            snooped: Vec::new(),
        }
    }

    /// Registers the socket (readable; writable too while connecting).
    pub fn register(&mut self, reg: &Registry, t: Token) -> io::Result<()> {
        let interest = if self.connecting { Interest::READABLE | Interest::WRITABLE } else { Interest::READABLE };
        self.writable_registered = self.connecting;
        reg.register(&mut self.stream, t, interest)
    }

    /// The negotiated version.
    pub fn version(&self) -> Option<Version> {
        self.session.map(|s| s.version)
    }

    /// The controller role (equal until the peer asks for another).
    pub fn role(&self) -> ControllerRole {
        self.session.map_or(ControllerRole::Equal, |s| s.role)
    }

    /// Encodes `msg` for this connection's session (OpenFlow 1.3 before the hello exchange).
    pub fn encode(&self, msg: &OfMessage, xid: u32) -> Result<Vec<u8>, rvs_openflow::EncodeError> {
        self.session.unwrap_or(Session::new(Version::V1_3)).encode(msg, xid)
    }

    /// Encodes and queues a message that must not be lost (see [`OutQueue::push`]).
    pub fn send(&mut self, msg: &OfMessage, xid: u32) {
        match self.encode(msg, xid) {
            Ok(bytes) => self.queue(bytes),
            Err(e) => vlog::err("ofserver", &format!("{}: cannot encode {msg:?}: {e}", self.name)),
        }
    }

    /// Queues encoded bytes that must not be lost; a full queue fails the connection.
    pub fn queue(&mut self, bytes: Vec<u8>) {
        if self.kind == ConnKind::Controller {
            self.snooped.push(bytes.clone());
        }
        if self.out.push(bytes, &self.limits).is_err() && !self.failed {
            vlog::warn("ofserver", &format!("{}: peer is not reading, output queue full: disconnecting", self.name));
            self.failed = true;
        }
    }

    /// Queues an encoded packet-in if the queue has room; false if dropped.
    pub fn queue_packet_in(&mut self, bytes: Vec<u8>) -> bool {
        if self.kind == ConnKind::Controller {
            self.snooped.push(bytes.clone());
        }
        self.out.push_packet_in(bytes, &self.limits)
    }

    /// Writes what the socket takes and asks for writability while something is left.
    pub fn flush(&mut self, reg: &Registry, t: Token) {
        if self.connecting || self.failed {
            return;
        }
        if let Err(e) = self.out.write_to(&mut self.stream) {
            vlog::info("ofserver", &format!("{}: connection dropped ({e})", self.name));
            self.failed = true;
            return;
        }
        let want_write = !self.out.is_empty();
        if want_write != self.writable_registered {
            let interest = if want_write { Interest::READABLE | Interest::WRITABLE } else { Interest::READABLE };
            let _ = reg.reregister(&mut self.stream, t, interest);
            self.writable_registered = want_write;
        }
    }

    /// The output queue is above its soft limit: stop reading requests.
    pub fn over_soft_limit(&self) -> bool {
        self.out.bytes() > self.limits.soft_bytes
    }

    /// The next complete message: from what was already read, else from the socket.
    /// `Ok(None)` when the socket has nothing more for now; `Err` when the stream is finished
    /// (closed by the peer, failed, or unframeable).
    pub fn next_message(&mut self, now: Instant) -> Result<Option<Vec<u8>>, String> {
        loop {
            match self.framer.next_message() {
                Ok(Some(m)) => return Ok(Some(m)),
                Ok(None) => {}
                Err(e @ FramingError::LengthTooShort(_)) => return Err(e.to_string()),
            }
            let mut buf = [0u8; 16384];
            match self.stream.read(&mut buf) {
                Ok(0) => return Err("connection closed by peer".into()),
                Ok(n) => {
                    self.framer.push(&buf[..n]);
                    self.last_rx = now;
                    self.probe_sent = false;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// Checks the inactivity probe at `now`.
    pub fn keepalive(&mut self, now: Instant) -> Keepalive {
        let Some(p) = self.probe_interval else { return Keepalive::Fine };
        if self.connecting {
            return Keepalive::Fine;
        }
        let idle = now.saturating_duration_since(self.last_rx);
        if self.probe_sent {
            if idle >= 2 * p {
                return Keepalive::Dead;
            }
        } else if idle >= p {
            self.probe_sent = true;
            return Keepalive::Probe;
        }
        Keepalive::Fine
    }

    /// When [`Conn::keepalive`] next has something to do.
    pub fn keepalive_deadline(&self) -> Option<Instant> {
        if self.connecting {
            return None;
        }
        let p = self.probe_interval?;
        Some(self.last_rx + if self.probe_sent { 2 * p } else { p })
    }

    /// The probe interval.
    pub fn probe_interval(&self) -> Option<Duration> {
        self.probe_interval
    }

    /// True if the connection receives asynchronous messages of `kind` (a bit index into the
    /// [`AsyncConfig`] masks: `OFPR_*`, `OFPPR_*` or `OFPRR_*`), following OVS's
    /// `ofconn_receives_async_msg`.
    pub fn receives(&self, mask: fn(&AsyncConfig) -> [u32; 2], reason: u8) -> bool {
        let Some(session) = self.session else { return false };
        if self.connecting {
            return false;
        }
        if self.kind == ConnKind::Service && self.config.miss_send_len == 0 {
            // Service connections get asynchronous messages only after asking for them.
            return false;
        }
        let which = usize::from(session.role == ControllerRole::Slave);
        reason < 32 && mask(&self.async_cfg)[which] & (1 << reason) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(kind: ConnKind, now: Instant) -> Conn {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let s = Stream::Unix(mio::net::UnixStream::from_std(a));
        Conn::new("br0", "br0<->test".into(), kind, s, Some(PROBE_INTERVAL), now)
    }

    #[test]
    fn probes_when_idle_then_gives_up() {
        let t0 = Instant::now();
        let mut c = conn(ConnKind::Controller, t0);
        assert_eq!(c.keepalive(t0 + Duration::from_secs(4)), Keepalive::Fine);
        assert_eq!(c.keepalive(t0 + Duration::from_secs(5)), Keepalive::Probe);
        assert_eq!(c.keepalive(t0 + Duration::from_secs(6)), Keepalive::Fine);
        assert_eq!(c.keepalive_deadline(), Some(t0 + Duration::from_secs(10)));
        assert_eq!(c.keepalive(t0 + Duration::from_secs(10)), Keepalive::Dead);
    }

    #[test]
    fn async_messages_follow_kind_role_and_masks() {
        let now = Instant::now();
        let mut svc = conn(ConnKind::Service, now);
        svc.session = Some(Session::new(Version::V1_3));
        let pin = |a: &AsyncConfig| a.packet_in_mask;
        let ps = |a: &AsyncConfig| a.port_status_mask;
        assert!(!svc.receives(ps, 0), "service connections ask first");
        svc.config.miss_send_len = 128;
        assert!(svc.receives(ps, 0) && svc.receives(pin, 1));
        let mut ctl = conn(ConnKind::Controller, now);
        assert!(!ctl.receives(pin, 0), "nothing before the hello");
        ctl.session = Some(Session::new(Version::V1_3));
        assert!(ctl.receives(pin, 0) && ctl.receives(pin, 1) && !ctl.receives(pin, 2));
        ctl.session.as_mut().unwrap().role = ControllerRole::Slave;
        assert!(!ctl.receives(pin, 1) && ctl.receives(ps, 2));
    }
}
