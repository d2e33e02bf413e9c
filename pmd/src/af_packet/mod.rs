//! AF_PACKET ports ("system" ports): an existing kernel interface, such as a veth end or a NIC,
//! driven through memory-mapped packet rings. The default backend; it needs only root.
//!
//! # Sockets and rings
//! Each receive queue is one `SOCK_RAW` packet socket bound to the interface for all protocols,
//! in promiscuous mode, with `PACKET_IGNORE_OUTGOING` (frames rvs or the host send out of the
//! interface are not received back) and a TPACKET_V2 receive ring. Each transmit handle is one
//! socket bound with protocol 0 (so it receives nothing), with a TPACKET_V2 transmit ring and
//! `PACKET_QDISC_BYPASS`, plus a second ring-less socket for super-frames (below). With
//! `n_rxq > 1` the receive sockets join one `PACKET_FANOUT_HASH` group, so the kernel spreads
//! flows over the queues.
//!
//! # Costs
//! No system call and no allocation per packet in steady state: `rx_burst` copies each frame
//! from the ring into a pooled [`PacketBuf`](rvs_packet::PacketBuf) and hands the frame back;
//! `tx_burst` copies frames into the transmit ring; `flush` kicks it with one `send`. The only
//! per-packet system calls are for super-frames larger than a ring frame (64 KiB TSO frames):
//! one `recv` each on receive, one `sendmsg` each on transmit, amortised over the ~45 segments
//! such a frame carries. Memory: receive rings are `rx_ring_frames` x 2 KiB (4 MiB by default at
//! MTU 1500), transmit rings `tx_ring_frames` x 2 KiB (1 MiB), per queue.
//!
//! # Offload (checksums and TSO), and why TPACKET_V2
//! With `PACKET_VNET_HDR` the kernel puts a virtio-net header in front of each frame in both
//! rings: partial checksums and GSO super-frames arrive as they are (and are reported in
//! `meta.csum`/`meta.gso`) and leave as they are (the kernel, or the NIC, finishes them). So
//! veth and TAP peers keep their default `tx on`, unlike OVS's userspace datapath.
//!
//! Measured on Linux 6.18 (this project's machines), by a Python prototype on a veth pair:
//! * `PACKET_VNET_HDR` is accepted together with TPACKET_V2 **and** TPACKET_V3, on receive rings
//!   (the header sits right before `tp_mac`) and on transmit rings (a 3054-byte TSO frame with
//!   MSS 1000 sent through either ring to a 1500-MTU veth arrived as one super-frame).
//! * TPACKET_V3 hands over whole blocks, and a block is only closed when full or when its
//!   retire timer fires: one frame on an idle link took 4.9 ms (default timer) or 0.9 ms
//!   (`tp_retire_blk_tov` = 1 ms, the minimum) from `send` to visible, against **9 us** with
//!   TPACKET_V2, where every frame is visible at once. A switch cannot add milliseconds to every
//!   request/response exchange, so receive uses V2 (as libpcap does in immediate mode).
//! * V2 frames are fixed-size, and 64 KiB frames would make a ring of small packets enormous.
//!   Instead frames are sized for the MTU (2 KiB at 1500) and `PACKET_COPY_THRESH` is set: a
//!   larger frame is put in the ring truncated, with `TP_STATUS_COPY`, and a full copy is queued
//!   on the socket; rvs reads it with one `recv` (its virtio-net header included) when the ring
//!   reaches that entry, keeping order. The socket buffer is raised (`SO_RCVBUFFORCE`, 8 MiB)
//!   so that copies are not refused; a frame truncated without a copy (`tp_snaplen < tp_len`,
//!   no `COPY`) is counted in `rx_truncated` and dropped, never forwarded short.
//! * Transmit: frames that fit a ring frame go through the ring; larger super-frames go out on
//!   the ring-less socket with one `sendmsg` (after kicking the ring, to keep order), since a
//!   socket with a transmit ring sends only from the ring.
//!
//! `options:vnet_hdr=false` turns the virtio-net header off (for kernels without it, and to
//! test the fallback): receive then learns of partial checksums from `TP_STATUS_CSUMNOTREADY`
//! and of TCP super-frames from `TP_STATUS_GSO_TCP`, finds the offsets by parsing, and guesses
//! the segment size from the MTU; transmit completes checksums and segments in software.
//!
//! # Options
//! | key | default | meaning |
//! |---|---|---|
//! | `n_rxq` | 1 | receive queues (1..=16), spread by a fanout hash |
//! | `rx_ring_frames` | 2048 | frames per receive ring |
//! | `tx_ring_frames` | 512 | frames per transmit ring |
//! | `vnet_hdr` | true | use virtio-net headers for checksum/TSO offload |
//!
//! # Not supported
//! Interfaces other than Ethernet; following an interface rename (the port keeps the name it
//! was opened with); MTU changes after opening still work, but larger frames then take the
//! one-system-call path.

