//! The asynchronous side of OpenFlow, seen by a controller: `rvs-vswitchd` connects to a
//! controller written here with the `rvs-openflow` codec (over `unix:`, with
//! `set-controller`), which then checks port-status (port added, port-mod, carrier lost and
//! regained, port deleted), flow-removed (idle timeout; delete with counters), packet-in and
//! packet-out, and roles (a stale generation id, a slave's flow-mod refused).

mod controller_common;

use std::time::Duration;

use controller_common::{Controller, Listener};
use rvs_ci::*;
use rvs_flowcache::ofp::flow_flags;
use rvs_flowcache::{Field, FlowMod, FlowModCommand, OfAction, OfPort};
use rvs_openflow::error::{BadRequest, OfError};
use rvs_openflow::msg::{
    ControllerRole, FlowRemoved, FlowRemovedReason, MultipartReply, MultipartRequest, OfMessage, PacketOut, PortMod, PortReason,
    PortStatus, RoleMsg,
};
use rvs_openflow::stats::{port_state, PortDesc};

const WAIT: Duration = Duration::from_secs(10);
const PORT_DOWN: u32 = 1;

fn port_status(c: &mut Controller, what: &str, want: impl Fn(&PortStatus) -> bool) -> PortStatus {
    c.expect(what, WAIT, |m| match m {
        OfMessage::PortStatus(ps) if want(ps) => Some(ps.clone()),
        _ => None,
    })
}

fn flow_removed(c: &mut Controller, what: &str, cookie: u64) -> FlowRemoved {
    c.expect(what, WAIT, |m| match m {
        OfMessage::FlowRemoved(fr) if fr.cookie == cookie => Some(fr.clone()),
        _ => None,
    })
}

fn add_flow(priority: u16, in_port: u32, actions: Vec<OfAction>) -> FlowMod {
    let mut fm = FlowMod::new(FlowModCommand::Add);
    fm.priority = priority;
    fm.match_.set(Field::InPort, in_port as u128);
    fm.actions = actions;
    fm
}

fn ports(c: &mut Controller) -> Vec<PortDesc> {
    match c.request(&OfMessage::MultipartRequest { flags: 0, request: MultipartRequest::PortDesc }) {
        OfMessage::MultipartReply { reply: MultipartReply::PortDesc(p), .. } => p,
        other => panic!("port desc request answered with {other:?}"),
    }
}

fn tx_packets(c: &mut Controller, port: OfPort) -> u64 {
    match c.request(&OfMessage::MultipartRequest { flags: 0, request: MultipartRequest::PortStats { port_no: port } }) {
        OfMessage::MultipartReply { reply: MultipartReply::PortStats(s), .. } => s[0].tx_packets,
        other => panic!("port stats request answered with {other:?}"),
    }
}

