//! Command-line clients of `rvs-vswitchd`, in the image of Open vSwitch's tools.
//!
//! The clients are thin: they send their arguments over the daemon's management socket and
//! print what comes back, so that all parsing, checking and wording happens in one place, the
//! daemon (for `rvs-vsctl`, `rvs_dataplane::vsctl`). Only what must work without a daemon
//! (`--help`, `--version`) and the client's own timeout are handled here.
//!
//! * `rvs-vsctl`: `ovs-vsctl` — bridges, ports, interfaces and the configuration database.
//! * `rvs-appctl`: `ovs-appctl` — runtime commands of the daemon.
//!
//! [`mgmt`] holds the protocol (one JSON line each way) and [`mgmt::call`]. A further client
//! (`rvs-ofctl`) is meant to live here too, with its own [`mgmt::Tool`].
#![warn(missing_docs)]

pub mod mgmt;
