//! Group messages, independent of wire version: group-mod and the group statistics,
//! description and features replies. The group model itself (types, buckets) is
//! [`rvs_flowcache::group`]'s.
//!
//! OpenFlow 1.3 carries them as `OFPT_GROUP_MOD` (15) and the multipart types `GROUP` (6),
//! `GROUP_DESC` (7) and `GROUP_FEATURES` (8) ([`crate::v13::group`]). OpenFlow 1.0 has no
//! groups; Open vSwitch carries them there in Nicira extension messages with OpenFlow 1.5's
//! layout (`NXT_GROUP_MOD`, `NXST_GROUP`, `NXST_GROUP_DESC`, `NXST_GROUP_FEATURES`,
//! [`crate::v10`]'s `group` module), which also carry bucket ids.

pub use rvs_flowcache::group::{Bucket, GroupType, ALL_GROUPS, ANY_GROUP, MAX_BUCKET, MAX_GROUP};

/// `OFPGC_*`: what a group-mod does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupModCommand {
    /// Add a new group.
    Add,
    /// Replace an existing group's type and buckets.
    Modify,
    /// Delete a group (or every group, with [`ALL_GROUPS`]).
    Delete,
}

impl GroupModCommand {
    /// The wire number.
    pub const fn to_wire(self) -> u16 {
        match self {
            GroupModCommand::Add => 0,
            GroupModCommand::Modify => 1,
            GroupModCommand::Delete => 2,
        }
    }

    /// The command of a wire number.
    pub fn from_wire(v: u16) -> Option<GroupModCommand> {
        Some(match v {
            0 => GroupModCommand::Add,
            1 => GroupModCommand::Modify,
            2 => GroupModCommand::Delete,
            _ => return None,
        })
    }

    /// The name `ovs-ofctl` prints (`ADD`, `MOD`, `DEL`).
    pub const fn name(self) -> &'static str {
        match self {
            GroupModCommand::Add => "ADD",
            GroupModCommand::Modify => "MOD",
            GroupModCommand::Delete => "DEL",
        }
    }
}

/// A group-mod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMod {
    /// What to do.
    pub command: GroupModCommand,
    /// The group's type (ignored by delete).
    pub group_type: GroupType,
    /// The group.
    pub group_id: u32,
    /// The buckets (ignored by delete).
    pub buckets: Vec<Bucket>,
}

/// One group in a group description reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupDesc {
    /// Type.
    pub group_type: GroupType,
    /// Group.
    pub group_id: u32,
    /// Buckets.
    pub buckets: Vec<Bucket>,
}

/// One group in a group statistics reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupStats {
    /// Group.
    pub group_id: u32,
    /// Flows (and groups) that send to the group.
    pub ref_count: u32,
    /// Packets.
    pub packet_count: u64,
    /// Bytes.
    pub byte_count: u64,
    /// Seconds since the group was added.
    pub duration_sec: u32,
    /// Nanoseconds beyond `duration_sec`.
    pub duration_nsec: u32,
    /// Per bucket: packets and bytes.
    pub buckets: Vec<(u64, u64)>,
}

/// The group features reply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupFeatures {
    /// Supported types (bit `1 << OFPGT_*`).
    pub types: u32,
    /// `OFPGFC_*` capabilities.
    pub capabilities: u32,
    /// Most groups of each type.
    pub max_groups: [u32; 4],
    /// Supported actions of each type (bit `1 << OFPAT_*`, OpenFlow 1.3 numbering).
    pub actions: [u32; 4],
}

/// `OFPGFC_*` group capabilities.
pub mod group_caps {
    /// `select` groups honour bucket weights.
    pub const SELECT_WEIGHT: u32 = 1 << 0;
    /// `select` groups skip dead buckets.
    pub const SELECT_LIVENESS: u32 = 1 << 1;
    /// Buckets may send to groups.
    pub const CHAINING: u32 = 1 << 2;
    /// Chaining loops are checked for.
    pub const CHAINING_CHECKS: u32 = 1 << 3;
}
