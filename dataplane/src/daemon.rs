//! The `rvs-vswitchd` process: command line, detaching, pid file, signals, and the control
//! thread's event loop.
//!
//! # Event loop
//! One thread (the process's main thread) owns the [`Switch`] and serves, with `mio`:
//! * the management socket (`$RVS_RUNDIR/rvs-vswitchd.ctl`): one JSON request per connection
//!   from `rvs-vsctl` or `rvs-appctl`, answered with one JSON line;
//! * every bridge's OpenFlow socket and connections ([`OfServer`]);
//! * packet-ins from PMDs (an eventfd wakes the loop);
//! * signals (`SIGTERM`/`SIGINT`: clean shutdown; `SIGHUP`: reopen the log), through a pipe
//!   written by the handler;
//! * OpenFlow timers (keepalives, controller reconnects, fail-open), when due;
//! * a once-a-second tick (rule timeouts, link state for port-status).
//!
//! # Shutdown
//! On `SIGTERM`: stop accepting, publish and write every rule and the configuration, stop the
//! PMDs, close ports (TAP devices disappear), remove sockets and the pid file, exit 0.
//!
//! # Security
//! The run directory is created mode 0755 and every socket is made mode 0600: only root (the
//! daemon's user) can talk to the daemon.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use mio::net::{UnixListener, UnixStream};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use serde::{Deserialize, Serialize};

use crate::appctl::{self, After, Baselines};
use crate::ofserver::OfServer;
use crate::store::Paths;
use crate::switch::Switch;
use crate::vlog;

/// Command-line options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Run in the background once ready.
    pub detach: bool,
    /// Write the pid here.
    pub pidfile: Option<PathBuf>,
    /// Log here.
    pub log_file: Option<PathBuf>,
}

const USAGE: &str = "rvs-vswitchd: rvs virtual switch daemon
usage: rvs-vswitchd [OPTIONS]

Options:
  --detach               run in background once ready
  --pidfile[=FILE]       create pidfile (default: $RVS_RUNDIR/rvs-vswitchd.pid)
  --log-file[=FILE]      log to FILE (default: $RVS_LOGDIR/rvs-vswitchd.log)
  -h, --help             display this help message
  -V, --version          display version information

Environment: RVS_RUNDIR (sockets, pid file; default /var/run/rvs), RVS_DBDIR (config
store; default /etc/rvs), RVS_LOGDIR (logs; default /var/log/rvs).
";

/// Parses the command line (without the program name).
pub fn parse_args(args: &[String], paths: &Paths) -> Result<Option<Options>, String> {
    let mut o = Options::default();
    for a in args {
        match a.as_str() {
            "--detach" => o.detach = true,
            "--pidfile" => o.pidfile = Some(paths.rundir.join("rvs-vswitchd.pid")),
            "--log-file" => o.log_file = Some(paths.logdir.join("rvs-vswitchd.log")),
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            "-V" | "--version" => {
                println!("rvs-vswitchd (rvs) {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            // Accepted for compatibility with OVS start scripts.
            "--no-chdir" | "--monitor" | "--mlockall" => {}
            s if s.starts_with("--pidfile=") => o.pidfile = Some(PathBuf::from(&s["--pidfile=".len()..])),
            s if s.starts_with("--log-file=") => o.log_file = Some(PathBuf::from(&s["--log-file=".len()..])),
            s if s.starts_with("unix:") || s.starts_with("tcp:") => {
                // An OVSDB remote, as ovs-vswitchd takes: rvs keeps its own store.
                eprintln!("rvs-vswitchd: ignoring database argument {s}: rvs uses its embedded config store");
            }
            s => return Err(format!("unrecognized option '{s}' (use --help for help)")),
        }
    }
    Ok(Some(o))
}

static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: libc::c_int) {
    let fd = SIGNAL_PIPE.load(Ordering::Relaxed);
    if fd >= 0 {
        let b = sig as u8;
        // SAFETY: write(2) is async-signal-safe; one byte from a valid local.
        unsafe { libc::write(fd, &b as *const u8 as *const libc::c_void, 1) };
    }
}

fn install_signals() -> io::Result<RawFd> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two fds.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    SIGNAL_PIPE.store(fds[1], Ordering::Relaxed);
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: installing a handler that only calls write(2).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
    // SAFETY: ignoring SIGPIPE so that writes to closed sockets return EPIPE.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    Ok(fds[0])
}

