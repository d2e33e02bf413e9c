//! TAP (internal) ports against the host stack, inside a throw-away namespace. Needs root
//! (prints `SKIPPED: needs root` otherwise).
//!
//! rvs plays a fake host 10.60.0.2 behind the TAP: it answers the host's ARP request, receives
//! the host's UDP datagrams (with partial checksums and a USO super-frame, since the TAP offers
//! checksum and segmentation offload), and sends datagrams back, one with a partial checksum and
//! one super-frame that the port must segment in software.

mod common;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use common::{needs_root, try_sh, Netns};
use rvs_packet::offload::{complete_csum, find_layers, segment};
use rvs_packet::wire::ip_proto;
use rvs_packet::{checksum, CsumState, Gso, GsoKind, PacketBatch, PacketBuf};
use rvs_pmd::{open_port, PortError, PortKind, PortSpec, RxQueue, TxQueue};

const SECS: Duration = Duration::from_secs(10);
const FAKE_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
const HOST_IP: [u8; 4] = [10, 60, 0, 1];
const FAKE_IP: [u8; 4] = [10, 60, 0, 2];

const HOST_PY: &str = r#"
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.60.0.1", 9998))
s.settimeout(10)
s.sendto(b"hello from the host", ("10.60.0.2", 9999))
data, addr = s.recvfrom(2048)
print("reply", data.decode(), addr[0], addr[1], flush=True)
s.setsockopt(socket.IPPROTO_UDP, 103, 1000)  # UDP_SEGMENT: one USO super-frame
s.sendto(bytes(i % 251 for i in range(3000)), ("10.60.0.2", 9999))
s.setsockopt(socket.IPPROTO_UDP, 103, 0)
for _ in range(3):
    data, addr = s.recvfrom(4096)
    print("seg", data.hex(), flush=True)
"#;

/// A receive queue with a backlog of packets not yet asked for.
struct Rx {
    q: Box<dyn RxQueue>,
    backlog: VecDeque<PacketBuf>,
}

impl Rx {
    /// The first packet (old or new) that `pred` accepts; packets before it are discarded.
    fn until(&mut self, what: &str, pred: impl Fn(&PacketBuf) -> bool) -> PacketBuf {
        let deadline = Instant::now() + SECS;
        loop {
            while let Some(p) = self.backlog.pop_front() {
                if pred(&p) {
                    return p;
                }
            }
            assert!(Instant::now() < deadline, "no {what} from the host");
            let mut b = PacketBatch::new();
            if self.q.rx_burst(&mut b) == 0 {
                rvs_pmd::wait_readable(self.q.wait_fd().unwrap(), 10);
            }
            self.backlog.extend(b.drain());
        }
    }
}

fn send(txq: &mut dyn TxQueue, p: PacketBuf) {
    let mut b = PacketBatch::new();
    b.push(p).unwrap();
    assert_eq!(txq.tx_burst(&mut b), 1);
    txq.flush();
}

/// An Ethernet/IPv4/UDP frame from the fake host to the host, with a partial (pseudo-header)
/// checksum when `partial`, else none.
fn udp_frame(host_mac: [u8; 6], payload: &[u8], partial: bool) -> PacketBuf {
    let mut f = Vec::new();
    f.extend_from_slice(&host_mac);
    f.extend_from_slice(&FAKE_MAC);
    f.extend_from_slice(&[0x08, 0x00]);
    let total = 28 + payload.len();
    f.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8, 0, 0, 0x40, 0, 64, 17, 0, 0]);
    f.extend_from_slice(&FAKE_IP);
    f.extend_from_slice(&HOST_IP);
    let ip_sum = checksum::finish(checksum::sum(&f[14..34], 0));
    f[24..26].copy_from_slice(&ip_sum.to_be_bytes());
    let ulen = 8 + payload.len();
    f.extend_from_slice(&[0x27, 0x0f, 0x27, 0x0e, (ulen >> 8) as u8, ulen as u8, 0, 0]);
    f.extend_from_slice(payload);
    let mut p = PacketBuf::from_slice(&f);
    if partial {
        let pseudo = checksum::pseudo_v4(u32::from_be_bytes(FAKE_IP), u32::from_be_bytes(HOST_IP), 17, ulen as u16);
        p.data_mut()[40..42].copy_from_slice(&checksum::fold(pseudo).to_be_bytes());
        p.meta.csum = CsumState::Partial { start: 34, offset: 6 };
    }
    p
}

fn udp_csum_ok(frame: &[u8]) -> bool {
    let l4 = &frame[34..];
    let src = u32::from_be_bytes(frame[26..30].try_into().unwrap());
    let dst = u32::from_be_bytes(frame[30..34].try_into().unwrap());
    let pseudo = checksum::pseudo_v4(src, dst, 17, l4.len() as u16);
    checksum::fold(checksum::sum(l4, pseudo)) == 0xffff
}

fn is_udp_to_fake(p: &PacketBuf) -> bool {
    let d = p.data();
    find_layers(d).is_some_and(|l| l.proto == ip_proto::UDP) && d.get(30..34) == Some(&FAKE_IP[..])
}

