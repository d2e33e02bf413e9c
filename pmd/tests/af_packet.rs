//! AF_PACKET ports against real kernel peers: veth pairs into throw-away namespaces.
//! Needs root (prints `SKIPPED: needs root` otherwise). The test thread enters a namespace
//! `sw` holding the rvs side of every veth; peers live in namespaces `a` and `b`.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{hex, mac_of, needs_root, receive_test_frames, test_frame, Netns};
use rvs_packet::offload::{complete_csum, find_layers, segment};
use rvs_packet::wire::ip_proto;
use rvs_packet::{checksum, CsumState, GsoKind, PacketBatch, PacketBuf};
use rvs_pmd::{open_port, LinkState, Port, PortError, PortKind, PortSpec, RxQueue, TxQueue};

/// Sends the hex-encoded frames given as arguments out of interface argv[1].
const SEND_PY: &str = r#"
import socket, sys, binascii
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
s.bind((sys.argv[1], 0))
for h in sys.argv[2:]:
    s.send(binascii.unhexlify(h))
print("sent", flush=True)
"#;

/// Prints the first argv[2] frames of ethertype 0x88b5 (tagged or not) received on argv[1],
/// with any VLAN tag the kernel stripped put back from PACKET_AUXDATA.
const RECV_PY: &str = r#"
import socket, struct, sys, binascii
n = int(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.setsockopt(263, 8, 1)
s.bind((sys.argv[1], 0))
s.settimeout(5)
print("ready", flush=True)
got = 0
while got < n:
    try:
        data, anc, flags, addr = s.recvmsg(65536, 1024)
    except socket.timeout:
        print("timeout after", got, "frames", flush=True)
        sys.exit(1)
    if addr[2] == 4:
        continue
    for lvl, typ, d in anc:
        if lvl == 263 and typ == 8:
            st, ln, snap, mac, net, tci, tpid = struct.unpack("IIIHHHH", d[:20])
            if st & 0x10:
                tpid = tpid if st & 0x40 else 0x8100
                data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
    if data[12:14] == b"\x88\xb5" or (data[12:14] == b"\x81\x00" and data[16:18] == b"\x88\xb5"):
        print("frame", binascii.hexlify(data).decode(), flush=True)
        got += 1
"#;

const SECS: Duration = Duration::from_secs(10);

/// `sw` holds `p0` (and `p1`), peers `h0` in `a` (and `h1` in `b`).
struct Topo {
    sw: Netns,
    a: Netns,
    b: Netns,
}

impl Topo {
    fn new() -> Topo {
        let t = Topo { sw: Netns::new("sw"), a: Netns::new("a"), b: Netns::new("b") };
        t.sw.veth("p0", &t.a, "h0");
        t.sw.veth("p1", &t.b, "h1");
        t.a.exec(&["ip", "addr", "add", "10.50.0.1/24", "dev", "h0"]);
        t.b.exec(&["ip", "addr", "add", "10.50.0.2/24", "dev", "h1"]);
        t
    }
}

fn system_port(name: &str, opts: &[(&str, &str)]) -> Arc<dyn Port> {
    let mut spec = PortSpec::new(name, PortKind::System);
    for (k, v) in opts {
        spec = spec.with_option(*k, *v);
    }
    open_port(&spec).unwrap_or_else(|e| panic!("opening {name}: {e}"))
}

#[test]
fn af_packet_receives_frames_sent_by_the_peer() {
    if !needs_root("af_packet_receives_frames_sent_by_the_peer") {
        return;
    }
    let t = Topo::new();
    let _in = t.sw.enter();
    let port = system_port("p0", &[]);
    let mut rxq = port.open_rxq(0).unwrap();
    let (dst, src) = (mac_of(&t.sw, "p0"), mac_of(&t.a, "h0"));
    let mut frames: Vec<Vec<u8>> = (0..40).map(|i| test_frame(dst, src, i, 60 + i as usize * 30)).collect();
    // A VLAN-tagged frame: the kernel strips the tag into metadata; rvs must put it back.
    let mut tagged = test_frame(dst, src, 99, 200);
    tagged.splice(12..12, [0x81, 0x00, 0x20, 0x64]);
    frames.push(tagged);
    let args: Vec<String> = frames.iter().map(|f| hex(f)).collect();
    let mut argv = vec!["h0"];
    argv.extend(args.iter().map(String::as_str));
    t.a.python(SEND_PY, &argv).finish(SECS);

    let got = receive_test_frames(rxq.as_mut(), frames.len(), SECS);
    assert_eq!(got.len(), frames.len(), "frames received");
    for (g, f) in got.iter().zip(&frames) {
        assert_eq!(hex(g.data()), hex(f));
        assert_eq!(g.meta.csum, CsumState::Final);
    }
    let s = port.stats();
    assert!(s.rx_packets >= frames.len() as u64, "{s:?}");
    assert_eq!((s.rx_errors, s.rx_truncated), (0, 0));
}

#[test]
fn af_packet_transmits_frames_to_the_peer_and_not_back_to_itself() {
    if !needs_root("af_packet_transmits_frames_to_the_peer_and_not_back_to_itself") {
        return;
    }
    let t = Topo::new();
    let _in = t.sw.enter();
    let port = system_port("p0", &[]);
    let mut rxq = port.open_rxq(0).unwrap();
    let mut txq = port.open_txq().unwrap();
    let (dst, src) = (mac_of(&t.a, "h0"), mac_of(&t.sw, "p0"));
    let mut frames: Vec<Vec<u8>> = (0..50).map(|i| test_frame(dst, src, i, 60 + i as usize * 29)).collect();
    let mut tagged = test_frame(dst, src, 98, 300);
    tagged.splice(12..12, [0x81, 0x00, 0x00, 0x0a]);
    frames.push(tagged);

    let mut peer = t.a.python(RECV_PY, &["h0", &frames.len().to_string()]);
    peer.expect_line("ready", SECS);
    let mut sent = 0;
    for chunk in frames.chunks(20) {
        let mut b = PacketBatch::new();
        for f in chunk {
            b.push(PacketBuf::from_slice(f)).unwrap();
        }
        sent += txq.tx_burst(&mut b);
        assert!(b.is_empty());
        txq.flush();
    }
    assert_eq!(sent, frames.len());
    let out = peer.finish(SECS);
    let seen: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("frame ")).collect();
    let want: Vec<String> = frames.iter().map(|f| hex(f)).collect();
    assert_eq!(seen, want);

    // PACKET_IGNORE_OUTGOING: none of our own frames come back on the receive queue.
    assert!(receive_test_frames(rxq.as_mut(), 1, Duration::from_millis(300)).is_empty());
    let s = port.stats();
    assert_eq!(s.tx_packets, frames.len() as u64);
    assert_eq!(s.tx_bytes, frames.iter().map(|f| f.len() as u64).sum::<u64>());
}

