//! The OpenFlow model: ports, matches, actions, rules and flow-mods, independent of any wire
//! version or text syntax.
//!
//! The `openflow` crate decodes OpenFlow 1.0/1.3 messages and `ovs-ofctl` text into these
//! types and encodes them back; the classifier stores [`Rule`]s; translation
//! ([`crate::xlate`]) executes [`OfAction`]s. Actions follow Open vSwitch's "ofpacts" idea: one
//! list holds both actions and OpenFlow 1.1+ instructions ([`OfAction::GotoTable`],
//! [`OfAction::WriteMetadata`], [`OfAction::ClearActions`], [`OfAction::WriteActions`]), in
//! the order the instructions execute.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::field::Field;
use crate::key::{FlowKey, FlowMask};
use rvs_packet::wire::MacAddr;

/// An OpenFlow port number in the 32-bit (OpenFlow 1.1+) space. OpenFlow 1.0's 16-bit
/// reserved ports (0xfff8..0xffff) map to the 32-bit ones (0xfffffff8..0xffffffff).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct OfPort(pub u32);

impl OfPort {
    /// Highest number of a physical or logical port.
    pub const MAX: OfPort = OfPort(0xffff_ff00);
    /// The packet's input port.
    pub const IN_PORT: OfPort = OfPort(0xffff_fff8);
    /// The OpenFlow pipeline (packet-out only).
    pub const TABLE: OfPort = OfPort(0xffff_fff9);
    /// Traditional L2 switching.
    pub const NORMAL: OfPort = OfPort(0xffff_fffa);
    /// All ports except the input port and those with flooding disabled.
    pub const FLOOD: OfPort = OfPort(0xffff_fffb);
    /// All ports except the input port.
    pub const ALL: OfPort = OfPort(0xffff_fffc);
    /// The controller.
    pub const CONTROLLER: OfPort = OfPort(0xffff_fffd);
    /// The bridge's local port.
    pub const LOCAL: OfPort = OfPort(0xffff_fffe);
    /// No port / any port (wildcard in requests).
    pub const ANY: OfPort = OfPort(0xffff_ffff);

    /// The OpenFlow 1.0 number of the port (reserved ports become 0xfff8..0xffff).
    pub fn to_ofp10(self) -> u16 {
        if self.0 >= 0xffff_ff00 {
            (self.0 - 0xffff_0000) as u16
        } else {
            self.0 as u16
        }
    }

    /// The port of an OpenFlow 1.0 number.
    pub fn from_ofp10(p: u16) -> OfPort {
        if p >= 0xff00 {
            OfPort(0xffff_0000 + p as u32)
        } else {
            OfPort(p as u32)
        }
    }

    /// The reserved name of the port (`LOCAL`, `NORMAL`, ...), if it has one.
    pub fn reserved_name(self) -> Option<&'static str> {
        Some(match self {
            OfPort::IN_PORT => "IN_PORT",
            OfPort::TABLE => "TABLE",
            OfPort::NORMAL => "NORMAL",
            OfPort::FLOOD => "FLOOD",
            OfPort::ALL => "ALL",
            OfPort::CONTROLLER => "CONTROLLER",
            OfPort::LOCAL => "LOCAL",
            OfPort::ANY => "ANY",
            _ => return None,
        })
    }

    /// The reserved port of a name (case-insensitive; `NONE` is `ANY`).
    pub fn from_reserved_name(name: &str) -> Option<OfPort> {
        Some(match name.to_ascii_uppercase().as_str() {
            "IN_PORT" => OfPort::IN_PORT,
            "TABLE" => OfPort::TABLE,
            "NORMAL" => OfPort::NORMAL,
            "FLOOD" => OfPort::FLOOD,
            "ALL" => OfPort::ALL,
            "CONTROLLER" => OfPort::CONTROLLER,
            "LOCAL" => OfPort::LOCAL,
            "ANY" | "NONE" => OfPort::ANY,
            _ => return None,
        })
    }

    /// True for a port that can exist on a bridge (not a reserved one).
    pub fn is_physical(self) -> bool {
        self.0 != 0 && self.0 < Self::MAX.0
    }
}

