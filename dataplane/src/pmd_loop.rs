//! The PMD thread: poll, classify, act, transmit.
//!
//! # The loop (one "breath", STYLE example 15)
//! For each receive queue assigned to this PMD: `rx_burst` up to 32 packets into the PMD's
//! own batch, then process it (`Pmd::process_rx`):
//! 1. **Extract** each packet's flow key and its word map (malformed frames are counted by
//!    reason and dropped), and hash the map's words for the exact-match cache, unless the
//!    port delivered a receive hash (`meta.has_rss_hash`, DPDK's RSS hash): that is the EMC
//!    hash then, as in OVS. A packet whose first 64 bytes and length equal the packet's
//!    before it, in a run after an IPv4 packet whose headers fit in those bytes, is not
//!    extracted: it takes the key and (step 2) the cache answer of the run's first packet
//!    ([`rvs_flowcache::key_reuse`], exact by construction). The runs are found by comparing
//!    neighbours first; two differences end the search, so a batch of many flows pays two
//!    comparisons. (1 flow: 404 -> 313 instructions per packet; 10,000 flows: 484 -> 499.)
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
//! About 13 ns per packet on the EMC path (runs of one flow, with key reuse), 28 ns with
//! 10,000 flows (EMC and megaflow cache), 62 ns for 100,000 flows over 1,000 rules (megaflow
//! cache), 0.48 us per flow setup (criterion, `cargo bench -p rvs-benches`).
//! Keys are written whole word by whole word (see [`rvs_flowcache::key`]): the EMC hash reads
//! them right after, and loads that span several smaller stores stall.
//!
//! # Housekeeping
//! Between batches the PMD drains its command queue (ports added or removed, megaflows
//! deleted by the revalidator, synchronisation points), and every [`PUBLISH_EVERY`]
//! iterations publishes its counters and re-ranks megaflow subtables.
//!
//! # Load measurement (for scheduling and `pmd-perf-show`)
//! The TSC is read once after every poll; a queue whose burst brought packets is charged the
//! cycles from the end of the previous poll to the end of its burst's processing. Inside a
//! burst, one more reading per stage boundary splits the cost into receive, lookup, upcall
//! (only read when the batch had misses) and actions; the transmit flush is the rest of a
//! busy iteration. Every `interval_ms` (5 s) [`Pmd::end_interval`] moves the queues' cycles
//! into their history rings and the PMD's busy and total cycles into its own
//! ([`crate::pmd_perf`]); the control side reads those to assign queues ([`crate::sched`]).
//! Queues arrive and leave as [`PmdCommand::AdoptRxq`] / [`PmdCommand::ReleaseRxq`] with their
//! measurements.
//!
//! # Idle back-off
//! With `pmd-sleep-max` set, a PMD that found no packet for a while sleeps in `poll(2)` on its
//! queues' file descriptors and its wake-up eventfd, for at most that long; traffic or a
//! command wakes it at once. At 0 (the default, as in OVS) it spins.
//!
//! # The non-PMD thread
//! Ports that are not poll-mode devices (internal TAP ports, such as a bridge's LOCAL port)
//! are not polled by the PMDs, as in OVS, where the main thread serves them: a `readv` that
//! finds nothing, every iteration of every PMD, cost a spinning PMD about a tenth of its time.
//! The switch gives them to one more `Pmd`, the non-PMD thread ([`Pmd::new_non_pmd`]): same
//! loop, same caches and upcalls, but unpinned, not scheduled, and asleep in `poll(2)` on its
//! queues whenever an iteration finds nothing.
//!
//! # Invariants
//! No allocation, lock or syscall per packet on the hit path. The PMD is the only writer of
//! its caches, counters and its megaflows' counters.
//!
//! # Modules
//! [`handle`] is what the control side holds (commands, settings, shared state); `tx` the
//! transmit buffers; `upcall` translation of misses; `exec` grouping and action execution.

mod exec;
pub mod handle;
mod tx;
mod upcall;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use arrayvec::ArrayVec;
use crossbeam_channel::Receiver;
use rvs_flowcache::dpaction::DpAction;
use rvs_flowcache::emc::{Emc, EmcInsertPolicy, EmcKey, DEFAULT_ENTRIES};
use rvs_flowcache::megaflow::{Megaflow, MegaflowCache};
use rvs_flowcache::key::HeaderOffsets;
use rvs_flowcache::key_reuse::{reusable, same_head};
use rvs_flowcache::FlowKey;
use rvs_packet::{PacketBatch, PacketBuf, BURST_SIZE};
use rvs_pmd::RxQueue;

