//! The packet buffer.
//!
//! # Layout
//! A buffer is one contiguous byte array: `[headroom | data | tailroom]`. A freshly taken buffer
//! has [`HEADROOM`] bytes in front of the data, so pushing a VLAN tag (4 bytes) or a tunnel's
//! outer headers (up to about 100 bytes) only moves `start` backwards.
//!
//! # Size classes and recycling
//! Two storage classes: standard buffers ([`STD_DATA_ROOM`] bytes of data room, enough for a
//! 1500-byte MTU frame with tags and tunnel headers) and large ones ([`LARGE_DATA_ROOM`], for
//! jumbo frames and segmentation-offload super-frames of up to 64 KiB). Dropped storage goes
//! back to a free list of the dropping thread, bounded per class; taking a buffer pops from that
//! list. A PMD thread that receives and transmits its own packets therefore allocates only
//! while its free list warms up.
//!
//! Reaching the thread's free list costs a thread-local access and a `RefCell` borrow. Code that
//! takes or drops many buffers at once (a receive burst, a transmit burst that frees what it
//! sent) borrows the list once with [`with_local_pool`] and works through the [`LocalPool`].
//!
//! # External buffers
//! A packet may also hold a buffer someone else owns (a DPDK mbuf): see [`crate::storage`] and
//! [`PacketBuf::from_external`]. It behaves as any other packet; dropping it (or recycling it
//! into a pool) releases the buffer to its owner instead of keeping it.
//!
//! # Invariants
//! `start + len <= storage.len()` always; `start` may be anywhere in the storage.

use std::cell::{RefCell, RefMut};
use std::ptr::NonNull;

use crate::meta::PacketMeta;
use crate::storage::{ExternalKind, Storage};

/// Bytes of headroom in front of the data of a freshly taken buffer.
pub const HEADROOM: usize = 128;
/// Data room of a standard buffer (after the headroom).
pub const STD_DATA_ROOM: usize = 2048;
/// Data room of a large buffer: a 64 KiB GSO frame plus its link headers.
pub const LARGE_DATA_ROOM: usize = 65536 + 256;

const STD_STORAGE: usize = HEADROOM + STD_DATA_ROOM;
const LARGE_STORAGE: usize = HEADROOM + LARGE_DATA_ROOM;

/// Free storage kept per thread and class; beyond this, dropped storage is freed.
const STD_POOL_MAX: usize = 8192;
const LARGE_POOL_MAX: usize = 64;

struct Pools {
    std: Vec<Box<[u8]>>,
    large: Vec<Box<[u8]>>,
}

thread_local! {
    static POOLS: RefCell<Pools> = const { RefCell::new(Pools { std: Vec::new(), large: Vec::new() }) };
}

impl Pools {
    /// Storage with at least `data_room` bytes after the headroom: pooled if possible.
    #[inline]
    fn take(&mut self, data_room: usize) -> Box<[u8]> {
        if HEADROOM + data_room <= STD_STORAGE {
            if let Some(s) = self.std.pop() {
                return s;
            }
        } else if HEADROOM + data_room <= LARGE_STORAGE {
            if let Some(s) = self.large.pop() {
                return s;
            }
        }
        fresh_storage(data_room)
    }

    /// Keeps `storage` for reuse if it is a heap buffer of a pooled class and the list has
    /// room; an external buffer goes back to its owner.
    #[inline]
    fn give(&mut self, storage: Storage) {
        let Ok(storage) = storage.into_heap() else { return };
        match storage.len() {
            STD_STORAGE if self.std.len() < STD_POOL_MAX => self.std.push(storage),
            LARGE_STORAGE if self.large.len() < LARGE_POOL_MAX => self.large.push(storage),
            _ => {}
        }
    }
}

/// New storage of the class that fits `data_room` (or of exactly that size beyond the large
/// class).
#[cold]
fn fresh_storage(data_room: usize) -> Box<[u8]> {
    let size = if HEADROOM + data_room <= STD_STORAGE {
        STD_STORAGE
    } else if HEADROOM + data_room <= LARGE_STORAGE {
        LARGE_STORAGE
    } else {
        HEADROOM + data_room
    };
    vec![0u8; size].into_boxed_slice()
}

