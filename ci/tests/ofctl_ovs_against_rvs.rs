//! The real `ovs-ofctl` against `rvs-vswitchd`.
//!
//! # Interop test A
//! [`ovs_ofctl_prints_the_same_for_rvs_and_ovs`] runs the real `ovs-ofctl` against the bridge
//! socket of rvs and against that of a real `ovs-vswitchd` (started by the test, on private
//! paths, `datapath_type=netdev`), with the same commands (`show`, `add-flows`,
//! `dump-flows`, `del-flows`, `dump-ports`, `mod-port` and a few more), once with the default
//! protocol and once with `-O OpenFlow13`, and requires the same output. Both switches run in
//! namespaces of their own with veths `p1` and `p2` (OpenFlow ports 1 and 2 through
//! `ofport_request`, the same Ethernet addresses), the same datapath id
//! (`other_config:datapath-id`) and the same bridge address (`other_config:hwaddr`), so that
//! nothing about the switches themselves needs normalising. What is normalised, and why:
//! * `duration=`, `idle_age=`, `hard_age=` values (`ofctl_common::mask_durations`): they
//!   depend on when each command runs;
//! * the order of the entries of a flow or port statistics reply (each entry is kept
//!   whole): OpenFlow leaves it open, Open vSwitch sends them in the order of its hash tables;
//! * the run directory in error messages that name the bridge socket (each switch has its
//!   own);
//! * the order of the groups in group description and statistics replies (Open vSwitch's
//!   hash table order again);
//! * in `dump-group-features`, the MPLS actions and `set_queue` (`enqueue` in OpenFlow 1.0),
//!   which rvs does not execute in buckets ([`NOT_IN_BUCKETS`], [`NOT_IN_BUCKETS_10`]): a real
//!   difference, which shows in that command only.
//!
//! Groups ([`GROUP_STEPS`]) are compared under both protocols: over OpenFlow 1.0,
//! `ovs-ofctl` sends them in Open vSwitch's Nicira extension messages (OpenFlow 1.5's layout,
//! bucket ids included), over OpenFlow 1.3 in the standard ones.
//!
//! [`ovs_ofctl_monitor_sees_the_same_flow_updates`] does the same for `monitor br0 watch:`
//! (flow monitor updates; Nicira's over OpenFlow 1.0, ONF's over OpenFlow 1.3), and checks
//! that `rvs-ofctl monitor` prints them the same way.
//!
//! # rvs alone
//! The other tests run `ovs-ofctl -O OpenFlow13` against rvs only.
//!
//! `ovs-ofctl add-flow` asks for the switch's table features (to learn table names) before it
//! sends a flow-mod and gives up when the answer is an error or lacks a required property;
//! this test makes sure rvs answers well enough for `add-flow`, `add-flows`, `mod-flows`,
//! `del-flows` (with and without `--strict`), `dump-flows` and `dump-table-features` to work,
//! and that rvs-ofctl prints what `ovs-ofctl` prints about the same rvs switch. A second test
//! checks the wire behaviour directly: a request that would reconfigure the tables gets
//! `OFPTFFC_EPERM`, and the description of 254 tables comes in several messages.
//!
//! The daemon is a private one started by the test harness (its own namespace and
//! directories, stopped on drop); the bridge has two veth ports, named so that port names
//! can be used in flows, and sees no traffic.

mod ofctl_common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use ofctl_common::{assert_same, ofctl, require_ovs, Outcome, Ovs, Tool};
use rvs_ci::{require_root, run, unique_prefix, wait_for, Netns, Switchd};

fn ovs(sw: &Switchd, args: &[&str]) -> Outcome {
    let mut a = vec!["-O", "OpenFlow13"];
    a.extend_from_slice(args);
    ofctl(Tool::Ovs, &sw.rundir(), &a, &sw.dir)
}

fn rvs(sw: &Switchd, args: &[&str]) -> Outcome {
    let mut a = vec!["-O", "OpenFlow13"];
    a.extend_from_slice(args);
    ofctl(Tool::Rvs, &sw.rundir(), &a, &sw.dir)
}

