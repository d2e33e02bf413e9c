//! Header rewrites and offload completion on untrusted frames: extraction sets the offsets,
//! then every rewrite must either apply or refuse, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rvs_flowcache::dpaction::{DpAction, SetAction};
use rvs_flowcache::FlowKey;
use rvs_packet::PacketBuf;

fuzz_target!(|frame: &[u8]| {
    let mut k = FlowKey::ZERO;
    let Ok(off) = k.extract(frame, 1) else { return };
    let mut p = PacketBuf::from_slice(frame);
    p.meta.l3_ofs = off.l3;
    p.meta.l4_ofs = off.l4;
    for a in [
        DpAction::PushVlan { tpid: 0x8100, tci: 10 },
        DpAction::Set(SetAction::Ipv4 { src: Some(1), dst: Some(2), tos: Some(3), ttl: Some(4) }),
        DpAction::Set(SetAction::Tcp { src: Some(1), dst: Some(2) }),
        DpAction::Set(SetAction::Udp { src: Some(1), dst: Some(2) }),
        DpAction::Set(SetAction::Ipv6 { src: Some(1), dst: Some(2), tclass: Some(0), label: Some(1), hlimit: Some(2), l4_proto: k.nw_proto }),
        DpAction::PopVlan,
    ] {
        let _ = a.apply(&mut p);
    }
    let _ = rvs_packet::offload::segment(p, |_| {});
});
