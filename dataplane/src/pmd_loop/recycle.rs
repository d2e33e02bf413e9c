//! Megaflow memory recycled on the PMD thread: deleted megaflows whose last reference the PMD
//! holds are kept (up to [`POOL_CAP`]) and overwritten by the next flow setups, instead of
//! being freed and allocated again.
//!
//! # Why
//! A purge (`revalidator/purge`, `dpctl/del-flows`) frees every megaflow at once and the
//! traffic that follows sets them all up again. A megaflow is one allocation of about 800
//! bytes, past what glibc's per-thread cache holds in number, so each cost a trip through the
//! arena's bins both ways: about a twentieth of a flow setup's instructions. Recycled, it is
//! a pop from a vector, and the memory is warm.
//!
//! # Safety by construction
//! A pooled megaflow is reused only through [`Arc::get_mut`], which succeeds only when no other
//! reference (strong or weak) exists: nobody can see the old megaflow change into the new one.
//! One that someone else still holds (the revalidator in the middle of a pass) is simply
//! dropped by the pool instead. The pool is per thread (each PMD has its own) and holds at
//! most [`POOL_CAP`] megaflows, whose old contents (actions, the rules they reference) are
//! released when they are reused.

use std::cell::RefCell;
use std::sync::Arc;

use rvs_flowcache::emc::DEFAULT_ENTRIES;
use rvs_flowcache::megaflow::Megaflow;

/// Most megaflows kept per thread: as many as the exact-match cache has entries (about 6 MB).
pub(super) const POOL_CAP: usize = DEFAULT_ENTRIES;

thread_local! {
    static POOL: RefCell<Vec<Arc<Megaflow>>> = const { RefCell::new(Vec::new()) };
}

/// Keeps the megaflows whose last reference is theirs, up to [`POOL_CAP`]; drops the rest.
pub(super) fn recycle(flows: impl IntoIterator<Item = Arc<Megaflow>>) {
    POOL.with_borrow_mut(|pool| {
        for f in flows {
            if pool.len() < POOL_CAP && Arc::strong_count(&f) == 1 {
                pool.push(f);
            }
        }
    });
}

/// The megaflow `make` builds, in an `Arc`: a recycled one's memory if the pool has one,
/// else a new allocation. (Built by the caller's closure where it is stored, so that the
/// 800-byte value is not moved through the pool's code.)
pub(super) fn into_arc(make: impl FnOnce() -> Megaflow) -> Arc<Megaflow> {
    while let Some(mut old) = POOL.with_borrow_mut(Vec::pop) {
        if let Some(m) = Arc::get_mut(&mut old) {
            *m = make();
            return old;
        }
    }
    Arc::new(make())
}

/// Megaflows in this thread's pool (for tests).
#[cfg(test)]
pub(super) fn pooled() -> usize {
    POOL.with_borrow(Vec::len)
}

#[cfg(test)]
mod tests {
    use rvs_flowcache::megaflow::XlateDeps;
    use rvs_flowcache::FlowKey;

    use super::*;

    fn flow(id: u64) -> Megaflow {
        Megaflow::new(id, &FlowKey::ZERO, &FlowKey::ZERO, vec![], XlateDeps::new(vec![], 0, None, 0), 0)
    }

    #[test]
    fn reuses_only_what_nobody_else_holds() {
        let lone = Arc::new(flow(1));
        let shared = Arc::new(flow(2));
        let other = shared.clone();
        let lone_ptr = Arc::as_ptr(&lone);
        recycle([lone, shared]);
        assert_eq!(pooled(), 1, "a megaflow someone else holds is not kept");
        let f = into_arc(|| flow(3));
        assert_eq!(Arc::as_ptr(&f), lone_ptr, "the pooled memory is reused");
        assert_eq!((f.id, f.is_dead()), (3, false));
        assert_eq!(other.id, 2);
        let g = into_arc(|| flow(4));
        assert_eq!(g.id, 4, "an empty pool allocates");
        assert_eq!(pooled(), 0);
    }

    #[test]
    fn a_megaflow_shared_after_pooling_is_not_reused() {
        let f = Arc::new(flow(1));
        recycle([f]);
        // Only the pool holds it; take it back out as the pool would, but keep a second
        // reference (as a revalidator holding a clone would) before reuse.
        let held = POOL.with_borrow(|p| p[0].clone());
        let g = into_arc(|| flow(2));
        assert!(!Arc::ptr_eq(&g, &held), "a megaflow held elsewhere is never overwritten");
        assert_eq!((held.id, g.id), (1, 2));
        assert_eq!(pooled(), 0, "it leaves the pool all the same");
    }
}
