//! OpenFlow 1.3 multipart (statistics) requests and replies, and the port structure.
//!
//! A multipart message is the OpenFlow header, then `type(2) flags(2) pad(4)`, then a body
//! whose layout depends on the type. Replies that hold arrays (flows, tables, ports) can
//! exceed the 64 kB message limit; [`encode_reply_split`] spreads the entries over several
//! messages, each with the `OFPMPF_REPLY_MORE` flag except the last, never splitting an entry.
//! A receiver concatenates the parts ([`crate::msg::OfMessage::MultipartReply`] carries one).
//!
//! Supported types: `DESC` (0), `FLOW` (1), `AGGREGATE` (2), `TABLE` (3), `PORT_STATS` (4), `QUEUE` (5),
//! `TABLE_FEATURES` (12, see [`super::table_features`]) and `PORT_DESC` (13). Any other type
//! is `OFPBRC_BAD_STAT` (Open vSwitch's name for `OFPBRC_BAD_MULTIPART`).

use super::{actions, begin, finish};
use crate::check::FlowState;
use crate::codec::{c_string, put_c_string, Put, Reader};
use crate::error::{BadAction, BadRequest, DecodeError, EncodeError};
use crate::msg::{MultipartReply, MultipartRequest, NxStatsReply, NxStatsRequest, OfMessage, MULTIPART_MORE};
use crate::oxm;
use crate::stats::{
    AggregateStats, FlowStats, FlowStatsRequest, PortDesc, PortStats, QueueStats, QueueStatsRequest, SwitchDesc, TableStats,
};
use rvs_flowcache::ofp::OfPort;
use rvs_packet::wire::MacAddr;

/// `OFPMP_*` multipart types.
pub mod mp_type {
    /// Switch description.
    pub const DESC: u16 = 0;
    /// Flow statistics.
    pub const FLOW: u16 = 1;
    /// Aggregate flow statistics.
    pub const AGGREGATE: u16 = 2;
    /// Table statistics.
    pub const TABLE: u16 = 3;
    /// Port statistics.
    pub const PORT_STATS: u16 = 4;
    /// Queue statistics.
    pub const QUEUE: u16 = 5;
    /// Group statistics.
    pub const GROUP: u16 = 6;
    /// Group descriptions.
    pub const GROUP_DESC: u16 = 7;
    /// Group features.
    pub const GROUP_FEATURES: u16 = 8;
    /// Table features.
    pub const TABLE_FEATURES: u16 = 12;
    /// Port descriptions.
    pub const PORT_DESC: u16 = 13;
    /// Experimenter (ONF's flow monitor, [`super::super::monitor`]).
    pub const EXPERIMENTER: u16 = 0xffff;
}

const DESC_LEN: usize = 1056;
const PORT_LEN: usize = 64;
const PORT_STATS_LEN: usize = 112;
const QUEUE_STATS_LEN: usize = 40;
const TABLE_STATS_LEN: usize = 24;
const FLOW_STATS_FIXED: usize = 48;

fn bad_len(detail: &'static str) -> DecodeError {
    DecodeError::new(BadRequest::BadLen, detail)
}

/// Writes an `ofp_port`.
pub(crate) fn put_port(out: &mut Vec<u8>, p: &PortDesc) {
    out.put_u32(p.port_no.0);
    out.put_zeros(4);
    out.extend_from_slice(&p.hw_addr.0);
    out.put_zeros(2);
    put_c_string(out, &p.name, 16);
    // OpenFlow 1.1+ has no NO_STP, NO_RECV_STP or NO_FLOOD.
    for v in [p.config & 0x65, p.state, p.curr, p.advertised, p.supported, p.peer, p.curr_speed, p.max_speed] {
        out.put_u32(v);
    }
}

