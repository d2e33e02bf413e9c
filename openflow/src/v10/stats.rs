//! OpenFlow 1.0 statistics (`OFPST_*`), Nicira's flow statistics (`NXST_FLOW`,
//! `NXST_AGGREGATE`), and the OpenFlow 1.0 port structure. Group statistics, descriptions
//! and features travel as Nicira statistics too (`NXST_GROUP*`, module `v10::group`) but are
//! the version-neutral [`MultipartRequest`] and [`MultipartReply`] group variants.
//!
//! A statistics message is the header, `type(2) flags(2)`, then a body whose layout depends
//! on the type; a Nicira one has type `0xffff` followed by `vendor(4) subtype(4) pad(4)`.
//! Supported: `DESC`, `FLOW`, `AGGREGATE`, `TABLE`, `PORT`, `PORT_DESC` (Open vSwitch's
//! OpenFlow 1.0 extension, type 13, which `ovs-ofctl` 3.1 sends without a body) and the two
//! Nicira types. Anything else is `OFPBRC_BAD_STAT`, an unknown vendor `OFPBRC_BAD_VENDOR`,
//! an unknown Nicira subtype `OFPBRC_BAD_SUBTYPE`.
//!
//! # What OpenFlow 1.0 cannot carry
//! Standard flow statistics carry no cookie filter and no flags; counters the switch does
//! not keep (`u64::MAX`) are sent as 0, as Open vSwitch does. Port statistics carry no
//! duration (decoded as `u32::MAX`, "unknown"). Ports carry no speeds: they are derived from
//! the feature bits on decoding (`netdev_features_to_bps`), and the feature bits are
//! renumbered between OpenFlow 1.0 and the model's OpenFlow 1.1+ numbering (40G, 100G, 1T and
//! "other" do not exist in 1.0). Table statistics carry a name, a size and the wildcardable
//! fields: a [`MultipartReply::Table`] is sent with Open vSwitch's values (no name, a million
//! entries, every field), a [`MultipartReply::TableStatsDesc`] with its own.

use super::ofp_match::{self, fields_of_wildcards, wildcards_of_fields};
use super::{actions, begin, finish};
use crate::codec::{c_string, put_c_string, Put, Reader};
use crate::error::{BadRequest, DecodeError, EncodeError};
use crate::msg::{MultipartReply, MultipartRequest, NxStatsReply, NxStatsRequest, OfMessage, MULTIPART_MORE};
use crate::nx::{nxst, NX_VENDOR_ID};
use crate::stats::{
    AggregateStats, FlowStats, FlowStatsRequest, NxFlowStats, PortDesc, PortStats, QueueStats, QueueStatsRequest, SwitchDesc,
    TableStats, TableStatsDesc,
};
use rvs_flowcache::ofp::{OfPort, ANY_GROUP};
use rvs_packet::wire::MacAddr;

/// `OFPST_*` statistics types of OpenFlow 1.0.
pub mod st {
    /// Switch description.
    pub const DESC: u16 = 0;
    /// Flow statistics.
    pub const FLOW: u16 = 1;
    /// Aggregate flow statistics.
    pub const AGGREGATE: u16 = 2;
    /// Table statistics.
    pub const TABLE: u16 = 3;
    /// Port statistics.
    pub const PORT: u16 = 4;
    /// Queue statistics.
    pub const QUEUE: u16 = 5;
    /// Port descriptions (an Open vSwitch extension in OpenFlow 1.0).
    pub const PORT_DESC: u16 = 13;
    /// Vendor statistics.
    pub const VENDOR: u16 = 0xffff;
}

const DESC_LEN: usize = 1056;
/// Size of `ofp_phy_port`.
pub const PHY_PORT_LEN: usize = 48;
const PORT_STATS_LEN: usize = 104;
const QUEUE_STATS_LEN: usize = 32;
const TABLE_STATS_LEN: usize = 64;
const FLOW_STATS_FIXED: usize = 88;
const NX_FLOW_STATS_FIXED: usize = 48;

/// What Open vSwitch 3.1 reports for a table in OpenFlow 1.0 when nothing more is known.
const DEFAULT_MAX_ENTRIES: u32 = 1_000_000;

fn bad_len(detail: &'static str) -> DecodeError {
    DecodeError::new(BadRequest::BadLen, detail)
}

/// Port features from OpenFlow 1.0 bits to the model's (OpenFlow 1.1+) bits.
pub(crate) fn features_from_ofp10(f: u32) -> u32 {
    (f & 0x7f) | ((f & 0xf80) << 4)
}

