//! Fail mode `standalone`: a bridge whose controller is configured but absent switches with
//! `NORMAL` once no controller has been connected for three inactivity probes (15 s), and goes
//! back to its flow tables when a controller connects.

mod controller_common;

use std::time::{Duration, Instant};

use controller_common::Listener;
use rvs_ci::*;
use rvs_openflow::msg::OfMessage;

#[test]
fn standalone_fails_open_without_a_controller_and_recovers_when_one_connects() {
    if !require_root("controller_fail_open::standalone_fails_open_without_a_controller_and_recovers_when_one_connects") {
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
    // No rules: the tables drop everything.
    sw.ofctl(&["del-flows", "br0"]);

    // A controller that is not there (nothing listens on the socket yet).
    let sock = sw.dir.join("absent-controller.sock");
    let configured = Instant::now();
    sw.vsctl(&["set-controller", "br0", &format!("unix:{}", sock.display())]);
    assert_eq!(sw.vsctl(&["get-fail-mode", "br0"]), "", "the default fail mode is standalone");
    assert!(!h1.ping("10.0.0.2", 2), "forwarding before failing open");

    // After three probe intervals without a controller: NORMAL switching.
    assert!(h1.ping_until("10.0.0.2", Duration::from_secs(40)), "the bridge never failed open; log:\n{}", sw.log());
    let waited = configured.elapsed();
    assert!(waited >= Duration::from_secs(12), "failed open after {waited:?}, before three probe intervals");
    assert!(sw.log().contains("failing open"), "{}", sw.log());

    // A controller appears: the switch connects (backoff at most 8 s) and, once the controller
    // has sent a request, the flow tables (empty) are back in charge.
    let listener = Listener::bind(&sock);
    let mut c = listener.accept(Duration::from_secs(20));
    let reply = c.request(&OfMessage::FeaturesRequest);
    assert!(matches!(reply, OfMessage::FeaturesReply(_)), "{reply:?}");
    assert!(
        wait_for(Duration::from_secs(10), || sw.log().contains("leaving fail-open mode")),
        "fail-open did not end; log:\n{}",
        sw.log()
    );
    assert!(!h1.ping("10.0.0.2", 3), "still forwarding with NORMAL after the controller connected");
    drop(c);
}
