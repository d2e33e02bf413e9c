//! PMD counters: owned by the PMD, published for readers.
//!
//! A PMD increments plain `u64`s in [`PmdCounters`] (no atomics, no sharing on the hot path)
//! and every few iterations copies them into [`PmdStatsShared`] with relaxed stores (Snabb's
//! double-buffered counters). Readers (`rvs-appctl`) see values at most one publication old.
//! `pmd-stats-clear` is done by readers remembering a baseline, never by writing into the
//! PMD's counters.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::drops::{DropReason, N_DROP_REASONS};

macro_rules! counters {
    ($( $(#[$doc:meta])* $name:ident, )*) => {
        /// The PMD's own counters.
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct PmdCounters {
            $( $(#[$doc])* pub $name: u64, )*
            /// Drops by reason ([`DropReason::index`]).
            pub drops: [u64; N_DROP_REASONS],
        }

        /// The published copy of a PMD's counters.
        #[derive(Debug)]
        pub struct PmdStatsShared {
            $( $name: AtomicU64, )*
            drops: [AtomicU64; N_DROP_REASONS],
        }

        impl Default for PmdStatsShared {
            fn default() -> Self {
                PmdStatsShared {
                    $( $name: AtomicU64::new(0), )*
                    drops: std::array::from_fn(|_| AtomicU64::new(0)),
                }
            }
        }

        impl PmdStatsShared {
            /// Publishes the PMD's counters (called by the PMD only).
            pub fn publish(&self, c: &PmdCounters) {
                $( self.$name.store(c.$name, Ordering::Relaxed); )*
                for (d, v) in self.drops.iter().zip(c.drops.iter()) {
                    d.store(*v, Ordering::Relaxed);
                }
            }

            /// The last published values.
            pub fn snapshot(&self) -> PmdCounters {
                let mut drops = [0; N_DROP_REASONS];
                for (d, v) in drops.iter_mut().zip(self.drops.iter()) {
                    *d = v.load(Ordering::Relaxed);
                }
                PmdCounters { $( $name: self.$name.load(Ordering::Relaxed), )* drops }
            }
        }

        impl PmdCounters {
            /// `self - base`, counter by counter (for `pmd-stats-clear` baselines).
            pub fn since(&self, base: &PmdCounters) -> PmdCounters {
                let mut drops = [0; N_DROP_REASONS];
                for (i, d) in drops.iter_mut().enumerate() {
                    *d = self.drops[i].saturating_sub(base.drops[i]);
                }
                PmdCounters { $( $name: self.$name.saturating_sub(base.$name), )* drops }
            }
        }
    };
}

counters! {
    /// Packets received from ports.
    rx_packets,
    /// Packets answered by the exact-match cache.
    emc_hits,
    /// Packets answered by the megaflow cache.
    megaflow_hits,
    /// Subtables probed by megaflow hits (for the average).
    megaflow_subtable_lookups,
    /// Misses translated and installed.
    upcalls,
    /// Misses translated but not installed (flow limit) or failed.
    upcalls_failed,
    /// Packets handed to transmit queues.
    tx_packets,
    /// Transmit bursts (for packets per output batch).
    tx_batches,
    /// Packets sent to the controller.
    packet_ins,
    /// TSC cycles of iterations that received packets.
    busy_cycles,
    /// TSC cycles of iterations that received nothing (including sleeps).
    idle_cycles,
    /// Iterations.
    iterations,
    /// Times the PMD slept for lack of work.
    sleeps,
    /// Iterations that received packets.
    busy_iterations,
    /// TSC cycles spent sleeping (part of `idle_cycles`).
    sleep_cycles,
    /// TSC cycles of the busy iterations whose stages were timed (one in
    /// [`crate::pmd_loop::STAGE_SAMPLE_EVERY`]), less their upcall cycles: the stage counters
    /// `rx_cycles`, `lookup_cycles`, `action_cycles` and `tx_cycles` cover these cycles only.
    stage_busy_cycles,
    /// TSC cycles in receive bursts that brought packets (timed iterations only).
    rx_cycles,
    /// TSC cycles extracting keys and looking them up in the EMC and megaflow cache (timed
    /// iterations only).
    lookup_cycles,
    /// TSC cycles translating misses and installing megaflows (every iteration).
    upcall_cycles,
    /// TSC cycles grouping packets and executing actions (timed iterations only).
    action_cycles,
    /// TSC cycles flushing transmit buffers in busy iterations (timed iterations only).
    tx_cycles,
}

impl PmdCounters {
    /// Counts a drop.
    #[inline]
    pub fn drop(&mut self, reason: DropReason, n: u64) {
        self.drops[reason.index()] += n;
    }

    /// Total drops.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }
}

/// Reads the CPU's time-stamp counter (cycles), or a nanosecond clock elsewhere.
#[inline(always)]
pub fn cycles() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: rdtsc has no preconditions.
        unsafe { std::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        use std::time::Instant;
        static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }
}

/// Renders one PMD's counters in the layout of OVS's `dpif-netdev/pmd-stats-show`.
pub fn format_pmd_stats(out: &mut String, header: &str, c: &PmdCounters) {
    let pct = |part: u64, whole: u64| if whole == 0 { 0.0 } else { 100.0 * part as f64 / whole as f64 };
    let avg = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let total_cycles = c.busy_cycles + c.idle_cycles;
    let _ = writeln!(out, "{header}:");
    let _ = writeln!(out, "  packets received: {}", c.rx_packets);
    let _ = writeln!(out, "  packet recirculations: 0");
    let _ = writeln!(out, "  avg. datapath passes per packet: {:.2}", if c.rx_packets == 0 { 0.0 } else { 1.0 });
    let _ = writeln!(out, "  emc hits: {}", c.emc_hits);
    let _ = writeln!(out, "  megaflow hits: {}", c.megaflow_hits);
    let _ = writeln!(out, "  avg. subtable lookups per megaflow hit: {:.2}", avg(c.megaflow_subtable_lookups, c.megaflow_hits));
    let _ = writeln!(out, "  miss with success upcall: {}", c.upcalls);
    let _ = writeln!(out, "  miss with failed upcall: {}", c.upcalls_failed);
    let _ = writeln!(out, "  avg. packets per output batch: {:.2}", avg(c.tx_packets, c.tx_batches));
    let _ = writeln!(out, "  idle cycles: {} ({:.2}%)", c.idle_cycles, pct(c.idle_cycles, total_cycles));
    let _ = writeln!(out, "  processing cycles: {} ({:.2}%)", c.busy_cycles, pct(c.busy_cycles, total_cycles));
    let _ = writeln!(out, "  avg cycles per packet: {:.2} ({}/{})", avg(total_cycles, c.rx_packets), total_cycles, c.rx_packets);
    let _ = writeln!(out, "  avg processing cycles per packet: {:.2} ({}/{})", avg(c.busy_cycles, c.rx_packets), c.busy_cycles, c.rx_packets);
    let upcall_us = c.upcall_cycles as f64 * 1e6 / crate::pmd_perf::tsc_hz() as f64;
    let _ = writeln!(out, "  avg upcall time: {:.2} us", upcall_us / (c.upcalls + c.upcalls_failed).max(1) as f64);
    let _ = writeln!(out, "  packets sent to controller: {}", c.packet_ins);
    let drops = c.total_drops();
    let _ = writeln!(out, "  packets dropped: {drops}");
    for r in DropReason::all() {
        let n = c.drops[r.index()];
        if n != 0 {
            let _ = writeln!(out, "    {}: {n}", r.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_snapshot_and_baseline() {
        let shared = PmdStatsShared::default();
        let mut c = PmdCounters { rx_packets: 10, emc_hits: 7, ..Default::default() };
        c.drop(DropReason::Actions, 2);
        shared.publish(&c);
        let s = shared.snapshot();
        assert_eq!(s, c);
        c.rx_packets = 15;
        shared.publish(&c);
        let d = shared.snapshot().since(&s);
        assert_eq!((d.rx_packets, d.emc_hits, d.total_drops()), (5, 0, 0));
        let mut text = String::new();
        format_pmd_stats(&mut text, "pmd thread numa_id 0 core_id 1", &c);
        assert!(text.contains("  packets received: 15\n"));
        assert!(text.contains("    drop_action: 2\n"));
    }
}