/// Forks into the background. The parent waits until the child reports readiness (or
/// failure) on a pipe and exits with 0 (or 1). Returns the write end in the child.
fn detach() -> io::Result<RawFd> {
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills two fds.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fork in a process with a single thread so far (before any thread is started).
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => {
            // SAFETY: standard daemon steps in the child.
            unsafe {
                libc::close(fds[0]);
                libc::setsid();
            }
            Ok(fds[1])
        }
        _ => {
            // SAFETY: closing our copy of the write end, then reading the child's verdict.
            unsafe { libc::close(fds[1]) };
            let mut b = [0u8; 1];
            let mut f = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fds[0]) };
            let ok = matches!(f.read(&mut b), Ok(1) if b[0] == b'1');
            std::process::exit(if ok { 0 } else { 1 });
        }
    }
}

fn report_ready(fd: Option<RawFd>, ok: bool) {
    if let Some(fd) = fd {
        let b = if ok { b'1' } else { b'0' };
        // SAFETY: one byte to our pipe, then close it.
        unsafe {
            libc::write(fd, &b as *const u8 as *const libc::c_void, 1);
            libc::close(fd);
        }
    }
}

fn redirect_stdio_to_null() {
    // SAFETY: reopening fds 0-2 on /dev/null.
    unsafe {
        let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if fd >= 0 {
            libc::dup2(fd, 0);
            libc::dup2(fd, 1);
            libc::dup2(fd, 2);
            if fd > 2 {
                libc::close(fd);
            }
        }
    }
}

/// Binds a Unix socket at `path` for root only, replacing a stale socket. Fails if a live
/// daemon answers there.
pub fn bind_private(path: &Path) -> io::Result<UnixListener> {
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(io::Error::new(io::ErrorKind::AddrInUse, format!("{}: another daemon is already listening", path.display())));
        }
        std::fs::remove_file(path)?;
    }
    let l = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(l)
}

/// A management request (one JSON line).
#[derive(Debug, Deserialize)]
pub struct MgmtRequest {
    /// `vsctl` or `appctl`.
    pub tool: String,
    /// The command line after the program name.
    pub args: Vec<String>,
}

/// A management response (one JSON line).
#[derive(Debug, Serialize)]
pub struct MgmtResponse {
    /// Success.
    pub ok: bool,
    /// Standard output.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub output: String,
    /// Error text (when not ok), or warnings (when ok).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Exit status for the client (when not ok).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<i32>,
    /// Warnings to print on standard error (when ok).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl MgmtResponse {
    fn ok(output: String, warnings: Vec<String>) -> Self {
        MgmtResponse { ok: true, output, error: None, status: None, warnings }
    }
    fn err(error: String, status: i32) -> Self {
        MgmtResponse { ok: false, output: String::new(), error: Some(error), status: Some(status), warnings: Vec::new() }
    }
}

const SIGNAL: Token = Token(0);
const MGMT: Token = Token(1);
const PACKET_IN: Token = Token(2);
/// First token available for connections and bridge sockets.
pub const FIRST_DYNAMIC_TOKEN: usize = 16;

struct MgmtConn {
    stream: UnixStream,
    buf: Vec<u8>,
}

/// Largest management request accepted.
const MAX_REQUEST: usize = 1 << 20;

/// The control thread's state.
pub struct Daemon {
    sw: Switch,
    poll: Poll,
    mgmt: UnixListener,
    conns: HashMap<Token, MgmtConn>,
    of: OfServer,
    next_token: usize,
    signal_fd: RawFd,
    baselines: Baselines,
    exiting: bool,
}

/// Runs the daemon: the whole life of `rvs-vswitchd`.
pub fn main(args: Vec<String>) -> i32 {
    let paths = Paths::from_env();
    let opts = match parse_args(&args, &paths) {
        Ok(Some(o)) => o,
        Ok(None) => return 0,
        Err(e) => {
            eprintln!("rvs-vswitchd: {e}");
            return 1;
        }
    };
    let ready_fd = if opts.detach {
        match detach() {
            Ok(fd) => Some(fd),
            Err(e) => {
                eprintln!("rvs-vswitchd: could not detach: {e}");
                return 1;
            }
        }
    } else {
        None
    };
    match run(paths, &opts, ready_fd) {
        Ok(()) => 0,
        Err(e) => {
            vlog::err("vswitchd", &e.to_string());
            report_ready(ready_fd, false);
            1
        }
    }
}

