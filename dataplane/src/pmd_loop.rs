//! The PMD thread: poll, classify, act, transmit.
//!
//! # The loop (one "breath", STYLE example 15)
//! For each receive queue assigned to this PMD: `rx_burst` up to 32 packets, then
//! [`Pmd::process_batch`]:
//! 1. **Classify.** Extract each packet's flow key (malformed frames are counted by reason and
//!    dropped), look it up in the exact-match cache, then in the megaflow cache. Hits are
//!    grouped by megaflow (OVS's `packet_batch_per_flow`): one `Arc` clone per distinct
//!    megaflow per batch, not per packet.
//! 2. **Upcall** the misses, one by one: look again (an earlier upcall of this batch may have
//!    covered it), else translate, install the megaflow (unless the flow limit is reached)
//!    and group the packet with it. A packet is never dropped because it missed.
//! 3. **Execute** each group's actions on its packets, in order: header rewrites in place,
//!    outputs into per-port transmit buffers (a copy for every output but the last), packet-ins
//!    to the control thread. Count the megaflow's traffic once per group.
//!
//! After all queues: flush transmit buffers (one `tx_burst` and `flush` per port with traffic).
//!
//! # Housekeeping
//! Between batches the PMD drains its command queue (ports added or removed, megaflows
//! deleted by the revalidator, synchronisation points), and every [`PUBLISH_EVERY`]
//! iterations publishes its counters and re-ranks megaflow subtables.
//!
//! # Idle back-off
//! With `pmd-sleep-max` set, a PMD that found no packet for a while sleeps in `poll(2)` on its
//! queues' file descriptors and its wake-up eventfd, for at most that long; traffic or a
//! command wakes it at once. At 0 (the default, as in OVS) it spins.
//!
//! # Invariants
//! No allocation, lock or syscall per packet on the hit path. The PMD is the only writer of
//! its caches, counters and its megaflows' counters.

use std::os::fd::RawFd;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arrayvec::ArrayVec;
use crossbeam_channel::Receiver;
use rvs_flowcache::dpaction::DpAction;
use rvs_flowcache::emc::{emc_hash, Emc, EmcInsertPolicy, DEFAULT_ENTRIES};
use rvs_flowcache::megaflow::{Megaflow, MegaflowCache, XlateDeps};
use rvs_flowcache::xlate::{xlate, XlateInput};
use rvs_flowcache::FlowKey;
use rvs_packet::{PacketBatch, PacketBuf, BURST_SIZE};
use rvs_pmd::{RxQueue, TxQueue};

use crate::datapath::{DatapathShared, PacketIn};
use crate::drops::DropReason;
use crate::pmd_stats::{cycles, PmdCounters, PmdStatsShared};

/// Iterations between counter publications and subtable re-ranking.
pub const PUBLISH_EVERY: u64 = 1024;
/// Default most megaflows per PMD (OVS's `flow-limit` ceiling).
pub const DEFAULT_FLOW_LIMIT: usize = 200_000;

/// Run-time settings of a PMD, changed by [`PmdCommand::Configure`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PmdConfig {
    /// Longest idle sleep, in microseconds (0 = always spin).
    pub sleep_max_us: u64,
    /// Insert into the EMC once every this many megaflow hits (0 = never, 1 = always).
    pub emc_insert_inv_prob: u32,
    /// Most megaflows installed.
    pub flow_limit: usize,
}

impl Default for PmdConfig {
    fn default() -> Self {
        PmdConfig { sleep_max_us: 0, emc_insert_inv_prob: EmcInsertPolicy::DEFAULT_INV_PROB, flow_limit: DEFAULT_FLOW_LIMIT }
    }
}

