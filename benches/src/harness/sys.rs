//! What the harness needs from the operating system: child processes that are always stopped,
//! CPU placement and priority, on-CPU time of one thread, hugepages, and Ctrl-C.
//!
//! # Processes
//! Every process the harness starts is a [`Child`]: started pinned to the housekeeping core (or
//! the CPUs it is given) at `nice -20`, and stopped by its own pid when dropped (`SIGTERM`,
//! up to 5 s, then `SIGKILL`), so that an error or Ctrl-C anywhere still leaves nothing behind.
//! Nothing is ever stopped by name.
//!
//! # On-CPU time
//! `/proc/PID/task/TID/schedstat` holds, first, the nanoseconds the thread has run. Read at
//! both ends of a window, its delta over the window's wall time is the share of the window
//! the worker really ran (`oncpu`): on a shared machine other jobs take the rest.
//!
//! # Ctrl-C
//! `SIGINT`/`SIGTERM` only set a flag; [`sleep`] checks it every 50 ms and returns
//! [`Interrupted`], which unwinds the harness through its guards (children, hugepages,
//! namespaces, directories).

use std::fs;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The run was interrupted by Ctrl-C (or `SIGTERM`).
#[derive(Debug)]
pub struct Interrupted;

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Makes `SIGINT` and `SIGTERM` set the interruption flag instead of killing the harness.
pub fn catch_interrupts() {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
}

/// Whether Ctrl-C was pressed.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Sleeps `d`, waking every 50 ms to check for Ctrl-C.
pub fn sleep(d: Duration) -> Result<(), Interrupted> {
    let end = Instant::now() + d;
    loop {
        if interrupted() {
            return Err(Interrupted);
        }
        let now = Instant::now();
        if now >= end {
            return Ok(());
        }
        std::thread::sleep((end - now).min(Duration::from_millis(50)));
    }
}

/// The CPU the poll-mode worker of every system runs on (the last one) and the CPU everything
/// else runs on (the first one), as anchor-bench lays them out.
#[derive(Clone, Copy, Debug)]
pub struct Cores {
    /// The worker core.
    pub worker: usize,
    /// The housekeeping core.
    pub house: usize,
}

impl Cores {
    /// Worker on the last CPU, housekeeping on CPU 0. `None` with fewer than two CPUs.
    pub fn detect() -> Option<Cores> {
        let n = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        (n >= 2).then_some(Cores { worker: n - 1, house: 0 })
    }

    /// The worker core as a hexadecimal CPU mask (`0x2`).
    pub fn worker_mask(&self) -> String {
        format!("0x{:x}", 1u64 << self.worker)
    }
}

/// A started process, stopped (by its pid) when dropped.
pub struct Child {
    child: std::process::Child,
    name: String,
}