/// Reads an `ofp_port`.
pub(crate) fn pull_port(r: &mut Reader<'_>) -> Result<PortDesc, DecodeError> {
    let port_no = OfPort(r.u32()?);
    r.skip(4)?;
    let hw_addr = MacAddr(r.array()?);
    r.skip(2)?;
    let name = c_string(r.bytes(16)?);
    Ok(PortDesc {
        port_no,
        hw_addr,
        name,
        config: r.u32()?,
        state: r.u32()?,
        curr: r.u32()?,
        advertised: r.u32()?,
        supported: r.u32()?,
        peer: r.u32()?,
        curr_speed: r.u32()?,
        max_speed: r.u32()?,
    })
}

fn put_flow_stats_request(out: &mut Vec<u8>, f: &FlowStatsRequest) -> Result<(), EncodeError> {
    out.put_u8(f.table_id);
    out.put_zeros(3);
    out.put_u32(f.out_port.0);
    out.put_u32(f.out_group);
    out.put_zeros(4);
    out.put_u64(f.cookie);
    out.put_u64(f.cookie_mask);
    oxm::put_match(out, &f.match_)
}

/// Writes the multipart header and body of a request.
pub(crate) fn put_request(out: &mut Vec<u8>, flags: u16, req: &MultipartRequest) -> Result<(), EncodeError> {
    let ty = match req {
        MultipartRequest::Desc => mp_type::DESC,
        MultipartRequest::Flow(_) => mp_type::FLOW,
        MultipartRequest::Aggregate(_) => mp_type::AGGREGATE,
        MultipartRequest::Table => mp_type::TABLE,
        MultipartRequest::PortStats { .. } => mp_type::PORT_STATS,
        MultipartRequest::PortDesc => mp_type::PORT_DESC,
        MultipartRequest::TableFeatures(_) => mp_type::TABLE_FEATURES,
        MultipartRequest::Queue(_) => mp_type::QUEUE,
        MultipartRequest::Group { .. } => mp_type::GROUP,
        MultipartRequest::GroupDesc { .. } => mp_type::GROUP_DESC,
        MultipartRequest::GroupFeatures => mp_type::GROUP_FEATURES,
    };
    out.put_u16(ty);
    out.put_u16(flags);
    out.put_zeros(4);
    match req {
        MultipartRequest::Flow(f) | MultipartRequest::Aggregate(f) => put_flow_stats_request(out, f)?,
        MultipartRequest::PortStats { port_no } => {
            out.put_u32(port_no.0);
            out.put_zeros(4);
        }
        MultipartRequest::TableFeatures(tables) => {
            for tf in tables {
                super::table_features::put_table_features(out, tf);
            }
        }
        MultipartRequest::Queue(q) => {
            out.put_u32(q.port_no.0);
            out.put_u32(q.queue_id);
        }
        MultipartRequest::Group { group_id } => {
            out.put_u32(*group_id);
            out.put_zeros(4);
        }
        // OpenFlow 1.3's group description request has no group id (1.5's has).
        MultipartRequest::GroupDesc { .. } | MultipartRequest::GroupFeatures => {}
        MultipartRequest::Desc | MultipartRequest::Table | MultipartRequest::PortDesc => {}
    }
    Ok(())
}

fn reply_type(reply: &MultipartReply) -> u16 {
    match reply {
        MultipartReply::Desc(_) => mp_type::DESC,
        MultipartReply::Flow(_) => mp_type::FLOW,
        MultipartReply::Aggregate(_) => mp_type::AGGREGATE,
        MultipartReply::Table(_) | MultipartReply::TableStatsDesc(_) => mp_type::TABLE,
        MultipartReply::PortStats(_) => mp_type::PORT_STATS,
        MultipartReply::PortDesc(_) => mp_type::PORT_DESC,
        MultipartReply::TableFeatures(_) => mp_type::TABLE_FEATURES,
        MultipartReply::Queue(_) => mp_type::QUEUE,
        MultipartReply::Group(_) => mp_type::GROUP,
        MultipartReply::GroupDesc(_) => mp_type::GROUP_DESC,
        MultipartReply::GroupFeatures(_) => mp_type::GROUP_FEATURES,
    }
}

