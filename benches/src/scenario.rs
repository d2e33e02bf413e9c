//! The benchmark scenarios: the anchor-bench measurements, with in-memory ports.
//!
//! # Set-up (one core, no thread)
//! A [`TestSwitch`] with two ports: port 1 replays the scenario's frames forever, copying each
//! into a pooled buffer (DPDK `net_pcap` with `infinite_rx`), port 2 discards what it is sent
//! and is not polled (`net_null` with `no-rx`). One PMD, driven by [`Pmd::iteration`] on the
//! calling thread, with the default settings (EMC insertion 1 in 100, as OVS).
//!
//! | scenario | frames | rules | path |
//! |---|---|---|---|
//! | `1flow` | 1 five-tuple | `in_port=1,actions=output:2` | EMC |
//! | `10k-flows` | 10,000 five-tuples | the same | EMC + megaflow (one subtable) |
//! | `1k-rules-100k-flows` | 100,000 five-tuples | `rules1k.txt` (1,000 rules + drop) | megaflow |
//! | `new-flows` | 8,000 source addresses | `ip,nw_src=1.1.1.1` drop + catch-all output | upcall |
//!
//! In `new-flows` each source address needs its own megaflow (exact `nw_src`: the classifier
//! has no prefix tracking, like OVS with `prefixes=none`), so after the caches are emptied
//! every one of the 8,000 packets of a pass over the frames is a flow setup. The caches are
//! emptied after every pass, outside the timed part, so the flow limit is never reached.
//!
//! [`Pmd::iteration`]: rvs_dataplane::pmd_loop::Pmd::iteration

use std::time::Duration;

use rvs_dataplane::pmd_stats::PmdCounters;
use rvs_dataplane::testkit::{PortSetup, TestSwitch};
use rvs_packet::BURST_SIZE;

use crate::anchor;

/// One benchmark scenario. See the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// One five-tuple, one rule: every packet an EMC hit.
    OneFlow,
    /// 10,000 five-tuples through one rule.
    TenKFlows,
    /// 100,000 five-tuples over 1,000 rules on `nw_dst/24` (and `tp_dst`).
    Rules1k,
    /// Every packet a new megaflow.
    NewFlows,
}

impl Scenario {
    /// Every scenario, in report order.
    pub const ALL: [Scenario; 4] = [Scenario::OneFlow, Scenario::TenKFlows, Scenario::Rules1k, Scenario::NewFlows];

    /// The name used on the command line and in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Scenario::OneFlow => "1flow",
            Scenario::TenKFlows => "10k-flows",
            Scenario::Rules1k => "1k-rules-100k-flows",
            Scenario::NewFlows => "new-flows",
        }
    }

    /// The scenario called `name`.
    pub fn from_name(name: &str) -> Option<Scenario> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The frames port 1 replays.
    pub fn frames(self) -> Vec<Vec<u8>> {
        match self {
            Scenario::OneFlow => anchor::flow1(),
            Scenario::TenKFlows => anchor::flows10k(),
            Scenario::Rules1k => anchor::rules100k(),
            Scenario::NewFlows => anchor::upcall8k(),
        }
    }

    /// The OpenFlow table, in `ovs-ofctl add-flows` syntax.
    pub fn rules(self) -> Vec<String> {
        match self {
            Scenario::OneFlow | Scenario::TenKFlows => vec!["in_port=1,actions=output:2".to_string()],
            Scenario::Rules1k => anchor::rules1k(2),
            Scenario::NewFlows => {
                vec!["priority=10,ip,nw_src=1.1.1.1,actions=drop".to_string(), "priority=1,actions=output:2".to_string()]
            }
        }
    }

    /// PMD iterations per measured step. For `new-flows`, one pass over its frames (after
    /// which the caches are emptied); otherwise 64 bursts.
    pub fn iterations_per_step(self) -> u64 {
        match self {
            Scenario::NewFlows => (anchor::upcall8k().len() / BURST_SIZE) as u64,
            _ => 64,
        }
    }

    /// Builds the switch, installs the rules and warms the caches (and the buffer pool) up.
    pub fn build(self) -> Bench {
        let frames = self.frames();
        let n_frames = frames.len() as u64;
        let mut sw = TestSwitch::builder().port(PortSetup::replay(frames)).port(PortSetup::sink()).build();
        let rules = self.rules();
        let rules: Vec<&str> = rules.iter().map(String::as_str).collect();
        sw.flows(&rules);
        let mut bench = Bench { sw, scenario: self, iterations_per_step: self.iterations_per_step() };
        // Warm-up: three passes over the frames (so that the megaflows exist and the EMC holds
        // what it will hold), at least 1,000 iterations.
        let warm = (3 * n_frames / BURST_SIZE as u64).max(1000);
        match self {
            Scenario::NewFlows => {
                for _ in 0..warm / bench.iterations_per_step {
                    bench.step();
                }
            }
            _ => bench.sw.run(warm),
        }
        bench
    }
}

