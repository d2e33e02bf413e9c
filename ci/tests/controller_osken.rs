//! Test C, the project's acceptance test for controllers: an L2 learning switch written for
//! os-ken (the OpenFlow library Neutron uses), `ci/controllers/simple_switch_13.py`, drives
//! `rvs-vswitchd` over TCP on loopback, unchanged from how it would drive Open vSwitch.
//!
//! The bridge starts with no rules and fail mode `secure`, so nothing moves unless the
//! controller makes it: the first packets of a ping travel as packet-ins and packet-outs,
//! then the app's flows carry the traffic, and `rvs-ofctl dump-flows` shows them (also over
//! a `ptcp:` service connection).
//!
//! os-ken comes from a virtual environment: `$RVS_OSKEN_VENV`, else `/opt/rvs/osken-venv`
//! (made by `ci/setup.sh`), else one made here, in a temporary directory removed afterwards
//! (`pip install os-ken==3.1.0`: later releases dropped `osken-manager`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rvs_ci::*;

/// The OpenFlow port os-ken listens on, inside the daemon's namespace.
const OF_PORT: u16 = 6653;
/// A `ptcp:` service listener of the bridge.
const SERVICE_PORT: u16 = 6654;

/// A virtual environment made for this test, removed on drop.
struct TempVenv(PathBuf);

impl Drop for TempVenv {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `osken-manager`, and the temporary environment holding it if one had to be made.
fn osken_manager(prefix: &str) -> (PathBuf, Option<TempVenv>) {
    let configured = std::env::var_os("RVS_OSKEN_VENV").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/opt/rvs/osken-venv"));
    let exe = configured.join("bin/osken-manager");
    if exe.exists() {
        return (exe, None);
    }
    let dir = std::env::temp_dir().join(format!("{prefix}-osken-venv"));
    let venv = TempVenv(dir.clone());
    eprintln!("controller_osken: no os-ken at {}; installing os-ken 3.1.0 into {}", configured.display(), dir.display());
    must(Command::new("python3").args(["-m", "venv"]).arg(&dir));
    must(Command::new(dir.join("bin/pip")).args(["install", "-q", "os-ken==3.1.0"]));
    let exe = dir.join("bin/osken-manager");
    assert!(exe.exists(), "pip installed os-ken but not osken-manager");
    (exe, Some(venv))
}

/// A process killed on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn app() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("controllers/simple_switch_13.py")
}

/// Lines of the controller's log that start with `tag`.
fn count(log: &Path, tag: &str) -> usize {
    std::fs::read_to_string(log).unwrap_or_default().lines().filter(|l| l.starts_with(tag)).count()
}

#[test]
fn osken_learning_switch_drives_rvs() {
    if !require_root("controller_osken::osken_learning_switch_drives_rvs") {
        return;
    }
    let p = unique_prefix();
    let (manager, _venv) = osken_manager(&p);
    let sw = Switchd::start(&p);
    let h1 = Netns::new(&format!("{p}h1"));
    let h2 = Netns::new(&format!("{p}h2"));
    veth(&format!("{p}a1"), &sw.ns, &format!("{p}b1"), &h1, Some("10.0.0.1/24"));
    veth(&format!("{p}a2"), &sw.ns, &format!("{p}b2"), &h2, Some("10.0.0.2/24"));

    // The controller listens on loopback inside the daemon's namespace.
    let log = sw.dir.join("osken.log");
    let out = std::fs::File::create(&log).expect("controller log");
    let mut cmd = sw.ns.cmd(manager.to_str().expect("utf-8 path"));
    cmd.args(["--default-log-level", "20", "--ofp-listen-host", "127.0.0.1", "--ofp-tcp-listen-port", &OF_PORT.to_string()])
        .arg(app())
        .stdout(out.try_clone().expect("log fd"))
        .stderr(out)
        .stdin(Stdio::null());
    let _osken = Killed(cmd.spawn().expect("start osken-manager"));
    let controller_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let listening = wait_for(Duration::from_secs(30), || {
        let ss = run(sw.ns.cmd("ss").args(["-ltnH", &format!("sport = :{OF_PORT}")]));
        !String::from_utf8_lossy(&ss.stdout).trim().is_empty()
    });
    assert!(listening, "osken-manager is not listening on {OF_PORT}; its log:\n{}", controller_log());

    sw.vsctl(&["add-br", "br0", "--", "set-fail-mode", "br0", "secure"]);
    sw.vsctl(&["add-port", "br0", &format!("{p}a1")]);
    sw.vsctl(&["add-port", "br0", &format!("{p}a2")]);
    let none = sw.ofctl(&["dump-flows", "--no-stats", "br0"]);
    assert!(none.trim().is_empty(), "a secure bridge with a controller to come starts with no rules:\n{none}");
    sw.vsctl(&["set-controller", "br0", &format!("tcp:127.0.0.1:{OF_PORT}"), &format!("ptcp:{SERVICE_PORT}")]);

    // The app connects and installs its table-miss flow.
    let connected = wait_for(Duration::from_secs(30), || controller_log().contains("SWITCH_CONNECTED"));
    assert!(connected, "os-ken never saw the switch; controller log:\n{}\nswitch log:\n{}", controller_log(), sw.log());
    assert!(
        wait_for(Duration::from_secs(10), || sw.ofctl(&["dump-flows", "br0"]).contains("priority=0 actions=CONTROLLER:65535")),
        "no table-miss flow from the app:\n{}",
        sw.ofctl(&["dump-flows", "br0"])
    );

    // Packet-in and packet-out carry the first packets, then the app's flows exist.
    assert!(
        h1.ping_until("10.0.0.2", Duration::from_secs(30)),
        "no ping through the controller; controller log:\n{}\nswitch log:\n{}",
        controller_log(),
        sw.log()
    );
    assert!(count(&log, "PACKET_IN") >= 2, "the controller saw no packet-ins:\n{}", controller_log());
    let learned = |dump: &str| dump.lines().filter(|l| l.contains("priority=1,in_port=")).count();
    assert!(
        wait_for(Duration::from_secs(10), || learned(&sw.ofctl(&["dump-flows", "br0"])) >= 2),
        "the app's flows are missing:\n{}",
        sw.ofctl(&["dump-flows", "br0"])
    );
    let flows = sw.ofctl(&["dump-flows", "br0"]);
    eprintln!("flows installed by os-ken:\n{flows}");
    let mac2 = h2.ip(&["-br", "link", "show", &format!("{p}b2")]);
    let mac2 = mac2.split_whitespace().nth(2).expect("MAC in ip -br link");
    let to_h2 = format!("dl_dst={mac2}");
    let before = n_packets(&flows, &to_h2).unwrap_or_else(|| panic!("no flow towards {mac2}:\n{flows}"));

    // Now the flows carry the pings.
    assert!(h1.ping("10.0.0.2", 5));
    let after = n_packets(&sw.ofctl(&["dump-flows", "br0"]), &to_h2).expect("flow towards h2");
    assert!(after >= before + 5, "the app's flow did not carry the pings: {before} -> {after}");

    // The flows are also visible over the ptcp: service listener.
    let mut ofctl = sw.ns.cmd(bin("rvs-ofctl").to_str().expect("utf-8 path"));
    sw.env(&mut ofctl);
    let via_tcp = must(ofctl.args(["dump-flows", &format!("tcp:127.0.0.1:{SERVICE_PORT}")]));
    assert!(learned(&via_tcp) >= 2, "dump-flows over ptcp:\n{via_tcp}");
    let cov = sw.appctl(&["coverage/show"]);
    assert!(!cov.contains("packet_in_sent                           total: 0"), "{cov}");
}
