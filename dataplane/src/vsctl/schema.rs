//! The four OVSDB tables `rvs-vsctl` edits, mapped onto [`SwitchConfig`].
//!
//! Table and column names are matched as `ovs-vsctl` matches them: case-insensitively, `-`
//! equal to `_`, and any unambiguous prefix (`get br br0 fail` is `get Bridge br0 fail_mode`).
//! Matching runs over every table and column of the Open vSwitch schema 8.3.1, so that a prefix
//! is ambiguous exactly when it is for `ovs-vsctl`; a name that only Open vSwitch knows is
//! then refused with a "not supported by rvs" error instead of "unknown".
//!
//! Records are named as in `ovs-vsctl`: `.` for the single `Open_vSwitch` record, names for
//! bridges, ports and interfaces, or a record's UUID. rvs has no database rows, so UUIDs are
//! synthesized from the table and record name ([`row_uuid`]): stable across restarts and
//! consistent between `list`, `get ... _uuid`, `show` and lookups by UUID. Reference columns
//! (`Open_vSwitch:bridges`, `Bridge:ports`, `Port:interfaces`, `Bridge:controller`) hold names
//! (controller targets) instead of UUIDs.

use std::collections::BTreeMap;

use super::datum::{Atom, BaseType, ColumnType, Datum, UNLIMITED};
use super::VsctlStatus;
use crate::config::{BridgeConfig, PortConfig, StrMap, SwitchConfig};

/// Interface types rvs can open. `""` and `system` are the same (an existing kernel device).
/// This is the one list to extend when a new port backend arrives.
pub const INTERFACE_TYPES: &[&str] = &["", "afxdp", "dpdk", "internal", "memory", "system"];

const FAIL_MODES: &[&str] = &["secure", "standalone"];
const OPENFLOW_VERSIONS: &[&str] =
    &["OpenFlow10", "OpenFlow11", "OpenFlow12", "OpenFlow13", "OpenFlow14", "OpenFlow15"];
/// `dot1q-tunnel` (OVS only) is not offered: rvs does not implement it.
const VLAN_MODES: &[&str] = &["access", "native-tagged", "native-untagged", "trunk"];
const UP_DOWN: &[&str] = &["down", "up"];

/// Every table of the Open vSwitch schema, for name matching.
const OVS_TABLES: &[&str] = &[
    "AutoAttach",
    "Bridge",
    "CT_Timeout_Policy",
    "CT_Zone",
    "Controller",
    "Datapath",
    "Flow_Sample_Collector_Set",
    "Flow_Table",
    "IPFIX",
    "Interface",
    "Manager",
    "Mirror",
    "NetFlow",
    "Open_vSwitch",
    "Port",
    "QoS",
    "Queue",
    "SSL",
    "sFlow",
];

/// A table rvs supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Table {
    OpenVswitch,
    Bridge,
    Port,
    Interface,
}

impl Table {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Table::OpenVswitch => "Open_vSwitch",
            Table::Bridge => "Bridge",
            Table::Port => "Port",
            Table::Interface => "Interface",
        }
    }

    /// Every column name of the Open vSwitch schema for this table.
    fn ovs_columns(self) -> &'static [&'static str] {
        match self {
            Table::OpenVswitch => &[
                "bridges",
                "cur_cfg",
                "datapath_types",
                "datapaths",
                "db_version",
                "dpdk_initialized",
                "dpdk_version",
                "external_ids",
                "iface_types",
                "manager_options",
                "next_cfg",
                "other_config",
                "ovs_version",
                "ssl",
                "statistics",
                "system_type",
                "system_version",
            ],
            Table::Bridge => &[
                "auto_attach",
                "controller",
                "datapath_id",
                "datapath_type",
                "datapath_version",
                "external_ids",
                "fail_mode",
                "flood_vlans",
                "flow_tables",
                "ipfix",
                "mcast_snooping_enable",
                "mirrors",
                "name",
                "netflow",
                "other_config",
                "ports",
                "protocols",
                "rstp_enable",
                "rstp_status",
                "sflow",
                "status",
                "stp_enable",
            ],
            Table::Port => &[
                "bond_active_slave",
                "bond_downdelay",
                "bond_fake_iface",
                "bond_mode",
                "bond_updelay",
                "cvlans",
                "external_ids",
                "fake_bridge",
                "interfaces",
                "lacp",
                "mac",
                "name",
                "other_config",
                "protected",
                "qos",
                "rstp_statistics",
                "rstp_status",
                "statistics",
                "status",
                "tag",
                "trunks",
                "vlan_mode",
            ],
            Table::Interface => &[
                "admin_state",
                "bfd",
                "bfd_status",
                "cfm_fault",
                "cfm_fault_status",
                "cfm_flap_count",
                "cfm_health",
                "cfm_mpid",
                "cfm_remote_mpids",
                "cfm_remote_opstate",
                "duplex",
                "error",
                "external_ids",
                "ifindex",
                "ingress_policing_burst",
                "ingress_policing_kpkts_burst",
                "ingress_policing_kpkts_rate",
                "ingress_policing_rate",
                "lacp_current",
                "link_resets",
                "link_speed",
                "link_state",
                "lldp",
                "mac",
                "mac_in_use",
                "mtu",
                "mtu_request",
                "name",
                "ofport",
                "ofport_request",
                "options",
                "other_config",
                "statistics",
                "status",
                "type",
            ],
        }
    }

    /// The columns rvs supports, in alphabetical order (the order `list` prints them in).
    pub(crate) fn columns(self) -> &'static [Column] {
        match self {
            Table::OpenVswitch => OPEN_VSWITCH_COLUMNS,
            Table::Bridge => BRIDGE_COLUMNS,
            Table::Port => PORT_COLUMNS,
            Table::Interface => INTERFACE_COLUMNS,
        }
    }
}

