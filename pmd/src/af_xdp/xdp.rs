//! Loading and attaching the XDP redirect program (`bpf/xsk_redirect.bpf.c`), and its XSKMAP.
//!
//! Four `bpf(2)` commands, no library: `BPF_MAP_CREATE` (the XSKMAP, one slot per queue),
//! `BPF_PROG_LOAD` (the instructions from [`super::elf`] with the map's descriptor patched in),
//! `BPF_LINK_CREATE` (attach to the interface in native or generic mode) and
//! `BPF_MAP_UPDATE_ELEM` (put a socket in its queue's slot).
//!
//! # Detaching
//! The program is attached through a BPF *link* (Linux 5.9+), whose lifetime is that of its
//! descriptor: when the last copy of the descriptor closes, the program is detached. So it goes
//! **when the process ends in any way** (`process::exit`, which skips `Drop`, a panic with
//! `abort`, `SIGKILL`): the kernel closes the descriptor. Nothing is left on the interface,
//! unlike a netlink attachment (`ip link set dev X xdp ...`, libxdp), which outlives its process.
//! When the port is dropped, [`XdpAttachment`] detaches the link explicitly
//! (`BPF_LINK_DETACH`) before closing it: a child that another thread forked at that moment
//! holds a copy of the descriptor until it execs, which would otherwise keep the program
//! attached for a while (seen in the parallel tests: reopening the interface failed with
//! `EBUSY`).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use super::abi::{
    self, LinkCreateAttr, LinkDetachAttr, MapCreateAttr, MapElemAttr, ProgLoadAttr, BPF_LINK_CREATE, BPF_LINK_DETACH,
    BPF_MAP_CREATE,
    BPF_MAP_TYPE_XSKMAP, BPF_MAP_UPDATE_ELEM, BPF_PROG_LOAD, BPF_PROG_TYPE_XDP, BPF_XDP, XDP_FLAGS_DRV_MODE,
    XDP_FLAGS_SKB_MODE,
};
use super::elf;

/// The program object compiled by `build.rs`.
const OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/xsk_redirect.bpf.o"));
/// Its program section and map symbol.
const SECTION: &str = "xdp";
const MAP_SYMBOL: &str = "rvs_xsks";

/// Where the program runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachMode {
    /// In the driver, before any socket buffer exists (`XDP_FLAGS_DRV_MODE`).
    Native,
    /// In the core receive path, on socket buffers (`XDP_FLAGS_SKB_MODE`): any driver.
    Generic,
}

impl AttachMode {
    fn flags(self) -> u32 {
        match self {
            AttachMode::Native => XDP_FLAGS_DRV_MODE,
            AttachMode::Generic => XDP_FLAGS_SKB_MODE,
        }
    }
}

