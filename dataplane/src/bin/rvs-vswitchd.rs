//! `rvs-vswitchd`: see [`rvs_dataplane::daemon`].

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(rvs_dataplane::daemon::main(args));
}
