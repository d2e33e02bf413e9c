//! `rvs-vsctl` against the real `ovs-vsctl`: every step recorded by
//! `tests/vsctl_fixtures/gen.sh` (from `cases.sh`) is replayed through `vsctl::run`, and the
//! output, exit status and error message are compared with what Open vSwitch printed.
//!
//! Normalizations, all applied to both sides: UUIDs become `<uuid>` (OVS's are random, rvs
//! synthesizes its own); `SORT` steps are compared after sorting records (OVS lists rows in
//! UUID order, rvs in name order); `ONLY` steps (`list` without `--columns`) keep the columns
//! rvs supports, minus the reference columns whose values are names in rvs and UUIDs in OVS.
//! `DEVIATES` steps are documented differences: only success or failure and the exit status
//! are compared.

use std::collections::HashMap;

use rvs_dataplane::config::SwitchConfig;
use rvs_dataplane::vsctl::{self, VsctlStatus};
use serde::Deserialize;

const FIXTURES: &str = include_str!("vsctl_fixtures/expected.json");

/// Columns holding references: UUIDs in OVS, names (or targets) in rvs.
const REFERENCE_COLUMNS: &[&str] = &["bridges", "ports", "interfaces", "controller"];

#[derive(Deserialize)]
struct Step {
    case: String,
    args: Option<Vec<String>>,
    #[serde(default)]
    stdout: String,
    #[serde(default)]
    stderr: String,
    #[serde(default)]
    status: i32,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    only: String,
    #[serde(default)]
    deviates: String,
    iface: Option<String>,
    bridge: Option<String>,
    #[serde(default)]
    column: String,
    #[serde(default)]
    values: Vec<String>,
}

/// What the real database was told by the status steps, served to rvs.
#[derive(Default)]
struct FakeStatus {
    ofport: HashMap<String, i64>,
    error: HashMap<String, String>,
    admin: HashMap<String, bool>,
    link: HashMap<String, bool>,
    mac: HashMap<String, String>,
    stats: HashMap<String, Vec<(String, u64)>>,
    dpid: HashMap<String, u64>,
}

impl FakeStatus {
    fn learn(&mut self, step: &Step) {
        let value = step.values.first().cloned().unwrap_or_default();
        if let Some(bridge) = &step.bridge {
            assert_eq!(step.column, "datapath_id");
            self.dpid.insert(bridge.clone(), u64::from_str_radix(&value, 16).expect("hex datapath id"));
            return;
        }
        let iface = step.iface.clone().expect("status step names an interface or a bridge");
        match step.column.as_str() {
            "ofport" => drop(self.ofport.insert(iface, value.parse().expect("integer ofport"))),
            "error" => drop(self.error.insert(iface, value)),
            "admin_state" => drop(self.admin.insert(iface, value == "up")),
            "link_state" => drop(self.link.insert(iface, value == "up")),
            "mac_in_use" => drop(self.mac.insert(iface, value)),
            "statistics" => {
                let stats = step
                    .values
                    .iter()
                    .map(|kv| {
                        let (k, v) = kv.split_once('=').expect("KEY=N");
                        (k.to_string(), v.parse().expect("counter"))
                    })
                    .collect();
                self.stats.insert(iface, stats);
            }
            other => panic!("unknown status column {other}"),
        }
    }
}

impl VsctlStatus for FakeStatus {
    fn ofport(&self, iface: &str) -> Option<i64> {
        self.ofport.get(iface).copied()
    }
    fn iface_error(&self, iface: &str) -> Option<String> {
        self.error.get(iface).cloned()
    }
    fn link_state(&self, iface: &str) -> Option<(bool, bool)> {
        Some((*self.admin.get(iface)?, *self.link.get(iface)?))
    }
    fn mac_in_use(&self, iface: &str) -> Option<String> {
        self.mac.get(iface).cloned()
    }
    fn datapath_id(&self, bridge: &str) -> Option<u64> {
        self.dpid.get(bridge).copied()
    }
    fn iface_statistics(&self, iface: &str) -> Option<Vec<(String, u64)>> {
        self.stats.get(iface).cloned()
    }
}

/// Replaces every RFC 4122 UUID by `<uuid>`, and the 8-digit UUID prefixes that `--format=html`
/// shows as link text.
fn mask_uuids(s: &str) -> String {
    mask_full_uuids(s)
        .split("<uuid>\">")
        .enumerate()
        .map(|(i, part)| match part.get(8..) {
            Some(rest) if i > 0 && rest.starts_with("</a>") => format!("<uuid>\"><uuid8>{rest}"),
            _ if i > 0 => format!("<uuid>\">{part}"),
            _ => part.to_string(),
        })
        .collect()
}

fn mask_full_uuids(s: &str) -> String {
    let is_uuid = |b: &[u8]| {
        b.len() >= 36
            && b[..36].iter().enumerate().all(|(i, c)| {
                if [8, 13, 18, 23].contains(&i) {
                    *c == b'-'
                } else {
                    c.is_ascii_hexdigit()
                }
            })
    };
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if is_uuid(&bytes[i..]) {
            out.extend_from_slice(b"<uuid>");
            i += 36;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("UTF-8 in, UTF-8 out")
}

/// `show`: sorts the children of every line (by their whole subtree) recursively.
fn sort_tree(lines: &[&str]) -> Vec<String> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut blocks: Vec<Vec<String>> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let level = indent(lines[i]);
        let end = (i + 1..lines.len()).find(|&j| indent(lines[j]) <= level).unwrap_or(lines.len());
        let mut block = vec![lines[i].to_string()];
        block.extend(sort_tree(&lines[i + 1..end]));
        blocks.push(block);
        i = end;
    }
    blocks.sort();
    blocks.concat()
}