/// Identifies a supported column, for reading and writing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Col {
    Bridges,
    OtherConfig,
    ExternalIds,
    OvsVersion,
    Name,
    Ports,
    Protocols,
    FailMode,
    Controller,
    DatapathType,
    DatapathId,
    Interfaces,
    Tag,
    Trunks,
    VlanMode,
    Type,
    Options,
    OfportRequest,
    Ofport,
    MtuRequest,
    AdminState,
    LinkState,
    MacInUse,
    Error,
    Statistics,
}

/// A supported column.
#[derive(Debug)]
pub(crate) struct Column {
    pub(crate) name: &'static str,
    pub(crate) id: Col,
    pub(crate) ty: ColumnType,
    pub(crate) access: Access,
}

/// Who may write a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    ReadWrite,
    /// Immutable in the OVS schema too (`name`): refused before the value is even parsed.
    Immutable,
    /// Read-only in rvs only (references, status reported by the daemon): refused when the
    /// value would be stored, after every check `ovs-vsctl` makes.
    ReadOnly,
}

const STR_MAP: ColumnType = ColumnType::map(BaseType::STRING, BaseType::STRING);
const NAMES: ColumnType = ColumnType::set(BaseType::STRING, 0, UNLIMITED);
const OPT_STR: ColumnType = ColumnType::optional(BaseType::STRING);

const fn col(name: &'static str, id: Col, ty: ColumnType, access: Access) -> Column {
    Column { name, id, ty, access }
}

static OPEN_VSWITCH_COLUMNS: &[Column] = &[
    col("bridges", Col::Bridges, NAMES, Access::ReadOnly),
    col("external_ids", Col::ExternalIds, STR_MAP, Access::ReadWrite),
    col("other_config", Col::OtherConfig, STR_MAP, Access::ReadWrite),
    col("ovs_version", Col::OvsVersion, OPT_STR, Access::ReadOnly),
];

static BRIDGE_COLUMNS: &[Column] = &[
    col("controller", Col::Controller, NAMES, Access::ReadWrite),
    col("datapath_id", Col::DatapathId, OPT_STR, Access::ReadOnly),
    col("datapath_type", Col::DatapathType, ColumnType::scalar(BaseType::STRING), Access::ReadWrite),
    col("external_ids", Col::ExternalIds, STR_MAP, Access::ReadWrite),
    col("fail_mode", Col::FailMode, ColumnType::optional(BaseType::one_of(FAIL_MODES)), Access::ReadWrite),
    col("name", Col::Name, ColumnType::scalar(BaseType::STRING), Access::Immutable),
    col("other_config", Col::OtherConfig, STR_MAP, Access::ReadWrite),
    col("ports", Col::Ports, NAMES, Access::ReadOnly),
    col(
        "protocols",
        Col::Protocols,
        ColumnType::set(BaseType::one_of(OPENFLOW_VERSIONS), 0, UNLIMITED),
        Access::ReadWrite,
    ),
];

