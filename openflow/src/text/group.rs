//! Groups in `ovs-ofctl`'s syntax: parsing `add-group`/`mod-group`/`del-groups` arguments
//! and printing group descriptions, statistics and features as `ovs-ofctl` does.
//!
//! # Syntax
//! `group_id=ID,type=TYPE,bucket=BUCKET,bucket=BUCKET...`: the group's own keys come before the
//! first `bucket=`; each bucket runs to the next `bucket=`. A bucket holds `weight:N`,
//! `watch_port:PORT`, `watch_group:ID` and its actions, either after `actions=` or as plain
//! actions (`bucket=output:1`). A `select` bucket without a weight weighs 1, other buckets 0,
//! and only `select` buckets may have a weight; an `indirect` group has at most one bucket;
//! a fast-failover bucket must watch a port or a group. The error messages are
//! `ovs-ofctl`'s.
//!
//! # Printing
//! `group_id=ID,type=TYPE` then `,bucket=` per bucket with `weight:N,` unless the weight is
//! the type's default, `watch_port:PORT,` and `watch_group:ID,` when set, then
//! `actions=ACTIONS`.

use std::fmt::Write;

use super::format::format_actions;
use super::lex::KeyValues;
use super::value::{format_port, parse_port, str_to_u32, PortNames};
use super::TextError;
use crate::group::{
    Bucket, GroupDesc, GroupFeatures, GroupMod, GroupModCommand, GroupStats, GroupType, ALL_GROUPS, ANY_GROUP, MAX_BUCKET,
    MAX_GROUP,
};
use crate::msg::Version;
use rvs_flowcache::ofp::OfPort;

fn bad(keyword: &str, message: impl Into<String>) -> TextError {
    TextError::BadValue { keyword: keyword.to_string(), message: message.into() }
}

fn group_type(s: &str) -> Result<GroupType, TextError> {
    Ok(match s {
        "all" => GroupType::All,
        "select" => GroupType::Select,
        "indirect" => GroupType::Indirect,
        "ff" | "fast_failover" => GroupType::FastFailover,
        _ => return Err(bad("type", format!("invalid group type {s}"))),
    })
}

/// A group id: a number up to `OFPG_MAX`, or `all`/`any` where `allow_special`.
fn group_id(s: &str, allow_special: bool) -> Result<u32, TextError> {
    if allow_special && s.eq_ignore_ascii_case("all") {
        return Ok(ALL_GROUPS);
    }
    if allow_special && s.eq_ignore_ascii_case("any") {
        return Ok(ANY_GROUP);
    }
    let v = str_to_u32(s).map_err(|e| bad("group_id", e))?;
    if v > MAX_GROUP && !(allow_special && (v == ALL_GROUPS || v == ANY_GROUP)) {
        return Err(bad("group_id", format!("invalid group id {v}")));
    }
    Ok(v)
}

/// Parses one bucket's text.
/// Parses one bucket's text; also returns its `bucket_id`, if given.
fn parse_bucket(s: &str, t: GroupType, names: Option<&dyn PortNames>) -> Result<(Bucket, Option<u32>), TextError> {
    let mut weight = None;
    let mut id = None;
    let mut bucket = Bucket::new(Vec::new());
    let mut actions = String::new();
    for (k, v) in KeyValues::new(s) {
        match k {
            "weight" => weight = Some(str_to_u32(v).ok().filter(|w| *w <= 0xffff).ok_or_else(|| bad(k, format!("invalid weight \"{v}\"")))? as u16),
            "watch_port" => {
                let p = parse_port(v, names).filter(|p| p.0 < 0xff00 || *p == OfPort::ANY);
                bucket.watch_port = p.ok_or_else(|| bad(k, format!("{v}: invalid watch_port")))?;
            }
            "watch_group" => bucket.watch_group = group_id(v, true).map_err(|_| bad(k, format!("invalid watch_group id {v}")))?,
            "bucket_id" => {
                let v = str_to_u32(v).map_err(|e| bad(k, e))?;
                if v > MAX_BUCKET {
                    return Err(bad(k, format!("invalid bucket_id id {v}")));
                }
                id = Some(v);
            }
            "action" | "actions" => {
                let _ = write!(actions, "{v},");
            }
            _ if v.is_empty() => {
                let _ = write!(actions, "{k},");
            }
            _ => {
                let _ = write!(actions, "{k}({v}),");
            }
        }
    }
    let actions = actions.trim_end_matches(',');
    bucket.actions = if actions.is_empty() { Vec::new() } else { super::parse_actions(actions, names)?.0 };
    if bucket.actions.iter().any(|a| a.is_instruction()) {
        return Err(bad("actions", "instructions are not allowed in a group bucket"));
    }
    bucket.weight = match (weight, t) {
        (Some(w), GroupType::Select) => w,
        (Some(_), _) => return Err(bad("weight", "Only select groups can have bucket weights.")),
        (None, GroupType::Select) => 1,
        (None, _) => 0,
    };
    if t == GroupType::FastFailover && bucket.watch_port == OfPort::ANY && bucket.watch_group == ANY_GROUP {
        return Err(bad("bucket", "fast failover bucket requires watch_port or watch_group"));
    }
    Ok((bucket, id))
}

