//! Steps 4 and 5 of the packet path: group a classified batch by megaflow, count each group's
//! traffic once, and execute (see the [parent module](super)).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use arrayvec::ArrayVec;
use rvs_flowcache::dpaction::DpAction;
use rvs_flowcache::key::HeaderOffsets;
use rvs_flowcache::megaflow::{Disposition, Megaflow};
use rvs_flowcache::FlowKey;
use rvs_packet::{PacketBatch, PacketBuf, BURST_SIZE};

use super::extract::set_meta;
use super::tx::TxPorts;
use crate::datapath::{DatapathShared, PacketIn};
use crate::drops::DropReason;
use crate::pmd_stats::PmdCounters;

/// A batch's packets that share a megaflow (OVS's `packet_batch_per_flow`), with their
/// traffic, counted once per group.
struct Group<'a> {
    flow: &'a Megaflow,
    disposition: Disposition,
    packets: ArrayVec<u8, BURST_SIZE>,
    bytes: u64,
    tcp_flags: u16,
}

/// Marks a packet that belongs to no group (dropped before execution).
const NO_GROUP: u8 = u8::MAX;

/// What classification found for a batch: each packet's megaflow (`None`: dropped), and its
/// key.
pub(super) struct Classified<'f, 'k> {
    pub(super) flows: &'f [Option<&'f Arc<Megaflow>>; BURST_SIZE],
    pub(super) keys: &'k [FlowKey],
    pub(super) n: usize,
    /// Every packet is a copy of the first (same length, same headers: `key_reuse`): only
    /// the first one's megaflow, key and metadata (input port, header offsets) are filled in
    /// (not even the others' TCP flags), and they stand for all.
    pub(super) whole_run: bool,
}

/// Steps 4 and 5 of [`Pmd::process_rx`]: groups the batch's packets by megaflow, counts each
/// group's traffic on its megaflow, and executes. Packets whose group only outputs (or drops)
/// move straight to the port's transmit buffer; the others wait in `slots` for their group's
/// action list ([`execute_actions`]). When the whole batch is on one megaflow that outputs
/// to one port whose buffer is empty, the batch becomes the buffer. Leaves `rx_batch` empty.
#[inline(always)]
pub(super) fn dispatch(
    batch: Classified<'_, '_>,
    rx_batch: &mut Box<PacketBatch>,
    slots: &mut [Option<PacketBuf>; BURST_SIZE],
    txqs: &mut TxPorts,
    counters: &mut PmdCounters,
    dp: &DatapathShared,
    now_ms: u64,
) {
    if batch.whole_run {
        let Some(first) = batch.flows[0] else {
            // Dropped (and counted) before dispatch: the first packet's upcall failed.
            rx_batch.clear();
            return;
        };
        if first.disposition == Disposition::Execute {
            // Each packet runs the actions, in order (the copies' keys are not filled in:
            // the first one's TCP flags are theirs).
            let bytes = rx_batch.len() as u64 * rx_batch.as_slice()[0].len() as u64;
            first.stats.add(batch.n as u64, bytes, now_ms, batch.keys[0].tcp_flags);
            // The copies' metadata was left for here (see `extract`): the first one's.
            let meta = rx_batch.as_slice()[0].meta;
            let off = HeaderOffsets { l3: meta.l3_ofs, l4: meta.l4_ofs };
            let packet_ins = counters.packet_ins;
            for mut pkt in rx_batch.drain() {
                set_meta(&mut pkt, meta.in_port, off);
                execute_actions(&first.actions, pkt, dp, txqs, counters);
            }
            if counters.packet_ins != packet_ins {
                dp.wake_control();
            }
            return;
        }
    }
    // Common case first: every packet of the batch on one megaflow.
    if let Some(Some(first)) = batch.flows.first() {
        if batch.whole_run || batch.flows[..batch.n].iter().all(|f| f.is_some_and(|f| Arc::ptr_eq(f, first))) {
            let disposition = first.disposition;
            // An action list is counted below, with the general case.
            if disposition != Disposition::Execute {
                let (bytes, tcp_flags) = if batch.whole_run {
                    (rx_batch.len() as u64 * rx_batch.as_slice()[0].len() as u64, batch.keys[0].tcp_flags)
                } else {
                    (rx_batch.iter().map(|p| p.len() as u64).sum(), batch.keys[..batch.n].iter().fold(0, |a, k| a | k.tcp_flags))
                };
                first.stats.add(batch.n as u64, bytes, now_ms, tcp_flags);
            }
            match disposition {
                Disposition::Output(port) => {
                    if !txqs.take_whole(port, rx_batch) {
                        for pkt in rx_batch.drain() {
                            txqs.enqueue(port, pkt, counters);
                        }
                    }
                    return;
                }
                Disposition::Drop => {
                    counters.drop(DropReason::Actions, batch.n as u64);
                    rx_batch.clear();
                    return;
                }
                Disposition::Execute => {}
            }
        }
    }
    let mut groups: ArrayVec<Group<'_>, BURST_SIZE> = ArrayVec::new();
    let mut group_of = [NO_GROUP; BURST_SIZE];
    for (i, pkt) in rx_batch.iter().enumerate() {
        let Some(flow) = batch.flows[i] else { continue };
        let g = group_index(&mut groups, flow);
        group_of[i] = g as u8;
        let group = &mut groups[g];
        group.packets.push(i as u8);
        group.bytes += pkt.len() as u64;
        group.tcp_flags |= batch.keys[i].tcp_flags;
    }
    for g in &groups {
        g.flow.stats.add(g.packets.len() as u64, g.bytes, now_ms, g.tcp_flags);
    }
    let mut execute = false;
    for (i, pkt) in rx_batch.drain().enumerate() {
        let Some(group) = groups.get(group_of[i] as usize) else { continue };
        match group.disposition {
            Disposition::Output(port) => txqs.enqueue(port, pkt, counters),
            Disposition::Drop => counters.drop(DropReason::Actions, 1),
            Disposition::Execute => {
                slots[i] = Some(pkt);
                execute = true;
            }
        }
    }
    if execute {
        let packet_ins = counters.packet_ins;
        for g in groups.iter().filter(|g| g.disposition == Disposition::Execute) {
            for &i in &g.packets {
                if let Some(pkt) = slots[i as usize].take() {
                    execute_actions(&g.flow.actions, pkt, dp, txqs, counters);
                }
            }
        }
        if counters.packet_ins != packet_ins {
            dp.wake_control();
        }
    }
}