static PORT_COLUMNS: &[Column] = &[
    col("external_ids", Col::ExternalIds, STR_MAP, Access::ReadWrite),
    col("interfaces", Col::Interfaces, ColumnType::set(BaseType::STRING, 1, UNLIMITED), Access::ReadOnly),
    col("name", Col::Name, ColumnType::scalar(BaseType::STRING), Access::Immutable),
    col("other_config", Col::OtherConfig, STR_MAP, Access::ReadWrite),
    col("tag", Col::Tag, ColumnType::optional(BaseType::int_range(0, 4095)), Access::ReadWrite),
    col("trunks", Col::Trunks, ColumnType::set(BaseType::int_range(0, 4095), 0, 4096), Access::ReadWrite),
    col("vlan_mode", Col::VlanMode, ColumnType::optional(BaseType::one_of(VLAN_MODES)), Access::ReadWrite),
];

static INTERFACE_COLUMNS: &[Column] = &[
    col("admin_state", Col::AdminState, ColumnType::optional(BaseType::one_of(UP_DOWN)), Access::ReadOnly),
    col("error", Col::Error, OPT_STR, Access::ReadOnly),
    col("external_ids", Col::ExternalIds, STR_MAP, Access::ReadWrite),
    col("link_state", Col::LinkState, ColumnType::optional(BaseType::one_of(UP_DOWN)), Access::ReadOnly),
    col("mac_in_use", Col::MacInUse, OPT_STR, Access::ReadOnly),
    col("mtu_request", Col::MtuRequest, ColumnType::optional(BaseType::int_range(1, i64::MAX)), Access::ReadWrite),
    col("name", Col::Name, ColumnType::scalar(BaseType::STRING), Access::Immutable),
    col("ofport", Col::Ofport, ColumnType::optional(BaseType::INTEGER), Access::ReadOnly),
    col("ofport_request", Col::OfportRequest, ColumnType::optional(BaseType::int_range(1, 65279)), Access::ReadWrite),
    col("options", Col::Options, STR_MAP, Access::ReadWrite),
    col("other_config", Col::OtherConfig, STR_MAP, Access::ReadWrite),
    col("statistics", Col::Statistics, ColumnType::map(BaseType::STRING, BaseType::INTEGER), Access::ReadOnly),
    col("type", Col::Type, ColumnType::scalar(BaseType::one_of(INTERFACE_TYPES)), Access::ReadWrite),
];

/// The column type of `_uuid`.
pub(crate) const UUID_TYPE: ColumnType = ColumnType::scalar(BaseType::UUID);

/// OVS's `score_partial_match`: how well `typed` names `name`.
fn match_score(name: &str, typed: &str) -> u32 {
    if name == typed {
        return u32::MAX;
    }
    let norm = |c: u8| if c == b'-' { b'_' } else { c.to_ascii_lowercase() };
    let (n, t) = (name.as_bytes(), typed.as_bytes());
    let common = n.iter().zip(t).take_while(|(a, b)| norm(**a) == norm(**b)).count();
    if common == n.len() && common == t.len() {
        u32::MAX - 1
    } else if common == t.len() {
        common as u32
    } else {
        0
    }
}

/// The unique best match of `typed` among `names`: `Ok(Some)`, `Ok(None)` if nothing matches,
/// or `Err` with every name sharing the best score.
fn best_match<'a>(names: &[&'a str], typed: &str) -> Result<Option<&'a str>, Vec<&'a str>> {
    let best_score = names.iter().map(|n| match_score(n, typed)).max().unwrap_or(0);
    if best_score == 0 {
        return Ok(None);
    }
    let best: Vec<&str> = names.iter().copied().filter(|n| match_score(n, typed) == best_score).collect();
    match best.as_slice() {
        [one] => Ok(Some(one)),
        _ => Err(best),
    }
}

/// OVS's `get_table`.
pub(crate) fn get_table(typed: &str) -> Result<Table, String> {
    match best_match(OVS_TABLES, typed) {
        Ok(Some(name)) => [Table::OpenVswitch, Table::Bridge, Table::Port, Table::Interface]
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| format!("table {name} is not supported by rvs")),
        Ok(None) => Err(format!("unknown table \"{typed}\"")),
        Err(all) => Err(format!("\"{typed}\" matches multiple table names: {}", all.join(", "))),
    }
}

