//! Publishing new versions of the pipeline without ever blocking its readers.
//!
//! # Who
//! *Readers* are PMD threads doing upcalls: each translates one packet through the pipeline and
//! must never wait for a writer. The *writer* is the control thread applying flow-mods, possibly
//! a million in a burst. Readers hold a [`FlowTableReader`] (cheap to clone, `Send + Sync`); the
//! single writer owns the [`FlowTableWriter`], and `&mut self` makes its changes exclusive.
//!
//! # How: two copies and a log
//! There are two [`Pipeline`]s. The *active* one sits in an [`ArcSwap`]; a reader takes
//! [`FlowTableReader::snapshot`] (one `Arc` clone) once per upcall, or once per batch of a PMD's
//! upcalls, and drops it after. The
//! writer owns the other one, the *spare*, and a log of the changes (insert or remove one rule)
//! made to the active copy since the spare was last brought up to date. Rules are `Arc`s, so
//! both copies share every rule; only the hash tables exist twice.
//!
//! The first change of a *batch* waits until the writer is the spare's sole owner (the readers
//! of the version before the active one are gone; upcalls are short, so the writer spins, then
//! yields), replays the log on it, and from then on applies flow-mods to the spare directly:
//! every decision (does the rule exist? does it overlap?) sees the current state, including
//! the batch's own earlier changes. The changes are logged again. [`FlowTableWriter::publish`]
//! stores the spare as the active copy (one atomic pointer store), keeps the old active copy as
//! the new spare, and keeps the batch's log to replay on it.
//!
//! # What readers see
//! A snapshot is one published copy, immutable while anyone holds it: readers see all of a
//! batch or none of it, and a version never changes under an upcall. [`Pipeline::version`]
//! says which publication a snapshot is (it counts publishes, from 0).
//!
//! # Waiting, and its bound
//! The writer waits only for readers of the version *before* the active one, and only at the
//! first change of a batch. If some holder keeps that copy for long (the writer holding its own
//! [`FlowTableWriter::snapshot`] across two publishes would otherwise wait forever), the writer
//! stops waiting after [`WAIT_YIELDS`] yields and clones the active copy instead: O(rules),
//! but never a deadlock. [`FlowTableWriter::n_copies`] counts those fallbacks. Readers on cores
//! of their own (PMDs) release a version within one batch of upcalls (microseconds); a reader that shares a core with
//! the writer and is preempted while holding one delays the next batch by up to its time slice.
//!
//! # Costs
//! Reader: one atomic load and reference count increment per upcall (per batch of them in
//! the PMDs). Writer: each change is
//! applied twice (once now, once replayed at the next batch), O(1) amortised each; the log
//! holds one `Arc` per change until the replay.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::ofp::{FlowMod, Rule, RuleId};
use crate::pipeline::{FlowModError, FlowModOutcome, Pipeline, RemovedReason};

/// How long the writer waits for the spare's last readers (yields after a short spin) before
/// copying the active pipeline instead.
pub const WAIT_YIELDS: u32 = 1_000_000;

/// Spins before the writer starts yielding.
const SPINS: u32 = 128;

/// A reader's handle on the published pipeline. Cheap to clone.
#[derive(Clone)]
pub struct FlowTableReader {
    active: Arc<ArcSwap<Pipeline>>,
}

impl FlowTableReader {
    /// The published pipeline. Take it once per upcall (or batch of upcalls) and drop it
    /// after: while any reader holds a version, the writer cannot reuse its memory.
    #[inline]
    pub fn snapshot(&self) -> Arc<Pipeline> {
        self.active.load_full()
    }
}

/// One change to a copy, as logged for replay on the other copy.
enum Op {
    /// `rule` went in, replacing `replaced` (same table, match and priority), if any.
    Insert { rule: Arc<Rule>, replaced: Option<Arc<Rule>> },
    /// The rule went out.
    Remove(Arc<Rule>),
}

