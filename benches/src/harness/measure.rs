//! One measurement of a running system: counters read at both ends of a timed window.
//!
//! # Method (as anchor-bench)
//! After a warm-up, the sink port's TX packet counter is read twice, `duration` seconds
//! apart, and so is the worker thread's run time from `schedstat`. Each read of a counter takes
//! a few milliseconds (a command to the system); its moment is the midpoint of the read.
//!
//! * `mpps` = TX packets in the window / wall seconds of the window / 10^6;
//! * `oncpu` = worker run time in the window / wall time of the window (at most 1);
//! * `cycles_per_pkt` = worker run time in TSC cycles / TX packets: what one packet costs the
//!   poll-mode core, the same definition for every system (a PMD that never idles, as here,
//!   spends all its on-CPU time on packets).
//!
//! # new-flows: the cost of a flow setup
//! The window is split in [`CHURN_ROUNDS`] rounds of two halves. In the first half of a
//! round, nothing happens: the 8,000 megaflows exist and every packet hits them. In the
//! second, the harness deletes every datapath flow every [`PURGE_INTERVAL`], so every source
//! address is set up again and again; the switch's own counter of successful upcalls gives
//! the number of setups. Summed over the rounds: the steady halves give `c_hit` cycles per
//! packet; with `C` worker cycles, `P` packets and `U` setups in the churning halves, one
//! setup costs `c_setup = (C - P * c_hit) / U` cycles beyond forwarding the packet, and one
//! core sets up `TSC Hz / c_setup` flows per second. The CSV's Mpps for `new-flows` are those
//! of the churning halves (forwarding while flows churn).
//!
//! `c_setup` is a difference, about 35 packets' worth of `c_hit` per setup, so a drift of
//! the machine's speed between the halves (a shared VM) weighs on it 35 times over.
//! Alternating the halves in short rounds puts both under the same drift. Before each steady
//! half after the first, [`SETTLE`] passes unmeasured, so that the flows the last purge
//! removed are set up again before `c_hit` is measured.

use std::time::{Duration, Instant};

use super::sys::{self, Interrupted};

/// How often the datapath flows are deleted in the churning halves of a `new-flows` window.
pub const PURGE_INTERVAL: Duration = Duration::from_millis(20);
/// Rounds (a steady half, then a churning half) of a `new-flows` window.
pub const CHURN_ROUNDS: u32 = 4;
/// Unmeasured time between a round's churning half and the next round's steady half.
pub const SETTLE: Duration = Duration::from_millis(250);

/// A system started for one run, measured through this interface.
pub trait Running {
    /// The process id and thread id of the poll-mode worker.
    fn worker(&self) -> (u32, u32);
    /// Packets the sink port has transmitted so far.
    fn tx_packets(&mut self) -> Result<u64, String>;
    /// Successful flow setups (upcalls) so far, summed over PMDs; `None` for a system without
    /// flows (testpmd).
    fn setups(&mut self) -> Result<Option<u64>, String>;
    /// Deletes every datapath flow (megaflows and exact-match entries).
    fn purge_flows(&mut self) -> Result<(), String>;
}

/// Why a run produced no sample.
#[derive(Debug)]
pub enum RunError {
    /// The system cannot run this scenario here (not installed, not built with DPDK, no such
    /// feature): the same for every run, said once.
    Unavailable(String),
    /// This run failed.
    Failed(String),
    /// Ctrl-C.
    Interrupted,
}

impl From<Interrupted> for RunError {
    fn from(_: Interrupted) -> RunError {
        RunError::Interrupted
    }
}

impl From<std::io::Error> for RunError {
    fn from(e: std::io::Error) -> RunError {
        RunError::Failed(e.to_string())
    }
}

impl From<String> for RunError {
    fn from(s: String) -> RunError {
        RunError::Failed(s)
    }
}

/// What one run measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Million packets per second transmitted by the sink port (wall clock).
    pub mpps: f64,
    /// Share of the window the worker thread was on its CPU.
    pub oncpu: f64,
    /// Worker TSC cycles per packet.
    pub cycles_per_pkt: f64,
    /// `new-flows` only: the cost of one flow setup.
    pub setup: Option<SetupSample>,
}

impl Sample {
    /// Mpps per on-CPU second of the worker: the rate of a core the switch had to itself.
    pub fn mpps_norm(&self) -> f64 {
        if self.oncpu > 0.0 {
            self.mpps / self.oncpu
        } else {
            0.0
        }
    }
}