impl std::fmt::Display for OfPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.reserved_name() {
            Some(n) => f.write_str(n),
            None => write!(f, "{}", self.0),
        }
    }
}

/// A match: the bits of a key that matter (`mask`) and their values (`key`, with every bit
/// outside the mask clear).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Match {
    /// Values, already masked.
    pub key: FlowKey,
    /// Which bits matter.
    pub mask: FlowMask,
}

impl Default for Match {
    fn default() -> Self {
        Self::catchall()
    }
}

impl std::hash::Hash for Match {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key.words().hash(state);
        self.mask.words().hash(state);
    }
}

impl std::fmt::Debug for Match {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Match");
        for field in Field::ALL {
            if field.desc().is_subfield {
                continue;
            }
            let m = field.get(&self.mask);
            if m != 0 {
                d.field(field.name(), &format_args!("{:#x}/{:#x}", field.get(&self.key), m));
            }
        }
        d.finish()
    }
}

impl Match {
    /// The match that matches every packet.
    pub const fn catchall() -> Match {
        Match { key: FlowKey::ZERO, mask: FlowKey::ZERO }
    }

    /// Constrains `field` to `value` exactly.
    pub fn set(&mut self, field: Field, value: u128) -> &mut Self {
        self.set_masked(field, value, u128::MAX)
    }

    /// Constrains the bits of `field` in `mask` to those of `value` (replacing any earlier
    /// constraint on those bits; bits outside `mask` become wildcarded).
    pub fn set_masked(&mut self, field: Field, value: u128, mask: u128) -> &mut Self {
        field.set(&mut self.mask, mask);
        field.set_masked(&mut self.key, value & mask, u128::MAX);
        self
    }

    /// The value and mask of `field`, if any of its bits are constrained.
    pub fn get(&self, field: Field) -> Option<(u128, u128)> {
        let m = field.get(&self.mask);
        (m != 0).then(|| (field.get(&self.key), m))
    }

    /// True if `key` matches.
    #[inline]
    pub fn matches(&self, key: &FlowKey) -> bool {
        key.equal_under(&self.key, &self.mask)
    }

    /// Clears key bits outside the mask.
    pub fn normalize(&mut self) {
        self.key = self.key.masked(&self.mask);
    }

    /// True if every packet this match matches is also matched by `wider` (that is, `wider`
    /// constrains a subset of our bits, to the same values). This is how non-strict
    /// flow-mods select rules: a rule is affected if its match is covered by the request.
    pub fn is_covered_by(&self, wider: &Match) -> bool {
        wider.mask.is_subset_of(&self.mask) && self.key.equal_under(&wider.key, &wider.mask)
    }
}

/// A contiguous range of bits of a field, as `load` and `move` address them
/// (`NXM_NX_REG0[8..15]`, `reg0[]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SubField {
    /// The field.
    pub field: Field,
    /// First bit (0 = least significant).
    pub ofs: u32,
    /// Number of bits.
    pub n_bits: u32,
}

impl SubField {
    /// The whole field.
    pub fn whole(field: Field) -> SubField {
        SubField { field, ofs: 0, n_bits: field.desc().nbits }
    }

    /// Mask of the selected bits within the field's value.
    pub fn mask(&self) -> u128 {
        let ones = if self.n_bits >= 128 { u128::MAX } else { (1u128 << self.n_bits) - 1 };
        ones << self.ofs
    }
}

/// Why a packet goes to the controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum PacketInReason {
    /// No matching rule (table miss).
    NoMatch,
    /// An explicit `controller` action.
    #[default]
    Action,
    /// TTL became invalid (`dec_ttl`).
    InvalidTtl,
}

