//! The `NORMAL` action: an 802.1Q learning switch, as Open vSwitch's bridge does it.
//!
//! # Algorithm
//! 1. Frames to reserved multicast addresses (01:80:c2:00:00:00-0f, STP and friends) are
//!    dropped unless the bridge forwards BPDUs.
//! 2. The input VLAN comes from the input port's mode ([`VlanMode`]): an access port puts
//!    untagged (or priority-tagged) frames in its VLAN and drops tagged ones; a trunk takes
//!    tagged frames of its allowed VLANs, and untagged frames as VLAN 0 if VLAN 0 is allowed;
//!    native-tagged/native-untagged ports put untagged frames in their native VLAN.
//! 3. The source address is learned on the input port (unicast sources only, when the
//!    translation may learn).
//! 4. A known unicast destination on another port gets the frame; on the input port, it is
//!    dropped. Unknown unicast, multicast and broadcast destinations are flooded to every
//!    other port of the VLAN, except ports with flooding disabled.
//! 5. On output the tag is fixed per port: untagged on an access port or for the native VLAN
//!    of a native-untagged port or VLAN 0 on a trunk, tagged (keeping the frame's priority)
//!    otherwise.
//!
//! # Megaflow
//! The decisions read `in_port`, `dl_dst`, `dl_src` (so that a new source is seen by an upcall
//! and learned) and the VLAN bits; the MAC table's state is not in the key, so megaflows using
//! `NORMAL` are re-translated by the revalidator whenever the table's generation moves.

use super::Ctx;
use crate::field::Field;
use crate::key::VLAN_PRESENT;
use crate::ofp::OfPort;

/// How a port treats VLANs (OVS's `vlan_mode`, with `tag` and `trunks`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum VlanMode {
    /// Carries the VLANs in `trunks` (all when empty), tagged; untagged frames are VLAN 0.
    #[default]
    Trunk,
    /// Carries only VLAN `tag`, untagged.
    Access,
    /// Trunk whose untagged frames belong to `tag`; `tag` is sent tagged.
    NativeTagged,
    /// Trunk whose untagged frames belong to `tag`; `tag` is sent untagged.
    NativeUntagged,
}

/// VLAN configuration of a port.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct VlanConfig {
    /// Mode.
    pub mode: VlanMode,
    /// Access or native VLAN.
    pub tag: Option<u16>,
    /// Allowed VLANs of a trunk (empty = all).
    pub trunks: Vec<u16>,
}

impl VlanConfig {
    /// An access port in `tag`.
    pub fn access(tag: u16) -> Self {
        VlanConfig { mode: VlanMode::Access, tag: Some(tag), trunks: Vec::new() }
    }

    /// A trunk carrying `trunks` (all if empty).
    pub fn trunk(trunks: Vec<u16>) -> Self {
        VlanConfig { mode: VlanMode::Trunk, tag: None, trunks }
    }

    /// The mode OVS would use for this configuration: `Access` when only a tag is given,
    /// `Trunk` otherwise (an explicit mode overrides).
    pub fn effective_mode(&self) -> VlanMode {
        self.mode
    }

    fn trunk_includes(&self, vlan: u16) -> bool {
        self.trunks.is_empty() || self.trunks.contains(&vlan)
    }

    /// True if the port carries `vlan`.
    pub fn includes(&self, vlan: u16) -> bool {
        match self.mode {
            VlanMode::Access => Some(vlan) == self.tag,
            VlanMode::Trunk => self.trunk_includes(vlan),
            VlanMode::NativeTagged | VlanMode::NativeUntagged => {
                Some(vlan) == self.tag || self.trunk_includes(vlan)
            }
        }
    }

    /// The VLAN of a frame received on this port with VID `vid` (`None` = untagged), or
    /// `None` if the port does not admit it.
    pub fn input_vlan(&self, vid: Option<u16>) -> Option<u16> {
        let vid = vid.filter(|v| *v != 0); // priority-tagged frames count as untagged
        match (self.mode, vid) {
            (VlanMode::Access, None) => self.tag,
            (VlanMode::Access, Some(_)) => None,
            (VlanMode::Trunk, None) => self.trunk_includes(0).then_some(0),
            (VlanMode::Trunk, Some(v)) => self.trunk_includes(v).then_some(v),
            (VlanMode::NativeTagged | VlanMode::NativeUntagged, None) => self.tag,
            (VlanMode::NativeTagged | VlanMode::NativeUntagged, Some(v)) => self.includes(v).then_some(v),
        }
    }

    /// True if frames of `vlan` leave this port untagged.
    pub fn output_untagged(&self, vlan: u16) -> bool {
        match self.mode {
            VlanMode::Access => true,
            VlanMode::Trunk => vlan == 0,
            VlanMode::NativeUntagged => Some(vlan) == self.tag || vlan == 0,
            VlanMode::NativeTagged => vlan == 0,
        }
    }
}

fn is_reserved_multicast(mac: u64) -> bool {
    mac & !0xf == 0x0180_c200_0000
}