/// The flow-setup part of a `new-flows` sample.
#[derive(Clone, Debug, PartialEq)]
pub struct SetupSample {
    /// Setups counted in the churn half.
    pub setups: u64,
    /// Worker cycles one setup costs beyond forwarding its packet.
    pub cycles_per_setup: f64,
}

impl SetupSample {
    /// Flow setups per second one core sustains.
    pub fn per_second(&self, tsc_hz: f64) -> f64 {
        if self.cycles_per_setup > 0.0 {
            tsc_hz / self.cycles_per_setup
        } else {
            0.0
        }
    }
}

/// Counters at one moment.
#[derive(Clone, Copy, Debug)]
struct Point {
    t: Instant,
    tx: u64,
    run_ns: u64,
    setups: Option<u64>,
}

fn point(sys: &mut dyn Running) -> Result<Point, RunError> {
    let (pid, tid) = sys.worker();
    let before = Instant::now();
    let tx = sys.tx_packets()?;
    let after = Instant::now();
    let run_ns = sys::thread_run_ns(pid, tid).map_err(|e| format!("worker thread {tid} of {pid}: {e}"))?;
    let setups = sys.setups()?;
    Ok(Point { t: before + (after - before) / 2, tx, run_ns, setups })
}

/// Rate figures between two points (or summed over several windows).
#[derive(Default)]
struct Delta {
    secs: f64,
    packets: u64,
    cycles: f64,
    setups: Option<u64>,
}

fn delta(a: &Point, b: &Point, tsc_hz: f64) -> Result<Delta, RunError> {
    let secs = (b.t - a.t).as_secs_f64();
    let packets = b.tx.checked_sub(a.tx).ok_or_else(|| format!("TX counter went back from {} to {}", a.tx, b.tx))?;
    if packets == 0 {
        return Err(RunError::Failed("no packet was forwarded in the window".into()));
    }
    let cycles = b.run_ns.saturating_sub(a.run_ns) as f64 / 1e9 * tsc_hz;
    let setups = match (a.setups, b.setups) {
        (Some(x), Some(y)) => Some(y.saturating_sub(x)),
        _ => None,
    };
    Ok(Delta { secs, packets, cycles, setups })
}

impl Delta {
    fn add(&mut self, d: &Delta) {
        self.secs += d.secs;
        self.packets += d.packets;
        self.cycles += d.cycles;
        self.setups = match (self.setups, d.setups) {
            (Some(x), Some(y)) => Some(x + y),
            (x, y) => x.or(y),
        };
    }

    fn sample(&self, tsc_hz: f64) -> Sample {
        Sample {
            mpps: self.packets as f64 / self.secs / 1e6,
            oncpu: (self.cycles / tsc_hz / self.secs).min(1.0),
            cycles_per_pkt: self.cycles / self.packets as f64,
            setup: None,
        }
    }
}

struct Progress {
    start: Instant,
    total: f64,
}

/// Waits `d`, reporting progress, and with `purge` deletes its flows every [`PURGE_INTERVAL`].
fn wait(clock: &Progress, tick: &mut dyn FnMut(f64), d: Duration, mut purge: Option<&mut dyn Running>) -> Result<(), RunError> {
    let end = Instant::now() + d;
    let mut next_purge = Instant::now();
    while Instant::now() < end {
        if let Some(s) = purge.as_deref_mut() {
            if Instant::now() >= next_purge {
                s.purge_flows()?;
                next_purge += PURGE_INTERVAL;
            }
        }
        tick((clock.start.elapsed().as_secs_f64() / clock.total).min(1.0));
        let step = match purge {
            Some(_) => next_purge.saturating_duration_since(Instant::now()),
            None => Duration::from_millis(100),
        };
        sys::sleep(step.min(Duration::from_millis(100)).min(end.saturating_duration_since(Instant::now())))?;
    }
    Ok(())
}

