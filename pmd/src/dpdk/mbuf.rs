//! mbufs lent to packets: a received mbuf becomes the storage of a
//! [`PacketBuf`](rvs_packet::PacketBuf) (an external buffer of this module's kind), so receive
//! copies nothing; a DPDK transmit queue that gets such a packet hands the mbuf itself to the
//! device, so DPDK-to-DPDK forwarding copies nothing either. Any other port reads the packet as
//! any other, and dropping it frees the mbuf to its pool.
//!
//! An mbuf is lent only when the packet can own it outright: one segment, a direct mbuf (its
//! own buffer), one reference, its buffer right after its header (so that the header is found
//! from the buffer's address, [`MBUF_HEADER`] bytes before it). Others are copied.
//!
//! # mbuf headers read and written from Rust
//! Per packet, receive reads nine fields of the mbuf header and transmit writes four. Both
//! happen here, in Rust, at the offsets in [`field`], with no call into the shim and no
//! descriptor in between: a shim that wrote a descriptor per mbuf for Rust to read back cost
//! more than the reads themselves (rvs-bench 1flow, about 10 of rvs's 72 cycles per packet).
//! The offsets are those of `struct rte_mbuf` on 64-bit targets since DPDK 21.11; the shim
//! pins each with a static assertion, so that a DPDK with another layout fails the build
//! instead of being misread, and a unit test checks these constants against the shim's.
//!
//! All the fields are in the header's first cache line, which the driver has just written.
//! The reference count is read atomically (another holder of a shared mbuf may be changing
//! it); the other fields are not written by anyone while the mbuf is ours to read.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::OnceLock;

use rvs_packet::{register_external, ExternalKind, PacketBuf};

use super::eal;
use super::ffi::{self, RteMbuf, MBUF_HEADER};

/// Offsets of the `struct rte_mbuf` fields used here (pinned in `pmd/dpdk/shim.c`).
pub(crate) mod field {
    /// `void *buf_addr`: the buffer.
    pub(crate) const BUF_ADDR: usize = 0;
    /// `uint16_t data_off`: the frame's offset in the buffer.
    pub(crate) const DATA_OFF: usize = 16;
    /// `uint16_t refcnt` (atomic).
    pub(crate) const REFCNT: usize = 18;
    /// `uint16_t nb_segs`.
    pub(crate) const NB_SEGS: usize = 20;
    /// `uint64_t ol_flags`.
    pub(crate) const OL_FLAGS: usize = 24;
    /// `uint32_t pkt_len`: the whole packet, all segments.
    pub(crate) const PKT_LEN: usize = 36;
    /// `uint16_t data_len`: this segment.
    pub(crate) const DATA_LEN: usize = 40;
    /// `uint32_t hash.rss`.
    pub(crate) const HASH_RSS: usize = 44;
    /// `uint16_t buf_len`: the buffer's size.
    pub(crate) const BUF_LEN: usize = 54;
}

/// `ol_flags` bits used here (pinned in `pmd/dpdk/shim.c`).
pub(crate) mod flag {
    /// `RTE_MBUF_F_RX_RSS_HASH`: `hash.rss` holds the device's RSS hash.
    pub(crate) const RX_RSS_HASH: u64 = 1 << 1;
    /// `RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL`: the data is not the mbuf's own buffer.
    pub(crate) const NOT_DIRECT: u64 = (1 << 62) | (1 << 61);
}

/// Reads the field of type `T` at `off` in the header of `m`.
///
/// # Safety
/// `m` is a valid mbuf whose header nobody writes meanwhile; `off` is one of [`field`], of
/// type `T`.
#[inline(always)]
unsafe fn get<T: Copy>(m: *const RteMbuf, off: usize) -> T {
    // SAFETY: the caller's promises; the fields are naturally aligned.
    unsafe { m.cast::<u8>().add(off).cast::<T>().read() }
}

/// Writes the field of type `T` at `off` in the header of `m`.
///
/// # Safety
/// `m` is a valid mbuf that is ours alone; `off` is one of [`field`], of type `T`.
#[inline(always)]
unsafe fn set<T: Copy>(m: *mut RteMbuf, off: usize, v: T) {
    // SAFETY: the caller's promises; the fields are naturally aligned.
    unsafe { m.cast::<u8>().add(off).cast::<T>().write(v) }
}

