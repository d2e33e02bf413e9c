//! Freeing removed megaflows off the PMD thread (OVS frees them after an RCU grace period,
//! in its RCU thread; this is the same division of work).
//!
//! # Why
//! Taking a megaflow out of a PMD's caches is cheap; freeing it is not. By the time a purge
//! (`revalidator/purge`, `dpctl/del-flows`) or the revalidator removes it, a megaflow has
//! usually left the PMD's caches: dropping the last reference reads and writes its first
//! line (the reference count), walks its dependencies (more reference counts, on rules) and
//! calls `free`. For a purge of 8,000 megaflows that was about a fifth of what the PMD spent
//! per flow setup in `rvs-bench new-flows`.
//!
//! # How
//! * A purge: the PMD swaps its whole megaflow cache and its registry map (under the
//!   registry's lock) for an emptied pair, which is O(1), and sends the old pair here. The
//!   reclaimer thread marks each megaflow dead, empties both (their tables keep their
//!   capacity) and sends the pair back on the PMD's own channel; the PMD swaps it in at its
//!   next purge, so a PMD that purges again and again does not grow tables from nothing.
//! * Deleted megaflows (the revalidator's, a removed port's) are sent here once the PMD has
//!   taken them out of its caches and registry.
//!
//! # Invariants
//! * What is sent here is unreachable from the PMD's caches and from the registry: no packet
//!   can hit it, no dump can list it. Other threads may still hold clones (a revalidator
//!   halfway through a pass); the `dead` flag, set here, tells them.
//! * One thread for the process (`rvs-reclaim`), started by [`start`] when the first PMD is
//!   built, on the control side: a thread inherits its creator's CPU affinity, and started
//!   from a PMD it would share (and steal) the PMD's pinned core. Should it fail to start,
//!   the caller drops its garbage itself: slower, never wrong.
//! * The channel is unbounded, but a purge sends one message and the thread frees 8,000
//!   megaflows in about a millisecond, so nothing accumulates.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::thread;

use crossbeam_channel::{Receiver, Sender};
use rvs_flowcache::megaflow::{Megaflow, MegaflowCache};

use super::handle::MegaflowRegistry;

/// An emptied megaflow cache and registry map, with their capacity, for the next purge.
pub(super) type Spare = (MegaflowCache, MegaflowRegistry);

/// Work for the reclaimer thread.
pub(super) enum Garbage {
    /// A PMD's megaflow cache and registry, swapped out by a purge; emptied, they go back on
    /// `back`.
    Purged { dpcls: MegaflowCache, registry: MegaflowRegistry, back: Sender<Spare> },
    /// Megaflows removed from a PMD's caches and registry.
    Deleted(Vec<Arc<Megaflow>>),
}

impl Garbage {
    /// Frees what it holds (marking megaflows dead first), returning a purge's emptied tables.
    fn free(self) {
        match self {
            Garbage::Purged { mut dpcls, mut registry, back } => {
                dpcls.clear();
                for f in registry.values() {
                    f.dead.store(true, Ordering::Relaxed);
                }
                registry.clear();
                // The PMD may be gone (stopped); its spare goes with it.
                let _ = back.send((dpcls, registry));
            }
            Garbage::Deleted(flows) => {
                for f in &flows {
                    f.dead.store(true, Ordering::Relaxed);
                }
                drop(flows);
            }
        }
    }
}

/// The reclaimer's queue, or `None` if its thread could not be started.
fn queue() -> Option<&'static Sender<Garbage>> {
    static QUEUE: OnceLock<Option<Sender<Garbage>>> = OnceLock::new();
    QUEUE
        .get_or_init(|| {
            let (tx, rx): (Sender<Garbage>, Receiver<Garbage>) = crossbeam_channel::unbounded();
            let spawned = thread::Builder::new().name("rvs-reclaim".into()).spawn(move || {
                for g in rx {
                    g.free();
                }
            });
            spawned.ok().map(|_| tx)
        })
        .as_ref()
}

/// Starts the reclaimer thread if it is not running. Call it from a thread whose CPU
/// affinity the reclaimer should have (not from a PMD).
pub(super) fn start() {
    let _ = queue();
}

/// Hands `g` to the reclaimer thread; frees it on this thread if there is none.
pub(super) fn defer(g: Garbage) {
    match queue() {
        Some(q) => {
            if let Err(e) = q.send(g) {
                e.into_inner().free();
            }
        }
        None => g.free(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_flowcache::dpaction::DpAction;
    use rvs_flowcache::megaflow::XlateDeps;
    use rvs_flowcache::FlowKey;

    fn flow(id: u64) -> Arc<Megaflow> {
        let mut key = FlowKey::ZERO;
        key.in_port = id as u32;
        let mut mask = FlowKey::ZERO;
        mask.in_port = u32::MAX;
        Arc::new(Megaflow::new(id, &key, &mask, vec![DpAction::Output(2)], XlateDeps::new(Vec::new(), 0, None, 0), 0))
    }

    #[test]
    fn a_purge_comes_back_empty_and_its_megaflows_are_freed_and_dead() {
        let (back, spares) = crossbeam_channel::unbounded();
        let mut dpcls = MegaflowCache::new();
        let mut registry = MegaflowRegistry::default();
        let kept: Vec<_> = (1..=100).map(flow).collect();
        for f in &kept {
            assert!(dpcls.insert(f.clone()));
            registry.insert(f.id, f.clone());
        }
        let watch: Vec<_> = kept.iter().map(Arc::downgrade).collect();
        let outside = kept[7].clone(); // a clone another thread still holds
        drop(kept);
        defer(Garbage::Purged { dpcls, registry, back });
        let (dpcls, registry) = spares.recv_timeout(std::time::Duration::from_secs(10)).expect("spare back");
        assert!(dpcls.is_empty() && registry.is_empty());
        assert!(registry.capacity() >= 100, "the registry keeps its capacity");
        assert!(outside.is_dead(), "a clone held elsewhere sees the megaflow dead");
        let alive = watch.iter().filter(|w| w.upgrade().is_some()).count();
        assert_eq!(alive, 1, "only the clone held elsewhere keeps its megaflow");
    }

    #[test]
    fn deleted_megaflows_are_marked_dead_and_freed() {
        let flows: Vec<_> = (1..=10).map(flow).collect();
        let outside = flows[3].clone();
        let watch = Arc::downgrade(&flows[4]);
        defer(Garbage::Deleted(flows));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while (watch.upgrade().is_some() || !outside.is_dead()) && std::time::Instant::now() < deadline {
            thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(outside.is_dead());
        assert!(watch.upgrade().is_none());
    }
}
