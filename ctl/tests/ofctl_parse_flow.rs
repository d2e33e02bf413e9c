//! `rvs-ofctl -O OpenFlow13 parse-flow FLOW` against what `ovs-ofctl -O OpenFlow13
//! parse-flow FLOW` (Open vSwitch 3.1) printed, for every flow of the openflow crate's
//! conformance list (`openflow/tests/data/parse_flow_of13.in`): the `usable protocols` and
//! `chosen protocol` lines, the flow-mod, or the error, and the exit status.
//!
//! `tests/data/ofctl_parse_flow.txt` holds the captures. `fixtures_are_what_ovs_ofctl_prints`
//! re-checks them against the installed `ovs-ofctl` (and rewrites them with
//! `RVS_REGEN_OFCTL_FIXTURES=1`). Flows rvs deliberately refuses (the rvs model has no place
//! for them) are listed in [`KNOWN_GAPS`] and must fail with rvs's own message.

use std::process::Command;

const INPUT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../openflow/tests/data/parse_flow_of13.in");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ofctl_parse_flow.txt");
const RVS_OFCTL: &str = env!("CARGO_BIN_EXE_rvs-ofctl");

/// Flows `ovs-ofctl` accepts and rvs refuses (`set_queue`/`pop_queue` on their own).
const KNOWN_GAPS: &[&str] = &["actions=set_queue:2", "actions=pop_queue"];

fn flows() -> Vec<String> {
    std::fs::read_to_string(INPUT)
        .expect("read parse_flow_of13.in")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// What a program printed for `parse-flow FLOW`: exit status, then standard output and
/// standard error (the program name and Open vSwitch's log lines removed).
fn outcome(program: &str, flow: &str) -> String {
    let out = Command::new(program).args(["-O", "OpenFlow13", "parse-flow", flow]).output().expect("run parse-flow");
    let err: String = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !(l.len() > 20 && l.as_bytes()[4] == b'-' && l.contains('|')))
        .map(|l| {
            format!("! {}\n", l.strip_prefix("ovs-ofctl: ").or_else(|| l.strip_prefix("rvs-ofctl: ")).unwrap_or(l))
        })
        .collect();
    format!("status: {:?}\n{}{err}", out.status.code(), String::from_utf8_lossy(&out.stdout))
}

fn fixtures() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(FIXTURES)
        .expect("read ofctl_parse_flow.txt (regenerate with RVS_REGEN_OFCTL_FIXTURES=1)");
    text.split("\n== ")
        .skip(1)
        .map(|b| {
            let (flow, body) = b.split_once('\n').expect("flow line");
            (flow.to_string(), body.to_string())
        })
        .collect()
}

#[test]
fn rvs_ofctl_parses_flows_as_ovs_ofctl_did() {
    let fx = fixtures();
    assert!(fx.len() >= 300, "only {} captured flows", fx.len());
    let mut failures = Vec::new();
    for (flow, want) in &fx {
        let got = outcome(RVS_OFCTL, flow);
        if KNOWN_GAPS.contains(&flow.as_str()) {
            assert!(got.contains("not supported by rvs"), "{flow}: known gap no longer refused:\n{got}");
            continue;
        }
        if &got != want {
            failures.push(format!("=== {flow}\n--- ovs-ofctl:\n{want}--- rvs-ofctl:\n{got}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} flows differ:\n{}", failures.len(), fx.len(), failures.join("\n"));
}

#[test]
fn fixtures_are_what_ovs_ofctl_prints() {
    let Ok(version) = Command::new("ovs-ofctl").arg("--version").output() else {
        assert!(std::env::var_os("RVS_REQUIRE_OVS_OFCTL").is_none(), "ovs-ofctl is required but not installed");
        eprintln!("ovs-ofctl not installed: fixtures not re-checked");
        return;
    };
    let version = String::from_utf8_lossy(&version.stdout).lines().next().unwrap_or_default().to_string();
    let live: Vec<(String, String)> = flows().into_iter().map(|f| (f.clone(), outcome("ovs-ofctl", &f))).collect();
    if std::env::var_os("RVS_REGEN_OFCTL_FIXTURES").is_some() {
        let mut text = format!(
            "# `ovs-ofctl -O OpenFlow13 parse-flow FLOW` for every flow of openflow/tests/data/parse_flow_of13.in,\n# captured with: {version}\n# Lines after `! ` are standard error. Regenerate: RVS_REGEN_OFCTL_FIXTURES=1 cargo test -p rvs-ctl --test ofctl_parse_flow\n"
        );
        for (flow, body) in &live {
            text.push_str(&format!("\n== {flow}\n{body}"));
        }
        std::fs::write(FIXTURES, text).expect("write fixtures");
        return;
    }
    assert!(version.contains("3.1."), "fixtures come from Open vSwitch 3.1; installed: {version}");
    assert_eq!(live, fixtures(), "ovs-ofctl no longer prints the fixtures");
}
