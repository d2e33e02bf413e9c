//! `learn(...)`, `conjunction(...)`, `fin_timeout(...)` and `sample(...)` in `ovs-ofctl`
//! syntax: parsing (`learn_parse`, `parse_CONJUNCTION`, `parse_FIN_TIMEOUT`, `parse_SAMPLE`)
//! and printing (`learn_format`, ...).
//!
//! A learn argument is a flow attribute of the learned rule (`table`, `priority`, the four
//! timeouts, `cookie`, `send_flow_rem`, `delete_learned`, `limit`, `result_dst`) or a spec:
//! * `dst[bits]=value` (an immediate; a whole field takes the field's own syntax, part of one
//!   an integer), `dst[bits]=src[bits]`, or `dst[bits]` alone (`=dst[bits]`): a match field;
//! * `load:value->dst[bits]` or `load:src[bits]->dst[bits]`: a load in the learned rule;
//! * `output:src[bits]`: an output to the port in those bits.
//!
//! Fields must have an NXM header (the action is a Nicira one). Printing follows
//! `learn_format`: the attributes that differ from their defaults in a fixed order, then the
//! specs with NXM names for subfields and Open vSwitch's field names for whole immediates.

use std::fmt::Write as _;

use super::fields::{format_subfield, format_value, ovs_bytes, ovs_name, parse_subfield, parse_value, subfield_entry};
use super::lex::KeyValues;
use super::value::{hex0, parse_int_string, str_to_u64, str_to_uint_base10, str_to_uint_max, PortNames};
use super::TextError;
use rvs_flowcache::learn::{Learn, LearnDst, LearnSpec, LearnSrc, DELETE_LEARNED, SEND_FLOW_REM, WRITE_RESULT};
use rvs_flowcache::ofp::{OfAction, SubField};

fn bad(keyword: &str, message: impl Into<String>) -> TextError {
    TextError::BadValue { keyword: keyword.to_string(), message: message.into() }
}

fn u16_of(what: &str, s: &str) -> Result<u16, TextError> {
    str_to_uint_max(s, u16::MAX as u64).map(|v| v as u16).ok_or_else(|| bad("learn", format!("invalid {what} \"{s}\"")))
}

fn atoi(s: &str) -> u32 {
    let t = s.trim_start();
    let d: String = t.chars().take_while(char::is_ascii_digit).collect();
    d.parse::<u64>().map(|v| v as u32).unwrap_or(0)
}

fn needs_nxm(orig: &str, name: &str, sf: &SubField) -> Result<(), TextError> {
    if subfield_entry(sf).is_none() {
        return Err(bad("learn", format!("{orig}: experimenter OXM field '{name}' not supported")));
    }
    Ok(())
}

/// True if `sf` is the whole field (Open vSwitch's `mf_field.n_bits`).
fn is_whole(sf: &SubField) -> bool {
    sf.ofs == 0 && sf.n_bits == crate::check::subfield_bits(sf.field)
}

