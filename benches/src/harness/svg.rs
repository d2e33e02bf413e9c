//! The plot: Mpps against the number of flows, one line per system, as a standalone SVG.
//!
//! The x axis is logarithmic (1 to 100,000 flows) and holds the scenarios whose work grows with
//! the number of flows: `1flow`, `10k-flows`, `1k-rules-100k-flows`. Each point is the median
//! over the runs of Mpps per on-CPU second of the worker (`Mpps / oncpu`: the rate of a core the
//! system had to itself; on a shared machine the systems get different shares of their core),
//! with a bar from the lowest to the highest run.
//! `new-flows` (flow setups, not a flow count) and `vxlan-encap` (extra work per packet) are in
//! the table, not here. Systems without figures are named in the legend as "not measured".

use std::fmt::Write as _;

use super::{BenchScenario, Results, System};
use crate::scenario::Scenario;

const W: f64 = 720.0;
const H: f64 = 440.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;

fn color(s: System) -> &'static str {
    match s {
        System::Rvs => "#d62728",
        System::Ovs => "#1f77b4",
        System::Testpmd => "#7f7f7f",
    }
}

fn label(s: System) -> &'static str {
    match s {
        System::Rvs => "rvs",
        System::Ovs => "OVS-DPDK 3.1",
        System::Testpmd => "testpmd io-fwd (limit)",
    }
}

