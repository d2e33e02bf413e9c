//! Table features (`OFPMP_TABLE_FEATURES`): what each flow table of a switch can match, set
//! and do, independent of wire version.
//!
//! # The message
//! A controller asks with an empty `OFPMP_TABLE_FEATURES` request; the switch answers with one
//! [`TableFeatures`] per table. Each carries a list of properties ([`TableFeatureProp`]): the
//! instructions a rule may use, the tables `goto_table` may jump to, the actions of
//! `write_actions` and `apply_actions`, the fields a match may contain (with or without a
//! mask), the fields that may be wildcarded, and the fields `set_field` may write. Most come
//! in two flavours, for ordinary rules and for the table-miss rule (`miss: true`). A request
//! with a body asks the switch to reconfigure its tables; rvs refuses those
//! (`OFPTFFC_EPERM`), as its tables are fixed.
//!
//! `ovs-ofctl` sends the empty request before `add-flow`, `dump-flows` with a filter and the
//! other commands that accept table names, and gives up if the answer is an error. With 254
//! tables the reply is far larger than one OpenFlow message, so it travels as several with the
//! "more" flag ([`crate::msg::encode_multipart_reply`]); a table's entry is never split.
//!
//! # Identifiers on the wire
//! Instructions and actions are listed by type ([`InstructionId`], [`ActionId`]: the `OFPIT_*`
//! and `OFPAT_*` numbers). Fields are listed by their OXM or NXM header ([`OxmId`]); the
//! `hasmask` bit of a header in the match property says that the field takes an arbitrary
//! mask. In the wildcard and set-field properties it must be clear (Open vSwitch rejects the
//! whole reply otherwise).
//!
//! # What rvs announces
//! [`rvs_table_features`] describes the tables of `rvs-vswitchd`: every field of the flowcache
//! field table that has an OpenFlow 1.3 header (maskable where the field is), every field
//! `set_field` can write, the instructions and the OpenFlow action types the rvs action model
//! can hold, and `goto_table` to any later table.

use crate::oxm::{self, CLASS_EXPERIMENTER};
use rvs_flowcache::field::{Field, Maskable};

/// An instruction type (`OFPIT_*`).
pub type InstructionId = u16;

/// An action type (`OFPAT_*`).
pub type ActionId = u16;

/// `OFPIT_*` instruction types.
pub mod instruction {
    /// `goto_table`.
    pub const GOTO_TABLE: u16 = 1;
    /// `write_metadata`.
    pub const WRITE_METADATA: u16 = 2;
    /// `write_actions`.
    pub const WRITE_ACTIONS: u16 = 3;
    /// `apply_actions`.
    pub const APPLY_ACTIONS: u16 = 4;
    /// `clear_actions`.
    pub const CLEAR_ACTIONS: u16 = 5;
    /// `meter`.
    pub const METER: u16 = 6;
}

/// `OFPAT_*` action types (OpenFlow 1.3 numbering).
pub mod action {
    /// Output to a port.
    pub const OUTPUT: u16 = 0;
    /// Copy TTL outwards.
    pub const COPY_TTL_OUT: u16 = 11;
    /// Copy TTL inwards.
    pub const COPY_TTL_IN: u16 = 12;
    /// Set the MPLS TTL.
    pub const SET_MPLS_TTL: u16 = 15;
    /// Decrement the MPLS TTL.
    pub const DEC_MPLS_TTL: u16 = 16;
    /// Push a VLAN tag.
    pub const PUSH_VLAN: u16 = 17;
    /// Pop the outer VLAN tag.
    pub const POP_VLAN: u16 = 18;
    /// Push an MPLS label.
    pub const PUSH_MPLS: u16 = 19;
    /// Pop the outer MPLS label.
    pub const POP_MPLS: u16 = 20;
    /// Set the output queue.
    pub const SET_QUEUE: u16 = 21;
    /// Apply a group.
    pub const GROUP: u16 = 22;
    /// Set the IP TTL.
    pub const SET_NW_TTL: u16 = 23;
    /// Decrement the IP TTL.
    pub const DEC_NW_TTL: u16 = 24;
    /// Set a header field.
    pub const SET_FIELD: u16 = 25;
    /// Push a PBB service tag.
    pub const PUSH_PBB: u16 = 26;
    /// Pop the outer PBB service tag.
    pub const POP_PBB: u16 = 27;
}