/// Messages from the control side to a PMD, applied between batches.
pub enum PmdCommand {
    /// Start polling a receive queue of datapath port `dp_port`.
    AddRxq {
        /// Port.
        dp_port: u32,
        /// Queue index, for display.
        queue: usize,
        /// The queue.
        rxq: Box<dyn RxQueue>,
    },
    /// Make `dp_port` a possible output.
    AddTxq {
        /// Port.
        dp_port: u32,
        /// This PMD's transmit handle for it.
        txq: Box<dyn TxQueue>,
    },
    /// Stop using `dp_port` (its queues are dropped) and flush megaflows that use it.
    RemovePort {
        /// Port.
        dp_port: u32,
    },
    /// Remove these megaflows (already marked dead) from the caches.
    DeleteFlows(Vec<Arc<Megaflow>>),
    /// Remove every megaflow.
    FlushFlows,
    /// Reply on the channel once every earlier command is applied and the batch in progress
    /// is finished.
    Sync(crossbeam_channel::Sender<()>),
    /// New settings.
    Configure(PmdConfig),
    /// Leave the loop.
    Stop,
}

/// The part of a PMD other threads see.
pub struct PmdShared {
    /// PMD index.
    pub id: usize,
    /// CPU it is pinned to, if any.
    pub core: Option<usize>,
    /// Published counters.
    pub stats: PmdStatsShared,
    /// Its installed megaflows, by id, for the revalidator and `dpctl/dump-flows`.
    pub registry: Mutex<std::collections::HashMap<u64, Arc<Megaflow>>>,
    /// Commands to it.
    pub commands: crossbeam_channel::Sender<PmdCommand>,
    /// Written to wake the PMD from an idle sleep.
    pub wake_fd: RawFd,
    /// Receive queues it polls: (dp port, queue index), for `pmd-rxq-show`.
    pub rxqs: Mutex<Vec<(u32, usize)>>,
}

impl PmdShared {
    /// Sends a command and wakes the PMD.
    pub fn send(&self, cmd: PmdCommand) {
        // The PMD outlives every sender of commands except at shutdown, when it is fine to lose
        // them.
        let _ = self.commands.send(cmd);
        let one: u64 = 1;
        // SAFETY: writing 8 bytes from a valid u64 to an eventfd we own.
        unsafe { libc::write(self.wake_fd, &one as *const u64 as *const libc::c_void, 8) };
    }

    /// Sends a command and waits until the PMD has applied it and every earlier one.
    pub fn send_sync(&self, cmd: PmdCommand) {
        self.send(cmd);
        self.sync();
    }

    /// Waits until the PMD has applied every command sent so far and finished its batch.
    pub fn sync(&self) {
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.send(PmdCommand::Sync(tx));
        let _ = rx.recv();
    }
}

impl Drop for PmdShared {
    fn drop(&mut self) {
        // SAFETY: closing the eventfd this struct owns.
        unsafe { libc::close(self.wake_fd) };
    }
}

struct Rxq {
    dp_port: u32,
    q: Box<dyn RxQueue>,
}

struct TxSlot {
    q: Box<dyn TxQueue>,
    pending: PacketBatch,
}

/// A batch's packets grouped by megaflow.
struct Group {
    flow: Arc<Megaflow>,
    packets: ArrayVec<u8, BURST_SIZE>,
}

/// Per-batch scratch space, reused.
struct Scratch {
    keys: [FlowKey; BURST_SIZE],
    slots: [Option<PacketBuf>; BURST_SIZE],
    misses: ArrayVec<u8, BURST_SIZE>,
    groups: ArrayVec<Group, BURST_SIZE>,
}

/// A PMD thread's state. Built by the control side, then moved into its thread.
pub struct Pmd {
    shared: Arc<PmdShared>,
    dp: Arc<DatapathShared>,
    commands: Receiver<PmdCommand>,
    rxqs: Vec<Rxq>,
    txqs: Vec<Option<TxSlot>>,
    emc: Emc,
    dpcls: MegaflowCache,
    emc_policy: EmcInsertPolicy,
    config: PmdConfig,
    counters: PmdCounters,
    scratch: Box<Scratch>,
    now_ms: u64,
    idle_iterations: u32,
    stop: bool,
}

