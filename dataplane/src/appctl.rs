//! `rvs-appctl` commands: the daemon's run-time introspection, named as in `ovs-appctl`.
//!
//! | command | what it shows |
//! |---|---|
//! | `dpif/show` | every bridge's ports with OpenFlow and datapath numbers, cache hit/miss totals |
//! | `dpctl/dump-flows [-m]` | megaflows with masks, counters and actions |
//! | `dpctl/del-flows` | removes every megaflow |
//! | `dpif-netdev/pmd-*` | PMD statistics, queue assignment and re-balancing ([`crate::appctl_pmd`]) |
//! | `ofproto/trace BRIDGE FLOW` | tables visited, datapath actions and megaflow of a packet |
//! | `fdb/show BRIDGE`, `fdb/flush [BRIDGE]` | the MAC learning table |
//! | `upcall/show`, `revalidator/purge` | revalidator counters; delete all megaflows |
//! | `coverage/show` | drop counters by reason, summed over PMDs |
//! | `version`, `list-commands`, `exit` | |

use std::fmt::Write as _;

use rvs_flowcache::OfPort;
use rvs_pmd::PortKind;

use crate::drops::DropReason;
use crate::odp_format::format_megaflow;
use crate::pmd_loop::PmdCommand;
use crate::pmd_stats::PmdCounters;
use crate::switch::Switch;

/// What a command asks of the daemon beyond its output.
#[derive(Debug, PartialEq, Eq)]
pub enum After {
    /// Nothing.
    Continue,
    /// Exit cleanly (`exit`).
    Exit,
}

pub use crate::appctl_pmd::Baselines;

/// The command names, for `list-commands`.
pub const COMMANDS: &[(&str, &str)] = &[
    ("coverage/show", ""),
    ("dpctl/del-flows", ""),
    ("dpctl/dump-flows", "[-m]"),
    ("dpif-netdev/pmd-perf-show", "[-nh] [-pmd core]"),
    ("dpif-netdev/pmd-rxq-rebalance", ""),
    ("dpif-netdev/pmd-rxq-show", "[-pmd core] [-secs secs]"),
    ("dpif-netdev/pmd-stats-clear", "[-pmd core]"),
    ("dpif-netdev/pmd-stats-show", "[-pmd core]"),
    ("dpif/show", ""),
    ("exit", ""),
    ("fdb/flush", "[bridge]"),
    ("fdb/show", "bridge"),
    ("list-commands", ""),
    ("ofproto/trace", "bridge flow [-generate]"),
    ("revalidator/purge", ""),
    ("upcall/show", ""),
    ("version", ""),
];

/// Runs one command. `trace` handles `ofproto/trace` (it needs the OpenFlow text syntax).
pub fn run(
    sw: &mut Switch,
    baselines: &mut Baselines,
    args: &[String],
    trace: &dyn Fn(&Switch, &[String]) -> Result<String, String>,
) -> Result<(String, After), String> {
    let Some(cmd) = args.first() else { return Err("missing command name in request".into()) };
    let rest = &args[1..];
    if let Some(r) = crate::appctl_pmd::run(sw, baselines, cmd.strip_prefix("dpif-netdev/").unwrap_or(cmd), rest) {
        return r.map(|out| (out, After::Continue));
    }
    let out = match cmd.as_str() {
        "list-commands" | "help" => {
            let mut s = String::from("The available commands are:\n");
            for (c, a) in COMMANDS {
                let _ = writeln!(s, "  {c:<36}{a}");
            }
            s
        }
        "version" => format!("rvs-vswitchd (rvs) {}\n", env!("CARGO_PKG_VERSION")),
        "exit" => return Ok((String::new(), After::Exit)),
        "dpif/show" => dpif_show(sw),
        "dpctl/dump-flows" => dump_flows(sw, rest.iter().any(|a| a == "-m" || a == "--more")),
        "dpctl/del-flows" | "revalidator/purge" => {
            for p in sw.pmds.load().iter() {
                p.send_sync(PmdCommand::FlushFlows);
            }
            String::new()
        }
        "ofproto/trace" => trace(sw, rest)?,
        "fdb/show" => fdb_show(sw, rest)?,
        "fdb/flush" => {
            let names: Vec<String> = match rest.first() {
                Some(b) if !sw.bridges.contains_key(b) => return Err(format!("no such bridge {b}")),
                Some(b) => vec![b.clone()],
                None => sw.bridges.keys().cloned().collect(),
            };
            for b in names {
                sw.bridges[&b].dp.macs.lock().unwrap_or_else(|e| e.into_inner()).flush();
            }
            sw.revalidator.kick();
            "table successfully flushed\n".into()
        }
        "upcall/show" => {
            let r = sw.revalidator.stats();
            let n: usize = sw.pmds.load().iter().map(|p| p.registry.lock().unwrap_or_else(|e| e.into_inner()).len()).sum();
            format!(
                "rvs-netdev:\n  flows         : (current {n})\n  revalidator passes : {}\n  revalidated   : {}\n  deleted (changed) : {}\n  deleted (idle) : {}\n",
                r.passes, r.revalidated, r.deleted_stale, r.deleted_idle
            )
        }
        "coverage/show" => coverage_show(sw),
        other => return Err(format!("\"{other}\" is not a valid command (use \"list-commands\" to see a list of valid commands)")),
    };
    Ok((out, After::Continue))
}

