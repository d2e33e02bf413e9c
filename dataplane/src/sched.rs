//! Receive queue to PMD assignment, as Open vSwitch's dpif-netdev schedules it (OVS 3.1).
//!
//! # What
//! [`schedule`] decides which PMD thread polls each receive queue, from the PMDs (core, NUMA
//! node), the queues (port, queue id, NUMA node of the port, `pmd-rxq-affinity` pin, measured
//! processing cycles) and the algorithm (`other_config:pmd-rxq-assign`). It is a pure function:
//! the switch feeds it what the PMDs measured and applies the difference
//! (`switch::sched`). [`dry_run`] says whether a new assignment would spread the load enough
//! better to be worth applying (`pmd-auto-lb`).
//!
//! # Algorithm (OVS's `sched_numa_list_schedule`)
//! 1. **Pinned queues first.** A queue with `pmd-rxq-affinity` naming a core that runs a PMD
//!    goes to that PMD. With `pmd-rxq-isolate=true` (the default) that PMD becomes *isolated*:
//!    it gets no other queue. A pin to a core without a PMD is reported and the queue is
//!    assigned like the others.
//! 2. **The others**, in port then queue order, sorted (except for `roundrobin`) by their
//!    measured cycles, busiest first (ties: lower port number, then lower queue id). Each goes
//!    to a non-isolated PMD on its port's NUMA node (or, if that node has none, on the next
//!    node that has one, round robin over nodes):
//!    * `roundrobin`: the next PMD in core order, wrapping (0 1 2 0 1 2 ...);
//!    * `cycles` (the default): the next PMD going up then down (0 1 2 2 1 0 0 1 ...), so that
//!      the busiest queues are spread first and the lightest fill in behind them;
//!    * `group`: the PMD with the least measured load so far (or, for a queue that measured
//!      nothing, the fewest queues), the first in core order on a tie.
//!
//! # Variance and the dry run (OVS's `pmd_rebalance_dry_run`)
//! A PMD's load is its queues' cycles over the cycles of the measured intervals, in percent.
//! Per NUMA node, the variance of its non-isolated PMDs' loads is computed for the current and
//! the proposed assignment (integer arithmetic, as OVS's `variance()`); the proposal is taken
//! when it improves some node's variance by at least `pmd-auto-lb-improvement-threshold`
//! percent.
//!
//! # Determinism
//! Same input, same output: PMDs are taken in core order, queues in (port, queue) order.
//! OVS walks its ports in hash order; rvs uses datapath port number order.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Measurement intervals kept per queue and per PMD (OVS's `PMD_INTERVAL_MAX`).
pub const INTERVALS: usize = 12;
/// Length of one measurement interval in milliseconds (OVS's `PMD_INTERVAL_LEN`, 5 s).
pub const INTERVAL_MS: u64 = 5_000;

/// `other_config:pmd-rxq-assign`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AssignAlgo {
    /// Round robin in core order.
    RoundRobin,
    /// Busiest queues first, up-and-down over the PMDs (the default).
    #[default]
    Cycles,
    /// Busiest queues first, each to the least loaded PMD.
    Group,
}

impl AssignAlgo {
    /// Parses the option's value; `None` for an unknown one (OVS warns and uses `cycles`).
    pub fn parse(s: &str) -> Option<AssignAlgo> {
        match s {
            "roundrobin" => Some(AssignAlgo::RoundRobin),
            "cycles" => Some(AssignAlgo::Cycles),
            "group" => Some(AssignAlgo::Group),
            _ => None,
        }
    }

    /// The option's value.
    pub fn as_str(self) -> &'static str {
        match self {
            AssignAlgo::RoundRobin => "roundrobin",
            AssignAlgo::Cycles => "cycles",
            AssignAlgo::Group => "group",
        }
    }
}

/// Parses `other_config:pmd-rxq-affinity` of an interface: `QUEUE:CORE[,QUEUE:CORE...]`.
/// Returns core by queue id.
pub fn parse_affinity(s: &str) -> Result<BTreeMap<usize, usize>, String> {
    let mut map = BTreeMap::new();
    for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let parsed = item.split_once(':').and_then(|(q, c)| Some((q.trim().parse().ok()?, c.trim().parse().ok()?)));
        match parsed {
            Some((q, c)) => {
                map.insert(q, c);
            }
            None => return Err(format!("invalid pmd-rxq-affinity {s:?}: expected QUEUE:CORE[,QUEUE:CORE...]")),
        }
    }
    Ok(map)
}