/// Parses a group-mod of `command` from `ovs-ofctl` syntax (see the module documentation).
/// A delete needs no `type` or buckets, and takes `group_id=all` (the default).
pub fn parse_group_mod(s: &str, command: GroupModCommand, names: Option<&dyn PortNames>) -> Result<GroupMod, TextError> {
    let mut parts = s.split("bucket=");
    let head = parts.next().unwrap_or("");
    let mut id = None;
    let mut t = None;
    for (k, v) in KeyValues::new(head) {
        match k {
            "group_id" => id = Some(group_id(v, command == GroupModCommand::Delete)?),
            "type" => t = Some(group_type(v)?),
            "selection_method" | "selection_method_param" | "fields" | "command_bucket_id" => {
                return Err(TextError::Unsupported { keyword: k.into(), reason: "needs OpenFlow 1.5" })
            }
            _ => return Err(TextError::UnknownKeyword(k.to_string())),
        }
    }
    if command == GroupModCommand::Delete {
        return Ok(GroupMod { command, group_type: GroupType::All, group_id: id.unwrap_or(ALL_GROUPS), buckets: Vec::new() });
    }
    let group_id = id.ok_or_else(|| bad("group_id", "must specify a group_id"))?;
    let group_type = t.ok_or_else(|| bad("type", "must specify a type"))?;
    let parsed = parts.map(|b| parse_bucket(b, group_type, names)).collect::<Result<Vec<_>, _>>()?;
    let buckets = number_buckets(parsed);
    if group_type == GroupType::Indirect && buckets.len() > 1 {
        return Err(bad("bucket", "Indirect groups can have at most one bucket."));
    }
    Ok(GroupMod { command, group_type, group_id, buckets })
}

/// Gives the buckets without a `bucket_id` one, as `ovs-ofctl` does when it encodes a
/// group-mod with ids (`ofputil_encode_ofp15_group_mod`): from the first such bucket on, each
/// takes the lowest id that no later bucket names and no earlier one took. (Ids named before
/// that first bucket are not avoided, so they may repeat; the switch refuses duplicates.)
/// OpenFlow 1.3 carries no ids, so there they do not matter.
fn number_buckets(parsed: Vec<(Bucket, Option<u32>)>) -> Vec<Bucket> {
    let Some(first) = parsed.iter().position(|(_, id)| id.is_none()) else {
        return parsed.into_iter().map(|(b, id)| Bucket { bucket_id: id.unwrap_or(0), ..b }).collect();
    };
    let mut used: std::collections::BTreeSet<u32> = parsed[first..].iter().filter_map(|(_, id)| *id).collect();
    let mut next = 0u32;
    parsed
        .into_iter()
        .map(|(b, id)| {
            let bucket_id = id.unwrap_or_else(|| {
                while used.contains(&next) {
                    next += 1;
                }
                used.insert(next);
                next
            });
            Bucket { bucket_id, ..b }
        })
        .collect()
}

