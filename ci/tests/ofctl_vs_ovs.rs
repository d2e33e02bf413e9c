//! `rvs-ofctl` against the real `ovs-ofctl`, both talking to a real (private) Open vSwitch.
//!
//! The same sequence of commands runs against bridge `br0` of a private `ovs-vswitchd` (see
//! `ofctl_common`) under both protocol settings: with the default protocols (OpenFlow 1.0
//! with Nicira extensions, as plain `ovs-ofctl` speaks) and with `-O OpenFlow13`. For each,
//! it runs first with `ovs-ofctl`, then with `rvs-ofctl`; each step's standard output,
//! standard error and exit status must be the same (after removing the program name, Open
//! vSwitch's log lines and the `duration=`/`idle_age=`/`hard_age=` values). The sequence
//! starts by deleting every flow, so every run sees the same switch; it covers `add-flows`
//! from files of varied flows (with comments, blank lines, a `modify` line and port names;
//! one file of flows any protocol can carry, one of OpenFlow 1.1+ instructions, which
//! OpenFlow 1.0 refuses), flow dumps with and without statistics, sorted, filtered and with
//! names, aggregates, `del-flows` and `mod-flows` with and without `--strict`, flow-mods
//! the switch refuses (the error and the request inside it), flows that do not parse,
//! groups (OpenFlow 1.3 only, [`GROUP_STEPS`]), `replace-flows` and `diff-flows`
//! ([`REPLACE_STEPS`]),
//! `mod-port`, `packet-out`, ports, `show`, tables and table features, and flow formats
//! forced with `-F` (which `-O OpenFlow13` contradicts).

mod ofctl_common;

use ofctl_common::{assert_same, mask_durations, require_ovs, Outcome, Ovs, Tool};

/// Flows for `add-flows` that every protocol can carry.
const FLOWS: &str = "\
# Flows for the ofctl_vs_ovs test: comments and blank lines are skipped.
priority=0,actions=NORMAL

in_port=1,actions=output:2
in_port=2 actions=output:1   # a trailing comment
priority=100,tcp,nw_src=10.0.0.0/8,tp_dst=80,actions=mod_nw_dst:1.2.3.4,output:2
priority=200,ip,nw_dst=192.168.1.1,actions=dec_ttl,output:LOCAL
table=1,priority=5,dl_vlan=10,actions=strip_vlan,output:p1
table=1,priority=6,dl_src=00:11:22:33:44:55/ff:ff:ff:00:00:00,actions=mod_vlan_vid:100,output:2
cookie=0x1234,priority=300,arp,arp_tpa=10.0.0.1,actions=NORMAL
table=2,reg0=0x5/0xff,actions=load:0x1->NXM_NX_REG1[],resubmit(,3)
table=3,ipv6,ipv6_dst=2001:db8::/32,actions=move:NXM_NX_REG1[]->NXM_NX_REG2[],enqueue:1:2
idle_timeout=60,hard_timeout=120,priority=7,udp,tp_src=53,actions=controller(reason=no_match,max_len=64)
send_flow_rem,priority=8,icmp,icmp_type=8,actions=note:01.02.03,output:1
priority=9,tcp,tcp_flags=+syn-ack,actions=drop
priority=10,in_port=p2,dl_type=0x0800,nw_proto=17,actions=set_field:10.1.1.1->ip_src,p1
priority=11,tcp,nw_tos=32,actions=mod_nw_tos:64,mod_tp_dst:8080,set_field:5->reg3
modify in_port=2,actions=output:p1
";

/// Flows for `add-flows` that need OpenFlow 1.1+ (OpenFlow 1.0 refuses the file).
const FLOWS13: &str = "\
table=1,priority=7,dl_vlan=10,actions=pop_vlan,output:p1
table=1,priority=8,dl_src=00:11:22:33:44:55/ff:ff:ff:00:00:00,actions=push_vlan:0x8100,set_field:4196->vlan_vid,output:2
table=3,ipv6,ipv6_dst=2001:db9::/32,actions=write_actions(output:1),goto_table:4
table=4,metadata=0x1/0x1,actions=clear_actions,write_metadata:0x2/0x2
";

