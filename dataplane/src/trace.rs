//! `rvs-appctl ofproto/trace BRIDGE FLOW [-generate]`: what the pipeline does with a packet.
//!
//! The output has the layout of Open vSwitch's `ofproto/trace`:
//!
//! ```text
//! Flow: udp,in_port=1,vlan_tci=0x0000,dl_src=...,nw_ttl=64,nw_frag=no,tp_src=0,tp_dst=53
//!
//! bridge("br0")
//! -------------
//!  0. ip,in_port=1, priority 100
//!     mod_nw_dst:10.0.0.9
//!     resubmit(,1)
//!  1. reg0=0x5, priority 32768, cookie 0x42
//!     dec_ttl
//!     output:2
//!
//! Final flow: udp,reg0=0x5,in_port=1,...,nw_dst=10.0.0.9,...,nw_ttl=63,...
//! Megaflow: recirc_id=0,eth,udp,in_port=1,nw_ttl=64,nw_frag=no
//! Datapath actions: set(ipv4(dst=10.0.0.9,ttl=63)),3
//! ```
//!
//! `FLOW` is in `ovs-ofctl` match syntax; fields not given are zero. The trace is a dry run:
//! nothing is learned unless `-generate` is given (then `NORMAL` learns and the flows `learn`
//! actions build are installed, as for a real packet; without it they are only shown). Tables reached by a resubmit that is not the last action of its rule are indented,
//! as OVS shows them.

use std::fmt::Write as _;

use rvs_flowcache::dpaction::format_actions as format_dp_actions;
use rvs_flowcache::ofp::DEFAULT_PRIORITY;
use rvs_flowcache::xlate::{xlate, TraceEvent, XlateInput};
use rvs_flowcache::{Field, FlowKey, FlowMod, Match, OfPort};
use rvs_openflow::msg::Version;
use rvs_openflow::text::fields::set_in_match;
use rvs_openflow::text::{format_actions, format_match, parse_flow_stats_request, PortNames};

use crate::switch::{Bridge, Switch};

/// Port names of a bridge, for parsing `in_port=NAME` and printing.
pub struct BridgeNames<'a>(pub &'a Bridge);

impl PortNames for BridgeNames<'_> {
    fn port_number(&self, name: &str) -> Option<OfPort> {
        self.0.port_by_name(name).map(|p| p.ofport)
    }
    fn port_name(&self, port: OfPort) -> Option<String> {
        self.0.ports.get(&port).map(|p| p.name.clone())
    }
}

/// The fields OVS shows in a trace's `Flow:` line for a packet of this type, all exact.
fn flow_match(k: &FlowKey) -> Match {
    use Field::*;
    let mut fields = vec![InPort, VlanTci, EthSrc, EthDst, EthType];
    match k.dl_type {
        0x0800 => fields.extend([IpSrc, IpDst, IpProto, NwTos, IpEcn, NwTtl, IpFrag]),
        0x86dd => fields.extend([Ipv6Src, Ipv6Dst, Ipv6Label, IpProto, NwTos, IpEcn, NwTtl, IpFrag]),
        0x0806 | 0x8035 => fields.extend([ArpSpa, ArpTpa, ArpOp, ArpSha, ArpTha]),
        _ => {}
    }
    if k.is_ip_any() {
        match (k.nw_proto, k.dl_type) {
            (6, _) => fields.extend([TcpSrc, TcpDst, TcpFlags]),
            (17, _) | (132, _) => fields.extend([TcpSrc, TcpDst]),
            (1, 0x0800) => fields.extend([IcmpType, IcmpCode]),
            (58, 0x86dd) => fields.extend([Icmpv6Type, Icmpv6Code]),
            _ => {}
        }
    }
    let mut m = Match::catchall();
    for f in fields {
        set_in_match(&mut m, f, f.get(k), f.full_mask());
    }
    // Pipeline metadata shows when set.
    let regs = (0..16).map(|n| Field::reg(n).expect("16 registers"));
    for f in [Field::Metadata, Field::TunId].into_iter().chain(regs) {
        let v = f.get(k);
        if v != 0 {
            m.set(f, v);
        }
    }
    m
}

fn indent(out: &mut String, n: u32) {
    for _ in 0..n {
        out.push(' ');
    }
}

/// A learned flow as OVS's trace shows it: `table=20 dl_dst=... priority=1 hard=300 actions=...`.
fn format_learned(fm: &FlowMod) -> String {
    let m = format_match(&fm.match_, DEFAULT_PRIORITY, None);
    let mut s = format!("table={}", fm.table_id);
    if !m.is_empty() {
        let _ = write!(s, " {m}");
    }
    let _ = write!(s, " priority={}", fm.priority);
    if let Some(c) = fm.new_cookie.filter(|c| *c != 0) {
        let _ = write!(s, " cookie={c:#x}");
    }
    if fm.idle_timeout != 0 {
        let _ = write!(s, " idle={}", fm.idle_timeout);
    }
    if fm.hard_timeout != 0 {
        let _ = write!(s, " hard={}", fm.hard_timeout);
    }
    if fm.flags & rvs_flowcache::ofp::flow_flags::SEND_FLOW_REM != 0 {
        s.push_str(" send_flow_rem");
    }
    let _ = write!(s, " actions={}", format_actions(&fm.actions, Version::V1_0, None));
    s
}

