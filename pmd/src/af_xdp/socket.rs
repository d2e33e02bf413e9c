//! Creating one AF_XDP socket: UMEM registration (first socket of a port only), ring sizes,
//! ring mappings and `bind(2)` to one queue of the interface; and the socket's statistics.
//!
//! The first socket of a port registers the [`Umem`]; the others bind with `XDP_SHARED_UMEM`
//! naming it. Each socket is on its own queue, so each has its own fill and completion ring
//! (kernels from 5.10 on); bind flags (copy/zero-copy, need_wakeup) are given to the first
//! socket only and inherited by the others.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use super::abi::{
    self, bind_flags, MmapOffsets, SockaddrXdp, UmemReg, XdpDesc, XdpStatistics, AF_XDP, SOL_XDP, TX_METADATA_LEN,
    XDP_MMAP_OFFSETS, XDP_OPTIONS, XDP_OPTIONS_ZEROCOPY, XDP_PGOFF_RX_RING, XDP_PGOFF_TX_RING, XDP_RX_RING,
    XDP_STATISTICS, XDP_TX_RING, XDP_UMEM_COMPLETION_RING, XDP_UMEM_FILL_RING, XDP_UMEM_PGOFF_COMPLETION_RING,
    XDP_UMEM_PGOFF_FILL_RING, XDP_UMEM_REG, XDP_UMEM_TX_METADATA_LEN,
};
use super::ring::{ConsRing, ProdRing};
use super::umem::{Umem, FRAME_SIZE};
use crate::sys::{setsockopt, socket};

/// A failed step: what rvs was doing and the system's answer.
pub(super) type StepError = (&'static str, io::Error);

/// How to bind a socket.
#[derive(Clone, Copy, Debug)]
pub(super) struct BindSpec {
    pub(super) ifindex: u32,
    pub(super) queue: u32,
    /// Entries of the RX and fill rings.
    pub(super) rx_size: u32,
    /// Entries of the TX and completion rings.
    pub(super) tx_size: u32,
    /// `XDP_COPY` or `XDP_ZEROCOPY`, plus `XDP_USE_NEED_WAKEUP` (first socket only).
    pub(super) flags: u16,
}

/// A bound AF_XDP socket and its four rings.
#[derive(Debug)]
pub(super) struct XskSocket {
    pub(super) fd: OwnedFd,
    pub(super) rx: ConsRing<XdpDesc>,
    pub(super) fill: ProdRing<u64>,
    pub(super) tx: ProdRing<XdpDesc>,
    pub(super) comp: ConsRing<u64>,
    /// The kernel moves frames without copying them (`XDP_OPTIONS_ZEROCOPY`).
    pub(super) zerocopy: bool,
}

/// Whether the UMEM was registered with room for transmit metadata (checksum offload).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct UmemInfo {
    pub(super) tx_metadata: bool,
}

fn set_u32(fd: &OwnedFd, name: libc::c_int, v: u32, op: &'static str) -> Result<(), StepError> {
    setsockopt(fd, SOL_XDP, name, &v).map_err(|e| (op, e))
}

fn new_socket() -> Result<OwnedFd, StepError> {
    socket(AF_XDP, libc::SOCK_RAW, 0).map_err(|e| ("opening an AF_XDP socket", e))
}

/// Registers `umem` on `fd`, with transmit metadata when `tx_metadata` is asked for and the
/// kernel takes it (6.11+; older ones refuse the flag with `EINVAL`, and rvs registers without).
fn register_umem(fd: &OwnedFd, umem: &Umem, tx_metadata: bool) -> Result<UmemInfo, StepError> {
    let mut reg = UmemReg { addr: umem.addr(), len: umem.len() as u64, chunk_size: FRAME_SIZE as u32, ..Default::default() };
    if tx_metadata {
        reg.flags = XDP_UMEM_TX_METADATA_LEN;
        reg.tx_metadata_len = TX_METADATA_LEN;
        match setsockopt(fd, SOL_XDP, XDP_UMEM_REG, &reg) {
            Ok(()) => return Ok(UmemInfo { tx_metadata: true }),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
            Err(e) => return Err(("registering the UMEM", e)),
        }
        reg.flags = 0;
        reg.tx_metadata_len = 0;
    }
    setsockopt(fd, SOL_XDP, XDP_UMEM_REG, &reg).map_err(|e| ("registering the UMEM", e))?;
    Ok(UmemInfo { tx_metadata: false })
}

