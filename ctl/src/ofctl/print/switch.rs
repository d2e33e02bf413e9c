//! Bodies of the switch-level messages as `ovs-ofctl` prints them: features, switch
//! configuration, description, port descriptions, port and table statistics, and
//! flow-removed notices.
//!
//! OpenFlow 1.3 bit fields are first brought to Open vSwitch's internal numbering, which sets
//! the order names print in: the group-statistics capability (wire bit 3) prints between port
//! statistics and IP reassembly, port configuration keeps only the four OpenFlow 1.1+ bits,
//! port state the three, and port features the low 16 bits. OpenFlow 1.0's bits are already
//! Open vSwitch's: all seven configuration bits print, the STP state prints first, and the
//! features reply lists the supported actions and the ports. Ports print sorted by their
//! 16-bit number (`LOCAL` last), with the name cut at the first unprintable character.

use std::fmt::Write;

use rvs_openflow::msg::{FlowRemoved, FlowRemovedReason, PortMod, Version};
use rvs_openflow::stats::{FeaturesWithPorts, PortDesc, PortStats, SwitchConfig, SwitchDesc, SwitchFeatures, TableStats};
use rvs_openflow::text::{format_duration, FlowFormatter};

use crate::ofctl::names::{format_port, PortMap};

/// `ofp_print_bit_names`: the names of the set bits, then any unnamed rest in hex; `0` if
/// no bit is set.
fn bit_names(s: &mut String, mut bits: u32, name: impl Fn(u32) -> Option<&'static str>, sep: char) {
    if bits == 0 {
        s.push('0');
        return;
    }
    let mut n = 0;
    for i in 0..32 {
        let bit = 1u32 << i;
        if bits & bit != 0 {
            if let Some(text) = name(bit) {
                if n > 0 {
                    s.push(sep);
                }
                n += 1;
                s.push_str(text);
                bits &= !bit;
            }
        }
    }
    if bits != 0 {
        if n > 0 {
            s.push(sep);
        }
        let _ = write!(s, "0x{bits:x}");
    }
}

fn capability_name(bit: u32) -> Option<&'static str> {
    Some(match bit {
        0x1 => "FLOW_STATS",
        0x2 => "TABLE_STATS",
        0x4 => "PORT_STATS",
        0x8 => "STP",
        0x10 => "GROUP_STATS",
        0x20 => "IP_REASM",
        0x40 => "QUEUE_STATS",
        0x80 => "ARP_MATCH_IP",
        0x100 => "PORT_BLOCKED",
        0x200 => "BUNDLES",
        0x400 => "FLOW_MONITORING",
        _ => return None,
    })
}

/// OpenFlow 1.3 capability bits in Open vSwitch's numbering.
fn capabilities_v13(wire: u32) -> u32 {
    let common = wire & (0x1 | 0x2 | 0x4 | 0x20 | 0x40 | 0x100);
    if wire & 0x8 != 0 {
        common | 0x10
    } else {
        common
    }
}

/// OpenFlow 1.0 action names in Open vSwitch's `ofpact` order, with their `OFPAT10` bits.
const ACTIONS_V10: [(u32, &str); 12] = [
    (0, "output"),
    (11, "enqueue"),
    (1, "set_vlan_vid"),
    (2, "set_vlan_pcp"),
    (3, "strip_vlan"),
    (4, "mod_dl_src"),
    (5, "mod_dl_dst"),
    (6, "mod_nw_src"),
    (7, "mod_nw_dst"),
    (8, "mod_nw_tos"),
    (9, "mod_tp_src"),
    (10, "mod_tp_dst"),
];

/// `OFPT_FEATURES_REPLY` body as OpenFlow 1.0 has it: capabilities (OpenFlow 1.0 bits, which
/// are Open vSwitch's numbering), the supported actions unless none, then the ports.
pub fn features_v10(s: &mut String, f: &FeaturesWithPorts) {
    let fe = &f.features;
    let _ = write!(s, " dpid:{:016x}\nn_tables:{}, n_buffers:{}", fe.datapath_id, fe.n_tables, fe.n_buffers);
    s.push_str("\ncapabilities: ");
    bit_names(s, fe.capabilities & (0x1 | 0x2 | 0x4 | 0x8 | 0x20 | 0x40 | 0x80), capability_name, ' ');
    s.push('\n');
    if f.actions & 0xfff != 0 {
        let names: Vec<&str> = ACTIONS_V10.iter().filter(|(bit, _)| f.actions & 1 << bit != 0).map(|(_, n)| *n).collect();
        let _ = writeln!(s, "actions: {}", names.join(" "));
    }
    phy_ports(s, &f.ports, Version::V1_0);
}

