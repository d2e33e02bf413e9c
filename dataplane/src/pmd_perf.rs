//! PMD load measurement for scheduling, and the `pmd-rxq-show` / `pmd-perf-show` reports.
//!
//! # What is measured, and how cheaply
//! * Per receive queue, the TSC cycles spent on bursts that brought packets (receive and
//!   processing), as OVS's `RXQ_CYCLES_PROC_CURR`. The PMD reads the TSC once per poll and adds
//!   to a plain `u64` it owns; nothing is shared per packet.
//! * Every measurement interval ([`INTERVAL_MS`], 5 s as in OVS) the PMD closes the interval:
//!   each queue's cycles go into that queue's ring of the last [`INTERVALS`] intervals
//!   ([`RxqStats`]), and its own busy cycles, total cycles and load into its ring
//!   ([`PmdIntervals`]). Rings are atomics written with relaxed stores by their one writer (the
//!   PMD polling the queue; a queue changes PMD only through commands, which order the
//!   writes) and read by the control thread without locks.
//! * Per stage (receive, EMC/megaflow lookup, upcall, actions, transmit), cycles are read at
//!   stage boundaries once per burst into [`PmdCounters`] (`pmd_stats`), published with the
//!   other counters.
//!
//! # Reports
//! [`format_rxq_show`] prints OVS 3.1's `dpif-netdev/pmd-rxq-show` layout;
//! [`format_perf_show`] OVS's `dpif-netdev/pmd-perf-show` overall statistics, followed by
//! rvs's per-stage cycles.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::pmd_stats::{cycles, PmdCounters};
pub use crate::sched::{INTERVALS, INTERVAL_MS};

/// Sum of the last `n` values of a ring whose next slot is `idx % INTERVALS` (OVS's
/// `get_interval_values`).
fn last_n(ring: &[AtomicU64; INTERVALS], idx: u64, n: usize) -> u64 {
    let mut i = (idx % INTERVALS as u64) as usize;
    let mut total = 0;
    for _ in 0..n.min(INTERVALS) {
        i = if i == 0 { INTERVALS - 1 } else { i - 1 };
        total += ring[i].load(Ordering::Relaxed);
    }
    total
}

/// Processing cycles of one receive queue, per measurement interval.
#[derive(Debug, Default)]
pub struct RxqStats {
    /// Cycles of the interval in progress, parked here while the queue moves between PMDs.
    curr: AtomicU64,
    intervals: [AtomicU64; INTERVALS],
    idx: AtomicU64,
}

impl RxqStats {
    /// Closes an interval with `cycles` (by the PMD polling the queue).
    pub fn end_interval(&self, cycles: u64) {
        let idx = self.idx.load(Ordering::Relaxed);
        self.intervals[(idx % INTERVALS as u64) as usize].store(cycles, Ordering::Relaxed);
        self.idx.store(idx + 1, Ordering::Relaxed);
    }

    /// Cycles of the last `n` intervals.
    pub fn last(&self, n: usize) -> u64 {
        last_n(&self.intervals, self.idx.load(Ordering::Relaxed), n)
    }

    /// Cycles of every kept interval (what scheduling sorts by).
    pub fn history(&self) -> u64 {
        self.last(INTERVALS)
    }

    /// Parks the cycles of the interval in progress (the PMD giving the queue away).
    pub fn park_current(&self, cycles: u64) {
        self.curr.store(cycles, Ordering::Relaxed);
    }

    /// Takes the parked cycles (the PMD receiving the queue).
    pub fn take_current(&self) -> u64 {
        self.curr.swap(0, Ordering::Relaxed)
    }
}

/// A PMD's measurement intervals, written by the PMD only.
#[derive(Debug, Default)]
pub struct PmdIntervals {
    /// TSC cycles of the last complete interval (0: none yet).
    interval_cycles: AtomicU64,
    /// Busy cycles per interval.
    busy: [AtomicU64; INTERVALS],
    /// Busy share of the PMD's own cycles per interval, in percent (`pmd-auto-lb`'s load).
    load: [AtomicU64; INTERVALS],
    /// Intervals completed.
    idx: AtomicU64,
}

