//! Shared by the `ofctl_*` integration tests: a private Open vSwitch, and running
//! `ovs-ofctl` and `rvs-ofctl` so that their outputs can be compared.
//!
//! # A private Open vSwitch
//! [`Ovs::start`] creates a database with `ovsdb-tool` in a fresh temporary directory, runs
//! `ovsdb-server` and `ovs-vswitchd --enable-dummy=override --disable-system` as children
//! with `OVS_RUNDIR`, `OVS_DBDIR`, `OVS_LOGDIR` and `OVS_SYSCONFDIR` pointing into it, and
//! adds bridge `br0` (`datapath_type=netdev`) with dummy ports `p1` and `p2` (OpenFlow ports
//! 1 and 2). The datapath ID (`0xb0`) and the bridge's address are fixed, and the dummy
//! ports' addresses come from a counter in `ovs-vswitchd`, so every instance looks the same
//! to `show`. Nothing outside the directory is touched. Dropping the guard stops both daemons
//! and removes the directory, also when the test fails.
//!
//! [`Ovs::start_on_veths`] runs `ovs-vswitchd` (without dummy devices) inside a network
//! namespace instead, where `p1` and `p2` are existing kernel interfaces (veths the caller
//! made) attached as `system` ports of the same `netdev` bridge; its internal port `br0` is
//! a TAP device in that namespace. This is the setup to compare with `rvs-vswitchd` driving
//! the same kind of devices.
//!
//! # Comparing the tools
//! [`Outcome`] holds what a tool printed and its exit status, with the differences that are
//! not the tools' own removed: the program name before error messages, Open vSwitch's log
//! lines on standard error, and the `duration=`, `idle_age=` and `hard_age=` values (they
//! depend on when the command ran).
// Each test crate that includes this module uses a part of it.
#![allow(dead_code)]

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use rvs_ci::{bin, run};

/// The Open vSwitch programs the tests need.
const OVS_PROGRAMS: [&str; 5] = ["ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-ofctl"];

/// Where Open vSwitch keeps its database schema (Debian's `openvswitch-common`).
const SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

/// True if Open vSwitch is installed; otherwise prints a loud skip notice for `test` (and
/// logs it where `ci/test.sh` collects skips), so that the test is never counted as passed.
pub fn require_ovs(test: &str) -> bool {
    let missing: Vec<&str> = OVS_PROGRAMS
        .iter()
        .copied()
        .filter(|p| Command::new(p).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err())
        .collect();
    if missing.is_empty() && Path::new(SCHEMA).exists() {
        return true;
    }
    eprintln!(
        "\n*** SKIPPED: {test}: needs Open vSwitch ({} missing); not counted as passed ***\n",
        missing.join(", ")
    );
    if let Ok(f) = std::env::var("RVS_SKIP_LOG") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(f) {
            let _ = writeln!(f, "{test}");
        }
    }
    false
}

/// A private Open vSwitch, stopped and removed on drop.
pub struct Ovs {
    /// Its run, database and log directory.
    pub dir: PathBuf,
    children: Vec<Child>,
}

impl Ovs {
    /// Starts `ovsdb-server` and `ovs-vswitchd` in a new directory and creates `br0` with
    /// dummy ports `p1` (port 1) and `p2` (port 2).
    pub fn start(tag: &str) -> Ovs {
        Ovs::start_with(tag, None)
    }

    /// Starts `ovsdb-server`, and `ovs-vswitchd` inside `ns`, and creates `br0`
    /// (`datapath_type=netdev`) with the namespace's interfaces `p1` (port 1) and `p2`
    /// (port 2), which must exist.
    pub fn start_on_veths(tag: &str, ns: &rvs_ci::Netns) -> Ovs {
        Ovs::start_with(tag, Some(ns))
    }

