//! The DPDK port: options, hot-plug (`rte_dev_probe`), configuration, and the queue
//! factories. See the parent module for the design.
//!
//! # Lifetime
//! [`Shared`] holds the ethdev port and its packet pool; the port and every queue handle keep
//! an `Arc` of it, and the last one dropped stops and closes the ethdev, removes its device (so
//! the same `dpdk-devargs` can be probed again, as OVS does on port deletion) and frees the
//! pool — after the queues, which may still hold the pool's mbufs in their descriptor rings.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rvs_packet::wire::MacAddr;

use super::eal;
use super::ffi::{self, DevInfo, EthStats, PortConf};
use super::rx::DpdkRxq;
use super::tx::{DpdkTxq, TxQueues};
use crate::error::PortError;
use crate::options::Options;
use crate::port::{LinkState, Port, PortKind, PortSpec, RxClaims, RxQueue, TxQueue};
use crate::stats::{PortStats, StatsRegistry};

/// The most mbufs a pool that holds frames asks for (OVS's `MAX_NB_MBUF`, 256 Ki), minus one
/// (a DPDK mempool is most efficient at a power of two minus one).
const MAX_MBUFS: u32 = 256 * 1024 - 1;

/// mbuf headroom (`RTE_PKTMBUF_HEADROOM` in Debian's build).
pub(super) const MBUF_HEADROOM: usize = 128;
/// Per-lcore mempool cache size.
const POOL_CACHE: u32 = 256;
/// Default MTU when the interface has no `mtu_request`.
const DEFAULT_MTU: u32 = 1500;

/// Configuration of a DPDK port (from its interface options).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DpdkConfig {
    /// `dpdk-devargs`.
    pub devargs: String,
    /// Receive queues.
    pub n_rxq: u16,
    /// Transmit queues; `None`: CPUs + 1, at most what the device has.
    pub n_txq: Option<u16>,
    /// Receive descriptors per queue.
    pub n_rxq_desc: u16,
    /// Transmit descriptors per queue.
    pub n_txq_desc: u16,
}

impl DpdkConfig {
    /// Reads the options of a port spec, rejecting unknown keys.
    pub fn from_options(spec: &PortSpec) -> Result<Self, PortError> {
        let mut o = Options::new(&spec.options);
        let devargs = match o.str("dpdk-devargs") {
            Some(d) if !d.trim().is_empty() => d.trim().to_string(),
            _ => {
                return Err(PortError::bad_option(
                    "dpdk-devargs",
                    "",
                    "a dpdk port needs options:dpdk-devargs (a PCI address or a vdev such as net_null0)",
                ))
            }
        };
        let desc = |o: &mut Options<'_>, key: &'static str| -> Result<u16, PortError> {
            let n = o.int(key, 2048u16, 1..=4096)?;
            if !n.is_power_of_two() {
                return Err(PortError::bad_option(key, &n.to_string(), "must be a power of two"));
            }
            Ok(n)
        };
        let c = DpdkConfig {
            devargs,
            n_rxq: o.int("n_rxq", 1u16, 1..=1024)?,
            n_txq: match o.str("n_txq") {
                None => None,
                Some(_) => Some(o.int("n_txq", 1u16, 1..=1024)?),
            },
            n_rxq_desc: desc(&mut o, "n_rxq_desc")?,
            n_txq_desc: desc(&mut o, "n_txq_desc")?,
        };
        o.finish()?;
        Ok(c)
    }
}

/// An mbuf pool.
#[derive(Debug)]
pub(super) struct Pool(pub(super) *mut libc::c_void);

// SAFETY: a DPDK mempool is a multi-producer, multi-consumer structure meant to be used from
// many threads; the pointer is only passed to DPDK.
unsafe impl Send for Pool {}
// SAFETY: as above.
unsafe impl Sync for Pool {}

