//! The commands that act on ports: `mod-port` and `packet-out`.
//!
//! # `mod-port SWITCH PORT ACTION`
//! As `ovs-ofctl`: the port is looked up first, over a connection of its own, among the ports
//! of the features reply (OpenFlow 1.0) or the port descriptions (1.3), by number when `PORT`
//! reads as one and by name otherwise (`SWITCH: couldn't find port `PORT'`). Then `ACTION`
//! (`up`, `down`, `stp`, `receive`, `receive-stp`, `flood`, `forward`, `packet-in`, each with
//! an optional `no-` or `no` prefix) becomes a port-mod of one configuration bit, sent with
//! the port's address and a barrier over a second connection. OpenFlow 1.3 has no STP,
//! receive-STP or flood bits: those become a port-mod that changes nothing, as in Open vSwitch.
//!
//! # `packet-out SWITCH IN_PORT ACTIONS PACKET...` and `packet-out SWITCH "in_port=... packet=... actions=..."`
//! The actions are parsed with the switch's port (and table) names, the connection is moved
//! to a protocol that can carry them (as for flow-mods), and each packet (hexadecimal, at
//! least an Ethernet header) goes out in a packet-out of its own, each followed by a barrier.
//! A switch's error is printed on standard error and ends the run with status 1.

use rvs_openflow::msg::{OfMessage, PacketOut, PortMod, Version};
use rvs_openflow::protocols::Protocols;
use rvs_openflow::stats::PortDesc;
use rvs_openflow::text::{parse_actions, PortNames};
use rvs_openflow::OfPort;

use super::commands::{emit, Io};
use super::conn::Fatal;
use super::flows::allowed;
use super::names::parse_port;
use super::print::ofp_to_string;
use super::session::{port_descs, Session};

/// `ofputil_port_config` bits `mod-port` changes, by name, and the value that turns them on.
const FLAGS: [(&str, u32, bool); 8] = [
    ("up", 0x01, false),
    ("down", 0x01, true),
    ("stp", 0x02, false),
    ("receive", 0x04, false),
    ("receive-stp", 0x08, false),
    ("flood", 0x10, false),
    ("forward", 0x20, false),
    ("packet-in", 0x40, false),
];

/// Finds `name` among the switch's ports (`fetch_ofputil_phy_port`).
fn fetch_port(s: &mut Session, target: &str, name: &str) -> Result<PortDesc, Fatal> {
    let number = parse_port(name, None);
    let mut conn = s.open(target)?;
    let ports = port_descs(&mut conn, &mut s.xids)?;
    ports
        .into_iter()
        .find(|p| match number {
            Some(n) => p.port_no == n,
            None => p.name == name,
        })
        .ok_or_else(|| Fatal(format!("{target}: couldn't find port `{name}'")))
}

/// Sends `msg` and a barrier; a switch error is printed on standard error (status 1).
fn send_checked(s: &mut Session, conn: &mut super::conn::Connection, msg: &OfMessage, io: &mut Io<'_>) -> Result<bool, Fatal> {
    if let Some(reply) = conn.transact_noreply(msg, &mut s.xids)? {
        let name = conn.name().to_string();
        let ports = s.maps_to_show(&name)?;
        emit(io.err, &ofp_to_string(&reply, ports.as_ref(), s.opts.verbosity + 2))?;
        return Ok(false);
    }
    Ok(true)
}

pub(crate) fn mod_port(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    let (target, port, action) = (&args[1], &args[2], &args[3]);
    let pp = fetch_port(s, target, port)?;
    let lower = action.to_ascii_lowercase();
    let (command, not) = if let Some(c) = lower.strip_prefix("no-") {
        (c, true)
    } else if let Some(c) = lower.strip_prefix("no") {
        (c, true)
    } else {
        (lower.as_str(), false)
    };
    let &(_, bit, on) = FLAGS
        .iter()
        .find(|(n, _, _)| *n == command)
        .ok_or_else(|| Fatal(format!("unknown mod-port command '{action}'")))?;
    let mut conn = s.open(target)?;
    // OpenFlow 1.1+ has only the down, no-receive, no-forward and no-packet-in bits.
    let known = if conn.version() == Version::V1_0 { 0x7f } else { 0x01 | 0x04 | 0x20 | 0x40 };
    let (config, mask) = (if on ^ not { bit } else { 0 } & known, bit & known);
    let pm = PortMod { port_no: pp.port_no, hw_addr: pp.hw_addr, config, mask, advertise: 0 };
    Ok(if send_checked(s, &mut conn, &OfMessage::PortMod(pm), io)? { 0 } else { 1 })
}

