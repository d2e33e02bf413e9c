//! `multipath` through the whole switch: rvs and a real Open vSwitch (private
//! ovs-vswitchd, dummy ports) get the same flows, and `ofproto/trace` of the same packets
//! must show the same link chosen, i.e. the same rule hit in the table the chosen link
//! selects. (The hash functions themselves are compared case by case in
//! flowcache/tests/hashsel_vs_ovs.rs; this checks the daemon's path: flow-mod decoding,
//! translation, the trace.) `bundle` is left out: its choice depends on port liveness, which
//! differs between rvs's veths and Open vSwitch's dummy ports.

mod ofctl_common;

use std::process::Command;

use ofctl_common::{require_ovs, Ovs};
use rvs_ci::{require_root, unique_prefix, Switchd};

/// Each case: the multipath action, writing the link into `reg0[0..1]` (four links).
const CASES: &[&str] = &[
    "multipath(symmetric_l4,0,hrw,4,0,reg0[0..1])",
    "multipath(symmetric_l3l4+udp,7,iter_hash,4,0,reg0[0..1])",
    "multipath(eth_src,50,modulo_n,4,0,reg0[0..1])",
    "multipath(nw_dst,3,hash_threshold,4,0,reg0[0..1])",
];

fn packets() -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..6 {
        out.push(format!(
            "in_port=1,tcp,dl_src=50:54:00:00:00:{:02x},dl_dst=50:54:00:00:00:99,nw_src=10.0.{i}.1,nw_dst=10.0.0.{},tcp_src={},tcp_dst=80",
            i + 1,
            i * 7 + 2,
            1000 + i * 13
        ));
    }
    out.push("in_port=1,udp,nw_src=192.168.1.10,nw_dst=172.16.5.4,udp_src=5353,udp_dst=53".into());
    out.push("in_port=1,tcp6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2:1,tcp_src=40000,tcp_dst=443".into());
    out
}

/// The line of a trace naming the rule hit in table 1 (`link` N's rule).
fn table1_line(trace: &str) -> String {
    trace.lines().find(|l| l.trim_start().starts_with("1. ")).map(|l| l.trim().to_string()).unwrap_or_else(|| format!("no table 1 in:\n{trace}"))
}

#[test]
fn multipath_chooses_the_link_open_vswitch_chooses() {
    const TEST: &str = "multipath_trace::multipath_chooses_the_link_open_vswitch_chooses";
    if !require_root(TEST) || !require_ovs(TEST) {
        return;
    }
    let p = unique_prefix();
    let sw = Switchd::start(&p);
    sw.vsctl(&["add-br", "br0"]);
    let real = Ovs::start(&format!("mp-{p}"));
    let ovs_ofctl = |args: &[&str]| {
        let sock = format!("unix:{}", real.dir.join("br0.mgmt").display());
        let mut full = vec![args[0], &sock];
        full.extend_from_slice(&args[1..]);
        let o = Command::new("ovs-ofctl").args(&full).output().expect("run ovs-ofctl");
        assert!(o.status.success(), "ovs-ofctl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    let ovs_trace = |flow: &str| {
        let ctl = real.dir.join("ovs-vswitchd.ctl");
        let o = Command::new("ovs-appctl").arg("-t").arg(&ctl).args(["ofproto/trace", "br0", flow]).output().expect("run ovs-appctl");
        assert!(o.status.success(), "ovs-appctl trace {flow}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let mut seen = std::collections::BTreeSet::new();
    for action in CASES {
        let flows = [format!("priority=10,actions={action},resubmit(,1)")]
            .into_iter()
            .chain((0..4).map(|n| format!("table=1,reg0={n},actions=load:{}->NXM_NX_REG1[]", n + 10)));
        ovs_ofctl(&["del-flows"]);
        sw.ofctl(&["del-flows", "br0"]);
        for f in flows {
            ovs_ofctl(&["add-flow", &f]);
            sw.ofctl(&["add-flow", "br0", &f]);
        }
        for pkt in packets() {
            let theirs = table1_line(&ovs_trace(&pkt));
            let ours = table1_line(&sw.appctl(&["ofproto/trace", "br0", &pkt]));
            assert_eq!(ours, theirs, "{action} on {pkt}");
            seen.insert(theirs);
        }
    }
    assert!(seen.iter().all(|l| l.starts_with("1. reg0=")), "every packet reaches a link's rule: {seen:?}");
    assert!(seen.len() >= 3, "the packets should reach several links: {seen:?}");
    eprintln!("links reached: {seen:?}");
}
