//! `rvs-ofctl`'s output, table-driven, against what the real `ovs-ofctl -O OpenFlow13` 3.1
//! printed for the same switch replies.
//!
//! Each case is a command line and a [`Script`] for a fake switch (see `ofctl_support`): port
//! descriptions with every flag, counters the switch does not keep, replies split over several
//! messages, runs of identical tables, table features of many shapes, errors with whole,
//! truncated and undecodable requests inside. `tests/data/ofctl_format.txt` holds what
//! `ovs-ofctl` printed for each case (standard output, standard error, exit status, with the
//! program name and Open vSwitch's log lines removed).
//!
//! * `rvs_ofctl_prints_what_ovs_ofctl_printed` runs `rvs-ofctl` on every case and compares.
//! * `fixtures_are_what_ovs_ofctl_prints` runs `ovs-ofctl` itself, when installed, and checks
//!   that the fixtures are still what it prints; with `RVS_REGEN_OFCTL_FIXTURES=1` it
//!   rewrites them instead. Without `ovs-ofctl` it says so and passes, unless
//!   `RVS_REQUIRE_OVS_OFCTL` is set.

mod ofctl_support;

use std::path::Path;

use ofctl_support::{FakeSwitch, Request, Script};
use rvs_flowcache::Field;
use rvs_openflow::error::{BadMatch, BadRequest, FlowModFailed};
use rvs_openflow::stats::{
    port_features as pf, AggregateStats, FlowStats, PortDesc, PortStats, SwitchConfig, SwitchDesc, SwitchFeatures,
    TableStats,
};
use rvs_openflow::table_features::{rvs_table_features, OxmId, TableFeatureProp, TableFeatures};
use rvs_openflow::text::parse_flow;
use rvs_openflow::{FlowModCommand, OfError, OfPort};
use rvs_packet::wire::MacAddr;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ofctl_format.txt");
const RVS_OFCTL: &str = env!("CARGO_BIN_EXE_rvs-ofctl");

#[allow(clippy::too_many_arguments)]
fn port(
    no: u32,
    name: &str,
    last: u8,
    config: u32,
    state: u32,
    curr: u32,
    adv: u32,
    sup: u32,
    peer: u32,
    speed: u32,
    max: u32,
) -> PortDesc {
    PortDesc {
        port_no: OfPort(no),
        hw_addr: MacAddr([0xaa, 0x55, 0, 0, 0x10, last]),
        name: name.into(),
        config,
        state,
        curr,
        advertised: adv,
        supported: sup,
        peer,
        curr_speed: speed,
        max_speed: max,
    }
}

fn ports() -> Vec<PortDesc> {
    let all = pf::RATE_10MB_HD | pf::RATE_1GB_FD | pf::RATE_10GB_FD | pf::COPPER | pf::AUTONEG | pf::PAUSE;
    vec![
        port(OfPort::LOCAL.0, "br0", 0xfe, 0x1, 0x1, 0, 0, 0, 0, 0, 0),
        port(10, "x\u{1}y", 10, 0, 0x4, 0, 0, 0, 0, 1_000, 0),
        port(1, "eth1", 1, 0, 0x4, pf::RATE_10GB_FD | pf::COPPER, 0, 0, 0, 10_000_000, 0),
        port(
            2,
            "port two",
            2,
            0x4 | 0x20 | 0x40 | 0x200,
            0x2 | 0x4 | 0x100,
            all,
            all | pf::FIBER,
            0xffff,
            pf::OTHER | 0x10000,
            40_000_000,
            100_000_000,
        ),
        port(65000, "p65000", 3, 0x1, 0, pf::RATE_100MB_FD | pf::PAUSE_ASYM, 0, 0, 0, 100_000, 100_000),
    ]
}

