//! The PMD thread: poll, classify, act, transmit.
//!
//! # The loop (one "breath", STYLE example 15)
//! For each receive queue assigned to this PMD: `rx_burst` up to 32 packets into the PMD's
//! own batch, then process it (`Pmd::process_rx`):
//! 1. **Extract** each packet's flow key and its word map (malformed frames are counted by
//!    reason and dropped), and hash the map's words for the exact-match cache.
//! 2. **Look up** each key in the exact-match cache, then the misses in the megaflow cache.
//!    The answers are *borrowed* from the caches (no reference counting per packet): every
//!    change to the caches (EMC insertions, new megaflows) waits until the batch is done.
//! 3. **Upcall** what missed both, one by one: an earlier upcall of this batch may already
//!    cover it, else translate. A packet is never dropped because it missed.
//! 4. **Group** the packets by megaflow (OVS's `packet_batch_per_flow`) and count each
//!    group's traffic on its megaflow once.
//! 5. **Execute.** When the whole batch is on one megaflow whose only action is an output to a
//!    port with an empty transmit buffer, the batch *becomes* that buffer (a pointer swap).
//!    Otherwise packets of output-only groups move straight to their port's buffer, and the
//!    others run their group's action list: header rewrites in place, outputs (a copy for every
//!    output but the last), packet-ins to the control thread.
//! 6. **After the batch:** the EMC insertions decided in step 2 (1 in
//!    `emc-insert-inv-prob` megaflow hits), then the new megaflows are installed (unless the
//!    flow limit is reached) and put in the EMC.
//!
//! After all queues: flush transmit buffers (one `tx_burst` and `flush` per port with traffic).
//!
//! # Costs (`rvs-benches`, one core, 64-byte frames from a replaying memory port)
//! About 18 ns per packet on the EMC path, 25 ns with 10,000 flows (EMC and megaflow
//! cache), 50 ns for 100,000 flows over 1,000 rules (megaflow cache), 0.5 us per flow setup.
//! Keys are written whole word by whole word (see [`rvs_flowcache::key`]): the EMC hash reads
//! them right after, and loads that span several smaller stores stall.
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

use std::hash::{BuildHasherDefault, Hasher};
use std::os::fd::RawFd;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arrayvec::ArrayVec;
use crossbeam_channel::Receiver;
use rvs_flowcache::dpaction::DpAction;
use rvs_flowcache::emc::{Emc, EmcInsertPolicy, EmcKey, DEFAULT_ENTRIES};
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
/// Iterations between readings of the millisecond clock (see [`Pmd::iteration`]).
const CLOCK_EVERY: u64 = 16;

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

/// A PMD's installed megaflows by id. Ids are unique counters: a multiplicative hash serves
/// (SipHash cost more than the rest of a megaflow's installation).
pub type MegaflowRegistry = std::collections::HashMap<u64, Arc<Megaflow>, BuildHasherDefault<FlowIdHasher>>;

/// The hasher of [`MegaflowRegistry`]: Fibonacci hashing of a `u64` id.
#[derive(Default)]
pub struct FlowIdHasher(u64);

impl Hasher for FlowIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ *b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, id: u64) {
        self.0 = (self.0 ^ id).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
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
    pub registry: Mutex<MegaflowRegistry>,
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
    /// Boxed, so that a whole received batch can take its place by a pointer swap.
    pending: Box<PacketBatch>,
}

impl TxSlot {
    /// Hands the buffered packets to the queue; what it does not take is dropped and counted.
    fn send(&mut self, counters: &mut PmdCounters) {
        let sent = self.q.tx_burst(&mut self.pending);
        counters.tx_packets += sent as u64;
        counters.tx_batches += 1;
        let left = self.pending.len() as u64;
        if left > 0 {
            counters.drop(DropReason::TxQueueFull, left);
            self.pending.clear();
        }
    }
}

/// The PMD's transmit handles by datapath port, each with a buffer of up to a burst of packets
/// waiting to go.
#[derive(Default)]
struct TxPorts {
    slots: Vec<Option<TxSlot>>,
}

impl TxPorts {
    /// Buffers `pkt` for `port`, sending the buffer first if it is full.
    #[inline(always)]
    fn enqueue(&mut self, port: u32, pkt: PacketBuf, counters: &mut PmdCounters) {
        let Some(Some(slot)) = self.slots.get_mut(port as usize) else {
            counters.drop(DropReason::NoSuchOutputPort, 1);
            return;
        };
        if let Err(pkt) = slot.pending.push(pkt) {
            slot.send(counters);
            let _ = slot.pending.push(pkt);
        }
    }

