//! Translation ("xlate"): running a packet's flow key through the OpenFlow pipeline to get
//! the datapath actions of a megaflow, and the mask that makes the megaflow sound.
//!
//! # What
//! [`xlate`] takes a flow key (with the OpenFlow input port), a consistent snapshot of the
//! bridge's tables ([`Pipeline`]) and its port configuration ([`XlateBridge`]), and returns the
//! datapath actions ([`DpAction`]), the megaflow mask ("wildcards", `wc`), the rules that
//! were hit (whose counters the megaflow's traffic is credited to) and, on request, a trace.
//!
//! # Un-wildcarding by construction
//! Translation never reads the key directly. It reads through [`Ctx::read`] and
//! [`Ctx::check`], which OR the bits read into `wc`, and through classifier lookups, which do
//! the same. So any key that agrees with the packet on `wc` takes exactly the same path and
//! gets the same actions (the megaflow soundness invariant, checked by property tests). A bit
//! wrongly left out of `wc` would forward other packets the wrong way; an extra bit only costs
//! cache hit rate. `in_port` and `recirc_id` are always exact, as in Open vSwitch.
//!
//! # Flow, base and commits
//! `flow` is the packet as the OpenFlow pipeline sees it (actions such as `set_field` modify
//! it); `base` is the packet as the datapath will have left it after the actions emitted so
//! far. Before every output (and packet-in) [`Ctx::commit`] emits the header rewrites that
//! bring `base` to `flow`: only fields the pipeline wrote (`dirty`), and without comparing
//! against the packet's own values (which would make the actions depend on them), unless an
//! earlier commit made `base` known. VLAN changes become `pop_vlan`/`push_vlan`.
//!
//! # Limits
//! Resubmits nest at most [`MAX_DEPTH`] deep and at most [`MAX_RESUBMITS`] per packet, as in
//! OVS; beyond that the packet is dropped and the error reported.
//!
//! # Bridge-wide switches
//! [`XlateBridge::no_recv`] drops what arrives on a port before any table is consulted
//! (`OFPPC_NO_RECV`); [`XlateBridge::fail_open`] switches every packet with `NORMAL` instead of
//! running the tables (the controller side sets it when a standalone bridge has lost its
//! controllers). Both depend only on `in_port`, which is always exact. Packet-outs are
//! translated by [`packet_out::xlate_packet_out`].
//!
//! # Side effects and time
//! The only side effect is MAC learning by `NORMAL`, and only when `may_learn`. `learn`
//! actions do not change the tables here: their flow-mods come back in
//! [`XlateOutput::learned`] for the caller to apply (see [`crate::learn`]). Time is a
//! parameter (`now_ms`).

mod commit;
mod group_exec;
mod hashsel;
mod normal;
pub mod packet_out;
pub mod trace;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use crate::dpaction::{ControllerAction, DpAction};
use crate::field::{Field, Prereq};
use crate::group::{GroupCounters, GroupTable};
use crate::key::{FlowKey, FlowMask, FRAG_LATER, VLAN_PRESENT};
use crate::mac_learning::MacTable;
use crate::ofp::{FlowMod, OfAction, OfPort, PacketInReason, Rule};
use crate::pipeline::Pipeline;
pub use normal::{VlanConfig, VlanMode};
pub use trace::TraceEvent;

/// Deepest resubmit nesting (OVS's `MAX_DEPTH`).
pub const MAX_DEPTH: u32 = 64;
/// Most resubmits for one packet (OVS's `MAX_RESUBMITS`).
pub const MAX_RESUBMITS: u32 = 4096;

/// What translation needs to know about one port of the bridge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XPort {
    /// OpenFlow port number.
    pub ofport: OfPort,
    /// Datapath port number.
    pub dp_port: u32,
    /// Name.
    pub name: String,
    /// VLAN configuration for `NORMAL`.
    pub vlan: VlanConfig,
    /// Excluded from `FLOOD` (OpenFlow `OFPPC_NO_FLOOD`).
    pub no_flood: bool,
    /// Packets are not sent to it at all (`OFPPC_NO_FWD`).
    pub no_fwd: bool,
}

