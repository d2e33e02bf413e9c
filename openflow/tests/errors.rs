//! Error numbering against `ovs-ofctl print-error` (Open vSwitch 3.1), for OpenFlow 1.0 and
//! 1.3: `data/errors.txt` lists, for every error name this crate knows, the vendor, type and
//! code Open vSwitch uses in each version ("-" when the version cannot express the error;
//! OpenFlow 1.0 then gets `NXBRC_UNENCODABLE_ERROR`).

use rvs_openflow::error::{
    BadAction, BadInstruction, BadMatch, BadRequest, FlowModFailed, GroupModFailed, HelloFailed, NxError, OfError,
    PortModFailed, QueueOpFailed, SwitchConfigFailed, TableFeaturesFailed, TableModFailed, WireError,
};

fn all_errors() -> Vec<OfError> {
    let mut v: Vec<OfError> = Vec::new();
    v.extend(HelloFailed::ALL.iter().map(|c| OfError::HelloFailed(*c)));
    v.extend(BadRequest::ALL.iter().map(|c| OfError::BadRequest(*c)));
    v.extend(BadAction::ALL.iter().map(|c| OfError::BadAction(*c)));
    v.extend(BadInstruction::ALL.iter().map(|c| OfError::BadInstruction(*c)));
    v.extend(BadMatch::ALL.iter().map(|c| OfError::BadMatch(*c)));
    v.extend(FlowModFailed::ALL.iter().map(|c| OfError::FlowModFailed(*c)));
    v.extend(PortModFailed::ALL.iter().map(|c| OfError::PortModFailed(*c)));
    v.extend(GroupModFailed::ALL.iter().map(|c| OfError::GroupModFailed(*c)));
    v.extend(QueueOpFailed::ALL.iter().map(|c| OfError::QueueOpFailed(*c)));
    v.extend(TableModFailed::ALL.iter().map(|c| OfError::TableModFailed(*c)));
    v.extend(SwitchConfigFailed::ALL.iter().map(|c| OfError::SwitchConfigFailed(*c)));
    v.extend(TableFeaturesFailed::ALL.iter().map(|c| OfError::TableFeaturesFailed(*c)));
    v.extend(NxError::ALL.iter().map(|c| OfError::Nicira(*c)));
    v
}

/// `0x2320 1 515` → (vendor, type, code).
fn triplet(s: &str) -> Option<(u32, u16, u16)> {
    if s == "-" {
        return None;
    }
    let w: Vec<&str> = s.split(' ').collect();
    let vendor = if w[0] == "0" { 0 } else { u32::from_str_radix(w[0].trim_start_matches("0x"), 16).unwrap() };
    Some((vendor, w[1].parse().unwrap(), w[2].parse().unwrap()))
}

#[test]
fn numbers_are_those_of_open_vswitch() {
    let path = format!("{}/tests/data/errors.txt", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let errors = all_errors();
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (name, rest) = line.split_once(": ").unwrap();
        let (v10, v13) = rest.split_once(" | ").unwrap();
        let (v10, v13) = (triplet(v10), triplet(v13));
        if v10.is_none() && v13.is_none() {
            continue; // a name Open vSwitch 3.1 does not know
        }
        let e = *errors.iter().find(|e| e.name() == name).unwrap_or_else(|| panic!("{name} is not an error of this crate"));
        let want10 = match v10 {
            None => WireError::Vendor { vendor: 0x2320, type_: 1, code: 521 },
            Some((0, type_, code)) => WireError::Standard { type_, code },
            Some((vendor, type_, code)) => WireError::Vendor { vendor, type_, code },
        };
        if e.to_wire_v10() != want10 {
            failures.push(format!("{name}: OpenFlow 1.0 {:?}, Open vSwitch {want10:?}", e.to_wire_v10()));
        }
        let want13 = match v13 {
            None => None,
            Some((0, type_, code)) => Some(WireError::Standard { type_, code }),
            Some((experimenter, exp_type, _)) => Some(WireError::Experimenter { exp_type, experimenter }),
        };
        if let Some(w) = want13 {
            if e.to_wire() != w {
                failures.push(format!("{name}: OpenFlow 1.3 {:?}, Open vSwitch {w:?}", e.to_wire()));
            }
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 70, "only {checked} errors checked");
}
