//! Bad input never crashes the daemon: malformed frames are counted by reason and dropped
//! while forwarding goes on; a malformed OpenFlow message gets an OpenFlow error and the
//! connection stays usable; a malformed flow in `rvs-ofctl` gets an error naming the field.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use rvs_ci::*;

/// Sends raw frames out of `iface` in `ns` (python3's AF_PACKET socket).
fn send_raw(ns: &Netns, iface: &str, frames: &[Vec<u8>]) {
    let hex: Vec<String> = frames.iter().map(|f| f.iter().map(|b| format!("{b:02x}")).collect()).collect();
    let script = format!(
        "import socket\ns=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\ns.bind(('{iface}',0))\nfor h in {hex:?}:\n    s.send(bytes.fromhex(h))\n"
    );
    must(ns.cmd("python3").args(["-c", &script]));
}

fn eth_ipv4(ip: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00];
    f.extend_from_slice(ip);
    f
}

#[test]
fn malformed_frames_are_counted_and_dropped() {
    if !require_root("bad_input::malformed_frames_are_counted_and_dropped") {
        return;
    }
    let p = unique_prefix();
    let sw = Switchd::start(&p);
    let h1 = Netns::new(&format!("{p}h1"));
    let h2 = Netns::new(&format!("{p}h2"));
    veth(&format!("{p}a1"), &sw.ns, &format!("{p}b1"), &h1, Some("10.0.0.1/24"));
    veth(&format!("{p}a2"), &sw.ns, &format!("{p}b2"), &h2, Some("10.0.0.2/24"));
    sw.vsctl(&["add-br", "br0"]);
    sw.vsctl(&["add-port", "br0", &format!("{p}a1")]);
    sw.vsctl(&["add-port", "br0", &format!("{p}a2")]);
    assert!(h1.ping_until("10.0.0.2", Duration::from_secs(10)));

    let good_hdr = [0x45u8, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
    let udp = [0x04u8, 0, 0x13, 0x88, 0, 8, 0, 0];
    let mut truncated = eth_ipv4(&good_hdr[..10]);
    truncated.truncate(24);
    let mut bad_ihl = good_hdr;
    bad_ihl[0] = 0x44;
    let mut long_total = good_hdr;
    long_total[3] = 200;
    // TCP with only 12 of its 20 header bytes (the kernel will not send frames shorter
    // than an Ethernet header, so that case is covered by the unit tests of key extraction).
    let mut tcp_hdr = good_hdr;
    tcp_hdr[3] = 32;
    tcp_hdr[9] = 6;
    let frames = vec![
        truncated,
        eth_ipv4(&[&bad_ihl[..], &udp[..]].concat()),
        eth_ipv4(&[&long_total[..], &udp[..]].concat()),
        eth_ipv4(&[&tcp_hdr[..], &[0u8; 12][..]].concat()),
    ];
    for _ in 0..3 {
        send_raw(&h1, &format!("{p}b1"), &frames);
    }
    let ok = wait_for(Duration::from_secs(5), || {
        let c = sw.appctl(&["coverage/show"]);
        ["rx_malformed_ipv4_truncated", "rx_malformed_ipv4_bad_ihl", "rx_malformed_ipv4_total_len_beyond_frame", "rx_malformed_tcp_truncated"]
            .iter()
            .all(|r| c.lines().any(|l| l.starts_with(r) && l.trim_end().ends_with("total: 3")))
    });
    assert!(ok, "drop counters not as expected:\n{}", sw.appctl(&["coverage/show"]));
    let stats = sw.appctl(&["dpif-netdev/pmd-stats-show"]);
    assert!(stats.contains("rx_malformed_ipv4_bad_ihl: 3"), "{stats}");
    assert!(h1.ping("10.0.0.2", 3), "forwarding stopped after malformed frames");
}

fn read_msg(s: &mut UnixStream) -> Vec<u8> {
    let mut h = [0u8; 8];
    s.read_exact(&mut h).expect("read header");
    let len = u16::from_be_bytes([h[2], h[3]]) as usize;
    let mut body = vec![0u8; len - 8];
    s.read_exact(&mut body).expect("read body");
    [&h[..], &body[..]].concat()
}

#[test]
fn malformed_openflow_gets_an_error_and_the_connection_survives() {
    if !require_root("bad_input::malformed_openflow_gets_an_error_and_the_connection_survives") {
        return;
    }
    let p = unique_prefix();
    let sw = Switchd::start(&p);
    sw.vsctl(&["add-br", "br0"]);
    let mut s = UnixStream::connect(sw.rundir().join("br0.mgmt")).expect("connect to br0.mgmt");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // Hello with a version bitmap for OpenFlow 1.3.
    s.write_all(&[4, 0, 0, 16, 0, 0, 0, 1, 0, 1, 0, 8, 0, 0, 0, 0x10]).unwrap();
    let hello = read_msg(&mut s);
    assert_eq!((hello[0], hello[1]), (4, 0), "expected an OpenFlow 1.3 hello");
    // A flow-mod cut short (header says 20 bytes; a flow-mod needs at least 56).
    s.write_all(&[4, 14, 0, 20, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
    let err = read_msg(&mut s);
    assert_eq!(err[1], 1, "expected OFPT_ERROR, got type {}", err[1]);
    assert_eq!(&err[4..8], &[0, 0, 0, 7], "error carries the request's xid");
    // An unknown message type.
    s.write_all(&[4, 200, 0, 8, 0, 0, 0, 8]).unwrap();
    let err = read_msg(&mut s);
    assert_eq!(err[1], 1, "expected OFPT_ERROR for an unknown type");
    // Still usable: echo.
    s.write_all(&[4, 2, 0, 12, 0, 0, 0, 9, 0xde, 0xad, 0xbe, 0xef]).unwrap();
    let echo = read_msg(&mut s);
    assert_eq!((echo[1], &echo[8..]), (3, &[0xde, 0xad, 0xbe, 0xef][..]), "expected an echo reply");
}

#[test]
fn malformed_flows_in_ofctl_name_the_bad_field() {
    if !require_root("bad_input::malformed_flows_in_ofctl_name_the_bad_field") {
        return;
    }
    let p = unique_prefix();
    let sw = Switchd::start(&p);
    sw.vsctl(&["add-br", "br0"]);
    for (flow, needle) in [
        // (ovs-ofctl takes 10.0.0.300 as 10.0.0.44, so rvs-ofctl does too.)
        ("ip,nw_dst=10.0.0.1/33,actions=drop", "10.0.0.1/33"),
        ("in_port=1,actions=output:2,bogus_action", "bogus_action"),
        ("in_port=1,frobnicate=3,actions=drop", "frobnicate"),
        ("tcp,tp_dst=99999,actions=drop", "99999"),
    ] {
        let out = sw.try_tool("rvs-ofctl", &["add-flow", "br0", flow]);
        assert!(!out.status.success(), "{flow} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "error for {flow} does not name {needle}: {err}");
    }
    // The daemon is fine and the bridge still has its default flow.
    assert!(sw.ofctl(&["dump-flows", "br0"]).contains("actions=NORMAL"));
}