impl Op {
    fn redo(self, p: &mut Pipeline) {
        match self {
            Op::Insert { rule, replaced } => {
                let old = p.insert(rule);
                debug_assert_eq!(old.map(|r| r.id), replaced.map(|r| r.id), "replay diverged");
            }
            Op::Remove(rule) => {
                let old = p.remove(&rule);
                debug_assert!(old.is_some(), "replay diverged");
            }
        }
    }

    fn undo(self, p: &mut Pipeline) {
        match self {
            Op::Insert { rule, replaced: Some(old) } => {
                p.insert(old);
                drop(rule);
            }
            Op::Insert { rule, replaced: None } => {
                p.remove(&rule);
            }
            Op::Remove(rule) => {
                p.insert(rule);
            }
        }
    }
}

fn log_outcome(log: &mut Vec<Op>, outcome: &FlowModOutcome) {
    log.extend(outcome.added.iter().map(|r| Op::Insert { rule: r.clone(), replaced: None }));
    log.extend(outcome.modified.iter().map(|(old, new)| Op::Insert { rule: new.clone(), replaced: Some(old.clone()) }));
    log.extend(outcome.removed.iter().map(|(r, _)| Op::Remove(r.clone())));
}

/// The single writer of a pipeline. See the module documentation.
pub struct FlowTableWriter {
    active: Arc<ArcSwap<Pipeline>>,
    /// The `Arc` that `active` holds too.
    published: Arc<Pipeline>,
    /// The other copy. Ours alone while a batch is open.
    spare: Arc<Pipeline>,
    /// Changes made to `published` that `spare` has not seen.
    behind: Vec<Op>,
    /// Changes of the open batch, made to `spare` only.
    batch: Vec<Op>,
    /// `spare` is up to date and exclusively ours.
    open: bool,
    version: u64,
    next_id: RuleId,
    n_copies: u64,
}

impl Default for FlowTableWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl FlowTableWriter {
    /// Empty tables, version 0.
    pub fn new() -> FlowTableWriter {
        let published = Arc::new(Pipeline::new());
        FlowTableWriter {
            active: Arc::new(ArcSwap::new(published.clone())),
            published,
            spare: Arc::new(Pipeline::new()),
            behind: Vec::new(),
            batch: Vec::new(),
            open: false,
            version: 0,
            next_id: 1,
            n_copies: 0,
        }
    }

    /// A handle for readers.
    pub fn reader(&self) -> FlowTableReader {
        FlowTableReader { active: self.active.clone() }
    }

    /// Number of publishes so far (the version readers see).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// True if changes were made since the last publish.
    pub fn has_unpublished(&self) -> bool {
        self.open && !self.batch.is_empty()
    }

    /// Times the writer gave up waiting for old readers and copied the tables instead.
    pub fn n_copies(&self) -> u64 {
        self.n_copies
    }

    /// The published pipeline, as readers see it. Drop it before the next batch after a
    /// publish, or that batch will copy the tables instead of reusing this version's memory.
    pub fn snapshot(&self) -> Arc<Pipeline> {
        self.published.clone()
    }

    /// The pipeline including the changes not yet published: what the next publish will show.
    pub fn current(&self) -> &Pipeline {
        if self.open {
            &self.spare
        } else {
            &self.published
        }
    }

    /// Applies a flow-mod to the unpublished copy. Readers see it after [`Self::publish`].
    pub fn apply(&mut self, fm: &FlowMod, now_ms: u64) -> Result<FlowModOutcome, FlowModError> {
        let next_id = self.next_id;
        let spare = self.open_batch();
        spare.reserve_ids_below(next_id);
        let outcome = spare.apply(fm, now_ms)?;
        self.next_id = spare.next_id();
        log_outcome(&mut self.batch, &outcome);
        Ok(outcome)
    }

    /// Removes expired rules from the unpublished copy; see [`Pipeline::expire`].
    pub fn expire(&mut self, now_ms: u64) -> Vec<(Arc<Rule>, RemovedReason)> {
        let expired = self.open_batch().expire(now_ms);
        self.batch.extend(expired.iter().map(|(r, _)| Op::Remove(r.clone())));
        expired
    }

