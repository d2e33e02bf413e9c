//! The traffic profiles and the rule table of `anchor-bench/gen_pcaps.py`, generated in Rust.
//!
//! Every frame is 60 bytes without FCS (64 on the wire): Ethernet + IPv4 + UDP + 18 bytes of
//! zero payload, built by [`anchor_udp_frame`]. The functions below produce the same frames in
//! the same order as the script's pcap files, and [`rules1k`] the same lines as its
//! `rules1k.txt`; the tests compare digests of both with the script's output.

pub use rvs_dataplane::testkit::anchor_udp_frame;

/// Rules in [`rules1k`] (not counting the final drop).
pub const N_RULES: u32 = 1000;
/// `tp_dst` of rule `i` is `RULE_DPORT_BASE + i`.
pub const RULE_DPORT_BASE: u16 = 5000;

/// `flow1.pcap`: one frame, one 5-tuple (the EMC-hit path).
pub fn flow1() -> Vec<Vec<u8>> {
    vec![anchor_udp_frame([172, 16, 0, 1], [10, 0, 0, 1], 1024, 5000)]
}

/// `flows10k.pcap`: 10,000 frames, 10,000 distinct 5-tuples.
pub fn flows10k() -> Vec<Vec<u8>> {
    (0..10_000u32)
        .map(|k| anchor_udp_frame([172, 16, (k / 250) as u8, (k % 250 + 1) as u8], [10, 0, 0, 1], 1024 + k as u16, 5000))
        .collect()
}

/// Destination address of host `host` in the /24 of rule `i`: `10.(i/250).(i%250).host`.
pub fn rule_dst(i: u32, host: u8) -> [u8; 4] {
    [10, (i / 250) as u8, (i % 250) as u8, host]
}

/// `rules100k.pcap`: 100,000 frames, 100,000 distinct 5-tuples spread evenly over the rules of
/// [`rules1k`].
pub fn rules100k() -> Vec<Vec<u8>> {
    (0..100_000u32)
        .map(|k| {
            let i = k % N_RULES;
            let host = (1 + (k / N_RULES) % 200) as u8;
            let src = [172, 16, ((k / 250) % 250) as u8, (k % 250 + 1) as u8];
            anchor_udp_frame(src, rule_dst(i, host), 1024 + (k % 60_000) as u16, RULE_DPORT_BASE + i as u16)
        })
        .collect()
}

/// `rules1k.txt`: 1,000 rules of distinct priorities 1000..1999 on `nw_dst/24` (even rules
/// also on `tp_dst`), all outputting to `out_port`, then `priority=1,actions=drop`.
pub fn rules1k(out_port: u32) -> Vec<String> {
    let mut lines: Vec<String> = (0..N_RULES)
        .map(|i| {
            let [a, b, c, _] = rule_dst(i, 0);
            let m = if i % 2 == 0 {
                format!("udp,nw_dst={a}.{b}.{c}.0/24,tp_dst={}", RULE_DPORT_BASE as u32 + i)
            } else {
                format!("udp,nw_dst={a}.{b}.{c}.0/24")
            };
            format!("priority={},{m},actions=output:{out_port}", 1000 + i)
        })
        .collect();
    lines.push("priority=1,actions=drop".to_string());
    lines
}

/// `upcall8k.pcap`: 8,000 frames from 8,000 distinct source addresses.
pub fn upcall8k() -> Vec<Vec<u8>> {
    (0..8000u32).map(|k| anchor_udp_frame([192, 168, (k / 250) as u8, (k % 250 + 1) as u8], [10, 0, 0, 1], 1024, 5000)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
        bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
    }

    fn digest(frames: &[Vec<u8>]) -> u64 {
        fnv1a(frames.iter().flatten().copied())
    }

    /// Digests (FNV-1a 64 of the concatenated frames, or of the rules file) computed from
    /// gen_pcaps.py's own output.
    #[test]
    fn same_frames_and_rules_as_gen_pcaps() {
        assert_eq!((flow1().len(), digest(&flow1())), (1, 0xdc68_1187_5dff_c474));
        assert_eq!((flows10k().len(), digest(&flows10k())), (10_000, 0x6310_6bdb_50f3_6f45));
        assert_eq!((rules100k().len(), digest(&rules100k())), (100_000, 0x61b7_a999_31e4_c08f));
        assert_eq!((upcall8k().len(), digest(&upcall8k())), (8000, 0x72d7_a308_fe92_d325));
        let text: String = rules1k(2).iter().map(|l| format!("{l}\n")).collect();
        assert_eq!(fnv1a(text.bytes()), 0xcf30_6bc5_8d66_fd4c);
        assert!(flow1()[0].len() == 60 && rules100k().iter().all(|f| f.len() == 60));
    }
}