/// `group_id=1,type=all,bucket=actions=output:1`.
pub fn format_group(group_id: u32, t: GroupType, buckets: &[Bucket], names: Option<&dyn PortNames>) -> String {
    format_group_in(group_id, t, buckets, Version::V1_3, names)
}

/// [`format_group`] for messages of `version`: OpenFlow 1.0 carries groups in Open vSwitch's
/// Nicira messages with OpenFlow 1.5's layout, whose buckets have ids, and `ovs-ofctl` prints
/// them first (`bucket=bucket_id:0,actions=...`) and the actions in 1.0's form.
pub fn format_group_in(group_id: u32, t: GroupType, buckets: &[Bucket], version: Version, names: Option<&dyn PortNames>) -> String {
    let mut s = format!("group_id={group_id},type={}", t.name());
    let default_weight = if t == GroupType::Select { 1 } else { 0 };
    for b in buckets {
        s.push_str(",bucket=");
        if version == Version::V1_0 {
            let _ = write!(s, "bucket_id:{},", b.bucket_id);
        }
        if b.weight != default_weight {
            let _ = write!(s, "weight:{},", b.weight);
        }
        if b.watch_port != OfPort::ANY {
            let _ = write!(s, "watch_port:{},", format_port(b.watch_port, names));
        }
        if b.watch_group != ANY_GROUP {
            let _ = write!(s, "watch_group:{},", b.watch_group);
        }
        let _ = write!(s, "actions={}", format_actions(&b.actions, version, names));
    }
    s
}

/// A group description line (without the leading space) of a reply of `version`.
pub fn format_group_desc(d: &GroupDesc, version: Version, names: Option<&dyn PortNames>) -> String {
    format_group_in(d.group_id, d.group_type, &d.buckets, version, names)
}

/// A group-mod of `version` as `ovs-ofctl` prints one: ` ADD group_id=...` (a delete prints
/// the id only).
pub fn format_group_mod(gm: &GroupMod, version: Version, names: Option<&dyn PortNames>) -> String {
    match gm.command {
        GroupModCommand::Delete => format!("{} group_id={}", gm.command.name(), format_group_id(gm.group_id)),
        _ => format!("{} {}", gm.command.name(), format_group_in(gm.group_id, gm.group_type, &gm.buckets, version, names)),
    }
}

/// A group id, with `ALL` and `ANY` by name.
pub fn format_group_id(id: u32) -> String {
    match id {
        ALL_GROUPS => "ALL".into(),
        ANY_GROUP => "ANY".into(),
        n => n.to_string(),
    }
}

/// A group statistics line (without the leading space).
pub fn format_group_stats(g: &GroupStats) -> String {
    let mut s = format!("group_id={},duration={},", g.group_id, super::format_duration(g.duration_sec, g.duration_nsec));
    let _ = write!(s, "ref_count={},packet_count={},byte_count={}", g.ref_count, g.packet_count, g.byte_count);
    for (i, (p, b)) in g.buckets.iter().enumerate() {
        let _ = write!(s, ",bucket{i}:packet_count={p},byte_count={b}");
    }
    s
}

/// Names of the OpenFlow 1.3 action bits of the group features reply, as `ovs-ofctl` prints
/// them.
const ACTION_NAMES: [(u32, &str); 11] = [
    (0, "output"),
    (22, "group"),
    (25, "set_field"),
    (18, "strip_vlan"),
    (17, "push_vlan"),
    (23, "mod_nw_ttl"),
    (24, "dec_ttl"),
    (15, "set_mpls_ttl"),
    (16, "dec_mpls_ttl"),
    (19, "push_mpls"),
    (20, "pop_mpls"),
];

/// The OpenFlow 1.0 names `ovs-ofctl` prints for the action bits of an `NXST_GROUP_FEATURES`
/// reply, in its order, with the OpenFlow 1.3 bit each comes from (the model keeps 1.3's
/// numbering: `set_field` stands for the ten 1.0 field-setting actions, `pop_vlan` for
/// `strip_vlan`, `set_queue` for `enqueue`).
const ACTION_NAMES_10: [(u32, &str); 12] = [
    (0, "output"),
    (21, "enqueue"),
    (25, "set_vlan_vid"),
    (25, "set_vlan_pcp"),
    (18, "strip_vlan"),
    (25, "mod_dl_src"),
    (25, "mod_dl_dst"),
    (25, "mod_nw_src"),
    (25, "mod_nw_dst"),
    (25, "mod_nw_tos"),
    (25, "mod_tp_src"),
    (25, "mod_tp_dst"),
];