#[test]
fn port_status_flow_removed_packet_in_out_and_roles() {
    if !require_root("controller_async::port_status_flow_removed_packet_in_out_and_roles") {
        return;
    }
    let p = unique_prefix();
    let sw = Switchd::start(&p);
    let h1 = Netns::new(&format!("{p}h1"));
    let h2 = Netns::new(&format!("{p}h2"));
    let (a1, a2, b2) = (format!("{p}a1"), format!("{p}a2"), format!("{p}b2"));
    veth(&a1, &sw.ns, &format!("{p}b1"), &h1, Some("10.0.0.1/24"));
    veth(&a2, &sw.ns, &b2, &h2, Some("10.0.0.2/24"));
    sw.vsctl(&["add-br", "br0"]);
    sw.vsctl(&["add-port", "br0", &a1, "--", "set", "Interface", &a1, "ofport_request=1"]);
    let listener = Listener::bind(&sw.dir.join("controller.sock"));
    sw.vsctl(&["set-controller", "br0", &listener.target()]);
    let mut c = listener.accept(WAIT);
    let features = match c.request(&OfMessage::FeaturesRequest) {
        OfMessage::FeaturesReply(f) => f,
        other => panic!("features request answered with {other:?}"),
    };
    assert_ne!(features.datapath_id, 0);
    assert_eq!(features.n_buffers, 0);

    // Port-status: a port is added.
    sw.vsctl(&["add-port", "br0", &a2, "--", "set", "Interface", &a2, "ofport_request=2"]);
    let added = port_status(&mut c, "port-status ADD", |ps| ps.reason == PortReason::Add);
    assert_eq!((added.desc.name.as_str(), added.desc.port_no), (a2.as_str(), OfPort(2)));
    let mac = ports(&mut c).iter().find(|d| d.port_no == OfPort(2)).expect("port 2 described").hw_addr;

    // Port-mod: administratively down, then up again.
    let pm = |config| OfMessage::PortMod(PortMod { port_no: OfPort(2), hw_addr: mac, config, mask: PORT_DOWN, advertise: 0 });
    c.send(&pm(PORT_DOWN));
    let down = port_status(&mut c, "port-status MODIFY (down)", |ps| ps.reason == PortReason::Modify);
    assert_eq!(down.desc.config & PORT_DOWN, PORT_DOWN, "{down:?}");
    let link = sw.ns.ip(&["link", "show", &a2]);
    assert!(!link.contains(",UP"), "port-mod did not bring {a2} down: {link}");
    c.send(&pm(0));
    // Up, and the carrier back (it may follow a moment later, in a second MODIFY).
    let up = port_status(&mut c, "port-status MODIFY (up)", |ps| {
        ps.reason == PortReason::Modify && ps.desc.config & PORT_DOWN == 0 && ps.desc.state & port_state::LINK_DOWN == 0
    });
    assert_eq!(up.desc.port_no, OfPort(2));
    // A port-mod naming the wrong address is refused.
    let bad = c.request(&OfMessage::PortMod(PortMod { port_no: OfPort(2), hw_addr: Default::default(), config: 0, mask: PORT_DOWN, advertise: 0 }));
    assert!(matches!(bad, OfMessage::Error(ref e) if e.error.name() == "OFPPMFC_BAD_HW_ADDR"), "{bad:?}");

    // Port-status: the peer's carrier goes away and comes back (link state is polled).
    h2.ip(&["link", "set", &b2, "down"]);
    port_status(&mut c, "port-status MODIFY (link down)", |ps| ps.desc.port_no == OfPort(2) && ps.desc.state & port_state::LINK_DOWN != 0);
    h2.ip(&["link", "set", &b2, "up"]);
    port_status(&mut c, "port-status MODIFY (link up)", |ps| ps.desc.port_no == OfPort(2) && ps.desc.state & port_state::LINK_DOWN == 0);

    // Flow-removed on idle timeout.
    c.send(&OfMessage::flow_mod(FlowMod::new(FlowModCommand::Delete)));
    let mut idle = add_flow(100, 2, vec![OfAction::Output { port: OfPort(1), max_len: 0 }]);
    idle.idle_timeout = 1;
    idle.cookie = 0x1d1e;
    idle.flags = flow_flags::SEND_FLOW_REM;
    c.send(&OfMessage::flow_mod(idle));
    let fr = flow_removed(&mut c, "flow-removed (idle)", 0x1d1e);
    assert_eq!((fr.reason, fr.priority, fr.idle_timeout), (FlowRemovedReason::IdleTimeout, 100, 1), "{fr:?}");
    assert!(fr.duration_sec >= 1, "{fr:?}");

    // Flow-removed on delete, with the traffic the rule carried.
    let mut counted = add_flow(200, 1, vec![OfAction::Output { port: OfPort(2), max_len: 0 }]);
    counted.cookie = 0xde1;
    counted.flags = flow_flags::SEND_FLOW_REM;
    c.send(&OfMessage::flow_mod(counted));
    c.barrier();
    // Without a return path the pings fail, but their ARP requests cross the rule.
    assert!(!h1.ping("10.0.0.2", 3));
    let seen = n_packets(&sw.ofctl(&["dump-flows", "br0"]), "priority=200").expect("rule listed");
    assert!(seen >= 1, "no traffic crossed the rule");
    sw.ofctl(&["del-flows", "br0", "in_port=1"]);
    let fr = flow_removed(&mut c, "flow-removed (delete)", 0xde1);
    assert_eq!(fr.reason, FlowRemovedReason::Delete);
    assert!(fr.packet_count >= seen && fr.byte_count >= 42 * fr.packet_count, "counters not final ({seen} seen before): {fr:?}");

    // Packet-in: the whole packet, unbuffered, with the input port in the match.
    c.send(&OfMessage::flow_mod(add_flow(300, 1, vec![OfAction::Output { port: OfPort::CONTROLLER, max_len: 64 }])));
    c.barrier();
    assert!(!h1.ping("10.0.0.2", 1));
    let pin = c.expect("packet-in", WAIT, |m| match m {
        OfMessage::PacketIn(pi) => Some(pi.clone()),
        _ => None,
    });
    assert_eq!(pin.buffer_id, None);
    assert_eq!(pin.total_len as usize, pin.data.len(), "unbuffered packet-ins carry the whole packet");
    assert_eq!(pin.match_.get(Field::InPort).map(|(v, _)| v), Some(1));

    // Packet-out: the packet leaves on port 2.
    let before = tx_packets(&mut c, OfPort(2));
    c.send(&OfMessage::PacketOut(PacketOut {
        buffer_id: None,
        in_port: OfPort(1),
        actions: vec![OfAction::Output { port: OfPort(2), max_len: 0 }],
        data: pin.data.clone(),
    }));
    c.barrier();
    assert!(wait_for(WAIT, || tx_packets(&mut c, OfPort(2)) > before), "packet-out did not leave on port 2");
    let unknown = c.request(&OfMessage::PacketOut(PacketOut { buffer_id: Some(7), in_port: OfPort(1), actions: vec![], data: vec![] }));
    assert!(matches!(unknown, OfMessage::Error(ref e) if e.error == OfError::BadRequest(BadRequest::BufferUnknown)), "{unknown:?}");

    // Roles: generation ids must not go back; a slave may not change the tables.
    let role = |c: &mut Controller, role, generation_id| c.request(&OfMessage::RoleRequest(RoleMsg { role, generation_id }));
    assert_eq!(role(&mut c, ControllerRole::Master, 5), OfMessage::RoleReply(RoleMsg { role: ControllerRole::Master, generation_id: 5 }));
    let stale = role(&mut c, ControllerRole::Slave, 4);
    assert!(matches!(stale, OfMessage::Error(ref e) if e.error == OfError::Other { type_: 11, code: 0 }), "{stale:?}");
    assert_eq!(role(&mut c, ControllerRole::Slave, 6), OfMessage::RoleReply(RoleMsg { role: ControllerRole::Slave, generation_id: 6 }));
    let refused = c.request(&OfMessage::flow_mod(add_flow(1, 1, vec![])));
    assert!(matches!(refused, OfMessage::Error(ref e) if e.error == OfError::BadRequest(BadRequest::IsSlave)), "{refused:?}");
    assert_eq!(role(&mut c, ControllerRole::Master, 7), OfMessage::RoleReply(RoleMsg { role: ControllerRole::Master, generation_id: 7 }));

    // Port-status: the port is deleted.
    sw.vsctl(&["del-port", "br0", &a2]);
    let gone = port_status(&mut c, "port-status DELETE", |ps| ps.reason == PortReason::Delete);
    assert_eq!(gone.desc.port_no, OfPort(2));
    let cov = sw.appctl(&["coverage/show"]);
    assert!(cov.contains("packet_in_sent"), "{cov}");
}