/// A failed step: what rvs was doing and the system's answer.
pub(super) type StepError = (&'static str, io::Error);

/// The loaded program and its map, not yet attached.
#[derive(Debug)]
pub(super) struct XdpProgram {
    prog: OwnedFd,
    map: OwnedFd,
}

/// The program attached to an interface; detached when dropped (or when the process ends).
#[derive(Debug)]
pub(super) struct XdpAttachment {
    link: OwnedFd,
    prog: XdpProgram,
    mode: AttachMode,
}

impl Drop for XdpAttachment {
    fn drop(&mut self) {
        let mut a = LinkDetachAttr { link_fd: self.link.as_raw_fd() as u32 };
        // SAFETY: a LINK_DETACH attribute block with no pointers. If it fails (a kernel
        // without it), closing the descriptor still detaches.
        let _ = unsafe { abi::bpf(BPF_LINK_DETACH, &mut a) };
    }
}

impl XdpAttachment {
    /// Where the program runs.
    pub(super) fn mode(&self) -> AttachMode {
        self.mode
    }
}

fn name16(s: &str) -> [u8; 16] {
    let mut n = [0u8; 16];
    for (d, b) in n.iter_mut().zip(s.bytes().take(15)) {
        *d = b;
    }
    n
}

impl XdpProgram {
    /// Creates an XSKMAP of `slots` entries and loads the program bound to it.
    pub(super) fn load(slots: u32) -> Result<XdpProgram, StepError> {
        let mut prog = elf::load_program(OBJECT, SECTION)
            .map_err(|e| ("reading the XDP program", io::Error::new(io::ErrorKind::InvalidData, e.to_string())))?;
        let mut m = MapCreateAttr {
            map_type: BPF_MAP_TYPE_XSKMAP,
            key_size: 4,
            value_size: 4,
            max_entries: slots,
            map_name: name16("rvs_xsks"),
            ..Default::default()
        };
        // SAFETY: a MAP_CREATE attribute block with no pointers.
        let map = abi::owned(unsafe { abi::bpf(BPF_MAP_CREATE, &mut m) }.map_err(|e| ("creating the XSKMAP", e))?);
        prog.bind_map(MAP_SYMBOL, map.as_raw_fd())
            .map_err(|e| ("reading the XDP program", io::Error::new(io::ErrorKind::InvalidData, e.to_string())))?;
        let license = std::ffi::CString::new(prog.license.clone())
            .map_err(|_| ("reading the XDP program", io::Error::from(io::ErrorKind::InvalidData)))?;
        let mut log = vec![0u8; 0];
        let fd = loop {
            let mut a = ProgLoadAttr {
                prog_type: BPF_PROG_TYPE_XDP,
                insn_cnt: prog.insns.len() as u32,
                insns: prog.insns.as_ptr() as u64,
                license: license.as_ptr() as u64,
                log_level: u32::from(!log.is_empty()),
                log_size: log.len() as u32,
                log_buf: if log.is_empty() { 0 } else { log.as_mut_ptr() as u64 },
                prog_name: name16("rvs_xsk_redir"),
                expected_attach_type: BPF_XDP,
                ..Default::default()
            };
            // SAFETY: the instructions, licence and (if any) log buffer outlive the call and
            // have the sizes given.
            match unsafe { abi::bpf(BPF_PROG_LOAD, &mut a) } {
                Ok(fd) => break fd,
                // Load again with a verifier log, so the error says why.
                Err(e) if log.is_empty() && matches!(e.raw_os_error(), Some(libc::EACCES | libc::EINVAL)) => {
                    log = vec![0u8; 64 * 1024];
                }
                Err(e) => {
                    let text = String::from_utf8_lossy(&log[..log.iter().position(|&b| b == 0).unwrap_or(0)]).trim().to_string();
                    let e = if text.is_empty() { e } else { io::Error::new(e.kind(), format!("{e}; verifier: {text}")) };
                    return Err(("loading the XDP program", e));
                }
            }
        };
        Ok(XdpProgram { prog: abi::owned(fd), map })
    }

    /// Puts the socket `xsk` in slot `queue` of the map.
    pub(super) fn set_socket(&self, queue: u32, xsk: &impl AsRawFd) -> io::Result<()> {
        let key = queue;
        let value = xsk.as_raw_fd() as u32;
        let mut a = MapElemAttr {
            map_fd: self.map.as_raw_fd() as u32,
            key: &key as *const u32 as u64,
            value: &value as *const u32 as u64,
            ..Default::default()
        };
        // SAFETY: key and value are live u32s, the sizes the map was created with.
        unsafe { abi::bpf(BPF_MAP_UPDATE_ELEM, &mut a) }.map(drop)
    }

    /// Attaches the program to interface `ifindex` in `mode` through a BPF link. Fails with
    /// `EBUSY`/`EEXIST` if the interface already has an XDP program, `EOPNOTSUPP` if the driver
    /// has no native XDP.
    pub(super) fn attach(self, ifindex: u32, mode: AttachMode) -> Result<XdpAttachment, (XdpProgram, io::Error)> {
        let mut a = LinkCreateAttr {
            prog_fd: self.prog.as_raw_fd() as u32,
            target_ifindex: ifindex,
            attach_type: BPF_XDP,
            flags: mode.flags(),
        };
        // SAFETY: a LINK_CREATE attribute block with no pointers.
        match unsafe { abi::bpf(BPF_LINK_CREATE, &mut a) } {
            Ok(fd) => Ok(XdpAttachment { link: abi::owned(fd), prog: self, mode }),
            Err(e) => Err((self, e)),
        }
    }
}

impl XdpAttachment {
    /// Puts the socket `xsk` in slot `queue` of the map.
    pub(super) fn set_socket(&self, queue: u32, xsk: &impl AsRawFd) -> io::Result<()> {
        self.prog.set_socket(queue, xsk)
    }
}
