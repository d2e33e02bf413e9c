//! Where OpenFlow connections come from: controller targets and the sockets behind them.
//!
//! # Targets (the `Bridge:controller` strings, as `ovs-vsctl set-controller` takes them)
//! | target | what rvs does |
//! |---|---|
//! | `tcp:IP[:PORT]` | connects to a controller (port 6653 by default), reconnecting with backoff |
//! | `unix:PATH` | the same over a Unix socket |
//! | `ptcp:[PORT][:IP]` | listens for service connections (port 6653, address 127.0.0.1 by default) |
//! | `punix:PATH` | listens for service connections on a Unix socket |
//!
//! A relative Unix socket path is taken in the run directory, as OVS does. IPv6 addresses
//! are written in brackets (`tcp:[::1]:6653`, `ptcp:6653:[::1]`). OVS binds
//! `ptcp` to every address by default; rvs binds to loopback unless an address is given, so
//! that nothing is exposed by accident. `ssl:` and `pssl:` are not supported (refused with a
//! log line).
//!
//! # Sockets
//! [`Stream`] and [`Listener`] put TCP and Unix sockets behind one type each, for the `mio`
//! event loop. Everything is non-blocking: a TCP connect returns at once and completes when
//! the socket becomes writable ([`Stream::finish_connect`]).

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use mio::event::Source;
use mio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use mio::{Interest, Registry, Token};

/// The IANA OpenFlow port, OVS's default.
pub const DEFAULT_PORT: u16 = 6653;

/// A controller target, parsed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// Active TCP connection.
    Tcp(SocketAddr),
    /// Active Unix-socket connection.
    Unix(PathBuf),
    /// TCP listener for service connections.
    PTcp(SocketAddr),
    /// Unix-socket listener for service connections.
    PUnix(PathBuf),
}

impl Target {
    /// Parses a target string. See the module documentation.
    pub fn parse(s: &str) -> Result<Target, String> {
        let (method, rest) = s.split_once(':').ok_or_else(|| format!("{s}: target has no connection method"))?;
        match method {
            "tcp" => {
                let (host, port) = split_host_port(rest).ok_or_else(|| format!("{s}: bad address"))?;
                let ip: IpAddr = host.parse().map_err(|_| format!("{s}: {host} is not an IP address"))?;
                Ok(Target::Tcp(SocketAddr::new(ip, parse_port(s, port)?)))
            }
            "ptcp" => {
                // ptcp:[PORT][:IP]
                let (port, ip) = match rest.split_once(':') {
                    Some((p, ip)) => (p, ip.trim_start_matches('[').trim_end_matches(']')),
                    None => (rest, ""),
                };
                let ip: IpAddr = if ip.is_empty() {
                    IpAddr::V4(Ipv4Addr::LOCALHOST)
                } else {
                    ip.parse().map_err(|_| format!("{s}: {ip} is not an IP address"))?
                };
                Ok(Target::PTcp(SocketAddr::new(ip, parse_port(s, (!port.is_empty()).then_some(port))?)))
            }
            "unix" | "punix" if rest.is_empty() => Err(format!("{s}: missing socket path")),
            "unix" => Ok(Target::Unix(PathBuf::from(rest))),
            "punix" => Ok(Target::PUnix(PathBuf::from(rest))),
            "ssl" | "pssl" => Err(format!("{s}: SSL connections are not supported by rvs")),
            _ => Err(format!("{s}: unknown connection method {method:?}")),
        }
    }

    /// True for the targets rvs connects to (controllers), false for listeners.
    pub fn is_active(&self) -> bool {
        matches!(self, Target::Tcp(_) | Target::Unix(_))
    }
}

/// Splits `HOST[:PORT]` where HOST may be a bracketed IPv6 address.
fn split_host_port(s: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            a => Some((host, Some(a.strip_prefix(':')?))),
        };
    }
    Some(match s.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    })
}

fn parse_port(target: &str, p: Option<&str>) -> Result<u16, String> {
    match p {
        None | Some("") => Ok(DEFAULT_PORT),
        Some(p) => p.parse().map_err(|_| format!("{target}: {p} is not a port number")),
    }
}

/// A connected (or connecting) byte stream.
#[derive(Debug)]
pub enum Stream {
    /// TCP.
    Tcp(TcpStream),
    /// Unix socket.
    Unix(UnixStream),
}

impl Stream {
    /// Starts connecting to an active target (returns at once; see [`Stream::finish_connect`]).
    pub fn connect(target: &Target) -> io::Result<Stream> {
        match target {
            Target::Tcp(addr) => {
                let s = TcpStream::connect(*addr)?;
                Ok(Stream::Tcp(s))
            }
            Target::Unix(path) => Ok(Stream::Unix(UnixStream::connect(path)?)),
            _ => Err(io::Error::new(io::ErrorKind::InvalidInput, "not an active target")),
        }
    }

