//! The Linux ABI of AF_XDP (`linux/if_xdp.h`) and of the few `bpf(2)` commands rvs uses
//! (`linux/bpf.h`, `linux/if_link.h`), as far as the `libc` crate does not export it, plus the
//! system-call wrappers that take these types. Layouts are checked against the kernel's sizes in
//! the tests at the bottom.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::sys::{cvt, cvt_len};

// ---- linux/if_xdp.h --------------------------------------------------------------------------

pub(super) const AF_XDP: libc::c_int = 44;
pub(super) const SOL_XDP: libc::c_int = 283;

/// `sxdp_flags` of `bind(2)`.
pub(super) mod bind_flags {
    pub(crate) const SHARED_UMEM: u16 = 1 << 0;
    pub(crate) const COPY: u16 = 1 << 1;
    pub(crate) const ZEROCOPY: u16 = 1 << 2;
    pub(crate) const USE_NEED_WAKEUP: u16 = 1 << 3;
}

/// `flags` of `struct xdp_umem_reg`.
pub(super) const XDP_UMEM_TX_METADATA_LEN: u32 = 1 << 2;

// Socket options (level SOL_XDP).
pub(super) const XDP_MMAP_OFFSETS: libc::c_int = 1;
pub(super) const XDP_RX_RING: libc::c_int = 2;
pub(super) const XDP_TX_RING: libc::c_int = 3;
pub(super) const XDP_UMEM_REG: libc::c_int = 4;
pub(super) const XDP_UMEM_FILL_RING: libc::c_int = 5;
pub(super) const XDP_UMEM_COMPLETION_RING: libc::c_int = 6;
pub(super) const XDP_STATISTICS: libc::c_int = 7;
pub(super) const XDP_OPTIONS: libc::c_int = 8;
pub(super) const XDP_OPTIONS_ZEROCOPY: u32 = 1;

// mmap(2) offsets selecting a ring.
pub(super) const XDP_PGOFF_RX_RING: libc::off_t = 0;
pub(super) const XDP_PGOFF_TX_RING: libc::off_t = 0x8000_0000;
pub(super) const XDP_UMEM_PGOFF_FILL_RING: libc::off_t = 0x1_0000_0000;
pub(super) const XDP_UMEM_PGOFF_COMPLETION_RING: libc::off_t = 0x1_8000_0000;

/// Ring `flags` bit: the kernel wants a system call to make progress (`XDP_RING_NEED_WAKEUP`).
pub(super) const XDP_RING_NEED_WAKEUP: u32 = 1;

/// `xdp_desc.options` bit: the frame carries a `struct xsk_tx_metadata` in front of it.
pub(super) const XDP_TX_METADATA: u32 = 1 << 1;
/// `xsk_tx_metadata.flags` bit: `request.csum_start`/`csum_offset` are valid.
pub(super) const XDP_TXMD_FLAGS_CHECKSUM: u64 = 1 << 1;

/// The headroom the kernel keeps in front of every received frame (`XDP_PACKET_HEADROOM`).
pub(super) const XDP_PACKET_HEADROOM: usize = 256;

/// `struct sockaddr_xdp`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct SockaddrXdp {
    pub(super) family: u16,
    pub(super) flags: u16,
    pub(super) ifindex: u32,
    pub(super) queue_id: u32,
    pub(super) shared_umem_fd: u32,
}

/// `struct xdp_umem_reg` (with `tx_metadata_len`, Linux 6.8+; older kernels ignore the field
/// and refuse the flag that enables it).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct UmemReg {
    pub(super) addr: u64,
    pub(super) len: u64,
    pub(super) chunk_size: u32,
    pub(super) headroom: u32,
    pub(super) flags: u32,
    pub(super) tx_metadata_len: u32,
}

/// `struct xdp_ring_offset`: where a ring's fields are in its mapping.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct RingOffset {
    pub(super) producer: u64,
    pub(super) consumer: u64,
    pub(super) desc: u64,
    pub(super) flags: u64,
}