#[test]
fn tap_port_exchanges_frames_with_the_host_stack() {
    if !needs_root("tap_port_exchanges_frames_with_the_host_stack") {
        return;
    }
    let ns = Netns::new("tap");
    let _in = ns.enter();
    let spec = PortSpec::new("rvstap0", PortKind::Internal);
    let port = open_port(&spec).unwrap();
    assert_eq!(port.kind(), PortKind::Internal);
    assert!(!port.link_state().admin_up, "internal ports start down, as in OVS");
    assert_eq!(port.mac().0[0] & 3, 2, "random locally administered MAC");
    assert!(port.ifindex().is_some());
    assert!(matches!(open_port(&spec), Err(PortError::Busy { .. })));
    let host_mac = port.mac().0;

    let mut rxq = Rx { q: port.open_rxq(0).unwrap(), backlog: VecDeque::new() };
    let mut txq = port.open_txq().unwrap();
    port.set_admin_up(true).unwrap();
    assert!(port.link_state().admin_up);
    ns.exec(&["ip", "addr", "add", "10.60.0.1/24", "dev", "rvstap0"]);
    let mut host = ns.python(HOST_PY, &[]);

    // The host asks for 10.60.0.2; rvs answers as the fake host.
    let req = rxq.until("ARP request", |p| {
        let d = p.data();
        d.len() >= 42 && d[12..14] == [0x08, 0x06] && d[20..22] == [0, 1] && d[38..42] == FAKE_IP
    });
    let mut arp = Vec::new();
    arp.extend_from_slice(&req.data()[6..12]);
    arp.extend_from_slice(&FAKE_MAC);
    arp.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 2]);
    arp.extend_from_slice(&FAKE_MAC);
    arp.extend_from_slice(&FAKE_IP);
    arp.extend_from_slice(&req.data()[22..28]);
    arp.extend_from_slice(&HOST_IP);
    send(txq.as_mut(), PacketBuf::from_slice(&arp));

    // The host's datagram: checksum offload means it arrives partial.
    let dgram = rxq.until("UDP datagram", is_udp_to_fake);
    assert_eq!(&dgram.data()[42..], b"hello from the host");
    assert_eq!(dgram.meta.csum, CsumState::Partial { start: 34, offset: 6 });
    let mut done = dgram.duplicate();
    complete_csum(&mut done).unwrap();
    assert!(udp_csum_ok(done.data()));

    // A reply with a partial checksum goes to the host in the virtio-net header.
    send(txq.as_mut(), udp_frame(host_mac, b"hello from rvs", true));
    assert_eq!(host.expect_line("reply", SECS), "reply hello from rvs 10.60.0.2 9999");

    // The host's USO send arrives as one super-frame (the TAP offers USO), or as segments.
    let mut segs = Vec::new();
    while segs.iter().map(|s: &PacketBuf| s.len() - 42).sum::<usize>() < 3000 {
        let p = rxq.until("USO datagram", is_udp_to_fake);
        if p.meta.gso.kind != GsoKind::None {
            assert_eq!(p.meta.gso, Gso { kind: GsoKind::UdpL4, size: 1000 });
            segment(p, |s| segs.push(s)).unwrap();
        } else {
            let mut p = p;
            complete_csum(&mut p).unwrap();
            segs.push(p);
        }
    }
    assert_eq!(segs.len(), 3);
    let mut joined = Vec::new();
    for s in &segs {
        assert!(udp_csum_ok(s.data()));
        joined.extend_from_slice(&s.data()[42..]);
    }
    assert_eq!(joined, (0..3000).map(|i| (i % 251) as u8).collect::<Vec<_>>());

    // A super-frame with a final checksum cannot go in a virtio-net header: the port segments it.
    let payload: Vec<u8> = (0..2500).map(|i| (i % 253) as u8).collect();
    let mut big = udp_frame(host_mac, &payload, false);
    big.meta.gso = Gso { kind: GsoKind::UdpL4, size: 1000 };
    send(txq.as_mut(), big);
    for chunk in payload.chunks(1000) {
        let hex: String = chunk.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(host.expect_line("seg", SECS), format!("seg {hex}"));
    }
    host.finish(SECS);

    let s = port.stats();
    assert!(s.rx_csum_partial >= 1 && s.tx_csum_offloaded >= 1 && s.tx_gso_segmented == 1, "{s:?}");
    // Linux >= 6.2 takes TUN_F_USO4|6, so the host hands over the USO send whole.
    assert_eq!(s.rx_gso, 1, "{s:?}");
    assert_eq!((s.rx_errors, s.tx_errors, s.tx_dropped), (0, 0, 0), "{s:?}");

    // Dropping the port and its queues removes the device.
    drop((rxq, txq, port));
    let gone = !try_sh(&["ip", "netns", "exec", &ns.name, "ip", "link", "show", "rvstap0"]);
    assert!(gone, "the TAP device outlived its port");
}

#[test]
fn tap_port_takes_a_given_mac() {
    if !needs_root("tap_port_takes_a_given_mac") {
        return;
    }
    let ns = Netns::new("tapmac");
    let _in = ns.enter();
    let spec = PortSpec::new("rvstap1", PortKind::Internal).with_option("mac", "02:12:34:56:78:9a").with_option("offload", "false");
    let port = open_port(&spec).unwrap();
    assert_eq!(port.mac().to_string(), "02:12:34:56:78:9a");
    assert_eq!(port.mtu(), 1500);
    assert!(matches!(port.open_rxq(1), Err(PortError::NoSuchQueue { .. })));
}
