//! Fuzzes the `ovs-ofctl` flow syntax: parsing arbitrary text for every command, and printing
//! what parsed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rvs_openflow::msg::Version;
use rvs_openflow::text::{parse_flow, parse_flow_line, parse_flow_stats_request, FlowFormatter};
use rvs_openflow::FlowModCommand;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    for command in [FlowModCommand::Add, FlowModCommand::Modify, FlowModCommand::DeleteStrict] {
        if let Ok(p) = parse_flow(s, command, None) {
            for v in [Version::V1_0, Version::V1_3] {
                let _ = FlowFormatter::new(v).flow_mod(&p.flow_mod);
            }
            let _ = rvs_openflow::protocols::usable_for_flow(s, &p, None);
        }
    }
    let _ = parse_flow_line(s, None);
    let _ = parse_flow_stats_request(s, None);
});
