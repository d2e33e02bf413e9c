//! `rvs-udpgen`: a packet generator for veth benchmarks, in place of the kernel's pktgen
//! (which this machine's kernel is built without: `# CONFIG_NET_PKTGEN is not set`).
//!
//! ```text
//! rvs-udpgen --iface NAME [--cpu N] [--seconds S] [--flows N] [--dst-mac MAC] [--src-mac MAC]
//!            [--dst-ip A.B.C.D] [--src-ip A.B.C.D] [--batch N]
//! ```
//!
//! # What it sends
//! 64-byte UDP frames (60 bytes without FCS: Ethernet + IPv4 + UDP + 18 zero bytes, the frames
//! of the anchor scenarios, [`rvs_benches::anchor`]), with the given addresses; with
//! `--flows N` the UDP source port takes N values (1024..1024+N), one flow per value, so the
//! IPv4 header (and its checksum) is the same in every frame.
//!
//! # How
//! One `AF_PACKET` raw socket bound to the interface, with protocol 0 (it receives nothing) and
//! `PACKET_QDISC_BYPASS` (frames go straight to the driver's transmit, as pktgen's). Each
//! `sendmmsg` hands the kernel `--batch` frames (64 by default), every message pointing at a
//! prebuilt frame: nothing is built or allocated in the loop. The thread pins itself to
//! `--cpu`. On a veth the transmit never blocks: what the peer cannot take is dropped and
//! counted by the kernel there, which is what a benchmark of the peer wants.
//!
//! It stops after `--seconds` (0: until `SIGINT`/`SIGTERM`) and prints one line,
//! `sent PACKETS packets in SECONDS s (MPPS Mpps), ERRORS send errors`, on standard output.
//! Must run as root (or with `CAP_NET_RAW`), in the namespace of the interface.

use std::ffi::CString;
use std::io;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rvs_benches::anchor::anchor_udp_frame;

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

struct Args {
    iface: String,
    cpu: Option<usize>,
    seconds: f64,
    flows: u16,
    batch: usize,
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    dst_ip: [u8; 4],
    src_ip: [u8; 4],
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let v: Vec<u8> = s.split(':').map(|b| u8::from_str_radix(b, 16)).collect::<Result<_, _>>().ok()?;
    v.try_into().ok()
}

fn parse_ip(s: &str) -> Option<[u8; 4]> {
    s.parse::<std::net::Ipv4Addr>().ok().map(|a| a.octets())
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        iface: String::new(),
        cpu: None,
        seconds: 0.0,
        flows: 1,
        batch: 64,
        dst_mac: [0x02, 0, 0, 0, 0, 0x02],
        src_mac: [0x02, 0, 0, 0, 0, 0x01],
        dst_ip: [10, 0, 0, 1],
        src_ip: [172, 16, 0, 1],
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let bad = |v: &str| format!("bad value for {flag}: {v:?}");
        match flag.as_str() {
            "--iface" => a.iface = value()?,
            "--cpu" => {
                let v = value()?;
                a.cpu = Some(v.parse().map_err(|_| bad(&v))?);
            }
            "--seconds" => {
                let v = value()?;
                a.seconds = v.parse().map_err(|_| bad(&v))?;
            }
            "--flows" => {
                let v = value()?;
                a.flows = v.parse().ok().filter(|&n: &u16| (1..=60000).contains(&n)).ok_or_else(|| bad(&v))?;
            }
            "--batch" => {
                let v = value()?;
                a.batch = v.parse().ok().filter(|&n: &usize| (1..=1024).contains(&n)).ok_or_else(|| bad(&v))?;
            }
            "--dst-mac" => {
                let v = value()?;
                a.dst_mac = parse_mac(&v).ok_or_else(|| bad(&v))?;
            }
            "--src-mac" => {
                let v = value()?;
                a.src_mac = parse_mac(&v).ok_or_else(|| bad(&v))?;
            }
            "--dst-ip" => {
                let v = value()?;
                a.dst_ip = parse_ip(&v).ok_or_else(|| bad(&v))?;
            }
            "--src-ip" => {
                let v = value()?;
                a.src_ip = parse_ip(&v).ok_or_else(|| bad(&v))?;
            }
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    if a.iface.is_empty() {
        return Err("--iface is required".into());
    }
    Ok(a)
}

fn check(r: libc::c_int, what: &str) -> io::Result<libc::c_int> {
    if r < 0 {
        let e = io::Error::last_os_error();
        Err(io::Error::new(e.kind(), format!("{what}: {e}")))
    } else {
        Ok(r)
    }
}

/// A raw `AF_PACKET` socket bound to `iface` for transmit only, bypassing the qdisc.
fn tx_socket(iface: &str) -> io::Result<libc::c_int> {
    let name = CString::new(iface).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface name"))?;
    // SAFETY: plain system calls on a socket this function owns; pointers are to live locals.
    unsafe {
        let ifindex = libc::if_nametoindex(name.as_ptr());
        if ifindex == 0 {
            return Err(io::Error::new(io::ErrorKind::NotFound, format!("no interface {iface}")));
        }
        let fd = check(libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0), "socket(AF_PACKET)")?;
        let one: libc::c_int = 1;
        check(
            libc::setsockopt(
                fd,
                libc::SOL_PACKET,
                libc::PACKET_QDISC_BYPASS,
                &one as *const _ as *const libc::c_void,
                std::mem::size_of_val(&one) as libc::socklen_t,
            ),
            "PACKET_QDISC_BYPASS",
        )?;
        let mut sll: libc::sockaddr_ll = std::mem::zeroed();
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = 0;
        sll.sll_ifindex = ifindex as i32;
        check(
            libc::bind(fd, &sll as *const _ as *const libc::sockaddr, std::mem::size_of_val(&sll) as libc::socklen_t),
            "bind",
        )?;
        Ok(fd)
    }
}