/// The command sequence (after the protocol option). `flows.txt` is [`FLOWS`],
/// `flows13.txt` [`FLOWS13`].
const STEPS: &[&[&str]] = &[
    &["del-flows", "br0"],
    &["dump-flows", "br0"],
    &["add-flows", "br0", "flows.txt"],
    &["add-flows", "br0", "flows13.txt"],
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
    &["dump-flows", "br0", "reg0=0x5/0xff"],
    &["dump-flows", "br0", "tcp6"],
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
    &["add-flow", "br0", "table=2,cookie=0x5,priority=9,ipv6,ipv6_src=::1,actions=set_field:::2->ipv6_dst"],
    &["mod-flows", "br0", "cookie=0x5/0xff,actions=output:p2"],
    &["dump-flows", "--no-stats", "br0"],
    &["mod-port", "br0", "p1", "down"],
    &["mod-port", "br0", "2", "noflood"],
    &["mod-port", "br0", "p9", "up"],
    &["mod-port", "br0", "p1", "bogus"],
    &["dump-ports-desc", "br0"],
    &["mod-port", "br0", "p1", "up"],
    &["packet-out", "br0", "1", "output:2", PACKET],
    &["packet-out", "br0", "p1", "output:p2,drop", PACKET],
    &["packet-out", "br0", "LOCAL", "mod_vlan_vid:5,output:p2,controller", PACKET],
    &["packet-out", "br0", "none", "output:1", PACKET],
    &["packet-out", "br0", "1", "output:2", "ffffff"],
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
    &["-F", "openflow10", "dump-flows", "br0"],
    &["-F", "openflow10", "add-flow", "br0", "reg0=1,actions=drop"],
    &["-F", "OpenFlow10", "add-flow", "br0", "priority=3,in_port=2,actions=drop"],
    &["-F", "openflow10", "--names", "dump-flows", "br0"],
    &["-F", "nxm", "dump-aggregate", "br0"],
    &["-F", "OpenFlow10", "dump-aggregate", "br0", "in_port=2"],
    &["-F", "OpenFlow10", "del-flows", "br0", "in_port=2"],
    &["-F", "openflow10-table_id", "add-flow", "br0", "table=1,actions=drop"],
    &["-F", "NXM+table_id,OXM", "mod-flows", "br0", "table=1,actions=drop"],
    &["-F", "bogus", "dump-flows", "br0"],
    &["del-flows", "br0"],
    &["dump-flows", "br0"],
    &["dump-flows", "nosuchbridge"],
    &["parse-flow", "tcp,tp_dst=80,actions=output:2"],
    &["parse-flows", "flows.txt"],
];

/// An ICMP echo request, for `packet-out`.
const PACKET: &str = "ffffffffffff00000000000108004500001c0001000040010000c0a80001c0a80002080000000000000000000000";

