//! AF_XDP ports (`type=afxdp`, as OVS's netdev-afxdp): an existing kernel interface whose
//! frames an XDP program redirects into AF_XDP sockets, read and written through rings shared
//! with the kernel. Behind the cargo feature `af-xdp` (which compiles the XDP program with
//! clang) and checked at run time: [`available`] says whether the kernel has AF_XDP sockets.
//!
//! # Pieces
//! * **UMEM** ([`umem`]): one area of 4 KiB frames per port, registered once by the port's
//!   first socket; the other sockets bind with `XDP_SHARED_UMEM`. One UMEM per port and not one
//!   per switch, because rvs copies every frame into a [`PacketBuf`](rvs_packet::PacketBuf) at
//!   receive and out of one at transmit (see "Costs"): a UMEM shared between ports would only
//!   save copies if frames moved between AF_XDP ports by descriptor, which the packet path does
//!   not do. One per port rather than per queue, so a port pins and maps its memory once.
//! * **Sockets and rings** ([`socket`], [`ring`]): one socket per receive queue
//!   (`options:n_rxq`), bound to that queue of the interface, each with an RX ring and fill ring
//!   (receive) and a TX ring and completion ring (transmit). Rings are single-producer,
//!   single-consumer index rings in memory mapped from the kernel; see [`ring`] for the protocol.
//! * **The XDP program** ([`xdp`], `pmd/bpf/xsk_redirect.bpf.c`): six instructions that redirect
//!   each frame to the socket in the XSKMAP slot of its receive queue, and pass frames of queues
//!   without a socket to the kernel stack. rvs loads it with four `bpf(2)` calls (no libbpf, no
//!   aya) and attaches it through a BPF link, so it is detached when the port is dropped *and*
//!   when the process ends, however it ends (`process::exit` skips `Drop`; the kernel still
//!   closes the link).
//!
//! # Ownership of frames
//! Each queue owns `rx_ring_frames` receive frames and `tx_ring_frames` transmit frames. A
//! receive frame is always in exactly one place: the fill ring, the kernel, the RX ring, or (for
//! the length of one copy) the receive queue; it goes back on the fill ring in the same burst
//! it came off the RX ring, so the fill ring (sized to hold them all) never runs dry for lack of
//! frames. A transmit frame is on the queue's free list, the TX ring, in the kernel, or on the
//! completion ring, from where `tx_burst` takes it back. The receive half of a queue
//! ([`rx::RxSide`]) belongs to its [`RxQueue`] while that is open; the transmit half
//! ([`tx::TxSide`]) is shared by the transmit handles assigned to the queue under a lock taken
//! once per burst (see [`tx`]).
//!
//! # Modes (`options:xdp-mode`, as OVS)
//! | mode | program | socket |
//! |---|---|---|
//! | `best-effort` (default) | native, else generic | zero-copy, else copy |
//! | `native-with-zerocopy` | native | zero-copy, or the port fails to open |
//! | `native` | native | copy |
//! | `generic` | generic (skb) | copy |
//!
//! `best-effort` tries native + zero-copy, native + copy, generic + copy, in that order.
//! [`AfXdpPort::mode`] says what was chosen. `options:use-need-wakeup` (default true) binds with
//! `XDP_USE_NEED_WAKEUP`: the kernel then says when it needs a system call, and rvs makes none
//! otherwise.
//!
//! # Costs
//! Per received frame: the kernel's copy into the UMEM (copy mode), rvs's copy into a pooled
//! buffer, a partial-checksum test on the headers ([`csum`]). Per transmitted frame: one copy
//! into a UMEM frame and the kernel's copy into a socket buffer (copy mode). Per burst: a few
//! loads and stores of ring indices, one uncontended lock for transmit. System calls: in copy
//! mode one `sendto` per flush with frames queued (per 32 frames); receive needs none, and with
//! a zero-copy driver and need_wakeup neither does transmit while the driver keeps polling.
//! Memory: `n_rxq` x (`rx_ring_frames` + `tx_ring_frames`) x 4 KiB, 16 MiB per queue by default.
//!
//! # Checksums and segmentation, measured on veth (Linux 6.18)
//! * Native mode on a veth turns TSO/USO off on its peer (the kernel does so while an XDP
//!   program is attached), so frames arrive MTU-sized; generic mode leaves them on, and the
//!   peer's super-frames (up to 64 KiB) do not fit a frame: the kernel drops them (`rx_dropped`).
//!   So on veth, `best-effort` (native) is the mode for TCP.
//! * XDP sees frames before GRO, and sees the checksum state of none of them: a peer with
//!   checksum offload (the veth default) sends TCP and UDP with partial checksums, which arrive
//!   with no flag. [`csum`] recognises them, at no cost to the payload, and marks them
//!   [`CsumState::Partial`](rvs_packet::CsumState), so that every output port completes them (in
//!   a virtio-net header, in AF_XDP transmit metadata, or in software). Peers keep their
//!   offloads on, unlike with OVS's AF_XDP ports.
//! * Zero-copy binds on veth fail with `EOPNOTSUPP` (no XSK buffer pool in the driver), so
//!   veth runs in copy mode; need_wakeup is accepted and the TX ring always asks for wake-ups
//!   in copy mode.
//!
//! # Options
//! | key | default | meaning |
//! |---|---|---|
//! | `n_rxq` | 1 | sockets, one per interface receive queue from 0 (1..=64; at most the interface's queues) |
//! | `xdp-mode` | `best-effort` | see "Modes" |
//! | `use-need-wakeup` | true | `XDP_USE_NEED_WAKEUP` |
//! | `rx_ring_frames` | 2048 | receive frames per queue = RX and fill ring size (power of two, 64..=16384) |
//! | `tx_ring_frames` | 2048 | transmit frames per queue = TX and completion ring size (same range) |
//! | `tx_csum_offload` | true | hand partial checksums to the kernel in transmit metadata (copy mode, Linux 6.11+) |
//!
//! # Not supported
//! Frames larger than a UMEM frame (MTU above 3818 bytes: no multi-buffer `XDP_USE_SG` yet);
//! receiving GSO super-frames in generic mode; interfaces other than Ethernet; a second XDP
//! program on the interface (the port fails with `Busy`); changing queue counts after opening.

