//! The `rvs-vsctl` command engine: `ovs-vsctl` command lines applied to a [`SwitchConfig`].
//!
//! # What
//! The daemon receives the arguments a user gave `rvs-vsctl` and calls [`run`] with its current
//! configuration and a [`VsctlStatus`] (what it knows at run time: OpenFlow port numbers, link
//! states, errors). [`run`] returns the new desired configuration and the text to print; the
//! daemon then stores the configuration and reconciles its bridges and ports to it. The engine
//! is pure: no I/O, no clock, no threads, so every behaviour is testable with plain values.
//!
//! # Transactions
//! As with `ovs-vsctl`, all commands of one invocation (separated by `--`) form one
//! transaction. They are checked first (OVS's "prerequisites": command names, options,
//! argument counts, table and column names), then run in order on a copy of the configuration;
//! each command sees the changes of the commands before it (`add-port br0 p1 -- set Interface p1
//! type=internal`). The first error abandons the copy: nothing changes and the error is
//! returned. `--dry-run` runs everything and prints the output but keeps the old configuration.
//!
//! # Compatibility
//! Syntax, output layouts and error messages are those of `ovs-vsctl` 3.1; the tests compare
//! them with fixtures recorded from the real tool (`tests/vsctl_fixtures/gen.sh`). Where rvs
//! differs, it says so in its message or below:
//! * Tables: `Open_vSwitch`, `Bridge`, `Port`, `Interface`; columns: see [`supported_columns`].
//!   Other tables and columns of the OVS schema are recognised and refused ("not supported by
//!   rvs"), never silently ignored. `list` without `--columns` prints the supported columns only.
//! * Records have no stored UUIDs: `_uuid` values are synthesized from table and name (stable,
//!   consistent across commands, accepted as record names). Reference columns hold names:
//!   `Bridge:ports`, `Port:interfaces`, `Open_vSwitch:bridges` list names, `Bridge:controller`
//!   lists targets.
//! * `ovs_version` (column and `show` line) is the rvs version, so that scripts reading it keep
//!   working; `show` starts with the synthesized `Open_vSwitch` UUID.
//! * Status columns (`ofport`, `error`, `link_state`, `admin_state`, `mac_in_use`,
//!   `statistics`, `datapath_id`) come from [`VsctlStatus`] and are read-only: setting them is
//!   refused as OVS refuses to set a bridge's `name`.
//! * Fake (VLAN) bridges, bonds (one interface per port), managers, SSL, `create`, `destroy`,
//!   `wait-until` and `--id` are refused. `Interface:type` accepts [`INTERFACE_TYPES`] only.
//! * Bridge names must be 1 to 15 characters without `/` or spaces (the daemon's rule).
//! * `add` refuses values beyond a column's maximum with db-ctl-base's own message, where
//!   `ovs-vsctl` 3.1 leaves it to the database server ("transaction error: ...").
//! * `Port:vlan_mode` does not offer `dot1q-tunnel`; `set-controller --inactivity-probe` and
//!   `--max-column-width` are refused. `get-manager`/`get-ssl` print nothing and
//!   `del-manager`/`del-ssl` do nothing (rvs has neither).
//! * Records are listed (`list`, `find`, `show`) in name order; OVS uses UUID order.
//! * Options about the database connection, waiting and logging (`--db`, `--no-wait`,
//!   `--timeout`, `--retry`, `-v`, SSL options, ...) are accepted and ignored here; the client
//!   uses `--timeout` itself. `--help` and `--version` are answered by the client.

mod bridge_cmds;
mod datum;
mod db_cmds;
mod options;
mod schema;
mod table;

use crate::config::SwitchConfig;

pub use schema::{supported_columns, INTERFACE_TYPES};

/// The version `show` and `Open_vSwitch:ovs_version` report.
pub const RVS_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runtime facts the engine may print but never changes.
pub trait VsctlStatus {
    /// The OpenFlow port number assigned to `iface`, `-1` if it could not be opened.
    fn ofport(&self, iface: &str) -> Option<i64>;
    /// Why `iface` could not be opened, e.g.
    /// `could not open network device eth9 (No such device)`.
    fn iface_error(&self, iface: &str) -> Option<String>;
    /// `(admin_up, link_up)` of `iface`.
    fn link_state(&self, iface: &str) -> Option<(bool, bool)>;
    /// The MAC address `iface` uses, as `aa:bb:cc:dd:ee:ff`.
    fn mac_in_use(&self, iface: &str) -> Option<String>;
    /// The datapath id of `bridge`.
    fn datapath_id(&self, bridge: &str) -> Option<u64>;
    /// Counters of `iface` (`rx_packets`, `tx_bytes`, ...).
    fn iface_statistics(&self, iface: &str) -> Option<Vec<(String, u64)>>;
}