#[test]
fn af_packet_port_attributes_and_errors() {
    if !needs_root("af_packet_port_attributes_and_errors") {
        return;
    }
    let t = Topo::new();
    let _in = t.sw.enter();
    t.sw.exec(&["ip", "link", "set", "p0", "down"]);
    let port = system_port("p0", &[("n_rxq", "2")]);
    assert_eq!(port.name(), "p0");
    assert_eq!(port.kind(), PortKind::System);
    assert_eq!(port.mac().0, mac_of(&t.sw, "p0"));
    assert_eq!(port.mtu(), 1500);
    let idx: u32 = t.sw.exec(&["cat", "/sys/class/net/p0/ifindex"]).trim().parse().unwrap();
    assert_eq!(port.ifindex(), Some(idx));
    assert_eq!(port.link_state(), LinkState { admin_up: false, carrier: false });
    port.set_admin_up(true).unwrap();
    let deadline = Instant::now() + SECS;
    while !port.link_state().carrier && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(port.link_state(), LinkState { admin_up: true, carrier: true });
    t.sw.exec(&["ip", "link", "set", "p0", "mtu", "9000"]);
    assert_eq!(port.mtu(), 9000);
    assert_eq!(port.n_rxq(), 2);
    assert!(matches!(port.open_rxq(2), Err(PortError::NoSuchQueue { queue: 2, n_rxq: 2, .. })));
    {
        // From another namespace the port still describes its own interface, but refuses to
        // open queue sockets there (they would bind to whatever has the same index).
        let _elsewhere = t.a.enter();
        assert_eq!(port.mtu(), 9000);
        assert_eq!(port.mac().0, mac_of(&t.sw, "p0"));
        assert!(matches!(port.open_rxq(0), Err(PortError::OtherNamespace { .. })));
        assert!(matches!(port.open_txq(), Err(PortError::OtherNamespace { .. })));
    }
    assert!(port.open_txq().is_ok());
    let q0 = port.open_rxq(0).unwrap();
    assert!(matches!(port.open_rxq(0), Err(PortError::Busy { .. })));
    drop(q0);
    assert!(port.open_rxq(0).is_ok());

    match open_port(&PortSpec::new("nonesuch0", PortKind::System)) {
        Err(PortError::NoSuchDevice(n)) => assert_eq!(n, "nonesuch0"),
        other => panic!("expected NoSuchDevice, got {:?}", other.map(|p| p.name().to_string())),
    }
    let bad = PortSpec::new("p0", PortKind::System).with_option("n_rxq", "zero");
    assert!(matches!(open_port(&bad), Err(PortError::BadOption { .. })));
}