/// An action or instruction. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OfAction {
    /// Send to a port (physical or reserved: `IN_PORT`, `NORMAL`, `FLOOD`, `ALL`, `LOCAL`,
    /// `CONTROLLER`, `TABLE`). `max_len` limits the bytes sent to the controller.
    Output {
        /// Destination.
        port: OfPort,
        /// Bytes to send when the port is `CONTROLLER`.
        max_len: u16,
    },
    /// Send to the controller with details (`controller(reason=...,max_len=...)`).
    Controller {
        /// Bytes of the packet to include.
        max_len: u16,
        /// Reason given in the packet-in.
        reason: PacketInReason,
        /// Controller connection id (0 = all).
        controller_id: u16,
    },
    /// Send to a queue of a port.
    Enqueue {
        /// Port.
        port: OfPort,
        /// Queue id.
        queue: u32,
    },
    /// Set the VLAN id, pushing a tag first if there is none and `push_if_needed`
    /// (`mod_vlan_vid`; OpenFlow 1.0 `set_vlan_vid`).
    SetVlanVid {
        /// New VLAN id.
        vid: u16,
        /// Push a tag if the packet has none.
        push_if_needed: bool,
    },
    /// Set the VLAN priority, pushing a tag if needed (`mod_vlan_pcp`).
    SetVlanPcp {
        /// New priority.
        pcp: u8,
        /// Push a tag if the packet has none.
        push_if_needed: bool,
    },
    /// Remove the outer VLAN tag (`strip_vlan`, `pop_vlan`).
    StripVlan,
    /// Push a new outer VLAN tag (`push_vlan:ETHERTYPE`), copying VID and PCP from an existing
    /// tag or using zero.
    PushVlan {
        /// TPID: 0x8100 or 0x88a8.
        ethertype: u16,
    },
    /// Set the Ethernet source (`mod_dl_src`).
    SetEthSrc(#[serde(with = "mac_serde")] MacAddr),
    /// Set the Ethernet destination (`mod_dl_dst`).
    SetEthDst(#[serde(with = "mac_serde")] MacAddr),
    /// Set the IPv4 source (`mod_nw_src`).
    SetIpv4Src(u32),
    /// Set the IPv4 destination (`mod_nw_dst`).
    SetIpv4Dst(u32),
    /// Set the DSCP bits, given in TOS-byte position (`mod_nw_tos`).
    SetIpDscp(u8),
    /// Set the ECN bits (`mod_nw_ecn`).
    SetIpEcn(u8),
    /// Set the TTL (`mod_nw_ttl`).
    SetIpTtl(u8),
    /// Set the TCP/UDP/SCTP source port (`mod_tp_src`).
    SetL4SrcPort(u16),
    /// Set the TCP/UDP/SCTP destination port (`mod_tp_dst`).
    SetL4DstPort(u16),
    /// Set a field, or the bits of it in `mask` (`set_field:V->F`, `set_field:V/M->F`).
    SetField {
        /// Field.
        field: Field,
        /// Value.
        value: u128,
        /// Bits to set (all ones for a plain set).
        mask: u128,
    },
    /// Load a constant into bits of a field (`load:V->F[a..b]`).
    RegLoad {
        /// Destination bits.
        dst: SubField,
        /// Value (right-aligned: bit 0 goes to `dst.ofs`).
        value: u128,
    },
    /// Copy bits between fields (`move:SRC[]->DST[]`).
    RegMove {
        /// Source bits.
        src: SubField,
        /// Destination bits (same width).
        dst: SubField,
    },
    /// Decrement the IP TTL; send to the controllers listed (all if empty) when it expires.
    DecTtl {
        /// Controller ids to notify.
        controller_ids: Vec<u16>,
    },
    /// Look up the packet again in a table, optionally as if it came from another port
    /// (`resubmit(port,table)`).
    Resubmit {
        /// Port to pretend the packet came from (`None` = unchanged).
        in_port: Option<OfPort>,
        /// Table (`None` = the current table).
        table: Option<u8>,
    },
    /// Instruction: continue in a later table.
    GotoTable(u8),
    /// Instruction: write bits of the metadata field.
    WriteMetadata {
        /// Value.
        value: u64,
        /// Bits to write.
        mask: u64,
    },
    /// Instruction: clear the action set.
    ClearActions,
    /// Instruction: merge actions into the action set.
    WriteActions(Vec<OfAction>),
    /// A comment carried with the rule; does nothing.
    Note(Vec<u8>),
    /// Process the packet through a group (`group:N`).
    Group(u32),
    /// Add a rule built from the packet (`learn(...)`, see [`crate::learn`]).
    Learn(Box<crate::learn::Learn>),
    /// Shorten the rule's timeouts when a TCP FIN or RST is seen (`fin_timeout(...)`).
    FinTimeout {
        /// New idle timeout (0 = unchanged).
        idle: u16,
        /// New hard timeout (0 = unchanged).
        hard: u16,
    },
    /// Set the tunnel id (`set_tunnel:ID`, `set_tunnel64:ID`; `wide`: the 64-bit Nicira form).
    SetTunnel {
        /// Tunnel id.
        id: u64,
        /// Written as `set_tunnel64` (always, or because the id needs more than 32 bits).
        wide: bool,
    },
    /// Output to the port number held in bits of a field (`output:NXM_NX_REG0[0..15]`).
    OutputReg {
        /// The bits holding the port.
        src: SubField,
        /// Bytes to send when the port is `CONTROLLER`.
        max_len: u16,
    },
    /// Sample packets to an IPFIX collector set (`sample(...)`). Without an IPFIX exporter
    /// for the set (rvs has none yet) it does nothing, as in Open vSwitch.
    Sample {
        /// Packets sampled per 65535.
        probability: u16,
        /// Collector set.
        collector_set_id: u32,
        /// IPFIX observation domain id.
        obs_domain_id: u32,
        /// IPFIX observation point id.
        obs_point_id: u32,
        /// Sampling port (`ANY` = none).
        sampling_port: OfPort,
        /// 0 = default, 1 = ingress, 2 = egress.
        direction: u8,
    },
    /// One clause of a conjunctive match (`conjunction(id,k/n)`; `clause` is 0-based `k - 1`).
    Conjunction {
        /// Conjunction id (matched by `conj_id`).
        id: u32,
        /// Clause, 0-based.
        clause: u8,
        /// Number of clauses (2..=64).
        n_clauses: u8,
    },
    /// Run the actions on a copy of the packet (`clone(...)`): changes they make to the
    /// packet, its metadata and the action set do not outlast the clone.
    Clone(Vec<OfAction>),
    /// Hash fields of the flow and write the chosen link number into a field
    /// (`multipath(...)`, see [`crate::hashsel`]).
    Multipath(Box<crate::hashsel::Multipath>),
    /// Output to (or, `bundle_load`, load the number of) a live member port chosen by
    /// hashing (`bundle(...)`, `bundle_load(...)`, see [`crate::hashsel`]).
    Bundle(Box<crate::hashsel::Bundle>),
    /// Connection tracking (`ct(...)`, see [`crate::conntrack`]): parsed, printed and
    /// encoded, but refused by the switch (rvs has no conntrack yet).
    Ct(Box<crate::conntrack::Ct>),
    /// Network address translation, only inside `ct(...)` (`nat(...)`).
    Nat(Box<crate::conntrack::Nat>),
    /// Clear the connection tracking state (`ct_clear`); refused by the switch like `ct`.
    CtClear,
    /// Push an MPLS label stack entry (`push_mpls:ETHERTYPE`). This and the other MPLS
    /// actions are parsed, printed and encoded, but refused by the switch: the flow key has
    /// no MPLS label and the datapath no MPLS push or pop yet.
    PushMpls {
        /// 0x8847 or 0x8848.
        ethertype: u16,
    },
    /// Pop the outer MPLS label stack entry (`pop_mpls:ETHERTYPE`, the payload's ethertype).
    PopMpls {
        /// Ethertype after the pop.
        ethertype: u16,
    },
    /// Set the outer MPLS label (`set_mpls_label(N)`; `set_field:N->mpls_label` in 1.3).
    SetMplsLabel(u32),
    /// Set the outer MPLS traffic class (`set_mpls_tc(N)`).
    SetMplsTc(u8),
    /// Set the outer MPLS TTL (`set_mpls_ttl(N)`).
    SetMplsTtl(u8),
    /// Decrement the outer MPLS TTL (`dec_mpls_ttl`).
    DecMplsTtl,
}

impl OfAction {
    /// The action list nested in this action (`write_actions(...)`, `clone(...)`,
    /// `ct(...)`), if any.
    pub fn nested(&self) -> Option<&[OfAction]> {
        match self {
            OfAction::WriteActions(inner) | OfAction::Clone(inner) => Some(inner),
            OfAction::Ct(ct) => Some(&ct.actions),
            _ => None,
        }
    }

    /// True for the instruction pseudo-actions.
    pub fn is_instruction(&self) -> bool {
        matches!(self, OfAction::GotoTable(_) | OfAction::WriteMetadata { .. } | OfAction::ClearActions | OfAction::WriteActions(_))
    }

    /// True if the action outputs to `port` (for flow-mod and stats `out_port` filters).
    pub fn outputs_to(&self, port: OfPort) -> bool {
        match self {
            OfAction::Output { port: p, .. } | OfAction::Enqueue { port: p, .. } => *p == port,
            OfAction::Controller { .. } => port == OfPort::CONTROLLER,
            a => a.nested().is_some_and(|acts| acts.iter().any(|a| a.outputs_to(port))),
        }
    }

    /// True if the action (or an action it contains) sends to group `group`.
    pub fn uses_group(&self, group: u32) -> bool {
        match self {
            OfAction::Group(g) => *g == group,
            a => a.nested().is_some_and(|acts| acts.iter().any(|a| a.uses_group(group))),
        }
    }
}

/// `OFPFF_*` flow-mod flags.
pub mod flow_flags {
    /// Send a flow-removed message when the rule expires or is deleted.
    pub const SEND_FLOW_REM: u16 = 1 << 0;
    /// Refuse to add a rule that overlaps another of the same priority.
    pub const CHECK_OVERLAP: u16 = 1 << 1;
    /// Reset counters on modify (OpenFlow 1.3).
    pub const RESET_COUNTS: u16 = 1 << 2;
    /// Do not count packets (OpenFlow 1.3).
    pub const NO_PKT_COUNTS: u16 = 1 << 3;
    /// Do not count bytes (OpenFlow 1.3).
    pub const NO_BYT_COUNTS: u16 = 1 << 4;
}

/// Counters of a rule, shared by every version of the rule (a modify keeps them).
#[derive(Debug, Default)]
pub struct RuleStats {
    /// Packets.
    pub packets: AtomicU64,
    /// Bytes.
    pub bytes: AtomicU64,
    /// Last time (ms, caller's monotonic clock) a packet hit the rule.
    pub used_ms: AtomicU64,
    /// Last time a `learn` action re-learned the rule unchanged: its hard timeout counts from
    /// the later of this and the rule's `modified_ms` (see [`crate::learn`]).
    pub refreshed_ms: AtomicU64,
    /// Timeouts lowered by `fin_timeout` after a TCP FIN or RST: idle in the high 16 bits,
    /// hard in the low 16 (0 = not lowered). See [`Rule::timeouts`].
    pub fin_timeouts: std::sync::atomic::AtomicU32,
}

impl RuleStats {
    /// Adds traffic seen at `now_ms`.
    pub fn credit(&self, packets: u64, bytes: u64, now_ms: u64) {
        if packets == 0 {
            return;
        }
        self.packets.fetch_add(packets, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.used_ms.fetch_max(now_ms, Ordering::Relaxed);
    }

    /// `fin_timeout`: lowers the idle and hard timeouts to `idle` and `hard` (seconds; 0
    /// leaves one alone), never raising them (OVS's `reduce_timeout`). Lock-free: PMDs and the
    /// revalidator call it.
    pub fn reduce_timeouts(&self, idle: u16, hard: u16) {
        let lower = |cur: u16, new: u16| if new != 0 && (cur == 0 || cur > new) { new } else { cur };
        let _ = self.fin_timeouts.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
            let (i, h) = ((v >> 16) as u16, v as u16);
            let n = (lower(i, idle) as u32) << 16 | lower(h, hard) as u32;
            (n != v).then_some(n)
        });
    }

    /// Restarts the hard timeout at `now_ms` (a `learn` re-learned the rule).
    pub fn refresh(&self, now_ms: u64) {
        self.refreshed_ms.fetch_max(now_ms, Ordering::Relaxed);
    }
}