impl Ctx<'_> {
    pub(crate) fn normal(&mut self) {
        self.o.used_normal = true;
        let bridge = self.bridge();
        let in_port = OfPort(self.o.final_flow.in_port);
        let Some(in_xport) = bridge.ports.get(&in_port) else {
            self.trace_note(format!("no input port {in_port}, dropping"));
            return;
        };
        let dst = self.read(Field::EthDst) as u64;
        if !bridge.forward_bpdu && is_reserved_multicast(dst) {
            self.trace_note("dropping packet with reserved multicast destination".to_string());
            return;
        }
        let tci = self.read_masked(Field::VlanTci, (VLAN_PRESENT | 0x0fff) as u128) as u16;
        let vid = (tci & VLAN_PRESENT != 0).then_some(tci & 0x0fff);
        let Some(vlan) = in_xport.vlan.input_vlan(vid) else {
            self.trace_note(format!(
                "dropping VLAN {} packet received on port {} not configured for it",
                vid.unwrap_or(0),
                in_xport.name
            ));
            return;
        };
        let src = self.read(Field::EthSrc) as u64;
        let src_is_multicast = src & 0x0100_0000_0000 != 0;
        let now = self.now_ms();
        if self.may_learn() && !src_is_multicast {
            let learned = self.macs().lock().unwrap_or_else(|e| e.into_inner()).learn(vlan, src, in_port, now);
            if self.trace_on() {
                if let crate::mac_learning::Learned::New | crate::mac_learning::Learned::Moved { .. } = learned {
                    self.trace_note(format!("learned that {} is on port {} in VLAN {vlan}", mac_text(src), in_xport.name));
                }
            }
        }
        let dst_is_multicast = dst & 0x0100_0000_0000 != 0;
        if !dst_is_multicast {
            let found = self.macs().lock().unwrap_or_else(|e| e.into_inner()).lookup(vlan, dst, now);
            if let Some(out) = found {
                if out == in_port {
                    self.trace_note("learned port is input port, dropping".to_string());
                } else {
                    self.trace_note(format!("forwarding to learned port {out}"));
                    self.output_normal(out, vlan);
                }
                return;
            }
            self.trace_note("no learned MAC for destination, flooding".to_string());
        } else {
            self.trace_note("multicast or broadcast destination, flooding".to_string());
        }
        let ports: Vec<OfPort> = bridge
            .ports
            .values()
            .filter(|p| p.ofport != in_port && !p.no_flood && !p.no_fwd && p.vlan.includes(vlan))
            .map(|p| p.ofport)
            .collect();
        for p in ports {
            self.output_normal(p, vlan);
        }
    }

    /// Outputs to `port` with the tag `vlan` needs there, then restores the pipeline's view.
    fn output_normal(&mut self, port: OfPort, vlan: u16) {
        let Some(xp) = self.bridge().ports.get(&port) else { return };
        if !xp.vlan.includes(vlan) {
            self.trace_note(format!("port {} does not carry VLAN {vlan}, dropping", xp.name));
            return;
        }
        let saved_tci = self.o.final_flow.vlan_tci;
        let saved_dirty = self.dirty.vlan_tci;
        let new_tci = if xp.vlan.output_untagged(vlan) {
            0
        } else {
            // Keep the frame's priority on retagging.
            let pcp = self.read_masked(Field::VlanTci, 0xe000) as u16;
            VLAN_PRESENT | pcp | vlan
        };
        self.write(Field::VlanTci, new_tci as u128, 0xffff);
        self.output_to(port, false);
        self.o.final_flow.vlan_tci = saved_tci;
        self.dirty.vlan_tci = saved_dirty | if saved_tci != new_tci { 0xffff } else { 0 };
    }
}

fn mac_text(m: u64) -> String {
    rvs_packet::wire::MacAddr::from_u64(m).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_ports() {
        let a = VlanConfig::access(10);
        assert_eq!(a.input_vlan(None), Some(10));
        assert_eq!(a.input_vlan(Some(0)), Some(10), "priority tagged");
        assert_eq!(a.input_vlan(Some(10)), None);
        assert!(a.includes(10) && !a.includes(20));
        assert!(a.output_untagged(10));
    }

    #[test]
    fn trunk_ports() {
        let all = VlanConfig::trunk(vec![]);
        assert_eq!(all.input_vlan(None), Some(0));
        assert_eq!(all.input_vlan(Some(20)), Some(20));
        assert!(!all.output_untagged(20) && all.output_untagged(0));
        let some = VlanConfig::trunk(vec![10, 20]);
        assert_eq!(some.input_vlan(Some(30)), None);
        assert_eq!(some.input_vlan(None), None, "VLAN 0 not in trunks");
        assert!(some.includes(20) && !some.includes(0));
    }

    #[test]
    fn native_ports() {
        let nu = VlanConfig { mode: VlanMode::NativeUntagged, tag: Some(5), trunks: vec![10] };
        assert_eq!(nu.input_vlan(None), Some(5));
        assert_eq!(nu.input_vlan(Some(10)), Some(10));
        assert!(nu.output_untagged(5) && !nu.output_untagged(10));
        let nt = VlanConfig { mode: VlanMode::NativeTagged, tag: Some(5), trunks: vec![10] };
        assert!(!nt.output_untagged(5));
    }

    #[test]
    fn reserved_multicast() {
        assert!(is_reserved_multicast(0x0180_c200_0000));
        assert!(is_reserved_multicast(0x0180_c200_000e));
        assert!(!is_reserved_multicast(0x0180_c200_0010));
    }
}
