//! Step 1 of the packet path: every packet's flow key, or the knowledge that it is a copy of
//! an earlier packet of its batch whose key it may take (see the [parent module](super) and
//! [`rvs_flowcache::key_reuse`]).
//!
//! # Algorithm
//! The first packet is always extracted. While it is reusable (plain IPv4 whose headers fit
//! the compared window), each packet after it is compared with it, its head held in
//! registers ([`Head`]). A batch that is one run of a flow ends here: nothing is written for
//! the copies (no key, EMC identity or TCP flags, and not even their metadata: input port and
//! header offsets, which only actions read, are written by `exec` when the run executes an
//! action list), and the PMD answers the batch as a whole (`whole_run`). Otherwise the copies
//! get the first packet's metadata, and at the first packet that differs, the rest goes
//! the general way: neighbours are compared until a second difference, then each packet is
//! either extracted or, if it copies the packet before it in a run after a reusable packet,
//! takes that run's first packet (its *root*) as its own, with the root's TCP flags.
//!
//! # Invariants
//! `valid` holds the packets whose keys (or roots' keys) may be used; `reused` those that
//! take their root's (`reuse_of`) answer; a reused packet's `keys` entry holds only its TCP
//! flags, and when the whole batch is one run (`reused` = every packet but the first), not
//! even those, and the copies' metadata is not set either.

use rvs_flowcache::emc::{Emc, EmcKey};
use rvs_flowcache::key::HeaderOffsets;
use rvs_flowcache::key_reuse::{reusable, same_head, Head};
use rvs_flowcache::FlowKey;
use rvs_packet::{PacketBatch, PacketBuf, BURST_SIZE};

use crate::drops::DropReason;
use crate::pmd_stats::PmdCounters;

/// What [`extract_batch`] found.
pub(super) struct Extraction {
    /// Packets with a usable key (their own or their root's).
    pub(super) valid: u32,
    /// Packets that take the key and answer of their root.
    pub(super) reused: u32,
    /// Packets whose EMC hash was not computed (see [`super::emc_key_of`]).
    pub(super) unhashed: u32,
    /// The root of each reused packet.
    pub(super) reuse_of: [u8; BURST_SIZE],
}

/// Extracts the keys of `batch` (all received on `dp_port`) into `keys` and their EMC
/// identities into `emc_keys`, and sets each packet's input port and header offsets. See the
/// module documentation.
#[inline(always)]
pub(super) fn extract_batch(
    batch: &mut PacketBatch,
    dp_port: u32,
    keys: &mut [FlowKey; BURST_SIZE],
    emc_keys: &mut [EmcKey; BURST_SIZE],
    lookup: Option<&Emc>,
    counters: &mut PmdCounters,
) -> Extraction {
    let mut x = Extraction { valid: 0, reused: 0, unhashed: 0, reuse_of: [0; BURST_SIZE] };
    let pkts = batch.as_mut_slice();
    let n = pkts.len();
    if n == 0 {
        return x;
    }
    // The first packet, and the run of its copies. `rest` is the first packet not yet
    // handled, `compare_from` the first to compare with the one before it.
    let (mut rest, mut compare_from, mut differences) = (1, 1, 0);
    if let Some(e) = extract_one(&mut pkts[0], dp_port, &mut keys[0], &mut emc_keys[0], lookup, counters) {
        x.valid = 1;
        x.unhashed = u32::from(e.unhashed);
        if reusable(e.map, e.off) {
            let head = Head::of(pkts[0].data());
            for pkt in &pkts[1..] {
                if !head.matches(pkt.data()) {
                    break;
                }
                rest += 1;
            }
            // Packets 1 to rest - 1 are copies of packet 0 (already zero in `reuse_of`).
            let run = (u32::MAX >> (32 - rest)) & !1;
            x.valid |= run;
            x.reused = run;
            if rest == n {
                // One run: the copies' metadata is written only if they run actions (`exec`).
                return x;
            }
            for pkt in &mut pkts[1..rest] {
                set_meta(pkt, dp_port, e.off);
            }
            // Packet `rest` differs from the one before it.
            differences = 1;
            compare_from = rest + 1;
        }
    }
    // The rest: which packets copy the one before them, until a second difference.
    let mut same_as_prev = 0u32;
    for i in compare_from..n {
        if same_head(pkts[i - 1].data(), pkts[i].data()) {
            same_as_prev |= 1 << i;
        } else {
            differences += 1;
            if differences == 2 {
                break;
            }
        }
    }
    extract_rest(pkts, rest, same_as_prev, dp_port, keys, emc_keys, lookup, counters, x)
}

