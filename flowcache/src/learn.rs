//! The `learn` action: a rule that adds rules (Open vSwitch's `ofpact_learn`).
//!
//! # What
//! `learn(table=20,hard_timeout=300,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[])`
//! builds, from the packet being translated, a flow-mod for another table: every *spec* takes
//! a source (a subfield of the packet, or an immediate value) and puts it into a destination
//! (a match field of the new rule, a `load` into a field by the new rule, or an output to the
//! port the source names). [`Learn::flow_mod`] is `learn_execute`: the flow-mod is a
//! modify-strict with a new cookie and no cookie filter, which the pipeline turns into an add
//! when no identical match and priority exists (see [`crate::pipeline`]).
//!
//! # Megaflows and learning (the design rvs follows)
//! Translation reads the source bits through the tracked reader, so they are in the megaflow
//! mask: every packet a megaflow covers would learn exactly the same flow-mods. Translation is
//! pure; it returns the flow-mods in `XlateOutput::learned`, and the caller decides whether
//! they happen:
//! * an **upcall** hands them to the control thread, which applies them through the same path
//!   as OpenFlow flow-mods ([`refresh_or_apply`]), and the megaflow keeps them
//!   (`XlateDeps::learned`);
//! * the **revalidator** hands them over again whenever a megaflow carrying them has seen
//!   traffic since its last pass, so a packet that only ever hits the megaflow cache or the
//!   EMC keeps its learned flows alive and re-creates them if they were deleted (OVS does the
//!   same from its xlate cache when it pushes stats);
//! * a re-translation whose learned flow-mods differ from the megaflow's deletes the megaflow;
//! * `ofproto/trace` applies them only with `-generate`.
//!
//! Learned flows appear within a round trip to the control thread of the first packet, not
//! synchronously as in OVS's handler threads (a packet of the same translation never sees them
//! in OVS either: it translates against one version of the tables).
//!
//! # Re-learning an identical flow
//! As in OVS (`ofproto_flow_mod_learn_refresh`): if the table already holds a rule with the
//! same match, priority, actions, cookie, timeouts and flags, the rule is kept and only its
//! hard timeout restarts ([`crate::ofp::RuleStats::refreshed_ms`]); nothing is republished.
//!
//! # `limit` and `result_dst`
//! `learn(limit=N,...)` learns nothing new once the target table holds `N` rules with the
//! action's cookie ([`may_learn`]; relearning an existing rule still refreshes it), and
//! `result_dst=FIELD[BIT]` receives 1 if the flow was learned (or refreshed), 0 if the limit
//! stopped it, as in Open vSwitch. Translation checks the limit against the tables it
//! translates with and writes `result_dst` from that answer; the control thread checks it
//! again when it applies the flow-mod ([`FlowMod::learn_limit`] carries the limit there),
//! so that packets translated before earlier learned flows were published cannot exceed it.
//! Counting walks the target table (the translation of a new flow, not the per-packet path,
//! pays for it). A translation whose answer depends on the tables is redone when they change,
//! as every translation is.
//!
//! # `delete_learned`
//! When the last rule whose `learn` has `delete_learned` for a (table, cookie) pair leaves the
//! pipeline, every rule of that table with that cookie is deleted ([`delete_learned_mods`]).

use serde::{Deserialize, Serialize};

use crate::ofp::{flow_flags, FlowMod, FlowModCommand, Match, OfAction, OfPort, Rule, SubField};
use crate::pipeline::{FlowModError, FlowModOutcome, Pipeline};

/// `NX_LEARN_F_SEND_FLOW_REM`: learned rules send flow-removed.
pub const SEND_FLOW_REM: u16 = 1 << 0;
/// `NX_LEARN_F_DELETE_LEARNED`: delete learned rules with the learning rule.
pub const DELETE_LEARNED: u16 = 1 << 1;
/// `NX_LEARN_F_WRITE_RESULT`: write whether learning succeeded to `result_dst`.
pub const WRITE_RESULT: u16 = 1 << 2;

/// Where a spec's bits come from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LearnSrc {
    /// Bits of the packet being translated.
    Field(SubField),
    /// A constant (right-aligned, `n_bits` wide).
    Immediate(u128),
}

