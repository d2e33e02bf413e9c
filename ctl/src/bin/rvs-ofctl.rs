//! `rvs-ofctl`: `ovs-ofctl` for rvs (and for any OpenFlow 1.3 switch). See
//! [`rvs_ctl::ofctl`]. Exit status: 0; 1 on any error (as `ovs-ofctl`).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    // Buffered like C's stdout: by line on a terminal, in blocks otherwise (so that on a
    // shared pipe an error can come before the output, as with `ovs-ofctl`).
    let status = if stdout.is_terminal() {
        let mut out = stdout.lock();
        rvs_ctl::ofctl::main_with(&argv, &mut out, &mut err)
    } else {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
        let status = rvs_ctl::ofctl::main_with(&argv, &mut out, &mut err);
        let _ = out.flush();
        status
    };
    ExitCode::from(status as u8)
}