fn pstats(no: u32, n: u64) -> PortStats {
    PortStats {
        port_no: OfPort(no),
        rx_packets: n,
        tx_packets: n * 2,
        rx_bytes: n * 100,
        tx_bytes: n * 200,
        rx_dropped: 0,
        tx_dropped: 1,
        rx_errors: 2,
        tx_errors: 3,
        rx_frame_err: u64::MAX,
        rx_over_err: 4,
        rx_crc_err: u64::MAX,
        collisions: 5,
        duration_sec: n as u32,
        duration_nsec: [0, 1_000_000, 123_456_789, 500][n as usize % 4],
    }
}

fn with_ports() -> Script {
    let mut stats: Vec<PortStats> =
        [1u32, 2, 9, 10, 65000].iter().enumerate().map(|(i, &p)| pstats(p, i as u64 + 1)).collect();
    stats.push(PortStats { duration_sec: u32::MAX, ..PortStats::unknown(OfPort::LOCAL) });
    Script { ports: ports(), port_stats: stats, ..Script::default() }
}

fn flow(text: &str, table: u8, cookie: u64, n: u64) -> FlowStats {
    let fm = parse_flow(text, FlowModCommand::Add, None).expect("test flow").flow_mod;
    FlowStats {
        table_id: table,
        duration_sec: n as u32 * 3,
        duration_nsec: 5_000_000,
        priority: fm.priority,
        idle_timeout: if n == 2 { 30 } else { 0 },
        hard_timeout: 0,
        flags: if n == 3 { 1 } else { 0 },
        importance: 0,
        cookie,
        packet_count: n,
        byte_count: n * 64,
        match_: fm.match_,
        actions: fm.actions,
    }
}

fn with_flows() -> Script {
    let flows = vec![
        flow("priority=100,tcp,tp_dst=80,actions=output:2", 0, 0x10, 1),
        flow("priority=100,tcp,tp_dst=22,actions=output:1", 0, 0, 2),
        flow("in_port=1,actions=mod_nw_dst:1.2.3.4,NORMAL", 0, 0, 3),
        flow("priority=5,ip,nw_src=10.0.0.0/8,actions=dec_ttl,output:2", 1, 0, 4),
        flow("priority=0,actions=drop", 0, 0, 5),
        flow("in_port=2,dl_vlan=7,actions=pop_vlan,output:1", 2, 0xffff, 6),
    ];
    Script {
        flows,
        ports: ports(),
        aggregate: AggregateStats { packet_count: 21, byte_count: 1344, flow_count: 6 },
        ..Script::default()
    }
}

fn tables() -> Vec<TableStats> {
    let t = |id, a, l, m| TableStats { table_id: id, active_count: a, lookup_count: l, matched_count: m };
    vec![
        t(0, 1, 5, 3),
        t(1, 0, 0, 0),
        t(2, 0, 0, 0),
        t(3, 0, 0, 0),
        t(4, 2, 2, 2),
        t(5, 0, 0, 0),
        t(6, 0, 0, 0),
        t(7, 9, 1 << 40, 1 << 39),
    ]
}

fn oxm(f: Field, masked: bool) -> OxmId {
    let id = OxmId::of_field(f, false).expect("field with a header");
    if !masked {
        return id;
    }
    let exp = if id.experimenter.is_some() { 4 } else { 0 };
    OxmId { header: (id.header & !0x1ff) | 0x100 | (((id.header & 0xff) - exp) * 2 + exp), ..id }
}

