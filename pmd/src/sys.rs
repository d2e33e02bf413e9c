//! Thin safe wrappers over the system calls the backends use, and the Linux ABI constants that
//! the `libc` crate does not export. Every `unsafe` block of the crate that is not about ring
//! memory lives here.

use std::io;
use std::mem::{size_of, MaybeUninit};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;

// linux/if_packet.h
pub(crate) const PACKET_ADD_MEMBERSHIP: libc::c_int = 1;
pub(crate) const PACKET_RX_RING: libc::c_int = 5;
pub(crate) const PACKET_STATISTICS: libc::c_int = 6;
pub(crate) const PACKET_COPY_THRESH: libc::c_int = 7;
pub(crate) const PACKET_VERSION: libc::c_int = 10;
pub(crate) const PACKET_TX_RING: libc::c_int = 13;
pub(crate) const PACKET_LOSS: libc::c_int = 14;
pub(crate) const PACKET_VNET_HDR: libc::c_int = 15;
pub(crate) const PACKET_FANOUT: libc::c_int = 18;
pub(crate) const PACKET_QDISC_BYPASS: libc::c_int = 20;
pub(crate) const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
pub(crate) const PACKET_MR_PROMISC: libc::c_ushort = 1;
pub(crate) const PACKET_FANOUT_HASH: u32 = 0;
pub(crate) const PACKET_FANOUT_FLAG_UNIQUEID: u32 = 0x2000;
pub(crate) const TPACKET_V2: libc::c_int = 1;
pub(crate) const ETH_P_ALL: u16 = 0x0003;

/// `struct packet_mreq`.
#[repr(C)]
pub(crate) struct PacketMreq {
    pub(crate) ifindex: libc::c_int,
    pub(crate) kind: libc::c_ushort,
    pub(crate) alen: libc::c_ushort,
    pub(crate) address: [u8; 8],
}

/// `struct tpacket_req` (TPACKET_V1/V2 ring request).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TpacketReq {
    pub(crate) block_size: u32,
    pub(crate) block_nr: u32,
    pub(crate) frame_size: u32,
    pub(crate) frame_nr: u32,
}

/// `struct tpacket_stats`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TpacketStats {
    pub(crate) packets: u32,
    pub(crate) drops: u32,
}

/// Turns a `-1` return into the thread's `errno`.
pub(crate) fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Like [`cvt`] for calls returning a byte count.
pub(crate) fn cvt_len(ret: isize) -> io::Result<usize> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret as usize)
    }
}

/// `socket(2)` with close-on-exec and non-blocking set.
pub(crate) fn socket(domain: libc::c_int, ty: libc::c_int, protocol: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: plain system call; a non-negative return is a fresh descriptor we now own.
    let fd = cvt(unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, protocol) })?;
    // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `setsockopt(2)` with a value of any plain C type.
pub(crate) fn setsockopt<T>(fd: &impl AsRawFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` points to `size_of::<T>()` readable bytes for the duration of the call.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// `getsockopt(2)` of a plain C type that is valid for any bit pattern.
pub(crate) fn getsockopt<T: Copy + Default>(fd: &impl AsRawFd, level: libc::c_int, name: libc::c_int) -> io::Result<T> {
    let mut value = T::default();
    let mut len = size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` is a writable `T` of `len` bytes; the types used here are plain integers.
    cvt(unsafe { libc::getsockopt(fd.as_raw_fd(), level, name, (&mut value as *mut T).cast(), &mut len) })?;
    Ok(value)
}