fn parse_spec(orig: &str, name: &str, value: &str, names: Option<&dyn PortNames>) -> Result<LearnSpec, TextError> {
    if let Ok(dst) = parse_subfield(name) {
        needs_nxm(orig, name, &dst)?;
        if value.is_empty() {
            return Ok(LearnSpec { src: LearnSrc::Field(dst), dst: LearnDst::Match(dst), n_bits: dst.n_bits });
        }
        return match parse_subfield(value) {
            Ok(src) => {
                if src.n_bits != dst.n_bits {
                    return Err(bad(
                        "learn",
                        // Open vSwitch's wording, widths swapped as it prints them.
                        format!("{orig}: bit widths of {name} ({}) and {value} ({}) differ", src.n_bits, dst.n_bits),
                    ));
                }
                Ok(LearnSpec { src: LearnSrc::Field(src), dst: LearnDst::Match(dst), n_bits: dst.n_bits })
            }
            Err(sub_err) => {
                let imm = if is_whole(&dst) {
                    match parse_value(dst.field, value, names) {
                        Ok((v, m)) if m & dst.field.full_mask() == dst.field.full_mask() => Ok(v),
                        Ok(_) => Err(format!("{value}: wildcards not allowed here")),
                        Err(e) => Err(e),
                    }
                } else {
                    match parse_int_string(value, ovs_bytes(dst.field)) {
                        Ok((v, "")) if dst.n_bits >= 128 || v >> dst.n_bits == 0 => Ok(v),
                        Ok((v, "")) => Err(format!(
                            "{orig}: value {} does not fit into {} bits",
                            format_value(dst.field, v, dst.field.full_mask(), names),
                            dst.n_bits
                        )),
                        _ => Err(format!("{orig}: cannot parse integer value")),
                    }
                };
                match imm {
                    Ok(v) => Ok(LearnSpec { src: LearnSrc::Immediate(v), dst: LearnDst::Match(dst), n_bits: dst.n_bits }),
                    Err(imm_err) => Err(bad(
                        "learn",
                        format!("{orig}: {name} value {value} cannot be parsed as a subfield ({sub_err}) or an immediate value ({imm_err})"),
                    )),
                }
            }
        };
    }
    match name {
        "load" => {
            let Some(arrow) = value.find("->") else {
                return Err(bad("learn", format!("{name}: missing `->' in `{value}'")));
            };
            if arrow == 0 {
                return Err(bad("learn", format!("{name}: missing source before `->' in `{value}'")));
            }
            let (src_s, dst_s) = (&value[..arrow], &value[arrow + 2..]);
            let dst = parse_subfield(dst_s).map_err(|e| bad("learn", e))?;
            needs_nxm(value, dst_s, &dst)?;
            if !dst.field.desc().writable {
                return Err(bad("learn", format!("{} is read-only", ovs_name(dst.field))));
            }
            match parse_int_string(src_s, 16) {
                Ok((v, tail)) => {
                    if !tail.is_empty() {
                        return Err(bad("learn", format!("{name}: garbage before `->' in `{value}'")));
                    }
                    if dst.n_bits < 128 && v >> dst.n_bits != 0 {
                        return Err(bad("learn", format!("{value}: value does not fit into {} bits", dst.n_bits)));
                    }
                    Ok(LearnSpec { src: LearnSrc::Immediate(v), dst: LearnDst::Load(dst), n_bits: dst.n_bits })
                }
                Err(_) => {
                    let src = parse_subfield(src_s).map_err(|e| bad("learn", e))?;
                    if src.n_bits != dst.n_bits {
                        return Err(bad(
                            "learn",
                            format!("{value}: source field is {} bits wide but destination is {} bits wide", src.n_bits, dst.n_bits),
                        ));
                    }
                    Ok(LearnSpec { src: LearnSrc::Field(src), dst: LearnDst::Load(dst), n_bits: dst.n_bits })
                }
            }
        }
        "output" => {
            let src = parse_subfield(value).map_err(|e| bad("learn", e))?;
            Ok(LearnSpec { src: LearnSrc::Field(src), dst: LearnDst::Output, n_bits: src.n_bits })
        }
        _ => Err(bad("learn", format!("{orig}: unknown keyword {name}"))),
    }
}

/// Parses the argument of `learn(...)`.
pub(crate) fn parse_learn(arg: &str, names: Option<&dyn PortNames>) -> Result<Learn, TextError> {
    let mut l = Learn::default();
    for (name, value) in KeyValues::new(arg) {
        match name {
            "table" => {
                let t = str_to_uint_base10(value).filter(|t| *t <= 255).ok_or_else(|| bad("learn", format!("unknown table \"{value}\"")))?;
                if t == 255 {
                    return Err(bad("learn", format!("{arg}: table id 255 not valid for `learn' action")));
                }
                l.table_id = t as u8;
            }
            "priority" => l.priority = u16_of("priority", value)?,
            "idle_timeout" => l.idle_timeout = u16_of("idle_timeout", value)?,
            "hard_timeout" => l.hard_timeout = u16_of("hard_timeout", value)?,
            "fin_idle_timeout" => l.fin_idle_timeout = u16_of("fin_idle_timeout", value)?,
            "fin_hard_timeout" => l.fin_hard_timeout = u16_of("fin_hard_timeout", value)?,
            "cookie" => l.cookie = str_to_u64(value).map_err(|e| bad("learn", e))?,
            "send_flow_rem" => l.flags |= SEND_FLOW_REM,
            "delete_learned" => l.flags |= DELETE_LEARNED,
            "limit" => l.limit = atoi(value),
            "result_dst" => {
                let sf = parse_subfield(value).map_err(|e| bad("learn", e))?;
                if !sf.field.desc().writable {
                    return Err(bad("learn", format!("{} is read-only", ovs_name(sf.field))));
                }
                if sf.n_bits != 1 {
                    return Err(bad("learn", "result_dst in 'learn' action must be a single bit"));
                }
                l.flags |= WRITE_RESULT;
                l.result_dst = Some(sf);
            }
            _ => l.specs.push(parse_spec(arg, name, value, names)?),
        }
    }
    Ok(l)
}

