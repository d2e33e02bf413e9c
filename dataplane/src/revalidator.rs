//! The revalidator: keeps every PMD's megaflows true to the OpenFlow tables.
//!
//! # What one pass does, for every megaflow of every PMD
//! 1. **Credit.** The megaflow's traffic since the last pass is added to the counters of the
//!    OpenFlow rules its translation hit (and their "last used" time, which idle timeouts
//!    read).
//! 2. **Expire.** A megaflow unused for `max-idle` (default 10 s) is deleted.
//! 3. **Revalidate.** If anything it depended on changed (the bridge's pipeline version, its
//!    MAC table generation for `NORMAL` megaflows, its port configuration), its masked key is
//!    translated again; it is kept only if the actions are the same and need no bit outside
//!    its mask ([`rvs_flowcache::megaflow::revalidate`]), else deleted (the next packet
//!    upcalls).
//!
//! Deleted megaflows are marked dead at once (caches stop answering with them) and the PMD is
//! told to drop them. Passes run every [`PASS_INTERVAL`], or at once when kicked (after
//! flow-mods, port changes).
//!
//! # Barriers
//! [`Revalidator::sync`] runs a pass and waits for every PMD that lost megaflows in it to
//! finish the batch it was in.
//! The OpenFlow server calls it before answering a barrier, so that once a barrier is
//! answered no packet is forwarded by a megaflow the new rules would not produce.
//!
//! # Threads
//! The pass itself is [`RevalidatorCore::pass`]: plain code over the datapath and the PMD
//! handles. [`Revalidator`] owns one core on its own thread and runs it on a timer or when
//! asked. Tests and benchmarks that drive a PMD synchronously
//! ([`crate::testkit`]) own a core instead and run passes on their own thread, then let the
//! PMD apply the deletions it was sent.
//!
//! # Learning
//! A megaflow whose translation ran `learn` actions keeps the flow-mods they built; when it
//! has seen traffic since the last pass, they go to the control thread again (see
//! [`rvs_flowcache::learn`]), so that learned rules stay alive, and come back if deleted,
//! while packets only hit the caches. Re-translation compares rules, mask and actions; the
//! learned flow-mods follow from the rules hit and the bits in the mask, so they need no
//! comparison of their own.
//!
//! # Also
//! MAC table aging runs here (once per pass).

use std::collections::HashMap;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use arc_swap::ArcSwap;
use crossbeam_channel::{Receiver, Sender};
use rvs_flowcache::megaflow::{revalidate, Megaflow, Revalidation};
use rvs_flowcache::xlate::{xlate, XlateInput};

use crate::datapath::DatapathShared;
use crate::pmd_loop::{PmdCommand, PmdShared};

/// Time between periodic passes.
pub const PASS_INTERVAL: Duration = Duration::from_millis(500);
/// Default `max-idle`: megaflows unused this long are deleted.
pub const DEFAULT_MAX_IDLE_MS: u64 = 10_000;

enum Request {
    Kick,
    Sync(Sender<()>),
    SetMaxIdle(u64),
    Stop,
}

/// Counters of the revalidator, for `revalidator/show`.
#[derive(Clone, Debug, Default)]
pub struct RevalidatorStats {
    /// Passes run.
    pub passes: u64,
    /// Megaflows re-translated.
    pub revalidated: u64,
    /// Megaflows deleted because they changed.
    pub deleted_stale: u64,
    /// Megaflows deleted for idleness.
    pub deleted_idle: u64,
}

/// Handle to the revalidator thread.
pub struct Revalidator {
    tx: Sender<Request>,
    thread: Option<thread::JoinHandle<()>>,
    stats: Arc<std::sync::Mutex<RevalidatorStats>>,
}

impl Revalidator {
    /// Starts the thread over the given PMDs (replaced as PMDs are reconfigured).
    pub fn start(dp: Arc<DatapathShared>, pmds: Arc<ArcSwap<Vec<Arc<PmdShared>>>>) -> Revalidator {
        let (tx, rx) = crossbeam_channel::unbounded();
        let stats = Arc::new(std::sync::Mutex::new(RevalidatorStats::default()));
        let st = stats.clone();
        let thread = thread::Builder::new()
            .name("revalidator".into())
            .spawn(move || {
                let mut r = State { core: RevalidatorCore::new(dp, pmds), stats: st };
                r.run(rx)
            })
            .expect("spawn revalidator");
        Revalidator { tx, thread: Some(thread), stats }
    }

