//! The port contract every backend implements, and [`open_port`], which picks the backend.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rvs_packet::wire::MacAddr;
use rvs_packet::PacketBatch;

use crate::error::PortError;
use crate::stats::PortStats;

/// One receive queue of one port, polled by exactly one PMD thread.
pub trait RxQueue: Send {
    /// Appends up to `batch.room()` received packets to `batch`; the caller owns them now.
    /// Sets `meta.csum` / `meta.gso` from what the kernel reported. Never blocks. Returns the
    /// number appended.
    fn rx_burst(&mut self, batch: &mut PacketBatch) -> usize;

    /// A file descriptor that becomes readable when packets wait (for idle back-off with
    /// `poll(2)`); `None` if the queue is not pollable.
    fn wait_fd(&self) -> Option<RawFd>;
}

/// A transmit handle of one port, owned by exactly one thread (each PMD thread opens its own).
pub trait TxQueue: Send {
    /// Takes packets from the front of `batch` and queues them for transmission; returns how many
    /// it took. Taken packets are gone from the batch (a taken packet the port had to drop, for
    /// example an oversize one, is counted in the port's stats). Packets left in the batch were
    /// not sent: the caller drops and counts them.
    ///
    /// Packets may carry partial checksums or GSO super-frames: they are passed to the kernel
    /// where the port can take them (virtio-net header), otherwise completed in software first.
    fn tx_burst(&mut self, batch: &mut PacketBatch) -> usize;

    /// Pushes queued packets out (one system call per call at most). Called at the end of each
    /// PMD iteration.
    fn flush(&mut self);
}

/// A port: the control-side view of one interface and the factory of its queues.
pub trait Port: Send + Sync {
    /// The port's name (the interface name for system and internal ports).
    fn name(&self) -> &str;
    /// Which backend drives the port.
    fn kind(&self) -> PortKind;
    /// The port's Ethernet address.
    fn mac(&self) -> MacAddr;
    /// The port's MTU (L3 bytes per frame, not counting the Ethernet header).
    fn mtu(&self) -> u32;
    /// Kernel interface index, for ports that are kernel interfaces.
    fn ifindex(&self) -> Option<u32>;
    /// Administrative state and carrier.
    fn link_state(&self) -> LinkState;
    /// Brings the interface administratively up or down.
    fn set_admin_up(&self, up: bool) -> io::Result<()>;
    /// Number of receive queues; valid queue indices are `0..n_rxq()`.
    fn n_rxq(&self) -> usize;
    /// Opens receive queue `queue`. A queue is open at most once at a time (a second open fails
    /// with [`PortError::Busy`] until the first handle is dropped).
    fn open_rxq(&self, queue: usize) -> Result<Box<dyn RxQueue>, PortError>;
    /// Opens a transmit handle for the calling thread.
    fn open_txq(&self) -> Result<Box<dyn TxQueue>, PortError>;
    /// Counters summed over all queues ever opened on this port.
    fn stats(&self) -> PortStats;
    /// The configuration in effect, as `ovs-appctl dpif/show` prints it after the type
    /// (`configured_rx_queues=1, ...`); `None` for ports that print none.
    fn config_summary(&self) -> Option<String> {
        None
    }
    /// Link features (rate, medium) of the device; `None` for ports that are not kernel
    /// devices or devices without ethtool support.
    fn link_features(&self) -> Option<crate::ethtool::LinkFeatures> {
        None
    }
    /// The device's own error counters; `None` for ports that are not kernel devices.
    fn error_counters(&self) -> Option<crate::ethtool::KernelErrorCounters> {
        None
    }
}

/// Which backend drives a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PortKind {
    /// An existing kernel interface, driven through AF_PACKET rings (OVS type `system`, the
    /// default).
    System,
    /// A TAP device created for the port (OVS type `internal`): the host's own interface on the
    /// bridge.
    Internal,
    /// An in-memory port for tests and benchmarks.
    Memory,
    /// An existing kernel interface driven through AF_XDP sockets and rvs's XDP program (OVS
    /// type `afxdp`). Needs the cargo feature `af-xdp`.
    Afxdp,
    /// A DPDK ethdev port (`options:dpdk-devargs`: a PCI device or a vdev), as OVS's type
    /// `dpdk`. Needs the cargo feature `dpdk` and `other_config:dpdk-init=true`.
    Dpdk,
}

impl PortKind {
    /// The name used in configuration (`type=...`).
    pub const fn as_str(self) -> &'static str {
        match self {
            PortKind::System => "system",
            PortKind::Internal => "internal",
            PortKind::Memory => "memory",
            PortKind::Afxdp => "afxdp",
            PortKind::Dpdk => "dpdk",
        }
    }
}

impl fmt::Display for PortKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PortKind {
    type Err = PortError;
    /// Parses a port type; the empty string means `system`, as in OVS.
    fn from_str(s: &str) -> Result<Self, PortError> {
        match s {
            "" | "system" => Ok(PortKind::System),
            "internal" => Ok(PortKind::Internal),
            "memory" => Ok(PortKind::Memory),
            "afxdp" => Ok(PortKind::Afxdp),
            "dpdk" => Ok(PortKind::Dpdk),
            _ => Err(PortError::bad_option("type", s, "expected system, internal, afxdp, dpdk or memory")),
        }
    }
}

/// Administrative state and carrier of a port.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkState {
    /// The interface is administratively up (`ip link set IF up`).
    pub admin_up: bool,
    /// The link has carrier (the peer is there and up).
    pub carrier: bool,
}