/// Prints a `learn` action (`learn_format`).
pub(crate) fn format_learn(s: &mut String, l: &Learn, names: Option<&dyn PortNames>) {
    let _ = write!(s, "learn(table={}", l.table_id);
    for (key, v) in [
        ("idle_timeout", l.idle_timeout),
        ("hard_timeout", l.hard_timeout),
        ("fin_idle_timeout", l.fin_idle_timeout),
        ("fin_hard_timeout", l.fin_hard_timeout),
    ] {
        if v != 0 {
            let _ = write!(s, ",{key}={v}");
        }
    }
    if l.priority != rvs_flowcache::ofp::DEFAULT_PRIORITY {
        let _ = write!(s, ",priority={}", l.priority);
    }
    if l.flags & SEND_FLOW_REM != 0 {
        s.push_str(",send_flow_rem");
    }
    if l.flags & DELETE_LEARNED != 0 {
        s.push_str(",delete_learned");
    }
    if l.cookie != 0 {
        let _ = write!(s, ",cookie={:#x}", l.cookie);
    }
    if l.limit != 0 {
        let _ = write!(s, ",limit={}", l.limit);
    }
    if let (true, Some(sf)) = (l.flags & WRITE_RESULT != 0, &l.result_dst) {
        let _ = write!(s, ",result_dst={}", format_subfield(sf));
    }
    for spec in &l.specs {
        s.push(',');
        match (&spec.src, &spec.dst) {
            (LearnSrc::Immediate(v), LearnDst::Match(dst)) => {
                if is_whole(dst) {
                    let _ = write!(s, "{}={}", ovs_name(dst.field), format_value(dst.field, *v, dst.field.full_mask(), names));
                } else {
                    let _ = write!(s, "{}={}", format_subfield(dst), hex0(*v));
                }
            }
            (LearnSrc::Field(src), LearnDst::Match(dst)) => {
                s.push_str(&format_subfield(dst));
                if src.field != dst.field || src.ofs != dst.ofs {
                    let _ = write!(s, "={}", format_subfield(src));
                }
            }
            (LearnSrc::Immediate(v), LearnDst::Load(dst)) => {
                let _ = write!(s, "load:{}->{}", hex0(*v), format_subfield(dst));
            }
            (LearnSrc::Field(src), LearnDst::Load(dst)) => {
                let _ = write!(s, "load:{}->{}", format_subfield(src), format_subfield(dst));
            }
            (LearnSrc::Field(src), LearnDst::Output) => {
                let _ = write!(s, "output:{}", format_subfield(src));
            }
            (LearnSrc::Immediate(v), LearnDst::Output) => {
                // Not expressible in the syntax; printed as OVS prints a bad spec.
                let _ = write!(s, "output:{}", hex0(*v));
            }
        }
    }
    s.push(')');
}

/// Parses `conjunction(id,k/n)`.
pub(crate) fn parse_conjunction(arg: &str) -> Result<OfAction, TextError> {
    let syntax = || bad("conjunction", "\"conjunction\" syntax is \"conjunction(id,i/n)\"");
    let (id_s, rest) = arg.split_once(',').ok_or_else(syntax)?;
    let (k_s, n_s) = rest.split_once('/').ok_or_else(syntax)?;
    let num = |t: &str, max: u64| {
        let t = t.trim();
        let v = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            Some(h) => u64::from_str_radix(h, 16).ok(),
            None => t.parse::<u64>().ok(),
        };
        v.filter(|v| *v <= max).ok_or_else(syntax)
    };
    let id = num(id_s, u32::MAX as u64)? as u32;
    let k = num(k_s, 255)? as u8;
    let n = num(n_s, 255)? as u8;
    if n < 2 {
        return Err(bad("conjunction", "conjunction must have at least 2 clauses"));
    }
    if n > 64 {
        return Err(bad("conjunction", "conjunction must have at most 64 clauses"));
    }
    if k < 1 {
        return Err(bad("conjunction", "clause index must be positive"));
    }
    if k > n {
        return Err(bad("conjunction", "clause index must be less than or equal to number of clauses"));
    }
    Ok(OfAction::Conjunction { id, clause: k - 1, n_clauses: n })
}