#[test]
fn af_packet_fanout_spreads_flows_over_queues() {
    if !needs_root("af_packet_fanout_spreads_flows_over_queues") {
        return;
    }
    let t = Topo::new();
    let _in = t.sw.enter();
    let port = system_port("p0", &[("n_rxq", "2")]);
    let mut q0 = port.open_rxq(0).unwrap();
    let mut q1 = port.open_rxq(1).unwrap();
    let mac = mac_of(&t.sw, "p0");
    let lladdr = mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
    t.a.exec(&["ip", "neigh", "add", "10.50.0.99", "lladdr", &lladdr, "dev", "h0"]);
    let script = r#"
import socket
for port in range(20000, 20200):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("10.50.0.1", port))
    s.sendto(b"x" * 32, ("10.50.0.99", 9))
    s.close()
print("sent", flush=True)
"#;
    t.a.python(script, &[]).finish(SECS);
    let is_udp = |p: &PacketBuf| find_layers(p.data()).is_some_and(|l| l.proto == ip_proto::UDP);
    let (mut n0, mut n1) = (0, 0);
    let deadline = Instant::now() + SECS;
    while n0 + n1 < 200 && Instant::now() < deadline {
        let mut b = PacketBatch::new();
        q0.rx_burst(&mut b);
        n0 += b.iter().filter(|p| is_udp(p)).count();
        b.clear();
        q1.rx_burst(&mut b);
        n1 += b.iter().filter(|p| is_udp(p)).count();
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(n0 + n1, 200, "every datagram once over both queues ({n0} + {n1})");
    assert!(n0 > 0 && n1 > 0, "both queues got flows ({n0} + {n1})");
}

/// What the forwarder saw.
#[derive(Debug, Default)]
struct Seen {
    partial: u64,
    gso: u64,
    verified: u64,
    bad: Vec<String>,
}

/// True if the TCP/UDP checksum of an IPv4 frame verifies.
fn l4_csum_ok(frame: &[u8]) -> bool {
    let Some(l) = find_layers(frame) else { return true };
    if !l.ipv4 || !(l.proto == ip_proto::TCP || l.proto == ip_proto::UDP) {
        return true;
    }
    let ip = &frame[l.l3..];
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let l4 = &frame[l.l4..l.l3 + total];
    let src = u32::from_be_bytes(ip[12..16].try_into().unwrap());
    let dst = u32::from_be_bytes(ip[16..20].try_into().unwrap());
    let pseudo = checksum::pseudo_v4(src, dst, l.proto, l4.len() as u16);
    checksum::fold(checksum::sum(l4, pseudo)) == 0xffff
}

/// Completes a copy of `p`'s offload work in software and checks every resulting checksum.
fn verify(p: &PacketBuf, seen: &mut Seen) {
    let partial = matches!(p.meta.csum, CsumState::Partial { .. });
    let gso = p.meta.gso.kind != GsoKind::None;
    seen.partial += u64::from(partial);
    seen.gso += u64::from(gso);
    if !(partial || gso) || seen.verified >= 2000 {
        return;
    }
    seen.verified += 1;
    let dup = p.duplicate();
    let mut ok = true;
    let res = if gso {
        segment(dup, |s| ok &= l4_csum_ok(s.data()))
    } else {
        let mut dup = dup;
        complete_csum(&mut dup).map(|()| ok = l4_csum_ok(dup.data()))
    };
    if res.is_err() || !ok {
        seen.bad.push(format!("{:?} {:?} len {}", p.meta.csum, p.meta.gso, p.len()));
    }
}

/// A thread moving packets both ways between two ports until stopped.
struct Forwarder {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<Seen>>,
}

impl Forwarder {
    fn start(a: &Arc<dyn Port>, b: &Arc<dyn Port>) -> Forwarder {
        let mut queues: Vec<(Box<dyn RxQueue>, Box<dyn TxQueue>)> =
            vec![(a.open_rxq(0).unwrap(), b.open_txq().unwrap()), (b.open_rxq(0).unwrap(), a.open_txq().unwrap())];
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::spawn(move || {
            let mut seen = Seen::default();
            while !flag.load(Ordering::Relaxed) {
                let mut idle = true;
                for (rx, tx) in queues.iter_mut() {
                    let mut batch = PacketBatch::new();
                    if rx.rx_burst(&mut batch) > 0 {
                        idle = false;
                        for p in batch.iter() {
                            verify(p, &mut seen);
                        }
                        tx.tx_burst(&mut batch);
                    }
                    tx.flush();
                }
                if idle {
                    thread::sleep(Duration::from_micros(50));
                }
            }
            seen
        });
        Forwarder { stop, thread: Some(thread) }
    }

