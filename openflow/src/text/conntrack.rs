//! `ct(...)`, `nat(...)` and `ct_clear` in `ovs-ofctl` syntax, parsed and printed as Open
//! vSwitch does (`parse_CT`, `parse_NAT`, `format_CT`, `format_NAT`), messages included.
//!
//! `ct` takes `commit`, `force`, `table=N`, `zone=N` or `zone=FIELD[bits]`, `alg=ftp|tftp`,
//! `nat[(...)]` and `exec(actions)`; the `nat` and `exec` actions become `ct`'s nested list
//! in the order given. Inside `exec`, Open vSwitch allows only writes to `ct_mark` and
//! `ct_label`, fields rvs does not have yet: every other nested action is refused with Open
//! vSwitch's message. Printing puts a leading `nat` outside the `exec(...)` envelope, as
//! Open vSwitch does. rvs parses these so that flows print as with Open vSwitch; the switch
//! refuses them (see [`rvs_flowcache::conntrack`]).

use super::fields::{format_subfield, ovs_name, parse_subfield};
use super::value::{format_ipv6, str_to_uint_max};
use super::TextError;
use rvs_flowcache::conntrack::{
    Ct, CtZone, Nat, NatAddrs, CT_COMMIT, CT_FORCE, NAT_DST, NAT_HASH, NAT_PERSISTENT, NAT_RANDOM, NAT_SRC,
};
use rvs_flowcache::ofp::OfAction;
use std::fmt::Write;

fn bad(keyword: &str, message: String) -> TextError {
    TextError::BadValue { keyword: keyword.to_string(), message }
}

/// `ct(...)`; `exec` parses a nested action list.
pub(super) fn parse_ct(
    arg: &str,
    exec: &mut dyn FnMut(&str) -> Result<Vec<OfAction>, TextError>,
) -> Result<OfAction, TextError> {
    let mut ct = Ct { flags: 0, zone: CtZone::Imm(0), table: None, alg: 0, actions: Vec::new() };
    for (k, v) in super::lex::KeyValues::new(arg) {
        match k {
            "commit" => ct.flags |= CT_COMMIT,
            "force" => ct.flags |= CT_FORCE,
            "table" => {
                let t = str_to_uint_max(v, 255).ok_or_else(|| bad("ct", format!("unknown table {v}")))?;
                if t == 255 {
                    return Err(bad("ct", "invalid table 0xff".into()));
                }
                ct.table = Some(t as u8);
            }
            "zone" => {
                ct.zone = match str_to_uint_max(v, u16::MAX as u64) {
                    Some(z) => CtZone::Imm(z as u16),
                    None => CtZone::Field(parse_subfield(v).map_err(|e| bad("ct", e))?),
                }
            }
            "alg" => {
                ct.alg = match v {
                    "ftp" => 21,
                    "tftp" => 69,
                    _ => return Err(bad("ct", format!("invalid conntrack helper \"{v}\""))),
                }
            }
            "nat" => ct.actions.push(parse_nat(v)?),
            "exec" => {
                let acts = exec(v)?;
                for a in &acts {
                    check_exec(a)?;
                }
                ct.actions.extend(acts);
            }
            _ => return Err(bad("ct", format!("invalid argument to \"ct\" action: `{k}'"))),
        }
    }
    Ok(OfAction::Ct(Box::new(ct)))
}

/// Open vSwitch accepts only writes to `ct_mark` and `ct_label` in `exec(...)`; rvs has
/// neither field, so every nested action is refused with its message.
fn check_exec(a: &OfAction) -> Result<(), TextError> {
    let field = match a {
        OfAction::SetField { field, .. } => Some(*field),
        OfAction::RegLoad { dst, .. } | OfAction::RegMove { dst, .. } => Some(dst.field),
        _ => None,
    };
    Err(match field {
        Some(f) => bad("ct", format!("ct action doesn't support nested modification of {}", ovs_name(f))),
        None => bad("ct", format!("ct action doesn't support nested action {}", super::actions::action_kind(a))),
    })
}

fn parse_ipv4(s: &str) -> Option<u32> {
    s.parse::<std::net::Ipv4Addr>().ok().map(u32::from)
}

fn parse_ipv6(s: &str) -> Option<u128> {
    s.parse::<std::net::Ipv6Addr>().ok().map(u128::from)
}

/// `ADDR[-ADDR][:PORT[-PORT]]`, IPv6 addresses bracketed when ports follow.
fn parse_range(s: &str) -> Option<(NatAddrs, (u16, u16))> {
    let (addrs, ports) = if let Some(rest) = s.strip_prefix('[') {
        // [v6]-[v6]:ports or [v6]:ports
        let (a, rest) = rest.split_once(']')?;
        let min = parse_ipv6(a)?;
        let (max, rest) = match rest.strip_prefix("-[") {
            Some(r) => {
                let (b, r) = r.split_once(']')?;
                (parse_ipv6(b)?, r)
            }
            None => (0, rest),
        };
        (NatAddrs::V6(min, max), rest)
    } else if s.contains('.') || !s.contains("::") && s.matches(':').count() <= 1 {
        let (a, ports) = s.split_at(s.find(':').unwrap_or(s.len()));
        let (min, max) = match a.split_once('-') {
            Some((x, y)) => (parse_ipv4(x)?, parse_ipv4(y)?),
            None => (parse_ipv4(a)?, 0),
        };
        (NatAddrs::V4(min, max), ports)
    } else {
        let (min, max) = match s.split_once('-') {
            Some((x, y)) => (parse_ipv6(x)?, parse_ipv6(y)?),
            None => (parse_ipv6(s)?, 0),
        };
        (NatAddrs::V6(min, max), "")
    };
    let ports = match ports.strip_prefix(':') {
        None if ports.is_empty() => (0, 0),
        None => return None,
        Some(p) => match p.split_once('-') {
            Some((x, y)) => (x.parse().ok()?, y.parse().ok()?),
            None => (p.parse().ok()?, 0),
        },
    };
    Some((addrs, ports))
}

