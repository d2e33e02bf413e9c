//! TAP ports ("internal" ports): the host's own interface on a bridge. As in OVS, a bridge's
//! LOCAL port appears on the host as a TAP device named after the bridge.
//!
//! # Device
//! `open` creates (or attaches to a persistent) TAP device through `/dev/net/tun` with
//! `IFF_TAP | IFF_NO_PI | IFF_VNET_HDR`, non-blocking. With `TUNSETOFFLOAD` (`TUN_F_CSUM`,
//! TSO4/6, ECN, USO4/6 where the kernel has them) the host stack may hand rvs frames with
//! partial checksums and TSO super-frames, which are reported in `meta.csum`/`meta.gso`; frames
//! written back carry their offload state in the virtio-net header, so the host completes it.
//! The interface gets a random locally administered MAC unless `options:mac` is given, and is
//! left administratively down, as OVS does: the user or the daemon brings it up with
//! [`Port::set_admin_up`]. The device disappears when the port and all its queues are dropped
//! (rvs never makes it persistent).
//!
//! # Costs
//! A TAP has no ring: every received packet costs one `readv` and every transmitted one a
//! `writev` (virtio-net header + frame), and `flush` has nothing to do. Received frames land
//! straight in a pooled standard buffer; a super-frame's tail spills into a per-queue 64 KiB
//! scratch buffer and is then copied into a large buffer.
//!
//! # Options
//! | key | default | meaning |
//! |---|---|---|
//! | `mac` | random | Ethernet address of the host interface |
//! | `offload` | true | let the host send partial checksums and TSO frames |
//!
//! # Not supported
//! Multi-queue TAP (`IFF_MULTI_QUEUE`): one receive queue; any number of transmit handles
//! share the descriptor.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;

use rvs_packet::offload::{complete_csum, segment};
use rvs_packet::wire::MacAddr;
use rvs_packet::{CsumState, GsoKind, PacketBatch, PacketBuf, LARGE_DATA_ROOM};

use crate::error::PortError;
use crate::netdev::{self, Netdev};
use crate::options::Options;
use crate::port::{LinkState, Port, PortKind, PortSpec, RxClaim, RxClaims, RxQueue, TxQueue};
use crate::stats::{PortStats, QueueCounters, StatsRegistry};
use crate::sys::{cvt, random_bytes, readv3, writev2};
use crate::vnet::{VnetError, VnetHdr, VNET_HDR_LEN};

const TUN_F_CSUM: libc::c_ulong = 0x01;
const TUN_F_TSO4: libc::c_ulong = 0x02;
const TUN_F_TSO6: libc::c_ulong = 0x04;
const TUN_F_TSO_ECN: libc::c_ulong = 0x08;
const TUN_F_USO4: libc::c_ulong = 0x20;
const TUN_F_USO6: libc::c_ulong = 0x40;

/// A TAP device created for an internal port.
#[derive(Debug)]
pub struct TapPort {
    dev: Netdev,
    fd: Arc<OwnedFd>,
    ifindex: u32,
    claims: RxClaims,
    stats: StatsRegistry,
}

impl TapPort {
    /// Creates the TAP device named in `spec`.
    pub fn open(spec: &PortSpec) -> Result<Self, PortError> {
        let name = spec.name.as_str();
        let mut o = Options::new(&spec.options);
        let mac = match o.str("mac") {
            None => random_mac().map_err(|e| PortError::from_io(name, "drawing a random MAC", e))?,
            Some(v) => match v.parse::<MacAddr>() {
                Ok(m) if !m.is_multicast() && m != MacAddr::ZERO => m,
                _ => return Err(PortError::bad_option("mac", v, "expected a unicast MAC such as 02:00:00:00:00:01")),
            },
        };
        let offload = o.bool("offload", true)?;
        o.finish()?;
        if !netdev::valid_ifname(name) {
            return Err(PortError::bad_option("name", name, "not a valid interface name (1 to 15 characters, no '/', ':' or spaces)"));
        }
        let fd = open_tun(name)?;
        let mut r = netdev::ifreq(name);
        r.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI | libc::IFF_VNET_HDR) as libc::c_short;
        if let Err(e) = netdev::ioctl_ifreq(&fd, libc::TUNSETIFF as libc::c_ulong, &mut r) {
            return Err(match e.raw_os_error() {
                Some(libc::EBUSY) => PortError::Busy { port: name.to_string(), why: "a TAP device of this name exists and is attached to another process" },
                Some(libc::EINVAL) => PortError::Busy { port: name.to_string(), why: "a network device of this name exists and is not a TAP device" },
                _ => PortError::from_io(name, "creating the TAP device", e),
            });
        }
        // SAFETY: TUNSETIFF wrote back a NUL-terminated interface name.
        let actual = unsafe { CStr::from_ptr(r.ifr_name.as_ptr()) }.to_string_lossy().into_owned();
        debug_assert_eq!(actual, name);
        if offload {
            let all = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
            if set_offload(&fd, all | TUN_F_USO4 | TUN_F_USO6).is_err() {
                set_offload(&fd, all).map_err(|e| PortError::from_io(name, "enabling TAP offloads", e))?;
            }
        } else {
            set_offload(&fd, 0).map_err(|e| PortError::from_io(name, "disabling TAP offloads", e))?;
        }
        let dev = Netdev::new(&actual).map_err(|e| PortError::from_io(name, "opening a control socket", e))?;
        dev.set_mac(mac).map_err(|e| PortError::from_io(name, "setting the MAC address", e))?;
        let ifindex = dev.ifindex().map_err(|e| PortError::from_io(name, "looking up the TAP device", e))?;
        Ok(TapPort { dev, fd: Arc::new(fd), ifindex, claims: RxClaims::new(1), stats: StatsRegistry::default() })
    }
}

