//! Conjunctive matches (`conjunction(id,k/n)` and `conj_id`), as Open vSwitch's classifier
//! does them (ovs-fields(7), "Conjunctive Match Fields").
//!
//! # What
//! A rule whose actions are only `conjunction` (and `note`) actions is *soft*: it is never the
//! result of a lookup. Each of its actions says "this rule is clause k of n of conjunction id".
//! When, at some priority P above the best ordinary (*hard*) match, the soft rules that match
//! the packet cover all n clauses of a conjunction id, the table is looked up again with
//! `conj_id = id`, and what that finds (typically the rule `conj_id=id,actions=...`) is the
//! result. Higher priorities are tried first; among complete conjunctions of one priority, the
//! smallest id. If no conjunction completes, or no rule matches its `conj_id`, the hard match
//! stands.
//!
//! # Design and cost
//! Soft rules live in a classifier of their own per table ([`crate::pipeline`]), so they never
//! shadow hard rules. [`resolve`] scans the soft rules with a priority above the hard match
//! linearly: O(soft rules of the table) per upcall, nothing on the cached path.
//!
//! # Un-wildcarding
//! Every soft rule examined contributes its whole mask to the megaflow mask (whether it matched
//! or not, its bits decided), which is sound and sometimes wider than OVS's. `conj_id` itself
//! is never un-wildcarded: it is zero in every packet and only set during the lookup.

use std::sync::Arc;

use crate::classifier::Classifier;
use crate::key::{FlowKey, FlowMask};
use crate::ofp::{OfAction, Rule};

/// True if `actions` make a rule soft: only `conjunction` (and `note`), at least one
/// `conjunction`.
pub fn is_soft(actions: &[OfAction]) -> bool {
    actions.iter().any(|a| matches!(a, OfAction::Conjunction { .. }))
        && actions.iter().all(|a| matches!(a, OfAction::Conjunction { .. } | OfAction::Note(_)))
}

fn or_into(wc: &mut FlowMask, m: &FlowMask) {
    for (w, x) in wc.words_mut().iter_mut().zip(m.words()) {
        *w |= x;
    }
}