/// A [`VsctlStatus`] that knows nothing (a daemon that has not opened anything yet).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoStatus;

impl VsctlStatus for NoStatus {
    fn ofport(&self, _: &str) -> Option<i64> {
        None
    }
    fn iface_error(&self, _: &str) -> Option<String> {
        None
    }
    fn link_state(&self, _: &str) -> Option<(bool, bool)> {
        None
    }
    fn mac_in_use(&self, _: &str) -> Option<String> {
        None
    }
    fn datapath_id(&self, _: &str) -> Option<u64> {
        None
    }
    fn iface_statistics(&self, _: &str) -> Option<Vec<(String, u64)>> {
        None
    }
}

/// The result of a successful invocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VsctlOutcome {
    /// The new desired configuration (equal to the old one for read-only commands and
    /// `--dry-run`).
    pub config: SwitchConfig,
    /// What `rvs-vsctl` prints on standard output.
    pub output: String,
    /// Whether `config` differs from the configuration passed in.
    pub changed: bool,
}

/// A failed invocation: nothing was changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VsctlError {
    /// The message, worded as `ovs-vsctl` words it, without the `rvs-vsctl: ` prefix. Empty
    /// when the tool prints nothing (`br-exists` of a missing bridge).
    pub message: String,
    /// The exit status: 1, or 2 for `br-exists` of a missing bridge.
    pub status: i32,
}

impl VsctlError {
    /// The exit status the client should exit with.
    pub fn exit_status(&self) -> i32 {
        self.status
    }
}

impl From<String> for VsctlError {
    fn from(message: String) -> VsctlError {
        VsctlError { message, status: 1 }
    }
}

impl From<&str> for VsctlError {
    fn from(message: &str) -> VsctlError {
        VsctlError::from(message.to_string())
    }
}

impl std::fmt::Display for VsctlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for VsctlError {}

/// The state one invocation works on.
pub(crate) struct Ctx<'a> {
    /// The working copy of the configuration.
    pub(crate) cfg: SwitchConfig,
    pub(crate) status: &'a dyn VsctlStatus,
}

/// What one command produced.
pub(crate) enum Output {
    Text(String),
    Table(table::OutTable),
}