    /// After the socket became writable: `Ok(true)` if the connection is established,
    /// `Ok(false)` if it is still in progress, `Err` if it failed.
    pub fn finish_connect(&self) -> io::Result<bool> {
        match self {
            Stream::Tcp(s) => {
                if let Some(e) = s.take_error()? {
                    return Err(e);
                }
                match s.peer_addr() {
                    Ok(_) => {
                        let _ = s.set_nodelay(true);
                        Ok(true)
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
                    Err(e) => Err(e),
                }
            }
            Stream::Unix(s) => {
                if let Some(e) = s.take_error()? {
                    return Err(e);
                }
                Ok(true)
            }
        }
    }

    /// Makes small writes leave at once (TCP only).
    pub fn set_nodelay(&self) {
        if let Stream::Tcp(s) = self {
            let _ = s.set_nodelay(true);
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_vectored(bufs),
            Stream::Unix(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Source for Stream {
    fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.register(r, t, i),
            Stream::Unix(s) => s.register(r, t, i),
        }
    }

    fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.reregister(r, t, i),
            Stream::Unix(s) => s.reregister(r, t, i),
        }
    }

    fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.deregister(r),
            Stream::Unix(s) => s.deregister(r),
        }
    }
}

/// A listening socket.
#[derive(Debug)]
pub enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// Unix socket (its path is removed when the listener is closed).
    Unix(UnixListener, PathBuf),
}

impl Listener {
    /// Binds a passive target. Unix sockets are made private to root, replacing a stale
    /// socket file (see [`crate::daemon::bind_private`]).
    pub fn bind(target: &Target) -> io::Result<Listener> {
        match target {
            Target::PTcp(addr) => Ok(Listener::Tcp(TcpListener::bind(*addr)?)),
            Target::PUnix(path) => Ok(Listener::Unix(crate::daemon::bind_private(path)?, path.clone())),
            _ => Err(io::Error::new(io::ErrorKind::InvalidInput, "not a passive target")),
        }
    }

    /// Accepts one pending connection, if any.
    pub fn accept(&self) -> io::Result<Stream> {
        match self {
            Listener::Tcp(l) => {
                let (s, _) = l.accept()?;
                let _ = s.set_nodelay(true);
                Ok(Stream::Tcp(s))
            }
            Listener::Unix(l, _) => Ok(Stream::Unix(l.accept()?.0)),
        }
    }

    /// Removes the socket file of a Unix listener.
    pub fn remove_file(&self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Source for Listener {
    fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.register(r, t, i),
            Listener::Unix(l, _) => l.register(r, t, i),
        }
    }

    fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.reregister(r, t, i),
            Listener::Unix(l, _) => l.reregister(r, t, i),
        }
    }

    fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.deregister(r),
            Listener::Unix(l, _) => l.deregister(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_the_targets_ovs_vsctl_takes() {
        assert_eq!(Target::parse("tcp:127.0.0.1:6633"), Ok(Target::Tcp(addr("127.0.0.1:6633"))));
        assert_eq!(Target::parse("tcp:10.0.0.1"), Ok(Target::Tcp(addr("10.0.0.1:6653"))));
        assert_eq!(Target::parse("tcp:[::1]:7000"), Ok(Target::Tcp(addr("[::1]:7000"))));
        assert_eq!(Target::parse("ptcp:6654"), Ok(Target::PTcp(addr("127.0.0.1:6654"))));
        assert_eq!(Target::parse("ptcp:"), Ok(Target::PTcp(addr("127.0.0.1:6653"))));
        assert_eq!(Target::parse("ptcp:6654:0.0.0.0"), Ok(Target::PTcp(addr("0.0.0.0:6654"))));
        assert_eq!(Target::parse("ptcp:6654:[::1]"), Ok(Target::PTcp(addr("[::1]:6654"))));
        assert_eq!(Target::parse("unix:/run/c.sock"), Ok(Target::Unix("/run/c.sock".into())));
        assert_eq!(Target::parse("punix:/run/s.sock"), Ok(Target::PUnix("/run/s.sock".into())));
        assert!(Target::parse("tcp:127.0.0.1:6633").unwrap().is_active());
        assert!(!Target::parse("ptcp:1").unwrap().is_active());
    }

    #[test]
    fn refuses_what_it_cannot_do() {
        for bad in ["tcp:host.example:6653", "tcp:1.2.3.4:x", "ssl:1.2.3.4:6653", "unix:", "udp:1.2.3.4", "nocolon", "ptcp:99999"] {
            assert!(Target::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn tcp_connect_completes_through_the_writable_check() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let target = Target::Tcp(l.local_addr().unwrap());
        let s = Stream::connect(&target).unwrap();
        let _peer = l.accept().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !s.finish_connect().unwrap() {
            assert!(std::time::Instant::now() < deadline, "connect did not complete");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}
