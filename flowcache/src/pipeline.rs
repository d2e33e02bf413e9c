//! The OpenFlow pipeline: tables 0..=254 and the flow-mod semantics that change them.
//!
//! # What
//! A [`Pipeline`] is one bridge's OpenFlow tables, each a [`Classifier`]. Readers (translation)
//! call [`Pipeline::lookup`]; the writer applies [`FlowMod`]s with [`Pipeline::apply`] and ages
//! rules with [`Pipeline::expire`]. Both return what changed, so that the daemon can send
//! `OFPT_FLOW_REMOVED` for removed rules that asked for it (`SEND_FLOW_REM`) and persist the
//! rules. Time is a parameter (`now_ms`, the caller's monotonic clock in milliseconds); nothing
//! here reads a clock.
//!
//! # Flow-mod semantics (those of Open vSwitch's `ofproto.c`)
//! * **Table ids.** 0..=254 name a table. 255 (`OFPTT_ALL`) means every table for modify and
//!   delete (OpenFlow 1.0 flow-mods without a table id; OpenFlow 1.1+ allows it for delete
//!   only, and its decoder refuses the rest), and an add with it gets
//!   [`FlowModError::BadTableId`]. A modify over every table that selects nothing and adds
//!   (OpenFlow 1.0 semantics, see below) adds to table 0, as OVS.
//! * **Add** (`add_flow_start`). If a rule with the same match and priority exists, the new rule
//!   replaces it: new id, cookie, timeouts, flags and creation time, and no flow-removed for the
//!   old one (it is reported in [`FlowModOutcome::modified`]). The counters carry over unless the
//!   flow-mod has `RESET_COUNTS` (the OpenFlow 1.0/1.1 codec sets it on every add, as OVS's
//!   decoder does). Otherwise, with `CHECK_OVERLAP`, an overlapping rule of the same priority
//!   fails the add with [`FlowModError::Overlap`].
//! * **Modify / modify-strict** (`modify_flows_start__`). Selects the rules covered by the match
//!   (strict: exactly this match and priority) whose cookie equals `cookie` under `cookie_mask`;
//!   `out_port` and `out_group` do not filter. Each selected rule keeps its id, match, priority,
//!   timeouts, importance, flags and creation time, gets the new actions and a new
//!   `modified_ms`, and its cookie becomes `new_cookie` if given. Counters carry over unless
//!   `RESET_COUNTS`. If nothing is selected and the flow-mod sets a cookie (`new_cookie`) without
//!   filtering on one (`cookie_mask == 0`), it adds a rule as an add would, with that cookie
//!   (OpenFlow 1.0 and 1.1 behaviour, and what `learn` relies on); otherwise it does nothing.
//! * **Delete / delete-strict** (`delete_flows_start__`). Selects like modify, in one table or all,
//!   and also by `out_port` (a rule qualifies if one of its actions outputs there,
//!   [`OfAction::outputs_to`]) and `out_group` (a rule qualifies if one of its actions sends to
//!   that group, [`OfAction::uses_group`]). Removed rules come back with
//!   [`RemovedReason::Delete`].
//! * **Timeouts** ([`Pipeline::expire`], OVS `rule_expire`). A rule with a hard timeout expires
//!   once `now_ms > modified_ms + hard * 1000` (so a modify restarts it, as in OVS); one with an
//!   idle timeout once `now_ms > stats.used_ms + idle * 1000`. `used_ms` is credited by the
//!   revalidator; new counters start with `used_ms = now_ms`, and counters that carry over keep
//!   theirs, so a modify or replacing add that keeps the counters keeps the idle time too (as in
//!   OVS, where `rule_insert` forwards the stats, `used` included). Hard is checked first. The
//!   timeouts are those in force ([`Rule::timeouts`]: lowered by `fin_timeout`), and a rule
//!   with a `fin_timeout` action is watched even without timeouts of its own.
//!
//! A flow-mod is atomic: every check happens before the first change, so an error leaves the
//! pipeline as it was.
//!
//! # Conjunctive matches
//! Rules whose actions are only `conjunction` are kept in a second classifier per table and
//! resolved by [`crate::conjunction`] at lookup; every flow-mod command sees both kinds.
//!
//! # Rule ids
//! Ids come from a counter in the pipeline, one past the largest id ever inserted, so that two
//! copies kept in step by replaying the same inserts (see [`crate::versioned`]) agree on it.
//! Ids are never reused, even for changes a writer discards.
//!
//! # Costs
//! Lookup is one [`Classifier::lookup`]. Strict commands cost one probe per table named;
//! non-strict ones cost [`Classifier::covered_by`]. Expiry visits only rules with a timeout.

