//! OVS-DPDK (Debian's `openvswitch-switch-dpdk`, OVS 3.1): the peer, started and stopped by the
//! harness on private paths.
//!
//! Per run, in a fresh directory under the work directory:
//!
//! ```text
//! ovsdb-tool create conf.db vswitch.ovsschema ; ovsdb-server (housekeeping core)
//! ovs-vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true dpdk-socket-mem=1024
//!     dpdk-socket-limit=1024 dpdk-extra="--no-pci --file-prefix=rvsbench-ovs-PID"
//!     pmd-cpu-mask=<worker> pmd-perf-metrics=false
//! ip netns exec rvsbench-PID ovs-vswitchd-dpdk (housekeeping core; its PMD pins itself)
//! ovs-vsctl add-br br0 -- set bridge br0 datapath_type=netdev
//!     add-port br0 A -- set Interface A type=dpdk ofport_request=1 options:dpdk-devargs=net_pcap0,...
//!     add-port br0 B -- set Interface B type=dpdk ofport_request=2 options:dpdk-devargs=net_null0,no-rx=1
//! ovs-ofctl add-flows br0 RULES
//! ```
//!
//! `ovs-vswitchd` runs in a network namespace of its own, so that the kernel interfaces of its
//! bridges' LOCAL ports (and the underlay address of `vxlan-encap`) never appear on the host.
//! Every tool is pointed at the private directory (`OVS_RUNDIR`, `OVS_DBDIR`, ...), so a system
//! OVS, if one runs, is never touched. The sink's TX counter is read live with `ovs-ofctl
//! dump-ports` (the database's statistics lag by up to 5 s), flow setups from
//! `dpif-netdev/pmd-stats-show` ("miss with success upcall"), and `revalidator/purge` deletes
//! the datapath flows.
//!
//! `vxlan-encap` (as anchor-bench's `ovs-d-vxlan`): `br0` holds the source and a VXLAN port
//! (`remote_ip=172.31.1.2, local_ip=172.31.1.1, key=42`), `br-phy` holds the sink and a LOCAL
//! port with 172.31.1.1/24; a route and a static neighbour entry make the datapath flow
//! `tnl_push(vxlan vni 42),B`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::measure::{RunError, Running};
use super::sys::{self, Child, Netns, TempDir};
use super::{sink_devargs, source_devargs, BenchScenario, Ctx};

/// The DPDK build of ovs-vswitchd installed by `openvswitch-switch-dpdk`.
pub const OVS_DPDK_BIN: &str = "/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk";
const SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

/// Whether OVS-DPDK can run here; the reason when not.
pub fn available() -> Result<(), String> {
    if !Path::new(OVS_DPDK_BIN).is_file() {
        return Err(format!(
            "OVS-DPDK is not installed ({OVS_DPDK_BIN} missing): apt-get install openvswitch-switch-dpdk"
        ));
    }
    for tool in ["ovsdb-tool", "ovsdb-server", "ovs-vsctl", "ovs-ofctl", "ovs-appctl"] {
        if !sys::have(tool) {
            return Err(format!("{tool} is not installed (Debian package openvswitch-switch / openvswitch-common)"));
        }
    }
    if !Path::new(SCHEMA).is_file() {
        return Err(format!("{SCHEMA} is missing (Debian package openvswitch-common)"));
    }
    Ok(())
}

/// A running OVS-DPDK (ovsdb-server + ovs-vswitchd), stopped when dropped.
pub struct Ovs {
    // Field order is drop order: the daemons stop before their directory and namespace go.
    vswitchd: Option<Child>,
    ovsdb: Option<Child>,
    dir: TempDir,
    _netns: Netns,
    prefix: String,
    sink_bridge: &'static str,
    worker: (u32, u32),
    keep_log_as: Option<PathBuf>,
}

