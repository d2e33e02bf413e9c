//! Transmit buffering: per output port, up to a burst of packets waiting for the end of the
//! iteration (or a full buffer) to go out in one `tx_burst`.

use rvs_packet::{PacketBatch, PacketBuf};
use rvs_pmd::TxQueue;

use crate::drops::DropReason;
use crate::pmd_stats::PmdCounters;

pub(super) struct TxSlot {
    pub(super) q: Box<dyn TxQueue>,
    /// Boxed, so that a whole received batch can take its place by a pointer swap.
    pub(super) pending: Box<PacketBatch>,
}

impl TxSlot {
    /// Hands the buffered packets to the queue; what it does not take is dropped and counted.
    fn send(&mut self, counters: &mut PmdCounters) {
        let sent = self.q.tx_burst(&mut self.pending);
        counters.tx_packets += sent as u64;
        counters.tx_batches += 1;
        let left = self.pending.len() as u64;
        if left > 0 {
            counters.drop(DropReason::TxQueueFull, left);
            self.pending.clear();
        }
    }
}

/// The PMD's transmit handles by datapath port, each with a buffer of up to a burst of packets
/// waiting to go.
#[derive(Default)]
pub(super) struct TxPorts {
    pub(super) slots: Vec<Option<TxSlot>>,
}

impl TxPorts {
    /// Buffers `pkt` for `port`, sending the buffer first if it is full.
    #[inline(always)]
    pub(super) fn enqueue(&mut self, port: u32, pkt: PacketBuf, counters: &mut PmdCounters) {
        let Some(Some(slot)) = self.slots.get_mut(port as usize) else {
            counters.drop(DropReason::NoSuchOutputPort, 1);
            return;
        };
        if let Err(pkt) = slot.pending.push(pkt) {
            slot.send(counters);
            let _ = slot.pending.push(pkt);
        }
    }

    /// Makes `batch` the transmit buffer of `port` if that buffer is empty (swapping the two:
    /// `batch` comes back empty). False, and nothing done, if the port is gone or its buffer
    /// holds packets.
    #[inline]
    pub(super) fn take_whole(&mut self, port: u32, batch: &mut Box<PacketBatch>) -> bool {
        match self.slots.get_mut(port as usize) {
            Some(Some(slot)) if slot.pending.is_empty() => {
                std::mem::swap(&mut slot.pending, batch);
                true
            }
            _ => false,
        }
    }

    /// Sends every buffer that holds packets, and flushes those queues.
    pub(super) fn flush(&mut self, counters: &mut PmdCounters) {
        for slot in self.slots.iter_mut().flatten() {
            if !slot.pending.is_empty() {
                slot.send(counters);
                slot.q.flush();
            }
        }
    }
}