/// Measures a started system: warm-up, then the window (split for `new-flows`, see the module
/// documentation). `tick` is called about every 100 ms with the fraction of the run done.
pub fn measure(
    sys: &mut dyn Running,
    churn: bool,
    warmup: Duration,
    duration: Duration,
    tsc_hz: f64,
    tick: &mut dyn FnMut(f64),
) -> Result<Sample, RunError> {
    let settling = if churn { SETTLE * (CHURN_ROUNDS - 1) } else { Duration::ZERO };
    let clock = Progress { start: Instant::now(), total: (warmup + duration + settling).as_secs_f64() };
    wait(&clock, tick, warmup, None)?;
    let p0 = point(sys)?;
    let has_flows = p0.setups.is_some();
    if !(churn && has_flows) {
        wait(&clock, tick, duration, None)?;
        let p1 = point(sys)?;
        return Ok(delta(&p0, &p1, tsc_hz)?.sample(tsc_hz));
    }
    let half = duration / (2 * CHURN_ROUNDS);
    let mut steady = Delta::default();
    let mut churning = Delta::default();
    let mut p0 = p0;
    for round in 0..CHURN_ROUNDS {
        if round > 0 {
            wait(&clock, tick, SETTLE, None)?;
            p0 = point(sys)?;
        }
        wait(&clock, tick, half, None)?;
        let p1 = point(sys)?;
        wait(&clock, tick, half, Some(&mut *sys))?;
        let p2 = point(sys)?;
        steady.add(&delta(&p0, &p1, tsc_hz)?);
        churning.add(&delta(&p1, &p2, tsc_hz)?);
    }
    let c_hit = steady.cycles / steady.packets as f64;
    let setups = churning.setups.unwrap_or(0);
    if setups == 0 {
        return Err(RunError::Failed("no flow was set up while the flows were being deleted".into()));
    }
    let extra = churning.cycles - churning.packets as f64 * c_hit;
    let mut s = churning.sample(tsc_hz);
    s.setup = Some(SetupSample { setups, cycles_per_setup: (extra / setups as f64).max(0.0) });
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake system whose counters advance with wall time at known rates; its "worker" is the
    /// test thread itself, which sleeps (so its on-CPU share is small but positive).
    struct Fake {
        start: Instant,
        pps: f64,
        purges: u64,
        tid: u32,
    }

    impl Running for Fake {
        fn worker(&self) -> (u32, u32) {
            (std::process::id(), self.tid)
        }
        fn tx_packets(&mut self) -> Result<u64, String> {
            Ok((self.start.elapsed().as_secs_f64() * self.pps) as u64)
        }
        fn setups(&mut self) -> Result<Option<u64>, String> {
            Ok(Some(self.purges * 8000))
        }
        fn purge_flows(&mut self) -> Result<(), String> {
            self.purges += 1;
            Ok(())
        }
    }

    fn tid() -> u32 {
        // SAFETY: gettid has no preconditions.
        unsafe { libc::syscall(libc::SYS_gettid) as u32 }
    }

    #[test]
    fn rate_comes_from_the_counter_delta_over_the_window() {
        let mut f = Fake { start: Instant::now(), pps: 1e6, purges: 0, tid: tid() };
        let mut ticks = 0;
        let s = measure(&mut f, false, Duration::from_millis(50), Duration::from_millis(400), 2.6e9, &mut |_| ticks += 1).unwrap();
        // The counter grows at exactly 1 Mpps of wall time; only the moment of each read
        // (a few microseconds) separates the figure from 1.
        assert!((s.mpps - 1.0).abs() < 0.05, "{s:?}");
        assert!(s.oncpu > 0.0 && s.oncpu < 1.0, "{s:?}");
        assert!(s.setup.is_none());
        assert_eq!(f.purges, 0);
        assert!(ticks > 0);
    }

    #[test]
    fn churn_half_deletes_flows_and_counts_setups() {
        let mut f = Fake { start: Instant::now(), pps: 1e6, purges: 0, tid: tid() };
        let s = measure(&mut f, true, Duration::from_millis(10), Duration::from_millis(400), 2.6e9, &mut |_| {}).unwrap();
        assert!(f.purges >= 2, "{}", f.purges);
        let setup = s.setup.expect("setup figures");
        assert_eq!(setup.setups, f.purges * 8000);
    }

    #[test]
    fn a_stalled_counter_fails_the_run() {
        struct Stalled(u32);
        impl Running for Stalled {
            fn worker(&self) -> (u32, u32) {
                (std::process::id(), self.0)
            }
            fn tx_packets(&mut self) -> Result<u64, String> {
                Ok(7)
            }
            fn setups(&mut self) -> Result<Option<u64>, String> {
                Ok(None)
            }
            fn purge_flows(&mut self) -> Result<(), String> {
                Ok(())
            }
        }
        let r = measure(&mut Stalled(tid()), false, Duration::ZERO, Duration::from_millis(50), 2.6e9, &mut |_| {});
        assert!(matches!(r, Err(RunError::Failed(m)) if m.contains("no packet")));
    }
}