/// A "nice" axis step (1, 2 or 5 times a power of ten) giving about five ticks up to `max`.
fn nice_step(max: f64) -> f64 {
    let raw = (max / 5.0).max(1e-9);
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * p).find(|s| *s >= raw).unwrap_or(10.0 * p)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The SVG text for `results`, titled with `subtitle` (machine, runs, date).
pub fn plot(results: &Results, subtitle: &str) -> String {
    let scenarios = [Scenario::OneFlow, Scenario::TenKFlows, Scenario::Rules1k].map(BenchScenario::Anchor);
    let systems: Vec<System> = System::ALL.into_iter().filter(|s| results.rows.iter().any(|(_, y, _)| y == s)).collect();
    let points = |sys: System| -> Vec<(f64, f64, f64, f64)> {
        scenarios
            .iter()
            .filter_map(|sc| results.summary(*sc, sys).map(|m| (sc.flows() as f64, m.mpps_norm, m.mpps_norm_range.0, m.mpps_norm_range.1)))
            .collect()
    };
    let ymax_data = systems.iter().flat_map(|s| points(*s)).map(|p| p.3).fold(0.0, f64::max);
    let step = nice_step(if ymax_data > 0.0 { ymax_data } else { 10.0 });
    let ymax = (ymax_data / step).ceil().max(1.0) * step;
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let x = |flows: f64| LEFT + flows.max(1.0).log10() / 5.0 * pw;
    let y = |mpps: f64| TOP + ph - mpps / ymax * ph;

    let mut s = String::new();
    let _ = writeln!(s, r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#);
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(s, r#"<text x="{}" y="22" font-size="15" font-weight="bold" text-anchor="middle">Packets forwarded per second on one core, 64-byte UDP</text>"#, W / 2.0);
    let _ = writeln!(s, r##"<text x="{}" y="39" fill="#555" text-anchor="middle">{}</text>"##, W / 2.0, esc(subtitle));
    // Grid and y axis.
    let mut v = 0.0;
    while v <= ymax + step / 2.0 {
        let yy = y(v);
        let _ = writeln!(s, r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#e0e0e0"/>"##, LEFT + pw);
        let _ = writeln!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#, LEFT - 6.0, yy + 4.0, v);
        v += step;
    }
    for (i, tick) in ["1", "10", "100", "1k", "10k", "100k"].iter().enumerate() {
        let xx = LEFT + i as f64 / 5.0 * pw;
        let _ = writeln!(s, r##"<line x1="{xx:.1}" y1="{TOP}" x2="{xx:.1}" y2="{:.1}" stroke="#f0f0f0"/>"##, TOP + ph);
        let _ = writeln!(s, r#"<text x="{xx:.1}" y="{:.1}" text-anchor="middle">{tick}</text>"#, TOP + ph + 18.0);
    }
    let _ = writeln!(s, r#"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="black"/>"#);
    let _ = writeln!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">distinct flows (1flow, 10k-flows, 1k-rules-100k-flows)</text>"#, LEFT + pw / 2.0, H - 15.0);
    let _ = writeln!(s, r#"<text transform="translate(20,{:.1}) rotate(-90)" text-anchor="middle">Mpps per on-CPU second (median; bars: min-max)</text>"#, TOP + ph / 2.0);
    // Series.
    for (i, sys) in systems.iter().enumerate() {
        let pts = points(*sys);
        let c = color(*sys);
        if pts.len() > 1 {
            let path: Vec<String> = pts.iter().map(|p| format!("{:.1},{:.1}", x(p.0), y(p.1))).collect();
            let _ = writeln!(s, r#"<polyline points="{}" fill="none" stroke="{c}" stroke-width="2"/>"#, path.join(" "));
        }
        for p in &pts {
            let (xx, lo, hi) = (x(p.0), y(p.2), y(p.3));
            let _ = writeln!(s, r#"<line x1="{xx:.1}" y1="{lo:.1}" x2="{xx:.1}" y2="{hi:.1}" stroke="{c}"/>"#);
            let _ = writeln!(s, r#"<circle cx="{xx:.1}" cy="{:.1}" r="4" fill="{c}"><title>{} {:.2} Mpps</title></circle>"#, y(p.1), label(*sys), p.1);
            let _ = writeln!(s, r#"<text x="{:.1}" y="{:.1}" fill="{c}" font-size="11">{:.1}</text>"#, xx + 6.0, y(p.1) - 6.0, p.1);
        }
        let ly = TOP + 10.0 + i as f64 * 22.0;
        let lx = LEFT + pw + 12.0;
        let _ = writeln!(s, r#"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{c}" stroke-width="2"/>"#, lx + 18.0);
        let name = if pts.is_empty() { format!("{} (not measured)", label(*sys)) } else { label(*sys).to_string() };
        let _ = writeln!(s, r#"<text x="{:.1}" y="{:.1}">{}</text>"#, lx + 24.0, ly + 4.0, esc(&name));
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::super::measure::Sample;
    use super::super::Outcome;
    use super::*;

    #[test]
    fn plots_each_measured_system_with_its_points() {
        let m = |mpps: f64| Outcome::Measured { samples: vec![Sample { mpps, oncpu: 1.0, cycles_per_pkt: 100.0, setup: None }], errors: vec![] };
        let r = Results {
            rows: vec![
                (BenchScenario::Anchor(Scenario::OneFlow), System::Rvs, m(40.0)),
                (BenchScenario::Anchor(Scenario::TenKFlows), System::Rvs, m(30.0)),
                (BenchScenario::Anchor(Scenario::OneFlow), System::Ovs, m(20.0)),
                (BenchScenario::Anchor(Scenario::OneFlow), System::Testpmd, Outcome::Unavailable("x".into())),
            ],
            tsc_hz: 2.6e9,
            load: (0.0, 0.0),
        };
        let svg = plot(&r, "test <machine>");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<circle").count(), 3);
        assert_eq!(svg.matches("<polyline").count(), 1, "only rvs has two points");
        assert!(svg.contains("testpmd io-fwd (limit) (not measured)"));
        assert!(svg.contains("test &lt;machine&gt;"));
    }

    #[test]
    fn axis_steps_are_round() {
        assert_eq!(nice_step(44.0), 10.0);
        assert_eq!(nice_step(9.0), 2.0);
        assert_eq!(nice_step(120.0), 50.0);
    }
}
