//! `rvs-vsctl` and `rvs-appctl` against a fake daemon: a thread listening on a temporary Unix
//! socket that records the request line and answers with canned JSON.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// A private run directory, removed on drop.
struct RunDir(PathBuf);

impl RunDir {
    fn new() -> RunDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "rvs-ctl-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create run dir");
        RunDir(dir)
    }

    fn socket(&self) -> PathBuf {
        self.0.join("rvs-vswitchd.ctl")
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Serves one connection on `socket`: returns the request line received; answers `answer`
/// (a JSON line) or, with `None`, keeps the connection open for `hold` without answering.
fn fake_daemon(socket: &Path, answer: Option<&str>, hold: Duration) -> JoinHandle<String> {
    let listener = UnixListener::bind(socket).expect("bind fake daemon socket");
    let answer = answer.map(str::to_string);
    thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut line = String::new();
        BufReader::new(&stream).read_line(&mut line).expect("read request");
        match answer {
            Some(a) => (&stream).write_all(format!("{a}\n").as_bytes()).expect("answer"),
            None => thread::sleep(hold),
        }
        line
    })
}

fn run(bin: &str, dir: &RunDir, args: &[&str]) -> Output {
    Command::new(bin).args(args).env("RVS_RUNDIR", &dir.0).output().expect("run client")
}