    /// Asks for a pass soon.
    pub fn kick(&self) {
        let _ = self.tx.send(Request::Kick);
    }

    /// Runs a pass now and waits until every PMD has dropped what it deleted.
    pub fn sync(&self) {
        let (tx, rx) = crossbeam_channel::bounded(1);
        if self.tx.send(Request::Sync(tx)).is_ok() {
            let _ = rx.recv();
        }
    }

    /// Changes `max-idle`.
    pub fn set_max_idle(&self, ms: u64) {
        let _ = self.tx.send(Request::SetMaxIdle(ms));
    }

    /// Counters so far.
    pub fn stats(&self) -> RevalidatorStats {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for Revalidator {
    fn drop(&mut self) {
        let _ = self.tx.send(Request::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The revalidator thread: a core and the counters its handle reads.
struct State {
    core: RevalidatorCore,
    stats: Arc<std::sync::Mutex<RevalidatorStats>>,
}

impl State {
    fn run(&mut self, rx: Receiver<Request>) {
        loop {
            let mut acks = Vec::new();
            match rx.recv_timeout(PASS_INTERVAL) {
                Ok(Request::Stop) | Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
                Ok(Request::Kick) | Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                Ok(Request::Sync(ack)) => acks.push(ack),
                Ok(Request::SetMaxIdle(ms)) => self.core.set_max_idle(ms),
            }
            // Coalesce whatever else is queued into this pass.
            while let Ok(r) = rx.try_recv() {
                match r {
                    Request::Stop => return,
                    Request::Kick => {}
                    Request::Sync(ack) => acks.push(ack),
                    Request::SetMaxIdle(ms) => self.core.set_max_idle(ms),
                }
            }
            let sync = !acks.is_empty();
            let pass = self.core.pass(sync);
            self.stats.lock().unwrap_or_else(|e| e.into_inner()).add(&pass);
            for a in acks {
                let _ = a.send(());
            }
        }
    }
}

impl RevalidatorStats {
    /// Adds the counts of `other` (one pass) to these.
    pub fn add(&mut self, other: &RevalidatorStats) {
        self.passes += other.passes;
        self.revalidated += other.revalidated;
        self.deleted_stale += other.deleted_stale;
        self.deleted_idle += other.deleted_idle;
    }
}

/// What a revalidation pass needs, and what it remembers between passes (the traffic already
/// credited to OpenFlow rules). Runs on whatever thread calls [`RevalidatorCore::pass`]: the
/// revalidator thread in the daemon, the test's own thread in [`crate::testkit`].
pub struct RevalidatorCore {
    dp: Arc<DatapathShared>,
    pmds: Arc<ArcSwap<Vec<Arc<PmdShared>>>>,
    /// Megaflow id -> (packets, bytes) already credited.
    last_seen: HashMap<u64, (u64, u64)>,
    max_idle_ms: u64,
}

impl RevalidatorCore {
    /// A core over the datapath and the PMDs (the list may be replaced at any time), with the
    /// default `max-idle`.
    pub fn new(dp: Arc<DatapathShared>, pmds: Arc<ArcSwap<Vec<Arc<PmdShared>>>>) -> RevalidatorCore {
        RevalidatorCore { dp, pmds, last_seen: HashMap::new(), max_idle_ms: DEFAULT_MAX_IDLE_MS }
    }

    /// Changes `max-idle` (milliseconds).
    pub fn set_max_idle(&mut self, ms: u64) {
        self.max_idle_ms = ms;
    }

    /// Runs one pass (see the module documentation) over every megaflow of every PMD and
    /// returns its counts (`passes` is 1).
    ///
    /// Deleted megaflows are marked dead before this returns, and each PMD is sent a
    /// [`PmdCommand::DeleteFlows`]. With `sync`, it also waits for each PMD to apply its
    /// commands and finish its batch ([`PmdShared::sync`]): only for PMDs running on threads of
    /// their own. A caller that drives a PMD itself passes `false` and then lets the PMD apply
    /// its pending commands.
    pub fn pass(&mut self, sync: bool) -> RevalidatorStats {
        let now = self.dp.now_ms();
        let ports = self.dp.ports.load();
        // Per-bridge versions, read once per pass, and MAC aging.
        let mut versions: HashMap<*const crate::datapath::BridgeDp, (u64, u64, u64)> = HashMap::new();
        for p in ports.iter() {
            let br = &p.bridge;
            versions.entry(Arc::as_ptr(br)).or_insert_with(|| {
                br.macs.lock().unwrap_or_else(|e| e.into_inner()).expire(now);
                (br.tables.snapshot().version(), br.mac_generation(), br.xlate.load().generation)
            });
        }
        let mut stats = RevalidatorStats::default();
        let pmds = self.pmds.load_full();
        let mut alive_ids = Vec::new();
        for pmd in pmds.iter() {
            let flows: Vec<Arc<Megaflow>> = pmd.registry.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect();
            let mut dead = Vec::new();
            for f in flows {
                if f.is_dead() {
                    continue;
                }
                let (packets, bytes, used, tcp_flags) = f.stats.read();
                let seen = self.last_seen.entry(f.id).or_insert((0, 0));
                let (dp_, db) = (packets - seen.0, bytes - seen.1);
                *seen = (packets, bytes);
                for r in f.deps.rules.iter() {
                    r.stats.credit(dp_, db, used);
                }
                for (g, buckets) in f.deps.groups.iter() {
                    g.credit(buckets, dp_, db);
                }
                if dp_ > 0 {
                    // `fin_timeout`: a FIN or RST among the megaflow's packets lowers timeouts.
                    f.deps.apply_fin_timeouts(tcp_flags);
                }
                if let (true, Some(learned)) = (dp_ > 0, &f.deps.learned) {
                    // Traffic on a megaflow that learns: learn again (refreshes or re-creates
                    // the learned rules, as OVS does when it pushes a megaflow's stats).
                    if let Some(info) = ports.get(f.key.in_port) {
                        self.dp.send_learned(&info.bridge.name, learned.clone());
                    }
                }
                if now.saturating_sub(used) > self.max_idle_ms {
                    stats.deleted_idle += 1;
                    dead.push(f);
                    continue;
                }
                let Some(info) = ports.get(f.key.in_port) else {
                    dead.push(f);
                    continue;
                };
                let br = &info.bridge;
                let (pv, mg, cg) = versions[&Arc::as_ptr(br)];
                if !f.deps.is_stale(pv, mg, cg) {
                    alive_ids.push(f.id);
                    continue;
                }
                stats.revalidated += 1;
                let pipeline = br.tables.snapshot();
                let conf = br.xlate.load_full();
                let mut key = f.key;
                key.in_port = info.ofport.0;
                let out = xlate(&XlateInput { pipeline: &pipeline, bridge: &conf.bridge, macs: &br.macs, key, now_ms: now, may_learn: false, trace: false });
                match revalidate(&f, &out.actions, &out.wc, &out.rules) {
                    Revalidation::Keep => {
                        f.deps.refresh(pipeline.version(), mg, conf.generation);
                        alive_ids.push(f.id);
                    }
                    Revalidation::Delete => {
                        stats.deleted_stale += 1;
                        dead.push(f);
                    }
                }
            }
            // A PMD that lost no megaflow forwards nothing the new rules would not: no need to
            // wait for it (a barrier then costs one pass, not a round trip to every PMD).
            if !dead.is_empty() {
                for f in &dead {
                    f.dead.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                pmd.send(PmdCommand::DeleteFlows(dead));
                if sync {
                    pmd.sync();
                }
            }
        }
        // Forget counters of megaflows that are gone.
        let alive: std::collections::HashSet<u64> = alive_ids.into_iter().collect();
        self.last_seen.retain(|id, _| alive.contains(id));
        stats.passes = 1;
        stats
    }
}