/// Where a spec's bits go in the learned rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LearnDst {
    /// Into its match.
    Match(SubField),
    /// A `load` action of the learned rule.
    Load(SubField),
    /// An `output` action to the port the bits name.
    Output,
}

/// One `flow_mod_spec` of a `learn` action.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LearnSpec {
    /// Source.
    pub src: LearnSrc,
    /// Destination.
    pub dst: LearnDst,
    /// Width in bits.
    pub n_bits: u32,
}

/// A `learn` action. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Learn {
    /// Table of the learned rule.
    pub table_id: u8,
    /// Its priority.
    pub priority: u16,
    /// Its idle timeout (seconds, 0 = none).
    pub idle_timeout: u16,
    /// Its hard timeout.
    pub hard_timeout: u16,
    /// Idle timeout after a TCP FIN or RST (0 = none).
    pub fin_idle_timeout: u16,
    /// Hard timeout after a TCP FIN or RST.
    pub fin_hard_timeout: u16,
    /// Its cookie.
    pub cookie: u64,
    /// `SEND_FLOW_REM`, `DELETE_LEARNED`, `WRITE_RESULT`.
    pub flags: u16,
    /// Most rules this action may have in the table (0 = no limit).
    pub limit: u32,
    /// One bit set to 1 if learning succeeded (with `WRITE_RESULT`).
    pub result_dst: Option<SubField>,
    /// The specs, in order.
    pub specs: Vec<LearnSpec>,
}

impl Default for Learn {
    fn default() -> Self {
        Learn {
            table_id: 1,
            priority: crate::ofp::DEFAULT_PRIORITY,
            idle_timeout: 0,
            hard_timeout: 0,
            fin_idle_timeout: 0,
            fin_hard_timeout: 0,
            cookie: 0,
            flags: 0,
            limit: 0,
            result_dst: None,
            specs: Vec::new(),
        }
    }
}

/// Right-aligned bits `ofs..ofs+n_bits` of `v`.
fn bits(v: u128, ofs: u32, n_bits: u32) -> u128 {
    let v = if ofs >= 128 { 0 } else { v >> ofs };
    if n_bits >= 128 {
        v
    } else {
        v & ((1u128 << n_bits) - 1)
    }
}

impl Learn {
    /// The flow-mod this action learns from a packet. `read` returns the (whole) value of a
    /// field of the packet; the caller un-wildcards what it reads.
    pub fn flow_mod(&self, mut read: impl FnMut(&SubField) -> u128) -> FlowMod {
        let mut fm = FlowMod::new(FlowModCommand::ModifyStrict);
        fm.table_id = self.table_id;
        fm.priority = self.priority;
        fm.new_cookie = Some(self.cookie);
        fm.cookie = self.cookie;
        fm.idle_timeout = self.idle_timeout;
        fm.hard_timeout = self.hard_timeout;
        if self.flags & SEND_FLOW_REM != 0 {
            fm.flags |= flow_flags::SEND_FLOW_REM;
        }
        for spec in &self.specs {
            let value = match &spec.src {
                LearnSrc::Field(sf) => bits(read(sf), sf.ofs, sf.n_bits),
                LearnSrc::Immediate(v) => bits(*v, 0, spec.n_bits),
            };
            match &spec.dst {
                LearnDst::Match(dst) => merge_into_match(&mut fm.match_, dst, value),
                // A `load` (OVS's `ofpact_put_reg_load`), which dumps print as `load:`.
                LearnDst::Load(dst) => fm.actions.push(OfAction::RegLoad { dst: *dst, value }),
                LearnDst::Output => {
                    // A 16-bit port number, as OVS reads it; ports that cannot be outputs
                    // from a flow are left out.
                    if spec.n_bits <= 16 || value >> 16 == 0 {
                        let port = OfPort::from_ofp10(value as u16);
                        if port.0 < OfPort::MAX.0 || matches!(port, OfPort::IN_PORT | OfPort::FLOOD | OfPort::LOCAL | OfPort::ALL) {
                            fm.actions.push(OfAction::Output { port, max_len: 0 });
                        }
                    }
                }
            }
        }
        if self.fin_idle_timeout != 0 || self.fin_hard_timeout != 0 {
            fm.actions.push(OfAction::FinTimeout { idle: self.fin_idle_timeout, hard: self.fin_hard_timeout });
        }
        fm.learn_limit = self.limit;
        fm
    }

