//! Decoding OpenFlow 1.3 actions and instructions (see the parent module for the rules).

use super::{at, it};
use crate::codec::Reader;
use crate::error::{BadAction, BadInstruction, DecodeError};
use crate::msg::Version;
use crate::nx::actions::{fold_queues, pull_nx, Raw};
use crate::nx::NX_VENDOR_ID;
use crate::oxm::{self, value_mask, Conv, CLASS_EXPERIMENTER};
use rvs_flowcache::field::Field;
use rvs_flowcache::key::VLAN_PRESENT;
use rvs_flowcache::ofp::{OfAction, OfPort};

fn bac(code: BadAction, detail: &'static str) -> DecodeError {
    DecodeError::new(code, detail)
}

fn bic(code: BadInstruction, detail: &'static str) -> DecodeError {
    DecodeError::new(code, detail)
}

fn port_from_ofp11(p: u32) -> Result<OfPort, DecodeError> {
    if !(0xff00..0xffff_ff00).contains(&p) {
        Ok(OfPort(p))
    } else {
        Err(bac(BadAction::BadOutPort, "port number out of range"))
    }
}

fn check_out_port(p: OfPort) -> Result<OfPort, DecodeError> {
    match p {
        OfPort::ANY => Err(bac(BadAction::BadOutPort, "output to port ANY")),
        p => Ok(p),
    }
}

fn pull_set_field(body: &[u8]) -> Result<OfAction, DecodeError> {
    let mut r = Reader::new(body, bac(BadAction::BadSetLen, "truncated set_field"));
    let header = r.u32()?;
    if let Some(a) = crate::nx::mpls::pull_set_field(header, body.get(4..).unwrap_or_default()) {
        return a;
    }
    let exp = if (header >> 16) as u16 == CLASS_EXPERIMENTER { r.u32()? } else { 0 };
    if header & 0x100 != 0 {
        return Err(bac(BadAction::BadSetArgument, "masked set_field needs OpenFlow 1.5"));
    }
    let e = oxm::entry_by_header(header, exp).ok_or(bac(BadAction::BadSetType, "set_field of an unknown field"))?;
    let vb = r.bytes(e.width as usize)?;
    if r.rest().iter().any(|&b| b != 0) {
        return Err(bac(BadAction::BadSetArgument, "set_field padding is not zero"));
    }
    let raw = vb.iter().fold(0u128, |acc, &b| (acc << 8) | b as u128);
    let field = e.field;
    if !field.desc().writable {
        return Err(bac(BadAction::BadSetArgument, "set_field of a read-only field"));
    }
    let value = match e.conv {
        Conv::Port16 => OfPort::from_ofp10(raw as u16).0 as u128,
        Conv::Plain => raw,
    };
    let invalid = raw & !value_mask(field) != 0
        || (field == Field::VlanVid && value & VLAN_PRESENT as u128 == 0)
        || (field == Field::InPort && e.conv == Conv::Plain && (0xff00..0xffff_ff00).contains(&(raw as u32)));
    if invalid {
        return Err(bac(BadAction::BadSetArgument, "invalid set_field value"));
    }
    Ok(OfAction::SetField { field, value, mask: value_mask(field) })
}

fn pull_one(r: &mut Reader<'_>) -> Result<Raw, DecodeError> {
    if r.remaining() < 8 {
        return Err(bac(BadAction::BadLen, "truncated action header"));
    }
    let ty = r.u16()?;
    let len = r.u16()? as usize;
    if len < 8 || !len.is_multiple_of(8) || len - 4 > r.remaining() {
        return Err(bac(BadAction::BadLen, "action length is not a multiple of 8 within the list"));
    }
    let body = r.bytes(len - 4)?;
    let mut b = Reader::new(body, bac(BadAction::BadLen, "truncated action"));
    let fixed = |n: usize| if len == n { Ok(()) } else { Err(bac(BadAction::BadLen, "action has the wrong length")) };
    Ok(Raw::Act(match ty {
        at::OUTPUT => {
            fixed(16)?;
            let port = check_out_port(port_from_ofp11(b.u32()?)?)?;
            let max_len = b.u16()?;
            OfAction::Output { port, max_len: if port == OfPort::CONTROLLER { max_len } else { 0 } }
        }
        at::PUSH_VLAN => {
            fixed(8)?;
            let ethertype = b.u16()?;
            if ethertype != 0x8100 && ethertype != 0x88a8 {
                return Err(bac(BadAction::BadArgument, "push_vlan of a non-VLAN ethertype"));
            }
            OfAction::PushVlan { ethertype }
        }
        at::POP_VLAN => {
            fixed(8)?;
            OfAction::StripVlan
        }
        at::SET_QUEUE => {
            fixed(8)?;
            return Ok(Raw::SetQueue(b.u32()?));
        }
        at::GROUP => {
            fixed(8)?;
            OfAction::Group(b.u32()?)
        }
        at::SET_NW_TTL => {
            fixed(8)?;
            OfAction::SetIpTtl(b.u8()?)
        }
        at::DEC_NW_TTL => {
            fixed(8)?;
            OfAction::DecTtl { controller_ids: vec![] }
        }
        at::SET_FIELD => pull_set_field(body)?,
        crate::nx::mpls::AT_SET_MPLS_TTL | crate::nx::mpls::AT_DEC_MPLS_TTL | crate::nx::mpls::AT_PUSH_MPLS | crate::nx::mpls::AT_POP_MPLS => {
            crate::nx::mpls::pull_v13(ty, len, b.rest())?
        }
        at::EXPERIMENTER => {
            let vendor = b.u32()?;
            if vendor != NX_VENDOR_ID {
                return Err(bac(BadAction::BadExperimenter, "unknown experimenter action"));
            }
            let sub = b.u16()?;
            if sub == crate::nx::nest::CLONE {
                return crate::nx::nest::pull_clone(b.rest(), pull_actions).map(Raw::Act);
            }
            if sub == crate::nx::conntrack::CT {
                return crate::nx::conntrack::pull_ct(b.rest(), pull_actions).map(Raw::Act);
            }
            return pull_nx(sub, len, b.rest(), Version::V1_3);
        }
        _ => return Err(bac(BadAction::BadType, "unsupported action type")),
    }))
}