/// Copies `src` into `dst` (of the same length). Frames of 32 to 64 bytes, the minimum-size
/// frames a switch sees most, take two overlapping fixed-size copies inline instead of a call
/// to `memcpy`.
#[inline(always)]
fn copy_frame(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    debug_assert_eq!(dst.len(), n);
    if (32..=64).contains(&n) {
        dst[..32].copy_from_slice(&src[..32]);
        dst[n - 32..n].copy_from_slice(&src[n - 32..]);
    } else {
        dst.copy_from_slice(src);
    }
}

/// The calling thread's free lists, borrowed once for many buffers (see the module
/// documentation). Buffers taken here are ordinary [`PacketBuf`]s.
pub struct LocalPool<'a> {
    pools: RefMut<'a, Pools>,
}

impl LocalPool<'_> {
    /// A packet holding a copy of `frame`, as [`PacketBuf::from_slice`].
    #[inline]
    pub fn packet_from_slice(&mut self, frame: &[u8]) -> PacketBuf {
        let mut storage = Storage::heap(self.pools.take(frame.len()));
        copy_frame(&mut storage[HEADROOM..HEADROOM + frame.len()], frame);
        PacketBuf { storage, start: HEADROOM as u32, len: frame.len() as u32, meta: PacketMeta::default() }
    }

    /// Drops `packet`, keeping its storage in this pool.
    #[inline]
    pub fn recycle(&mut self, mut packet: PacketBuf) {
        // The emptied buffer's own drop then finds no storage and touches no pool.
        self.pools.give(std::mem::take(&mut packet.storage));
    }

    /// Takes the storage of every packet in `packets` into this pool, leaving them empty (of
    /// length 0, with no storage; dropping them then costs nothing).
    #[inline]
    pub fn recycle_all(&mut self, packets: &mut [PacketBuf]) {
        for p in packets {
            self.pools.give(std::mem::take(&mut p.storage));
            p.start = 0;
            p.len = 0;
        }
    }
}

