//! OpenFlow 1.3 messages about the controller channel itself: port-mod, role request and
//! reply, and the asynchronous-message configuration (`OFPT_GET_ASYNC_*`, `OFPT_SET_ASYNC`).
//!
//! Decoding follows Open vSwitch: a body of the wrong size is `OFPBRC_BAD_LEN`; a role other
//! than the four OpenFlow defines is `OFPRRFC_BAD_ROLE`; port-mod configuration bits outside
//! those OpenFlow 1.1+ defines (`PORT_DOWN`, `NO_RECV`, `NO_FWD`, `NO_PACKET_IN`) are
//! ignored, as `ofputil_decode_port_mod` ignores them.

use crate::codec::{Put, Reader};
use crate::error::{BadRequest, DecodeError, OfError};
use crate::msg::{AsyncConfig, ControllerRole, PortMod, RoleMsg};
use rvs_flowcache::ofp::OfPort;
use rvs_packet::wire::MacAddr;

/// `OFPET_ROLE_REQUEST_FAILED`: the error type of role requests (this crate's [`OfError`]
/// carries it as [`OfError::Other`]).
pub const OFPET_ROLE_REQUEST_FAILED: u16 = 11;
/// `OFPRRFC_STALE`: the generation id is older than the current one.
pub const OFPRRFC_STALE: u16 = 0;
/// `OFPRRFC_BAD_ROLE`: the role is not one OpenFlow defines.
pub const OFPRRFC_BAD_ROLE: u16 = 2;

/// The `OFPPC_*` bits OpenFlow 1.1 and later define.
const PORT_CONFIG_BITS: u32 = 1 | (1 << 2) | (1 << 5) | (1 << 6);

const PORT_MOD_BODY: usize = 32;
const ROLE_BODY: usize = 16;
const ASYNC_BODY: usize = 24;

fn bad_len(detail: &'static str) -> DecodeError {
    DecodeError::new(BadRequest::BadLen, detail)
}

fn role_to_wire(r: ControllerRole) -> u32 {
    match r {
        ControllerRole::NoChange => 0,
        ControllerRole::Equal => 1,
        ControllerRole::Master => 2,
        ControllerRole::Slave => 3,
    }
}

fn role_from_wire(r: u32) -> Option<ControllerRole> {
    Some(match r {
        0 => ControllerRole::NoChange,
        1 => ControllerRole::Equal,
        2 => ControllerRole::Master,
        3 => ControllerRole::Slave,
        _ => return None,
    })
}

/// Writes the body of a port-mod.
pub(crate) fn put_port_mod(out: &mut Vec<u8>, pm: &PortMod) {
    out.put_u32(pm.port_no.0);
    out.put_zeros(4);
    out.extend_from_slice(&pm.hw_addr.0);
    out.put_zeros(2);
    out.put_u32(pm.config);
    out.put_u32(pm.mask);
    out.put_u32(pm.advertise);
    out.put_zeros(4);
}

/// Reads the body of a port-mod.
pub(crate) fn pull_port_mod(body: &[u8]) -> Result<PortMod, DecodeError> {
    if body.len() != PORT_MOD_BODY {
        return Err(bad_len("port_mod must be 40 bytes"));
    }
    let mut r = Reader::new(body, bad_len("truncated port_mod"));
    let port_no = OfPort(r.u32()?);
    r.skip(4)?;
    let hw_addr = MacAddr(r.array()?);
    r.skip(2)?;
    let config = r.u32()? & PORT_CONFIG_BITS;
    let mask = r.u32()? & PORT_CONFIG_BITS;
    let advertise = r.u32()?;
    Ok(PortMod { port_no, hw_addr, config, mask, advertise })
}

/// Writes the body of a role request or reply.
pub(crate) fn put_role(out: &mut Vec<u8>, m: &RoleMsg) {
    out.put_u32(role_to_wire(m.role));
    out.put_zeros(4);
    out.put_u64(m.generation_id);
}

/// Reads the body of a role request or reply.
pub(crate) fn pull_role(body: &[u8]) -> Result<RoleMsg, DecodeError> {
    if body.len() != ROLE_BODY {
        return Err(bad_len("role message must be 24 bytes"));
    }
    let mut r = Reader::new(body, bad_len("truncated role message"));
    let wire = r.u32()?;
    r.skip(4)?;
    let generation_id = r.u64()?;
    let role = role_from_wire(wire).ok_or(DecodeError {
        error: OfError::Other { type_: OFPET_ROLE_REQUEST_FAILED, code: OFPRRFC_BAD_ROLE },
        detail: "unknown controller role",
    })?;
    Ok(RoleMsg { role, generation_id })
}