/// A bridge as translation sees it: its ports and switching options.
#[derive(Clone, Debug, Default)]
pub struct XlateBridge {
    /// Bridge name.
    pub name: String,
    /// Ports by OpenFlow number (the LOCAL port under [`OfPort::LOCAL`]).
    pub ports: BTreeMap<OfPort, XPort>,
    /// Forward reserved multicast (01:80:c2:00:00:0x) with `NORMAL` (OVS `forward-bpdu`).
    pub forward_bpdu: bool,
    /// On a table miss at the top of the pipeline, send to the controller (OpenFlow 1.0
    /// semantics) rather than drop.
    pub miss_to_controller: bool,
    /// Fail open (fail mode `standalone`, controllers configured, none connected): every
    /// packet is switched by `NORMAL`, as by Open vSwitch's hidden fail-open flow that sits
    /// above every OpenFlow priority.
    pub fail_open: bool,
    /// Ports whose received packets are dropped (`OFPPC_NO_RECV`).
    pub no_recv: BTreeSet<OfPort>,
    /// Groups, and the live ports fast-failover buckets watch.
    pub groups: Arc<GroupTable>,
}

/// Input of one translation.
pub struct XlateInput<'a> {
    /// The tables, one consistent version.
    pub pipeline: &'a Pipeline,
    /// The bridge.
    pub bridge: &'a XlateBridge,
    /// The bridge's MAC learning table (for `NORMAL`).
    pub macs: &'a Mutex<MacTable>,
    /// The packet's flow key, with the OpenFlow input port in `in_port`.
    pub key: FlowKey,
    /// Now, in monotonic milliseconds.
    pub now_ms: u64,
    /// May `NORMAL` learn source addresses?
    pub may_learn: bool,
    /// Record a trace?
    pub trace: bool,
}

/// Why translation gave up (the packet is dropped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XlateError {
    /// Resubmits nested deeper than [`MAX_DEPTH`].
    RecursionTooDeep,
    /// More than [`MAX_RESUBMITS`] resubmits.
    TooManyResubmits,
    /// An action rvs does not execute (connection tracking, MPLS).
    Unsupported,
}

impl std::fmt::Display for XlateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            XlateError::RecursionTooDeep => "over max translation depth",
            XlateError::TooManyResubmits => "over max resubmits",
            XlateError::Unsupported => "action not supported by rvs",
        })
    }
}

/// Result of one translation.
#[derive(Debug, Default)]
pub struct XlateOutput {
    /// Datapath actions (empty = drop).
    pub actions: Vec<DpAction>,
    /// Megaflow mask.
    pub wc: FlowMask,
    /// Rules hit, in order, without repeats.
    pub rules: Vec<Arc<Rule>>,
    /// The flow as the pipeline left it.
    pub final_flow: FlowKey,
    /// Trace events, when requested.
    pub trace: Vec<TraceEvent>,
    /// Set when translation gave up.
    pub error: Option<XlateError>,
    /// `NORMAL` was used (the megaflow depends on the MAC table).
    pub used_normal: bool,
    /// Groups used, with the buckets that ran (their counters are credited like rules').
    pub groups: Vec<GroupHit>,
    /// Flow-mods the `learn` actions built, in order. Translation does not apply them: the
    /// caller does, when the packet is real (see [`crate::learn`]).
    pub learned: Vec<FlowMod>,
    /// `fin_timeout` actions run: (rule, idle, hard). The caller lowers the rule's timeouts
    /// ([`crate::ofp::RuleStats::reduce_timeouts`]) once a TCP FIN or RST is seen on the
    /// megaflow (OVS does it on the packet's or the megaflow's TCP flags too).
    pub fin_timeouts: Vec<(Arc<Rule>, u16, u16)>,
}

