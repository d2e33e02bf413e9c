//! `--bundle`: flow-mods sent in one bundle, applied all together or not at all, as
//! `ovs-ofctl -O OpenFlow13 --bundle` sends them (the ONF bundle extension of OpenFlow 1.3).
//!
//! The flow-mods are encoded first (taking their xids), then: open the bundle (id 0, flags
//! atomic and ordered) and wait for its reply; add each flow-mod (the add carries the
//! flow-mod's xid); a barrier, collecting the switch's errors about the adds, each printed as
//! `Error NAME for: MESSAGE`; then commit, or discard if an add failed, in which case the run
//! ends with `talking to SWITCH (Protocol error)` as `ovs-ofctl` does.
//!
//! `ovs-ofctl --bundle` without `-O` speaks OpenFlow 1.4, which rvs-ofctl does not: it asks
//! for `-O OpenFlow13` instead.

use rvs_openflow::error::{OfError, ONF_EXPERIMENTER};
use rvs_openflow::msg::{OfMessage, Version};

use super::commands::{emit, Io};
use super::conn::{barrier_reply_type, fatal_io, type_of, xid_of, Connection, Fatal};
use super::print::ofp_to_string;
use super::session::Session;

const CONTROL: u32 = 2300;
const ADD: u32 = 2301;
const OPEN_REQUEST: u16 = 0;
const COMMIT_REQUEST: u16 = 4;
const DISCARD_REQUEST: u16 = 6;
/// Atomic and ordered.
const FLAGS: u16 = 3;
const OFPT_ERROR: u8 = 1;

fn control(kind: u16) -> OfMessage {
    let mut data = Vec::with_capacity(8);
    data.extend_from_slice(&0u32.to_be_bytes());
    data.extend_from_slice(&kind.to_be_bytes());
    data.extend_from_slice(&FLAGS.to_be_bytes());
    OfMessage::Experimenter { experimenter: ONF_EXPERIMENTER, exp_type: CONTROL, data }
}

/// The message inside an ONF bundle-add message, if `msg` is one.
fn inner_of_add(msg: &[u8]) -> Option<&[u8]> {
    let is_add = msg.len() >= 32
        && msg[1] == 4
        && msg[8..12] == ONF_EXPERIMENTER.to_be_bytes()
        && msg[12..16] == ADD.to_be_bytes();
    if !is_add {
        return None;
    }
    let inner = &msg[24..];
    let len = u16::from_be_bytes([inner[2], inner[3]]) as usize;
    inner.get(..len)
}

/// Sends `msg` with `xid` exactly.
fn send_with_xid(conn: &mut Connection, msg: &OfMessage, xid: u32) -> Result<(), Fatal> {
    let bytes = conn.session().encode(msg, xid).map_err(|e| Fatal(format!("{}: {e}", conn.name())))?;
    conn.write_raw(&bytes)
}

/// Sends a control message and waits for its answer; an error answer ends the run.
fn control_transact(s: &mut Session, conn: &mut Connection, kind: u16) -> Result<(), Fatal> {
    let xid = s.xids.alloc();
    send_with_xid(conn, &control(kind), xid)?;
    let reply = conn.recv_xid(xid).map_err(|e| fatal_io(format_args!("talking to {}", conn.name()), &e))?;
    if type_of(&reply) == OFPT_ERROR {
        return Err(Fatal(format!("talking to {} (Protocol error)", conn.name())));
    }
    Ok(())
}

/// Sends `msgs` in one bundle over `conn`; returns the exit status.
pub(crate) fn bundle_transact(s: &mut Session, conn: &mut Connection, msgs: Vec<OfMessage>, io: &mut Io<'_>) -> Result<i32, Fatal> {
    if conn.version() != Version::V1_3 {
        return Err(Fatal("--bundle needs -O OpenFlow13 (rvs-ofctl does not speak OpenFlow 1.4)".into()));
    }
    let mut inner = Vec::with_capacity(msgs.len());
    for m in &msgs {
        let xid = s.xids.alloc();
        inner.push((xid, conn.session().encode(m, xid).map_err(|e| Fatal(format!("{}: {e}", conn.name())))?));
    }
    control_transact(s, conn, OPEN_REQUEST)?;
    for (xid, bytes) in &inner {
        let mut data = Vec::with_capacity(bytes.len() + 16);
        data.extend_from_slice(&0u32.to_be_bytes());
        data.extend_from_slice(&0u16.to_be_bytes());
        data.extend_from_slice(&FLAGS.to_be_bytes());
        data.extend_from_slice(bytes);
        while (data.len() + 16) % 8 != 0 {
            data.push(0);
        }
        send_with_xid(conn, &OfMessage::Experimenter { experimenter: ONF_EXPERIMENTER, exp_type: ADD, data }, *xid)?;
    }
    let barrier = s.xids.alloc();
    send_with_xid(conn, &OfMessage::BarrierRequest, barrier)?;
    let mut failed = false;
    loop {
        let m = conn.recv().map_err(|e| fatal_io(format_args!("talking to {}", conn.name()), &e))?;
        if xid_of(&m) == barrier && type_of(&m) == barrier_reply_type(conn.version()) {
            break;
        }
        if type_of(&m) == OFPT_ERROR && inner.iter().any(|(x, _)| *x == xid_of(&m)) {
            failed = true;
            if let Ok((_, OfMessage::Error(e))) = conn.session().decode(&m) {
                let name = match e.error {
                    OfError::Experimenter { .. } | OfError::Other { .. } | OfError::Vendor { .. } => e.error.name(),
                    known => known.name(),
                };
                // The switch quotes the add message; the flow-mod inside it is what failed.
                let quoted = inner_of_add(&e.data).unwrap_or(&e.data);
                emit(io.err, &format!("Error {name} for: {}", ofp_to_string(quoted, None, s.opts.verbosity + 1)))?;
            }
        }
    }
    if failed {
        control_transact(s, conn, DISCARD_REQUEST)?;
        return Err(Fatal(format!("talking to {} (Protocol error)", conn.name())));
    }
    control_transact(s, conn, COMMIT_REQUEST)?;
    Ok(0)
}
