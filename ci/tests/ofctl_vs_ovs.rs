//! `rvs-ofctl` against the real `ovs-ofctl`, both talking to a real (private) Open vSwitch.
//!
//! The same sequence of commands runs twice against bridge `br0` of a private
//! `ovs-vswitchd` (see `ofctl_common`): first with `ovs-ofctl -O OpenFlow13`, then with
//! `rvs-ofctl -O OpenFlow13`. Each step's standard output, standard error and exit status
//! must be the same (after removing the program name, Open vSwitch's log lines and the
//! `duration=` values). The sequence starts by deleting every flow, so both runs see the
//! same switch; it covers `add-flows` from a file of varied flows (with comments, blank
//! lines, a `modify` line and port names), flow dumps with and without statistics, sorted,
//! filtered and with names, aggregates, `del-flows` and `mod-flows` with and without
//! `--strict`, flow-mods the switch refuses (the error and the request inside it), flows
//! that do not parse, ports, `show`, tables and table features.

mod ofctl_common;

use ofctl_common::{assert_same, require_ovs, Outcome, Ovs, Tool};

/// Flows for `add-flows`.
const FLOWS: &str = "\
# Flows for the ofctl_vs_ovs test: comments and blank lines are skipped.
priority=0,actions=NORMAL

in_port=1,actions=output:2
in_port=2 actions=output:1   # a trailing comment
priority=100,tcp,nw_src=10.0.0.0/8,tp_dst=80,actions=mod_nw_dst:1.2.3.4,output:2
priority=200,ip,nw_dst=192.168.1.1,actions=dec_ttl,output:LOCAL
table=1,priority=5,dl_vlan=10,actions=pop_vlan,output:p1
table=1,priority=6,dl_src=00:11:22:33:44:55/ff:ff:ff:00:00:00,actions=push_vlan:0x8100,set_field:4196->vlan_vid,output:2
cookie=0x1234,priority=300,arp,arp_tpa=10.0.0.1,actions=NORMAL
table=2,reg0=0x5/0xff,actions=load:0x1->NXM_NX_REG1[],resubmit(,3)
table=3,ipv6,ipv6_dst=2001:db8::/32,actions=write_actions(output:1),goto_table:4
table=4,metadata=0x1/0x1,actions=clear_actions,write_metadata:0x2/0x2
idle_timeout=60,hard_timeout=120,priority=7,udp,tp_src=53,actions=controller(reason=no_match,max_len=64)
send_flow_rem,priority=8,icmp,icmp_type=8,actions=note:01.02.03,output:1
priority=9,tcp,tcp_flags=+syn-ack,actions=drop
priority=10,in_port=p2,dl_type=0x0800,nw_proto=17,actions=set_field:10.1.1.1->ip_src,p1
modify in_port=2,actions=output:p1
";

/// The command sequence (after `-O OpenFlow13`). `flows.txt` is [`FLOWS`].
const STEPS: &[&[&str]] = &[
    &["del-flows", "br0"],
    &["dump-flows", "br0"],
    &["add-flows", "br0", "flows.txt"],
    &["dump-flows", "--no-stats", "br0"],
    &["dump-flows", "br0"],
    &["--names", "dump-flows", "br0"],
    &["--names", "--no-stats", "dump-flows", "br0", "in_port=p1"],
    &["--sort", "dump-flows", "br0"],
    &["--rsort=priority", "--no-stats", "dump-flows", "br0"],
    &["--sort=tcp_dst", "--no-stats", "dump-flows", "br0"],
    &["--rsort=in_port", "--sort=ip_dst", "--no-stats", "dump-flows", "br0"],
    &["dump-flows", "br0", "table=1"],
    &["dump-flows", "br0", "tcp"],
    &["dump-flows", "br0", "in_port=p2"],
    &["dump-flows", "br0", "cookie=0x1234/-1"],
    &["dump-flows", "br0", "out_port=2"],
    &["dump-aggregate", "br0"],
    &["dump-aggregate", "br0", "table=1"],
    &["del-flows", "br0", "tcp"],
    &["--strict", "del-flows", "br0", "priority=200,ip,nw_dst=192.168.1.1"],
    &["--strict", "del-flows", "br0", "ip"],
    &["--strict", "del-flows", "br0", "table=1,priority=5,dl_vlan=10"],
    &["dump-flows", "--no-stats", "br0"],
    &["mod-flows", "br0", "in_port=1,actions=output:LOCAL"],
    &["--strict", "mod-flows", "br0", "priority=7,udp,tp_src=53,actions=drop"],
    &["--strict", "mod-flows", "br0", "priority=7,udp,actions=drop"],
    &["dump-flows", "--no-stats", "br0"],
    &["add-flow", "br0", "table=254,actions=1"],
    &["add-flow", "br0", "in_port=1,actions=output:1,goto_table:0"],
    &["add-flow", "br0", "tcp,tp_dst=99999,actions=drop"],
    &["add-flow", "br0", "in_port=p9,actions=drop"],
    &["add-flow", "br0", "actions=dec_ttl"],
    &["add-flow", "br0", "priority=5,in_port=p1,actions=p2"],
    &["dump-ports", "br0"],
    &["dump-ports", "br0", "1"],
    &["dump-ports", "br0", "p2"],
    &["dump-ports", "br0", "nosuchport"],
    &["--names", "dump-ports", "br0"],
    &["dump-ports-desc", "br0"],
    &["show", "br0"],
    &["--names", "show", "br0"],
    &["dump-tables", "br0"],
    &["dump-desc", "br0"],
    &["dump-table-features", "br0"],
    &["del-flows", "br0"],
    &["dump-flows", "br0"],
    &["dump-flows", "nosuchbridge"],
    &["parse-flow", "tcp,tp_dst=80,actions=output:2"],
    &["parse-flows", "flows.txt"],
];

fn run_sequence(ovs: &Ovs, tool: Tool) -> Vec<Outcome> {
    STEPS
        .iter()
        .map(|step| {
            let mut args = vec!["-O", "OpenFlow13"];
            args.extend_from_slice(step);
            ovs.ofctl(tool, &args, &ovs.dir)
        })
        .collect()
}

#[test]
fn rvs_ofctl_prints_what_ovs_ofctl_prints() {
    if !require_ovs("ofctl_vs_ovs::rvs_ofctl_prints_what_ovs_ofctl_prints") {
        return;
    }
    let ovs = Ovs::start("vs");
    std::fs::write(ovs.dir.join("flows.txt"), FLOWS).expect("write flows.txt");
    let theirs = run_sequence(&ovs, Tool::Ovs);
    let ours = run_sequence(&ovs, Tool::Rvs);
    // The sequence exercises what it is meant to: flows were added, errors were reported.
    let added = &theirs[3];
    assert_eq!(added.status, Some(0), "{added:?}");
    assert!(
        added.stdout.contains("table=4, metadata=0x1/0x1 actions=clear_actions,write_metadata:0x2/0x2"),
        "{added:?}"
    );
    assert!(theirs.iter().any(|o| o.stderr.contains("OFPT_ERROR (OF1.3)")), "no step produced a switch error");
    assert!(theirs.iter().any(|o| o.stderr.contains("99999")), "no step produced a parse error");
    for (t, o) in theirs.iter().zip(&ours) {
        assert_same(t, o);
    }
}
