//! Shared by the `controller_*` integration tests: a minimal OpenFlow 1.3 controller written
//! with the `rvs-openflow` codec, listening on a Unix socket that the daemon is told to
//! connect to (`rvs-vsctl set-controller br0 unix:PATH`).
//!
//! A Unix socket path reaches across network namespaces, so the controller runs in the test
//! process while the daemon runs in its own namespace. [`Controller::accept`] waits for the
//! daemon's connection and does the hello exchange; [`Controller::expect`] reads messages
//! until one matches, answering the switch's echo requests on the way.
// Each test crate that includes this module uses a part of it.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use rvs_openflow::framing::Framer;
use rvs_openflow::msg::{decode, Hello, OfMessage, Version, VersionSet};

/// A listening controller.
pub struct Listener {
    listener: UnixListener,
    /// Its socket path.
    pub path: PathBuf,
}

impl Listener {
    /// Listens on `path` (replacing a stale socket).
    pub fn bind(path: &Path) -> Listener {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path).expect("bind controller socket");
        listener.set_nonblocking(true).expect("nonblocking listener");
        Listener { listener, path: path.to_path_buf() }
    }

    /// The `set-controller` target for it.
    pub fn target(&self) -> String {
        format!("unix:{}", self.path.display())
    }

    /// Waits up to `timeout` for the switch to connect, then exchanges hellos.
    pub fn accept(&self, timeout: Duration) -> Controller {
        let deadline = Instant::now() + timeout;
        loop {
            match self.listener.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false).expect("blocking stream");
                    let mut c = Controller { stream: s, framer: Framer::new(), xid: 100, backlog: VecDeque::new() };
                    c.handshake();
                    return c;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => thread::sleep(Duration::from_millis(50)),
                Err(e) => panic!("the switch did not connect to {} within {timeout:?}: {e}", self.path.display()),
            }
        }
    }

    /// True if a connection is waiting to be accepted now (and accepts and drops it).
    pub fn poll_connection(&self) -> bool {
        self.listener.accept().is_ok()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// One controller connection.
pub struct Controller {
    stream: UnixStream,
    framer: Framer,
    xid: u32,
    /// Asynchronous messages that arrived while waiting for a reply, not yet returned.
    backlog: VecDeque<OfMessage>,
}

impl Controller {
    fn handshake(&mut self) {
        let hello = self.recv(Duration::from_secs(5)).expect("the switch sends a hello");
        assert!(matches!(hello, OfMessage::Hello(_)), "first message is not a hello: {hello:?}");
        self.send(&OfMessage::Hello(Hello { versions: Some(VersionSet::of(Version::V1_3)) }));
    }

    /// Sends a message; returns its xid.
    pub fn send(&mut self, msg: &OfMessage) -> u32 {
        self.xid += 1;
        let bytes = msg.encode(Version::V1_3, self.xid).expect("encodable");
        self.stream.write_all(&bytes).expect("send to switch");
        self.xid
    }

    /// The next message within `timeout`, or `None`. Echo requests are answered, not returned.
    pub fn recv(&mut self, timeout: Duration) -> Option<OfMessage> {
        if let Some(m) = self.backlog.pop_front() {
            return Some(m);
        }
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self.framer.next_message().expect("switch sends well-framed messages") {
                let (h, msg) = decode(&m).unwrap_or_else(|e| panic!("undecodable message from the switch: {e}: {m:02x?}"));
                if let OfMessage::EchoRequest(data) = msg {
                    let reply = OfMessage::EchoReply(data).encode(Version::V1_3, h.xid).expect("encodable");
                    self.stream.write_all(&reply).expect("echo reply");
                    continue;
                }
                return Some(msg);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.stream.set_read_timeout(Some(left)).expect("read timeout");
            let mut buf = [0u8; 65536];
            match self.stream.read(&mut buf) {
                Ok(0) => panic!("the switch closed the connection"),
                Ok(n) => self.framer.push(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return None,
                Err(e) => panic!("read from switch: {e}"),
            }
        }
    }

    /// Reads until a message for which `f` returns `Some`, within `timeout`; panics with
    /// `what` and the messages skipped otherwise.
    pub fn expect<T>(&mut self, what: &str, timeout: Duration, mut f: impl FnMut(&OfMessage) -> Option<T>) -> T {
        let deadline = Instant::now() + timeout;
        let mut skipped = Vec::new();
        while let Some(m) = self.recv(deadline.saturating_duration_since(Instant::now())) {
            if let Some(v) = f(&m) {
                return v;
            }
            skipped.push(m);
        }
        panic!("no {what} within {timeout:?}; received instead: {skipped:#?}");
    }

    /// Sends a request and returns the first message answering it (replies come in order).
    /// Asynchronous messages that arrive first are kept for later [`Controller::recv`]s.
    pub fn request(&mut self, msg: &OfMessage) -> OfMessage {
        self.send(msg);
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut held = Vec::new();
        let reply = loop {
            // Read from the socket only: the backlog holds what came before this request.
            let saved = std::mem::take(&mut self.backlog);
            let m = self.recv(deadline.saturating_duration_since(Instant::now()));
            self.backlog = saved;
            match m {
                Some(m @ (OfMessage::PacketIn(_) | OfMessage::PortStatus(_) | OfMessage::FlowRemoved(_))) => held.push(m),
                Some(m) => break m,
                None => panic!("no reply to {msg:?} within 5 s; received instead: {held:#?}"),
            }
        };
        self.backlog.extend(held);
        reply
    }

    /// A barrier: everything sent before has been handled when this returns. Asynchronous
    /// messages that arrive meanwhile are returned.
    pub fn barrier(&mut self) -> Vec<OfMessage> {
        self.send(&OfMessage::BarrierRequest);
        let mut seen = Vec::new();
        self.expect("barrier reply", Duration::from_secs(10), |m| {
            if matches!(m, OfMessage::BarrierReply) {
                Some(())
            } else {
                seen.push(m.clone());
                None
            }
        });
        seen
    }
}
