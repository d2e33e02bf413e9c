//! What a connection owes its peer: the bounded output queue, and the packet-in rate limit.
//!
//! # The output queue
//! The control thread never waits for a peer: messages are queued and written when the socket
//! takes them. A slow peer must not make the daemon grow without bound, and must not lose the
//! answers to its requests either, so messages are of two kinds:
//! * **packet-ins** may be dropped: one is refused when [`QueueLimits::packet_ins`] packet-ins
//!   are already queued (OVS's `controller-queue-size`, default 100) or when the queue holds
//!   more than [`QueueLimits::soft_bytes`];
//! * **everything else** (replies, errors, port-status, flow-removed) is queued; if the queue
//!   would pass [`QueueLimits::hard_bytes`], queued packet-ins that have not started to leave
//!   are dropped to make room, and if that is not enough the push fails and the caller closes
//!   the connection.
//!
//! Above `soft_bytes` the connection also stops reading requests (see [`super::conn`]), so a
//! peer that does not read its replies stops being served long before the hard limit.
//!
//! # The rate limit
//! [`TokenBucket`]: `rate` packet-ins per second with bursts of up to `burst`, as OVS's
//! `controller_rate_limit` and `controller_burst_limit`. Off by default, as in OVS.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};
use std::time::Instant;

/// Bounds of one connection's output queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueLimits {
    /// Most packet-ins queued (OVS `controller-queue-size`).
    pub packet_ins: usize,
    /// Above this many bytes, packet-ins are refused and requests are no longer read.
    pub soft_bytes: usize,
    /// The queue never holds more; a reply that does not fit closes the connection.
    pub hard_bytes: usize,
}

impl Default for QueueLimits {
    fn default() -> Self {
        QueueLimits { packet_ins: 100, soft_bytes: 1 << 20, hard_bytes: 64 << 20 }
    }
}

/// A reply could not be queued: the connection must be closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overflow;

struct Queued {
    bytes: Vec<u8>,
    packet_in: bool,
}

/// A connection's output queue. See the module documentation.
#[derive(Default)]
pub struct OutQueue {
    msgs: VecDeque<Queued>,
    /// Bytes of the first message already written.
    head_written: usize,
    bytes: usize,
    packet_ins: usize,
}

impl OutQueue {
    /// Bytes waiting.
    pub fn bytes(&self) -> usize {
        self.bytes - self.head_written
    }

    /// True if nothing waits.
    pub fn is_empty(&self) -> bool {
        self.msgs.is_empty()
    }

    /// Packet-ins waiting.
    pub fn packet_ins(&self) -> usize {
        self.packet_ins
    }

    /// Queues a message that must not be lost, dropping queued packet-ins if needed.
    pub fn push(&mut self, bytes: Vec<u8>, limits: &QueueLimits) -> Result<(), Overflow> {
        if self.bytes() + bytes.len() > limits.hard_bytes {
            self.drop_packet_ins();
            if self.bytes() + bytes.len() > limits.hard_bytes {
                return Err(Overflow);
            }
        }
        self.bytes += bytes.len();
        self.msgs.push_back(Queued { bytes, packet_in: false });
        Ok(())
    }

    /// Queues a packet-in if the limits allow; returns false if it was dropped.
    pub fn push_packet_in(&mut self, bytes: Vec<u8>, limits: &QueueLimits) -> bool {
        if self.packet_ins >= limits.packet_ins || self.bytes() + bytes.len() > limits.soft_bytes {
            return false;
        }
        self.bytes += bytes.len();
        self.packet_ins += 1;
        self.msgs.push_back(Queued { bytes, packet_in: true });
        true
    }

    /// Drops every queued packet-in that has not started to leave.
    fn drop_packet_ins(&mut self) {
        let keep_head = self.head_written > 0;
        let mut i = 0;
        let (mut bytes, mut n) = (0, 0);
        self.msgs.retain(|m| {
            let first = i == 0;
            i += 1;
            if m.packet_in && !(first && keep_head) {
                bytes += m.bytes.len();
                n += 1;
                false
            } else {
                true
            }
        });
        self.bytes -= bytes;
        self.packet_ins -= n;
    }

    /// Writes as much as `w` takes (several messages per system call). `Ok` when the queue is
    /// empty or `w` would block; `Err` when the stream failed.
    pub fn write_to(&mut self, w: &mut impl Write) -> io::Result<()> {
        while !self.msgs.is_empty() {
            let n = {
                let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(self.msgs.len().min(64));
                for (i, m) in self.msgs.iter().take(64).enumerate() {
                    let from = if i == 0 { self.head_written } else { 0 };
                    slices.push(IoSlice::new(&m.bytes[from..]));
                }
                match w.write_vectored(&slices) {
                    Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "peer closed")),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            self.consume(n);
        }
        Ok(())
    }

