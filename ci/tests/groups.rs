//! OpenFlow groups forwarding real traffic through rvs, and surviving a restart.
//!
//! Three namespaces `h1`, `h2`, `h3` hang off bridge `br0` on ports 1, 2 and 3. Traffic from
//! `h1` is UDP to an address nobody owns (a static neighbour entry gives it a MAC), sent
//! from many source ports, so nothing answers and the group counters tell where it went:
//! * `all` (group 1): every bucket sees every packet;
//! * `select` (group 2): the flows spread over both buckets, and the buckets' counts add up
//!   to the group's;
//! * fast failover (group 3): the first bucket while port 2 has carrier; once `h2`'s end of
//!   the link goes down, the second bucket;
//! * the groups, and the flows that use them, are the same after a restart.
//!
//! Needs root (namespaces, veths); skipped loudly otherwise. Every wait polls until a
//! deadline; nothing asserts how long anything takes.

use std::time::Duration;

use rvs_ci::*;

/// `dump-group-stats` of one group: (packets, per-bucket packets).
fn group_packets(sw: &Switchd, group: u32) -> (u64, Vec<u64>) {
    let out = sw.ofctl(&["-O", "OpenFlow13", "dump-group-stats", "br0", &format!("group_id={group}")]);
    let line = out.lines().find(|l| l.contains(&format!("group_id={group},"))).unwrap_or_else(|| panic!("no group {group}:\n{out}"));
    let field = |s: &str| s.split('=').nth(1).and_then(|v| v.parse::<u64>().ok());
    let mut total = 0;
    let mut buckets = Vec::new();
    for part in line.trim().split(',') {
        if let Some(rest) = part.strip_prefix("packet_count=") {
            total = rest.parse().unwrap_or(0);
        } else if part.starts_with("bucket") && part.contains(":packet_count=") {
            buckets.push(field(part.split(':').nth(1).unwrap_or("")).unwrap_or(0));
        }
    }
    (total, buckets)
}

/// `rvs-ofctl -O OpenFlow13 ARGS`, which must succeed.
fn of13(sw: &Switchd, args: &[&str]) -> String {
    let mut a = vec!["-O", "OpenFlow13"];
    a.extend_from_slice(args);
    sw.ofctl(&a)
}

/// Sends `n` UDP datagrams from `h1` to 10.0.0.99, each from another source port.
fn send_udp(h1: &Netns, first_port: u16, n: u16) {
    let script = format!(
        "import socket\nfor p in range({first_port}, {}):\n    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n    s.bind(('10.0.0.1', p))\n    s.sendto(b'x' * 32, ('10.0.0.99', 9))\n    s.close()\n",
        first_port + n
    );
    let out = run(h1.cmd("python3").args(["-c", &script]));
    assert!(out.status.success(), "sending failed: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn groups_forward_traffic_and_survive_a_restart() {
    if !require_root("groups::groups_forward_traffic_and_survive_a_restart") {
        return;
    }
    let p = unique_prefix();
    let mut sw = Switchd::start(&p);
    let hosts: Vec<Netns> = (1..=3).map(|i| Netns::new(&format!("{p}h{i}"))).collect();
    for (i, h) in hosts.iter().enumerate() {
        let n = i + 1;
        veth(&format!("{p}a{n}"), &sw.ns, &format!("{p}b{n}"), h, Some(&format!("10.0.0.{n}/24")));
        run(h.cmd("sysctl").args(["-qw", "net.ipv6.conf.all.disable_ipv6=1"]));
    }
    hosts[0].ip(&["neigh", "add", "10.0.0.99", "lladdr", "02:00:00:00:00:99", "dev", &format!("{p}b1")]);
    sw.vsctl(&["add-br", "br0"]);
    for n in 1..=3 {
        let port = format!("{p}a{n}");
        sw.vsctl(&["add-port", "br0", &port, "--", "set", "Interface", &port, &format!("ofport_request={n}")]);
    }
    of13(&sw, &["del-flows", "br0"]);
    of13(&sw, &["add-group", "br0", "group_id=1,type=all,bucket=output:2,bucket=output:3"]);
    of13(&sw, &["add-group", "br0", "group_id=2,type=select,bucket=output:2,bucket=output:3"]);
    of13(&sw, &["add-group", "br0", "group_id=3,type=ff,bucket=watch_port:2,output:2,bucket=watch_port:3,output:3"]);

    // all: both buckets get every packet.
    of13(&sw, &["add-flow", "br0", "priority=10,udp,in_port=1,actions=group:1"]);
    send_udp(&hosts[0], 20000, 20);
    assert!(wait_for(Duration::from_secs(10), || group_packets(&sw, 1) == (20, vec![20, 20])), "{:?}", group_packets(&sw, 1));

    // select: spread over both buckets, nothing lost or doubled.
    of13(&sw, &["mod-flows", "br0", "udp,in_port=1,actions=group:2"]);
    send_udp(&hosts[0], 21000, 100);
    assert!(wait_for(Duration::from_secs(10), || group_packets(&sw, 2).0 == 100), "{:?}", group_packets(&sw, 2));
    let (total, buckets) = group_packets(&sw, 2);
    assert_eq!(buckets.iter().sum::<u64>(), total, "{buckets:?}");
    assert!(buckets.iter().all(|b| *b > 0), "one bucket got everything: {buckets:?}");

    // fast failover: port 2 while it is live, then port 3.
    of13(&sw, &["mod-flows", "br0", "udp,in_port=1,actions=group:3"]);
    send_udp(&hosts[0], 22000, 10);
    assert!(wait_for(Duration::from_secs(10), || group_packets(&sw, 3) == (10, vec![10, 0])), "{:?}", group_packets(&sw, 3));
    hosts[1].ip(&["link", "set", &format!("{p}b2"), "down"]);
    assert!(
        wait_for(Duration::from_secs(20), || {
            send_udp(&hosts[0], 23000, 1);
            group_packets(&sw, 3).1[1] > 0
        }),
        "traffic did not fail over: {:?}",
        group_packets(&sw, 3)
    );

    // Deleting a group deletes the flows that use it.
    of13(&sw, &["add-flow", "br0", "priority=5,tcp,actions=group:1"]);
    of13(&sw, &["del-groups", "br0", "group_id=1"]);
    let flows = of13(&sw, &["dump-flows", "--no-stats", "br0"]);
    assert!(!flows.contains("group:1"), "{flows}");
    assert!(flows.contains("group:3"), "{flows}");

    // Restart: the same groups and flows.
    let groups_before = of13(&sw, &["dump-groups", "br0"]);
    let flows_before = of13(&sw, &["dump-flows", "--no-stats", "br0"]);
    assert!(groups_before.contains("group_id=3,type=ff"), "{groups_before}");
    assert_eq!(sw.stop(), Some(0));
    sw.launch();
    let sock = sw.rundir().join("br0.mgmt");
    assert!(wait_for(Duration::from_secs(20), || sock.exists()), "no bridge socket after restart");
    assert_eq!(of13(&sw, &["dump-groups", "br0"]), groups_before);
    assert_eq!(of13(&sw, &["dump-flows", "--no-stats", "br0"]), flows_before);
    // And they still forward: port 2 is still down, so failover goes to port 3.
    assert!(
        wait_for(Duration::from_secs(20), || {
            send_udp(&hosts[0], 24000, 1);
            group_packets(&sw, 3).1[1] > 0
        }),
        "no traffic through the restored group: {:?}; log:\n{}",
        group_packets(&sw, 3),
        sw.log()
    );
}