/// A field as listed in a table-features property: its OXM/NXM header and, for experimenter
/// OXMs (class `0xffff`), the experimenter id that follows the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OxmId {
    /// The 32-bit header: `class(16) field(7) hasmask(1) length(8)`.
    pub header: u32,
    /// The experimenter id (experimenter OXMs only).
    pub experimenter: Option<u32>,
}

impl OxmId {
    /// The id of `field` under its OpenFlow 1.3 header, with the `hasmask` bit if `masked`.
    /// `None` for fields without a wire header.
    pub fn of_field(field: Field, masked: bool) -> Option<OxmId> {
        let e = oxm::entry_v13(field)?;
        Some(OxmId {
            header: e.header(masked),
            experimenter: (e.class == CLASS_EXPERIMENTER).then_some(e.experimenter),
        })
    }

    /// The OXM class.
    pub fn class(self) -> u16 {
        (self.header >> 16) as u16
    }

    /// The `hasmask` bit.
    pub fn has_mask(self) -> bool {
        self.header & 0x100 != 0
    }

    /// The same id with the `hasmask` bit clear (and the length of an unmasked entry).
    pub fn without_mask(self) -> OxmId {
        if !self.has_mask() {
            return self;
        }
        let exp = if self.class() == CLASS_EXPERIMENTER { 4 } else { 0 };
        let payload = (self.header & 0xff).saturating_sub(exp) / 2;
        OxmId { header: (self.header & !0x1ff) | (payload + exp), experimenter: self.experimenter }
    }

    /// The rvs field this header stands for, if rvs knows it.
    pub fn field(self) -> Option<Field> {
        oxm::entry_by_header(self.header, self.experimenter.unwrap_or(0)).map(|e| e.field)
    }

    /// Bytes on the wire.
    pub fn wire_len(self) -> usize {
        if self.experimenter.is_some() {
            8
        } else {
            4
        }
    }
}

/// One property of a table's features.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TableFeatureProp {
    /// `OFPTFPT_INSTRUCTIONS` (`_MISS`): instructions a rule may use.
    Instructions {
        /// For the table-miss rule.
        miss: bool,
        /// Instruction types.
        ids: Vec<InstructionId>,
    },
    /// `OFPTFPT_NEXT_TABLES` (`_MISS`): tables `goto_table` may name.
    NextTables {
        /// For the table-miss rule.
        miss: bool,
        /// Table ids.
        tables: Vec<u8>,
    },
    /// `OFPTFPT_WRITE_ACTIONS` (`_MISS`): actions `write_actions` may hold.
    WriteActions {
        /// For the table-miss rule.
        miss: bool,
        /// Action types.
        ids: Vec<ActionId>,
    },
    /// `OFPTFPT_APPLY_ACTIONS` (`_MISS`): actions `apply_actions` may hold.
    ApplyActions {
        /// For the table-miss rule.
        miss: bool,
        /// Action types.
        ids: Vec<ActionId>,
    },
    /// `OFPTFPT_MATCH`: fields a match may contain (`hasmask`: with an arbitrary mask).
    Match(Vec<OxmId>),
    /// `OFPTFPT_WILDCARDS`: fields that may be left out of a match.
    Wildcards(Vec<OxmId>),
    /// `OFPTFPT_WRITE_SETFIELD` (`_MISS`): fields `set_field` may write in `write_actions`.
    WriteSetfield {
        /// For the table-miss rule.
        miss: bool,
        /// Fields.
        fields: Vec<OxmId>,
    },
    /// `OFPTFPT_APPLY_SETFIELD` (`_MISS`): fields `set_field` may write in `apply_actions`.
    ApplySetfield {
        /// For the table-miss rule.
        miss: bool,
        /// Fields.
        fields: Vec<OxmId>,
    },
    /// `OFPTFPT_EXPERIMENTER` (`_MISS`), not interpreted.
    Experimenter {
        /// For the table-miss rule.
        miss: bool,
        /// Experimenter id.
        experimenter: u32,
        /// Experimenter-defined type.
        exp_type: u32,
        /// The rest of the property.
        data: Vec<u8>,
    },
}

/// The features of one table (`ofp_table_features`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableFeatures {
    /// The table.
    pub table_id: u8,
    /// Its name (up to 31 bytes; empty for none).
    pub name: String,
    /// Metadata bits a match may test.
    pub metadata_match: u64,
    /// Metadata bits `write_metadata` may set.
    pub metadata_write: u64,
    /// `OFPTC_*` capabilities (none are defined in OpenFlow 1.3).
    pub config: u32,
    /// The most rules the table can hold.
    pub max_entries: u32,
    /// The properties, in wire order.
    pub properties: Vec<TableFeatureProp>,
}