/// `struct xdp_mmap_offsets`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct MmapOffsets {
    pub(super) rx: RingOffset,
    pub(super) tx: RingOffset,
    pub(super) fr: RingOffset,
    pub(super) cr: RingOffset,
}

/// `struct xdp_desc`: one entry of the RX and TX rings.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct XdpDesc {
    pub(super) addr: u64,
    pub(super) len: u32,
    pub(super) options: u32,
}

/// `struct xdp_statistics` (all counters cumulative over the socket's life).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct XdpStatistics {
    pub(super) rx_dropped: u64,
    pub(super) rx_invalid_descs: u64,
    pub(super) tx_invalid_descs: u64,
    pub(super) rx_ring_full: u64,
    pub(super) rx_fill_ring_empty_descs: u64,
    pub(super) tx_ring_empty_descs: u64,
}

/// `struct xsk_tx_metadata` (the checksum request of its union; `launch_time` left zero).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct XskTxMetadata {
    pub(super) flags: u64,
    pub(super) csum_start: u16,
    pub(super) csum_offset: u16,
    pub(super) _pad: u32,
    pub(super) launch_time: u64,
}

/// Bytes reserved in front of each transmitted frame for its [`XskTxMetadata`].
pub(super) const TX_METADATA_LEN: u32 = size_of::<XskTxMetadata>() as u32;

// ---- linux/bpf.h, linux/if_link.h --------------------------------------------------------------

pub(super) const BPF_MAP_CREATE: libc::c_int = 0;
pub(super) const BPF_MAP_UPDATE_ELEM: libc::c_int = 2;
pub(super) const BPF_PROG_LOAD: libc::c_int = 5;
pub(super) const BPF_LINK_CREATE: libc::c_int = 28;
pub(super) const BPF_LINK_DETACH: libc::c_int = 34;

pub(super) const BPF_MAP_TYPE_XSKMAP: u32 = 17;
pub(super) const BPF_PROG_TYPE_XDP: u32 = 6;
/// `enum bpf_attach_type` value of an XDP link.
pub(super) const BPF_XDP: u32 = 37;
/// `src_reg` of a 64-bit immediate load that names a map by descriptor.
pub(super) const BPF_PSEUDO_MAP_FD: u8 = 1;

pub(super) const XDP_FLAGS_SKB_MODE: u32 = 1 << 1;
pub(super) const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;

/// The `BPF_MAP_CREATE` part of `union bpf_attr`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct MapCreateAttr {
    pub(super) map_type: u32,
    pub(super) key_size: u32,
    pub(super) value_size: u32,
    pub(super) max_entries: u32,
    pub(super) map_flags: u32,
    pub(super) inner_map_fd: u32,
    pub(super) numa_node: u32,
    pub(super) map_name: [u8; 16],
}

/// The `BPF_MAP_*_ELEM` part of `union bpf_attr`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct MapElemAttr {
    pub(super) map_fd: u32,
    pub(super) _pad: u32,
    pub(super) key: u64,
    pub(super) value: u64,
    pub(super) flags: u64,
}

/// The `BPF_PROG_LOAD` part of `union bpf_attr`, up to `expected_attach_type`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ProgLoadAttr {
    pub(super) prog_type: u32,
    pub(super) insn_cnt: u32,
    pub(super) insns: u64,
    pub(super) license: u64,
    pub(super) log_level: u32,
    pub(super) log_size: u32,
    pub(super) log_buf: u64,
    pub(super) kern_version: u32,
    pub(super) prog_flags: u32,
    pub(super) prog_name: [u8; 16],
    pub(super) prog_ifindex: u32,
    pub(super) expected_attach_type: u32,
}

/// The `BPF_LINK_CREATE` part of `union bpf_attr`, for an XDP link.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct LinkCreateAttr {
    pub(super) prog_fd: u32,
    pub(super) target_ifindex: u32,
    pub(super) attach_type: u32,
    pub(super) flags: u32,
}

