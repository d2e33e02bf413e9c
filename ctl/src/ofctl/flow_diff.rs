//! `replace-flows` and `diff-flows`, as `ovs-ofctl` runs them.
//!
//! # Flow table entries
//! Both commands see flows as entries keyed by table, priority and match, each with up to two
//! versions (one per source). Two versions are equal when their cookies, idle and hard
//! timeouts, importance and actions (compared as printed) are, as `fte_version_equals` has
//! it; flags do not count.
//!
//! # `diff-flows SOURCE1 SOURCE2`
//! Each source is a switch (its flows dumped with the protocols allowed) or a file of flows.
//! For each entry whose versions differ it prints `-` and the first source's version, `+`
//! and the second's, each as `table=N ` (tables other than 0), the match with its priority,
//! ` cookie=0x..`, ` idle_timeout=N`, ` hard_timeout=N`, ` importance=N` when set, then
//! ` actions=...`. Entries come in table order, then by priority (highest first), then by
//! match. The exit status is 2 when anything differs, 0 otherwise.
//!
//! # `replace-flows SWITCH FILE`
//! Dumps the switch's flows with a protocol that can also carry the file's flows, then sends,
//! on the same connection, a strict delete of every entry only the switch has, then an add of
//! every entry of the file that the switch lacks or has in another version, then one barrier
//! (or all of them in one bundle, with `--bundle`).
//! A switch error is printed on standard error and ends the run with status 1. When the
//! connection's protocol has no table ids (OpenFlow 1.0 without the Nicira extension), the
//! flow-mods go without one, as Open vSwitch encodes them.

use std::collections::BTreeMap;

use rvs_openflow::msg::Version;
use rvs_openflow::stats::FlowStats;
use rvs_openflow::text::{format_actions, format_match, PortNames};
use rvs_openflow::{FlowModCommand, OfMessage};

use super::commands::{emit, Io};
use super::conn::{io_text, Connection, Fatal};
use super::flows::{allowed, collect_flows, parse_file, prepare_dump_for};
use super::print::ofp_to_string;
use super::session::Session;
use rvs_flowcache::ofp::{FlowMod, ALL_TABLES};
use rvs_openflow::protocols::Protocols;

/// One version of a flow table entry.
#[derive(Clone, Debug)]
struct FteVersion {
    flow: FlowMod,
    /// The actions as printed (what versions compare by).
    actions: String,
}

impl FteVersion {
    fn equals(&self, o: &FteVersion) -> bool {
        let (a, b) = (&self.flow, &o.flow);
        a.cookie == b.cookie
            && a.idle_timeout == b.idle_timeout
            && a.hard_timeout == b.hard_timeout
            && a.importance == b.importance
            && self.actions == o.actions
    }

    /// `fte_version_format`.
    fn format(&self, names: Option<&dyn PortNames>) -> String {
        let f = &self.flow;
        let mut s = String::new();
        if f.table_id != 0 {
            s.push_str(&format!("table={} ", f.table_id));
        }
        s.push_str(&format_match(&f.match_, f.priority, names));
        if f.cookie != 0 {
            s.push_str(&format!(" cookie=0x{:x}", f.cookie));
        }
        if f.idle_timeout != 0 {
            s.push_str(&format!(" idle_timeout={}", f.idle_timeout));
        }
        if f.hard_timeout != 0 {
            s.push_str(&format!(" hard_timeout={}", f.hard_timeout));
        }
        if f.importance != 0 {
            s.push_str(&format!(" importance={}", f.importance));
        }
        s.push_str(" actions=");
        s.push_str(&self.actions);
        s
    }
}

/// Entries by (table, descending priority, match text): `[first source, second source]`.
type Entries = BTreeMap<(u8, std::cmp::Reverse<u16>, String), [Option<FteVersion>; 2]>;

fn insert(entries: &mut Entries, idx: usize, mut flow: FlowMod, version: Version) {
    if flow.table_id == ALL_TABLES {
        flow.table_id = 0;
    }
    let actions = format_actions(&flow.actions, version, None);
    let key = (flow.table_id, std::cmp::Reverse(flow.priority), format_match(&flow.match_, flow.priority, None));
    entries.entry(key).or_default()[idx] = Some(FteVersion { flow, actions });
}

fn from_stats(fs: FlowStats) -> FlowMod {
    let mut fm = FlowMod::new(FlowModCommand::Add);
    fm.table_id = fs.table_id;
    fm.priority = fs.priority;
    fm.cookie = fs.cookie;
    fm.idle_timeout = fs.idle_timeout;
    fm.hard_timeout = fs.hard_timeout;
    fm.importance = fs.importance;
    fm.flags = fs.flags;
    fm.match_ = fs.match_;
    fm.actions = fs.actions;
    fm
}

/// Reads a file's flows into `entries` as version `idx`; returns the protocols that can
/// carry them.
fn read_file(entries: &mut Entries, idx: usize, file: &str, names: Option<&dyn PortNames>) -> Result<Protocols, Fatal> {
    // `read_flows_from_file` words a missing file its own way.
    if file != "-" {
        std::fs::File::open(file).map_err(|e| Fatal(format!("{file}: open ({})", io_text(&e))))?;
    }
    let flows = parse_file(file, Some(FlowModCommand::Add), names)?;
    let usable = flows.iter().fold(Protocols::ANY, |p, f| p.and(f.usable));
    for f in flows {
        insert(entries, idx, f.flow.flow_mod, Version::V1_0);
    }
    Ok(usable)
}