/// A built scenario, ready to measure.
pub struct Bench {
    /// The switch.
    pub sw: TestSwitch,
    /// Which scenario.
    pub scenario: Scenario,
    /// Iterations per [`Bench::step`].
    pub iterations_per_step: u64,
}

impl Bench {
    /// Packets one step processes (every iteration receives a full burst).
    pub fn packets_per_step(&self) -> u64 {
        self.iterations_per_step * BURST_SIZE as u64
    }

    /// One measured step: [`Scenario::iterations_per_step`] iterations. Never inlined, so that
    /// profilers can select it (`valgrind --tool=callgrind --toggle-collect='*run_step*'`).
    #[inline(never)]
    pub fn run_step(&mut self) {
        for _ in 0..std::hint::black_box(self.iterations_per_step) {
            self.sw.run(1);
        }
    }

    /// What has to happen between steps, outside the timed part: for `new-flows`, emptying
    /// the caches so that the next pass sets every flow up again.
    pub fn between_steps(&mut self) {
        if self.scenario == Scenario::NewFlows {
            self.sw.flush_caches();
        }
    }

    /// A step and what follows it.
    pub fn step(&mut self) {
        self.run_step();
        self.between_steps();
    }

    /// Runs `steps` steps and returns the time spent in them (not in [`Bench::between_steps`]),
    /// by `clock`.
    pub fn timed_steps(&mut self, steps: u64, clock: Clock) -> Duration {
        let mut total = Duration::ZERO;
        for _ in 0..steps {
            let t = clock.now();
            self.run_step();
            total += clock.now().saturating_sub(t);
            self.between_steps();
        }
        total
    }

    /// The PMD's counters.
    pub fn counters(&self) -> &PmdCounters {
        self.sw.counters()
    }
}

/// Which clock measures a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// Wall time (monotonic).
    Wall,
    /// CPU time of the calling thread: excludes time other jobs on a shared machine took from
    /// it (the anchor's `mpps_norm`), includes the kernel's own work on its behalf.
    ThreadCpu,
}

impl Clock {
    /// From the environment variable `RVS_BENCH_CLOCK` (`cpu` or `wall`, default wall).
    pub fn from_env() -> Clock {
        match std::env::var("RVS_BENCH_CLOCK").as_deref() {
            Ok("cpu") => Clock::ThreadCpu,
            _ => Clock::Wall,
        }
    }

    /// Now, as a duration since the clock's origin.
    pub fn now(self) -> Duration {
        let id = match self {
            Clock::Wall => libc::CLOCK_MONOTONIC,
            Clock::ThreadCpu => libc::CLOCK_THREAD_CPUTIME_ID,
        };
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_gettime writes one timespec into a valid, exclusive location.
        unsafe { libc::clock_gettime(id, &mut ts) };
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_take_their_intended_path() {
        // Small runs of each scenario; the counters tell which cache answered.
        let mut b = Scenario::OneFlow.build();
        let before = b.counters().clone();
        b.step();
        let d = b.counters().since(&before);
        // The EMC or the megaflow cache, as the PMD's EMC gate finds cheaper.
        assert_eq!((d.rx_packets, d.emc_hits + d.megaflow_hits, d.tx_packets), (b.packets_per_step(), b.packets_per_step(), b.packets_per_step()));
        assert_eq!((b.sw.n_megaflows(), d.upcalls), (1, 0));

        let mut b = Scenario::TenKFlows.build();
        let before = b.counters().clone();
        b.step();
        let d = b.counters().since(&before);
        assert_eq!(d.emc_hits + d.megaflow_hits, d.rx_packets);
        assert_eq!((b.sw.n_megaflows(), d.upcalls, d.tx_packets), (1, 0, d.rx_packets));

        let mut b = Scenario::NewFlows.build();
        let before = b.counters().clone();
        b.step();
        let d = b.counters().since(&before);
        assert_eq!((d.upcalls, d.tx_packets, d.upcalls_failed), (8000, 8000, 0));
        assert_eq!(b.sw.n_megaflows(), 0, "emptied after the step");
    }

    #[test]
    fn rules1k_sends_every_frame_by_its_rule() {
        let mut b = Scenario::Rules1k.build();
        let before = b.counters().clone();
        for _ in 0..10 {
            b.step();
        }
        let d = b.counters().since(&before);
        // Every frame matches one of the 1,000 rules (none falls to the drop rule).
        assert_eq!((d.tx_packets, d.total_drops(), d.upcalls), (d.rx_packets, 0, 0));
        assert_eq!(d.emc_hits + d.megaflow_hits, d.rx_packets);
        assert!(b.sw.n_megaflows() >= 1000, "{}", b.sw.n_megaflows());
    }
}