    /// Makes `batch` the transmit buffer of `port` if that buffer is empty (swapping the two:
    /// `batch` comes back empty). False, and nothing done, if the port is gone or its buffer
    /// holds packets.
    #[inline]
    fn take_whole(&mut self, port: u32, batch: &mut Box<PacketBatch>) -> bool {
        match self.slots.get_mut(port as usize) {
            Some(Some(slot)) if slot.pending.is_empty() => {
                std::mem::swap(&mut slot.pending, batch);
                true
            }
            _ => false,
        }
    }

    /// Sends every buffer that holds packets, and flushes those queues.
    fn flush(&mut self, counters: &mut PmdCounters) {
        for slot in self.slots.iter_mut().flatten() {
            if !slot.pending.is_empty() {
                slot.send(counters);
                slot.q.flush();
            }
        }
    }
}

/// What a group's packets need once classified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Disposition {
    /// No actions: drop (and count).
    Drop,
    /// A single output: move each packet straight to the port's transmit buffer.
    Output(u32),
    /// Anything else: run the action list on each packet ([`execute_actions`]).
    Execute,
}

impl Disposition {
    fn of(actions: &[DpAction]) -> Disposition {
        match actions {
            [] => Disposition::Drop,
            [DpAction::Output(port)] => Disposition::Output(*port),
            _ => Disposition::Execute,
        }
    }
}

/// A batch's packets that share a megaflow (OVS's `packet_batch_per_flow`), with their
/// traffic, counted once per group.
struct Group<'a> {
    flow: &'a Megaflow,
    disposition: Disposition,
    packets: ArrayVec<u8, BURST_SIZE>,
    bytes: u64,
    tcp_flags: u16,
}

/// Marks a packet that belongs to no group (dropped before execution).
const NO_GROUP: u8 = u8::MAX;

/// Per-batch scratch space, reused.
struct Scratch {
    keys: [FlowKey; BURST_SIZE],
    emc_keys: [EmcKey; BURST_SIZE],
    /// Packets waiting for their group's actions ([`Disposition::Execute`]).
    slots: [Option<PacketBuf>; BURST_SIZE],
}

// Packet sets of a batch are `u32` bitmaps.
const _: () = assert!(BURST_SIZE <= 32);

