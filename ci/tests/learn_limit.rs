//! `learn(limit=N,result_dst=...)` executed as Open vSwitch executes it.
//!
//! The same flows go into rvs and into a real `ovs-vswitchd` (private, `--enable-dummy`):
//! table 0 learns, into table 1, a rule per Ethernet source with a limit of 2 and writes
//! whether it learned to `reg0[0]`, then resubmits to table 2, which outputs to port 2 when
//! `reg0[0]` is 1 and drops otherwise. `ofproto/trace ... -generate` (which makes the learning
//! happen) runs for three sources, then the first again: the first two learn (output), the
//! third finds the limit reached (drop), the first relearns its existing rule (output). For
//! each trace the test checks that both switches decide the same (a `drop` or not) and, at
//! the end, that `ovs-ofctl dump-flows` shows the same learned rules for both.
//! Needs root and Open vSwitch; skipped loudly otherwise.

mod ofctl_common;

use std::process::Command;
use std::time::Duration;

use ofctl_common::{ofctl, require_ovs, Ovs, Tool};
use rvs_ci::{require_root, run, unique_prefix, wait_for, Switchd};

const FLOWS: &[&str] = &[
    "actions=learn(table=1,limit=2,result_dst=reg0[0],cookie=0x5,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),resubmit(,2)",
    "table=2,priority=10,reg0=0x1/0x1,actions=output:2",
    "table=2,priority=5,actions=drop",
];

/// The traced packets, in order, and whether each must be dropped.
const TRACES: &[(&str, bool)] = &[
    ("in_port=1,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:09", false),
    ("in_port=1,dl_src=50:54:00:00:00:02,dl_dst=50:54:00:00:00:09", false),
    ("in_port=1,dl_src=50:54:00:00:00:03,dl_dst=50:54:00:00:00:09", true),
    ("in_port=1,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:09", false),
];

fn learned(rundir: &std::path::Path) -> String {
    let o = ofctl(Tool::Ovs, rundir, &["--no-stats", "--sort", "dump-flows", "br0", "table=1"], rundir);
    assert_eq!(o.status, Some(0), "{o:?}");
    o.stdout
}

fn dropped(trace: &str) -> bool {
    let line = trace.lines().find(|l| l.starts_with("Datapath actions: ")).unwrap_or_else(|| panic!("no datapath actions:\n{trace}"));
    line == "Datapath actions: drop"
}

#[test]
fn learn_limit_and_result_dst_as_open_vswitch() {
    const TEST: &str = "learn_limit::learn_limit_and_result_dst_as_open_vswitch";
    if !require_root(TEST) || !require_ovs(TEST) {
        return;
    }
    let p = unique_prefix();
    let sw = Switchd::start(&p);
    sw.vsctl(&["add-br", "br0"]);
    sw.add_veth_ports("br0", &p, 2);
    let real = Ovs::start(&format!("learn-{p}"));
    let ovs_ctl = real.dir.join("ovs-vswitchd.ctl");
    let rundirs = [real.dir.clone(), sw.rundir()];
    for rundir in &rundirs {
        assert_eq!(ofctl(Tool::Ovs, rundir, &["del-flows", "br0"], rundir).status, Some(0));
        for f in FLOWS {
            let o = ofctl(Tool::Ovs, rundir, &["add-flow", "br0", f], rundir);
            assert_eq!(o.status, Some(0), "{o:?}");
        }
    }
    for (n, (flow, drop)) in TRACES.iter().enumerate() {
        let theirs = String::from_utf8_lossy(
            &run(Command::new("ovs-appctl").arg("-t").arg(&ovs_ctl).args(["ofproto/trace", "br0", flow, "-generate"])).stdout,
        )
        .into_owned();
        let ours = sw.appctl(&["ofproto/trace", "br0", flow, "-generate"]);
        assert_eq!(dropped(&theirs), *drop, "Open vSwitch, trace {n}:\n{theirs}");
        assert_eq!(dropped(&ours), *drop, "rvs, trace {n}:\n{ours}\nOpen vSwitch:\n{theirs}");
        // rvs applies learned flows on its control thread: wait until they show.
        let want = learned(&rundirs[0]);
        assert!(
            wait_for(Duration::from_secs(10), || learned(&rundirs[1]) == want),
            "after trace {n}, learned flows differ:\nOpen vSwitch:\n{want}\nrvs:\n{}",
            learned(&rundirs[1])
        );
    }
    let flows = learned(&rundirs[1]);
    assert_eq!(flows.lines().count(), 2, "{flows}");
    assert!(flows.contains("cookie=0x5, table=1, dl_dst=50:54:00:00:00:01 actions=output:1"), "{flows}");
}
