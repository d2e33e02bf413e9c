//! Packet-out: running a controller's actions on a packet, on the control thread.
//!
//! The packet's flow key is extracted with the packet-out's `in_port` (`CONTROLLER` when the
//! packet comes from nowhere; `ANY`, OpenFlow 1.0's `NONE`, means the same), its actions are
//! translated by [`rvs_flowcache::xlate::packet_out::xlate_packet_out`] against the bridge's
//! current tables, and the resulting datapath actions run here: header rewrites in place
//! ([`DpAction::apply`]), outputs through the control thread's own transmit handle of each
//! port ([`Switch::control_txqs`]; a copy for every output but the last), and controller
//! actions as packet-ins.
//!
//! # Errors (as OVS's `handle_packet_out`)
//! * a slave's packet-out: `OFPBRC_IS_SLAVE` (checked by the caller);
//! * a buffered packet (`buffer_id` set): `OFPBRC_BUFFER_UNKNOWN`, rvs keeps no buffers;
//! * an `in_port` that no packet can come from (`IN_PORT`, `TABLE`, `NORMAL`, `FLOOD`, `ALL`):
//!   `OFPBRC_BAD_PORT`;
//! * actions that could not be in a rule (output to port 0 or `ANY`, ...): as for flow-mods;
//! * a packet whose headers cannot be parsed: `OFPBRC_BAD_PACKET`.

use std::time::Instant;

use rvs_flowcache::dpaction::DpAction;
use rvs_flowcache::xlate::packet_out::xlate_packet_out;
use rvs_flowcache::xlate::XlateInput;
use rvs_flowcache::{FlowModCommand, FlowKey, OfPort};
use rvs_openflow::error::BadRequest;
use rvs_openflow::msg::PacketOut;
use rvs_openflow::OfError;
use rvs_packet::{PacketBatch, PacketBuf};

use super::handlers::validate_actions;
use super::OfServer;
use crate::datapath::PacketIn;
use crate::switch::Switch;
use crate::vlog;

/// True if a packet-out may name `port` as its input port.
fn valid_in_port(port: OfPort) -> bool {
    port.0 < OfPort::MAX.0 || matches!(port, OfPort::LOCAL | OfPort::CONTROLLER | OfPort::ANY)
}

impl OfServer {
    /// Runs a packet-out on `bridge`. See the module documentation.
    pub(super) fn packet_out(&mut self, sw: &mut Switch, bridge: &str, po: &PacketOut) -> Result<(), OfError> {
        if po.buffer_id.is_some() {
            return Err(OfError::BadRequest(BadRequest::BufferUnknown));
        }
        if !valid_in_port(po.in_port) {
            return Err(OfError::BadRequest(BadRequest::BadPort));
        }
        validate_actions(&po.actions, 0, FlowModCommand::Add)?;
        let in_port = if po.in_port == OfPort::ANY { OfPort::CONTROLLER } else { po.in_port };
        let br = sw.bridges.get(bridge).ok_or(OfError::BadRequest(BadRequest::BadPort))?;
        let mut key = FlowKey::ZERO;
        let offsets = key.extract(&po.data, in_port.0).map_err(|_| OfError::BadRequest(BadRequest::BadPacket))?;
        let in_dp_port = br.ports.get(&in_port).map_or(0, |p| p.dp_port);
        let pipeline = br.writer.snapshot();
        let conf = br.dp.xlate.load_full();
        let now_ms = sw.dp.now_ms();
        let out = xlate_packet_out(
            &XlateInput { pipeline: &pipeline, bridge: &conf.bridge, macs: &br.dp.macs, key, now_ms, may_learn: true, trace: false },
            &po.actions,
        );
        if let Some(e) = out.error {
            vlog::warn("ofserver", &format!("{bridge}: packet-out dropped: {e}"));
            return Ok(());
        }
        let mut pkt = PacketBuf::from_slice(&po.data);
        pkt.meta.in_port = in_dp_port;
        pkt.meta.l3_ofs = offsets.l3;
        pkt.meta.l4_ofs = offsets.l4;
        self.execute(sw, bridge, in_dp_port, &out.actions, pkt);
        Ok(())
    }

    /// Runs datapath actions on one packet (the control thread's counterpart of the PMD's
    /// `execute_actions`).
    fn execute(&mut self, sw: &mut Switch, bridge: &str, in_dp_port: u32, actions: &[DpAction], mut pkt: PacketBuf) {
        let n = actions.len();
        for (i, a) in actions.iter().enumerate() {
            match a {
                DpAction::Output(port) => {
                    let p = if i + 1 == n { std::mem::take(&mut pkt) } else { pkt.duplicate() };
                    transmit(sw, *port, p);
                }
                DpAction::Controller(c) => {
                    let pi = PacketIn { bridge: bridge.to_string(), dp_port: in_dp_port, action: (**c).clone(), packet: pkt.data().to_vec() };
                    self.packet_in(sw, &pi, Instant::now());
                }
                other => {
                    if let Err(e) = other.apply(&mut pkt) {
                        vlog::warn("ofserver", &format!("{bridge}: packet-out dropped: {other} failed ({e:?})"));
                        return;
                    }
                }
            }
        }
    }
}

/// Sends one packet on a datapath port with the control thread's transmit handle.
fn transmit(sw: &mut Switch, dp_port: u32, pkt: PacketBuf) {
    let Some(txq) = sw.control_txqs.get_mut(&dp_port) else { return };
    let mut batch = PacketBatch::new();
    if batch.push(pkt).is_err() {
        return;
    }
    txq.tx_burst(&mut batch);
    txq.flush();
    batch.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_ports_a_packet_can_come_from() {
        for ok in [OfPort(1), OfPort(0xfeff), OfPort::LOCAL, OfPort::CONTROLLER, OfPort::ANY] {
            assert!(valid_in_port(ok), "{ok}");
        }
        for bad in [OfPort::IN_PORT, OfPort::TABLE, OfPort::NORMAL, OfPort::FLOOD, OfPort::ALL] {
            assert!(!valid_in_port(bad), "{bad}");
        }
    }
}
