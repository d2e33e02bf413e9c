//! The control side's handle on a PMD: its settings ([`PmdConfig`]), the commands it takes
//! between batches ([`PmdCommand`]), and what other threads see of it ([`PmdShared`]).
//!
//! Commands travel on an unbounded channel; [`PmdShared::send`] also raises the PMD's `pending`
//! flag, which the PMD checks every iteration before it looks at the channel, and writes the
//! PMD's eventfd so that a PMD sleeping for lack of work (`pmd-sleep-max`) wakes at once.

use std::hash::{BuildHasherDefault, Hasher};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rvs_flowcache::emc::EmcInsertPolicy;
use rvs_flowcache::megaflow::Megaflow;
use rvs_pmd::{RxQueue, TxQueue};

use super::DEFAULT_FLOW_LIMIT;
use crate::pmd_perf::{PmdIntervals, RxqStats, INTERVAL_MS};
use crate::pmd_stats::PmdStatsShared;

/// Run-time settings of a PMD, changed by [`PmdCommand::Configure`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PmdConfig {
    /// Longest idle sleep, in microseconds (0 = always spin).
    pub sleep_max_us: u64,
    /// Insert into the EMC once every this many megaflow hits (0 = never, 1 = always).
    pub emc_insert_inv_prob: u32,
    /// Most megaflows installed.
    pub flow_limit: usize,
    /// Length of a load measurement interval in milliseconds (0: intervals end only when
    /// [`Pmd::end_interval`](super::Pmd::end_interval) is called, for tests).
    pub interval_ms: u64,
}

impl Default for PmdConfig {
    fn default() -> Self {
        PmdConfig { sleep_max_us: 0, emc_insert_inv_prob: EmcInsertPolicy::DEFAULT_INV_PROB, flow_limit: DEFAULT_FLOW_LIMIT, interval_ms: INTERVAL_MS }
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
    /// Start polling a queue another PMD gave away ([`PmdCommand::ReleaseRxq`]) or a new one
    /// with its measurement history.
    AdoptRxq(RxqHandoff),
    /// Stop polling queue `queue` of `dp_port` and send it back on `reply` (nothing is sent
    /// if the PMD does not poll it).
    ReleaseRxq {
        /// Port.
        dp_port: u32,
        /// Queue index.
        queue: usize,
        /// Where the queue goes.
        reply: crossbeam_channel::Sender<RxqHandoff>,
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

/// The hasher of [`MegaflowRegistry`] (and of the datapath's port map): Fibonacci hashing of
/// a `u64` id.
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

    fn write_u32(&mut self, id: u32) {
        self.write_u64(u64::from(id));
    }
}

/// The part of a PMD other threads see.
pub struct PmdShared {
    /// PMD index.
    pub id: usize,
    /// CPU it is pinned to, if any.
    pub core: Option<usize>,
    /// The non-PMD thread (OVS's "main thread"): it polls the ports that are not poll-mode
    /// (internal TAP ports) and sleeps in `poll(2)` whenever they are idle. Not scheduled.
    pub non_pmd: bool,
    /// Published counters.
    pub stats: PmdStatsShared,
    /// Its installed megaflows, by id, for the revalidator and `dpctl/dump-flows`.
    pub registry: Mutex<MegaflowRegistry>,
    /// Commands to it, sent with [`PmdShared::send`] only: that raises `pending`, without
    /// which the PMD never looks at the channel.
    pub(super) commands: crossbeam_channel::Sender<PmdCommand>,
    /// Raised after a command is queued; the PMD looks at its queue only when it is up (one
    /// load of a line that stays in its cache, where a look at the queue cost some sixty
    /// instructions per iteration).
    pub(super) pending: AtomicBool,
    /// Written to wake the PMD from an idle sleep.
    pub wake_fd: RawFd,
    /// Receive queues it polls, for scheduling and `pmd-rxq-show` (changed by the PMD when it
    /// applies a command, never per packet).
    pub rxqs: Mutex<Vec<RxqEntry>>,
    /// NUMA node of its core (0 when unknown).
    pub numa: u32,
    /// Its load per measurement interval.
    pub intervals: PmdIntervals,
    /// The datapath clock (`now_ms`) when it started.
    pub started_ms: u64,
}

/// A receive queue as other threads see it in [`PmdShared::rxqs`].
#[derive(Clone, Debug)]
pub struct RxqEntry {
    /// Port.
    pub dp_port: u32,
    /// Queue index.
    pub queue: usize,
    /// Its measured processing cycles.
    pub stats: Arc<RxqStats>,
}

/// A receive queue on its way between PMDs (or waiting for one), with its measurements.
pub struct RxqHandoff {
    /// Port.
    pub dp_port: u32,
    /// Queue index.
    pub queue: usize,
    /// The queue.
    pub rxq: Box<dyn RxQueue>,
    /// Its measured processing cycles.
    pub stats: Arc<RxqStats>,
}

impl RxqHandoff {
    /// A queue with no measurements yet.
    pub fn new(dp_port: u32, queue: usize, rxq: Box<dyn RxQueue>) -> Self {
        RxqHandoff { dp_port, queue, rxq, stats: Arc::new(RxqStats::default()) }
    }
}

impl PmdShared {
    /// Sends a command and wakes the PMD.
    pub fn send(&self, cmd: PmdCommand) {
        // The PMD outlives every sender of commands except at shutdown, when it is fine to lose
        // them.
        let _ = self.commands.send(cmd);
        // After the command is queued: the PMD that sees the flag (Acquire) finds it.
        self.pending.store(true, Ordering::Release);
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
