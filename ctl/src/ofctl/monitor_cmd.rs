//! `monitor SWITCH [MISS_LEN] [watch:[SPEC]]` and `snoop SWITCH`, as `ovs-ofctl` runs them.
//!
//! Over one connection: with `MISS_LEN`, the switch configuration is read and written back
//! with that `miss_send_len` (and a barrier), which makes a management connection receive
//! packet-ins; with `watch:`, a flow monitor request (`NXST_FLOW_MONITOR` in OpenFlow 1.0,
//! ONF's `ONFST_FLOW_MONITOR` in OpenFlow 1.3) whose flags are all of `initial,add,delete,modify,actions,own` less those the spec turns
//! off (`!initial`, ...), with the spec's `table=`, `out_port=` and match (read with the
//! switch's table and port names, which costs `ovs-ofctl`'s extra connections); then the
//! packet-in format is set to `NXT_PACKET_IN2` (with a barrier). From then on every message
//! the switch sends is printed as it arrives, until the program is killed.
//!
//! Packet-ins print as `ovs-ofctl` prints them, the dissected packet included
//! (`rvs_openflow::text::packet`). Not implemented: `invalid_ttl`; the unixctl commands
//! `ovs-ofctl monitor` serves.

use rvs_openflow::monitor::FlowMonitorRequest;
use rvs_openflow::msg::{NxStatsRequest, OfMessage, Version};
use rvs_openflow::session::PacketInFormat;
use rvs_openflow::stats::SwitchConfig;
use rvs_openflow::text::{parse_flow_stats_request, PortNames};
use rvs_openflow::OfPort;

use super::commands::{emit, Io};
use super::conn::{barrier_reply_type, fatal_io, type_of, xid_of, Fatal};
use super::names::PortMap;
use super::print::ofp_to_string;
use super::session::Session;

/// `NXFMF_*` names, in bit order.
const FLAGS: [&str; 6] = ["initial", "add", "delete", "modify", "actions", "own"];

fn names_of(map: &Option<PortMap>) -> Option<&dyn PortNames> {
    map.as_ref().map(|m| m as &dyn PortNames)
}

/// Parses a `watch:` spec: `!flag` items turn flags off; the rest is a flow filter.
fn parse_watch(spec: &str, names: Option<&dyn PortNames>) -> Result<FlowMonitorRequest, Fatal> {
    let mut flags = 0x3fu16;
    let mut filter = Vec::new();
    for item in spec.split(',').filter(|i| !i.is_empty()) {
        match item.strip_prefix('!') {
            Some(f) => {
                let bit = FLAGS.iter().position(|n| *n == f).ok_or_else(|| Fatal(format!("{item}: unknown flag")))?;
                flags &= !(1 << bit);
            }
            None => filter.push(item),
        }
    }
    let (req, _) = parse_flow_stats_request(&filter.join(","), names).map_err(|e| Fatal(e.to_string()))?;
    let out_port = if req.out_port == OfPort::ANY { OfPort::ANY } else { req.out_port };
    Ok(FlowMonitorRequest { id: 0, flags, out_port, table_id: req.table_id, match_: req.match_ })
}

pub(crate) fn monitor(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    let target = &args[1];
    let mut conn = s.open(target)?;
    let mut watch = None;
    for arg in &args[2..] {
        if let Some(spec) = arg.strip_prefix("watch:") {
            let map = s.maps_to_accept(target)?;
            watch = Some(parse_watch(spec, names_of(&map))?);
        } else if let Ok(miss_len) = arg.parse::<u16>() {
            let name = conn.name().to_string();
            let reply = conn.transact(&OfMessage::GetConfigRequest, &mut s.xids, &name)?;
            let flags = match conn.session().decode(&reply) {
                Ok((_, OfMessage::GetConfigReply(c))) => c.flags,
                _ => return Err(Fatal(format!("{name}: unexpected reply to get-config"))),
            };
            if let Some(err) = conn.transact_noreply(&OfMessage::SetConfig(SwitchConfig { flags, miss_send_len: miss_len }), &mut s.xids)? {
                emit(io.err, &ofp_to_string(&err, None, s.opts.verbosity + 2))?;
                return Ok(1);
            }
        } else {
            return Err(Fatal(format!("{arg}: unknown monitor argument (rvs-ofctl takes MISS_LEN and watch:)")));
        }
    }
    if let Some(w) = watch {
        conn.send(&OfMessage::NxStatsRequest { flags: 0, request: NxStatsRequest::FlowMonitor(vec![w]) }, &mut s.xids)?;
    }
    // The packet-in format and its barrier go out without waiting: the monitor's initial
    // reply may come first, and is printed like everything else; only the barrier's reply
    // is not.
    let mut barrier = None;
    if conn.version() == Version::V1_0 {
        conn.send(&OfMessage::SetPacketInFormat(PacketInFormat::Nxt2), &mut s.xids)?;
        barrier = Some(xid_of(&conn.send(&OfMessage::BarrierRequest, &mut s.xids)?));
    }
    loop {
        let m = conn.recv().map_err(|e| fatal_io(format_args!("{target}: receive failed"), &e))?;
        if barrier == Some(xid_of(&m)) && type_of(&m) == barrier_reply_type(conn.version()) {
            barrier = None;
            continue;
        }
        let ports = s.maps_to_show(target)?;
        emit(io.out, &ofp_to_string(&m, ports.as_ref(), s.opts.verbosity + 2))?;
        io.out.flush().map_err(|e| fatal_io("write failed", &e))?;
    }
}

/// `snoop SWITCH`: connects to the bridge's snoop socket (`<rundir>/SWITCH.snoop`, or the
/// socket given) and prints every message of the bridge's controller conversations, as
/// `ovs-ofctl snoop` does, until killed.
pub(crate) fn snoop(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    let target = &args[1];
    let path = if target.contains('/') || target.contains(':') {
        target.clone()
    } else {
        format!("unix:{}", s.rundir.join(format!("{target}.snoop")).display())
    };
    let mut conn = s.open(&path)?;
    loop {
        let m = conn.recv().map_err(|e| fatal_io(format_args!("{target}: receive failed"), &e))?;
        emit(io.out, &ofp_to_string(&m, None, s.opts.verbosity + 2))?;
        io.out.flush().map_err(|e| fatal_io("write failed", &e))?;
    }
}
