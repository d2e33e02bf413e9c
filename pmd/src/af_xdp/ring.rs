//! The four single-producer/single-consumer rings of an AF_XDP socket, mapped from the kernel.
//!
//! # Layout and protocol
//! Each ring is a mapping of the socket at a fixed page offset (`XDP_PGOFF_*`) holding a
//! producer index, a consumer index, a flags word and `size` descriptors (`size` a power of two);
//! `getsockopt(XDP_MMAP_OFFSETS)` says where each is. Indices are free-running `u32`s; slot `i`
//! is `desc[i & (size - 1)]`. One side owns the producer index, the other the consumer index:
//!
//! | ring | entry | rvs is | kernel is |
//! |---|---|---|---|
//! | fill (FQ) | frame address `u64` | producer: frames the kernel may receive into | consumer |
//! | RX | [`XdpDesc`] | consumer: received frames | producer |
//! | TX | [`XdpDesc`] | producer: frames to send | consumer |
//! | completion (CQ) | frame address `u64` | consumer: sent frames, ours again | producer |
//!
//! A producer writes its entries, then publishes them with a release store of the producer
//! index; a consumer reads the producer index with an acquire load before reading entries, and
//! hands slots back with a release store of the consumer index (the kernel's `xsk_queue.h` pairs
//! with exactly these). Each side caches the other's index and reloads it only when the cache
//! says the ring is empty or full, so a burst costs one shared-memory load and one store.
//!
//! # Safety
//! [`ProdRing`] and [`ConsRing`] are owned by one thread at a time (`&mut self` for every
//! operation). They only touch entries in the range the protocol gives their side, so the
//! kernel never writes an entry while rvs reads or writes it.

use std::io;
use std::marker::PhantomData;
use std::os::fd::AsRawFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

use super::abi::{RingOffset, XdpDesc, XDP_RING_NEED_WAKEUP};

