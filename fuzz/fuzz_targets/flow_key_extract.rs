//! Flow key extraction of untrusted frames: never panics, offsets stay within the frame.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rvs_flowcache::FlowKey;

fuzz_target!(|frame: &[u8]| {
    let mut k = FlowKey::ZERO;
    if let Ok(off) = k.extract(frame, 1) {
        for o in [off.l3, off.l4] {
            assert!(o == u16::MAX || (o as usize) <= frame.len());
        }
    }
});