/// OVS's `get_column`.
pub(crate) fn get_column(table: Table, typed: &str) -> Result<&'static Column, String> {
    match best_match(table.ovs_columns(), typed) {
        Ok(Some(name)) => table
            .columns()
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| format!("column {name} of table {} is not supported by rvs", table.name())),
        Ok(None) => Err(format!("{} does not contain a column whose name matches \"{typed}\"", table.name())),
        Err(all) => Err(format!(
            "{} contains more than one column whose name matches \"{typed}\": {}",
            table.name(),
            all.join(", ")
        )),
    }
}

/// One record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Row {
    /// The `Open_vSwitch` record.
    Root,
    Bridge(String),
    /// A port, by name.
    Port(String),
    /// An interface, by name (the same name as its port).
    Interface(String),
}

/// Whether `s` is an RFC 4122 UUID.
pub(crate) fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter()
            .enumerate()
            .all(|(i, c)| if [8, 13, 18, 23].contains(&i) { *c == b'-' } else { c.is_ascii_hexdigit() })
}

/// A stable UUID for a row, derived from its table and name (FNV-1a, two 64-bit halves).
pub(crate) fn row_uuid(cfg: &SwitchConfig, row: &Row) -> String {
    let (table, name) = match row {
        Row::Root => ("Open_vSwitch", cfg.external_ids.get("system-id").map_or("", String::as_str)),
        Row::Bridge(n) => ("Bridge", n.as_str()),
        Row::Port(n) => ("Port", n.as_str()),
        Row::Interface(n) => ("Interface", n.as_str()),
    };
    let fnv = |seed: u64| {
        let mut h = seed;
        for b in table.bytes().chain([0]).chain(name.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h
    };
    let hi = (fnv(0xcbf2_9ce4_8422_2325) & !0xf000) | 0x4000; // version 4 layout
    let lo = (fnv(0x6c62_272e_07bb_0142) & !(0xc << 60)) | (0x8 << 60); // RFC 4122 variant
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

/// Every record of `table`, in name order.
pub(crate) fn all_rows(cfg: &SwitchConfig, table: Table) -> Vec<Row> {
    match table {
        Table::OpenVswitch => vec![Row::Root],
        Table::Bridge => cfg.bridges.keys().cloned().map(Row::Bridge).collect(),
        Table::Port | Table::Interface => {
            let mut names: Vec<&String> = cfg.bridges.values().flat_map(|b| b.ports.keys()).collect();
            names.sort();
            names
                .into_iter()
                .map(|n| if table == Table::Port { Row::Port(n.clone()) } else { Row::Interface(n.clone()) })
                .collect()
        }
    }
}

/// OVS's `get_row`: the record named `id` (a UUID, a name, or `.` for `Open_vSwitch`).
pub(crate) fn get_row(cfg: &SwitchConfig, table: Table, id: &str) -> Option<Row> {
    if is_uuid(id) {
        let id = id.to_ascii_lowercase();
        if let Some(row) = all_rows(cfg, table).into_iter().find(|r| row_uuid(cfg, r) == id) {
            return Some(row);
        }
    }
    match table {
        Table::OpenVswitch => (id == ".").then_some(Row::Root),
        Table::Bridge => cfg.bridges.contains_key(id).then(|| Row::Bridge(id.to_string())),
        Table::Port => cfg.find_port(id).map(|_| Row::Port(id.to_string())),
        Table::Interface => cfg.find_port(id).map(|_| Row::Interface(id.to_string())),
    }
}

fn str_atom(s: &str) -> Atom {
    Atom::String(s.to_string())
}

fn str_map(m: &StrMap) -> Datum {
    Datum::from_pairs(m.iter().map(|(k, v)| (str_atom(k), str_atom(v))))
}

fn names<'a>(it: impl Iterator<Item = &'a String>) -> Datum {
    Datum::from_atoms(it.map(|s| str_atom(s)).collect())
}

fn up_down(up: bool) -> Atom {
    str_atom(if up { "up" } else { "down" })
}

/// The value of `column` in `row`, from the configuration or, for what the daemon reports,
/// from `status`.
pub(crate) fn read(cfg: &SwitchConfig, status: &dyn VsctlStatus, row: &Row, column: &Column) -> Datum {
    let empty = Datum::empty();
    match row {
        Row::Root => match column.id {
            Col::Bridges => names(cfg.bridges.keys()),
            Col::OtherConfig => str_map(&cfg.other_config),
            Col::ExternalIds => str_map(&cfg.external_ids),
            Col::OvsVersion => Datum::from_option(Some(str_atom(super::RVS_VERSION))),
            _ => empty,
        },
        Row::Bridge(name) => {
            let Some(br) = cfg.bridges.get(name) else { return empty };
            match column.id {
                Col::Name => Datum::from_option(Some(str_atom(name))),
                Col::Ports => names(br.ports.keys()),
                Col::OtherConfig => str_map(&br.other_config),
                Col::ExternalIds => str_map(&br.external_ids),
                Col::Protocols => names(br.protocols.iter()),
                Col::FailMode => Datum::from_option(br.fail_mode.as_deref().map(str_atom)),
                Col::Controller => names(br.controllers.iter()),
                Col::DatapathType => Datum::from_option(Some(str_atom(&br.datapath_type))),
                Col::DatapathId => {
                    Datum::from_option(status.datapath_id(name).map(|id| Atom::String(format!("{id:016x}"))))
                }
                _ => empty,
            }
        }
        Row::Port(name) => {
            let Some((_, port)) = cfg.find_port(name) else { return empty };
            match column.id {
                Col::Name => Datum::from_option(Some(str_atom(name))),
                Col::Interfaces => Datum::from_option(Some(str_atom(name))),
                Col::Tag => Datum::from_option(port.tag.map(|t| Atom::Integer(t.into()))),
                Col::Trunks => Datum::from_atoms(port.trunks.iter().map(|t| Atom::Integer((*t).into())).collect()),
                Col::VlanMode => Datum::from_option(port.vlan_mode.as_deref().map(str_atom)),
                Col::OtherConfig => str_map(&port.other_config),
                Col::ExternalIds => str_map(&port.external_ids),
                _ => empty,
            }
        }
        Row::Interface(name) => {
            let Some((_, port)) = cfg.find_port(name) else { return empty };
            let iface = &port.interface;
            match column.id {
                Col::Name => Datum::from_option(Some(str_atom(name))),
                Col::Type => Datum::from_option(Some(str_atom(&iface.kind))),
                Col::Options => str_map(&iface.options),
                Col::OfportRequest => Datum::from_option(iface.ofport_request.map(|p| Atom::Integer(p.into()))),
                Col::Ofport => Datum::from_option(status.ofport(name).map(Atom::Integer)),
                Col::MtuRequest => Datum::from_option(iface.mtu_request.map(|m| Atom::Integer(m.into()))),
                Col::AdminState => Datum::from_option(status.link_state(name).map(|(admin, _)| up_down(admin))),
                Col::LinkState => Datum::from_option(status.link_state(name).map(|(_, link)| up_down(link))),
                Col::MacInUse => Datum::from_option(status.mac_in_use(name).map(Atom::String)),
                Col::Error => Datum::from_option(status.iface_error(name).map(Atom::String)),
                Col::Statistics => {
                    let stats: BTreeMap<String, u64> =
                        status.iface_statistics(name).unwrap_or_default().into_iter().collect();
                    Datum::from_pairs(
                        stats.into_iter().map(|(k, v)| (Atom::String(k), Atom::Integer(v.min(i64::MAX as u64) as i64))),
                    )
                }
                Col::OtherConfig => str_map(&iface.other_config),
                Col::ExternalIds => str_map(&iface.external_ids),
                _ => empty,
            }
        }
    }
}

fn to_str_map(d: &Datum) -> StrMap {
    d.entries.iter().map(|(k, v)| (k.as_str().to_string(), v.as_ref().map_or("", Atom::as_str).to_string())).collect()
}

fn to_strings(d: &Datum) -> Vec<String> {
    d.keys().map(|k| k.as_str().to_string()).collect()
}

fn first_str(d: &Datum) -> Option<String> {
    d.keys().next().map(|k| k.as_str().to_string())
}

fn first_int(d: &Datum) -> Option<i64> {
    d.keys().next().map(Atom::as_int)
}

fn bridge_mut<'a>(cfg: &'a mut SwitchConfig, name: &str) -> Result<&'a mut BridgeConfig, String> {
    cfg.bridges.get_mut(name).ok_or_else(|| format!("no row \"{name}\" in table Bridge"))
}