impl PmdIntervals {
    /// Closes an interval: `total` TSC cycles long, `busy` of them processing packets, `idle`
    /// polling or sleeping in vain.
    pub fn end_interval(&self, total: u64, busy: u64, idle: u64) {
        let idx = self.idx.load(Ordering::Relaxed);
        let slot = (idx % INTERVALS as u64) as usize;
        self.interval_cycles.store(total, Ordering::Relaxed);
        self.busy[slot].store(busy, Ordering::Relaxed);
        let load = (busy * 100).checked_div(busy + idle).unwrap_or(0);
        self.load[slot].store(load, Ordering::Relaxed);
        self.idx.store(idx + 1, Ordering::Relaxed);
    }

    /// TSC cycles of the last complete interval (0: none yet).
    pub fn interval_cycles(&self) -> u64 {
        self.interval_cycles.load(Ordering::Relaxed)
    }

    /// Busy cycles of the last `n` intervals.
    pub fn busy_last(&self, n: usize) -> u64 {
        last_n(&self.busy, self.idx.load(Ordering::Relaxed), n)
    }

    /// Intervals completed so far.
    pub fn completed(&self) -> u64 {
        self.idx.load(Ordering::Relaxed)
    }

    /// Whether each of the last [`INTERVALS`] intervals had a load of at least `threshold`
    /// percent (OVS counts consecutive overloaded intervals; a PMD is overloaded once it has
    /// a full ring of them).
    pub fn overloaded(&self, threshold: u64) -> bool {
        self.completed() >= INTERVALS as u64 && self.load.iter().all(|l| l.load(Ordering::Relaxed) >= threshold)
    }
}

/// The PMD's side of interval bookkeeping: what it had at the start of the interval.
#[derive(Debug, Default)]
pub struct IntervalMark {
    /// TSC at the start.
    pub tsc: u64,
    /// Busy cycles counter at the start.
    pub busy: u64,
    /// Idle cycles counter at the start.
    pub idle: u64,
    /// `now_ms` when the interval ends.
    pub next_ms: u64,
}

impl IntervalMark {
    /// A mark at the current TSC and counters.
    pub fn now(c: &PmdCounters, next_ms: u64) -> Self {
        IntervalMark { tsc: cycles(), busy: c.busy_cycles, idle: c.idle_cycles, next_ms }
    }
}

/// TSC ticks per second, measured once (20 ms against the monotonic clock).
pub fn tsc_hz() -> u64 {
    static HZ: OnceLock<u64> = OnceLock::new();
    *HZ.get_or_init(|| {
        let (t0, c0) = (Instant::now(), cycles());
        std::thread::sleep(Duration::from_millis(20));
        let (dt, dc) = (t0.elapsed(), cycles().wrapping_sub(c0));
        ((dc as f64) / dt.as_secs_f64()).max(1.0) as u64
    })
}

/// One receive queue's line in `pmd-rxq-show`.
#[derive(Clone, Debug)]
pub struct RxqLine {
    /// Port name.
    pub port: String,
    /// Queue id.
    pub queue: usize,
    /// Processing cycles over the displayed intervals.
    pub cycles: u64,
}

/// One PMD's block in `pmd-rxq-show`.
#[derive(Clone, Debug)]
pub struct PmdRxqView {
    /// NUMA node.
    pub numa: u32,
    /// Core (or PMD index when not pinned).
    pub core: usize,
    /// Takes only pinned queues.
    pub isolated: bool,
    /// Its queues.
    pub rxqs: Vec<RxqLine>,
    /// Cycles of one interval (0: not measured yet).
    pub interval_cycles: u64,
    /// Busy cycles over the displayed intervals.
    pub busy_cycles: u64,
}

/// Seconds that `-secs` selects: rounded up to whole intervals, at most all of them
/// (0 or too many: all), as OVS.
pub fn rxq_show_secs(secs: Option<u64>) -> u64 {
    let max = INTERVALS as u64 * INTERVAL_MS / 1000;
    let len = INTERVAL_MS / 1000;
    match secs {
        Some(s) if s > 0 && s <= max => s.div_ceil(len) * len,
        _ => max,
    }
}