/// What the port and its queue handles share (see "Lifetime").
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) port_id: u16,
    pub(super) pool: Pool,
    /// Data room of an mbuf after its headroom.
    pub(super) mbuf_room: usize,
    /// The device's transmit queues: locks, and which handles use them.
    pub(super) tx: TxQueues,
    /// Packets dropped because the pool was empty at transmit.
    pub(super) tx_nombuf: AtomicU64,
}

impl Drop for Pool {
    /// Frees the pool once every mbuf is back. Packets may still hold mbufs lent to them (see
    /// `mbuf`) after their port is gone; such a pool waits in [`RETIRED`] and is freed by a
    /// later sweep, as OVS's `dpdk_mp_sweep` does.
    fn drop(&mut self) {
        let mut retired = RETIRED.lock().unwrap_or_else(|e| e.into_inner());
        retired.push(self.0 as usize);
        sweep(&mut retired);
    }
}

/// Pools of closed ports, freed when full.
static RETIRED: Mutex<Vec<usize>> = Mutex::new(Vec::new());

fn sweep(retired: &mut Vec<usize>) {
    retired.retain(|&p| {
        let p = p as *mut libc::c_void;
        // SAFETY: retired pools are valid until freed here; whoever held their mbufs (a
        // closed port's rings) is gone, so a full pool has no user left.
        unsafe {
            if ffi::rvs_dpdk_pool_full(p) != 0 {
                ffi::rvs_dpdk_pool_free(p);
                false
            } else {
                true
            }
        }
    });
}

/// Frees the retired pools whose mbufs have all come back.
pub(super) fn sweep_retired_pools() {
    sweep(&mut RETIRED.lock().unwrap_or_else(|e| e.into_inner()));
}

impl Drop for Shared {
    fn drop(&mut self) {
        eal::attach_thread();
        // SAFETY: no queue handle is left (they hold this Arc); the port is ours. The pool
        // field drops after this.
        unsafe { ffi::rvs_dpdk_port_close(self.port_id) };
        IN_USE.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.port_id);
    }
}

/// A probed port not configured yet: closed (and its pool freed after) if configuration fails.
struct Probed {
    port_id: u16,
    pool: Option<Pool>,
}

impl Drop for Probed {
    fn drop(&mut self) {
        // SAFETY: the port exists and nothing else uses it; the pool drops after this.
        unsafe { ffi::rvs_dpdk_port_close(self.port_id) };
        IN_USE.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.port_id);
    }
}

/// A DPDK ethdev port.
#[derive(Debug)]
pub struct DpdkPort {
    name: String,
    config: DpdkConfig,
    shared: Arc<Shared>,
    info: DevInfo,
    mtu: u32,
    n_txq: u16,
    /// Descriptors per receive and transmit queue, as the device accepted them.
    descriptors: (u16, u16),
    admin_up: AtomicBool,
    rx_claims: RxClaims,
    stats: StatsRegistry,
}

/// ethdev ports opened by an rvs port.
static IN_USE: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// Pool names must be unique in the process.
static POOL_SEQ: AtomicUsize = AtomicUsize::new(0);

fn dpdk_err(port: &str, op: &'static str, r: i32) -> PortError {
    PortError::Io { port: port.to_string(), op, source: io::Error::other(ffi::strerror(r)) }
}