/// Runs `f` with the calling thread's buffer pool borrowed once. Inside `f`, buffers dropped
/// or taken other than through the [`LocalPool`] bypass the pool (they are freed or allocated):
/// do not nest. During thread teardown, `f` gets a pool that is not kept.
pub fn with_local_pool<R>(f: impl FnOnce(&mut LocalPool<'_>) -> R) -> R {
    let mut f = Some(f);
    let r = POOLS.try_with(|p| match p.try_borrow_mut() {
        Ok(pools) => Some((f.take().expect("called once"))(&mut LocalPool { pools })),
        Err(_) => None,
    });
    match r {
        Ok(Some(r)) => r,
        // Teardown, or nested use: a private pool that lives as long as the call.
        _ => {
            let cell = RefCell::new(Pools { std: Vec::new(), large: Vec::new() });
            let mut pool = LocalPool { pools: cell.borrow_mut() };
            let r = (f.take().expect("called once"))(&mut pool);
            drop(pool);
            r
        }
    }
}

fn take_storage(data_room: usize) -> Box<[u8]> {
    POOLS
        .try_with(|p| match p.try_borrow_mut() {
            Ok(mut p) => p.take(data_room),
            Err(_) => fresh_storage(data_room),
        })
        .unwrap_or_else(|_| fresh_storage(data_room))
}

fn give_storage(storage: Storage) {
    let _ = POOLS.try_with(|p| {
        if let Ok(mut p) = p.try_borrow_mut() {
            p.give(storage);
        }
    });
}

/// One frame, its headroom and its metadata.
///
/// Invariant: `start + len <= storage.len()` (the frame lies within the storage); every
/// constructor and mutator keeps it, and [`PacketBuf::data`] relies on it.
pub struct PacketBuf {
    storage: Storage,
    start: u32,
    len: u32,
    /// Per-packet metadata (input port, offload state, header offsets).
    pub meta: PacketMeta,
}

impl PacketBuf {
    /// An empty packet with [`HEADROOM`] bytes of headroom and at least `data_room` bytes of
    /// tailroom. Comes from the thread's free list when one is available.
    pub fn with_room(data_room: usize) -> Self {
        let storage = Storage::heap(take_storage(data_room));
        PacketBuf { storage, start: HEADROOM as u32, len: 0, meta: PacketMeta::default() }
    }

    /// A packet over an external buffer of `kind` (`buf_len` bytes from `buf`) whose frame is
    /// the `len` bytes at offset `start`. The packet owns one reference to the buffer: dropping
    /// it calls the kind's release function, [`PacketBuf::take_external`] gives it back.
    ///
    /// # Safety
    /// `buf` must be valid for reads and writes of `buf_len` bytes and used by nobody else
    /// until released; `start + len <= buf_len`; `kind`'s release function must accept `buf`.
    #[inline]
    pub unsafe fn from_external(kind: ExternalKind, buf: NonNull<u8>, buf_len: usize, start: usize, len: usize) -> Self {
        debug_assert!(start + len <= buf_len);
        // SAFETY: the caller's promises are the storage's.
        let storage = unsafe { Storage::external(kind, buf, buf_len) };
        PacketBuf { storage, start: start as u32, len: len as u32, meta: PacketMeta::default() }
    }

    /// The kind of external buffer this packet holds, or `None` for rvs's own.
    #[inline]
    pub fn external_kind(&self) -> Option<ExternalKind> {
        self.storage.external_kind()
    }

    /// Gives up an external buffer of `kind`: returns its start, the frame's offset in it and
    /// the frame's length, and the caller now owns the reference (to transmit the buffer,
    /// say). The packet is left empty, with no buffer: dropping it costs nothing. `None`, and
    /// the packet unchanged, for a packet over rvs's own buffer or one of another kind.
    ///
    /// Costs a compare and three stores: a transmit path takes back every packet of a burst
    /// this way, in place in its batch, without moving the packet out.
    #[inline(always)]
    pub fn take_external(&mut self, kind: ExternalKind) -> Option<(NonNull<u8>, usize, usize)> {
        if self.storage.external_kind() != Some(kind) {
            return None;
        }
        let taken = (self.storage.ptr(), self.start as usize, self.len as usize);
        // The reference goes to the caller: the storage is overwritten, not dropped.
        std::mem::forget(std::mem::take(&mut self.storage));
        self.start = 0;
        self.len = 0;
        Some(taken)
    }

    /// Whether the packet holds a buffer (false once taken: [`PacketBuf::take`],
    /// [`PacketBuf::take_external`]).
    #[inline]
    pub fn holds_buffer(&self) -> bool {
        !self.storage.is_empty()
    }

    /// Moves the packet out, leaving an empty packet with no buffer in its place (dropping it
    /// costs nothing; unlike `std::mem::take`, which would allocate a standard-size one).
    #[inline]
    pub fn take(&mut self) -> PacketBuf {
        std::mem::replace(self, PacketBuf { storage: Storage::default(), start: 0, len: 0, meta: PacketMeta::default() })
    }

    /// An empty standard-size packet.
    pub fn new() -> Self {
        Self::with_room(STD_DATA_ROOM)
    }

    /// A packet holding a copy of `frame`.
    pub fn from_slice(frame: &[u8]) -> Self {
        let mut p = Self::with_room(frame.len());
        copy_frame(&mut p.storage[HEADROOM..HEADROOM + frame.len()], frame);
        p.len = frame.len() as u32;
        p
    }

    /// A copy of this packet (data and metadata) in a fresh buffer with full headroom.
    pub fn duplicate(&self) -> Self {
        let mut p = Self::from_slice(self.data());
        p.meta = self.meta;
        p
    }

    /// The frame bytes.
    ///
    /// Without bounds checks (two compares and branches, on every packet of every stage that
    /// reads one): the frame lies within the storage by the type's invariant.
    #[inline]
    pub fn data(&self) -> &[u8] {
        debug_assert!(self.start as usize + self.len as usize <= self.storage.len());
        // SAFETY: `start + len <= storage.len()` (the invariant of `PacketBuf`), and the
        // storage's bytes are valid for reads while `self` is borrowed.
        unsafe { std::slice::from_raw_parts(self.storage.ptr().as_ptr().add(self.start as usize), self.len as usize) }
    }

    /// The frame bytes, writable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        debug_assert!(self.start as usize + self.len as usize <= self.storage.len());
        // SAFETY: as in `data`; the storage's bytes are ours alone while `self` is borrowed
        // mutably.
        unsafe { std::slice::from_raw_parts_mut(self.storage.ptr().as_ptr().add(self.start as usize), self.len as usize) }
    }

    /// Frame length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True for a zero-length frame.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Free bytes in front of the frame.
    #[inline]
    pub fn headroom(&self) -> usize {
        self.start as usize
    }

    /// Free bytes after the frame.
    #[inline]
    pub fn tailroom(&self) -> usize {
        self.storage.len() - (self.start + self.len) as usize
    }

    /// Grows the frame at the front by `n` bytes and returns them (contents unspecified).
    /// `None` when the headroom is too small; the packet is then unchanged.
    #[inline]
    pub fn prepend(&mut self, n: usize) -> Option<&mut [u8]> {
        if n > self.start as usize {
            return None;
        }
        self.start -= n as u32;
        self.len += n as u32;
        let s = self.start as usize;
        Some(&mut self.storage[s..s + n])
    }

    /// Removes `n` bytes from the front of the frame (clamped to the length).
    #[inline]
    pub fn trim_front(&mut self, n: usize) {
        let n = n.min(self.len as usize) as u32;
        self.start += n;
        self.len -= n;
    }

    /// Grows the frame at the back by `n` bytes and returns them (contents unspecified).
    /// `None` when the tailroom is too small.
    #[inline]
    pub fn append(&mut self, n: usize) -> Option<&mut [u8]> {
        if n > self.tailroom() {
            return None;
        }
        let end = (self.start + self.len) as usize;
        self.len += n as u32;
        Some(&mut self.storage[end..end + n])
    }

    /// Appends a copy of `bytes`; `false` (and no change) when the tailroom is too small.
    pub fn extend_from_slice(&mut self, bytes: &[u8]) -> bool {
        match self.append(bytes.len()) {
            Some(room) => {
                room.copy_from_slice(bytes);
                true
            }
            None => false,
        }
    }

    /// Shortens the frame to `len` bytes (no effect if it is already shorter).
    #[inline]
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len as u32);
    }

    /// Sets the frame length to `len` bytes, which must fit the buffer: used by receive paths
    /// that write straight into [`PacketBuf::spare_mut`]. Returns `false` if it does not fit.
    #[inline]
    pub fn set_len(&mut self, len: usize) -> bool {
        if self.start as usize + len > self.storage.len() {
            return false;
        }
        self.len = len as u32;
        true
    }

    /// All bytes from the frame start to the end of the buffer, for receive paths that copy a
    /// frame in and then call [`PacketBuf::set_len`].
    #[inline]
    pub fn spare_mut(&mut self) -> &mut [u8] {
        let s = self.start as usize;
        &mut self.storage[s..]
    }

    /// Resets to an empty frame with full headroom and default metadata, keeping the storage.
    pub fn reset(&mut self) {
        self.start = HEADROOM.min(self.storage.len()) as u32;
        self.len = 0;
        self.meta = PacketMeta::default();
    }

    /// Moves the first `n` bytes of the frame `by` bytes towards the front (into the headroom)
    /// and grows the frame by `by` bytes at the front; the `by` bytes right after the moved
    /// region are left for the caller to fill. Used to open a gap inside the headers, e.g. for
    /// a VLAN tag after the MAC addresses. `None` if headroom or length are short.
    pub fn open_gap(&mut self, n: usize, by: usize) -> Option<&mut [u8]> {
        if n > self.len as usize || by > self.start as usize {
            return None;
        }
        let s = self.start as usize;
        self.storage.copy_within(s..s + n, s - by);
        self.start -= by as u32;
        self.len += by as u32;
        let gap = s - by + n;
        Some(&mut self.storage[gap..gap + by])
    }

    /// Removes `by` bytes that follow the first `n` bytes of the frame, moving those `n` bytes
    /// towards the back. The inverse of [`PacketBuf::open_gap`]. `false` if the frame is short.
    pub fn close_gap(&mut self, n: usize, by: usize) -> bool {
        if n + by > self.len as usize {
            return false;
        }
        let s = self.start as usize;
        self.storage.copy_within(s..s + n, s + by);
        self.start += by as u32;
        self.len -= by as u32;
        true
    }
}

