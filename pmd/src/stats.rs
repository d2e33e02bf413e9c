//! Port counters.
//!
//! Each queue owns a [`QueueCounters`] block that only it writes, once per burst, with plain
//! load + store pairs (no read-modify-write instruction: there is one writer). The port keeps an
//! `Arc` of every block in a [`StatsRegistry`]; [`StatsRegistry::sum`] adds them up for any
//! reader, and folds the blocks of closed queues into a retired total so the list stays short.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// Counters of one port, summed over its queues.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct PortStats {
            $($(#[$doc])* pub $name: u64,)*
        }

        /// One queue's counters: written by that queue only, read by anyone.
        #[derive(Debug, Default)]
        pub(crate) struct QueueCounters {
            $(pub(crate) $name: AtomicU64,)*
        }

        impl QueueCounters {
            /// Adds a burst's local counts (single writer: load + store, no locked instruction).
            pub(crate) fn add(&self, d: &PortStats) {
                $(if d.$name != 0 {
                    self.$name.store(self.$name.load(Relaxed).wrapping_add(d.$name), Relaxed);
                })*
            }

            /// Adds a burst's received packets and bytes: [`QueueCounters::add`] for a burst that
            /// counted nothing else (two load + store pairs, and no `PortStats` to fill).
            #[cfg_attr(not(feature = "dpdk"), allow(dead_code))]
            #[inline(always)]
            pub(crate) fn add_rx(&self, packets: u64, bytes: u64) {
                if packets != 0 {
                    self.rx_packets.store(self.rx_packets.load(Relaxed).wrapping_add(packets), Relaxed);
                    self.rx_bytes.store(self.rx_bytes.load(Relaxed).wrapping_add(bytes), Relaxed);
                }
            }

            fn snapshot(&self) -> PortStats {
                PortStats { $($name: self.$name.load(Relaxed),)* }
            }
        }

        impl std::ops::AddAssign for PortStats {
            fn add_assign(&mut self, o: PortStats) {
                $(self.$name = self.$name.wrapping_add(o.$name);)*
            }
        }
    };
}

counters! {
    /// Packets handed to the caller by `rx_burst`.
    rx_packets,
    /// Bytes of those packets (frame bytes, Ethernet header included).
    rx_bytes,
    /// Packets the kernel dropped before rvs saw them (receive ring full).
    rx_dropped,
    /// Ring entries rvs could not make sense of (bad offsets, bad virtio-net header).
    rx_errors,
    /// Frames cut short by the ring and not recoverable in full; dropped, never forwarded.
    rx_truncated,
    /// Received packets whose L4 checksum was left partial by the sender (checksum offload).
    rx_csum_partial,
    /// Received segmentation-offload super-frames.
    rx_gso,
    /// Packets taken by `tx_burst` and queued to the kernel (a super-frame counts once).
    tx_packets,
    /// Bytes of those packets.
    tx_bytes,
    /// Packets taken by `tx_burst` and then dropped by the port (oversize, malformed offload
    /// state, device gone).
    tx_dropped,
    /// Transmit system calls that failed.
    tx_errors,
    /// Partial checksums handed to the kernel in a virtio-net header.
    tx_csum_offloaded,
    /// Super-frames handed to the kernel in a virtio-net header.
    tx_gso_offloaded,
    /// Partial checksums completed in software before transmission.
    tx_csum_completed,
    /// Super-frames segmented in software before transmission.
    tx_gso_segmented,
}

/// The counter blocks of one port's queues.
#[derive(Debug, Default)]
pub(crate) struct StatsRegistry {
    inner: Mutex<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    live: Vec<Arc<QueueCounters>>,
    retired: PortStats,
}

impl StatsRegistry {
    /// A fresh block for a new queue.
    pub(crate) fn register(&self) -> Arc<QueueCounters> {
        let c = Arc::new(QueueCounters::default());
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).live.push(c.clone());
        c
    }

    /// Sum over all blocks, live and retired.
    pub(crate) fn sum(&self) -> PortStats {
        let mut r = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut retired = r.retired;
        r.live.retain(|c| {
            if Arc::strong_count(c) == 1 {
                retired += c.snapshot();
                false
            } else {
                true
            }
        });
        r.retired = retired;
        let mut total = retired;
        for c in &r.live {
            total += c.snapshot();
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_live_and_closed_queues() {
        let reg = StatsRegistry::default();
        let a = reg.register();
        let b = reg.register();
        a.add(&PortStats { rx_packets: 3, rx_bytes: 300, ..Default::default() });
        b.add(&PortStats { rx_packets: 1, tx_packets: 2, ..Default::default() });
        assert_eq!(reg.sum().rx_packets, 4);
        drop(b);
        assert_eq!(reg.sum().tx_packets, 2);
        a.add(&PortStats { rx_packets: 1, ..Default::default() });
        a.add_rx(2, 120);
        a.add_rx(0, 0);
        let s = reg.sum();
        assert_eq!((s.rx_packets, s.rx_bytes, s.tx_packets), (7, 420, 2));
        assert_eq!(reg.inner.lock().unwrap().live.len(), 1);
    }
}