use crate::datapath::DatapathShared;
use crate::drops::DropReason;
use crate::pmd_perf::{IntervalMark, PmdIntervals, RxqStats};
use crate::pmd_stats::{cycles, PmdCounters, PmdStatsShared};
use exec::{dispatch, Classified};
pub use handle::{FlowIdHasher, MegaflowRegistry, PmdCommand, PmdConfig, PmdShared, RxqEntry, RxqHandoff};
use tx::{TxPorts, TxSlot};
use upcall::{BatchFlows, Translator};

/// Iterations between counter publications and subtable re-ranking.
pub const PUBLISH_EVERY: u64 = 1024;
/// Default most megaflows per PMD (OVS's `flow-limit` ceiling).
pub const DEFAULT_FLOW_LIMIT: usize = 200_000;
/// Iterations between readings of the millisecond clock (see [`Pmd::iteration`]).
const CLOCK_EVERY: u64 = 16;
/// Longest sleep of the non-PMD thread when its queues are idle (a packet or a command wakes
/// it at once; the limit only bounds how stale its clock and housekeeping get).
pub const NON_PMD_SLEEP_US: u64 = 10_000;

struct Rxq {
    dp_port: u32,
    queue: usize,
    q: Box<dyn RxQueue>,
    /// Cycles spent on its non-empty bursts in the current measurement interval.
    cycles: u64,
    stats: Arc<RxqStats>,
}

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
    /// An empty registry map with capacity, swapped in by [`Pmd::flush_flows`].
    spare_registry: MegaflowRegistry,
    emc_policy: EmcInsertPolicy,
    config: PmdConfig,
    counters: PmdCounters,
    scratch: Box<Scratch>,
    /// The batch each receive burst lands in (boxed: see [`TxPorts::take_whole`]).
    rx_batch: Box<PacketBatch>,
    now_ms: u64,
    idle_iterations: u32,
    /// Where the current measurement interval started.
    interval: IntervalMark,
    stop: bool,
}

impl Pmd {
    /// A PMD with no queues. Returns the state to run and the handle to keep.
    pub fn new(id: usize, core: Option<usize>, dp: Arc<DatapathShared>, config: PmdConfig) -> (Pmd, Arc<PmdShared>) {
        Self::build(id, core, false, dp, config)
    }

    /// The non-PMD thread (see [`PmdShared::non_pmd`]): the same loop over the queues it is
    /// given, but it sleeps in `poll(2)` as soon as an iteration finds nothing (at most
    /// [`NON_PMD_SLEEP_US`] at a time), whatever `pmd-sleep-max` says.
    pub fn new_non_pmd(id: usize, dp: Arc<DatapathShared>, config: PmdConfig) -> (Pmd, Arc<PmdShared>) {
        Self::build(id, None, true, dp, config)
    }