    /// Fields whose bits the action reads from the packet.
    pub fn sources(&self) -> impl Iterator<Item = &SubField> {
        self.specs.iter().filter_map(|s| match &s.src {
            LearnSrc::Field(sf) => Some(sf),
            LearnSrc::Immediate(_) => None,
        })
    }
}

/// Adds `value` in the bits of `dst` to the match, keeping constraints already on the
/// field's other bits (`mf_write_subfield` on a match).
fn merge_into_match(m: &mut Match, dst: &SubField, value: u128) {
    let f = dst.field;
    let (cur_v, cur_m) = m.get(f).unwrap_or((0, 0));
    let sm = dst.mask() & f.full_mask();
    let v = (cur_v & !sm) | ((value << dst.ofs) & sm);
    m.set_masked(f, v, cur_m | sm);
}

/// True if `rule` is what `fm` (a learned flow-mod) would install: same table, match,
/// priority, actions, cookie, timeouts and flags.
pub fn is_same_rule(rule: &Rule, fm: &FlowMod) -> bool {
    rule.table_id == fm.table_id
        && rule.priority == fm.priority
        && rule.match_ == fm.match_
        && rule.idle_timeout == fm.idle_timeout
        && rule.hard_timeout == fm.hard_timeout
        && rule.flags == fm.flags
        && Some(rule.cookie) == fm.new_cookie
        && rule.actions[..] == fm.actions[..]
}

/// Rules of table `table` (conjunctive ones included) whose cookie is `cookie`: what a
/// `learn(limit=N)` with that table and cookie counts.
pub fn count_with_cookie(pipeline: &Pipeline, table: u8, cookie: u64) -> usize {
    pipeline.table(table).iter().chain(pipeline.soft_table(table).iter()).filter(|r| r.cookie == cookie).count()
}

/// Whether a learned flow-mod may be applied under its `learn_limit` (Open vSwitch's
/// `ofproto_flow_mod_learn`): always without a limit, and when the rule exists already
/// unchanged (learning it again only refreshes it); otherwise only while its table holds
/// fewer than `learn_limit` rules with its cookie. A learned flow-mod that may not be applied
/// is dropped, and `result_dst` gets 0.
pub fn may_learn(pipeline: &Pipeline, fm: &FlowMod) -> bool {
    if fm.learn_limit == 0 {
        return true;
    }
    if pipeline.find_exact(fm.table_id, &fm.match_, fm.priority).is_some_and(|r| is_same_rule(r, fm)) {
        return true;
    }
    let cookie = fm.new_cookie.unwrap_or(fm.cookie);
    count_with_cookie(pipeline, fm.table_id, cookie) < fm.learn_limit as usize
}

/// If `pipeline` already holds the rule a learned flow-mod would install, restarts its hard
/// timeout (OVS's `ofproto_flow_mod_learn_refresh`) and returns true: nothing else is due.
pub fn refresh_existing(pipeline: &Pipeline, fm: &FlowMod, now_ms: u64) -> bool {
    match pipeline.find_exact(fm.table_id, &fm.match_, fm.priority) {
        Some(rule) if is_same_rule(rule, fm) => {
            rule.stats.refresh(now_ms);
            true
        }
        _ => false,
    }
}

/// Applies a learned flow-mod to `pipeline` as OVS's `ofproto_flow_mod_learn` does: an
/// identical rule is only refreshed ([`refresh_existing`]; returns `Ok(None)`: nothing changed,
/// nothing to publish); otherwise the flow-mod is applied.
pub fn refresh_or_apply(pipeline: &mut Pipeline, fm: &FlowMod, now_ms: u64) -> Result<Option<FlowModOutcome>, FlowModError> {
    if refresh_existing(pipeline, fm, now_ms) {
        return Ok(None);
    }
    pipeline.apply(fm, now_ms).map(Some)
}

