//! Answers built from the switch's state: features, descriptions and statistics
//! (multipart replies), and the port descriptions port-status messages carry.
//!
//! Statistics of rules are read after the revalidator has credited every PMD's megaflows to
//! them ([`crate::revalidator::Revalidator::sync`]), so counters include traffic up to the
//! request.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use rvs_flowcache::{OfPort, Rule};
use rvs_openflow::msg::{MultipartReply, MultipartRequest, NxStatsReply, NxStatsRequest};
use rvs_openflow::stats::{
    capabilities, port_features, port_state, AggregateStats, FlowStats, FlowStatsRequest, NxFlowStats, PortDesc, PortStats, SwitchDesc,
    SwitchFeatures, TableStats,
};

use rvs_openflow::error::{OfError, QueueOpFailed};
use rvs_openflow::stats::{QueueStatsRequest, ALL_QUEUES};

use crate::switch::{port_config, Switch};

/// Capabilities we announce: flow, table, port, group and queue statistics (there are no
/// queues, so queue statistics are empty), and ARP address matches (OpenFlow 1.0 only).
const CAPABILITIES: u32 = capabilities::FLOW_STATS
    | capabilities::TABLE_STATS
    | capabilities::PORT_STATS
    | capabilities::GROUP_STATS
    | capabilities::QUEUE_STATS
    | capabilities::ARP_MATCH_IP;
/// Tables announced in features (OVS announces 254: table 254 is reserved).
pub const N_TABLES_ANNOUNCED: u8 = 254;

/// The features reply of `bridge`.
pub fn features(sw: &Switch, bridge: &str) -> SwitchFeatures {
    let dpid = sw.bridges[bridge].datapath_id;
    SwitchFeatures { datapath_id: dpid, n_buffers: 0, n_tables: N_TABLES_ANNOUNCED, auxiliary_id: 0, capabilities: CAPABILITIES }
}

/// The reply to a multipart request about `bridge`, or the error to answer with.
pub fn multipart(sw: &mut Switch, bridge: &str, req: MultipartRequest) -> Result<MultipartReply, OfError> {
    Ok(match req {
        MultipartRequest::Desc => MultipartReply::Desc(SwitchDesc {
            mfr_desc: "The rvs project".into(),
            hw_desc: "rvs".into(),
            sw_desc: env!("CARGO_PKG_VERSION").into(),
            serial_num: "None".into(),
            dp_desc: "rvs-netdev".into(),
        }),
        MultipartRequest::Flow(r) => {
            sw.publish_flows();
            sw.revalidator.sync();
            MultipartReply::Flow(flow_stats(sw, bridge, &r))
        }
        MultipartRequest::Aggregate(r) => {
            sw.publish_flows();
            sw.revalidator.sync();
            MultipartReply::Aggregate(aggregate(&flow_stats(sw, bridge, &r)))
        }
        MultipartRequest::Table => {
            sw.revalidator.sync();
            MultipartReply::Table(table_stats(sw, bridge))
        }
        MultipartRequest::PortStats { port_no } => MultipartReply::PortStats(port_stats(sw, bridge, port_no)),
        MultipartRequest::PortDesc => MultipartReply::PortDesc(port_descs(sw, bridge)),
        MultipartRequest::Queue(q) => return queue_stats(sw, bridge, q),
        MultipartRequest::Group { group_id } => {
            sw.publish_flows();
            sw.revalidator.sync();
            MultipartReply::Group(sw.group_stats(bridge, group_id))
        }
        MultipartRequest::GroupDesc { group_id } => MultipartReply::GroupDesc(sw.group_descs(bridge, group_id)),
        MultipartRequest::GroupFeatures => MultipartReply::GroupFeatures(sw.group_features()),
        MultipartRequest::TableFeatures(_) => {
            MultipartReply::TableFeatures(rvs_openflow::table_features::rvs_table_features(N_TABLES_ANNOUNCED))
        }
    })
}

/// Lifetime of a rule at `now_ms`, as OpenFlow's (seconds, nanoseconds).
pub fn duration(created_ms: u64, now_ms: u64) -> (u32, u32) {
    let age = now_ms.saturating_sub(created_ms);
    ((age / 1000) as u32, ((age % 1000) * 1_000_000) as u32)
}

