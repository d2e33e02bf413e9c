//! `rvs-bench`: rvs, OVS-DPDK and `dpdk-testpmd` io forwarding side by side, end to end.
//!
//! # What is compared
//! Every system gets the same two DPDK vdevs and the same traffic: port 1 is
//! `net_pcap0,rx_pcap=FILE,infinite_rx=1` (the PMD loads the pcap into mbufs at start and
//! replays it forever: each RX allocates an mbuf and copies the 60-byte frame into it), port 2
//! is `net_null0,no-rx=1` (TX frees the mbufs). The frames are 64-byte UDP (60 without FCS),
//! generated in Rust ([`crate::anchor`], [`crate::pcap`]) and byte-identical to anchor-bench's.
//! One poll-mode worker per system on the last CPU; everything else (daemons' main threads,
//! ovsdb-server, testpmd's main lcore, this harness) on CPU 0; all at `nice -20`.
//!
//! | scenario | frames | rules (rvs and OVS) |
//! |---|---|---|
//! | `1flow` | 1 five-tuple | `in_port=1,actions=output:2` |
//! | `10k-flows` | 10,000 five-tuples | the same |
//! | `1k-rules-100k-flows` | 100,000 five-tuples | 1,000 rules on `nw_dst/24` (+ `tp_dst`) |
//! | `new-flows` | 8,000 source addresses | exact `nw_src` drop rule + catch-all output; flows deleted every 20 ms in the second half |
//! | `vxlan-encap` | 1 five-tuple | output to a VXLAN port (OVS only: rvs has no tunnels yet) |
//!
//! testpmd forwards the same pcap with no rules: the limit of DPDK I/O on that core.
//!
//! # Runs
//! Each (scenario, system) pair runs `runs` times; each run starts the system afresh, waits
//! [`WARMUP`], measures for `duration` ([`measure`]) and stops it. A system that cannot run
//! here (not installed, not built with DPDK, no tunnels) is reported as not available, with
//! the reason, and never as a figure.

pub mod measure;
pub mod ovs;
pub mod report;
pub mod rvs;
pub mod svg;
pub mod sys;
pub mod testpmd;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::anchor;
use crate::scenario::Scenario;
use measure::{RunError, Running, Sample};
use sys::Cores;

/// Warm-up before each window (caches filled, flows set up, counters moving).
pub const WARMUP: Duration = Duration::from_secs(3);
/// Hugepages (2 MB) each system may use: 1 GB, as anchor-bench gives testpmd and OVS.
pub const HUGEPAGES: u64 = 1024;

/// A scenario of `rvs-bench`: the four PMD-pipeline scenarios of [`Scenario`] plus VXLAN encap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchScenario {
    /// One of the scenarios `rvs-pmd-bench` also measures.
    Anchor(Scenario),
    /// One flow, sent out through a VXLAN tunnel.
    VxlanEncap,
}

impl BenchScenario {
    /// Every scenario, in report order.
    pub const ALL: [BenchScenario; 5] = [
        BenchScenario::Anchor(Scenario::OneFlow),
        BenchScenario::Anchor(Scenario::TenKFlows),
        BenchScenario::Anchor(Scenario::Rules1k),
        BenchScenario::Anchor(Scenario::NewFlows),
        BenchScenario::VxlanEncap,
    ];

    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            BenchScenario::Anchor(s) => s.name(),
            BenchScenario::VxlanEncap => "vxlan-encap",
        }
    }

    /// The scenario called `name`.
    pub fn from_name(name: &str) -> Option<BenchScenario> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Distinct five-tuples in the traffic (the x axis of the plot).
    pub fn flows(self) -> usize {
        match self {
            BenchScenario::Anchor(Scenario::NewFlows) => anchor::upcall8k().len(),
            BenchScenario::Anchor(s) => s.frames().len(),
            BenchScenario::VxlanEncap => 1,
        }
    }

    /// The frames the source port replays.
    pub fn frames(self) -> Vec<Vec<u8>> {
        match self {
            BenchScenario::Anchor(s) => s.frames(),
            BenchScenario::VxlanEncap => anchor::flow1(),
        }
    }

    /// The OpenFlow rules (for `vxlan-encap` they depend on the system and are set by it).
    pub fn rules(self) -> Vec<String> {
        match self {
            BenchScenario::Anchor(s) => s.rules(),
            BenchScenario::VxlanEncap => Vec::new(),
        }
    }

    /// Whether the datapath flows are deleted in the second half of the window.
    pub fn churn(self) -> bool {
        self == BenchScenario::Anchor(Scenario::NewFlows)
    }
}

/// A system under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum System {
    /// rvs-vswitchd with DPDK ports.
    Rvs,
    /// OVS-DPDK 3.1.
    Ovs,
    /// dpdk-testpmd io forwarding.
    Testpmd,
}

impl System {
    /// In report order.
    pub const ALL: [System; 3] = [System::Rvs, System::Ovs, System::Testpmd];

    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            System::Rvs => "rvs",
            System::Ovs => "ovs",
            System::Testpmd => "testpmd",
        }
    }

    /// The system called `name`.
    pub fn from_name(name: &str) -> Option<System> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// `--vdev` arguments of the source port `net_pcapN`.