/// Port features from the model's bits to OpenFlow 1.0's.
pub(crate) fn features_to_ofp10(f: u32) -> u32 {
    (f & 0x7f) | ((f >> 4) & 0xf80)
}

/// The speed in kbps of the fastest rate in `f` (model bits), 0 if none
/// (`netdev_features_to_bps(f, 0) / 1000`).
fn speed_kbps(f: u32) -> u32 {
    const RATES: [(u32, u32); 7] = [
        (1 << 9, 1_000_000_000),
        (1 << 8, 100_000_000),
        (1 << 7, 40_000_000),
        (1 << 6, 10_000_000),
        (0x30, 1_000_000),
        (0x0c, 100_000),
        (0x03, 10_000),
    ];
    RATES.iter().find(|(bits, _)| f & bits != 0).map_or(0, |(_, kbps)| *kbps)
}

/// Writes an `ofp_phy_port`.
pub(crate) fn put_phy_port(out: &mut Vec<u8>, p: &PortDesc) -> Result<(), EncodeError> {
    if OfPort::from_ofp10(p.port_no.to_ofp10()) != p.port_no {
        return Err(EncodeError::Unrepresentable(format!("port {} has no OpenFlow 1.0 number", p.port_no.0)));
    }
    out.put_u16(p.port_no.to_ofp10());
    out.extend_from_slice(&p.hw_addr.0);
    put_c_string(out, &p.name, 16);
    out.put_u32(p.config & 0x7f);
    out.put_u32(p.state & 0x301);
    for f in [p.curr, p.advertised, p.supported, p.peer] {
        out.put_u32(features_to_ofp10(f));
    }
    Ok(())
}

/// Reads an `ofp_phy_port`.
pub(crate) fn pull_phy_port(r: &mut Reader<'_>) -> Result<PortDesc, DecodeError> {
    let port_no = OfPort::from_ofp10(r.u16()?);
    let hw_addr = MacAddr(r.array()?);
    let name = c_string(r.bytes(16)?);
    let config = r.u32()? & 0x7f;
    let state = r.u32()? & 0x301;
    let curr = features_from_ofp10(r.u32()?);
    let advertised = features_from_ofp10(r.u32()?);
    let supported = features_from_ofp10(r.u32()?);
    let peer = features_from_ofp10(r.u32()?);
    Ok(PortDesc {
        port_no,
        hw_addr,
        name,
        config,
        state,
        curr,
        advertised,
        supported,
        peer,
        curr_speed: speed_kbps(curr),
        max_speed: speed_kbps(supported),
    })
}

fn port16(p: OfPort, what: &str) -> Result<u16, EncodeError> {
    if OfPort::from_ofp10(p.to_ofp10()) == p {
        Ok(p.to_ofp10())
    } else {
        Err(EncodeError::Unrepresentable(format!("{what} {} has no OpenFlow 1.0 number", p.0)))
    }
}

fn check_request(f: &FlowStatsRequest) -> Result<(), EncodeError> {
    if f.out_group != ANY_GROUP {
        return Err(EncodeError::Unrepresentable("out_group needs OpenFlow 1.1 or later".into()));
    }
    Ok(())
}

