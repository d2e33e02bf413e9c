//! The UMEM: one page-aligned area of fixed-size frames that the kernel receives into and
//! transmits from, shared by every socket of a port.
//!
//! # Layout
//! `n_queues` blocks, one per queue, each `rx_frames + tx_frames` frames of [`FRAME_SIZE`]
//! bytes. Frame addresses are byte offsets from the start of the area (what the rings carry).
//!
//! ```text
//! | queue 0: rx frames | queue 0: tx frames | queue 1: rx frames | queue 1: tx frames | ...
//! ```
//!
//! # Ownership of frames
//! A queue's RX frames circulate only between its fill ring, the kernel and its RX ring; its TX
//! frames only between its free list, its TX ring, the kernel and its completion ring. Each set
//! is owned by one side of one queue ([`super::rx::RxSide`], [`super::tx::TxSide`]), which is
//! owned by one thread at a time; a frame is read or written by rvs only while that side holds
//! it (taken from the RX or completion ring, not yet put on the fill or TX ring). That is the
//! invariant behind the `unsafe` accessors here.

use std::io;
use std::ptr::NonNull;

/// Bytes per frame: one page, the size every zero-copy driver accepts.
pub(super) const FRAME_SIZE: usize = 4096;

/// The frame area.
#[derive(Debug)]
pub(super) struct Umem {
    ptr: NonNull<u8>,
    len: usize,
    rx_frames: u32,
    tx_frames: u32,
}

// SAFETY: plain memory; which thread may touch which frame is governed by the ownership rules
// in the module documentation.
unsafe impl Send for Umem {}
// SAFETY: as above: shared references only hand out raw frame pointers through `unsafe` fns
// whose callers must own the frame.
unsafe impl Sync for Umem {}

impl Umem {
    /// Maps an anonymous, zeroed, pre-faulted area for `n_queues` queues.
    pub(super) fn new(n_queues: usize, rx_frames: u32, tx_frames: u32) -> io::Result<Umem> {
        let frames = n_queues * (rx_frames + tx_frames) as usize;
        let len = frames * FRAME_SIZE;
        // SAFETY: a fresh private anonymous mapping; nothing else refers to it yet.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Umem { ptr: NonNull::new(p.cast()).expect("mmap returned null"), len, rx_frames, tx_frames })
    }

    /// Start address of the area (for `XDP_UMEM_REG`).
    pub(super) fn addr(&self) -> u64 {
        self.ptr.as_ptr() as u64
    }

    /// Length of the area in bytes.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Addresses of queue `q`'s receive frames.
    pub(super) fn rx_frames(&self, q: usize) -> impl ExactSizeIterator<Item = u64> {
        let base = q as u32 * (self.rx_frames + self.tx_frames);
        (base..base + self.rx_frames).map(|i| u64::from(i) * FRAME_SIZE as u64)
    }

    /// Addresses of queue `q`'s transmit frames.
    pub(super) fn tx_frames(&self, q: usize) -> impl ExactSizeIterator<Item = u64> {
        let base = q as u32 * (self.rx_frames + self.tx_frames) + self.rx_frames;
        (base..base + self.tx_frames).map(|i| u64::from(i) * FRAME_SIZE as u64)
    }

    /// True if `len` bytes at `addr` lie inside one frame of the area (descriptors from the
    /// kernel are checked before use).
    pub(super) fn contains(&self, addr: u64, len: usize) -> bool {
        let off = (addr % FRAME_SIZE as u64) as usize;
        (addr as usize) < self.len && off + len <= FRAME_SIZE
    }

    /// The `len` bytes at `addr`.
    ///
    /// # Safety
    /// The caller owns the frame holding them (see the module documentation), so the kernel
    /// does not write them while the slice lives; `contains(addr, len)` holds.
    pub(super) unsafe fn bytes(&self, addr: u64, len: usize) -> &[u8] {
        debug_assert!(self.contains(addr, len));
        // SAFETY: inside the mapping (caller checked `contains`), not written concurrently.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(addr as usize), len) }
    }

    /// The `len` bytes at `addr`, writable.
    ///
    /// # Safety
    /// As for [`Umem::bytes`], and no other slice of these bytes is alive.
    #[allow(clippy::mut_from_ref)]
    pub(super) unsafe fn bytes_mut(&self, addr: u64, len: usize) -> &mut [u8] {
        debug_assert!(self.contains(addr, len));
        // SAFETY: inside the mapping; the caller owns the frame exclusively.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr().add(addr as usize), len) }
    }
}

impl Drop for Umem {
    fn drop(&mut self) {
        // SAFETY: our mapping. The sockets registered on it are closed before (field order of
        // the port's shared state); the kernel keeps its own pins on the pages until it is done.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// The frame holding address `addr` (RX descriptors point past the kernel's headroom).
pub(super) fn frame_of(addr: u64) -> u64 {
    addr & !(FRAME_SIZE as u64 - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues_own_disjoint_frames() {
        let u = Umem::new(2, 4, 2).unwrap();
        assert_eq!(u.len(), 12 * FRAME_SIZE);
        let rx0: Vec<u64> = u.rx_frames(0).collect();
        let tx0: Vec<u64> = u.tx_frames(0).collect();
        let rx1: Vec<u64> = u.rx_frames(1).collect();
        let tx1: Vec<u64> = u.tx_frames(1).collect();
        assert_eq!(rx0, [0, 4096, 8192, 12288]);
        assert_eq!(tx0, [16384, 20480]);
        assert_eq!(rx1[0], 6 * 4096);
        assert_eq!(*tx1.last().unwrap(), 11 * 4096);
        let mut all: Vec<u64> = [rx0, tx0, rx1, tx1].concat();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 12);
        assert!(u.contains(11 * 4096 + 256, 3840));
        assert!(!u.contains(11 * 4096 + 256, 3841));
        assert!(!u.contains(12 * 4096, 1));
        assert_eq!(frame_of(4096 + 256), 4096);
        // SAFETY: nothing else uses this test area.
        unsafe {
            u.bytes_mut(4096 + 10, 3).copy_from_slice(&[1, 2, 3]);
            assert_eq!(u.bytes(4096 + 10, 3), &[1, 2, 3]);
        }
    }
}
