//! The results as a table (standard output), a CSV file and the figures behind both.
//!
//! Per (scenario, system): the median, minimum and maximum of the runs' Mpps (wall clock, as
//! measured), the median on-CPU share of the worker, the median of `Mpps / oncpu` (the rate of
//! a core the system had to itself: on a shared machine, the fair figure to compare), and the
//! median cycles per packet. The ratios rvs/OVS and rvs/testpmd divide those `Mpps / oncpu`
//! medians. For `new-flows` a second table gives the cost of a flow setup and the setups per
//! second one core sustains (see [`super::measure`]).
//!
//! The CSV has one row per scenario and system, with the columns
//! `scenario,system,mpps_median,mpps_min,mpps_max,cycles_per_pkt,oncpu`; a pair that was not
//! measured (not available, or every run failed) has its numeric fields empty.

use std::fmt::Write as _;

use super::measure::Sample;
use super::{BenchScenario, Outcome, Results, System};

/// The CSV header.
pub const CSV_HEADER: &str = "scenario,system,mpps_median,mpps_min,mpps_max,cycles_per_pkt,oncpu";

/// The median (mean of the middle two for an even count); `NaN` when empty.
pub fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The figures of one measured pair.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Median Mpps.
    pub mpps_median: f64,
    /// Lowest Mpps.
    pub mpps_min: f64,
    /// Highest Mpps.
    pub mpps_max: f64,
    /// Median cycles per packet.
    pub cycles_per_pkt: f64,
    /// Median on-CPU share.
    pub oncpu: f64,
    /// Median of Mpps / oncpu.
    pub mpps_norm: f64,
    /// Lowest and highest Mpps / oncpu.
    pub mpps_norm_range: (f64, f64),
    /// Median cycles per flow setup (`new-flows`).
    pub cycles_per_setup: Option<f64>,
    /// Successful runs.
    pub runs: usize,
}

impl Summary {
    /// Summarises samples; `None` when there are none.
    pub fn of(samples: &[Sample]) -> Option<Summary> {
        if samples.is_empty() {
            return None;
        }
        let mpps: Vec<f64> = samples.iter().map(|s| s.mpps).collect();
        let setups: Vec<f64> = samples.iter().filter_map(|s| s.setup.as_ref().map(|u| u.cycles_per_setup)).collect();
        Some(Summary {
            mpps_median: median(&mpps),
            mpps_min: mpps.iter().copied().fold(f64::INFINITY, f64::min),
            mpps_max: mpps.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            cycles_per_pkt: median(&samples.iter().map(|s| s.cycles_per_pkt).collect::<Vec<_>>()),
            oncpu: median(&samples.iter().map(|s| s.oncpu).collect::<Vec<_>>()),
            mpps_norm: median(&samples.iter().map(Sample::mpps_norm).collect::<Vec<_>>()),
            mpps_norm_range: samples.iter().map(Sample::mpps_norm).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v))),
            cycles_per_setup: (!setups.is_empty()).then(|| median(&setups)),
            runs: samples.len(),
        })
    }
}

impl Results {
    /// The summary of a measured pair.
    pub fn summary(&self, sc: BenchScenario, sys: System) -> Option<Summary> {
        match self.get(sc, sys)? {
            Outcome::Measured { samples, .. } => Summary::of(samples),
            Outcome::Unavailable(_) => None,
        }
    }

    /// rvs's `Mpps / oncpu` over `other`'s in scenario `sc`.
    pub fn ratio(&self, sc: BenchScenario, other: System) -> Option<f64> {
        let r = self.summary(sc, System::Rvs)?.mpps_norm;
        let o = self.summary(sc, other)?.mpps_norm;
        (o > 0.0).then(|| r / o)
    }

    /// The CSV text.
    pub fn csv(&self) -> String {
        let mut s = format!("{CSV_HEADER}\n");
        for (sc, sys, _) in &self.rows {
            let _ = match self.summary(*sc, *sys) {
                Some(m) => writeln!(
                    s,
                    "{},{},{:.3},{:.3},{:.3},{:.1},{:.3}",
                    sc.name(),
                    sys.name(),
                    m.mpps_median,
                    m.mpps_min,
                    m.mpps_max,
                    m.cycles_per_pkt,
                    m.oncpu
                ),
                None => writeln!(s, "{},{},,,,,", sc.name(), sys.name()),
            };
        }
        s
    }

