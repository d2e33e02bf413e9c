//! OpenFlow 1.3 group messages: `OFPT_GROUP_MOD` and the `GROUP`, `GROUP_DESC` and
//! `GROUP_FEATURES` multipart bodies.
//!
//! Layouts (all big-endian):
//! * group-mod: `command(2) type(1) pad(1) group_id(4)`, then buckets;
//! * bucket: `len(2) weight(2) watch_port(4) watch_group(4) pad(4)`, then actions (an action
//!   list, no instructions), `len` covering the whole bucket;
//! * group stats request: `group_id(4) pad(4)`; entry: `length(2) pad(2) group_id(4)
//!   ref_count(4) pad(4) packet_count(8) byte_count(8) duration_sec(4) duration_nsec(4)`,
//!   then per bucket `packet_count(8) byte_count(8)`;
//! * group description entry: `length(2) type(1) pad(1) group_id(4)`, then buckets;
//! * group features: `types(4) capabilities(4) max_groups(4*4) actions(4*4)`.
//!
//! Decoding follows Open vSwitch's checks: an unknown command is `OFPGMFC_BAD_COMMAND`, an
//! unknown type `OFPGMFC_BAD_TYPE`, a bucket whose length is short or runs past the message
//! `OFPGMFC_BAD_BUCKET`, an `indirect` group without exactly one bucket
//! `OFPGMFC_INVALID_GROUP`.

use crate::check::FlowState;
use crate::codec::{Put, Reader};
use crate::error::{BadRequest, DecodeError, EncodeError, GroupModFailed};
use crate::group::{Bucket, GroupDesc, GroupFeatures, GroupMod, GroupModCommand, GroupStats, GroupType};
use rvs_flowcache::ofp::{Match, OfPort};

use super::actions;

const BUCKET_FIXED: usize = 16;
const STATS_FIXED: usize = 40;
const DESC_FIXED: usize = 8;
/// Size of the group features body.
pub(crate) const FEATURES_LEN: usize = 40;

fn bad_bucket(detail: &'static str) -> DecodeError {
    DecodeError::new(GroupModFailed::BadBucket, detail)
}

fn bad_len(detail: &'static str) -> DecodeError {
    DecodeError::new(BadRequest::BadLen, detail)
}

/// Writes buckets.
pub(crate) fn put_buckets(out: &mut Vec<u8>, buckets: &[Bucket]) -> Result<(), EncodeError> {
    for b in buckets {
        let start = out.len();
        out.put_u16(0);
        out.put_u16(b.weight);
        out.put_u32(b.watch_port.0);
        out.put_u32(b.watch_group);
        out.put_zeros(4);
        actions::put_actions(out, &b.actions, &mut FlowState::from_match(&Match::catchall()))?;
        let len = out.len() - start;
        if len > u16::MAX as usize {
            return Err(EncodeError::TooLong(len));
        }
        out.set_u16(start, len as u16);
    }
    Ok(())
}

/// Reads buckets until `r` is empty.
pub(crate) fn pull_buckets(r: &mut Reader<'_>) -> Result<Vec<Bucket>, DecodeError> {
    let mut buckets = Vec::new();
    while !r.is_empty() {
        let mut b = r.entry(BUCKET_FIXED, 8, bad_bucket("truncated bucket"), bad_bucket("bucket length out of range"))?;
        b.skip(2)?;
        let weight = b.u16()?;
        let watch_port = OfPort(b.u32()?);
        let watch_group = b.u32()?;
        b.skip(4)?;
        let actions = actions::pull_actions(b.rest())?;
        buckets.push(Bucket { bucket_id: buckets.len() as u32, weight, watch_port, watch_group, actions });
    }
    Ok(buckets)
}

/// Writes a group-mod body (after the header).
pub(crate) fn put_group_mod(out: &mut Vec<u8>, gm: &GroupMod) -> Result<(), EncodeError> {
    out.put_u16(gm.command.to_wire());
    out.put_u8(gm.group_type.to_wire());
    out.put_zeros(1);
    out.put_u32(gm.group_id);
    put_buckets(out, &gm.buckets)
}

