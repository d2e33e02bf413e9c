//! A list kept inside its owner while short, on the heap when long: the storage of a
//! megaflow's datapath actions and rules.
//!
//! # Why
//! A megaflow nearly always has one or two actions (an output; a rewrite and an output) and
//! hits one or two OpenFlow rules. As `Vec`s those were two allocations per flow setup, two
//! frees when it is deleted, and a pointer to follow on every batch that executes its actions.
//! Inline, they cost none of these; the megaflow is one allocation.
//!
//! # Filling one without allocating
//! [`SmallList::take_from`] moves a `Vec`'s elements in when they fit and leaves the `Vec`
//! empty *with its capacity*, so that a caller translating many flows reuses one buffer
//! (see `rvs_dataplane`'s upcalls); a longer list takes the `Vec` itself.
//!
//! # Invariant
//! `Heap` is only used for more than `N` elements; the contents are what the slice view
//! shows, in order, whichever the storage.

use std::fmt;
use std::ops::Deref;

use arrayvec::ArrayVec;

/// Up to `N` elements inline, more on the heap. Read it as a slice.
pub enum SmallList<T, const N: usize> {
    /// At most `N` elements, inside the list.
    Inline(ArrayVec<T, N>),
    /// More than `N` elements.
    Heap(Vec<T>),
}

impl<T, const N: usize> SmallList<T, N> {
    /// An empty list.
    pub const fn new() -> Self {
        SmallList::Inline(ArrayVec::new_const())
    }

    /// The elements of `v`: moved in if they fit, leaving `v` empty with its capacity; else
    /// `v`'s buffer itself (and `v` is left empty without one).
    pub fn take_from(v: &mut Vec<T>) -> Self {
        if v.len() <= N {
            SmallList::Inline(v.drain(..).collect())
        } else {
            SmallList::Heap(std::mem::take(v))
        }
    }
}

impl<T, const N: usize> Default for SmallList<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize> From<Vec<T>> for SmallList<T, N> {
    fn from(mut v: Vec<T>) -> Self {
        Self::take_from(&mut v)
    }
}

impl<T, const N: usize> Deref for SmallList<T, N> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        match self {
            SmallList::Inline(a) => a,
            SmallList::Heap(v) => v,
        }
    }
}

impl<T: fmt::Debug, const N: usize> fmt::Debug for SmallList<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: PartialEq, const N: usize> PartialEq for SmallList<T, N> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Eq, const N: usize> Eq for SmallList<T, N> {}

impl<T: PartialEq, const N: usize> PartialEq<Vec<T>> for SmallList<T, N> {
    fn eq(&self, other: &Vec<T>) -> bool {
        **self == **other
    }
}

impl<T: PartialEq, const N: usize> PartialEq<[T]> for SmallList<T, N> {
    fn eq(&self, other: &[T]) -> bool {
        **self == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lists_move_in_and_leave_the_buffer() {
        let mut v = Vec::with_capacity(8);
        v.extend([1, 2]);
        let l: SmallList<u32, 2> = SmallList::take_from(&mut v);
        assert!(matches!(l, SmallList::Inline(_)));
        assert_eq!(*l, [1, 2]);
        assert!(v.is_empty());
        assert_eq!(v.capacity(), 8, "the buffer stays for the next list");
    }

    #[test]
    fn long_lists_take_the_buffer() {
        let mut v = vec![1, 2, 3];
        let l: SmallList<u32, 2> = SmallList::take_from(&mut v);
        assert!(matches!(l, SmallList::Heap(_)));
        assert_eq!(l, vec![1, 2, 3]);
        assert_eq!(v.capacity(), 0);
    }

    #[test]
    fn compares_by_contents_whatever_the_storage() {
        let a: SmallList<u8, 4> = vec![1, 2, 3].into();
        let b: SmallList<u8, 4> = SmallList::Heap(vec![1, 2, 3]);
        assert_eq!(a, b);
        assert_ne!(a, SmallList::from(vec![1, 2]));
        assert!(SmallList::<u8, 1>::new().is_empty());
        assert_eq!(format!("{a:?}"), "[1, 2, 3]");
    }
}