/// A table's features with the eight required properties (and table-miss ones if given).
#[allow(clippy::too_many_arguments)]
fn tf(
    id: u8,
    name: &str,
    inst: &[u16],
    next: &[u8],
    act: &[u16],
    set: &[Field],
    matching: &[(Field, bool)],
    wild: &[Field],
    miss: Vec<TableFeatureProp>,
) -> TableFeatures {
    let ids = |f: &[Field]| f.iter().map(|&f| oxm(f, false)).collect::<Vec<_>>();
    let mut properties = vec![
        TableFeatureProp::Instructions { miss: false, ids: inst.to_vec() },
        TableFeatureProp::NextTables { miss: false, tables: next.to_vec() },
        TableFeatureProp::WriteActions { miss: false, ids: act.to_vec() },
        TableFeatureProp::WriteSetfield { miss: false, fields: ids(set) },
        TableFeatureProp::ApplyActions { miss: false, ids: act.to_vec() },
        TableFeatureProp::ApplySetfield { miss: false, fields: ids(set) },
    ];
    properties.extend(miss);
    properties.push(TableFeatureProp::Match(matching.iter().map(|&(f, m)| oxm(f, m)).collect()));
    properties.push(TableFeatureProp::Wildcards(ids(wild)));
    TableFeatures {
        table_id: id,
        name: name.into(),
        metadata_match: 0,
        metadata_write: 0,
        config: 0,
        max_entries: 0,
        properties,
    }
}

fn assorted_features() -> Vec<TableFeatures> {
    use Field::*;
    let regs: Vec<Field> = (0..8).map(|i| Field::reg(i).unwrap()).collect();
    let m: Vec<(Field, bool)> = vec![
        (InPort, false),
        (EthSrc, true),
        (EthDst, false),
        (EthType, false),
        (Reg0, true),
        (Reg1, false),
        (Reg2, false),
        (TcpFlags, true),
    ];
    let mut t0 = tf(
        0,
        "",
        &[1, 4, 3, 2, 5, 6],
        &[1, 3, 4, 5, 9],
        &[0, 25, 17, 18, 21, 23, 24, 22],
        &[EthSrc, EthDst, Reg0],
        &m,
        &[Reg0, Reg1, EthSrc],
        vec![
            TableFeatureProp::Instructions { miss: true, ids: vec![4] },
            TableFeatureProp::NextTables { miss: true, tables: vec![] },
            TableFeatureProp::WriteActions { miss: true, ids: vec![] },
            TableFeatureProp::ApplyActions { miss: true, ids: vec![0] },
        ],
    );
    t0.metadata_match = 5;
    t0.max_entries = 77;
    let regs_m: Vec<(Field, bool)> = regs.iter().map(|&f| (f, false)).collect();
    vec![
        t0,
        tf(1, "second", &[4], &[2], &[0], &[], &regs_m, &regs, vec![]),
        tf(2, "", &[4], &[], &[0], &[], &regs_m, &regs, vec![]),
        tf(3, "", &[4], &[], &[0], &[], &regs_m, &regs, vec![]),
        tf(4, "named", &[4], &[], &[0], &[], &regs_m, &regs, vec![]),
        tf(
            5,
            "",
            &[4, 1],
            &[6],
            &[0],
            &[Reg0],
            &[(Reg0, false)],
            &[],
            vec![TableFeatureProp::NextTables { miss: true, tables: vec![] }],
        ),
        tf(
            6,
            "",
            &[4, 1],
            &[7],
            &[0],
            &[Reg0],
            &[(Reg0, false)],
            &[],
            vec![TableFeatureProp::NextTables { miss: true, tables: vec![] }],
        ),
        tf(7, "", &[], &[], &[], &[], &[], &[], vec![]),
        tf(9, "", &[], &[], &[], &[], &[], &[], vec![]),
        tf(
            10,
            "",
            &[4],
            &[11, 12],
            &[0, 25],
            &[IpSrc, Ipv6Src, Ipv6Dst, NdTarget],
            &[(IpSrc, true), (Ipv6Src, true), (Ipv6Dst, true), (IpProto, false)],
            &[IpProto],
            vec![],
        ),
    ]
}

struct Case {
    name: &'static str,
    args: &'static [&'static str],
    script: fn() -> Script,
}