/// `OFPT_PORT_MOD` body.
pub fn port_mod(s: &mut String, pm: &PortMod, version: Version) {
    let m = pm.hw_addr.0;
    let _ = write!(
        s,
        " port: {}: addr:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}\n     config: ",
        format_port(pm.port_no, None),
        m[0],
        m[1],
        m[2],
        m[3],
        m[4],
        m[5]
    );
    let config_bits = config_bits(version);
    bit_names(s, pm.config & config_bits, config_name, ' ');
    s.push_str("\n     mask:   ");
    bit_names(s, pm.mask & config_bits, config_name, ' ');
    s.push_str("\n     advertise: ");
    if pm.advertise == 0 {
        s.push_str("UNCHANGED");
    } else {
        bit_names(s, pm.advertise & 0xffff, feature_name, ' ');
    }
    s.push('\n');
}

/// The `OFPPC_*` bits a version defines.
fn config_bits(version: Version) -> u32 {
    match version {
        Version::V1_0 => 0x7f,
        _ => 0x1 | 0x4 | 0x20 | 0x40,
    }
}

/// `OFPT_FEATURES_REPLY` body (OpenFlow 1.3: no ports).
pub fn features(s: &mut String, f: &SwitchFeatures) {
    let _ = write!(s, " dpid:{:016x}\nn_tables:{}, n_buffers:{}", f.datapath_id, f.n_tables, f.n_buffers);
    if f.auxiliary_id != 0 {
        let _ = write!(s, ", auxiliary_id:{}", f.auxiliary_id);
    }
    s.push_str("\ncapabilities: ");
    bit_names(s, capabilities_v13(f.capabilities), capability_name, ' ');
    s.push('\n');
}

/// Switch configuration body (get-config reply, set-config).
pub fn config(s: &mut String, c: &SwitchConfig) {
    let frag = match c.flags & 3 {
        0 => "normal",
        1 => "drop",
        2 => "reassemble",
        _ => "nx-match",
    };
    let _ = writeln!(s, " frags={frag} miss_send_len={}", c.miss_send_len);
}

/// `OFPST_DESC` reply body.
pub fn desc(s: &mut String, d: &SwitchDesc) {
    let _ = write!(
        s,
        "\nManufacturer: {}\nHardware: {}\nSoftware: {}\nSerial Num: {}\nDP Description: {}\n",
        d.mfr_desc, d.hw_desc, d.sw_desc, d.serial_num, d.dp_desc
    );
}

fn feature_name(bit: u32) -> Option<&'static str> {
    Some(match bit {
        0x1 => "10MB-HD",
        0x2 => "10MB-FD",
        0x4 => "100MB-HD",
        0x8 => "100MB-FD",
        0x10 => "1GB-HD",
        0x20 => "1GB-FD",
        0x40 => "10GB-FD",
        0x80 => "40GB-FD",
        0x100 => "100GB-FD",
        0x200 => "1TB-FD",
        0x400 => "OTHER",
        0x800 => "COPPER",
        0x1000 => "FIBER",
        0x2000 => "AUTO_NEG",
        0x4000 => "AUTO_PAUSE",
        0x8000 => "AUTO_PAUSE_ASYM",
        _ => return None,
    })
}

fn config_name(bit: u32) -> Option<&'static str> {
    Some(match bit {
        0x1 => "PORT_DOWN",
        0x2 => "NO_STP",
        0x4 => "NO_RECV",
        0x8 => "NO_RECV_STP",
        0x10 => "NO_FLOOD",
        0x20 => "NO_FWD",
        0x40 => "NO_PACKET_IN",
        _ => return None,
    })
}

fn state_name(bit: u32) -> Option<&'static str> {
    Some(match bit {
        0x1 => "LINK_DOWN",
        0x2 => "BLOCKED",
        0x4 => "LIVE",
        _ => return None,
    })
}

