//! Translation of `multipath` and `bundle`/`bundle_load` (see [`crate::hashsel`] for the
//! hashes and choices, which are Open vSwitch's).
//!
//! The hashed fields are read through [`Ctx::read`], so the megaflow holds exactly them.
//! A bundle's choice also depends on which member ports are live (link up, not
//! administratively down, as [`crate::group::GroupTable::live_ports`] says): the control
//! side republishes the translation configuration, and so revalidates the megaflows, when
//! that set changes.

use super::Ctx;
use crate::hashsel::{choose_link, choose_member, hash_fields, Bundle, Multipath};
use crate::ofp::OfPort;

impl Ctx<'_> {
    /// `multipath`: hash, choose a link, write it into the destination.
    pub(super) fn multipath(&mut self, mp: &Multipath) {
        let hash = hash_fields(mp.fields, mp.basis, |f| self.read(f));
        let link = choose_link(hash, mp.algorithm, u32::from(mp.max_link) + 1, mp.arg);
        if self.check(mp.dst.field.desc().prereq) {
            self.write(mp.dst.field, u128::from(link) << mp.dst.ofs, mp.dst.mask());
        }
        self.trace_note(format!("multipath: hash {hash:#x}, link {link}"));
    }

    /// `bundle`: output to the chosen live member; `bundle_load`: write its number (0xffff
    /// when none is live) into the destination.
    pub(super) fn bundle(&mut self, b: &Bundle) {
        let bridge = self.bridge();
        let live = |p: OfPort| match p {
            OfPort::IN_PORT | OfPort::TABLE | OfPort::NORMAL | OfPort::FLOOD | OfPort::ALL | OfPort::ANY => true,
            OfPort::CONTROLLER => false,
            p => bridge.ports.contains_key(&p) && bridge.groups.live_ports.contains(&p),
        };
        let chosen = choose_member(b, live, || hash_fields(b.fields, b.basis, |f| self.read(f)));
        match (&b.dst, chosen) {
            (Some(dst), _) => {
                let v = chosen.map_or(0xffff, OfPort::to_ofp10);
                if self.check(dst.field.desc().prereq) {
                    self.write(dst.field, u128::from(v) << dst.ofs, dst.mask());
                }
            }
            (None, Some(p)) => self.output(p, 0),
            (None, None) => self.trace_note("bundle: no live member, dropping".to_string()),
        }
    }
}