fn run(paths: Paths, opts: &Options, ready_fd: Option<RawFd>) -> io::Result<()> {
    if let Some(f) = &opts.log_file {
        vlog::open_file(f.clone())?;
        if ready_fd.is_some() {
            // Detaching with a log file: the terminal gets nothing, as with OVS.
            vlog::stop_stderr();
        }
    }
    std::fs::create_dir_all(&paths.rundir)?;
    std::fs::set_permissions(&paths.rundir, std::fs::Permissions::from_mode(0o755))?;
    std::fs::create_dir_all(&paths.dbdir)?;
    let signal_fd = install_signals()?;
    let mgmt = bind_private(&paths.mgmt_socket())?;
    if let Some(p) = &opts.pidfile {
        std::fs::write(p, format!("{}\n", std::process::id()))?;
    }
    vlog::info("vswitchd", &format!("rvs-vswitchd {} starting (rundir {}, dbdir {})", env!("CARGO_PKG_VERSION"), paths.rundir.display(), paths.dbdir.display()));
    let sw = Switch::start(paths.clone())?;
    let poll = Poll::new()?;
    let mut d = Daemon {
        sw,
        poll,
        mgmt,
        conns: HashMap::new(),
        of: OfServer::new(paths.clone()),
        next_token: FIRST_DYNAMIC_TOKEN,
        signal_fd,
        baselines: Baselines::default(),
        exiting: false,
    };
    let reg = d.poll.registry();
    reg.register(&mut SourceFd(&signal_fd), SIGNAL, Interest::READABLE)?;
    reg.register(&mut d.mgmt, MGMT, Interest::READABLE)?;
    let pi_fd = d.sw.dp.packet_in_fd;
    reg.register(&mut SourceFd(&pi_fd), PACKET_IN, Interest::READABLE)?;
    d.of.sync_bridges(&mut d.sw, d.poll.registry(), &mut d.next_token);
    vlog::info("vswitchd", "ready");
    if ready_fd.is_some() {
        vlog::stop_stderr();
        redirect_stdio_to_null();
    }
    report_ready(ready_fd, true);
    let result = d.event_loop();
    vlog::info("vswitchd", "exiting");
    d.of.close_all();
    d.sw.shutdown();
    let _ = std::fs::remove_file(paths.mgmt_socket());
    if let Some(p) = &opts.pidfile {
        let _ = std::fs::remove_file(p);
    }
    result
}