/// `ofp_print_port_state`: OpenFlow 1.0's STP state first (nothing for "listen", which is 0)
/// and, as Open vSwitch prints it, with no space before the other state bits.
fn port_state(s: &mut String, state: u32, version: Version) {
    let stp = state & 0x300;
    if version == Version::V1_0 && stp != 0 {
        s.push_str(match stp {
            0x100 => "STP_LEARN",
            0x200 => "STP_FORWARD",
            _ => "STP_BLOCK",
        });
        let rest = state & 0x7;
        if rest != 0 {
            bit_names(s, rest, state_name, ' ');
        }
    } else {
        bit_names(s, state & 0x7, state_name, ' ');
    }
}

/// `ofp_print_phy_port`: one port of a port description.
pub fn phy_port(s: &mut String, p: &PortDesc, version: Version) {
    let name: String = p.name.chars().take(15).take_while(|c| (' '..='~').contains(c)).collect();
    let m = p.hw_addr.0;
    let _ = writeln!(
        s,
        " {}({name}): addr:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        format_port(p.port_no, None),
        m[0],
        m[1],
        m[2],
        m[3],
        m[4],
        m[5]
    );
    s.push_str("     config:     ");
    bit_names(s, p.config & config_bits(version), config_name, ' ');
    s.push_str("\n     state:      ");
    port_state(s, p.state, version);
    s.push('\n');
    for (label, v) in [
        ("     current:    ", p.curr),
        ("     advertised: ", p.advertised),
        ("     supported:  ", p.supported),
        ("     peer:       ", p.peer),
    ] {
        let v = v & 0xffff;
        if v != 0 {
            s.push_str(label);
            bit_names(s, v, feature_name, ' ');
            s.push('\n');
        }
    }
    let _ = writeln!(s, "     speed: {} Mbps now, {} Mbps max", p.curr_speed / 1000, p.max_speed / 1000);
}

/// The 16-bit (OpenFlow 1.0) number Open vSwitch sorts and prints ports by.
fn port16(p: &PortDesc) -> u16 {
    p.port_no.to_ofp10()
}

/// `ofp_print_phy_ports`: ports sorted by number.
pub fn phy_ports(s: &mut String, ports: &[PortDesc], version: Version) {
    let mut sorted: Vec<&PortDesc> = ports.iter().collect();
    sorted.sort_by_key(|p| port16(p));
    for p in sorted {
        phy_port(s, p, version);
    }
}

fn stat(s: &mut String, leader: &str, v: u64, more: bool) {
    s.push_str(leader);
    if v == u64::MAX {
        s.push('?');
    } else {
        let _ = write!(s, "{v}");
    }
    s.push_str(if more { ", " } else { "\n" });
}

/// `OFPST_PORT` reply body: a count, then (at verbosity 1 and up) each port's counters.
pub fn port_stats(s: &mut String, stats: &[PortStats], ports: Option<&PortMap>, verbosity: u32) {
    let _ = writeln!(s, " {} ports", stats.len());
    if verbosity < 1 {
        return;
    }
    for ps in stats {
        s.push_str("  port ");
        if ps.port_no.to_ofp10() < 10 {
            s.push(' ');
        }
        s.push_str(&format_port(ps.port_no, ports));
        s.push_str(": rx ");
        stat(s, "pkts=", ps.rx_packets, true);
        stat(s, "bytes=", ps.rx_bytes, true);
        stat(s, "drop=", ps.rx_dropped, true);
        stat(s, "errs=", ps.rx_errors, true);
        stat(s, "frame=", ps.rx_frame_err, true);
        stat(s, "over=", ps.rx_over_err, true);
        stat(s, "crc=", ps.rx_crc_err, false);
        s.push_str("           tx ");
        stat(s, "pkts=", ps.tx_packets, true);
        stat(s, "bytes=", ps.tx_bytes, true);
        stat(s, "drop=", ps.tx_dropped, true);
        stat(s, "errs=", ps.tx_errors, true);
        stat(s, "coll=", ps.collisions, false);
        if ps.duration_sec != u32::MAX {
            let _ = writeln!(s, "           duration={}", format_duration(ps.duration_sec, ps.duration_nsec));
        }
    }
}

fn ditto(s: &mut String, first: &mut Option<u8>, last: u8) {
    if let Some(f) = first.take() {
        if f == last {
            let _ = write!(s, "\n  table {f}: ditto\n");
        } else {
            let _ = write!(s, "\n  tables {f}...{last}: ditto\n");
        }
    }
}