/// The `BPF_LINK_DETACH` part of `union bpf_attr`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct LinkDetachAttr {
    pub(super) link_fd: u32,
}

/// `bpf(2)`; a non-negative result that is a new descriptor is the caller's to wrap.
///
/// # Safety
/// `attr` must be the part of `union bpf_attr` that `cmd` reads, and every pointer in it must
/// be valid for what `cmd` does with it for the duration of the call.
pub(super) unsafe fn bpf<T>(cmd: libc::c_int, attr: &mut T) -> io::Result<libc::c_int> {
    // SAFETY: the caller guarantees `attr` suits `cmd`; the kernel reads (and for some commands
    // writes) at most `size_of::<T>()` bytes of it.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, size_of::<T>() as libc::c_uint) };
    cvt(r as libc::c_int)
}

/// Wraps a descriptor a system call just returned.
pub(super) fn owned(fd: libc::c_int) -> OwnedFd {
    // SAFETY: `fd` is a fresh descriptor from a successful system call, owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// `getsockopt(2)` of a plain C struct; returns the value and the length the kernel wrote.
pub(super) fn getsockopt_len<T: Copy + Default>(fd: &impl AsRawFd, name: libc::c_int) -> io::Result<(T, usize)> {
    let mut value = T::default();
    let mut len = size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` is a writable `T` of `len` bytes; the types used here are plain integers.
    cvt(unsafe { libc::getsockopt(fd.as_raw_fd(), SOL_XDP, name, (&mut value as *mut T).cast(), &mut len) })?;
    Ok((value, len as usize))
}

/// `bind(2)` of an AF_XDP socket.
pub(super) fn bind_xdp(fd: &impl AsRawFd, addr: &SockaddrXdp) -> io::Result<()> {
    // SAFETY: `addr` is a valid sockaddr_xdp of the size passed.
    cvt(unsafe {
        libc::bind(fd.as_raw_fd(), (addr as *const SockaddrXdp).cast(), size_of::<SockaddrXdp>() as libc::socklen_t)
    })
    .map(drop)
}

/// The transmit wake-up: `sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0)`.
pub(super) fn wake_tx(fd: &impl AsRawFd) -> io::Result<()> {
    // SAFETY: a zero-length send with null buffer and address reads no memory.
    cvt_len(unsafe { libc::sendto(fd.as_raw_fd(), std::ptr::null(), 0, libc::MSG_DONTWAIT, std::ptr::null(), 0) })
        .map(drop)
}

/// The receive wake-up: `recvfrom(fd, NULL, 0, MSG_DONTWAIT, NULL, NULL)`.
pub(super) fn wake_rx(fd: &impl AsRawFd) -> io::Result<()> {
    // SAFETY: a zero-length receive into a null buffer writes no memory.
    cvt_len(unsafe {
        libc::recvfrom(fd.as_raw_fd(), std::ptr::null_mut(), 0, libc::MSG_DONTWAIT, std::ptr::null_mut(), std::ptr::null_mut())
    })
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_structs_have_kernel_sizes() {
        assert_eq!(size_of::<SockaddrXdp>(), 16);
        assert_eq!(size_of::<UmemReg>(), 32);
        assert_eq!(size_of::<RingOffset>(), 32);
        assert_eq!(size_of::<MmapOffsets>(), 128);
        assert_eq!(size_of::<XdpDesc>(), 16);
        assert_eq!(size_of::<XdpStatistics>(), 48);
        assert_eq!(size_of::<XskTxMetadata>(), 24);
        assert_eq!(size_of::<MapCreateAttr>(), 44);
        assert_eq!(size_of::<MapElemAttr>(), 32);
        assert_eq!(size_of::<ProgLoadAttr>(), 72);
        assert_eq!(size_of::<LinkCreateAttr>(), 16);
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, prog_name), 48);
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, expected_attach_type), 68);
        assert_eq!(std::mem::offset_of!(MapCreateAttr, map_name), 28);
    }
}
