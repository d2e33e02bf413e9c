//! The commands of `rvs-ofctl` that read a switch's state (`show`, `dump-desc`,
//! `dump-tables`, `dump-table-features`, `dump-ports`, `dump-ports-desc`), the command table,
//! and the transaction helper they share with the flow commands ([`super::flows`]) and the
//! port commands ([`super::port_cmds`]).
//!
//! Each command follows its `ovs-ofctl` counterpart step by step, connections and xids
//! included (see [`super::session`]), so that what it prints is byte for byte what
//! `ovs-ofctl` prints. Output goes to the writers given; a [`Fatal`] is printed
//! by the caller after the program name.

use std::io::Write;

use rvs_openflow::msg::{decode, MultipartRequest, OfMessage, Version};
use rvs_openflow::OfPort;

use super::conn::{fatal_io, multipart_more, stats_reply_type, type_of, xid_of, Connection, Fatal};
use super::flow_diff;
use super::flows;
use super::monitor_cmd;
use super::group_cmds;
use super::port_cmds;
use super::names::parse_port;
use super::print::features::{Features, TablePrinter};
use super::print::ofp_to_string;
use super::session::Session;

const OFPT_ERROR: u8 = 1;

/// Where a command writes.
pub struct Io<'a> {
    /// Standard output.
    pub out: &'a mut dyn Write,
    /// Standard error.
    pub err: &'a mut dyn Write,
}

/// Writes to an output stream; a failed write (a closed pipe) ends the command.
pub(crate) fn emit(w: &mut dyn Write, text: &str) -> Result<(), Fatal> {
    w.write_all(text.as_bytes()).map_err(|e| fatal_io("write failed", &e))
}