/// Unique identity of a rule for its whole life (kept across modifies).
pub type RuleId = u64;

/// An OpenFlow rule as a table holds it. Immutable once published; a modify installs a new
/// `Rule` with the same `id` and `stats`.
#[derive(Debug)]
pub struct Rule {
    /// Identity.
    pub id: RuleId,
    /// Table.
    pub table_id: u8,
    /// Priority (higher wins).
    pub priority: u16,
    /// Match.
    pub match_: Match,
    /// Cookie.
    pub cookie: u64,
    /// Idle timeout in seconds (0 = none).
    pub idle_timeout: u16,
    /// Hard timeout in seconds (0 = none).
    pub hard_timeout: u16,
    /// Eviction importance.
    pub importance: u16,
    /// `OFPFF_*` flags.
    pub flags: u16,
    /// Actions and instructions.
    pub actions: Arc<[OfAction]>,
    /// When the rule was added (ms, caller's monotonic clock).
    pub created_ms: u64,
    /// When the rule was last added or modified (for the hard timeout it restarts with
    /// OpenFlow 1.0 modify semantics, it is `created_ms`).
    pub modified_ms: u64,
    /// Counters.
    pub stats: Arc<RuleStats>,
}

impl Rule {
    /// The idle and hard timeouts in force: the rule's own, lowered by `fin_timeout` if a TCP
    /// FIN or RST was seen ([`RuleStats::reduce_timeouts`]).
    pub fn timeouts(&self) -> (u16, u16) {
        let v = self.stats.fin_timeouts.load(Ordering::Relaxed);
        let pick = |own: u16, fin: u16| if fin != 0 && (own == 0 || own > fin) { fin } else { own };
        (pick(self.idle_timeout, (v >> 16) as u16), pick(self.hard_timeout, v as u16))
    }