/// Renders `dpif-netdev/pmd-rxq-show` in OVS 3.1's layout. `pmds` in (numa, core) order,
/// their queues in (port name, queue) order; `secs` from [`rxq_show_secs`].
pub fn format_rxq_show(pmds: &[PmdRxqView], secs: u64) -> String {
    let mut s = format!("Displaying last {secs} seconds pmd usage %\n");
    let intervals = secs.div_ceil(INTERVAL_MS / 1000);
    for p in pmds {
        let _ = writeln!(s, "pmd thread numa_id {} core_id {}:", p.numa, p.core);
        let _ = writeln!(s, "  isolated : {}", p.isolated);
        let total = p.interval_cycles * intervals;
        let busy = p.busy_cycles.min(total);
        let mut rxq_total = 0;
        for q in &p.rxqs {
            rxq_total += q.cycles;
            let _ = write!(s, "  port: {:<16}  queue-id: {:>2} (enabled)   pmd usage: ", q.port, q.queue);
            if total > 0 {
                let _ = writeln!(s, "{:>2.0} %", (q.cycles * 100) as f64 / total as f64);
            } else {
                s.push_str("NOT AVAIL\n");
            }
        }
        if !p.rxqs.is_empty() {
            s.push_str("  overhead: ");
            if total > 0 {
                let overhead = busy.saturating_sub(rxq_total);
                let _ = writeln!(s, "{:>2.0} %", (overhead * 100) as f64 / total as f64);
            } else {
                s.push_str("NOT AVAIL\n");
            }
        }
    }
    s
}