use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hashbrown::HashTable;

use crate::classifier::Classifier;
use crate::key::{FlowKey, FlowMask};
use crate::ofp::{
    flow_flags, FlowMod, FlowModCommand, Match, OfAction, OfPort, Rule, RuleId, RuleStats, ALL_TABLES, ANY_GROUP, N_TABLES,
};

/// Why a rule left the pipeline (`OFPRR_*`; the discriminant is the wire value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RemovedReason {
    /// The idle timeout passed without traffic.
    IdleTimeout = 0,
    /// The hard timeout passed.
    HardTimeout = 1,
    /// A delete flow-mod.
    Delete = 2,
    /// The group the rule sends to was deleted.
    GroupDelete = 3,
}

/// Why a flow-mod was refused. Nothing changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlowModError {
    /// Table 255 (`OFPTT_ALL`) in an add (`OFPFMFC_BAD_TABLE_ID`).
    BadTableId,
    /// `CHECK_OVERLAP` was set and a rule of the same priority overlaps the new one
    /// (`OFPFMFC_OVERLAP`).
    Overlap,
}

impl std::fmt::Display for FlowModError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FlowModError::BadTableId => "table 255 (all tables) is not valid for an add",
            FlowModError::Overlap => "an overlapping rule of the same priority exists",
        })
    }
}

impl std::error::Error for FlowModError {}

/// What a flow-mod changed.
#[derive(Debug, Default)]
pub struct FlowModOutcome {
    /// Rules that entered a table without replacing one.
    pub added: Vec<Arc<Rule>>,
    /// `(old, new)`: rules that took the place of a rule with the same table, match and
    /// priority. A modify keeps the id; an add over an identical rule gets a new one. No
    /// flow-removed is due for `old`.
    pub modified: Vec<(Arc<Rule>, Arc<Rule>)>,
    /// Rules that left, with why. Send a flow-removed for those with `SEND_FLOW_REM`.
    pub removed: Vec<(Arc<Rule>, RemovedReason)>,
}

impl FlowModOutcome {
    /// True if the flow-mod changed nothing.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.modified.is_empty() && self.removed.is_empty()
    }
}

/// One bridge's OpenFlow tables. See the module documentation.
#[derive(Clone, Debug)]
pub struct Pipeline {
    /// Tables 0..=255. Table 255 stays empty, so that every `u8` names a table.
    tables: Box<[Classifier]>,
    /// Per table, its soft (conjunctive) rules ([`crate::conjunction`]).
    soft: Box<[Classifier]>,
    n_rules: usize,
    /// Rules with an idle or hard timeout, by id.
    expirable: HashTable<Arc<Rule>>,
    next_id: RuleId,
    version: u64,
}

impl Default for Pipeline {
    fn default() -> Self {
        Self::new()
    }
}