pub fn source_devargs(n: u32, pcap: &Path) -> String {
    format!("net_pcap{n},rx_pcap={},infinite_rx=1", pcap.display())
}

/// `--vdev` arguments of the sink port `net_nullN`.
pub fn sink_devargs(n: u32) -> String {
    format!("net_null{n},no-rx=1")
}

/// What every run needs.
pub struct Ctx {
    /// CPU layout.
    pub cores: Cores,
    /// Work directory (pcaps, rule files, per-run directories, logs).
    pub work: PathBuf,
    /// TSC frequency.
    pub tsc_hz: f64,
}

impl Ctx {
    /// Path of a log file kept after the run.
    pub fn log_path(&self, name: &str) -> PathBuf {
        self.work.join("logs").join(name)
    }

    /// The pcap of `scenario`, generated on first use.
    pub fn pcap(&self, scenario: BenchScenario) -> std::io::Result<PathBuf> {
        let path = self.work.join(format!("{}.pcap", scenario.name()));
        let frames = scenario.frames();
        let fresh = std::fs::read(&path).ok().and_then(|b| crate::pcap::read(&b).ok()).is_some_and(|f| f == frames);
        if !fresh {
            crate::pcap::write_file(&path, &frames)?;
        }
        Ok(path)
    }

    /// The rules file of `scenario` (`ovs-ofctl add-flows` syntax).
    pub fn rules(&self, scenario: BenchScenario) -> std::io::Result<PathBuf> {
        let path = self.work.join(format!("{}.rules", scenario.name()));
        let text: String = scenario.rules().iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, text)?;
        Ok(path)
    }
}

/// Harness options (the command line).
#[derive(Clone, Debug)]
pub struct Options {
    /// Scenarios, in order.
    pub scenarios: Vec<BenchScenario>,
    /// Systems, in order.
    pub systems: Vec<System>,
    /// Runs per pair.
    pub runs: usize,
    /// Measured window per run.
    pub duration: Duration,
}

/// The outcome of one (scenario, system) pair.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Runs that produced a sample (and the errors of those that failed).
    Measured {
        /// One per successful run.
        samples: Vec<Sample>,
        /// One per failed run.
        errors: Vec<String>,
    },
    /// The system cannot run this scenario here, and why.
    Unavailable(String),
}

/// Results of a whole `rvs-bench` run.
pub struct Results {
    /// Per pair, in run order.
    pub rows: Vec<(BenchScenario, System, Outcome)>,
    /// TSC frequency used for cycles.
    pub tsc_hz: f64,
    /// Load average before and after.
    pub load: (f64, f64),
}

impl Results {
    /// The outcome for a pair.
    pub fn get(&self, sc: BenchScenario, sys: System) -> Option<&Outcome> {
        self.rows.iter().find(|(a, b, _)| *a == sc && *b == sys).map(|(_, _, o)| o)
    }
}

/// Progress on standard error: one line per run; on a terminal, a live percentage too.
struct Progress {
    total: usize,
    done: usize,
    started: Instant,
    tty: bool,
}

impl Progress {
    fn line(&self, what: &str) -> String {
        let elapsed = self.started.elapsed().as_secs();
        let eta = if self.done > 0 { elapsed * (self.total - self.done) as u64 / self.done as u64 } else { 0 };
        format!("[{:>2}/{}] {what} (elapsed {}:{:02}, left ~{}:{:02})", self.done + 1, self.total, elapsed / 60, elapsed % 60, eta / 60, eta % 60)
    }
}

