//! Test harness for rvs integration tests: network namespaces, veth pairs, and a private
//! `rvs-vswitchd` with the command-line tools pointed at it.
//!
//! # Isolation
//! Every test builds its own world under a unique prefix (`rvs<pid><n>`): namespaces, veths,
//! and a daemon whose run, database and log directories live in a fresh temporary directory.
//! The daemon itself runs inside a namespace of its own (`<prefix>sw`), so its bridge's
//! internal interface (named after the bridge, as in OVS) cannot collide with anything on the
//! host. Everything is removed by `Drop` guards, also when a test fails.
//!
//! # Root
//! Namespaces need root. [`require_root`] prints a loud `SKIPPED` line to standard error and
//! returns false when not root; the test then returns early, and the summary printed by
//! `ci/test.sh` counts it as skipped, never as passed.
//!
//! # Binaries
//! The tools are taken from the Cargo target directory of the running test
//! (`target/<profile>/rvs-vswitchd` and friends); `ci/test.sh` builds them first.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A unique short prefix for names (interface names are limited to 15 characters).
pub fn unique_prefix() -> String {
    format!("r{}{}", std::process::id() % 100_000, COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// True when running as root; otherwise prints a loud skip notice for `test`.
pub fn require_root(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    eprintln!("\n*** SKIPPED: {test}: needs root (network namespaces); not counted as passed ***\n");
    if let Ok(f) = std::env::var("RVS_SKIP_LOG") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(f) {
            let _ = writeln!(f, "{test}");
        }
    }
    false
}

/// The directory holding the workspace's built binaries.
pub fn bin_dir() -> PathBuf {
    if let Ok(d) = std::env::var("RVS_BIN_DIR") {
        return PathBuf::from(d);
    }
    // target/<profile>/deps/<test binary>
    let exe = std::env::current_exe().expect("current exe");
    exe.parent().and_then(|p| p.parent()).expect("target profile dir").to_path_buf()
}

/// Path of a workspace binary, which must have been built.
pub fn bin(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(p.exists(), "{} not found: build the workspace binaries first (cargo build --bins)", p.display());
    p
}

/// Runs a command, returning its output (does not check the status).
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("could not run {cmd:?}: {e}"))
}

