//! `rvs-ofctl`: an OpenFlow client that behaves like `ovs-ofctl`.
//!
//! # Why a clone
//! Scripts written for `ovs-ofctl` must run unchanged against rvs, and the real `ovs-ofctl`
//! must work against `rvs-vswitchd`. So `rvs-ofctl` is not a thin client of the management
//! socket like `rvs-vsctl`: it speaks OpenFlow to the bridge socket
//! (`$RVS_RUNDIR/BRIDGE.mgmt`) or to any OpenFlow switch, and prints byte for byte what
//! `ovs-ofctl` prints, with its default protocols (OpenFlow 1.0 with Nicira extensions) and
//! with `-O OpenFlow13`, down to transaction ids and error text.
//!
//! # Pieces
//! * [`options`]: the command line (`getopt_long` rules, `-O`, `--strict`, `--names`, ...).
//! * [`conn`]: targets, connections, hello, and the transactions (`transact`, multipart
//!   dumps, flow-mod + barrier).
//! * [`session`]: the xid counter and the port and table names fetched from switches.
//! * [`names`]: name maps and ports in text.
//! * [`print`]: `ofp_to_string` for every message rvs-ofctl handles; [`print::switch`] and
//!   [`print::features`] hold the bodies that can be reused elsewhere (`show`, port and
//!   table statistics, table features).
//! * [`rvs_openflow::protocols`]: Open vSwitch's flow protocols (`usable protocols: NXM,OXM`).
//! * [`commands`], [`flows`] and [`port_cmds`]: the commands.
//!
//! # Versions
//! OpenFlow 1.0 with Nicira extensions is the default, as for `ovs-ofctl`; `-O OpenFlow13`
//! (or a list) allows OpenFlow 1.3. The version and, in OpenFlow 1.0, the flow protocol
//! (standard match or NXM, with or without table ids) are chosen as `ovs-ofctl` chooses them
//! ([`rvs_openflow::protocols`]): `parse-flow` prints the `usable protocols` and the `chosen
//! protocol`, flow-mods and flow dumps switch the connection to it first.
//!
//! # Not done like `ovs-ofctl`
//! * Open vSwitch's log lines on standard error (warnings about deprecated port numbers,
//!   the `terminating with signal 14` line of `--timeout`) are not printed.
//! * Table names are fetched as `ovs-ofctl` fetches them (and a switch that cannot describe
//!   its tables fails the same way), but neither printed nor accepted (`table=NAME`).
//! * Commands beyond those in [`commands::USAGE`] are refused, and so is `-F`/`--flow-format`
//!   (the flow format is always the one `ovs-ofctl` chooses by default).
//! * Of the versions `-O` allows, only OpenFlow 1.0 and 1.3 are offered to the switch; a list
//!   with neither is refused.
//! * A packet-out printed at verbosity 1 or more (inside an error) shows its packet as a hex
//!   dump; `ovs-ofctl` dissects it into a flow (`icmp,vlan_tci=0x0000,...`).

pub mod bundle;
pub mod commands;
pub mod conn;
pub mod flow_diff;
pub mod flows;
pub mod group_cmds;
pub mod monitor_cmd;
pub mod names;
pub mod options;
pub mod port_cmds;
pub mod print;
pub mod session;

use std::io::Write;

use commands::Io;
use options::Invocation;
use session::Session;

/// Runs `rvs-ofctl` with `argv` (after the program name), writing to `out` and `err`;
/// returns the exit status.
pub fn main_with(argv: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let (options, args) = match options::parse(argv) {
        Ok(Invocation::Help) => {
            let _ = out.write_all(commands::USAGE.as_bytes());
            return 0;
        }
        Ok(Invocation::Version) => {
            let _ = writeln!(out, "rvs-ofctl (rvs) {}\nOpenFlow versions 0x1:0x4", env!("CARGO_PKG_VERSION"));
            return 0;
        }
        Ok(Invocation::Run { options, args }) => (options, args),
        Err(e) => {
            let _ = writeln!(err, "rvs-ofctl: {e}");
            return 1;
        }
    };
    if let Some(secs) = options.timeout {
        // As `ovs-ofctl`: SIGALRM ends the process when the time is up.
        // SAFETY: alarm(2) has no preconditions.
        unsafe { libc::alarm(secs) };
    }
    let mut session = Session::for_process(options);
    let mut io = Io { out, err };
    match commands::run(&mut session, &args, &mut io) {
        Ok(status) => {
            let _ = io.out.flush();
            status
        }
        Err(e) => {
            // Standard error first, as from C's unbuffered stderr; standard output follows
            // when the caller flushes it.
            let _ = writeln!(io.err, "rvs-ofctl: {e}");
            1
        }
    }
}
