//! Applying receive queue assignments to running PMDs, and automatic re-balancing.
//!
//! # What
//! [`RxqScheduler`] is the control side of scheduling, used by the switch (PMD threads) and by
//! the test kit (PMDs run step by step). It gathers what the PMDs measured, asks
//! [`crate::sched::schedule`] for an assignment, and moves the queues that change PMD: the
//! owner gives the queue back ([`PmdCommand::ReleaseRxq`], with the cycles of its interval in
//! progress) and the new owner adopts it ([`PmdCommand::AdoptRxq`]). The queue object moves;
//! nothing is closed or reopened, so no packet waiting in it is lost. Queues that no PMD may
//! poll (every PMD isolated) wait, parked, for the next assignment.
//!
//! # Settings (`Open_vSwitch . other_config`, as OVS)
//! `pmd-rxq-assign` (`cycles`, `roundrobin`, `group`), `pmd-rxq-isolate` (default true; false
//! only with `group`), `pmd-auto-lb` (default false), `pmd-auto-lb-load-threshold` (percent,
//! default 95), `pmd-auto-lb-improvement-threshold` (percent, default 25),
//! `pmd-auto-lb-rebal-interval` (minutes, default 1, at most 20000). Per interface,
//! `other_config:pmd-rxq-affinity`.
//!
//! # Auto load balance (OVS's `pmd-auto-lb`)
//! Every `pmd-auto-lb-rebal-interval`, if some non-isolated PMD was loaded at least
//! `pmd-auto-lb-load-threshold` percent in each of its last 12 measurement intervals, and the
//! assignment could change anything (not `roundrobin`; two non-isolated PMDs, one of them
//! polling several queues), a dry run compares the load variance of the current and the
//! proposed assignment; an improvement of at least `pmd-auto-lb-improvement-threshold`
//! percent applies the proposal.
//!
//! # Threads
//! Only the control thread (or the test's thread) calls in. `settle` must make every PMD
//! apply the commands sent so far (threads: [`PmdShared::sync`]; the test kit: run their
//! command queues).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rvs_pmd::Port;

use crate::config::StrMap;
use crate::switch::Switch;
use crate::vlog;
use crate::pmd_loop::{PmdCommand, PmdShared, RxqHandoff};
use crate::pmd_perf::RxqStats;
use crate::sched::{self, AssignAlgo, Assignment, SchedPmd, SchedRxq};

/// Default `pmd-auto-lb-load-threshold`.
pub const ALB_LOAD_THRESHOLD: u64 = 95;
/// Default `pmd-auto-lb-improvement-threshold`.
pub const ALB_IMPROVEMENT_THRESHOLD: u64 = 25;
/// Default `pmd-auto-lb-rebal-interval`, minutes.
pub const ALB_REBALANCE_INTERVAL_MIN: u64 = 1;
/// Largest `pmd-auto-lb-rebal-interval`, minutes.
pub const ALB_MAX_REBALANCE_INTERVAL_MIN: u64 = 20_000;

/// Scheduling settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchedSettings {
    /// `pmd-rxq-assign`.
    pub algo: AssignAlgo,
    /// `pmd-rxq-isolate`.
    pub isolate: bool,
    /// `pmd-auto-lb`.
    pub alb: bool,
    /// `pmd-auto-lb-load-threshold`, percent.
    pub alb_load_threshold: u64,
    /// `pmd-auto-lb-improvement-threshold`, percent.
    pub alb_improvement_threshold: u64,
    /// `pmd-auto-lb-rebal-interval`, in milliseconds.
    pub alb_interval_ms: u64,
}

impl Default for SchedSettings {
    fn default() -> Self {
        SchedSettings {
            algo: AssignAlgo::Cycles,
            isolate: true,
            alb: false,
            alb_load_threshold: ALB_LOAD_THRESHOLD,
            alb_improvement_threshold: ALB_IMPROVEMENT_THRESHOLD,
            alb_interval_ms: ALB_REBALANCE_INTERVAL_MIN * 60_000,
        }
    }
}

