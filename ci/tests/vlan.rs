//! NORMAL with VLANs: two access ports in VLAN 10, one in VLAN 20, and a trunk whose host
//! uses kernel VLAN interfaces (which accept only frames tagged with their VID). Pings that
//! cross the trunk therefore prove the tagging and untagging; pings between VLANs must fail.

use std::time::Duration;

use rvs_ci::*;

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
    veth(&format!("{p}pa"), &sw.ns, &format!("{p}ha"), &a, Some("10.0.10.1/24"));
    veth(&format!("{p}pb"), &sw.ns, &format!("{p}hb"), &b, Some("10.0.10.2/24"));
    veth(&format!("{p}pc"), &sw.ns, &format!("{p}hc"), &c, Some("10.0.10.3/24"));
    c.ip(&["addr", "add", "10.0.20.3/24", "dev", &format!("{p}hc")]);
    veth(&format!("{p}pt"), &sw.ns, &format!("{p}ht"), &t, None);
    let trunk_if = format!("{p}ht");
    for (vid, addr) in [("10", "10.0.10.9/24"), ("20", "10.0.20.9/24")] {
        let sub = format!("{trunk_if}.{vid}");
        t.ip(&["link", "add", "link", &trunk_if, "name", &sub, "type", "vlan", "id", vid]);
        t.ip(&["addr", "add", addr, "dev", &sub]);
        t.ip(&["link", "set", &sub, "up"]);
    }
    sw.vsctl(&["add-br", "br0"]);
    sw.vsctl(&["add-port", "br0", &format!("{p}pa"), "tag=10"]);
    sw.vsctl(&["add-port", "br0", &format!("{p}pb"), "tag=10"]);
    sw.vsctl(&["add-port", "br0", &format!("{p}pc"), "tag=20"]);
    sw.vsctl(&["add-port", "br0", &format!("{p}pt"), "trunks=10,20"]);

    assert!(a.ping_until("10.0.10.2", Duration::from_secs(10)), "access 10 -> access 10 failed; log:\n{}", sw.log());
    assert!(a.ping_until("10.0.10.9", Duration::from_secs(10)), "access 10 -> trunk VLAN 10 failed");
    assert!(c.ping_until("10.0.20.9", Duration::from_secs(10)), "access 20 -> trunk VLAN 20 failed");
    assert!(!a.ping("10.0.10.3", 3), "VLAN 10 reached a host in VLAN 20");
    assert!(!c.ping("10.0.10.1", 3), "VLAN 20 reached a host in VLAN 10");
    // The trunk's untagged frames (VLAN 0) are not carried (trunks=10,20).
    t.ip(&["addr", "add", "10.0.10.8/24", "dev", &trunk_if]);
    assert!(!t.ping("10.0.10.1", 2), "an untagged frame on the trunk reached VLAN 10");
}