fn kind_name(k: PortKind) -> &'static str {
    match k {
        PortKind::System => "system",
        PortKind::Internal => "tap",
        PortKind::Memory => "memory",
        PortKind::Afxdp => "afxdp",
        PortKind::Dpdk => "dpdk",
    }
}

fn totals(sw: &Switch) -> PmdCounters {
    let mut t = PmdCounters::default();
    for p in sw.pmds.load().iter() {
        let c = p.stats.snapshot();
        t.rx_packets += c.rx_packets;
        t.emc_hits += c.emc_hits;
        t.megaflow_hits += c.megaflow_hits;
        t.upcalls += c.upcalls;
        t.upcalls_failed += c.upcalls_failed;
        for (a, b) in t.drops.iter_mut().zip(c.drops.iter()) {
            *a += b;
        }
    }
    t
}

fn dpif_show(sw: &Switch) -> String {
    let t = totals(sw);
    let mut s = format!("netdev@rvs-netdev: hit:{} missed:{}\n", t.emc_hits + t.megaflow_hits, t.upcalls + t.upcalls_failed);
    for (name, br) in &sw.bridges {
        let _ = writeln!(s, "  {name}:");
        let mut ports: Vec<_> = br.ports.values().collect();
        ports.sort_by(|a, b| a.name.cmp(&b.name));
        for p in ports {
            let of = if p.ofport == OfPort::LOCAL { "65534".to_string() } else { p.ofport.0.to_string() };
            match p.port.config_summary() {
                Some(c) => {
                    let _ = writeln!(s, "    {} {}/{}: ({}: {c})", p.name, of, p.dp_port, kind_name(p.port.kind()));
                }
                None => {
                    let _ = writeln!(s, "    {} {}/{}: ({})", p.name, of, p.dp_port, kind_name(p.port.kind()));
                }
            }
        }
    }
    s
}

fn dump_flows(sw: &Switch, more: bool) -> String {
    let now = sw.dp.now_ms();
    let mut s = String::new();
    for p in sw.pmds.load().iter() {
        let flows: Vec<_> = p.registry.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect();
        let mut lines: Vec<(u64, String)> = flows
            .iter()
            .filter(|f| !f.is_dead())
            .map(|f| {
                let line = format_megaflow(f, now);
                (f.id, if more { format!("ufid:{:032x}, {line}", f.id) } else { line })
            })
            .collect();
        lines.sort();
        let core = p.core.map(|c| c.to_string()).unwrap_or_else(|| "?".into());
        if !lines.is_empty() {
            let _ = writeln!(s, "flow-dump from pmd on cpu core: {core}");
        }
        for (_, l) in lines {
            s.push_str(&l);
            s.push('\n');
        }
    }
    s
}

fn fdb_show(sw: &Switch, rest: &[String]) -> Result<String, String> {
    let Some(b) = rest.first() else { return Err("fdb/show: bridge name required".into()) };
    let Some(br) = sw.bridges.get(b) else { return Err(format!("no such bridge {b}")) };
    let now = sw.dp.now_ms();
    let mut s = String::from(" port  VLAN  MAC                Age\n");
    for e in br.dp.macs.lock().unwrap_or_else(|e| e.into_inner()).entries(now) {
        let port = if e.port == OfPort::LOCAL { "LOCAL".to_string() } else { e.port.0.to_string() };
        let _ = writeln!(
            s,
            "{port:>5}  {:>4}  {}  {:>3}",
            e.vlan,
            rvs_packet::wire::MacAddr::from_u64(e.mac),
            now.saturating_sub(e.used_ms) / 1000
        );
    }
    Ok(s)
}

fn coverage_show(sw: &Switch) -> String {
    let t = totals(sw);
    let mut s = String::from("Event coverage, totals since start:\n");
    for r in DropReason::all() {
        let n = t.drops[r.index()];
        if n != 0 {
            let _ = writeln!(s, "{:<40} total: {n}", r.name());
        }
    }
    let _ = writeln!(s, "{:<40} total: {}", "packet_in_no_controller", sw.packet_ins_unsent);
    let _ = writeln!(s, "{:<40} total: {}", "packet_in_sent", sw.packet_ins_sent);
    let _ = writeln!(s, "{:<40} total: {}", "packet_in_queue_full", sw.packet_ins_queue_full);
    let _ = writeln!(s, "{:<40} total: {}", "packet_in_rate_limited", sw.packet_ins_rate_limited);
    s
}
