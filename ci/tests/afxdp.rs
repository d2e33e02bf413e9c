//! Acceptance test of AF_XDP ports: two hosts in namespaces, each wired by a veth pair to `br0`
//! of a private `rvs-vswitchd` whose ports are `type=afxdp` (native XDP, copy mode on veth),
//! checksum offload left on at the hosts. Ping, then 5 seconds of TCP with iperf3; then the XDP
//! programs must be gone from the interfaces once the daemon is stopped, also by `SIGKILL`.
//!
//! The binaries must be built with AF_XDP support (rvs-dataplane's default feature `af-xdp`).
//! If they were not (`--no-default-features`), the test prints a loud `SKIPPED` and is listed
//! with the skipped tests by `ci/test.sh` (which then fails when run as root).

use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use rvs_ci::*;

struct World {
    sw: Switchd,
    h1: Netns,
    h2: Netns,
    ports: [String; 2],
}

/// Notes a skip the way `require_root` does, so that `ci/test.sh` reports it.
fn skip(test: &str, why: &str) {
    eprintln!("\n*** SKIPPED: {test}: {why}; not counted as passed ***\n");
    if let Ok(f) = std::env::var("RVS_SKIP_LOG") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(f) {
            let _ = writeln!(f, "{test} ({why})");
        }
    }
}

/// Builds the world; `None` (after a loud skip) if the daemon has no AF_XDP support.
fn world(test: &str, prefix: &str) -> Option<World> {
    let sw = Switchd::start(prefix);
    let h1 = Netns::new(&format!("{prefix}h1"));
    let h2 = Netns::new(&format!("{prefix}h2"));
    let ports = [format!("{prefix}a1"), format!("{prefix}a2")];
    veth(&ports[0], &sw.ns, &format!("{prefix}b1"), &h1, Some("10.0.0.1/24"));
    veth(&ports[1], &sw.ns, &format!("{prefix}b2"), &h2, Some("10.0.0.2/24"));
    sw.vsctl(&["add-br", "br0"]);
    for p in &ports {
        let out = sw.try_tool("rvs-vsctl", &["add-port", "br0", p, "--", "set", "Interface", p, "type=afxdp"]);
        let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr) + &sw.log();
        if text.contains("--features af-xdp") {
            skip(test, "rvs-vswitchd was built without AF_XDP (its default feature af-xdp)");
            return None;
        }
        assert!(out.status.success(), "add-port {p} type=afxdp failed:\n{text}");
    }
    Some(World { sw, h1, h2, ports })
}

/// True if interface `ifname` in `ns` has an XDP program attached.
fn has_xdp(ns: &Netns, ifname: &str) -> bool {
    ns.ip(&["-d", "link", "show", "dev", ifname]).contains("prog/xdp")
}

#[test]
fn ping_and_tcp_through_afxdp_ports() {
    const TEST: &str = "afxdp::ping_and_tcp_through_afxdp_ports";
    if !require_root(TEST) {
        return;
    }
    let p = unique_prefix();
    let Some(mut w) = world(TEST, &p) else { return };
    for port in &w.ports {
        assert!(has_xdp(&w.sw.ns, port), "no XDP program on {port}");
    }
    let show = w.sw.appctl(&["dpif/show"]);
    assert!(show.contains("afxdp"), "ports not listed as afxdp:\n{show}");

    assert!(w.h1.ping_until("10.0.0.2", Duration::from_secs(10)), "ping through AF_XDP ports failed; log:\n{}", w.sw.log());
    assert!(w.h1.ping("10.0.0.2", 5), "pings lost");

    // Five seconds of TCP, checksum and segmentation offload on at the hosts (veth defaults).
    // `timeout`: a stalled transfer fails the test instead of hanging it.
    let mut server_cmd = w.h2.cmd("timeout");
    server_cmd.args(["40", "iperf3", "-s", "-1", "-B", "10.0.0.2"]).stdout(Stdio::null()).stderr(Stdio::null());
    let mut server = server_cmd.spawn().expect("iperf3 server");
    thread::sleep(Duration::from_millis(500));
    let out = run(w.h1.cmd("timeout").args(["30", "iperf3", "-c", "10.0.0.2", "-t", "5", "-J"]));
    let _ = server.kill();
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
    eprintln!("iperf3 through rvs (AF_XDP ports, offload on at the hosts): {:.1} Mbit/s", bits / 1e6);
    assert!(bits > 1e6, "TCP throughput implausibly low: {bits} bit/s");

    // A clean stop takes the programs off the interfaces.
    assert_eq!(w.sw.stop(), Some(0), "rvs-vswitchd did not exit cleanly; log:\n{}", w.sw.log());
    for port in &w.ports {
        assert!(!has_xdp(&w.sw.ns, port), "XDP program left on {port} after a clean stop");
    }
    drop(w.h1);
    drop(w.h2);
}

#[test]
fn xdp_programs_go_when_the_daemon_is_killed() {
    const TEST: &str = "afxdp::xdp_programs_go_when_the_daemon_is_killed";
    if !require_root(TEST) {
        return;
    }
    let p = unique_prefix();
    let Some(w) = world(TEST, &p) else { return };
    assert!(w.h1.ping_until("10.0.0.2", Duration::from_secs(10)), "ping through AF_XDP ports failed; log:\n{}", w.sw.log());
    // The daemon is the only process in its namespace.
    let pids = must(Command::new("ip").args(["netns", "pids", &w.sw.ns.name]));
    let pids: Vec<&str> = pids.split_whitespace().collect();
    assert!(!pids.is_empty(), "no process in the switch namespace");
    for pid in &pids {
        must(Command::new("kill").args(["-KILL", pid]));
    }
    // No destructor ran; the kernel closes the BPF links as the process goes.
    let gone = wait_for(Duration::from_secs(5), || w.ports.iter().all(|port| !has_xdp(&w.sw.ns, port)));
    assert!(gone, "XDP programs left attached after SIGKILL");
}