/// Dumps a switch's flows into `entries` as version `idx`, with a protocol that can also
/// carry `usable`; returns the connection.
fn read_switch(s: &mut Session, entries: &mut Entries, idx: usize, target: &str, usable: Protocols) -> Result<Connection, Fatal> {
    let args = vec!["dump-flows".to_string(), target.to_string()];
    let (mut conn, request) = prepare_dump_for(s, &args, false, usable)?;
    let version = conn.version();
    for fs in collect_flows(s, &mut conn, &request)? {
        insert(entries, idx, from_stats(fs), version);
    }
    Ok(conn)
}

/// True if `source` names a file rather than a switch (`ovs-ofctl` tries the file first).
fn is_file(source: &str) -> bool {
    std::path::Path::new(source).is_file()
}

pub(crate) fn diff_flows(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    let mut entries = Entries::new();
    for (idx, source) in args[1..3].iter().enumerate() {
        if is_file(source) {
            read_file(&mut entries, idx, source, None)?;
        } else {
            read_switch(s, &mut entries, idx, source, Protocols::ANY)?;
        }
    }
    let mut differ = false;
    for [a, b] in entries.values() {
        let same = match (a, b) {
            (Some(a), Some(b)) => a.equals(b),
            _ => false,
        };
        if same {
            continue;
        }
        differ = true;
        if let Some(a) = a {
            emit(io.out, &format!("-{}\n", a.format(None)))?;
        }
        if let Some(b) = b {
            emit(io.out, &format!("+{}\n", b.format(None)))?;
        }
    }
    Ok(if differ { 2 } else { 0 })
}

pub(crate) fn replace_flows(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    let (target, file) = (&args[1], &args[2]);
    let mut entries = Entries::new();
    // The file may name the switch's ports.
    let map = s.maps_to_accept(target)?;
    let usable = read_file(&mut entries, 1, file, map.as_ref().map(|m| m as &dyn PortNames))?;
    if usable.and(allowed(s)).is_empty() {
        return Err(Fatal(format!(
            "none of the usable flow formats ({usable}) is among the allowed flow formats ({})",
            allowed(s)
        )));
    }
    let mut conn = read_switch(s, &mut entries, 0, target, usable)?;
    // Deletes first, then adds, as `ofctl_replace_flows` builds its requests (within each,
    // entries in table, priority and match order; Open vSwitch uses its hash order).
    let mut mods = Vec::new();
    let mut adds = Vec::new();
    for [old, new] in entries.into_values() {
        match (old, new) {
            (Some(old), None) => {
                let mut fm = FlowMod::new(FlowModCommand::DeleteStrict);
                fm.table_id = old.flow.table_id;
                fm.priority = old.flow.priority;
                fm.match_ = old.flow.match_;
                mods.push(fm);
            }
            (old, Some(new)) if old.as_ref().is_none_or(|o| !o.equals(&new)) => adds.push(new.flow),
            _ => {}
        }
    }
    mods.extend(adds);
    if mods.is_empty() && !s.opts.bundle {
        return Ok(0);
    }
    // A protocol without table ids cannot name the table: Open vSwitch then sends the
    // flow-mod without one (a strict delete applies to every table, an add goes to table 0).
    if conn.protocol().and(Protocols::TID).is_empty() {
        for fm in &mut mods {
            fm.table_id = ALL_TABLES;
        }
    }
    // `transact_multiple_noreply`: every flow-mod, then one barrier; or one bundle.
    let msgs: Vec<OfMessage> = mods.into_iter().map(OfMessage::flow_mod).collect();
    if s.opts.bundle {
        return super::bundle::bundle_transact(s, &mut conn, msgs, io);
    }
    if let Some(reply) = conn.transact_multiple_noreply(&msgs, &mut s.xids)? {
        let name = conn.name().to_string();
        let ports = s.maps_to_show(&name)?;
        emit(io.err, &ofp_to_string(&reply, ports.as_ref(), s.opts.verbosity + 2))?;
        return Ok(1);
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_openflow::text::parse_flow;

    fn version(flow: &str) -> FteVersion {
        let mut fm = parse_flow(flow, FlowModCommand::Add, None).unwrap().flow_mod;
        if fm.table_id == ALL_TABLES {
            fm.table_id = 0;
        }
        let actions = format_actions(&fm.actions, Version::V1_0, None);
        FteVersion { flow: fm, actions }
    }

    #[test]
    fn versions_compare_without_flags_and_print_as_ovs() {
        let a = version("table=1,priority=7,ip,nw_src=10.0.0.0/8,cookie=0x5,idle_timeout=30,actions=dec_ttl,output:1");
        assert_eq!(a.format(None), "table=1 priority=7,ip,nw_src=10.0.0.0/8 cookie=0x5 idle_timeout=30 actions=dec_ttl,output:1");
        let mut with_flags = a.clone();
        with_flags.flow.flags = 1;
        assert!(a.equals(&with_flags));
        let other = version("table=1,priority=7,ip,nw_src=10.0.0.0/8,cookie=0x5,idle_timeout=30,actions=output:1");
        assert!(!a.equals(&other));
        let b = version("send_flow_rem,hard_timeout=9,importance=3,in_port=2,actions=drop");
        assert_eq!(b.format(None), "in_port=2 hard_timeout=9 importance=3 actions=drop");
    }

    #[test]
    fn entries_key_on_table_priority_and_match() {
        let mut e = Entries::new();
        insert(&mut e, 0, version("in_port=1,actions=output:2").flow, Version::V1_0);
        insert(&mut e, 1, version("in_port=1,actions=output:3").flow, Version::V1_0);
        insert(&mut e, 1, version("priority=5,in_port=1,actions=output:3").flow, Version::V1_0);
        assert_eq!(e.len(), 2);
        let first = e.values().next().unwrap();
        assert!(first[0].is_some() && first[1].is_some(), "same entry in both sources");
    }
}