/// Writes the statistics header and body of a standard request.
pub(crate) fn put_request(out: &mut Vec<u8>, flags: u16, req: &MultipartRequest) -> Result<(), EncodeError> {
    let ty = match req {
        MultipartRequest::Desc => st::DESC,
        MultipartRequest::Flow(_) => st::FLOW,
        MultipartRequest::Aggregate(_) => st::AGGREGATE,
        MultipartRequest::Table => st::TABLE,
        MultipartRequest::PortStats { .. } => st::PORT,
        MultipartRequest::PortDesc => st::PORT_DESC,
        MultipartRequest::Queue(_) => st::QUEUE,
        // Groups are Nicira statistics in OpenFlow 1.0 (see `super::group`).
        MultipartRequest::Group { group_id } | MultipartRequest::GroupDesc { group_id } => {
            let sub = if matches!(req, MultipartRequest::Group { .. }) { nxst::GROUP } else { nxst::GROUP_DESC };
            put_nx_header(out, flags, sub);
            out.put_u32(*group_id);
            out.put_zeros(4);
            return Ok(());
        }
        MultipartRequest::GroupFeatures => {
            put_nx_header(out, flags, nxst::GROUP_FEATURES);
            return Ok(());
        }
        MultipartRequest::TableFeatures(_) => {
            return Err(EncodeError::Unrepresentable("table features need OpenFlow 1.3".into()));
        }
    };
    out.put_u16(ty);
    out.put_u16(flags);
    match req {
        MultipartRequest::Flow(f) | MultipartRequest::Aggregate(f) => {
            check_request(f)?;
            if f.cookie_mask != 0 {
                return Err(EncodeError::Unrepresentable("a cookie filter needs NXM".into()));
            }
            ofp_match::put_match(out, &f.match_)?;
            out.put_u8(f.table_id);
            out.put_zeros(1);
            out.put_u16(port16(f.out_port, "out_port")?);
        }
        MultipartRequest::PortStats { port_no } => {
            out.put_u16(port16(*port_no, "port")?);
            out.put_zeros(6);
        }
        MultipartRequest::Queue(q) => {
            // Every port is OFPP_ALL here, as Open vSwitch sends it.
            let port = if q.port_no == OfPort::ANY { OfPort::ALL } else { q.port_no };
            out.put_u16(port16(port, "port")?);
            out.put_zeros(2);
            out.put_u32(q.queue_id);
        }
        _ => {}
    }
    Ok(())
}

/// Writes the statistics header and body of a Nicira request.
pub(crate) fn put_nx_request(out: &mut Vec<u8>, flags: u16, req: &NxStatsRequest) -> Result<(), EncodeError> {
    let (sub, f) = match req {
        NxStatsRequest::Flow(f) => (nxst::FLOW, f),
        NxStatsRequest::Aggregate(f) => (nxst::AGGREGATE, f),
        NxStatsRequest::FlowMonitor(reqs) => {
            put_nx_header(out, flags, nxst::FLOW_MONITOR);
            return super::monitor::put_requests(out, reqs);
        }
    };
    check_request(f)?;
    put_nx_header(out, flags, sub);
    let at = out.len();
    out.put_u16(port16(f.out_port, "out_port")?);
    out.put_u16(0);
    out.put_u8(f.table_id);
    out.put_zeros(3);
    let match_len = ofp_match::put_nx_match(out, &f.match_, f.cookie, f.cookie_mask)?;
    out.set_u16(at + 2, match_len);
    Ok(())
}

fn put_nx_header(out: &mut Vec<u8>, flags: u16, sub: u32) {
    out.put_u16(st::VENDOR);
    out.put_u16(flags);
    out.put_u32(NX_VENDOR_ID);
    out.put_u32(sub);
    out.put_zeros(4);
}

fn unknown_to_zero(v: u64) -> u64 {
    if v == u64::MAX {
        0
    } else {
        v
    }
}

fn put_flow_stats(b: &mut Vec<u8>, f: &FlowStats) -> Result<(), EncodeError> {
    b.put_u16(0);
    b.put_u8(f.table_id);
    b.put_zeros(1);
    ofp_match::put_match(b, &f.match_)?;
    b.put_u32(f.duration_sec);
    b.put_u32(f.duration_nsec);
    b.put_u16(f.priority);
    b.put_u16(f.idle_timeout);
    b.put_u16(f.hard_timeout);
    b.put_zeros(6);
    b.put_u64(f.cookie);
    b.put_u64(unknown_to_zero(f.packet_count));
    b.put_u64(unknown_to_zero(f.byte_count));
    actions::put_actions(b, &f.actions)?;
    set_entry_len(b)
}

fn set_entry_len(b: &mut Vec<u8>) -> Result<(), EncodeError> {
    let len = u16::try_from(b.len()).map_err(|_| EncodeError::TooLong(b.len()))?;
    b.set_u16(0, len);
    Ok(())
}

fn age_to_wire(age: Option<u16>) -> u16 {
    age.map_or(0, |a| a.saturating_add(1))
}

fn put_nx_flow_stats(b: &mut Vec<u8>, n: &NxFlowStats) -> Result<(), EncodeError> {
    let f = &n.stats;
    b.put_u16(0);
    b.put_u8(f.table_id);
    b.put_zeros(1);
    b.put_u32(f.duration_sec);
    b.put_u32(f.duration_nsec);
    b.put_u16(f.priority);
    b.put_u16(f.idle_timeout);
    b.put_u16(f.hard_timeout);
    b.put_u16(0);
    b.put_u16(age_to_wire(n.idle_age));
    b.put_u16(age_to_wire(n.hard_age));
    b.put_u64(f.cookie);
    b.put_u64(f.packet_count);
    b.put_u64(f.byte_count);
    let match_len = ofp_match::put_nx_match(b, &f.match_, 0, 0)?;
    b.set_u16(18, match_len);
    actions::put_actions(b, &f.actions)?;
    set_entry_len(b)
}