/// A group a translation went through: its counters and the buckets that ran.
pub type GroupHit = (Arc<GroupCounters>, Vec<usize>);

/// Translates a packet. See the module documentation.
pub fn xlate(input: &XlateInput<'_>) -> XlateOutput {
    let mut out = XlateOutput::default();
    xlate_into(input, &mut out);
    out
}

/// [`xlate`], into `out`, whatever it held before (its vectors keep their capacity). A
/// caller translating many packets (the PMD's upcalls) keeps one output: no allocation for
/// its vectors, and no copy of the 600-byte result on return; the translation works in it
/// (the flow being translated is `out.final_flow`, the mask being built `out.wc`).
pub fn xlate_into(input: &XlateInput<'_>, out: &mut XlateOutput) {
    let mut ctx = Ctx::new(input, out);
    if input.bridge.no_recv.contains(&OfPort(input.key.in_port)) {
        ctx.trace_note("port is configured with NO_RECV, dropping".to_string());
    } else if input.bridge.fail_open {
        ctx.trace_note("fail-open: switching with NORMAL".to_string());
        ctx.normal();
    } else {
        ctx.run_table(0, Entry::Start);
        ctx.finish_action_set();
    }
    ctx.finish();
}

impl Ctx<'_> {
    /// Runs the OpenFlow 1.3 action set the pipeline accumulated, at the end of the pipeline.
    fn finish_action_set(&mut self) {
        if self.o.error.is_none() && !self.action_set.is_empty() {
            let set = std::mem::take(&mut self.action_set);
            self.trace_note("executing action set".to_string());
            self.do_actions(&set);
        }
    }

    /// Ends the translation: no datapath actions if it gave up.
    fn finish(self) {
        if self.o.error.is_some() {
            self.o.actions.clear();
        }
    }
}

/// How a table was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    /// The start of the pipeline, or `goto_table`: a miss ends the pipeline.
    Start,
    /// `resubmit`: a miss does nothing.
    Resubmit,
}

/// A translation in progress. Its flow (`o.final_flow`), mask (`o.wc`), datapath actions
/// and the rest of the result are built in the output itself (see [`xlate_into`]).
pub(crate) struct Ctx<'a> {
    inp: &'a XlateInput<'a>,
    pub(crate) o: &'a mut XlateOutput,
    pub(crate) base: FlowKey,
    /// Bits of `o.final_flow` written by actions and not yet committed.
    pub(crate) dirty: FlowMask,
    /// Bits of `base` whose value an earlier commit set (independent of the packet).
    pub(crate) base_known: FlowMask,
    /// TPID of the outer tag as the pipeline sees it, and as the datapath left it.
    pub(crate) flow_tpid: u16,
    pub(crate) base_tpid: u16,
    depth: u32,
    /// Nesting shown in traces: a resubmit in tail position (the last action) continues at
    /// the same level, as OVS prints it.
    trace_depth: u32,
    resubmits: u32,
    table_id: u8,
    cookie: u64,
    action_set: Vec<OfAction>,
    /// The rule whose actions are running.
    cur_rule: Option<Arc<Rule>>,
}

impl<'a> Ctx<'a> {
    /// A translation of `inp`'s packet into `o`, emptied first.
    fn new(inp: &'a XlateInput<'a>, o: &'a mut XlateOutput) -> Self {
        o.actions.clear();
        o.wc = FlowKey::ZERO;
        // The datapath input port and recirculation id are always matched.
        o.wc.in_port = u32::MAX;
        o.wc.recirc_id = u32::MAX;
        o.rules.clear();
        o.final_flow = inp.key;
        o.trace.clear();
        o.error = None;
        o.used_normal = false;
        o.groups.clear();
        o.learned.clear();
        o.fin_timeouts.clear();
        Ctx {
            inp,
            o,
            base: inp.key,
            dirty: FlowKey::ZERO,
            base_known: FlowKey::ZERO,
            flow_tpid: rvs_packet::wire::EtherType::VLAN,
            base_tpid: rvs_packet::wire::EtherType::VLAN,
            depth: 0,
            trace_depth: 0,
            resubmits: 0,
            table_id: 0,
            // Actions run outside any rule (a packet-out's) send packet-ins without a
            // cookie (all-ones), as Open vSwitch does.
            cookie: u64::MAX,
            action_set: Vec::new(),
            cur_rule: None,
        }
    }