    fn finish(mut self) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().expect("forwarder panicked")
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

const TCP_SERVER_PY: &str = r#"
import socket, hashlib
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("10.50.0.2", 5001))
l.listen(1)
print("ready", flush=True)
c, _ = l.accept()
h = hashlib.sha256()
n = 0
while True:
    d = c.recv(1 << 16)
    if not d:
        break
    h.update(d)
    n += len(d)
c.sendall(b"done")
c.close()
print("got", n, h.hexdigest(), flush=True)
"#;

const TCP_CLIENT_PY: &str = r#"
import socket, hashlib, random, sys
data = random.Random(7).randbytes(int(sys.argv[1]))
c = socket.create_connection(("10.50.0.2", 5001), timeout=30)
c.sendall(data)
c.shutdown(socket.SHUT_WR)
assert c.recv(16) == b"done"
print("sent", len(data), hashlib.sha256(data).hexdigest(), flush=True)
"#;

/// Runs iperf3 from `a` to `b` for `secs` and returns the received rate in Gbit/s.
fn iperf3(t: &Topo, secs: u32) -> f64 {
    let _server = t.b.spawn(&["iperf3", "-s", "-1", "-B", "10.50.0.2"]);
    let mut last = String::new();
    for _ in 0..50 {
        thread::sleep(Duration::from_millis(100));
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", &t.a.name, "iperf3", "-c", "10.50.0.2", "-t", &secs.to_string(), "-J"])
            .output()
            .expect("running iperf3");
        last = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            let at = last.find("\"sum_received\"").expect("iperf3 JSON has sum_received");
            let rest = &last[at..];
            let b = rest.find("\"bits_per_second\":").expect("bits_per_second") + "\"bits_per_second\":".len();
            let num: String = rest[b..].trim_start().chars().take_while(|c| c.is_ascii_digit() || *c == '.' || *c == 'e' || *c == '+').collect();
            return num.parse::<f64>().expect("a rate") / 1e9;
        }
    }
    panic!("iperf3 never connected: {last}");
}

/// TCP from `a` to `b` through rvs forwarding between two AF_PACKET ports, with the peers'
/// default offloads (checksum and TSO on).
fn tcp_through_rvs(test: &str, opts_a: &[(&str, &str)], opts_b: &[(&str, &str)]) {
    if !needs_root(test) {
        return;
    }
    let t = Topo::new();
    let _in = t.sw.enter();
    let a = system_port("p0", opts_a);
    let b = system_port("p1", opts_b);
    let fwd = Forwarder::start(&a, &b);

    let mut server = t.b.python(TCP_SERVER_PY, &[]);
    server.expect_line("ready", SECS);
    let client = t.a.python(TCP_CLIENT_PY, &["8000000"]);
    let sent = client.finish(Duration::from_secs(60));
    let got = server.expect_line("got", SECS);
    let sent = sent.lines().find(|l| l.starts_with("sent")).expect("client summary").to_string();
    assert_eq!(got.replacen("got", "sent", 1), sent, "bytes and SHA-256 at both ends");

    let gbps = iperf3(&t, 2);
    eprintln!("{test}: iperf3 through rvs: {gbps:.2} Gbit/s");
    assert!(gbps > 0.01, "iperf3 rate {gbps} Gbit/s");
    let seen = fwd.finish();
    let (sa, sb) = (a.stats(), b.stats());
    eprintln!("{test}: {seen:?}\n  p0 {sa:?}\n  p1 {sb:?}");
    assert!(seen.bad.is_empty(), "offload state that does not complete to valid checksums: {:?}", seen.bad);
    assert!(seen.partial > 0, "no partial checksum seen: offload state is not reported");
    assert!(seen.gso > 0, "no TSO super-frame seen");
    assert!(seen.verified > 0);
    assert_eq!((sa.rx_errors, sa.rx_truncated, sb.rx_errors, sb.rx_truncated), (0, 0, 0, 0));
}

#[test]
fn af_packet_tcp_with_offload_on_through_vnet_ports() {
    tcp_through_rvs("af_packet_tcp_with_offload_on_through_vnet_ports", &[], &[]);
}

#[test]
fn af_packet_tcp_with_offload_on_through_ports_without_vnet_headers() {
    tcp_through_rvs(
        "af_packet_tcp_with_offload_on_through_ports_without_vnet_headers",
        &[("vnet_hdr", "false")],
        &[("vnet_hdr", "false")],
    );
}

#[test]
fn af_packet_tcp_from_a_vnet_port_to_a_plain_port() {
    tcp_through_rvs("af_packet_tcp_from_a_vnet_port_to_a_plain_port", &[], &[("vnet_hdr", "false")]);
}