mod abi;
mod csum;
mod elf;
mod ring;
mod rx;
mod socket;
mod tx;
mod umem;
mod xdp;

use std::fmt;
use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rvs_packet::wire::MacAddr;

use crate::error::PortError;
use crate::netdev::{ifreq, ioctl_ifreq, Netdev};
use crate::options::Options;
use crate::port::{LinkState, Port, PortKind, PortSpec, RxQueue, TxQueue};
use crate::stats::{PortStats, StatsRegistry};
use abi::{bind_flags, XDP_PACKET_HEADROOM};
use rx::RxSide;
use socket::{BindSpec, XskSocket};
use tx::TxSide;
use umem::{Umem, FRAME_SIZE};
pub use xdp::AttachMode;
use xdp::{XdpAttachment, XdpProgram};

/// `options:xdp-mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum XdpMode {
    /// Native with zero-copy, else native with copy, else generic.
    #[default]
    BestEffort,
    /// Native with zero-copy only.
    NativeWithZerocopy,
    /// Native, copy mode.
    Native,
    /// Generic (skb) mode, copy mode.
    Generic,
}

impl XdpMode {
    /// The option value.
    pub const fn as_str(self) -> &'static str {
        match self {
            XdpMode::BestEffort => "best-effort",
            XdpMode::NativeWithZerocopy => "native-with-zerocopy",
            XdpMode::Native => "native",
            XdpMode::Generic => "generic",
        }
    }

    /// The (attach mode, zero-copy) combinations to try, in order.
    fn attempts(self) -> &'static [(AttachMode, bool)] {
        match self {
            XdpMode::BestEffort => &[(AttachMode::Native, true), (AttachMode::Native, false), (AttachMode::Generic, false)],
            XdpMode::NativeWithZerocopy => &[(AttachMode::Native, true)],
            XdpMode::Native => &[(AttachMode::Native, false)],
            XdpMode::Generic => &[(AttachMode::Generic, false)],
        }
    }
}

