//! `rvs-bench`: rvs, OVS-DPDK and dpdk-testpmd io forwarding, side by side, in one run.
//!
//! ```text
//! rvs-bench [--scenario NAME]... [--systems rvs,ovs,testpmd] [--runs N] [--duration SECONDS]
//!           [--csv FILE] [--plot FILE.svg] [--work DIR]
//! ```
//! See [`rvs_benches::harness`] for the method. Needs root (hugepages, network namespaces).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use rvs_benches::harness::sys::{self, Cores, Hugepages};
use rvs_benches::harness::{self, ovs, rvs, svg, testpmd, BenchScenario, Ctx, Options, System, HUGEPAGES};

const USAGE: &str = "usage: rvs-bench [--scenario NAME]... [--systems rvs,ovs,testpmd] [--runs N] [--duration SECONDS]
                 [--csv FILE] [--plot FILE.svg] [--work DIR]

Runs each scenario for rvs, OVS-DPDK and dpdk-testpmd (io forwarding) with the same DPDK vdevs
(net_pcap replaying a generated pcap forever -> net_null), one poll-mode core each, 64-byte UDP,
and prints a table (Mpps median/min/max, cycles per packet, rvs/OVS and rvs/testpmd ratios).

  --scenario NAME   1flow, 10k-flows, 1k-rules-100k-flows, new-flows, vxlan-encap
                    (repeatable or comma-separated; default: all)
  --systems LIST    which systems (default: rvs,ovs,testpmd)
  --runs N          runs per scenario and system (default 3)
  --duration S      measured seconds per run, after 3 s of warm-up (default 10)
  --csv FILE        write scenario,system,mpps_median,mpps_min,mpps_max,cycles_per_pkt,oncpu
  --plot FILE.svg   write Mpps against number of flows as SVG
  --work DIR        scratch directory for pcaps, rules and logs (default /tmp/rvs-bench)

rvs binaries are taken from this program's directory (or $RVS_BIN_DIR); build them with
`cargo build --release --features rvs-dataplane/dpdk` (or use ci/bench.sh). Needs root: it reserves 2 MB hugepages and releases
them at the end, and runs each switch in a network namespace of its own.

For experiments: RVS_BENCH_RVS_CONFIG=\"other_config:KEY=VALUE ...\" adds settings to rvs's
Open_vSwitch record (e.g. other_config:emc-insert-inv-prob=0), and RVS_BENCH_PMD_PERF=1 prints
rvs's dpif-netdev/pmd-perf-show at the end of each run.";

struct Cli {
    opts: Options,
    csv: Option<PathBuf>,
    plot: Option<PathBuf>,
    work: PathBuf,
}

fn parse(args: Vec<String>) -> Result<Cli, String> {
    let mut scenarios = Vec::new();
    let mut systems = System::ALL.to_vec();
    let mut runs = 3;
    let mut duration = 10.0f64;
    let (mut csv, mut plot) = (None, None);
    let mut work = PathBuf::from("/tmp/rvs-bench");
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| it.next()).ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--scenario" | "--scenarios" => {
                for n in value()?.split(',') {
                    scenarios.push(BenchScenario::from_name(n).ok_or_else(|| format!("unknown scenario {n:?}"))?);
                }
            }
            "--systems" => {
                systems = value()?
                    .split(',')
                    .map(|n| System::from_name(n).ok_or_else(|| format!("unknown system {n:?} (rvs, ovs, testpmd)")))
                    .collect::<Result<_, _>>()?;
            }
            "--runs" => runs = value()?.parse().ok().filter(|r| *r > 0).ok_or("--runs needs a positive number")?,
            "--duration" => duration = value()?.parse().ok().filter(|d: &f64| *d >= 1.0).ok_or("--duration needs seconds (at least 1)")?,
            "--csv" => csv = Some(PathBuf::from(value()?)),
            "--plot" => plot = Some(PathBuf::from(value()?)),
            "--work" => work = PathBuf::from(value()?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if scenarios.is_empty() {
        scenarios = BenchScenario::ALL.to_vec();
    }
    Ok(Cli { opts: Options { scenarios, systems, runs, duration: Duration::from_secs_f64(duration) }, csv, plot, work })
}

