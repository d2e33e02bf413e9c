//! End to end: two hosts in namespaces, each wired by a veth pair to `br0` of a private
//! `rvs-vswitchd` (AF_PACKET ports, checksum offload left on). NORMAL forwarding, explicit
//! flows, counters, and a 5-second TCP transfer with iperf3.

use std::process::Stdio;
use std::thread;
use std::time::Duration;

use rvs_ci::*;

struct World {
    sw: Switchd,
    h1: Netns,
    h2: Netns,
}

fn world(prefix: &str) -> World {
    let sw = Switchd::start(prefix);
    let h1 = Netns::new(&format!("{prefix}h1"));
    let h2 = Netns::new(&format!("{prefix}h2"));
    veth(&format!("{prefix}a1"), &sw.ns, &format!("{prefix}b1"), &h1, Some("10.0.0.1/24"));
    veth(&format!("{prefix}a2"), &sw.ns, &format!("{prefix}b2"), &h2, Some("10.0.0.2/24"));
    sw.vsctl(&["add-br", "br0"]);
    sw.vsctl(&["add-port", "br0", &format!("{prefix}a1")]);
    sw.vsctl(&["add-port", "br0", &format!("{prefix}a2")]);
    World { sw, h1, h2 }
}

#[test]
fn ping_normal_then_explicit_flows_then_iperf() {
    if !require_root("forwarding::ping_normal_then_explicit_flows_then_iperf") {
        return;
    }
    let p = unique_prefix();
    let w = world(&p);

    // The default flow of a new bridge is NORMAL, as in OVS.
    let flows = w.sw.ofctl(&["dump-flows", "--no-stats", "br0"]);
    assert!(flows.contains("priority=0 actions=NORMAL"), "{flows}");
    assert!(w.h1.ping_until("10.0.0.2", Duration::from_secs(10)), "ping with NORMAL failed; log:\n{}", w.sw.log());

    // No flows: no forwarding.
    w.sw.ofctl(&["del-flows", "br0"]);
    assert!(!w.h1.ping("10.0.0.2", 3), "ping succeeded with no flows");

    // Explicit port-to-port flows.
    w.sw.ofctl(&["add-flow", "br0", "in_port=1,actions=output:2"]);
    w.sw.ofctl(&["add-flow", "br0", "in_port=2,actions=output:1"]);
    assert!(w.h1.ping_until("10.0.0.2", Duration::from_secs(10)), "ping with explicit flows failed");
    let before = n_packets(&w.sw.ofctl(&["dump-flows", "br0"]), "in_port=1").expect("flow in_port=1 listed");
    assert!(w.h1.ping("10.0.0.2", 5));
    let after = n_packets(&w.sw.ofctl(&["dump-flows", "br0"]), "in_port=1").expect("flow in_port=1 listed");
    assert!(after >= before + 5, "n_packets did not grow with the pings: {before} -> {after}");

    // Five seconds of TCP through the switch, checksum offload on (veth default).
    let mut server = w.h2.cmd("iperf3").args(["-s", "-1", "-B", "10.0.0.2"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("iperf3 server");
    thread::sleep(Duration::from_millis(500));
    let out = run(w.h1.cmd("iperf3").args(["-c", "10.0.0.2", "-t", "5", "-J"]));
    let _ = server.wait();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "iperf3 failed: {text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(!text.contains("\"error\""), "iperf3 reported an error: {text}");
    let bits = text
        .split("\"sum_received\"")
        .nth(1)
        .and_then(|s| s.split("\"bits_per_second\":").nth(1))
        .and_then(|s| s.split([',', '}']).next())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .expect("iperf3 JSON has sum_received.bits_per_second");
    eprintln!("iperf3 through rvs (debug build, AF_PACKET, offload on): {:.1} Mbit/s", bits / 1e6);
    assert!(bits > 1e6, "TCP throughput implausibly low: {bits} bit/s");
    drop(w.h1);
    drop(w.h2);
}

/// The bridge's own interface (the internal TAP port `br0`, OFPP_LOCAL) is served by the
/// non-PMD thread, as OVS's main thread serves it: it is not among the PMDs' queues, it shows
/// as "main thread" in `pmd-stats-show`, and the host reaches it and answers through it.
#[test]
fn local_port_is_served_by_the_non_pmd_thread() {
    if !require_root("forwarding::local_port_is_served_by_the_non_pmd_thread") {
        return;
    }
    let p = unique_prefix();
    let w = world(&p);
    w.sw.ns.ip(&["addr", "add", "10.0.0.9/24", "dev", "br0"]);
    w.sw.ns.ip(&["link", "set", "br0", "up"]);
    assert!(w.h1.ping_until("10.0.0.9", Duration::from_secs(10)), "ping to the bridge's own interface failed; log:\n{}", w.sw.log());
    assert!(w.h2.ping("10.0.0.9", 2), "second host cannot reach the bridge's own interface");

    let rxqs = w.sw.appctl(&["dpif-netdev/pmd-rxq-show"]);
    assert!(rxqs.contains(&format!("port: {p}a1")) && !rxqs.contains("port: br0 "), "{rxqs}");
    let stats = w.sw.appctl(&["dpif-netdev/pmd-stats-show"]);
    let main = stats.split("main thread:\n").nth(1).unwrap_or_else(|| panic!("no main thread in:\n{stats}"));
    let received: u64 = main
        .lines()
        .find_map(|l| l.trim().strip_prefix("packets received: "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no packets received line:\n{stats}"));
    assert!(received >= 3, "the replies from br0 went through the main thread:\n{stats}");
}