impl SchedSettings {
    /// Reads the settings from `Open_vSwitch . other_config`; returns them with warnings worded
    /// as OVS logs them.
    pub fn from_other_config(oc: &StrMap) -> (SchedSettings, Vec<String>) {
        let mut s = SchedSettings::default();
        let mut warnings = Vec::new();
        if let Some(v) = oc.get("pmd-rxq-assign") {
            match AssignAlgo::parse(v) {
                Some(a) => s.algo = a,
                None => warnings.push("Unsupported rx queue to PMD assignment mode in pmd-rxq-assign. Defaulting to 'cycles'.".into()),
            }
        }
        let flag = |k: &str, d: bool| oc.get(k).map_or(d, |v| v == "true");
        s.isolate = flag("pmd-rxq-isolate", true);
        if !s.isolate && s.algo != AssignAlgo::Group {
            warnings.push("pmd-rxq-isolate can only be set false when using pmd-rxq-assign=group".into());
            s.isolate = true;
        }
        s.alb = flag("pmd-auto-lb", false);
        let pct = |k: &str, d: u64| oc.get(k).and_then(|v| v.parse::<u64>().ok()).filter(|v| *v <= 100).unwrap_or(d);
        s.alb_load_threshold = pct("pmd-auto-lb-load-threshold", ALB_LOAD_THRESHOLD);
        s.alb_improvement_threshold = pct("pmd-auto-lb-improvement-threshold", ALB_IMPROVEMENT_THRESHOLD);
        let mins = oc
            .get("pmd-auto-lb-rebal-interval")
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|m| *m <= ALB_MAX_REBALANCE_INTERVAL_MIN)
            .unwrap_or(ALB_REBALANCE_INTERVAL_MIN);
        s.alb_interval_ms = mins.max(1) * 60_000;
        (s, warnings)
    }

    /// OVS's log line for an enabled auto load balance.
    pub fn alb_description(&self) -> String {
        format!(
            "PMD auto load balance is enabled, interval {} mins, pmd load threshold {}%, improvement threshold {}%.",
            self.alb_interval_ms / 60_000,
            self.alb_load_threshold,
            self.alb_improvement_threshold
        )
    }
}

/// What scheduling needs to know about a port.
#[derive(Clone, Debug, Default)]
pub struct PortSchedInfo {
    /// Name.
    pub name: String,
    /// NUMA node of its device, if known.
    pub numa: Option<u32>,
    /// `pmd-rxq-affinity`: core by queue id.
    pub affinity: BTreeMap<usize, usize>,
}

/// The NUMA node of a kernel network device, from sysfs.
pub fn netdev_numa(name: &str) -> Option<u32> {
    let s = std::fs::read_to_string(format!("/sys/class/net/{name}/device/numa_node")).ok()?;
    s.trim().parse::<i32>().ok().filter(|n| *n >= 0).map(|n| n as u32)
}

/// The core that identifies a PMD in assignments (its index when it is not pinned).
pub fn pmd_core(p: &PmdShared) -> usize {
    p.core.unwrap_or(p.id)
}

/// The PMDs, every queue, and the core polling each queue now.
type SchedInputs = (Vec<SchedPmd>, Vec<SchedRxq>, HashMap<(u32, usize), usize>);

/// The control side of scheduling. See the module documentation.
#[derive(Default)]
pub struct RxqScheduler {
    /// Current settings.
    pub settings: SchedSettings,
    parked: Vec<RxqHandoff>,
    alb_timer_ms: Option<u64>,
    /// Log lines of the last assignment or dry run, oldest first (the caller logs them).
    pub log: Vec<String>,
}

impl RxqScheduler {
    /// A scheduler with these settings.
    pub fn new(settings: SchedSettings) -> Self {
        RxqScheduler { settings, ..Default::default() }
    }

    /// Hands a new (or homeless) queue to the scheduler; the next assignment places it.
    pub fn park(&mut self, h: RxqHandoff) {
        self.parked.push(h);
    }