impl Pmd {
    /// A PMD with no queues. Returns the state to run and the handle to keep.
    pub fn new(id: usize, core: Option<usize>, dp: Arc<DatapathShared>, config: PmdConfig) -> (Pmd, Arc<PmdShared>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        // SAFETY: eventfd(2) with valid flags; the fd is owned by PmdShared.
        let wake_fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        let shared = Arc::new(PmdShared {
            id,
            core,
            stats: PmdStatsShared::default(),
            registry: Mutex::new(Default::default()),
            commands: tx,
            wake_fd,
            rxqs: Mutex::new(Vec::new()),
        });
        let pmd = Pmd {
            shared: shared.clone(),
            dp,
            commands: rx,
            rxqs: Vec::new(),
            txqs: Vec::new(),
            emc: Emc::new(DEFAULT_ENTRIES),
            dpcls: MegaflowCache::new(),
            emc_policy: EmcInsertPolicy::new(config.emc_insert_inv_prob, 0x9e37_79b9 ^ id as u32),
            config,
            counters: PmdCounters::default(),
            scratch: Box::new(Scratch {
                keys: [FlowKey::ZERO; BURST_SIZE],
                slots: std::array::from_fn(|_| None),
                misses: ArrayVec::new(),
                groups: ArrayVec::new(),
            }),
            now_ms: 0,
            idle_iterations: 0,
            stop: false,
        };
        (pmd, shared)
    }

    /// Runs until a [`PmdCommand::Stop`] arrives.
    pub fn run(mut self) {
        if let Some(core) = self.shared.core {
            pin_to_core(core);
        }
        let mut batch = PacketBatch::new();
        while !self.stop {
            self.iteration(&mut batch);
        }
        self.flush_tx();
        self.shared.stats.publish(&self.counters);
    }

    /// One pass over every receive queue, then the transmit flush and housekeeping. Public
    /// for benchmarks that drive a PMD without a thread.
    pub fn iteration(&mut self, batch: &mut PacketBatch) {
        let start = cycles();
        self.now_ms = self.dp.now_ms();
        let mut received = 0;
        for i in 0..self.rxqs.len() {
            let rxq = &mut self.rxqs[i];
            let n = rxq.q.rx_burst(batch);
            if n > 0 {
                let dp_port = rxq.dp_port;
                received += n;
                self.process_batch(batch, dp_port);
            }
        }
        self.flush_tx();
        self.counters.iterations += 1;
        let spent = cycles().wrapping_sub(start);
        if received > 0 {
            self.counters.busy_cycles += spent;
            self.idle_iterations = 0;
        } else {
            self.counters.idle_cycles += spent;
            self.idle_iterations = self.idle_iterations.saturating_add(1);
        }
        self.apply_commands();
        if self.counters.iterations % PUBLISH_EVERY == 0 {
            self.housekeeping();
        }
        if received == 0 && self.config.sleep_max_us > 0 && self.idle_iterations > 64 {
            let t = cycles();
            self.idle_sleep();
            self.counters.idle_cycles += cycles().wrapping_sub(t);
        }
    }

    fn housekeeping(&mut self) {
        self.shared.stats.publish(&self.counters);
        self.dpcls.rank();
    }