/// A PMD thread's state. Built by the control side, then moved into its thread.
pub struct Pmd {
    shared: Arc<PmdShared>,
    dp: Arc<DatapathShared>,
    commands: Receiver<PmdCommand>,
    rxqs: Vec<Rxq>,
    txqs: TxPorts,
    emc: Emc,
    dpcls: MegaflowCache,
    emc_policy: EmcInsertPolicy,
    config: PmdConfig,
    counters: PmdCounters,
    scratch: Box<Scratch>,
    /// The batch each receive burst lands in (boxed: see [`TxPorts::take_whole`]).
    rx_batch: Box<PacketBatch>,
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
            txqs: TxPorts::default(),
            emc: Emc::new(DEFAULT_ENTRIES),
            dpcls: MegaflowCache::new(),
            emc_policy: EmcInsertPolicy::new(config.emc_insert_inv_prob, 0x9e37_79b9 ^ id as u32),
            config,
            counters: PmdCounters::default(),
            scratch: Box::new(Scratch {
                keys: [FlowKey::ZERO; BURST_SIZE],
                emc_keys: [EmcKey { map: 0, hash: 0 }; BURST_SIZE],
                slots: std::array::from_fn(|_| None),
            }),
            rx_batch: Box::new(PacketBatch::new()),
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
        while !self.stop {
            self.iteration();
        }
        self.flush_tx();
        self.shared.stats.publish(&self.counters);
    }

    /// One pass over every receive queue, then the transmit flush and housekeeping. Public
    /// for benchmarks and tests that drive a PMD without a thread.
    pub fn iteration(&mut self) {
        let start = cycles();
        // The millisecond clock (a vDSO call, about as dear as switching a packet) is read
        // every CLOCK_EVERY iterations and after sleeps, so `now_ms` lags by at most those
        // iterations' time: microseconds, against the seconds that megaflow idle times and
        // MAC ages are counted in.
        if self.counters.iterations.is_multiple_of(CLOCK_EVERY) {
            self.now_ms = self.dp.now_ms();
        }
        let mut received = 0;
        for i in 0..self.rxqs.len() {
            let rxq = &mut self.rxqs[i];
            let n = rxq.q.rx_burst(&mut self.rx_batch);
            if n > 0 {
                let dp_port = rxq.dp_port;
                received += n;
                self.process_rx(dp_port);
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
        if self.counters.iterations.is_multiple_of(PUBLISH_EVERY) {
            self.housekeeping();
        }
        if received == 0 && self.config.sleep_max_us > 0 && self.idle_iterations > 64 {
            let t = cycles();
            self.idle_sleep();
            self.counters.idle_cycles += cycles().wrapping_sub(t);
            self.now_ms = self.dp.now_ms();
        }
    }

    fn housekeeping(&mut self) {
        self.shared.stats.publish(&self.counters);
        self.dpcls.rank();
    }

    /// Classifies, upcalls and executes a batch of packets received on `dp_port`, as
    /// [`Pmd::iteration`] does with each burst it receives; `batch` is left empty. Packets go to
    /// transmit buffers, sent by the next flush (the end of the next iteration).
    pub fn process_batch(&mut self, batch: &mut PacketBatch, dp_port: u32) {
        debug_assert!(self.rx_batch.is_empty());
        std::mem::swap(batch, &mut *self.rx_batch);
        self.process_rx(dp_port);
    }

    /// Classifies, upcalls and executes the received batch (all from `dp_port`), leaving it
    /// empty.
    ///
    /// Reads: the packets' headers. Writes: `meta.in_port`, `meta.l3_ofs`, `meta.l4_ofs`;
    /// the caches (after the batch: EMC insertions, new megaflows); counters.
    fn process_rx(&mut self, dp_port: u32) {
        let n = self.rx_batch.len();
        self.counters.rx_packets += n as u64;
        let Pmd { scratch, emc, dpcls, counters, emc_policy, txqs, dp, shared, config, now_ms, rx_batch, .. } = self;
        let Scratch { keys, emc_keys, slots } = &mut **scratch;
        let now_ms = *now_ms;

        // 1. Extract every key and hash it for the exact-match cache.
        let mut valid = 0u32;
        for (i, pkt) in rx_batch.iter_mut().enumerate() {
            pkt.meta.in_port = dp_port;
            match keys[i].extract_mapped(pkt.data(), dp_port) {
                Ok((off, map)) => {
                    pkt.meta.l3_ofs = off.l3;
                    pkt.meta.l4_ofs = off.l4;
                    let k = EmcKey::new(&keys[i], map);
                    emc_keys[i] = k;
                    valid |= 1 << i;
                }
                Err(m) => counters.drop(DropReason::Malformed(m), 1),
            }
        }

        // 2. Look up: exact-match cache, then megaflow cache. Megaflows made by this batch's
        //    upcalls are installed only after it, so that the answers can be borrowed from
        //    the caches meanwhile (no reference count traffic per packet). Scopes, not `drop`
        //    calls, end those borrows: moving an `ArrayVec` copies it.
        let mut new_flows: ArrayVec<(Arc<Megaflow>, u8), BURST_SIZE> = ArrayVec::new();
        {
            let mut flows: [Option<&Arc<Megaflow>>; BURST_SIZE] = [None; BURST_SIZE];
            let mut emc_inserts: ArrayVec<(u8, &Arc<Megaflow>), BURST_SIZE> = ArrayVec::new();
            let mut missed = 0u32;
            for i in bits(valid) {
                match emc.lookup_key(&keys[i], emc_keys[i]) {
                    Some(f) => flows[i] = Some(f),
                    None => missed |= 1 << i,
                }
            }
            counters.emc_hits += (valid & !missed).count_ones() as u64;
            let mut upcalls = 0u32;
            if missed != 0 {
                let (mut found, mut probes) = (0u32, 0u64);
                for i in bits(missed) {
                    if let Some((f, p)) = dpcls.lookup_counted(&keys[i]) {
                        flows[i] = Some(f);
                        found |= 1 << i;
                        probes += p as u64;
                        if emc_policy.should_insert() {
                            emc_inserts.push((i as u8, f));
                        }
                    }
                }
                upcalls = missed & !found;
                counters.megaflow_hits += found.count_ones() as u64;
                counters.megaflow_subtable_lookups += probes;
            }

            // 3. Upcall what missed both. A packet is never dropped because it missed.
            if upcalls != 0 {
                let mut which = [0u8; BURST_SIZE];
                let mut batch_flows = BatchFlows::default();
                for i in bits(upcalls) {
                    // An earlier upcall of this batch may cover it.
                    if let Some(j) = batch_flows.covering(&new_flows, &keys[i]) {
                        counters.megaflow_hits += 1;
                        which[i] = j as u8;
                        continue;
                    }
                    match translate(dp, now_ms, &keys[i], counters) {
                        Ok(f) => {
                            which[i] = new_flows.len() as u8;
                            batch_flows.add(&f, &new_flows);
                            new_flows.push((f, i as u8));
                        }
                        Err(reason) => {
                            counters.drop(reason, 1);
                            upcalls &= !(1 << i);
                        }
                    }
                }
                for i in bits(upcalls) {
                    flows[i] = Some(&new_flows[which[i] as usize].0);
                }
            }

            // 4-5. Group and execute.
            let classified = Classified { flows: &flows, keys: &keys[..], n };
            dispatch(classified, rx_batch, slots, txqs, counters, dp, now_ms);

            // 6. After the batch: exact-match cache insertions...
            for &(i, f) in &emc_inserts {
                emc.insert_key(&keys[i as usize], emc_keys[i as usize], f);
            }
        }
        // ... and the new megaflows.
        Self::install(&mut new_flows, (&keys[..], &emc_keys[..]), dpcls, emc, shared, config.flow_limit, counters);
    }

    /// Installs the megaflows a batch's upcalls made (with the index of the packet that made
    /// each), unless the flow limit is reached.
    #[inline]
    fn install(
        new_flows: &mut ArrayVec<(Arc<Megaflow>, u8), BURST_SIZE>,
        (keys, emc_keys): (&[FlowKey], &[EmcKey]),
        dpcls: &mut MegaflowCache,
        emc: &mut Emc,
        shared: &PmdShared,
        flow_limit: usize,
        counters: &mut PmdCounters,
    ) {
        if new_flows.is_empty() {
            return;
        }
        let t0 = Instant::now();
        let mut registry = shared.registry.lock().unwrap_or_else(|e| e.into_inner());
        for (flow, i) in new_flows.drain(..) {
            let i = i as usize;
            if dpcls.len() < flow_limit && dpcls.insert(flow.clone()) {
                emc.insert_key(&keys[i], emc_keys[i], &flow);
                registry.insert(flow.id, flow);
                counters.upcalls += 1;
            } else {
                counters.upcalls_failed += 1;
            }
        }
        drop(registry);
        counters.upcall_ns += t0.elapsed().as_nanos() as u64;
    }

    fn flush_tx(&mut self) {
        self.txqs.flush(&mut self.counters);
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
                let slots = &mut self.txqs.slots;
                if slots.len() <= i {
                    slots.resize_with(i + 1, || None);
                }
                slots[i] = Some(TxSlot { q: txq, pending: Box::new(PacketBatch::new()) });
            }
            PmdCommand::RemovePort { dp_port } => {
                self.rxqs.retain(|q| q.dp_port != dp_port);
                self.shared.rxqs.lock().unwrap_or_else(|e| e.into_inner()).retain(|(p, _)| *p != dp_port);
                if let Some(slot) = self.txqs.slots.get_mut(dp_port as usize) {
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

/// What classification found for a batch: each packet's megaflow (`None`: dropped), and its
/// key.
struct Classified<'f, 'k> {
    flows: &'f [Option<&'f Arc<Megaflow>>; BURST_SIZE],
    keys: &'k [FlowKey],
    n: usize,
}

/// Steps 4 and 5 of [`Pmd::process_rx`]: groups the batch's packets by megaflow, counts each
/// group's traffic on its megaflow, and executes. Packets whose group only outputs (or drops)
/// move straight to the port's transmit buffer; the others wait in `slots` for their group's
/// action list ([`execute_actions`]). When the whole batch is on one megaflow that outputs
/// to one port whose buffer is empty, the batch becomes the buffer. Leaves `rx_batch` empty.
#[inline(always)]
fn dispatch(
    batch: Classified<'_, '_>,
    rx_batch: &mut Box<PacketBatch>,
    slots: &mut [Option<PacketBuf>; BURST_SIZE],
    txqs: &mut TxPorts,
    counters: &mut PmdCounters,
    dp: &DatapathShared,
    now_ms: u64,
) {
    // Common case first: every packet of the batch on one megaflow.
    if let Some(Some(first)) = batch.flows.first() {
        if batch.flows[..batch.n].iter().all(|f| f.is_some_and(|f| Arc::ptr_eq(f, first))) {
            let bytes: u64 = rx_batch.iter().map(|p| p.len() as u64).sum();
            let tcp_flags = batch.keys[..batch.n].iter().fold(0, |a, k| a | k.tcp_flags);
            first.stats.add(batch.n as u64, bytes, now_ms, tcp_flags);
            match Disposition::of(&first.actions) {
                Disposition::Output(port) => {
                    if !txqs.take_whole(port, rx_batch) {
                        for pkt in rx_batch.drain() {
                            txqs.enqueue(port, pkt, counters);
                        }
                    }
                    return;
                }
                Disposition::Drop => {
                    counters.drop(DropReason::Actions, batch.n as u64);
                    rx_batch.clear();
                    return;
                }
                Disposition::Execute => {}
            }
        }
    }
    let mut groups: ArrayVec<Group<'_>, BURST_SIZE> = ArrayVec::new();
    let mut group_of = [NO_GROUP; BURST_SIZE];
    for (i, pkt) in rx_batch.iter().enumerate() {
        let Some(flow) = batch.flows[i] else { continue };
        let g = group_index(&mut groups, flow);
        group_of[i] = g as u8;
        let group = &mut groups[g];
        group.packets.push(i as u8);
        group.bytes += pkt.len() as u64;
        group.tcp_flags |= batch.keys[i].tcp_flags;
    }
    for g in &groups {
        g.flow.stats.add(g.packets.len() as u64, g.bytes, now_ms, g.tcp_flags);
    }
    let mut execute = false;
    for (i, pkt) in rx_batch.drain().enumerate() {
        let Some(group) = groups.get(group_of[i] as usize) else { continue };
        match group.disposition {
            Disposition::Output(port) => txqs.enqueue(port, pkt, counters),
            Disposition::Drop => counters.drop(DropReason::Actions, 1),
            Disposition::Execute => {
                slots[i] = Some(pkt);
                execute = true;
            }
        }
    }
    if execute {
        let packet_ins = counters.packet_ins;
        for g in groups.iter().filter(|g| g.disposition == Disposition::Execute) {
            for &i in &g.packets {
                if let Some(pkt) = slots[i as usize].take() {
                    execute_actions(&g.flow.actions, pkt, dp, txqs, counters);
                }
            }
        }
        if counters.packet_ins != packet_ins {
            dp.wake_control();
        }
    }
}

/// Index of the group of `flow`, created if needed.
#[inline(always)]
fn group_index<'a>(groups: &mut ArrayVec<Group<'a>, BURST_SIZE>, flow: &'a Megaflow) -> usize {
    // Most batches carry one or a few flows, and consecutive packets tend to share one: look
    // at the last group first.
    if let Some(g) = groups.last() {
        if std::ptr::eq(g.flow, flow) {
            return groups.len() - 1;
        }
    }
    if let Some(g) = groups.iter().position(|g| std::ptr::eq(g.flow, flow)) {
        return g;
    }
    groups.push(Group { flow, disposition: Disposition::of(&flow.actions), packets: ArrayVec::new(), bytes: 0, tcp_flags: 0 });
    groups.len() - 1
}

/// Finds which megaflow made by this batch's upcalls covers a key, without trying each in
/// turn: the megaflows are sorted by mask (a batch's new megaflows mostly share one or two),
/// and per mask the key's masked hash is compared with theirs before any key is.
#[derive(Default)]
struct BatchFlows {
    /// Distinct masks: the index in `new_flows` of a megaflow with that mask.
    masks: ArrayVec<u8, BURST_SIZE>,
    /// Per megaflow: its mask's index in `masks` and its masked key's hash.
    flows: ArrayVec<(u8, u32), BURST_SIZE>,
}

/// Seed of [`BatchFlows`] hashes.
const BATCH_BASIS: u32 = 0xba7c_4f10;

impl BatchFlows {
    /// Records `flow`, about to become `new_flows[new_flows.len()]`.
    fn add(&mut self, flow: &Megaflow, new_flows: &[(Arc<Megaflow>, u8)]) {
        let m = match self.masks.iter().position(|&r| new_flows[r as usize].0.mask == flow.mask) {
            Some(m) => m,
            None => {
                self.masks.push(new_flows.len() as u8);
                self.masks.len() - 1
            }
        };
        self.flows.push((m as u8, flow.key.hash_words(flow.map, BATCH_BASIS)));
    }

    /// The index in `new_flows` (all recorded with [`BatchFlows::add`]) of a megaflow covering
    /// `key`.
    fn covering(&self, new_flows: &[(Arc<Megaflow>, u8)], key: &FlowKey) -> Option<usize> {
        for (m, &r) in self.masks.iter().enumerate() {
            let rep = &new_flows[r as usize].0;
            let h = key.hash_masked(&rep.mask, rep.map, BATCH_BASIS);
            let mut candidates = self.flows.iter().enumerate().filter(|(_, &(fm, fh))| fm as usize == m && fh == h);
            if let Some((j, _)) = candidates.find(|(j, _)| new_flows[*j].0.matches(key)) {
                return Some(j);
            }
        }
        None
    }
}

/// The set bits of `m`, lowest first.
#[inline(always)]
fn bits(mut m: u32) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if m == 0 {
            return None;
        }
        let i = m.trailing_zeros() as usize;
        m &= m - 1;
        Some(i)
    })
}

