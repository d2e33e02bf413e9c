//! Fixed-capacity packet batches.

use arrayvec::ArrayVec;

use crate::buf::{with_local_pool, PacketBuf};

/// Packets per batch: what one `rx_burst` returns at most and what every stage handles at once.
pub const BURST_SIZE: usize = 32;

/// Up to [`BURST_SIZE`] packets. Capacity is fixed; nothing here allocates.
#[derive(Default)]
pub struct PacketBatch {
    packets: ArrayVec<PacketBuf, BURST_SIZE>,
}

impl PacketBatch {
    /// An empty batch.
    #[inline]
    pub fn new() -> Self {
        PacketBatch { packets: ArrayVec::new() }
    }

    /// Number of packets held.
    #[inline]
    pub fn len(&self) -> usize {
        self.packets.len()
    }

    /// True when the batch holds no packet.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    /// True when no more packets fit.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.packets.is_full()
    }

    /// How many more packets fit.
    #[inline]
    pub fn room(&self) -> usize {
        BURST_SIZE - self.packets.len()
    }

    /// Appends a packet; gives it back if the batch is full.
    #[inline]
    pub fn push(&mut self, packet: PacketBuf) -> Result<(), PacketBuf> {
        self.packets.try_push(packet).map_err(|e| e.element())
    }

    /// Appends the packet `make` builds to a batch the caller knows has room (a receive burst
    /// asks for at most [`PacketBatch::room`] packets). For receive paths: the room is checked
    /// before the packet exists, so that it is built straight into its slot. (Through
    /// [`PacketBatch::push`], or with the check after the packet is built, it is parked in a
    /// stack temporary first, to be given back or dropped should the batch be full, and the
    /// reload of that temporary stalls store forwarding on every packet.)
    ///
    /// # Panics
    /// If the batch is full.
    #[inline(always)]
    pub fn push_in_room(&mut self, make: impl FnOnce() -> PacketBuf) {
        assert!(!self.packets.is_full(), "push_in_room: the batch is full");
        // SAFETY: checked just above; `make` cannot touch the batch (it is borrowed here).
        unsafe { self.packets.push_unchecked(make()) };
    }

    /// Appends packets taken from `packets` until the batch is full or the iterator ends (no
    /// more than [`PacketBatch::room`] are taken from it). Returns the number appended.
    #[inline]
    pub fn fill(&mut self, mut packets: impl Iterator<Item = PacketBuf>) -> usize {
        let room = self.room();
        let mut n = 0;
        // A plain loop over `push_unchecked`, not `extend`: `extend` keeps each packet in a
        // stack temporary (to drop it should the capacity check fail) and copies it from there
        // with loads that straddle the stores that built it, a store-forwarding stall per
        // packet (see the 1-flow PMD benchmark).
        while n < room {
            let Some(p) = packets.next() else { break };
            // SAFETY: fewer than `room` packets were pushed, so the batch has space.
            unsafe { self.packets.push_unchecked(p) };
            n += 1;
        }
        n
    }

    /// Removes and returns the last packet.
    #[inline]
    pub fn pop(&mut self) -> Option<PacketBuf> {
        self.packets.pop()
    }

    /// The packets, in order.
    #[inline]
    pub fn as_slice(&self) -> &[PacketBuf] {
        &self.packets
    }

    /// The packets, in order, writable.
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [PacketBuf] {
        &mut self.packets
    }

    /// Iterates over the packets.
    #[inline]
    pub fn iter(&self) -> std::slice::Iter<'_, PacketBuf> {
        self.packets.iter()
    }

    /// Iterates mutably over the packets.
    #[inline]
    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, PacketBuf> {
        self.packets.iter_mut()
    }

    /// Removes all packets and yields them in order.
    #[inline]
    pub fn drain(&mut self) -> arrayvec::Drain<'_, PacketBuf, BURST_SIZE> {
        self.packets.drain(..)
    }

    /// Removes the first `n` packets (e.g. the ones a transmit call took) and drops them.
    #[inline]
    pub fn remove_front(&mut self, n: usize) {
        let n = n.min(self.packets.len());
        self.packets.drain(..n);
    }

    /// Empties a batch whose packets were all taken out of their slots (with
    /// [`PacketBuf::take`] or [`PacketBuf::take_external`]), as a transmit path that reads
    /// packets in place does: the emptied packets are forgotten, not dropped one by one. A
    /// packet that still held a buffer would be leaked (never freed, which is safe but a bug
    /// of the caller's): debug builds check that none does.
    #[inline]
    pub fn clear_taken(&mut self) {
        debug_assert!(self.packets.iter().all(|p| !p.holds_buffer()), "clear_taken: a packet still holds its buffer");
        // SAFETY: a length of 0 is within capacity; the packets beyond it are forgotten, and
        // forgetting is safe (they hold no buffer, so nothing leaks).
        unsafe { self.packets.set_len(0) };
    }

    /// Drops all packets, handing their buffers back to the thread's pool in one go
    /// ([`with_local_pool`]; do not call it inside that function's closure, where
    /// [`LocalPool::recycle`] does the same).
    ///
    /// [`LocalPool::recycle`]: crate::buf::LocalPool::recycle
    #[inline]
    pub fn clear(&mut self) {
        if self.packets.is_empty() {
            return;
        }
        with_local_pool(|pool| pool.recycle_all(&mut self.packets));
        // The buffers are empty now: dropping them touches no pool.
        self.packets.clear();
    }

    /// Keeps only the packets for which `keep` returns true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&mut PacketBuf) -> bool) {
        self.packets.retain(|p| keep(p));
    }
}

impl std::ops::Index<usize> for PacketBatch {
    type Output = PacketBuf;
    fn index(&self, i: usize) -> &PacketBuf {
        &self.packets[i]
    }
}

impl std::ops::IndexMut<usize> for PacketBatch {
    fn index_mut(&mut self, i: usize) -> &mut PacketBuf {
        &mut self.packets[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_at_most_a_burst() {
        let mut b = PacketBatch::new();
        for i in 0..BURST_SIZE {
            assert!(b.push(PacketBuf::from_slice(&[i as u8])).is_ok());
        }
        assert!(b.is_full());
        let back = b.push(PacketBuf::from_slice(&[99])).unwrap_err();
        assert_eq!(back.data(), &[99]);
        let mut more = PacketBatch::new();
        assert_eq!(more.fill((0..5).map(|i| PacketBuf::from_slice(&[i]))), 5);
        assert_eq!(more.fill((0..100).map(|i| PacketBuf::from_slice(&[i]))), BURST_SIZE - 5);
        assert_eq!((more[4].data(), more[5].data()), (&[4u8][..], &[0u8][..]));
        b.remove_front(30);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].data(), &[30]);
        b.retain(|p| p.data()[0] == 31);
        assert_eq!(b.len(), 1);
        assert_eq!(b.room(), BURST_SIZE - 1);
        let taken: Vec<PacketBuf> = b.iter_mut().map(|p| p.take()).collect();
        b.clear_taken();
        assert!(b.is_empty());
        assert_eq!(taken[0].data(), &[31]);
    }
}
