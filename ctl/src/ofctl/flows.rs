//! The flow commands: `add-flow`, `add-flows`, `mod-flows`, `del-flows`, `dump-flows`,
//! `dump-aggregate`, and the offline `parse-flow` and `parse-flows`.
//!
//! # Flow-mods
//! Flows are parsed first (with the switch's port names unless `--no-names`, fetched before
//! anything else, as `ovs-ofctl` does), then checked against the allowed protocols (`none of
//! the usable flow formats (NXM,OXM) is among the allowed flow formats (...)`), then sent one
//! by one, each followed by a barrier. The first error the switch answers is printed on
//! standard error, with the failed request inside it, and ends the run with status 1.
//!
//! # Flow dumps
//! `dump-flows` prints each reply message as it arrives (`OFPST_FLOW reply (OF1.3)
//! (xid=0x2):` and its rules) unless it must see every rule first: to sort them (`--sort`,
//! `--rsort`), to print without statistics (`--no-stats`), or to print port names; then the
//! rules print alone, one per line, never with the ages of Nicira replies. Sorting compares the criteria in order: a rule that does
//! not match on a field (or lacks its prerequisites) sorts after one that does, in either
//! direction; values compare as unsigned numbers; ties fall to descending priority.
//!
//! # Files
//! `add-flows` reads a file (`-` for standard input) line by line; `#` starts a comment,
//! blank lines are skipped, and each line may begin with `add`, `modify`, `delete`,
//! `modify_strict` or `delete_strict`. Errors name the file and line (`flows.txt:5: unknown
//! keyword foo`).

use std::cmp::Ordering;
use std::io::{BufRead, BufReader, Read};

use rvs_openflow::msg::{MultipartReply, MultipartRequest, NxStatsReply, NxStatsRequest, OfMessage};
use rvs_openflow::stats::FlowStats;
use rvs_openflow::text::{
    self as flowtext, parse_flow_line, parse_flow_stats_request, FlowFormatter, ParsedFlow, PortNames,
};
use rvs_openflow::{FlowModCommand, OfError};

use super::commands::{dump_transaction, emit, Io};
use super::conn::{fatal_io, io_text, multipart_more, stats_reply_type, type_of, xid_of, Fatal};
use super::names::PortMap;
use super::options::SortKey;
use super::print::ofp_to_string;
use rvs_openflow::protocols::{usable_for_flow, usable_for_stats, usable_protocols, Protocols};
use super::session::Session;

/// The protocols the `-O` versions allow.
pub(crate) fn allowed(s: &Session) -> Protocols {
    Protocols::of_versions(s.opts.versions).and(s.opts.protocols)
}

fn names_of(map: &Option<PortMap>) -> Option<&dyn PortNames> {
    map.as_ref().map(|m| m as &dyn PortNames)
}

/// One parsed flow-mod and the protocols that can carry it.
pub(crate) struct Parsed {
    pub(crate) flow: ParsedFlow,
    pub(crate) usable: Protocols,
}

fn parse_one(text: &str, command: Option<FlowModCommand>, names: Option<&dyn PortNames>) -> Result<Parsed, String> {
    let flow = match command {
        Some(c) => flowtext::parse_flow(text, c, names),
        None => parse_flow_line(text, names),
    }
    .map_err(|e| e.to_string())?;
    let usable = usable_for_flow(text, &flow, names);
    Ok(Parsed { flow, usable })
}

/// Lines of a flow file as `ds_get_preprocessed_line` yields them: `(line number, text)`
/// with comments cut and blank lines skipped.
pub(crate) fn preprocessed_lines(reader: impl Read) -> std::io::Result<Vec<(usize, String)>> {
    let mut out = Vec::new();
    for (i, line) in BufReader::new(reader).split(b'\n').enumerate() {
        let line = String::from_utf8_lossy(&line?).into_owned();
        let line = match line.find('#') {
            Some(at) => line[..at].to_string(),
            None => line,
        };
        if line.trim_matches([' ', '\t', '\n']).is_empty() {
            continue;
        }
        out.push((i + 1, line));
    }
    Ok(out)
}

