//! rvs itself: `rvs-vswitchd` built with the cargo feature `dpdk`, set up exactly as OVS-DPDK.
//!
//! Per run, in a fresh directory (`RVS_RUNDIR`, `RVS_DBDIR`, `RVS_LOGDIR`) and a network
//! namespace of its own (the bridge's internal TAP port stays off the host):
//!
//! ```text
//! ip netns exec rvsbench-rvs-PID rvs-vswitchd --pidfile --log-file   (housekeeping core)
//! rvs-vsctl set Open_vSwitch . other_config:dpdk-init=true other_config:dpdk-socket-mem=1024
//!     other_config:dpdk-extra="--no-pci --file-prefix=rvsbench-rvs-PID"
//!     other_config:pmd-cpu-mask=<worker> other_config:pmd-sleep-max=0
//! rvs-vsctl add-br br0 -- set bridge br0 datapath_type=netdev
//!     add-port br0 A -- set Interface A type=dpdk ofport_request=1 options:dpdk-devargs=net_pcap0,...
//!     add-port br0 B -- set Interface B type=dpdk ofport_request=2 options:dpdk-devargs=net_null0,no-rx=1
//! rvs-ofctl add-flows br0 RULES
//! ```
//!
//! The binaries are taken from the directory of `rvs-bench` itself (one `cargo build` builds
//! them all), or from `$RVS_BIN_DIR`. The classifier of rvs has no prefix tracking, so
//! `new-flows` needs no extra setting. rvs has no tunnels yet: `vxlan-encap` is reported as not
//! available for rvs, and nothing is measured in its place.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::measure::{RunError, Running};
use super::ovs::{parse_dump_ports_tx, parse_upcalls, wait_for};
use super::sys::{self, Child, Netns, TempDir};
use super::{sink_devargs, source_devargs, BenchScenario, Ctx};

const BINARIES: [&str; 4] = ["rvs-vswitchd", "rvs-vsctl", "rvs-ofctl", "rvs-appctl"];

/// The directory holding the rvs binaries: `$RVS_BIN_DIR`, else the directory of this program.
pub fn bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("RVS_BIN_DIR") {
        return PathBuf::from(d);
    }
    std::env::current_exe().ok().and_then(|p| p.parent().map(Path::to_path_buf)).unwrap_or_else(|| PathBuf::from("."))
}

/// Whether the rvs binaries are there; the reason when not.
pub fn available() -> Result<(), String> {
    let dir = bin_dir();
    for b in BINARIES {
        if !dir.join(b).is_file() {
            return Err(format!(
                "{} is missing: build rvs with DPDK first (cargo build --release -p rvs-dataplane -p rvs-ctl --features rvs-dataplane/dpdk), or set RVS_BIN_DIR",
                dir.join(b).display()
            ));
        }
    }
    Ok(())
}

/// A running rvs-vswitchd, stopped when dropped.
pub struct Rvs {
    daemon: Option<Child>,
    dir: TempDir,
    netns: Netns,
    prefix: String,
    worker: (u32, u32),
    keep_log_as: PathBuf,
}