/// Translates a missed key into a megaflow (not installed yet).
fn translate(dp: &DatapathShared, now_ms: u64, key: &FlowKey, counters: &mut PmdCounters) -> Result<Arc<Megaflow>, DropReason> {
    let t0 = Instant::now();
    let ports = dp.ports.load();
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
        now_ms,
        may_learn: true,
        trace: false,
    });
    let mut deps = XlateDeps::new(out.rules, pipeline.version(), out.used_normal.then_some(mac_gen), conf.generation);
    if !out.fin_timeouts.is_empty() {
        deps = deps.with_fin_timeouts(out.fin_timeouts);
        deps.apply_fin_timeouts(key.tcp_flags);
    }
    if !out.learned.is_empty() {
        // `learn`: the control thread installs the flows; the megaflow keeps them so that the
        // revalidator can refresh them while it has traffic (see rvs_flowcache::learn).
        let learned: Arc<[rvs_flowcache::FlowMod]> = out.learned.into();
        dp.send_learned(&br.name, learned.clone());
        deps = deps.with_learned(learned);
    }
    let flow = Arc::new(Megaflow::new(dp.next_flow_id(), key, &out.wc, out.actions, deps, now_ms));
    counters.upcall_ns += t0.elapsed().as_nanos() as u64;
    Ok(flow)
}