fn open_tun(name: &str) -> Result<OwnedFd, PortError> {
    // SAFETY: a constant NUL-terminated path.
    let fd = unsafe { libc::open(c"/dev/net/tun".as_ptr(), libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC) };
    let fd = cvt(fd).map_err(|e| match e.raw_os_error() {
        Some(libc::ENOENT) => PortError::Unsupported { port: name.to_string(), what: "TAP devices (/dev/net/tun is missing)" },
        _ => PortError::from_io(name, "opening /dev/net/tun", e),
    })?;
    // SAFETY: `fd` was just returned by open(2) and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn set_offload(fd: &OwnedFd, flags: libc::c_ulong) -> io::Result<()> {
    // SAFETY: TUNSETOFFLOAD takes its argument by value.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETOFFLOAD as _, flags) }).map(drop)
}

/// A random unicast, locally administered MAC.
fn random_mac() -> io::Result<MacAddr> {
    let mut m = [0u8; 6];
    random_bytes(&mut m)?;
    m[0] = (m[0] & 0xfe) | 0x02;
    Ok(MacAddr(m))
}

impl Port for TapPort {
    fn name(&self) -> &str {
        self.dev.name()
    }

    fn kind(&self) -> PortKind {
        PortKind::Internal
    }

    fn mac(&self) -> MacAddr {
        self.dev.hwaddr().map_or(MacAddr::ZERO, |(_, m)| m)
    }

    fn mtu(&self) -> u32 {
        self.dev.mtu().unwrap_or(1500)
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
        1
    }

    fn open_rxq(&self, queue: usize) -> Result<Box<dyn RxQueue>, PortError> {
        let claim = self.claims.claim(self.dev.name(), queue)?;
        Ok(Box::new(TapRxq {
            _claim: claim,
            fd: self.fd.clone(),
            scratch: vec![0u8; LARGE_DATA_ROOM].into_boxed_slice(),
            counters: self.stats.register(),
        }))
    }

    fn open_txq(&self) -> Result<Box<dyn TxQueue>, PortError> {
        Ok(Box::new(TapTxq { fd: self.fd.clone(), counters: self.stats.register() }))
    }

    fn stats(&self) -> PortStats {
        self.stats.sum()
    }
}

/// The receive queue of a TAP port.
struct TapRxq {
    _claim: RxClaim,
    fd: Arc<OwnedFd>,
    /// Where the part of a super-frame that does not fit a standard buffer lands.
    scratch: Box<[u8]>,
    counters: Arc<QueueCounters>,
}

/// One read from a TAP.
enum Read {
    Packet(PacketBuf),
    /// A frame rvs cannot use (counted).
    Bad,
    /// Nothing waits.
    Empty,
}

impl TapRxq {
    fn read_one(&mut self, d: &mut PortStats) -> io::Result<Read> {
        let mut p = PacketBuf::new();
        let mut hdr = [0u8; VNET_HDR_LEN];
        let (n, first) = {
            let spare = p.spare_mut();
            let first = spare.len();
            match readv3(self.fd.as_raw_fd(), &mut hdr, spare, &mut self.scratch) {
                Ok(n) => (n, first),
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => return Ok(Read::Empty),
                Err(e) => return Err(e),
            }
        };
        let Some(len) = n.checked_sub(VNET_HDR_LEN).filter(|&l| l >= 14) else {
            d.rx_errors += 1;
            return Ok(Read::Bad);
        };
        if len > first {
            let mut big = PacketBuf::with_room(len);
            big.extend_from_slice(&p.spare_mut()[..first]);
            big.extend_from_slice(&self.scratch[..len - first]);
            p = big;
        } else {
            p.set_len(len);
        }
        match VnetHdr::parse(&hdr).to_meta(len) {
            Ok((csum, gso)) => {
                p.meta.csum = csum;
                p.meta.gso = gso;
                Ok(Read::Packet(p))
            }
            Err(_) => {
                d.rx_errors += 1;
                Ok(Read::Bad)
            }
        }
    }
}

