//! Translating the action list of an OpenFlow packet-out.
//!
//! A packet-out carries a packet, an input port and a list of actions (no instructions). The
//! switch runs those actions on the packet once: [`xlate_packet_out`] turns them into datapath
//! actions for the packet's flow key, exactly as a rule's actions are translated, with the
//! packet-out rules of OpenFlow:
//!
//! * `output:TABLE` runs the packet through the OpenFlow pipeline from table 0 (then the
//!   action set the pipeline built, if any); it is valid only here, at the top level of a
//!   packet-out's actions.
//! * `output:IN_PORT` sends the packet back out of its input port; an output naming the input
//!   port itself is skipped, as in a rule.
//! * The input port may be `CONTROLLER` (no port): the key's `in_port` holds it, so rules that
//!   match a real port do not match, and `NORMAL` drops the packet (it has no input port).
//!
//! The result is a one-off: no megaflow is installed from it, so its mask is of no use (but
//! is computed all the same). `NORMAL` learns source addresses when `may_learn` is set.

use super::{Ctx, Entry, XlateInput, XlateOutput};
use crate::ofp::{OfAction, OfPort};

/// Translates `actions` for the packet whose key (with the OpenFlow input port in `in_port`)
/// is in `input`. See the module documentation.
pub fn xlate_packet_out(input: &XlateInput<'_>, actions: &[OfAction]) -> XlateOutput {
    let mut out = XlateOutput::default();
    let mut ctx = Ctx::new(input, &mut out);
    for (i, a) in actions.iter().enumerate() {
        if ctx.o.error.is_some() {
            break;
        }
        match a {
            OfAction::Output { port: OfPort::TABLE, .. } => {
                ctx.trace_note("output to TABLE: running the pipeline".to_string());
                ctx.run_table(0, Entry::Start);
                ctx.finish_action_set();
            }
            other => {
                if ctx.do_action(other, i + 1 == actions.len()) == super::Flow::Stop {
                    break;
                }
            }
        }
    }
    ctx.finish();
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::dpaction::DpAction;
    use crate::field::Field;
    use crate::key::FlowKey;
    use crate::mac_learning::MacTable;
    use crate::ofp::{FlowMod, FlowModCommand, PacketInReason};
    use crate::pipeline::Pipeline;
    use crate::xlate::{VlanConfig, XPort, XlateBridge};

    fn bridge() -> XlateBridge {
        let mut b = XlateBridge { name: "br0".into(), ..Default::default() };
        for p in 1..=3u32 {
            let xp = XPort { ofport: OfPort(p), dp_port: 10 + p, name: format!("p{p}"), vlan: VlanConfig::default(), no_flood: false, no_fwd: false };
            b.ports.insert(OfPort(p), xp);
        }
        b
    }

    fn key(in_port: OfPort) -> FlowKey {
        let mut k = FlowKey::ZERO;
        k.in_port = in_port.0;
        Field::EthType.set_masked(&mut k, 0x0800, u128::MAX);
        Field::EthDst.set_masked(&mut k, 0x0200_0000_0002, u128::MAX);
        Field::EthSrc.set_masked(&mut k, 0x0200_0000_0001, u128::MAX);
        k
    }

    fn run(pipeline: &Pipeline, in_port: OfPort, actions: &[OfAction]) -> Vec<DpAction> {
        let b = bridge();
        let macs = Mutex::new(MacTable::new(300_000, 1000));
        let input = XlateInput { pipeline, bridge: &b, macs: &macs, key: key(in_port), now_ms: 0, may_learn: true, trace: false };
        xlate_packet_out(&input, actions).actions
    }

    fn out(port: OfPort) -> OfAction {
        OfAction::Output { port, max_len: 0 }
    }

    #[test]
    fn outputs_and_in_port_follow_openflow() {
        let p = Pipeline::new();
        assert_eq!(run(&p, OfPort(1), &[out(OfPort(2))]), vec![DpAction::Output(12)]);
        // Output to the input port itself is skipped; IN_PORT sends it back.
        assert_eq!(run(&p, OfPort(1), &[out(OfPort(1))]), vec![]);
        assert_eq!(run(&p, OfPort(1), &[out(OfPort::IN_PORT)]), vec![DpAction::Output(11)]);
        // FLOOD: every port but the input port.
        assert_eq!(run(&p, OfPort(1), &[out(OfPort::FLOOD)]), vec![DpAction::Output(12), DpAction::Output(13)]);
        // From the controller, FLOOD reaches every port.
        assert_eq!(run(&p, OfPort::CONTROLLER, &[out(OfPort::FLOOD)]).len(), 3);
    }

    #[test]
    fn output_to_table_runs_the_pipeline_from_table_zero() {
        let mut p = Pipeline::new();
        let mut fm = FlowMod::new(FlowModCommand::Add);
        fm.match_.set(Field::InPort, 1);
        fm.actions = vec![OfAction::GotoTable(3)];
        p.apply(&fm, 0).unwrap();
        let mut fm3 = FlowMod::new(FlowModCommand::Add);
        fm3.table_id = 3;
        fm3.actions = vec![OfAction::SetEthDst(rvs_packet::wire::MacAddr([2, 0, 0, 0, 0, 9])), out(OfPort(3))];
        p.apply(&fm3, 0).unwrap();
        let acts = run(&p, OfPort(1), &[out(OfPort::TABLE)]);
        assert_eq!(acts.len(), 2, "{acts:?}");
        assert!(matches!(acts[0], DpAction::Set(_)));
        assert_eq!(acts[1], DpAction::Output(13));
        // A packet from another port misses table 0: nothing happens.
        assert_eq!(run(&p, OfPort(2), &[out(OfPort::TABLE)]), vec![]);
    }

    /// The bridge-wide switches of [`XlateBridge`] that the controller side sets apply to
    /// ordinary translation ([`crate::xlate::xlate`]).
    #[test]
    fn fail_open_switches_with_normal_and_no_recv_drops() {
        let mut p = Pipeline::new();
        let mut drop_all = FlowMod::new(FlowModCommand::Add);
        drop_all.priority = 65535;
        p.apply(&drop_all, 0).unwrap();
        let macs = Mutex::new(MacTable::new(300_000, 1000));
        let mut b = bridge();
        let translate = |b: &XlateBridge| {
            let input = XlateInput { pipeline: &p, bridge: b, macs: &macs, key: key(OfPort(1)), now_ms: 0, may_learn: true, trace: false };
            crate::xlate::xlate(&input)
        };
        assert_eq!(translate(&b).actions, vec![], "the drop rule applies");
        b.fail_open = true;
        let out = translate(&b);
        assert_eq!(out.actions, vec![DpAction::Output(12), DpAction::Output(13)], "NORMAL floods, above every rule");
        assert!(out.used_normal && out.rules.is_empty());
        b.no_recv.insert(OfPort(1));
        let out = translate(&b);
        assert_eq!(out.actions, vec![]);
        assert_eq!(out.wc.in_port, u32::MAX, "the drop depends on the input port only");
    }

    #[test]
    fn controller_actions_become_packet_ins_after_earlier_rewrites() {
        let p = Pipeline::new();
        let acts = run(&p, OfPort(2), &[OfAction::SetEthSrc(rvs_packet::wire::MacAddr([2, 0, 0, 0, 0, 7])), out(OfPort::CONTROLLER)]);
        assert_eq!(acts.len(), 2, "{acts:?}");
        let DpAction::Controller(c) = &acts[1] else { panic!("{acts:?}") };
        assert_eq!(c.reason, PacketInReason::Action);
        assert_eq!(c.pipeline_fields[0], (Field::InPort, 2));
    }
}