/// What to open: the port's name, kind and interface options (as in OVS's `Interface` table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortSpec {
    /// Port name; for system ports the kernel interface to attach to, for internal ports the TAP
    /// device to create.
    pub name: String,
    /// Backend.
    pub kind: PortKind,
    /// Backend options (`options:KEY=VALUE`); each backend documents its keys and rejects others.
    pub options: BTreeMap<String, String>,
    /// The interface's `mtu_request`, for backends that set the MTU themselves (DPDK).
    pub mtu_request: Option<u32>,
}

impl PortSpec {
    /// A spec with no options.
    pub fn new(name: impl Into<String>, kind: PortKind) -> Self {
        PortSpec { name: name.into(), kind, options: BTreeMap::new(), mtu_request: None }
    }

    /// Adds an option (builder style).
    pub fn with_option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.insert(key.into(), value.into());
        self
    }
}

/// Which receive queues of a port are open: each may be open once at a time (two sockets or
/// readers on one queue would duplicate or split its packets).
#[derive(Debug)]
pub(crate) struct RxClaims(Arc<[AtomicBool]>);

/// An open receive queue's claim; released when the queue drops.
#[derive(Debug)]
pub(crate) struct RxClaim {
    claims: Arc<[AtomicBool]>,
    queue: usize,
}

impl RxClaims {
    pub(crate) fn new(n_rxq: usize) -> Self {
        RxClaims((0..n_rxq).map(|_| AtomicBool::new(false)).collect())
    }

    /// Claims queue `queue` of `port`.
    pub(crate) fn claim(&self, port: &str, queue: usize) -> Result<RxClaim, PortError> {
        let n_rxq = self.0.len();
        let Some(flag) = self.0.get(queue) else {
            return Err(PortError::NoSuchQueue { port: port.to_string(), queue, n_rxq });
        };
        if flag.swap(true, Ordering::AcqRel) {
            return Err(PortError::Busy { port: port.to_string(), why: "this receive queue is already open" });
        }
        Ok(RxClaim { claims: self.0.clone(), queue })
    }
}

impl Drop for RxClaim {
    fn drop(&mut self) {
        self.claims[self.queue].store(false, Ordering::Release);
    }
}

/// Opens the port `spec` describes with its backend.
pub fn open_port(spec: &PortSpec) -> Result<Arc<dyn Port>, PortError> {
    match spec.kind {
        PortKind::System => Ok(Arc::new(crate::af_packet::AfPacketPort::open(spec)?)),
        PortKind::Internal => Ok(Arc::new(crate::tap::TapPort::open(spec)?)),
        PortKind::Memory => Ok(crate::memory::MemoryPort::open(spec)?),
        PortKind::Afxdp => open_afxdp(spec),
        PortKind::Dpdk => open_dpdk(spec),
    }
}

#[cfg(feature = "dpdk")]
fn open_dpdk(spec: &PortSpec) -> Result<Arc<dyn Port>, PortError> {
    Ok(Arc::new(crate::dpdk::DpdkPort::open(spec)?))
}

#[cfg(not(feature = "dpdk"))]
fn open_dpdk(spec: &PortSpec) -> Result<Arc<dyn Port>, PortError> {
    Err(PortError::NotBuiltIn { port: spec.name.clone(), kind: "dpdk", feature: "dpdk" })
}

#[cfg(feature = "af-xdp")]
fn open_afxdp(spec: &PortSpec) -> Result<Arc<dyn Port>, PortError> {
    Ok(Arc::new(crate::af_xdp::AfXdpPort::open(spec)?))
}

#[cfg(not(feature = "af-xdp"))]
fn open_afxdp(spec: &PortSpec) -> Result<Arc<dyn Port>, PortError> {
    Err(PortError::NotBuiltIn { port: spec.name.clone(), kind: "afxdp", feature: "af-xdp" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_and_print() {
        for k in [PortKind::System, PortKind::Internal, PortKind::Memory, PortKind::Afxdp, PortKind::Dpdk] {
            assert_eq!(k.to_string().parse::<PortKind>().unwrap(), k);
        }
        assert_eq!("".parse::<PortKind>().unwrap(), PortKind::System);
        assert!("dpdkvhostuser".parse::<PortKind>().is_err());
    }

    #[test]
    fn receive_queues_open_once_at_a_time() {
        let claims = RxClaims::new(2);
        let a = claims.claim("p", 0).unwrap();
        assert!(matches!(claims.claim("p", 0), Err(PortError::Busy { .. })));
        let _b = claims.claim("p", 1).unwrap();
        assert!(matches!(claims.claim("p", 2), Err(PortError::NoSuchQueue { queue: 2, n_rxq: 2, .. })));
        drop(a);
        assert!(claims.claim("p", 0).is_ok());
    }

    #[cfg(not(feature = "af-xdp"))]
    #[test]
    fn afxdp_without_the_feature_says_how_to_get_it() {
        let e = open_port(&PortSpec::new("eth9", PortKind::Afxdp)).err().expect("no AF_XDP without the feature");
        assert!(matches!(e, PortError::NotBuiltIn { .. }));
        assert!(e.to_string().contains("--features af-xdp"), "{e}");
    }

    #[cfg(not(feature = "dpdk"))]
    #[test]
    fn dpdk_without_the_feature_says_how_to_get_it() {
        let spec = PortSpec::new("dpdk0", PortKind::Dpdk).with_option("dpdk-devargs", "net_null0");
        let e = open_port(&spec).err().expect("no DPDK without the feature");
        assert!(e.to_string().contains("--features dpdk"), "{e}");
    }

    #[test]
    fn opening_a_missing_device_names_it() {
        let spec = PortSpec::new("rvs-nonesuch0", PortKind::System);
        match open_port(&spec) {
            Err(PortError::NoSuchDevice(n)) => assert_eq!(n, "rvs-nonesuch0"),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("opened a device that does not exist"),
        }
    }
}