fn put_table_stats(b: &mut Vec<u8>, t: &TableStats, name: &str, wildcards: u32, max_entries: u32) {
    b.put_u8(t.table_id);
    b.put_zeros(3);
    put_c_string(b, name, 32);
    b.put_u32(wildcards);
    b.put_u32(max_entries);
    b.put_u32(t.active_count);
    b.put_u64(t.lookup_count);
    b.put_u64(t.matched_count);
}

fn put_port_stats(b: &mut Vec<u8>, p: &PortStats) -> Result<(), EncodeError> {
    b.put_u16(port16(p.port_no, "port")?);
    b.put_zeros(6);
    for v in p.wire_counters() {
        b.put_u64(v);
    }
    Ok(())
}

fn put_aggregate(b: &mut Vec<u8>, a: &AggregateStats, unknown_zero: bool) {
    let z = |v: u64| if unknown_zero { unknown_to_zero(v) } else { v };
    b.put_u64(z(a.packet_count));
    b.put_u64(z(a.byte_count));
    b.put_u32(a.flow_count);
    b.put_zeros(4);
}

/// The statistics header of a standard reply: `type(2) flags(2)`, or for the groups, which
/// are Nicira statistics in OpenFlow 1.0, the Nicira header with their subtype.
fn reply_head(reply: &MultipartReply, more: bool) -> Result<Vec<u8>, EncodeError> {
    let flags = if more { MULTIPART_MORE } else { 0 };
    let mut head = Vec::with_capacity(16);
    let sub = match reply {
        MultipartReply::Group(_) => nxst::GROUP,
        MultipartReply::GroupDesc(_) => nxst::GROUP_DESC,
        MultipartReply::GroupFeatures(_) => nxst::GROUP_FEATURES,
        _ => {
            head.put_u16(reply_type(reply)?);
            head.put_u16(flags);
            return Ok(head);
        }
    };
    put_nx_header(&mut head, flags, sub);
    Ok(head)
}

fn reply_type(reply: &MultipartReply) -> Result<u16, EncodeError> {
    Ok(match reply {
        MultipartReply::Desc(_) => st::DESC,
        MultipartReply::Flow(_) => st::FLOW,
        MultipartReply::Aggregate(_) => st::AGGREGATE,
        MultipartReply::Table(_) | MultipartReply::TableStatsDesc(_) => st::TABLE,
        MultipartReply::PortStats(_) => st::PORT,
        MultipartReply::PortDesc(_) => st::PORT_DESC,
        MultipartReply::Queue(_) => st::QUEUE,
        MultipartReply::Group(_) | MultipartReply::GroupDesc(_) | MultipartReply::GroupFeatures(_) => st::VENDOR,
        MultipartReply::TableFeatures(_) => return Err(EncodeError::Unrepresentable("table features need OpenFlow 1.3".into())),
    })
}

