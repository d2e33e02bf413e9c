//! `monitor br0 65534`: packet-ins printed by `rvs-ofctl` as the real `ovs-ofctl` prints
//! them, the dissected packet included.
//!
//! Both tools run `monitor br0 65534` at the same time against an rvs bridge (a management
//! connection with `miss_send_len` set receives packet-ins; the tools ask for
//! `NXT_PACKET_IN2`). The test then sends packet-outs whose actions reach the controller,
//! directly or through a rule in table 1 (so that the packet-in carries a table id, a cookie
//! and a register): UDP, ARP, TCP in a VLAN, ICMP (through `controller(max_len=20)`),
//! ICMPv6 neighbour solicitation. Once both have printed every packet-in, their outputs must
//! be equal, and must show the dissected packets (`udp,vlan_tci=0x0000,... udp_csum:e3df`).
//!
//! The same packet-outs are then sent to a real `ovs-vswitchd` (private, `--enable-dummy`):
//! `ovs-ofctl monitor` must print the same for it as for rvs, so the daemon's packet-ins carry
//! what Open vSwitch's do. Needs root (the daemon runs in a namespace) and Open vSwitch;
//! skipped loudly otherwise.

mod ofctl_common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ofctl_common::{ofctl, require_ovs, Ovs, Tool};
use rvs_ci::{bin, require_root, unique_prefix, wait_for, Switchd};

/// Frames for the packet-outs (hex).
const UDP: &str = "ffffffffffff00000000000208004500002000010000401166c70a0000010a000002003500350008e3df00000000000000000000000000000000000000000000";
const ARP: &str = "0000000000020000000000010806000108000604000100000000000100000000000000000002000000000000";
/// TCP SYN in VLAN 5, 10.0.0.1:1234 -> 10.0.0.2:80.
const TCP_VLAN: &str = "000000000002000000000001810000050800450000280001000040066cc50a0000010a00000204d2005000000001000000005002200084ee0000";
/// ICMP echo request 10.0.0.1 -> 10.0.0.2.
const ICMP: &str = "00000000000200000000000108004500001c00010000400166cc0a0000010a0000020800f7ff00000000";
/// ICMPv6 neighbour solicitation for fe80::2 from fe80::1, source link-layer address option.
const ND: &str = "3333ff00000200000000000186dd6000000000203aff fe800000000000000000000000000001ff0200000000000000000001ff0000028700b5ec00000000fe8000000000000000000000000000020101000000000001";

/// The packet-outs, each producing one packet-in.
fn packet_outs() -> Vec<String> {
    let nd: String = ND.split_whitespace().collect();
    vec![
        format!("in_port=1 packet={UDP} actions=controller"),
        format!("in_port=LOCAL packet={ARP} actions=controller(reason=no_match)"),
        format!("in_port=1 packet={TCP_VLAN} actions=load:0x3->NXM_NX_REG1[],resubmit(,1)"),
        format!("in_port=2 packet={ICMP} actions=controller(max_len=20)"),
        format!("in_port=1 packet={nd} actions=controller"),
    ]
}

/// Starts `program monitor br0 65534` with its output (both streams) in `out`.
fn monitor(program: &Path, rundir: &Path, out: &Path) -> Child {
    let file = std::fs::File::create(out).expect("create monitor output");
    Command::new(program)
        .args(["monitor", "br0", "65534"])
        .env("OVS_RUNDIR", rundir)
        .env("RVS_RUNDIR", rundir)
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("dup"))
        .stderr(file)
        .spawn()
        .expect("start monitor")
}

/// A monitor's output without log lines.
fn printed(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().filter(|l| !(l.len() > 20 && l.as_bytes()[4] == b'-' && l.contains('|'))).map(|l| format!("{l}\n")).collect()
}

fn stop(children: &mut [Child]) {
    for ch in children.iter_mut() {
        // SAFETY: kill(2) on our child.
        unsafe { libc::kill(ch.id() as i32, libc::SIGTERM) };
        let _ = ch.wait();
    }
}