impl DpdkPort {
    /// Probes the device `options:dpdk-devargs` names (unless it is there already), and
    /// configures and starts it.
    pub fn open(spec: &PortSpec) -> Result<Self, PortError> {
        let name = spec.name.as_str();
        let config = DpdkConfig::from_options(spec)?;
        if !eal::initialized() {
            return Err(PortError::Io {
                port: name.to_string(),
                op: "opening a DPDK port",
                source: io::Error::other("DPDK is not initialised (set Open_vSwitch . other_config:dpdk-init=true)"),
            });
        }
        eal::attach_thread();
        sweep_retired_pools();
        let devargs = CString::new(config.devargs.as_str())
            .map_err(|_| PortError::bad_option("dpdk-devargs", &config.devargs, "contains a NUL byte"))?;
        let mut port_id = 0u16;
        // A device may be there already: probed by EAL at start (a PCI device bound to
        // vfio-pci, `-a`/`--vdev` in dpdk-extra), or by another port. As OVS, use it unless a
        // port has it.
        // SAFETY: devargs is a valid C string; port_id a valid out pointer.
        let found = unsafe { ffi::rvs_dpdk_find_port(devargs.as_ptr(), &mut port_id) } == 0;
        if !found {
            // SAFETY: as above.
            let r = unsafe { ffi::rvs_dpdk_dev_probe(devargs.as_ptr()) };
            if r < 0 {
                return Err(dpdk_err(name, "probing the device named by dpdk-devargs (rte_dev_probe)", r));
            }
            // SAFETY: as above.
            if unsafe { ffi::rvs_dpdk_find_port(devargs.as_ptr(), &mut port_id) } != 0 {
                return Err(PortError::bad_option("dpdk-devargs", &config.devargs, "the device was probed but has no ethdev port"));
            }
        }
        if !IN_USE.lock().unwrap_or_else(|e| e.into_inner()).insert(port_id) {
            return Err(PortError::Busy { port: name.to_string(), why: "this dpdk-devargs device is already in use by a port" });
        }
        // From here on, a failure must close the port and remove the device again.
        Self::configure(name, config, Probed { port_id, pool: None }, spec.mtu_request)
    }