mod rx;
mod ring;
mod tx;

use std::io;
use std::os::fd::OwnedFd;
use std::sync::Mutex;

use rvs_packet::wire::MacAddr;

use crate::error::PortError;
use crate::netdev::Netdev;
use crate::options::Options;
use crate::port::{LinkState, Port, PortKind, PortSpec, RxClaims, RxQueue, TxQueue};
use crate::stats::{PortStats, StatsRegistry};
use crate::sys::{self, bind_packet, setsockopt, socket, PacketMreq};
use ring::{Ring, RingLayout};

/// Configuration of an AF_PACKET port (from its interface options).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AfPacketConfig {
    /// Receive queues (sockets in one fanout group).
    pub n_rxq: usize,
    /// Frames per receive ring.
    pub rx_ring_frames: usize,
    /// Frames per transmit ring.
    pub tx_ring_frames: usize,
    /// Exchange offload state with the kernel in virtio-net headers.
    pub vnet_hdr: bool,
}

impl Default for AfPacketConfig {
    fn default() -> Self {
        AfPacketConfig { n_rxq: 1, rx_ring_frames: 2048, tx_ring_frames: 512, vnet_hdr: true }
    }
}

impl AfPacketConfig {
    /// Reads the options of a port spec, rejecting unknown keys.
    pub fn from_options(spec: &PortSpec) -> Result<Self, PortError> {
        let d = AfPacketConfig::default();
        let mut o = Options::new(&spec.options);
        let c = AfPacketConfig {
            n_rxq: o.int("n_rxq", d.n_rxq, 1..=16)?,
            rx_ring_frames: o.int("rx_ring_frames", d.rx_ring_frames, 64..=65536)?,
            tx_ring_frames: o.int("tx_ring_frames", d.tx_ring_frames, 64..=65536)?,
            vnet_hdr: o.bool("vnet_hdr", d.vnet_hdr)?,
        };
        o.finish()?;
        Ok(c)
    }
}

/// Largest frame the port expects at `mtu`: Ethernet header and two VLAN tags on top.
fn max_frame(mtu: u32) -> usize {
    mtu as usize + 14 + 8
}

/// Bytes of socket receive buffer for full copies of super-frames.
const RCVBUF: libc::c_int = 8 << 20;
/// Bytes of send buffer for the super-frame socket.
const BIG_SNDBUF: libc::c_int = 4 << 20;

/// An AF_PACKET port on an existing interface.
#[derive(Debug)]
pub struct AfPacketPort {
    dev: Netdev,
    ifindex: u32,
    config: AfPacketConfig,
    /// MTU when the port was opened; ring frames are sized for it.
    open_mtu: u32,
    /// Fanout group id of the receive sockets (`n_rxq > 1`), once the first one joined.
    fanout_id: Mutex<Option<u16>>,
    claims: RxClaims,
    stats: StatsRegistry,
}

impl AfPacketPort {
    /// Attaches to the interface named in `spec`.
    pub fn open(spec: &PortSpec) -> Result<Self, PortError> {
        let name = spec.name.as_str();
        let config = AfPacketConfig::from_options(spec)?;
        let dev = Netdev::new(name).map_err(|e| PortError::from_io(name, "looking up the interface", e))?;
        let ifindex = dev.ifindex().map_err(|e| PortError::from_io(name, "looking up the interface", e))?;
        let mtu = dev.mtu().map_err(|e| PortError::from_io(name, "reading the MTU", e))?;
        let (hwtype, _) = dev.hwaddr().map_err(|e| PortError::from_io(name, "reading the hardware address", e))?;
        if hwtype != libc::ARPHRD_ETHER {
            return Err(PortError::Unsupported { port: name.to_string(), what: "AF_PACKET ports on non-Ethernet interfaces" });
        }
        // Fail now, not at the first queue, when rvs lacks the privilege.
        drop(packet_socket(name)?);
        Ok(AfPacketPort {
            dev,
            ifindex,
            config,
            open_mtu: mtu,
            fanout_id: Mutex::new(None),
            claims: RxClaims::new(config.n_rxq),
            stats: StatsRegistry::default(),
        })
    }

    /// The port's configuration.
    pub fn config(&self) -> &AfPacketConfig {
        &self.config
    }

