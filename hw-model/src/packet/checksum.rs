//! Internet checksums: the ones'-complement sum (RFC 1071), IPv4 header and
//! TCP/UDP checksums with their pseudo-headers, and the RFC 1624 incremental
//! update a NAT rewrite uses instead of recomputing over the payload.

/// Ones'-complement sum of `data` as big-endian 16-bit words (an odd last
/// byte is padded with zero), added to `acc`, not yet folded.
pub fn sum(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc = acc.wrapping_add(u16::from_be_bytes([c[0], c[1]]) as u32);
        // Fold early so a long buffer cannot overflow.
        if acc > 0xffff_0000 {
            acc = (acc & 0xffff) + (acc >> 16);
        }
    }
    if let [b] = chunks.remainder() {
        acc = acc.wrapping_add((*b as u32) << 8);
    }
    acc
}

/// Fold carries into 16 bits.
pub fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Checksum of an IPv4 header (its checksum field taken as zero).
pub fn ipv4_header(h: &[u8]) -> u16 {
    let acc = sum(sum(0, &h[..10]), &h[12..]);
    !fold(acc)
}

/// Pseudo-header sum for TCP/UDP (RFC 793 / RFC 8200 §8.1).
pub fn pseudo(src: &[u8], dst: &[u8], proto: u8, len: u32) -> u32 {
    let mut acc = sum(sum(0, src), dst);
    acc = acc.wrapping_add(proto as u32);
    acc.wrapping_add(len >> 16).wrapping_add(len & 0xffff)
}

/// TCP/UDP checksum of `l4` (its checksum field taken as zero by the
/// caller), with the pseudo-header of `src`/`dst` (4 or 16 bytes each).
/// A UDP result of 0 is sent as 0xffff (RFC 768).
pub fn l4(src: &[u8], dst: &[u8], proto: u8, l4: &[u8]) -> u16 {
    let c = !fold(sum(pseudo(src, dst, proto, l4.len() as u32), l4));
    if proto == 17 && c == 0 {
        0xffff
    } else {
        c
    }
}

/// RFC 1624 eqn. 3: the checksum after a 16-bit word changes from `old`
/// to `new`: HC' = ~(~HC + ~m + m').
pub fn update16(hc: u16, old: u16, new: u16) -> u16 {
    let acc = (!hc as u32) + (!old as u32) + new as u32;
    !fold(acc)
}

/// [`update16`] over every 16-bit word of an even-length field (an address).
pub fn update(hc: u16, old: &[u8], new: &[u8]) -> u16 {
    debug_assert_eq!(old.len(), new.len());
    let acc = (!hc as u32) + (!fold(sum(0, old)) as u32) + fold(sum(0, new)) as u32;
    !fold(acc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc1624_example() {
        // RFC 1624 §4: HC = 0xDD2F, m = 0x5555 -> m' = 0x3285; eqn. 3 gives
        // 0x0000 (eqn. 2 of RFC 1141 gave the wrong 0xFFFF).
        assert_eq!(update16(0xdd2f, 0x5555, 0x3285), 0x0000);
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the sum of 00 01 f2 03 f4 f5 f6 f7 is 0xddf2.
        assert_eq!(
            fold(sum(0, &[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])),
            0xddf2
        );
    }

    #[test]
    fn ipv4_header_known_value() {
        // A well-known example header: checksum 0xb861.
        let h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01,
            0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(ipv4_header(&h), 0xb861);
    }

    proptest! {
        #[test]
        fn incremental_equals_recompute(mut data in prop::collection::vec(any::<u8>(), 2..200), at in any::<prop::sample::Index>(), new in any::<[u8; 16]>(), width in prop::sample::select(vec![2usize, 4, 16])) {
            if data.len() % 2 == 1 { data.push(0); }
            prop_assume!(data.len() >= width);
            let i = at.index(data.len() - width + 1) & !1;
            prop_assume!(i + width <= data.len());
            let before = !fold(sum(0, &data));
            let old = data[i..i + width].to_vec();
            data[i..i + width].copy_from_slice(&new[..width]);
            let after = !fold(sum(0, &data));
            let inc = update(before, &old, &new[..width]);
            // 0x0000 and 0xffff are the same ones'-complement value.
            prop_assert!(inc == after || (inc == 0 && after == 0xffff) || (inc == 0xffff && after == 0), "{inc:#x} vs {after:#x}");
        }
    }
}