/// Reads a group-mod body.
pub(crate) fn pull_group_mod(body: &[u8]) -> Result<GroupMod, DecodeError> {
    let mut r = Reader::new(body, bad_len("truncated group-mod"));
    let command = GroupModCommand::from_wire(r.u16()?)
        .ok_or(DecodeError::new(GroupModFailed::BadCommand, "unknown group-mod command"))?;
    let group_type =
        GroupType::from_wire(r.u8()?).ok_or(DecodeError::new(GroupModFailed::BadType, "unknown group type"))?;
    r.skip(1)?;
    let group_id = r.u32()?;
    let buckets = pull_buckets(&mut r)?;
    // As Open vSwitch's decoder: an indirect group has exactly one bucket.
    if command != GroupModCommand::Delete && group_type == GroupType::Indirect && buckets.len() != 1 {
        return Err(DecodeError::new(GroupModFailed::InvalidGroup, "indirect group without exactly one bucket"));
    }
    Ok(GroupMod { command, group_type, group_id, buckets })
}

/// Writes one group statistics entry.
pub(crate) fn put_group_stats(out: &mut Vec<u8>, g: &GroupStats) {
    out.put_u16((STATS_FIXED + 16 * g.buckets.len()) as u16);
    out.put_zeros(2);
    out.put_u32(g.group_id);
    out.put_u32(g.ref_count);
    out.put_zeros(4);
    out.put_u64(g.packet_count);
    out.put_u64(g.byte_count);
    out.put_u32(g.duration_sec);
    out.put_u32(g.duration_nsec);
    for (p, b) in &g.buckets {
        out.put_u64(*p);
        out.put_u64(*b);
    }
}

/// Reads one group statistics entry.
pub(crate) fn pull_group_stats(r: &mut Reader<'_>) -> Result<GroupStats, DecodeError> {
    let len = r.u16()? as usize;
    if len < STATS_FIXED || len - 2 > r.remaining() || (len - STATS_FIXED) % 16 != 0 {
        return Err(bad_len("group stats entry length out of range"));
    }
    r.skip(2)?;
    let group_id = r.u32()?;
    let ref_count = r.u32()?;
    r.skip(4)?;
    let (packet_count, byte_count) = (r.u64()?, r.u64()?);
    let (duration_sec, duration_nsec) = (r.u32()?, r.u32()?);
    let mut buckets = Vec::new();
    for _ in 0..(len - STATS_FIXED) / 16 {
        buckets.push((r.u64()?, r.u64()?));
    }
    Ok(GroupStats { group_id, ref_count, packet_count, byte_count, duration_sec, duration_nsec, buckets })
}

/// Writes one group description entry.
pub(crate) fn put_group_desc(out: &mut Vec<u8>, g: &GroupDesc) -> Result<(), EncodeError> {
    let start = out.len();
    out.put_u16(0);
    out.put_u8(g.group_type.to_wire());
    out.put_zeros(1);
    out.put_u32(g.group_id);
    put_buckets(out, &g.buckets)?;
    let len = out.len() - start;
    if len > u16::MAX as usize {
        return Err(EncodeError::TooLong(len));
    }
    out.set_u16(start, len as u16);
    Ok(())
}

/// Reads one group description entry.
pub(crate) fn pull_group_desc(r: &mut Reader<'_>) -> Result<GroupDesc, DecodeError> {
    let mut e = r.entry(DESC_FIXED, 1, bad_len("truncated group description"), bad_len("group description length out of range"))?;
    e.skip(2)?;
    let group_type = GroupType::from_wire(e.u8()?).ok_or(DecodeError::new(GroupModFailed::BadType, "unknown group type"))?;
    e.skip(1)?;
    let group_id = e.u32()?;
    let buckets = pull_buckets(&mut e)?;
    Ok(GroupDesc { group_type, group_id, buckets })
}

/// Writes the group features body.
pub(crate) fn put_group_features(out: &mut Vec<u8>, f: &GroupFeatures) {
    out.put_u32(f.types);
    out.put_u32(f.capabilities);
    for v in f.max_groups.iter().chain(f.actions.iter()) {
        out.put_u32(*v);
    }
}

