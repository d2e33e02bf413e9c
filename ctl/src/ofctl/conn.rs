//! OpenFlow connections as `ovs-ofctl` makes them: where to connect, the hello exchange, and
//! the three kinds of transaction its commands use.
//!
//! # Targets
//! A target containing `:` is a connection method: `unix:PATH` (relative to the run
//! directory unless absolute), `tcp:HOST[:PORT]` (port 6653 by default). Anything else is tried, in order, as the path of a socket, as a bridge
//! (`$RVS_RUNDIR/NAME.mgmt`), and fails with `NAME is not a bridge or a socket` if neither
//! exists. Each connection is known by its *name*, `unix:PATH` or the method as typed, which
//! is also the key of the port and table name caches (see [`super::session`]).
//!
//! # Transaction ids
//! One counter per process numbers every message sent, hellos included, starting at 1
//! ([`Xids`]). `ovs-ofctl` prints xids in its output (`OFPST_FLOW reply (OF1.3)
//! (xid=0x2):`), so rvs-ofctl opens the same connections in the same order to print the same
//! numbers.
//!
//! # Transactions
//! * [`Connection::transact`]: one request, the first message carrying its xid back.
//! * [`Connection::dump`]: a multipart request; replies are collected until one without the
//!   "more" flag or an error arrives.
//! * [`Connection::transact_noreply`]: a request that is answered only when it fails,
//!   followed by a barrier; the barrier's reply proves success. This is how flow-mods are
//!   checked, one barrier per flow-mod as in `ovs-ofctl`.
//!
//! # OpenFlow 1.0 sessions
//! An OpenFlow 1.0 connection has a flow format and a table-id setting
//! ([`rvs_openflow::session::Session`]) that decide how flow-mods and flow statistics
//! requests are sent. [`Connection::try_set_protocol`] changes them as `ovs-ofctl` does:
//! `NXT_SET_FLOW_FORMAT`, then `NXT_FLOW_MOD_TABLE_ID`, each followed by a barrier.
//!
//! Echo requests from the switch are answered while waiting. Messages with other xids are
//! dropped, as `vconn_recv_xid` does.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use rvs_openflow::framing::Framer;
use rvs_openflow::msg::{negotiate, Header, Hello, OfMessage, Version, VersionSet, MULTIPART_MORE};
use rvs_openflow::protocols::{set_protocol_message, Protocols};
use rvs_openflow::session::Session;

use crate::mgmt::strerror;

/// Default OpenFlow TCP port (IANA).
pub const DEFAULT_TCP_PORT: u16 = 6653;

/// The process-wide transaction id counter.
#[derive(Debug)]
pub struct Xids(u32);

impl Default for Xids {
    fn default() -> Self {
        Xids(1)
    }
}

impl Xids {
    /// The next xid.
    pub fn alloc(&mut self) -> u32 {
        let x = self.0;
        self.0 = self.0.wrapping_add(1);
        x
    }
}

/// A failure that ends the command; printed after the program name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fatal(pub String);

impl fmt::Display for Fatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Fatal {}

/// `ovs_fatal(error, "...")`: the message followed by the error text in parentheses.
pub fn fatal_io(context: impl fmt::Display, e: &io::Error) -> Fatal {
    Fatal(format!("{context} ({})", io_text(e)))
}

/// `ovs_strerror`, with `End of file` for a closed connection.
pub fn io_text(e: &io::Error) -> String {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        "End of file".into()
    } else {
        strerror(e)
    }
}

/// Parses the address of a `tcp:HOST[:PORT]` method into `HOST:PORT`.
fn tcp_address(rest: &str) -> String {
    let has_port =
        if let Some(v6) = rest.strip_prefix('[') { v6.contains("]:") } else { rest.matches(':').count() == 1 };
    if has_port {
        rest.to_string()
    } else {
        format!("{rest}:{DEFAULT_TCP_PORT}")
    }
}