/// Configuration of an AF_XDP port (from its interface options).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AfXdpConfig {
    /// Receive queues (one socket each, interface queues `0..n_rxq`).
    pub n_rxq: usize,
    /// How to attach the program and bind the sockets.
    pub xdp_mode: XdpMode,
    /// Bind with `XDP_USE_NEED_WAKEUP`.
    pub use_need_wakeup: bool,
    /// Receive frames per queue (RX and fill ring size).
    pub rx_ring_frames: u32,
    /// Transmit frames per queue (TX and completion ring size).
    pub tx_ring_frames: u32,
    /// Hand partial checksums to the kernel in transmit metadata when it supports that.
    pub tx_csum_offload: bool,
}

impl Default for AfXdpConfig {
    fn default() -> Self {
        AfXdpConfig {
            n_rxq: 1,
            xdp_mode: XdpMode::BestEffort,
            use_need_wakeup: true,
            rx_ring_frames: 2048,
            tx_ring_frames: 2048,
            tx_csum_offload: true,
        }
    }
}

impl AfXdpConfig {
    /// Reads the options of a port spec, rejecting unknown keys.
    pub fn from_options(spec: &PortSpec) -> Result<Self, PortError> {
        let d = AfXdpConfig::default();
        let mut o = Options::new(&spec.options);
        let xdp_mode = match o.str("xdp-mode") {
            None => d.xdp_mode,
            Some(v) => [XdpMode::BestEffort, XdpMode::NativeWithZerocopy, XdpMode::Native, XdpMode::Generic]
                .into_iter()
                .find(|m| m.as_str() == v)
                .ok_or_else(|| {
                    PortError::bad_option("xdp-mode", v, "expected best-effort, native-with-zerocopy, native or generic")
                })?,
        };
        let ring = |o: &mut Options<'_>, key: &'static str, default: u32| -> Result<u32, PortError> {
            let n = o.int(key, default, 64..=16384)?;
            if !n.is_power_of_two() {
                return Err(PortError::bad_option(key, &n.to_string(), "must be a power of two"));
            }
            Ok(n)
        };
        let c = AfXdpConfig {
            n_rxq: o.int("n_rxq", d.n_rxq, 1..=64)?,
            xdp_mode,
            use_need_wakeup: o.bool("use-need-wakeup", d.use_need_wakeup)?,
            rx_ring_frames: ring(&mut o, "rx_ring_frames", d.rx_ring_frames)?,
            tx_ring_frames: ring(&mut o, "tx_ring_frames", d.tx_ring_frames)?,
            tx_csum_offload: o.bool("tx_csum_offload", d.tx_csum_offload)?,
        };
        o.finish()?;
        Ok(c)
    }
}

/// What an open port ended up with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModeInUse {
    /// Where the XDP program runs.
    pub attach: AttachMode,
    /// The sockets are zero-copy (else copy mode).
    pub zerocopy: bool,
    /// Bound with `XDP_USE_NEED_WAKEUP`.
    pub need_wakeup: bool,
    /// Partial checksums go to the kernel in transmit metadata (else completed in software).
    pub tx_csum_offload: bool,
}

impl fmt::Display for ModeInUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let attach = match self.attach {
            AttachMode::Native => "native",
            AttachMode::Generic => "generic",
        };
        write!(f, "{attach}, {}", if self.zerocopy { "zero-copy" } else { "copy" })?;
        if self.need_wakeup {
            f.write_str(", need_wakeup")?;
        }
        if self.tx_csum_offload {
            f.write_str(", tx checksum offload")?;
        }
        Ok(())
    }
}

/// True if the running kernel has AF_XDP sockets (the run-time half of the feature check).
pub fn available() -> bool {
    crate::sys::socket(abi::AF_XDP, libc::SOCK_RAW, 0).is_ok()
}

/// One queue's socket: its descriptor, and its two halves.
#[derive(Debug)]
pub(super) struct QueueShared {
    fd: OwnedFd,
    /// `None` while an [`AfXdpRxq`](rx::AfXdpRxq) holds it.
    rx: Mutex<Option<RxSide>>,
    tx: Mutex<TxSide>,
    /// Frames wait in the TX ring for a wake-up that made no progress (see [`tx`]).
    tx_pending: AtomicBool,
}

/// What the port and its queue handles share. Field order matters: the sockets (and their ring
/// mappings) go before the UMEM they are registered on.
#[derive(Debug)]
pub(super) struct Shared {
    queues: Vec<QueueShared>,
    umem: Umem,
    need_wakeup: bool,
    tx_metadata: bool,
}