/// The (table, cookie) pairs of the `learn ... delete_learned` actions of a rule.
pub fn learned_cookies(actions: &[OfAction]) -> Vec<(u8, u64)> {
    let mut out = Vec::new();
    for a in actions {
        match a {
            OfAction::Learn(l) if l.flags & DELETE_LEARNED != 0 => out.push((l.table_id, l.cookie)),
            a => out.extend(a.nested().map(learned_cookies).unwrap_or_default()),
        }
    }
    out
}

/// The deletes due after `outcome` (OVS's `learned_cookies_flush`): for each (table, cookie)
/// of a `delete_learned` learn that a removed or replaced rule had and that no rule left in
/// `pipeline` still has, delete every rule of that table with that cookie.
pub fn delete_learned_mods(pipeline: &Pipeline, outcome: &FlowModOutcome) -> Vec<FlowMod> {
    let gone = outcome.removed.iter().map(|(r, _)| r).chain(outcome.modified.iter().map(|(old, _)| old));
    let mut pairs: Vec<(u8, u64)> = gone.flat_map(|r| learned_cookies(&r.actions)).collect();
    pairs.sort_unstable();
    pairs.dedup();
    if pairs.is_empty() {
        return Vec::new();
    }
    let still: Vec<(u8, u64)> = pipeline.rules().flat_map(|r| learned_cookies(&r.actions)).collect();
    pairs
        .into_iter()
        .filter(|p| !still.contains(p))
        .map(|(table, cookie)| {
            let mut fm = FlowMod::new(FlowModCommand::Delete);
            fm.table_id = table;
            fm.cookie = cookie;
            fm.cookie_mask = u64::MAX;
            fm
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Field;
    use crate::key::FlowKey;

    fn mac_learn() -> Learn {
        Learn {
            table_id: 20,
            priority: 1,
            hard_timeout: 300,
            cookie: 0x42,
            specs: vec![
                LearnSpec {
                    src: LearnSrc::Field(SubField { field: Field::VlanTci, ofs: 0, n_bits: 12 }),
                    dst: LearnDst::Match(SubField { field: Field::VlanTci, ofs: 0, n_bits: 12 }),
                    n_bits: 12,
                },
                LearnSpec {
                    src: LearnSrc::Field(SubField::whole(Field::EthSrc)),
                    dst: LearnDst::Match(SubField::whole(Field::EthDst)),
                    n_bits: 48,
                },
                LearnSpec { src: LearnSrc::Immediate(0), dst: LearnDst::Load(SubField::whole(Field::VlanTci)), n_bits: 16 },
                LearnSpec {
                    src: LearnSrc::Field(SubField { field: Field::InPort, ofs: 0, n_bits: 16 }),
                    dst: LearnDst::Output,
                    n_bits: 16,
                },
            ],
            ..Learn::default()
        }
    }

    #[test]
    fn builds_the_flow_mod_from_the_packet() {
        let mut k = FlowKey::ZERO;
        k.in_port = 3;
        k.vlan_tci = 0x1000 | 7;
        Field::EthSrc.set(&mut k, 0x0200_0000_0001);
        let mut read = Vec::new();
        let fm = mac_learn().flow_mod(|sf| {
            read.push(sf.field);
            sf.field.get(&k)
        });
        assert_eq!(read, vec![Field::VlanTci, Field::EthSrc, Field::InPort]);
        assert_eq!((fm.command, fm.table_id, fm.priority, fm.hard_timeout), (FlowModCommand::ModifyStrict, 20, 1, 300));
        assert_eq!((fm.new_cookie, fm.cookie_mask), (Some(0x42), 0));
        assert_eq!(fm.match_.get(Field::VlanTci), Some((7, 0x0fff)));
        assert_eq!(fm.match_.get(Field::EthDst), Some((0x0200_0000_0001, 0xffff_ffff_ffff)));
        assert_eq!(
            fm.actions,
            vec![
                OfAction::RegLoad { dst: SubField::whole(Field::VlanTci), value: 0 },
                OfAction::Output { port: OfPort(3), max_len: 0 }
            ]
        );
    }

    #[test]
    fn partial_matches_on_one_field_merge() {
        let l = Learn {
            specs: vec![
                LearnSpec { src: LearnSrc::Immediate(5), dst: LearnDst::Match(SubField { field: Field::Reg0, ofs: 0, n_bits: 4 }), n_bits: 4 },
                LearnSpec { src: LearnSrc::Immediate(3), dst: LearnDst::Match(SubField { field: Field::Reg0, ofs: 8, n_bits: 4 }), n_bits: 4 },
            ],
            ..Learn::default()
        };
        let fm = l.flow_mod(|_| unreachable!("no field sources"));
        assert_eq!(fm.match_.get(Field::Reg0), Some((0x305, 0xf0f)));
    }

    #[test]
    fn relearning_refreshes_and_changes_replace() {
        let mut p = Pipeline::new();
        let mut k = FlowKey::ZERO;
        k.in_port = 3;
        let fm = mac_learn().flow_mod(|sf| sf.field.get(&k));
        let first = refresh_or_apply(&mut p, &fm, 1000).unwrap().expect("added");
        assert_eq!(first.added.len(), 1);
        assert_eq!(p.n_rules(), 1);
        let v = p.version();
        assert!(refresh_or_apply(&mut p, &fm, 5000).unwrap().is_none(), "identical: refresh only");
        assert_eq!(p.version(), v);
        let rule = p.rules().next().unwrap().clone();
        assert_eq!(rule.stats.refreshed_ms.load(std::sync::atomic::Ordering::Relaxed), 5000);
        // Hard timeout counts from the refresh.
        assert!(p.expire(1000 + 300_000 + 1).is_empty());
        assert_eq!(p.expire(5000 + 300_000 + 1).len(), 1);
        k.in_port = 4;
        let moved = mac_learn().flow_mod(|sf| sf.field.get(&k));
        refresh_or_apply(&mut p, &fm, 6000).unwrap();
        let out = refresh_or_apply(&mut p, &moved, 6000).unwrap().expect("changed");
        assert_eq!(out.modified.len(), 1);
        assert_eq!(p.n_rules(), 1);
    }

    #[test]
    fn the_limit_stops_new_flows_but_not_refreshes() {
        let mut p = Pipeline::new();
        let learn = Learn { limit: 2, ..mac_learn() };
        let from = |mac: u128| {
            let mut k = FlowKey::ZERO;
            k.in_port = 3;
            Field::EthSrc.set(&mut k, mac);
            learn.flow_mod(|sf| sf.field.get(&k))
        };
        let (a, b, c) = (from(1), from(2), from(3));
        assert_eq!(a.learn_limit, 2);
        for fm in [&a, &b] {
            assert!(may_learn(&p, fm));
            refresh_or_apply(&mut p, fm, 1000).unwrap();
        }
        assert_eq!(count_with_cookie(&p, 20, 0x42), 2);
        assert!(!may_learn(&p, &c), "the table holds `limit` rules with the cookie");
        assert!(may_learn(&p, &a), "an existing rule may be learned again (a refresh)");
        // Rules with another cookie do not count; without a limit, anything goes.
        let other = Learn { limit: 2, cookie: 0x43, ..mac_learn() }.flow_mod(|sf| sf.field.get(&FlowKey::ZERO));
        assert!(may_learn(&p, &other));
        assert!(may_learn(&p, &FlowMod { learn_limit: 0, ..c }));
    }

    #[test]
    fn delete_learned_when_the_last_learner_goes() {
        let mut l = mac_learn();
        l.flags = DELETE_LEARNED;
        let mut p = Pipeline::new();
        let mut learner = FlowMod::new(FlowModCommand::Add);
        learner.actions = vec![OfAction::Learn(Box::new(l.clone()))];
        p.apply(&learner, 0).unwrap();
        let fm = l.flow_mod(|sf| sf.field.get(&FlowKey::ZERO));
        refresh_or_apply(&mut p, &fm, 0).unwrap();
        assert_eq!(p.n_rules(), 2);
        let out = p.apply(&FlowMod::new(FlowModCommand::DeleteStrict), 0).unwrap();
        let dels = delete_learned_mods(&p, &out);
        assert_eq!(dels.len(), 1);
        assert_eq!((dels[0].table_id, dels[0].cookie, dels[0].cookie_mask), (20, 0x42, u64::MAX));
        p.apply(&dels[0], 0).unwrap();
        assert_eq!(p.n_rules(), 0);
    }
}
