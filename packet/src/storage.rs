//! The bytes behind a [`PacketBuf`](crate::PacketBuf): rvs's own heap buffer, or a buffer
//! owned by someone else — a DPDK mbuf, for example — that the packet holds until it is
//! dropped or handed back.
//!
//! # Why
//! A port that receives into buffers it owns (DPDK's mbufs) can give the packet path those
//! buffers instead of a copy, and a port of the same kind can transmit them without copying
//! back ("zero copy"). Everything else in rvs only sees `data()`: an external buffer is an
//! ordinary packet to it, and dropping the packet gives the buffer back to its owner.
//!
//! # Representation
//! Sixteen bytes, as the `Box<[u8]>` it replaces: a pointer, and one word holding the length
//! (low 32 bits) and the kind (high 32 bits). Two scalar fields, not three, on purpose: rustc
//! gives a two-scalar struct the same "scalar pair" ABI as a `Box<[u8]>`, so a storage moves
//! in two registers. With three fields it is an in-memory aggregate, and building one on the
//! stack (8-, 4- and 4-byte stores) then moving it (one 16-byte load) stalls store forwarding
//! on every received packet (2.5 ns of the 1-flow PMD benchmark's 24). Kind 0 is a
//! heap buffer allocated as `Box<[u8]>`; other kinds are registered once per process with
//! [`register_external`] and carry the function that releases a buffer of theirs, found from
//! the buffer's address alone (a DPDK mbuf's header sits at a fixed distance before its buffer).
//!
//! # Invariants
//! `ptr` is valid for reads and writes of `len` bytes for as long as the storage lives, and
//! nobody else touches those bytes meanwhile. A heap storage owns its box; an external one
//! owns one reference to its buffer, released exactly once (drop), unless it is given up
//! ([`PacketBuf::take_external`](crate::PacketBuf::take_external) forgets the storage).

use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How a kind of external buffer is released: called with the buffer's start address.
pub type ReleaseFn = unsafe fn(NonNull<u8>);

/// Most kinds of external buffer one process may register.
const MAX_KINDS: usize = 7;

/// Release functions of the registered kinds (kind `k` at `k - 1`); 0 = unused slot.
static RELEASE: [AtomicUsize; MAX_KINDS] = [const { AtomicUsize::new(0) }; MAX_KINDS];

/// A registered kind of external buffer (see [`register_external`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExternalKind(u32);

/// Registers a kind of external buffer released by `release`. Call once per kind and keep the
/// result (a `OnceLock` does). Panics after [`MAX_KINDS`] registrations.
pub fn register_external(release: ReleaseFn) -> ExternalKind {
    for (i, slot) in RELEASE.iter().enumerate() {
        if slot.compare_exchange(0, release as usize, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            return ExternalKind(i as u32 + 1);
        }
    }
    panic!("more than {MAX_KINDS} kinds of external packet buffers registered");
}

/// The bytes of one packet buffer. See the module documentation.
pub(crate) struct Storage {
    ptr: NonNull<u8>,
    /// Length in the low 32 bits; kind in the high 32 (0: heap `Box<[u8]>`, k: external kind k).
    len_kind: u64,
}

// SAFETY: a Storage owns its bytes exclusively (heap box, or one reference to an external
// buffer whose release function may be called from any thread: registering a kind promises
// that).
unsafe impl Send for Storage {}
// SAFETY: shared references only read the bytes.
unsafe impl Sync for Storage {}

impl Storage {
    #[inline(always)]
    fn byte_len(&self) -> usize {
        self.len_kind as u32 as usize
    }

    #[inline(always)]
    fn kind(&self) -> u32 {
        (self.len_kind >> 32) as u32
    }

    /// Takes ownership of a heap buffer.
    #[inline]
    pub(crate) fn heap(b: Box<[u8]>) -> Storage {
        let len = b.len() as u32;
        debug_assert_eq!(len as usize, b.len(), "buffers are smaller than 4 GiB");
        // SAFETY: Box::into_raw never returns null.
        let ptr = unsafe { NonNull::new_unchecked(Box::into_raw(b).cast::<u8>()) };
        Storage { ptr, len_kind: u64::from(len) }
    }