/// A PMD thread as the scheduler sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchedPmd {
    /// CPU core it runs on (its identity here).
    pub core: usize,
    /// NUMA node of that core.
    pub numa: u32,
    /// Cycles of its last complete measurement interval (0: none measured yet).
    pub interval_cycles: u64,
}

/// A receive queue as the scheduler sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchedRxq {
    /// Datapath port number.
    pub dp_port: u32,
    /// Queue id within the port.
    pub queue: usize,
    /// Port name (for the log).
    pub port_name: String,
    /// NUMA node of the port's device; `None` if unknown (any node will do).
    pub numa: Option<u32>,
    /// Core it is pinned to by `pmd-rxq-affinity`.
    pub pinned: Option<usize>,
    /// Processing cycles measured over the kept intervals.
    pub cycles: u64,
}

/// One PMD's share of an [`Assignment`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PmdPlan {
    /// Core.
    pub core: usize,
    /// NUMA node.
    pub numa: u32,
    /// Takes only its pinned queues.
    pub isolated: bool,
    /// Its queues as (dp_port, queue), in the order assigned.
    pub rxqs: Vec<(u32, usize)>,
    /// Sum of its queues' measured cycles.
    pub proc_cycles: u64,
    /// Cycles of one measurement interval ([`SchedPmd::interval_cycles`]).
    pub interval_cycles: u64,
}

/// Which PMD polls which queue.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assignment {
    /// One entry per PMD, in core order.
    pub pmds: Vec<PmdPlan>,
    /// Queues no PMD can poll (every PMD isolated), as (dp_port, queue).
    pub unassigned: Vec<(u32, usize)>,
    /// What was decided, one line each, in OVS's wording (for the log).
    pub log: Vec<String>,
}

impl Assignment {
    /// The core polling (dp_port, queue), if any.
    pub fn core_of(&self, dp_port: u32, queue: usize) -> Option<usize> {
        self.pmds.iter().find(|p| p.rxqs.contains(&(dp_port, queue))).map(|p| p.core)
    }

    fn plan_mut(&mut self, core: usize) -> Option<&mut PmdPlan> {
        self.pmds.iter_mut().find(|p| p.core == core)
    }
}

fn empty_plans(pmds: &[SchedPmd]) -> Assignment {
    let mut sorted = pmds.to_vec();
    sorted.sort_by_key(|p| (p.numa, p.core));
    let pmds = sorted
        .iter()
        .map(|p| PmdPlan { core: p.core, numa: p.numa, interval_cycles: p.interval_cycles, ..Default::default() })
        .collect();
    Assignment { pmds, ..Default::default() }
}

fn cyc_log(algo: AssignAlgo, cycles: u64) -> String {
    if algo == AssignAlgo::RoundRobin {
        String::new()
    } else {
        format!(" (measured processing cycles {cycles})")
    }
}

/// Round-robin state of one NUMA node (OVS's `rr_cur_index` / `rr_idx_inc`).
struct RrState {
    cur: usize,
    inc: bool,
}

impl RrState {
    /// The next index among `n`, wrapping (`updown` false) or going up then down.
    fn next(&mut self, n: usize, updown: bool) -> usize {
        let idx = self.cur;
        if self.inc {
            if self.cur == n - 1 {
                if updown {
                    self.inc = false;
                } else {
                    self.cur = 0;
                }
            } else {
                self.cur += 1;
            }
        } else if self.cur == 0 {
            self.inc = true;
        } else {
            self.cur -= 1;
        }
        idx
    }
}

