//! A PMD's deleted megaflows, kept to be the next ones it sets up.
//!
//! # Why
//! A megaflow is one allocation of some 800 bytes. Under churn (flows set up and deleted
//! by the thousand, as when a revalidator purge or a rule change removes them all), a PMD
//! paid for each a `malloc` and a `free` that glibc's per-thread cache does not absorb: it
//! holds seven blocks per size, so the thousands freed by one flush went to the shared
//! bins, were merged with their neighbours, and were split again by the next setups.
//! callgrind (`rvs-pmd-bench -n 3 new-flows`) counted 170 instructions per `malloc` and
//! 230 per `free`, a tenth of a flow setup with its deletion; the header walks behind them
//! miss the cache.
//!
//! # How
//! When the PMD deletes a megaflow it [`MegaflowPool::put`]s its `Arc` here. If that was
//! the last reference (no cache, revalidator dump or `Weak` has it: `Arc::get_mut`), the
//! block is kept as it is; otherwise the `Arc` is just dropped and the last holder frees
//! it. A setup ([`MegaflowPool::make`]) writes the new megaflow into a kept block, in place,
//! dropping what the old one owned (actions, rules, groups, learned flows) on the way, and
//! only allocates when there is none.
//!
//! Kept blocks are scattered (the order the flush found them in), where `malloc` would
//! have carved consecutive ones out of the merged free space, and a setup writes a dozen
//! cache lines of its block: so each setup prefetches the block the next one will take.
//! Without that the pool was slower than `malloc` (`rvs-pmd-bench new-flows`, eight
//! alternated runs, medians: 429 against 347 ns per setup); with it, 316. Sorting the
//! kept blocks by address instead cost 250 instructions per megaflow and gained nothing
//! more.
//!
//! What the old megaflow owns is dropped by the setup that renews its block, not by the
//! flush that deletes it: the setup has prefetched the block, where the flush would take
//! a cache miss on each of the lines that hold the actions and the rules (a flush runs
//! through thousands of cold megaflows). `rvs-bench new-flows`, 14 alternated single runs:
//! medians 1675 and 1550 cycles per setup releasing at the flush, 1285 and 1393 at the
//! setup.
//!
//! # Invariants
//! * Every `Arc` in the pool is the only reference to its megaflow: nothing else can read
//!   a megaflow being rewritten.
//! * A kept megaflow still holds its rules (and groups, learned flows) until its block is
//!   renewed: a deleted rule's memory may wait for the next setup.
//! * At most [`MegaflowPool::MAX`] blocks are kept; deleting more frees the rest.

use std::sync::Arc;

use crate::key::{FlowKey, FlowMask};
use crate::megaflow::{FlowActions, Megaflow, XlateDeps};

/// See the module documentation.
#[derive(Default)]
pub struct MegaflowPool {
    free: Vec<Arc<Megaflow>>,
}

impl MegaflowPool {
    /// Most blocks kept (about 13 MB of megaflows): the churn of a busy PMD, without
    /// holding on to the memory of a flow table that shrank for good.
    pub const MAX: usize = 16 * 1024;

    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes a deleted megaflow: keeps its block if `flow` is its last reference and the
    /// pool has room, else drops `flow`. Returns whether the block was kept.
    pub fn put(&mut self, mut flow: Arc<Megaflow>) -> bool {
        if self.free.len() >= Self::MAX {
            return false;
        }
        if Arc::get_mut(&mut flow).is_none() {
            return false;
        }
        self.free.push(flow);
        true
    }

    /// A new megaflow, as [`Megaflow::new`], in a kept block when there is one.
    pub fn make(&mut self, id: u64, key: &FlowKey, mask: &FlowMask, actions: FlowActions, deps: XlateDeps, now_ms: u64) -> Arc<Megaflow> {
        match self.free.pop() {
            Some(mut flow) => {
                if let Some(next) = self.free.last() {
                    prefetch_block(next);
                }
                Arc::get_mut(&mut flow).expect("a pooled megaflow has no other reference").renew(id, key, mask, actions, deps, now_ms);
                flow
            }
            None => Arc::new(Megaflow::new(id, key, mask, actions, deps, now_ms)),
        }
    }

    /// Blocks kept.
    pub fn len(&self) -> usize {
        self.free.len()
    }

    /// True when no block is kept.
    pub fn is_empty(&self) -> bool {
        self.free.is_empty()
    }
}