    /// Classifies, upcalls and executes one received batch (all from `dp_port`).
    pub fn process_batch(&mut self, batch: &mut PacketBatch, dp_port: u32) {
        let n = batch.len();
        self.counters.rx_packets += n as u64;
        let s = &mut *self.scratch;
        s.groups.clear();
        s.misses.clear();
        for (i, mut pkt) in batch.drain().enumerate() {
            pkt.meta.in_port = dp_port;
            let key = &mut s.keys[i];
            match key.extract(pkt.data(), dp_port) {
                Ok(off) => {
                    pkt.meta.l3_ofs = off.l3;
                    pkt.meta.l4_ofs = off.l4;
                }
                Err(m) => {
                    self.counters.drop(DropReason::Malformed(m), 1);
                    s.slots[i] = None;
                    continue;
                }
            }
            s.slots[i] = Some(pkt);
            let hash = emc_hash(key);
            if let Some(flow) = self.emc.lookup(key, hash) {
                self.counters.emc_hits += 1;
                add_to_group(&mut s.groups, flow, i);
            } else if let Some(flow) = self.dpcls.lookup(key) {
                self.counters.megaflow_hits += 1;
                if self.emc_policy.should_insert() {
                    self.emc.insert(key, hash, flow);
                }
                add_to_group(&mut s.groups, flow, i);
            } else {
                s.misses.push(i as u8);
            }
        }
        for m in 0..self.scratch.misses.len() {
            let i = self.scratch.misses[m] as usize;
            let key = self.scratch.keys[i];
            if let Some(flow) = self.dpcls.lookup(&key) {
                let flow = flow.clone();
                self.counters.megaflow_hits += 1;
                add_to_group(&mut self.scratch.groups, &flow, i);
                continue;
            }
            match self.upcall(&key) {
                Ok(flow) => add_to_group(&mut self.scratch.groups, &flow, i),
                Err(reason) => {
                    self.counters.drop(reason, 1);
                    self.scratch.slots[i] = None;
                }
            }
        }
        let groups = std::mem::take(&mut self.scratch.groups);
        let packet_ins = self.counters.packet_ins;
        for g in &groups {
            self.execute_group(g);
        }
        self.scratch.groups = groups;
        self.scratch.groups.clear();
        if self.counters.packet_ins != packet_ins {
            self.dp.wake_control();
        }
    }

    /// Translates a missed key and installs its megaflow.
    fn upcall(&mut self, key: &FlowKey) -> Result<Arc<Megaflow>, DropReason> {
        let t0 = Instant::now();
        let ports = self.dp.ports.load();
        let info = ports.get(key.in_port).ok_or(DropReason::NoSuchPort)?;
        let br = &info.bridge;
        let pipeline = br.tables.snapshot();
        let conf = br.xlate.load_full();
        let mac_gen = br.mac_generation();
        let mut of_key = *key;
        of_key.in_port = info.ofport.0;
        let out = xlate(&XlateInput {
            pipeline: &pipeline,
            bridge: &conf.bridge,
            macs: &br.macs,
            key: of_key,
            now_ms: self.now_ms,
            may_learn: true,
            trace: false,
        });
        let deps = XlateDeps::new(out.rules, pipeline.version(), out.used_normal.then_some(mac_gen), conf.generation);
        let flow = Arc::new(Megaflow::new(self.dp.next_flow_id(), key, &out.wc, out.actions, deps, self.now_ms));
        if self.dpcls.len() < self.config.flow_limit && self.dpcls.insert(flow.clone()) {
            self.shared.registry.lock().unwrap_or_else(|e| e.into_inner()).insert(flow.id, flow.clone());
            self.emc.insert(key, emc_hash(key), &flow);
            self.counters.upcalls += 1;
        } else {
            self.counters.upcalls_failed += 1;
        }
        self.counters.upcall_ns += t0.elapsed().as_nanos() as u64;
        Ok(flow)
    }

    fn execute_group(&mut self, g: &Group) {
        let actions = &g.flow.actions;
        let mut bytes = 0u64;
        let mut tcp_flags = 0u16;
        let n_pkts = g.packets.len() as u64;
        for &i in &g.packets {
            let i = i as usize;
            let Some(mut pkt) = self.scratch.slots[i].take() else { continue };
            bytes += pkt.len() as u64;
            tcp_flags |= self.scratch.keys[i].tcp_flags;
            if actions.is_empty() {
                self.counters.drop(DropReason::Actions, 1);
                continue;
            }
            let last = actions.len() - 1;
            for (ai, a) in actions.iter().enumerate() {
                match a {
                    DpAction::Output(port) => {
                        if ai == last {
                            self.enqueue_tx(*port, pkt);
                            break;
                        }
                        let copy = pkt.duplicate();
                        self.enqueue_tx(*port, copy);
                    }
                    DpAction::Controller(c) => {
                        self.counters.packet_ins += 1;
                        let bridge = self.dp.ports.load().get(pkt.meta.in_port).map(|p| p.bridge.name.clone()).unwrap_or_default();
                        let pi = PacketIn {
                            bridge,
                            dp_port: pkt.meta.in_port,
                            action: (**c).clone(),
                            packet: pkt.data().to_vec(),
                        };
                        if self.dp.packet_in_tx.try_send(pi).is_err() {
                            self.counters.drop(DropReason::PacketInQueueFull, 1);
                        }
                        if ai == last {
                            break;
                        }
                    }
                    other => {
                        if other.apply(&mut pkt).is_err() {
                            self.counters.drop(DropReason::RewriteFailed, 1);
                            break;
                        }
                        if ai == last {
                            // Rewrites with no output after them: nothing leaves.
                            self.counters.drop(DropReason::Actions, 1);
                        }
                    }
                }
            }
        }
        g.flow.stats.add(n_pkts, bytes, self.now_ms, tcp_flags);
    }

