//! Printing OpenFlow messages exactly as `ovs-ofctl` prints them (Open vSwitch's
//! `ofp_to_string`).
//!
//! # Layout
//! A message prints as a header line, `NAME (OF1.3) (xid=0x5):` (no version for OpenFlow
//! 1.0), followed by a body that depends on the type: on the same line for short messages
//! (`OFPT_ERROR (OF1.3) (xid=0x6): OFPBMC_BAD_PREREQ`), on the following lines for tables of
//! ports or statistics. A message whose length field disagrees with the bytes at hand is
//! reported (`(***truncated to 64 bytes from 96***)`) and hex-dumped; a body that does not
//! decode prints `***decode error: OFPBRC_BAD_LEN***` and a hex dump. The text always ends
//! with a newline.
//!
//! # What is printed
//! Every message `rvs-ofctl` sends or expects back: hello, error (with the failed request
//! printed inside it, as `ovs-ofctl` does), echo, features, switch configuration, flow-mod,
//! barrier, port status, flow removed, and the multipart requests and replies for
//! descriptions, flows, aggregates, tables, ports, port descriptions and table features.
//! Packet-in and packet-out bodies, which only `monitor` and `packet-out` print, are shown as
//! a hex dump. The bodies of switch and port structures are in [`switch`], table features in
//! [`features`]; flows use the openflow crate's [`FlowFormatter`].
//!
//! `verbosity` is `ovs-ofctl`'s: 1 for replies printed by the dump commands, 2 for errors
//! after a failed flow-mod; the message inside an error prints at 1. Port names, when
//! shown, come from a [`PortMap`].

pub mod features;
mod monitor;
mod nicira;
mod ovs_fields;
pub mod switch;

use std::fmt::Write;

use rvs_openflow::msg::{MultipartReply, MultipartRequest, NxStatsReply, NxStatsRequest, OfMessage, Version, VersionSet};
use rvs_openflow::session::Session;
use rvs_openflow::stats::{AggregateStats, FlowStatsRequest};
use rvs_openflow::text::group as group_text;
use rvs_openflow::text::packet::packet_to_string;
use rvs_openflow::text::FlowFormatter;
use rvs_openflow::v13::multipart::mp_type;
use rvs_openflow::OfError;

use super::names::{format_port, PortMap};

/// Open vSwitch's `ds_put_hex_dump` with the ASCII column.
pub fn hex_dump(s: &mut String, bytes: &[u8]) {
    for (line, chunk) in bytes.chunks(16).enumerate() {
        let _ = write!(s, "{:08x}  ", line * 16);
        for i in 0..16 {
            match chunk.get(i) {
                Some(b) => {
                    let _ = write!(s, "{b:02x}{}", if i == 7 { '-' } else { ' ' });
                }
                None => s.push_str("   "),
            }
        }
        s.push('|');
        for i in 0..16 {
            s.push(match chunk.get(i) {
                Some(&c) if (32..127).contains(&c) => c as char,
                Some(_) => '.',
                None => ' ',
            });
        }
        s.push_str("|\n");
    }
}

/// Open vSwitch's `ds_put_printable`.
fn put_printable(s: &mut String, bytes: &[u8]) {
    for &c in bytes {
        if !(0x20..=0x7e).contains(&c) || c == b'\\' || c == b'"' {
            let _ = write!(s, "\\{c:03o}");
        } else {
            s.push(c as char);
        }
    }
}

fn version_suffix(v: u8) -> String {
    match v {
        0x01 => String::new(),
        0x02..=0x06 => format!(" (OF1.{})", v - 1),
        _ => format!(" (OF 0x{v:02x})"),
    }
}

