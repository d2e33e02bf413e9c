//! Step 3 of the packet path: translating a missed key into a megaflow, and finding which of a
//! batch's new megaflows already covers a later miss of the same batch.

use std::sync::Arc;

use arrayvec::ArrayVec;
use rvs_flowcache::megaflow::{FlowActions, Megaflow, RuleList, XlateDeps};
use rvs_flowcache::megaflow_pool::MegaflowPool;
use rvs_flowcache::xlate::{xlate_into, XlateInput, XlateOutput};
use rvs_flowcache::FlowKey;
use rvs_packet::BURST_SIZE;

use rvs_flowcache::Pipeline;

use crate::datapath::{BridgeDp, DatapathShared, DpPortMap, XlateConf};
use crate::drops::DropReason;

/// Finds which megaflow made by this batch's upcalls covers a key, without trying each in
/// turn: the megaflows are sorted by mask (a batch's new megaflows mostly share one or two),
/// and per mask the key's masked hash is compared with theirs before any key is.
#[derive(Default)]
pub(super) struct BatchFlows {
    /// Distinct masks: the index in `new_flows` of a megaflow with that mask.
    masks: ArrayVec<u8, BURST_SIZE>,
    /// Per megaflow: its mask's index in `masks` and its masked key's hash.
    flows: ArrayVec<(u8, u32), BURST_SIZE>,
}

/// Seed of [`BatchFlows`] hashes.
const BATCH_BASIS: u32 = 0xba7c_4f10;

impl BatchFlows {
    /// Records `flow`, about to become `new_flows[new_flows.len()]`.
    pub(super) fn add(&mut self, flow: &Megaflow, new_flows: &[(Arc<Megaflow>, u8)]) {
        let same_mask = |r: &u8| {
            let rep = &new_flows[*r as usize].0;
            rep.map == flow.map && rep.mask.equal_in_map(&flow.mask, flow.map)
        };
        let m = match self.masks.iter().position(same_mask) {
            Some(m) => m,
            None => {
                self.masks.push(new_flows.len() as u8);
                self.masks.len() - 1
            }
        };
        self.flows.push((m as u8, flow.key.hash_words(flow.map, BATCH_BASIS)));
    }

    /// The index in `new_flows` (all recorded with [`BatchFlows::add`]) of a megaflow covering
    /// `key`.
    pub(super) fn covering(&self, new_flows: &[(Arc<Megaflow>, u8)], key: &FlowKey) -> Option<usize> {
        for (m, &r) in self.masks.iter().enumerate() {
            let rep = &new_flows[r as usize].0;
            let h = key.hash_masked(&rep.mask, rep.map, BATCH_BASIS);
            let mut candidates = self.flows.iter().enumerate().filter(|(_, &(fm, fh))| fm as usize == m && fh == h);
            if let Some((j, _)) = candidates.find(|(j, _)| new_flows[*j].0.matches(key)) {
                return Some(j);
            }
        }
        None
    }
}

/// What a PMD's upcalls reuse from one to the next.
#[derive(Default)]
pub(super) struct UpcallScratch {
    /// Deleted megaflows, whose blocks new ones are made in.
    pub(super) pool: MegaflowPool,
    /// The translation's output, built in place: what a megaflow keeps is moved into its
    /// inline lists, and the vectors, emptied, stay here with their capacity (no allocation
    /// per upcall for them, and none at all for the megaflow's lists when they are short,
    /// see `rvs_flowcache::small_list`).
    out: XlateOutput,
}

/// The bridge state translations read, taken once per batch (see [`Translator`]).
struct BridgeSnapshot {
    bridge: Arc<BridgeDp>,
    pipeline: Arc<Pipeline>,
    conf: Arc<XlateConf>,
    mac_generation: u64,
}

/// Translates a batch's misses into megaflows (not installed yet). The datapath's port map,
/// and the pipeline, configuration and MAC table generation of a bridge, are read once per
/// batch, at its first miss on that bridge, not once per miss: three `ArcSwap` loads and a
/// mutex round trip, about a tenth of a flow setup's instructions. A batch is one moment;
/// translating its misses against one snapshot is what translating them at that moment does.
/// (The generations are read before any translation, so a change during the batch leaves
/// its megaflows stale for the revalidator, never wrongly fresh.)
pub(super) struct Translator<'a> {
    dp: &'a DatapathShared,
    scratch: &'a mut UpcallScratch,
    now_ms: u64,
    ports: Option<Arc<DpPortMap>>,
    bridge: Option<BridgeSnapshot>,
}

impl<'a> Translator<'a> {
    /// A translator for one batch; it reads nothing until the first miss.
    pub(super) fn new(dp: &'a DatapathShared, scratch: &'a mut UpcallScratch, now_ms: u64) -> Self {
        Translator { dp, scratch, now_ms, ports: None, bridge: None }
    }

    /// Translates a missed key into a megaflow (not installed yet).
    pub(super) fn translate(&mut self, key: &FlowKey) -> Result<Arc<Megaflow>, DropReason> {
        let (dp, now_ms) = (self.dp, self.now_ms);
        let ports = self.ports.get_or_insert_with(|| dp.ports.load_full());
        let info = ports.get(key.in_port).ok_or(DropReason::NoSuchPort)?;
        if !self.bridge.as_ref().is_some_and(|b| Arc::ptr_eq(&b.bridge, &info.bridge)) {
            let br = &info.bridge;
            self.bridge = Some(BridgeSnapshot {
                bridge: br.clone(),
                pipeline: br.tables.snapshot(),
                conf: br.xlate.load_full(),
                mac_generation: br.mac_generation(),
            });
        }
        let snap = self.bridge.as_ref().expect("set above");
        let (br, pipeline, conf) = (&snap.bridge, &snap.pipeline, &snap.conf);
        let mut of_key = *key;
        of_key.in_port = info.ofport.0;
        let input = XlateInput { pipeline, bridge: &conf.bridge, macs: &br.macs, key: of_key, now_ms, may_learn: true, trace: false };
        let UpcallScratch { pool, out } = &mut *self.scratch;
        xlate_into(&input, out);
        let actions = FlowActions::take_from(&mut out.actions);
        let rules = RuleList::take_from(&mut out.rules);
        let mut deps = XlateDeps::new(rules, pipeline.version(), out.used_normal.then_some(snap.mac_generation), conf.generation)
            .with_groups(std::mem::take(&mut out.groups));
        if !out.fin_timeouts.is_empty() {
            deps = deps.with_fin_timeouts(std::mem::take(&mut out.fin_timeouts));
            deps.apply_fin_timeouts(key.tcp_flags);
        }
        if !out.learned.is_empty() {
            // `learn`: the control thread installs the flows; the megaflow keeps them so that
            // the revalidator can refresh them while it has traffic (see rvs_flowcache::learn).
            let learned: Arc<[rvs_flowcache::FlowMod]> = std::mem::take(&mut out.learned).into();
            dp.send_learned(&br.name, learned.clone());
            deps = deps.with_learned(learned);
        }
        Ok(pool.make(dp.next_flow_id(), key, &out.wc, actions, deps, now_ms))
    }
}