impl Daemon {
    fn event_loop(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(256);
        let mut last_tick = Instant::now();
        while !self.exiting {
            let mut timeout = Duration::from_millis(1000).saturating_sub(last_tick.elapsed());
            if let Some(at) = self.of.next_wakeup() {
                timeout = timeout.min(at.saturating_duration_since(Instant::now()));
            }
            match self.poll.poll(&mut events, Some(timeout)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            for ev in events.iter() {
                match ev.token() {
                    SIGNAL => self.on_signal(),
                    MGMT => self.accept_mgmt(),
                    PACKET_IN => {
                        let mut b = 0u64;
                        // SAFETY: draining our eventfd into a valid u64.
                        unsafe { libc::read(self.sw.dp.packet_in_fd, &mut b as *mut u64 as *mut libc::c_void, 8) };
                        self.of.deliver_packet_ins(&mut self.sw);
                    }
                    t if self.conns.contains_key(&t) => self.on_mgmt_readable(t),
                    t => self.of.handle_event(&mut self.sw, self.poll.registry(), &mut self.next_token, t, ev),
                }
            }
            self.of.run_timers(&mut self.sw, self.poll.registry(), &mut self.next_token);
            // Flow-mods received in this round become visible together.
            self.of.end_round(&mut self.sw, self.poll.registry());
            if last_tick.elapsed() >= Duration::from_millis(1000) {
                last_tick = Instant::now();
                self.of.tick(&mut self.sw);
                self.sw.pmd_sched_tick();
                self.of.end_round(&mut self.sw, self.poll.registry());
            }
        }
        Ok(())
    }

    fn on_signal(&mut self) {
        let mut buf = [0u8; 16];
        // SAFETY: reading from our non-blocking pipe into a valid buffer.
        let n = unsafe { libc::read(self.signal_fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
        for &s in buf.iter().take(n.max(0) as usize) {
            match s as i32 {
                libc::SIGHUP => vlog::reopen(),
                sig => {
                    vlog::info("vswitchd", &format!("caught signal {sig}, exiting"));
                    self.exiting = true;
                }
            }
        }
    }

    fn accept_mgmt(&mut self) {
        loop {
            match self.mgmt.accept() {
                Ok((mut stream, _)) => {
                    let t = Token(self.next_token);
                    self.next_token += 1;
                    if self.poll.registry().register(&mut stream, t, Interest::READABLE).is_ok() {
                        self.conns.insert(t, MgmtConn { stream, buf: Vec::new() });
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    vlog::warn("mgmt", &format!("accept failed: {e}"));
                    return;
                }
            }
        }
    }

    fn on_mgmt_readable(&mut self, t: Token) {
        let Some(c) = self.conns.get_mut(&t) else { return };
        let mut chunk = [0u8; 4096];
        let mut closed = false;
        loop {
            match c.stream.read(&mut chunk) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => c.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    closed = true;
                    break;
                }
            }
            if c.buf.len() > MAX_REQUEST {
                closed = true;
                break;
            }
        }
        let Some(nl) = c.buf.iter().position(|b| *b == b'\n') else {
            if closed {
                self.drop_conn(t);
            }
            return;
        };
        let line = c.buf[..nl].to_vec();
        let resp = match serde_json::from_slice::<MgmtRequest>(&line) {
            Ok(req) => self.handle_request(req),
            Err(e) => MgmtResponse::err(format!("malformed request: {e}"), 1),
        };
        if let Some(mut c) = self.conns.remove(&t) {
            let _ = self.poll.registry().deregister(&mut c.stream);
            let mut bytes = serde_json::to_vec(&resp).unwrap_or_default();
            bytes.push(b'\n');
            // The response is small; write it with the socket switched to blocking.
            let fd = c.stream.as_raw_fd();
            // SAFETY: clearing O_NONBLOCK on a socket we own.
            unsafe {
                let fl = libc::fcntl(fd, libc::F_GETFL);
                libc::fcntl(fd, libc::F_SETFL, fl & !libc::O_NONBLOCK);
            }
            let _ = c.stream.write_all(&bytes);
        }
    }

    fn drop_conn(&mut self, t: Token) {
        if let Some(mut c) = self.conns.remove(&t) {
            let _ = self.poll.registry().deregister(&mut c.stream);
        }
    }

    fn handle_request(&mut self, req: MgmtRequest) -> MgmtResponse {
        match req.tool.as_str() {
            "vsctl" => {
                let status = crate::status::SwitchStatus(&self.sw);
                match crate::vsctl::run(&self.sw.cfg, &status, &req.args) {
                    Ok(outcome) => {
                        let mut warnings = Vec::new();
                        if outcome.changed {
                            warnings = self.sw.reconcile(outcome.config);
                            self.of.sync_bridges(&mut self.sw, self.poll.registry(), &mut self.next_token);
                        }
                        MgmtResponse::ok(outcome.output, warnings)
                    }
                    Err(e) => MgmtResponse::err(e.to_string(), e.exit_status()),
                }
            }
            "appctl" => {
                let of = &self.of;
                let trace = |sw: &Switch, args: &[String]| of.trace(sw, args);
                let result = appctl::run(&mut self.sw, &mut self.baselines, &req.args, &trace);
                // `ofproto/trace -generate` may have learned flows: install them before the
                // reply, so that a later command sees them.
                self.of.apply_learned(&mut self.sw);
                match result {
                    Ok((out, After::Continue)) => MgmtResponse::ok(out, Vec::new()),
                    Ok((out, After::Exit)) => {
                        self.exiting = true;
                        MgmtResponse::ok(out, Vec::new())
                    }
                    Err(e) => MgmtResponse::err(e, 2),
                }
            }
            other => MgmtResponse::err(format!("unknown tool {other:?}"), 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> Paths {
        Paths { rundir: "/r".into(), dbdir: "/d".into(), logdir: "/l".into() }
    }

    #[test]
    fn parses_ovs_style_options() {
        let args: Vec<String> = ["--detach", "--pidfile", "--log-file=/tmp/x.log"].iter().map(|s| s.to_string()).collect();
        let o = parse_args(&args, &paths()).unwrap().unwrap();
        assert!(o.detach);
        assert_eq!(o.pidfile, Some(PathBuf::from("/r/rvs-vswitchd.pid")));
        assert_eq!(o.log_file, Some(PathBuf::from("/tmp/x.log")));
        assert!(parse_args(&["--bogus".to_string()], &paths()).is_err());
    }
}