type Handler = fn(&mut Session, &[String], &mut Io<'_>) -> Result<i32, Fatal>;

/// `(name, least and most arguments after the command, handler)`.
const COMMANDS: &[(&str, usize, usize, Handler)] = &[
    ("show", 1, 1, show),
    ("dump-desc", 1, 1, dump_desc),
    ("dump-tables", 1, 1, dump_tables),
    ("dump-table-features", 1, 1, dump_table_features),
    ("dump-flows", 1, 2, flows::dump_flows),
    ("dump-aggregate", 1, 2, flows::dump_aggregate),
    ("add-flow", 2, 2, flows::add_flow),
    ("add-flows", 2, 2, flows::add_flows),
    ("mod-flows", 2, 2, flows::mod_flows),
    ("del-flows", 1, 2, flows::del_flows),
    ("dump-ports", 1, 2, dump_ports),
    ("dump-ports-desc", 1, 2, dump_ports_desc),
    ("mod-port", 3, 3, port_cmds::mod_port),
    ("packet-out", 1, usize::MAX, port_cmds::packet_out),
    ("add-group", 2, 2, group_cmds::add_group),
    ("add-groups", 2, 2, group_cmds::add_groups),
    ("mod-group", 2, 2, group_cmds::mod_group),
    ("del-groups", 1, 2, group_cmds::del_groups),
    ("dump-groups", 1, 2, group_cmds::dump_groups),
    ("dump-group-stats", 1, 2, group_cmds::dump_group_stats),
    ("dump-group-features", 1, 1, group_cmds::dump_group_features),
    ("replace-flows", 2, 2, flow_diff::replace_flows),
    ("diff-flows", 2, 2, flow_diff::diff_flows),
    ("monitor", 1, 3, monitor_cmd::monitor),
    ("snoop", 1, 1, monitor_cmd::snoop),
    ("parse-flow", 1, 1, flows::parse_flow),
    ("parse-flows", 1, 1, flows::parse_flows),
];

/// `ovs-ofctl` commands rvs-ofctl does not implement.
const NOT_IMPLEMENTED: &[&str] = &[
    "dump-table-desc",
    "queue-stats",
    "queue-get-config",
    "add-meter",
    "mod-meter",
    "del-meter",
    "del-meters",
    "dump-meter",
    "dump-meters",
    "meter-stats",
    "meter-features",
    "mod-table",
    "get-frags",
    "set-frags",
    "probe",
    "ping",
    "benchmark",
    "dump-ipfix-bridge",
    "dump-ipfix-flow",
    "ct-flush-zone",
    "ct-flush",
    "ofp-parse",
    "ofp-parse-pcap",
    "insert-buckets",
    "remove-buckets",
    "bundle",
    "add-tlv-map",
    "del-tlv-map",
    "dump-tlv-map",
    "parse-nx-match",
    "parse-nxm",
    "parse-oxm",
    "parse-actions",
    "parse-instructions",
    "parse-ofp10-match",
    "parse-ofp11-match",
    "parse-pcap",
    "check-vlan",
    "print-error",
    "encode-error-reply",
    "ofp-print",
    "encode-hello",
    "parse-key-value",
    "list-commands",
    "help",
];

/// Runs the command `args[0]` with its arguments; returns the exit status.
pub fn run(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    let Some(name) = args.first() else {
        return Err(Fatal("missing command name; use --help for help".into()));
    };
    let Some(&(_, min, max, handler)) = COMMANDS.iter().find(|c| c.0 == name) else {
        if NOT_IMPLEMENTED.contains(&name.as_str()) {
            return Err(Fatal(format!("'{name}' command is not supported by rvs-ofctl")));
        }
        return Err(Fatal(format!("unknown command '{name}'; use --help for help")));
    };
    let n = args.len() - 1;
    if n < min {
        return Err(Fatal(format!("'{name}' command requires at least {min} arguments")));
    }
    if n > max {
        return Err(Fatal(format!("'{name}' command takes at most {max} arguments")));
    }
    handler(s, args, io)
}

/// `dump_transaction`: sends `request` and prints its replies. A multipart request's replies
/// are printed until one without the "more" flag or an error; anything else with the
/// request's xid is printed and ends the run as a bad reply.
pub(crate) fn dump_transaction(
    s: &mut Session,
    conn: &mut Connection,
    request: &OfMessage,
    io: &mut Io<'_>,
) -> Result<(), Fatal> {
    let verbosity = s.opts.verbosity + 1;
    if let OfMessage::MultipartRequest { .. } = request {
        let sent = conn.send(request, &mut s.xids)?;
        let (xid, mp_type) = (xid_of(&sent), [sent[8], sent[9]]);
        loop {
            let reply = conn.recv_xid(xid).map_err(|e| fatal_io("OpenFlow packet receive failed", &e))?;
            let ports = s.maps_to_show(conn.name())?;
            emit(io.out, &ofp_to_string(&reply, ports.as_ref(), verbosity))?;
            if type_of(&reply) == OFPT_ERROR {
                return Ok(());
            }
            if type_of(&reply) == stats_reply_type(conn.version()) && reply.len() >= 12 && [reply[8], reply[9]] == mp_type {
                if !multipart_more(&reply) {
                    return Ok(());
                }
                continue;
            }
            return Err(Fatal(format!("received bad reply: {}", ofp_to_string(&reply, ports.as_ref(), verbosity))));
        }
    }
    let name = conn.name().to_string();
    let reply = conn.transact(request, &mut s.xids, &name)?;
    let ports = s.maps_to_show(&name)?;
    emit(io.out, &ofp_to_string(&reply, ports.as_ref(), verbosity))
}

/// `dump_trivial_transaction`: a new connection to `target` for one request.
fn dump_trivial(s: &mut Session, target: &str, request: &OfMessage, io: &mut Io<'_>) -> Result<(), Fatal> {
    let mut conn = s.open(target)?;
    dump_transaction(s, &mut conn, request, io)
}

fn mp(request: MultipartRequest) -> OfMessage {
    OfMessage::MultipartRequest { flags: 0, request }
}

/// `show`: features, then port descriptions unless the features listed the ports (OpenFlow
/// 1.0 does, unless the list may have been cut short by the message size), then the switch
/// configuration over a second connection.
fn show(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    let target = &args[1];
    let mut conn = s.open(target)?;
    let mut features = conn.transact(&OfMessage::FeaturesRequest, &mut s.xids, target)?;
    // `ofputil_switch_features_has_ports`.
    let has_ports = features[0] == 0x01 && features.len() + rvs_openflow::v10::stats::PHY_PORT_LEN <= 0xffff;
    if features[0] == 0x01 && !has_ports && features.len() >= 32 {
        features.truncate(32);
        features[2..4].copy_from_slice(&32u16.to_be_bytes());
    }
    emit(io.out, &ofp_to_string(&features, None, s.opts.verbosity + 1))?;
    if !has_ports {
        dump_transaction(s, &mut conn, &mp(MultipartRequest::PortDesc), io)?;
    }
    dump_trivial(s, target, &OfMessage::GetConfigRequest, io)?;
    Ok(0)
}

fn dump_desc(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    dump_trivial(s, &args[1], &mp(MultipartRequest::Desc), io)?;
    Ok(0)
}

fn dump_tables(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    dump_trivial(s, &args[1], &mp(MultipartRequest::Table), io)?;
    Ok(0)
}

/// `dump-table-features`: the tables of every reply message are compared with the previous
/// table across messages, so runs of identical tables print once.
fn dump_table_features(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    let target = &args[1];
    let mut conn = s.open(target)?;
    if conn.version() < Version::V1_3 {
        return Err(Fatal("dump-table-features needs OpenFlow 1.3 or later ('-O OpenFlow13')".into()));
    }
    let sent = conn.send(&mp(MultipartRequest::TableFeatures(Vec::new())), &mut s.xids)?;
    let xid = xid_of(&sent);
    let mut printer = TablePrinter::new();
    let mut text = String::new();
    loop {
        let reply = conn.recv_xid(xid).map_err(|e| fatal_io("OpenFlow packet receive failed", &e))?;
        if type_of(&reply) == OFPT_ERROR {
            emit(io.out, &ofp_to_string(&reply, None, s.opts.verbosity + 1))?;
            break;
        }
        match decode(&reply) {
            Ok((
                _,
                OfMessage::MultipartReply { reply: rvs_openflow::msg::MultipartReply::TableFeatures(tables), .. },
            )) if tables.is_empty() => {
                return Err(Fatal("decode error: OFPBRC_BAD_LEN".into()));
            }
            Ok((
                _,
                OfMessage::MultipartReply { more, reply: rvs_openflow::msg::MultipartReply::TableFeatures(tables) },
            )) => {
                for tf in &tables {
                    let f = Features::from_wire(tf).map_err(|e| Fatal(format!("decode error: {e}")))?;
                    printer.table(&mut text, f);
                }
                if !more {
                    break;
                }
            }
            Err(e) => return Err(Fatal(format!("decode error: {}", e.error))),
            Ok(_) => {
                let ports = s.maps_to_show(target)?;
                return Err(Fatal(format!(
                    "received bad reply: {}",
                    ofp_to_string(&reply, ports.as_ref(), s.opts.verbosity + 1)
                )));
            }
        }
    }
    printer.finish(&mut text);
    emit(io.out, text.strip_prefix('\n').unwrap_or(&text))?;
    emit(io.out, "\n")?;
    Ok(0)
}

/// `str_to_port_no`: a port number or reserved name, or a name from the switch's ports.
fn port_arg(s: &mut Session, target: &str, arg: &str) -> Result<OfPort, Fatal> {
    if let Some(p) = parse_port(arg, None) {
        return Ok(p);
    }
    let map = s.ports_to_accept(target)?;
    parse_port(arg, map.as_ref()).ok_or_else(|| Fatal(format!("{target}: unknown port `{arg}'")))
}

fn dump_ports(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    let target = &args[1];
    let mut conn = s.open(target)?;
    let port_no = match args.get(2) {
        Some(a) => port_arg(s, target, a)?,
        None => OfPort::ANY,
    };
    dump_transaction(s, &mut conn, &mp(MultipartRequest::PortStats { port_no }), io)?;
    Ok(0)
}

/// `dump-ports-desc [PORT]`: OpenFlow 1.3 cannot ask for one port, so every port is listed
/// (the argument is still checked), as with `ovs-ofctl`.
fn dump_ports_desc(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    let target = &args[1];
    let mut conn = s.open(target)?;
    if let Some(a) = args.get(2) {
        port_arg(s, target, a)?;
    }
    dump_transaction(s, &mut conn, &mp(MultipartRequest::PortDesc), io)?;
    Ok(0)
}

/// The text of `rvs-ofctl --help`.
pub const USAGE: &str = "\
rvs-ofctl: OpenFlow switch management utility
usage: rvs-ofctl [OPTIONS] COMMAND [ARG...]

For OpenFlow switches:
  show SWITCH                 show OpenFlow information
  dump-desc SWITCH            print switch description
  dump-tables SWITCH          print table stats
  dump-table-features SWITCH  print table features
  dump-ports SWITCH [PORT]    print port statistics
  dump-ports-desc SWITCH [PORT]  print port descriptions
  dump-flows SWITCH           print all flow entries
  dump-flows SWITCH FLOW      print matching FLOWs
  dump-aggregate SWITCH       print aggregate flow statistics
  dump-aggregate SWITCH FLOW  print aggregate stats for FLOWs
  add-flow SWITCH FLOW        add flow described by FLOW
  add-flows SWITCH FILE       add flows from FILE
  mod-flows SWITCH FLOW       modify actions of matching FLOWs
  del-flows SWITCH [FLOW]     delete matching FLOWs
  replace-flows SWITCH FILE   replace flows with those in FILE
  diff-flows SOURCE1 SOURCE2  compare flows from two sources
  mod-port SWITCH IFACE ACT   modify port behavior
  monitor SWITCH [MISS_LEN] [watch:[SPEC...]]
                              print packets received from SWITCH
  snoop SWITCH                snoop on SWITCH and its controller
  packet-out SWITCH IN_PORT ACTIONS PACKET...
                              execute ACTIONS on PACKET
  add-group SWITCH GROUP      add group described by GROUP
  add-groups SWITCH FILE      add group from FILE
  mod-group SWITCH GROUP      modify specific group
  del-groups SWITCH [GROUP]   delete matching GROUPs
  dump-groups SWITCH [GROUP]  print group descriptions
  dump-group-stats SWITCH [GROUP]  print group statistics
  dump-group-features SWITCH  print group features
SWITCH is a bridge name (its socket $RVS_RUNDIR/SWITCH.mgmt), the path of a
socket, unix:PATH, or tcp:IP[:PORT].

Other commands:
  parse-flow FLOW             print FLOW as it would be sent
  parse-flows FILE            print the flows in FILE as they would be sent

Options:
  -O, --protocols=VERSIONS    OpenFlow versions to allow (OpenFlow10, the default,
                              and OpenFlow13)
  -F, --flow-format=FORMAT    force particular flow format
  --strict                    use strict match for flow commands
  --bundle                    use a bundle for flow-mods (needs -O OpenFlow13)
  -m, --more                  be more verbose printing OpenFlow
  -t, --timeout=SECS          give up after SECS seconds
  --sort[=field]              sort in ascending order
  --rsort[=field]             sort in descending order
  --names                     show port names instead of numbers
  --no-names                  show port numbers, and accept only numbers
  --no-stats                  do not show statistics in flow dumps
  -h, --help                  display this help message
  -V, --version               display version information
";