/// The `ofpraw` name of a message, from its header (and multipart type), if known.
fn raw_name(msg: &[u8]) -> Option<String> {
    if msg[0] == 0x01 {
        return nicira::raw_name_v10(msg);
    }
    let t = msg[1];
    let fixed = match t {
        0 => "OFPT_HELLO",
        1 => "OFPT_ERROR",
        2 => "OFPT_ECHO_REQUEST",
        3 => "OFPT_ECHO_REPLY",
        5 => "OFPT_FEATURES_REQUEST",
        6 => "OFPT_FEATURES_REPLY",
        7 => "OFPT_GET_CONFIG_REQUEST",
        8 => "OFPT_GET_CONFIG_REPLY",
        9 => "OFPT_SET_CONFIG",
        10 => "OFPT_PACKET_IN",
        11 => "OFPT_FLOW_REMOVED",
        12 => "OFPT_PORT_STATUS",
        13 => "OFPT_PACKET_OUT",
        14 => "OFPT_FLOW_MOD",
        15 => "OFPT_GROUP_MOD",
        4 => return nicira::vendor_name(msg),
        16 => "OFPT_PORT_MOD",
        20 => "OFPT_BARRIER_REQUEST",
        21 => "OFPT_BARRIER_REPLY",
        18 | 19 => {
            if msg.len() < 16 {
                return None;
            }
            let kind = match u16::from_be_bytes([msg[8], msg[9]]) {
                mp_type::DESC => "DESC",
                mp_type::FLOW => "FLOW",
                mp_type::AGGREGATE => "AGGREGATE",
                mp_type::TABLE => "TABLE",
                mp_type::PORT_STATS => "PORT",
                mp_type::QUEUE => "QUEUE",
                mp_type::GROUP => "GROUP",
                mp_type::GROUP_DESC => "GROUP_DESC",
                mp_type::GROUP_FEATURES => "GROUP_FEATURES",
                mp_type::TABLE_FEATURES => "TABLE_FEATURES",
                mp_type::PORT_DESC => "PORT_DESC",
                mp_type::EXPERIMENTER
                    if msg.len() >= 24
                        && msg[16..24] == [0x4f, 0x4e, 0x46, 0x00, 0x00, 0x00, 0x07, 0x4e] =>
                {
                    return Some(format!("ONFST_FLOW_MONITOR {}", if t == 18 { "request" } else { "reply" }));
                }
                _ => return None,
            };
            return Some(format!("OFPST_{kind} {}", if t == 18 { "request" } else { "reply" }));
        }
        _ => return None,
    };
    Some(fixed.to_string())
}

/// True if a known message is too short for its type as Open vSwitch defines it (then not
/// even its header prints): a table features reply holds at least one 64-byte entry and a
/// multiple of 8 bytes.
fn raw_bad_len(msg: &[u8]) -> bool {
    if msg[0] != 0x01 && msg[1] == 19 && msg.len() >= 16 && u16::from_be_bytes([msg[8], msg[9]]) == mp_type::TABLE_FEATURES {
        let body = msg.len() - 16;
        return body < 64 || !(body - 64).is_multiple_of(8);
    }
    false
}

/// `ofp_print_stats`: the multipart flags after the header.
fn multipart_flags(s: &mut String, msg: &[u8]) {
    let mut flags = u16::from_be_bytes([msg[10], msg[11]]);
    if flags != 0 {
        s.push_str(" flags=");
        if flags & 1 != 0 {
            s.push_str("[more]");
            flags &= !1;
        }
        if flags != 0 {
            let _ = write!(s, "[***unknown flags 0x{flags:04x}***]");
        }
    }
}

/// Formats the version bitmap of a hello (`ofputil_format_version_bitmap`).
fn version_bitmap(s: &mut String, versions: VersionSet) {
    let mut first = true;
    for v in 0..32u8 {
        if versions.contains(v) {
            if !first {
                s.push_str(", ");
            }
            first = false;
            let _ = write!(s, "0x{v:02x}");
        }
    }
}

/// The filter of a flow or aggregate statistics request (` table=1 out_port=2 tcp`).
fn flow_request(s: &mut String, r: &FlowStatsRequest, ports: Option<&PortMap>, f: &FlowFormatter<'_>) {
    if r.table_id != 0xff {
        let _ = write!(s, " table={}", r.table_id);
    }
    if r.out_port != rvs_openflow::OfPort::ANY {
        let _ = write!(s, " out_port={}", format_port(r.out_port, ports));
    }
    s.push(' ');
    s.push_str(&f.format_match(&r.match_, rvs_flowcache::ofp::DEFAULT_PRIORITY));
}

