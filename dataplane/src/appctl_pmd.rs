//! The `dpif-netdev/pmd-*` commands of `rvs-appctl`, as `ovs-appctl` names and prints them.
//!
//! | command | what it does |
//! |---|---|
//! | `pmd-stats-show [-pmd CORE]` | per-PMD packets, cache hits, upcalls, cycles per packet, drops |
//! | `pmd-stats-clear [-pmd CORE]` | restarts those counters and `pmd-perf-show`'s (a baseline; the PMD's own are never written) |
//! | `pmd-rxq-show [-pmd CORE] [-secs SECS]` | which PMD polls which queue, with each queue's share of the PMD's cycles |
//! | `pmd-perf-show [-nh] [-pmd CORE]` | iterations, busy/idle/sleep cycles, rates, cycles per packet per stage |
//! | `pmd-rxq-rebalance` | assigns the queues afresh from the latest measurements |
//!
//! All of them read the PMDs' published counters and measurement rings: no lock on the PMDs'
//! path and no waiting for them, except `pmd-stats-clear` (which syncs so that the baseline
//! is current) and `pmd-rxq-rebalance` (which moves queues).

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::pmd_loop::PmdShared;
use crate::pmd_perf::{format_perf_show, format_rxq_show, rxq_show_secs, tsc_hz, PmdRxqView, RxqLine, INTERVAL_MS};
use crate::pmd_sched::pmd_core;
use crate::pmd_stats::{format_pmd_stats, PmdCounters};
use crate::switch::Switch;

/// Per-PMD counter baselines set by `pmd-stats-clear`, with the datapath time of the clear.
#[derive(Default)]
pub struct Baselines(HashMap<usize, (PmdCounters, u64)>);

impl Baselines {
    /// `p`'s counters since the last clear, and the datapath time they start from.
    fn since(&self, p: &PmdShared) -> (PmdCounters, u64) {
        let c = p.stats.snapshot();
        match self.0.get(&p.id) {
            Some((b, at)) => (c.since(b), *at),
            None => (c, p.started_ms),
        }
    }
}

/// Options common to the commands: `-pmd CORE`, `-secs SECS`; `-nh` and `[dp]` are accepted.
struct Args {
    pmd: Option<usize>,
    secs: Option<u64>,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut a = Args { pmd: None, secs: None };
    let mut it = args.iter();
    while let Some(x) = it.next() {
        match x.as_str() {
            "-pmd" => a.pmd = Some(it.next().and_then(|v| v.parse().ok()).ok_or("Invalid pmd")?),
            "-secs" => a.secs = it.next().and_then(|v| v.parse().ok()),
            "-nh" => {}
            "-it" | "-ms" => {
                it.next();
            }
            dp if dp.ends_with("netdev") || !dp.starts_with('-') => {}
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(a)
}

/// The PMDs the command is about, in (numa, core) order; with `main`, the non-PMD thread
/// last when no `-pmd` is given (OVS sorts its "main thread" after every PMD).
fn selected(sw: &Switch, pmd: Option<usize>, main: bool) -> Vec<std::sync::Arc<PmdShared>> {
    let mut v: Vec<_> = sw.poll_mode_pmds().into_iter().filter(|p| pmd.is_none_or(|c| pmd_core(p) == c)).collect();
    v.sort_by_key(|p| (p.numa, pmd_core(p)));
    if main && pmd.is_none() {
        v.extend(sw.pmds.load().iter().filter(|p| p.non_pmd).cloned());
    }
    v
}

/// Runs a `dpif-netdev/pmd-*` command (`cmd` without its `dpif-netdev/` prefix); `None` if it
/// is not one of them.
pub fn run(sw: &mut Switch, baselines: &mut Baselines, cmd: &str, args: &[String]) -> Option<Result<String, String>> {
    const COMMANDS: [&str; 5] = ["pmd-stats-show", "pmd-stats-clear", "pmd-rxq-show", "pmd-perf-show", "pmd-rxq-rebalance"];
    // Another command's options (`ofproto/trace ... -generate`) are not ours to judge.
    if !COMMANDS.contains(&cmd) {
        return None;
    }
    let a = match parse_args(args) {
        Ok(a) => a,
        Err(e) => return Some(Err(e)),
    };
    let out = match cmd {
        "pmd-stats-show" => stats_show(sw, baselines, &a),
        "pmd-stats-clear" => {
            let now = sw.dp.now_ms();
            for p in selected(sw, a.pmd, true) {
                p.sync();
                baselines.0.insert(p.id, (p.stats.snapshot(), now));
            }
            String::new()
        }
        "pmd-rxq-show" => rxq_show(sw, &a),
        "pmd-perf-show" => perf_show(sw, baselines, &a),
        "pmd-rxq-rebalance" => {
            sw.reschedule_rxqs();
            "pmd rxq rebalance requested.\n".into()
        }
        _ => unreachable!("COMMANDS lists every command matched here"),
    };
    Some(Ok(out))
}

fn stats_show(sw: &Switch, baselines: &Baselines, a: &Args) -> String {
    let mut s = String::new();
    for p in selected(sw, a.pmd, true) {
        let (c, _) = baselines.since(&p);
        let header = if p.non_pmd { "main thread".to_string() } else { format!("pmd thread numa_id {} core_id {}", p.numa, pmd_core(&p)) };
        format_pmd_stats(&mut s, &header, &c);
    }
    s
}

fn rxq_show(sw: &Switch, a: &Args) -> String {
    let secs = rxq_show_secs(a.secs);
    let intervals = secs.div_ceil(INTERVAL_MS / 1000) as usize;
    let ports = sw.port_sched_info();
    let current = sw.sched.current(&sw.poll_mode_pmds(), &ports);
    let views: Vec<PmdRxqView> = selected(sw, a.pmd, false)
        .iter()
        .map(|p| {
            let core = pmd_core(p);
            let mut rxqs: Vec<RxqLine> = p
                .rxqs
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|e| RxqLine {
                    port: ports.get(&e.dp_port).map(|i| i.name.clone()).unwrap_or_else(|| e.dp_port.to_string()),
                    queue: e.queue,
                    cycles: e.stats.last(intervals),
                })
                .collect();
            rxqs.sort_by(|x, y| (&x.port, x.queue).cmp(&(&y.port, y.queue)));
            PmdRxqView {
                numa: p.numa,
                core,
                isolated: current.pmds.iter().any(|q| q.core == core && q.isolated),
                rxqs,
                interval_cycles: p.intervals.interval_cycles(),
                busy_cycles: p.intervals.busy_last(intervals),
            }
        })
        .collect();
    format_rxq_show(&views, secs)
}

/// The wall clock as `HH:MM:SS.mmm` (UTC).
fn wall_time() -> String {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let rem = d.as_secs() % 86_400;
    format!("{:02}:{:02}:{:02}.{:03}", rem / 3600, rem % 3600 / 60, rem % 60, d.subsec_millis())
}

fn perf_show(sw: &Switch, baselines: &Baselines, a: &Args) -> String {
    let hz = tsc_hz();
    let now_ms = sw.dp.now_ms();
    let time = wall_time();
    let mut s = String::new();
    for p in selected(sw, a.pmd, false) {
        let (c, since) = baselines.since(&p);
        let duration = now_ms.saturating_sub(since) as f64 / 1000.0;
        format_perf_show(&mut s, p.numa, pmd_core(&p), &c, duration, &time, hz);
    }
    s
}