/// Assigns every queue to a PMD. See the module documentation.
pub fn schedule(pmds: &[SchedPmd], rxqs: &[SchedRxq], algo: AssignAlgo, isolate: bool) -> Assignment {
    let mut a = empty_plans(pmds);
    let mut rest: Vec<&SchedRxq> = Vec::new();
    let mut ordered: Vec<&SchedRxq> = rxqs.iter().collect();
    ordered.sort_by_key(|q| (q.dp_port, q.queue));
    for q in ordered {
        let Some(core) = q.pinned else {
            rest.push(q);
            continue;
        };
        let Some(plan) = a.plan_mut(core) else {
            a.log.push(format!(
                "Core {core:2} cannot be pinned with port '{}' rx queue {}. Use pmd-cpu-mask to enable a pmd on core {core}. An alternative core will be assigned.",
                q.port_name, q.queue
            ));
            rest.push(q);
            continue;
        };
        plan.isolated |= isolate;
        plan.rxqs.push((q.dp_port, q.queue));
        plan.proc_cycles += q.cycles;
        let numa = plan.numa;
        a.log.push(format!(
            "Core {core:2} on numa node {numa} is pinned with port '{}' rx queue {}{}",
            q.port_name,
            q.queue,
            cyc_log(algo, q.cycles)
        ));
    }
    if algo != AssignAlgo::RoundRobin {
        // Busiest first; ties by port, then queue (a stable sort of (port, queue) order).
        rest.sort_by_key(|q| std::cmp::Reverse(q.cycles));
    }
    let numas: Vec<u32> = {
        let mut n: Vec<u32> = a.pmds.iter().map(|p| p.numa).collect();
        n.dedup();
        n
    };
    let mut rr: BTreeMap<u32, RrState> = numas.iter().map(|n| (*n, RrState { cur: 0, inc: true })).collect();
    let mut last_cross: Option<usize> = None;
    let mut logged_start = false;
    for q in rest {
        if !logged_start {
            a.log.push(format!("Performing pmd to rx queue assignment using {} algorithm.", algo.as_str()));
            logged_start = true;
        }
        let has_free = |a: &Assignment, numa: u32| a.pmds.iter().any(|p| p.numa == numa && !p.isolated);
        let mut numa = q.numa.filter(|n| has_free(&a, *n));
        if numa.is_none() {
            // Any node with a non-isolated PMD, round robin over nodes.
            for _ in 0..numas.len() {
                let i = last_cross.map_or(0, |i| (i + 1) % numas.len());
                last_cross = Some(i);
                if has_free(&a, numas[i]) {
                    numa = Some(numas[i]);
                    break;
                }
            }
        }
        let chosen = numa.and_then(|n| {
            let idx: Vec<usize> = (0..a.pmds.len()).filter(|&i| a.pmds[i].numa == n).collect();
            match algo {
                AssignAlgo::Group => {
                    let load = |p: &PmdPlan| if q.cycles > 0 { p.proc_cycles } else { p.rxqs.len() as u64 };
                    let mut best: Option<usize> = None;
                    for &i in idx.iter().filter(|&&i| !a.pmds[i].isolated) {
                        if best.is_none_or(|b| load(&a.pmds[i]) < load(&a.pmds[b])) {
                            best = Some(i);
                        }
                    }
                    best
                }
                _ => {
                    let st = rr.get_mut(&n).expect("every node has a state");
                    (0..idx.len() * 2)
                        .map(|_| idx[st.next(idx.len(), algo == AssignAlgo::Cycles)])
                        .find(|&i| !a.pmds[i].isolated)
                }
            }
        });
        match chosen {
            Some(i) => {
                let plan = &mut a.pmds[i];
                if Some(plan.numa) != q.numa && q.numa.is_some() {
                    a.log.push(format!(
                        "There's no available (non-isolated) pmd thread on numa node {}. Port '{}' rx queue {} will be assigned to a pmd on numa node {}. This may lead to reduced performance.",
                        q.numa.unwrap_or(0), q.port_name, q.queue, plan.numa
                    ));
                }
                plan.rxqs.push((q.dp_port, q.queue));
                plan.proc_cycles += q.cycles;
                let line = format!(
                    "Core {:2} on numa node {} assigned port '{}' rx queue {}{}.",
                    plan.core,
                    plan.numa,
                    q.port_name,
                    q.queue,
                    cyc_log(algo, q.cycles)
                );
                a.log.push(line);
            }
            None => {
                a.unassigned.push((q.dp_port, q.queue));
                a.log.push(format!(
                    "No non-isolated pmd on any numa available for port '{}' rx queue {}{}. This rx queue will not be polled.",
                    q.port_name,
                    q.queue,
                    cyc_log(algo, q.cycles)
                ));
            }
        }
    }
    a
}