    #[inline]
    fn enqueue_tx(&mut self, port: u32, pkt: PacketBuf) {
        let Some(Some(slot)) = self.txqs.get_mut(port as usize) else {
            self.counters.drop(DropReason::NoSuchOutputPort, 1);
            return;
        };
        if let Err(pkt) = slot.pending.push(pkt) {
            let sent = slot.q.tx_burst(&mut slot.pending);
            self.counters.tx_packets += sent as u64;
            self.counters.tx_batches += 1;
            let left = slot.pending.len() as u64;
            if left > 0 {
                self.counters.drop(DropReason::TxQueueFull, left);
                slot.pending.clear();
            }
            let _ = slot.pending.push(pkt);
        }
    }

    fn flush_tx(&mut self) {
        for slot in self.txqs.iter_mut().flatten() {
            if slot.pending.is_empty() {
                continue;
            }
            let sent = slot.q.tx_burst(&mut slot.pending);
            self.counters.tx_packets += sent as u64;
            self.counters.tx_batches += 1;
            let left = slot.pending.len() as u64;
            if left > 0 {
                self.counters.drop(DropReason::TxQueueFull, left);
                slot.pending.clear();
            }
            slot.q.flush();
        }
    }

    fn apply_commands(&mut self) {
        while let Ok(cmd) = self.commands.try_recv() {
            self.apply(cmd);
        }
    }

    fn apply(&mut self, cmd: PmdCommand) {
        match cmd {
            PmdCommand::AddRxq { dp_port, queue, rxq } => {
                self.rxqs.push(Rxq { dp_port, q: rxq });
                self.shared.rxqs.lock().unwrap_or_else(|e| e.into_inner()).push((dp_port, queue));
            }
            PmdCommand::AddTxq { dp_port, txq } => {
                let i = dp_port as usize;
                if self.txqs.len() <= i {
                    self.txqs.resize_with(i + 1, || None);
                }
                self.txqs[i] = Some(TxSlot { q: txq, pending: PacketBatch::new() });
            }
            PmdCommand::RemovePort { dp_port } => {
                self.rxqs.retain(|q| q.dp_port != dp_port);
                self.shared.rxqs.lock().unwrap_or_else(|e| e.into_inner()).retain(|(p, _)| *p != dp_port);
                if let Some(slot) = self.txqs.get_mut(dp_port as usize) {
                    *slot = None;
                }
                // Megaflows received on or sending to the port are gone with it.
                let gone: Vec<Arc<Megaflow>> = self
                    .dpcls
                    .iter()
                    .filter(|f| f.key.in_port == dp_port || f.actions.contains(&DpAction::Output(dp_port)))
                    .cloned()
                    .collect();
                self.delete_flows(gone);
            }
            PmdCommand::DeleteFlows(flows) => self.delete_flows(flows),
            PmdCommand::FlushFlows => {
                let all = self.dpcls.clear();
                self.emc.clear();
                let mut reg = self.shared.registry.lock().unwrap_or_else(|e| e.into_inner());
                for f in all {
                    f.dead.store(true, Ordering::Relaxed);
                    reg.remove(&f.id);
                }
            }
            PmdCommand::Sync(reply) => {
                self.shared.stats.publish(&self.counters);
                let _ = reply.send(());
            }
            PmdCommand::Configure(c) => {
                self.config = c;
                self.emc_policy.set_inv_prob(c.emc_insert_inv_prob);
            }
            PmdCommand::Stop => self.stop = true,
        }
    }