    /// Reads a field of the flow, un-wildcarding it.
    pub(crate) fn read(&mut self, f: Field) -> u128 {
        f.or_mask(&mut self.o.wc, u128::MAX);
        f.get(&self.o.final_flow)
    }

    /// Reads the bits of a field selected by `mask`, un-wildcarding only those.
    pub(crate) fn read_masked(&mut self, f: Field, mask: u128) -> u128 {
        f.or_mask(&mut self.o.wc, mask);
        f.get(&self.o.final_flow) & mask
    }

    /// Tests a prerequisite, un-wildcarding what the test reads.
    pub(crate) fn check(&mut self, p: Prereq) -> bool {
        for f in p.fields_read() {
            f.or_mask(&mut self.o.wc, u128::MAX);
        }
        p.holds(&self.o.final_flow)
    }

    /// Writes a field of the flow (bits in `mask`), marking it for the next commit.
    pub(crate) fn write(&mut self, f: Field, value: u128, mask: u128) {
        f.set_masked(&mut self.o.final_flow, value, mask);
        f.or_mask(&mut self.dirty, mask);
    }

    pub(crate) fn trace_on(&self) -> bool {
        self.inp.trace
    }

    pub(crate) fn trace_note(&mut self, text: String) {
        if self.inp.trace {
            self.o.trace.push(TraceEvent::Note { depth: self.trace_depth, text });
        }
    }