    fn configure(name: &str, config: DpdkConfig, mut probed: Probed, mtu_request: Option<u32>) -> Result<Self, PortError> {
        let port_id = probed.port_id;
        let mut info = DevInfo::default();
        // SAFETY: valid port id and out pointer.
        let r = unsafe { ffi::rvs_dpdk_port_info(port_id, &mut info) };
        if r < 0 {
            return Err(dpdk_err(name, "reading device information", r));
        }
        if config.n_rxq > info.max_rx_queues {
            return Err(PortError::bad_option(
                "n_rxq",
                &config.n_rxq.to_string(),
                format!("device {} has at most {} receive queues", info.driver(), info.max_rx_queues),
            ));
        }
        if info.max_tx_queues == 0 {
            return Err(PortError::Io {
                port: name.to_string(),
                op: "opening a DPDK port",
                source: io::Error::other(format!("device {} has no transmit queue", info.driver())),
            });
        }
        let n_txq = match config.n_txq {
            Some(n) if n > info.max_tx_queues => {
                return Err(PortError::bad_option(
                    "n_txq",
                    &n.to_string(),
                    format!("device {} has at most {} transmit queues", info.driver(), info.max_tx_queues),
                ))
            }
            Some(n) => n,
            None => {
                let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
                (cpus + 1).min(usize::from(info.max_tx_queues)) as u16
            }
        };
        let mtu = mtu_request.unwrap_or(DEFAULT_MTU);
        if mtu < 68 || (info.max_mtu != 0 && mtu > u32::from(info.max_mtu)) || mtu > 9600 {
            return Err(PortError::bad_option(
                "mtu_request",
                &mtu.to_string(),
                format!("device {} takes MTUs up to {}", info.driver(), info.max_mtu.min(9600)),
            ));
        }
        // mbufs hold a whole frame of the MTU with two VLAN tags, in 1 KiB steps, at least 2 KiB.
        let mbuf_room = (max_frame(mtu).div_ceil(1024) * 1024).max(2048);
        // The queues' needs; but a device that keeps frames in the pool needs more: net_pcap with
        // infinite_rx=1 holds its whole file in mbufs (100,000 frames in rvs-bench). For that one
        // the pool asks, as OVS's shared pools do (MAX_NB_MBUF), for 256 Ki mbufs, halved while
        // DPDK lacks the memory, down to what the queues need.
        let min_mbufs = {
            let need = usize::from(config.n_rxq) * usize::from(config.n_rxq_desc)
                + usize::from(n_txq) * usize::from(config.n_txq_desc)
                + 4096;
            (need.next_power_of_two() - 1).max(8191) as u32
        };
        let pool_name = CString::new(format!("rvs{}_{}", port_id, POOL_SEQ.fetch_add(1, Ordering::Relaxed))).expect("no NUL");
        let holds_frames = config.devargs.split(',').any(|a| a.trim() == "infinite_rx=1");
        let mut n_mbufs = if holds_frames { MAX_MBUFS.max(min_mbufs) } else { min_mbufs };
        let pool = loop {
            // SAFETY: valid name; sizes within DPDK's limits (u16 data room checked by max MTU).
            let pool = unsafe {
                ffi::rvs_dpdk_pool_create(pool_name.as_ptr(), n_mbufs, POOL_CACHE, (MBUF_HEADROOM + mbuf_room) as u16, info.socket_id.max(-1))
            };
            if !pool.is_null() || n_mbufs <= min_mbufs {
                break pool;
            }
            n_mbufs = (n_mbufs.div_ceil(2) - 1).max(min_mbufs);
        };
        if pool.is_null() {
            return Err(PortError::Io {
                port: name.to_string(),
                op: "creating the mbuf pool",
                source: io::Error::other(format!(
                    "rte_pktmbuf_pool_create of {n_mbufs} mbufs of {} bytes failed (out of DPDK memory?)",
                    MBUF_HEADROOM + mbuf_room
                )),
            });
        }
        probed.pool = Some(Pool(pool));
        let mut conf = PortConf {
            n_rxq: config.n_rxq,
            n_txq,
            n_rxd: config.n_rxq_desc,
            n_txd: config.n_txq_desc,
            mtu: mtu as u16,
            rss: 1,
        };
        let pool_ptr = probed.pool.as_ref().expect("set above").0;
        // SAFETY: valid port, conf and pool.
        let mut r = unsafe { ffi::rvs_dpdk_port_start(port_id, &mut conf, pool_ptr) };
        if r < 0 && config.n_txq.is_none() && conf.n_txq != conf.n_rxq {
            // Some devices (net_tap) want as many transmit queues as receive queues: with the
            // default count, try that before giving up, as OVS retries with fewer queues.
            conf = PortConf { n_txq: conf.n_rxq, n_rxd: config.n_rxq_desc, n_txd: config.n_txq_desc, ..conf };
            // SAFETY: as above.
            r = unsafe { ffi::rvs_dpdk_port_start(port_id, &mut conf, pool_ptr) };
        }
        if r < 0 {
            return Err(dpdk_err(name, "configuring and starting the device", r));
        }
        let n_txq = conf.n_txq;
        // SAFETY: valid port and out pointer; refreshes the MTU and MAC after configuration.
        unsafe { ffi::rvs_dpdk_port_info(port_id, &mut info) };
        let pool = probed.pool.take().expect("set above");
        std::mem::forget(probed);
        let shared = Arc::new(Shared {
            port_id,
            pool,
            mbuf_room,
            tx: TxQueues::new(usize::from(n_txq)),
            tx_nombuf: AtomicU64::new(0),
        });
        Ok(DpdkPort {
            name: name.to_string(),
            rx_claims: RxClaims::new(usize::from(config.n_rxq)),
            config,
            shared,
            info,
            mtu,
            n_txq,
            descriptors: (conf.n_rxd, conf.n_txd),
            admin_up: AtomicBool::new(true),
            stats: StatsRegistry::default(),
        })
    }

    /// The ethdev port id.
    pub fn port_id(&self) -> u16 {
        self.shared.port_id
    }

    /// The PMD driver's name (`net_null`, `net_pcap`, `net_ixgbe`, ...).
    pub fn driver(&self) -> String {
        self.info.driver()
    }

    /// The configuration the port was opened with.
    pub fn config(&self) -> &DpdkConfig {
        &self.config
    }

    /// Transmit queues configured on the device.
    pub fn n_txq(&self) -> usize {
        usize::from(self.n_txq)
    }