fn port_mut<'a>(cfg: &'a mut SwitchConfig, name: &str, table: Table) -> Result<&'a mut PortConfig, String> {
    cfg.find_port_mut(name).map(|(_, p)| p).ok_or_else(|| format!("no row \"{name}\" in table {}", table.name()))
}

/// Stores `value` (already valid for the column's type) into `column` of `row`.
pub(crate) fn write(cfg: &mut SwitchConfig, row: &Row, column: &Column, value: &Datum) -> Result<(), String> {
    let read_only = || {
        let table = match row {
            Row::Root => Table::OpenVswitch,
            Row::Bridge(_) => Table::Bridge,
            Row::Port(_) => Table::Port,
            Row::Interface(_) => Table::Interface,
        };
        Err(format!("cannot modify read-only column {} in table {}", column.name, table.name()))
    };
    if column.access != Access::ReadWrite {
        return read_only();
    }
    match row {
        Row::Root => match column.id {
            Col::OtherConfig => cfg.other_config = to_str_map(value),
            Col::ExternalIds => cfg.external_ids = to_str_map(value),
            _ => return read_only(),
        },
        Row::Bridge(name) => {
            let br = bridge_mut(cfg, name)?;
            match column.id {
                Col::OtherConfig => br.other_config = to_str_map(value),
                Col::ExternalIds => br.external_ids = to_str_map(value),
                Col::Protocols => br.protocols = to_strings(value),
                Col::FailMode => br.fail_mode = first_str(value),
                Col::Controller => br.controllers = to_strings(value),
                Col::DatapathType => br.datapath_type = first_str(value).unwrap_or_default(),
                _ => return read_only(),
            }
        }
        Row::Port(name) => {
            let port = port_mut(cfg, name, Table::Port)?;
            match column.id {
                // The type's range (0 to 4095) makes these conversions exact.
                Col::Tag => port.tag = first_int(value).map(|t| t as u16),
                Col::Trunks => port.trunks = value.keys().map(|t| t.as_int() as u16).collect(),
                Col::VlanMode => port.vlan_mode = first_str(value),
                Col::OtherConfig => port.other_config = to_str_map(value),
                Col::ExternalIds => port.external_ids = to_str_map(value),
                _ => return read_only(),
            }
        }
        Row::Interface(name) => {
            let iface = &mut port_mut(cfg, name, Table::Interface)?.interface;
            match column.id {
                Col::Type => iface.kind = first_str(value).unwrap_or_default(),
                Col::Options => iface.options = to_str_map(value),
                Col::OfportRequest => iface.ofport_request = first_int(value).map(|p| p as u32),
                Col::MtuRequest => {
                    iface.mtu_request = match first_int(value) {
                        Some(m) => Some(u32::try_from(m).map_err(|_| {
                            format!("constraint violation: {m} is greater than maximum allowed value {}", u32::MAX)
                        })?),
                        None => None,
                    }
                }
                Col::OtherConfig => iface.other_config = to_str_map(value),
                Col::ExternalIds => iface.external_ids = to_str_map(value),
                _ => return read_only(),
            }
        }
    }
    Ok(())
}