fn aggregate(s: &mut String, a: &AggregateStats) {
    let _ = write!(s, " packet_count={} byte_count={} flow_count={}", a.packet_count, a.byte_count, a.flow_count);
}

/// The body of a decoded message. `Err` is the decode error to report instead.
fn body(s: &mut String, raw: &[u8], msg: &OfMessage, ports: Option<&PortMap>, verbosity: u32) -> Result<(), OfError> {
    let names = ports.map(|p| p as &dyn rvs_openflow::text::PortNames);
    let version = if raw[0] == 0x01 { Version::V1_0 } else { Version::V1_3 };
    let f = FlowFormatter { version, no_stats: false, names };
    if nicira::session_body(s, msg, raw[0]) {
        return Ok(());
    }
    match msg {
        OfMessage::Hello(h) => {
            s.push_str("\n version bitmap: ");
            version_bitmap(s, h.versions.unwrap_or_else(|| VersionSet::up_to(raw[0])));
        }
        OfMessage::Error(e) => {
            if matches!(e.error, OfError::Other { .. } | OfError::Experimenter { .. } | OfError::Vendor { .. }) {
                return Err(OfError::BadRequest(rvs_openflow::error::BadRequest::BadLen));
            }
            let _ = writeln!(s, " {}", e.error.name());
            if matches!(e.error, OfError::HelloFailed(_)) {
                put_printable(s, &e.data);
            } else {
                s.push_str(&ofp_to_string(&e.data, ports, 1));
            }
        }
        OfMessage::EchoRequest(d) | OfMessage::EchoReply(d) => {
            let _ = writeln!(s, " {} bytes of payload", d.len());
            if verbosity > 1 {
                hex_dump(s, d);
            }
        }
        OfMessage::FeaturesRequest
        | OfMessage::GetConfigRequest
        | OfMessage::BarrierRequest
        | OfMessage::BarrierReply => {}
        OfMessage::FeaturesReply(fr) => switch::features(s, fr),
        OfMessage::FeaturesReplyPorts(fp) => switch::features_v10(s, fp),
        OfMessage::PortMod(pm) => switch::port_mod(s, pm, version),
        OfMessage::GroupMod(gm) => {
            s.push_str("\n ");
            s.push_str(&group_text::format_group_mod(gm, version, names));
        }
        OfMessage::GetConfigReply(c) | OfMessage::SetConfig(c) => switch::config(s, c),
        OfMessage::FlowMod { flow_mod, buffer_id } => {
            let mut text = f.flow_mod(flow_mod);
            if let Some(b) = buffer_id {
                // `buf:` comes after the timeouts and importance, before out_port and flags.
                let later = [
                    " out_port:",
                    " send_flow_rem ",
                    " check_overlap ",
                    " reset_counts ",
                    " no_packet_counts ",
                    " no_byte_counts ",
                    " actions=",
                ];
                let at = later.iter().filter_map(|t| text.find(t)).min().map_or(text.len(), |i| i + 1);
                text.insert_str(at, &format!("buf:0x{b:x} "));
            }
            s.push(' ');
            s.push_str(&text);
        }
        OfMessage::PortStatus(ps) => {
            s.push_str(match ps.reason {
                rvs_openflow::msg::PortReason::Add => " ADD:",
                rvs_openflow::msg::PortReason::Delete => " DEL:",
                rvs_openflow::msg::PortReason::Modify => " MOD:",
            });
            switch::phy_port(s, &ps.desc, version);
        }
        OfMessage::FlowRemoved(fr) => switch::flow_removed(s, fr, &f),
        OfMessage::MultipartRequest { request, .. } => {
            multipart_flags(s, raw);
            match request {
                MultipartRequest::Flow(r) | MultipartRequest::Aggregate(r) => flow_request(s, r, ports, &f),
                MultipartRequest::PortStats { port_no } => {
                    let _ = write!(s, " port_no={}", format_port(*port_no, ports));
                }
                MultipartRequest::PortDesc => {
                    let _ = write!(s, " port={}", format_port(rvs_openflow::OfPort::ANY, ports));
                }
                // Open vSwitch 3.1 ends an empty request with a blank line.
                MultipartRequest::TableFeatures(tables) if tables.is_empty() => s.push('\n'),
                MultipartRequest::TableFeatures(tables) => features::reply(s, tables),
                MultipartRequest::Queue(q) => switch::queue_request(s, q, ports),
                MultipartRequest::Group { group_id } => {
                    let _ = write!(s, " group_id={}", group_text::format_group_id(*group_id));
                }
                MultipartRequest::GroupDesc { .. } | MultipartRequest::GroupFeatures => {}
                MultipartRequest::Desc | MultipartRequest::Table => {}
            }
        }
        OfMessage::NxStatsRequest { request, .. } => {
            multipart_flags(s, raw);
            match request {
                NxStatsRequest::Flow(r) | NxStatsRequest::Aggregate(r) => flow_request(s, r, ports, &f),
                NxStatsRequest::FlowMonitor(reqs) => monitor::requests(s, reqs, &f),
            }
        }
        OfMessage::NxStatsReply { reply, .. } => {
            multipart_flags(s, raw);
            match reply {
                NxStatsReply::Flow(flows) => {
                    for n in flows {
                        s.push_str("\n ");
                        s.push_str(&f.nx_flow_stats(n));
                    }
                }
                NxStatsReply::Aggregate(a) => aggregate(s, a),
                NxStatsReply::FlowMonitor(updates) => monitor::updates(s, updates, &f),
            }
        }
        OfMessage::MultipartReply { reply, .. } => {
            multipart_flags(s, raw);
            match reply {
                MultipartReply::Desc(d) => switch::desc(s, d),
                MultipartReply::Flow(flows) => {
                    for fs in flows {
                        s.push_str("\n ");
                        s.push_str(&f.flow_stats(fs));
                    }
                }
                MultipartReply::Aggregate(a) => aggregate(s, a),
                MultipartReply::Table(tables) => switch::table_stats(s, tables),
                MultipartReply::TableStatsDesc(tables) => features::table_stats_v10(s, tables),
                MultipartReply::PortStats(stats) => switch::port_stats(s, stats, ports, verbosity),
                MultipartReply::PortDesc(descs) => {
                    s.push('\n');
                    switch::phy_ports(s, descs, version);
                }
                MultipartReply::TableFeatures(tables) => features::reply(s, tables),
                MultipartReply::Queue(queues) => switch::queue_stats(s, queues, ports),
                MultipartReply::Group(groups) => {
                    for g in groups {
                        s.push_str("\n ");
                        s.push_str(&group_text::format_group_stats(g));
                    }
                }
                MultipartReply::GroupDesc(groups) => {
                    for g in groups {
                        s.push_str("\n ");
                        s.push_str(&group_text::format_group_desc(g, version, names));
                    }
                }
                MultipartReply::GroupFeatures(gf) => s.push_str(&group_text::format_group_features_in(gf, version)),
            }
        }
        OfMessage::PacketOut(po) => packet_out(s, po, &f, verbosity),
        OfMessage::PacketIn(pi) => packet_in(s, pi, &f, verbosity),
        OfMessage::Experimenter { .. }
        | OfMessage::RoleRequest(_)
        | OfMessage::RoleReply(_)
        | OfMessage::GetAsyncRequest
        | OfMessage::GetAsyncReply(_)
        | OfMessage::SetAsync(_)
        | OfMessage::SetFlowFormat(_)
        | OfMessage::FlowModTableId(_)
        | OfMessage::SetPacketInFormat(_)
        | OfMessage::SetControllerId(_) => {
            s.push('\n');
            hex_dump(s, raw);
        }
    }
    Ok(())
}

