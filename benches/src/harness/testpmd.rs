//! `dpdk-testpmd` in io forwarding mode: the limit, what DPDK alone does with the same vdevs.
//!
//! One testpmd per run, driven through its interactive prompt on a pipe:
//!
//! ```text
//! stdbuf -oL dpdk-testpmd -l HOUSE,WORKER --main-lcore HOUSE --no-pci --file-prefix rvsbench-tp-PID -m 1024 \
//!   --vdev net_pcap0,rx_pcap=FILE,infinite_rx=1 --vdev net_null0,no-rx=1 \
//!   -- -i --nb-cores=1 --forward-mode=io --rxq=1 --txq=1 --total-num-mbufs=262144
//! testpmd> start  ...  show port stats 1  (TX-packets, twice)  ...  stop, quit
//! ```
//!
//! Port 0 replays the pcap (its TX side drops), port 1 is the `net_null` sink whose
//! `TX-packets` the harness reads. The forwarding lcore's thread is `rte-worker-N` (DPDK 22.11).

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::measure::{RunError, Running};
use super::sys::{self, Child};
use super::{sink_devargs, source_devargs, Ctx};

/// The binary.
pub const TESTPMD: &str = "dpdk-testpmd";

/// A running testpmd.
pub struct Testpmd {
    child: Child,
    out: Arc<Mutex<String>>,
    worker: (u32, u32),
}

/// Whether testpmd can run here; the reason when not.
pub fn available() -> Result<(), String> {
    if sys::have(TESTPMD) {
        Ok(())
    } else {
        Err(format!("{TESTPMD} is not installed (Debian package dpdk-dev)"))
    }
}

impl Testpmd {
    /// Starts testpmd forwarding `pcap` into the null sink.
    pub fn start(ctx: &Ctx, pcap: &Path, run: usize) -> Result<Testpmd, RunError> {
        available().map_err(RunError::Unavailable)?;
        let prefix = format!("rvsbench-tp-{}", std::process::id());
        // testpmd prints command output with stdio, fully buffered on a pipe; its prompt and echo
        // are written directly. Line buffering (stdbuf) keeps both in order.
        let mut cmd = Command::new("stdbuf");
        cmd.args(["-oL", TESTPMD]).args(["-l", &format!("{},{}", ctx.cores.house, ctx.cores.worker), "--main-lcore", &ctx.cores.house.to_string()])
            .args(["--no-pci", "--file-prefix", &prefix, "-m", "1024", "--vdev", &source_devargs(0, pcap), "--vdev", &sink_devargs(0)])
            .args(["--", "-i", "--nb-cores=1", "--forward-mode=io", "--rxq=1", "--txq=1", "--total-num-mbufs=262144"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let log = ctx.log_path(&format!("testpmd-run{run}.log"));
        cmd.stderr(std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?);
        let mut child = Child::spawn_with("dpdk-testpmd", cmd, &[ctx.cores.house, ctx.cores.worker]).map_err(|e| e.to_string())?;
        let out = Arc::new(Mutex::new(String::new()));
        let mut stdout = child.take_stdout().expect("piped stdout");
        let sink = out.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap_or_else(|e| e.into_inner()).push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut tp = Testpmd { child, out, worker: (0, 0) };
        tp.wait_prompt(0, Duration::from_secs(60)).map_err(|e| {
            RunError::Failed(format!("{e}; its output:\n{}", tail(&tp.out.lock().unwrap_or_else(|e| e.into_inner()), 1500)))
        })?;
        tp.command("start")?;
        let pid = tp.child.pid();
        let tid = sys::find_thread(pid, &["rte-worker", "lcore-worker"])
            .ok_or_else(|| RunError::Failed(format!("no forwarding thread (rte-worker-*) in testpmd {pid}")))?;
        tp.worker = (pid, tid);
        Ok(tp)
    }

    /// Waits until a prompt appears after byte `from` of the output; returns the text before it.
    fn wait_prompt(&mut self, from: usize, timeout: Duration) -> Result<String, String> {
        let end = Instant::now() + timeout;
        loop {
            {
                let out = self.out.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(i) = out.get(from..).and_then(|s| s.find("testpmd> ")) {
                    return Ok(out[from..from + i].to_string());
                }
            }
            if !self.child.alive() {
                return Err("dpdk-testpmd exited".into());
            }
            if Instant::now() > end || sys::interrupted() {
                return Err("no prompt from dpdk-testpmd".into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Sends one command and returns its output.
    fn command(&mut self, cmd: &str) -> Result<String, String> {
        let from = self.out.lock().unwrap_or_else(|e| e.into_inner()).len();
        let stdin = self.child.stdin().ok_or("testpmd stdin closed")?;
        stdin.write_all(format!("{cmd}\n").as_bytes()).and_then(|_| stdin.flush()).map_err(|e| format!("testpmd: {e}"))?;
        // The prompt printed before this command was already consumed (`from` is past it).
        self.wait_prompt(from, Duration::from_secs(30))
    }
}

/// The last `n` bytes of `s` (on a character boundary).
fn tail(s: &str, n: usize) -> &str {
    let mut i = s.len().saturating_sub(n);
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

/// `TX-packets` of the first port in `show port stats` output.
pub fn parse_tx_packets(out: &str) -> Option<u64> {
    out.split("TX-packets:").nth(1)?.split_whitespace().next()?.parse().ok()
}

impl Running for Testpmd {
    fn worker(&self) -> (u32, u32) {
        self.worker
    }

    fn tx_packets(&mut self) -> Result<u64, String> {
        let out = self.command("show port stats 1")?;
        parse_tx_packets(&out).ok_or_else(|| format!("no TX-packets in testpmd's answer: {out:?}"))
    }

    fn setups(&mut self) -> Result<Option<u64>, String> {
        Ok(None)
    }

    fn purge_flows(&mut self) -> Result<(), String> {
        Ok(())
    }
}

impl Drop for Testpmd {
    fn drop(&mut self) {
        if self.child.alive() {
            let _ = self.command("stop");
            if let Some(stdin) = self.child.stdin() {
                let _ = stdin.write_all(b"quit\n").and_then(|_| stdin.flush());
            }
            self.child.wait_exit(Duration::from_secs(10));
        }
        self.child.stop();
        sys::remove_hugepage_files(&format!("rvsbench-tp-{}", std::process::id()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tx_packets_of_port_stats() {
        let out = "\n  ######################## NIC statistics for port 1  ########################\n  \
                   RX-packets: 0          RX-missed: 0          RX-bytes:  0\n  RX-errors: 0\n  RX-nombuf:  0         \n  \
                   TX-packets: 123456789  TX-errors: 0          TX-bytes:  7407407340\n\n  Throughput (since last show)\n";
        assert_eq!(parse_tx_packets(out), Some(123_456_789));
        assert_eq!(parse_tx_packets("Invalid port 1"), None);
    }
}