/// `nat[(...)]` inside `ct`.
fn parse_nat(arg: &str) -> Result<OfAction, TextError> {
    let mut nat = Nat { flags: 0, addrs: NatAddrs::None, ports: (0, 0) };
    for (k, v) in super::lex::KeyValues::new(arg) {
        match k {
            "src" | "dst" => {
                if nat.flags & (NAT_SRC | NAT_DST) != 0 {
                    return Err(bad("nat", "May only specify one of \"src\" or \"dst\".".into()));
                }
                nat.flags |= if k == "src" { NAT_SRC } else { NAT_DST };
                if !v.is_empty() {
                    let (addrs, ports) = parse_range(v).ok_or_else(|| bad("nat", format!("{v}: invalid IP range")))?;
                    nat.addrs = addrs;
                    nat.ports = ports;
                }
            }
            "persistent" => nat.flags |= NAT_PERSISTENT,
            "hash" => nat.flags |= NAT_HASH,
            "random" => nat.flags |= NAT_RANDOM,
            _ => return Err(bad("nat", format!("invalid key \"{k}\" in \"nat\" argument"))),
        }
    }
    if nat.flags & NAT_HASH != 0 && nat.flags & NAT_RANDOM != 0 {
        return Err(bad("nat", "Both \"hash\" and \"random\" are not allowed.".into()));
    }
    Ok(OfAction::Nat(Box::new(nat)))
}

fn format_v6(v: u128, bracket: bool) -> String {
    if bracket {
        format!("[{}]", format_ipv6(v))
    } else {
        format_ipv6(v)
    }
}

/// Prints `nat[(...)]`.
pub(super) fn format_nat(s: &mut String, nat: &Nat) {
    s.push_str("nat");
    if nat.flags & (NAT_SRC | NAT_DST) == 0 {
        return;
    }
    s.push('(');
    s.push_str(if nat.flags & NAT_SRC != 0 { "src" } else { "dst" });
    if nat.addrs != NatAddrs::None {
        s.push('=');
        match nat.addrs {
            NatAddrs::V4(min, max) => {
                let _ = write!(s, "{}", std::net::Ipv4Addr::from(min));
                if max != 0 && max != min {
                    let _ = write!(s, "-{}", std::net::Ipv4Addr::from(max));
                }
            }
            NatAddrs::V6(min, max) => {
                let bracket = nat.ports.0 != 0;
                s.push_str(&format_v6(min, bracket));
                if max != 0 && max != min {
                    let _ = write!(s, "-{}", format_v6(max, bracket));
                }
            }
            NatAddrs::None => {}
        }
        if nat.ports.0 != 0 {
            let _ = write!(s, ":{}", nat.ports.0);
            if nat.ports.1 != 0 && nat.ports.1 != nat.ports.0 {
                let _ = write!(s, "-{}", nat.ports.1);
            }
        }
    }
    s.push(',');
    for (flag, name) in [(NAT_PERSISTENT, "persistent"), (NAT_HASH, "hash"), (NAT_RANDOM, "random")] {
        if nat.flags & flag != 0 {
            let _ = write!(s, "{name},");
        }
    }
    s.pop();
    s.push(')');
}

/// Prints `ct(...)`; `actions` prints a nested list.
pub(super) fn format_ct(s: &mut String, ct: &Ct, actions: &dyn Fn(&[OfAction]) -> String) {
    s.push_str("ct(");
    if ct.flags & CT_COMMIT != 0 {
        s.push_str("commit,");
    }
    if ct.flags & CT_FORCE != 0 {
        s.push_str("force,");
    }
    if let Some(t) = ct.table {
        let _ = write!(s, "table={t},");
    }
    match &ct.zone {
        CtZone::Field(sf) => {
            let _ = write!(s, "zone={},", format_subfield(sf));
        }
        CtZone::Imm(0) => {}
        CtZone::Imm(z) => {
            let _ = write!(s, "zone={z},");
        }
    }
    let mut rest = &ct.actions[..];
    if let Some(OfAction::Nat(nat)) = rest.first() {
        format_nat(s, nat);
        s.push(',');
        rest = &rest[1..];
    }
    if !rest.is_empty() {
        let _ = write!(s, "exec({}),", actions(rest));
    }
    match ct.alg {
        0 => {}
        21 => s.push_str("alg=ftp,"),
        69 => s.push_str("alg=tftp,"),
        a => {
            let _ = write!(s, "alg={a},");
        }
    }
    if s.ends_with(',') {
        s.pop();
    }
    s.push(')');
}
