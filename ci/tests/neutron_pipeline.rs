//! A Neutron-style pipeline (issue 3): the flows Neutron's OVS agent installs on br-int and
//! br-tun — local VLANs, anti-spoofing in tables 71-73, a remote-group security rule as a
//! conjunctive match, `learn()` from the tunnel into the MAC table 20, the flood table 22 — loaded with `rvs-ofctl add-flows` from
//! `neutron_pipeline/flows.txt` (which explains how the two bridges and the tunnel are folded
//! into one rvs bridge). Checks that traffic forwards as `ofproto/trace` predicts, that spoofed
//! traffic is dropped, that `learn()` fills table 20 from real packets, and that
//! `ofproto/trace -generate` learns while a plain trace does not. Needs root (namespaces).

use std::time::Duration;

use rvs_ci::*;

const FLOWS: &str = include_str!("neutron_pipeline/flows.txt");
const MAC: [&str; 3] = ["02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03"];
const IP: [&str; 3] = ["10.1.0.1", "10.1.0.2", "10.1.0.3"];

/// The `Datapath actions:` line of a trace.
fn dp_actions(trace: &str) -> &str {
    trace.lines().find_map(|l| l.strip_prefix("Datapath actions: ")).unwrap_or_else(|| panic!("no datapath actions in:\n{trace}"))
}

fn table20(sw: &Switchd) -> String {
    sw.ofctl(&["dump-flows", "br-int", "table=20"])
}

