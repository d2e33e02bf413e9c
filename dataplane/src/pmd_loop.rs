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
//!    extracted: it takes the key of the run's first packet, its *root*
//!    ([`rvs_flowcache::key_reuse`], exact by construction), and after steps 2 and 3 the
//!    root's answer, from whichever cache or upcall gave it; only roots are looked up. Each
//!    packet is compared with the batch's first one (held in registers) until one differs,
//!    then neighbours are compared until a second difference, so a batch of many flows pays
//!    two comparisons (`extract`). A batch that is one run writes nothing per copy (not even
//!    its input port and header offsets unless it runs an action list), and is answered as a
//!    whole in steps 3-5.
//! 2. **Look up** each key in the exact-match cache, then the misses in the megaflow cache.
//!    Where timing trials show that EMC lookups cost more than they save (a megaflow cache
//!    that answers in one probe, more flows than EMC entries), batches skip them
//!    ([`EmcGate`]; no hash in step 1 either, except for the keys step 6 inserts).
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
//!    flow limit is reached), and all put in the EMC (unless it is off: see step 6 in
//!    `process_rx` for why not with the probability, as OVS after an upcall).
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
//! deleted by the revalidator, synchronisation points) when the sender's flag says it holds
//! something, and every [`PUBLISH_EVERY`] iterations publishes its counters and re-ranks
//! megaflow subtables.
//!
//! # Load measurement (for scheduling and `pmd-perf-show`)
//! A TSC reading costs 30 to 40 cycles here (a VM), more than a tenth of a packet's budget
//! per batch, so readings are few. Each iteration starts at the previous one's last reading.
//! A queue whose burst brought packets is charged from the previous reading to the end of its
//! burst's processing (as OVS); an empty poll takes no reading. The iteration ends with one
//! reading after the transmit flush, and a batch that had nothing else to time (no stage
//! split, upcall or EMC trial) takes no reading of its own: its queue is charged up to the
//! next reading, the next busy queue's or the iteration's end (its transmit flush included,
//! as OVS charges output to the queues the packets came from). A busy iteration on one queue
//! thus takes one reading (it took two: about one cycle per packet).
//!
//! The split of a batch's cost into receive, lookup, actions and transmit takes one more
//! reading per stage boundary, so only one busy iteration in [`STAGE_SAMPLE_EVERY`] does it;
//! their cycles (`stage_busy_cycles`) stand for all busy cycles in `pmd-perf-show`. The upcall
//! stage is timed every time it runs (its readings are nothing against a translation), so
//! upcall times are exact. Every `interval_ms` (5 s) [`Pmd::end_interval`] moves the queues'
//! cycles into their history rings and the PMD's busy and total cycles into its own
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
//! [`handle`] is what the control side holds (commands, settings, shared state); `extract`
//! step 1; `tx` the transmit buffers; `upcall` translation of misses; `exec` grouping and
//! action execution.

mod exec;
mod extract;
pub mod handle;
mod tx;
mod upcall;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use arrayvec::ArrayVec;
use crossbeam_channel::Receiver;
use rvs_flowcache::dpaction::DpAction;
use rvs_flowcache::emc::{Emc, EmcGate, EmcInsertPolicy, EmcKey, DEFAULT_ENTRIES};
use rvs_flowcache::megaflow::{Megaflow, MegaflowCache};
use rvs_flowcache::FlowKey;
use rvs_packet::{PacketBatch, PacketBuf, BURST_SIZE};
use rvs_pmd::RxQueue;

use crate::datapath::DatapathShared;
use crate::drops::DropReason;
use crate::pmd_perf::{IntervalMark, PmdIntervals, RxqStats};
use crate::pmd_stats::{cycles, PmdCounters, PmdStatsShared};
use exec::{dispatch, Classified};
use extract::{extract_batch, Extraction};
pub use handle::{FlowIdHasher, MegaflowRegistry, PmdCommand, PmdConfig, PmdShared, RxqEntry, RxqHandoff};
use tx::{TxPorts, TxSlot};
use upcall::{BatchFlows, Translator, UpcallScratch};

