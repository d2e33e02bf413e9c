//! Fuzzes the `ovs-ofctl` flow syntax: parsing arbitrary text for every command, and printing
//! what parsed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rvs_openflow::msg::Version;
use rvs_openflow::text::{parse_flow, parse_flow_line, parse_flow_stats_request, FlowFormatter};
use rvs_openflow::FlowModCommand;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let f = FlowFormatter::new(Version::V1_3);
    for command in [FlowModCommand::Add, FlowModCommand::Modify, FlowModCommand::DeleteStrict] {
        if let Ok(p) = parse_flow(s, command, None) {
            let _ = f.flow_mod(&p.flow_mod);
        }
    }
    let _ = parse_flow_line(s, None);
    let _ = parse_flow_stats_request(s, None);
});