/// Decodes an action list (apply-actions, write-actions, packet-out).
pub(crate) fn pull_actions(bytes: &[u8]) -> Result<Vec<OfAction>, DecodeError> {
    let mut r = Reader::new(bytes, bac(BadAction::BadLen, "truncated action"));
    let mut raws = Vec::new();
    while !r.is_empty() {
        raws.push(pull_one(&mut r)?);
    }
    fold_queues(raws)
}

/// Decodes OpenFlow 1.1+ instructions into the model's single list.
pub(crate) fn pull_instructions(bytes: &[u8]) -> Result<Vec<OfAction>, DecodeError> {
    if !bytes.len().is_multiple_of(8) {
        return Err(bic(BadInstruction::BadLen, "instructions are not a multiple of 8 bytes"));
    }
    let mut r = Reader::new(bytes, bic(BadInstruction::BadLen, "truncated instruction"));
    let mut apply = None;
    let mut clear = false;
    let mut write = None;
    let mut metadata = None;
    let mut goto = None;
    let dup = || bic(BadInstruction::DupInst, "instruction appears twice");
    while !r.is_empty() {
        let ty = r.u16()?;
        let len = r.u16()? as usize;
        if len < 8 || !len.is_multiple_of(8) || len - 4 > r.remaining() {
            return Err(bic(BadInstruction::BadLen, "bad instruction length"));
        }
        let body = r.bytes(len - 4)?;
        let mut b = Reader::new(body, bic(BadInstruction::BadLen, "truncated instruction"));
        let fixed = |n: usize| if len == n { Ok(()) } else { Err(bic(BadInstruction::BadLen, "instruction has the wrong length")) };
        match ty {
            it::GOTO_TABLE => {
                fixed(8)?;
                if goto.replace(b.u8()?).is_some() {
                    return Err(dup());
                }
            }
            it::WRITE_METADATA => {
                fixed(24)?;
                b.skip(4)?;
                let value = b.u64()?;
                let mask = b.u64()?;
                if metadata.replace((value, mask)).is_some() {
                    return Err(dup());
                }
            }
            it::WRITE_ACTIONS | it::APPLY_ACTIONS => {
                b.skip(4)?;
                let acts = pull_actions(b.rest())?;
                let slot = if ty == it::APPLY_ACTIONS { &mut apply } else { &mut write };
                if slot.replace(acts).is_some() {
                    return Err(dup());
                }
            }
            it::CLEAR_ACTIONS => {
                fixed(8)?;
                if std::mem::replace(&mut clear, true) {
                    return Err(dup());
                }
            }
            it::METER => return Err(bic(BadInstruction::UnsupInst, "meters are not supported")),
            it::EXPERIMENTER => return Err(bic(BadInstruction::BadExperimenter, "unknown experimenter instruction")),
            _ => return Err(bic(BadInstruction::UnknownInst, "unknown instruction")),
        }
    }
    let mut out = apply.unwrap_or_default();
    if clear {
        out.push(OfAction::ClearActions);
    }
    if let Some(w) = write {
        out.push(OfAction::WriteActions(w));
    }
    if let Some((value, mask)) = metadata {
        out.push(OfAction::WriteMetadata { value, mask });
    }
    if let Some(t) = goto {
        out.push(OfAction::GotoTable(t));
    }
    Ok(out)
}