fn main() -> ExitCode {
    let cli = match parse(std::env::args().skip(1).collect()) {
        Ok(c) => c,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("rvs-bench: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("rvs-bench: needs root (it reserves hugepages and creates network namespaces)");
        return ExitCode::from(1);
    }
    let Some(cores) = Cores::detect() else {
        eprintln!("rvs-bench: needs at least 2 CPUs (one poll-mode core, one for everything else)");
        return ExitCode::from(1);
    };
    sys::catch_interrupts();
    for (system, check) in [
        (System::Rvs, rvs::available as fn() -> Result<(), String>),
        (System::Ovs, ovs::available),
        (System::Testpmd, testpmd::available),
    ] {
        if cli.opts.systems.contains(&system) {
            match check() {
                Ok(()) => eprintln!("rvs-bench: {}: found", system.name()),
                Err(why) => eprintln!("rvs-bench: {}: NOT AVAILABLE, its rows will say so: {why}", system.name()),
            }
        }
    }
    let result = run(&cli, cores);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rvs-bench: {e}");
            ExitCode::from(if sys::interrupted() { 130 } else { 1 })
        }
    }
}

fn run(cli: &Cli, cores: Cores) -> Result<(), String> {
    std::fs::create_dir_all(cli.work.join("logs")).map_err(|e| format!("{}: {e}", cli.work.display()))?;
    let ctx = Ctx { cores, work: cli.work.clone(), tsc_hz: sys::tsc_hz() };
    let huge = Hugepages::reserve(HUGEPAGES).map_err(|e| format!("hugepages: {e}"))?;
    eprintln!(
        "rvs-bench: worker core {}, housekeeping core {}, {} hugepages of 2 MB, TSC {:.0} MHz, load average {:.2}; logs in {}",
        cores.worker,
        cores.house,
        huge.pages(),
        ctx.tsc_hz / 1e6,
        sys::loadavg(),
        ctx.work.join("logs").display()
    );
    let results = harness::run_all(&ctx, &cli.opts).map_err(|_| "interrupted; everything started was stopped".to_string())?;
    drop(huge);
    let secs = cli.opts.duration.as_secs_f64();
    println!("{}", results.table(cli.opts.runs, secs));
    if let Some(path) = &cli.csv {
        std::fs::write(path, results.csv()).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("rvs-bench: wrote {}", path.display());
    }
    if let Some(path) = &cli.plot {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| c.lines().find_map(|l| l.strip_prefix("model name").and_then(|v| v.split(':').nth(1)).map(|v| v.trim().to_string())))
            .unwrap_or_default();
        let subtitle = format!("{cpu}, {} CPUs; median of {} run(s) x {secs} s; net_pcap -> net_null", num_cpus(), cli.opts.runs);
        std::fs::write(path, svg::plot(&results, &subtitle)).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("rvs-bench: wrote {}", path.display());
    }
    Ok(())
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_the_documented_command_line() {
        let c = parse(args("--scenario 1flow --scenario new-flows,vxlan-encap --systems rvs,ovs --runs 5 --duration 2.5 --csv a.csv --plot b.svg")).unwrap();
        assert_eq!(c.opts.scenarios.iter().map(|s| s.name()).collect::<Vec<_>>(), ["1flow", "new-flows", "vxlan-encap"]);
        assert_eq!(c.opts.systems, [System::Rvs, System::Ovs]);
        assert_eq!((c.opts.runs, c.opts.duration), (5, Duration::from_millis(2500)));
        assert_eq!((c.csv.unwrap(), c.plot.unwrap()), (PathBuf::from("a.csv"), PathBuf::from("b.svg")));
        let d = parse(Vec::new()).unwrap();
        assert_eq!(d.opts.scenarios.len(), 5);
        assert_eq!((d.opts.runs, d.opts.duration, d.opts.systems.len()), (3, Duration::from_secs(10), 3));
        assert!(parse(args("--scenario 2flows")).is_err());
        assert!(parse(args("--systems rvs,linux")).is_err());
        assert!(parse(args("--runs 0")).is_err());
        assert!(parse(args("--runs=2")).is_ok());
        assert!(parse(args("--csv")).is_err());
    }
}