/// The kind of external buffer that is an mbuf.
pub(crate) fn kind() -> ExternalKind {
    static KIND: OnceLock<ExternalKind> = OnceLock::new();
    *KIND.get_or_init(|| register_external(release))
}

/// Frees the mbuf whose buffer starts at `buf`.
unsafe fn release(buf: NonNull<u8>) {
    eal::attach_thread();
    // SAFETY: only buffers of lent mbufs (see `lend`) are released here, once each.
    unsafe { ffi::rvs_dpdk_free_buf(buf.as_ptr()) };
}

/// What receive needs of one received mbuf, read from its header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Received {
    buf: *mut u8,
    pub(crate) pkt_len: u32,
    data_off: u16,
    data_len: u16,
    buf_len: u16,
    pub(crate) nb_segs: u16,
    /// `hash.rss`, or 0 when the device gave none.
    pub(crate) rss_hash: u32,
    pub(crate) has_rss_hash: bool,
    /// Whether the packet may hold the mbuf itself (see the module documentation).
    pub(crate) lendable: bool,
}

impl Received {
    /// Reads the header of the received mbuf `m`.
    ///
    /// # Safety
    /// `m` was just received (by a receive burst of ours) and not given up yet.
    #[inline(always)]
    pub(crate) unsafe fn read(m: *const RteMbuf) -> Received {
        // SAFETY: the fields of a received mbuf's header are not written by others; its
        // reference count may be (a shared mbuf), so it is read atomically, as
        // rte_mbuf_refcnt_read does.
        let (buf, data_off, refcnt, nb_segs, ol_flags, pkt_len, data_len, rss, buf_len) = unsafe {
            (
                get::<*mut u8>(m, field::BUF_ADDR),
                get::<u16>(m, field::DATA_OFF),
                AtomicU16::from_ptr(m.cast::<u8>().add(field::REFCNT).cast::<u16>().cast_mut()).load(Ordering::Relaxed),
                get::<u16>(m, field::NB_SEGS),
                get::<u64>(m, field::OL_FLAGS),
                get::<u32>(m, field::PKT_LEN),
                get::<u16>(m, field::DATA_LEN),
                get::<u32>(m, field::HASH_RSS),
                get::<u16>(m, field::BUF_LEN),
            )
        };
        let has_rss_hash = ol_flags & flag::RX_RSS_HASH != 0;
        // One branch for the four conditions (`&`, not `&&`: every operand is already loaded).
        let lendable = (nb_segs == 1)
            & (refcnt == 1)
            & (ol_flags & flag::NOT_DIRECT == 0)
            & (buf as usize == m as usize + MBUF_HEADER);
        Received {
            buf,
            pkt_len,
            data_off,
            data_len,
            buf_len,
            nb_segs,
            rss_hash: if has_rss_hash { rss } else { 0 },
            has_rss_hash,
            lendable,
        }
    }

    /// The first segment's bytes.
    ///
    /// # Safety
    /// The mbuf read is still ours, and stays so while the slice lives.
    #[inline]
    pub(crate) unsafe fn first_segment<'a>(&self) -> &'a [u8] {
        // SAFETY: the first segment's data_len bytes lie at data_off in the buffer.
        unsafe { std::slice::from_raw_parts(self.buf.add(usize::from(self.data_off)), usize::from(self.data_len)) }
    }

    /// A packet holding the mbuf, with its RSS hash (`kind` is [`kind()`], read once by the
    /// caller).
    ///
    /// # Safety
    /// `lendable` is set, and the caller gives the mbuf up.
    #[inline(always)]
    pub(crate) unsafe fn lend(&self, kind: ExternalKind) -> PacketBuf {
        // SAFETY: a lendable mbuf's buffer is valid for buf_len bytes and ours alone; the frame
        // (one segment) lies inside it; `release` finds the header from the buffer and frees
        // the mbuf.
        let mut p = unsafe {
            PacketBuf::from_external(
                kind,
                NonNull::new_unchecked(self.buf),
                usize::from(self.buf_len),
                usize::from(self.data_off),
                usize::from(self.data_len),
            )
        };
        p.meta.rss_hash = self.rss_hash;
        p.meta.has_rss_hash = self.has_rss_hash;
        p
    }
}