    /// Takes ownership of one reference to an external buffer of `kind`.
    ///
    /// # Safety
    /// `ptr` must be valid for reads and writes of `len` bytes, used by nobody else, until the
    /// kind's release function is called with it (which this storage does when dropped).
    #[inline]
    pub(crate) unsafe fn external(kind: ExternalKind, ptr: NonNull<u8>, len: usize) -> Storage {
        debug_assert!(len <= u32::MAX as usize, "buffers are smaller than 4 GiB");
        Storage { ptr, len_kind: (len as u32 as u64) | (u64::from(kind.0) << 32) }
    }

    /// The kind, if external.
    #[inline]
    pub(crate) fn external_kind(&self) -> Option<ExternalKind> {
        (self.kind() != 0).then_some(ExternalKind(self.kind()))
    }

    /// The start of the bytes.
    #[inline(always)]
    pub(crate) fn ptr(&self) -> NonNull<u8> {
        self.ptr
    }

    /// The heap box, if this is one (else `Err(self)`).
    #[inline]
    pub(crate) fn into_heap(self) -> Result<Box<[u8]>, Storage> {
        if self.kind() != 0 {
            return Err(self);
        }
        let me = std::mem::ManuallyDrop::new(self);
        // SAFETY: a kind-0 storage was made from exactly this box by `heap`.
        Ok(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(me.ptr.as_ptr(), me.byte_len())) })
    }
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage").field("len", &self.byte_len()).field("kind", &self.kind()).finish()
    }
}

impl Default for Storage {
    /// No bytes (a dropped or taken storage): dropping it does nothing.
    #[inline]
    fn default() -> Self {
        Storage::heap(Box::default())
    }
}

impl std::ops::Deref for Storage {
    type Target = [u8];
    #[inline(always)]
    fn deref(&self) -> &[u8] {
        // SAFETY: see the invariants.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.byte_len()) }
    }
}

impl std::ops::DerefMut for Storage {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: see the invariants; `&mut self` is exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.byte_len()) }
    }
}

impl Drop for Storage {
    #[inline]
    fn drop(&mut self) {
        if self.kind() == 0 {
            // SAFETY: a kind-0 storage was made from exactly this box by `heap`.
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(self.ptr.as_ptr(), self.byte_len())) });
        } else {
            release_external(self.kind(), self.ptr);
        }
    }
}

#[cold]
fn release_external(kind: u32, ptr: NonNull<u8>) {
    let f = RELEASE[kind as usize - 1].load(Ordering::Acquire);
    debug_assert_ne!(f, 0, "external kind {kind} is registered");
    // SAFETY: the slot holds a ReleaseFn stored by register_external (kinds are only handed out
    // after their slot is written); the storage owned one reference to this buffer.
    unsafe {
        let f: ReleaseFn = std::mem::transmute::<usize, ReleaseFn>(f);
        f(ptr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    static RELEASED: AtomicUsize = AtomicUsize::new(0);

    /// Test buffers are leaked boxes of 256 bytes; releasing frees them and counts.
    unsafe fn release_test(p: NonNull<u8>) {
        RELEASED.fetch_add(1, Ordering::SeqCst);
        // SAFETY: made by `leak` below.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(p.as_ptr(), 256)) });
    }

    fn leak() -> NonNull<u8> {
        NonNull::new(Box::into_raw(vec![5u8; 256].into_boxed_slice()).cast::<u8>()).unwrap()
    }

    #[test]
    fn heap_and_external_storage_release_once() {
        let kind = register_external(release_test);
        let before = RELEASED.load(Ordering::SeqCst);
        let h = Storage::heap(vec![1u8; 10].into_boxed_slice());
        assert!(h.external_kind().is_none() && h.len() == 10);
        assert_eq!(h.into_heap().unwrap().len(), 10);
        // SAFETY: a fresh buffer of 256 bytes, ours.
        let e = unsafe { Storage::external(kind, leak(), 256) };
        assert_eq!((e.external_kind(), e[0], e.len()), (Some(kind), 5, 256));
        let e = e.into_heap().unwrap_err();
        drop(e);
        assert_eq!(RELEASED.load(Ordering::SeqCst), before + 1);
        assert!(Storage::default().is_empty());
    }
}