    fn consume(&mut self, mut n: usize) {
        while n > 0 {
            let head = self.msgs.front().expect("written bytes come from queued messages");
            let left = head.bytes.len() - self.head_written;
            if n < left {
                self.head_written += n;
                return;
            }
            n -= left;
            let done = self.msgs.pop_front().expect("head exists");
            self.bytes -= done.bytes.len();
            if done.packet_in {
                self.packet_ins -= 1;
            }
            self.head_written = 0;
        }
    }
}

/// A token bucket: `rate` tokens per second, at most `burst` saved up.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    rate: u64,
    burst: u64,
    /// Tokens, in thousandths.
    milli: u64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: u32, burst: u32, now: Instant) -> TokenBucket {
        let burst = u64::from(burst.max(1));
        TokenBucket { rate: u64::from(rate.max(1)), burst, milli: burst * 1000, last: now }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed_ms = now.saturating_duration_since(self.last).as_millis() as u64;
        if elapsed_ms > 0 {
            // rate tokens per second = rate thousandths per millisecond.
            self.milli = (self.milli + elapsed_ms.saturating_mul(self.rate)).min(self.burst * 1000);
            self.last = now;
        }
        if self.milli >= 1000 {
            self.milli -= 1000;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A writer that takes at most `room` bytes, then would block.
    struct Slow {
        room: usize,
        got: Vec<u8>,
    }

    impl Write for Slow {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            self.got.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    const LIMITS: QueueLimits = QueueLimits { packet_ins: 2, soft_bytes: 100, hard_bytes: 200 };

    #[test]
    fn writes_in_order_across_partial_writes() {
        let mut q = OutQueue::default();
        q.push(vec![1; 10], &LIMITS).unwrap();
        assert!(q.push_packet_in(vec![2; 10], &LIMITS));
        q.push(vec![3; 10], &LIMITS).unwrap();
        let mut w = Slow { room: 15, got: Vec::new() };
        q.write_to(&mut w).unwrap();
        assert_eq!((q.bytes(), q.packet_ins()), (15, 1));
        w.room = 100;
        q.write_to(&mut w).unwrap();
        assert!(q.is_empty());
        assert_eq!(q.packet_ins(), 0);
        assert_eq!(w.got, [vec![1; 10], vec![2; 10], vec![3; 10]].concat());
    }

    #[test]
    fn packet_ins_are_bounded_by_count_and_bytes() {
        let mut q = OutQueue::default();
        assert!(q.push_packet_in(vec![0; 10], &LIMITS));
        assert!(q.push_packet_in(vec![0; 10], &LIMITS));
        assert!(!q.push_packet_in(vec![0; 10], &LIMITS), "count limit");
        let mut q = OutQueue::default();
        q.push(vec![0; 95], &LIMITS).unwrap();
        assert!(!q.push_packet_in(vec![0; 10], &LIMITS), "soft byte limit");
    }

    #[test]
    fn replies_push_out_packet_ins_then_overflow() {
        let mut q = OutQueue::default();
        assert!(q.push_packet_in(vec![7; 50], &LIMITS));
        assert!(q.push_packet_in(vec![8; 50], &LIMITS));
        q.push(vec![1; 90], &LIMITS).unwrap();
        // 190 queued; 30 more passes 200: the packet-ins go, the reply stays.
        q.push(vec![2; 30], &LIMITS).unwrap();
        assert_eq!((q.bytes(), q.packet_ins()), (120, 0));
        assert_eq!(q.push(vec![3; 81], &LIMITS), Err(Overflow));
        let mut w = Slow { room: 1000, got: Vec::new() };
        q.write_to(&mut w).unwrap();
        assert_eq!(w.got, [vec![1; 90], vec![2; 30]].concat());
    }

    #[test]
    fn a_packet_in_being_written_is_not_cut() {
        let mut q = OutQueue::default();
        assert!(q.push_packet_in(vec![7; 60], &LIMITS));
        let mut w = Slow { room: 10, got: Vec::new() };
        q.write_to(&mut w).unwrap();
        q.push(vec![1; 100], &LIMITS).unwrap();
        q.push(vec![2; 51], &LIMITS).unwrap_err();
        w.room = 1000;
        q.write_to(&mut w).unwrap();
        assert_eq!(w.got, [vec![7; 60], vec![1; 100]].concat());
    }

    #[test]
    fn token_bucket_allows_bursts_then_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(100, 5, t0);
        assert_eq!((0..10).filter(|_| b.take(t0)).count(), 5);
        // 100 per second: one token every 10 ms.
        assert!(!b.take(t0 + Duration::from_millis(5)));
        assert!(b.take(t0 + Duration::from_millis(10)));
        let later = t0 + Duration::from_secs(60);
        assert_eq!((0..10).filter(|_| b.take(later)).count(), 5, "never more than the burst");
    }
}