/// The assignment as it is: `current` gives the core polling each queue (None: unpolled).
/// Isolation follows the pins, as OVS's `sched_numa_list_assignments`.
pub fn current(pmds: &[SchedPmd], rxqs: &[SchedRxq], current: impl Fn(&SchedRxq) -> Option<usize>, isolate: bool) -> Assignment {
    let mut a = empty_plans(pmds);
    for q in rxqs {
        match current(q).and_then(|c| a.plan_mut(c)) {
            Some(plan) => {
                if q.pinned == Some(plan.core) && isolate {
                    plan.isolated = true;
                }
                plan.rxqs.push((q.dp_port, q.queue));
                plan.proc_cycles += q.cycles;
            }
            None => a.unassigned.push((q.dp_port, q.queue)),
        }
    }
    a
}

/// Population variance of `v` in integer arithmetic, as OVS's `variance()`.
pub fn variance(v: &[u64]) -> u64 {
    if v.is_empty() {
        return 0;
    }
    let sum: u64 = v.iter().sum();
    if sum == 0 {
        return 0;
    }
    let mean = sum / v.len() as u64;
    let sq: u64 = v.iter().map(|&x| x.abs_diff(mean) * x.abs_diff(mean)).sum();
    sq / v.len() as u64
}

/// Load variance of the non-isolated PMDs of NUMA node `numa` (loads in percent of all
/// measured intervals).
pub fn numa_variance(a: &Assignment, numa: u32) -> u64 {
    let loads: Vec<u64> = a
        .pmds
        .iter()
        .filter(|p| p.numa == numa && !p.isolated)
        .map(|p| {
            (p.proc_cycles * 100).checked_div(p.interval_cycles * INTERVALS as u64).unwrap_or(0)
        })
        .collect();
    variance(&loads)
}

/// Outcome of a [`dry_run`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DryRun {
    /// Whether some node improves by at least the threshold.
    pub improves: bool,
    /// Per node: (node, current variance, estimated variance, improvement %), for the log.
    pub nodes: Vec<(u32, u64, u64, u64)>,
}

/// Compares the current assignment with a proposed one, node by node (OVS's
/// `pmd_rebalance_dry_run`). With queues polled across nodes and several nodes with PMDs, the
/// estimate cannot be trusted and nothing improves.
pub fn dry_run(current: &Assignment, estimate: &Assignment, rxq_numa: impl Fn(u32, usize) -> Option<u32>, improvement_threshold: u64) -> DryRun {
    let mut nodes: Vec<u32> = current.pmds.iter().map(|p| p.numa).collect();
    nodes.dedup();
    let cross = estimate
        .pmds
        .iter()
        .any(|p| p.rxqs.iter().any(|&(port, q)| rxq_numa(port, q).is_some_and(|n| n != p.numa)));
    let mut out = DryRun { improves: false, nodes: Vec::new() };
    if cross && nodes.len() > 1 {
        return out;
    }
    for n in nodes {
        let cur = numa_variance(current, n);
        let est = numa_variance(estimate, n);
        let improvement = if est < cur { (cur - est) * 100 / cur } else { 0 };
        out.nodes.push((n, cur, est, improvement));
        if improvement >= improvement_threshold {
            out.improves = true;
        }
    }
    out
}