impl Rvs {
    fn run(&self, tool: &str, args: &[&str]) -> Result<String, String> {
        let d = &self.dir.0;
        let out = Command::new(bin_dir().join(tool))
            .env("RVS_RUNDIR", d)
            .env("RVS_DBDIR", d)
            .env("RVS_LOGDIR", d)
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {tool}: {e}"))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() && (tool != "rvs-vsctl" || stderr.trim().is_empty()) {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            // rvs-vsctl reports configuration it could not apply as warnings (exit status 0):
            // for the harness every one is an error.
            Err(format!("{tool} {} failed: {}", args.join(" "), stderr.trim()))
        }
    }

    /// Starts rvs set up for `scenario`, replaying `pcap`.
    pub fn start(ctx: &Ctx, scenario: BenchScenario, pcap: &Path, rules: &Path, run: usize) -> Result<Rvs, RunError> {
        if scenario == BenchScenario::VxlanEncap {
            return Err(RunError::Unavailable("rvs has no tunnels yet (no type=vxlan ports): not measured".into()));
        }
        available().map_err(RunError::Unavailable)?;
        let pid = std::process::id();
        let dir = TempDir::create(ctx.work.join("rvs")).map_err(|e| format!("rvs directory: {e}"))?;
        let netns = Netns::create(&format!("rvsbench-rvs-{pid}")).map_err(|e| e.to_string())?;
        let mut rvs = Rvs {
            daemon: None,
            dir,
            netns,
            prefix: format!("rvsbench-rvs-{pid}"),
            worker: (0, 0),
            keep_log_as: ctx.log_path(&format!("rvs-{}-run{run}.log", scenario.name())),
        };
        let d = rvs.dir.0.clone();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &rvs.netns.0])
            .arg(bin_dir().join("rvs-vswitchd"))
            .arg(format!("--pidfile={}", d.join("rvs-vswitchd.pid").display()))
            .arg(format!("--log-file={}", d.join("rvs-vswitchd.log").display()))
            .env("RVS_RUNDIR", &d)
            .env("RVS_DBDIR", &d)
            .env("RVS_LOGDIR", &d);
        rvs.daemon = Some(Child::spawn("rvs-vswitchd", cmd, &[ctx.cores.house], &ctx.log_path(&format!("rvs-vswitchd-run{run}.out")))?);
        let log = d.join("rvs-vswitchd.log").display().to_string();
        wait_for(Duration::from_secs(30), "rvs-vswitchd", || rvs.run("rvs-appctl", &["version"]).is_ok())
            .map_err(|_| RunError::Failed(format!("rvs-vswitchd did not start; see {log}")))?;
        let extra = format!("other_config:dpdk-extra=--no-pci --file-prefix={}", rvs.prefix);
        let mask = format!("other_config:pmd-cpu-mask={}", ctx.cores.worker_mask());
        rvs.run(
            "rvs-vsctl",
            &[
                "set",
                "Open_vSwitch",
                ".",
                "other_config:dpdk-init=true",
                "other_config:dpdk-socket-mem=1024",
                &extra,
                &mask,
                "other_config:pmd-sleep-max=0",
            ],
        )?;
        if let Ok(extra) = std::env::var("RVS_BENCH_RVS_CONFIG") {
            let mut args = vec!["set", "Open_vSwitch", "."];
            args.extend(extra.split_whitespace());
            rvs.run("rvs-vsctl", &args)?;
        }
        rvs.run("rvs-vsctl", &["add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=netdev"])?;
        let src = format!("options:dpdk-devargs={}", source_devargs(0, pcap));
        let dst = format!("options:dpdk-devargs={}", sink_devargs(0));
        for (name, ofport, devargs) in [("A", "ofport_request=1", &src), ("B", "ofport_request=2", &dst)] {
            let r = rvs.run("rvs-vsctl", &["add-port", "br0", name, "--", "set", "Interface", name, "type=dpdk", ofport, devargs]);
            let err = rvs.run("rvs-vsctl", &["get", "Interface", name, "error"]).unwrap_or_default();
            let problem = match r {
                Err(e) => Some(e),
                Ok(_) if !err.trim().is_empty() && err.trim() != "[]" && err.trim() != "\"\"" => Some(err.trim().to_string()),
                Ok(_) => None,
            };
            if let Some(p) = problem {
                return Err(if p.contains("dpdk") && (p.contains("feature") || p.contains("unsupported") || p.contains("unknown")) {
                    RunError::Unavailable(format!("rvs-vswitchd has no DPDK ports (build it with --features dpdk): {p}"))
                } else {
                    RunError::Failed(format!("port {name}: {p}; see {log}"))
                });
            }
        }
        rvs.run("rvs-ofctl", &["del-flows", "br0"])?;
        rvs.run("rvs-ofctl", &["add-flows", "br0", &rules.display().to_string()])?;
        let dpid = rvs.daemon.as_ref().expect("started").pid();
        let mut tid = None;
        wait_for(Duration::from_secs(10), "PMD thread", || {
            tid = sys::find_thread(dpid, &["pmd"]);
            tid.is_some()
        })?;
        rvs.worker = (dpid, tid.expect("found"));
        Ok(rvs)
    }
}

impl Running for Rvs {
    fn worker(&self) -> (u32, u32) {
        self.worker
    }

    fn tx_packets(&mut self) -> Result<u64, String> {
        let out = self.run("rvs-ofctl", &["dump-ports", "br0", "2"])?;
        parse_dump_ports_tx(&out).ok_or_else(|| format!("no tx pkts in rvs-ofctl dump-ports: {out:?}"))
    }

    fn setups(&mut self) -> Result<Option<u64>, String> {
        let out = self.run("rvs-appctl", &["dpif-netdev/pmd-stats-show"])?;
        parse_upcalls(&out).map(Some).ok_or_else(|| format!("no upcall counter in pmd-stats-show: {out:?}"))
    }

    fn purge_flows(&mut self) -> Result<(), String> {
        self.run("rvs-appctl", &["revalidator/purge"]).map(|_| ())
    }
}

impl Drop for Rvs {
    fn drop(&mut self) {
        // For whoever profiles the daemon: its own view of where the PMD's cycles went.
        if std::env::var_os("RVS_BENCH_PMD_PERF").is_some() {
            if let Ok(out) = self.run("rvs-appctl", &["dpif-netdev/pmd-perf-show"]) {
                eprintln!("{out}");
            }
        }
        if let Some(mut d) = self.daemon.take() {
            d.stop();
        }
        let _ = std::fs::copy(self.dir.0.join("rvs-vswitchd.log"), &self.keep_log_as);
        sys::remove_hugepage_files(&self.prefix);
    }
}
