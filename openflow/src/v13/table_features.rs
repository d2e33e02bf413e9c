//! OpenFlow 1.3 encoding of table features (`ofp_table_features` and its properties).
//!
//! An entry is a 64-byte fixed part, `length(2) table_id(1) pad(5) name(32)
//! metadata_match(8) metadata_write(8) config(4) max_entries(4)`, then properties. A property
//! is `type(2) length(2)` and a body, padded with zeros to a multiple of 8 bytes; `length`
//! counts the header and the body but not the padding, and the last property of an entry is
//! padded too. Instruction and action ids are 4-byte `type(2) length(2)` records (8 bytes and
//! more for experimenter ones), glued together without padding as Open vSwitch reads them;
//! field ids are 4-byte OXM headers (8 for experimenter OXMs).
//!
//! Decoding is for untrusted input: every length is checked against what remains, and a bad
//! one is `OFPBRC_BAD_LEN`; table 255 is `OFPTFFC_BAD_TABLE`; a next-table id of 255 and a
//! masked header in a wildcard or set-field property are `OFPBRC_BAD_LEN`-free but invalid,
//! reported as Open vSwitch does (`OFPTFFC_BAD_TABLE`, `OFPBMC_BAD_MASK`). Unknown property
//! types are kept as [`TableFeatureProp::Experimenter`] when they are experimenter properties
//! and skipped otherwise, as a controller reading capabilities should ("loose" decoding in
//! Open vSwitch).

use crate::codec::{c_string, put_c_string, Put, Reader};
use crate::error::{BadMatch, BadRequest, DecodeError, TableFeaturesFailed};
use crate::oxm::CLASS_EXPERIMENTER;
use crate::table_features::{OxmId, TableFeatureProp, TableFeatures};

/// `OFPTFPT_*` property types.
mod prop {
    pub(super) const INSTRUCTIONS: u16 = 0;
    pub(super) const NEXT_TABLES: u16 = 2;
    pub(super) const WRITE_ACTIONS: u16 = 4;
    pub(super) const APPLY_ACTIONS: u16 = 6;
    pub(super) const MATCH: u16 = 8;
    pub(super) const WILDCARDS: u16 = 10;
    pub(super) const WRITE_SETFIELD: u16 = 12;
    pub(super) const APPLY_SETFIELD: u16 = 14;
    pub(super) const EXPERIMENTER: u16 = 0xfffe;
    pub(super) const EXPERIMENTER_MISS: u16 = 0xffff;
}

/// Size of the fixed part of an entry.
pub(crate) const FIXED_LEN: usize = 64;

fn bad_len(detail: &'static str) -> DecodeError {
    DecodeError::new(BadRequest::BadLen, detail)
}

fn put_ids(out: &mut Vec<u8>, ids: &[u16]) {
    for &id in ids {
        out.put_u16(id);
        out.put_u16(4);
    }
}

fn put_oxms(out: &mut Vec<u8>, ids: &[OxmId]) {
    for id in ids {
        out.put_u32(id.header);
        if let Some(e) = id.experimenter {
            out.put_u32(e);
        }
    }
}

fn put_prop(out: &mut Vec<u8>, p: &TableFeatureProp) {
    let start = out.len();
    let miss = |m: bool| m as u16;
    out.put_u16(match p {
        TableFeatureProp::Instructions { miss: m, .. } => prop::INSTRUCTIONS + miss(*m),
        TableFeatureProp::NextTables { miss: m, .. } => prop::NEXT_TABLES + miss(*m),
        TableFeatureProp::WriteActions { miss: m, .. } => prop::WRITE_ACTIONS + miss(*m),
        TableFeatureProp::ApplyActions { miss: m, .. } => prop::APPLY_ACTIONS + miss(*m),
        TableFeatureProp::Match(_) => prop::MATCH,
        TableFeatureProp::Wildcards(_) => prop::WILDCARDS,
        TableFeatureProp::WriteSetfield { miss: m, .. } => prop::WRITE_SETFIELD + miss(*m),
        TableFeatureProp::ApplySetfield { miss: m, .. } => prop::APPLY_SETFIELD + miss(*m),
        TableFeatureProp::Experimenter { miss: m, .. } => prop::EXPERIMENTER + miss(*m),
    });
    out.put_u16(0);
    match p {
        TableFeatureProp::Instructions { ids, .. }
        | TableFeatureProp::WriteActions { ids, .. }
        | TableFeatureProp::ApplyActions { ids, .. } => put_ids(out, ids),
        TableFeatureProp::NextTables { tables, .. } => out.extend_from_slice(tables),
        TableFeatureProp::Match(ids) | TableFeatureProp::Wildcards(ids) => put_oxms(out, ids),
        TableFeatureProp::WriteSetfield { fields, .. } | TableFeatureProp::ApplySetfield { fields, .. } => {
            put_oxms(out, fields)
        }
        TableFeatureProp::Experimenter { experimenter, exp_type, data, .. } => {
            out.put_u32(*experimenter);
            out.put_u32(*exp_type);
            out.extend_from_slice(data);
        }
    }
    let len = out.len() - start;
    out.set_u16(start + 2, len.min(u16::MAX as usize) as u16);
    out.pad_to_8(start);
}