    /// A rule of table 0 with no actions, timeouts, cookie or flags, made now (time 0): what
    /// classifier tests and benchmarks insert.
    pub fn bare(id: u64, priority: u16, match_: Match) -> Arc<Rule> {
        Arc::new(Rule {
            id,
            table_id: 0,
            priority,
            match_,
            cookie: 0,
            idle_timeout: 0,
            hard_timeout: 0,
            importance: 0,
            flags: 0,
            actions: Arc::from([]),
            created_ms: 0,
            modified_ms: 0,
            stats: Arc::new(RuleStats::default()),
        })
    }

    /// True if the rule can time out: it has a timeout, or a `fin_timeout` may give it one.
    pub fn may_expire(&self) -> bool {
        fn has_fin(acts: &[OfAction]) -> bool {
            acts.iter().any(|a| match a {
                OfAction::FinTimeout { .. } => true,
                a => a.nested().is_some_and(has_fin),
            })
        }
        self.idle_timeout != 0 || self.hard_timeout != 0 || has_fin(&self.actions)
    }
}

/// A flow-mod command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlowModCommand {
    /// Add (or replace an identical match/priority).
    Add,
    /// Modify every rule covered by the match.
    Modify,
    /// Modify the rule with exactly this match and priority.
    ModifyStrict,
    /// Delete every rule covered by the match.
    Delete,
    /// Delete the rule with exactly this match and priority.
    DeleteStrict,
}