#[test]
fn neutron_pipeline_forwards_filters_and_learns() {
    if !require_root("neutron_pipeline::neutron_pipeline_forwards_filters_and_learns") {
        return;
    }
    let p = unique_prefix();
    let sw = Switchd::start(&p);
    let hosts: Vec<Netns> = ["vm1", "vm2", "rem"].iter().map(|h| Netns::new(&format!("{p}{h}"))).collect();
    sw.vsctl(&["add-br", "br-int"]);
    for (i, h) in hosts.iter().enumerate() {
        let (a, b) = (format!("{p}a{}", i + 1), format!("{p}b{}", i + 1));
        veth(&a, &sw.ns, &b, h, None);
        h.ip(&["link", "set", "dev", &b, "address", MAC[i]]);
        h.ip(&["addr", "add", &format!("{}/24", IP[i]), "dev", &b]);
        sw.vsctl(&["add-port", "br-int", &a, "--", "set", "Interface", &a, &format!("ofport_request={}", i + 1)]);
    }
    let file = sw.dir.join("neutron-flows.txt");
    std::fs::write(&file, FLOWS).expect("write flows");
    sw.ofctl(&["del-flows", "br-int"]);
    sw.ofctl(&["add-flows", "br-int", file.to_str().expect("utf-8")]);
    let n_flows = FLOWS.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).count();
    let dump = sw.ofctl(&["dump-flows", "br-int"]);
    assert_eq!(dump.lines().filter(|l| l.contains("actions=")).count(), n_flows, "{dump}");
    assert!(dump.contains("learn(table=20,hard_timeout=300,priority=1,cookie=0x5a,NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:0->NXM_OF_VLAN_TCI[],load:NXM_NX_TUN_ID[]->NXM_NX_TUN_ID[],output:OXM_OF_IN_PORT[])"), "{dump}");
    assert!(!table20(&sw).contains("priority=1,"), "nothing learned yet");

    // A plain trace from the tunnel shows the learned flow but installs nothing.
    let from_tunnel = format!("in_port=3,dl_src={},dl_dst={},arp,arp_spa={},arp_tpa={},arp_op=2", MAC[2], MAC[0], IP[2], IP[0]);
    let t = sw.appctl(&["ofproto/trace", "br-int", &from_tunnel]);
    assert!(t.contains(&format!(" -> table=20 vlan_tci=0x0001/0x0fff,dl_dst={} priority=1 cookie=0x5a hard=300 actions=", MAC[2])), "{t}");
    assert!(t.contains("output:3"), "{t}");
    assert!(!table20(&sw).contains(MAC[2]), "a trace without -generate learns nothing:\n{}", table20(&sw));

    // Datapath ports: br-int's own port is 1, then the veths in order (2, 3, 4).
    // VM1 -> VM2 (same host): egress filtering, then VM2's ingress filtering, then out port 2.
    let t = sw.appctl(&["ofproto/trace", "br-int", &format!("in_port=1,icmp,dl_src={},dl_dst={},nw_src={},nw_dst={},nw_ttl=64", MAC[0], MAC[1], IP[0], IP[1])]);
    assert!(t.contains("71. ") && t.contains("72. "), "{t}");
    assert!(t.contains("82. conj_id=10,ip,reg5=0x2, priority 71\n"), "the remote-group conjunction accepts: {t}");
    assert_eq!(dp_actions(&t), "3", "{t}");
    // A source outside the remote group completes only one clause: dropped.
    let t = sw.appctl(&["ofproto/trace", "br-int", &format!("in_port=3,icmp,dl_src={},dl_dst={},nw_src=10.1.0.50,nw_dst={},nw_ttl=64", MAC[2], MAC[1], IP[1])]);
    assert_eq!(dp_actions(&t), "drop", "{t}");
    // TCP to VM2 is not allowed by its (stateless) security group.
    let t = sw.appctl(&["ofproto/trace", "br-int", &format!("in_port=1,tcp,dl_src={},dl_dst={},nw_src={},nw_dst={},tp_dst=22", MAC[0], MAC[1], IP[0], IP[1])]);
    assert_eq!(dp_actions(&t), "drop", "{t}");
    // Anti-spoofing: a forged ARP sender address, a forged source MAC, a forged ND target.
    for spoof in [
        format!("in_port=1,arp,dl_src={},dl_dst=ff:ff:ff:ff:ff:ff,arp_spa=10.1.0.99,arp_tpa={},arp_op=1", MAC[0], IP[1]),
        format!("in_port=1,icmp,dl_src=02:00:00:00:00:99,dl_dst={},nw_src={},nw_dst={}", MAC[1], IP[0], IP[1]),
        format!("in_port=1,icmp6,dl_src={},dl_dst=33:33:00:00:00:01,icmp_type=136,nd_target=fe80::ff:fe00:2", MAC[0]),
    ] {
        let t = sw.appctl(&["ofproto/trace", "br-int", &spoof]);
        assert_eq!(dp_actions(&t), "drop", "spoofed traffic must be dropped: {t}");
        assert!(t.contains("71. reg5=0x1,in_port=1, priority 10"), "dropped by the anti-spoofing table: {t}");
    }
    let t = sw.appctl(&["ofproto/trace", "br-int", &format!("in_port=1,icmp6,dl_src={},dl_dst=33:33:00:00:00:01,icmp_type=136,nd_target=fe80::ff:fe00:1", MAC[0])]);
    assert_ne!(dp_actions(&t), "drop", "the port's own ND advertisement passes: {t}");

    // Real traffic. VM1 <-> VM2 on this host.
    assert!(hosts[0].ping_until(IP[1], Duration::from_secs(10)), "VM1 cannot reach VM2:\n{}", sw.ofctl(&["dump-flows", "br-int"]));
    // VM1 <-> the VM behind the tunnel: its ARP reply (and echo requests) come in through
    // table 10, which learns where its MAC lives; VM1's replies then use table 20.
    assert!(hosts[0].ping_until(IP[2], Duration::from_secs(10)), "VM1 cannot reach the remote VM:\n{}", sw.ofctl(&["dump-flows", "br-int"]));
    let learned = wait_for(Duration::from_secs(5), || table20(&sw).contains(&format!("dl_dst={}", MAC[2])));
    let t20 = table20(&sw);
    assert!(learned, "learn() did not fill table 20:\n{t20}");
    let line = t20.lines().find(|l| l.contains(MAC[2])).expect("learned flow");
    for part in ["cookie=0x5a", "hard_timeout=300", "priority=1,vlan_tci=0x0001/0x0fff", "actions=load:0->NXM_OF_VLAN_TCI[],load:0x64->NXM_NX_TUN_ID[],output:3"] {
        assert!(line.contains(part), "learned flow lacks {part}: {line}");
    }
    // The trace now predicts the learned path, and the traffic takes it.
    let t = sw.appctl(&["ofproto/trace", "br-int", &format!("in_port=1,icmp,dl_src={},dl_dst={},nw_src={},nw_dst={},nw_ttl=64", MAC[0], MAC[2], IP[0], IP[2])]);
    assert!(t.contains(&format!("20. vlan_tci=0x0001/0x0fff,dl_dst={}, priority 1, cookie 0x5a", MAC[2])), "{t}");
    assert_eq!(dp_actions(&t), "4", "{t}");
    let before = n_packets(&t20, MAC[2]).expect("n_packets");
    assert!(hosts[0].ping(IP[2], 3), "VM1 cannot reach the remote VM any more");
    let counted = wait_for(Duration::from_secs(5), || n_packets(&table20(&sw), MAC[2]).is_some_and(|n| n >= before + 3));
    assert!(counted, "the replies did not use the learned flow:\n{}", table20(&sw));

    // Deleting the learned flow: the tunnel side's traffic learns it again (from its cached
    // megaflow, through the revalidator, or from a fresh upcall).
    sw.ofctl(&["--strict", "del-flows", "br-int", &format!("table=20,priority=1,vlan_tci=0x0001/0x0fff,dl_dst={}", MAC[2])]);
    assert!(!table20(&sw).contains(MAC[2]), "{}", table20(&sw));
    assert!(hosts[0].ping(IP[2], 3), "VM1 cannot reach the remote VM after the learned flow was deleted");
    let relearned = wait_for(Duration::from_secs(5), || table20(&sw).contains(&format!("dl_dst={}", MAC[2])));
    assert!(relearned, "traffic did not learn the flow again:\n{}", table20(&sw));

    // Spoofed traffic really is dropped: VM1 claiming another address cannot reach VM2.
    hosts[0].ip(&["addr", "add", "10.1.0.99/32", "dev", &format!("{p}b1")]);
    let drops = |sw: &Switchd| n_packets(&sw.ofctl(&["dump-flows", "br-int", "table=71"]), "reg5=0x1,in_port=1 actions=drop").unwrap_or(0);
    let dropped_before = drops(&sw);
    let out = run(hosts[0].cmd("ping").args(["-c", "2", "-i", "0.2", "-W", "1", "-I", "10.1.0.99", IP[1]]));
    assert!(!out.status.success(), "a spoofed source address got through");
    assert!(wait_for(Duration::from_secs(5), || drops(&sw) > dropped_before), "the anti-spoofing drop rule counted nothing");

    // -generate: the traced packet's learn() happens.
    let ghost = "02:00:00:00:00:77";
    let t = sw.appctl(&["ofproto/trace", "br-int", &format!("in_port=3,dl_src={ghost},dl_dst={},arp,arp_spa=10.1.0.77,arp_tpa={},arp_op=1", MAC[0], IP[0]), "-generate"]);
    assert!(t.contains("-> table=20"), "{t}");
    let t20 = table20(&sw);
    assert!(t20.contains(&format!("dl_dst={ghost}")), "trace -generate did not learn:\n{t20}");
}