/// `parse_ofp_flow_mod_file`: every flow of `file`; `command` `None` lets each line choose.
pub(crate) fn parse_file(
    file: &str,
    command: Option<FlowModCommand>,
    names: Option<&dyn PortNames>,
) -> Result<Vec<Parsed>, Fatal> {
    let lines = if file == "-" {
        preprocessed_lines(std::io::stdin().lock())
    } else {
        std::fs::File::open(file).and_then(preprocessed_lines)
    }
    .map_err(|e| Fatal(format!("{file}: open failed ({})", io_text(&e))))?;
    lines
        .iter()
        .map(|(n, line)| parse_one(line, command, names).map_err(|e| Fatal(format!("{file}:{n}: {e}"))))
        .collect()
}

/// `ofctl_flow_mod__`: checks protocols, connects, and sends each flow-mod with a barrier.
fn send_flow_mods(s: &mut Session, target: &str, flows: Vec<Parsed>, io: &mut Io<'_>) -> Result<i32, Fatal> {
    let usable = flows.iter().fold(Protocols::ANY, |p, f| p.and(f.usable));
    let allowed = allowed(s);
    if usable.and(allowed).is_empty() {
        return Err(Fatal(format!(
            "none of the usable flow formats ({usable}) is among the allowed flow formats ({allowed})"
        )));
    }
    let mut conn = s.open(target)?;
    // `open_vconn_for_flow_mod`: keep the connection's protocol if it will do, else try the
    // others in order.
    if usable.and(allowed).and(conn.protocol()).is_empty() {
        let mut chosen = false;
        for bit in 0..9 {
            let f = Protocols(1 << bit);
            if f != conn.protocol() && !f.and(usable).and(allowed).is_empty() && conn.try_set_protocol(f, &mut s.xids)? {
                chosen = true;
                break;
            }
        }
        if !chosen {
            return Err(Fatal(format!("switch does not support any of the usable flow formats ({usable})")));
        }
    }
    if s.opts.bundle {
        let msgs = flows.into_iter().map(|f| OfMessage::flow_mod(f.flow.flow_mod)).collect();
        return super::bundle::bundle_transact(s, &mut conn, msgs, io);
    }
    for f in flows {
        if let Some(reply) = conn.transact_noreply(&OfMessage::flow_mod(f.flow.flow_mod), &mut s.xids)? {
            let name = conn.name().to_string();
            let ports = s.maps_to_show(&name)?;
            emit(io.err, &ofp_to_string(&reply, ports.as_ref(), s.opts.verbosity + 2))?;
            return Ok(1);
        }
    }
    Ok(0)
}

fn flow_mod_command(s: &mut Session, args: &[String], command: FlowModCommand, io: &mut Io<'_>) -> Result<i32, Fatal> {
    let target = &args[1];
    let text = args.get(2).map_or("", String::as_str);
    let map = s.maps_to_accept(target)?;
    let flows = if text == "-" {
        parse_file("-", Some(command), names_of(&map))?
    } else {
        vec![parse_one(text, Some(command), names_of(&map)).map_err(Fatal)?]
    };
    send_flow_mods(s, target, flows, io)
}

pub(crate) fn add_flow(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    if args[2] == "-" {
        return add_flows(s, args, io);
    }
    flow_mod_command(s, args, FlowModCommand::Add, io)
}

pub(crate) fn add_flows(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    let target = &args[1];
    let map = s.maps_to_accept(target)?;
    let flows = parse_file(&args[2], None, names_of(&map))?;
    send_flow_mods(s, target, flows, io)
}

pub(crate) fn mod_flows(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    let c = if s.opts.strict { FlowModCommand::ModifyStrict } else { FlowModCommand::Modify };
    flow_mod_command(s, args, c, io)
}

pub(crate) fn del_flows(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    let c = if s.opts.strict { FlowModCommand::DeleteStrict } else { FlowModCommand::Delete };
    flow_mod_command(s, args, c, io)
}

/// `prepare_dump_flows`: parses the filter, connects, and checks the protocol.
fn prepare_dump(
    s: &mut Session,
    args: &[String],
    aggregate: bool,
) -> Result<(super::conn::Connection, OfMessage), Fatal> {
    prepare_dump_for(s, args, aggregate, Protocols::ANY)
}

