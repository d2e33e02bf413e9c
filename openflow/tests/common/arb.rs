//! Proptest strategies the codec property tests share.

use proptest::prelude::*;
use rvs_flowcache::ofp::SubField;
use rvs_flowcache::Field;
use rvs_openflow::OfAction;

/// A `learn` with random attributes and specs over registers, Ethernet addresses and metadata (fields without prerequisites).
pub fn arb_learn() -> impl Strategy<Value = OfAction> {
    use rvs_flowcache::learn::{Learn, LearnDst, LearnSpec, LearnSrc, DELETE_LEARNED, SEND_FLOW_REM, WRITE_RESULT};
    let fields = [Field::Reg0, Field::Reg5, Field::EthSrc, Field::EthDst, Field::TunId, Field::Metadata];
    let spec = (0usize..fields.len(), 0usize..fields.len(), 0u8..5, any::<u128>(), 0u32..16).prop_map(move |(a, b, kind, v, ofs)| {
        let (fa, fb) = (fields[a], fields[b]);
        let w = fa.desc().nbits.min(fb.desc().nbits);
        let ofs = ofs.min(w - 1);
        let n = w - ofs;
        let sa = SubField { field: fa, ofs, n_bits: n };
        let sb = SubField { field: fb, ofs, n_bits: n };
        let imm = v & ((1u128 << n) - 1);
        match kind {
            0 => LearnSpec { src: LearnSrc::Field(sa), dst: LearnDst::Match(sb), n_bits: n },
            1 => LearnSpec { src: LearnSrc::Immediate(imm), dst: LearnDst::Match(sb), n_bits: n },
            2 => LearnSpec { src: LearnSrc::Field(sa), dst: LearnDst::Load(sb), n_bits: n },
            3 => LearnSpec { src: LearnSrc::Immediate(imm), dst: LearnDst::Load(sb), n_bits: n },
            _ => LearnSpec { src: LearnSrc::Field(sa), dst: LearnDst::Output, n_bits: n },
        }
    });
    (
        (0u8..255, any::<u16>(), any::<u16>(), any::<u16>(), any::<u16>(), any::<u16>()),
        (any::<u64>(), 0u16..4, any::<bool>(), 0u32..3, prop::collection::vec(spec, 0..5)),
    )
        .prop_map(|((table_id, priority, idle, hard, fin_idle, fin_hard), (cookie, flags, result, limit, specs))| {
            let flags = flags & (SEND_FLOW_REM | DELETE_LEARNED);
            let result_dst = result.then_some(SubField { field: Field::Reg7, ofs: 3, n_bits: 1 });
            OfAction::Learn(Box::new(Learn {
                table_id,
                priority,
                idle_timeout: idle,
                hard_timeout: hard,
                fin_idle_timeout: fin_idle,
                fin_hard_timeout: fin_hard,
                cookie,
                flags: if result { flags | WRITE_RESULT } else { flags },
                limit,
                result_dst,
                specs,
            }))
        })
}