/// Renders one PMD's `dpif-netdev/pmd-perf-show` block: OVS's overall statistics (without the
/// hardware offload, MFEX, SMC and simple-match lines rvs does not have), then cycles per
/// packet per stage. `duration_s` is the measurement time, `now` the wall clock `HH:MM:SS.mmm`.
pub fn format_perf_show(out: &mut String, numa: u32, core: usize, c: &PmdCounters, duration_s: f64, now: &str, hz: u64) {
    let us_per_cycle = 1e6 / hz as f64;
    let _ = writeln!(out, "\nTime: {now}\nMeasurement duration: {duration_s:.3} s\n");
    let _ = writeln!(out, "pmd thread numa_id {numa} core_id {core}:\n");
    if duration_s == 0.0 {
        return;
    }
    let sleep = c.sleep_cycles;
    let tot = (c.busy_cycles + c.idle_cycles).saturating_sub(sleep);
    let idle = c.idle_cycles.saturating_sub(sleep);
    let it = c.iterations;
    let busy_it = c.busy_iterations;
    let pct = |a: f64, b: f64| if b == 0.0 { 0.0 } else { 100.0 * a / b };
    let _ = writeln!(out, "  Iterations:         {it:>12}  ({:.2} us/it)", if it > 0 { (tot + sleep) as f64 * us_per_cycle / it as f64 } else { 0.0 });
    let _ = writeln!(out, "  - Used TSC cycles:  {tot:>12}  ({:5.1} % of total cycles)", 100.0 * (tot as f64 / duration_s) / hz as f64);
    let _ = writeln!(out, "  - idle iterations:  {:>12}  ({:5.1} % of used cycles)", it - busy_it.min(it), pct(idle as f64, tot as f64));
    let _ = writeln!(out, "  - busy iterations:  {busy_it:>12}  ({:5.1} % of used cycles)", pct(c.busy_cycles as f64, tot as f64));
    let _ = writeln!(out, "  - sleep iterations: {:>12}  ({:5.1} % of iterations)", c.sleeps, pct(c.sleeps as f64, it as f64));
    let sleep_us = sleep as f64 * us_per_cycle;
    let _ = writeln!(out, "  Sleep time (us):    {sleep_us:>12.0}  ({:3.0} us/iteration avg.)", if c.sleeps > 0 { sleep_us / c.sleeps as f64 } else { 0.0 });
    let rx = c.rx_packets;
    if rx > 0 {
        let passes = rx as f64;
        let _ = writeln!(out, "  Rx packets:         {rx:>12}  ({:.0} Kpps, {:.0} cycles/pkt)", rx as f64 / duration_s / 1000.0, c.busy_cycles as f64 / rx as f64);
        let _ = writeln!(out, "  Datapath passes:    {rx:>12}  ({:.2} passes/pkt)", 1.0);
        let _ = writeln!(out, "  - EMC hits:         {:>12}  ({:5.1} %)", c.emc_hits, pct(c.emc_hits as f64, passes));
        let per_hit = if c.megaflow_hits > 0 { c.megaflow_subtable_lookups as f64 / c.megaflow_hits as f64 } else { 0.0 };
        let _ = writeln!(out, "  - Megaflow hits:    {:>12}  ({:5.1} %, {per_hit:.2} subtbl lookups/hit)", c.megaflow_hits, pct(c.megaflow_hits as f64, passes));
        let upcalls = c.upcalls + c.upcalls_failed;
        let us_up = if upcalls > 0 { c.upcall_cycles as f64 * us_per_cycle / upcalls as f64 } else { 0.0 };
        let _ = writeln!(out, "  - Upcalls:          {upcalls:>12}  ({:5.1} %, {us_up:.1} us/upcall)", pct(upcalls as f64, passes));
        let _ = writeln!(out, "  - Lost upcalls:     {:>12}  ({:5.1} %)", c.upcalls_failed, pct(c.upcalls_failed as f64, passes));
    } else {
        let _ = writeln!(out, "  Rx packets:         {:>12}", 0);
    }
    if c.tx_packets > 0 {
        let _ = writeln!(out, "  Tx packets:         {:>12}  ({:.0} Kpps)", c.tx_packets, c.tx_packets as f64 / duration_s / 1000.0);
        let per_batch = if c.tx_batches > 0 { c.tx_packets as f64 / c.tx_batches as f64 } else { 0.0 };
        let _ = writeln!(out, "  Tx batches:         {:>12}  ({per_batch:.2} pkts/batch)", c.tx_batches);
    } else {
        let _ = writeln!(out, "  Tx packets:         {:>12}\n", 0);
    }
    if rx > 0 {
        // Upcalls are timed in every iteration; the other stages in one busy iteration of
        // STAGE_SAMPLE_EVERY, which stand for all the busy cycles that were not upcalls.
        let scale = if c.stage_busy_cycles > 0 { c.busy_cycles.saturating_sub(c.upcall_cycles) as f64 / c.stage_busy_cycles as f64 } else { 0.0 };
        let stages = [
            ("Rx", c.rx_cycles as f64 * scale),
            ("EMC+megaflow", c.lookup_cycles as f64 * scale),
            ("Upcalls", c.upcall_cycles as f64),
            ("Actions", c.action_cycles as f64 * scale),
            ("Tx", c.tx_cycles as f64 * scale),
        ];
        let _ = writeln!(out, "  Cycles per packet by stage:");
        for (name, cyc) in stages {
            let label = format!("- {name}:");
            let _ = writeln!(out, "  {label:<20}{:>12.1}  ({:5.1} % of busy cycles)", cyc / rx as f64, pct(cyc, c.busy_cycles as f64));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_sum_the_last_intervals() {
        let r = RxqStats::default();
        for c in 1..=14 {
            r.end_interval(c);
        }
        // Kept: 3..=14.
        assert_eq!(r.history(), (3..=14).sum::<u64>());
        assert_eq!(r.last(2), 13 + 14);
        r.park_current(7);
        assert_eq!((r.take_current(), r.take_current()), (7, 0));
    }

    #[test]
    fn overload_needs_a_full_ring_above_the_threshold() {
        let p = PmdIntervals::default();
        for _ in 0..INTERVALS - 1 {
            p.end_interval(100, 96, 4);
        }
        assert!(!p.overloaded(95));
        p.end_interval(100, 96, 4);
        assert!(p.overloaded(95));
        p.end_interval(100, 50, 50);
        assert!(!p.overloaded(95));
        assert_eq!(p.busy_last(2), 96 + 50);
    }

    #[test]
    fn secs_round_up_to_intervals() {
        assert_eq!(rxq_show_secs(None), 60);
        assert_eq!(rxq_show_secs(Some(5)), 5);
        assert_eq!(rxq_show_secs(Some(7)), 10);
        assert_eq!(rxq_show_secs(Some(0)), 60);
        assert_eq!(rxq_show_secs(Some(61)), 60);
    }

    #[test]
    fn rxq_show_layout_is_ovs_3_1() {
        // The "NOT AVAIL" text is byte for byte what ovs-vswitchd 3.1 printed for dummy-pmd
        // ports p0 (3 queues) and p1 (2 queues, queue 0 pinned to core 1).
        let line = |port: &str, queue| RxqLine { port: port.into(), queue, cycles: 0 };
        let pmds = vec![
            PmdRxqView {
                numa: 0,
                core: 0,
                isolated: false,
                rxqs: vec![line("p0", 0), line("p0", 1), line("p0", 2), line("p1", 1)],
                interval_cycles: 0,
                busy_cycles: 0,
            },
            PmdRxqView { numa: 0, core: 1, isolated: true, rxqs: vec![line("p1", 0)], interval_cycles: 0, busy_cycles: 0 },
        ];
        let expected = "Displaying last 60 seconds pmd usage %
pmd thread numa_id 0 core_id 0:
  isolated : false
  port: p0                queue-id:  0 (enabled)   pmd usage: NOT AVAIL
  port: p0                queue-id:  1 (enabled)   pmd usage: NOT AVAIL
  port: p0                queue-id:  2 (enabled)   pmd usage: NOT AVAIL
  port: p1                queue-id:  1 (enabled)   pmd usage: NOT AVAIL
  overhead: NOT AVAIL
pmd thread numa_id 0 core_id 1:
  isolated : true
  port: p1                queue-id:  0 (enabled)   pmd usage: NOT AVAIL
  overhead: NOT AVAIL
";
        assert_eq!(format_rxq_show(&pmds, 60), expected);
        // Measured: 12 intervals of 1000 cycles; the queues took 4710 and 360, the PMD was
        // busy 6000.
        let measured = vec![PmdRxqView {
            numa: 0,
            core: 3,
            isolated: false,
            rxqs: vec![RxqLine { port: "dpdk0".into(), queue: 0, cycles: 4710 }, RxqLine { port: "dpdk0".into(), queue: 1, cycles: 360 }],
            interval_cycles: 1000,
            busy_cycles: 6000,
        }];
        let text = format_rxq_show(&measured, 60);
        assert!(text.contains("  port: dpdk0             queue-id:  0 (enabled)   pmd usage: 39 %\n"), "{text}");
        assert!(text.contains("  port: dpdk0             queue-id:  1 (enabled)   pmd usage:  3 %\n"), "{text}");
        assert!(text.ends_with("  overhead:  8 %\n"), "{text}");
    }

    #[test]
    fn perf_show_layout() {
        let c = PmdCounters {
            iterations: 1000,
            busy_iterations: 400,
            busy_cycles: 3_200_000,
            idle_cycles: 800_000,
            rx_packets: 12_800,
            emc_hits: 12_000,
            megaflow_hits: 790,
            megaflow_subtable_lookups: 790,
            upcalls: 10,
            upcall_cycles: 210_000,
            tx_packets: 12_800,
            tx_batches: 400,
            // The stages were timed in one busy iteration in eight: their cycles stand for
            // eight times as many.
            stage_busy_cycles: (3_200_000 - 210_000) / 8,
            rx_cycles: 80_000,
            lookup_cycles: 160_000,
            action_cycles: 80_000,
            tx_cycles: 56_000,
            ..Default::default()
        };
        let mut s = String::new();
        format_perf_show(&mut s, 0, 1, &c, 2.0, "10:35:48.457", 2_000_000_000);
        let expected = "
Time: 10:35:48.457
Measurement duration: 2.000 s

pmd thread numa_id 0 core_id 1:

  Iterations:                 1000  (2.00 us/it)
  - Used TSC cycles:       4000000  (  0.1 % of total cycles)
  - idle iterations:           600  ( 20.0 % of used cycles)
  - busy iterations:           400  ( 80.0 % of used cycles)
  - sleep iterations:            0  (  0.0 % of iterations)
  Sleep time (us):               0  (  0 us/iteration avg.)
  Rx packets:                12800  (6 Kpps, 250 cycles/pkt)
  Datapath passes:           12800  (1.00 passes/pkt)
  - EMC hits:                12000  ( 93.8 %)
  - Megaflow hits:             790  (  6.2 %, 1.00 subtbl lookups/hit)
  - Upcalls:                    10  (  0.1 %, 10.5 us/upcall)
  - Lost upcalls:                0  (  0.0 %)
  Tx packets:                12800  (6 Kpps)
  Tx batches:                  400  (32.00 pkts/batch)
  Cycles per packet by stage:
  - Rx:                       50.0  ( 20.0 % of busy cycles)
  - EMC+megaflow:            100.0  ( 40.0 % of busy cycles)
  - Upcalls:                  16.4  (  6.6 % of busy cycles)
  - Actions:                  50.0  ( 20.0 % of busy cycles)
  - Tx:                       35.0  ( 14.0 % of busy cycles)
";
        assert_eq!(s, expected);
    }
}