    fn start_with(tag: &str, ns: Option<&rvs_ci::Netns>) -> Ovs {
        let dir = std::env::temp_dir().join(format!("rvs-ovs-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create OVS directory");
        let mut ovs = Ovs { dir, children: Vec::new() };
        let db = ovs.dir.join("conf.db");
        let sock = ovs.dir.join("db.sock");
        ovs.must(Command::new("ovsdb-tool").arg("create").arg(&db).arg(SCHEMA));
        let mut server = Command::new("ovsdb-server");
        server
            .arg(&db)
            .arg(format!("--remote=punix:{}", sock.display()))
            .arg(format!("--unixctl={}", ovs.dir.join("ovsdb-server.ctl").display()))
            .arg(format!("--log-file={}", ovs.dir.join("ovsdb-server.log").display()));
        ovs.spawn(server);
        ovs.wait_for(&sock, "ovsdb-server socket");
        ovs.must(ovs.vsctl().args(["--no-wait", "init"]));
        let mut vswitchd = match ns {
            Some(ns) => ns.cmd("ovs-vswitchd"),
            None => {
                let mut c = Command::new("ovs-vswitchd");
                c.args(["--enable-dummy=override", "--disable-system"]);
                c
            }
        };
        vswitchd
            .arg(format!("unix:{}", sock.display()))
            .arg(format!("--unixctl={}", ovs.dir.join("ovs-vswitchd.ctl").display()))
            .arg(format!("--log-file={}", ovs.dir.join("ovs-vswitchd.log").display()));
        ovs.spawn(vswitchd);
        let port_type = if ns.is_some() {
            "type=system"
        } else {
            "type=dummy"
        };
        ovs.must(ovs.vsctl().args([
            "add-br",
            "br0",
            "--",
            "set",
            "bridge",
            "br0",
            "datapath_type=netdev",
            "other_config:datapath-id=00000000000000b0",
            "other_config:hwaddr=aa:55:aa:55:00:b0",
            "--",
            "add-port",
            "br0",
            "p1",
            "--",
            "set",
            "interface",
            "p1",
            port_type,
            "ofport_request=1",
            "--",
            "add-port",
            "br0",
            "p2",
            "--",
            "set",
            "interface",
            "p2",
            port_type,
            "ofport_request=2",
        ]));
        ovs.wait_for(&ovs.dir.join("br0.mgmt"), "br0.mgmt");
        ovs
    }

    fn env(&self, cmd: &mut Command) {
        for var in ["OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR", "OVS_SYSCONFDIR", "RVS_RUNDIR"] {
            cmd.env(var, &self.dir);
        }
    }

    fn vsctl(&self) -> Command {
        let mut c = Command::new("ovs-vsctl");
        self.env(&mut c);
        c.arg(format!("--db=unix:{}", self.dir.join("db.sock").display())).arg("--timeout=30");
        c
    }

    fn spawn(&mut self, mut cmd: Command) {
        self.env(&mut cmd);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let child = cmd.spawn().unwrap_or_else(|e| panic!("could not start {cmd:?}: {e}"));
        self.children.push(child);
    }

    fn must(&self, cmd: &mut Command) {
        self.env(cmd);
        let out = run(cmd);
        assert!(out.status.success(), "{cmd:?} failed: {}\n{}", String::from_utf8_lossy(&out.stderr), self.logs());
    }

    fn wait_for(&self, path: &Path, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !path.exists() {
            assert!(Instant::now() < deadline, "no {what} after 20 s:\n{}", self.logs());
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Both daemons' logs.
    pub fn logs(&self) -> String {
        ["ovsdb-server.log", "ovs-vswitchd.log"]
            .iter()
            .map(|f| format!("--- {f}\n{}", std::fs::read_to_string(self.dir.join(f)).unwrap_or_default()))
            .collect()
    }

    /// Runs `ovs-ofctl` or `rvs-ofctl` with `args` against this instance (bridge names
    /// resolve to its sockets), with `cwd` as working directory.
    pub fn ofctl(&self, tool: Tool, args: &[&str], cwd: &Path) -> Outcome {
        ofctl(tool, &self.dir, args, cwd)
    }
}

/// Runs `ovs-ofctl` (`Tool::Ovs`) or `rvs-ofctl` with `args`, with both tools' run
/// directories (`OVS_RUNDIR`, `RVS_RUNDIR`) set to `rundir` so that bridge names resolve to
/// the sockets there, and `cwd` as working directory.
pub fn ofctl(tool: Tool, rundir: &Path, args: &[&str], cwd: &Path) -> Outcome {
    let mut cmd = match tool {
        Tool::Ovs => Command::new("ovs-ofctl"),
        Tool::Rvs => Command::new(bin("rvs-ofctl")),
    };
    cmd.env("OVS_RUNDIR", rundir).env("RVS_RUNDIR", rundir).args(args).current_dir(cwd).stdin(Stdio::null());
    Outcome::of(tool, args, run(&mut cmd))
}

impl Drop for Ovs {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("--- Open vSwitch logs ({}) ---\n{}", self.dir.display(), self.logs());
        }
        for c in self.children.iter_mut().rev() {
            // SAFETY: kill(2) on our own child.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Which `ofctl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    /// The real `ovs-ofctl`.
    Ovs,
    /// `rvs-ofctl`.
    Rvs,
}

/// What a run printed (normalised, see the module documentation) and its exit status.
#[derive(Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The command line.
    pub args: String,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Exit status (`None`: killed by a signal).
    pub status: Option<i32>,
}

/// Replaces the digits of every `duration=N.NNNs` and `idle_age=N` with `D`, and removes
/// every ` hard_age=N,` (Open vSwitch prints it only when it differs from the duration in
/// whole seconds, so whether it appears depends on timing).
pub fn mask_durations(text: &str) -> String {
    let text = mask_value(text, "duration=", "s");
    let text = mask_value(&text, "idle_age=", ",");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find(" hard_age=") {
        let tail = &rest[at + " hard_age=".len()..];
        let n = tail.bytes().take_while(u8::is_ascii_digit).count();
        if n > 0 && tail[n..].starts_with(',') {
            out.push_str(&rest[..at]);
            rest = &tail[n + 1..];
        } else {
            out.push_str(&rest[..at + 1]);
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
}

/// Replaces the number (digits and dots) after every `key` that is followed by `end` with `D`.
fn mask_value(text: &str, key: &str, end: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(key) {
        let (head, tail) = rest.split_at(at + key.len());
        out.push_str(head);
        let n = tail.bytes().take_while(|c| c.is_ascii_digit() || *c == b'.').count();
        if n > 0 && tail[n..].starts_with(end) {
            out.push('D');
            rest = &tail[n..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

impl Outcome {
    fn of(tool: Tool, args: &[&str], out: std::process::Output) -> Outcome {
        let prefix = match tool {
            Tool::Ovs => "ovs-ofctl: ",
            Tool::Rvs => "rvs-ofctl: ",
        };
        let stderr: String = String::from_utf8_lossy(&out.stderr)
            .lines()
            // Open vSwitch's log lines (`2024-01-01T00:00:00Z|00001|module|WARN|...`).
            .filter(|l| !(l.len() > 20 && l.as_bytes()[4] == b'-' && l.contains('|')))
            .map(|l| l.strip_prefix(prefix).map_or_else(|| l.to_string(), |rest| format!("ofctl: {rest}")))
            .map(|l| l + "\n")
            .collect();
        Outcome {
            args: args.join(" "),
            stdout: mask_durations(&String::from_utf8_lossy(&out.stdout)),
            stderr: mask_durations(&stderr),
            status: out.status.code(),
        }
    }
}

impl fmt::Debug for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "$ ofctl {}\n[status {:?}]\n{}--- stderr\n{}", self.args, self.status, self.stdout, self.stderr)
    }
}

/// Panics with both outcomes and the first differing line if they differ.
pub fn assert_same(ovs: &Outcome, rvs: &Outcome) {
    if ovs == rvs {
        return;
    }
    let a: Vec<&str> = ovs.stdout.lines().chain(ovs.stderr.lines()).collect();
    let b: Vec<&str> = rvs.stdout.lines().chain(rvs.stderr.lines()).collect();
    let first = a.iter().zip(&b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    panic!(
        "ovs-ofctl and rvs-ofctl differ on `{}` (first at line {}: {:?} vs {:?})\n=== ovs-ofctl\n{ovs:?}\n=== rvs-ofctl\n{rvs:?}",
        ovs.args,
        first + 1,
        a.get(first),
        b.get(first)
    );
}