impl Child {
    /// Starts `cmd` on `cpus` at `nice -20`, output to `log` (standard output and error).
    pub fn spawn(name: &str, mut cmd: Command, cpus: &[usize], log: &Path) -> io::Result<Child> {
        let out = fs::File::create(log)?;
        cmd.stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out);
        Self::spawn_with(name, cmd, cpus)
    }

    /// Starts `cmd` (whose stdio the caller has set) on `cpus` at `nice -20`.
    pub fn spawn_with(name: &str, mut cmd: Command, cpus: &[usize]) -> io::Result<Child> {
        let cpus = cpus.to_vec();
        // SAFETY: only async-signal-safe calls (setpriority, sched_setaffinity) between fork
        // and exec.
        unsafe {
            cmd.pre_exec(move || {
                libc::setpriority(libc::PRIO_PROCESS, 0, -20);
                if !cpus.is_empty() {
                    let mut set: libc::cpu_set_t = std::mem::zeroed();
                    for &c in &cpus {
                        libc::CPU_SET(c, &mut set);
                    }
                    libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
                }
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|e| io::Error::new(e.kind(), format!("cannot start {name}: {e}")))?;
        Ok(Child { child, name: name.to_string() })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Standard input, if it was piped.
    pub fn stdin(&mut self) -> Option<&mut std::process::ChildStdin> {
        self.child.stdin.as_mut()
    }

    /// Takes standard output, if it was piped.
    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.stdout.take()
    }

    /// Waits up to `d` for the process to exit by itself.
    pub fn wait_exit(&mut self, d: Duration) -> bool {
        let end = Instant::now() + d;
        while Instant::now() < end {
            if !self.alive() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        !self.alive()
    }

    /// Stops it: `SIGTERM`, up to 5 s, then `SIGKILL`; reaps it.
    pub fn stop(&mut self) {
        if !self.alive() {
            return;
        }
        // SAFETY: signalling our own child by its pid; it has not been reaped (alive above).
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        if !self.wait_exit(Duration::from_secs(5)) {
            eprintln!("rvs-bench: {} (pid {}) ignored SIGTERM; killing it", self.name, self.child.id());
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The first thread of process `pid` whose name (`comm`) starts with one of `prefixes`.
pub fn find_thread(pid: u32, prefixes: &[&str]) -> Option<u32> {
    let mut tids: Vec<u32> = fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    tids.sort_unstable();
    tids.into_iter().find(|tid| {
        fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm"))
            .map(|c| prefixes.iter().any(|p| c.trim_end().starts_with(p)))
            .unwrap_or(false)
    })
}

/// Nanoseconds thread `tid` of `pid` has run (the first field of its `schedstat`).
pub fn thread_run_ns(pid: u32, tid: u32) -> io::Result<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/task/{tid}/schedstat"))?;
    s.split_whitespace()
        .next()
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("unreadable schedstat: {s:?}")))
}

/// The TSC frequency in Hz (what "cycles" means in the reports): from the kernel's
/// `tsc: Detected ... MHz` message, else from `/proc/cpuinfo` (`cpu MHz` of CPU 0).
pub fn tsc_hz() -> f64 {
    let from_dmesg = Command::new("dmesg").output().ok().and_then(|o| {
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        text.lines()
            .rev()
            .find_map(|l| l.split("tsc: Detected ").nth(1)?.split(" MHz").next()?.trim().parse::<f64>().ok())
    });
    let mhz = from_dmesg.or_else(|| {
        fs::read_to_string("/proc/cpuinfo")
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("cpu MHz")?.split(':').nth(1)?.trim().parse::<f64>().ok())
    });
    mhz.unwrap_or(2000.0) * 1e6
}

/// The 1-minute load average.
pub fn loadavg() -> f64 {
    fs::read_to_string("/proc/loadavg").ok().and_then(|s| s.split_whitespace().next()?.parse().ok()).unwrap_or(f64::NAN)
}

const NR_HUGEPAGES: &str = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages";
const HUGE_MOUNT: &str = "/dev/hugepages";

/// 2 MB hugepages reserved for the run and a hugetlbfs mount, both undone when dropped (only
/// what this guard changed, and the reservation only if nobody changed it meanwhile).
pub struct Hugepages {
    old_nr: Option<u64>,
    set_nr: u64,
    mounted: bool,
}

impl Hugepages {
    /// Makes sure at least `pages` 2 MB pages are reserved and hugetlbfs is mounted.
    pub fn reserve(pages: u64) -> io::Result<Hugepages> {
        let read_nr = || -> io::Result<u64> {
            fs::read_to_string(NR_HUGEPAGES)?.trim().parse().map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{e}")))
        };
        let now = read_nr()?;
        let mut g = Hugepages { old_nr: None, set_nr: now, mounted: false };
        if now < pages {
            fs::write(NR_HUGEPAGES, pages.to_string())?;
            g.old_nr = Some(now);
            g.set_nr = read_nr()?;
            if g.set_nr < pages {
                return Err(io::Error::other(format!(
                    "asked the kernel for {pages} hugepages of 2 MB, got {} (memory too fragmented?)",
                    g.set_nr
                )));
            }
        }
        let mounts = fs::read_to_string("/proc/mounts")?;
        if !mounts.lines().any(|l| l.split_whitespace().nth(2) == Some("hugetlbfs")) {
            fs::create_dir_all(HUGE_MOUNT)?;
            let st = Command::new("mount").args(["-t", "hugetlbfs", "nodev", HUGE_MOUNT]).status()?;
            if !st.success() {
                return Err(io::Error::other("mount -t hugetlbfs failed"));
            }
            g.mounted = true;
        }
        Ok(g)
    }

    /// Pages reserved now.
    pub fn pages(&self) -> u64 {
        self.set_nr
    }
}

impl Drop for Hugepages {
    fn drop(&mut self) {
        if self.mounted {
            let _ = Command::new("umount").arg(HUGE_MOUNT).status();
        }
        if let Some(old) = self.old_nr {
            let current = fs::read_to_string(NR_HUGEPAGES).ok().and_then(|s| s.trim().parse::<u64>().ok());
            if current == Some(self.set_nr) {
                let _ = fs::write(NR_HUGEPAGES, old.to_string());
            } else {
                eprintln!("rvs-bench: hugepages changed by someone else meanwhile; left at {current:?}");
            }
        }
    }
}

/// A directory removed (with its contents) when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Creates `path` afresh (removing what was there).
    pub fn create(path: PathBuf) -> io::Result<TempDir> {
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path)?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A network namespace, deleted when dropped.
pub struct Netns(pub String);

impl Netns {
    /// Creates namespace `name`.
    pub fn create(name: &str) -> io::Result<Netns> {
        let st = Command::new("ip").args(["netns", "add", name]).status()?;
        if !st.success() {
            return Err(io::Error::other(format!("ip netns add {name} failed")));
        }
        let ns = Netns(name.to_string());
        let _ = Command::new("ip").args(["-n", name, "link", "set", "lo", "up"]).status();
        Ok(ns)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Runs a short command to completion; its standard output on success, else an error with
/// its standard error.
pub fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program).args(args).output().map_err(|e| format!("cannot run {program}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{program} {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Whether `program` is an executable file on `PATH` (or an existing path).
pub fn have(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false)
}

/// Removes the hugepage files DPDK processes with `--file-prefix PREFIX` left in
/// `/dev/hugepages` (a process killed hard leaves them behind).
pub fn remove_hugepage_files(prefix: &str) {
    if let Ok(dir) = fs::read_dir(HUGE_MOUNT) {
        for e in dir.flatten() {
            if e.file_name().to_str().is_some_and(|n| n.starts_with(prefix)) {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

/// The CPUs thread `tid` of `pid` may run on (`Cpus_allowed_list` of its status, e.g. `1` or
/// `0-1`), as written there.
pub fn thread_cpus(pid: u32, tid: u32) -> io::Result<String> {
    let s = fs::read_to_string(format!("/proc/{pid}/task/{tid}/status"))?;
    s.lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|v| v.trim().to_string())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no Cpus_allowed_list"))
}