/// The rules one table of `rvs-vswitchd` can hold (the classifier has no fixed limit; this is
/// what we promise, the figure Open vSwitch announces for its own tables).
pub const RVS_MAX_ENTRIES: u32 = 1_000_000;

/// Fields rvs can match, each once, under its OpenFlow 1.3 header: `(id, maskable)`.
fn rvs_match_fields() -> Vec<(OxmId, bool)> {
    let mut out: Vec<(OxmId, bool)> = Vec::new();
    for &f in Field::ALL {
        let maskable = f.desc().maskable == Maskable::Bitwise;
        let Some(id) = OxmId::of_field(f, false) else { continue };
        if out.iter().any(|(seen, _)| *seen == id) {
            continue;
        }
        out.push((id, maskable));
    }
    out
}

/// Fields `set_field` can write in rvs, under their OpenFlow 1.3 headers.
fn rvs_set_fields() -> Vec<OxmId> {
    let mut out: Vec<OxmId> = Vec::new();
    for &f in Field::ALL {
        if !f.desc().writable {
            continue;
        }
        if let Some(id) = OxmId::of_field(f, false) {
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    out
}

/// The OpenFlow action types the rvs action model holds: `output`, `set_queue` (of
/// `enqueue`), `push_vlan`, `pop_vlan`, `mod_nw_ttl`, `dec_ttl` and `set_field`. (`resubmit`,
/// `load`, `move`, `note` and `controller(...)` are Nicira experimenter actions, which the
/// property cannot list.)
pub const RVS_ACTIONS: &[ActionId] = &[
    action::OUTPUT,
    action::PUSH_VLAN,
    action::POP_VLAN,
    action::SET_QUEUE,
    action::SET_NW_TTL,
    action::DEC_NW_TTL,
    action::SET_FIELD,
];

/// The features of the tables `0..n_tables` of `rvs-vswitchd`, in the property order Open
/// vSwitch uses: instructions, next tables, write actions, write set-fields, apply actions,
/// apply set-fields (each for ordinary rules, then for the table-miss rule), match,
/// wildcards.
pub fn rvs_table_features(n_tables: u8) -> Vec<TableFeatures> {
    let matchable = rvs_match_fields();
    let match_ids: Vec<OxmId> =
        matchable.iter().map(|&(id, maskable)| if maskable { masked_id(id) } else { id }).collect();
    let wildcards: Vec<OxmId> = matchable.iter().map(|&(id, _)| id).collect();
    let set_fields = rvs_set_fields();
    (0..n_tables)
        .map(|t| {
            let last = t + 1 >= n_tables;
            let mut instructions = vec![
                instruction::WRITE_METADATA,
                instruction::WRITE_ACTIONS,
                instruction::APPLY_ACTIONS,
                instruction::CLEAR_ACTIONS,
            ];
            if !last {
                instructions.insert(0, instruction::GOTO_TABLE);
            }
            let next: Vec<u8> = (t + 1..n_tables).collect();
            let mut properties = Vec::new();
            for miss in [false, true] {
                properties.push(TableFeatureProp::Instructions { miss, ids: instructions.clone() });
                properties.push(TableFeatureProp::NextTables { miss, tables: next.clone() });
                properties.push(TableFeatureProp::WriteActions { miss, ids: RVS_ACTIONS.to_vec() });
                properties.push(TableFeatureProp::WriteSetfield { miss, fields: set_fields.clone() });
                properties.push(TableFeatureProp::ApplyActions { miss, ids: RVS_ACTIONS.to_vec() });
                properties.push(TableFeatureProp::ApplySetfield { miss, fields: set_fields.clone() });
            }
            properties.push(TableFeatureProp::Match(match_ids.clone()));
            properties.push(TableFeatureProp::Wildcards(wildcards.clone()));
            TableFeatures {
                table_id: t,
                name: String::new(),
                metadata_match: u64::MAX,
                metadata_write: u64::MAX,
                config: 0,
                max_entries: RVS_MAX_ENTRIES,
                properties,
            }
        })
        .collect()
}

/// `id` with the `hasmask` bit set and the length of a masked entry.
fn masked_id(id: OxmId) -> OxmId {
    let exp = if id.class() == CLASS_EXPERIMENTER { 4 } else { 0 };
    let payload = (id.header & 0xff) - exp;
    OxmId { header: (id.header & !0x1ff) | 0x100 | (payload * 2 + exp), experimenter: id.experimenter }
}