/// An AF_XDP port on an existing interface.
#[derive(Debug)]
pub struct AfXdpPort {
    /// Dropped first: the program leaves the interface before the sockets close. Only held.
    _xdp: XdpAttachment,
    shared: Arc<Shared>,
    dev: Netdev,
    ifindex: u32,
    config: AfXdpConfig,
    open_mtu: u32,
    mode: ModeInUse,
    next_txq: AtomicUsize,
    stats: StatsRegistry,
}

/// Largest frame the port expects at `mtu`: Ethernet header and two VLAN tags on top.
fn max_frame(mtu: u32) -> usize {
    mtu as usize + 14 + 8
}

/// Receive queues of an interface (`ETHTOOL_GCHANNELS`), if the driver says.
fn interface_queues(name: &str) -> Option<u32> {
    #[repr(C)]
    #[derive(Default)]
    struct Channels {
        cmd: u32,
        max: [u32; 4],
        rx_count: u32,
        tx_count: u32,
        other_count: u32,
        combined_count: u32,
    }
    const ETHTOOL_GCHANNELS: u32 = 0x3c;
    const SIOCETHTOOL: libc::c_ulong = 0x8946;
    let ctl = crate::sys::socket(libc::AF_INET, libc::SOCK_DGRAM, 0).ok()?;
    let mut ch = Channels { cmd: ETHTOOL_GCHANNELS, ..Default::default() };
    let mut r = ifreq(name);
    r.ifr_ifru.ifru_data = (&mut ch as *mut Channels).cast();
    ioctl_ifreq(&ctl, SIOCETHTOOL, &mut r).ok()?;
    Some((ch.rx_count + ch.combined_count).max(1))
}

impl AfXdpPort {
    /// Attaches to the interface named in `spec`: loads and attaches the XDP program, creates
    /// the UMEM and one socket per queue, trying the modes `options:xdp-mode` allows in order.
    pub fn open(spec: &PortSpec) -> Result<Self, PortError> {
        let name = spec.name.as_str();
        let config = AfXdpConfig::from_options(spec)?;
        let io_err = |op: &'static str| move |e: io::Error| PortError::from_io(name, op, e);
        let dev = Netdev::new(name).map_err(io_err("looking up the interface"))?;
        let ifindex = dev.ifindex().map_err(io_err("looking up the interface"))?;
        let mtu = dev.mtu().map_err(io_err("reading the MTU"))?;
        let (hwtype, _) = dev.hwaddr().map_err(io_err("reading the hardware address"))?;
        if hwtype != libc::ARPHRD_ETHER {
            return Err(PortError::Unsupported { port: name.to_string(), what: "AF_XDP ports on non-Ethernet interfaces" });
        }
        if max_frame(mtu) > FRAME_SIZE - XDP_PACKET_HEADROOM {
            let what = "AF_XDP frames above 3840 bytes (MTU above 3818)";
            return Err(PortError::Unsupported { port: name.to_string(), what });
        }
        if !available() {
            return Err(PortError::Unsupported { port: name.to_string(), what: "AF_XDP sockets" });
        }
        let dev_queues = interface_queues(name);
        if let Some(nq) = dev_queues {
            if config.n_rxq > nq as usize {
                let why = format!("the interface has {nq} receive queue(s)");
                return Err(PortError::bad_option("n_rxq", &config.n_rxq.to_string(), why));
            }
        }
        let slots = dev_queues.unwrap_or(0).max(config.n_rxq as u32);
        let mut last: Option<PortError> = None;
        let mut native_refused = false;
        for &(attach_mode, zerocopy) in config.xdp_mode.attempts() {
            if attach_mode == AttachMode::Native && native_refused {
                continue;
            }
            let prog = XdpProgram::load(slots).map_err(|(op, e)| PortError::from_io(name, op, e))?;
            let xdp = match prog.attach(ifindex, attach_mode) {
                Ok(a) => a,
                Err((_, e)) if matches!(e.raw_os_error(), Some(libc::EBUSY | libc::EEXIST)) => {
                    return Err(PortError::Busy { port: name.to_string(), why: "the interface already has an XDP program" });
                }
                Err((_, e)) => {
                    native_refused |= attach_mode == AttachMode::Native;
                    last = Some(PortError::from_io(name, "attaching the XDP program", e));
                    continue;
                }
            };
            match open_sockets(ifindex, &config, zerocopy) {
                Ok((socks, umem, tx_metadata)) => {
                    let zerocopy = socks.first().is_some_and(|s| s.zerocopy);
                    // In copy mode the kernel honours the checksum request for every device
                    // (in software if the device cannot); a zero-copy driver may ignore it.
                    let tx_metadata = tx_metadata && !zerocopy;
                    let mode = ModeInUse {
                        attach: xdp.mode(),
                        zerocopy,
                        need_wakeup: config.use_need_wakeup,
                        tx_csum_offload: tx_metadata,
                    };
                    let shared = assemble(&xdp, socks, umem, &config, tx_metadata);
                    let shared = Arc::new(shared.map_err(|(op, e)| PortError::from_io(name, op, e))?);
                    return Ok(AfXdpPort {
                        _xdp: xdp,
                        shared,
                        dev,
                        ifindex,
                        config,
                        open_mtu: mtu,
                        mode,
                        next_txq: AtomicUsize::new(0),
                        stats: StatsRegistry::default(),
                    });
                }
                // Zero-copy refused by the driver: try the next mode (the attachment drops).
                Err((op, e)) if zerocopy && matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::EINVAL | libc::EPERM)) => {
                    last = Some(PortError::from_io(name, op, e));
                }
                Err((op, e)) if e.raw_os_error() == Some(libc::EAFNOSUPPORT) => {
                    let _ = op;
                    return Err(PortError::Unsupported { port: name.to_string(), what: "AF_XDP sockets" });
                }
                Err((op, e)) => return Err(PortError::from_io(name, op, e)),
            }
        }
        Err(last.unwrap_or(PortError::Unsupported { port: name.to_string(), what: "any XDP mode this port allows" }))
    }

    /// The port's configuration.
    pub fn config(&self) -> &AfXdpConfig {
        &self.config
    }

    /// The mode the port runs in.
    pub fn mode(&self) -> ModeInUse {
        self.mode
    }
}