/// Runs a command with `ovs-ofctl`; it must succeed without complaint.
fn ovs_ok(sw: &Switchd, args: &[&str]) -> Outcome {
    let o = ovs(sw, args);
    assert!(o.status == Some(0) && o.stderr.is_empty(), "ovs-ofctl failed against rvs:\n{o:?}\nrvs log:\n{}", sw.log());
    o
}

/// Lines of a `dump-flows --no-stats` output, for membership checks.
fn flows(o: &Outcome) -> Vec<String> {
    o.stdout.lines().map(|l| l.trim().to_string()).collect()
}

#[test]
fn ovs_ofctl_manages_flows_on_rvs() {
    if !require_root("ofctl_ovs_against_rvs::ovs_ofctl_manages_flows_on_rvs")
        || !require_ovs("ofctl_ovs_against_rvs::ovs_ofctl_manages_flows_on_rvs")
    {
        return;
    }
    let p = unique_prefix();
    let sw = Switchd::start(&p);
    // No traffic, so that counters stay put between the two tools' runs: no IPv6
    // autoconfiguration in the switch's namespace, and the veths' far ends stay down.
    run(sw.ns.cmd("sysctl").args(["-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]));
    sw.vsctl(&["add-br", "br0"]);
    let ports = sw.add_veth_ports("br0", &p, 2);
    let (p1, p2) = (ports[0].clone(), ports[1].clone());

    // add-flow: the table features request must not stop it.
    ovs_ok(&sw, &["del-flows", "br0"]);
    ovs_ok(&sw, &["add-flow", "br0", "in_port=1,actions=output:2"]);
    ovs_ok(&sw, &["add-flow", "br0", &format!("priority=10,in_port={p2},actions=output:{p1}")]);
    let file = sw.dir.join("flows.txt");
    std::fs::write(
        &file,
        "# flows\ncookie=0x5,priority=100,tcp,tp_dst=80,actions=mod_nw_dst:10.0.0.9,output:2\n\
         table=1,priority=7,ip,nw_src=10.0.0.0/8,actions=dec_ttl,output:1\n\
         priority=50,udp,actions=drop\n",
    )
    .expect("write flows");
    ovs_ok(&sw, &["add-flows", "br0", "flows.txt"]);
    let dump = ovs_ok(&sw, &["dump-flows", "--no-stats", "br0"]);
    let lines = flows(&dump);
    for want in [
        "in_port=1 actions=output:2",
        "priority=10,in_port=2 actions=output:1",
        "cookie=0x5, priority=100,tcp,tp_dst=80 actions=set_field:10.0.0.9->ip_dst,output:2",
        "table=1, priority=7,ip,nw_src=10.0.0.0/8 actions=dec_ttl,output:1",
        "priority=50,udp actions=drop",
    ] {
        assert!(lines.iter().any(|l| l == want), "missing `{want}` in:\n{dump:?}");
    }
    assert_same(&dump, &rvs(&sw, &["dump-flows", "--no-stats", "br0"]));
    assert_same(&ovs_ok(&sw, &["dump-flows", "br0"]), &rvs(&sw, &["dump-flows", "br0"]));
    assert_same(
        &ovs(&sw, &["--names", "--no-stats", "dump-flows", "br0", "in_port=2"]),
        &rvs(&sw, &["--names", "--no-stats", "dump-flows", "br0", "in_port=2"]),
    );

    // mod-flows and del-flows, loose and strict.
    ovs_ok(&sw, &["mod-flows", "br0", "udp,actions=output:1"]);
    ovs_ok(&sw, &["--strict", "del-flows", "br0", "tcp"]);
    let kept = flows(&ovs_ok(&sw, &["dump-flows", "--no-stats", "br0"]));
    assert!(kept.iter().any(|l| l == "priority=50,udp actions=output:1"), "{kept:?}");
    assert!(
        kept.iter().any(|l| l.contains("tcp,tp_dst=80")),
        "strict delete without priority removed the rule: {kept:?}"
    );
    ovs_ok(&sw, &["--strict", "del-flows", "br0", "priority=100,tcp,tp_dst=80"]);
    ovs_ok(&sw, &["del-flows", "br0", "in_port=1"]);
    let kept = flows(&ovs_ok(&sw, &["dump-flows", "--no-stats", "br0"]));
    assert!(!kept.iter().any(|l| l.contains("tcp,tp_dst=80") || l.starts_with("in_port=1")), "{kept:?}");
    assert_same(&ovs(&sw, &["dump-flows", "--no-stats", "br0"]), &rvs(&sw, &["dump-flows", "--no-stats", "br0"]));

    // A flow-mod rvs refuses: the same error from both tools.
    let refused = ovs(&sw, &["add-flow", "br0", "in_port=1,actions=output:1,goto_table:0"]);
    assert_eq!(refused.status, Some(1), "{refused:?}");
    assert!(refused.stderr.starts_with("OFPT_ERROR (OF1.3)"), "{refused:?}");
    assert_same(&refused, &rvs(&sw, &["add-flow", "br0", "in_port=1,actions=output:1,goto_table:0"]));

    // Connection tracking parses but rvs has none yet: refused with OFPBAC_BAD_TYPE (what
    // Open vSwitch answers without datapath conntrack support), the error naming the flow.
    // MPLS likewise (no MPLS in the flow key or the datapath yet).
    for flow in [
        "ip,actions=ct(commit,table=1)",
        "ip,actions=ct_clear,output:1",
        "ip,actions=ct(commit,nat(src=10.0.0.1))",
        "ip,actions=push_mpls:0x8847,output:2",
        "mpls,actions=pop_mpls:0x0800,output:1",
    ] {
        for tool in [Tool::Ovs, Tool::Rvs] {
            let o = ofctl(tool, &sw.rundir(), &["-O", "OpenFlow13", "add-flow", "br0", flow], &sw.dir);
            let action = flow.split_once("actions=").map_or(flow, |(_, a)| a);
            assert_eq!(o.status, Some(1), "{tool:?} {flow}: {o:?}");
            assert!(o.stderr.contains("OFPBAC_BAD_TYPE") && o.stderr.contains(action), "{tool:?} {flow}: {o:?}");
        }
    }
    assert!(!flows(&ovs_ok(&sw, &["dump-flows", "--no-stats", "br0"])).iter().any(|l| l.contains("ct(") || l.contains("_mpls")));

    // Table features and the rest of the read-only commands.
    let tf = ovs_ok(&sw, &["dump-table-features", "br0"]);
    assert!(
        tf.stdout.starts_with("  table 0:\n")
            && tf.stdout.contains("  tables 1...252: ditto\n")
            && tf.stdout.contains("  table 253:\n"),
        "{tf:?}"
    );
    assert_same(&tf, &rvs(&sw, &["dump-table-features", "br0"]));
    for cmd in [
        &["show", "br0"][..],
        &["dump-ports", "br0"],
        &["dump-ports-desc", "br0"],
        &["dump-tables", "br0"],
        &["dump-desc", "br0"],
        &["dump-aggregate", "br0"],
    ] {
        assert_same(&ovs_ok(&sw, cmd), &rvs(&sw, cmd));
    }
    ovs_ok(&sw, &["del-flows", "br0"]);
    assert_eq!(ovs_ok(&sw, &["dump-flows", "--no-stats", "br0"]).stdout, "");
}

/// Reads one OpenFlow message.
fn read_msg(s: &mut UnixStream) -> Vec<u8> {
    let mut head = [0u8; 8];
    s.read_exact(&mut head).expect("read header");
    let mut msg = head.to_vec();
    msg.resize(u16::from_be_bytes([head[2], head[3]]) as usize, 0);
    s.read_exact(&mut msg[8..]).expect("read body");
    msg
}

#[test]
fn table_features_cannot_be_changed() {
    if !require_root("ofctl_ovs_against_rvs::table_features_cannot_be_changed") {
        return;
    }
    let p = unique_prefix();
    let sw = Switchd::start(&p);
    sw.vsctl(&["add-br", "br0"]);
    let mut s = UnixStream::connect(sw.rundir().join("br0.mgmt")).expect("connect to br0.mgmt");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&[4, 0, 0, 16, 0, 0, 0, 1, 0, 1, 0, 8, 0, 0, 0, 0x10]).unwrap();
    assert_eq!(read_msg(&mut s)[1], 0, "expected the switch's hello");
    // A table features request that sets table 0's features (one 64-byte entry, no
    // properties): OFPTFFC_EPERM, type 13 code 5.
    let mut req = vec![4, 18, 0, 80, 0, 0, 0, 9, 0, 12, 0, 0, 0, 0, 0, 0, 0, 64];
    req.resize(80, 0);
    s.write_all(&req).unwrap();
    let err = read_msg(&mut s);
    assert_eq!((err[1], &err[4..8], &err[8..12]), (1, &[0, 0, 0, 9][..], &[0, 13, 0, 5][..]), "{err:?}");
    // The empty request still describes every table, over several messages.
    s.write_all(&[4, 18, 0, 16, 0, 0, 0, 10, 0, 12, 0, 0, 0, 0, 0, 0]).unwrap();
    let mut parts = 0;
    loop {
        let m = read_msg(&mut s);
        assert_eq!((m[1], &m[8..10]), (19, &[0, 12][..]), "expected a table features reply");
        parts += 1;
        if m[11] & 1 == 0 {
            break;
        }
    }
    assert!(parts > 1, "254 tables fit in one message?");
}

/// Flows for interop test A: any protocol can carry them.
const FLOWS_A: &str = "\
priority=0,actions=NORMAL
in_port=1,actions=output:2
in_port=2 actions=output:1
priority=100,tcp,nw_src=10.0.0.0/8,tp_dst=80,actions=mod_nw_dst:1.2.3.4,output:2
priority=200,ip,nw_dst=192.168.1.1,actions=dec_ttl,output:LOCAL
table=1,priority=5,dl_vlan=10,actions=strip_vlan,output:p1
cookie=0x1234,priority=300,arp,arp_tpa=10.0.0.1,actions=NORMAL
table=2,reg0=0x5/0xff,actions=load:0x1->NXM_NX_REG1[],resubmit(,3)
idle_timeout=60,priority=7,udp,tp_src=53,actions=controller(max_len=64)
priority=9,tcp,tcp_flags=+syn-ack,actions=drop
priority=10,in_port=p2,dl_type=0x0800,nw_proto=17,actions=set_field:10.1.1.1->ip_src,p1
table=2,priority=6,ip,actions=clone(mod_nw_dst:10.0.0.9,output:2),clone(clone(load:0x5->NXM_NX_REG0[],output:1)),output:LOCAL
table=3,priority=5,tcp,actions=multipath(symmetric_l4,1024,hash_threshold,2,0,NXM_NX_REG0[0..5]),resubmit(,4)
table=3,priority=4,actions=multipath(symmetric_l3,7,iter_hash,7,3,reg1[0..7]),bundle(eth_src,0,hrw,ofport,members:1,2)
table=3,priority=3,ip,actions=bundle_load(symmetric_l3l4+udp,5,active_backup,ofport,NXM_NX_REG2[],slaves:2,1,LOCAL),output:2
";

/// The commands of interop test A (after the protocol option).
const STEPS_A: &[&[&str]] = &[
    &["show", "br0"],
    &["del-flows", "br0"],
    &["add-flows", "br0", "flows.txt"],
    &["dump-flows", "br0"],
    &["--no-stats", "--names", "dump-flows", "br0"],
    &["dump-flows", "br0", "tcp"],
    &["del-flows", "br0", "tcp"],
    &[
        "--strict",
        "del-flows",
        "br0",
        "priority=200,ip,nw_dst=192.168.1.1",
    ],
    &["--strict", "del-flows", "br0", "ip"],
    &["dump-flows", "br0"],
    &["dump-aggregate", "br0"],
    &["add-flow", "br0", "in_port=1,actions=output:1,goto_table:0"],
    &["mod-port", "br0", "p1", "down"],
    &["mod-port", "br0", "2", "noflood"],
    &["mod-port", "br0", "p9", "up"],
    &["show", "br0"],
    &["dump-ports-desc", "br0"],
    &["mod-port", "br0", "p1", "up"],
    &["mod-port", "br0", "2", "flood"],
    &["show", "br0"],
    &["dump-ports", "br0"],
    &["dump-ports", "br0", "2"],
    &["dump-ports", "br0", "LOCAL"],
    &["queue-stats", "br0"],
    &["dump-tables", "br0"],
    &["del-flows", "br0"],
    &["dump-flows", "br0"],
];

/// Sorts the entries of a flow or port statistics reply: the first line (the reply's
/// header, if it is not indented) stays first, and each entry (a line indented by one or two spaces, with the more
/// deeply indented lines after it) moves as a whole.
fn sort_entries(text: &str) -> String {
    // `--no-stats` dumps have no header line.
    let head = text
        .lines()
        .next()
        .filter(|l| !l.starts_with(' '))
        .map(|l| format!("{l}\n"))
        .unwrap_or_default();
    let mut entries: Vec<String> = Vec::new();
    for l in text.lines().skip(usize::from(!head.is_empty())) {
        let indent = l.len() - l.trim_start().len();
        match entries.last_mut() {
            Some(e) if indent > 2 => {
                e.push_str(l);
                e.push('\n');
            }
            _ => entries.push(format!("{l}\n")),
        }
    }
    entries.sort();
    format!("{head}{}", entries.concat())
}

/// Bucket actions Open vSwitch lists in its group features and rvs does not execute, as
/// OpenFlow 1.3 names them.
const NOT_IN_BUCKETS: &str = " set_mpls_ttl dec_mpls_ttl push_mpls pop_mpls set_queue";
/// The same for OpenFlow 1.0 (Nicira group features): `enqueue`.
const NOT_IN_BUCKETS_10: &str = " enqueue";

/// Group commands of interop test A, run after [`STEPS_A`] with both protocols: over
/// OpenFlow 1.0 `ovs-ofctl` sends Open vSwitch's Nicira group messages (OpenFlow 1.5's
/// layout, with bucket ids), over OpenFlow 1.3 the standard ones.
const GROUP_STEPS: &[&[&str]] = &[
    &["add-group", "br0", "group_id=1,type=all,bucket=output:1,bucket=output:2"],
    &["add-group", "br0", "group_id=2,type=select,bucket=weight:10,actions=output:1,bucket=weight:20,watch_port:2,actions=output:2"],
    &["add-group", "br0", "group_id=3,type=ff,bucket=watch_port:1,output:1,bucket=watch_port:p2,output:2"],
    &["add-group", "br0", "group_id=4,type=indirect,bucket=mod_vlan_vid:5,output:2"],
    &["add-group", "br0", "group_id=5,type=select,bucket=output:1,bucket=weight:0,output:2,bucket=group:1"],
    &["add-group", "br0", "group_id=1,type=all,bucket=output:1"],
    &["add-group", "br0", "group_id=6,type=indirect"],
    &["add-group", "br0", "group_id=4294967041,type=all"],
    &["add-flow", "br0", "in_port=1,actions=group:2"],
    &["add-flow", "br0", "in_port=2,actions=write_actions(group:3)"],
    &["add-flow", "br0", "in_port=2,tcp,actions=group:9"],
    &["add-group", "br0", "group_id=8,type=all,bucket=bucket_id:7,output:1,bucket=bucket_id:3,watch_group:1,output:2"],
    &["add-group", "br0", "group_id=8,type=select,bucket=bucket_id:7,output:1,bucket=bucket_id:3,watch_group:1,output:2"],
    &["dump-groups", "br0"],
    &["dump-groups", "br0", "8"],
    &["dump-groups", "br0", "99"],
    &["--names", "dump-groups", "br0"],
    &["dump-group-stats", "br0"],
    &["dump-group-stats", "br0", "group_id=2"],
    &["dump-group-stats", "br0", "group_id=99"],
    &["dump-group-features", "br0"],
    &["dump-flows", "br0"],
    &["dump-flows", "br0", "out_group=3"],
    &["mod-group", "br0", "group_id=7,type=all,bucket=output:1"],
    &["mod-group", "br0", "group_id=2,type=all,bucket=output:2"],
    &["dump-groups", "br0"],
    &["del-groups", "br0", "group_id=3"],
    &["dump-flows", "br0"],
    &["del-groups", "br0", "group_id=77"],
    &["del-groups", "br0"],
    &["dump-groups", "br0"],
    &["dump-flows", "br0"],
];

/// Bundle commands of interop test A (the ONF extension OpenFlow 1.3 uses: all or nothing),
/// run after [`GROUP_STEPS`] with `-O OpenFlow13`.
const BUNDLE_STEPS: &[&[&str]] = &[
    &["--bundle", "add-flows", "br0", "bundle_good.txt"],
    &["--bundle", "add-flows", "br0", "bundle_bad.txt"],
    &["--no-stats", "dump-flows", "br0"],
    &["--bundle", "replace-flows", "br0", "flows.txt"],
    &["--no-stats", "dump-flows", "br0"],
];

/// Veths `p1` and `p2` in `ns` (their peers stay down, so no traffic moves counters), with
/// fixed addresses, and no IPv6 autoconfiguration in the namespace.
fn veths(ns: &Netns) {
    run(ns.cmd("sysctl").args([
        "-qw",
        "net.ipv6.conf.all.disable_ipv6=1",
        "net.ipv6.conf.default.disable_ipv6=1",
    ]));
    for i in 1..=2 {
        let (p, q) = (format!("p{i}"), format!("q{i}"));
        ns.ip(&["link", "add", &p, "type", "veth", "peer", "name", &q]);
        ns.ip(&[
            "link",
            "set",
            &p,
            "address",
            &format!("aa:55:aa:55:00:0{i}"),
        ]);
        ns.ip(&["link", "set", &p, "up"]);
    }
}

#[test]
fn ovs_ofctl_prints_the_same_for_rvs_and_ovs() {
    const TEST: &str = "ofctl_ovs_against_rvs::ovs_ofctl_prints_the_same_for_rvs_and_ovs";
    if !require_root(TEST) || !require_ovs(TEST) {
        return;
    }
    let p = unique_prefix();
    let sw = Switchd::start(&p);
    veths(&sw.ns);
    sw.vsctl(&[
        "add-br",
        "br0",
        "--",
        "set",
        "bridge",
        "br0",
        "other_config:datapath-id=00000000000000b0",
        "other_config:hwaddr=aa:55:aa:55:00:b0",
        "--",
        "add-port",
        "br0",
        "p1",
        "--",
        "set",
        "interface",
        "p1",
        "ofport_request=1",
        "--",
        "add-port",
        "br0",
        "p2",
        "--",
        "set",
        "interface",
        "p2",
        "ofport_request=2",
    ]);
    let ovs_ns = Netns::new(&format!("{p}ovs"));
    veths(&ovs_ns);
    let real = Ovs::start_on_veths(&format!("a-{p}"), &ovs_ns);
    for dir in [&sw.dir, &real.dir] {
        std::fs::write(dir.join("flows.txt"), FLOWS_A).expect("write flows.txt");
        std::fs::write(dir.join("bundle_good.txt"), "priority=5,in_port=1,actions=output:2\ntable=1,in_port=2,actions=drop\n")
            .expect("write bundle_good.txt");
        // The second flow is refused (goto_table may only go forward): nothing is added.
        std::fs::write(dir.join("bundle_bad.txt"), "priority=6,in_port=1,actions=output:1\nin_port=2,actions=goto_table:0\n")
            .expect("write bundle_bad.txt");
    }
    let of10 = STEPS_A.iter().chain(GROUP_STEPS).chain(&[]);
    let of13 = STEPS_A.iter().chain(GROUP_STEPS).chain(BUNDLE_STEPS);
    for (protocol, steps) in [(&[][..], of10), (&["-O", "OpenFlow13"][..], of13)] {
        for step in steps {
            let mut args = protocol.to_vec();
            args.extend_from_slice(step);
            let mut theirs = ofctl(Tool::Ovs, &real.dir, &args, &real.dir);
            let mut ours = ofctl(Tool::Ovs, &sw.rundir(), &args, &sw.dir);
            // Error messages name the socket, which lives in each switch's own run directory.
            theirs.stderr = theirs.stderr.replace(&real.dir.display().to_string(), "RUNDIR");
            ours.stderr = ours.stderr.replace(&sw.rundir().display().to_string(), "RUNDIR");
            if step[0] == "dump-group-features" {
                let missing = if protocol.is_empty() { NOT_IN_BUCKETS_10 } else { NOT_IN_BUCKETS };
                theirs.stdout = theirs.stdout.replace(missing, "");
            }
            if step.iter().any(|a| a.starts_with("dump-flows") || a.starts_with("dump-ports") || a.starts_with("dump-group")) {
                theirs.stdout = sort_entries(&theirs.stdout);
                ours.stdout = sort_entries(&ours.stdout);
            }
            assert_same(&theirs, &ours);
        }
    }
    // The sequence did what it is meant to: flows went in, and a port went down and up.
    let dump = ofctl(Tool::Ovs, &sw.rundir(), &["add-flows", "br0", "flows.txt"], &sw.dir);
    assert_eq!(dump.status, Some(0), "{dump:?}");
    let dump = ofctl(Tool::Ovs, &sw.rundir(), &["--no-stats", "dump-flows", "br0"], &sw.dir);
    assert!(dump.stdout.contains("priority=300,arp,arp_tpa=10.0.0.1 actions=NORMAL"), "{dump:?}");
    let group = &["-O", "OpenFlow13", "add-group", "br0", "group_id=9,type=ff,bucket=watch_port:1,output:1"];
    assert_eq!(ofctl(Tool::Ovs, &sw.rundir(), group, &sw.dir).status, Some(0));
    let groups = ofctl(Tool::Ovs, &sw.rundir(), &["-O", "OpenFlow13", "dump-groups", "br0"], &sw.dir);
    assert!(groups.stdout.contains(" group_id=9,type=ff,bucket=watch_port:1,actions=output:1\n"), "{groups:?}");
}

#[test]
fn entries_sort_whole() {
    let dump = "OFPST_PORT reply (xid=0x2): 2 ports\n  port  2: rx a\n           tx b\n  port  1: rx c\n           tx d\n";
    assert_eq!(sort_entries(dump), "OFPST_PORT reply (xid=0x2): 2 ports\n  port  1: rx c\n           tx d\n  port  2: rx a\n           tx b\n");
    assert_eq!(
        sort_entries("NXST_FLOW reply:\n b\n a\n"),
        "NXST_FLOW reply:\n a\n b\n"
    );
    assert_eq!(sort_entries(" b\n a\n"), " a\n b\n");
    assert_eq!(sort_entries(""), "");
}

/// Runs `ovs-ofctl [PROTOCOL] monitor br0 watch:` against the switch whose run directory is
/// `rundir` (output to a file there), applies `changes` with `ovs-ofctl` once the monitor has
/// printed its initial reply, and returns what the monitor printed once it has printed
/// `replies` flow monitor replies (or after 20 s), without its log lines.
fn monitor_output(tool: Tool, protocol: &[&str], rundir: &std::path::Path, changes: &[&[&str]], replies: usize) -> String {
    let out = rundir.join("monitor.out");
    let file = std::fs::File::create(&out).expect("create monitor output");
    let program = match tool {
        Tool::Ovs => std::path::PathBuf::from("ovs-ofctl"),
        Tool::Rvs => rvs_ci::bin("rvs-ofctl"),
    };
    let mut child = std::process::Command::new(program)
        .args(protocol)
        .args(["monitor", "br0", "watch:"])
        .env("OVS_RUNDIR", rundir)
        .env("RVS_RUNDIR", rundir)
        .stdin(std::process::Stdio::null())
        .stdout(file.try_clone().expect("dup"))
        .stderr(file)
        .spawn()
        .expect("start ovs-ofctl monitor");
    let count = || std::fs::read_to_string(&out).unwrap_or_default().matches("FLOW_MONITOR reply").count();
    assert!(wait_for(Duration::from_secs(20), || count() >= 1), "no initial reply");
    for c in changes {
        let o = ofctl(Tool::Ovs, rundir, c, rundir);
        assert_eq!(o.status, Some(0), "{o:?}");
    }
    wait_for(Duration::from_secs(20), || count() >= replies);
    // SIGTERM: ovs-ofctl writes what it has and exits.
    // SAFETY: kill(2) on our child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    text.lines().filter(|l| !(l.len() > 20 && l.as_bytes()[4] == b'-' && l.contains('|'))).collect::<Vec<_>>().join("\n")
}

#[test]
fn ovs_ofctl_monitor_sees_the_same_flow_updates() {
    const TEST: &str = "ofctl_ovs_against_rvs::ovs_ofctl_monitor_sees_the_same_flow_updates";
    if !require_root(TEST) || !require_ovs(TEST) {
        return;
    }
    let p = unique_prefix();
    let sw = Switchd::start(&p);
    sw.vsctl(&["add-br", "br0"]);
    let real = Ovs::start(&format!("monitor-{p}"));
    let changes: &[&[&str]] = &[
        &["add-flow", "br0", "tcp,tp_dst=80,actions=drop"],
        &["mod-flows", "br0", "tcp,actions=output:1"],
        &["del-flows", "br0", "udp"],
        &["add-flow", "br0", "priority=7,cookie=0x9,idle_timeout=99,ip,actions=drop"],
        &["--strict", "del-flows", "br0", "priority=7,ip"],
    ];
    // OpenFlow 1.0 (Nicira's NXST_FLOW_MONITOR), then 1.3 (ONF's ONFST_FLOW_MONITOR).
    for (protocol, header) in [(&[][..], "NXST_FLOW_MONITOR reply (xid=0x0):"), (&["-O", "OpenFlow13"][..], "ONFST_FLOW_MONITOR reply (OF1.3) (xid=0x0):")] {
        let mut outputs = Vec::new();
        for rundir in [real.dir.clone(), sw.rundir()] {
            for setup in [&["del-flows", "br0"][..], &["add-flow", "br0", "udp,actions=controller"]] {
                assert_eq!(ofctl(Tool::Ovs, &rundir, setup, &rundir).status, Some(0));
            }
            outputs.push(monitor_output(Tool::Ovs, protocol, &rundir, changes, 6));
        }
        assert!(outputs[0].contains("event=DELETED reason=delete table=0 cookie=0 udp actions=CONTROLLER:65535"), "{}", outputs[0]);
        assert_eq!(outputs[0].matches(header).count(), 5, "{}", outputs[0]);
        assert_eq!(outputs[0], outputs[1], "ovs-ofctl {protocol:?} monitor differs (Open vSwitch first, then rvs)");
        // rvs-ofctl monitor, against rvs, prints what ovs-ofctl printed.
        let rundir = sw.rundir();
        for setup in [&["del-flows", "br0"][..], &["add-flow", "br0", "udp,actions=controller"]] {
            assert_eq!(ofctl(Tool::Ovs, &rundir, setup, &rundir).status, Some(0));
        }
        assert_eq!(outputs[0], monitor_output(Tool::Rvs, protocol, &rundir, changes, 6), "rvs-ofctl {protocol:?} monitor differs");
    }
}
