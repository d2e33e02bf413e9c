//! The Internet checksum (RFC 1071), pseudo-headers, and incremental updates (RFC 1624).
//!
//! A *sum* here is an unfolded 32-bit accumulator of 16-bit big-endian words; [`fold`] turns
//! it into 16 bits. The value stored in a header is the complement of the folded sum over the
//! covered bytes with the checksum field zeroed.
//!
//! Incremental updates come in two flavours. A *final* checksum field holds a complemented
//! sum: [`update16`] and friends (RFC 1624 equation 3). A *partial* field (checksum offload
//! pending, see [`crate::CsumState::Partial`]) holds the uncomplemented pseudo-header sum:
//! [`update_partial16`] and friends.

/// Adds `bytes` as big-endian 16-bit words (an odd last byte is padded with zero) to `initial`.
#[inline]
pub fn sum(bytes: &[u8], initial: u32) -> u32 {
    let mut acc: u64 = initial as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let v = u64::from_be_bytes(c.try_into().unwrap());
        acc += (v >> 48) + ((v >> 32) & 0xffff) + ((v >> 16) & 0xffff) + (v & 0xffff);
    }
    let rest = chunks.remainder();
    let mut pairs = rest.chunks_exact(2);
    for p in &mut pairs {
        acc += u16::from_be_bytes([p[0], p[1]]) as u64;
    }
    if let [last] = pairs.remainder() {
        acc += (*last as u64) << 8;
    }
    while acc >> 32 != 0 {
        acc = (acc & 0xffff_ffff) + (acc >> 32);
    }
    acc as u32
}

/// Folds a sum to 16 bits (ones-complement addition of the halves).
#[inline]
pub fn fold(mut s: u32) -> u16 {
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// The checksum to store for a sum: its folded complement.
#[inline]
pub fn finish(s: u32) -> u16 {
    !fold(s)
}

/// Sum of the IPv4 pseudo-header.
#[inline]
pub fn pseudo_v4(src: u32, dst: u32, proto: u8, l4_len: u16) -> u32 {
    (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto as u32 + l4_len as u32
}

/// Sum of the IPv6 pseudo-header.
#[inline]
pub fn pseudo_v6(src: u128, dst: u128, proto: u8, l4_len: u32) -> u32 {
    let mut s = sum(&src.to_be_bytes(), 0);
    s = sum(&dst.to_be_bytes(), s);
    s + (l4_len >> 16) + (l4_len & 0xffff) + proto as u32
}

/// Updates a final checksum for a 16-bit word changing from `old` to `new` (RFC 1624 eq. 3).
#[inline]
pub fn update16(csum: u16, old: u16, new: u16) -> u16 {
    !fold(!csum as u32 + !old as u32 + new as u32)
}

/// Updates a final checksum for a 32-bit value changing.
#[inline]
pub fn update32(csum: u16, old: u32, new: u32) -> u16 {
    let c = update16(csum, (old >> 16) as u16, (new >> 16) as u16);
    update16(c, old as u16, new as u16)
}

/// Updates a final checksum for a 128-bit value changing.
#[inline]
pub fn update128(mut csum: u16, old: u128, new: u128) -> u16 {
    for i in 0..4 {
        let sh = 96 - 32 * i;
        csum = update32(csum, (old >> sh) as u32, (new >> sh) as u32);
    }
    csum
}

/// Updates a partial (uncomplemented pseudo-header) checksum for a 16-bit word changing.
#[inline]
pub fn update_partial16(csum: u16, old: u16, new: u16) -> u16 {
    fold(csum as u32 + !old as u32 + new as u32)
}

/// Updates a partial checksum for a 32-bit value changing.
#[inline]
pub fn update_partial32(csum: u16, old: u32, new: u32) -> u16 {
    let c = update_partial16(csum, (old >> 16) as u16, (new >> 16) as u16);
    update_partial16(c, old as u16, new as u16)
}

/// Updates a partial checksum for a 128-bit value changing.
#[inline]
pub fn update_partial128(mut csum: u16, old: u128, new: u128) -> u16 {
    for i in 0..4 {
        let sh = 96 - 32 * i;
        csum = update_partial32(csum, (old >> sh) as u32, (new >> sh) as u32);
    }
    csum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_header_checksum() {
        // RFC 1071 style example: an IPv4 header whose checksum field is 0xb861.
        let hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00,
            0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(finish(sum(&hdr, 0)), 0xb861);
    }

    #[test]
    fn odd_lengths_pad_with_zero() {
        assert_eq!(sum(&[0x12], 0), 0x1200);
        assert_eq!(sum(&[0x12, 0x34, 0x56], 0), 0x1234 + 0x5600);
    }

    #[test]
    fn incremental_update_matches_recompute() {
        let mut hdr = [
            0x45u8, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        let old = u32::from_be_bytes(hdr[12..16].try_into().unwrap());
        let new: u32 = 0x0a01_0203;
        hdr[12..16].copy_from_slice(&new.to_be_bytes());
        let c = update32(0xb861, old, new);
        hdr[10..12].fill(0);
        assert_eq!(c, finish(sum(&hdr, 0)));
    }

    #[test]
    fn partial_update_matches_recomputed_pseudo_header() {
        let p = fold(pseudo_v4(0x0a00_0001, 0x0a00_0002, 6, 40));
        let q = update_partial32(p, 0x0a00_0001, 0xc0a8_0101);
        assert_eq!(q, fold(pseudo_v4(0xc0a8_0101, 0x0a00_0002, 6, 40)));
        let a: u128 = 0xfe80 << 112 | 1;
        let b: u128 = 0x2001_0db8 << 96 | 7;
        let p6 = fold(pseudo_v6(a, 5, 17, 100));
        assert_eq!(update_partial128(p6, a, b), fold(pseudo_v6(b, 5, 17, 100)));
        assert_eq!(update128(!p6, a, b), !fold(pseudo_v6(b, 5, 17, 100)));
    }
}