fn pin(cpu: usize) -> io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        check(libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set), "sched_setaffinity").map(|_| ())
    }
}

fn run(a: &Args) -> io::Result<(u64, u64, Duration)> {
    if let Some(cpu) = a.cpu {
        pin(cpu)?;
    }
    // SAFETY: installing an async-signal-safe handler that only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t);
    }
    let fd = tx_socket(&a.iface)?;
    let mut frames: Vec<Vec<u8>> = (0..a.flows)
        .map(|k| {
            let mut f = anchor_udp_frame(a.src_ip, a.dst_ip, 1024 + k, 5000);
            f[0..6].copy_from_slice(&a.dst_mac);
            f[6..12].copy_from_slice(&a.src_mac);
            f
        })
        .collect();
    // One iovec and one message per slot of the batch; slot i of batch b sends flow
    // (b * batch + i) % flows, so the flows take turns evenly.
    let n = a.batch;
    let mut iovs: Vec<libc::iovec> = Vec::with_capacity(n * a.flows as usize);
    let rounds = if (a.flows as usize).is_multiple_of(n) { a.flows as usize / n } else { a.flows as usize };
    for j in 0..rounds * n {
        let f = &mut frames[j % a.flows as usize];
        iovs.push(libc::iovec { iov_base: f.as_mut_ptr() as *mut libc::c_void, iov_len: f.len() });
    }
    // SAFETY: zeroed mmsghdr is valid (no name, no control); iov pointers set below.
    let mut msgs: Vec<libc::mmsghdr> = (0..rounds * n).map(|_| unsafe { std::mem::zeroed() }).collect();
    for (m, iov) in msgs.iter_mut().zip(iovs.iter_mut()) {
        m.msg_hdr.msg_iov = iov;
        m.msg_hdr.msg_iovlen = 1;
    }
    let limit = (a.seconds > 0.0).then(|| Duration::from_secs_f64(a.seconds));
    let (mut sent, mut errors) = (0u64, 0u64);
    let start = Instant::now();
    let mut round = 0usize;
    let mut calls = 0u32;
    while !STOP.load(Ordering::Relaxed) {
        let batch = &mut msgs[round * n..(round + 1) * n];
        // SAFETY: `batch` holds `n` initialised messages whose buffers outlive the call.
        let r = unsafe { libc::sendmmsg(fd, batch.as_mut_ptr(), n as u32, 0) };
        if r < 0 {
            errors += 1;
            let e = io::Error::last_os_error();
            if !matches!(e.raw_os_error(), Some(libc::ENOBUFS | libc::EAGAIN | libc::EINTR | libc::ENETDOWN)) {
                return Err(io::Error::new(e.kind(), format!("sendmmsg: {e}")));
            }
        } else {
            sent += r as u64;
        }
        round = (round + 1) % rounds;
        calls = calls.wrapping_add(1);
        if calls.is_multiple_of(1024) {
            if let Some(l) = limit {
                if start.elapsed() >= l {
                    break;
                }
            }
        }
    }
    let took = start.elapsed();
    // SAFETY: closing the socket this function opened.
    unsafe { libc::close(fd) };
    Ok((sent, errors, took))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("rvs-udpgen: {e}");
            eprintln!("usage: rvs-udpgen --iface NAME [--cpu N] [--seconds S] [--flows N] [--batch N] [--dst-mac MAC] [--src-mac MAC] [--dst-ip IP] [--src-ip IP]");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok((sent, errors, took)) => {
            let s = took.as_secs_f64();
            println!("sent {sent} packets in {s:.3} s ({:.3} Mpps), {errors} send errors", sent as f64 / s / 1e6);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rvs-udpgen: {e}");
            ExitCode::FAILURE
        }
    }
}
