//! `rvs-appctl ofproto/trace`: tables visited, datapath actions and the megaflow, in the
//! layout of Open vSwitch's trace.

use rvs_ci::*;

#[test]
fn trace_shows_tables_actions_and_megaflow() {
    if !require_root("trace::trace_shows_tables_actions_and_megaflow") {
        return;
    }
    let p = unique_prefix();
    let sw = Switchd::start(&p);
    let h1 = Netns::new(&format!("{p}h1"));
    let h2 = Netns::new(&format!("{p}h2"));
    veth(&format!("{p}a1"), &sw.ns, &format!("{p}b1"), &h1, None);
    veth(&format!("{p}a2"), &sw.ns, &format!("{p}b2"), &h2, None);
    sw.vsctl(&["add-br", "br0"]);
    sw.vsctl(&["add-port", "br0", &format!("{p}a1")]);
    sw.vsctl(&["add-port", "br0", &format!("{p}a2")]);

    let t = sw.appctl(&["ofproto/trace", "br0", "in_port=1,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02"]);
    assert!(t.starts_with("Flow: in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,dl_type=0x0000\n"), "{t}");
    assert!(t.contains("bridge(\"br0\")\n-------------\n 0. priority 0\n    NORMAL\n     -> no learned MAC for destination, flooding\n"), "{t}");
    let mega = t.lines().find(|l| l.starts_with("Megaflow: ")).expect("a Megaflow line");
    assert!(mega.starts_with("Megaflow: recirc_id=0,eth,"), "{t}");
    for f in ["in_port=1", "dl_src=50:54:00:00:00:01", "dl_dst=50:54:00:00:00:02"] {
        assert!(mega.contains(f), "NORMAL reads {f}, so the megaflow matches it: {t}");
    }
    assert!(t.contains("\nDatapath actions: "), "{t}");

    sw.ofctl(&["del-flows", "br0"]);
    sw.ofctl(&["add-flow", "br0", "priority=100,in_port=1,ip,actions=load:5->NXM_NX_REG0[],mod_nw_dst:10.0.0.9,resubmit(,1)"]);
    sw.ofctl(&["add-flow", "br0", "table=1,ip,reg0=5,cookie=0x42,actions=dec_ttl,output:2"]);
    let t = sw.appctl(&["ofproto/trace", "br0", "in_port=1,udp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,udp_dst=53"]);
    assert!(t.contains(" 0. ip,in_port=1, priority 100\n"), "{t}");
    assert!(t.contains("    resubmit(,1)\n 1. ip,reg0=0x5, priority 32768, cookie 0x42\n    dec_ttl\n    output:2\n"), "{t}");
    // The datapath port of the second veth is 3 (1 is br0's own port, 2 the first veth).
    assert!(t.contains("Datapath actions: set(ipv4(dst=10.0.0.9,ttl=63)),3\n"), "{t}");
    assert!(t.contains("Megaflow: recirc_id=0,"), "{t}");
    assert!(t.contains("nw_ttl=64"), "the megaflow matches the TTL that dec_ttl read: {t}");
}