fn put_flow_stats(out: &mut Vec<u8>, f: &FlowStats) -> Result<(), EncodeError> {
    let start = out.len();
    out.put_u16(0);
    out.put_u8(f.table_id);
    out.put_zeros(1);
    out.put_u32(f.duration_sec);
    out.put_u32(f.duration_nsec);
    out.put_u16(f.priority);
    out.put_u16(f.idle_timeout);
    out.put_u16(f.hard_timeout);
    out.put_u16(f.flags);
    out.put_zeros(4);
    out.put_u64(f.cookie);
    out.put_u64(f.packet_count);
    out.put_u64(f.byte_count);
    oxm::put_match(out, &f.match_)?;
    actions::put_instructions(out, &f.actions, FlowState::from_match(&f.match_))?;
    let len = out.len() - start;
    if len > u16::MAX as usize {
        return Err(EncodeError::TooLong(len));
    }
    out.set_u16(start, len as u16);
    Ok(())
}

fn put_port_stats(out: &mut Vec<u8>, p: &PortStats) {
    out.put_u32(p.port_no.0);
    out.put_zeros(4);
    for v in p.wire_counters() {
        out.put_u64(v);
    }
    out.put_u32(p.duration_sec);
    out.put_u32(p.duration_nsec);
}

/// The body entries of a reply, each encoded on its own (arrays), or the single body.
fn reply_entries(reply: &MultipartReply) -> Result<Vec<Vec<u8>>, EncodeError> {
    let mut entries = Vec::new();
    match reply {
        MultipartReply::Desc(d) => {
            let mut b = Vec::with_capacity(DESC_LEN);
            put_c_string(&mut b, &d.mfr_desc, 256);
            put_c_string(&mut b, &d.hw_desc, 256);
            put_c_string(&mut b, &d.sw_desc, 256);
            put_c_string(&mut b, &d.serial_num, 32);
            put_c_string(&mut b, &d.dp_desc, 256);
            entries.push(b);
        }
        MultipartReply::Aggregate(a) => {
            let mut b = Vec::with_capacity(24);
            b.put_u64(a.packet_count);
            b.put_u64(a.byte_count);
            b.put_u32(a.flow_count);
            b.put_zeros(4);
            entries.push(b);
        }
        MultipartReply::Flow(flows) => {
            for f in flows {
                let mut b = Vec::with_capacity(128);
                put_flow_stats(&mut b, f)?;
                entries.push(b);
            }
        }
        MultipartReply::TableStatsDesc(tables) => {
            let stats: Vec<TableStats> = tables.iter().map(|t| t.stats).collect();
            return reply_entries(&MultipartReply::Table(stats));
        }
        MultipartReply::Table(tables) => {
            for t in tables {
                let mut b = Vec::with_capacity(TABLE_STATS_LEN);
                b.put_u8(t.table_id);
                b.put_zeros(3);
                b.put_u32(t.active_count);
                b.put_u64(t.lookup_count);
                b.put_u64(t.matched_count);
                entries.push(b);
            }
        }
        MultipartReply::PortStats(ports) => {
            for p in ports {
                let mut b = Vec::with_capacity(PORT_STATS_LEN);
                put_port_stats(&mut b, p);
                entries.push(b);
            }
        }
        MultipartReply::PortDesc(ports) => {
            for p in ports {
                let mut b = Vec::with_capacity(PORT_LEN);
                put_port(&mut b, p);
                entries.push(b);
            }
        }
        MultipartReply::TableFeatures(tables) => {
            for tf in tables {
                let mut b = Vec::with_capacity(1024);
                super::table_features::put_table_features(&mut b, tf);
                entries.push(b);
            }
        }
        MultipartReply::Queue(queues) => {
            for q in queues {
                let mut b = Vec::with_capacity(QUEUE_STATS_LEN);
                b.put_u32(q.port_no.0);
                b.put_u32(q.queue_id);
                b.put_u64(q.tx_bytes);
                b.put_u64(q.tx_packets);
                b.put_u64(q.tx_errors);
                b.put_u32(q.duration_sec);
                b.put_u32(q.duration_nsec);
                entries.push(b);
            }
        }
        MultipartReply::Group(groups) => {
            for g in groups {
                let mut b = Vec::with_capacity(40 + 16 * g.buckets.len());
                super::group::put_group_stats(&mut b, g);
                entries.push(b);
            }
        }
        MultipartReply::GroupDesc(groups) => {
            for g in groups {
                let mut b = Vec::with_capacity(64);
                super::group::put_group_desc(&mut b, g)?;
                entries.push(b);
            }
        }
        MultipartReply::GroupFeatures(f) => {
            let mut b = Vec::with_capacity(super::group::FEATURES_LEN);
            super::group::put_group_features(&mut b, f);
            entries.push(b);
        }
    }
    Ok(entries)
}