    fn err(&self, op: &'static str) -> impl FnOnce(io::Error) -> PortError + '_ {
        move |e| PortError::from_io(self.dev.name(), op, e)
    }

    /// Queue sockets are created in the calling thread's namespace, and bound by index: from
    /// another namespace they would land on another interface.
    fn check_netns(&self) -> Result<(), PortError> {
        if self.dev.same_netns() {
            Ok(())
        } else {
            Err(PortError::OtherNamespace { port: self.dev.name().to_string() })
        }
    }

    /// Opens a receive socket with its ring, bound and (for `n_rxq > 1`) in the fanout group.
    fn rx_socket(&self) -> Result<(OwnedFd, Ring), PortError> {
        self.check_netns()?;
        let fd = packet_socket(self.dev.name())?;
        let vnet = self.config.vnet_hdr;
        setsockopt(&fd, libc::SOL_PACKET, sys::PACKET_VERSION, &sys::TPACKET_V2).map_err(self.err("selecting TPACKET_V2"))?;
        if vnet {
            setsockopt(&fd, libc::SOL_PACKET, sys::PACKET_VNET_HDR, &1i32).map_err(|_| PortError::Unsupported {
                port: self.dev.name().to_string(),
                what: "PACKET_VNET_HDR (set options:vnet_hdr=false)",
            })?;
        }
        setsockopt(&fd, libc::SOL_PACKET, sys::PACKET_COPY_THRESH, &1i32).map_err(self.err("setting PACKET_COPY_THRESH"))?;
        if setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &RCVBUF).is_err() {
            let _ = setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &RCVBUF);
        }
        // Older kernels lack it; outgoing frames are then filtered by their packet type.
        let _ = setsockopt(&fd, libc::SOL_PACKET, sys::PACKET_IGNORE_OUTGOING, &1i32);
        let layout = RingLayout::new(ring::rx_overhead(vnet), max_frame(self.open_mtu), self.config.rx_ring_frames);
        setsockopt(&fd, libc::SOL_PACKET, sys::PACKET_RX_RING, &layout.req()).map_err(self.err("setting up the receive ring"))?;
        let ring = Ring::map(&fd, layout).map_err(self.err("mapping the receive ring"))?;
        bind_packet(&fd, self.ifindex, sys::ETH_P_ALL).map_err(self.err("binding the receive socket"))?;
        let mreq = PacketMreq { ifindex: self.ifindex as i32, kind: sys::PACKET_MR_PROMISC, alen: 0, address: [0; 8] };
        setsockopt(&fd, libc::SOL_PACKET, sys::PACKET_ADD_MEMBERSHIP, &mreq).map_err(self.err("entering promiscuous mode"))?;
        if self.config.n_rxq > 1 {
            self.join_fanout(&fd)?;
        }
        Ok((fd, ring))
    }

    fn join_fanout(&self, fd: &OwnedFd) -> Result<(), PortError> {
        let mut id = self.fanout_id.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(g) = *id {
            let val = u32::from(g) | (sys::PACKET_FANOUT_HASH << 16);
            if setsockopt(fd, libc::SOL_PACKET, sys::PACKET_FANOUT, &val).is_ok() {
                return Ok(());
            }
            // The group vanished and its id was taken by another one: make a new group.
        }
        let val = (sys::PACKET_FANOUT_HASH | sys::PACKET_FANOUT_FLAG_UNIQUEID) << 16;
        setsockopt(fd, libc::SOL_PACKET, sys::PACKET_FANOUT, &val).map_err(self.err("joining a fanout group"))?;
        let got: u32 = sys::getsockopt(fd, libc::SOL_PACKET, sys::PACKET_FANOUT).map_err(self.err("reading the fanout group"))?;
        *id = Some(got as u16);
        Ok(())
    }

    /// Opens a transmit socket with its ring, and the ring-less socket for super-frames.
    fn tx_sockets(&self) -> Result<(OwnedFd, Ring, OwnedFd), PortError> {
        self.check_netns()?;
        let vnet = self.config.vnet_hdr;
        let fd = packet_socket(self.dev.name())?;
        setsockopt(&fd, libc::SOL_PACKET, sys::PACKET_VERSION, &sys::TPACKET_V2).map_err(self.err("selecting TPACKET_V2"))?;
        self.tx_common(&fd, vnet)?;
        setsockopt(&fd, libc::SOL_PACKET, sys::PACKET_LOSS, &1i32).map_err(self.err("setting PACKET_LOSS"))?;
        let layout = RingLayout::new(ring::tx_overhead(vnet), max_frame(self.open_mtu), self.config.tx_ring_frames);
        let sndbuf = (layout.bytes() * 2).min(i32::MAX as usize) as libc::c_int;
        if setsockopt(&fd, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, &sndbuf).is_err() {
            let _ = setsockopt(&fd, libc::SOL_SOCKET, libc::SO_SNDBUF, &sndbuf);
        }
        setsockopt(&fd, libc::SOL_PACKET, sys::PACKET_TX_RING, &layout.req()).map_err(self.err("setting up the transmit ring"))?;
        let ring = Ring::map(&fd, layout).map_err(self.err("mapping the transmit ring"))?;
        bind_packet(&fd, self.ifindex, 0).map_err(self.err("binding the transmit socket"))?;

        let big = packet_socket(self.dev.name())?;
        self.tx_common(&big, vnet)?;
        if setsockopt(&big, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, &BIG_SNDBUF).is_err() {
            let _ = setsockopt(&big, libc::SOL_SOCKET, libc::SO_SNDBUF, &BIG_SNDBUF);
        }
        bind_packet(&big, self.ifindex, 0).map_err(self.err("binding the super-frame socket"))?;
        Ok((fd, ring, big))
    }

    fn tx_common(&self, fd: &OwnedFd, vnet: bool) -> Result<(), PortError> {
        if vnet {
            setsockopt(fd, libc::SOL_PACKET, sys::PACKET_VNET_HDR, &1i32).map_err(|_| PortError::Unsupported {
                port: self.dev.name().to_string(),
                what: "PACKET_VNET_HDR (set options:vnet_hdr=false)",
            })?;
        }
        // Without bypass the frames go through the interface's qdisc: slower, still correct.
        let _ = setsockopt(fd, libc::SOL_PACKET, sys::PACKET_QDISC_BYPASS, &1i32);
        Ok(())
    }
}

