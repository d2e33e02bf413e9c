//! What PMD threads share with the rest of the daemon.
//!
//! The datapath is the set of datapath ports (numbered densely from 0, across all bridges, as
//! in OVS's single `netdev` datapath) and the PMD threads that poll them. A PMD needs, per
//! received packet, only its own caches; on an upcall it needs the port's bridge: its
//! OpenFlow tables (a [`FlowTableReader`] snapshot), its translation configuration and its
//! MAC table. Those live in [`BridgeDp`], reached through the [`DpPortMap`], which the control
//! thread replaces as a whole (`ArcSwap`) when ports come and go.
//!
//! Everything here is read-mostly: PMDs load the port map once per upcall, never per packet.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::ArcSwap;
use crossbeam_channel::{Receiver, Sender};
use rvs_flowcache::dpaction::ControllerAction;
use rvs_flowcache::mac_learning::MacTable;
use rvs_flowcache::xlate::XlateBridge;
use rvs_flowcache::{FlowMod, FlowTableReader, OfPort};

use crate::pmd_loop::FlowIdHasher;

/// Translation configuration of a bridge, versioned.
#[derive(Debug, Default)]
pub struct XlateConf {
    /// Ports and switching options.
    pub bridge: XlateBridge,
    /// Incremented on every change, so that megaflows translated under an older one are
    /// revalidated.
    pub generation: u64,
}

/// What the datapath needs of a bridge.
pub struct BridgeDp {
    /// Bridge name.
    pub name: String,
    /// The OpenFlow tables.
    pub tables: FlowTableReader,
    /// Ports and options for translation.
    pub xlate: ArcSwap<XlateConf>,
    /// MAC learning for `NORMAL`.
    pub macs: Mutex<MacTable>,
}

impl BridgeDp {
    /// Current MAC table generation.
    pub fn mac_generation(&self) -> u64 {
        self.macs.lock().unwrap_or_else(|e| e.into_inner()).generation()
    }
}

/// One datapath port.
pub struct DpPortInfo {
    /// Datapath port number.
    pub dp_port: u32,
    /// Interface name.
    pub name: String,
    /// The bridge it belongs to.
    pub bridge: Arc<BridgeDp>,
    /// Its OpenFlow number on that bridge.
    pub ofport: OfPort,
}

/// Datapath port number -> port.
#[derive(Default)]
pub struct DpPortMap {
    /// With a multiplicative hash: looked up on every upcall, where SipHash cost a hundred
    /// instructions.
    ports: HashMap<u32, Arc<DpPortInfo>, BuildHasherDefault<FlowIdHasher>>,
}

impl DpPortMap {
    /// The port numbered `dp_port`.
    #[inline]
    pub fn get(&self, dp_port: u32) -> Option<&Arc<DpPortInfo>> {
        self.ports.get(&dp_port)
    }

    /// A copy with `info` added (or replaced).
    pub fn with(&self, info: DpPortInfo) -> DpPortMap {
        let mut ports = self.ports.clone();
        ports.insert(info.dp_port, Arc::new(info));
        DpPortMap { ports }
    }

    /// A copy without `dp_port`.
    pub fn without(&self, dp_port: u32) -> DpPortMap {
        let mut ports = self.ports.clone();
        ports.remove(&dp_port);
        DpPortMap { ports }
    }

    /// All ports.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<DpPortInfo>> {
        self.ports.values()
    }
}

/// A packet sent to the controller by a datapath action, on its way to the control thread.
pub struct PacketIn {
    /// Bridge name.
    pub bridge: String,
    /// Datapath port it came in on.
    pub dp_port: u32,
    /// What the action said.
    pub action: ControllerAction,
    /// The packet, as modified by earlier actions.
    pub packet: Vec<u8>,
}

/// Flow-mods built by `learn` actions for a bridge, on their way to the control thread (see
/// [`rvs_flowcache::learn`]): from an upcall, or again from the revalidator when the megaflow
/// that learned them saw traffic.
pub struct Learned {
    /// Bridge name.
    pub bridge: String,
    /// The flow-mods, in order.
    pub flow_mods: Arc<[FlowMod]>,
}

/// Depth of the learned-flow queue to the control thread.
pub const LEARN_QUEUE: usize = 4096;

impl Drop for DatapathShared {
    fn drop(&mut self) {
        // SAFETY: closing the eventfd this struct owns.
        unsafe { libc::close(self.packet_in_fd) };
    }
}

/// State shared by the PMD threads and the control side.
pub struct DatapathShared {
    /// Datapath ports.
    pub ports: ArcSwap<DpPortMap>,
    /// Packet-ins to the control thread (bounded; a full queue drops and counts).
    pub packet_in_tx: Sender<PacketIn>,
    /// An eventfd PMDs write after queueing packet-ins, to wake the control thread.
    pub packet_in_fd: std::os::fd::RawFd,
    /// Learned flow-mods to the control thread (bounded; a full queue drops and counts: the
    /// revalidator hands them over again while the megaflow has traffic).
    learn_tx: Sender<Learned>,
    /// The control thread's end of the learned-flow queue.
    pub learn_rx: Receiver<Learned>,
    /// Learned flow-mods dropped because the queue was full.
    pub learn_dropped: AtomicU64,
    next_flow_id: AtomicU64,
    epoch: Instant,
}

impl DatapathShared {
    /// A datapath with no ports.
    pub fn new(packet_in_tx: Sender<PacketIn>) -> Self {
        // SAFETY: eventfd(2) with valid flags; the fd lives as long as the datapath.
        let packet_in_fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        let (learn_tx, learn_rx) = crossbeam_channel::bounded(LEARN_QUEUE);
        DatapathShared {
            ports: ArcSwap::from_pointee(DpPortMap::default()),
            packet_in_tx,
            packet_in_fd,
            learn_tx,
            learn_rx,
            learn_dropped: AtomicU64::new(0),
            next_flow_id: AtomicU64::new(1),
            epoch: Instant::now(),
        }
    }

    /// Wakes the control thread to collect packet-ins.
    pub fn wake_control(&self) {
        let one: u64 = 1;
        // SAFETY: writing 8 bytes from a valid u64 to our eventfd.
        unsafe { libc::write(self.packet_in_fd, &one as *const u64 as *const libc::c_void, 8) };
    }

    /// Hands learned flow-mods of `bridge` to the control thread and wakes it (slow path:
    /// upcalls and revalidation only).
    pub fn send_learned(&self, bridge: &str, flow_mods: Arc<[FlowMod]>) {
        if flow_mods.is_empty() {
            return;
        }
        if self.learn_tx.try_send(Learned { bridge: bridge.to_string(), flow_mods }).is_err() {
            self.learn_dropped.fetch_add(1, Ordering::Relaxed);
        }
        self.wake_control();
    }

    /// A fresh megaflow id.
    pub fn next_flow_id(&self) -> u64 {
        self.next_flow_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Milliseconds since the datapath started (the monotonic clock of every `now_ms`).
    pub fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }
}
