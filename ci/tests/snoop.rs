//! `<rundir>/<bridge>.snoop`: the real `ovs-ofctl snoop` and `rvs-ofctl snoop`, connected at
//! the same time, both see the conversation between rvs and its controller (a controller
//! written here with the `rvs-openflow` codec, over `unix:`), and print the same thing.
//!
//! The snoopers may connect after the switch greeted its controller: the controller sends
//! echo requests until both have printed one, and the comparison starts at the features
//! request that follows. Needs root (the daemon runs in a namespace) and Open vSwitch;
//! skipped loudly otherwise.

mod controller_common;
mod ofctl_common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use controller_common::Listener;
use ofctl_common::require_ovs;
use rvs_ci::*;
use rvs_openflow::msg::{MultipartRequest, OfMessage};

/// Starts `program snoop br0` with its output (both streams) in `out`.
fn snooper(program: &Path, rundir: &Path, out: &Path) -> Child {
    let file = std::fs::File::create(out).expect("create snoop output");
    Command::new(program)
        .args(["snoop", "br0"])
        .env("OVS_RUNDIR", rundir)
        .env("RVS_RUNDIR", rundir)
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("dup"))
        .stderr(file)
        .spawn()
        .expect("start snoop")
}

/// A snooper's output from its first line starting with `start` on, without log lines.
fn from_first(path: &Path, start: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !(l.len() > 20 && l.as_bytes()[4] == b'-' && l.contains('|'))).collect();
    let start = lines.iter().position(|l| l.starts_with(start)).unwrap_or(lines.len());
    lines[start..].join("\n")
}

#[test]
fn snoopers_see_the_controller_conversation() {
    const TEST: &str = "snoop::snoopers_see_the_controller_conversation";
    if !require_root(TEST) || !require_ovs(TEST) {
        return;
    }
    let p = unique_prefix();
    let sw = Switchd::start(&p);
    sw.vsctl(&["add-br", "br0"]);
    let snoop_sock = sw.rundir().join("br0.snoop");
    assert!(wait_for(Duration::from_secs(10), || snoop_sock.exists()), "no br0.snoop");
    let (ovs_out, rvs_out) = (sw.dir.join("ovs.snoop"), sw.dir.join("rvs.snoop"));
    let mut children = [snooper(Path::new("ovs-ofctl"), &sw.rundir(), &ovs_out), snooper(&bin("rvs-ofctl"), &sw.rundir(), &rvs_out)];

    let listener = Listener::bind(&sw.dir.join("controller.sock"));
    sw.vsctl(&["set-controller", "br0", &listener.target()]);
    let mut c = listener.accept(Duration::from_secs(20));
    let both_saw = |what: &str| [&ovs_out, &rvs_out].iter().all(|f| std::fs::read_to_string(f).unwrap_or_default().contains(what));
    assert!(
        wait_for(Duration::from_secs(20), || {
            c.request(&OfMessage::EchoRequest(b"snoop".to_vec()));
            both_saw("OFPT_ECHO_REPLY")
        }),
        "the snoopers saw no echo:\n{}\n{}",
        from_first(&ovs_out, ""),
        from_first(&rvs_out, "")
    );
    c.request(&OfMessage::FeaturesRequest);
    c.request(&OfMessage::MultipartRequest { flags: 0, request: MultipartRequest::Desc });
    assert!(wait_for(Duration::from_secs(20), || both_saw("DP Description: rvs-netdev")), "no description reply seen");
    for ch in children.iter_mut() {
        // SAFETY: kill(2) on our child.
        unsafe { libc::kill(ch.id() as i32, libc::SIGTERM) };
        let _ = ch.wait();
    }
    let (theirs, ours) = (from_first(&ovs_out, "OFPT_FEATURES_REQUEST"), from_first(&rvs_out, "OFPT_FEATURES_REQUEST"));
    assert!(theirs.contains("OFPT_FEATURES_REQUEST (OF1.3)") && theirs.contains("OFPT_FEATURES_REPLY (OF1.3)"), "{theirs}");
    assert!(theirs.contains("Manufacturer: The rvs project"), "{theirs}");
    assert_eq!(theirs, ours, "ovs-ofctl snoop and rvs-ofctl snoop differ");
}