    /// Makes every change since the last publish visible to readers at once, and returns the
    /// new version. Does nothing (and returns the current version) if nothing changed.
    pub fn publish(&mut self) -> u64 {
        if !self.has_unpublished() {
            return self.version;
        }
        self.version += 1;
        let version = self.version;
        self.open_batch().set_version(version);
        let new = self.spare.clone();
        self.active.store(new.clone());
        self.spare = std::mem::replace(&mut self.published, new);
        debug_assert!(self.behind.is_empty());
        self.behind = std::mem::take(&mut self.batch);
        self.open = false;
        self.version
    }

    /// Forgets the changes made since the last publish (an aborted bundle). Rule ids handed
    /// out meanwhile are not reused.
    pub fn discard(&mut self) {
        if !self.open {
            return;
        }
        let spare = Arc::get_mut(&mut self.spare).expect("the open batch's copy is ours alone");
        for op in self.batch.drain(..).rev() {
            op.undo(spare);
        }
    }

    /// The spare, up to date and ours alone, waiting for its last readers first if needed.
    fn open_batch(&mut self) -> &mut Pipeline {
        if !self.open {
            self.wait_for_spare();
            let spare = Arc::get_mut(&mut self.spare).expect("waited for sole ownership");
            for op in self.behind.drain(..) {
                op.redo(spare);
            }
            self.open = true;
        }
        Arc::get_mut(&mut self.spare).expect("the open batch's copy is ours alone")
    }

    fn wait_for_spare(&mut self) {
        let mut waited = 0;
        while Arc::get_mut(&mut self.spare).is_none() {
            if waited < SPINS {
                std::hint::spin_loop();
            } else if waited < SPINS + WAIT_YIELDS {
                std::thread::yield_now();
            } else {
                // Someone holds the old version for long: copy the active one instead, which is
                // exactly what replaying the log would produce.
                self.spare = Arc::new((*self.published).clone());
                self.behind.clear();
                self.n_copies += 1;
                return;
            }
            waited += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Field;
    use crate::ofp::FlowModCommand;

    fn add(in_port: u32) -> FlowMod {
        let mut fm = FlowMod::new(FlowModCommand::Add);
        fm.match_.set(Field::InPort, in_port as u128);
        fm
    }

    #[test]
    fn readers_see_a_batch_only_once_published() {
        let mut w = FlowTableWriter::new();
        let r = w.reader();
        w.apply(&add(1), 0).unwrap();
        w.apply(&add(2), 0).unwrap();
        assert_eq!((r.snapshot().n_rules(), w.current().n_rules()), (0, 2));
        assert_eq!(w.publish(), 1);
        assert_eq!((r.snapshot().n_rules(), r.snapshot().version()), (2, 1));
        // The next batch starts from the replayed log.
        w.apply(&add(3), 0).unwrap();
        assert_eq!(w.publish(), 2);
        assert_eq!(r.snapshot().n_rules(), 3);
        assert_eq!(w.publish(), 2, "nothing new to publish");
    }

    #[test]
    fn discard_restores_the_published_state() {
        let mut w = FlowTableWriter::new();
        w.apply(&add(1), 0).unwrap();
        w.publish();
        let mut del = add(1);
        del.command = FlowModCommand::Delete;
        w.apply(&del, 0).unwrap();
        w.apply(&add(2), 0).unwrap();
        let mut modify = add(2);
        modify.command = FlowModCommand::Modify;
        w.apply(&modify, 0).unwrap();
        w.discard();
        assert!(!w.has_unpublished());
        let ids: Vec<_> = w.current().rules().map(|r| r.id).collect();
        assert_eq!(ids, [1]);
        // New ids do not reuse the discarded ones.
        assert_eq!(w.apply(&add(3), 0).unwrap().added[0].id, 3);
    }
}