    /// Drops the parked queues of a removed port.
    pub fn forget_port(&mut self, dp_port: u32) {
        self.parked.retain(|h| h.dp_port != dp_port);
    }

    /// Drops every parked queue (the PMDs are being replaced and every port re-attached).
    pub fn forget_all(&mut self) {
        self.parked.clear();
    }

    /// Queues waiting for a PMD, as (dp_port, queue).
    pub fn parked(&self) -> Vec<(u32, usize)> {
        self.parked.iter().map(|h| (h.dp_port, h.queue)).collect()
    }

    /// Every queue (polled or parked) with its owner's core, as the scheduler sees it.
    fn inputs(&self, pmds: &[Arc<PmdShared>], ports: &HashMap<u32, PortSchedInfo>) -> SchedInputs {
        let spmds = pmds
            .iter()
            .map(|p| SchedPmd { core: pmd_core(p), numa: p.numa, interval_cycles: p.intervals.interval_cycles() })
            .collect();
        let mut rxqs = Vec::new();
        let mut owner = HashMap::new();
        let mut add = |dp_port: u32, queue: usize, stats: &Arc<RxqStats>| {
            let info = ports.get(&dp_port).cloned().unwrap_or_default();
            let name = if info.name.is_empty() { dp_port.to_string() } else { info.name };
            rxqs.push(SchedRxq {
                dp_port,
                queue,
                port_name: name,
                numa: info.numa,
                pinned: info.affinity.get(&queue).copied(),
                cycles: stats.history(),
            });
        };
        for p in pmds {
            for e in p.rxqs.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                add(e.dp_port, e.queue, &e.stats);
                owner.insert((e.dp_port, e.queue), pmd_core(p));
            }
        }
        for h in &self.parked {
            add(h.dp_port, h.queue, &h.stats);
        }
        (spmds, rxqs, owner)
    }

    /// The assignment as it is now.
    pub fn current(&self, pmds: &[Arc<PmdShared>], ports: &HashMap<u32, PortSchedInfo>) -> Assignment {
        let (spmds, rxqs, owner) = self.inputs(pmds, ports);
        sched::current(&spmds, &rxqs, |q| owner.get(&(q.dp_port, q.queue)).copied(), self.settings.isolate)
    }

    /// The assignment the settings and measurements ask for.
    pub fn plan(&self, pmds: &[Arc<PmdShared>], ports: &HashMap<u32, PortSchedInfo>) -> Assignment {
        let (spmds, rxqs, _) = self.inputs(pmds, ports);
        sched::schedule(&spmds, &rxqs, self.settings.algo, self.settings.isolate)
    }

    /// Moves queues so that `a` holds. Returns how many moved (parked queues placed count).
    pub fn apply(&mut self, pmds: &[Arc<PmdShared>], a: &Assignment, settle: &mut dyn FnMut()) -> usize {
        let by_core: HashMap<usize, &Arc<PmdShared>> = pmds.iter().map(|p| (pmd_core(p), p)).collect();
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut released = 0;
        for p in pmds {
            let core = pmd_core(p);
            let polled: Vec<(u32, usize)> =
                p.rxqs.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|e| (e.dp_port, e.queue)).collect();
            for (dp_port, queue) in polled {
                if a.core_of(dp_port, queue) != Some(core) {
                    p.send(PmdCommand::ReleaseRxq { dp_port, queue, reply: tx.clone() });
                    released += 1;
                }
            }
        }
        drop(tx);
        if released > 0 {
            settle();
        }
        let mut moving: Vec<RxqHandoff> = std::mem::take(&mut self.parked);
        moving.extend(rx.try_iter());
        let moved = moving.len();
        for h in moving {
            match a.core_of(h.dp_port, h.queue).and_then(|c| by_core.get(&c)) {
                Some(p) => p.send(PmdCommand::AdoptRxq(h)),
                None => self.parked.push(h),
            }
        }
        settle();
        moved - self.parked.len()
    }

    /// Assigns every queue afresh from the latest measurements and applies the result
    /// (OVS's reconfiguration, also `dpif-netdev/pmd-rxq-rebalance`). Returns how many queues
    /// moved; the decisions are in [`RxqScheduler::log`].
    pub fn reschedule(&mut self, pmds: &[Arc<PmdShared>], ports: &HashMap<u32, PortSchedInfo>, settle: &mut dyn FnMut()) -> usize {
        let a = self.plan(pmds, ports);
        self.log = a.log.clone();
        self.apply(pmds, &a, settle)
    }

    /// The periodic auto load balance check (see the module documentation). `now_ms` is a
    /// monotonic clock. Returns `Some(moved)` when it re-balanced.
    pub fn auto_lb_tick(&mut self, now_ms: u64, pmds: &[Arc<PmdShared>], ports: &HashMap<u32, PortSchedInfo>, settle: &mut dyn FnMut()) -> Option<usize> {
        if !self.settings.alb {
            self.alb_timer_ms = None;
            return None;
        }
        let Some(t) = self.alb_timer_ms else {
            self.alb_timer_ms = Some(now_ms);
            return None;
        };
        if t + self.settings.alb_interval_ms >= now_ms {
            return None;
        }
        self.alb_timer_ms = Some(now_ms);
        self.check_and_rebalance(pmds, ports, settle)
    }

    /// The check [`RxqScheduler::auto_lb_tick`] makes once its interval has passed: overload,
    /// dry run, and the re-balance if it pays.
    pub fn check_and_rebalance(&mut self, pmds: &[Arc<PmdShared>], ports: &HashMap<u32, PortSchedInfo>, settle: &mut dyn FnMut()) -> Option<usize> {
        self.log.clear();
        let current = self.current(pmds, ports);
        let isolated = |p: &PmdShared| current.pmds.iter().any(|q| q.core == pmd_core(p) && q.isolated);
        let threshold = self.settings.alb_load_threshold;
        if !pmds.iter().any(|p| !isolated(p) && p.intervals.overloaded(threshold)) {
            return None;
        }
        if self.settings.algo == AssignAlgo::RoundRobin {
            self.log.push("PMD auto load balance nothing to do, pmd-rxq-assign=roundrobin assignment type configured.".into());
            return None;
        }
        let free: Vec<_> = current.pmds.iter().filter(|p| !p.isolated).collect();
        if free.len() < 2 || !free.iter().any(|p| p.rxqs.len() > 1) {
            self.log.push("PMD auto load balance nothing to do, not enough non-isolated PMDs or RxQs.".into());
            return None;
        }
        let estimate = self.plan(pmds, ports);
        let d = sched::dry_run(&current, &estimate, |port, _| ports.get(&port).and_then(|i| i.numa), self.settings.alb_improvement_threshold);
        for (n, cur, est, imp) in &d.nodes {
            self.log.push(format!("Numa node {n}. Current variance {cur} Estimated variance {est}. Variance improvement {imp}%."));
        }
        let met = if d.improves { "met" } else { "not met" };
        self.log.push(format!("PMD load variance improvement threshold {}% is {met}.", self.settings.alb_improvement_threshold));
        if !d.improves {
            return None;
        }
        self.log.push("PMD auto load balance dry run. Requesting datapath reconfigure.".into());
        let mut log = std::mem::take(&mut self.log);
        log.extend(estimate.log.iter().cloned());
        let moved = self.apply(pmds, &estimate, settle);
        self.log = log;
        Some(moved)
    }
}