/// Reads the group features body.
pub(crate) fn pull_group_features(r: &mut Reader<'_>) -> Result<GroupFeatures, DecodeError> {
    if r.remaining() != FEATURES_LEN {
        return Err(bad_len("group features reply has the wrong size"));
    }
    let mut f = GroupFeatures { types: r.u32()?, capabilities: r.u32()?, ..Default::default() };
    for v in f.max_groups.iter_mut() {
        *v = r.u32()?;
    }
    for v in f.actions.iter_mut() {
        *v = r.u32()?;
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_flowcache::ofp::OfAction;

    use crate::test_util::unhex;

    /// What `ovs-ofctl -O OpenFlow13 add-group br0 group_id=9,type=select,
    /// bucket=weight:10,watch_port:2,actions=output:1,bucket=output:2` sends (body only).
    const SELECT_GROUP_MOD: &str = "0000010000000009\
        0020000a00000002ffffffff000000000000001000000001000000000000000000200001ffffffffffffffff0000000000000010000000020000000000000000";

    #[test]
    fn group_mod_reads_and_writes_ovs_ofctls_bytes() {
        let bytes = unhex(SELECT_GROUP_MOD);
        let gm = pull_group_mod(&bytes).unwrap();
        let out = |p| OfAction::Output { port: OfPort(p), max_len: 0 };
        assert_eq!(gm.command, GroupModCommand::Add);
        assert_eq!((gm.group_type, gm.group_id), (GroupType::Select, 9));
        assert_eq!(
            gm.buckets,
            vec![
                Bucket { bucket_id: 0, weight: 10, watch_port: OfPort(2), watch_group: u32::MAX, actions: vec![out(1)] },
                Bucket { bucket_id: 1, weight: 1, watch_port: OfPort::ANY, watch_group: u32::MAX, actions: vec![out(2)] },
            ]
        );
        let mut again = Vec::new();
        put_group_mod(&mut again, &gm).unwrap();
        assert_eq!(again, bytes);
    }

    #[test]
    fn bad_group_mods_get_ovs_errors() {
        let mut bytes = unhex(SELECT_GROUP_MOD);
        bytes[1] = 7;
        assert_eq!(pull_group_mod(&bytes).unwrap_err().error, GroupModFailed::BadCommand.into());
        let mut bytes = unhex(SELECT_GROUP_MOD);
        bytes[2] = 9;
        assert_eq!(pull_group_mod(&bytes).unwrap_err().error, GroupModFailed::BadType.into());
        let bytes = unhex(SELECT_GROUP_MOD);
        assert_eq!(pull_group_mod(&bytes[..bytes.len() - 8]).unwrap_err().error, GroupModFailed::BadBucket.into());
        // An indirect group without its one bucket.
        let empty_indirect = unhex("0000020000000006");
        assert_eq!(pull_group_mod(&empty_indirect).unwrap_err().error, GroupModFailed::InvalidGroup.into());
    }

    #[test]
    fn stats_desc_and_features_round_trip() {
        let s = GroupStats {
            group_id: 3,
            ref_count: 2,
            packet_count: 10,
            byte_count: 1000,
            duration_sec: 5,
            duration_nsec: 7,
            buckets: vec![(4, 400), (6, 600)],
        };
        let mut b = Vec::new();
        put_group_stats(&mut b, &s);
        assert_eq!(b.len(), 72);
        assert_eq!(pull_group_stats(&mut Reader::new(&b, bad_len("x"))).unwrap(), s);
        let d = GroupDesc { group_type: GroupType::FastFailover, group_id: 4, buckets: vec![Bucket::new(Vec::new())] };
        let mut b = Vec::new();
        put_group_desc(&mut b, &d).unwrap();
        assert_eq!(b.len(), 24);
        assert_eq!(pull_group_desc(&mut Reader::new(&b, bad_len("x"))).unwrap(), d);
        let f = GroupFeatures { types: 0xf, capabilities: 7, max_groups: [1, 2, 3, 4], actions: [5, 6, 7, 8] };
        let mut b = Vec::new();
        put_group_features(&mut b, &f);
        assert_eq!(pull_group_features(&mut Reader::new(&b, bad_len("x"))).unwrap(), f);
    }
}