/// Runs a megaflow's action list on one packet: header rewrites in place, outputs into
/// transmit buffers (a copy for every output but the last), packet-ins to the control thread.
fn execute_actions(actions: &[DpAction], mut pkt: PacketBuf, dp: &DatapathShared, txqs: &mut TxPorts, counters: &mut PmdCounters) {
    let last = actions.len() - 1;
    for (ai, a) in actions.iter().enumerate() {
        match a {
            DpAction::Output(port) => {
                if ai == last {
                    txqs.enqueue(*port, pkt, counters);
                    return;
                }
                txqs.enqueue(*port, pkt.duplicate(), counters);
            }
            DpAction::Controller(c) => {
                counters.packet_ins += 1;
                let bridge = dp.ports.load().get(pkt.meta.in_port).map(|p| p.bridge.name.clone()).unwrap_or_default();
                let pi = PacketIn { bridge, dp_port: pkt.meta.in_port, action: (**c).clone(), packet: pkt.data().to_vec() };
                if dp.packet_in_tx.try_send(pi).is_err() {
                    counters.drop(DropReason::PacketInQueueFull, 1);
                }
            }
            other => {
                if other.apply(&mut pkt).is_err() {
                    counters.drop(DropReason::RewriteFailed, 1);
                    return;
                }
                if ai == last {
                    // Rewrites with no output after them: nothing leaves.
                    counters.drop(DropReason::Actions, 1);
                }
            }
        }
    }
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