/// A packet-in (`ofputil_packet_in_private_format`): ` table_id=N` (when not 0),
/// ` cookie=0x...` (when the packet came from a rule), ` total_len=N`, the pipeline fields
/// (`reg1=0x3,in_port=1`), ` (via REASON)`, ` data_len=N`, ` (unbuffered)` or
/// ` buffer=0x...`; then, at verbosity 1 and more, the packet dissected into a flow
/// ([`packet_to_string`]), and at verbosity 3 and more its hex dump.
fn packet_in(s: &mut String, pi: &rvs_openflow::msg::PacketIn, f: &FlowFormatter<'_>, verbosity: u32) {
    if pi.table_id != 0 {
        let _ = write!(s, " table_id={}", pi.table_id);
    }
    if pi.cookie != u64::MAX {
        let _ = write!(s, " cookie=0x{:x}", pi.cookie);
    }
    let _ = write!(s, " total_len={} ", pi.total_len);
    s.push_str(&f.format_match(&pi.match_, rvs_flowcache::ofp::DEFAULT_PRIORITY));
    let _ = write!(s, " (via {}) data_len={}", rvs_openflow::text::format::reason_name(pi.reason), pi.data.len());
    match pi.buffer_id {
        None => {
            s.push_str(" (unbuffered)");
            if usize::from(pi.total_len) != pi.data.len() {
                s.push_str(" (***total_len != data_len***)");
            }
        }
        Some(b) => {
            let _ = write!(s, " buffer=0x{b:08x}");
            if usize::from(pi.total_len) < pi.data.len() {
                s.push_str(" (***total_len < data_len***)");
            }
        }
    }
    s.push('\n');
    if verbosity > 0 {
        s.push_str(&packet_to_string(&pi.data));
    }
    if verbosity > 2 {
        hex_dump(s, &pi.data);
    }
}