/// The body entries of a standard reply, each encoded on its own.
fn reply_entries(reply: &MultipartReply) -> Result<Vec<Vec<u8>>, EncodeError> {
    let one = |f: &dyn Fn(&mut Vec<u8>) -> Result<(), EncodeError>| -> Result<Vec<u8>, EncodeError> {
        let mut b = Vec::with_capacity(128);
        f(&mut b)?;
        Ok(b)
    };
    Ok(match reply {
        MultipartReply::Desc(d) => vec![one(&|b| {
            put_c_string(b, &d.mfr_desc, 256);
            put_c_string(b, &d.hw_desc, 256);
            put_c_string(b, &d.sw_desc, 256);
            put_c_string(b, &d.serial_num, 32);
            put_c_string(b, &d.dp_desc, 256);
            Ok(())
        })?],
        MultipartReply::Aggregate(a) => vec![one(&|b| {
            put_aggregate(b, a, true);
            Ok(())
        })?],
        MultipartReply::Flow(flows) => flows.iter().map(|f| one(&|b| put_flow_stats(b, f))).collect::<Result<_, _>>()?,
        MultipartReply::Table(tables) => tables
            .iter()
            .map(|t| {
                one(&|b| {
                    put_table_stats(b, t, "", ofp_match::wildcards::ALL, DEFAULT_MAX_ENTRIES);
                    Ok(())
                })
            })
            .collect::<Result<_, _>>()?,
        MultipartReply::TableStatsDesc(tables) => tables
            .iter()
            .map(|t| {
                one(&|b| {
                    put_table_stats(b, &t.stats, &t.name, wildcards_of_fields(&t.wildcards), t.max_entries);
                    Ok(())
                })
            })
            .collect::<Result<_, _>>()?,
        MultipartReply::PortStats(ports) => ports.iter().map(|p| one(&|b| put_port_stats(b, p))).collect::<Result<_, _>>()?,
        MultipartReply::PortDesc(ports) => ports.iter().map(|p| one(&|b| put_phy_port(b, p))).collect::<Result<_, _>>()?,
        MultipartReply::Queue(queues) => queues
            .iter()
            .map(|q| {
                one(&|b| {
                    b.put_u16(port16(q.port_no, "port")?);
                    b.put_zeros(2);
                    b.put_u32(q.queue_id);
                    b.put_u64(q.tx_bytes);
                    b.put_u64(q.tx_packets);
                    b.put_u64(q.tx_errors);
                    Ok(())
                })
            })
            .collect::<Result<_, _>>()?,
        MultipartReply::TableFeatures(_) => {
            return Err(EncodeError::Unrepresentable("table features need OpenFlow 1.3".into()));
        }
        MultipartReply::Group(_) | MultipartReply::GroupDesc(_) | MultipartReply::GroupFeatures(_) => {
            super::group::reply_entries(reply)?
        }
    })
}

fn nx_reply_entries(reply: &NxStatsReply) -> Result<(u32, Vec<Vec<u8>>), EncodeError> {
    Ok(match reply {
        NxStatsReply::Flow(flows) => (
            nxst::FLOW,
            flows
                .iter()
                .map(|f| {
                    let mut b = Vec::with_capacity(128);
                    put_nx_flow_stats(&mut b, f)?;
                    Ok(b)
                })
                .collect::<Result<_, EncodeError>>()?,
        ),
        NxStatsReply::Aggregate(a) => {
            let mut b = Vec::with_capacity(24);
            put_aggregate(&mut b, a, false);
            (nxst::AGGREGATE, vec![b])
        }
        NxStatsReply::FlowMonitor(updates) => (
            nxst::FLOW_MONITOR,
            updates
                .iter()
                .map(|u| {
                    let mut b = Vec::with_capacity(64);
                    super::monitor::put_update(&mut b, u)?;
                    Ok(b)
                })
                .collect::<Result<_, EncodeError>>()?,
        ),
    })
}

/// Writes the statistics header and body of one standard reply message.
pub(crate) fn put_reply_part(out: &mut Vec<u8>, more: bool, reply: &MultipartReply) -> Result<(), EncodeError> {
    out.extend_from_slice(&reply_head(reply, more)?);
    for e in reply_entries(reply)? {
        out.extend_from_slice(&e);
    }
    Ok(())
}

/// Writes the statistics header and body of one Nicira reply message.
pub(crate) fn put_nx_reply_part(out: &mut Vec<u8>, more: bool, reply: &NxStatsReply) -> Result<(), EncodeError> {
    let (sub, entries) = nx_reply_entries(reply)?;
    put_nx_header(out, if more { MULTIPART_MORE } else { 0 }, sub);
    for e in entries {
        out.extend_from_slice(&e);
    }
    Ok(())
}

/// Spreads `entries` over messages of at most `max_len` bytes, each starting with `head`
/// (the OpenFlow and statistics headers), the "more" flag at byte 10 on all but the last.
fn split(xid: u32, head: &[u8], entries: Vec<Vec<u8>>, max_len: usize) -> Result<Vec<Vec<u8>>, EncodeError> {
    let max_len = max_len.min(crate::framing::MAX_MESSAGE_LEN);
    let start_msg = || {
        let mut m = Vec::new();
        begin(&mut m, super::msg_type::STATS_REPLY, xid);
        m.extend_from_slice(head);
        m
    };
    let mut msgs = Vec::new();
    let mut cur = start_msg();
    let mut in_cur = 0;
    for e in entries {
        if 8 + head.len() + e.len() > max_len {
            return Err(EncodeError::TooLong(8 + head.len() + e.len()));
        }
        if cur.len() + e.len() > max_len && in_cur > 0 {
            msgs.push(std::mem::replace(&mut cur, start_msg()));
            in_cur = 0;
        }
        cur.extend_from_slice(&e);
        in_cur += 1;
    }
    msgs.push(cur);
    let n = msgs.len();
    msgs.into_iter()
        .enumerate()
        .map(|(i, mut m)| {
            if i + 1 < n {
                m.set_u16(10, MULTIPART_MORE);
            }
            finish(m)
        })
        .collect()
}