/// Takes back the mbuf a packet holds, its header set to send the packet's frame: data offset
/// and lengths (a pushed tag or a cut may have moved or resized the frame), no offload flags
/// (receive flags such as the RSS hash's mean nothing on transmit, and no offload is asked
/// for). The packet is left empty, in place. `None` (the packet untouched) for packets that
/// hold no mbuf. `kind` is [`kind()`].
#[inline(always)]
pub(crate) fn take_back(kind: ExternalKind, p: &mut PacketBuf) -> Option<*mut RteMbuf> {
    let (buf, start, len) = p.take_external(kind)?;
    // SAFETY: a packet of this kind holds a lent mbuf (see `Received::lend`), whose header
    // sits MBUF_HEADER bytes before its buffer; it is ours alone (it had one reference, the
    // packet's, which is ours now) and of one segment; the frame lies within its buffer of at
    // most 64 KiB, so offset and length fit 16 bits.
    unsafe {
        let m = buf.as_ptr().sub(MBUF_HEADER).cast::<RteMbuf>();
        set_frame(m, start as u16, len as u16);
        Some(m)
    }
}

/// Sets the frame of a single-segment mbuf that is ours alone, for transmit: data offset,
/// lengths, and no offload flags.
///
/// # Safety
/// `m` is a valid single-segment mbuf that is ours alone; `off + len` is within its buffer.
#[inline(always)]
pub(crate) unsafe fn set_frame(m: *mut RteMbuf, off: u16, len: u16) {
    // SAFETY: the caller's promises.
    unsafe {
        set::<u16>(m, field::DATA_OFF, off);
        set::<u32>(m, field::PKT_LEN, u32::from(len));
        set::<u16>(m, field::DATA_LEN, len);
        set::<u64>(m, field::OL_FLAGS, 0);
    }
}

/// The start of the data room of a fresh (just allocated, reset) mbuf.
///
/// # Safety
/// `m` is a valid mbuf that is ours alone.
#[inline(always)]
pub(crate) unsafe fn data_room(m: *mut RteMbuf) -> *mut u8 {
    // SAFETY: the caller's promises; data_off is within the buffer.
    unsafe { get::<*mut u8>(m, field::BUF_ADDR).add(usize::from(get::<u16>(m, field::DATA_OFF))) }
}

/// The data offset of a fresh mbuf.
///
/// # Safety
/// As [`data_room`].
#[inline(always)]
pub(crate) unsafe fn data_off(m: *const RteMbuf) -> u16 {
    // SAFETY: the caller's promises.
    unsafe { get::<u16>(m, field::DATA_OFF) }
}

