//! mbufs lent to packets: a received mbuf becomes the storage of a
//! [`PacketBuf`](rvs_packet::PacketBuf) (an external buffer of this module's kind), so receive
//! copies nothing; a DPDK transmit queue that gets such a packet hands the mbuf itself to the
//! device, so DPDK-to-DPDK forwarding copies nothing either. Any other port reads the packet as
//! any other, and dropping it frees the mbuf to its pool.
//!
//! An mbuf is lent only when the packet can own it outright: one segment, a direct mbuf (its
//! own buffer), one reference, its buffer right after its header. Others are copied.

use std::ptr::NonNull;
use std::sync::OnceLock;

use rvs_packet::{register_external, ExternalKind, PacketBuf};

use super::eal;
use super::ffi::{self, RteMbuf, RxDesc, MBUF_HEADER};

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

/// A packet holding the received mbuf `d` describes.
///
/// # Safety
/// `d` describes an mbuf of ours with `lendable` set, which the caller gives up.
#[inline]
pub(crate) unsafe fn lend(d: &RxDesc) -> PacketBuf {
    // SAFETY: a lendable mbuf's buffer is valid for buf_len bytes and ours alone; the frame
    // lies inside it; `release` accepts it.
    unsafe {
        PacketBuf::from_external(
            kind(),
            NonNull::new_unchecked(d.buf),
            usize::from(d.buf_len),
            usize::from(d.data_off),
            usize::from(d.data_len),
        )
    }
}

/// Takes back the mbuf a packet holds: the mbuf, and the frame's offset and length in its
/// buffer. `Err` for packets that hold no mbuf.
#[inline]
pub(crate) fn take_back(p: PacketBuf) -> Result<(*mut RteMbuf, u16, u16), PacketBuf> {
    if p.external_kind() != Some(kind()) {
        return Err(p);
    }
    let (buf, start, len) = p.into_external()?;
    // SAFETY: the header of a lent mbuf sits MBUF_HEADER bytes before its buffer.
    let m = unsafe { buf.as_ptr().sub(MBUF_HEADER) }.cast::<RteMbuf>();
    Ok((m, start as u16, len as u16))
}