fn id_hash(id: RuleId) -> u64 {
    id.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

fn has_timeout(rule: &Rule) -> bool {
    rule.may_expire()
}

/// Counters for a rule that does not inherit any: its idle time starts now (as in OVS).
fn fresh_stats(now_ms: u64) -> Arc<RuleStats> {
    Arc::new(RuleStats { used_ms: AtomicU64::new(now_ms), ..RuleStats::default() })
}

/// Why `rule` has expired at `now_ms`, if it has.
fn expiry(rule: &Rule, now_ms: u64) -> Option<RemovedReason> {
    let modified = rule.modified_ms.max(rule.stats.refreshed_ms.load(Ordering::Relaxed));
    let (idle, hard) = rule.timeouts();
    if hard != 0 && now_ms > modified + hard as u64 * 1000 {
        return Some(RemovedReason::HardTimeout);
    }
    let used = rule.stats.used_ms.load(Ordering::Relaxed);
    if idle != 0 && now_ms > used + idle as u64 * 1000 {
        return Some(RemovedReason::IdleTimeout);
    }
    None
}

impl Pipeline {
    /// Empty tables.
    pub fn new() -> Pipeline {
        Pipeline {
            tables: (0..=ALL_TABLES).map(|_| Classifier::new()).collect(),
            soft: (0..=ALL_TABLES).map(|_| Classifier::new()).collect(),
            n_rules: 0,
            expirable: HashTable::new(),
            next_id: 1,
            version: 0,
        }
    }

    /// Table `id` (table 255 is always empty).
    pub fn table(&self, id: u8) -> &Classifier {
        &self.tables[id as usize]
    }

    /// The rule of table `table` for `key`, un-wildcarding into `wc`; see [`Classifier::lookup`].
    #[inline]
    pub fn lookup(&self, table: u8, key: &FlowKey, wc: &mut FlowMask) -> Option<&Arc<Rule>> {
        let hard = self.tables[table as usize].lookup(key, wc);
        let soft = &self.soft[table as usize];
        if soft.is_empty() {
            return hard;
        }
        crate::conjunction::resolve(&self.tables[table as usize], soft, hard, key, wc)
    }

    /// The soft (conjunctive) rules of table `id` ([`crate::conjunction`]); [`Pipeline::table`]
    /// holds the others.
    pub fn soft_table(&self, id: u8) -> &Classifier {
        &self.soft[id as usize]
    }

    /// The rule of table `table` with exactly this match and priority, hard or soft.
    pub fn find_exact(&self, table: u8, m: &Match, priority: u16) -> Option<&Arc<Rule>> {
        let t = table as usize;
        self.tables[t].find_exact(m, priority).or_else(|| self.soft[t].find_exact(m, priority))
    }

    /// Number of rules in all tables.
    pub fn n_rules(&self) -> usize {
        self.n_rules
    }

    /// Every rule of every table, table by table, for dumps and persistence.
    pub fn rules(&self) -> impl Iterator<Item = &Arc<Rule>> {
        self.tables.iter().zip(self.soft.iter()).flat_map(|(h, s)| h.iter().chain(s.iter()))
    }

    /// The publication this copy belongs to ([`crate::versioned`]; 0 for a standalone pipeline).
    pub fn version(&self) -> u64 {
        self.version
    }

    pub(crate) fn set_version(&mut self, version: u64) {
        self.version = version;
    }

    /// The id the next new rule will get.
    pub(crate) fn next_id(&self) -> RuleId {
        self.next_id
    }

    /// Makes sure ids below `id` are never handed out.
    pub(crate) fn reserve_ids_below(&mut self, id: RuleId) {
        self.next_id = self.next_id.max(id);
    }

    /// Inserts `rule`, replacing and returning the rule with the same table, match and priority.
    pub(crate) fn insert(&mut self, rule: Arc<Rule>) -> Option<Arc<Rule>> {
        debug_assert!(rule.table_id != ALL_TABLES, "table 255 stays empty");
        self.next_id = self.next_id.max(rule.id + 1);
        let expirable = has_timeout(&rule).then(|| rule.clone());
        let t = rule.table_id as usize;
        let (m, priority) = (rule.match_, rule.priority);
        // A rule is in exactly one of its table's two classifiers (a modify may move it).
        let replaced = if crate::conjunction::is_soft(&rule.actions) {
            self.soft[t].insert(rule).or_else(|| self.tables[t].remove(&m, priority))
        } else {
            self.tables[t].insert(rule).or_else(|| self.soft[t].remove(&m, priority))
        };
        match &replaced {
            Some(old) => self.forget_expirable(old),
            None => self.n_rules += 1,
        }
        if let Some(rule) = expirable {
            self.expirable.insert_unique(id_hash(rule.id), rule, |r| id_hash(r.id));
        }
        replaced
    }

    /// Removes the rule with `rule`'s table, match and priority, and returns it.
    pub(crate) fn remove(&mut self, rule: &Rule) -> Option<Arc<Rule>> {
        let t = rule.table_id as usize;
        let removed =
            self.tables[t].remove(&rule.match_, rule.priority).or_else(|| self.soft[t].remove(&rule.match_, rule.priority))?;
        debug_assert_eq!(removed.id, rule.id, "removed the rule asked for");
        self.n_rules -= 1;
        self.forget_expirable(&removed);
        Some(removed)
    }

    fn forget_expirable(&mut self, rule: &Rule) {
        if has_timeout(rule) {
            if let Ok(e) = self.expirable.find_entry(id_hash(rule.id), |r| r.id == rule.id) {
                e.remove();
            }
        }
    }

    fn alloc_id(&mut self) -> RuleId {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Applies a flow-mod at `now_ms`. See the module documentation for the semantics.
    pub fn apply(&mut self, fm: &FlowMod, now_ms: u64) -> Result<FlowModOutcome, FlowModError> {
        use FlowModCommand::*;
        // Table 255 names every table for modify and delete (OpenFlow 1.0 sends it when no
        // table was given; the OpenFlow 1.1+ decoders refuse it for modify themselves); an
        // add needs a real table.
        if fm.table_id == ALL_TABLES && fm.command == Add {
            return Err(FlowModError::BadTableId);
        }
        match fm.command {
            Add => self.add(fm, fm.cookie, now_ms),
            Modify | ModifyStrict => self.modify(fm, now_ms),
            Delete | DeleteStrict => Ok(self.delete(fm)),
        }
    }

    fn add(&mut self, fm: &FlowMod, cookie: u64, now_ms: u64) -> Result<FlowModOutcome, FlowModError> {
        let mut match_ = fm.match_;
        match_.normalize();
        let (table, soft) = (&self.tables[fm.table_id as usize], &self.soft[fm.table_id as usize]);
        let old = table.find_exact(&match_, fm.priority).or_else(|| soft.find_exact(&match_, fm.priority));
        let overlap = || table.has_overlap(&match_, fm.priority) || soft.has_overlap(&match_, fm.priority);
        if old.is_none() && fm.flags & flow_flags::CHECK_OVERLAP != 0 && overlap() {
            return Err(FlowModError::Overlap);
        }
        let stats = match old {
            Some(old) if fm.flags & flow_flags::RESET_COUNTS == 0 => old.stats.clone(),
            _ => fresh_stats(now_ms),
        };
        let rule = Arc::new(Rule {
            id: self.alloc_id(),
            table_id: fm.table_id,
            priority: fm.priority,
            match_,
            cookie,
            idle_timeout: fm.idle_timeout,
            hard_timeout: fm.hard_timeout,
            importance: fm.importance,
            flags: fm.flags,
            actions: fm.actions.as_slice().into(),
            created_ms: now_ms,
            modified_ms: now_ms,
            stats,
        });
        let mut outcome = FlowModOutcome::default();
        match self.insert(rule.clone()) {
            Some(old) => outcome.modified.push((old, rule)),
            None => outcome.added.push(rule),
        }
        Ok(outcome)
    }

    fn modify(&mut self, fm: &FlowMod, now_ms: u64) -> Result<FlowModOutcome, FlowModError> {
        let selected = self.select(fm, fm.command == FlowModCommand::ModifyStrict, false);
        if selected.is_empty() {
            return match fm.new_cookie {
                // A modify over every table that adds, adds to table 0 (as OVS).
                Some(cookie) if fm.cookie_mask == 0 && fm.table_id == ALL_TABLES => {
                    self.add(&FlowMod { table_id: 0, ..fm.clone() }, cookie, now_ms)
                }
                Some(cookie) if fm.cookie_mask == 0 => self.add(fm, cookie, now_ms),
                _ => Ok(FlowModOutcome::default()),
            };
        }
        let actions: Arc<[OfAction]> = fm.actions.as_slice().into();
        let mut outcome = FlowModOutcome::default();
        for old in selected {
            let stats = if fm.flags & flow_flags::RESET_COUNTS != 0 { fresh_stats(now_ms) } else { old.stats.clone() };
            let new = Arc::new(Rule {
                cookie: fm.new_cookie.unwrap_or(old.cookie),
                actions: actions.clone(),
                modified_ms: now_ms,
                stats,
                ..*old
            });
            let replaced = self.insert(new.clone());
            debug_assert!(replaced.is_some_and(|r| Arc::ptr_eq(&r, &old)));
            outcome.modified.push((old, new));
        }
        Ok(outcome)
    }

    fn delete(&mut self, fm: &FlowMod) -> FlowModOutcome {
        let selected = self.select(fm, fm.command == FlowModCommand::DeleteStrict, true);
        let mut outcome = FlowModOutcome::default();
        for rule in selected {
            self.remove(&rule);
            outcome.removed.push((rule, RemovedReason::Delete));
        }
        outcome
    }

    /// The rules a modify or delete selects (OVS `collect_rules_loose` / `_strict`), by id.
    fn select(&self, fm: &FlowMod, strict: bool, filter_outputs: bool) -> Vec<Arc<Rule>> {
        let tables: RangeInclusive<usize> = match fm.table_id {
            ALL_TABLES => 0..=N_TABLES - 1,
            t => t as usize..=t as usize,
        };
        let wanted = |r: &Rule| {
            (r.cookie ^ fm.cookie) & fm.cookie_mask == 0
                && (!filter_outputs || (outputs_to_port(r, fm.out_port) && outputs_to_group(r, fm.out_group)))
        };
        let mut selected = Vec::new();
        for table in self.tables[tables.clone()].iter().chain(&self.soft[tables]) {
            if strict {
                selected.extend(table.find_exact(&fm.match_, fm.priority).filter(|r| wanted(r)).cloned());
            } else {
                selected.extend(table.covered_by(&fm.match_).filter(|r| wanted(r)).cloned());
            }
        }
        selected.sort_unstable_by_key(|r| r.id);
        selected
    }

    /// Removes the rules whose idle or hard timeout has passed at `now_ms`, by id.
    pub fn expire(&mut self, now_ms: u64) -> Vec<(Arc<Rule>, RemovedReason)> {
        let mut expired: Vec<_> =
            self.expirable.iter().filter_map(|r| expiry(r, now_ms).map(|why| (r.clone(), why))).collect();
        expired.sort_unstable_by_key(|(r, _)| r.id);
        for (rule, _) in &expired {
            self.remove(rule);
        }
        expired
    }
}

/// OVS `ofproto_rule_has_out_port`.
fn outputs_to_port(rule: &Rule, port: OfPort) -> bool {
    port == OfPort::ANY || rule.actions.iter().any(|a| a.outputs_to(port))
}

/// OVS `ofproto_rule_has_out_group`.
fn outputs_to_group(rule: &Rule, group: u32) -> bool {
    group == ANY_GROUP || rule.actions.iter().any(|a| a.uses_group(group))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Field;

    fn add(table: u8, priority: u16, in_port: u32) -> FlowMod {
        let mut fm = FlowMod::new(FlowModCommand::Add);
        fm.table_id = table;
        fm.priority = priority;
        fm.match_.set(Field::InPort, in_port as u128);
        fm
    }

    #[test]
    fn every_table_id_can_be_looked_up() {
        let mut p = Pipeline::new();
        p.apply(&add(254, 1, 7), 0).unwrap();
        let mut key = FlowKey::ZERO;
        key.in_port = 7;
        let mut wc = FlowMask::ZERO;
        assert!(p.lookup(254, &key, &mut wc).is_some());
        assert!(p.lookup(255, &key, &mut wc).is_none());
        assert_eq!(p.apply(&add(255, 1, 7), 0).unwrap_err(), FlowModError::BadTableId);
        assert_eq!((p.n_rules(), p.rules().count()), (1, 1));
    }

    #[test]
    fn ids_count_up_and_survive_modify() {
        let mut p = Pipeline::new();
        let a = p.apply(&add(0, 1, 1), 0).unwrap().added[0].id;
        let b = p.apply(&add(0, 1, 2), 0).unwrap().added[0].id;
        assert!(b > a);
        let mut m = add(0, 1, 1);
        m.command = FlowModCommand::ModifyStrict;
        let out = p.apply(&m, 5).unwrap();
        assert_eq!((out.modified[0].0.id, out.modified[0].1.id), (a, a));
        assert_eq!(p.next_id(), b + 1);
    }
}