    pub(crate) fn bridge(&self) -> &'a XlateBridge {
        self.inp.bridge
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.inp.now_ms
    }

    pub(crate) fn may_learn(&self) -> bool {
        self.inp.may_learn
    }

    pub(crate) fn macs(&self) -> &'a Mutex<MacTable> {
        self.inp.macs
    }

    fn run_table(&mut self, table: u8, entry: Entry) {
        let prev_table = self.table_id;
        self.table_id = table;
        let rule = self.inp.pipeline.lookup(table, &self.o.final_flow, &mut self.o.wc).cloned();
        if self.inp.trace {
            self.o.trace.push(TraceEvent::Table {
                depth: self.trace_depth,
                table,
                rule: rule.clone(),
                resubmit: entry == Entry::Resubmit,
            });
        }
        match rule {
            Some(rule) => {
                if !self.o.rules.iter().any(|r| Arc::ptr_eq(r, &rule)) {
                    self.o.rules.push(rule.clone());
                }
                let prev_cookie = self.cookie;
                self.cookie = rule.cookie;
                let prev_rule = self.cur_rule.replace(rule.clone());
                self.do_actions(&rule.actions);
                self.cur_rule = prev_rule;
                self.cookie = prev_cookie;
            }
            None if entry == Entry::Start && self.inp.bridge.miss_to_controller => {
                self.cookie = u64::MAX;
                self.controller(PacketInReason::NoMatch, u16::MAX, 0);
            }
            None => {}
        }
        self.table_id = prev_table;
    }

    fn do_actions(&mut self, actions: &[OfAction]) {
        for (i, a) in actions.iter().enumerate() {
            if self.o.error.is_some() {
                return;
            }
            if self.inp.trace && !matches!(a, OfAction::Note(_)) {
                self.o.trace.push(TraceEvent::Action { depth: self.trace_depth, action: a.clone() });
            }
            if self.do_action(a, i + 1 == actions.len()) == Flow::Stop {
                return;
            }
        }
    }

    fn do_action(&mut self, a: &OfAction, last: bool) -> Flow {
        use OfAction::*;
        match a {
            Output { port, max_len } => self.output(*port, *max_len),
            Controller { max_len, reason, controller_id } => self.controller(*reason, *max_len, *controller_id),
            Enqueue { port, .. } => self.output(*port, 0),
            SetVlanVid { vid, push_if_needed } => {
                let tci = self.read_masked(Field::VlanTci, VLAN_PRESENT as u128) as u16;
                if tci & VLAN_PRESENT != 0 {
                    self.write(Field::VlanTci, *vid as u128, 0x0fff);
                } else if *push_if_needed {
                    self.write(Field::VlanTci, (VLAN_PRESENT | (vid & 0x0fff)) as u128, 0xffff);
                }
            }
            SetVlanPcp { pcp, push_if_needed } => {
                let tci = self.read_masked(Field::VlanTci, VLAN_PRESENT as u128) as u16;
                if tci & VLAN_PRESENT != 0 {
                    self.write(Field::VlanPcp, *pcp as u128, 0x7);
                } else if *push_if_needed {
                    self.write(Field::VlanTci, (VLAN_PRESENT | ((*pcp as u16 & 7) << 13)) as u128, 0xffff);
                }
            }
            StripVlan => {
                if self.check(Prereq::Vlan) {
                    self.write(Field::VlanTci, 0, 0xffff);
                }
            }
            PushVlan { ethertype } => self.push_vlan(*ethertype),
            SetEthSrc(m) => self.write(Field::EthSrc, m.to_u64() as u128, u128::MAX),
            SetEthDst(m) => self.write(Field::EthDst, m.to_u64() as u128, u128::MAX),
            SetIpv4Src(a) => {
                if self.check(Prereq::Ipv4) {
                    self.write(Field::IpSrc, *a as u128, u128::MAX);
                }
            }
            SetIpv4Dst(a) => {
                if self.check(Prereq::Ipv4) {
                    self.write(Field::IpDst, *a as u128, u128::MAX);
                }
            }
            SetIpDscp(tos) => {
                if self.check(Prereq::IpAny) {
                    self.write(Field::NwTos, *tos as u128, 0xfc);
                }
            }
            SetIpEcn(ecn) => {
                if self.check(Prereq::IpAny) {
                    self.write(Field::IpEcn, *ecn as u128, 0x3);
                }
            }
            SetIpTtl(ttl) => {
                if self.check(Prereq::IpAny) {
                    self.write(Field::NwTtl, *ttl as u128, 0xff);
                }
            }
            SetL4SrcPort(p) => self.set_l4_port(Field::TcpSrc, *p),
            SetL4DstPort(p) => self.set_l4_port(Field::TcpDst, *p),
            SetField { field, value, mask } => self.set_field(*field, *value, *mask),
            RegLoad { dst, value } => {
                let d = dst.field.desc();
                if self.check(d.prereq) {
                    self.write(dst.field, value << dst.ofs, dst.mask());
                }
            }
            RegMove { src, dst } => {
                let (sp, dp) = (src.field.desc().prereq, dst.field.desc().prereq);
                if self.check(sp) && self.check(dp) {
                    let v = self.read_masked(src.field, src.mask()) >> src.ofs;
                    self.write(dst.field, v << dst.ofs, dst.mask());
                }
            }
            DecTtl { controller_ids } => return self.dec_ttl(controller_ids),
            Resubmit { in_port, table } => self.resubmit(*in_port, *table, last),
            GotoTable(t) => {
                self.run_table(*t, Entry::Start);
                return Flow::Stop;
            }
            WriteMetadata { value, mask } => {
                self.write(Field::Metadata, *value as u128, *mask as u128);
            }
            ClearActions => self.action_set.clear(),
            WriteActions(acts) => self.write_actions(acts),
            Note(_) => {}
            Group(id) => self.group(*id),
            Learn(l) => self.learn(l),
            FinTimeout { idle, hard } => {
                // As OVS: the megaflow depends on the protocol; the timeouts change when the
                // caller sees a FIN or RST among the megaflow's TCP flags.
                self.read(Field::IpProto);
                if let Some(r) = &self.cur_rule {
                    self.o.fin_timeouts.push((r.clone(), *idle, *hard));
                }
            }
            SetTunnel { id, .. } => self.write(Field::TunId, *id as u128, u64::MAX as u128),
            OutputReg { src, max_len } => {
                if self.check(src.field.desc().prereq) {
                    let v = self.read_masked(src.field, src.mask()) >> src.ofs;
                    // A 16-bit port number, as OVS reads it; larger values output nowhere.
                    if v <= u16::MAX as u128 {
                        self.output(OfPort::from_ofp10(v as u16), *max_len);
                    } else {
                        self.trace_note(format!("output to a field holding {v:#x}: not a port"));
                    }
                }
            }
            Sample { collector_set_id, .. } => {
                // No IPFIX exporter exists in rvs: as OVS without one, nothing happens.
                self.trace_note(format!("no IPFIX exporter for collector set {collector_set_id}: sample does nothing"));
            }
            Conjunction { .. } => {
                // Only meaningful to the classifier; as an action it does nothing (OVS).
            }
            Clone(acts) => self.run_as_clone(acts, true),
            Multipath(mp) => self.multipath(mp),
            Bundle(b) => self.bundle(b),
            Ct(_) | Nat(_) | CtClear | PushMpls { .. } | PopMpls { .. } | SetMplsLabel(_) | SetMplsTc(_) | SetMplsTtl(_)
            | DecMplsTtl => {
                // The switch refuses flows and packet-outs with these; should one get here,
                // the packet is dropped rather than forwarded without its conntrack step.
                self.o.error = Some(XlateError::Unsupported);
                self.trace_note("connection tracking and MPLS are not supported by rvs: dropping".to_string());
                return Flow::Stop;
            }
        }
        Flow::Continue
    }

    /// `learn`: builds the flow-mod from the packet, reading (and so un-wildcarding) exactly
    /// the source bits.
    fn learn(&mut self, l: &crate::learn::Learn) {
        let fm = l.flow_mod(|sf| {
            let d = sf.field.desc();
            for f in d.prereq.fields_read() {
                f.or_mask(&mut self.o.wc, u128::MAX);
            }
            self.read_masked(sf.field, sf.mask())
        });
        // `limit` and `result_dst` (see `crate::learn`).
        let learned = crate::learn::may_learn(self.inp.pipeline, &fm);
        if let (true, Some(dst)) = (l.flags & crate::learn::WRITE_RESULT != 0, l.result_dst) {
            self.write(dst.field, u128::from(learned) << dst.ofs, dst.mask());
        }
        if !learned {
            return;
        }
        if self.inp.trace {
            self.o.trace.push(TraceEvent::Learned { depth: self.trace_depth, flow_mod: Box::new(fm.clone()) });
        }
        self.o.learned.push(fm);
    }

    fn push_vlan(&mut self, tpid: u16) {
        let tagged = self.check(Prereq::Vlan);
        if tagged {
            // A second tag: the new outer tag copies the current one; the key keeps only the
            // outer tag, so commit what we have and push at the datapath level.
            self.commit();
            let tci = self.read(Field::VlanTci) as u16 & !VLAN_PRESENT;
            self.o.actions.push(DpAction::PushVlan { tpid, tci });
            self.base_tpid = tpid;
            self.flow_tpid = tpid;
        } else {
            self.flow_tpid = tpid;
            self.write(Field::VlanTci, VLAN_PRESENT as u128, 0xffff);
        }
    }

    fn set_l4_port(&mut self, f: Field, port: u16) {
        if !self.check(Prereq::IpAny) {
            return;
        }
        let proto = self.read(Field::IpProto) as u8;
        if !matches!(proto, 6 | 17 | 132) {
            return;
        }
        if self.read(Field::IpFrag) as u8 & FRAG_LATER != 0 {
            self.trace_note("not a first fragment: L4 rewrite skipped".to_string());
            return;
        }
        self.write(f, port as u128, 0xffff);
    }

    fn set_field(&mut self, f: Field, value: u128, mask: u128) {
        use Field::*;
        if f == VlanVid || f == DlVlan {
            // Only rewrites an existing tag (OpenFlow 1.2+ set_field on an untagged packet does
            // nothing; mod_vlan_vid is the pushing variant).
            if !self.check(Prereq::Vlan) {
                self.trace_note(format!("unmet prerequisites for {}, set_field ignored", f.name()));
                return;
            }
            self.write(VlanTci, value & 0x0fff, mask & 0x0fff);
            return;
        }
        if !self.check(f.desc().prereq) {
            self.trace_note(format!("unmet prerequisites for {}, set_field ignored", f.name()));
            return;
        }
        if matches!(f, TcpSrc | TcpDst | UdpSrc | UdpDst | SctpSrc | SctpDst)
            && self.read(IpFrag) as u8 & FRAG_LATER != 0
        {
            return;
        }
        self.write(f, value, mask);
    }

    fn dec_ttl(&mut self, controller_ids: &[u16]) -> Flow {
        if !self.check(Prereq::IpAny) {
            return Flow::Continue;
        }
        let ttl = self.read(Field::NwTtl) as u8;
        if ttl > 1 {
            self.write(Field::NwTtl, (ttl - 1) as u128, 0xff);
            return Flow::Continue;
        }
        self.trace_note(format!("IPv{} decrement TTL exception", if self.o.final_flow.is_ipv4() { 4 } else { 6 }));
        if controller_ids.is_empty() {
            self.controller(PacketInReason::InvalidTtl, u16::MAX, 0);
        } else {
            for id in controller_ids {
                self.controller(PacketInReason::InvalidTtl, u16::MAX, *id);
            }
        }
        Flow::Stop
    }

    fn resubmit(&mut self, in_port: Option<OfPort>, table: Option<u8>, tail: bool) {
        if self.depth >= MAX_DEPTH {
            self.o.error = Some(XlateError::RecursionTooDeep);
            self.trace_note("over max translation depth".to_string());
            return;
        }
        self.resubmits += 1;
        if self.resubmits > MAX_RESUBMITS {
            self.o.error = Some(XlateError::TooManyResubmits);
            self.trace_note("over max resubmits".to_string());
            return;
        }
        let table = table.unwrap_or(self.table_id);
        let saved_in_port = self.o.final_flow.in_port;
        if let Some(p) = in_port {
            if p != OfPort::IN_PORT {
                self.o.final_flow.in_port = p.0;
            }
        }
        let nest = u32::from(!tail);
        self.depth += 1;
        self.trace_depth += nest;
        self.run_table(table, Entry::Resubmit);
        self.trace_depth -= nest;
        self.depth -= 1;
        self.o.final_flow.in_port = saved_in_port;
    }

    /// OpenFlow 1.3 action set: at most one action of each type; `write_actions` replaces
    /// same-type actions already in the set. Executed in the specification's order.
    fn write_actions(&mut self, acts: &[OfAction]) {
        for a in acts {
            self.action_set.retain(|b| !same_slot(a, b));
            self.action_set.push(a.clone());
        }
        self.action_set.sort_by_key(action_set_rank);
    }

    /// Sends the packet (as modified so far) to the controller.
    pub(crate) fn controller(&mut self, reason: PacketInReason, max_len: u16, controller_id: u16) {
        self.commit();
        // The packet-in carries these values, so the megaflow depends on them: read them
        // through the tracked accessor. (They are zero on ingress unless actions set them.)
        let mut pipeline_fields = vec![(Field::InPort, self.read(Field::InPort))];
        let regs = (0..16).map(|n| Field::reg(n).expect("16 registers"));
        for f in [Field::Metadata, Field::TunId].into_iter().chain(regs) {
            let v = self.read(f);
            if v != 0 {
                pipeline_fields.push((f, v));
            }
        }
        self.o.actions.push(DpAction::Controller(Box::new(ControllerAction {
            reason,
            max_len,
            controller_id,
            table_id: self.table_id,
            cookie: self.cookie,
            pipeline_fields,
        })));
    }

    /// Outputs to an OpenFlow port (physical or reserved).
    pub(crate) fn output(&mut self, port: OfPort, max_len: u16) {
        let in_port = OfPort(self.o.final_flow.in_port);
        match port {
            OfPort::NORMAL => self.normal(),
            OfPort::FLOOD | OfPort::ALL => {
                let bridge = self.bridge();
                for (p, xp) in &bridge.ports {
                    if *p == in_port || xp.no_fwd || (port == OfPort::FLOOD && xp.no_flood) {
                        continue;
                    }
                    self.commit();
                    self.o.actions.push(DpAction::Output(xp.dp_port));
                }
            }
            OfPort::CONTROLLER => self.controller(PacketInReason::Action, max_len, 0),
            OfPort::IN_PORT => self.output_to(in_port, true),
            OfPort::TABLE | OfPort::ANY => {
                self.trace_note(format!("output to {port} is not allowed in a flow"));
            }
            p => {
                if p == in_port {
                    self.trace_note(format!("skipping output to input port {p}"));
                } else {
                    self.output_to(p, false);
                }
            }
        }
    }

    /// Commits and emits an output to one bridge port.
    pub(crate) fn output_to(&mut self, port: OfPort, allow_in_port: bool) {
        let Some(xp) = self.bridge().ports.get(&port) else {
            self.trace_note(format!("output to nonexistent port {port}"));
            return;
        };
        if xp.no_fwd {
            self.trace_note(format!("{port} is not forwarding"));
            return;
        }
        if !allow_in_port && port.0 == self.o.final_flow.in_port {
            return;
        }
        let dp = xp.dp_port;
        self.commit();
        self.o.actions.push(DpAction::Output(dp));
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

/// Execution order of action-set members (OpenFlow 1.3 section 5.10).
fn action_set_rank(a: &OfAction) -> u8 {
    use OfAction::*;
    match a {
        StripVlan => 1,
        PushVlan { .. } => 2,
        DecTtl { .. } => 3,
        SetVlanVid { .. } | SetVlanPcp { .. } | SetEthSrc(_) | SetEthDst(_) | SetIpv4Src(_) | SetIpv4Dst(_)
        | SetIpDscp(_) | SetIpEcn(_) | SetIpTtl(_) | SetL4SrcPort(_) | SetL4DstPort(_) | SetField { .. }
        | RegLoad { .. } | RegMove { .. } => 4,
        Enqueue { .. } => 5,
        Output { .. } | Controller { .. } | Group(_) => 6,
        _ => 7,
    }
}

/// True if `a` written into the action set replaces `b` (same action type; for field
/// rewrites, the same field).
fn same_slot(a: &OfAction, b: &OfAction) -> bool {
    match (a, b) {
        (OfAction::SetField { field: f1, .. }, OfAction::SetField { field: f2, .. }) => f1 == f2,
        (OfAction::RegLoad { dst: d1, .. }, OfAction::RegLoad { dst: d2, .. }) => d1.field == d2.field,
        (OfAction::Output { .. } | OfAction::Controller { .. }, OfAction::Output { .. } | OfAction::Controller { .. }) => true,
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

#[cfg(test)]
mod clone_tests;
#[cfg(test)]
mod group_tests;
#[cfg(test)]
mod hashsel_tests;
#[cfg(test)]
mod tests;
