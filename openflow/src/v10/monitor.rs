//! `NXST_FLOW_MONITOR` bodies (OpenFlow 1.0 with Nicira extensions).
//!
//! * request, per monitor: `id(4) flags(2) out_port(2) match_len(2) table_id(1) zeros(5)`,
//!   then an NXM match padded to 8 bytes;
//! * reply, per update: `length(2) event(2)`, then for a full update `reason(2) priority(2)
//!   idle_timeout(2) hard_timeout(2) match_len(2) table_id(1) pad(1) cookie(8)`, the NXM match
//!   padded to 8 bytes and the actions; for an abbreviated one (`event` 3) `xid(4)`.
//!
//! Unknown flags are `OFPMOFC_BAD_FLAGS` in Open vSwitch; rvs answers `OFPBRC_BAD_LEN` for
//! malformed monitors and keeps unknown flag bits out.

use super::{actions, ofp_match};
use crate::codec::{Put, Reader};
use crate::error::{DecodeError, EncodeError};
use crate::monitor::{framing, FlowMonitorRequest, FlowUpdate};
use rvs_flowcache::ofp::OfPort;

/// Reads the monitors of a request body.
pub(crate) fn pull_requests(r: &mut Reader<'_>) -> Result<Vec<FlowMonitorRequest>, DecodeError> {
    let mut v = Vec::new();
    while !r.is_empty() {
        let id = r.u32()?;
        let flags = r.u16()? & 0x3f;
        let out_port = OfPort::from_ofp10(r.u16()?);
        let match_len = r.u16()? as usize;
        let table_id = r.u8()?;
        r.skip(5)?;
        // The match comes padded to 8 bytes; `pull_nx_match` takes the padding too.
        let (match_, _) = ofp_match::pull_nx_match(r, match_len, false)?;
        v.push(FlowMonitorRequest { id, flags, out_port, table_id, match_ });
    }
    Ok(v)
}

/// Writes the monitors of a request body.
pub(crate) fn put_requests(out: &mut Vec<u8>, reqs: &[FlowMonitorRequest]) -> Result<(), EncodeError> {
    for q in reqs {
        out.put_u32(q.id);
        out.put_u16(q.flags);
        out.put_u16(q.out_port.to_ofp10());
        let at = out.len();
        out.put_u16(0);
        out.put_u8(q.table_id);
        out.put_zeros(5);
        let start = out.len();
        let len = ofp_match::put_nx_match(out, &q.match_, 0, 0)?;
        out.set_u16(at, len);
        out.pad_to_8(start);
    }
    Ok(())
}

/// Writes one update.
pub(crate) fn put_update(out: &mut Vec<u8>, u: &FlowUpdate) -> Result<(), EncodeError> {
    framing::put_update(out, u, |out, at, match_, acts| {
        let m = out.len();
        let len = ofp_match::put_nx_match(out, match_, 0, 0)?;
        out.set_u16(at, len);
        out.pad_to_8(m);
        actions::put_actions(out, acts)
    })
}

/// Reads the updates of a reply body.
pub(crate) fn pull_updates(r: &mut Reader<'_>) -> Result<Vec<FlowUpdate>, DecodeError> {
    framing::pull_updates(r, |e, match_len| {
        let (match_, _) = ofp_match::pull_nx_match(e, match_len, false)?;
        Ok((match_, actions::pull_actions(e.rest())?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::BadRequest;
    use crate::monitor::FlowUpdateEvent;

    fn bad_len(detail: &'static str) -> DecodeError {
        DecodeError::new(BadRequest::BadLen, detail)
    }
    use rvs_flowcache::ofp::{Match, OfAction};
    use rvs_flowcache::Field;

    use crate::test_util::unhex;

    #[test]
    fn reads_ovs_ofctl_monitor_watch_request() {
        // `ovs-ofctl monitor br0 watch:` (body after the Nicira statistics header).
        let body = unhex("00000000003fffff0000ff0000000000");
        let reqs = pull_requests(&mut Reader::new(&body, bad_len("x"))).unwrap();
        assert_eq!(reqs, vec![FlowMonitorRequest { id: 0, flags: 0x3f, out_port: OfPort::ANY, table_id: 0xff, match_: Match::catchall() }]);
        let mut again = Vec::new();
        put_requests(&mut again, &reqs).unwrap();
        assert_eq!(again, body);
    }

    #[test]
    fn writes_the_update_open_vswitch_sends() {
        // Open vSwitch's initial update for `tcp,tp_dst=80 actions=output:1`.
        let want = unhex("00380000000080000000000000110000000000000000000000000602080000000c0106000014020050000000000000000000000800010000");
        let mut m = Match::catchall();
        m.set(Field::EthType, 0x0800).set(Field::IpProto, 6).set(Field::TcpDst, 80);
        let u = FlowUpdate::Full {
            event: FlowUpdateEvent::Added,
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
        assert_eq!(b, want);
        assert_eq!(pull_updates(&mut Reader::new(&b, bad_len("x"))).unwrap(), vec![u]);
        let mut a = Vec::new();
        put_update(&mut a, &FlowUpdate::Abbrev { xid: 9 }).unwrap();
        assert_eq!(pull_updates(&mut Reader::new(&a, bad_len("x"))).unwrap(), vec![FlowUpdate::Abbrev { xid: 9 }]);
    }
}