/// Sizes and maps the four rings of `fd` and binds it.
fn rings_and_bind(fd: OwnedFd, spec: &BindSpec, shared_with: Option<RawFd>) -> Result<XskSocket, StepError> {
    set_u32(&fd, XDP_UMEM_FILL_RING, spec.rx_size, "sizing the fill ring")?;
    set_u32(&fd, XDP_UMEM_COMPLETION_RING, spec.tx_size, "sizing the completion ring")?;
    set_u32(&fd, XDP_RX_RING, spec.rx_size, "sizing the RX ring")?;
    set_u32(&fd, XDP_TX_RING, spec.tx_size, "sizing the TX ring")?;
    let (off, len) = abi::getsockopt_len::<MmapOffsets>(&fd, XDP_MMAP_OFFSETS).map_err(|e| ("reading the ring offsets", e))?;
    if len != std::mem::size_of::<MmapOffsets>() {
        // Kernels before 5.4 have no ring flags, hence no need_wakeup.
        return Err(("reading the ring offsets", io::Error::from_raw_os_error(libc::EOPNOTSUPP)));
    }
    let rx = ConsRing::map(&fd, &off.rx, spec.rx_size, XDP_PGOFF_RX_RING).map_err(|e| ("mapping the RX ring", e))?;
    let tx = ProdRing::map(&fd, &off.tx, spec.tx_size, XDP_PGOFF_TX_RING).map_err(|e| ("mapping the TX ring", e))?;
    let fill = ProdRing::map(&fd, &off.fr, spec.rx_size, XDP_UMEM_PGOFF_FILL_RING).map_err(|e| ("mapping the fill ring", e))?;
    let comp = ConsRing::map(&fd, &off.cr, spec.tx_size, XDP_UMEM_PGOFF_COMPLETION_RING)
        .map_err(|e| ("mapping the completion ring", e))?;
    let addr = SockaddrXdp {
        family: AF_XDP as u16,
        flags: if shared_with.is_some() { bind_flags::SHARED_UMEM } else { spec.flags },
        ifindex: spec.ifindex,
        queue_id: spec.queue,
        shared_umem_fd: shared_with.map_or(0, |f| f as u32),
    };
    abi::bind_xdp(&fd, &addr).map_err(|e| ("binding the AF_XDP socket", e))?;
    let (opts, _) = abi::getsockopt_len::<u32>(&fd, XDP_OPTIONS).map_err(|e| ("reading the socket options", e))?;
    Ok(XskSocket { fd, rx, fill, tx, comp, zerocopy: opts & XDP_OPTIONS_ZEROCOPY != 0 })
}

/// Opens the first socket of a port: registers `umem` and binds with `spec.flags`.
pub(super) fn open_first(umem: &Umem, spec: &BindSpec, tx_metadata: bool) -> Result<(XskSocket, UmemInfo), StepError> {
    let fd = new_socket()?;
    let info = register_umem(&fd, umem, tx_metadata)?;
    Ok((rings_and_bind(fd, spec, None)?, info))
}

/// Opens another socket of a port, sharing the UMEM of `first`.
pub(super) fn open_shared(first: &OwnedFd, spec: &BindSpec) -> Result<XskSocket, StepError> {
    rings_and_bind(new_socket()?, spec, Some(first.as_raw_fd()))
}

/// The socket's cumulative statistics (zero if the kernel cannot say).
pub(super) fn statistics(fd: &impl AsRawFd) -> XdpStatistics {
    match abi::getsockopt_len::<XdpStatistics>(fd, XDP_STATISTICS) {
        Ok((s, len)) if len == std::mem::size_of::<XdpStatistics>() => s,
        // Kernels before 5.9 report only the first three counters.
        Ok((s, _)) => XdpStatistics {
            rx_dropped: s.rx_dropped,
            rx_invalid_descs: s.rx_invalid_descs,
            tx_invalid_descs: s.tx_invalid_descs,
            ..Default::default()
        },
        Err(_) => XdpStatistics::default(),
    }
}