/// A shared mapping of an AF_XDP socket at a page offset, unmapped on drop.
#[derive(Debug)]
pub(super) struct RingMmap {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: plain shared memory; the ring types that own a mapping enforce the access protocol.
unsafe impl Send for RingMmap {}

impl RingMmap {
    fn map(fd: &impl AsRawFd, len: usize, pgoff: libc::off_t) -> io::Result<RingMmap> {
        // SAFETY: a fresh mapping at a kernel-chosen address; nothing else refers to it yet.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd.as_raw_fd(),
                pgoff,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(RingMmap { ptr: NonNull::new(p.cast()).expect("mmap returned null"), len })
    }
}

impl Drop for RingMmap {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` describe a mapping we created; the ring that owned it is gone.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// A ring entry type: `u64` frame addresses (fill, completion) or [`XdpDesc`] (RX, TX).
pub(super) trait Entry: Copy {}
impl Entry for u64 {}
impl Entry for XdpDesc {}

/// One mapped ring: pointers to its shared fields.
#[derive(Debug)]
struct Ring<T> {
    producer: NonNull<AtomicU32>,
    consumer: NonNull<AtomicU32>,
    flags: NonNull<AtomicU32>,
    desc: NonNull<T>,
    mask: u32,
    _map: RingMmap,
    _t: PhantomData<T>,
}

// SAFETY: the raw pointers point into `_map`, which moves with the ring; see the module docs
// for the access protocol.
unsafe impl<T: Send> Send for Ring<T> {}

impl<T: Entry> Ring<T> {
    /// Maps the ring of `size` entries that `off` describes at page offset `pgoff` of `fd`.
    fn map(fd: &impl AsRawFd, off: &RingOffset, size: u32, pgoff: libc::off_t) -> io::Result<Self> {
        debug_assert!(size.is_power_of_two());
        let len = off.desc as usize + size as usize * std::mem::size_of::<T>();
        let words = [off.producer, off.consumer, off.flags];
        let word_bad = |o: u64| o as usize + 4 > len || !o.is_multiple_of(4);
        if words.into_iter().any(word_bad) || !(off.desc as usize).is_multiple_of(std::mem::align_of::<T>()) {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "unexpected AF_XDP ring layout"));
        }
        let map = RingMmap::map(fd, len, pgoff)?;
        let base = map.ptr.as_ptr();
        // SAFETY: every offset was checked to lie inside the `len`-byte mapping, aligned for its
        // type; AtomicU32 has the layout of the kernel's u32 indices.
        let at = |o: u64| unsafe { NonNull::new_unchecked(base.add(o as usize)) };
        Ok(Ring {
            producer: at(off.producer).cast(),
            consumer: at(off.consumer).cast(),
            flags: at(off.flags).cast(),
            desc: at(off.desc).cast(),
            mask: size - 1,
            _map: map,
            _t: PhantomData,
        })
    }

    fn producer(&self) -> &AtomicU32 {
        // SAFETY: points into the live mapping (see `map`).
        unsafe { self.producer.as_ref() }
    }

    fn consumer(&self) -> &AtomicU32 {
        // SAFETY: as above.
        unsafe { self.consumer.as_ref() }
    }

    fn flags(&self) -> u32 {
        // SAFETY: as above.
        unsafe { self.flags.as_ref() }.load(Ordering::Relaxed)
    }

    fn size(&self) -> u32 {
        self.mask + 1
    }

    /// Pointer to the slot of free-running index `i`.
    fn slot(&self, i: u32) -> *mut T {
        // SAFETY: `i & mask < size`, and the mapping holds `size` entries from `desc`.
        unsafe { self.desc.as_ptr().add((i & self.mask) as usize) }
    }
}

/// A ring rvs produces into (fill, TX).
#[derive(Debug)]
pub(super) struct ProdRing<T> {
    ring: Ring<T>,
    /// Our producer index (what we have published, plus what `write` filled but not yet
    /// published is tracked by the caller as an offset).
    prod: u32,
    /// The kernel's consumer index plus the ring size, as last read: slots below it are free.
    free_end: u32,
}

impl<T: Entry> ProdRing<T> {
    pub(super) fn map(fd: &impl AsRawFd, off: &RingOffset, size: u32, pgoff: libc::off_t) -> io::Result<Self> {
        let ring = Ring::map(fd, off, size, pgoff)?;
        let prod = ring.producer().load(Ordering::Relaxed);
        let free_end = ring.consumer().load(Ordering::Acquire).wrapping_add(ring.size());
        Ok(ProdRing { ring, prod, free_end })
    }

    /// Ring capacity.
    pub(super) fn size(&self) -> u32 {
        self.ring.size()
    }

    /// Number of free slots, at most `want`; reloads the kernel's index only when the cached
    /// value shows fewer than `want`.
    pub(super) fn free(&mut self, want: u32) -> u32 {
        let cached = self.free_end.wrapping_sub(self.prod);
        if cached >= want {
            return want;
        }
        self.free_end = self.ring.consumer().load(Ordering::Acquire).wrapping_add(self.ring.size());
        self.free_end.wrapping_sub(self.prod).min(want)
    }

    /// Writes entry `k` of the batch being produced (`k` below what [`ProdRing::free`] granted).
    pub(super) fn write(&mut self, k: u32, value: T) {
        debug_assert!(k < self.free_end.wrapping_sub(self.prod));
        // SAFETY: the slot is free (granted by `free`): the kernel does not read it until the
        // producer index passes it, which only `submit` does.
        unsafe { self.ring.slot(self.prod.wrapping_add(k)).write(value) };
    }

    /// Publishes the first `n` written entries.
    pub(super) fn submit(&mut self, n: u32) {
        debug_assert!(n <= self.free_end.wrapping_sub(self.prod));
        self.prod = self.prod.wrapping_add(n);
        self.ring.producer().store(self.prod, Ordering::Release);
    }

    /// Entries published but not yet taken by the kernel.
    pub(super) fn unconsumed(&self) -> u32 {
        self.prod.wrapping_sub(self.ring.consumer().load(Ordering::Acquire))
    }

    /// True if the kernel asked for a wake-up system call (`XDP_RING_NEED_WAKEUP`).
    pub(super) fn needs_wakeup(&self) -> bool {
        self.ring.flags() & XDP_RING_NEED_WAKEUP != 0
    }
}

/// A ring rvs consumes from (RX, completion).
#[derive(Debug)]
pub(super) struct ConsRing<T> {
    ring: Ring<T>,
    cons: u32,
    /// The kernel's producer index as last read.
    avail_end: u32,
}

impl<T: Entry> ConsRing<T> {
    pub(super) fn map(fd: &impl AsRawFd, off: &RingOffset, size: u32, pgoff: libc::off_t) -> io::Result<Self> {
        let ring = Ring::map(fd, off, size, pgoff)?;
        let cons = ring.consumer().load(Ordering::Relaxed);
        let avail_end = ring.producer().load(Ordering::Acquire);
        Ok(ConsRing { ring, cons, avail_end })
    }

    /// Number of entries ready, at most `max`; reloads the kernel's index only when the cached
    /// value shows none.
    pub(super) fn available(&mut self, max: u32) -> u32 {
        let mut n = self.avail_end.wrapping_sub(self.cons);
        if n == 0 {
            self.avail_end = self.ring.producer().load(Ordering::Acquire);
            n = self.avail_end.wrapping_sub(self.cons);
        }
        n.min(max)
    }

    /// Reads entry `k` of the ready range (`k` below what [`ConsRing::available`] returned).
    pub(super) fn read(&self, k: u32) -> T {
        debug_assert!(k < self.avail_end.wrapping_sub(self.cons));
        // SAFETY: the kernel published this slot (acquire load in `available`) and does not
        // reuse it until the consumer index passes it, which only `release` does.
        unsafe { self.ring.slot(self.cons.wrapping_add(k)).read() }
    }

    /// Hands the first `n` ready entries back to the kernel.
    pub(super) fn release(&mut self, n: u32) {
        debug_assert!(n <= self.avail_end.wrapping_sub(self.cons));
        self.cons = self.cons.wrapping_add(n);
        self.ring.consumer().store(self.cons, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::{FromRawFd, OwnedFd};

    /// A memory file laid out like a ring of `size` u64 entries: producer at 0, consumer at
    /// 64, flags at 128, entries from 192. Mapped twice, it gives both ends of one ring: rvs's
    /// side and a stand-in for the kernel's.
    fn ring_file(size: u32) -> (OwnedFd, RingOffset) {
        // SAFETY: memfd_create with a static name; the result is a fresh descriptor.
        let fd = unsafe { libc::memfd_create(c"rvs-ring-test".as_ptr(), libc::MFD_CLOEXEC) };
        assert!(fd >= 0);
        // SAFETY: fresh descriptor, owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let len = 192 + size as i64 * 8;
        // SAFETY: resizing our own memory file.
        assert_eq!(unsafe { libc::ftruncate(fd.as_raw_fd(), len) }, 0);
        (fd, RingOffset { producer: 0, consumer: 64, desc: 192, flags: 128 })
    }

    #[test]
    fn entries_cross_from_producer_to_consumer_in_order_across_the_wrap() {
        let (fd, off) = ring_file(8);
        let mut prod = ProdRing::<u64>::map(&fd, &off, 8, 0).unwrap();
        let mut cons = ConsRing::<u64>::map(&fd, &off, 8, 0).unwrap();
        let mut next_in = 0u64;
        let mut next_out = 0u64;
        for round in 0..20u32 {
            let want = 1 + round % 7;
            let n = prod.free(want);
            for k in 0..n {
                prod.write(k, next_in);
                next_in += 1;
            }
            prod.submit(n);
            assert_eq!(prod.unconsumed(), (next_in - next_out) as u32);
            let got = cons.available(round % 5 + 1);
            for k in 0..got {
                assert_eq!(cons.read(k), next_out);
                next_out += 1;
            }
            cons.release(got);
        }
        assert!(next_in > 40, "the ring wrapped several times ({next_in} entries)");
    }

    #[test]
    fn a_full_ring_grants_nothing_until_the_consumer_releases() {
        let (fd, off) = ring_file(4);
        let mut prod = ProdRing::<u64>::map(&fd, &off, 4, 0).unwrap();
        let mut cons = ConsRing::<u64>::map(&fd, &off, 4, 0).unwrap();
        assert_eq!(prod.free(10), 4);
        for k in 0..4 {
            prod.write(k, u64::from(k));
        }
        prod.submit(4);
        assert_eq!(prod.free(1), 0);
        assert_eq!(cons.available(2), 2);
        cons.release(2);
        assert_eq!(prod.free(3), 2);
        assert!(!prod.needs_wakeup());
        // The stand-in kernel raises the flag.
        let flags = cons.ring.flags.as_ptr();
        // SAFETY: the flags word of our own test mapping.
        unsafe { (*flags).store(XDP_RING_NEED_WAKEUP, Ordering::Relaxed) };
        assert!(prod.needs_wakeup());
        assert_eq!(cons.available(10), 2);
    }
}