/// `pkt_len` of an mbuf that is ours.
///
/// # Safety
/// As [`data_room`].
#[inline]
pub(crate) unsafe fn pkt_len(m: *const RteMbuf) -> u32 {
    // SAFETY: the caller's promises.
    unsafe { get::<u32>(m, field::PKT_LEN) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shim's offsets and flags (from the C compiler, against the installed DPDK) are the
    /// ones this module reads and writes.
    #[test]
    fn field_offsets_match_the_shim() {
        let mut c = [0u64; 13];
        // SAFETY: the shim writes 13 values.
        unsafe { ffi::rvs_dpdk_mbuf_layout(c.as_mut_ptr()) };
        let rust = [
            MBUF_HEADER,
            field::BUF_ADDR,
            field::DATA_OFF,
            field::REFCNT,
            field::NB_SEGS,
            field::OL_FLAGS,
            field::PKT_LEN,
            field::DATA_LEN,
            field::HASH_RSS,
            field::BUF_LEN,
        ];
        assert_eq!(c[..10].iter().map(|&v| v as usize).collect::<Vec<_>>(), rust);
        assert_eq!((c[10], c[11]), (flag::RX_RSS_HASH, flag::NOT_DIRECT));
        assert_eq!(c[12] as usize, super::super::port::MBUF_HEADROOM);
    }

    /// A fake mbuf: a header of 128 bytes followed by its buffer, 8-byte aligned.
    struct Fake {
        words: Vec<u64>,
    }

    impl Fake {
        const BUF: usize = 256;

        /// A lendable one: one segment, one reference, direct, buffer right after the header,
        /// a 60-byte frame at offset 128, an RSS hash.
        fn new() -> Fake {
            let mut f = Fake { words: vec![0; (MBUF_HEADER + Self::BUF) / 8] };
            let m = f.m();
            let buf = m.cast::<u8>().wrapping_add(MBUF_HEADER);
            // SAFETY: `m` points into our words, large enough for every field.
            unsafe {
                set(m, field::BUF_ADDR, buf);
                set::<u16>(m, field::REFCNT, 1);
                set::<u16>(m, field::NB_SEGS, 1);
                set::<u16>(m, field::BUF_LEN, Self::BUF as u16);
                set_frame(m, 128, 60);
                set::<u64>(m, field::OL_FLAGS, flag::RX_RSS_HASH);
                set::<u32>(m, field::HASH_RSS, 0xabcd);
            }
            f
        }

        fn m(&mut self) -> *mut RteMbuf {
            self.words.as_mut_ptr().cast()
        }

        fn read(&mut self) -> Received {
            // SAFETY: a fake header of ours with every field set.
            unsafe { Received::read(self.m()) }
        }
    }

    #[test]
    fn only_whole_direct_unshared_mbufs_are_lendable() {
        let r = Fake::new().read();
        assert!(r.lendable);
        assert_eq!((r.pkt_len, r.nb_segs, r.rss_hash, r.has_rss_hash), (60, 1, 0xabcd, true));
        let mut f = Fake::new();
        // SAFETY: as in Fake::new.
        unsafe { set::<u64>(f.m(), field::OL_FLAGS, 0) };
        let r = f.read();
        assert!(r.lendable && !r.has_rss_hash && r.rss_hash == 0, "{r:?}");
        type Change = (&'static str, fn(*mut RteMbuf));
        let changes: [Change; 5] = [
            // SAFETY (all): as in Fake::new.
            ("chained", |m| unsafe { set::<u16>(m, field::NB_SEGS, 2) }),
            ("shared", |m| unsafe { set::<u16>(m, field::REFCNT, 2) }),
            ("indirect", |m| unsafe { set::<u64>(m, field::OL_FLAGS, 1 << 62) }),
            ("external buffer", |m| unsafe { set::<u64>(m, field::OL_FLAGS, 1 << 61) }),
            ("buffer elsewhere", |m| unsafe { set(m, field::BUF_ADDR, m.cast::<u8>().wrapping_add(MBUF_HEADER + 64)) }),
        ];
        for (what, change) in changes {
            let mut f = Fake::new();
            change(f.m());
            assert!(!f.read().lendable, "{what} mbuf lent");
        }
    }

    #[test]
    fn lent_mbufs_come_back_with_their_new_frame() {
        let mut f = Fake::new();
        let m = f.m();
        let kind = kind();
        // SAFETY: lendable (above); take_back gives the fake mbuf up again, never released.
        let mut p = unsafe { f.read().lend(kind) };
        assert_eq!((p.len(), p.headroom(), p.meta.rss_hash, p.meta.has_rss_hash), (60, 128, 0xabcd, true));
        p.prepend(4).unwrap();
        p.truncate(50);
        let back = take_back(kind, &mut p).unwrap();
        assert_eq!((back, p.len(), p.external_kind()), (m, 0, None));
        // SAFETY: our fake header.
        unsafe {
            assert_eq!((get::<u16>(m, field::DATA_OFF), get::<u16>(m, field::DATA_LEN), pkt_len(m)), (124, 50, 50));
            assert_eq!(get::<u64>(m, field::OL_FLAGS), 0);
        }
        let mut own = PacketBuf::from_slice(&[1; 20]);
        assert!(take_back(kind, &mut own).is_none());
        assert_eq!(own.data(), &[1; 20]);
    }
}