/// Creates the UMEM and one bound socket per queue.
fn open_sockets(ifindex: u32, c: &AfXdpConfig, zerocopy: bool) -> Result<(Vec<XskSocket>, Umem, bool), socket::StepError> {
    let umem = Umem::new(c.n_rxq, c.rx_ring_frames, c.tx_ring_frames).map_err(|e| ("mapping the UMEM", e))?;
    let mut flags = if zerocopy { bind_flags::ZEROCOPY } else { bind_flags::COPY };
    if c.use_need_wakeup {
        flags |= bind_flags::USE_NEED_WAKEUP;
    }
    let spec = |queue: u32| BindSpec { ifindex, queue, rx_size: c.rx_ring_frames, tx_size: c.tx_ring_frames, flags };
    let (first, info) = socket::open_first(&umem, &spec(0), c.tx_csum_offload)?;
    let mut socks = vec![first];
    for q in 1..c.n_rxq as u32 {
        let s = socket::open_shared(&socks[0].fd, &spec(q))?;
        socks.push(s);
    }
    Ok((socks, umem, info.tx_metadata))
}

/// Hands each socket's frames to its rings and puts the sockets in the program's map.
fn assemble(
    xdp: &XdpAttachment,
    socks: Vec<XskSocket>,
    umem: Umem,
    c: &AfXdpConfig,
    tx_metadata: bool,
) -> Result<Shared, socket::StepError> {
    let mut queues = Vec::with_capacity(socks.len());
    for (q, s) in socks.into_iter().enumerate() {
        let rx = RxSide::new(s.rx, s.fill, umem.rx_frames(q));
        let tx = TxSide::new(s.tx, s.comp, umem.tx_frames(q));
        debug_assert_eq!(c.rx_ring_frames as usize, umem.rx_frames(q).len());
        queues.push(QueueShared { fd: s.fd, rx: Mutex::new(Some(rx)), tx: Mutex::new(tx), tx_pending: AtomicBool::new(false) });
    }
    for (q, qs) in queues.iter().enumerate() {
        xdp.set_socket(q as u32, &qs.fd).map_err(|e| ("adding a socket to the XSKMAP", e))?;
    }
    Ok(Shared { queues, umem, need_wakeup: c.use_need_wakeup, tx_metadata })
}