/// A flow-mod request, independent of wire version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowMod {
    /// Command.
    pub command: FlowModCommand,
    /// Table (0xff = all tables, for modify and delete).
    pub table_id: u8,
    /// Priority (strict commands and add).
    pub priority: u16,
    /// Cookie to set (add), or to filter by under `cookie_mask` (modify/delete).
    pub cookie: u64,
    /// Bits of the cookie that must equal `cookie` for modify/delete to select a rule.
    pub cookie_mask: u64,
    /// For modify: the cookie to write into modified rules, if any (OpenFlow 1.0 semantics).
    pub new_cookie: Option<u64>,
    /// Idle timeout.
    pub idle_timeout: u16,
    /// Hard timeout.
    pub hard_timeout: u16,
    /// Importance.
    pub importance: u16,
    /// `OFPFF_*` flags.
    pub flags: u16,
    /// Delete only rules that output to this port (`ANY` = no filter).
    pub out_port: OfPort,
    /// Delete only rules that output to this group (`0xffffffff` = no filter).
    pub out_group: u32,
    /// Match.
    pub match_: Match,
    /// Actions and instructions.
    pub actions: Vec<OfAction>,
    /// For a flow-mod a `learn(limit=N)` action built: `N`, the most rules its table may hold
    /// with its cookie, checked again when it is applied ([`crate::learn::may_learn`]).
    /// 0 (no limit) for every other flow-mod; not part of OpenFlow.
    pub learn_limit: u32,
}