/// `OFPST_TABLE` reply body (OpenFlow 1.3: counters only). A table whose counters equal the
/// previous table's joins a run printed as `tables 2...253: ditto`.
pub fn table_stats(s: &mut String, tables: &[TableStats]) {
    let mut first_ditto: Option<u8> = None;
    let mut last_ditto = 0;
    let mut prev: Option<&TableStats> = None;
    for t in tables {
        let same = prev.is_some_and(|p| {
            (p.active_count, p.lookup_count, p.matched_count) == (t.active_count, t.lookup_count, t.matched_count)
        });
        prev = Some(t);
        if same {
            first_ditto.get_or_insert(t.table_id);
            last_ditto = t.table_id;
            continue;
        }
        ditto(s, &mut first_ditto, last_ditto);
        let _ = writeln!(
            s,
            "\n  table {}:\n    active={}, lookup={}, matched={}",
            t.table_id, t.active_count, t.lookup_count, t.matched_count
        );
    }
    ditto(s, &mut first_ditto, last_ditto);
}

/// `OFPT_FLOW_REMOVED` body.
pub fn flow_removed(s: &mut String, fr: &FlowRemoved, f: &FlowFormatter<'_>) {
    s.push(' ');
    s.push_str(&f.format_match(&fr.match_, fr.priority));
    let reason = match fr.reason {
        FlowRemovedReason::IdleTimeout => "idle",
        FlowRemovedReason::HardTimeout => "hard",
        FlowRemovedReason::Delete => "delete",
        FlowRemovedReason::GroupDelete => "group_delete",
    };
    let _ = write!(s, " reason={reason}");
    if fr.table_id != 255 {
        let _ = write!(s, " table_id={}", fr.table_id);
    }
    if fr.cookie != 0 {
        let _ = write!(s, " cookie:0x{:x}", fr.cookie);
    }
    let _ = write!(s, " duration{} idle{}", format_duration(fr.duration_sec, fr.duration_nsec), fr.idle_timeout);
    if fr.hard_timeout != 0 {
        let _ = write!(s, " hard{}", fr.hard_timeout);
    }
    let _ = writeln!(s, " pkts{} bytes{}", fr.packet_count, fr.byte_count);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_names_print_unknown_bits_in_hex() {
        let mut s = String::new();
        bit_names(&mut s, 0x1 | 0x4 | 0x10000, config_name, ' ');
        assert_eq!(s, "PORT_DOWN NO_RECV 0x10000");
        s.clear();
        bit_names(&mut s, 0, config_name, ' ');
        assert_eq!(s, "0");
    }

    #[test]
    fn group_stats_moves_to_its_open_vswitch_bit() {
        let mut s = String::new();
        bit_names(&mut s, capabilities_v13(0x1 | 0x2 | 0x4 | 0x8 | 0x40), capability_name, ' ');
        assert_eq!(s, "FLOW_STATS TABLE_STATS PORT_STATS GROUP_STATS QUEUE_STATS");
    }
}

fn queue_id(s: &mut String, q: u32) {
    if q == rvs_openflow::stats::ALL_QUEUES {
        s.push_str("ALL");
    } else {
        let _ = write!(s, "{q}");
    }
}

/// `OFPST_QUEUE` request body: ` port=1 queue=ALL`.
pub(super) fn queue_request(
    s: &mut String,
    q: &rvs_openflow::stats::QueueStatsRequest,
    ports: Option<&PortMap>,
) {
    let _ = write!(s, " port={} queue=", format_port(q.port_no, ports));
    queue_id(s, q.queue_id);
}

/// `OFPST_QUEUE` reply body: a count, then each queue's counters.
pub(super) fn queue_stats(
    s: &mut String,
    queues: &[rvs_openflow::stats::QueueStats],
    ports: Option<&PortMap>,
) {
    let _ = write!(s, " {} queues\n", queues.len());
    for q in queues {
        let _ = write!(s, "  port {} queue ", format_port(q.port_no, ports));
        queue_id(s, q.queue_id);
        let _ = write!(
            s,
            ": bytes={}, pkts={}, errors={}, ",
            counter(q.tx_bytes),
            counter(q.tx_packets),
            counter(q.tx_errors)
        );
        if q.duration_sec == u32::MAX {
            s.push_str("duration=?\n");
        } else {
            let _ = writeln!(
                s,
                "duration={}.{:03}s",
                q.duration_sec,
                q.duration_nsec / 1_000_000
            );
        }
    }
}

fn counter(v: u64) -> String {
    if v == u64::MAX {
        "?".into()
    } else {
        v.to_string()
    }
}
