//! Packets for rvs: buffers, batches and zero-copy header views.
//!
//! * [`PacketBuf`]: one frame in a buffer with at least [`HEADROOM`] bytes of headroom, so that
//!   VLAN tags and tunnel headers can be pushed without moving the frame. Buffers are recycled
//!   through a per-thread pool: in steady state, taking and dropping a buffer never allocates.
//!   A packet may instead hold an external buffer (a DPDK mbuf, [`storage`]), released to its
//!   owner when dropped.
//! * [`PacketBatch`]: up to [`BURST_SIZE`] packets handled together by one PMD iteration; every
//!   stage of the packet path takes a batch, so per-call costs are paid once per 32 packets.
//! * [`wire`]: header views in the smoltcp style (one length check, then panic-free accessors).
//! * [`checksum`]: the Internet checksum, pseudo-headers and incremental updates (RFC 1624).
//! * [`offload`]: checksum and segmentation offload state carried with a packet
//!   (virtio-net header semantics), completed in software when a port cannot take it.
//! * [`ops`]: header rewrites used by datapath actions (VLAN push/pop, field sets), each keeping
//!   checksums and offload offsets right.
//!
//! This crate does no I/O, starts no threads and reads no clock.
#![warn(missing_docs)]

mod batch;
mod buf;
pub mod checksum;
mod meta;
pub mod offload;
pub mod ops;
pub mod storage;
pub mod wire;

pub use batch::{PacketBatch, BURST_SIZE};
pub use buf::{with_local_pool, LocalPool, PacketBuf, HEADROOM, LARGE_DATA_ROOM, STD_DATA_ROOM};
pub use meta::{CsumState, Gso, GsoKind, PacketMeta};
pub use storage::{register_external, ExternalKind};