const VSCTL: &str = env!("CARGO_BIN_EXE_rvs-vsctl");
const APPCTL: &str = env!("CARGO_BIN_EXE_rvs-appctl");

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn vsctl_sends_its_arguments_verbatim_and_prints_the_output() {
    let dir = RunDir::new();
    let server = fake_daemon(&dir.socket(), Some(r#"{"ok":true,"output":"br0\nbr1\n"}"#), Duration::ZERO);
    let out = run(
        VSCTL,
        &dir,
        &["--may-exist", "add-br", "br0", "--", "set", "Bridge", "br0", "other_config:a=\"b c\"", "--", "list-br"],
    );
    assert_eq!(text(&out.stdout), "br0\nbr1\n");
    assert_eq!(text(&out.stderr), "");
    assert_eq!(out.status.code(), Some(0));
    let request: serde_json::Value = serde_json::from_str(&server.join().unwrap()).unwrap();
    assert_eq!(
        request,
        serde_json::json!({"tool": "vsctl", "args": ["--may-exist", "add-br", "br0", "--", "set", "Bridge", "br0", "other_config:a=\"b c\"", "--", "list-br"]})
    );
}

#[test]
fn vsctl_prints_errors_with_its_name_and_exits_with_the_status() {
    let dir = RunDir::new();
    let server =
        fake_daemon(&dir.socket(), Some(r#"{"ok":false,"error":"no bridge named br9","status":1}"#), Duration::ZERO);
    let out = run(VSCTL, &dir, &["del-br", "br9"]);
    server.join().unwrap();
    assert_eq!(text(&out.stderr), "rvs-vsctl: no bridge named br9\n");
    assert_eq!(text(&out.stdout), "");
    assert_eq!(out.status.code(), Some(1));

    let dir = RunDir::new();
    let server = fake_daemon(&dir.socket(), Some(r#"{"ok":false,"error":"","status":2}"#), Duration::ZERO);
    let out = run(VSCTL, &dir, &["br-exists", "br9"]);
    server.join().unwrap();
    assert_eq!(text(&out.stderr), "", "br-exists is silent");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn vsctl_without_a_daemon_reports_the_connection_failure() {
    let dir = RunDir::new();
    let out = run(VSCTL, &dir, &["show"]);
    assert_eq!(
        text(&out.stderr),
        format!("rvs-vsctl: unix:{}: database connection failed (No such file or directory)\n", dir.socket().display())
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn vsctl_help_and_version_need_no_daemon() {
    let dir = RunDir::new();
    let help = run(VSCTL, &dir, &["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(text(&help.stdout)
        .starts_with("rvs-vsctl: rvs-vswitchd management utility\nusage: rvs-vsctl [OPTIONS] COMMAND [ARG...]\n"));
    let version = run(VSCTL, &dir, &["-V"]);
    assert_eq!(text(&version.stdout), format!("rvs-vsctl (rvs) {}\n", env!("CARGO_PKG_VERSION")));
    let bad = run(VSCTL, &dir, &["--timeout=abc", "show"]);
    assert_eq!(text(&bad.stderr), "rvs-vsctl: value abc on -t or --timeout is invalid\n");
    assert_eq!(bad.status.code(), Some(1));
}

#[test]
fn vsctl_gives_up_after_its_timeout() {
    let dir = RunDir::new();
    let server = fake_daemon(&dir.socket(), None, Duration::from_secs(5));
    let start = Instant::now();
    let out = run(VSCTL, &dir, &["-t", "1", "show"]);
    assert!(start.elapsed() < Duration::from_secs(4), "took {:?}", start.elapsed());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), "rvs-vsctl: no answer from rvs-vswitchd within 1 s (--timeout)\n");
    server.join().unwrap();
}

#[test]
fn vsctl_reports_a_daemon_that_hangs_up() {
    let dir = RunDir::new();
    let server = fake_daemon(&dir.socket(), None, Duration::ZERO);
    let out = run(VSCTL, &dir, &["show"]);
    server.join().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), "rvs-vsctl: protocol error: rvs-vswitchd closed the connection without answering\n");
}

#[test]
fn appctl_sends_the_command_and_prints_the_output() {
    let dir = RunDir::new();
    let server =
        fake_daemon(&dir.socket(), Some(r#"{"ok":true,"output":"rvs-vswitchd (rvs) 0.1.0\n"}"#), Duration::ZERO);
    let out = run(APPCTL, &dir, &["-T", "5", "version"]);
    assert_eq!(text(&out.stdout), "rvs-vswitchd (rvs) 0.1.0\n");
    assert_eq!(out.status.code(), Some(0));
    let request: serde_json::Value = serde_json::from_str(&server.join().unwrap()).unwrap();
    assert_eq!(request, serde_json::json!({"tool": "appctl", "args": ["version"]}));
}

#[test]
fn appctl_reports_server_errors_like_ovs_appctl() {
    let dir = RunDir::new();
    let socket = dir.0.join("custom.ctl");
    let server = fake_daemon(
        &socket,
        Some(
            r#"{"ok":false,"error":"\"nosuch\" is not a valid command (use \"list-commands\" to see a list of valid commands)\n","status":2}"#,
        ),
        Duration::ZERO,
    );
    let target = socket.to_str().unwrap();
    let out = run(APPCTL, &dir, &["-t", target, "nosuch", "arg"]);
    let request: serde_json::Value = serde_json::from_str(&server.join().unwrap()).unwrap();
    assert_eq!(request, serde_json::json!({"tool": "appctl", "args": ["nosuch", "arg"]}));
    assert_eq!(
        text(&out.stderr),
        format!("\"nosuch\" is not a valid command (use \"list-commands\" to see a list of valid commands)\nrvs-appctl: {target}: server returned an error\n")
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn appctl_usage_and_connection_errors() {
    let dir = RunDir::new();
    let none = run(APPCTL, &dir, &[]);
    assert_eq!(text(&none.stderr), "rvs-appctl: at least one non-option argument is required (use --help for help)\n");
    assert_eq!(none.status.code(), Some(1));
    let down = run(APPCTL, &dir, &["version"]);
    assert_eq!(
        text(&down.stderr),
        format!("rvs-appctl: cannot connect to \"{}\" (No such file or directory)\n", dir.socket().display())
    );
    assert_eq!(down.status.code(), Some(1));
    assert_eq!(text(&run(APPCTL, &dir, &["-T"]).stderr), "rvs-appctl: option requires an argument -- 'T'\n");
    assert_eq!(text(&run(APPCTL, &dir, &["--foo"]).stderr), "rvs-appctl: unrecognized option '--foo'\n");
    assert_eq!(
        text(&run(APPCTL, &dir, &["-T", "x", "version"]).stderr),
        "rvs-appctl: value x on -T or --timeout is invalid\n"
    );
    let help = run(APPCTL, &dir, &["--help"]);
    assert!(text(&help.stdout).starts_with("rvs-appctl, for querying and controlling the rvs daemon\n"));
}

#[test]
fn vsctl_prints_warnings_but_succeeds() {
    let dir = RunDir::new();
    let answer =
        r#"{"ok":true,"warnings":["Error detected while setting up 'eth9'.  See rvs-vswitchd log for details."]}"#;
    let server = fake_daemon(&dir.socket(), Some(answer), Duration::ZERO);
    let out = run(VSCTL, &dir, &["add-port", "br0", "eth9"]);
    server.join().unwrap();
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        "rvs-vsctl: Error detected while setting up 'eth9'.  See rvs-vswitchd log for details.\n"
    );
    assert_eq!(out.status.code(), Some(0));
}