    /// The table (Markdown), with notes on what was not measured and why.
    pub fn table(&self, runs: usize, duration_s: f64) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "64-byte UDP, net_pcap (infinite_rx) -> switch -> net_null, one poll-mode core each; {runs} run(s) x {duration_s} s; TSC {:.0} MHz; load average {:.2} before, {:.2} after.",
            self.tsc_hz / 1e6,
            self.load.0,
            self.load.1
        );
        let _ = writeln!(s, "Mpps: as measured (median, min-max); norm = Mpps / oncpu, the rate of a whole core; ratios compare norm.\n");
        let _ = writeln!(s, "| scenario | system | Mpps median | Mpps min-max | oncpu | Mpps norm | cycles/pkt | rvs/OVS | rvs/testpmd |");
        let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
        let mut notes = Vec::new();
        for (sc, sys, outcome) in &self.rows {
            let ratios = if *sys == System::Rvs {
                let f = |o: Option<f64>| o.map(|r| format!("**{r:.2}x**")).unwrap_or_else(|| "-".into());
                (f(self.ratio(*sc, System::Ovs)), f(self.ratio(*sc, System::Testpmd)))
            } else {
                (String::new(), String::new())
            };
            match (self.summary(*sc, *sys), outcome) {
                (Some(m), Outcome::Measured { errors, .. }) => {
                    let _ = writeln!(
                        s,
                        "| {} | {} | {:.2} | {:.2}-{:.2} | {:.2} | {:.2} | {:.0} | {} | {} |",
                        sc.name(),
                        sys.name(),
                        m.mpps_median,
                        m.mpps_min,
                        m.mpps_max,
                        m.oncpu,
                        m.mpps_norm,
                        m.cycles_per_pkt,
                        ratios.0,
                        ratios.1
                    );
                    for e in errors {
                        notes.push(format!("{} {}: a run failed: {e}", sc.name(), sys.name()));
                    }
                }
                (_, Outcome::Unavailable(why)) => {
                    let _ = writeln!(s, "| {} | {} | not available | | | | | | |", sc.name(), sys.name());
                    notes.push(format!("{} {}: not available: {why}", sc.name(), sys.name()));
                }
                (None, Outcome::Measured { errors, .. }) => {
                    let _ = writeln!(s, "| {} | {} | every run failed | | | | | | |", sc.name(), sys.name());
                    for e in errors {
                        notes.push(format!("{} {}: {e}", sc.name(), sys.name()));
                    }
                }
            }
        }
        let setup_rows: Vec<(BenchScenario, System, f64)> = self
            .rows
            .iter()
            .filter_map(|(sc, sys, _)| Some((*sc, *sys, self.summary(*sc, *sys)?.cycles_per_setup?)))
            .collect();
        if !setup_rows.is_empty() {
            let _ = writeln!(s, "\nFlow setup (new-flows: all datapath flows deleted every 20 ms; cost beyond forwarding the packet):\n");
            let _ = writeln!(s, "| scenario | system | cycles/setup | setups/s per core | rvs/OVS |");
            let _ = writeln!(s, "|---|---|---|---|---|");
            for (sc, sys, c) in &setup_rows {
                let ratio = match (sys, setup_rows.iter().find(|(s2, y, _)| s2 == sc && *y == System::Ovs)) {
                    (System::Rvs, Some((_, _, ovs))) if *c > 0.0 => format!("**{:.1}x**", ovs / c),
                    _ => String::new(),
                };
                let rate = if *c > 0.0 { format!("{:.0} k", self.tsc_hz / c / 1e3) } else { "-".into() };
                let _ = writeln!(s, "| {} | {} | {:.0} | {rate} | {ratio} |", sc.name(), sys.name(), c);
            }
        }
        if !notes.is_empty() {
            let _ = writeln!(s);
            for n in notes {
                let _ = writeln!(s, "* {n}");
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::super::measure::SetupSample;
    use super::*;
    use crate::scenario::Scenario;

    fn sample(mpps: f64, oncpu: f64) -> Sample {
        Sample { mpps, oncpu, cycles_per_pkt: 2600.0 / mpps * oncpu, setup: None }
    }

    fn results() -> Results {
        let one = BenchScenario::Anchor(Scenario::OneFlow);
        let new = BenchScenario::Anchor(Scenario::NewFlows);
        let with_setup = |c| Sample { setup: Some(SetupSample { setups: 1000, cycles_per_setup: c }), ..sample(5.0, 1.0) };
        Results {
            rows: vec![
                (one, System::Rvs, Outcome::Measured { samples: vec![sample(40.0, 1.0), sample(30.0, 0.5), sample(44.0, 1.0)], errors: vec![] }),
                (one, System::Ovs, Outcome::Measured { samples: vec![sample(20.0, 1.0)], errors: vec!["boom".into()] }),
                (one, System::Testpmd, Outcome::Unavailable("not installed".into())),
                (new, System::Rvs, Outcome::Measured { samples: vec![with_setup(1300.0)], errors: vec![] }),
                (new, System::Ovs, Outcome::Measured { samples: vec![with_setup(13000.0)], errors: vec![] }),
            ],
            tsc_hz: 2.6e9,
            load: (0.5, 0.7),
        }
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn csv_has_one_row_per_pair_and_empty_fields_when_unmeasured() {
        let csv = results().csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "scenario,system,mpps_median,mpps_min,mpps_max,cycles_per_pkt,oncpu");
        assert_eq!(lines.len(), 6);
        assert_eq!(lines[1], "1flow,rvs,40.000,30.000,44.000,59.1,1.000");
        assert_eq!(lines[3], "1flow,testpmd,,,,,");
        assert!(lines.iter().all(|l| l.split(',').count() == 7));
    }

    #[test]
    fn ratios_compare_rates_per_on_cpu_second() {
        let r = results();
        // rvs norm: median(40, 60, 44) = 44; OVS 20. Cycles: median(65, 43.3, 59.1).
        assert_eq!(r.ratio(BenchScenario::Anchor(Scenario::OneFlow), System::Ovs), Some(2.2));
        assert_eq!(r.ratio(BenchScenario::Anchor(Scenario::OneFlow), System::Testpmd), None);
        let t = r.table(3, 10.0);
        assert!(t.contains("| 1flow | rvs | 40.00 | 30.00-44.00 | 1.00 | 44.00 | 59 | **2.20x** | - |"), "{t}");
        assert!(t.contains("1flow testpmd: not available: not installed"), "{t}");
        assert!(t.contains("1flow ovs: a run failed: boom"), "{t}");
        assert!(t.contains("| new-flows | rvs | 1300 | 2000 k | **10.0x** |"), "{t}");
    }
}