impl FlowMod {
    /// A flow-mod with `command` and defaults everywhere else: table 0, priority 32768
    /// (`OFP_DEFAULT_PRIORITY`), no cookie, catch-all match, no actions, no filters.
    pub fn new(command: FlowModCommand) -> FlowMod {
        FlowMod {
            command,
            table_id: 0,
            priority: DEFAULT_PRIORITY,
            cookie: 0,
            cookie_mask: 0,
            new_cookie: None,
            idle_timeout: 0,
            hard_timeout: 0,
            importance: 0,
            flags: 0,
            out_port: OfPort::ANY,
            out_group: ANY_GROUP,
            match_: Match::catchall(),
            actions: Vec::new(),
            learn_limit: 0,
        }
    }
}

/// Serde for MAC addresses as `aa:bb:cc:dd:ee:ff` strings.
mod mac_serde {
    use rvs_packet::wire::MacAddr;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(m: &MacAddr, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(m)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<MacAddr, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(|_| serde::de::Error::custom(format!("bad MAC address {s:?}")))
    }
}

/// A match as a list of `(field name, value, mask)`, for storage: independent of the key's
/// memory layout. Values and masks are hexadecimal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMatch(pub Vec<(String, String, String)>);

impl From<&Match> for StoredMatch {
    fn from(m: &Match) -> Self {
        let mut v = Vec::new();
        for f in Field::ALL {
            if f.desc().is_subfield {
                continue;
            }
            if let Some((val, mask)) = m.get(*f) {
                v.push((f.name().to_string(), format!("{val:#x}"), format!("{mask:#x}")));
            }
        }
        StoredMatch(v)
    }
}

impl TryFrom<&StoredMatch> for Match {
    type Error = String;
    fn try_from(s: &StoredMatch) -> Result<Match, String> {
        let mut m = Match::catchall();
        let num = |t: &str| u128::from_str_radix(t.trim_start_matches("0x"), 16).map_err(|_| format!("bad number {t:?}"));
        for (name, val, mask) in &s.0 {
            let f = Field::from_name(name).ok_or_else(|| format!("unknown field {name:?}"))?;
            m.set_masked(f, num(val)?, num(mask)?);
        }
        Ok(m)
    }
}