/// Scheduling as the switch drives it: PMD threads, ports from the bridges, settings from the
/// configuration, decisions to the log (module `dpif_netdev`, as OVS).
impl Switch {
    /// Reads the scheduling settings from `other_config`; true if they changed. Logs as OVS.
    pub fn update_sched_settings(&mut self) -> bool {
        let (new, warnings) = SchedSettings::from_other_config(&self.cfg.other_config);
        for w in warnings {
            vlog::warn("dpif_netdev", &w);
        }
        let old = self.sched.settings.clone();
        if new == old {
            return false;
        }
        if new.algo != old.algo {
            vlog::info("dpif_netdev", &format!("Rxq to PMD assignment mode changed to: '{}'.", new.algo.as_str()));
        }
        if new.isolate != old.isolate {
            let what = if new.isolate { "isolates" } else { "does not isolate" };
            vlog::info("dpif_netdev", &format!("pmd-rxq-affinity {what} PMD core"));
        }
        if new.alb && new != old {
            vlog::info("dpif_netdev", &new.alb_description());
        } else if old.alb && !new.alb {
            vlog::info("dpif_netdev", "PMD auto load balance is disabled.");
        }
        let reassign = (new.algo, new.isolate) != (old.algo, old.isolate);
        self.sched.settings = new;
        reassign
    }

