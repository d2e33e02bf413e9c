//! AF_XDP ports against real kernel peers: veth pairs into throw-away namespaces. Needs root
//! and the `af-xdp` feature (`sudo -E cargo test -p rvs-pmd --features af-xdp --test af_xdp`);
//! without either, the tests print a loud `SKIPPED` line. The test thread enters a namespace
//! `sw` holding the rvs side of every veth; peers live in namespaces `a` and `b`. Everything
//! (namespaces, processes, XDP programs) is removed on success and on failure.

mod common;

#[cfg(not(feature = "af-xdp"))]
#[test]
fn afxdp_ports_need_the_feature() {
    use std::io::Write;
    let spec = rvs_pmd::PortSpec::new("p0", rvs_pmd::PortKind::Afxdp);
    let e = rvs_pmd::open_port(&spec).err().expect("opened without the feature");
    assert!(matches!(e, rvs_pmd::PortError::NotBuiltIn { .. }), "{e}");
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED: AF_XDP integration tests: build with `--features af-xdp` (cargo test -p rvs-pmd --features af-xdp) ***\n"
    );
}

#[cfg(feature = "af-xdp")]
mod with_feature {
    use std::process::Command;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::thread;
    use std::time::{Duration, Instant};

    use super::common::{hex, is_test_frame, mac_of, needs_root, receive_test_frames, test_frame, Netns};
    use rvs_packet::{CsumState, PacketBatch, PacketBuf};
    use rvs_pmd::af_xdp::{AfXdpPort, AttachMode};
    use rvs_pmd::{Port, PortError, PortKind, PortSpec, RxQueue, TxQueue};

    const SECS: Duration = Duration::from_secs(10);

    /// Sends the hex-encoded frames given as arguments out of interface argv[1].
    const SEND_PY: &str = r#"
import socket, sys, binascii
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
s.bind((sys.argv[1], 0))
for h in sys.argv[2:]:
    s.send(binascii.unhexlify(h))
print("sent", flush=True)
"#;

    /// As SEND_PY, bypassing the qdisc: the frames then leave on transmit queue
    /// (CPU number % queues), so a sender pinned to a CPU picks the queue.
    const SEND_BYPASS_PY: &str = r#"
import socket, sys, binascii
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
s.setsockopt(263, 20, 1)
s.bind((sys.argv[1], 0))
for h in sys.argv[2:]:
    s.send(binascii.unhexlify(h))
print("sent", flush=True)
"#;

    /// Prints the first argv[2] frames of ethertype 0x88b5 received on argv[1].
    const RECV_PY: &str = r#"
import socket, sys, binascii
n = int(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
s.settimeout(5)
print("ready", flush=True)
got = 0
while got < n:
    try:
        data, addr = s.recvfrom(65536)
    except socket.timeout:
        print("timeout after", got, "frames", flush=True)
        sys.exit(1)
    if addr[2] != 4 and data[12:14] == b"\x88\xb5":
        print("frame", binascii.hexlify(data).decode(), flush=True)
        got += 1
"#;

    /// Prints the first argv[2] IPv4 frames received on argv[1] (hex).
    const RECV_IPV4_PY: &str = r#"
import socket, sys, binascii
n = int(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind((sys.argv[1], 0))
s.settimeout(5)
print("ready", flush=True)
for i in range(n):
    try:
        data, addr = s.recvfrom(65536)
    except socket.timeout:
        print("timeout after", i, "frames", flush=True)
        sys.exit(1)
    print("frame", binascii.hexlify(data).decode(), flush=True)
"#;

    /// Receives TCP on argv[1]:5001 and prints the byte count and SHA-256 of the stream.
    const TCP_SERVER_PY: &str = r#"
import socket, hashlib, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5001))
s.listen(1)
s.settimeout(20)
print("ready", flush=True)
c, _ = s.accept()
c.settimeout(20)
h, n = hashlib.sha256(), 0
while True:
    d = c.recv(65536)
    if not d:
        break
    h.update(d)
    n += len(d)
print("got", n, h.hexdigest(), flush=True)
"#;