/// Binds an AF_PACKET socket to an interface and protocol (`protocol` in host order).
pub(crate) fn bind_packet(fd: &impl AsRawFd, ifindex: u32, protocol: u16) -> io::Result<()> {
    // SAFETY: an all-zero sockaddr_ll is valid.
    let mut sll: libc::sockaddr_ll = unsafe { MaybeUninit::zeroed().assume_init() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = protocol.to_be();
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: `sll` is a valid sockaddr_ll of the size passed.
    cvt(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// `send(fd, NULL, 0, MSG_DONTWAIT)`: the transmit-ring kick.
pub(crate) fn kick(fd: RawFd) -> io::Result<()> {
    // SAFETY: a zero-length send with a null buffer reads no memory.
    cvt_len(unsafe { libc::send(fd, std::ptr::null(), 0, libc::MSG_DONTWAIT) }).map(drop)
}

/// `recvmsg(2)` into two buffers (header, then data); returns the full datagram length
/// (`MSG_TRUNC`), which may exceed what fit.
pub(crate) fn recv2(fd: RawFd, head: &mut [u8], data: &mut [u8]) -> io::Result<usize> {
    let mut iov = [
        libc::iovec { iov_base: head.as_mut_ptr().cast(), iov_len: head.len() },
        libc::iovec { iov_base: data.as_mut_ptr().cast(), iov_len: data.len() },
    ];
    // SAFETY: an all-zero msghdr is valid; we set the iovec array, which outlives the call.
    let mut msg: libc::msghdr = unsafe { MaybeUninit::zeroed().assume_init() };
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = iov.len();
    // SAFETY: the iovecs describe writable buffers owned by the caller for the whole call.
    cvt_len(unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT | libc::MSG_TRUNC) })
}

/// `readv(2)` into three buffers (any may be empty); returns the byte count.
pub(crate) fn readv3(fd: RawFd, a: &mut [u8], b: &mut [u8], c: &mut [u8]) -> io::Result<usize> {
    let iov = [
        libc::iovec { iov_base: a.as_mut_ptr().cast(), iov_len: a.len() },
        libc::iovec { iov_base: b.as_mut_ptr().cast(), iov_len: b.len() },
        libc::iovec { iov_base: c.as_mut_ptr().cast(), iov_len: c.len() },
    ];
    // SAFETY: the iovecs describe writable buffers owned by the caller for the whole call.
    cvt_len(unsafe { libc::readv(fd, iov.as_ptr(), iov.len() as libc::c_int) })
}

/// Writes `head` then `data` as one datagram/packet (`sendmsg` on sockets works the same way
/// as `writev` on a TAP). Returns the byte count.
pub(crate) fn writev2(fd: RawFd, head: &[u8], data: &[u8]) -> io::Result<usize> {
    let iov = [
        libc::iovec { iov_base: head.as_ptr() as *mut _, iov_len: head.len() },
        libc::iovec { iov_base: data.as_ptr() as *mut _, iov_len: data.len() },
    ];
    // SAFETY: the iovecs describe readable buffers for the whole call; writev does not write
    // through them.
    cvt_len(unsafe { libc::writev(fd, iov.as_ptr(), iov.len() as libc::c_int) })
}

/// A shared memory mapping of a descriptor (an AF_PACKET ring), unmapped on drop.
#[derive(Debug)]
pub(crate) struct Mmap {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain memory; access discipline (which parts belong to the kernel) is
// enforced by the ring types that own it.
unsafe impl Send for Mmap {}

impl Mmap {
    /// Maps `len` bytes of `fd` read/write, shared.
    pub(crate) fn shared(fd: &impl AsRawFd, len: usize) -> io::Result<Mmap> {
        // SAFETY: a fresh mapping at a kernel-chosen address; nothing else refers to it yet.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mmap { ptr: NonNull::new(p.cast()).expect("mmap returned null"), len })
    }

    /// Start of the mapping.
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` describe a mapping we created and nobody uses after drop.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// `poll(2)` for readability of one descriptor, up to `timeout_ms`; true if readable.
pub fn wait_readable(fd: RawFd, timeout_ms: i32) -> bool {
    let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut p, 1, timeout_ms) };
    n > 0 && p.revents & libc::POLLIN != 0
}

/// Random bytes from the kernel.
pub(crate) fn random_bytes(out: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < out.len() {
        // SAFETY: writes at most `out.len() - filled` bytes into `out[filled..]`.
        let n = unsafe { libc::getrandom(out[filled..].as_mut_ptr().cast(), out.len() - filled, 0) };
        filled += cvt_len(n)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_structs_have_kernel_sizes() {
        assert_eq!(size_of::<PacketMreq>(), 16);
        assert_eq!(size_of::<TpacketReq>(), 16);
        assert_eq!(size_of::<TpacketStats>(), 8);
        assert_eq!(size_of::<libc::sockaddr_ll>(), 20);
    }

    #[test]
    fn random_bytes_fill_the_buffer() {
        let mut a = [0u8; 32];
        random_bytes(&mut a).unwrap();
        assert!(a.iter().any(|&b| b != 0));
    }
}