/// The group features reply body of a reply of `version`, as `ovs-ofctl dump-group-features`
/// prints it.
pub fn format_group_features_in(f: &GroupFeatures, version: Version) -> String {
    if version == Version::V1_3 {
        return format_group_features(f);
    }
    let mut s = String::from("\n Group table:\n");
    let _ = writeln!(s, "    Types:  {:#x}", f.types);
    let _ = writeln!(s, "    Capabilities:  {:#x}", f.capabilities);
    for (i, name) in ["all", "select", "indirect", "fast failover"].iter().enumerate() {
        if f.types & (1 << i) == 0 {
            continue;
        }
        let _ = writeln!(s, "    {name} group:");
        let _ = writeln!(s, "       max_groups={:#x}", f.max_groups[i]);
        s.push_str("       actions:");
        for (bit, n) in ACTION_NAMES_10 {
            if f.actions[i] & (1 << bit) != 0 {
                let _ = write!(s, " {n}");
            }
        }
        s.push('\n');
    }
    s
}

/// The group features reply body, as `ovs-ofctl dump-group-features` prints it (OpenFlow
/// 1.3).
pub fn format_group_features(f: &GroupFeatures) -> String {
    let mut s = String::from("\n Group table:\n");
    let _ = writeln!(s, "    Types:  {:#x}", f.types);
    let _ = writeln!(s, "    Capabilities:  {:#x}", f.capabilities);
    for (i, name) in ["all", "select", "indirect", "fast failover"].iter().enumerate() {
        if f.types & (1 << i) == 0 {
            continue;
        }
        let _ = writeln!(s, "    {name} group:");
        let _ = writeln!(s, "       max_groups={:#x}", f.max_groups[i]);
        s.push_str("       actions:");
        for (bit, n) in ACTION_NAMES {
            if f.actions[i] & (1 << bit) != 0 {
                let _ = write!(s, " {n}");
            }
        }
        if f.actions[i] & (1 << 21) != 0 {
            s.push_str(" set_queue");
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_flowcache::ofp::OfAction;

    fn add(s: &str) -> Result<GroupMod, String> {
        parse_group_mod(s, GroupModCommand::Add, None).map_err(|e| e.to_string())
    }

    #[test]
    fn groups_print_as_they_parse() {
        for text in [
            "group_id=1,type=all,bucket=actions=output:1,bucket=actions=output:2",
            "group_id=2,type=select,bucket=weight:10,actions=output:1,bucket=weight:20,watch_port:2,actions=output:2",
            "group_id=3,type=ff,bucket=watch_port:1,actions=output:1,bucket=watch_group:7,actions=output:2",
            "group_id=4,type=indirect,bucket=actions=dec_ttl,output:2",
            "group_id=5,type=select,bucket=actions=output:1,bucket=weight:0,actions=output:3",
            "group_id=4294967040,type=all",
        ] {
            let gm = add(text).unwrap();
            assert_eq!(format_group(gm.group_id, gm.group_type, &gm.buckets, None), text);
        }
    }

    #[test]
    fn buckets_take_plain_actions_and_default_weights() {
        let gm = add("group_id=9,type=select,bucket=output:1,bucket=weight:3,output:2").unwrap();
        assert_eq!(gm.buckets[0].weight, 1);
        assert_eq!(gm.buckets[1].weight, 3);
        assert_eq!(gm.buckets[1].actions, vec![OfAction::Output { port: OfPort(2), max_len: 0 }]);
        assert_eq!(add("group_id=9,type=all,bucket=output:1").unwrap().buckets[0].weight, 0);
    }

    #[test]
    fn errors_are_ovs_ofctls() {
        assert_eq!(add("group_id=7,type=all,bucket=weight:5,output:1").unwrap_err(), "Only select groups can have bucket weights.");
        assert_eq!(add("group_id=5,type=indirect,bucket=output:1,bucket=output:2").unwrap_err(), "Indirect groups can have at most one bucket.");
        assert_eq!(add("group_id=6,type=ff,bucket=output:1").unwrap_err(), "fast failover bucket requires watch_port or watch_group");
        assert_eq!(add("group_id=7,type=bogus,bucket=output:1").unwrap_err(), "invalid group type bogus");
        assert_eq!(add("group_id=4294967041,type=all").unwrap_err(), "invalid group id 4294967041");
        assert_eq!(add("type=all").unwrap_err(), "must specify a group_id");
        assert_eq!(add("group_id=4,type=ff,bucket=watch_port:LOCAL,output:1").unwrap_err(), "LOCAL: invalid watch_port");
    }

    #[test]
    fn bucket_ids_are_given_as_ovs_ofctl_gives_them() {
        let ids = |s: &str| add(s).unwrap().buckets.iter().map(|b| b.bucket_id).collect::<Vec<_>>();
        // What `ovs-ofctl add-group` (Open vSwitch 3.1) sent for these.
        assert_eq!(ids("group_id=1,type=all,bucket=output:1,bucket=output:2"), vec![0, 1]);
        assert_eq!(ids("group_id=1,type=all,bucket=bucket_id:7,output:1,bucket=output:2"), vec![7, 0]);
        assert_eq!(ids("group_id=1,type=all,bucket=output:1,bucket=bucket_id:0,output:2"), vec![1, 0]);
        assert_eq!(ids("group_id=1,type=all,bucket=output:1,bucket=bucket_id:5,output:2,bucket=output:3"), vec![0, 5, 1]);
        assert_eq!(ids("group_id=1,type=all,bucket=bucket_id:1,output:1,bucket=output:2,bucket=output:3"), vec![1, 0, 1]);
        assert_eq!(add("group_id=1,type=all,bucket=bucket_id:4294967041,output:1").unwrap_err(), "invalid bucket_id id 4294967041");
        let gm = add("group_id=2,type=select,bucket=bucket_id:3,weight:10,watch_port:2,output:1,bucket=output:2").unwrap();
        assert_eq!(
            format_group_mod(&gm, Version::V1_0, None),
            "ADD group_id=2,type=select,bucket=bucket_id:3,weight:10,watch_port:2,actions=output:1,bucket=bucket_id:0,actions=output:2"
        );
    }

    #[test]
    fn openflow_10_features_name_openflow_10_actions() {
        let all = (1 << 0) | (1 << 21) | (1 << 25) | (1 << 18);
        let f = GroupFeatures { types: 1, capabilities: 7, max_groups: [0xffff_ff00; 4], actions: [all; 4] };
        assert_eq!(
            format_group_features_in(&f, Version::V1_0),
            "\n Group table:\n    Types:  0x1\n    Capabilities:  0x7\n    all group:\n       max_groups=0xffffff00\n       actions: \
             output enqueue set_vlan_vid set_vlan_pcp strip_vlan mod_dl_src mod_dl_dst mod_nw_src mod_nw_dst mod_nw_tos mod_tp_src mod_tp_dst\n"
        );
    }

    #[test]
    fn deletes_default_to_every_group() {
        let d = parse_group_mod("", GroupModCommand::Delete, None).unwrap();
        assert_eq!(d.group_id, ALL_GROUPS);
        assert_eq!(format_group_mod(&d, Version::V1_3, None), "DEL group_id=ALL");
        assert_eq!(parse_group_mod("group_id=3", GroupModCommand::Delete, None).unwrap().group_id, 3);
    }

    #[test]
    fn stats_lines_are_ovs_ofctls() {
        let g = GroupStats { group_id: 8, ref_count: 1, packet_count: 2, byte_count: 3, duration_sec: 5, duration_nsec: 747_000_000, buckets: vec![(2, 3)] };
        assert_eq!(format_group_stats(&g), "group_id=8,duration=5.747s,ref_count=1,packet_count=2,byte_count=3,bucket0:packet_count=2,byte_count=3");
    }
}