/// Connects to `target` as `ovs-ofctl`'s `open_vconn` does and returns the stream and the
/// connection's name. `rundir` holds the bridges' sockets.
fn connect(target: &str, rundir: &Path) -> Result<(Box<dyn Stream>, String), Fatal> {
    if target.contains(':') {
        let failed = |e: io::Error| fatal_io(format_args!("connecting to {target}"), &e);
        let stream: Box<dyn Stream> = if let Some(path) = target.strip_prefix("unix:") {
            // Relative socket names are relative to the run directory, as in Open vSwitch.
            Box::new(UnixStream::connect(rundir.join(path)).map_err(failed)?)
        } else if let Some(rest) = target.strip_prefix("tcp:") {
            let s = TcpStream::connect(tcp_address(rest)).map_err(failed)?;
            let _ = s.set_nodelay(true);
            Box::new(s)
        } else {
            return Err(failed(io::Error::from_raw_os_error(libc::EAFNOSUPPORT)));
        };
        return Ok((stream, target.to_string()));
    }
    for path in [PathBuf::from(target), rundir.join(format!("{target}.mgmt"))] {
        match UnixStream::connect(&path) {
            Ok(s) => return Ok((Box::new(s), format!("unix:{}", path.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(fatal_io(format_args!("{}: failed to open socket", path.display()), &e)),
        }
    }
    Err(Fatal(format!("{target} is not a bridge or a socket")))
}

trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

/// An open OpenFlow connection whose version has been negotiated.
pub struct Connection {
    stream: Box<dyn Stream>,
    framer: Framer,
    session: Session,
    name: String,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection").field("name", &self.name).field("session", &self.session).finish()
    }
}

/// The xid of a complete message.
pub fn xid_of(msg: &[u8]) -> u32 {
    u32::from_be_bytes([msg[4], msg[5], msg[6], msg[7]])
}

/// The OpenFlow message type of a complete message.
pub fn type_of(msg: &[u8]) -> u8 {
    msg[1]
}

const OFPT_ERROR: u8 = 1;
const OFPT_ECHO_REQUEST: u8 = 2;

/// The type of a statistics (multipart) reply in `v`.
pub fn stats_reply_type(v: Version) -> u8 {
    match v {
        Version::V1_0 => rvs_openflow::v10::msg_type::STATS_REPLY,
        _ => rvs_openflow::v13::msg_type::MULTIPART_REPLY,
    }
}

/// The type of a barrier reply in `v`.
pub fn barrier_reply_type(v: Version) -> u8 {
    match v {
        Version::V1_0 => rvs_openflow::v10::msg_type::BARRIER_REPLY,
        _ => rvs_openflow::v13::msg_type::BARRIER_REPLY,
    }
}

impl Connection {
    /// Connects to `target` (see the module documentation), exchanges hellos offering
    /// `allowed`, and agrees on a version.
    pub fn open(target: &str, rundir: &Path, allowed: VersionSet, xids: &mut Xids) -> Result<Connection, Fatal> {
        let (stream, name) = connect(target, rundir)?;
        let mut conn = Connection { stream, framer: Framer::new(), session: Session::new(Version::V1_3), name };
        let fail = |e: &io::Error| fatal_io(format_args!("{target}: failed to connect to socket"), e);
        // Offer only what rvs-ofctl speaks, so that the peer cannot settle on another version.
        let allowed = allowed.intersect(Version::supported());
        let Some(highest) = allowed.highest() else {
            return Err(Fatal(format!(
                "{target}: none of the allowed OpenFlow versions is supported by rvs-ofctl (OpenFlow10, OpenFlow13)"
            )));
        };
        // As `ofputil_encode_hello`: a version bitmap only when the versions are not simply
        // every one up to the highest; the header carries the highest.
        let versions = (!allowed.is_contiguous_from_1()).then_some(allowed);
        let hello = OfMessage::Hello(Hello { versions });
        let mut bytes = hello
            .encode(Version::V1_3, xids.alloc())
            .map_err(|e| Fatal(format!("{target}: cannot encode hello: {e}")))?;
        bytes[0] = highest;
        conn.stream.write_all(&bytes).map_err(|e| fail(&e))?;
        let peer = conn.recv_raw().map_err(|e| fail(&e))?;
        let header = Header::parse(&peer).map_err(|_| fail(&io::Error::from_raw_os_error(libc::EPROTO)))?;
        if header.msg_type != 0 {
            return Err(fail(&io::Error::from_raw_os_error(libc::EPROTO)));
        }
        let peer_hello = rvs_openflow::v13::decode_hello(&peer).unwrap_or_default();
        let version = negotiate(allowed, header.version, &peer_hello)
            .map_err(|_| fail(&io::Error::from_raw_os_error(libc::EPROTO)))?;
        conn.session = Session::new(version);
        Ok(conn)
    }

    /// The connection's name (`unix:/run/rvs/br0.mgmt`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The negotiated version.
    pub fn version(&self) -> Version {
        self.session.version
    }

    /// The connection's session state (flow format and table ids, in OpenFlow 1.0).
    pub fn session(&self) -> Session {
        self.session
    }

    /// Records a session message the switch accepted (the barrier after it was answered).
    pub fn apply(&mut self, msg: &OfMessage) {
        self.session.apply(msg);
    }

    /// Encodes `msg` with the next xid and sends it; returns the bytes sent.
    pub fn send(&mut self, msg: &OfMessage, xids: &mut Xids) -> Result<Vec<u8>, Fatal> {
        let bytes = self.encode(msg, xids)?;
        self.stream.write_all(&bytes).map_err(|e| fatal_io("failed to send packet to switch", &e))?;
        Ok(bytes)
    }

    /// Encodes `msg` with the next xid.
    fn encode(&self, msg: &OfMessage, xids: &mut Xids) -> Result<Vec<u8>, Fatal> {
        self.session.encode(msg, xids.alloc()).map_err(|e| Fatal(format!("{}: {e}", self.name)))
    }

    /// Sends bytes already encoded (with an xid of the caller's choosing).
    pub fn write_raw(&mut self, bytes: &[u8]) -> Result<(), Fatal> {
        self.stream.write_all(bytes).map_err(|e| fatal_io("failed to send packet to switch", &e))
    }

    fn recv_raw(&mut self) -> io::Result<Vec<u8>> {
        let mut buf = [0u8; 65536];
        loop {
            match self.framer.next_message() {
                Ok(Some(m)) => return Ok(m),
                Ok(None) => {}
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
            }
            let n = self.stream.read(&mut buf)?;
            if n == 0 {
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
            }
            self.framer.push(&buf[..n]);
        }
    }

    /// Receives one message, answering echo requests on the way.
    pub fn recv(&mut self) -> io::Result<Vec<u8>> {
        loop {
            let m = self.recv_raw()?;
            if type_of(&m) == OFPT_ECHO_REQUEST && m[0] == self.session.version.wire() {
                let mut reply = m.clone();
                reply[1] = OFPT_ECHO_REQUEST + 1;
                self.stream.write_all(&reply)?;
                continue;
            }
            return Ok(m);
        }
    }

    /// Receives messages until one carries `xid`.
    pub fn recv_xid(&mut self, xid: u32) -> io::Result<Vec<u8>> {
        loop {
            let m = self.recv()?;
            if xid_of(&m) == xid {
                return Ok(m);
            }
        }
    }

    /// Sends `msg` and returns the reply (whatever its type) with the same xid.
    /// I/O failures are reported as `talking to NAME (...)`, as `vconn_transact` callers do.
    pub fn transact(&mut self, msg: &OfMessage, xids: &mut Xids, what: &str) -> Result<Vec<u8>, Fatal> {
        let sent = self.send(msg, xids)?;
        self.recv_xid(xid_of(&sent)).map_err(|e| fatal_io(format_args!("talking to {what}"), &e))
    }

    /// Sends a multipart request and collects its replies: every message with the request's
    /// xid until one of type `MULTIPART_REPLY` without the "more" flag, or an error.
    /// `on_reply` sees each reply as it arrives (in order). Returns the request's bytes.
    pub fn dump(
        &mut self,
        request: &OfMessage,
        xids: &mut Xids,
        mut on_reply: impl FnMut(&[u8]) -> Result<(), Fatal>,
    ) -> Result<Vec<u8>, Fatal> {
        let sent = self.send(request, xids)?;
        let xid = xid_of(&sent);
        loop {
            let reply = self.recv_xid(xid).map_err(|e| fatal_io("OpenFlow packet receive failed", &e))?;
            on_reply(&reply)?;
            if type_of(&reply) == OFPT_ERROR {
                return Ok(sent);
            }
            if type_of(&reply) != stats_reply_type(self.version()) || !multipart_more(&reply) {
                return Ok(sent);
            }
        }
    }

    /// Sends `msg` and a barrier, and waits for the barrier's reply. Returns the switch's
    /// answer to `msg` if it sent one (an error) before the barrier reply.
    pub fn transact_noreply(&mut self, msg: &OfMessage, xids: &mut Xids) -> Result<Option<Vec<u8>>, Fatal> {
        // One write for both, so that the switch reads them together (as one event-loop round).
        let mut bytes = self.encode(msg, xids)?;
        let barrier = self.encode(&OfMessage::BarrierRequest, xids)?;
        let (xid, barrier_xid) = (xid_of(&bytes), xid_of(&barrier));
        bytes.extend_from_slice(&barrier);
        self.stream.write_all(&bytes).map_err(|e| fatal_io("failed to send packet to switch", &e))?;
        loop {
            let m = self.recv().map_err(|e| fatal_io(format_args!("talking to {}", self.name), &e))?;
            let x = xid_of(&m);
            if x == xid {
                return Ok(Some(m));
            }
            if x == barrier_xid && type_of(&m) == barrier_reply_type(self.version()) {
                return Ok(None);
            }
        }
    }

    /// Sends every message of `msgs`, then one barrier, and waits for the barrier's reply.
    /// Returns the first answer to one of `msgs` (an error) that came before it.
    pub fn transact_multiple_noreply(&mut self, msgs: &[OfMessage], xids: &mut Xids) -> Result<Option<Vec<u8>>, Fatal> {
        let mut sent_xids = Vec::with_capacity(msgs.len());
        for m in msgs {
            sent_xids.push(xid_of(&self.send(m, xids)?));
        }
        let barrier_xid = xid_of(&self.send(&OfMessage::BarrierRequest, xids)?);
        let mut first_error = None;
        loop {
            let m = self.recv().map_err(|e| fatal_io(format_args!("talking to {}", self.name), &e))?;
            let x = xid_of(&m);
            if x == barrier_xid && type_of(&m) == barrier_reply_type(self.version()) {
                return Ok(first_error);
            }
            if first_error.is_none() && sent_xids.contains(&x) {
                first_error = Some(m);
            }
        }
    }
}

impl Connection {
    /// The flow protocol the connection is in.
    pub fn protocol(&self) -> Protocols {
        Protocols::of_session(&self.session)
    }

    /// `try_set_protocol`: moves the connection to protocol `want` with the Nicira session
    /// messages it takes (each followed by a barrier). Returns false if the switch refused
    /// one (or no message can get there: another version).
    pub fn try_set_protocol(&mut self, want: Protocols, xids: &mut Xids) -> Result<bool, Fatal> {
        loop {
            let Some((msg, _next)) = set_protocol_message(self.protocol(), want) else {
                return Ok(self.protocol() == want);
            };
            if self.transact_noreply(&msg, xids)?.is_some() {
                return Ok(false);
            }
            self.session.apply(&msg);
        }
    }
}

/// True if a multipart message has the "more" flag.
pub fn multipart_more(msg: &[u8]) -> bool {
    msg.len() >= 12 && u16::from_be_bytes([msg[10], msg[11]]) & MULTIPART_MORE != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xids_start_at_one() {
        let mut x = Xids::default();
        assert_eq!((x.alloc(), x.alloc()), (1, 2));
    }

    #[test]
    fn tcp_addresses_get_the_default_port() {
        assert_eq!(tcp_address("127.0.0.1"), "127.0.0.1:6653");
        assert_eq!(tcp_address("10.0.0.1:6633"), "10.0.0.1:6633");
        assert_eq!(tcp_address("[::1]"), "[::1]:6653");
        assert_eq!(tcp_address("[::1]:1"), "[::1]:1");
    }

    #[test]
    fn targets_resolve_like_ovs_ofctl() {
        let dir = std::env::temp_dir().join(format!("rvs-ofctl-target-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("br7.mgmt");
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        assert_eq!(connect("br7", &dir).unwrap().1, format!("unix:{}", sock.display()));
        assert_eq!(
            connect(sock.to_str().unwrap(), Path::new("/nonexistent")).unwrap().1,
            format!("unix:{}", sock.display())
        );
        let typed = format!("unix:{}", sock.display());
        assert_eq!(connect(&typed, Path::new("/nonexistent")).unwrap().1, typed);
        assert_eq!(connect("br8", &dir).err(), Some(Fatal("br8 is not a bridge or a socket".into())));
        assert_eq!(
            connect("unix:/nonexistent/x", &dir).err(),
            Some(Fatal("connecting to unix:/nonexistent/x (No such file or directory)".into()))
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