type Handler = fn(&mut Ctx<'_>, &options::Command) -> Result<Output, VsctlError>;

fn handler(name: &str) -> Handler {
    use bridge_cmds::*;
    use db_cmds::*;
    match name {
        "show" => cmd_show,
        "emer-reset" => cmd_emer_reset,
        "add-br" => cmd_add_br,
        "del-br" => cmd_del_br,
        "list-br" => cmd_list_br,
        "br-exists" => cmd_br_exists,
        "br-to-vlan" => cmd_br_to_vlan,
        "br-to-parent" => cmd_br_to_parent,
        "br-set-external-id" => cmd_br_set_external_id,
        "br-get-external-id" => cmd_br_get_external_id,
        "list-ports" | "list-ifaces" => cmd_list_ports,
        "add-port" => cmd_add_port,
        "del-port" => cmd_del_port,
        "port-to-br" | "iface-to-br" => cmd_port_to_br,
        "get-controller" => cmd_get_controller,
        "del-controller" => cmd_del_controller,
        "set-controller" => cmd_set_controller,
        "get-fail-mode" => cmd_get_fail_mode,
        "del-fail-mode" => cmd_del_fail_mode,
        "set-fail-mode" => cmd_set_fail_mode,
        "get" => cmd_get,
        "set" => cmd_set,
        "add" => cmd_add,
        "remove" => cmd_remove,
        "clear" => cmd_clear,
        "list" => cmd_list,
        "find" => cmd_find,
        // init, comment, get-manager, del-manager, get-ssl, del-ssl: rvs has no managers and
        // no SSL configuration, so these print nothing and change nothing.
        _ => |_, _| Ok(Output::Text(String::new())),
    }
}

/// Runs one `rvs-vsctl` command line (`args`: everything after the program name).
pub fn run(current: &SwitchConfig, status: &dyn VsctlStatus, args: &[String]) -> Result<VsctlOutcome, VsctlError> {
    let (globals, commands) = options::parse(args)?;
    for cmd in &commands {
        db_cmds::prerequisites(cmd)?;
    }
    let mut ctx = Ctx { cfg: current.clone(), status };
    let mut outputs = Vec::with_capacity(commands.len());
    for cmd in &commands {
        outputs.push(handler(cmd.syntax.name)(&mut ctx, cmd)?);
    }
    let mut output = String::new();
    let mut tables = 0;
    for out in outputs {
        match out {
            Output::Table(t) => {
                t.format(&globals.style, tables, &mut output);
                tables += 1;
            }
            Output::Text(s) if globals.oneline => {
                for c in s.strip_suffix('\n').unwrap_or(&s).chars() {
                    match c {
                        '\n' => output.push_str("\\n"),
                        '\\' => output.push_str("\\\\"),
                        c => output.push(c),
                    }
                }
                output.push('\n');
            }
            Output::Text(s) => output.push_str(&s),
        }
    }
    let config = if globals.dry_run { current.clone() } else { ctx.cfg };
    let changed = config != *current;
    Ok(VsctlOutcome { config, output, changed })
}

/// After the daemon applied `after`, the warning `ovs-vsctl` prints (on standard error, with
/// exit status 0) for interfaces the invocation added that could not be opened, or `None`.
pub fn setup_warning(before: &SwitchConfig, after: &SwitchConfig, status: &dyn VsctlStatus) -> Option<String> {
    let added = after.bridges.values().flat_map(|b| b.ports.keys()).filter(|p| before.find_port(p).is_none());
    let dead: Vec<String> =
        added.filter(|p| status.ofport(p).is_none_or(|n| n == -1)).map(|p| format!("'{p}'")).collect();
    (!dead.is_empty())
        .then(|| format!("Error detected while setting up {}.  See rvs-vswitchd log for details.", dead.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_words(cfg: &SwitchConfig, line: &str) -> Result<VsctlOutcome, VsctlError> {
        let args: Vec<String> = line.split_whitespace().map(String::from).collect();
        run(cfg, &NoStatus, &args)
    }

    #[test]
    fn a_failing_command_changes_nothing() {
        let cfg = run_words(&SwitchConfig::default(), "add-br br0").unwrap().config;
        let err = run_words(&cfg, "add-port br0 p1 -- add-port br0 p1").unwrap_err();
        assert_eq!(err.message, "cannot create a port named p1 because a port named p1 already exists on bridge br0");
        assert_eq!(err.status, 1);
    }

    #[test]
    fn later_commands_see_earlier_changes() {
        let out = run_words(
            &SwitchConfig::default(),
            "add-br br0 -- add-port br0 p1 -- set Interface p1 type=internal options:k=v -- list-ports br0",
        )
        .unwrap();
        assert!(out.changed);
        assert_eq!(out.output, "p1\n");
        let iface = &out.config.bridges["br0"].ports["p1"].interface;
        assert_eq!(iface.kind, "internal");
        assert_eq!(iface.options["k"], "v");
    }

    #[test]
    fn br_exists_exits_2_silently() {
        let err = run_words(&SwitchConfig::default(), "br-exists br9").unwrap_err();
        assert_eq!((err.message.as_str(), err.status), ("", 2));
    }

    #[test]
    fn dry_run_keeps_the_configuration() {
        let out = run_words(&SwitchConfig::default(), "--dry-run add-br br0 -- list-br").unwrap();
        assert_eq!(out.output, "br0\n");
        assert!(!out.changed);
        assert!(out.config.bridges.is_empty());
    }

    #[test]
    fn warns_about_interfaces_that_failed() {
        struct Failed;
        impl VsctlStatus for Failed {
            fn ofport(&self, iface: &str) -> Option<i64> {
                Some(if iface == "eth9" { -1 } else { 1 })
            }
            fn iface_error(&self, _: &str) -> Option<String> {
                None
            }
            fn link_state(&self, _: &str) -> Option<(bool, bool)> {
                None
            }
            fn mac_in_use(&self, _: &str) -> Option<String> {
                None
            }
            fn datapath_id(&self, _: &str) -> Option<u64> {
                None
            }
            fn iface_statistics(&self, _: &str) -> Option<Vec<(String, u64)>> {
                None
            }
        }
        let before = run_words(&SwitchConfig::default(), "add-br br0").unwrap().config;
        let after = run_words(&before, "add-port br0 eth9 -- add-port br0 p2").unwrap().config;
        assert_eq!(
            setup_warning(&before, &after, &Failed).as_deref(),
            Some("Error detected while setting up 'eth9'.  See rvs-vswitchd log for details.")
        );
        assert_eq!(setup_warning(&before, &before, &Failed), None);
    }
}