/// Writes the multipart header and body of one reply message.
pub(crate) fn put_reply_part(out: &mut Vec<u8>, more: bool, reply: &MultipartReply) -> Result<(), EncodeError> {
    out.put_u16(reply_type(reply));
    out.put_u16(if more { MULTIPART_MORE } else { 0 });
    out.put_zeros(4);
    for e in reply_entries(reply)? {
        out.extend_from_slice(&e);
    }
    Ok(())
}

/// Writes the multipart header of an experimenter (ONF flow monitor) message with `flags`,
/// and the experimenter header.
pub(crate) fn put_experimenter_head(out: &mut Vec<u8>, flags: u16) {
    out.put_u16(mp_type::EXPERIMENTER);
    out.put_u16(flags);
    out.put_zeros(4);
    super::monitor::put_header(out);
}

/// Encodes a reply as as many messages as needed, each at most `max_len` bytes.
pub fn encode_reply_split(xid: u32, reply: &MultipartReply, max_len: usize) -> Result<Vec<Vec<u8>>, EncodeError> {
    let mut head = Vec::with_capacity(8);
    head.put_u16(reply_type(reply));
    head.put_u16(0);
    head.put_zeros(4);
    split(xid, &head, reply_entries(reply)?, max_len)
}

/// Encodes a flow monitor reply (ONF's extension) as as many messages as needed, each at
/// most `max_len` bytes. Other Nicira statistics have no OpenFlow 1.3 form.
pub fn encode_nx_reply_split(xid: u32, reply: &NxStatsReply, max_len: usize) -> Result<Vec<Vec<u8>>, EncodeError> {
    let NxStatsReply::FlowMonitor(updates) = reply else {
        return Err(EncodeError::Unrepresentable("Nicira flow statistics are OpenFlow 1.0 messages".into()));
    };
    let entries = updates
        .iter()
        .map(|u| {
            let mut b = Vec::with_capacity(64);
            super::monitor::put_update(&mut b, u)?;
            Ok(b)
        })
        .collect::<Result<Vec<_>, EncodeError>>()?;
    let mut head = Vec::with_capacity(16);
    put_experimenter_head(&mut head, 0);
    split(xid, &head, entries, max_len)
}

