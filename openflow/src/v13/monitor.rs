//! Flow monitors over OpenFlow 1.3: ONF's extension `ONFST_FLOW_MONITOR`, which Open vSwitch
//! speaks there (OpenFlow 1.4 made it standard).
//!
//! It is an experimenter multipart message (type `0xffff`, then `experimenter(4)
//! exp_type(4)`: the ONF id `0x4f4e4600` and 1870) carrying the same model as Nicira's
//! `NXST_FLOW_MONITOR` ([`crate::monitor`]) in OpenFlow 1.3 form:
//!
//! * request, per monitor: `id(4) flags(2) match_len(2) out_port(4) table_id(1) zeros(3)`,
//!   then an OXM `ofp_match` (`match_len` is its length without the padding); the flags are
//!   the `NXFMF_*` bits;
//! * reply, per update: `length(2) event(2)`, then for a full update `reason(2) priority(2)
//!   idle_timeout(2) hard_timeout(2) match_len(2) table_id(1) pad(1) cookie(8)`, the
//!   `ofp_match` and the actions as OpenFlow 1.3 instructions (apply-actions); for an
//!   abbreviated one (`event` 3) `xid(4)`.
//!
//! The layouts were read off the bytes `ovs-ofctl -O OpenFlow13 monitor br0 watch:` and
//! Open vSwitch 3.1 exchange. In both messages the multipart header is followed by the
//! experimenter header, then the entries.

use super::actions;
use crate::check::FlowState;
use crate::codec::{Put, Reader};
use crate::error::{BadRequest, DecodeError, EncodeError, ONF_EXPERIMENTER};
use crate::monitor::{framing, FlowMonitorRequest, FlowUpdate};
use crate::oxm;
use rvs_flowcache::ofp::OfPort;

/// `ONFST_FLOW_MONITOR`: the experimenter type of flow monitor requests and replies.
pub const ONFST_FLOW_MONITOR: u32 = 1870;

const REQUEST_FIXED: usize = 16;

fn bad_len(detail: &'static str) -> DecodeError {
    DecodeError::new(BadRequest::BadLen, detail)
}

/// Writes an `ofp_match` and returns its length without padding.
fn put_match(out: &mut Vec<u8>, m: &rvs_flowcache::ofp::Match) -> Result<u16, EncodeError> {
    let start = out.len();
    oxm::put_match(out, m)?;
    Ok(u16::from_be_bytes([out[start + 2], out[start + 3]]))
}

/// Reads the monitors of a request body (after the experimenter header).
pub(crate) fn pull_requests(r: &mut Reader<'_>) -> Result<Vec<FlowMonitorRequest>, DecodeError> {
    let mut v = Vec::new();
    while !r.is_empty() {
        if r.remaining() < REQUEST_FIXED {
            return Err(bad_len("truncated flow monitor request"));
        }
        let id = r.u32()?;
        let flags = r.u16()? & 0x3f;
        r.skip(2)?; // match_len: the ofp_match says it again.
        let out_port = OfPort(r.u32()?);
        let table_id = r.u8()?;
        r.skip(3)?;
        let match_ = oxm::pull_match(r)?;
        v.push(FlowMonitorRequest { id, flags, out_port, table_id, match_ });
    }
    Ok(v)
}

/// Writes the monitors of a request body.
pub(crate) fn put_requests(out: &mut Vec<u8>, reqs: &[FlowMonitorRequest]) -> Result<(), EncodeError> {
    for q in reqs {
        out.put_u32(q.id);
        out.put_u16(q.flags);
        let at = out.len();
        out.put_u16(0);
        out.put_u32(q.out_port.0);
        out.put_u8(q.table_id);
        out.put_zeros(3);
        let len = put_match(out, &q.match_)?;
        out.set_u16(at, len);
    }
    Ok(())
}

/// Writes one update.
pub(crate) fn put_update(out: &mut Vec<u8>, u: &FlowUpdate) -> Result<(), EncodeError> {
    framing::put_update(out, u, |out, at, match_, acts| {
        let len = put_match(out, match_)?;
        out.set_u16(at, len);
        actions::put_instructions(out, acts, FlowState::from_match(match_))
    })
}