impl RxQueue for TapRxq {
    fn rx_burst(&mut self, batch: &mut PacketBatch) -> usize {
        let mut d = PortStats::default();
        let mut n = 0;
        while batch.room() > 0 {
            match self.read_one(&mut d) {
                Ok(Read::Packet(p)) => {
                    d.rx_packets += 1;
                    d.rx_bytes += p.len() as u64;
                    d.rx_csum_partial += u64::from(matches!(p.meta.csum, CsumState::Partial { .. }));
                    d.rx_gso += u64::from(p.meta.gso.kind != GsoKind::None);
                    batch.push_in_room(|| p);
                    n += 1;
                }
                Ok(Read::Bad) => {}
                Ok(Read::Empty) => break,
                Err(_) => {
                    // EIO and friends: the device is going away; try again next burst.
                    d.rx_errors += 1;
                    break;
                }
            }
        }
        self.counters.add(&d);
        n
    }

    fn wait_fd(&self) -> Option<RawFd> {
        Some(self.fd.as_raw_fd())
    }
}

/// A transmit handle of a TAP port (all handles share the device descriptor).
struct TapTxq {
    fd: Arc<OwnedFd>,
    counters: Arc<QueueCounters>,
}

/// What became of one packet written to a TAP.
enum Written {
    Sent,
    Dropped,
    WouldBlock,
}

impl TapTxq {
    fn write(&self, hdr: &[u8; VNET_HDR_LEN], frame: &[u8], d: &mut PortStats) -> Written {
        match writev2(self.fd.as_raw_fd(), hdr, frame) {
            Ok(_) => Written::Sent,
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => Written::WouldBlock,
            Err(_) => {
                d.tx_errors += 1;
                Written::Dropped
            }
        }
    }

    fn send_one(&self, p: &mut PacketBuf, d: &mut PortStats) -> Written {
        let len = p.len() as u64;
        let partial = matches!(p.meta.csum, CsumState::Partial { .. });
        let gso = p.meta.gso.kind != GsoKind::None;
        match VnetHdr::from_meta(&p.meta, p.data()) {
            Ok(h) => {
                let w = self.write(&h.emit(), p.data(), d);
                if matches!(w, Written::Sent) {
                    d.tx_packets += 1;
                    d.tx_bytes += len;
                    d.tx_csum_offloaded += u64::from(partial);
                    d.tx_gso_offloaded += u64::from(gso);
                }
                w
            }
            Err(VnetError::BadCsumOffsets) => {
                d.tx_dropped += 1;
                Written::Dropped
            }
            Err(_) => {
                // A state the kernel refuses: finish it here, one write per segment.
                let zero = [0u8; VNET_HDR_LEN];
                let mut ok = true;
                let res = if gso {
                    segment(std::mem::take(p), |s| ok &= matches!(self.write(&zero, s.data(), d), Written::Sent))
                } else {
                    complete_csum(p).map(|()| ok = matches!(self.write(&zero, p.data(), d), Written::Sent))
                };
                if res.is_ok() && ok {
                    d.tx_packets += 1;
                    d.tx_bytes += len;
                    d.tx_gso_segmented += u64::from(gso);
                    d.tx_csum_completed += u64::from(!gso && partial);
                    Written::Sent
                } else {
                    d.tx_dropped += 1;
                    Written::Dropped
                }
            }
        }
    }
}

impl TxQueue for TapTxq {
    fn tx_burst(&mut self, batch: &mut PacketBatch) -> usize {
        let mut d = PortStats::default();
        let mut taken = 0;
        for i in 0..batch.len() {
            if matches!(self.send_one(&mut batch[i], &mut d), Written::WouldBlock) {
                break;
            }
            taken += 1;
        }
        batch.remove_front(taken);
        self.counters.add(&d);
        taken
    }

    fn flush(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_macs_are_local_unicast() {
        for _ in 0..16 {
            let m = random_mac().unwrap();
            assert_eq!(m.0[0] & 0x03, 0x02, "{m}");
        }
    }

    #[test]
    fn options_are_checked_before_touching_the_system() {
        let spec = PortSpec::new("rvs-t0", PortKind::Internal).with_option("mac", "ff:ff:ff:ff:ff:ff");
        assert!(matches!(TapPort::open(&spec), Err(PortError::BadOption { .. })));
        let spec = PortSpec::new("rvs-t0", PortKind::Internal).with_option("offload", "maybe");
        assert!(matches!(TapPort::open(&spec), Err(PortError::BadOption { .. })));
        let spec = PortSpec::new("this-name-is-too-long", PortKind::Internal);
        assert!(matches!(TapPort::open(&spec), Err(PortError::BadOption { .. })));
    }
}