/// Spreads `entries` over reply messages of at most `max_len` bytes, each starting with
/// `head` (the multipart header, and the experimenter header if any), the "more" flag on all
/// but the last.
fn split(xid: u32, head: &[u8], entries: Vec<Vec<u8>>, max_len: usize) -> Result<Vec<Vec<u8>>, EncodeError> {
    let max_len = max_len.min(crate::framing::MAX_MESSAGE_LEN);
    let start_msg = || {
        let mut m = Vec::new();
        begin(&mut m, super::msg_type::MULTIPART_REPLY, xid);
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

fn pull_flow_stats_request(r: &mut Reader<'_>) -> Result<FlowStatsRequest, DecodeError> {
    let table_id = r.u8()?;
    r.skip(3)?;
    let out_port = r.u32()?;
    if (0xff00..0xffff_ff00).contains(&out_port) {
        return Err(DecodeError::new(BadAction::BadOutPort, "out_port out of range"));
    }
    let out_group = r.u32()?;
    r.skip(4)?;
    let cookie = r.u64()?;
    let cookie_mask = r.u64()?;
    let match_ = oxm::pull_match(r)?;
    if !r.is_empty() {
        return Err(bad_len("bytes after the flow stats request match"));
    }
    Ok(FlowStatsRequest { table_id, out_port: OfPort(out_port), out_group, cookie: cookie & cookie_mask, cookie_mask, match_ })
}

/// Decodes a multipart request body (after the OpenFlow header).
pub(crate) fn decode_request(body: &[u8]) -> Result<OfMessage, DecodeError> {
    let mut r = Reader::new(body, bad_len("truncated multipart request"));
    let ty = r.u16()?;
    let flags = r.u16()?;
    r.skip(4)?;
    if ty == mp_type::EXPERIMENTER {
        super::monitor::pull_header(&mut r)?;
        let request = NxStatsRequest::FlowMonitor(super::monitor::pull_requests(&mut r)?);
        return Ok(OfMessage::NxStatsRequest { flags, request });
    }
    let no_body = |r: &Reader<'_>| if r.is_empty() { Ok(()) } else { Err(bad_len("multipart request has an unexpected body")) };
    let request = match ty {
        mp_type::DESC => {
            no_body(&r)?;
            MultipartRequest::Desc
        }
        mp_type::FLOW => MultipartRequest::Flow(pull_flow_stats_request(&mut r)?),
        mp_type::AGGREGATE => MultipartRequest::Aggregate(pull_flow_stats_request(&mut r)?),
        mp_type::TABLE => {
            no_body(&r)?;
            MultipartRequest::Table
        }
        mp_type::PORT_STATS => {
            let port_no = OfPort(r.u32()?);
            r.skip(4)?;
            no_body(&r)?;
            MultipartRequest::PortStats { port_no }
        }
        mp_type::PORT_DESC => {
            no_body(&r)?;
            MultipartRequest::PortDesc
        }
        mp_type::TABLE_FEATURES => MultipartRequest::TableFeatures(super::table_features::pull_all(&mut r)?),
        mp_type::QUEUE => {
            let q = QueueStatsRequest { port_no: OfPort(r.u32()?), queue_id: r.u32()? };
            no_body(&r)?;
            MultipartRequest::Queue(q)
        }
        mp_type::GROUP => {
            let group_id = r.u32()?;
            r.skip(4)?;
            no_body(&r)?;
            MultipartRequest::Group { group_id }
        }
        mp_type::GROUP_DESC => {
            no_body(&r)?;
            MultipartRequest::GroupDesc { group_id: crate::group::ALL_GROUPS }
        }
        mp_type::GROUP_FEATURES => {
            no_body(&r)?;
            MultipartRequest::GroupFeatures
        }
        _ => return Err(DecodeError::new(BadRequest::BadMultipart, "unsupported multipart type")),
    };
    Ok(OfMessage::MultipartRequest { flags, request })
}

fn array<T>(r: &mut Reader<'_>, size: usize, mut one: impl FnMut(&mut Reader<'_>) -> Result<T, DecodeError>) -> Result<Vec<T>, DecodeError> {
    if !r.remaining().is_multiple_of(size) {
        return Err(bad_len("multipart reply body is not a whole number of entries"));
    }
    let mut v = Vec::with_capacity(r.remaining() / size);
    while !r.is_empty() {
        v.push(one(r)?);
    }
    Ok(v)
}

fn pull_flow_stats(r: &mut Reader<'_>) -> Result<FlowStats, DecodeError> {
    let mut e = r.entry(FLOW_STATS_FIXED, 1, bad_len("truncated flow stats entry"), bad_len("flow stats entry length out of range"))?;
    e.skip(2)?;
    let table_id = e.u8()?;
    e.skip(1)?;
    let duration_sec = e.u32()?;
    let duration_nsec = e.u32()?;
    let priority = e.u16()?;
    let idle_timeout = e.u16()?;
    let hard_timeout = e.u16()?;
    let flags = e.u16()?;
    e.skip(4)?;
    let cookie = e.u64()?;
    let packet_count = e.u64()?;
    let byte_count = e.u64()?;
    let match_ = oxm::pull_match(&mut e)?;
    let actions = actions::pull_instructions(e.rest())?;
    Ok(FlowStats {
        table_id,
        duration_sec,
        duration_nsec,
        priority,
        idle_timeout,
        hard_timeout,
        flags,
        importance: 0,
        cookie,
        packet_count,
        byte_count,
        match_,
        actions,
    })
}

fn pull_port_stats(r: &mut Reader<'_>) -> Result<PortStats, DecodeError> {
    let port_no = OfPort(r.u32()?);
    r.skip(4)?;
    let mut c = [0u64; 12];
    for v in c.iter_mut() {
        *v = r.u64()?;
    }
    let (duration_sec, duration_nsec) = (r.u32()?, r.u32()?);
    Ok(PortStats::from_wire_counters(port_no, c, duration_sec, duration_nsec))
}

/// Decodes a multipart reply body (after the OpenFlow header).
pub(crate) fn decode_reply(body: &[u8]) -> Result<OfMessage, DecodeError> {
    let mut r = Reader::new(body, bad_len("truncated multipart reply"));
    let ty = r.u16()?;
    let flags = r.u16()?;
    r.skip(4)?;
    if ty == mp_type::EXPERIMENTER {
        super::monitor::pull_header(&mut r)?;
        let reply = NxStatsReply::FlowMonitor(super::monitor::pull_updates(&mut r)?);
        return Ok(OfMessage::NxStatsReply { more: flags & MULTIPART_MORE != 0, reply });
    }
    let reply = match ty {
        mp_type::DESC => {
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
        mp_type::FLOW => {
            let mut flows = Vec::new();
            while !r.is_empty() {
                flows.push(pull_flow_stats(&mut r)?);
            }
            MultipartReply::Flow(flows)
        }
        mp_type::AGGREGATE => {
            if r.remaining() != 24 {
                return Err(bad_len("aggregate reply has the wrong size"));
            }
            let a = AggregateStats { packet_count: r.u64()?, byte_count: r.u64()?, flow_count: r.u32()? };
            MultipartReply::Aggregate(a)
        }
        mp_type::TABLE => MultipartReply::Table(array(&mut r, TABLE_STATS_LEN, |r| {
            let table_id = r.u8()?;
            r.skip(3)?;
            Ok(TableStats { table_id, active_count: r.u32()?, lookup_count: r.u64()?, matched_count: r.u64()? })
        })?),
        mp_type::PORT_STATS => MultipartReply::PortStats(array(&mut r, PORT_STATS_LEN, pull_port_stats)?),
        mp_type::PORT_DESC => MultipartReply::PortDesc(array(&mut r, PORT_LEN, pull_port)?),
        mp_type::TABLE_FEATURES => MultipartReply::TableFeatures(super::table_features::pull_all(&mut r)?),
        mp_type::GROUP => {
            let mut groups = Vec::new();
            while !r.is_empty() {
                groups.push(super::group::pull_group_stats(&mut r)?);
            }
            MultipartReply::Group(groups)
        }
        mp_type::GROUP_DESC => {
            let mut groups = Vec::new();
            while !r.is_empty() {
                groups.push(super::group::pull_group_desc(&mut r)?);
            }
            MultipartReply::GroupDesc(groups)
        }
        mp_type::GROUP_FEATURES => MultipartReply::GroupFeatures(super::group::pull_group_features(&mut r)?),
        mp_type::QUEUE => MultipartReply::Queue(array(&mut r, QUEUE_STATS_LEN, |r| {
            Ok(QueueStats {
                port_no: OfPort(r.u32()?),
                queue_id: r.u32()?,
                tx_bytes: r.u64()?,
                tx_packets: r.u64()?,
                tx_errors: r.u64()?,
                duration_sec: r.u32()?,
                duration_nsec: r.u32()?,
            })
        })?),
        _ => return Err(DecodeError::new(BadRequest::BadMultipart, "unsupported multipart type")),
    };
    Ok(OfMessage::MultipartReply { more: flags & MULTIPART_MORE != 0, reply })
}