fn normalize(text: &str, sort: &str, only: Option<&[&str]>) -> String {
    let mut text = mask_uuids(text);
    if let Some(keep) = only {
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| match l.split_once(':') {
                Some((name, _)) if l.contains(" : ") || l.contains(": ") => {
                    let name = name.trim_end();
                    name == "_uuid" || (keep.contains(&name) && !REFERENCE_COLUMNS.contains(&name))
                }
                _ => true,
            })
            .collect();
        text = kept.iter().map(|l| format!("{l}\n")).collect();
    }
    match sort {
        "" => text,
        "tree" => sort_tree(&text.lines().collect::<Vec<_>>()).iter().map(|l| format!("{l}\n")).collect(),
        "lines" => {
            let mut lines: Vec<&str> = text.lines().collect();
            lines.sort();
            lines.iter().map(|l| format!("{l}\n")).collect()
        }
        "blocks" => {
            let mut blocks: Vec<&str> = text.split("\n\n").map(|b| b.trim_end_matches('\n')).collect();
            blocks.sort();
            blocks.join("\n\n")
        }
        other => panic!("unknown SORT={other}"),
    }
}

#[test]
fn vsctl_matches_the_real_ovs_vsctl() {
    let steps: Vec<Step> = serde_json::from_str(FIXTURES).expect("expected.json parses");
    assert!(steps.len() > 300, "fixtures look truncated");
    let mut failures = Vec::new();
    let mut deviations = 0;
    let mut compared = 0;
    let mut case = String::new();
    let mut cfg = SwitchConfig::default();
    let mut status = FakeStatus::default();
    for step in &steps {
        if step.case != case {
            case = step.case.clone();
            cfg = SwitchConfig::default();
            status = FakeStatus::default();
        }
        let Some(args) = &step.args else {
            status.learn(step);
            continue;
        };
        let shown = format!("[{}] ovs-vsctl {}", step.case, args.join(" "));
        let result = vsctl::run(&cfg, &status, args);
        if !step.deviates.is_empty() {
            // A documented deviation must still deviate; once rvs matches, drop the mark.
            deviations += 1;
            let got = match &result {
                Ok(out) => (0, normalize(&out.output, &step.sort, None)),
                Err(e) => (e.status, e.message.clone()),
            };
            let want = if step.status == 0 {
                (0, normalize(&step.stdout, &step.sort, None))
            } else {
                (step.status, step.stderr.trim_end().trim_start_matches("ovs-vsctl: ").to_string())
            };
            if got == want {
                failures.push(format!("{shown}\n  marked DEVIATES ({}) but rvs matches ovs-vsctl", step.deviates));
            }
            if let Ok(out) = result {
                cfg = out.config;
            }
            continue;
        }
        compared += 1;
        let only = (!step.only.is_empty())
            .then(|| vsctl::supported_columns(&step.only).expect("ONLY names a supported table"));
        match result {
            Ok(out) => {
                if step.status != 0 {
                    failures.push(format!(
                        "{shown}\n  rvs succeeded, ovs-vsctl failed ({}): {}",
                        step.status,
                        step.stderr.trim_end()
                    ));
                    continue;
                }
                let want = normalize(&step.stdout, &step.sort, only.as_deref());
                let got = normalize(&out.output, &step.sort, only.as_deref());
                if want != got {
                    failures.push(format!("{shown}\n  ovs-vsctl printed:\n{want}\n  rvs printed:\n{got}"));
                }
                cfg = out.config;
            }
            Err(e) => {
                let want = step.stderr.trim_end().strip_prefix("ovs-vsctl: ").unwrap_or(step.stderr.trim_end());
                if step.status == 0 {
                    failures.push(format!("{shown}\n  rvs failed ({}), ovs-vsctl succeeded", e.message));
                } else if e.status != step.status || e.message != want {
                    failures.push(format!(
                        "{shown}\n  ovs-vsctl: [{}] {want}\n  rvs:       [{}] {}",
                        step.status, e.status, e.message
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {compared} steps differ:\n\n{}", failures.len(), failures.join("\n\n"));
    assert!(compared > 250 && deviations < 40, "{compared} steps compared, {deviations} documented deviations");
}

#[test]
fn normalization_keeps_differences_visible() {
    // Sorting must not hide a missing line or a changed value.
    let a = "x\n    Bridge b\n        Port p\n    Bridge a\n";
    let b = "x\n    Bridge a\n    Bridge b\n        Port p\n";
    assert_eq!(normalize(a, "tree", None), normalize(b, "tree", None));
    assert_ne!(normalize(a, "tree", None), normalize("x\n    Bridge a\n    Bridge b\n", "tree", None));
    assert_eq!(mask_uuids("id 5cad3a7b-1746-418e-81aa-80abbe92193d."), "id <uuid>.");
}
