//! `rvs-ofctl`: an OpenFlow client that behaves like `ovs-ofctl`.
//!
//! # Why a clone
//! Scripts written for `ovs-ofctl` must run unchanged against rvs, and the real `ovs-ofctl`
//! must work against `rvs-vswitchd`. So `rvs-ofctl` is not a thin client of the management
//! socket like `rvs-vsctl`: it speaks OpenFlow to the bridge socket
//! (`$RVS_RUNDIR/BRIDGE.mgmt`) or to any OpenFlow switch, and prints byte for byte what
//! `ovs-ofctl -O OpenFlow13` prints, down to transaction ids and error text.
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
//! * [`protocols`]: Open vSwitch's flow protocols (`usable protocols: NXM,OXM`).
//! * [`commands`] and [`flows`]: the commands.
//!
//! # Versions
//! OpenFlow 1.3 is spoken today and is the default (`ovs-ofctl` defaults to OpenFlow 1.0).
//! The version is a parameter of the connection and of every printer, so that OpenFlow 1.0
//! with Nicira extensions can be added beside it.
//!
//! # Not done like `ovs-ofctl`
//! * Open vSwitch's log lines on standard error (warnings about deprecated port numbers,
//!   the `terminating with signal 14` line of `--timeout`) are not printed.
//! * Table names are fetched as `ovs-ofctl` fetches them (and a switch that cannot describe
//!   its tables fails the same way), but neither printed nor accepted (`table=NAME`).
//! * Commands beyond those in [`commands::USAGE`] are refused.

pub mod commands;
pub mod conn;
pub mod flows;
pub mod names;
pub mod options;
pub mod print;
pub mod protocols;
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
            let _ = writeln!(out, "rvs-ofctl (rvs) {}\nOpenFlow versions 0x4:0x4", env!("CARGO_PKG_VERSION"));
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
