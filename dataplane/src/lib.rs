//! `rvs-vswitchd`: the switch daemon.
//!
//! * [`pmd_loop`]: PMD threads (poll, classify, upcall, act, transmit); [`pmd_stats`] their
//!   counters; [`drops`] why packets are dropped.
//! * [`datapath`]: what PMDs share with the rest (datapath ports, bridges' tables).
//! * [`revalidator`]: keeps megaflows true to the OpenFlow tables; credits rule counters.
//! * [`switch`]: bridges, ports and PMD placement, owned by the control thread.
//! * [`config`] and [`store`]: the configuration model and its on-disk store.
//! * [`appctl`] and [`odp_format`]: `rvs-appctl` commands and the datapath flow format.
#![warn(missing_docs)]

pub mod appctl;
pub mod appctl_pmd;
pub mod config;
pub mod daemon;
pub mod datapath;
pub mod dpdk_init;
pub mod drops;
pub mod groups;
pub mod odp_format;
pub mod ofserver;
pub mod pmd_loop;
pub mod pmd_perf;
pub mod pmd_sched;
pub mod pmd_stats;
pub mod revalidator;
pub mod sched;
pub mod status;
pub mod store;
pub mod switch;
pub mod trace;
pub mod testkit;
pub mod vlog;
pub mod vsctl;