const CASES: &[Case] = &[
    Case {
        name: "show",
        args: &["show", "unix:fake.sock"],
        script: || Script {
            features: SwitchFeatures {
                datapath_id: 0x1234_5678_9abc_def0,
                n_buffers: 256,
                n_tables: 254,
                auxiliary_id: 0,
                capabilities: 0x7f | 0x100 | 0x1000,
            },
            config: SwitchConfig { flags: 1, miss_send_len: 128 },
            ..with_ports()
        },
    },
    Case {
        name: "show-aux-no-ports",
        args: &["show", "unix:fake.sock"],
        script: || Script {
            features: SwitchFeatures { datapath_id: 1, n_buffers: 0, n_tables: 1, auxiliary_id: 3, capabilities: 0 },
            config: SwitchConfig { flags: 3, miss_send_len: 0xffff },
            ..Script::default()
        },
    },
    Case { name: "show-names", args: &["--names", "show", "unix:fake.sock"], script: with_ports },
    Case { name: "dump-ports", args: &["dump-ports", "unix:fake.sock"], script: with_ports },
    Case {
        name: "dump-ports-split",
        args: &["dump-ports", "unix:fake.sock"],
        script: || Script { max_reply: 16 + 2 * 112, ..with_ports() },
    },
    Case { name: "dump-ports-one", args: &["dump-ports", "unix:fake.sock", "9"], script: with_ports },
    Case { name: "dump-ports-by-name", args: &["dump-ports", "unix:fake.sock", "eth1"], script: with_ports },
    Case {
        name: "dump-ports-quoted-name",
        args: &["dump-ports", "unix:fake.sock", "\"port two\""],
        script: with_ports,
    },
    Case { name: "dump-ports-unknown", args: &["dump-ports", "unix:fake.sock", "eth9"], script: with_ports },
    Case { name: "dump-ports-names", args: &["--names", "dump-ports", "unix:fake.sock"], script: with_ports },
    Case {
        name: "dump-ports-desc-split",
        args: &["dump-ports-desc", "unix:fake.sock", "LOCAL"],
        script: || Script { max_reply: 16 + 2 * 64, ..with_ports() },
    },
    Case {
        name: "dump-tables",
        args: &["dump-tables", "unix:fake.sock"],
        script: || Script { tables: tables(), ..Script::default() },
    },
    Case {
        name: "dump-tables-split",
        args: &["dump-tables", "unix:fake.sock"],
        script: || Script { tables: tables(), max_reply: 16 + 3 * 24, ..Script::default() },
    },
    Case {
        name: "dump-tables-error",
        args: &["dump-tables", "unix:fake.sock"],
        script: || Script { fail: vec![(Request::Table, BadRequest::Eperm.into())], ..Script::default() },
    },
    Case {
        name: "dump-desc",
        args: &["dump-desc", "unix:fake.sock"],
        script: || Script {
            desc: SwitchDesc {
                mfr_desc: "Maker, Inc.".into(),
                hw_desc: "x".repeat(255),
                sw_desc: "9.9".into(),
                serial_num: "0123456789".into(),
                dp_desc: String::new(),
            },
            ..Script::default()
        },
    },
    Case { name: "dump-flows", args: &["dump-flows", "unix:fake.sock"], script: with_flows },
    Case {
        name: "dump-flows-split",
        args: &["dump-flows", "unix:fake.sock"],
        script: || Script { max_reply: 200, ..with_flows() },
    },
    Case {
        name: "dump-flows-no-stats",
        args: &["--no-stats", "dump-flows", "unix:fake.sock"],
        script: || Script { max_reply: 200, ..with_flows() },
    },
    Case { name: "dump-flows-names", args: &["--names", "dump-flows", "unix:fake.sock"], script: with_flows },
    Case {
        name: "dump-flows-sort",
        args: &["--sort=tcp_dst", "--rsort=in_port", "dump-flows", "unix:fake.sock"],
        script: with_flows,
    },
    Case {
        name: "dump-flows-filter-names",
        args: &["dump-flows", "unix:fake.sock", "in_port=eth1"],
        script: with_flows,
    },
    Case {
        name: "dump-flows-error",
        args: &["dump-flows", "unix:fake.sock", "tcp"],
        script: || Script { fail: vec![(Request::Flow, BadMatch::BadPrereq.into())], ..with_flows() },
    },
    Case { name: "dump-aggregate", args: &["dump-aggregate", "unix:fake.sock", "table=1"], script: with_flows },
    Case {
        name: "dump-table-features",
        args: &["dump-table-features", "unix:fake.sock"],
        script: || Script { table_features: assorted_features(), ..Script::default() },
    },
    Case {
        name: "dump-table-features-split",
        args: &["dump-table-features", "unix:fake.sock"],
        script: || Script { table_features: assorted_features(), max_reply: 600, ..Script::default() },
    },
    Case {
        name: "dump-table-features-rvs",
        args: &["dump-table-features", "unix:fake.sock"],
        script: || Script { table_features: rvs_table_features(254), ..Script::default() },
    },
    Case {
        name: "dump-table-features-incomplete",
        args: &["dump-table-features", "unix:fake.sock"],
        script: || {
            let mut t = assorted_features();
            t[3].properties.retain(|p| !matches!(p, TableFeatureProp::Wildcards(_)));
            Script { table_features: t, ..Script::default() }
        },
    },
    Case {
        name: "dump-table-features-empty",
        args: &["dump-table-features", "unix:fake.sock"],
        script: || Script { table_features: Vec::new(), ..Script::default() },
    },
    Case {
        name: "add-flow-empty-table-features",
        args: &["add-flow", "unix:fake.sock", "in_port=1,actions=drop"],
        script: || Script { table_features: Vec::new(), ..with_ports() },
    },
    Case {
        name: "dump-table-features-error",
        args: &["dump-table-features", "unix:fake.sock"],
        script: || Script {
            fail: vec![(Request::TableFeatures, BadRequest::BadMultipart.into())],
            ..Script::default()
        },
    },
    Case {
        name: "add-flow-error",
        args: &["add-flow", "unix:fake.sock", "priority=5,in_port=eth1,tcp,tp_dst=80,actions=output:p65000"],
        script: || Script { flow_mod_error: Some((BadMatch::BadPrereq.into(), None)), ..with_ports() },
    },
    Case {
        name: "add-flow-error-truncated",
        args: &["add-flow", "unix:fake.sock", "cookie=0x5,in_port=1,actions=output:2"],
        script: || Script { flow_mod_error: Some((FlowModFailed::Overlap.into(), Some(64))), ..with_ports() },
    },
    Case {
        name: "add-flow-error-names",
        args: &["--names", "del-flows", "unix:fake.sock", "in_port=eth1"],
        script: || Script { flow_mod_error: Some((FlowModFailed::Eperm.into(), None)), ..with_ports() },
    },
    Case {
        name: "add-flow-error-unknown-code",
        args: &["mod-flows", "unix:fake.sock", "in_port=1,actions=drop"],
        script: || Script { flow_mod_error: Some((OfError::Other { type_: 5, code: 99 }, None)), ..with_ports() },
    },
    Case {
        name: "add-flow-without-table-features",
        args: &["add-flow", "unix:fake.sock", "in_port=1,actions=drop"],
        script: || Script { fail: vec![(Request::TableFeatures, BadRequest::BadMultipart.into())], ..with_ports() },
    },
    Case {
        name: "add-flow-incomplete-table-features",
        args: &["add-flow", "unix:fake.sock", "in_port=1,actions=drop"],
        script: || {
            let mut t = assorted_features();
            t[0].properties.retain(|p| !matches!(p, TableFeatureProp::Match(_)));
            Script { table_features: t, ..with_ports() }
        },
    },
    Case {
        name: "add-flow-no-names",
        args: &["--no-names", "add-flow", "unix:fake.sock", "in_port=1,actions=drop"],
        script: || Script { flow_mod_error: Some((FlowModFailed::TableFull.into(), None)), ..with_ports() },
    },
    Case { name: "add-flow-unusable", args: &["add-flow", "unix:fake.sock", "actions=strip_vlan"], script: with_ports },
];