/// Parses `fin_timeout(idle_timeout=N,hard_timeout=N)`.
pub(crate) fn parse_fin_timeout(arg: &str) -> Result<OfAction, TextError> {
    let (mut idle, mut hard) = (0u16, 0u16);
    for (k, v) in KeyValues::new(arg) {
        let n = || str_to_uint_max(v, u16::MAX as u64).map(|x| x as u16).ok_or_else(|| bad("fin_timeout", format!("invalid {k} \"{v}\"")));
        match k {
            "idle_timeout" => idle = n()?,
            "hard_timeout" => hard = n()?,
            _ => return Err(bad("fin_timeout", format!("invalid key '{k}' in 'fin_timeout' argument"))),
        }
    }
    Ok(OfAction::FinTimeout { idle, hard })
}

/// Prints `fin_timeout(...)`.
pub(crate) fn format_fin_timeout(s: &mut String, idle: u16, hard: u16) {
    let mut parts = Vec::new();
    if idle != 0 {
        parts.push(format!("idle_timeout={idle}"));
    }
    if hard != 0 {
        parts.push(format!("hard_timeout={hard}"));
    }
    let _ = write!(s, "fin_timeout({})", parts.join(","));
}

/// Parses `sample(probability=N,collector_set_id=N,obs_domain_id=N,obs_point_id=N,
/// sampling_port=P,ingress|egress)`.
pub(crate) fn parse_sample(arg: &str, names: Option<&dyn PortNames>) -> Result<OfAction, TextError> {
    let (mut probability, mut collector_set_id, mut obs_domain_id, mut obs_point_id) = (0u16, 0u32, 0u32, 0u32);
    let (mut sampling_port, mut direction) = (rvs_flowcache::ofp::OfPort::ANY, 0u8);
    for (k, v) in KeyValues::new(arg) {
        let u32_of = || {
            let t = v.trim();
            let n = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                Some(h) => u64::from_str_radix(h, 16).ok(),
                None => t.parse::<u64>().ok(),
            };
            n.filter(|n| *n <= u32::MAX as u64).map(|n| n as u32).ok_or_else(|| bad("sample", format!("invalid {k} \"{v}\"")))
        };
        match k {
            "probability" => {
                probability = str_to_uint_max(v, u16::MAX as u64)
                    .filter(|p| *p != 0)
                    .map(|p| p as u16)
                    .ok_or_else(|| bad("sample", format!("invalid probability value \"{v}\"")))?
            }
            "collector_set_id" => collector_set_id = u32_of()?,
            "obs_domain_id" => obs_domain_id = u32_of()?,
            "obs_point_id" => obs_point_id = u32_of()?,
            "sampling_port" => {
                sampling_port = super::value::parse_port(v, names).ok_or_else(|| bad("sample", format!("{v}: unknown port")))?
            }
            "ingress" => direction = 1,
            "egress" => direction = 2,
            _ => return Err(bad("sample", format!("invalid key \"{k}\" in \"sample\" argument"))),
        }
    }
    if probability == 0 {
        return Err(bad("sample", "non-zero \"probability\" must be specified on sample"));
    }
    Ok(OfAction::Sample { probability, collector_set_id, obs_domain_id, obs_point_id, sampling_port, direction })
}

