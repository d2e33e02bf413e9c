//! Helpers for the integration tests: throw-away network namespaces joined by veth pairs,
//! entered by the test thread only, and removed on success and on failure (guards' `Drop`).
//!
//! Tests that need root call [`needs_root`] first; without root it prints a loud
//! `SKIPPED: needs root` line and the test returns early (so the skip shows in the output).
#![allow(dead_code)]

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// True when the test may run; otherwise prints why it is skipped.
pub fn needs_root(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        // Straight to the stderr handle: the test harness captures `eprintln!`, not this.
        let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: needs root: {test} (run `sudo -E cargo test -p rvs-pmd`) ***\n");
        return false;
    }
    true
}

/// Runs a command, panicking with its output if it fails; returns stdout.
pub fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap_or_else(|e| panic!("running {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command and reports whether it succeeded.
pub fn try_sh(args: &[&str]) -> bool {
    Command::new(args[0]).args(&args[1..]).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A named network namespace, deleted on drop (with every interface in it).
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let name = format!("rvspmd-{}-{}-{tag}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed));
        sh(&["ip", "netns", "add", &name]);
        let ns = Netns { name };
        ns.exec(&["ip", "link", "set", "lo", "up"]);
        // No IPv6 chatter (router solicitations, MLD) on the test links.
        ns.exec(&["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
        ns.exec(&["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"]);
        ns
    }

    /// Runs a command inside the namespace.
    pub fn exec(&self, args: &[&str]) -> String {
        let mut v = vec!["ip", "netns", "exec", &self.name];
        v.extend_from_slice(args);
        sh(&v)
    }

    /// Starts a command inside the namespace with stdout piped; killed when the guard drops.
    pub fn spawn(&self, args: &[&str]) -> Proc {
        let child = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawning a command in a namespace");
        Proc::new(child)
    }

    /// Starts `python3 -c script ARGS...` inside the namespace.
    pub fn python(&self, script: &str, args: &[&str]) -> Proc {
        let mut v = vec!["python3", "-u", "-c", script];
        v.extend_from_slice(args);
        self.spawn(&v)
    }

    /// Moves the calling thread into the namespace until the guard drops.
    pub fn enter(&self) -> Entered {
        let own = File::open("/proc/thread-self/ns/net").expect("opening our network namespace");
        let target = File::open(format!("/var/run/netns/{}", self.name)).expect("opening the test namespace");
        // SAFETY: setns on valid namespace descriptors; affects only the calling thread.
        let r = unsafe { libc::setns(target.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
        Entered { own }
    }

    /// A veth pair: `here` in this namespace, `there` in `peer`'s; both up.
    pub fn veth(&self, here: &str, peer: &Netns, there: &str) {
        self.exec(&["ip", "link", "add", here, "type", "veth", "peer", "name", there, "netns", &peer.name]);
        self.exec(&["ip", "link", "set", here, "up"]);
        peer.exec(&["ip", "link", "set", there, "up"]);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

/// The calling thread's stay in a namespace; going back on drop.
pub struct Entered {
    own: File,
}

impl Drop for Entered {
    fn drop(&mut self) {
        // SAFETY: setns back to the namespace the thread came from.
        unsafe { libc::setns(self.own.as_raw_fd(), libc::CLONE_NEWNET) };
    }
}

/// A child process, killed on drop. Its stdout is read by a thread into a channel, so that a
/// chatty child never blocks on a full pipe.
pub struct Proc {
    child: Child,
    lines: Receiver<String>,
}

impl Proc {
    fn new(mut child: Child) -> Proc {
        let out = child.stdout.take().expect("stdout piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc { child, lines }
    }

    /// Reads lines until one starts with `prefix` (returned), failing after `timeout`.
    pub fn expect_line(&mut self, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => panic!("no line starting with {prefix:?} in time"),
                Err(RecvTimeoutError::Disconnected) => panic!("child exited before printing {prefix:?}"),
            }
        }
    }

    /// Waits for the process to exit successfully within `timeout`; returns the rest of stdout.
    pub fn finish(mut self, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let mut rest = String::new();
        loop {
            while let Ok(line) = self.lines.try_recv() {
                rest.push_str(&line);
                rest.push('\n');
            }
            if let Some(st) = self.child.try_wait().expect("waiting for child") {
                // The reader thread sees end-of-file once the child is gone.
                while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
                    rest.push_str(&line);
                    rest.push('\n');
                }
                assert!(st.success(), "child failed ({st}); output: {rest}");
                return rest;
            }
            assert!(Instant::now() < deadline, "child did not finish in time; output so far: {rest}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An Ethernet frame of the local experimental ethertype 0x88b5 whose payload is `tag` then a
/// counting pattern.
pub fn test_frame(dst: [u8; 6], src: [u8; 6], tag: u8, len: usize) -> Vec<u8> {
    let mut f = Vec::with_capacity(len);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0x88, 0xb5, tag]);
    f.extend((0..len - 15).map(|i| (i as u8).wrapping_mul(7)));
    f
}

/// The MAC of an interface, read with `ip` in `ns`.
pub fn mac_of(ns: &Netns, ifname: &str) -> [u8; 6] {
    let out = ns.exec(&["cat", &format!("/sys/class/net/{ifname}/address")]);
    let mut m = [0u8; 6];
    for (d, s) in m.iter_mut().zip(out.trim().split(':')) {
        *d = u8::from_str_radix(s, 16).expect("hex MAC");
    }
    m
}

/// Hex text of bytes (for frames handed to the Python senders).
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// True for the tests' frames: EtherType 0x88b5, untagged or behind one 802.1Q tag.
pub fn is_test_frame(f: &[u8]) -> bool {
    f.get(12..14) == Some(&[0x88, 0xb5]) || (f.get(12..14) == Some(&[0x81, 0x00]) && f.get(16..18) == Some(&[0x88, 0xb5]))
}

/// Polls `rxq` until `n` test frames arrived (other traffic is ignored) or the timeout.
pub fn receive_test_frames(rxq: &mut dyn rvs_pmd::RxQueue, n: usize, timeout: Duration) -> Vec<rvs_packet::PacketBuf> {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    while got.len() < n && Instant::now() < deadline {
        let mut b = rvs_packet::PacketBatch::new();
        if rxq.rx_burst(&mut b) == 0 {
            rvs_pmd::wait_readable(rxq.wait_fd().unwrap(), 10);
        }
        got.extend(b.drain().filter(|p| is_test_frame(p.data())));
    }
    got
}