/// Removes what differs between the two programs but is not their output: the program name
/// at the start of error lines and Open vSwitch's log lines.
fn normalize_stderr(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !(l.len() > 20 && l.as_bytes()[4] == b'-' && l.contains('|')))
        .map(|l| {
            let l = l
                .strip_prefix("ovs-ofctl: ")
                .or_else(|| l.strip_prefix("rvs-ofctl: "))
                .map_or(l.to_string(), |r| format!("ofctl: {r}"));
            l + "\n"
        })
        .collect()
}

fn outcome(program: &Path, case: &Case) -> String {
    let sw = FakeSwitch::start((case.script)());
    let mut args = vec!["-O", "OpenFlow13"];
    args.extend_from_slice(case.args);
    let (status, out, err) = sw.run(program, &args);
    format!("status: {status:?}\n-- stdout\n{out}-- stderr\n{}", normalize_stderr(&err))
}

fn fixtures() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(FIXTURES)
        .expect("read tests/data/ofctl_format.txt (regenerate with RVS_REGEN_OFCTL_FIXTURES=1)");
    let mut out = Vec::new();
    for block in text.split("\n== ").skip(1) {
        let (name, body) = block.split_once('\n').expect("case name line");
        out.push((name.to_string(), body.to_string()));
    }
    out
}