impl Ovs {
    fn tool(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        let d = &self.dir.0;
        c.env("OVS_RUNDIR", d).env("OVS_DBDIR", d).env("OVS_LOGDIR", d).env("OVS_SYSCONFDIR", d);
        c
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<String, String> {
        let mut c = self.tool(program);
        if program == "ovs-vsctl" {
            c.arg(format!("--db=unix:{}", self.dir.0.join("db.sock").display())).arg("--timeout=30");
        }
        if program == "ovs-appctl" {
            c.arg("--timeout=30").arg("-t").arg(self.dir.0.join("vswitchd.ctl"));
        }
        let out = c.args(args).output().map_err(|e| format!("cannot run {program}: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!("{program} {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
        }
    }

    fn vsctl(&self, args: &[&str]) -> Result<String, String> {
        self.run("ovs-vsctl", args)
    }

    fn appctl(&self, args: &[&str]) -> Result<String, String> {
        self.run("ovs-appctl", args)
    }

    /// Starts OVS-DPDK set up for `scenario`, replaying `pcap`.
    pub fn start(ctx: &Ctx, scenario: BenchScenario, pcap: &Path, rules: &Path, run: usize) -> Result<Ovs, RunError> {
        available().map_err(RunError::Unavailable)?;
        let pid = std::process::id();
        let dir = TempDir::create(ctx.work.join("ovs")).map_err(|e| format!("OVS directory: {e}"))?;
        let netns = Netns::create(&format!("rvsbench-{pid}")).map_err(|e| e.to_string())?;
        let mut ovs = Ovs {
            vswitchd: None,
            ovsdb: None,
            dir,
            _netns: netns,
            prefix: format!("rvsbench-ovs-{pid}"),
            sink_bridge: "br0",
            worker: (0, 0),
            keep_log_as: None,
        };
        let d = ovs.dir.0.clone();
        let p = |name: &str| -> String { d.join(name).display().to_string() };
        sys::run("ovsdb-tool", &["create", &p("conf.db"), SCHEMA])?;
        let mut db = ovs.tool("ovsdb-server");
        db.args([
            p("conf.db"),
            format!("--remote=punix:{}", p("db.sock")),
            format!("--pidfile={}", p("ovsdb-server.pid")),
            format!("--unixctl={}", p("ovsdb-server.ctl")),
            format!("--log-file={}", p("ovsdb-server.log")),
            "-vconsole:off".into(),
        ]);
        ovs.ovsdb = Some(Child::spawn("ovsdb-server", db, &[ctx.cores.house], &ctx.log_path(&format!("ovsdb-run{run}.out")))?);
        wait_for(Duration::from_secs(10), "ovsdb-server socket", || Path::new(&p("db.sock")).exists())?;
        ovs.vsctl(&["--no-wait", "init"])?;
        let extra = format!("other_config:dpdk-extra=--no-pci --file-prefix={}", ovs.prefix);
        let mask = format!("other_config:pmd-cpu-mask={}", ctx.cores.worker_mask());
        ovs.vsctl(&[
            "--no-wait",
            "set",
            "Open_vSwitch",
            ".",
            "other_config:dpdk-init=true",
            "other_config:dpdk-socket-mem=1024",
            "other_config:dpdk-socket-limit=1024",
            &extra,
            &mask,
            "other_config:pmd-perf-metrics=false",
        ])?;
        let mut vs = ovs.tool("ip");
        vs.args(["netns", "exec", &ovs._netns.0, OVS_DPDK_BIN]).args([
            format!("unix:{}", p("db.sock")),
            format!("--pidfile={}", p("ovs-vswitchd.pid")),
            format!("--unixctl={}", p("vswitchd.ctl")),
            format!("--log-file={}", p("ovs-vswitchd.log")),
            "-vconsole:off".into(),
        ]);
        ovs.vswitchd = Some(Child::spawn("ovs-vswitchd-dpdk", vs, &[ctx.cores.house], &ctx.log_path(&format!("ovs-vswitchd-run{run}.out")))?);
        let log = p("ovs-vswitchd.log");
        let failed = |what: &str| RunError::Failed(format!("{what}; see {log}"));
        wait_for(Duration::from_secs(60), "ovs-vswitchd", || ovs.appctl(&["version"]).is_ok()).map_err(|_| failed("ovs-vswitchd did not start"))?;
        wait_for(Duration::from_secs(60), "DPDK", || {
            ovs.vsctl(&["get", "Open_vSwitch", ".", "dpdk_initialized"]).map(|s| s.trim() == "true").unwrap_or(false)
        })
        .map_err(|_| failed("OVS did not initialise DPDK"))?;
        ovs.configure(scenario, pcap, rules).map_err(|e| RunError::Failed(format!("{e}; see {log}")))?;
        let vpid = ovs.vswitchd.as_ref().expect("started").pid();
        let mut tid = None;
        wait_for(Duration::from_secs(10), "PMD thread", || {
            tid = sys::find_thread(vpid, &["pmd"]);
            tid.is_some()
        })?;
        ovs.worker = (vpid, tid.expect("found"));
        // Copy the logs out of the directory that goes away with the run.
        ovs.keep_log_as = Some(ctx.log_path(&format!("ovs-{}-run{run}.log", scenario.name())));
        Ok(ovs)
    }

    fn configure(&mut self, scenario: BenchScenario, pcap: &Path, rules: &Path) -> Result<(), String> {
        self.vsctl(&["add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=netdev"])?;
        let src = format!("options:dpdk-devargs={}", source_devargs(0, pcap));
        let dst = format!("options:dpdk-devargs={}", sink_devargs(0));
        let mut bridge_b = "br0";
        if scenario == BenchScenario::VxlanEncap {
            self.vsctl(&["add-br", "br-phy", "--", "set", "bridge", "br-phy", "datapath_type=netdev"])?;
            bridge_b = "br-phy";
            self.sink_bridge = "br-phy";
        }
        self.vsctl(&["add-port", "br0", "A", "--", "set", "Interface", "A", "type=dpdk", "ofport_request=1", &src])?;
        self.vsctl(&["add-port", bridge_b, "B", "--", "set", "Interface", "B", "type=dpdk", "ofport_request=2", &dst])?;
        for port in ["A", "B"] {
            let err = self.vsctl(&["get", "Interface", port, "error"]).unwrap_or_default();
            if !err.trim().is_empty() && err.trim() != "[]" {
                return Err(format!("port {port}: {}", err.trim()));
            }
        }
        match scenario {
            BenchScenario::VxlanEncap => {
                self.vsctl(&[
                    "add-port",
                    "br0",
                    "vx0",
                    "--",
                    "set",
                    "Interface",
                    "vx0",
                    "type=vxlan",
                    "ofport_request=3",
                    "options:remote_ip=172.31.1.2",
                    "options:local_ip=172.31.1.1",
                    "options:key=42",
                ])?;
                let ns = self._netns.0.clone();
                sys::run("ip", &["-n", &ns, "addr", "replace", "172.31.1.1/24", "dev", "br-phy"])?;
                sys::run("ip", &["-n", &ns, "link", "set", "br-phy", "up"])?;
                self.appctl(&["ovs/route/add", "172.31.1.2/32", "br-phy"])?;
                self.appctl(&["tnl/arp/set", "br-phy", "172.31.1.2", "02:00:00:00:00:99"])?;
                self.ofctl(&["del-flows", "br0"])?;
                self.ofctl(&["add-flow", "br0", "in_port=1,actions=output:3"])?;
                self.ofctl(&["del-flows", "br-phy"])?;
                self.ofctl(&["add-flow", "br-phy", "actions=output:2"])?;
            }
            BenchScenario::Anchor(s) => {
                if s == crate::scenario::Scenario::NewFlows {
                    // No prefix tracking, so each source address gets its own megaflow (the rvs
                    // classifier has none either).
                    self.vsctl(&["--", "--id=@t", "create", "Flow_Table", "prefixes=none", "--", "set", "Bridge", "br0", "flow_tables:0=@t"])?;
                }
                self.ofctl(&["del-flows", "br0"])?;
                self.ofctl(&["add-flows", "br0", &rules.display().to_string()])?;
            }
        }
        Ok(())
    }

    fn ofctl(&self, args: &[&str]) -> Result<String, String> {
        self.run("ovs-ofctl", args)
    }
}

/// Polls `cond` every 50 ms until it holds or `timeout` passes.
pub fn wait_for(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) -> Result<(), RunError> {
    let end = Instant::now() + timeout;
    loop {
        if cond() {
            return Ok(());
        }
        if Instant::now() > end {
            return Err(RunError::Failed(format!("timed out waiting for {what}")));
        }
        sys::sleep(Duration::from_millis(50))?;
    }
}

/// `tx pkts=N` of `ovs-ofctl dump-ports` / `rvs-ofctl dump-ports` output (one port asked).
pub fn parse_dump_ports_tx(out: &str) -> Option<u64> {
    out.split("tx pkts=").nth(1)?.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// Sum of "miss with success upcall" over the PMDs of `pmd-stats-show` output.
pub fn parse_upcalls(out: &str) -> Option<u64> {
    let mut found = false;
    let mut sum = 0;
    for l in out.lines() {
        if let Some(v) = l.trim().strip_prefix("miss with success upcall:") {
            sum += v.trim().parse::<u64>().ok()?;
            found = true;
        }
    }
    found.then_some(sum)
}

impl Running for Ovs {
    fn worker(&self) -> (u32, u32) {
        self.worker
    }

    fn tx_packets(&mut self) -> Result<u64, String> {
        let out = self.ofctl(&["dump-ports", self.sink_bridge, "2"])?;
        parse_dump_ports_tx(&out).ok_or_else(|| format!("no tx pkts in ovs-ofctl dump-ports: {out:?}"))
    }

    fn setups(&mut self) -> Result<Option<u64>, String> {
        let out = self.appctl(&["dpif-netdev/pmd-stats-show"])?;
        parse_upcalls(&out).map(Some).ok_or_else(|| format!("no upcall counter in pmd-stats-show: {out:?}"))
    }

    fn purge_flows(&mut self) -> Result<(), String> {
        self.appctl(&["revalidator/purge"]).map(|_| ())
    }
}

impl Drop for Ovs {
    fn drop(&mut self) {
        if let Some(mut v) = self.vswitchd.take() {
            v.stop();
        }
        if let Some(mut d) = self.ovsdb.take() {
            d.stop();
        }
        if let Some(to) = self.keep_log_as.take() {
            let _ = std::fs::copy(self.dir.0.join("ovs-vswitchd.log"), to);
        }
        sys::remove_hugepage_files(&self.prefix);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ovs_counters() {
        let dump = "OFPST_PORT reply (xid=0x2): 1 ports\n  port  2: rx pkts=0, bytes=0, drop=0, errs=0, frame=0, over=0, crc=0\n           tx pkts=197533184, bytes=11851991040, drop=0, errs=0, coll=0\n";
        assert_eq!(parse_dump_ports_tx(dump), Some(197_533_184));
        let stats = "pmd thread numa_id 0 core_id 1:\n  packets received: 10\n  miss with success upcall: 8000\n  miss with failed upcall: 0\nmain thread:\n  miss with success upcall: 0\n";
        assert_eq!(parse_upcalls(stats), Some(8000));
        assert_eq!(parse_upcalls("nothing"), None);
    }
}