/// Runs the command. `args` = `[BRIDGE, FLOW]` and optionally `-generate`. With `-generate`,
/// the flows `learn` actions built are handed to the control thread like a real packet's
/// (see [`crate::ofserver::OfServer::apply_learned`]); without it nothing changes.
pub fn run(sw: &Switch, args: &[String]) -> Result<String, String> {
    let generate = args.iter().any(|a| a == "-generate");
    let pos: Vec<&String> = args.iter().filter(|a| *a != "-generate").collect();
    let (bname, flow) = match pos.as_slice() {
        [b, f] => (b.as_str(), f.as_str()),
        _ => return Err("usage: ofproto/trace BRIDGE FLOW [-generate]".into()),
    };
    let Some(br) = sw.bridges.get(bname) else { return Err(format!("{bname}: unknown bridge")) };
    let names = BridgeNames(br);
    let (req, _) = parse_flow_stats_request(flow, Some(&names)).map_err(|e| format!("Bad openflow flow syntax: {flow}: {e}"))?;
    let key = req.match_.key;
    let pipeline = br.writer.snapshot();
    let conf = br.dp.xlate.load_full();
    let out = xlate(&XlateInput {
        pipeline: &pipeline,
        bridge: &conf.bridge,
        macs: &br.dp.macs,
        key,
        now_ms: sw.dp.now_ms(),
        may_learn: generate,
        trace: true,
    });
    if generate && !out.learned.is_empty() {
        sw.dp.send_learned(bname, out.learned.clone().into());
    }
    if generate {
        for (rule, idle, hard) in &out.fin_timeouts {
            if key.tcp_flags & (rvs_packet::wire::tcp::flags::FIN | rvs_packet::wire::tcp::flags::RST) != 0 {
                rule.stats.reduce_timeouts(*idle, *hard);
            }
        }
    }
    let mut s = String::new();
    let _ = writeln!(s, "Flow: {}", format_match(&flow_match(&key), DEFAULT_PRIORITY, None));
    let _ = writeln!(s, "\nbridge(\"{bname}\")");
    let _ = writeln!(s, "{}", "-".repeat(bname.len() + 10));
    for ev in &out.trace {
        match ev {
            TraceEvent::Table { depth, table, rule, .. } => {
                indent(&mut s, 4 * depth);
                match rule {
                    Some(r) => {
                        // Port numbers, not names, as OVS's trace prints them.
                        let m = format_match(&r.match_, DEFAULT_PRIORITY, None);
                        let _ = write!(s, "{table:>2}. ");
                        if !m.is_empty() {
                            let _ = write!(s, "{m}, ");
                        }
                        let _ = write!(s, "priority {}", r.priority);
                        if r.cookie != 0 {
                            let _ = write!(s, ", cookie {:#x}", r.cookie);
                        }
                        s.push('\n');
                    }
                    None => {
                        let _ = writeln!(s, "{table:>2}. No match.");
                        indent(&mut s, 8 * depth + 4);
                        s.push_str("drop\n");
                    }
                }
            }
            TraceEvent::Action { depth, action } => {
                indent(&mut s, 8 * depth + 4);
                let _ = writeln!(s, "{}", format_actions(std::slice::from_ref(action), Version::V1_0, None));
            }
            TraceEvent::Learned { depth, flow_mod } => {
                indent(&mut s, 8 * depth + 4);
                let _ = writeln!(s, " -> {}", format_learned(flow_mod));
            }
            TraceEvent::Note { depth, text } => {
                indent(&mut s, 8 * depth + 4);
                let _ = writeln!(s, " -> {text}");
            }
        }
    }
    if let Some(e) = out.error {
        let _ = writeln!(s, "    >>>> {e} <<<<");
    }
    let final_text = if out.final_flow == key { "unchanged".to_string() } else { format_match(&flow_match(&out.final_flow), DEFAULT_PRIORITY, None) };
    let _ = writeln!(s, "\nFinal flow: {final_text}");
    let mega = Match { key: key.masked(&out.wc), mask: out.wc };
    let mega_text = format_match(&mega, DEFAULT_PRIORITY, None);
    let _ = writeln!(s, "Megaflow: recirc_id=0,eth{}{mega_text}", if mega_text.is_empty() { "" } else { "," });
    let _ = writeln!(s, "Datapath actions: {}", format_dp_actions(&out.actions));
    Ok(s)
}