    fn build(id: usize, core: Option<usize>, non_pmd: bool, dp: Arc<DatapathShared>, config: PmdConfig) -> (Pmd, Arc<PmdShared>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        // SAFETY: eventfd(2) with valid flags; the fd is owned by PmdShared.
        let wake_fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        let shared = Arc::new(PmdShared {
            id,
            core,
            non_pmd,
            stats: PmdStatsShared::default(),
            registry: Mutex::new(Default::default()),
            commands: tx,
            wake_fd,
            rxqs: Mutex::new(Vec::new()),
            numa: core.and_then(numa_of_core).unwrap_or(0),
            intervals: PmdIntervals::default(),
            started_ms: dp.now_ms(),
        });
        let pmd = Pmd {
            shared: shared.clone(),
            dp,
            commands: rx,
            rxqs: Vec::new(),
            txqs: TxPorts::default(),
            emc: Emc::new(DEFAULT_ENTRIES),
            dpcls: MegaflowCache::new(),
            spare_registry: MegaflowRegistry::default(),
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
            interval: IntervalMark::default(),
            stop: false,
        };
        let mut pmd = pmd;
        pmd.interval = IntervalMark::now(&pmd.counters, pmd.next_interval_ms(dp_now(&pmd.dp)));
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
            if self.now_ms >= self.interval.next_ms {
                self.end_interval();
            }
        }
        // One TSC reading per poll: a queue is charged from the end of the previous poll to
        // the end of its own burst's processing, when the burst brought packets (as OVS).
        let mut received = 0;
        let mut t = start;
        for i in 0..self.rxqs.len() {
            let rxq = &mut self.rxqs[i];
            let n = rxq.q.rx_burst(&mut self.rx_batch);
            let t_rx = cycles();
            if n > 0 {
                let dp_port = rxq.dp_port;
                received += n;
                self.counters.rx_cycles += t_rx.wrapping_sub(t);
                let t_end = self.process_rx(dp_port, t_rx);
                self.rxqs[i].cycles += t_end.wrapping_sub(t);
                t = t_end;
            } else {
                t = t_rx;
            }
        }
        self.flush_tx();
        self.counters.iterations += 1;
        let end = cycles();
        let spent = end.wrapping_sub(start);
        if received > 0 {
            self.counters.busy_cycles += spent;
            self.counters.busy_iterations += 1;
            self.counters.tx_cycles += end.wrapping_sub(t);
            self.idle_iterations = 0;
        } else {
            self.counters.idle_cycles += spent;
            self.idle_iterations = self.idle_iterations.saturating_add(1);
        }
        self.apply_commands();
        if self.counters.iterations.is_multiple_of(PUBLISH_EVERY) {
            self.housekeeping();
        }
        let (sleep_us, idle_before_sleep) = if self.shared.non_pmd { (NON_PMD_SLEEP_US, 0) } else { (self.config.sleep_max_us, 64) };
        if received == 0 && sleep_us > 0 && self.idle_iterations > idle_before_sleep {
            let t = cycles();
            self.idle_sleep(sleep_us);
            let slept = cycles().wrapping_sub(t);
            self.counters.idle_cycles += slept;
            self.counters.sleep_cycles += slept;
            self.now_ms = self.dp.now_ms();
        }
    }

    fn next_interval_ms(&self, now_ms: u64) -> u64 {
        match self.config.interval_ms {
            0 => u64::MAX,
            len => now_ms + len,
        }
    }

    /// Closes the current load measurement interval: each queue's cycles go to its history,
    /// and the PMD's busy and total cycles to its own (see [`crate::pmd_perf`]). Called by
    /// [`Pmd::iteration`] every `interval_ms`; public for tests that drive a PMD without a
    /// thread and decide when intervals end.
    pub fn end_interval(&mut self) {
        for q in &mut self.rxqs {
            q.stats.end_interval(std::mem::take(&mut q.cycles));
        }
        let c = &self.counters;
        let busy = c.busy_cycles - self.interval.busy;
        let idle = c.idle_cycles - self.interval.idle;
        let now = cycles();
        self.shared.intervals.end_interval(now.wrapping_sub(self.interval.tsc), busy, idle);
        let next = self.next_interval_ms(self.now_ms.max(dp_now(&self.dp)));
        self.interval = IntervalMark::now(&self.counters, next);
        self.interval.tsc = now;
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
        self.process_rx(dp_port, cycles());
    }

    /// Classifies, upcalls and executes the received batch (all from `dp_port`), leaving it
    /// empty.
    ///
    /// Reads: the packets' headers, `meta.rss_hash`. Writes: `meta.in_port`, `meta.l3_ofs`, `meta.l4_ofs`;
    /// the caches (after the batch: EMC insertions, new megaflows); counters.
    ///
    /// `t0` is the TSC when the batch arrived; returns the TSC when it is done. The stages in
    /// between are timed with one TSC reading each (the upcall stage only when it runs).
    fn process_rx(&mut self, dp_port: u32, t0: u64) -> u64 {
        let n = self.rx_batch.len();
        self.counters.rx_packets += n as u64;
        let Pmd { scratch, emc, dpcls, counters, emc_policy, txqs, dp, shared, config, now_ms, rx_batch, .. } = self;
        let Scratch { keys, emc_keys, slots } = &mut **scratch;
        let now_ms = *now_ms;

        // 1. Extract every key and hash it for the exact-match cache, except for a packet
        //    whose headers equal those of the packet before it (`key_reuse`): it takes that
        //    packet's key, hash and (step 2) exact-match answer. Which packets are such is
        //    found first, by comparing each with the one before; after two differences the
        //    batch is taken for a mix of flows and no more are compared.
        let mut same_as_prev = 0u32;
        {
            let pkts = rx_batch.as_slice();
            let mut differences = 0;
            for i in 1..pkts.len() {
                if same_head(pkts[i - 1].data(), pkts[i].data()) {
                    same_as_prev |= 1 << i;
                } else {
                    differences += 1;
                    if differences == 2 {
                        break;
                    }
                }
            }
        }
        let mut valid = 0u32;
        let mut reused = 0u32;
        let mut reuse_of = [0u8; BURST_SIZE];
        if same_as_prev == 0 {
            for (i, pkt) in rx_batch.iter_mut().enumerate() {
                if extract_one(pkt, dp_port, &mut keys[i], &mut emc_keys[i], counters).is_some() {
                    valid |= 1 << i;
                }
            }
        } else {
            // The last extracted packet (index, offsets, map), while the packets since are
            // copies of it and its key may be reused. Copies are taken from it, not from the
            // packet just before: that one's key was written a moment ago, and reading it back
            // whole would stall store forwarding.
            let mut prev: Option<(usize, HeaderOffsets, u32)> = None;
            for (i, pkt) in rx_batch.iter_mut().enumerate() {
                if same_as_prev & (1 << i) != 0 {
                    if let Some((root, off, map)) = prev {
                        pkt.meta.in_port = dp_port;
                        pkt.meta.l3_ofs = off.l3;
                        pkt.meta.l4_ofs = off.l4;
                        // Not the whole key (240 bytes, a memcpy call): only what executing
                        // reads (`tcp_flags`); step 2 copies the rest if the run's first
                        // packet missed the exact-match cache.
                        keys[i].tcp_flags = keys[root].tcp_flags;
                        emc_keys[i] = if pkt.meta.has_rss_hash { EmcKey { map, hash: pkt.meta.rss_hash } } else { emc_keys[root] };
                        valid |= 1 << i;
                        reused |= 1 << i;
                        reuse_of[i] = root as u8;
                        continue;
                    }
                }
                prev = match extract_one(pkt, dp_port, &mut keys[i], &mut emc_keys[i], counters) {
                    Some((off, map)) => {
                        valid |= 1 << i;
                        reusable(map, off).then_some((i, off, map))
                    }
                    None => None,
                };
            }
        }

        // 2. Look up: exact-match cache, then megaflow cache. Megaflows made by this batch's
        //    upcalls are installed only after it, so that the answers can be borrowed from
        //    the caches meanwhile (no reference count traffic per packet). Scopes, not `drop`
        //    calls, end those borrows: moving an `ArrayVec` copies it.
        let mut new_flows: ArrayVec<(Arc<Megaflow>, u8), BURST_SIZE> = ArrayVec::new();
        let mut t2;
        {
            let mut flows: [Option<&Arc<Megaflow>>; BURST_SIZE] = [None; BURST_SIZE];
            let mut emc_inserts: ArrayVec<(u8, &Arc<Megaflow>), BURST_SIZE> = ArrayVec::new();
            let mut missed = 0u32;
            for i in bits(valid) {
                // A reused key has the answer of the packet it was copied from (an earlier
                // one, already looked up).
                if reused & (1 << i) != 0 {
                    let root = usize::from(reuse_of[i]);
                    match flows[root] {
                        Some(f) => flows[i] = Some(f),
                        None => {
                            // On to the megaflow cache and upcalls, which need the whole key.
                            keys[i] = keys[root];
                            missed |= 1 << i;
                        }
                    }
                    continue;
                }
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

            let t1 = cycles();
            counters.lookup_cycles += t1.wrapping_sub(t0);
            t2 = t1;
            let had_upcalls = upcalls != 0;

            // 3. Upcall what missed both. A packet is never dropped because it missed.
            if upcalls != 0 {
                let mut which = [0u8; BURST_SIZE];
                let mut batch_flows = BatchFlows::default();
                let mut translator = Translator::new(dp, now_ms);
                for i in bits(upcalls) {
                    // An earlier upcall of this batch may cover it.
                    if let Some(j) = batch_flows.covering(&new_flows, &keys[i]) {
                        counters.megaflow_hits += 1;
                        which[i] = j as u8;
                        continue;
                    }
                    match translator.translate(&keys[i]) {
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

            if had_upcalls {
                t2 = cycles();
                counters.upcall_cycles += t2.wrapping_sub(t1);
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
        let t3 = cycles();
        counters.action_cycles += t3.wrapping_sub(t2);
        if new_flows.is_empty() {
            return t3;
        }
        Self::install(&mut new_flows, (&keys[..], &emc_keys[..]), dpcls, emc, shared, config.flow_limit, counters);
        let t4 = cycles();
        counters.upcall_cycles += t4.wrapping_sub(t3);
        t4
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
            PmdCommand::AddRxq { dp_port, queue, rxq } => self.adopt(RxqHandoff::new(dp_port, queue, rxq)),
            PmdCommand::AdoptRxq(h) => self.adopt(h),
            PmdCommand::ReleaseRxq { dp_port, queue, reply } => {
                if let Some(i) = self.rxqs.iter().position(|q| q.dp_port == dp_port && q.queue == queue) {
                    let q = self.rxqs.remove(i);
                    q.stats.park_current(q.cycles);
                    self.shared.rxqs.lock().unwrap_or_else(|e| e.into_inner()).retain(|e| (e.dp_port, e.queue) != (dp_port, queue));
                    let _ = reply.send(RxqHandoff { dp_port, queue, rxq: q.q, stats: q.stats });
                }
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
                self.shared.rxqs.lock().unwrap_or_else(|e| e.into_inner()).retain(|e| e.dp_port != dp_port);
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
            PmdCommand::FlushFlows => self.flush_flows(),
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

    fn adopt(&mut self, h: RxqHandoff) {
        let entry = RxqEntry { dp_port: h.dp_port, queue: h.queue, stats: h.stats.clone() };
        self.shared.rxqs.lock().unwrap_or_else(|e| e.into_inner()).push(entry);
        let cycles = h.stats.take_current();
        self.rxqs.push(Rxq { dp_port: h.dp_port, queue: h.queue, q: h.rxq, cycles, stats: h.stats });
    }

    /// Removes every megaflow. The registry's map is swapped under its lock for an empty one
    /// that keeps its capacity (the previous flush's), and emptied outside it, where the
    /// megaflows are freed: no search per megaflow, no table to grow back.
    fn flush_flows(&mut self) {
        self.dpcls.clear();
        self.emc.clear();
        let mut old = std::mem::take(&mut self.spare_registry);
        std::mem::swap(&mut *self.shared.registry.lock().unwrap_or_else(|e| e.into_inner()), &mut old);
        old.clear();
        self.spare_registry = old;
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

    /// Sleeps until a queue has packets, a command arrives, or `us` microseconds pass.
    fn idle_sleep(&mut self, us: u64) {
        self.counters.sleeps += 1;
        // What it did before falling asleep is visible while it sleeps (`pmd-stats-show`).
        self.shared.stats.publish(&self.counters);
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


/// Extracts `pkt`'s key into `key` and its exact-match cache identity into `emc_key`, and
/// sets the packet's input port and header offsets; a malformed packet is counted (and its
/// key must not be used). Returns the offsets and the key's word map.
#[inline(always)]
fn extract_one(pkt: &mut PacketBuf, dp_port: u32, key: &mut FlowKey, emc_key: &mut EmcKey, counters: &mut PmdCounters) -> Option<(HeaderOffsets, u32)> {
    pkt.meta.in_port = dp_port;
    match key.extract_mapped(pkt.data(), dp_port) {
        Ok((off, map)) => {
            pkt.meta.l3_ofs = off.l3;
            pkt.meta.l4_ofs = off.l4;
            // A receive hash from the port (RSS) is the EMC hash, as in OVS: it saves hashing
            // the key. Equal keys get equal hashes as long as the port hashes them the same
            // way; a collision only costs a slot (the whole key is compared).
            *emc_key = if pkt.meta.has_rss_hash { EmcKey { map, hash: pkt.meta.rss_hash } } else { EmcKey::new(key, map) };
            Some((off, map))
        }
        Err(m) => {
            counters.drop(DropReason::Malformed(m), 1);
            None
        }
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

/// The datapath's millisecond clock.
fn dp_now(dp: &DatapathShared) -> u64 {
    dp.now_ms()
}

/// The NUMA node of CPU `core`, from sysfs (`None` if the kernel does not say).
pub fn numa_of_core(core: usize) -> Option<u32> {
    let dir = std::fs::read_dir(format!("/sys/devices/system/cpu/cpu{core}")).ok()?;
    dir.flatten().find_map(|e| e.file_name().to_str()?.strip_prefix("node")?.parse().ok())
}