/// Starts loading the block of the megaflow the next setup will write: kept blocks are
/// scattered (a malloc'd one is usually next to the last), and a setup writes all of its
/// dozen cache lines.
#[inline]
fn prefetch_block(flow: &Arc<Megaflow>) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = Arc::as_ptr(flow).cast::<u8>();
        for line in (0..std::mem::size_of::<Megaflow>()).step_by(64) {
            // SAFETY: a prefetch does not access memory; the address is inside the block.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.add(line).cast()) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = flow;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dpaction::DpAction;
    use crate::ofp::Rule;
    use crate::key::FlowKey;

    fn rule() -> Arc<Rule> {
        Rule::bare(7, 1, crate::ofp::Match::catchall())
    }

    fn key(src: u32) -> FlowKey {
        let mut k = FlowKey::ZERO;
        k.in_port = 1;
        k.dl_type = 0x0800;
        k.nw_src = src;
        k.nw_dst = 0x0a00_0001;
        k
    }

    fn exact_src() -> FlowMask {
        let mut m = FlowKey::ZERO;
        m.in_port = u32::MAX;
        m.dl_type = u16::MAX;
        m.nw_src = u32::MAX;
        m
    }

    #[test]
    fn a_deleted_megaflow_is_rewritten_in_place_as_the_next_one() {
        let mut pool = MegaflowPool::new();
        let r = rule();
        let deps = XlateDeps::new(vec![r.clone()], 3, Some(9), 4);
        let old = pool.make(1, &key(1), &exact_src(), vec![DpAction::Output(2)].into(), deps, 10);
        old.stats.add(5, 500, 11, 0x02);
        old.dead.store(true, std::sync::atomic::Ordering::Relaxed);
        let block = Arc::as_ptr(&old);
        assert_eq!(Arc::strong_count(&r), 2);
        assert!(pool.put(old));
        assert_eq!(pool.len(), 1);

        let deps = XlateDeps::new(Vec::<Arc<Rule>>::new(), 5, None, 6);
        let new = pool.make(2, &key(0x0102_0304), &exact_src(), FlowActions::new(), deps, 20);
        assert_eq!(Arc::as_ptr(&new), block);
        // What the old megaflow owned went when its block was renewed.
        assert_eq!(Arc::strong_count(&r), 1);
        assert!(pool.is_empty());
        let fresh = Megaflow::new(2, &key(0x0102_0304), &exact_src(), FlowActions::new(), XlateDeps::new(Vec::<Arc<Rule>>::new(), 5, None, 6), 20);
        assert_eq!(new.id, 2);
        assert!(!new.is_dead());
        assert_eq!(new.stats.read(), fresh.stats.read());
        assert_eq!((new.key, new.mask, new.map), (fresh.key, fresh.mask, fresh.map));
        assert_eq!((new.created_ms, new.disposition), (fresh.created_ms, fresh.disposition));
        assert_eq!(&new.actions[..], &fresh.actions[..]);
        assert!(new.deps.rules.is_empty());
        assert_eq!(new.batch_group.load(std::sync::atomic::Ordering::Relaxed), u8::MAX);
        assert!(new.matches(&key(0x0102_0304)) && !new.matches(&key(1)));
    }

    #[test]
    fn a_megaflow_still_referenced_is_not_kept() {
        let mut pool = MegaflowPool::new();
        let f = pool.make(1, &key(1), &exact_src(), FlowActions::new(), XlateDeps::new(vec![rule()], 0, None, 0), 0);
        let held = f.clone();
        assert!(!pool.put(f));
        assert!(pool.is_empty());
        let weak = Arc::downgrade(&held);
        assert!(!pool.put(held));
        assert!(weak.upgrade().is_none(), "dropped, not kept");
    }

    #[test]
    fn the_pool_keeps_at_most_max_blocks() {
        let mut pool = MegaflowPool::new();
        let flows: Vec<_> = (0..MegaflowPool::MAX + 3)
            .map(|i| Arc::new(Megaflow::new(i as u64, &key(i as u32), &exact_src(), FlowActions::new(), XlateDeps::new(Vec::<Arc<Rule>>::new(), 0, None, 0), 0)))
            .collect();
        let kept = flows.into_iter().map(|f| pool.put(f)).filter(|k| *k).count();
        assert_eq!(kept, MegaflowPool::MAX);
        assert_eq!(pool.len(), MegaflowPool::MAX);
    }
}