/// Renders the log lines of an assignment (for tests and `pmd-rxq-rebalance` debugging).
pub fn format_log(a: &Assignment) -> String {
    let mut s = String::new();
    for l in &a.log {
        let _ = writeln!(s, "{l}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pmds(cores: &[usize]) -> Vec<SchedPmd> {
        cores.iter().map(|&core| SchedPmd { core, numa: 0, interval_cycles: 1000 }).collect()
    }

    fn q(dp_port: u32, queue: usize, cycles: u64) -> SchedRxq {
        SchedRxq { dp_port, queue, port_name: format!("p{dp_port}"), numa: Some(0), pinned: None, cycles }
    }

    fn cores_of(a: &Assignment, rxqs: &[SchedRxq]) -> Vec<usize> {
        rxqs.iter().map(|r| a.core_of(r.dp_port, r.queue).expect("assigned")).collect()
    }

    #[test]
    fn roundrobin_wraps_in_core_order() {
        let rxqs: Vec<_> = (0..5).map(|i| q(1, i, 100 * i as u64)).collect();
        let a = schedule(&pmds(&[3, 1, 2]), &rxqs, AssignAlgo::RoundRobin, true);
        // Cycles are ignored: queue order, cores 1 2 3 1 2.
        assert_eq!(cores_of(&a, &rxqs), vec![1, 2, 3, 1, 2]);
        assert_eq!(a.log[1], "Core  1 on numa node 0 assigned port 'p1' rx queue 0.");
    }

    #[test]
    fn cycles_sorts_busiest_first_and_goes_up_then_down() {
        // Loads 10 60 30 50 20 40: order by cycles is q1 q3 q5 q2 q4 q0; cores 0 1 1 0 0 1.
        let loads = [10, 60, 30, 50, 20, 40];
        let rxqs: Vec<_> = loads.iter().enumerate().map(|(i, &c)| q(1, i, c)).collect();
        let a = schedule(&pmds(&[0, 1]), &rxqs, AssignAlgo::Cycles, true);
        assert_eq!(a.pmds[0].rxqs, vec![(1, 1), (1, 2), (1, 4)]);
        assert_eq!(a.pmds[1].rxqs, vec![(1, 3), (1, 5), (1, 0)]);
        assert_eq!((a.pmds[0].proc_cycles, a.pmds[1].proc_cycles), (110, 100));
        assert_eq!(a.log[0], "Performing pmd to rx queue assignment using cycles algorithm.");
        assert_eq!(a.log[1], "Core  0 on numa node 0 assigned port 'p1' rx queue 1 (measured processing cycles 60).");
    }

    #[test]
    fn cycles_ties_break_by_port_then_queue() {
        let rxqs = vec![q(2, 0, 5), q(1, 1, 5), q(1, 0, 5)];
        let a = schedule(&pmds(&[0, 1, 2]), &rxqs, AssignAlgo::Cycles, true);
        assert_eq!(a.pmds[0].rxqs, vec![(1, 0)]);
        assert_eq!(a.pmds[1].rxqs, vec![(1, 1)]);
        assert_eq!(a.pmds[2].rxqs, vec![(2, 0)]);
    }

    #[test]
    fn group_picks_the_least_loaded_pmd() {
        // 70 -> c0; 40 -> c1; 30 -> c1 (40 < 70); 20 -> c0 (70 == 70: first); 10 -> c1.
        let rxqs = vec![q(1, 0, 70), q(1, 1, 40), q(1, 2, 30), q(1, 3, 20), q(1, 4, 10)];
        let a = schedule(&pmds(&[0, 1]), &rxqs, AssignAlgo::Group, true);
        assert_eq!(a.pmds[0].rxqs, vec![(1, 0), (1, 3)]);
        assert_eq!(a.pmds[1].rxqs, vec![(1, 1), (1, 2), (1, 4)]);
    }

    #[test]
    fn group_without_measurements_matches_ovs_with_a_pin_and_no_isolation() {
        // What OVS 3.1 printed for p0 (3 queues), p1 (2 queues, queue 0 pinned to core 1),
        // pmd-rxq-assign=group, pmd-rxq-isolate=false, nothing measured.
        let mut rxqs = vec![q(1, 0, 0), q(1, 1, 0), q(1, 2, 0), q(2, 0, 0), q(2, 1, 0)];
        rxqs[3].pinned = Some(1);
        let a = schedule(&pmds(&[0, 1]), &rxqs, AssignAlgo::Group, false);
        assert_eq!(a.pmds[0].rxqs, vec![(1, 0), (1, 1), (2, 1)]);
        assert_eq!(a.pmds[1].rxqs, vec![(2, 0), (1, 2)]);
        assert!(!a.pmds[1].isolated);
        assert_eq!(a.log[0], "Core  1 on numa node 0 is pinned with port 'p2' rx queue 0 (measured processing cycles 0)");
    }

    #[test]
    fn a_pin_isolates_its_pmd_by_default() {
        let mut rxqs = vec![q(1, 0, 0), q(1, 1, 0), q(1, 2, 0), q(2, 0, 0), q(2, 1, 0)];
        rxqs[3].pinned = Some(1);
        let a = schedule(&pmds(&[0, 1]), &rxqs, AssignAlgo::Cycles, true);
        assert!(a.pmds[1].isolated);
        assert_eq!(a.pmds[1].rxqs, vec![(2, 0)]);
        assert_eq!(a.pmds[0].rxqs, vec![(1, 0), (1, 1), (1, 2), (2, 1)]);
    }

    #[test]
    fn a_pin_to_a_core_without_pmd_falls_back() {
        let mut rxqs = vec![q(1, 0, 0)];
        rxqs[0].pinned = Some(7);
        let a = schedule(&pmds(&[0, 1]), &rxqs, AssignAlgo::Cycles, true);
        assert_eq!(a.core_of(1, 0), Some(0));
        assert!(a.log[0].starts_with("Core  7 cannot be pinned with port 'p1' rx queue 0."));
    }

    #[test]
    fn every_pmd_isolated_leaves_queues_unpolled() {
        let mut rxqs = vec![q(1, 0, 0), q(2, 0, 0)];
        rxqs[0].pinned = Some(0);
        let a = schedule(&pmds(&[0]), &rxqs, AssignAlgo::Cycles, true);
        assert_eq!(a.unassigned, vec![(2, 0)]);
    }

    #[test]
    fn queues_of_a_node_without_pmds_go_elsewhere() {
        let ps = vec![SchedPmd { core: 0, numa: 0, interval_cycles: 0 }, SchedPmd { core: 8, numa: 1, interval_cycles: 0 }];
        let mut r = q(1, 0, 0);
        r.numa = Some(1);
        let mut r2 = q(1, 1, 0);
        r2.numa = Some(3);
        let a = schedule(&ps, &[r, r2], AssignAlgo::Cycles, true);
        assert_eq!(a.core_of(1, 0), Some(8));
        assert_eq!(a.core_of(1, 1), Some(0));
    }

    #[test]
    fn affinity_lists() {
        let m = parse_affinity("0:3, 1:7,3:8").unwrap();
        assert_eq!(m.into_iter().collect::<Vec<_>>(), vec![(0, 3), (1, 7), (3, 8)]);
        assert!(parse_affinity("0-3").is_err());
        assert!(parse_affinity("").unwrap().is_empty());
    }

    #[test]
    fn variance_is_ovs_integer_variance() {
        assert_eq!(variance(&[]), 0);
        assert_eq!(variance(&[0, 0]), 0);
        assert_eq!(variance(&[90, 10]), 1600);
        assert_eq!(variance(&[50, 50]), 0);
        assert_eq!(variance(&[1, 2, 4]), 1); // mean 2: (1 + 0 + 4) / 3
    }

    #[test]
    fn dry_run_takes_a_better_spread() {
        let ps = pmds(&[0, 1]);
        // Interval 1000 cycles x 12 intervals = 12000; both busy queues on core 0.
        let rxqs = vec![q(1, 0, 6000), q(2, 0, 5000), q(3, 0, 100)];
        let now = current(&ps, &rxqs, |r| Some(if r.dp_port == 3 { 1 } else { 0 }), true);
        let est = schedule(&ps, &rxqs, AssignAlgo::Cycles, true);
        assert_eq!(est.core_of(1, 0), Some(0));
        assert_eq!(est.core_of(2, 0), Some(1));
        let d = dry_run(&now, &est, |_, _| Some(0), 25);
        // Current loads 91% and 0%: variance 2070 (mean 45). Estimate 50% and 42%: 16.
        assert_eq!(d.nodes, vec![(0, 2070, 16, 99)]);
        assert!(d.improves);
        // The same assignment again improves nothing.
        assert!(!dry_run(&est, &est, |_, _| Some(0), 25).improves);
    }
}