/// [`prepare_dump`], with the protocols that flows to be sent afterwards need (`usable`).
pub(crate) fn prepare_dump_for(
    s: &mut Session,
    args: &[String],
    aggregate: bool,
    also_usable: Protocols,
) -> Result<(super::conn::Connection, OfMessage), Fatal> {
    let target = &args[1];
    let filter = args.get(2).map_or("", String::as_str);
    let map = if filter.is_empty() {
        None
    } else {
        let ports = s.ports_to_accept(target)?;
        s.tables_to_accept(target)?;
        ports
    };
    let (request, rvs_usable) = parse_flow_stats_request(filter, names_of(&map)).map_err(|e| Fatal(e.to_string()))?;
    let usable =
        usable_for_stats(usable_protocols(filter, Some(&request.match_), &[], rvs_usable, names_of(&map))).and(also_usable);
    let mut conn = s.open(target)?;
    let allowed = allowed(s);
    // `set_protocol_for_flow_dump`: the first of the dump protocols the flow and the options
    // allow and the switch accepts.
    let mut chosen = None;
    for f in Protocols::FLOW_DUMP_ORDER {
        if !f.and(usable).and(allowed).is_empty() && conn.try_set_protocol(f, &mut s.xids)? {
            chosen = Some(f);
            break;
        }
    }
    let Some(protocol) = chosen else {
        return Err(if usable.and(allowed).is_empty() {
            Fatal(format!("none of the usable flow formats ({usable}) is among the allowed flow formats ({allowed})"))
        } else {
            Fatal(format!("switch does not support any of the usable flow formats ({usable})"))
        });
    };
    let msg = if protocol == Protocols::OF10_NXM {
        let request = if aggregate { NxStatsRequest::Aggregate(request) } else { NxStatsRequest::Flow(request) };
        OfMessage::NxStatsRequest { flags: 0, request }
    } else {
        let request = if aggregate { MultipartRequest::Aggregate(request) } else { MultipartRequest::Flow(request) };
        OfMessage::MultipartRequest { flags: 0, request }
    };
    Ok((conn, msg))
}

pub(crate) fn dump_aggregate(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    let (mut conn, request) = prepare_dump(s, args, true)?;
    dump_transaction(s, &mut conn, &request, io)?;
    Ok(0)
}

/// Compares two rules by the sort criteria (`compare_flows`).
fn compare_flows(a: &FlowStats, b: &FlowStats, criteria: &[SortKey]) -> Ordering {
    for c in criteria {
        let ord = match c.field {
            None => a.priority.cmp(&b.priority),
            Some(f) => {
                let has = |fs: &FlowStats| f.desc().prereq.holds(&fs.match_.key) && fs.match_.get(f).is_some();
                let (ina, inb) = (has(a), has(b));
                if ina != inb {
                    return if ina { Ordering::Less } else { Ordering::Greater };
                }
                f.get(&a.match_.key).cmp(&f.get(&b.match_.key))
            }
        };
        if ord != Ordering::Equal {
            return if c.ascending { ord } else { ord.reverse() };
        }
    }
    Ordering::Equal
}

pub(crate) fn dump_flows(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    if s.opts.sort.is_empty() && !s.show_names() && s.opts.stats {
        let (mut conn, request) = prepare_dump(s, args, false)?;
        dump_transaction(s, &mut conn, &request, io)?;
        return Ok(0);
    }
    let (mut conn, request) = prepare_dump(s, args, false)?;
    let mut flows = collect_flows(s, &mut conn, &request)?;
    let criteria = s.opts.sort.clone();
    flows.sort_by(|a, b| compare_flows(a, b, &criteria));
    let target = args[1].clone();
    for fs in &flows {
        s.tables_to_show(&target)?;
        let ports = s.ports_to_show(&target)?;
        let f = FlowFormatter { version: conn.version(), no_stats: !s.opts.stats, names: names_of(&ports) };
        emit(io.out, &format!(" {}\n", f.flow_stats(fs)))?;
    }
    Ok(0)
}

/// `vconn_dump_flows`: sends a flow statistics request and gathers every rule of the
/// replies, without the ages Nicira replies carry (it decodes without the flow age
/// extension, so such dumps never print `idle_age`/`hard_age`).
pub(crate) fn collect_flows(
    s: &mut Session,
    conn: &mut super::conn::Connection,
    request: &OfMessage,
) -> Result<Vec<FlowStats>, Fatal> {
    let sent = conn.send(request, &mut s.xids)?;
    let xid = xid_of(&sent);
    let mut flows: Vec<FlowStats> = Vec::new();
    loop {
        let reply = conn.recv_xid(xid).map_err(|e| fatal_io("dump flows", &e))?;
        match conn.session().decode(&reply) {
            Ok((_, OfMessage::MultipartReply { reply: MultipartReply::Flow(f), .. })) => flows.extend(f),
            Ok((_, OfMessage::NxStatsReply { reply: NxStatsReply::Flow(f), .. })) => {
                flows.extend(f.into_iter().map(|n| n.stats))
            }
            Ok((_, OfMessage::Error(e))) => return Err(Fatal(format!("dump flows ({})", e.error))),
            Ok(_) => {
                return Err(Fatal(format!(
                    "dump flows ({})",
                    OfError::BadRequest(rvs_openflow::error::BadRequest::BadType)
                )))
            }
            Err(e) => return Err(Fatal(format!("dump flows ({})", e.error))),
        }
        if type_of(&reply) != stats_reply_type(conn.version()) || !multipart_more(&reply) {
            break;
        }
    }
    Ok(flows)
}