    /// Sends argv[2] bytes over TCP to argv[1]:5001 and prints their count and SHA-256.
    const TCP_CLIENT_PY: &str = r#"
import socket, hashlib, sys
n = int(sys.argv[2])
data = bytes((i * 7 + i // 251) & 0xff for i in range(n))
c = socket.create_connection((sys.argv[1], 5001), timeout=20)
c.sendall(data)
c.close()
print("got", n, hashlib.sha256(data).hexdigest(), flush=True)
"#;

    /// Receives argv[2] UDP datagrams on argv[1]:7000 and prints them (the kernel drops any
    /// whose checksum is wrong).
    const UDP_RECV_PY: &str = r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 7000))
s.settimeout(5)
print("ready", flush=True)
for i in range(int(sys.argv[2])):
    try:
        d = s.recv(65536)
    except socket.timeout:
        print("timeout after", i, flush=True)
        sys.exit(1)
    print("dgram", d.decode(), flush=True)
"#;

    /// Sends argv[2] UDP datagrams "dgram-<i>-<padding>" to argv[1]:7000.
    const UDP_SEND_PY: &str = r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[2])):
    s.sendto(("dgram-%d-" % i + "x" * (i * 37 % 1200)).encode(), (sys.argv[1], 7000))
print("sent", flush=True)
"#;

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
            t.a.exec(&["ip", "addr", "add", "10.51.0.1/24", "dev", "h0"]);
            t.b.exec(&["ip", "addr", "add", "10.51.0.2/24", "dev", "h1"]);
            t
        }
    }

    fn afxdp_port(name: &str, opts: &[(&str, &str)]) -> AfXdpPort {
        let mut spec = PortSpec::new(name, PortKind::Afxdp);
        for (k, v) in opts {
            spec = spec.with_option(*k, *v);
        }
        AfXdpPort::open(&spec).unwrap_or_else(|e| panic!("opening {name}: {e}"))
    }

    /// True if `ip -d link show dev IF` in `ns` lists an XDP program.
    fn has_xdp(ns: &Netns, ifname: &str) -> bool {
        ns.exec(&["ip", "-d", "link", "show", "dev", ifname]).contains("prog/xdp")
    }

    /// Sends frames from `h0` in `a` into `p0`, receives them on `port`, then sends frames out
    /// of `port` and checks that `h0` sees them byte for byte.
    fn round_trip(t: &Topo, port: &AfXdpPort) {
        let mut rxq = port.open_rxq(0).unwrap();
        let (dst, src) = (mac_of(&t.sw, "p0"), mac_of(&t.a, "h0"));
        let mut frames: Vec<Vec<u8>> = (0..40).map(|i| test_frame(dst, src, i, 60 + i as usize * 37)).collect();
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

        let mut txq = port.open_txq().unwrap();
        let (dst, src) = (mac_of(&t.a, "h0"), mac_of(&t.sw, "p0"));
        let frames: Vec<Vec<u8>> = (0..50).map(|i| test_frame(dst, src, i, 60 + i as usize * 29)).collect();
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
        let s = port.stats();
        assert!(s.rx_packets >= 41, "{s:?}");
        assert_eq!(s.tx_packets, frames.len() as u64, "{s:?}");
        assert_eq!(s.tx_bytes, frames.iter().map(|f| f.len() as u64).sum::<u64>());
        assert_eq!((s.rx_errors, s.tx_errors, s.tx_dropped), (0, 0, 0), "{s:?}");
    }

    #[test]
    fn native_copy_mode_receives_and_transmits_frames() {
        if !needs_root("native_copy_mode_receives_and_transmits_frames") {
            return;
        }
        let t = Topo::new();
        let _in = t.sw.enter();
        let port = afxdp_port("p0", &[]);
        // veth has native XDP but no zero-copy: best-effort lands on native + copy.
        let mode = port.mode();
        assert_eq!((mode.attach, mode.zerocopy, mode.need_wakeup), (AttachMode::Native, false, true), "{mode}");
        assert_eq!(port.kind(), PortKind::Afxdp);
        assert_eq!(port.mac().0, mac_of(&t.sw, "p0"));
        assert_eq!(port.mtu(), 1500);
        assert!(has_xdp(&t.sw, "p0"));
        round_trip(&t, &port);
    }

    #[test]
    fn generic_mode_without_need_wakeup_works_too() {
        if !needs_root("generic_mode_without_need_wakeup_works_too") {
            return;
        }
        let t = Topo::new();
        let _in = t.sw.enter();
        let opts = [("xdp-mode", "generic"), ("use-need-wakeup", "false"), ("rx_ring_frames", "256"), ("tx_ring_frames", "64")];
        let port = afxdp_port("p0", &opts);
        let mode = port.mode();
        assert_eq!((mode.attach, mode.zerocopy, mode.need_wakeup), (AttachMode::Generic, false, false), "{mode}");
        assert!(t.sw.exec(&["ip", "-d", "link", "show", "dev", "p0"]).contains("xdpgeneric"));
        round_trip(&t, &port);
    }

    #[test]
    fn zero_copy_is_refused_on_veth_and_best_effort_falls_back() {
        if !needs_root("zero_copy_is_refused_on_veth_and_best_effort_falls_back") {
            return;
        }
        let t = Topo::new();
        let _in = t.sw.enter();
        match AfXdpPort::open(&PortSpec::new("p0", PortKind::Afxdp).with_option("xdp-mode", "native-with-zerocopy")) {
            Err(PortError::Io { source, .. }) => assert_eq!(source.raw_os_error(), Some(libc::EOPNOTSUPP), "{source}"),
            Err(e) => panic!("unexpected error {e}"),
            Ok(p) => panic!("veth accepted zero-copy: {}", p.mode()),
        }
        assert!(!has_xdp(&t.sw, "p0"), "a failed open left its program behind");
        let port = afxdp_port("p0", &[("xdp-mode", "native")]);
        assert!(!port.mode().zerocopy);
    }

    /// Forwards everything between two ports (both directions) until `stop`.
    fn bridge(a: &dyn Port, b: &dyn Port, stop: Arc<AtomicBool>) -> thread::JoinHandle<()> {
        let mut pairs: Vec<(Box<dyn RxQueue>, Box<dyn TxQueue>)> =
            vec![(a.open_rxq(0).unwrap(), b.open_txq().unwrap()), (b.open_rxq(0).unwrap(), a.open_txq().unwrap())];
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let mut idle = true;
                for (rx, tx) in pairs.iter_mut() {
                    let mut batch = PacketBatch::new();
                    if rx.rx_burst(&mut batch) > 0 {
                        idle = false;
                        tx.tx_burst(&mut batch);
                        tx.flush();
                    }
                }
                if idle {
                    thread::sleep(Duration::from_micros(50));
                }
            }
        })
    }

    /// UDP datagrams and a TCP stream between `a` and `b` through two AF_XDP ports bridged by
    /// a thread, checksum offload left on at both peers.
    fn traffic_through(t: &Topo, p0: Arc<AfXdpPort>, p1: Arc<AfXdpPort>) {
        let stop = Arc::new(AtomicBool::new(false));
        let fwd = bridge(p0.as_ref(), p1.as_ref(), stop.clone());
        let n = 30;
        let mut rcv = t.b.python(UDP_RECV_PY, &["10.51.0.2", &n.to_string()]);
        rcv.expect_line("ready", SECS);
        t.a.python(UDP_SEND_PY, &["10.51.0.2", &n.to_string()]).finish(SECS);
        let out = rcv.finish(SECS);
        assert_eq!(out.lines().filter(|l| l.starts_with("dgram dgram-")).count(), n, "{out}");

        let mut server = t.b.python(TCP_SERVER_PY, &["10.51.0.2"]);
        server.expect_line("ready", SECS);
        let sent = t.a.python(TCP_CLIENT_PY, &["10.51.0.2", "3000000"]).finish(Duration::from_secs(30));
        let got = server.finish(Duration::from_secs(30));
        stop.store(true, Ordering::Relaxed);
        fwd.join().unwrap();
        assert_eq!(got.lines().find(|l| l.starts_with("got")), sent.lines().find(|l| l.starts_with("got")), "stream damaged");
    }

    #[test]
    fn partial_checksums_from_veth_peers_are_recognised_and_completed() {
        if !needs_root("partial_checksums_from_veth_peers_are_recognised_and_completed") {
            return;
        }
        let t = Topo::new();
        for (ns, ifname) in [(&t.a, "h0"), (&t.b, "h1")] {
            let out = ns.exec(&["ethtool", "-k", ifname]);
            assert!(out.contains("tx-checksum-ip-generic: on"), "peer offload is off: {out}");
        }
        let _in = t.sw.enter();
        // Kernel checksum offload on transmit (metadata).
        let p0 = Arc::new(afxdp_port("p0", &[]));
        let p1 = Arc::new(afxdp_port("p1", &[]));
        let offload = p1.mode().tx_csum_offload;
        traffic_through(&t, p0.clone(), p1.clone());
        let (s0, s1) = (p0.stats(), p1.stats());
        assert!(s0.rx_csum_partial > 0 && s1.rx_csum_partial > 0, "no partial checksum seen: {s0:?} {s1:?}");
        if offload {
            assert!(s1.tx_csum_offloaded > 0 && s1.tx_csum_completed == 0, "{s1:?}");
        } else {
            eprintln!("note: this kernel has no AF_XDP transmit metadata; checksums were completed in software");
            assert!(s1.tx_csum_completed > 0, "{s1:?}");
        }
        drop((p0, p1));

        // Software completion.
        let p0 = Arc::new(afxdp_port("p0", &[("tx_csum_offload", "false")]));
        let p1 = Arc::new(afxdp_port("p1", &[("tx_csum_offload", "false")]));
        assert!(!p1.mode().tx_csum_offload);
        traffic_through(&t, p0.clone(), p1.clone());
        let s1 = p1.stats();
        assert!(s1.tx_csum_completed > 0 && s1.tx_csum_offloaded == 0, "{s1:?}");
    }

    /// A TCP/IPv4 super-frame (MSS 1448, partial checksum) of `payload` bytes from `src` to `dst`.
    fn tcp_super_frame(dst: [u8; 6], src: [u8; 6], payload: usize) -> PacketBuf {
        use rvs_packet::checksum::{fold, pseudo_v4};
        let total = 20 + 20 + payload;
        let mut f = Vec::new();
        f.extend_from_slice(&dst);
        f.extend_from_slice(&src);
        f.extend_from_slice(&[0x08, 0x00, 0x45, 0, (total >> 8) as u8, total as u8, 0, 1, 0x40, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&[10, 51, 0, 1, 10, 51, 0, 2]);
        let ipsum = !fold(rvs_packet::checksum::sum(&f[14..34], 0));
        f[24..26].copy_from_slice(&ipsum.to_be_bytes());
        f.extend_from_slice(&[0x9c, 0x40, 0x13, 0x89, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
        let pseudo = fold(pseudo_v4(0x0a33_0001, 0x0a33_0002, 6, (20 + payload) as u16));
        f[50..52].copy_from_slice(&pseudo.to_be_bytes());
        f.extend((0..payload).map(|i| (i % 251) as u8));
        let mut p = PacketBuf::from_slice(&f);
        p.meta.csum = CsumState::Partial { start: 34, offset: 16 };
        p.meta.gso = rvs_packet::Gso { kind: rvs_packet::GsoKind::TcpV4, size: 1448 };
        p
    }

    #[test]
    fn super_frames_are_segmented_on_transmit() {
        if !needs_root("super_frames_are_segmented_on_transmit") {
            return;
        }
        let t = Topo::new();
        let _in = t.sw.enter();
        let port = afxdp_port("p0", &[]);
        let mut txq = port.open_txq().unwrap();
        let payload = 4000;
        let mut peer = t.a.python(RECV_IPV4_PY, &["h0", "3"]);
        peer.expect_line("ready", SECS);
        let mut b = PacketBatch::new();
        b.push(tcp_super_frame(mac_of(&t.a, "h0"), mac_of(&t.sw, "p0"), payload)).unwrap();
        assert_eq!(txq.tx_burst(&mut b), 1);
        txq.flush();
        let out = peer.finish(SECS);
        let frames: Vec<Vec<u8>> = out
            .lines()
            .filter_map(|l| l.strip_prefix("frame "))
            .map(|h| (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect())
            .collect();
        assert_eq!(frames.iter().map(|f| f.len() - 54).collect::<Vec<_>>(), [1448, 1448, 1104]);
        let mut data = Vec::new();
        for f in &frames {
            let l4_len = f.len() - 34;
            let pseudo = rvs_packet::checksum::pseudo_v4(0x0a33_0001, 0x0a33_0002, 6, l4_len as u16);
            assert_eq!(rvs_packet::checksum::fold(rvs_packet::checksum::sum(&f[34..], pseudo)), 0xffff, "bad TCP checksum");
            data.extend_from_slice(&f[54..]);
        }
        assert_eq!(data, (0..payload).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
        let s = port.stats();
        assert_eq!((s.tx_packets, s.tx_gso_segmented, s.tx_dropped), (1, 1, 0), "{s:?}");
    }

    #[test]
    fn program_is_detached_on_drop_and_at_process_exit() {
        if !needs_root("program_is_detached_on_drop_and_at_process_exit") {
            return;
        }
        let t = Topo::new();
        {
            let _in = t.sw.enter();
            let port = afxdp_port("p0", &[]);
            assert!(has_xdp(&t.sw, "p0"));
            match AfXdpPort::open(&PortSpec::new("p0", PortKind::Afxdp)) {
                Err(PortError::Busy { why, .. }) => assert!(why.contains("XDP program"), "{why}"),
                Err(e) => panic!("unexpected error {e}"),
                Ok(_) => panic!("two AF_XDP ports on one interface"),
            }
            let rxq = port.open_rxq(0).unwrap();
            assert!(matches!(port.open_rxq(0), Err(PortError::Busy { .. })));
            assert!(matches!(port.open_rxq(1), Err(PortError::NoSuchQueue { .. })));
            drop(port);
            assert!(!has_xdp(&t.sw, "p0"), "program still attached after the port was dropped");
            drop(rxq);
        }
        // A process that ends with `process::exit` (no destructors) leaves nothing behind.
        let exe = std::env::current_exe().unwrap();
        let out = Command::new("ip")
            .args(["netns", "exec", &t.sw.name])
            .arg(exe)
            .args(["--ignored", "--exact", "with_feature::exit_without_dropping_the_port", "--nocapture", "--test-threads=1"])
            .env("RVS_AFXDP_EXIT_PORT", "p0")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
        assert!(text.contains("attached, exiting"), "helper did not run: {text}");
        assert!(!has_xdp(&t.sw, "p0"), "program left attached after process::exit");
    }

    /// Helper run by `program_is_detached_on_drop_and_at_process_exit` in a child process.
    #[test]
    #[ignore = "helper: run by program_is_detached_on_drop_and_at_process_exit"]
    fn exit_without_dropping_the_port() {
        let name = std::env::var("RVS_AFXDP_EXIT_PORT").expect("run by its parent test only");
        let port = afxdp_port(&name, &[]);
        let ip = Command::new("ip").args(["-d", "link", "show", "dev", &name]).output().unwrap();
        assert!(String::from_utf8_lossy(&ip.stdout).contains("prog/xdp"));
        println!("attached, exiting");
        std::mem::forget(port);
        std::process::exit(0);
    }

    #[test]
    fn one_socket_per_queue() {
        if !needs_root("one_socket_per_queue") {
            return;
        }
        let (sw, a) = (Netns::new("sw"), Netns::new("a"));
        let queues = ["numtxqueues", "2", "numrxqueues", "2"];
        let mut add = vec!["ip", "link", "add", "p0"];
        add.extend(queues);
        add.extend(["type", "veth", "peer", "name", "h0"]);
        add.extend(queues);
        add.extend(["netns", &a.name]);
        sw.exec(&add);
        sw.exec(&["ip", "link", "set", "p0", "up"]);
        a.exec(&["ip", "link", "set", "h0", "up"]);
        let _in = sw.enter();
        match AfXdpPort::open(&PortSpec::new("p0", PortKind::Afxdp).with_option("n_rxq", "3")) {
            Err(PortError::BadOption { key, why, .. }) => assert!(key == "n_rxq" && why.contains("2 receive queue"), "{why}"),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("opened 3 queues on a 2-queue veth"),
        }
        let port = afxdp_port("p0", &[("n_rxq", "2")]);
        assert_eq!(port.n_rxq(), 2);
        let mut queues = [port.open_rxq(0).unwrap(), port.open_rxq(1).unwrap()];
        // With qdisc bypass, a packet socket's frames leave on transmit queue (CPU % queues);
        // the veth peer receives them on the receive queue of that number.
        let (dst, src) = (mac_of(&sw, "p0"), mac_of(&a, "h0"));
        let mut sent = 0;
        for cpu in ["0", "1"] {
            let frames: Vec<String> = (0..20).map(|i| hex(&test_frame(dst, src, i, 100))).collect();
            let mut argv = vec!["taskset", "-c", cpu, "python3", "-c", SEND_BYPASS_PY, "h0"];
            argv.extend(frames.iter().map(String::as_str));
            a.spawn(&argv).finish(SECS);
            sent += frames.len();
        }
        let deadline = Instant::now() + SECS;
        let mut per_queue = [0usize; 2];
        while per_queue.iter().sum::<usize>() < sent && Instant::now() < deadline {
            for (i, q) in queues.iter_mut().enumerate() {
                let mut b = PacketBatch::new();
                q.rx_burst(&mut b);
                per_queue[i] += b.iter().filter(|p| is_test_frame(p.data())).count();
            }
            thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(per_queue.iter().sum::<usize>(), sent, "{per_queue:?}");
        assert!(per_queue.iter().all(|&n| n > 0), "one queue got everything: {per_queue:?}");
    }
}