/// Iterations between counter publications and subtable re-ranking.
pub const PUBLISH_EVERY: u64 = 1024;
/// Default most megaflows per PMD (OVS's `flow-limit` ceiling).
pub const DEFAULT_FLOW_LIMIT: usize = 200_000;
/// Iterations between readings of the millisecond clock (see [`Pmd::iteration`]).
const CLOCK_EVERY: u64 = 16;
/// One busy iteration in this many times its stages for `pmd-perf-show` (see "Load
/// measurement").
pub const STAGE_SAMPLE_EVERY: u32 = 8;
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
    /// The megaflow pool and translation output upcalls reuse.
    upcall: UpcallScratch,
    emc_policy: EmcInsertPolicy,
    /// Whether batches consult the EMC (see [`EmcGate`]).
    emc_gate: EmcGate,
    config: PmdConfig,
    counters: PmdCounters,
    scratch: Box<Scratch>,
    /// The batch each receive burst lands in (boxed: see [`TxPorts::take_whole`]).
    rx_batch: Box<PacketBatch>,
    now_ms: u64,
    idle_iterations: u32,
    /// The TSC at the end of the previous iteration (where the next one starts).
    last_tsc: u64,
    /// Busy iterations until the next one that times its stages.
    stage_countdown: u32,
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
            pending: Default::default(),
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
            upcall: UpcallScratch::default(),
            emc_policy: EmcInsertPolicy::new(config.emc_insert_inv_prob, 0x9e37_79b9 ^ id as u32),
            emc_gate: EmcGate::default(),
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
            last_tsc: cycles(),
            stage_countdown: 0,
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
        // The iteration starts where the previous one's last TSC reading left off (a reading
        // costs about 40 cycles in a VM: a tenth of a batch's per-packet budget).
        let start = self.last_tsc;
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
        // Whether this iteration times its stages (see "Load measurement").
        let timed = self.stage_countdown == 0;
        let upcall_cycles_before = self.counters.upcall_cycles;
        // A queue whose burst brought packets is charged from the previous reading to the end
        // of its burst's processing (as OVS); an empty poll takes no reading.
        let mut received = 0;
        let mut t = start;
        // A busy queue whose batch ended without a TSC reading: charged up to the next one.
        let mut open: Option<usize> = None;
        for i in 0..self.rxqs.len() {
            let rxq = &mut self.rxqs[i];
            let n = rxq.q.rx_burst(&mut self.rx_batch);
            if n > 0 {
                let dp_port = rxq.dp_port;
                received += n;
                if let Some(j) = open.take() {
                    let now = cycles();
                    self.rxqs[j].cycles += now.wrapping_sub(t);
                    t = now;
                }
                let t_rx = if timed {
                    let t_rx = cycles();
                    self.counters.rx_cycles += t_rx.wrapping_sub(t);
                    Some(t_rx)
                } else {
                    None
                };
                match self.process_rx(dp_port, t_rx) {
                    Some(t_end) => {
                        self.rxqs[i].cycles += t_end.wrapping_sub(t);
                        t = t_end;
                    }
                    None => open = Some(i),
                }
            }
        }
        self.flush_tx();
        self.counters.iterations += 1;
        let end = cycles();
        self.last_tsc = end;
        if let Some(j) = open {
            // Its transmit flush included (as OVS charges output to the queues it came from).
            self.rxqs[j].cycles += end.wrapping_sub(t);
        }
        let spent = end.wrapping_sub(start);
        if received > 0 {
            self.counters.busy_cycles += spent;
            self.counters.busy_iterations += 1;
            if timed {
                self.counters.tx_cycles += end.wrapping_sub(t);
                let upcalls = self.counters.upcall_cycles - upcall_cycles_before;
                self.counters.stage_busy_cycles += spent.saturating_sub(upcalls);
                self.stage_countdown = STAGE_SAMPLE_EVERY - 1;
            } else {
                self.stage_countdown -= 1;
            }
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
            let woke = cycles();
            let slept = woke.wrapping_sub(t);
            // The time from the end of the iteration to the sleep is idle too.
            self.counters.idle_cycles += woke.wrapping_sub(end);
            self.counters.sleep_cycles += slept;
            self.last_tsc = woke;
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
        self.process_rx(dp_port, Some(cycles()));
    }

    /// Classifies, upcalls and executes the received batch (all from `dp_port`), leaving it
    /// empty.
    ///
    /// Reads: the packets' headers, `meta.rss_hash`. Writes: `meta.in_port`, `meta.l3_ofs`,
    /// `meta.l4_ofs` (of every packet that runs an action list or is not a copy in a whole run);
    /// the caches (after the batch: EMC insertions, new megaflows); counters.
    ///
    /// `t_rx` is the TSC when the batch arrived, when this batch's stages are to be timed
    /// (one more TSC reading per stage); the upcall stage is timed whenever it runs. Returns
    /// the TSC when the batch is done if it read it (timed stages, upcalls, an EMC trial), else
    /// `None`.
    fn process_rx(&mut self, dp_port: u32, t_rx: Option<u64>) -> Option<u64> {
        let n = self.rx_batch.len();
        self.counters.rx_packets += n as u64;
        let Pmd { scratch, emc, dpcls, counters, emc_policy, emc_gate, txqs, dp, shared, config, now_ms, rx_batch, upcall, .. } = self;
        let Scratch { keys, emc_keys, slots } = &mut **scratch;
        let now_ms = *now_ms;
        // Whether this batch looks its keys up in the EMC (and whether it is one of the gate's
        // trial batches, timed from here to the end). Insertions go on either way (one in
        // `emc-insert-inv-prob` megaflow hits), so that the EMC stays as warm as when it is
        // consulted.
        let emc_choice = emc_gate.next(emc_policy);
        let use_emc = emc_choice.lookup;
        let t_start = if emc_choice.measure { t_rx.unwrap_or_else(cycles) } else { 0 };

        // 1. Extract every key and hash it for the exact-match cache, except for a packet
        //    whose headers equal those of the packet before it (`key_reuse`): it takes the
        //    key, hash and (step 2) answer of its run's first packet (see `extract`).
        let lookup_emc = use_emc.then_some(&*emc);
        let Extraction { valid, reused, unhashed, reuse_of } = extract_batch(rx_batch, dp_port, keys, emc_keys, lookup_emc, counters);

        // 2. Look up: exact-match cache, then megaflow cache. Megaflows made by this batch's
        //    upcalls are installed only after it, so that the answers can be borrowed from
        //    the caches meanwhile (no reference count traffic per packet). Scopes, not `drop`
        //    calls, end those borrows: moving an `ArrayVec` copies it.
        let mut new_flows: ArrayVec<(Arc<Megaflow>, u8), BURST_SIZE> = ArrayVec::new();
        let mut t2;
        let had_upcalls;
        {
            let mut flows: [Option<&Arc<Megaflow>>; BURST_SIZE] = [None; BURST_SIZE];
            let mut emc_inserts: ArrayVec<(u8, &Arc<Megaflow>), BURST_SIZE> = ArrayVec::new();
            // Only the packets with keys of their own are looked up (and upcalled); a reused
            // key takes the answer of the packet it was copied from once that one has it.
            let roots = valid & !reused;
            let mut missed = 0u32;
            let mut emc_hit = 0u32;
            if use_emc {
                for i in bits(roots) {
                    match emc.lookup_key(&keys[i], emc_keys[i]) {
                        Some(f) => {
                            flows[i] = Some(f);
                            emc_hit |= 1 << i;
                        }
                        None => missed |= 1 << i,
                    }
                }
            } else {
                missed = roots;
            }
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

            had_upcalls = upcalls != 0;
            let timed = t_rx.is_some();
            let t1 = if timed || had_upcalls { cycles() } else { 0 };
            if let Some(t0) = t_rx {
                counters.lookup_cycles += t1.wrapping_sub(t0);
            }
            t2 = t1;

            // 3. Upcall what missed both. A packet is never dropped because it missed.
            let mut failed: ArrayVec<(u8, DropReason), BURST_SIZE> = ArrayVec::new();
            if upcalls != 0 {
                let mut which = [0u8; BURST_SIZE];
                let mut batch_flows = BatchFlows::default();
                let mut translator = Translator::new(dp, upcall, now_ms);
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
                            failed.push((i as u8, reason));
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

            // The reused keys take their roots' answers, counted as the roots were found: in
            // the EMC, else the megaflow cache (an upcall's megaflow too, as for the packets an
            // earlier upcall of the batch covers).
            // A batch that is one run (every packet a copy of the first) is answered as a
            // whole: its packets are not given the answer one by one, and dispatch takes the
            // run's bytes and TCP flags from its first packet.
            let whole_run = n >= 2 && valid & 1 != 0 && reused == (u32::MAX >> (32 - n)) & !1;
            // Both hit counters are added once, below: the compiler adds them together with
            // one 16-byte load and store, which an 8-byte store to one of them just before
            // could not forward to (a stall of some fifteen cycles per batch).
            let (mut reused_emc_hits, mut reused_megaflow_hits) = (0u64, 0u64);
            if whole_run {
                let others = (n - 1) as u64;
                if flows[0].is_some() {
                    if emc_hit & 1 != 0 {
                        reused_emc_hits = others;
                    } else {
                        reused_megaflow_hits = others;
                    }
                } else if let Some(&(_, reason)) = failed.first() {
                    counters.drop(reason, others);
                }
            }
            for i in bits(if whole_run { 0 } else { reused }) {
                let root = usize::from(reuse_of[i]);
                flows[i] = flows[root];
                if flows[i].is_some() {
                    if emc_hit & (1 << root) != 0 {
                        emc_hit |= 1 << i;
                    } else {
                        reused_megaflow_hits += 1;
                    }
                } else if let Some(&(_, reason)) = failed.iter().find(|(r, _)| usize::from(*r) == root) {
                    counters.drop(reason, 1);
                }
            }
            counters.emc_hits += emc_hit.count_ones() as u64 + reused_emc_hits;
            counters.megaflow_hits += reused_megaflow_hits;

            // 4-5. Group and execute.
            let classified = Classified { flows: &flows, keys: &keys[..], n, whole_run };
            dispatch(classified, rx_batch, slots, txqs, counters, dp, now_ms);

            // 6. After the batch: exact-match cache insertions...
            for &(i, f) in &emc_inserts {
                let i = usize::from(i);
                emc.insert_key(&keys[i], emc_key_of(&keys[i], emc_keys[i], unhashed, i), f);
            }
        }
        // ... and the new megaflows. With nothing to time, no TSC reading: the caller charges
        // the batch with its next one.
        if new_flows.is_empty() && t_rx.is_none() && !emc_choice.measure {
            return None;
        }
        let t3 = cycles();
        if t_rx.is_some() {
            counters.action_cycles += t3.wrapping_sub(t2);
        }
        if new_flows.is_empty() {
            if emc_choice.measure && !had_upcalls {
                emc_gate.record(emc_choice, t3.wrapping_sub(t_start), n);
            }
            return Some(t3);
        }
        // A new megaflow goes into the exact-match cache (unless the EMC is off), not with the
        // insertion probability of a megaflow hit as OVS does after an upcall: its flow's next
        // packets, most often right behind the first, then hit the EMC, not the megaflow
        // cache. Under churn that is most of what a setup costs the PMD beyond the upcall:
        // `rvs-bench new-flows`, alternated single runs, cycles/setup 3466, 2906, 2531, 3232
        // with 1 in 100 against 1928, 1606, 816, 1437. (A burst of new flows may evict hot
        // entries; their next hits put them back, one in `emc-insert-inv-prob`.)
        let mut emc_new = 0u32;
        if emc_policy.enabled() {
            for (j, &(_, i)) in new_flows.iter().enumerate() {
                let i = usize::from(i);
                emc_keys[i] = emc_key_of(&keys[i], emc_keys[i], unhashed, i);
                emc_new |= 1 << j;
            }
        }
        let emc = (emc, emc_new);
        Self::install(&mut new_flows, (&keys[..], &emc_keys[..]), dpcls, emc, shared, config.flow_limit, counters);
        let t4 = cycles();
        counters.upcall_cycles += t4.wrapping_sub(t3);
        Some(t4)
    }

    /// Installs the megaflows a batch's upcalls made (with the index of the packet that made
    /// each), unless the flow limit is reached; those whose bit is set in `emc_new` (by their
    /// index in `new_flows`) go into the exact-match cache too.
    #[inline]
    fn install(
        new_flows: &mut ArrayVec<(Arc<Megaflow>, u8), BURST_SIZE>,
        (keys, emc_keys): (&[FlowKey], &[EmcKey]),
        dpcls: &mut MegaflowCache,
        (emc, emc_new): (&mut Emc, u32),
        shared: &PmdShared,
        flow_limit: usize,
        counters: &mut PmdCounters,
    ) {
        if new_flows.is_empty() {
            return;
        }
        let mut registry = shared.registry.lock().unwrap_or_else(|e| e.into_inner());
        for (j, (flow, i)) in new_flows.drain(..).enumerate() {
            let i = i as usize;
            if dpcls.len() < flow_limit && dpcls.insert(flow.clone()) {
                if emc_new & (1 << j) != 0 {
                    emc.insert_key(&keys[i], emc_keys[i], &flow);
                }
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

    /// Applies the queued commands, if [`PmdShared::send`] raised the flag since the last look
    /// (lowered before the queue is drained: a command queued meanwhile raises it again).
    #[inline(always)]
    fn apply_commands(&mut self) {
        if self.shared.pending.load(Ordering::Relaxed) {
            self.drain_commands();
        }
    }

    /// [`Pmd::apply_commands`] once the flag is up (apart, so that the check alone is inlined).
    #[cold]
    #[inline(never)]
    fn drain_commands(&mut self) {
        if !self.shared.pending.swap(false, Ordering::Acquire) {
            return;
        }
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
    /// megaflows go to the pool (or are freed): no search per megaflow, no table to grow
    /// back. (Freeing them on another thread, as OVS's RCU does, cost the PMD more: see
    /// docs/ARCHITECTURE.md.)
    fn flush_flows(&mut self) {
        self.dpcls.clear();
        self.emc.clear();
        let mut old = std::mem::take(&mut self.spare_registry);
        std::mem::swap(&mut *self.shared.registry.lock().unwrap_or_else(|e| e.into_inner()), &mut old);
        for (_, f) in old.drain() {
            self.upcall.pool.put(f);
        }
        self.spare_registry = old;
    }

    fn delete_flows(&mut self, flows: Vec<Arc<Megaflow>>) {
        let mut reg = self.shared.registry.lock().unwrap_or_else(|e| e.into_inner());
        for f in &flows {
            f.dead.store(true, Ordering::Relaxed);
            self.dpcls.remove(f);
            reg.remove(&f.id);
        }
        drop(reg);
        self.emc.sweep_dead();
        // The sender's references are the last ones unless a dump holds the megaflow.
        for f in flows {
            self.upcall.pool.put(f);
        }
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

    /// Number of deleted megaflows whose blocks wait for the next setups.
    pub fn n_pooled_megaflows(&self) -> usize {
        self.upcall.pool.len()
    }

    /// Number of exact-match cache entries holding a live megaflow.
    pub fn n_emc_entries(&self) -> usize {
        self.emc.count()
    }
}


/// The EMC identity of packet `i`'s `key` for an insertion: `k` as extraction left it, hashed
/// now if its bit in `unhashed` says extraction skipped the hash.
#[inline]
fn emc_key_of(key: &FlowKey, k: EmcKey, unhashed: u32, i: usize) -> EmcKey {
    if unhashed & (1 << i) != 0 {
        EmcKey::new(key, k.map)
    } else {
        k
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
