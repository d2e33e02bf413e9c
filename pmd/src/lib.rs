//! Port I/O for rvs: how packets get in and out of the switch.
//!
//! # The contract
//! Every backend provides a [`Port`] (control side: name, kind, MAC, MTU, link state, counters,
//! and factories for queues) and two kinds of queue handles that a PMD thread owns outright:
//!
//! * [`RxQueue`]: one receive queue, polled by exactly one thread. `rx_burst` appends received
//!   packets to a batch; from then on the caller owns them. It never blocks; `wait_fd` gives a
//!   descriptor to `poll(2)` on when the thread wants to sleep while idle.
//! * [`TxQueue`]: a transmit handle, one per thread and port. `tx_burst` takes packets from the
//!   front of a batch (they are gone from the batch, whatever happens to them later); packets left
//!   in the batch were not taken and are the caller's to drop and count. `flush` pushes queued
//!   packets out with at most one system call.
//!
//! Packets carry their offload state in [`PacketMeta`](rvs_packet::PacketMeta): a partial L4
//! checksum ([`CsumState::Partial`](rvs_packet::CsumState)) and segmentation-offload super-frames
//! ([`Gso`](rvs_packet::Gso)). Receive paths report what the kernel told them; transmit paths hand
//! the state back to the kernel in a virtio-net header where the port takes one, and complete it in
//! software ([`rvs_packet::offload`]) otherwise. No backend needs checksum offload switched off
//! on the peer (`ethtool -K IF tx off`), unlike OVS's userspace datapath.
//!
//! # Backends
//! | kind | module | per-packet cost | notes |
//! |---|---|---|---|
//! | [`PortKind::System`] | [`af_packet`] | no system call: mmap'd TPACKET_V2 rings | one `send` per flush; super-frames cost one `recv`/`sendmsg` each |
//! | [`PortKind::Internal`] | [`tap`] | one `read`/`writev` per packet | a TAP device has no ring |
//! | [`PortKind::Memory`] | [`memory`] | a copy into a pooled buffer | tests and benchmarks |
//! | [`PortKind::Afxdp`] | `af_xdp` (feature `af-xdp`) | no system call: mmap'd AF_XDP rings, one copy each way | one `sendto` per flush in copy mode; partial checksums recognised in the headers |
//! | [`PortKind::Dpdk`] | [`dpdk`] (feature `dpdk`) | no system call: DPDK poll-mode drivers; received mbufs lent to packets, sent back without copy between DPDK ports | EAL initialised once per process ([`dpdk::init`]) |
//!
//! # Counters
//! Each queue owns a block of atomics that only it writes, once per burst ([`PortStats`] are
//! their sums, read by any thread with [`Port::stats`]).
//!
//! # Threads
//! [`Port`] is `Send + Sync` and may be shared by the control thread and every PMD. Queues are
//! `Send` and used by one thread at a time; nothing on their paths takes a lock.
#![warn(missing_docs)]
#![warn(unreachable_pub)]

pub mod af_packet;
#[cfg(feature = "af-xdp")]
pub mod af_xdp;
pub mod dpdk;
mod error;
pub mod memory;
mod netdev;
mod options;
pub mod pcap;
mod port;
mod stats;
mod sys;
pub mod tap;
pub mod vnet;

pub use error::PortError;
pub use memory::{MemoryHandle, MemoryPort, MemoryRx, MemoryTx};
pub use port::{open_port, LinkState, Port, PortKind, PortSpec, RxQueue, TxQueue};
pub use rvs_packet::wire::MacAddr;
pub use stats::PortStats;
pub use sys::wait_readable;
