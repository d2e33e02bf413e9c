//! `rvs-pmd-bench`: the PMD pipeline scenarios as a quick table, for reports and profiling.
//!
//! ```text
//! rvs-pmd-bench [-r RUNS] [-d SECONDS | -n STEPS] [-f] [SCENARIO...]
//! ```
//! Each run measures one scenario for about `SECONDS` (default 2) after its warm-up; the table
//! gives the median over `RUNS` (default 5) of ns/packet and Mpps by wall time, the share of the
//! wall time the thread was on a CPU (`oncpu`, as anchor-bench reports it) and the same figures
//! by the thread's CPU time (`cpu ns/pkt`, `Mpps norm`, comparable to the anchor's
//! `mpps_norm`). For `new-flows`, flow setups per second are reported too. Scenarios: `1flow`,
//! `10k-flows`, `1k-rules-100k-flows`, `new-flows` (default: all).
//!
//! `-n STEPS` runs a fixed number of steps per run instead. Under valgrind, run
//! `valgrind --tool=callgrind --toggle-collect='*run_step*' rvs-pmd-bench -r 1 -n 100 1flow`
//! (only the measured steps are counted, not the warm-up) and divide instructions by packets
//! (`steps x packets per step`, printed on stderr).
//!
//! `-f` times what happens between steps too: for `new-flows`, the deletion of the megaflows
//! that the next step sets up again. A setup then costs what it costs in `rvs-bench`'s churn
//! (every flow set up is deleted again); without `-f`, only the setups are timed.

use std::time::Duration;

use rvs_benches::scenario::{Clock, Scenario};

struct Run {
    packets: u64,
    wall: Duration,
    cpu: Duration,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn usage() -> ! {
    eprintln!("usage: rvs-pmd-bench [-r RUNS] [-d SECONDS | -n STEPS] [-f] [1flow|10k-flows|1k-rules-100k-flows|new-flows ...]");
    std::process::exit(2)
}

fn main() {
    let mut runs = 5usize;
    let mut seconds = 2.0f64;
    let mut steps: Option<u64> = None;
    let mut time_between = false;
    let mut scenarios = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-r" => runs = args.next().and_then(|v| v.parse().ok()).filter(|r| *r > 0).unwrap_or_else(|| usage()),
            "-d" => seconds = args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage()),
            "-n" => steps = Some(args.next().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or_else(|| usage())),
            "-f" => time_between = true,
            "-h" | "--help" => usage(),
            name => scenarios.push(Scenario::from_name(name).unwrap_or_else(|| usage())),
        }
    }
    if scenarios.is_empty() {
        scenarios = Scenario::ALL.to_vec();
    }
    println!("| scenario | ns/pkt (wall) | Mpps (wall) | oncpu | ns/pkt (cpu) | Mpps norm | min-max norm | EMC % | megaflow % | setups/s (cpu) |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for scenario in scenarios {
        let mut bench = scenario.build();
        let mut results = Vec::new();
        let before = bench.counters().clone();
        for _ in 0..runs {
            let w0 = Clock::Wall.now();
            let mut packets = 0;
            let mut wall = Duration::ZERO;
            let mut cpu = Duration::ZERO;
            loop {
                let (w, c) = (Clock::Wall.now(), Clock::ThreadCpu.now());
                bench.run_step();
                if time_between {
                    bench.between_steps();
                }
                wall += Clock::Wall.now() - w;
                cpu += Clock::ThreadCpu.now() - c;
                packets += bench.packets_per_step();
                if !time_between {
                    bench.between_steps();
                }
                let done = match steps {
                    Some(n) => packets >= n * bench.packets_per_step(),
                    None => (Clock::Wall.now() - w0).as_secs_f64() >= seconds,
                };
                if done {
                    break;
                }
            }
            results.push(Run { packets, wall, cpu });
        }
        let d = bench.counters().since(&before);
        eprintln!("{}: {} packets measured in {runs} run(s)", scenario.name(), d.rx_packets);
        let ns_wall = median(results.iter().map(|r| r.wall.as_nanos() as f64 / r.packets as f64).collect());
        let ns_cpu = median(results.iter().map(|r| r.cpu.as_nanos() as f64 / r.packets as f64).collect());
        let oncpu = median(results.iter().map(|r| r.cpu.as_secs_f64() / r.wall.as_secs_f64()).collect());
        let norm: Vec<f64> = results.iter().map(|r| r.packets as f64 / r.cpu.as_secs_f64() / 1e6).collect();
        let (lo, hi) = norm.iter().fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        let pct = |n: u64| 100.0 * n as f64 / d.rx_packets.max(1) as f64;
        let setups = if scenario == Scenario::NewFlows {
            let cpu: f64 = results.iter().map(|r| r.cpu.as_secs_f64()).sum();
            format!("{:.2} M", d.upcalls as f64 / cpu / 1e6)
        } else {
            "-".to_string()
        };
        println!(
            "| {} | {:.1} | {:.1} | {:.2} | {:.1} | **{:.1}** | {:.1}-{:.1} | {:.1} | {:.1} | {} |",
            scenario.name(),
            ns_wall,
            1e3 / ns_wall,
            oncpu,
            ns_cpu,
            1e3 / ns_cpu,
            lo,
            hi,
            pct(d.emc_hits),
            pct(d.megaflow_hits),
            setups
        );
    }
}