/// Packets `start..` of the batch: each extracted, or, where `same_as_prev` says it copies
/// the packet before it and a reusable packet started the run, given that packet's root.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn extract_rest(
    pkts: &mut [PacketBuf],
    start: usize,
    same_as_prev: u32,
    dp_port: u32,
    keys: &mut [FlowKey; BURST_SIZE],
    emc_keys: &mut [EmcKey; BURST_SIZE],
    lookup: Option<&Emc>,
    counters: &mut PmdCounters,
    mut x: Extraction,
) -> Extraction {
    if same_as_prev == 0 {
        for (i, pkt) in pkts.iter_mut().enumerate().skip(start) {
            if let Some(e) = extract_one(pkt, dp_port, &mut keys[i], &mut emc_keys[i], lookup, counters) {
                x.valid |= 1 << i;
                x.unhashed |= u32::from(e.unhashed) << i;
            }
        }
        return x;
    }
    // The last extracted packet (index, offsets), while the packets since are copies of it
    // and its key may be reused. Copies are taken from it, not from the packet just before:
    // that one's key was written a moment ago, and reading it back whole would stall store
    // forwarding.
    let mut prev: Option<(usize, HeaderOffsets)> = None;
    for (i, pkt) in pkts.iter_mut().enumerate().skip(start) {
        if same_as_prev & (1 << i) != 0 {
            if let Some((root, off)) = prev {
                set_meta(pkt, dp_port, off);
                // Not the whole key (240 bytes, a memcpy call): only what executing reads
                // (`tcp_flags`). Lookups and upcalls are the root's alone. Its EMC identity
                // is not needed either: only roots are looked up and inserted.
                keys[i].tcp_flags = keys[root].tcp_flags;
                x.valid |= 1 << i;
                x.reused |= 1 << i;
                x.reuse_of[i] = root as u8;
                continue;
            }
        }
        prev = match extract_one(pkt, dp_port, &mut keys[i], &mut emc_keys[i], lookup, counters) {
            Some(e) => {
                x.valid |= 1 << i;
                x.unhashed |= u32::from(e.unhashed) << i;
                reusable(e.map, e.off).then_some((i, e.off))
            }
            None => None,
        };
    }
    x
}

/// Sets what actions read of a packet's metadata: its input port and header offsets.
#[inline(always)]
pub(super) fn set_meta(pkt: &mut PacketBuf, dp_port: u32, off: HeaderOffsets) {
    pkt.meta.in_port = dp_port;
    pkt.meta.l3_ofs = off.l3;
    pkt.meta.l4_ofs = off.l4;
}

/// What [`extract_one`] found of a well-formed packet.
struct Extracted {
    off: HeaderOffsets,
    /// The key's word map.
    map: u32,
    /// The EMC hash was not computed (see [`super::emc_key_of`]).
    unhashed: bool,
}

/// Extracts `pkt`'s key into `key` and its exact-match cache identity into `emc_key`, and
/// sets the packet's input port and header offsets; a malformed packet is counted (and its
/// key must not be used). With `lookup` (the EMC the batch will consult), the key's slots
/// there are prefetched; without, the key is not hashed unless the port gave a hash.
#[inline(always)]
fn extract_one(pkt: &mut PacketBuf, dp_port: u32, key: &mut FlowKey, emc_key: &mut EmcKey, lookup: Option<&Emc>, counters: &mut PmdCounters) -> Option<Extracted> {
    match key.extract_mapped(pkt.data(), dp_port) {
        Ok((off, map)) => {
            set_meta(pkt, dp_port, off);
            // A receive hash from the port (RSS) is the EMC hash, as in OVS: it saves hashing
            // the key. Equal keys get equal hashes as long as the port hashes them the same
            // way; a collision only costs a slot (the whole key is compared).
            let rss = pkt.meta.has_rss_hash;
            *emc_key = if rss || lookup.is_none() { EmcKey { map, hash: pkt.meta.rss_hash } } else { EmcKey::new(key, map) };
            if let Some(emc) = lookup {
                emc.prefetch(emc_key.hash);
            }
            Some(Extracted { off, map, unhashed: !rss && lookup.is_none() })
        }
        Err(m) => {
            pkt.meta.in_port = dp_port;
            counters.drop(DropReason::Malformed(m), 1);
            None
        }
    }
}
