//! NORMAL with VLANs: two access ports in VLAN 10, one in VLAN 20, and a trunk carrying 10
//! and 20. This machine's kernel has no 802.1Q support (no VLAN interfaces), so the trunk's
//! host observes tags with `tcpdump` and injects tagged frames with a raw socket:
//! * access 10 <-> access 10 works, access 10 -> access 20 does not;
//! * a VLAN 10 broadcast reaches the trunk tagged with VID 10;
//! * a frame tagged VID 20 injected on the trunk reaches the VLAN 20 host untagged (it
//!   answers), and the answer comes back to the trunk tagged VID 20.

use std::process::{Child, Stdio};
use std::thread;
use std::time::Duration;

use rvs_ci::*;

/// Starts `tcpdump` on `iface` in `ns`, printing link-level headers, for up to `count`
/// received packets matching `filter`.
fn capture(ns: &Netns, iface: &str, filter: &str, count: u32) -> Child {
    let child = ns
        .cmd("tcpdump")
        .args(["-i", iface, "-Q", "in", "-e", "-nn", "-l", "--immediate-mode", "-c", &count.to_string()])
        .arg(filter)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("tcpdump");
    thread::sleep(Duration::from_millis(700));
    child
}

/// Waits up to `secs` for the capture to finish; returns what it printed.
fn finish(mut child: Child, secs: u64) -> String {
    for _ in 0..secs * 10 {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let out = child.wait_with_output().expect("tcpdump output");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn mac_of(ns: &Netns, iface: &str) -> String {
    must(ns.cmd("cat").arg(format!("/sys/class/net/{iface}/address"))).trim().to_string()
}

#[test]
fn access_ports_are_separated_and_the_trunk_tags() {
    if !require_root("vlan::access_ports_are_separated_and_the_trunk_tags") {
        return;
    }
    let p = unique_prefix();
    let sw = Switchd::start(&p);
    let a = Netns::new(&format!("{p}a"));
    let b = Netns::new(&format!("{p}b"));
    let c = Netns::new(&format!("{p}c"));
    let t = Netns::new(&format!("{p}t"));
    let (ha, hc, ht) = (format!("{p}ha"), format!("{p}hc"), format!("{p}ht"));
    veth(&format!("{p}pa"), &sw.ns, &ha, &a, Some("10.0.10.1/24"));
    veth(&format!("{p}pb"), &sw.ns, &format!("{p}hb"), &b, Some("10.0.10.2/24"));
    veth(&format!("{p}pc"), &sw.ns, &hc, &c, Some("10.0.10.3/24"));
    c.ip(&["addr", "add", "10.0.20.3/24", "dev", &hc]);
    veth(&format!("{p}pt"), &sw.ns, &ht, &t, None);
    sw.vsctl(&["add-br", "br0"]);
    sw.vsctl(&["add-port", "br0", &format!("{p}pa"), "tag=10"]);
    sw.vsctl(&["add-port", "br0", &format!("{p}pb"), "tag=10"]);
    sw.vsctl(&["add-port", "br0", &format!("{p}pc"), "tag=20"]);
    sw.vsctl(&["add-port", "br0", &format!("{p}pt"), "trunks=10,20"]);

    assert!(a.ping_until("10.0.10.2", Duration::from_secs(10)), "access 10 -> access 10 failed; log:\n{}", sw.log());
    assert!(!a.ping("10.0.10.3", 3), "VLAN 10 reached a host in VLAN 20");

    // A VLAN 10 broadcast (ARP for an absent host) leaves the trunk tagged with VID 10.
    let cap = capture(&t, &ht, "vlan 10 and arp", 1);
    let _ = a.ping("10.0.10.77", 1);
    let seen = finish(cap, 5);
    assert!(seen.contains("802.1Q") && seen.contains("vlan 10") && seen.contains("10.0.10.1"), "no VID 10 ARP on the trunk: {seen:?}");

    // A frame tagged VID 20 from the trunk reaches c untagged; c's reply comes back tagged 20.
    let c_mac = mac_of(&c, &hc);
    let t_mac = mac_of(&t, &ht);
    let cap = capture(&t, &ht, "vlan 20 and icmp", 1);
    let frame = icmp_echo_tagged(&t_mac, &c_mac, 20, [10, 0, 20, 9], [10, 0, 20, 3]);
    // c must know how to reach 10.0.20.9 without ARP (no ARP replies come from the trunk).
    c.ip(&["neigh", "replace", "10.0.20.9", "lladdr", &t_mac, "dev", &hc]);
    let hex: String = frame.iter().map(|x| format!("{x:02x}")).collect();
    let script = format!("import socket\ns=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\ns.bind(('{ht}',0))\nfor i in range(3): s.send(bytes.fromhex('{hex}'))\n");
    must(t.cmd("python3").args(["-c", &script]));
    let seen = finish(cap, 5);
    assert!(
        seen.contains("vlan 20") && seen.contains("10.0.20.3 > 10.0.20.9: ICMP echo reply"),
        "no tagged echo reply from VLAN 20 on the trunk: {seen:?}\nlog:\n{}",
        sw.log()
    );
}

/// An Ethernet frame with an 802.1Q tag carrying an ICMP echo request.
fn icmp_echo_tagged(src_mac: &str, dst_mac: &str, vid: u16, src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
    let mac = |s: &str| -> Vec<u8> { s.split(':').map(|h| u8::from_str_radix(h, 16).unwrap()).collect() };
    let mut f = mac(dst_mac);
    f.extend(mac(src_mac));
    f.extend_from_slice(&[0x81, 0x00]);
    f.extend_from_slice(&vid.to_be_bytes());
    f.extend_from_slice(&[0x08, 0x00]);
    let mut icmp = vec![8u8, 0, 0, 0, 0x12, 0x34, 0, 1];
    icmp.extend_from_slice(b"rvs-vlan-test-payload");
    let c = csum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let total = (20 + icmp.len()) as u16;
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0, 1, 0x40, 0, 64, 1, 0, 0]);
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let c = csum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend(ip);
    f.extend(icmp);
    f
}

fn csum(b: &[u8]) -> u16 {
    let mut s: u32 = b.chunks(2).map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32).sum();
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}