/// A packet-out (`ofputil_packet_out_format`): ` in_port=1 actions=output:2 data_len=46`.
/// At verbosity 1 and more the packet follows, dissected into a flow
/// (`icmp,vlan_tci=0x0000,...`, [`packet_to_string`]), at verbosity 3 and more its hex dump.
fn packet_out(s: &mut String, po: &rvs_openflow::msg::PacketOut, f: &FlowFormatter<'_>, verbosity: u32) {
    let mut metadata = rvs_flowcache::ofp::Match::default();
    metadata.set(rvs_flowcache::Field::InPort, u128::from(po.in_port.0));
    let _ = write!(
        s,
        " {} actions={}",
        f.format_match(&metadata, rvs_flowcache::ofp::DEFAULT_PRIORITY),
        f.format_actions(&po.actions)
    );
    match po.buffer_id {
        Some(b) => {
            let _ = write!(s, " buffer=0x{b:08x}");
        }
        None => {
            let _ = write!(s, " data_len={}", po.data.len());
            if verbosity > 0 && !po.data.is_empty() {
                s.push('\n');
                s.push_str(&packet_to_string(&po.data));
            }
            if verbosity > 2 {
                hex_dump(s, &po.data);
            }
        }
    }
}

fn chomp(s: &mut String, c: char) {
    if s.ends_with(c) {
        s.pop();
    }
}

fn add_newline(s: &mut String) {
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
}

/// The session `ofp-print` reads a message in: its version's initial one, with OpenFlow 1.0
/// table ids on (`ofp_print_flow_mod` reads flow-mods that way).
fn print_session(bytes: &[u8]) -> Session {
    match bytes[0] {
        0x01 => Session { table_id_extension: true, ..Session::new(Version::V1_0) },
        _ => Session::new(Version::V1_3),
    }
}

/// The header line of a message (without a newline), if its type is known.
pub fn header(msg: &[u8]) -> Option<String> {
    let name = raw_name(msg)?;
    Some(format!(
        "{name}{} (xid=0x{:x}):",
        version_suffix(msg[0]),
        u32::from_be_bytes([msg[4], msg[5], msg[6], msg[7]])
    ))
}

