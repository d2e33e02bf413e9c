//! Run-time facts about the switch for `rvs-vsctl` (`show`, `get Interface p1 ofport`, ...).

use rvs_flowcache::OfPort;

use crate::switch::Switch;
use crate::vsctl::VsctlStatus;

/// The switch as `rvs-vsctl` sees its run-time state.
pub struct SwitchStatus<'a>(pub &'a Switch);

impl SwitchStatus<'_> {
    fn port(&self, iface: &str) -> Option<&crate::switch::BridgePort> {
        self.0.bridges.values().find_map(|b| b.port_by_name(iface))
    }
}

impl VsctlStatus for SwitchStatus<'_> {
    fn ofport(&self, iface: &str) -> Option<i64> {
        if let Some(p) = self.port(iface) {
            return Some(if p.ofport == OfPort::LOCAL { 65534 } else { p.ofport.0 as i64 });
        }
        self.0.port_errors.contains_key(iface).then_some(-1)
    }

    fn iface_error(&self, iface: &str) -> Option<String> {
        self.0.port_errors.get(iface).cloned()
    }

    fn link_state(&self, iface: &str) -> Option<(bool, bool)> {
        self.port(iface).map(|p| {
            let l = p.port.link_state();
            (l.admin_up, l.carrier)
        })
    }

    fn mac_in_use(&self, iface: &str) -> Option<String> {
        self.port(iface).map(|p| p.port.mac().to_string())
    }

    fn datapath_id(&self, bridge: &str) -> Option<u64> {
        self.0.bridges.get(bridge).map(|b| b.datapath_id)
    }

    fn iface_statistics(&self, iface: &str) -> Option<Vec<(String, u64)>> {
        self.port(iface).map(|p| {
            let s = p.port.stats();
            vec![
                ("rx_bytes".into(), s.rx_bytes),
                ("rx_dropped".into(), s.rx_dropped),
                ("rx_errors".into(), s.rx_errors),
                ("rx_packets".into(), s.rx_packets),
                ("tx_bytes".into(), s.tx_bytes),
                ("tx_dropped".into(), s.tx_dropped),
                ("tx_errors".into(), s.tx_errors),
                ("tx_packets".into(), s.tx_packets),
            ]
        })
    }
}