    fn delete_flows(&mut self, flows: Vec<Arc<Megaflow>>) {
        let mut reg = self.shared.registry.lock().unwrap_or_else(|e| e.into_inner());
        for f in flows {
            f.dead.store(true, Ordering::Relaxed);
            self.dpcls.remove(&f);
            reg.remove(&f.id);
        }
        drop(reg);
        self.emc.sweep_dead();
    }

    /// Sleeps until a queue has packets, a command arrives, or `sleep_max_us` passes.
    fn idle_sleep(&mut self) {
        self.counters.sleeps += 1;
        let mut fds: ArrayVec<libc::pollfd, 64> = ArrayVec::new();
        let _ = fds.try_push(libc::pollfd { fd: self.shared.wake_fd, events: libc::POLLIN, revents: 0 });
        let mut all_pollable = true;
        for q in &self.rxqs {
            match q.q.wait_fd() {
                Some(fd) => {
                    let _ = fds.try_push(libc::pollfd { fd, events: libc::POLLIN, revents: 0 });
                }
                None => all_pollable = false,
            }
        }
        let us = self.config.sleep_max_us;
        if all_pollable || !self.rxqs.is_empty() {
            // Queues without an fd (memory ports) cannot wake us: cap the sleep short.
            let cap = if all_pollable { us } else { us.min(100) };
            let ts = libc::timespec { tv_sec: (cap / 1_000_000) as libc::time_t, tv_nsec: ((cap % 1_000_000) * 1000) as libc::c_long };
            // SAFETY: fds points to fds.len() initialised pollfd structs; ts is valid.
            unsafe { libc::ppoll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, &ts, std::ptr::null()) };
        } else {
            let ts = libc::timespec { tv_sec: (us / 1_000_000) as libc::time_t, tv_nsec: ((us % 1_000_000) * 1000) as libc::c_long };
            // SAFETY: as above, with only the wake fd.
            unsafe { libc::ppoll(fds.as_mut_ptr(), 1, &ts, std::ptr::null()) };
        }
        let mut buf = 0u64;
        // SAFETY: draining the eventfd into a valid u64; non-blocking.
        unsafe { libc::read(self.shared.wake_fd, &mut buf as *mut u64 as *mut libc::c_void, 8) };
    }

    /// Counters so far (for benchmarks and tests that drive the PMD directly).
    pub fn counters(&self) -> &PmdCounters {
        &self.counters
    }

    /// Applies pending commands now (for benchmarks and tests that drive the PMD directly).
    pub fn apply_pending_commands(&mut self) {
        self.apply_commands();
    }

    /// Number of megaflows installed.
    pub fn n_megaflows(&self) -> usize {
        self.dpcls.len()
    }
}

/// Adds packet `i` to the group of `flow`, creating the group if needed.
#[inline(always)]
fn add_to_group(groups: &mut ArrayVec<Group, BURST_SIZE>, flow: &Arc<Megaflow>, i: usize) {
    // Most batches carry one or a few flows, and consecutive packets tend to share one: look
    // at the last group first.
    if let Some(g) = groups.last_mut() {
        if Arc::ptr_eq(&g.flow, flow) {
            g.packets.push(i as u8);
            return;
        }
    }
    for g in groups.iter_mut() {
        if Arc::ptr_eq(&g.flow, flow) {
            g.packets.push(i as u8);
            return;
        }
    }
    let mut packets = ArrayVec::new();
    packets.push(i as u8);
    groups.push(Group { flow: flow.clone(), packets });
}

/// Pins the calling thread to `core`. Failures are reported, not fatal.
pub fn pin_to_core(core: usize) {
    // SAFETY: cpu_set_t is plain data; CPU_SET writes within it; sched_setaffinity reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            eprintln!("rvs: could not pin PMD thread to core {core}: {}", std::io::Error::last_os_error());
        }
    }
}
