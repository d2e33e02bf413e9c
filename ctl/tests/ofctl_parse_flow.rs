//! `rvs-ofctl parse-flow FLOW` against what `ovs-ofctl parse-flow FLOW` (Open vSwitch 3.1)
//! printed, under both protocol settings (the default protocols, OpenFlow 1.0 with Nicira
//! extensions, and `-O OpenFlow13`), for every flow of the openflow crate's conformance list
//! (`openflow/tests/data/parse_flow.in`): the `usable protocols` and `chosen protocol` lines,
//! the flow-mod, or the error, and the exit status.
//!
//! `tests/data/ofctl_parse_flow_of10.txt` and `ofctl_parse_flow_of13.txt` hold the captures.
//! `fixtures_are_what_ovs_ofctl_prints` re-checks them against the installed `ovs-ofctl` (and
//! rewrites them with `RVS_REGEN_OFCTL_FIXTURES=1`). Flows rvs deliberately refuses (the rvs
//! model has no place for them) are listed in [`KNOWN_GAPS`] and must fail with rvs's own
//! message; flows rvs prints differently for a documented reason are in
//! [`KNOWN_DEVIATIONS`].

use std::process::Command;

const INPUT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../openflow/tests/data/parse_flow.in");
const RVS_OFCTL: &str = env!("CARGO_BIN_EXE_rvs-ofctl");

/// The protocol settings: the options before `parse-flow`, and the fixture file.
const SETTINGS: [(&[&str], &str); 2] = [
    (&[], concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ofctl_parse_flow_of10.txt")),
    (&["-O", "OpenFlow13"], concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ofctl_parse_flow_of13.txt")),
];

/// Flows `ovs-ofctl` accepts and rvs refuses (`set_queue`/`pop_queue` on their own).
const KNOWN_GAPS: &[&str] = &["actions=set_queue:2", "actions=pop_queue"];

/// Flows rvs prints differently under the default protocols: the model holds
/// `set_queue:Q,output:P,pop_queue` as `enqueue(P,Q)` (the same thing), which OpenFlow 1.0
/// sends and prints as `enqueue:P:Q`.
const KNOWN_DEVIATIONS: &[&str] = &["actions=set_queue:2,output:1,pop_queue", "actions=set_queue:7,LOCAL,pop_queue"];

fn flows() -> Vec<String> {
    std::fs::read_to_string(INPUT)
        .expect("read parse_flow.in")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// What a program printed for `OPTIONS parse-flow FLOW`: exit status, then standard output
/// and standard error (the program name and Open vSwitch's log lines removed).
fn outcome(program: &str, options: &[&str], flow: &str) -> String {
    let out = Command::new(program).args(options).args(["parse-flow", flow]).output().expect("run parse-flow");
    let err: String = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !(l.len() > 20 && l.as_bytes()[4] == b'-' && l.contains('|')))
        .map(|l| {
            format!("! {}\n", l.strip_prefix("ovs-ofctl: ").or_else(|| l.strip_prefix("rvs-ofctl: ")).unwrap_or(l))
        })
        .collect();
    format!("status: {:?}\n{}{err}", out.status.code(), String::from_utf8_lossy(&out.stdout))
}

fn fixtures(file: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("read {file} (regenerate with RVS_REGEN_OFCTL_FIXTURES=1): {e}"));
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
    for (options, file) in SETTINGS {
        let fx = fixtures(file);
        assert!(fx.len() >= 400, "only {} captured flows in {file}", fx.len());
        let mut failures = Vec::new();
        for (flow, want) in &fx {
            let got = outcome(RVS_OFCTL, options, flow);
            if KNOWN_GAPS.contains(&flow.as_str()) {
                assert!(got.contains("not supported by rvs"), "{flow}: known gap no longer refused:\n{got}");
                continue;
            }
            if options.is_empty() && KNOWN_DEVIATIONS.contains(&flow.as_str()) {
                assert!(&got != want && got.contains("enqueue:"), "{flow}: known deviation changed:\n{got}");
                continue;
            }
            if &got != want {
                failures.push(format!("=== {options:?} {flow}\n--- ovs-ofctl:\n{want}--- rvs-ofctl:\n{got}"));
            }
        }
        assert!(failures.is_empty(), "{} of {} flows differ:\n{}", failures.len(), fx.len(), failures.join("\n"));
    }
}

#[test]
fn fixtures_are_what_ovs_ofctl_prints() {
    let Ok(version) = Command::new("ovs-ofctl").arg("--version").output() else {
        assert!(std::env::var_os("RVS_REQUIRE_OVS_OFCTL").is_none(), "ovs-ofctl is required but not installed");
        eprintln!("ovs-ofctl not installed: fixtures not re-checked");
        return;
    };
    let version = String::from_utf8_lossy(&version.stdout).lines().next().unwrap_or_default().to_string();
    for (options, file) in SETTINGS {
        let live: Vec<(String, String)> =
            flows().into_iter().map(|f| (f.clone(), outcome("ovs-ofctl", options, &f))).collect();
        if std::env::var_os("RVS_REGEN_OFCTL_FIXTURES").is_some() {
            let command = ["ovs-ofctl"].iter().chain(options).copied().collect::<Vec<_>>().join(" ");
            let mut text = format!(
                "# `{command} parse-flow FLOW` for every flow of openflow/tests/data/parse_flow.in,\n# captured with: {version}\n# Lines after `! ` are standard error. Regenerate: RVS_REGEN_OFCTL_FIXTURES=1 cargo test -p rvs-ctl --test ofctl_parse_flow\n"
            );
            for (flow, body) in &live {
                text.push_str(&format!("\n== {flow}\n{body}"));
            }
            std::fs::write(file, text).expect("write fixtures");
            continue;
        }
        assert!(version.contains("3.1."), "fixtures come from Open vSwitch 3.1; installed: {version}");
        assert_eq!(live, fixtures(file), "ovs-ofctl no longer prints the fixtures in {file}");
    }
}