/// Writes the body of a set-async or get-async reply.
pub(crate) fn put_async(out: &mut Vec<u8>, a: &AsyncConfig) {
    for m in a.packet_in_mask.iter().chain(&a.port_status_mask).chain(&a.flow_removed_mask) {
        out.put_u32(*m);
    }
}

/// Reads the body of a set-async or get-async reply.
pub(crate) fn pull_async(body: &[u8]) -> Result<AsyncConfig, DecodeError> {
    if body.len() != ASYNC_BODY {
        return Err(bad_len("async config must be 32 bytes"));
    }
    let mut r = Reader::new(body, bad_len("truncated async config"));
    let mut pair = || -> Result<[u32; 2], DecodeError> { Ok([r.u32()?, r.u32()?]) };
    Ok(AsyncConfig { packet_in_mask: pair()?, port_status_mask: pair()?, flow_removed_mask: pair()? })
}

#[cfg(test)]
mod tests {
    use crate::error::{BadRequest, OfError};
    use crate::msg::{decode, AsyncConfig, ControllerRole, OfMessage, PortMod, RoleMsg, Version};
    use rvs_flowcache::ofp::OfPort;
    use rvs_packet::wire::MacAddr;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// `ovs-ofctl -O OpenFlow13 mod-port br0 1 down` (port 1, MAC 02:00:00:00:00:01).
    const PORT_MOD: &str = "04100028000000020000000100000000020000000001000000000001000000010000000000000000";
    /// Role request: master, generation id 7.
    const ROLE_REQUEST: &str = "041800180000000300000002000000000000000000000007";
    /// Set-async: packet-in master NO_MATCH|ACTION, port-status all, flow-removed idle|hard.
    const SET_ASYNC: &str = "041c002000000004000000030000000000000007000000070000000300000000";

    fn round_trip(fixture: &str, want: OfMessage) {
        let bytes = hex(fixture);
        let (_, got) = decode(&bytes).expect("decodes");
        assert_eq!(got, want);
        let xid = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        assert_eq!(got.encode(Version::V1_3, xid).unwrap(), bytes);
        for n in 8..bytes.len() {
            let mut cut = bytes[..n].to_vec();
            cut[2..4].copy_from_slice(&(n as u16).to_be_bytes());
            assert_eq!(decode(&cut).unwrap_err().error, OfError::BadRequest(BadRequest::BadLen), "cut at {n}");
        }
    }

    #[test]
    fn port_mod_round_trips_and_rejects_truncation() {
        let bytes = hex(PORT_MOD);
        assert_eq!(bytes.len(), 40);
        let want = PortMod { port_no: OfPort(1), hw_addr: MacAddr([2, 0, 0, 0, 0, 1]), config: 1, mask: 1, advertise: 0 };
        round_trip(PORT_MOD, OfMessage::PortMod(want));
    }

    #[test]
    fn port_mod_ignores_bits_openflow_13_does_not_define() {
        let mut bytes = hex(PORT_MOD);
        // NO_FLOOD (an OpenFlow 1.0 bit) in both config and mask.
        bytes[27] = 0x11;
        bytes[31] = 0x11;
        let (_, m) = decode(&bytes).unwrap();
        let OfMessage::PortMod(pm) = m else { panic!("not a port-mod: {m:?}") };
        assert_eq!((pm.config, pm.mask), (1, 1));
    }

    #[test]
    fn role_request_round_trips() {
        let want = RoleMsg { role: ControllerRole::Master, generation_id: 7 };
        round_trip(ROLE_REQUEST, OfMessage::RoleRequest(want));
        let reply = OfMessage::RoleReply(RoleMsg { role: ControllerRole::Slave, generation_id: u64::MAX });
        let bytes = reply.encode(Version::V1_3, 9).unwrap();
        assert_eq!(bytes[1], 25);
        assert_eq!(decode(&bytes).unwrap().1, reply);
    }

    #[test]
    fn unknown_role_is_bad_role() {
        let mut bytes = hex(ROLE_REQUEST);
        bytes[11] = 9;
        assert_eq!(decode(&bytes).unwrap_err().error, OfError::Other { type_: 11, code: 2 });
    }

    #[test]
    fn async_config_round_trips() {
        let want = AsyncConfig { packet_in_mask: [3, 0], port_status_mask: [7, 7], flow_removed_mask: [3, 0] };
        round_trip(SET_ASYNC, OfMessage::SetAsync(want));
        let reply = OfMessage::GetAsyncReply(want).encode(Version::V1_3, 5).unwrap();
        assert_eq!((reply[1], reply.len()), (27, 32));
        assert_eq!(decode(&reply).unwrap().1, OfMessage::GetAsyncReply(want));
        let req = OfMessage::GetAsyncRequest.encode(Version::V1_3, 5).unwrap();
        assert_eq!(decode(&req).unwrap().1, OfMessage::GetAsyncRequest);
    }
}
