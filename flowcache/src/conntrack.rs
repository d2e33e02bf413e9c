//! The connection tracking actions of the OpenFlow model: `ct(...)`, `nat(...)` (only inside
//! `ct`) and `ct_clear`, as ovs-actions(7) describes them.
//!
//! rvs has no connection tracker yet. These types exist so that flows using the actions
//! parse, print and encode exactly as with Open vSwitch (`ovs-ofctl parse-flow` works), but
//! the switch refuses a flow-mod or packet-out carrying them with `OFPBAC_BAD_TYPE` (what
//! Open vSwitch answers on a datapath without conntrack support); nothing here is executed,
//! and translation drops a packet that reaches one of them.

use serde::{Deserialize, Serialize};

use crate::ofp::{OfAction, SubField};

/// `ct` flag `commit`.
pub const CT_COMMIT: u16 = 1;
/// `ct` flag `force`.
pub const CT_FORCE: u16 = 2;

/// The zone of a `ct` action.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CtZone {
    /// A constant (`zone=5`; 0 is the default zone).
    Imm(u16),
    /// Read from 16 bits of a field (`zone=NXM_NX_REG0[0..15]`).
    Field(SubField),
}

/// `ct(...)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Ct {
    /// [`CT_COMMIT`], [`CT_FORCE`].
    pub flags: u16,
    /// Zone.
    pub zone: CtZone,
    /// Table to continue in with the connection state (`None`: no recirculation).
    pub table: Option<u8>,
    /// Application layer gateway: 0 none, 21 FTP, 69 TFTP.
    pub alg: u16,
    /// Nested actions: a `nat` and the `exec(...)` actions, in the order given.
    pub actions: Vec<OfAction>,
}

/// `nat` flag: source NAT.
pub const NAT_SRC: u16 = 1;
/// `nat` flag: destination NAT.
pub const NAT_DST: u16 = 2;
/// `nat` flag `persistent`.
pub const NAT_PERSISTENT: u16 = 4;
/// `nat` flag `hash`.
pub const NAT_HASH: u16 = 8;
/// `nat` flag `random`.
pub const NAT_RANDOM: u16 = 16;

/// The address range of a `nat` (a missing end is zero, as on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NatAddrs {
    /// No addresses.
    None,
    /// IPv4 first and last address.
    V4(u32, u32),
    /// IPv6 first and last address.
    V6(u128, u128),
}

/// `nat(...)` inside `ct(...)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Nat {
    /// `NAT_*` flags.
    pub flags: u16,
    /// Addresses.
    pub addrs: NatAddrs,
    /// First and last port (0 = none), meaningful only with addresses.
    pub ports: (u16, u16),
}