/// Writes one `ofp_table_features` entry.
pub(crate) fn put_table_features(out: &mut Vec<u8>, tf: &TableFeatures) {
    let start = out.len();
    out.put_u16(0);
    out.put_u8(tf.table_id);
    out.put_zeros(5);
    put_c_string(out, &tf.name, 32);
    out.put_u64(tf.metadata_match);
    out.put_u64(tf.metadata_write);
    out.put_u32(tf.config);
    out.put_u32(tf.max_entries);
    for p in &tf.properties {
        put_prop(out, p);
    }
    let len = out.len() - start;
    out.set_u16(start, len.min(u16::MAX as usize) as u16);
}

/// Reads `type(2) length(2)` records and keeps their types.
fn pull_ids(body: &[u8]) -> Result<Vec<u16>, DecodeError> {
    let mut r = Reader::new(body, bad_len("truncated instruction or action id"));
    let mut ids = Vec::with_capacity(body.len() / 4);
    while !r.is_empty() {
        let ty = r.u16()?;
        let len = r.u16()? as usize;
        if len < 4 {
            return Err(bad_len("instruction or action id shorter than 4 bytes"));
        }
        r.skip(len - 4)?;
        ids.push(ty);
    }
    Ok(ids)
}

fn pull_oxms(body: &[u8], masks_allowed: bool) -> Result<Vec<OxmId>, DecodeError> {
    let mut r = Reader::new(body, bad_len("truncated field id"));
    let mut ids = Vec::with_capacity(body.len() / 4);
    while !r.is_empty() {
        let header = r.u32()?;
        let experimenter = if (header >> 16) as u16 == CLASS_EXPERIMENTER { Some(r.u32()?) } else { None };
        let id = OxmId { header, experimenter };
        if id.has_mask() && !masks_allowed {
            return Err(DecodeError::new(BadMatch::BadMask, "masked field id outside the match property"));
        }
        ids.push(id);
    }
    Ok(ids)
}

fn pull_prop(ty: u16, body: &[u8]) -> Result<Option<TableFeatureProp>, DecodeError> {
    let miss = ty & 1 == 1;
    Ok(Some(match ty {
        0 | 1 => TableFeatureProp::Instructions { miss, ids: pull_ids(body)? },
        2 | 3 => {
            if body.contains(&0xff) {
                return Err(DecodeError::new(TableFeaturesFailed::BadTable, "next table 255"));
            }
            TableFeatureProp::NextTables { miss, tables: body.to_vec() }
        }
        4 | 5 => TableFeatureProp::WriteActions { miss, ids: pull_ids(body)? },
        6 | 7 => TableFeatureProp::ApplyActions { miss, ids: pull_ids(body)? },
        prop::MATCH => TableFeatureProp::Match(pull_oxms(body, true)?),
        prop::WILDCARDS => TableFeatureProp::Wildcards(pull_oxms(body, false)?),
        12 | 13 => TableFeatureProp::WriteSetfield { miss, fields: pull_oxms(body, false)? },
        14 | 15 => TableFeatureProp::ApplySetfield { miss, fields: pull_oxms(body, false)? },
        prop::EXPERIMENTER | prop::EXPERIMENTER_MISS => {
            let mut r = Reader::new(body, bad_len("truncated experimenter property"));
            let experimenter = r.u32()?;
            let exp_type = r.u32()?;
            TableFeatureProp::Experimenter { miss, experimenter, exp_type, data: r.rest().to_vec() }
        }
        _ => return Ok(None),
    }))
}

/// Reads one `ofp_table_features` entry.
pub(crate) fn pull_table_features(r: &mut Reader<'_>) -> Result<TableFeatures, DecodeError> {
    let mut e = r.entry(FIXED_LEN, 8, bad_len("truncated table features entry"), bad_len("table features entry length out of range"))?;
    e.skip(2)?;
    let table_id = e.u8()?;
    if table_id == 0xff {
        return Err(DecodeError::new(TableFeaturesFailed::BadTable, "table features for table 255"));
    }
    e.skip(5)?;
    let name = c_string(e.bytes(32)?);
    let metadata_match = e.u64()?;
    let metadata_write = e.u64()?;
    let config = e.u32()?;
    let max_entries = e.u32()?;
    let mut properties = Vec::new();
    while !e.is_empty() {
        let ty = e.u16()?;
        let plen = e.u16()? as usize;
        if plen < 4 || plen - 4 > e.remaining() {
            return Err(bad_len("table features property length out of range"));
        }
        let body = e.bytes(plen - 4)?;
        let pad = (plen.div_ceil(8) * 8 - plen).min(e.remaining());
        e.skip(pad)?;
        if let Some(p) = pull_prop(ty, body)? {
            properties.push(p);
        }
    }
    Ok(TableFeatures { table_id, name, metadata_match, metadata_write, config, max_entries, properties })
}