/// The result of a table lookup given the hard match `hard`: a `conj_id` rule if a
/// conjunction completes above it, else `hard`. See the module documentation.
pub(crate) fn resolve<'a>(
    hard_table: &'a Classifier,
    soft: &'a Classifier,
    hard: Option<&'a Arc<Rule>>,
    key: &FlowKey,
    wc: &mut FlowMask,
) -> Option<&'a Arc<Rule>> {
    let floor = hard.map_or(-1, |r| r.priority as i32);
    let mut matched: Vec<&Arc<Rule>> = Vec::new();
    for r in soft.iter() {
        if r.priority as i32 <= floor {
            continue;
        }
        or_into(wc, &r.match_.mask);
        if r.match_.matches(key) {
            matched.push(r);
        }
    }
    wc.conj_id = 0;
    if matched.is_empty() {
        return hard;
    }
    matched.sort_by_key(|r| std::cmp::Reverse(r.priority));
    for level in matched.chunk_by(|a, b| a.priority == b.priority) {
        // (id, n_clauses) -> clauses seen.
        let mut conjs: Vec<(u32, u8, u64)> = Vec::new();
        for r in level {
            for a in r.actions.iter() {
                if let OfAction::Conjunction { id, clause, n_clauses } = *a {
                    match conjs.iter_mut().find(|c| c.0 == id && c.1 == n_clauses) {
                        Some(c) => c.2 |= 1 << clause,
                        None => conjs.push((id, n_clauses, 1 << clause)),
                    }
                }
            }
        }
        let all = |n: u8| if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
        let mut complete: Vec<u32> = conjs.iter().filter(|c| c.2 == all(c.1)).map(|c| c.0).collect();
        complete.sort_unstable();
        for id in complete {
            let mut k = *key;
            k.conj_id = id;
            let mut wc2 = *wc;
            let found = hard_table.lookup(&k, &mut wc2);
            wc2.conj_id = 0;
            *wc = wc2;
            if let Some(r) = found {
                return Some(r);
            }
        }
    }
    hard
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Field;
    use crate::ofp::{FlowMod, FlowModCommand, Match, OfPort};
    use crate::pipeline::Pipeline;

    fn add(p: &mut Pipeline, priority: u16, m: Match, actions: Vec<OfAction>) {
        let mut fm = FlowMod::new(FlowModCommand::Add);
        fm.priority = priority;
        fm.match_ = m;
        fm.actions = actions;
        p.apply(&fm, 0).unwrap();
    }

    fn conj(id: u32, clause: u8, n_clauses: u8) -> OfAction {
        OfAction::Conjunction { id, clause, n_clauses }
    }

    /// The example of ovs-fields(7): (ip_src in {A, B}) and (tcp_dst in {80, 443}).
    fn pipeline() -> Pipeline {
        let mut p = Pipeline::new();
        let m = |f: Field, v: u128| {
            let mut m = Match::catchall();
            m.set(Field::EthType, 0x0800).set(Field::IpProto, 6).set(f, v);
            m
        };
        add(&mut p, 100, m(Field::IpSrc, 0x0a00_0001), vec![conj(7, 0, 2)]);
        add(&mut p, 100, m(Field::IpSrc, 0x0a00_0002), vec![conj(7, 0, 2)]);
        add(&mut p, 100, m(Field::TcpDst, 80), vec![conj(7, 1, 2)]);
        add(&mut p, 100, m(Field::TcpDst, 443), vec![conj(7, 1, 2)]);
        let mut c = Match::catchall();
        c.set(Field::ConjId, 7);
        add(&mut p, 100, c, vec![OfAction::Output { port: OfPort(2), max_len: 0 }]);
        add(&mut p, 1, Match::catchall(), vec![OfAction::Output { port: OfPort(9), max_len: 0 }]);
        p
    }

    fn key(src: u32, dport: u16) -> FlowKey {
        let mut k = FlowKey::ZERO;
        k.dl_type = 0x0800;
        k.nw_proto = 6;
        k.nw_src = src;
        k.tp_dst = dport;
        k
    }

    fn port_of(p: &Pipeline, k: &FlowKey, wc: &mut FlowMask) -> u32 {
        match &p.lookup(0, k, wc).expect("a rule").actions[0] {
            OfAction::Output { port, .. } => port.0,
            a => panic!("{a:?}"),
        }
    }

    #[test]
    fn all_clauses_select_the_conj_id_rule() {
        let p = pipeline();
        let mut wc = FlowKey::ZERO;
        assert_eq!(port_of(&p, &key(0x0a00_0002, 443), &mut wc), 2);
        assert_eq!(wc.conj_id, 0, "conj_id is never un-wildcarded");
        assert_eq!(wc.nw_src, u32::MAX);
        assert_eq!(wc.tp_dst, u16::MAX);
        let mut wc = FlowKey::ZERO;
        assert_eq!(port_of(&p, &key(0x0a00_0002, 22), &mut wc), 9, "one clause only: the hard match");
        assert_eq!(port_of(&p, &key(0x0a00_0003, 80), &mut wc), 9);
        assert!(is_soft(&[conj(1, 0, 2), OfAction::Note(vec![0; 6])]));
        assert!(!is_soft(&[OfAction::Note(vec![0; 6])]));
    }

    #[test]
    fn a_higher_hard_match_wins_and_soft_rules_can_be_deleted() {
        let mut p = pipeline();
        let mut m = Match::catchall();
        m.set(Field::EthType, 0x0800);
        add(&mut p, 200, m, vec![OfAction::Output { port: OfPort(5), max_len: 0 }]);
        let mut wc = FlowKey::ZERO;
        assert_eq!(port_of(&p, &key(0x0a00_0001, 80), &mut wc), 5);
        let mut del = FlowMod::new(FlowModCommand::Delete);
        del.table_id = 0;
        del.match_.set(Field::EthType, 0x0800);
        let out = p.apply(&del, 0).unwrap();
        assert_eq!(out.removed.len(), 5, "the hard rule and the four soft ones");
        assert_eq!(port_of(&p, &key(0x0a00_0001, 80), &mut wc), 9);
        assert_eq!(p.n_rules(), 2);
    }
}