/// Runs a command that must succeed; returns its standard output.
pub fn must(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ip ARGS` that must succeed.
pub fn ip(args: &[&str]) -> String {
    must(Command::new("ip").args(args))
}

/// A network namespace, deleted on drop.
pub struct Netns {
    /// Its name.
    pub name: String,
}

impl Netns {
    /// Creates a namespace with loopback up.
    pub fn new(name: &str) -> Netns {
        let _ = run(Command::new("ip").args(["netns", "del", name]));
        ip(&["netns", "add", name]);
        let ns = Netns { name: name.to_string() };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// `ip netns exec NAME ip ARGS`, which must succeed.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut a = vec!["netns", "exec", &self.name, "ip"];
        a.extend_from_slice(args);
        ip(&a)
    }

    /// A command to run inside the namespace.
    pub fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// True if `ping -c COUNT` to `addr` gets at least one reply.
    pub fn ping(&self, addr: &str, count: u32) -> bool {
        let out = run(self.cmd("ping").args(["-c", &count.to_string(), "-i", "0.2", "-W", "1", addr]));
        out.status.success()
    }

    /// Pings until one reply arrives or `timeout` passes (ARP and learning take a moment).
    pub fn ping_until(&self, addr: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.ping(addr, 1) {
                return true;
            }
        }
        false
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = run(Command::new("ip").args(["netns", "del", &self.name]));
    }
}

/// Creates a veth pair with `a` in namespace `ns_a` and `b` in `ns_b`, both up; `addr` (CIDR),
/// if given, is assigned to `b`.
pub fn veth(a: &str, ns_a: &Netns, b: &str, ns_b: &Netns, addr: Option<&str>) {
    ip(&["link", "add", a, "netns", &ns_a.name, "type", "veth", "peer", "name", b, "netns", &ns_b.name]);
    ns_a.ip(&["link", "set", a, "up"]);
    ns_b.ip(&["link", "set", b, "up"]);
    if let Some(addr) = addr {
        ns_b.ip(&["addr", "add", addr, "dev", b]);
    }
}

/// A private `rvs-vswitchd`, run in its own namespace, stopped on drop.
pub struct Switchd {
    /// The namespace it runs in (holds the switch side of every veth).
    pub ns: Netns,
    /// Its run, database and log directories' parent.
    pub dir: PathBuf,
    child: Option<Child>,
}

impl Switchd {
    /// Starts a daemon in a new namespace called `<prefix>sw`, with a fresh store.
    pub fn start(prefix: &str) -> Switchd {
        let dir = std::env::temp_dir().join(format!("{prefix}-rvs"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let ns = Netns::new(&format!("{prefix}sw"));
        let mut s = Switchd { ns, dir, child: None };
        s.launch();
        // Tests and demos share two cores with the kernel and the traffic: idle PMDs sleep.
        s.vsctl(&["set", "Open_vSwitch", ".", "other_config:pmd-sleep-max=500"]);
        s
    }

    /// Environment for the tools.
    pub fn env(&self, cmd: &mut Command) {
        cmd.env("RVS_RUNDIR", self.dir.join("run")).env("RVS_DBDIR", self.dir.join("db")).env("RVS_LOGDIR", self.dir.join("log"));
    }

    /// (Re)starts the daemon process and waits until it answers.
    pub fn launch(&mut self) {
        let mut cmd = self.ns.cmd(bin("rvs-vswitchd").to_str().expect("utf-8 path"));
        self.env(&mut cmd);
        cmd.arg(format!("--log-file={}", self.dir.join("log/rvs-vswitchd.log").display()));
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let child = cmd.spawn().expect("spawn rvs-vswitchd");
        self.child = Some(child);
        let sock = self.dir.join("run/rvs-vswitchd.ctl");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::os::unix::net::UnixStream::connect(&sock).is_ok() {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("rvs-vswitchd exited early with {status}; log:\n{}", self.log());
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!("rvs-vswitchd did not start within 20 s; log:\n{}", self.log());
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log/rvs-vswitchd.log")).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for a clean exit; returns the exit status code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        // `ip netns exec` execs the daemon, so the child's pid is the daemon's.
        // SAFETY: kill(2) on our child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(s)) = child.try_wait() {
                return s.code();
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("rvs-vswitchd did not exit within 20 s of SIGTERM; log:\n{}", self.log());
    }

    fn tool(&self, name: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new(bin(name));
        self.env(&mut cmd);
        cmd.args(args);
        run(&mut cmd)
    }

    /// `rvs-vsctl ARGS`, which must succeed.
    pub fn vsctl(&self, args: &[&str]) -> String {
        self.checked("rvs-vsctl", args)
    }

    /// `rvs-ofctl ARGS`, which must succeed.
    pub fn ofctl(&self, args: &[&str]) -> String {
        self.checked("rvs-ofctl", args)
    }

    /// `rvs-appctl ARGS`, which must succeed.
    pub fn appctl(&self, args: &[&str]) -> String {
        self.checked("rvs-appctl", args)
    }

    /// Runs a tool without checking its status.
    pub fn try_tool(&self, name: &str, args: &[&str]) -> Output {
        self.tool(name, args)
    }

    fn checked(&self, name: &str, args: &[&str]) -> String {
        let out = self.tool(name, args);
        assert!(
            out.status.success(),
            "{name} {args:?} failed ({}):\nstdout: {}\nstderr: {}\ndaemon log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The run directory.
    pub fn rundir(&self) -> PathBuf {
        self.dir.join("run")
    }

    /// Adds `n` ports to `bridge`: veth pairs `<prefix>a<i>` / `<prefix>b<i>` made in the
    /// switch's namespace, the `a` ends up and on the bridge with `ofport_request=i` (1..=n).
    /// The `b` ends stay down. Returns the port names.
    pub fn add_veth_ports(&self, bridge: &str, prefix: &str, n: u32) -> Vec<String> {
        (1..=n)
            .map(|i| {
                let (a, b) = (format!("{prefix}a{i}"), format!("{prefix}b{i}"));
                self.ns.ip(&["link", "add", &a, "type", "veth", "peer", "name", &b]);
                self.ns.ip(&["link", "set", &a, "up"]);
                self.vsctl(&["add-port", bridge, &a, "--", "set", "interface", &a, &format!("ofport_request={i}")]);
                a
            })
            .collect()
    }
}

impl Drop for Switchd {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("--- rvs-vswitchd log ({}) ---\n{}", self.dir.display(), self.log());
        }
        if let Some(mut c) = self.child.take() {
            // SAFETY: kill(2) on our child's pid.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Parses `n_packets=N` of the first line of `dump-flows` output containing `needle`.
pub fn n_packets(dump: &str, needle: &str) -> Option<u64> {
    let line = dump.lines().find(|l| l.contains(needle))?;
    let i = line.find("n_packets=")? + "n_packets=".len();
    line[i..].split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// Waits until `f` returns true or `timeout` passes.
pub fn wait_for(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        thread::sleep(Duration::from_millis(100));
    }
    f()
}

/// True if `path` exists (for socket checks in tests).
pub fn exists(path: &Path) -> bool {
    path.exists()
}
