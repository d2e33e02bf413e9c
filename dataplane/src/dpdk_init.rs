//! DPDK initialisation from `Open_vSwitch . other_config`, as OVS does it: once per process, at
//! start when `dpdk-init` is already set, or as soon as it is set (`rvs-vsctl set Open_vSwitch .
//! other_config:dpdk-init=true`). The other `dpdk-*` keys are read at that moment only; changing
//! them later needs a restart, as in OVS, and the log says so.
//!
//! `dpdk-init=true` makes a failure fatal at start (the daemon exits, as OVS aborts);
//! `dpdk-init=try` logs it and runs without DPDK. A failure while running is logged and reported
//! to the `rvs-vsctl` that set the key; the switch keeps running.

use rvs_pmd::dpdk::{self, EalConfig, InitMode};

use crate::config::SwitchConfig;
use crate::vlog;

const MODULE: &str = "dpdk";

/// What [`apply`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to do (`dpdk-init` not set, or EAL already initialised).
    Unchanged,
    /// EAL was initialised just now.
    Initialised,
}

/// Initialises EAL if `cfg` asks for it and it is not done yet. `Err` carries the message for
/// the log and the user; `fatal` tells whether it is fatal at start (`dpdk-init=true`).
pub fn apply(cfg: &SwitchConfig) -> Result<Outcome, InitError> {
    let ec = EalConfig::from_other_config(&cfg.other_config).map_err(|m| InitError { msg: m, fatal: true })?;
    if ec.init == InitMode::Off {
        return Ok(Outcome::Unchanged);
    }
    if dpdk::initialized() {
        return Ok(Outcome::Unchanged);
    }
    let fatal = ec.init == InitMode::On;
    if !dpdk::BUILT_IN {
        let msg = "dpdk-init is set, but DPDK is not supported in this build of rvs-vswitchd (build with the cargo feature dpdk)";
        return Err(InitError { msg: msg.to_string(), fatal });
    }
    vlog::info(MODULE, "DPDK initialisation requested (dpdk-init)");
    let plan = ec.plan(dpdk::hugepages_free(), dpdk::first_allowed_cpu());
    for note in &plan.notes {
        vlog::info(MODULE, note);
    }
    vlog::info(MODULE, &format!("EAL ARGS: {}", plan.args.join(" ")));
    match dpdk::init(&plan) {
        Ok(()) => {
            vlog::info(MODULE, &format!("DPDK Enabled - initialized ({})", version()));
            Ok(Outcome::Initialised)
        }
        Err(msg) => Err(InitError { msg, fatal }),
    }
}

#[cfg(feature = "dpdk")]
fn version() -> String {
    dpdk::version()
}

#[cfg(not(feature = "dpdk"))]
fn version() -> String {
    String::new()
}

/// Why DPDK could not be initialised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitError {
    /// What went wrong.
    pub msg: String,
    /// `dpdk-init=true` (rather than `try`): fatal at start.
    pub fatal: bool,
}

impl std::fmt::Display for InitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}

/// Logs that `dpdk-*` keys changed after initialisation (they take effect at the next start).
pub fn note_changes(old: &SwitchConfig, new: &SwitchConfig) {
    if !dpdk::initialized() {
        return;
    }
    let dpdk_keys = |c: &SwitchConfig| {
        c.other_config.iter().filter(|(k, _)| k.starts_with("dpdk-") && k.as_str() != "dpdk-init").map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>()
    };
    if dpdk_keys(old) != dpdk_keys(new) {
        vlog::warn(MODULE, "DPDK is already initialised: changes to the dpdk-* options take effect after a restart");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_happens_without_dpdk_init() {
        let cfg = SwitchConfig::default();
        assert_eq!(apply(&cfg), Ok(Outcome::Unchanged));
    }

    #[cfg(not(feature = "dpdk"))]
    #[test]
    fn without_the_feature_init_fails_fatally_only_for_true() {
        let mut cfg = SwitchConfig::default();
        cfg.other_config.insert("dpdk-init".into(), "true".into());
        let e = apply(&cfg).unwrap_err();
        assert!(e.fatal && e.msg.contains("not supported"), "{e:?}");
        cfg.other_config.insert("dpdk-init".into(), "try".into());
        assert!(!apply(&cfg).unwrap_err().fatal);
    }
}