/// A raw packet socket that receives nothing yet (protocol 0).
fn packet_socket(name: &str) -> Result<OwnedFd, PortError> {
    socket(libc::AF_PACKET, libc::SOCK_RAW, 0).map_err(|e| PortError::from_io(name, "opening an AF_PACKET socket", e))
}

impl Port for AfPacketPort {
    fn name(&self) -> &str {
        self.dev.name()
    }

    fn kind(&self) -> PortKind {
        PortKind::System
    }

    fn mac(&self) -> MacAddr {
        self.dev.hwaddr().map_or(MacAddr::ZERO, |(_, m)| m)
    }

    fn mtu(&self) -> u32 {
        self.dev.mtu().unwrap_or(self.open_mtu)
    }

    fn ifindex(&self) -> Option<u32> {
        Some(self.ifindex)
    }

    fn link_state(&self) -> LinkState {
        self.dev.link_state()
    }

    fn link_features(&self) -> Option<crate::ethtool::LinkFeatures> {
        self.dev.link_features()
    }

    fn error_counters(&self) -> Option<crate::ethtool::KernelErrorCounters> {
        crate::ethtool::kernel_error_counters(self.dev.name()).ok()
    }

    fn set_admin_up(&self, up: bool) -> io::Result<()> {
        self.dev.set_admin_up(up)
    }

    fn n_rxq(&self) -> usize {
        self.config.n_rxq
    }

    fn open_rxq(&self, queue: usize) -> Result<Box<dyn RxQueue>, PortError> {
        let claim = self.claims.claim(self.dev.name(), queue)?;
        let (fd, ring) = self.rx_socket()?;
        let mtu = self.mtu();
        Ok(Box::new(rx::AfPacketRxq::new(fd, ring, self.config.vnet_hdr, mtu, self.stats.register(), claim)))
    }

    fn open_txq(&self) -> Result<Box<dyn TxQueue>, PortError> {
        let (fd, ring, big) = self.tx_sockets()?;
        let max = max_frame(self.mtu());
        Ok(Box::new(tx::AfPacketTxq::new(fd, ring, big, self.config.vnet_hdr, max, self.stats.register())))
    }

    fn stats(&self) -> PortStats {
        self.stats.sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_read_and_checked() {
        let spec = PortSpec::new("x", PortKind::System);
        assert_eq!(AfPacketConfig::from_options(&spec).unwrap(), AfPacketConfig::default());
        let spec = spec.with_option("n_rxq", "2").with_option("vnet_hdr", "false");
        let c = AfPacketConfig::from_options(&spec).unwrap();
        assert_eq!((c.n_rxq, c.vnet_hdr), (2, false));
        let bad = PortSpec::new("x", PortKind::System).with_option("rx_ring_frames", "8");
        assert!(matches!(AfPacketConfig::from_options(&bad), Err(PortError::BadOption { .. })));
        let unknown = PortSpec::new("x", PortKind::System).with_option("mac", "02:00:00:00:00:01");
        assert!(matches!(AfPacketConfig::from_options(&unknown), Err(PortError::BadOption { .. })));
    }
}