    /// Free mbufs in the port's pool (for tests: every mbuf comes back).
    pub fn pool_available(&self) -> usize {
        // SAFETY: the pool lives as long as `shared`.
        unsafe { ffi::rvs_dpdk_pool_avail(self.shared.pool.0) as usize }
    }

    fn eth_stats(&self) -> EthStats {
        let mut s = EthStats::default();
        // SAFETY: valid port and out pointer.
        unsafe { ffi::rvs_dpdk_stats(self.shared.port_id, &mut s) };
        s
    }
}

/// Largest frame at `mtu`: Ethernet header and two VLAN tags on top.
pub(super) fn max_frame(mtu: u32) -> usize {
    mtu as usize + 14 + 8
}

impl Port for DpdkPort {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> PortKind {
        PortKind::Dpdk
    }

    fn mac(&self) -> MacAddr {
        MacAddr(self.info.mac)
    }

    fn mtu(&self) -> u32 {
        self.mtu
    }

    fn ifindex(&self) -> Option<u32> {
        None
    }

    fn link_state(&self) -> LinkState {
        let mut l = ffi::Link::default();
        eal::attach_thread();
        // SAFETY: valid port and out pointer; the no-wait variant does not block.
        let ok = unsafe { ffi::rvs_dpdk_link(self.shared.port_id, &mut l) } == 0;
        LinkState { admin_up: self.admin_up.load(Ordering::Relaxed), carrier: ok && l.up != 0 }
    }

    fn set_admin_up(&self, up: bool) -> io::Result<()> {
        // SAFETY: valid port. Devices without link control (most vdevs) answer -ENOTSUP: the
        // administrative flag still changes, as for OVS's `netdev_dpdk_update_flags`.
        let r = unsafe { ffi::rvs_dpdk_set_link(self.shared.port_id, i32::from(up)) };
        if r < 0 && r != -libc::ENOTSUP && r != -libc::EOPNOTSUPP {
            return Err(io::Error::other(ffi::strerror(r)));
        }
        self.admin_up.store(up, Ordering::Relaxed);
        Ok(())
    }

    fn n_rxq(&self) -> usize {
        usize::from(self.config.n_rxq)
    }

    fn open_rxq(&self, queue: usize) -> Result<Box<dyn RxQueue>, PortError> {
        let claim = self.rx_claims.claim(&self.name, queue)?;
        Ok(Box::new(DpdkRxq::new(self.shared.clone(), queue as u16, claim, self.stats.register())))
    }

    fn open_txq(&self) -> Result<Box<dyn TxQueue>, PortError> {
        // A device queue of its own if one can be spared, else the least shared (see `tx`).
        let queue = self.shared.tx.assign();
        Ok(Box::new(DpdkTxq::new(self.shared.clone(), queue, max_frame(self.mtu), self.stats.register())))
    }

    /// Packets and bytes are what rvs received and sent; drops and errors add the device's
    /// own (`imissed` and `rx_nombuf` to `rx_dropped`, `ierrors`, `oerrors`).
    fn stats(&self) -> PortStats {
        let mut s = self.stats.sum();
        let e = self.eth_stats();
        s.rx_dropped += e.imissed + e.rx_nombuf;
        s.rx_errors += e.ierrors;
        s.tx_errors += e.oerrors;
        s.tx_dropped += self.shared.tx_nombuf.load(Ordering::Relaxed);
        s
    }

    fn config_summary(&self) -> Option<String> {
        Some(format!(
            "configured_rx_queues={}, configured_rxq_descriptors={}, configured_tx_queues={}, \
             configured_txq_descriptors={}, driver={}, mtu={}, requested_rx_queues={}, requested_tx_queues={}",
            self.config.n_rxq,
            self.descriptors.0,
            self.n_txq,
            self.descriptors.1,
            self.info.driver(),
            self.mtu,
            self.config.n_rxq,
            self.config.n_txq.unwrap_or(self.n_txq),
        ))
    }
}
