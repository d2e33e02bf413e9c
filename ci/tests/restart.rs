//! Configuration and rules survive a restart: SIGTERM, start again, same bridges, ports and
//! `dump-flows --no-stats`, and traffic flows.

use std::time::Duration;

use rvs_ci::*;

#[test]
fn sigterm_then_start_restores_everything() {
    if !require_root("restart::sigterm_then_start_restores_everything") {
        return;
    }
    let p = unique_prefix();
    let mut sw = Switchd::start(&p);
    let h1 = Netns::new(&format!("{p}h1"));
    let h2 = Netns::new(&format!("{p}h2"));
    veth(&format!("{p}a1"), &sw.ns, &format!("{p}b1"), &h1, Some("10.0.0.1/24"));
    veth(&format!("{p}a2"), &sw.ns, &format!("{p}b2"), &h2, Some("10.0.0.2/24"));
    sw.vsctl(&["add-br", "br0"]);
    sw.vsctl(&["add-port", "br0", &format!("{p}a1")]);
    sw.vsctl(&["add-port", "br0", &format!("{p}a2"), "--", "set", "Interface", &format!("{p}a2"), "ofport_request=7"]);
    sw.ofctl(&["del-flows", "br0"]);
    sw.ofctl(&["add-flow", "br0", "cookie=0x1234,priority=100,in_port=1,actions=output:7"]);
    sw.ofctl(&["add-flow", "br0", "priority=100,in_port=7,actions=output:1"]);
    sw.ofctl(&["add-flow", "br0", "table=1,priority=5,ip,nw_dst=10.0.0.0/8,actions=mod_nw_tos:32,NORMAL"]);
    sw.ofctl(&["add-flow", "br0", "priority=1,arp,actions=drop"]);
    assert!(h1.ping_until("10.0.0.2", Duration::from_secs(10)));
    let flows_before = sw.ofctl(&["dump-flows", "--no-stats", "br0"]);
    let ports_before = sw.vsctl(&["list-ports", "br0"]);
    let show_before = sw.ofctl(&["show", "br0"]);

    assert_eq!(sw.stop(), Some(0), "rvs-vswitchd did not exit cleanly on SIGTERM");
    assert!(!sw.rundir().join("br0.mgmt").exists(), "bridge socket left behind");
    assert!(!sw.rundir().join("rvs-vswitchd.ctl").exists(), "management socket left behind");
    sw.launch();

    assert_eq!(sw.vsctl(&["list-br"]), "br0\n");
    assert_eq!(sw.vsctl(&["list-ports", "br0"]), ports_before);
    assert_eq!(sw.ofctl(&["dump-flows", "--no-stats", "br0"]), flows_before);
    let show_after = sw.ofctl(&["show", "br0"]);
    for port in [format!(" 1({p}a1)"), format!(" 7({p}a2)")] {
        assert!(show_before.contains(&port) && show_after.contains(&port), "port numbers changed:\n{show_before}\n{show_after}");
    }
    assert!(h1.ping_until("10.0.0.2", Duration::from_secs(10)), "no traffic after restart; log:\n{}", sw.log());
}