/// `OFP_DEFAULT_PRIORITY`.
pub const DEFAULT_PRIORITY: u16 = 0x8000;
/// `OFPG_ANY`.
pub const ANY_GROUP: u32 = 0xffff_ffff;
/// `OFPTT_ALL`: every table.
pub const ALL_TABLES: u8 = 0xff;
/// Number of OpenFlow tables (0..=254).
pub const N_TABLES: usize = 255;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_ports_map_between_versions() {
        assert_eq!(OfPort::from_ofp10(0xfffe), OfPort::LOCAL);
        assert_eq!(OfPort::LOCAL.to_ofp10(), 0xfffe);
        assert_eq!(OfPort::from_ofp10(7), OfPort(7));
        assert_eq!(OfPort::from_reserved_name("normal"), Some(OfPort::NORMAL));
        assert_eq!(OfPort::CONTROLLER.to_string(), "CONTROLLER");
        assert_eq!(OfPort(3).to_string(), "3");
    }

    #[test]
    fn matches_and_coverage() {
        let mut narrow = Match::catchall();
        narrow.set(Field::EthType, 0x0800).set_masked(Field::IpDst, 0x0a00_0001, 0xffff_ffff);
        let mut wide = Match::catchall();
        wide.set(Field::EthType, 0x0800).set_masked(Field::IpDst, 0x0a00_0000, 0xff00_0000);
        assert!(narrow.is_covered_by(&wide));
        assert!(!wide.is_covered_by(&narrow));
        assert!(narrow.is_covered_by(&Match::catchall()));
        let mut k = FlowKey::ZERO;
        k.dl_type = 0x0800;
        k.nw_dst = 0x0a00_0001;
        assert!(narrow.matches(&k) && wide.matches(&k));
        k.nw_dst = 0x0b00_0001;
        assert!(!wide.matches(&k));
        assert_eq!(wide.get(Field::IpDst), Some((0x0a00_0000, 0xff00_0000)));
        assert_eq!(wide.get(Field::TcpDst), None);
    }

    #[test]
    fn subfield_masks() {
        let sf = SubField { field: Field::Reg0, ofs: 8, n_bits: 8 };
        assert_eq!(sf.mask(), 0xff00);
        assert_eq!(SubField::whole(Field::Reg1).mask(), 0xffff_ffff);
    }
}

#[cfg(test)]
mod storage_tests {
    use super::*;

    #[test]
    fn matches_and_actions_survive_storage() {
        let mut m = Match::catchall();
        m.set(Field::EthType, 0x86dd).set_masked(Field::Ipv6Dst, 0xfe80 << 112 | 1, u128::MAX << 64).set(Field::Reg3, 7);
        let stored = StoredMatch::from(&m);
        assert_eq!(Match::try_from(&stored).unwrap(), m);
        let acts = vec![
            OfAction::SetField { field: Field::Ipv6Src, value: u128::MAX - 5, mask: u128::MAX },
            OfAction::SetEthSrc(MacAddr([2, 0, 0, 0, 0, 9])),
            OfAction::RegMove { src: SubField::whole(Field::Reg0), dst: SubField { field: Field::Reg1, ofs: 4, n_bits: 8 } },
            OfAction::WriteActions(vec![OfAction::Output { port: OfPort::LOCAL, max_len: 0 }]),
        ];
        let text = serde_json::to_string(&acts).unwrap();
        assert_eq!(serde_json::from_str::<Vec<OfAction>>(&text).unwrap(), acts);
        assert!(Match::try_from(&StoredMatch(vec![("nope".into(), "0x1".into(), "0x1".into())])).is_err());
    }
}
