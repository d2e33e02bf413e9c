//! Flow key extraction of untrusted frames: never panics, offsets stay within the frame, and
//! key reuse (`key_reuse::same_extraction`) is only claimed where extraction agrees. The input
//! is split in two: a frame, and bytes overwriting a copy of it from some offset (a neighbour
//! in a burst).
#![no_main]
use libfuzzer_sys::fuzz_target;
use rvs_flowcache::key_reuse::same_extraction;
use rvs_flowcache::FlowKey;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else { return };
    let cut = (usize::from(split) * rest.len() / 256).min(rest.len());
    let (frame, patch) = rest.split_at(cut);
    let mut k = FlowKey::ZERO;
    let Ok((off, map)) = k.extract_mapped(frame, 1) else { return };
    for o in [off.l3, off.l4] {
        assert!(o == u16::MAX || (o as usize) <= frame.len());
    }
    let mut other = frame.to_vec();
    if let Some((&at, bytes)) = patch.split_first() {
        let at = usize::from(at).min(other.len());
        let n = bytes.len().min(other.len() - at);
        other[at..at + n].copy_from_slice(&bytes[..n]);
    }
    if same_extraction(frame, map, off, &other) {
        let mut k2 = FlowKey::ZERO;
        assert_eq!(k2.extract_mapped(&other, 1), Ok((off, map)));
        assert_eq!(k2, k);
    }
});