fn rule_stats(r: &Arc<Rule>, now_ms: u64) -> FlowStats {
    let (duration_sec, duration_nsec) = duration(r.created_ms, now_ms);
    FlowStats {
        table_id: r.table_id,
        duration_sec,
        duration_nsec,
        priority: r.priority,
        idle_timeout: r.timeouts().0,
        hard_timeout: r.timeouts().1,
        flags: r.flags,
        importance: r.importance,
        cookie: r.cookie,
        packet_count: r.stats.packets.load(Ordering::Relaxed),
        byte_count: r.stats.bytes.load(Ordering::Relaxed),
        match_: r.match_,
        actions: r.actions.to_vec(),
    }
}

/// The rules a flow statistics request selects, in table and priority order.
fn selected_rules(sw: &Switch, bridge: &str, req: &FlowStatsRequest) -> Vec<Arc<Rule>> {
    let p = sw.bridges[bridge].writer.current();
    let mut v: Vec<Arc<Rule>> = p
        .rules()
        .filter(|r| req.table_id == rvs_flowcache::ofp::ALL_TABLES || r.table_id == req.table_id)
        .filter(|r| r.match_.is_covered_by(&req.match_))
        .filter(|r| (r.cookie ^ req.cookie) & req.cookie_mask == 0)
        .filter(|r| req.out_port == OfPort::ANY || r.actions.iter().any(|a| a.outputs_to(req.out_port)))
        .filter(|r| req.out_group == rvs_flowcache::ofp::ANY_GROUP || r.actions.iter().any(|a| a.uses_group(req.out_group)))
        .cloned()
        .collect();
    v.sort_by_key(|r| (r.table_id, std::cmp::Reverse(r.priority)));
    v
}

fn flow_stats(sw: &Switch, bridge: &str, req: &FlowStatsRequest) -> Vec<FlowStats> {
    let now = sw.dp.now_ms();
    selected_rules(sw, bridge, req).iter().map(|r| rule_stats(r, now)).collect()
}

fn aggregate(flows: &[FlowStats]) -> AggregateStats {
    AggregateStats {
        packet_count: flows.iter().map(|f| f.packet_count).sum(),
        byte_count: flows.iter().map(|f| f.byte_count).sum(),
        flow_count: flows.len() as u32,
    }
}

/// A Nicira statistics request (`NXST_FLOW`/`NXST_AGGREGATE`, what plain `ovs-ofctl`
/// sends): standard flow statistics plus, for flows, the seconds since a packet last hit the
/// rule and since it was last added or modified.
pub fn nx_stats(sw: &mut Switch, bridge: &str, req: NxStatsRequest) -> NxStatsReply {
    sw.publish_flows();
    sw.revalidator.sync();
    let now = sw.dp.now_ms();
    match req {
        NxStatsRequest::Flow(r) => NxStatsReply::Flow(
            selected_rules(sw, bridge, &r)
                .iter()
                .map(|rule| {
                    let secs = |ms: u64| (now.saturating_sub(ms) / 1000).min(u16::MAX as u64) as u16;
                    NxFlowStats {
                        stats: rule_stats(rule, now),
                        idle_age: Some(secs(rule.stats.used_ms.load(Ordering::Relaxed))),
                        hard_age: Some(secs(rule.modified_ms)),
                    }
                })
                .collect(),
        ),
        NxStatsRequest::Aggregate(r) => NxStatsReply::Aggregate(aggregate(&flow_stats(sw, bridge, &r))),
        // The connection's monitors live in the OpenFlow server, which answers these itself.
        NxStatsRequest::FlowMonitor(_) => unreachable!("flow monitor requests are answered by OfServer::start_monitors"),
    }
}

fn table_stats(sw: &Switch, bridge: &str) -> Vec<TableStats> {
    let p = sw.bridges[bridge].writer.current();
    (0..N_TABLES_ANNOUNCED)
        .map(|t| {
            let (table, soft) = (p.table(t), p.soft_table(t));
            let matched: u64 = table.iter().map(|r| r.stats.packets.load(Ordering::Relaxed)).sum();
            let active = (table.len() + soft.len()) as u32;
            TableStats { table_id: t, active_count: active, lookup_count: matched, matched_count: matched }
        })
        .collect()
}