/// `eth_from_hex`: a packet in hexadecimal, pairs of digits optionally separated by spaces.
fn packet_from_hex(hex: &str) -> Result<Vec<u8>, Fatal> {
    let mut out = Vec::new();
    let b = hex.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i + 1 < b.len() && b[i].is_ascii_hexdigit() && b[i + 1].is_ascii_hexdigit() {
            out.push(u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0));
            i += 2;
        } else {
            break;
        }
    }
    if i < b.len() {
        return Err(Fatal("Trailing garbage in packet data".into()));
    }
    if out.len() < 14 {
        return Err(Fatal("Packet data too short for Ethernet".into()));
    }
    Ok(out)
}

/// The parts of the one-argument form (`in_port=1 packet=... actions=...`).
fn parse_packet_out_str(arg: &str) -> Result<(&str, &str, &str), Fatal> {
    let (head, actions) = match arg.find("actions=") {
        Some(i) => (&arg[..i], &arg[i + "actions=".len()..]),
        None => return Err(Fatal("must specify an action".into())),
    };
    let (mut in_port, mut packet) = ("", None);
    for word in head.split([',', ' ', '\t']).filter(|w| !w.is_empty()) {
        match word.split_once('=') {
            Some(("in_port", v)) => in_port = v,
            Some(("packet", v)) => packet = Some(v),
            _ => return Err(Fatal(format!("unknown keyword {}", word.split('=').next().unwrap_or(word)))),
        }
    }
    let packet = packet.ok_or_else(|| Fatal("must specify packet".into()))?;
    Ok((in_port, actions, packet))
}

pub(crate) fn packet_out(s: &mut Session, args: &[String], io: &mut Io<'_>) -> Result<i32, Fatal> {
    let target = &args[1];
    let (in_port, actions, packets): (&str, &str, Vec<&str>) = match args.len() {
        3 => {
            let (p, a, pk) = parse_packet_out_str(&args[2])?;
            (p, a, vec![pk])
        }
        n if n > 4 => (&args[2], &args[3], args[4..].iter().map(String::as_str).collect()),
        n => return Err(Fatal(format!("Too many arguments ({n})"))),
    };
    let map = s.maps_to_accept(target)?;
    let names = map.as_ref().map(|m| m as &dyn PortNames);
    let (acts, usable) = parse_actions(actions, names).map_err(|e| Fatal(e.to_string()))?;
    let in_port = if in_port.is_empty() {
        OfPort::CONTROLLER
    } else {
        parse_port(in_port, map.as_ref()).ok_or_else(|| Fatal(format!("{target}: unknown port `{in_port}'")))?
    };
    let usable = if usable.contains(rvs_openflow::check::Protocols::OF13) { Protocols::ANY } else { Protocols::OF10_ANY };
    let allowed = allowed(s);
    if usable.and(allowed).is_empty() {
        return Err(Fatal(format!("none of the usable flow formats ({usable}) is among the allowed flow formats ({allowed})")));
    }
    let packets = packets.iter().map(|p| packet_from_hex(p)).collect::<Result<Vec<_>, _>>()?;
    let mut conn = s.open(target)?;
    for data in packets {
        let po = PacketOut { buffer_id: None, in_port, actions: acts.clone(), data };
        if !send_checked(s, &mut conn, &OfMessage::PacketOut(po), io)? {
            return Ok(1);
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_parse_like_eth_from_hex() {
        assert_eq!(packet_from_hex("ffffffffffff 000000000001 0800").unwrap().len(), 14);
        assert_eq!(packet_from_hex("ffffff").unwrap_err(), Fatal("Packet data too short for Ethernet".into()));
        assert_eq!(packet_from_hex("ffffffffffff0000000000010800zz").unwrap_err(), Fatal("Trailing garbage in packet data".into()));
    }

    #[test]
    fn the_one_argument_form_splits() {
        assert_eq!(parse_packet_out_str("in_port=1 packet=00ff actions=output:2,3").unwrap(), ("1", "output:2,3", "00ff"));
        assert_eq!(parse_packet_out_str("in_port=1 packet=00").unwrap_err(), Fatal("must specify an action".into()));
    }
}
