//! DPDK ports (`type=dpdk options:dpdk-devargs=...`, as OVS's netdev-dpdk), behind the cargo
//! feature `dpdk`. The EAL configuration ([`EalConfig`], read from `Open_vSwitch .
//! other_config` as OVS reads it) is compiled always, so that the daemon can say what it would
//! do and why it cannot; [`init`] and the ports need the feature.
//!
//! # Pieces
//! * **Bindings** (`ffi`, `pmd/dpdk/shim.c`): DPDK's fast path is inline C, and its structures
//!   are large and versioned, so a small C shim compiled against the system's headers does the
//!   structure work; Rust calls a few flat functions, one or two per burst. No bindgen. The
//!   exception: the nine mbuf header fields the packet path reads and writes per packet are
//!   accessed from Rust (`mbuf`), at offsets the shim pins with static assertions.
//! * **EAL** (`eal`): initialised once per process ([`init`]); the arguments come from
//!   [`EalConfig::plan`]. The calling thread's CPU affinity is restored afterwards (EAL pins
//!   its caller to the main lcore).
//! * **Ports** (`port`): `rte_dev_probe` hot-plugs the device named by `dpdk-devargs` (a PCI
//!   address or a vdev: `net_null0`, `net_ring0`, `net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap`,
//!   `net_tap0,iface=dtap0`), the port is configured with its queues and a packet pool of its
//!   own, and deleting the port closes it and removes the device, as OVS does.
//!
//! # Threads (EAL lcores and rvs PMD threads)
//! rvs's PMD threads are not EAL threads: rvs places and pins them (`pmd-cpu-mask`), and EAL's
//! own lcores (`dpdk-lcore-mask`, default: the first CPU the daemon may run on, as OVS) only
//! host EAL's main thread, which is rvs's control thread. The first time a thread uses a DPDK
//! queue it registers itself with `rte_thread_register` (it gets an lcore id, so mempool
//! per-lcore caches work and no per-packet atomic is paid on the pool ring), and unregisters
//! when it ends. What makes sharing safe is ownership, not the lcore id: a receive queue is
//! open at most once (the port's receive-queue claims), and a transmit handle either has a
//! device queue to itself, no lock needed, or shares one under that queue's lock, taken once
//! per burst; which, is decided when the handle opens (see `tx`).
//!
//! # Packets: mbufs lent, not copied
//! A received mbuf becomes the storage of its [`PacketBuf`](rvs_packet::PacketBuf) (an
//! external buffer, [`rvs_packet::storage`]): receive copies nothing. A DPDK transmit queue
//! that gets such a packet sends the mbuf itself, with the frame's current offset and length
//! (a pushed VLAN tag or a header rewrite happened in the mbuf's own buffer): DPDK-to-DPDK
//! forwarding copies nothing. Packets from other ports are copied into mbufs allocated once
//! per burst; mbuf-backed packets sent to other ports are read like any packet and free their
//! mbuf when dropped. An mbuf that cannot be lent (chained, indirect, shared) is copied.
//! Packets may outlive their port (a packet-in in flight): a closed port's pool is freed only
//! once all its mbufs are back (`port::sweep_retired_pools`, as OVS's `dpdk_mp_sweep`).
//! Received RSS hashes (`RTE_MBUF_F_RX_RSS_HASH`) travel in
//! [`PacketMeta::rss_hash`](rvs_packet::PacketMeta), where the PMD uses them as the EMC hash.
//!
//! # Costs, measured
//! `rvs-vswitchd` (release), one PMD thread on core 1, `in_port=1,actions=output:2` from
//! `net_pcap0,rx_pcap=FILE,infinite_rx=1` (one 64-byte UDP flow) to `net_null0,no-rx=1`; rate of
//! the output port's `tx pkts` over 5 s, divided by the share of the window the PMD thread
//! was on a CPU (the 2-core machine was shared), three interleaved runs each
//! (`benches/scripts/dpdk_fwd.sh`):
//!
//! | EAL memory | copying (both ways) | mbufs lent (this design) |
//! |---|---|---|
//! | `--no-huge` | 12.4-12.8 Mpps (about 205 cycles/packet) | 15.2-15.6 Mpps (about 170) |
//! | 2 MiB hugepages, `--in-memory` | 15.6-15.8 Mpps | 17.0-17.4 Mpps |
//!
//! With `net_null1` as the source instead (no copy inside the source PMD): 12.1-12.5 against
//! 14.6-14.9 Mpps without hugepages. net_pcap's own receive copies each frame into a fresh
//! mbuf, so part of what remains is the source, not rvs.
//!
//! `rvs-bench` (the same vdevs, hugepages; `--runs 3 --duration 5`), after the mbuf headers
//! were read and written from Rust (`mbuf`), packets taken back in place and the transmit lock
//! dropped for queues of their own: 1flow 79-82 -> 56-59 cycles/packet (OVS-DPDK 97,
//! `dpdk-testpmd` io forwarding 27), 10k-flows 125-128 -> 101-108. A profile of the 1flow PMD
//! thread then puts rvs's DPDK receive at about 6 cycles a packet and its transmit at about 6;
//! the drivers (net_pcap receive, net_null transmit with its per-packet free, and the
//! `__tls_get_addr` calls of their mempool accesses) take about 29, as for testpmd.
//!
//! # Options (`Interface options`)
//! | key | default | meaning |
//! |---|---|---|
//! | `dpdk-devargs` | (required) | PCI address or vdev string |
//! | `n_rxq` | 1 | receive queues (RSS spreads flows over them when the device can) |
//! | `n_txq` | CPUs + 1, at most the device's | transmit queues; a handle gets one to itself (no lock) while another is left, the rest share the last under a lock |
//! | `n_rxq_desc` | 2048 | receive descriptors per queue (power of two, 1..=4096, as OVS) |
//! | `n_txq_desc` | 2048 | transmit descriptors per queue (same) |
//!
//! The MTU is the interface's `mtu_request` (default 1500); mbufs are sized for it.
//!
//! # Not supported
//! Offloads (checksum, TSO: partial checksums and super-frames from kernel ports are completed
//! and cut in software before transmit), multi-segment transmit (a frame must fit one mbuf),
//! vhost-user ports.

mod config;
#[cfg(feature = "dpdk")]
mod eal;
#[cfg(feature = "dpdk")]
mod ffi;
#[cfg(feature = "dpdk")]
mod mbuf;
#[cfg(feature = "dpdk")]
mod port;
#[cfg(feature = "dpdk")]
mod rx;
#[cfg(feature = "dpdk")]
mod tx;

pub use config::{first_allowed_cpu, hugepages_free, split_words, EalConfig, EalPlan, InitMode, NO_HUGE_DEFAULT_MB};
#[cfg(feature = "dpdk")]
pub use eal::{init, initialized, version};
#[cfg(feature = "dpdk")]
pub use port::{DpdkConfig, DpdkPort};

/// Whether this build has DPDK ports (the cargo feature `dpdk`).
pub const BUILT_IN: bool = cfg!(feature = "dpdk");

/// Without the `dpdk` feature: EAL cannot be initialised.
#[cfg(not(feature = "dpdk"))]
pub fn init(_plan: &EalPlan) -> Result<(), String> {
    Err("DPDK is not supported in this build of rvs (rebuild with the cargo feature dpdk)".to_string())
}

/// Without the `dpdk` feature: never initialised.
#[cfg(not(feature = "dpdk"))]
pub fn initialized() -> bool {
    false
}