/// Index of the group of `flow`, created if needed: one load and one compare through the
/// megaflow's `batch_group` hint, instead of a search of the groups (32 groups of one packet
/// each when every packet of a batch is on its own megaflow).
#[inline(always)]
fn group_index<'a>(groups: &mut ArrayVec<Group<'a>, BURST_SIZE>, flow: &'a Megaflow) -> usize {
    let hint = usize::from(flow.batch_group.load(Ordering::Relaxed));
    if let Some(g) = groups.get(hint) {
        if std::ptr::eq(g.flow, flow) {
            return hint;
        }
    }
    let g = groups.len();
    groups.push(Group { flow, disposition: flow.disposition, packets: ArrayVec::new(), bytes: 0, tcp_flags: 0 });
    flow.batch_group.store(g as u8, Ordering::Relaxed);
    g
}

/// Runs a megaflow's action list on one packet: header rewrites in place, outputs into
/// transmit buffers (a copy for every output but the last), packet-ins to the control thread.
fn execute_actions(actions: &[DpAction], mut pkt: PacketBuf, dp: &DatapathShared, txqs: &mut TxPorts, counters: &mut PmdCounters) {
    let last = actions.len() - 1;
    for (ai, a) in actions.iter().enumerate() {
        match a {
            DpAction::Output(port) => {
                if ai == last {
                    txqs.enqueue(*port, pkt, counters);
                    return;
                }
                txqs.enqueue(*port, pkt.duplicate(), counters);
            }
            DpAction::Controller(c) => {
                counters.packet_ins += 1;
                let bridge = dp.ports.load().get(pkt.meta.in_port).map(|p| p.bridge.name.clone()).unwrap_or_default();
                let pi = PacketIn { bridge, dp_port: pkt.meta.in_port, action: (**c).clone(), packet: pkt.data().to_vec() };
                if dp.packet_in_tx.try_send(pi).is_err() {
                    counters.drop(DropReason::PacketInQueueFull, 1);
                }
            }
            other => {
                if other.apply(&mut pkt).is_err() {
                    counters.drop(DropReason::RewriteFailed, 1);
                    return;
                }
                if ai == last {
                    // Rewrites with no output after them: nothing leaves.
                    counters.drop(DropReason::Actions, 1);
                }
            }
        }
    }
}