impl Port for AfXdpPort {
    fn name(&self) -> &str {
        self.dev.name()
    }

    fn kind(&self) -> PortKind {
        PortKind::Afxdp
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

    fn set_admin_up(&self, up: bool) -> io::Result<()> {
        self.dev.set_admin_up(up)
    }

    fn n_rxq(&self) -> usize {
        self.config.n_rxq
    }

    fn open_rxq(&self, queue: usize) -> Result<Box<dyn RxQueue>, PortError> {
        let n_rxq = self.config.n_rxq;
        let Some(q) = self.shared.queues.get(queue) else {
            return Err(PortError::NoSuchQueue { port: self.dev.name().to_string(), queue, n_rxq });
        };
        let side = q.rx.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(side) = side else {
            return Err(PortError::Busy { port: self.dev.name().to_string(), why: "this receive queue is already open" });
        };
        Ok(Box::new(rx::AfXdpRxq::new(self.shared.clone(), queue, side, self.stats.register())))
    }

    fn open_txq(&self) -> Result<Box<dyn TxQueue>, PortError> {
        let queue = self.next_txq.fetch_add(1, Ordering::Relaxed) % self.shared.queues.len();
        let max = max_frame(self.mtu());
        Ok(Box::new(tx::AfXdpTxq::new(self.shared.clone(), queue, max, self.stats.register())))
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
        let spec = PortSpec::new("x", PortKind::Afxdp);
        assert_eq!(AfXdpConfig::from_options(&spec).unwrap(), AfXdpConfig::default());
        let spec = spec
            .with_option("n_rxq", "2")
            .with_option("xdp-mode", "generic")
            .with_option("use-need-wakeup", "false")
            .with_option("rx_ring_frames", "512")
            .with_option("tx_csum_offload", "false");
        let c = AfXdpConfig::from_options(&spec).unwrap();
        let got = (c.n_rxq, c.xdp_mode, c.use_need_wakeup, c.rx_ring_frames, c.tx_csum_offload);
        assert_eq!(got, (2, XdpMode::Generic, false, 512, false));
        let bad_values = [("xdp-mode", "fast"), ("rx_ring_frames", "1000"), ("tx_ring_frames", "32"), ("n_rxq", "0")];
        for (k, v) in bad_values.into_iter().chain([("vnet_hdr", "true")]) {
            let bad = PortSpec::new("x", PortKind::Afxdp).with_option(k, v);
            assert!(matches!(AfXdpConfig::from_options(&bad), Err(PortError::BadOption { .. })), "{k}={v} accepted");
        }
        for m in ["best-effort", "native-with-zerocopy", "native", "generic"] {
            let s = PortSpec::new("x", PortKind::Afxdp).with_option("xdp-mode", m);
            assert_eq!(AfXdpConfig::from_options(&s).unwrap().xdp_mode.as_str(), m);
        }
    }

    #[test]
    fn best_effort_tries_zero_copy_first_and_generic_last() {
        let a = XdpMode::BestEffort.attempts();
        assert_eq!(a.first(), Some(&(AttachMode::Native, true)));
        assert_eq!(a.last(), Some(&(AttachMode::Generic, false)));
        assert!(XdpMode::Native.attempts().iter().all(|&(m, zc)| m == AttachMode::Native && !zc));
        assert_eq!(XdpMode::NativeWithZerocopy.attempts(), &[(AttachMode::Native, true)]);
        let m = ModeInUse { attach: AttachMode::Native, zerocopy: false, need_wakeup: true, tx_csum_offload: true };
        assert_eq!(m.to_string(), "native, copy, need_wakeup, tx checksum offload");
    }

    #[test]
    fn frames_fit_a_standard_mtu() {
        assert!(max_frame(1500) <= FRAME_SIZE - XDP_PACKET_HEADROOM);
        assert!(max_frame(3818) <= FRAME_SIZE - XDP_PACKET_HEADROOM);
        assert!(max_frame(3819) > FRAME_SIZE - XDP_PACKET_HEADROOM);
    }
}