/// Sets up the table 1 rule, starts the monitors in `outs`, sends the packet-outs to the
/// switch whose run directory is `rundir`, and returns what each monitor printed.
fn run_monitors(rundir: &Path, programs: &[PathBuf], outs: &[PathBuf]) -> Vec<String> {
    for setup in [&["del-flows", "br0"][..], &["add-flow", "br0", "table=1,cookie=0x77,reg1=3,actions=controller"]] {
        let o = ofctl(Tool::Ovs, rundir, setup, rundir);
        assert_eq!(o.status, Some(0), "{o:?}");
    }
    let mut children: Vec<Child> = programs.iter().zip(outs).map(|(p, o)| monitor(p, rundir, o)).collect();
    // The monitors are ready once they receive packet-ins: send a marker packet (UDP to port
    // 9) until each has printed one. Packet-ins reach a connection in order, so what follows
    // the last marker a monitor printed comes from the packet-outs below.
    let pos = packet_outs();
    let marker = format!("in_port=1 packet={} actions=controller", UDP.replacen("003500350008", "003500090008", 1));
    let marked = |o: &PathBuf| printed(o).contains(",tp_dst=9 udp_csum:");
    let ready = wait_for(Duration::from_secs(20), || {
        let o = ofctl(Tool::Ovs, rundir, &["packet-out", "br0", &marker], rundir);
        assert_eq!(o.status, Some(0), "{o:?}");
        wait_for(Duration::from_secs(1), || outs.iter().all(marked))
    });
    if !ready {
        stop(&mut children);
        panic!("the monitors printed no packet-in:\n{}", outs.iter().map(|o| printed(o)).collect::<String>());
    }
    let count_after_marker = |o: &PathBuf| after_marker(&printed(o)).matches("NXT_PACKET_IN2").count();
    for po in &pos {
        let o = ofctl(Tool::Ovs, rundir, &["packet-out", "br0", po], rundir);
        assert_eq!(o.status, Some(0), "{o:?}");
    }
    wait_for(Duration::from_secs(20), || outs.iter().all(|o| count_after_marker(o) >= pos.len()));
    stop(&mut children);
    outs.iter().map(|o| after_marker(&printed(o)).to_string()).collect()
}

/// What a monitor printed after the last marker packet-in (see [`run_monitors`]).
fn after_marker(text: &str) -> &str {
    match text.rfind(",tp_dst=9 udp_csum:") {
        Some(at) => text[at..].find('\n').map_or("", |e| &text[at + e + 1..]),
        None => "",
    }
}

#[test]
fn rvs_ofctl_prints_packet_ins_as_ovs_ofctl() {
    const TEST: &str = "ofctl_monitor_packet_in::rvs_ofctl_prints_packet_ins_as_ovs_ofctl";
    if !require_root(TEST) || !require_ovs(TEST) {
        return;
    }
    let p = unique_prefix();
    let sw = Switchd::start(&p);
    sw.vsctl(&["add-br", "br0"]);
    sw.add_veth_ports("br0", &p, 2);
    let rundir = sw.rundir();
    let programs = [PathBuf::from("ovs-ofctl"), bin("rvs-ofctl")];
    let outs = [sw.dir.join("ovs.monitor"), sw.dir.join("rvs.monitor")];
    let got = run_monitors(&rundir, &programs, &outs);
    let (theirs, ours) = (&got[0], &got[1]);
    for want in [
        "NXT_PACKET_IN2 (xid=0x0): total_len=64 in_port=1 (via action) data_len=64 (unbuffered)\n\
         udp,vlan_tci=0x0000,dl_src=00:00:00:00:00:02,dl_dst=ff:ff:ff:ff:ff:ff,nw_src=10.0.0.1,nw_dst=10.0.0.2,\
         nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=53,tp_dst=53 udp_csum:e3df\n",
        " table_id=1 cookie=0x77 total_len=",
        ",dl_vlan=5,dl_vlan_pcp=0,vlan_tci1=0x0000,",
        "icmp6,",
    ] {
        assert!(theirs.contains(want), "ovs-ofctl did not print `{want}`:\n{theirs}");
    }
    assert_eq!(theirs, ours, "ovs-ofctl monitor (first) and rvs-ofctl monitor differ");

    // The daemon's packet-ins carry what Open vSwitch's do.
    let real = Ovs::start(&format!("pin-{p}"));
    let real_got = run_monitors(&real.dir, &programs[..1], &[real.dir.join("ovs.monitor")]);
    assert_eq!(&real_got[0], theirs, "ovs-ofctl monitor prints differently for Open vSwitch (first) and rvs");
}