/// Reads the updates of a reply body (after the experimenter header).
pub(crate) fn pull_updates(r: &mut Reader<'_>) -> Result<Vec<FlowUpdate>, DecodeError> {
    framing::pull_updates(r, |e, _match_len| {
        let match_ = oxm::pull_match(e)?;
        Ok((match_, actions::pull_instructions(e.rest())?))
    })
}

/// Writes the experimenter header of a flow monitor multipart body.
pub(crate) fn put_header(out: &mut Vec<u8>) {
    out.put_u32(ONF_EXPERIMENTER);
    out.put_u32(ONFST_FLOW_MONITOR);
}

/// Reads the experimenter header of an experimenter multipart body: only ONF's flow
/// monitor is known (another experimenter is `OFPBRC_BAD_EXPERIMENTER`, another ONF type
/// `OFPBRC_BAD_EXP_TYPE`, as in Open vSwitch).
pub(crate) fn pull_header(r: &mut Reader<'_>) -> Result<(), DecodeError> {
    if r.u32()? != ONF_EXPERIMENTER {
        return Err(DecodeError::new(BadRequest::BadExperimenter, "unknown multipart experimenter"));
    }
    if r.u32()? != ONFST_FLOW_MONITOR {
        return Err(DecodeError::new(BadRequest::BadExpType, "unknown ONF multipart type"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::FlowUpdateEvent;
    use rvs_flowcache::ofp::{Match, OfAction};
    use rvs_flowcache::Field;

    use crate::test_util::unhex;

    #[test]
    fn reads_ovs_ofctl_monitor_watch_request() {
        // `ovs-ofctl -O OpenFlow13 monitor br0 watch:` (after the experimenter header).
        let body = unhex("00000000003f0004ffffffffff0000000001000400000000");
        let reqs = pull_requests(&mut Reader::new(&body, bad_len("x"))).unwrap();
        assert_eq!(reqs, vec![FlowMonitorRequest { id: 0, flags: 0x3f, out_port: OfPort::ANY, table_id: 0xff, match_: Match::catchall() }]);
        let mut again = Vec::new();
        put_requests(&mut again, &reqs).unwrap();
        assert_eq!(again, body);
    }

    #[test]
    fn writes_the_updates_open_vswitch_sends() {
        // Open vSwitch 3.1's update for `mod-flows br0 tcp,actions=output:1` on
        // `tcp,tp_dst=80`, and for an added `priority=7,cookie=0x9,idle_timeout=99,ip` whose
        // actions (drop) are empty.
        let modified = unhex(
            "0048000200008000000000000015000000000000000000000001001580000a020800800014010680001c020050000000000400180000000000000010000000010000000000000000",
        );
        let mut m = Match::catchall();
        m.set(Field::EthType, 0x0800).set(Field::IpProto, 6).set(Field::TcpDst, 80);
        let u = FlowUpdate::Full {
            event: FlowUpdateEvent::Modified,
            reason: 0,
            priority: 0x8000,
            idle_timeout: 0,
            hard_timeout: 0,
            table_id: 0,
            cookie: 0,
            match_: m,
            actions: vec![OfAction::Output { port: OfPort(1), max_len: 0 }],
        };
        let mut b = Vec::new();
        put_update(&mut b, &u).unwrap();
        assert_eq!(b, modified);
        assert_eq!(pull_updates(&mut Reader::new(&b, bad_len("x"))).unwrap(), vec![u]);
        let added = unhex("002800000000000700630000000a000000000000000000090001000a80000a020800000000000000");
        let mut ip = Match::catchall();
        ip.set(Field::EthType, 0x0800);
        let u = FlowUpdate::Full {
            event: FlowUpdateEvent::Added,
            reason: 0,
            priority: 7,
            idle_timeout: 99,
            hard_timeout: 0,
            table_id: 0,
            cookie: 9,
            match_: ip,
            actions: Vec::new(),
        };
        let mut b = Vec::new();
        put_update(&mut b, &u).unwrap();
        assert_eq!(b, added);
        let mut a = Vec::new();
        put_update(&mut a, &FlowUpdate::Abbrev { xid: 9 }).unwrap();
        assert_eq!(pull_updates(&mut Reader::new(&a, bad_len("x"))).unwrap(), vec![FlowUpdate::Abbrev { xid: 9 }]);
    }
}