/// Runs every pair of `opts` and returns the results. `Err` only on Ctrl-C.
pub fn run_all(ctx: &Ctx, opts: &Options) -> Result<Results, sys::Interrupted> {
    let mut rows = Vec::new();
    let load0 = sys::loadavg();
    let mut p = Progress {
        total: opts.scenarios.len() * opts.systems.len() * opts.runs,
        done: 0,
        started: Instant::now(),
        tty: std::io::stderr().is_terminal(),
    };
    for &sc in &opts.scenarios {
        let (pcap, rules) = match (ctx.pcap(sc), ctx.rules(sc)) {
            (Ok(p), Ok(r)) => (p, r),
            (Err(e), _) | (_, Err(e)) => {
                for &system in &opts.systems {
                    rows.push((sc, system, Outcome::Unavailable(format!("cannot write the traffic files: {e}"))));
                }
                continue;
            }
        };
        for &system in &opts.systems {
            let mut samples = Vec::new();
            let mut errors = Vec::new();
            let mut unavailable = None;
            for run in 1..=opts.runs {
                if unavailable.is_some() {
                    p.done += 1;
                    continue;
                }
                let what = format!("{} {} run {run}/{}", sc.name(), system.name(), opts.runs);
                eprint!("{}", p.line(&format!("{what}: starting")));
                if !p.tty {
                    eprintln!();
                }
                let r = run_once(ctx, opts, sc, system, &pcap, &rules, run, &mut |f| {
                    if p.tty {
                        eprint!("\r\x1b[K{}", p.line(&format!("{what}: measuring {:>3.0} %", f * 100.0)));
                        let _ = std::io::stderr().flush();
                    }
                });
                if p.tty {
                    eprint!("\r\x1b[K");
                }
                match r {
                    Ok(s) => {
                        eprintln!(
                            "{}",
                            p.line(&format!(
                                "{what}: {:.2} Mpps, oncpu {:.2}, {:.0} cycles/pkt{}",
                                s.mpps,
                                s.oncpu,
                                s.cycles_per_pkt,
                                s.setup.as_ref().map(|u| format!(", {:.0} cycles/setup", u.cycles_per_setup)).unwrap_or_default()
                            ))
                        );
                        samples.push(s);
                    }
                    Err(RunError::Unavailable(why)) => {
                        eprintln!("{}", p.line(&format!("{what}: NOT AVAILABLE: {why}")));
                        unavailable = Some(why);
                    }
                    Err(RunError::Failed(why)) => {
                        eprintln!("{}", p.line(&format!("{what}: FAILED: {why}")));
                        errors.push(why);
                    }
                    Err(RunError::Interrupted) => return Err(sys::Interrupted),
                }
                p.done += 1;
            }
            let outcome = match unavailable {
                Some(why) if samples.is_empty() => Outcome::Unavailable(why),
                _ => Outcome::Measured { samples, errors },
            };
            rows.push((sc, system, outcome));
        }
    }
    Ok(Results { rows, tsc_hz: ctx.tsc_hz, load: (load0, sys::loadavg()) })
}

#[allow(clippy::too_many_arguments)]
fn run_once(
    ctx: &Ctx,
    opts: &Options,
    sc: BenchScenario,
    system: System,
    pcap: &Path,
    rules: &Path,
    run: usize,
    tick: &mut dyn FnMut(f64),
) -> Result<Sample, RunError> {
    let mut running: Box<dyn Running> = match system {
        System::Testpmd if sc == BenchScenario::VxlanEncap => {
            return Err(RunError::Unavailable("io forwarding does not encapsulate; see 1flow for the same traffic".into()))
        }
        System::Testpmd => Box::new(testpmd::Testpmd::start(ctx, pcap, run)?),
        System::Ovs => Box::new(ovs::Ovs::start(ctx, sc, pcap, rules, run)?),
        System::Rvs => Box::new(rvs::Rvs::start(ctx, sc, pcap, rules, run)?),
    };
    // One poll-mode core each: the worker must be pinned to the worker core alone.
    // (A thread pins itself when it starts: give it a moment.)
    let (pid, tid) = running.worker();
    let want = ctx.cores.worker.to_string();
    let mut cpus = String::new();
    for _ in 0..50 {
        cpus = sys::thread_cpus(pid, tid).map_err(|e| format!("worker thread {tid}: {e}"))?;
        if cpus == want {
            break;
        }
        sys::sleep(Duration::from_millis(100))?;
    }
    if cpus != want {
        return Err(RunError::Failed(format!("the worker thread runs on CPUs {cpus}, not on core {} alone", ctx.cores.worker)));
    }
    measure::measure(running.as_mut(), sc.churn(), WARMUP, opts.duration, ctx.tsc_hz, tick)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let names: Vec<&str> = BenchScenario::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names, ["1flow", "10k-flows", "1k-rules-100k-flows", "new-flows", "vxlan-encap"]);
        for s in BenchScenario::ALL {
            assert_eq!(BenchScenario::from_name(s.name()), Some(s));
        }
        for s in System::ALL {
            assert_eq!(System::from_name(s.name()), Some(s));
        }
        assert_eq!(BenchScenario::from_name("2flows"), None);
    }

    #[test]
    fn flows_per_scenario() {
        let f: Vec<usize> = BenchScenario::ALL.iter().map(|s| s.flows()).collect();
        assert_eq!(f, [1, 10_000, 100_000, 8000, 1]);
    }

    #[test]
    fn pcap_is_written_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("rvs-bench-test-{}", std::process::id()));
        let _g = sys::TempDir::create(dir.clone()).unwrap();
        let ctx = Ctx { cores: Cores { worker: 1, house: 0 }, work: dir.clone(), tsc_hz: 1e9 };
        let sc = BenchScenario::Anchor(Scenario::OneFlow);
        let p = ctx.pcap(sc).unwrap();
        assert_eq!(crate::pcap::read(&std::fs::read(&p).unwrap()).unwrap(), anchor::flow1());
        let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
        assert_eq!(ctx.pcap(sc).unwrap(), p);
        assert_eq!(std::fs::metadata(&p).unwrap().modified().unwrap(), mtime);
        let rules = std::fs::read_to_string(ctx.rules(sc).unwrap()).unwrap();
        assert_eq!(rules, "in_port=1,actions=output:2\n");
    }
}