/// Prints `sample(...)`.
pub(crate) fn format_sample(s: &mut String, a: &OfAction, names: Option<&dyn PortNames>) {
    if let OfAction::Sample { probability, collector_set_id, obs_domain_id, obs_point_id, sampling_port, direction } = a {
        let _ = write!(
            s,
            "sample(probability={probability},collector_set_id={collector_set_id},obs_domain_id={obs_domain_id},obs_point_id={obs_point_id}"
        );
        if *sampling_port != rvs_flowcache::ofp::OfPort::ANY {
            let _ = write!(s, ",sampling_port={}", super::value::format_port(*sampling_port, names));
        }
        match direction {
            1 => s.push_str(",ingress"),
            2 => s.push_str(",egress"),
            _ => {}
        }
        s.push(')');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(s: &str) -> String {
        let l = parse_learn(s, None).unwrap_or_else(|e| panic!("{s}: {e}"));
        let mut out = String::new();
        format_learn(&mut out, &l, None);
        out
    }

    #[test]
    fn neutron_mac_learning_prints_as_ovs() {
        let s = "table=20,hard_timeout=300,priority=1,cookie=0x1234,NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:0->NXM_OF_VLAN_TCI[],load:NXM_NX_TUN_ID[]->NXM_NX_TUN_ID[],output:OXM_OF_IN_PORT[]";
        assert_eq!(round(s), format!("learn({s})"));
    }

    #[test]
    fn immediates_attributes_and_defaults() {
        assert_eq!(round(""), "learn(table=1)");
        assert_eq!(
            round("eth_type=0x800,ip_dst=10.0.0.1,ip_proto=6,tcp_dst=80,reg0[0..3]=5,idle_timeout=10,fin_idle_timeout=3,fin_hard_timeout=4,send_flow_rem,delete_learned,eth_src[],in_port=3,load:0x5->reg1[2..5],output:reg2[0..15]"),
            "learn(table=1,idle_timeout=10,fin_idle_timeout=3,fin_hard_timeout=4,send_flow_rem,delete_learned,eth_type=0x800,ip_dst=10.0.0.1,nw_proto=6,tcp_dst=80,NXM_NX_REG0[0..3]=0x5,NXM_OF_ETH_SRC[],in_port=3,load:0x5->NXM_NX_REG1[2..5],output:NXM_NX_REG2[0..15])"
        );
        assert_eq!(round("limit=10,result_dst=reg0[1],table=3,eth_dst[]=eth_src[]"), "learn(table=3,limit=10,result_dst=NXM_NX_REG0[1],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[])");
        assert_eq!(round("in_port=5,dl_dst=aa:bb:cc:dd:ee:ff,output:in_port"), "learn(table=1,in_port=5,eth_dst=aa:bb:cc:dd:ee:ff,output:NXM_OF_IN_PORT[])");
    }

    #[test]
    fn errors_as_ovs() {
        let e = |s: &str| parse_learn(s, None).unwrap_err().to_string();
        assert_eq!(
            e("reg0[0..3]=0x10"),
            "reg0[0..3]=0x10: reg0[0..3] value 0x10 cannot be parsed as a subfield (0x10: unknown field `0x10') or an immediate value (reg0[0..3]=0x10: value 0x10 does not fit into 4 bits)"
        );
        assert_eq!(e("dl_vlan=5"), "dl_vlan=5: experimenter OXM field 'dl_vlan' not supported");
        assert_eq!(e("table=255"), "table=255: table id 255 not valid for `learn' action");
        assert_eq!(e("result_dst=reg0[1..2]"), "result_dst in 'learn' action must be a single bit");
        assert_eq!(e("load:0x1ffffffff->reg1[]"), "0x1ffffffff->reg1[]: value does not fit into 32 bits");
    }

    #[test]
    fn conjunction_and_fin_timeout() {
        assert_eq!(parse_conjunction("7,2/3"), Ok(OfAction::Conjunction { id: 7, clause: 1, n_clauses: 3 }));
        assert_eq!(parse_conjunction("7,0/3").unwrap_err().to_string(), "clause index must be positive");
        assert_eq!(parse_conjunction("7,4/3").unwrap_err().to_string(), "clause index must be less than or equal to number of clauses");
        assert_eq!(parse_conjunction("7,1/1").unwrap_err().to_string(), "conjunction must have at least 2 clauses");
        assert_eq!(parse_fin_timeout("idle_timeout=5"), Ok(OfAction::FinTimeout { idle: 5, hard: 0 }));
        let mut s = String::new();
        format_fin_timeout(&mut s, 5, 9);
        assert_eq!(s, "fin_timeout(idle_timeout=5,hard_timeout=9)");
    }
}
