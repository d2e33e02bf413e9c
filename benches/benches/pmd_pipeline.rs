//! Criterion benchmarks of the PMD pipeline on in-memory ports, in the anchor-bench scenarios
//! (see `rvs_benches::scenario`). Throughput is packets through `Pmd::iteration` per second;
//! criterion's "time" is per step (`iterations_per_step` x 32 packets).
//!
//! `cargo bench -p rvs-benches --bench pmd_pipeline [-- NAME]`; `RVS_BENCH_CLOCK=cpu` measures
//! the thread's CPU time instead of wall time.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rvs_benches::scenario::{Clock, Scenario};

fn pmd_pipeline(c: &mut Criterion) {
    let clock = Clock::from_env();
    for scenario in Scenario::ALL {
        let mut group = c.benchmark_group("pmd");
        group.sample_size(30).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
        let mut bench = scenario.build();
        group.throughput(Throughput::Elements(bench.packets_per_step()));
        group.bench_function(scenario.name(), |b| b.iter_custom(|steps| bench.timed_steps(steps, clock)));
        group.finish();
        let c = bench.counters();
        eprintln!(
            "{}: emc hits {:.1}%, megaflow hits {:.1}%, upcalls {}, megaflows {}, avg upcall {:.2} us",
            scenario.name(),
            100.0 * c.emc_hits as f64 / c.rx_packets.max(1) as f64,
            100.0 * c.megaflow_hits as f64 / c.rx_packets.max(1) as f64,
            c.upcalls,
            bench.sw.n_megaflows(),
            c.upcall_cycles as f64 * 1e6 / rvs_dataplane::pmd_perf::tsc_hz() as f64 / c.upcalls.max(1) as f64,
        );
    }
}

criterion_group!(benches, pmd_pipeline);
criterion_main!(benches);
