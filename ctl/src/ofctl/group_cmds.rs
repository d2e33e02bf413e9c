//! The group commands: `add-group`, `add-groups`, `mod-group`, `del-groups`, `dump-groups`,
//! `dump-group-stats` and `dump-group-features`, as `ovs-ofctl` runs them.
//!
//! * Group-mods (`ofctl_group_mod`): the argument (or each line of the file, comments and
//!   blank lines skipped) is parsed with the switch's port names, which costs the same table
//!   features and port description requests as a flow-mod; then a new connection sends each
//!   group-mod with a barrier. A switch error is printed on standard error and ends the run
//!   with status 1.
//! * `dump-groups [GROUP]`: one group description request. `ovs-ofctl` 3.1 reads the
//!   argument as a group id (a number, `ANY` or `ALL`; anything else means all groups, with a
//!   warning, which `ovs-ofctl` logs and rvs-ofctl prints on standard error); over OpenFlow 1.0 it asks for the group it names (the request
//!   has OpenFlow 1.5's layout), over OpenFlow 1.3 for every group whatever it names; so
//!   does rvs-ofctl.
//! * `dump-group-stats [GROUP]`: the argument is read with port names (as `ovs-ofctl` does),
//!   then one group statistics request on a new connection.
//! * `dump-group-features`: one request.
//!
//! OpenFlow 1.0 has no groups: there, as `ovs-ofctl` does, these commands use Open vSwitch's
//! Nicira group messages, which have OpenFlow 1.5's layout and carry bucket ids
//! (`rvs_openflow::v10`).

use rvs_openflow::group::{GroupMod, GroupModCommand, ALL_GROUPS};
use rvs_openflow::msg::{MultipartRequest, OfMessage, Version};
use rvs_openflow::text::group::parse_group_mod;
use rvs_openflow::text::PortNames;

use super::commands::{dump_transaction, emit, Io};
use super::conn::{io_text, Connection, Fatal};
use super::flows::preprocessed_lines;
use super::names::PortMap;
use super::print::ofp_to_string;
use super::session::Session;

fn names_of(map: &Option<PortMap>) -> Option<&dyn PortNames> {
    map.as_ref().map(|m| m as &dyn PortNames)
}

/// Opens a connection for group messages.
fn open_for_groups(s: &mut Session, target: &str) -> Result<Connection, Fatal> {
    s.open(target)
}

/// `ofctl_group_mod__`: one connection, each group-mod with a barrier.
fn send_group_mods(s: &mut Session, target: &str, gms: Vec<GroupMod>, io: &mut Io<'_>) -> Result<i32, Fatal> {
    let mut conn = open_for_groups(s, target)?;
    for gm in gms {
        if let Some(reply) = conn.transact_noreply(&OfMessage::GroupMod(gm), &mut s.xids)? {
            let name = conn.name().to_string();
            let ports = s.maps_to_show(&name)?;
            emit(io.err, &ofp_to_string(&reply, ports.as_ref(), s.opts.verbosity + 2))?;
            return Ok(1);
        }
    }
    Ok(0)
}

fn group_mod_command(s: &mut Session, args: &[String], command: GroupModCommand, io: &mut Io<'_>) -> Result<i32, Fatal> {
    let target = &args[1];
    let text = args.get(2).map_or("", String::as_str);
    let map = s.maps_to_accept(target)?;
    let gm = parse_group_mod(text, command, names_of(&map)).map_err(|e| Fatal(e.to_string()))?;
    send_group_mods(s, target, vec![gm], io)
}

pub(crate) fn add_group(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    group_mod_command(s, args, GroupModCommand::Add, io)
}

pub(crate) fn mod_group(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    group_mod_command(s, args, GroupModCommand::Modify, io)
}

pub(crate) fn del_groups(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    group_mod_command(s, args, GroupModCommand::Delete, io)
}

pub(crate) fn add_groups(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    let (target, file) = (&args[1], &args[2]);
    let map = s.maps_to_accept(target)?;
    let lines = if file == "-" {
        preprocessed_lines(std::io::stdin().lock())
    } else {
        std::fs::File::open(file).and_then(preprocessed_lines)
    }
    .map_err(|e| Fatal(format!("{file}: open failed ({})", io_text(&e))))?;
    let gms = lines
        .iter()
        .map(|(n, line)| parse_group_mod(line, GroupModCommand::Add, names_of(&map)).map_err(|e| Fatal(format!("{file}:{n}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    send_group_mods(s, target, gms, io)
}

/// `ofputil_group_from_string`: a 32-bit number, or `ANY` or `ALL` (any case).
fn parse_group_id(s: &str) -> Option<u32> {
    if s.eq_ignore_ascii_case("all") {
        return Some(ALL_GROUPS);
    }
    if s.eq_ignore_ascii_case("any") {
        return Some(rvs_openflow::group::ANY_GROUP);
    }
    s.parse().ok()
}

fn mp(request: MultipartRequest) -> OfMessage {
    OfMessage::MultipartRequest { flags: 0, request }
}

pub(crate) fn dump_groups(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    let target = &args[1];
    let mut group_id = ALL_GROUPS;
    if let Some(arg) = args.get(2) {
        match parse_group_id(arg) {
            Some(id) => group_id = id,
            None => {
                let _ = writeln!(
                    io.err,
                    "{arg} is not a valid group ID.  (Valid group IDs are 32-bit nonnegative integers or the keywords ANY or ALL.)"
                );
            }
        }
    }
    let mut conn = open_for_groups(s, target)?;
    if conn.version() != Version::V1_0 {
        group_id = ALL_GROUPS;
    }
    dump_transaction(s, &mut conn, &mp(MultipartRequest::GroupDesc { group_id }), io)?;
    Ok(0)
}

pub(crate) fn dump_group_stats(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    let target = &args[1];
    let map = s.maps_to_accept(target)?;
    let group_id = match args.get(2) {
        Some(arg) => parse_group_mod(arg, GroupModCommand::Delete, names_of(&map)).map_err(|e| Fatal(e.to_string()))?.group_id,
        None => ALL_GROUPS,
    };
    let mut conn = open_for_groups(s, target)?;
    dump_transaction(s, &mut conn, &mp(MultipartRequest::Group { group_id }), io)?;
    Ok(0)
}

pub(crate) fn dump_group_features(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    let mut conn = open_for_groups(s, &args[1])?;
    dump_transaction(s, &mut conn, &mp(MultipartRequest::GroupFeatures), io)?;
    Ok(0)
}