/// `ofctl_parse_flows__`: the usable and chosen protocols, then each flow-mod as it would be
/// sent, printed back.
fn print_parsed(s: &mut Session, flows: Vec<Parsed>, io: &mut Io<'_>) -> Result<i32, Fatal> {
    let usable = flows.iter().fold(Protocols::ANY, |p, f| p.and(f.usable));
    emit(io.out, &format!("usable protocols: {usable}\n"))?;
    let Some(chosen) = usable.and(allowed(s)).first() else {
        return Err(Fatal("no usable protocol".into()));
    };
    emit(io.out, &format!("chosen protocol: {chosen}\n"))?;
    let Some(session) = chosen.session() else {
        return Err(Fatal(format!("{chosen}: rvs-ofctl encodes only OpenFlow 1.0 and 1.3")));
    };
    for f in flows {
        let bytes =
            session.encode(&OfMessage::flow_mod(f.flow.flow_mod), s.xids.alloc()).map_err(|e| Fatal(e.to_string()))?;
        emit(io.out, &ofp_to_string(&bytes, None, s.opts.verbosity))?;
    }
    Ok(0)
}

pub(crate) fn parse_flow(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    let flow = parse_one(&args[1], Some(FlowModCommand::Add), None).map_err(Fatal)?;
    print_parsed(s, vec![flow], io)
}

pub(crate) fn parse_flows(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    let flows = parse_file(&args[1], Some(FlowModCommand::Add), None)?;
    print_parsed(s, flows, io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_flowcache::Field;

    #[test]
    fn files_drop_comments_and_blank_lines() {
        let text = "in_port=1,actions=2\n\n# comment\n  \t\nfoo=1,actions=2 # x\n\r\n";
        let lines = preprocessed_lines(text.as_bytes()).unwrap();
        assert_eq!(
            lines,
            vec![(1, "in_port=1,actions=2".to_string()), (5, "foo=1,actions=2 ".to_string()), (6, "\r".to_string())]
        );
    }

    fn stats(flow: &str) -> FlowStats {
        let fm = flowtext::parse_flow(flow, FlowModCommand::Add, None).unwrap().flow_mod;
        FlowStats {
            table_id: 0,
            duration_sec: 0,
            duration_nsec: 0,
            priority: fm.priority,
            idle_timeout: 0,
            hard_timeout: 0,
            flags: 0,
            importance: 0,
            cookie: 0,
            packet_count: 0,
            byte_count: 0,
            match_: fm.match_,
            actions: fm.actions,
        }
    }

    #[test]
    fn sorting_puts_rules_without_the_field_last() {
        let mut v = [
            stats("priority=1,actions=1"),
            stats("tcp,tp_dst=80,actions=1"),
            stats("tcp,tp_dst=22,actions=1"),
            stats("priority=9,actions=1"),
        ];
        let asc = [SortKey { field: Some(Field::TcpDst), ascending: true }, SortKey { field: None, ascending: false }];
        v.sort_by(|a, b| compare_flows(a, b, &asc));
        let order: Vec<(u16, u128)> = v.iter().map(|f| (f.priority, Field::TcpDst.get(&f.match_.key))).collect();
        assert_eq!(order, vec![(32768, 22), (32768, 80), (9, 0), (1, 0)]);
        let desc =
            [SortKey { field: Some(Field::TcpDst), ascending: false }, SortKey { field: None, ascending: false }];
        v.sort_by(|a, b| compare_flows(a, b, &desc));
        let order: Vec<u128> = v.iter().map(|f| Field::TcpDst.get(&f.match_.key)).collect();
        assert_eq!(order, vec![80, 22, 0, 0]);
    }
}
