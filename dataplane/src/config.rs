//! The switch configuration: what `rvs-vsctl` edits and the config store keeps.
//!
//! The model follows the Open vSwitch database schema closely enough that `ovs-vsctl`
//! habits carry over: an `Open_vSwitch` record with `other_config`, `Bridge` records with
//! `protocols`, `fail_mode`, `controller` and `other_config`, `Port` records with `tag`,
//! `trunks` and `vlan_mode`, and `Interface` records with `type`, `options`,
//! `ofport_request` (and the assigned `ofport`). Each port has exactly one interface (bonds
//! are not supported), so a port and its interface share a name and live in one
//! [`PortConfig`].
//!
//! OpenFlow rules are not here; they are stored per bridge by [`crate::store`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Key/value column (`other_config`, `options`, `external_ids`).
pub type StrMap = BTreeMap<String, String>;

/// The whole configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SwitchConfig {
    /// `Open_vSwitch . other_config` (pmd-cpu-mask, pmd-sleep-max, max-idle, ...).
    pub other_config: StrMap,
    /// `Open_vSwitch . external_ids`.
    pub external_ids: StrMap,
    /// Bridges by name.
    pub bridges: BTreeMap<String, BridgeConfig>,
}

/// One bridge.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BridgeConfig {
    /// `other_config` (datapath-id, mac-aging-time, mac-table-size, forward-bpdu, ...).
    pub other_config: StrMap,
    /// `external_ids`.
    pub external_ids: StrMap,
    /// Allowed OpenFlow versions (`OpenFlow10`, `OpenFlow13`, ...); empty = default.
    pub protocols: Vec<String>,
    /// `standalone` or `secure`; `None` = default (standalone).
    pub fail_mode: Option<String>,
    /// Controller targets (`tcp:IP:PORT`, `ptcp:PORT[:IP]`, ...).
    pub controllers: Vec<String>,
    /// `datapath_type` (kept for compatibility; rvs has one userspace datapath).
    pub datapath_type: String,
    /// Ports by name. The bridge's own internal port (named like the bridge) is included.
    pub ports: BTreeMap<String, PortConfig>,
}

/// One port with its interface.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PortConfig {
    /// Access VLAN (or native VLAN).
    pub tag: Option<u16>,
    /// Trunk VLANs (empty = all).
    pub trunks: Vec<u16>,
    /// `trunk`, `access`, `native-tagged`, `native-untagged`; `None` = implied by `tag`.
    pub vlan_mode: Option<String>,
    /// Port `other_config`.
    pub other_config: StrMap,
    /// Port `external_ids`.
    pub external_ids: StrMap,
    /// The interface.
    pub interface: InterfaceConfig,
}

/// One interface.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InterfaceConfig {
    /// `""`/`system` (existing kernel interface, AF_PACKET), `internal` (TAP), `memory`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Interface options.
    pub options: StrMap,
    /// Requested OpenFlow port number.
    pub ofport_request: Option<u32>,
    /// Assigned OpenFlow port number (kept so that numbers survive restarts).
    pub ofport: Option<u32>,
    /// Requested MTU.
    pub mtu_request: Option<u32>,
    /// Interface `other_config`.
    pub other_config: StrMap,
    /// Interface `external_ids`.
    pub external_ids: StrMap,
}

impl SwitchConfig {
    /// The bridge and port holding interface `name`.
    pub fn find_port(&self, name: &str) -> Option<(&str, &PortConfig)> {
        self.bridges.iter().find_map(|(b, br)| br.ports.get(name).map(|p| (b.as_str(), p)))
    }

    /// Mutable access to the port holding interface `name`, with its bridge's name.
    pub fn find_port_mut(&mut self, name: &str) -> Option<(String, &mut PortConfig)> {
        self.bridges.iter_mut().find_map(|(b, br)| br.ports.get_mut(name).map(|p| (b.clone(), p)))
    }

    /// An `Open_vSwitch . other_config` value parsed as `T`, or `default`.
    pub fn other<T: std::str::FromStr>(&self, key: &str, default: T) -> T {
        self.other_config.get(key).and_then(|v| v.parse().ok()).unwrap_or(default)
    }
}

impl BridgeConfig {
    /// A bridge `other_config` value parsed as `T`, or `default`.
    pub fn other<T: std::str::FromStr>(&self, key: &str, default: T) -> T {
        self.other_config.get(key).and_then(|v| v.parse().ok()).unwrap_or(default)
    }
}

/// Parses a CPU mask (`0x6`, `6`) into CPU numbers.
pub fn parse_cpu_mask(s: &str) -> Result<Vec<usize>, String> {
    let hex = s.trim().trim_start_matches("0x").trim_start_matches("0X");
    if hex.is_empty() {
        return Err(format!("empty CPU mask {s:?}"));
    }
    let mut cpus = Vec::new();
    for (i, c) in hex.chars().rev().enumerate() {
        let d = c.to_digit(16).ok_or_else(|| format!("invalid CPU mask {s:?}"))?;
        for b in 0..4 {
            if d & (1 << b) != 0 {
                cpus.push(i * 4 + b);
            }
        }
    }
    Ok(cpus)
}

/// Parses a datapath id (16 hex digits, optional `0x`).
pub fn parse_datapath_id(s: &str) -> Result<u64, String> {
    let h = s.trim_start_matches("0x");
    if h.is_empty() || h.len() > 16 {
        return Err(format!("{s}: datapath-id must be 16 hexadecimal digits"));
    }
    u64::from_str_radix(h, 16).map_err(|_| format!("{s}: datapath-id must be 16 hexadecimal digits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_masks() {
        assert_eq!(parse_cpu_mask("0x2").unwrap(), vec![1]);
        assert_eq!(parse_cpu_mask("6").unwrap(), vec![1, 2]);
        assert_eq!(parse_cpu_mask("0x10").unwrap(), vec![4]);
        assert!(parse_cpu_mask("0xg").is_err());
    }

    #[test]
    fn round_trips_through_json() {
        let mut c = SwitchConfig::default();
        c.other_config.insert("pmd-sleep-max".into(), "1000".into());
        let mut br = BridgeConfig::default();
        br.ports.insert("p1".into(), PortConfig { tag: Some(10), interface: InterfaceConfig { ofport: Some(1), ..Default::default() }, ..Default::default() });
        c.bridges.insert("br0".into(), br);
        let s = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<SwitchConfig>(&s).unwrap(), c);
        assert_eq!(c.find_port("p1").unwrap().0, "br0");
        assert_eq!(c.other("pmd-sleep-max", 0u64), 1000);
        // Missing fields take defaults (files written by older versions still load).
        let old: SwitchConfig = serde_json::from_str(r#"{"bridges":{"br1":{}}}"#).unwrap();
        assert!(old.bridges["br1"].ports.is_empty());
    }

    #[test]
    fn datapath_ids() {
        assert_eq!(parse_datapath_id("0000000000000001").unwrap(), 1);
        assert!(parse_datapath_id("xyz").is_err());
    }
}
