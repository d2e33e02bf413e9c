//! Why the datapath dropped a packet: every drop has a named reason and a counter.
//!
//! The PMD increments plain per-thread counters indexed by [`DropReason`]; they are published
//! with the other PMD statistics and shown by `rvs-appctl dpif-netdev/pmd-stats-show` and
//! `rvs-appctl dpif/show-dp-drops`.

use rvs_flowcache::Malformed;

/// A reason for dropping a packet in the datapath.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The frame's headers are truncated or inconsistent.
    Malformed(Malformed),
    /// The megaflow's actions drop it (no output), or translation chose to drop it.
    Actions,
    /// A header rewrite found its header missing (a translation/packet mismatch).
    RewriteFailed,
    /// The transmit queue did not take it.
    TxQueueFull,
    /// Sent to the controller, but the packet-in queue to the control thread was full.
    PacketInQueueFull,
    /// Received on a port no bridge owns (being added or removed).
    NoSuchPort,
    /// Output to a port that is gone.
    NoSuchOutputPort,
    /// Checksum or segmentation offload could not be completed.
    OffloadFailed,
}

/// Number of distinct reasons (malformed ones included).
pub const N_DROP_REASONS: usize = Malformed::COUNT + 7;

impl DropReason {
    /// Dense index for counter arrays.
    pub fn index(self) -> usize {
        match self {
            DropReason::Malformed(m) => m as usize,
            DropReason::Actions => Malformed::COUNT,
            DropReason::RewriteFailed => Malformed::COUNT + 1,
            DropReason::TxQueueFull => Malformed::COUNT + 2,
            DropReason::PacketInQueueFull => Malformed::COUNT + 3,
            DropReason::NoSuchPort => Malformed::COUNT + 4,
            DropReason::NoSuchOutputPort => Malformed::COUNT + 5,
            DropReason::OffloadFailed => Malformed::COUNT + 6,
        }
    }

    /// Every reason, in index order.
    pub fn all() -> impl Iterator<Item = DropReason> {
        Malformed::ALL.into_iter().map(DropReason::Malformed).chain([
            DropReason::Actions,
            DropReason::RewriteFailed,
            DropReason::TxQueueFull,
            DropReason::PacketInQueueFull,
            DropReason::NoSuchPort,
            DropReason::NoSuchOutputPort,
            DropReason::OffloadFailed,
        ])
    }

    /// The counter name (`rx_malformed_ipv4_bad_ihl`, `drop_action`, ...).
    pub fn name(self) -> String {
        match self {
            DropReason::Malformed(m) => format!("rx_malformed_{}", m.name()),
            DropReason::Actions => "drop_action".into(),
            DropReason::RewriteFailed => "drop_rewrite_failed".into(),
            DropReason::TxQueueFull => "tx_queue_full".into(),
            DropReason::PacketInQueueFull => "packet_in_queue_full".into(),
            DropReason::NoSuchPort => "rx_no_such_port".into(),
            DropReason::NoSuchOutputPort => "tx_no_such_port".into(),
            DropReason::OffloadFailed => "offload_failed".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_are_dense_and_unique() {
        let idx: Vec<usize> = DropReason::all().map(|r| r.index()).collect();
        assert_eq!(idx, (0..N_DROP_REASONS).collect::<Vec<_>>());
    }
}