#[test]
fn rvs_ofctl_prints_what_ovs_ofctl_printed() {
    let fx = fixtures();
    assert_eq!(fx.len(), CASES.len(), "fixtures and cases differ in number: regenerate the fixtures");
    let mut failures = Vec::new();
    for (case, (name, want)) in CASES.iter().zip(&fx) {
        assert_eq!(case.name, name, "fixture order");
        let got = outcome(Path::new(RVS_OFCTL), case);
        if &got != want {
            failures.push(format!(
                "=== {name}: rvs-ofctl {}\n--- ovs-ofctl printed:\n{want}--- rvs-ofctl printed:\n{got}",
                case.args.join(" ")
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), CASES.len(), failures.join("\n"));
}

#[test]
fn fixtures_are_what_ovs_ofctl_prints() {
    let version = std::process::Command::new("ovs-ofctl").arg("--version").output();
    let Ok(version) = version else {
        assert!(
            std::env::var_os("RVS_REQUIRE_OVS_OFCTL").is_none(),
            "ovs-ofctl is required (RVS_REQUIRE_OVS_OFCTL) but not installed"
        );
        eprintln!("ovs-ofctl not installed: fixtures not re-checked");
        return;
    };
    let version = String::from_utf8_lossy(&version.stdout).lines().next().unwrap_or_default().to_string();
    let live: Vec<(String, String)> =
        CASES.iter().map(|c| (c.name.to_string(), outcome(Path::new("ovs-ofctl"), c))).collect();
    if std::env::var_os("RVS_REGEN_OFCTL_FIXTURES").is_some() {
        let mut text = format!(
            "# What `ovs-ofctl -O OpenFlow13 ARGS` printed for each case of ctl/tests/ofctl_format.rs, captured with:\n# {version}\n# Regenerate: RVS_REGEN_OFCTL_FIXTURES=1 cargo test -p rvs-ctl --test ofctl_format\n"
        );
        for (name, body) in &live {
            text.push_str(&format!("\n== {name}\n{body}"));
        }
        std::fs::write(FIXTURES, text).expect("write fixtures");
        return;
    }
    assert!(version.contains("3.1."), "fixtures come from Open vSwitch 3.1; installed: {version}");
    let fx = fixtures();
    for ((name, got), (fname, want)) in live.iter().zip(&fx) {
        assert_eq!(name, fname);
        assert_eq!(got, want, "ovs-ofctl no longer prints the fixture of {name}");
    }
    assert_eq!(live.len(), fx.len());
}