/// Encodes a standard reply as as many messages as needed, each at most `max_len` bytes.
pub fn encode_reply_split(xid: u32, reply: &MultipartReply, max_len: usize) -> Result<Vec<Vec<u8>>, EncodeError> {
    split(xid, &reply_head(reply, false)?, reply_entries(reply)?, max_len)
}

/// Encodes a Nicira reply as as many messages as needed, each at most `max_len` bytes.
pub fn encode_nx_reply_split(xid: u32, reply: &NxStatsReply, max_len: usize) -> Result<Vec<Vec<u8>>, EncodeError> {
    let (sub, entries) = nx_reply_entries(reply)?;
    let mut head = Vec::with_capacity(16);
    put_nx_header(&mut head, 0, sub);
    split(xid, &head, entries, max_len)
}

fn pull_flow_request(r: &mut Reader<'_>) -> Result<FlowStatsRequest, DecodeError> {
    let (match_, _) = ofp_match::pull_match(r)?;
    let table_id = r.u8()?;
    r.skip(1)?;
    let out_port = OfPort::from_ofp10(r.u16()?);
    if !r.is_empty() {
        return Err(bad_len("bytes after the flow statistics request"));
    }
    Ok(FlowStatsRequest { table_id, out_port, out_group: ANY_GROUP, cookie: 0, cookie_mask: 0, match_ })
}

fn pull_nx_flow_request(r: &mut Reader<'_>) -> Result<FlowStatsRequest, DecodeError> {
    let out_port = OfPort::from_ofp10(r.u16()?);
    let match_len = r.u16()? as usize;
    let table_id = r.u8()?;
    r.skip(3)?;
    let (match_, cookie) = ofp_match::pull_nx_match(r, match_len, true)?;
    if !r.is_empty() {
        return Err(bad_len("bytes after the Nicira flow statistics request"));
    }
    let (cookie, cookie_mask) = cookie.unwrap_or((0, 0));
    Ok(FlowStatsRequest { table_id, out_port, out_group: ANY_GROUP, cookie, cookie_mask, match_ })
}

/// Reads a Nicira vendor header; returns the subtype.
fn pull_nx_header(r: &mut Reader<'_>) -> Result<u32, DecodeError> {
    if r.u32()? != NX_VENDOR_ID {
        return Err(DecodeError::new(BadRequest::BadExperimenter, "unknown statistics vendor"));
    }
    let sub = r.u32()?;
    r.skip(4)?;
    Ok(sub)
}

/// Decodes a statistics request body (after the OpenFlow header).
pub(crate) fn decode_request(body: &[u8]) -> Result<OfMessage, DecodeError> {
    let mut r = Reader::new(body, bad_len("truncated statistics request"));
    let ty = r.u16()?;
    let flags = r.u16()?;
    let no_body = |r: &Reader<'_>| if r.is_empty() { Ok(()) } else { Err(bad_len("statistics request has an unexpected body")) };
    let request = match ty {
        st::DESC => {
            no_body(&r)?;
            MultipartRequest::Desc
        }
        st::FLOW => MultipartRequest::Flow(pull_flow_request(&mut r)?),
        st::AGGREGATE => MultipartRequest::Aggregate(pull_flow_request(&mut r)?),
        st::TABLE => {
            no_body(&r)?;
            MultipartRequest::Table
        }
        st::PORT => {
            let port_no = OfPort::from_ofp10(r.u16()?);
            r.skip(6)?;
            no_body(&r)?;
            MultipartRequest::PortStats { port_no }
        }
        st::PORT_DESC => {
            no_body(&r)?;
            MultipartRequest::PortDesc
        }
        st::QUEUE => {
            let port_no = match OfPort::from_ofp10(r.u16()?) {
                OfPort::ALL => OfPort::ANY,
                p => p,
            };
            r.skip(2)?;
            let queue_id = r.u32()?;
            no_body(&r)?;
            MultipartRequest::Queue(QueueStatsRequest { port_no, queue_id })
        }
        st::VENDOR => {
            let request = match pull_nx_header(&mut r)? {
                nxst::FLOW => NxStatsRequest::Flow(pull_nx_flow_request(&mut r)?),
                nxst::AGGREGATE => NxStatsRequest::Aggregate(pull_nx_flow_request(&mut r)?),
                nxst::FLOW_MONITOR => NxStatsRequest::FlowMonitor(super::monitor::pull_requests(&mut r)?),
                sub @ (nxst::GROUP | nxst::GROUP_DESC | nxst::GROUP_FEATURES) => {
                    let request = super::group::pull_stats_request(sub, &mut r)?;
                    return Ok(OfMessage::MultipartRequest { flags, request });
                }
                _ => return Err(DecodeError::new(BadRequest::BadExpType, "unknown Nicira statistics")),
            };
            return Ok(OfMessage::NxStatsRequest { flags, request });
        }
        _ => return Err(DecodeError::new(BadRequest::BadMultipart, "unsupported statistics type")),
    };
    Ok(OfMessage::MultipartRequest { flags, request })
}