/// The names of the columns rvs supports in `table` (matched like `ovs-vsctl` matches table
/// names), or `None` for a table rvs does not support.
pub fn supported_columns(table: &str) -> Option<Vec<&'static str>> {
    get_table(table).ok().map(|t| t.columns().iter().map(|c| c.name).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_names_like_ovs() {
        assert_eq!(get_table("br").unwrap(), Table::Bridge);
        assert_eq!(get_table("open-vswitch").unwrap(), Table::OpenVswitch);
        assert_eq!(get_table("i").unwrap_err(), "\"i\" matches multiple table names: IPFIX, Interface");
        assert_eq!(get_table("nope").unwrap_err(), "unknown table \"nope\"");
        assert_eq!(get_table("Controller").unwrap_err(), "table Controller is not supported by rvs");
        assert_eq!(get_column(Table::Bridge, "fail").unwrap().name, "fail_mode");
        assert_eq!(
            get_column(Table::Interface, "o").unwrap_err(),
            "Interface contains more than one column whose name matches \"o\": ofport, ofport_request, options, other_config"
        );
        assert!(get_column(Table::Bridge, "stp_enable").unwrap_err().contains("not supported by rvs"));
    }

    #[test]
    fn synthesized_uuids_are_stable_and_distinct() {
        let cfg = SwitchConfig::default();
        let a = row_uuid(&cfg, &Row::Bridge("br0".into()));
        assert!(is_uuid(&a));
        assert_eq!(a, row_uuid(&cfg, &Row::Bridge("br0".into())));
        assert_ne!(a, row_uuid(&cfg, &Row::Port("br0".into())));
        assert_ne!(a, row_uuid(&cfg, &Row::Bridge("br1".into())));
    }
}