/// Queue statistics. rvs has no QoS queues, so every answer is empty, and asking for one
/// queue is `OFPQOFC_BAD_QUEUE` (`OFPQOFC_BAD_PORT` for a port that does not exist), as
/// Open vSwitch answers about a port without queues.
fn queue_stats(sw: &Switch, bridge: &str, q: QueueStatsRequest) -> Result<MultipartReply, OfError> {
    let br = &sw.bridges[bridge];
    if q.port_no != OfPort::ANY && !br.ports.contains_key(&q.port_no) {
        return Err(OfError::QueueOpFailed(QueueOpFailed::BadPort));
    }
    if q.queue_id != ALL_QUEUES {
        return Err(OfError::QueueOpFailed(QueueOpFailed::BadQueue));
    }
    Ok(MultipartReply::Queue(Vec::new()))
}

fn port_stats(sw: &Switch, bridge: &str, port_no: OfPort) -> Vec<PortStats> {
    let br = &sw.bridges[bridge];
    br.ports
        .values()
        .filter(|p| port_no == OfPort::ANY || p.ofport == port_no)
        .map(|p| {
            let s = p.port.stats();
            let age = p.added.elapsed();
            // The device's own error counters, for kernel devices.
            let errs = p.port.error_counters();
            // Counters a port does not keep stay "unknown" (all ones), as OVS reports them.
            PortStats {
                rx_frame_err: errs.map_or(u64::MAX, |e| e.rx_frame_errors),
                rx_over_err: errs.map_or(u64::MAX, |e| e.rx_over_errors),
                rx_crc_err: errs.map_or(u64::MAX, |e| e.rx_crc_errors),
                collisions: errs.map_or(u64::MAX, |e| e.collisions),
                rx_packets: s.rx_packets,
                tx_packets: s.tx_packets,
                rx_bytes: s.rx_bytes,
                tx_bytes: s.tx_bytes,
                rx_dropped: s.rx_dropped,
                tx_dropped: s.tx_dropped,
                rx_errors: s.rx_errors,
                tx_errors: s.tx_errors,
                duration_sec: age.as_secs() as u32,
                duration_nsec: age.subsec_nanos(),
                ..PortStats::unknown(p.ofport)
            }
        })
        .collect()
}

/// The speed in kb/s of the fastest rate in `f` (`port_features` bits), 0 if none.
fn speed_kbps(f: u32) -> u32 {
    use port_features::*;
    const RATES: [(u32, u32); 7] = [
        (RATE_1TB_FD, 1_000_000_000),
        (RATE_100GB_FD, 100_000_000),
        (RATE_40GB_FD, 40_000_000),
        (RATE_10GB_FD, 10_000_000),
        (RATE_1GB_HD | RATE_1GB_FD, 1_000_000),
        (RATE_100MB_HD | RATE_100MB_FD, 100_000),
        (RATE_10MB_HD | RATE_10MB_FD, 10_000),
    ];
    RATES.iter().find(|(bits, _)| f & bits != 0).map_or(0, |(_, kbps)| *kbps)
}

/// The description of every port of `bridge` (LOCAL last, as OVS lists them): `OFPPC_*`
/// bits from port-mods and the interface's administrative state, `OFPPS_*` from its carrier.
pub fn port_descs(sw: &Switch, bridge: &str) -> Vec<PortDesc> {
    let Some(br) = sw.bridges.get(bridge) else { return Vec::new() };
    let mut v: Vec<PortDesc> = br
        .ports
        .values()
        .map(|p| {
            let link = p.port.link_state();
            let mut config =
                p.config & (port_config::NO_RECV | port_config::NO_FWD | port_config::NO_FLOOD | port_config::NO_PACKET_IN);
            if !link.admin_up {
                config |= port_config::PORT_DOWN;
            }
            let state = if !link.carrier { port_state::LINK_DOWN } else { port_state::LIVE };
            // As OVS: what the device reports (ethtool), whatever its carrier.
            let features = p.port.link_features().unwrap_or_default();
            PortDesc {
                port_no: p.ofport,
                hw_addr: p.port.mac(),
                name: p.name.clone(),
                config,
                state,
                curr: features.current,
                advertised: features.advertised,
                supported: features.supported,
                peer: 0,
                curr_speed: speed_kbps(features.current),
                max_speed: speed_kbps(features.supported),
            }
        })
        .collect();
    v.sort_by_key(|d| d.port_no);
    v
}
