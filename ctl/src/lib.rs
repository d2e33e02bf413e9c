//! Command-line clients of `rvs-vswitchd`, in the image of Open vSwitch's tools.
//!
//! The clients are thin: they send their arguments over the daemon's management socket and
//! print what comes back, so that all parsing, checking and wording happens in one place, the
//! daemon (for `rvs-vsctl`, `rvs_dataplane::vsctl`). Only what must work without a daemon
//! (`--help`, `--version`) and the client's own timeout are handled here.
//!
//! * `rvs-vsctl`: `ovs-vsctl` — bridges, ports, interfaces and the configuration database.
//! * `rvs-appctl`: `ovs-appctl` — runtime commands of the daemon.
//! * `rvs-ofctl`: `ovs-ofctl` — an OpenFlow client of the bridge sockets ([`ofctl`]). Unlike
//!   the other two it speaks OpenFlow itself, so that it also works against Open vSwitch.
//!
//! [`mgmt`] holds the protocol (one JSON line each way) and [`mgmt::call`].
#![warn(missing_docs)]

pub mod mgmt;
pub mod ofctl;