/// Prints a message as `ofp_to_string` does. `bytes` may be shorter or longer than the
/// message's length field says (the copy of a request inside an error message).
pub fn ofp_to_string(bytes: &[u8], ports: Option<&PortMap>, verbosity: u32) -> String {
    let mut s = String::new();
    if bytes.is_empty() {
        return "OpenFlow message is empty\n".into();
    }
    if bytes.len() < 8 {
        let _ = writeln!(s, "OpenFlow packet too short (only {} bytes):", bytes.len());
        hex_dump(&mut s, bytes);
        return s;
    }
    let length = u16::from_be_bytes([bytes[2], bytes[3]]) as usize;
    if length > bytes.len() {
        if let Some(h) = header(bytes) {
            s.push_str(&h);
            s.push('\n');
        }
        let _ = writeln!(s, "(***truncated to {} bytes from {length}***)", bytes.len());
        hex_dump(&mut s, bytes);
        return s;
    }
    if length < bytes.len() {
        let _ = writeln!(s, "(***only uses {length} bytes out of {}***)", bytes.len());
        hex_dump(&mut s, bytes);
        return s;
    }
    let error = match header(bytes) {
        None => Some(OfError::BadRequest(rvs_openflow::error::BadRequest::BadType)),
        Some(_) if raw_bad_len(bytes) => Some(OfError::BadRequest(rvs_openflow::error::BadRequest::BadLen)),
        Some(h) => {
            s.push_str(&h);
            let header_len = s.len();
            let result = match print_session(bytes).decode(bytes) {
                Ok((_, msg)) => body(&mut s, bytes, &msg, ports, verbosity),
                Err(e) => Err(e.error),
            };
            match result {
                Ok(()) => {
                    chomp(&mut s, ' ');
                    None
                }
                Err(e) => {
                    if s.len() > header_len {
                        chomp(&mut s, ' ');
                        add_newline(&mut s);
                    } else {
                        s.push(' ');
                    }
                    Some(e)
                }
            }
        }
    };
    if let Some(e) = error {
        let _ = writeln!(s, "***decode error: {}***", e.name());
    }
    if verbosity >= 5 || error.is_some() {
        add_newline(&mut s);
        hex_dump(&mut s, bytes);
    }
    add_newline(&mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_dumps_like_ovs() {
        let mut s = String::new();
        hex_dump(&mut s, &[0x04, 0x0e, 0x00, 0x60, 0, 0, 0, 6, b'a', b'b', 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            s,
            "00000000  04 0e 00 60 00 00 00 06-61 62 00 00 00 00 00 00 |...`....ab......|\n\
             00000010  00                                              |.               |\n"
        );
    }

    #[test]
    fn headers_name_the_message() {
        let hello = [4, 0, 0, 16, 0, 0, 0, 1, 0, 1, 0, 8, 0, 0, 0, 0x10];
        assert_eq!(ofp_to_string(&hello, None, 1), "OFPT_HELLO (OF1.3) (xid=0x1):\n version bitmap: 0x04\n");
        let barrier = [4, 20, 0, 8, 0, 0, 0, 0x1f];
        assert_eq!(ofp_to_string(&barrier, None, 1), "OFPT_BARRIER_REQUEST (OF1.3) (xid=0x1f):\n");
        let mp = [4, 18, 0, 16, 0, 0, 0, 2, 0, 3, 0, 0, 0, 0, 0, 0];
        assert_eq!(ofp_to_string(&mp, None, 1), "OFPST_TABLE request (OF1.3) (xid=0x2):\n");
    }

    #[test]
    fn truncated_messages_are_dumped() {
        let barrier = [4, 20, 0, 16, 0, 0, 0, 3];
        assert_eq!(
            ofp_to_string(&barrier, None, 1),
            "OFPT_BARRIER_REQUEST (OF1.3) (xid=0x3):\n(***truncated to 8 bytes from 16***)\n\
             00000000  04 14 00 10 00 00 00 03-                        |........        |\n"
        );
    }

    #[test]
    fn hello_failures_carry_text() {
        let mut m = vec![4, 1, 0, 16, 0, 0, 0, 3, 0, 0, 0, 1];
        m.extend_from_slice(b"No\"\n");
        m[3] = m.len() as u8;
        assert_eq!(ofp_to_string(&m, None, 2), "OFPT_ERROR (OF1.3) (xid=0x3): OFPHFC_EPERM\nNo\\042\\012\n");
    }
}