fn array<T>(
    r: &mut Reader<'_>,
    size: usize,
    mut one: impl FnMut(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    if !r.remaining().is_multiple_of(size) {
        return Err(bad_len("statistics reply body is not a whole number of entries"));
    }
    let mut v = Vec::with_capacity(r.remaining() / size);
    while !r.is_empty() {
        v.push(one(r)?);
    }
    Ok(v)
}


fn pull_flow_stats(r: &mut Reader<'_>) -> Result<FlowStats, DecodeError> {
    let mut e = r.entry(FLOW_STATS_FIXED, 1, bad_len("truncated flow statistics entry"), bad_len("flow statistics entry length out of range"))?;
    e.skip(2)?;
    let table_id = e.u8()?;
    e.skip(1)?;
    let (match_, _) = ofp_match::pull_match(&mut e)?;
    let duration_sec = e.u32()?;
    let duration_nsec = e.u32()?;
    let priority = e.u16()?;
    let idle_timeout = e.u16()?;
    let hard_timeout = e.u16()?;
    e.skip(6)?;
    let cookie = e.u64()?;
    let packet_count = e.u64()?;
    let byte_count = e.u64()?;
    let actions = actions::pull_actions(e.rest())?;
    Ok(FlowStats {
        table_id,
        duration_sec,
        duration_nsec,
        priority,
        idle_timeout,
        hard_timeout,
        flags: 0,
        importance: 0,
        cookie,
        packet_count,
        byte_count,
        match_,
        actions,
    })
}

fn age_from_wire(v: u16) -> Option<u16> {
    v.checked_sub(1)
}

fn pull_nx_flow_stats(r: &mut Reader<'_>) -> Result<NxFlowStats, DecodeError> {
    let mut e = r.entry(NX_FLOW_STATS_FIXED, 1, bad_len("truncated flow statistics entry"), bad_len("flow statistics entry length out of range"))?;
    let len = e.remaining();
    e.skip(2)?;
    let table_id = e.u8()?;
    e.skip(1)?;
    let duration_sec = e.u32()?;
    let duration_nsec = e.u32()?;
    let priority = e.u16()?;
    let idle_timeout = e.u16()?;
    let hard_timeout = e.u16()?;
    let match_len = e.u16()? as usize;
    if len < NX_FLOW_STATS_FIXED + match_len.div_ceil(8) * 8 {
        return Err(bad_len("NXST_FLOW entry shorter than its match"));
    }
    let idle_age = age_from_wire(e.u16()?);
    let hard_age = age_from_wire(e.u16()?);
    let cookie = e.u64()?;
    let packet_count = e.u64()?;
    let byte_count = e.u64()?;
    let (match_, _) = ofp_match::pull_nx_match(&mut e, match_len, false)?;
    let actions = actions::pull_actions(e.rest())?;
    let stats = FlowStats {
        table_id,
        duration_sec,
        duration_nsec,
        priority,
        idle_timeout,
        hard_timeout,
        flags: 0,
        importance: 0,
        cookie,
        packet_count,
        byte_count,
        match_,
        actions,
    };
    Ok(NxFlowStats { stats, idle_age, hard_age })
}

fn pull_port_stats(r: &mut Reader<'_>) -> Result<PortStats, DecodeError> {
    let port_no = OfPort::from_ofp10(r.u16()?);
    r.skip(6)?;
    let mut c = [0u64; 12];
    for v in c.iter_mut() {
        *v = r.u64()?;
    }
    // OpenFlow 1.0 has no duration.
    Ok(PortStats::from_wire_counters(port_no, c, u32::MAX, u32::MAX))
}

fn pull_table_stats(r: &mut Reader<'_>) -> Result<TableStatsDesc, DecodeError> {
    let table_id = r.u8()?;
    r.skip(3)?;
    let name = c_string(r.bytes(32)?);
    let wildcards = r.u32()?;
    let max_entries = r.u32()?;
    let stats = TableStats { table_id, active_count: r.u32()?, lookup_count: r.u64()?, matched_count: r.u64()? };
    Ok(TableStatsDesc { stats, name, max_entries, wildcards: fields_of_wildcards(wildcards) })
}

fn pull_aggregate(r: &mut Reader<'_>) -> Result<AggregateStats, DecodeError> {
    if r.remaining() != 24 {
        return Err(bad_len("aggregate reply has the wrong size"));
    }
    let a = AggregateStats { packet_count: r.u64()?, byte_count: r.u64()?, flow_count: r.u32()? };
    r.skip(4)?;
    Ok(a)
}

/// Decodes a statistics reply body (after the OpenFlow header).
pub(crate) fn decode_reply(body: &[u8]) -> Result<OfMessage, DecodeError> {
    let mut r = Reader::new(body, bad_len("truncated statistics reply"));
    let ty = r.u16()?;
    let more = r.u16()? & MULTIPART_MORE != 0;
    let reply = match ty {
        st::DESC => {
            if r.remaining() != DESC_LEN {
                return Err(bad_len("description reply has the wrong size"));
            }
            MultipartReply::Desc(SwitchDesc {
                mfr_desc: c_string(r.bytes(256)?),
                hw_desc: c_string(r.bytes(256)?),
                sw_desc: c_string(r.bytes(256)?),
                serial_num: c_string(r.bytes(32)?),
                dp_desc: c_string(r.bytes(256)?),
            })
        }
        st::FLOW => {
            let mut flows = Vec::new();
            while !r.is_empty() {
                flows.push(pull_flow_stats(&mut r)?);
            }
            MultipartReply::Flow(flows)
        }
        st::AGGREGATE => MultipartReply::Aggregate(pull_aggregate(&mut r)?),
        st::TABLE => MultipartReply::TableStatsDesc(array(&mut r, TABLE_STATS_LEN, pull_table_stats)?),
        st::PORT => MultipartReply::PortStats(array(&mut r, PORT_STATS_LEN, pull_port_stats)?),
        st::PORT_DESC => MultipartReply::PortDesc(array(&mut r, PHY_PORT_LEN, pull_phy_port)?),
        st::QUEUE => MultipartReply::Queue(array(&mut r, QUEUE_STATS_LEN, |r| {
            let port_no = OfPort::from_ofp10(r.u16()?);
            r.skip(2)?;
            Ok(QueueStats {
                port_no,
                queue_id: r.u32()?,
                tx_bytes: r.u64()?,
                tx_packets: r.u64()?,
                tx_errors: r.u64()?,
                duration_sec: 0,
                duration_nsec: 0,
            })
        })?),
        st::VENDOR => {
            let reply = match pull_nx_header(&mut r)? {
                nxst::FLOW => {
                    let mut flows = Vec::new();
                    while !r.is_empty() {
                        flows.push(pull_nx_flow_stats(&mut r)?);
                    }
                    NxStatsReply::Flow(flows)
                }
                nxst::AGGREGATE => NxStatsReply::Aggregate(pull_aggregate(&mut r)?),
                nxst::FLOW_MONITOR => NxStatsReply::FlowMonitor(super::monitor::pull_updates(&mut r)?),
                sub @ (nxst::GROUP | nxst::GROUP_DESC | nxst::GROUP_FEATURES) => {
                    let reply = super::group::pull_stats_reply(sub, &mut r)?;
                    return Ok(OfMessage::MultipartReply { more, reply });
                }
                _ => return Err(DecodeError::new(BadRequest::BadExpType, "unknown Nicira statistics")),
            };
            return Ok(OfMessage::NxStatsReply { more, reply });
        }
        _ => return Err(DecodeError::new(BadRequest::BadMultipart, "unsupported statistics type")),
    };
    Ok(OfMessage::MultipartReply { more, reply })
}