/// Runs the sequence with `tool` against a fresh switch, with `protocol` (`-O ...`) before
/// each step's arguments. Each run has its own switch so that port counters (which
/// `packet-out` moves) start from zero for both tools.
fn run_sequence(tool: Tool, protocol: &[&str]) -> Vec<Outcome> {
    let ovs = Ovs::start(&format!("vs-{tool:?}-{}", protocol.len()));
    std::fs::write(ovs.dir.join("flows.txt"), FLOWS).expect("write flows.txt");
    std::fs::write(ovs.dir.join("flows13.txt"), FLOWS13).expect("write flows13.txt");
    STEPS
        .iter()
        .map(|step| {
            let mut args = protocol.to_vec();
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
    for protocol in [&[][..], &["-O", "OpenFlow13"][..]] {
        let theirs = run_sequence(Tool::Ovs, protocol);
        let ours = run_sequence(Tool::Rvs, protocol);
        // The sequence exercises what it is meant to: flows were added, errors were reported.
        let added = &theirs[4];
        assert_eq!(added.status, Some(0), "{added:?}");
        let set_port = if protocol.is_empty() { "mod_tp_dst:8080" } else { "set_field:8080->tcp_dst" };
        assert!(added.stdout.contains("priority=11,tcp,nw_tos=32 actions=") && added.stdout.contains(set_port), "{added:?}");
        let error = if protocol.is_empty() { "OFPT_ERROR (xid=" } else { "OFPT_ERROR (OF1.3)" };
        assert!(theirs.iter().any(|o| o.stderr.contains(error)), "no step produced a switch error");
        assert!(theirs.iter().any(|o| o.stderr.contains("99999")), "no step produced a parse error");
        if protocol.is_empty() {
            // OpenFlow 1.0: NXM and its ages in dumps, and the OpenFlow 1.1+ file refused.
            assert!(theirs[5].stdout.starts_with("NXST_FLOW reply (xid="), "{:?}", theirs[5]);
            assert!(theirs[5].stdout.contains("idle_age=D"), "{:?}", theirs[5]);
            assert!(theirs[3].stderr.contains("none of the usable flow formats"), "{:?}", theirs[3]);
        } else {
            assert!(theirs[4].stdout.contains("table=4, metadata=0x1/0x1 actions=clear_actions,write_metadata:0x2/0x2"));
        }
        for (t, o) in theirs.iter().zip(&ours) {
            assert_same(t, o);
        }
    }
}

#[test]
fn timing_values_are_masked() {
    let dump = " cookie=0x0, duration=1.234s, table=0, n_packets=0, n_bytes=0, idle_age=12, hard_age=3, priority=0 actions=NORMAL\n";
    assert_eq!(
        mask_durations(dump),
        " cookie=0x0, duration=Ds, table=0, n_packets=0, n_bytes=0, idle_age=D, priority=0 actions=NORMAL\n"
    );
    // Only values in the printed form are masked.
    assert_eq!(mask_durations("idle_age=x, hard_age=,"), "idle_age=x, hard_age=,");
}

/// Group commands (after `-O OpenFlow13`): adds, errors of the switch and of the parser,
/// dumps, statistics, flows that use groups, modify and delete; then flow-mods in bundles.
const GROUP_STEPS: &[&[&str]] = &[
    &["del-groups", "br0"],
    &["add-group", "br0", "group_id=1,type=all,bucket=output:1,bucket=output:p2"],
    &["add-group", "br0", "group_id=2,type=select,bucket=weight:10,actions=output:1,bucket=weight:20,watch_port:2,actions=output:2"],
    &["add-group", "br0", "group_id=3,type=ff,bucket=watch_port:1,output:1,bucket=watch_port:p2,watch_group:1,output:2"],
    &["add-group", "br0", "group_id=4,type=indirect,bucket=mod_vlan_vid:5,dec_ttl,output:2"],
    &["add-group", "br0", "group_id=1,type=all,bucket=output:1"],
    &["add-group", "br0", "group_id=6,type=indirect"],
    &["add-group", "br0", "group_id=7,type=all,bucket=weight:5,output:1"],
    &["add-group", "br0", "group_id=7,type=ff,bucket=output:1"],
    &["add-group", "br0", "group_id=7,type=bogus"],
    &["add-group", "br0", "type=all"],
    &["add-group", "br0", "group_id=4294967041,type=all"],
    &["add-groups", "br0", "groups.txt"],
    &["add-flow", "br0", "in_port=1,actions=group:2"],
    &["add-flow", "br0", "in_port=2,actions=write_actions(group:3)"],
    &["add-flow", "br0", "in_port=2,tcp,actions=group:99"],
    &["dump-groups", "br0"],
    &["--names", "dump-groups", "br0"],
    &["dump-group-stats", "br0"],
    &["dump-group-stats", "br0", "group_id=2"],
    &["dump-group-stats", "br0", "group_id=88"],
    &["dump-group-features", "br0"],
    &["--no-stats", "dump-flows", "br0", "out_group=3"],
    &["mod-group", "br0", "group_id=77,type=all,bucket=output:1"],
    &["mod-group", "br0", "group_id=2,type=all,bucket=output:2"],
    &["del-groups", "br0", "group_id=3"],
    &["--no-stats", "dump-flows", "br0"],
    &["del-groups", "br0", "group_id=77"],
    &["del-groups", "br0"],
    &["dump-groups", "br0"],
    // Bucket ids (shown over OpenFlow 1.0, where groups have OpenFlow 1.5's layout).
    &["add-group", "br0", "group_id=12,type=all,bucket=output:1,bucket=bucket_id:0,output:2,bucket=output:p2"],
    &["add-group", "br0", "group_id=13,type=all,bucket=bucket_id:1,output:1,bucket=output:2,bucket=output:1"],
    &["add-group", "br0", "group_id=14,type=all,bucket=bucket_id:4294967041,output:1"],
    &["dump-groups", "br0", "12"],
    &["del-groups", "br0"],
];

/// Bundle steps (OpenFlow 1.3's ONF extension: all or nothing), after [`GROUP_STEPS`] with
/// `-O OpenFlow13`.
const BUNDLE_STEPS: &[&[&str]] = &[
    &["del-flows", "br0"],
    &["--bundle", "add-flows", "br0", "bundle_good.txt"],
    &["--bundle", "add-flows", "br0", "bundle_bad.txt"],
    &["--no-stats", "dump-flows", "br0"],
    &["--bundle", "replace-flows", "br0", "groups.txt"],
    &["--bundle", "replace-flows", "br0", "bundle_other.txt"],
    &["--no-stats", "dump-flows", "br0"],
];

/// Groups for `add-groups` (comments and blank lines are skipped).
const GROUPS: &str = "# groups\ngroup_id=10,type=all,bucket=output:1\n\ngroup_id=11,type=select,bucket=output:2,bucket=output:1\n";

/// Sorts the entries (lines after the first) of a group dump: Open vSwitch sends groups in
/// the order of its hash table.
fn sort_groups(o: &mut Outcome) {
    let mut lines: Vec<&str> = o.stdout.lines().collect();
    if lines.len() > 2 {
        lines[1..].sort();
    }
    o.stdout = lines.iter().map(|l| format!("{l}\n")).collect();
}

#[test]
fn rvs_ofctl_prints_what_ovs_ofctl_prints_for_groups() {
    if !require_ovs("ofctl_vs_ovs::rvs_ofctl_prints_what_ovs_ofctl_prints_for_groups") {
        return;
    }
    let run = |tool: Tool, protocol: &[&str]| -> Vec<Outcome> {
        let ovs = Ovs::start(&format!("groups-{tool:?}-{}", protocol.len()));
        std::fs::write(ovs.dir.join("groups.txt"), GROUPS).expect("write groups.txt");
        for (f, text) in [
            ("bundle_good.txt", "priority=5,in_port=1,actions=output:2\ntable=1,in_port=p2,actions=drop\n"),
            ("bundle_bad.txt", "priority=6,in_port=1,actions=output:1\nin_port=2,actions=goto_table:0\n"),
            ("bundle_other.txt", "priority=7,tcp,actions=drop\ntable=1,in_port=p2,actions=drop\n"),
        ] {
            std::fs::write(ovs.dir.join(f), text).expect("write bundle flows");
        }
        let bundles = if protocol.is_empty() { &[][..] } else { BUNDLE_STEPS };
        GROUP_STEPS
            .iter()
            .chain(bundles)
            .map(|step| {
                let mut args = protocol.to_vec();
                args.extend_from_slice(step);
                let mut o = ovs.ofctl(tool, &args, &ovs.dir);
                // Each tool has its own switch, in its own directory, which errors name.
                o.stderr = o.stderr.replace(&ovs.dir.display().to_string(), "RUNDIR");
                if step.iter().any(|a| a.starts_with("dump-group")) {
                    sort_groups(&mut o);
                }
                o
            })
            .collect()
    };
    // OpenFlow 1.3, then 1.0 (Open vSwitch's Nicira group messages).
    for (protocol, g11) in [
        (&["-O", "OpenFlow13"][..], "group_id=11,type=select,bucket=actions=output:2,bucket=actions=output:1"),
        (&[][..], "group_id=11,type=select,bucket=bucket_id:0,actions=output:2,bucket=bucket_id:1,actions=output:1"),
    ] {
        let theirs = run(Tool::Ovs, protocol);
        let ours = run(Tool::Rvs, protocol);
        assert!(theirs[16].stdout.contains(g11), "{:?}", theirs[16]);
        assert!(theirs[5].stderr.contains("OFPGMFC_GROUP_EXISTS"), "{:?}", theirs[5]);
        for (t, o) in theirs.iter().zip(&ours) {
            assert_same(t, o);
        }
    }
}

/// The flows `replace-flows` starts from.
const OLD_FLOWS: &str = "priority=0,actions=NORMAL\nin_port=1,actions=output:2\ncookie=0x5,table=1,priority=7,ip,nw_src=10.0.0.0/8,idle_timeout=30,actions=dec_ttl,output:1\n";
/// What `replace-flows` installs (same table 0 only, so that OpenFlow 1.0 can carry it).
const NEW_FLOWS: &str = "priority=0,actions=NORMAL\nin_port=1,actions=output:p2\nhard_timeout=9,in_port=2,actions=drop\n";
/// Flows in several tables, with an importance (OpenFlow 1.4), for `diff-flows` only.
const OTHER_FLOWS: &str = "priority=0,actions=NORMAL\nin_port=1,actions=output:3\ntable=2,tcp,tp_dst=80,actions=drop\nsend_flow_rem,hard_timeout=9,importance=3,in_port=2,actions=drop\n";

/// `replace-flows` and `diff-flows` steps, under each protocol setting.
const REPLACE_STEPS: &[&[&str]] = &[
    &["del-flows", "br0"],
    &["add-flows", "br0", "old.txt"],
    &["diff-flows", "old.txt", "other.txt"],
    &["diff-flows", "old.txt", "old.txt"],
    &["diff-flows", "br0", "old.txt"],
    &["diff-flows", "br0", "other.txt"],
    &["diff-flows", "other.txt", "br0"],
    &["replace-flows", "br0", "other.txt"],
    &["replace-flows", "br0", "new.txt"],
    &["dump-flows", "--no-stats", "br0"],
    &["diff-flows", "br0", "new.txt"],
    &["replace-flows", "br0", "old.txt"],
    &["--sort", "dump-flows", "--no-stats", "br0"],
    &["replace-flows", "br0", "nosuchfile.txt"],
];

#[test]
fn replace_and_diff_flows_as_ovs_ofctl() {
    if !require_ovs("ofctl_vs_ovs::replace_and_diff_flows_as_ovs_ofctl") {
        return;
    }
    for protocol in [&[][..], &["-O", "OpenFlow13"][..]] {
        let run = |tool: Tool| -> Vec<Outcome> {
            let ovs = Ovs::start(&format!("replace-{tool:?}-{}", protocol.len()));
            for (f, text) in [("old.txt", OLD_FLOWS), ("new.txt", NEW_FLOWS), ("other.txt", OTHER_FLOWS)] {
                std::fs::write(ovs.dir.join(f), text).expect("write flows");
            }
            REPLACE_STEPS
                .iter()
                .map(|step| {
                    let mut args = protocol.to_vec();
                    args.extend_from_slice(step);
                    ovs.ofctl(tool, &args, &ovs.dir)
                })
                .collect()
        };
        let theirs = run(Tool::Ovs);
        let ours = run(Tool::Rvs);
        assert_eq!(theirs[2].status, Some(2), "{:?}", theirs[2]);
        assert!(theirs[9].stdout.contains("in_port=1 actions=output:2") || theirs[9].stdout.contains("in_port=1 actions=output:p2"), "{:?}", theirs[9]);
        assert!(!theirs[9].stdout.contains("nw_src=10.0.0.0/8"), "replace-flows left an old flow: {:?}", theirs[9]);
        for (t, o) in theirs.iter().zip(&ours) {
            assert_same(t, o);
        }
    }
}