    /// What scheduling needs to know of every port, by datapath number.
    pub fn port_sched_info(&self) -> HashMap<u32, PortSchedInfo> {
        let mut m = HashMap::new();
        for (b, br) in &self.bridges {
            for p in br.ports.values() {
                let aff = self.cfg.bridges.get(b).and_then(|c| c.ports.get(&p.name)).and_then(|pc| pc.interface.other_config.get("pmd-rxq-affinity"));
                m.insert(p.dp_port, self.new_port_sched_info(&p.port, aff.map(String::as_str)));
            }
        }
        m
    }

    /// What scheduling needs to know of `port`, whose interface has `pmd-rxq-affinity`
    /// `affinity`.
    pub fn new_port_sched_info(&self, port: &Arc<dyn Port>, affinity: Option<&str>) -> PortSchedInfo {
        let affinity = match affinity.map(sched::parse_affinity) {
            Some(Ok(a)) => a,
            Some(Err(e)) => {
                vlog::warn("dpif_netdev", &format!("{}: {e}", port.name()));
                BTreeMap::new()
            }
            None => BTreeMap::new(),
        };
        let numa = port.ifindex().and_then(|_| netdev_numa(port.name()));
        PortSchedInfo { name: port.name().to_string(), numa, affinity }
    }

    /// Every interface's `pmd-rxq-affinity`, to notice changes.
    pub fn rxq_affinities(&self) -> Vec<(String, String)> {
        let mut v = Vec::new();
        for br in self.cfg.bridges.values() {
            for (name, p) in &br.ports {
                if let Some(a) = p.interface.other_config.get("pmd-rxq-affinity") {
                    v.push((name.clone(), a.clone()));
                }
            }
        }
        v
    }

    /// Assigns every receive queue afresh (port changes, settings, `pmd-rxq-rebalance`).
    pub fn reschedule_rxqs(&mut self) {
        self.reschedule_rxqs_with(None);
    }

    /// [`Switch::reschedule_rxqs`], with a port not in the bridges yet.
    pub fn reschedule_rxqs_with(&mut self, new_port: Option<(u32, PortSchedInfo)>) {
        let pmds = self.poll_mode_pmds();
        if pmds.is_empty() {
            return;
        }
        let mut ports = self.port_sched_info();
        ports.extend(new_port);
        let mut settle = || pmds.iter().for_each(|p| p.sync());
        self.sched.reschedule(&pmds, &ports, &mut settle);
        for l in &self.sched.log {
            vlog::info("dpif_netdev", l);
        }
    }

    /// The auto load balance check, called about once a second by the daemon.
    pub fn pmd_sched_tick(&mut self) {
        let pmds = self.poll_mode_pmds();
        if !self.sched.settings.alb || pmds.is_empty() {
            self.sched.auto_lb_tick(0, &[], &HashMap::new(), &mut || {});
            return;
        }
        let ports = self.port_sched_info();
        let now = self.dp.now_ms();
        let mut settle = || pmds.iter().for_each(|p| p.sync());
        let done = self.sched.auto_lb_tick(now, &pmds, &ports, &mut settle);
        // The dry run's reasoning is logged when it leads somewhere (OVS logs it at debug level).
        if done.is_some() {
            for l in &self.sched.log {
                vlog::info("dpif_netdev", l);
            }
        }
        self.sched.log.clear();
    }
}