impl Default for PacketBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for PacketBuf {
    #[inline]
    fn drop(&mut self) {
        // Storage already handed back by `LocalPool::recycle` is empty.
        if !self.storage.is_empty() {
            give_storage(std::mem::take(&mut self.storage));
        }
    }
}

impl std::fmt::Debug for PacketBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PacketBuf")
            .field("len", &self.len)
            .field("headroom", &self.start)
            .field("meta", &self.meta)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_buffer_has_headroom_and_room() {
        let p = PacketBuf::new();
        assert_eq!(p.headroom(), HEADROOM);
        assert!(p.tailroom() >= STD_DATA_ROOM);
        assert!(p.is_empty());
    }

    #[test]
    fn prepend_and_trim_move_the_start() {
        let mut p = PacketBuf::from_slice(&[1, 2, 3]);
        p.prepend(2).unwrap().copy_from_slice(&[8, 9]);
        assert_eq!(p.data(), &[8, 9, 1, 2, 3]);
        p.trim_front(3);
        assert_eq!(p.data(), &[2, 3]);
        assert!(p.prepend(HEADROOM + 100).is_none());
        assert_eq!(p.data(), &[2, 3]);
    }

    #[test]
    fn gap_opens_and_closes_inside_the_frame() {
        let mut p = PacketBuf::from_slice(&[1, 2, 3, 4, 5, 6]);
        p.open_gap(2, 3).unwrap().copy_from_slice(&[7, 7, 7]);
        assert_eq!(p.data(), &[1, 2, 7, 7, 7, 3, 4, 5, 6]);
        assert!(p.close_gap(2, 3));
        assert_eq!(p.data(), &[1, 2, 3, 4, 5, 6]);
        assert!(!p.close_gap(5, 5));
    }

    #[test]
    fn large_frames_get_large_storage() {
        let big = vec![0xabu8; 60000];
        let p = PacketBuf::from_slice(&big);
        assert_eq!(p.len(), 60000);
        assert_eq!(p.headroom(), HEADROOM);
        assert!(p.data().iter().all(|&b| b == 0xab));
    }

    #[test]
    fn dropped_storage_is_reused() {
        let p = PacketBuf::from_slice(&[1; 64]);
        let addr = p.data().as_ptr() as usize;
        drop(p);
        let q = PacketBuf::new();
        assert_eq!(q.spare_mut_addr(), addr);
    }

    impl PacketBuf {
        fn spare_mut_addr(&self) -> usize {
            self.storage[self.start as usize..].as_ptr() as usize
        }
    }

    #[test]
    fn local_pool_takes_and_recycles() {
        let addr = with_local_pool(|pool| {
            let p = pool.packet_from_slice(&[7; 60]);
            assert_eq!((p.data(), p.headroom()), (&[7u8; 60][..], HEADROOM));
            let addr = p.data().as_ptr() as usize;
            pool.recycle(p);
            let q = pool.packet_from_slice(&[8; 10]);
            assert_eq!(q.data().as_ptr() as usize, addr, "recycled storage is reused");
            pool.recycle(q);
            addr
        });
        assert_eq!(PacketBuf::new().spare_mut_addr(), addr);
        // Nested use does not panic: the inner call gets a private pool.
        with_local_pool(|outer| {
            let p = outer.packet_from_slice(&[1; 3000]);
            with_local_pool(|inner| inner.recycle(PacketBuf::from_slice(&[2; 4])));
            assert_eq!(p.len(), 3000);
            assert!(p.tailroom() >= LARGE_DATA_ROOM - 3000);
        });
    }

    #[test]
    fn frames_of_every_small_size_copy_exactly() {
        for n in 0..=130 {
            let f: Vec<u8> = (0..n as u8).map(|b| b.wrapping_mul(7).wrapping_add(1)).collect();
            assert_eq!(PacketBuf::from_slice(&f).data(), &f[..]);
            with_local_pool(|pool| assert_eq!(pool.packet_from_slice(&f).data(), &f[..]));
        }
    }

    mod external {
        use super::super::*;
        use crate::storage::register_external;
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::OnceLock;

        static RELEASED: AtomicUsize = AtomicUsize::new(0);
        const BUF: usize = 512;

        unsafe fn release(p: NonNull<u8>) {
            RELEASED.fetch_add(1, Ordering::SeqCst);
            // SAFETY: made by `buffer`.
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(p.as_ptr(), BUF)) });
        }

        fn kind() -> ExternalKind {
            static KIND: OnceLock<ExternalKind> = OnceLock::new();
            *KIND.get_or_init(|| register_external(release))
        }

        fn packet(frame: &[u8]) -> PacketBuf {
            let b = Box::into_raw(vec![0u8; BUF].into_boxed_slice()).cast::<u8>();
            // SAFETY: a fresh buffer of BUF bytes; the frame fits after 128 bytes.
            let mut p = unsafe { PacketBuf::from_external(kind(), NonNull::new(b).unwrap(), BUF, 128, frame.len()) };
            p.data_mut().copy_from_slice(frame);
            p
        }

        #[test]
        fn external_buffers_act_as_packets_and_go_back_to_their_owner() {
            // One test, so that the release count is ours alone.
            let r0 = RELEASED.load(Ordering::SeqCst);
            let mut p = packet(&[1, 2, 3, 4]);
            assert_eq!((p.data(), p.headroom(), p.tailroom()), (&[1u8, 2, 3, 4][..], 128, BUF - 132));
            assert_eq!(p.external_kind(), Some(kind()));
            p.prepend(2).unwrap().copy_from_slice(&[9, 9]);
            assert_eq!(p.data(), &[9, 9, 1, 2, 3, 4]);
            assert_eq!(p.duplicate().external_kind(), None);
            drop(p);
            assert_eq!(RELEASED.load(Ordering::SeqCst), r0 + 1, "dropped: released");
            // Recycled into a pool: released, not kept.
            with_local_pool(|pool| pool.recycle(packet(&[5; 60])));
            let mut batch = [packet(&[6; 60]), PacketBuf::from_slice(&[7; 60])];
            with_local_pool(|pool| pool.recycle_all(&mut batch));
            assert_eq!(RELEASED.load(Ordering::SeqCst), r0 + 3);
            // Given up: the caller holds it, nothing is released.
            let mut p = packet(&[8; 10]);
            let (buf, start, len) = p.take_external(kind()).unwrap();
            assert_eq!((start, len, p.len(), p.external_kind(), p.holds_buffer()), (128, 10, 0, None, false));
            drop(p);
            assert_eq!((start, len), (128, 10));
            assert_eq!(RELEASED.load(Ordering::SeqCst), r0 + 3);
            // SAFETY: we hold the reference.
            unsafe { release(buf) };
            let mut own = PacketBuf::from_slice(&[1]);
            assert!(own.take_external(kind()).is_none());
            assert!(own.holds_buffer());
            assert_eq!(own.take().data(), &[1]);
            assert!(own.is_empty() && own.tailroom() == 0 && !own.holds_buffer());
        }
    }

    #[test]
    fn append_respects_tailroom() {
        let mut p = PacketBuf::new();
        assert!(p.append(STD_DATA_ROOM).is_some());
        assert!(p.append(1).is_none());
        p.truncate(10);
        assert_eq!(p.len(), 10);
        assert!(p.set_len(20));
        assert!(!p.set_len(STD_DATA_ROOM + 1));
    }
}