/// Reads a body of entries (a request that configures tables, or a reply).
pub(crate) fn pull_all(r: &mut Reader<'_>) -> Result<Vec<TableFeatures>, DecodeError> {
    let mut v = Vec::new();
    while !r.is_empty() {
        v.push(pull_table_features(r)?);
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table_features::{rvs_table_features, TableFeatureProp};

    /// Table 3 named "t", metadata masks 1 and 2, config 0, 100 entries; properties:
    /// instructions goto_table + apply_actions, next tables 4 and 5, match tun_id (masked,
    /// OXM) and tcp_flags (ONF experimenter OXM).
    const ENTRY: &[u8] = &[
        0x00, 0x68, 0x03, 0, 0, 0, 0, 0, // length 104, table 3
        b't', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // name, 32 bytes
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, //
        0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, // metadata match, write
        0, 0, 0, 0, 0, 0, 0, 100, // config, max_entries
        0, 0, 0, 12, 0, 1, 0, 4, 0, 4, 0, 4, 0, 0, 0, 0, // instructions, padded to 16
        0, 2, 0, 6, 4, 5, 0, 0, // next tables, padded to 8
        0, 8, 0, 16, 0x80, 0, 0x4d, 0x10, 0xff, 0xff, 0x54, 0x06, 0x4f, 0x4e, 0x46, 0x00, // match
    ];

    fn sample() -> TableFeatures {
        TableFeatures {
            table_id: 3,
            name: "t".into(),
            metadata_match: 1,
            metadata_write: 2,
            config: 0,
            max_entries: 100,
            properties: vec![
                TableFeatureProp::Instructions { miss: false, ids: vec![1, 4] },
                TableFeatureProp::NextTables { miss: false, tables: vec![4, 5] },
                TableFeatureProp::Match(vec![
                    OxmId { header: 0x8000_4d10, experimenter: None },
                    OxmId { header: 0xffff_5406, experimenter: Some(0x4f4e_4600) },
                ]),
            ],
        }
    }

    #[test]
    fn writes_the_bytes_it_reads() {
        let mut out = Vec::new();
        put_table_features(&mut out, &sample());
        assert_eq!(out, ENTRY);
        let mut r = Reader::new(ENTRY, bad_len("x"));
        assert_eq!(pull_table_features(&mut r), Ok(sample()));
        assert!(r.is_empty());
    }

    #[test]
    fn rejects_bad_lengths_and_tables() {
        let mut short = ENTRY.to_vec();
        short[1] = 0x60; // claims 96 bytes: cuts the match property
        let mut r = Reader::new(&short, bad_len("x"));
        assert_eq!(pull_table_features(&mut r).unwrap_err().error, BadRequest::BadLen.into());
        let mut odd = ENTRY.to_vec();
        odd[1] = 0x67;
        assert!(pull_table_features(&mut Reader::new(&odd, bad_len("x"))).is_err());
        let mut t255 = ENTRY.to_vec();
        t255[2] = 0xff;
        assert_eq!(
            pull_table_features(&mut Reader::new(&t255, bad_len("x"))).unwrap_err().error,
            TableFeaturesFailed::BadTable.into()
        );
        for cut in 0..ENTRY.len() {
            assert!(pull_table_features(&mut Reader::new(&ENTRY[..cut], bad_len("x"))).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn masked_ids_only_in_the_match_property() {
        assert_eq!(pull_oxms(&[0x80, 0, 0x4d, 0x10], false).unwrap_err().error, BadMatch::BadMask.into());
        assert!(pull_oxms(&[0x80, 0, 0x4d, 0x10], true).is_ok());
    }

    #[test]
    fn a_reply_for_254_tables_is_split_with_the_more_flag() {
        use crate::msg::{decode, encode_multipart_reply, MultipartReply, OfMessage, Version};
        let all = rvs_table_features(254);
        let parts =
            encode_multipart_reply(Version::V1_3, 7, &MultipartReply::TableFeatures(all.clone()), 65535).unwrap();
        assert!(parts.len() > 1, "{} parts", parts.len());
        let mut got = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            assert!(p.len() <= 65535);
            match decode(p) {
                Ok((h, OfMessage::MultipartReply { more, reply: MultipartReply::TableFeatures(t) })) => {
                    assert_eq!(h.xid, 7);
                    assert_eq!(more, i + 1 < parts.len());
                    got.extend(t);
                }
                other => panic!("part {i}: {other:?}"),
            }
        }
        assert_eq!(got, all);
    }

    #[test]
    fn rvs_features_round_trip_and_fit_in_a_message() {
        let all = rvs_table_features(254);
        assert_eq!(all.len(), 254);
        for tf in [&all[0], &all[253]] {
            let mut out = Vec::new();
            put_table_features(&mut out, tf);
            assert_eq!(out.len() % 8, 0);
            assert!(out.len() < 65535 - 16);
            assert_eq!(pull_table_features(&mut Reader::new(&out, bad_len("x"))).as_ref(), Ok(tf));
        }
    }
}
