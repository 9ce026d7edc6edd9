//! Lookup semantics the pipeline, the compiler and the tools share, written
//! once: which VIP a packet matches, its flow hash, where its conntrack
//! bucket is and which lookup-table entry it reads (docs/spec.md §7 and
//! §12.1).

use crate::target::entries::Proto;
use crate::toeplitz::Toeplitz;
use std::net::IpAddr;

/// Whether a VIP of protocol `vip` takes packets of IP protocol `proto`:
/// "any" stands for TCP and UDP, not for every protocol.
#[inline]
pub fn proto_matches(vip: Proto, proto: u8) -> bool {
    vip.code() == proto || (vip == Proto::Any && matches!(proto, 6 | 17))
}

/// How well a VIP on the packet's destination address, with protocol
/// `vip_proto` and port `vip_port` (0 = any), fits a packet of protocol
/// `proto` to `dport`; lower wins, `None` does not match. The order is the
/// hardware CAM's priority: (protocol, port), (protocol, port 0),
/// (any, port), (any, port 0), so an exact protocol beats an exact port.
#[inline]
pub fn vip_rank(vip_proto: Proto, vip_port: u16, proto: u8, dport: u16) -> Option<u8> {
    let pr = if vip_proto.code() == proto {
        0
    } else if proto_matches(vip_proto, proto) {
        2
    } else {
        return None;
    };
    let po = if vip_port == dport {
        0
    } else if vip_port == 0 {
        1
    } else {
        return None;
    };
    Some(pr + po)
}

/// The VIP a packet of protocol `proto` to `dport` matches among `cands`,
/// the VIPs on its destination address; `key` gives a candidate's
/// (protocol, port). The best [`vip_rank`] wins, the first one on a tie (a
/// valid bank has no ties: no two VIPs share address, protocol and port).
#[inline]
pub fn best_vip<T>(
    cands: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> (Proto, u16),
    proto: u8,
    dport: u16,
) -> Option<T> {
    let mut best: Option<(u8, T)> = None;
    for c in cands {
        let (p, port) = key(&c);
        let Some(r) = vip_rank(p, port, proto, dport) else {
            continue;
        };
        if best.as_ref().is_none_or(|(b, _)| r < *b) {
            if r == 0 {
                return Some(c);
            }
            best = Some((r, c));
        }
    }
    best.map(|(_, c)| c)
}

/// The flow hash: Toeplitz over the RSS input, which is the source
/// address, the destination address (4 bytes each for IPv4, 16 for IPv6,
/// as in the IP header) and, when the flow has ports, the source and the
/// destination port, all in network byte order. This is the NIC's RSS
/// hash ("with TCP/UDP", or "IP only" without ports), so receivers and
/// tools can reproduce it. Which tuple a packet is hashed on (its own, an
/// ICMP error's inner flow reversed, a later fragment's address pair) is
/// the pipeline's decision; the input it makes is defined here.
#[inline]
pub fn flow_hash(tz: &Toeplitz, src: &[u8], dst: &[u8], ports: Option<(u16, u16)>) -> u32 {
    match ports {
        Some((s, d)) => tz.hash_parts(&[src, dst, &s.to_be_bytes(), &d.to_be_bytes()]),
        None => tz.hash_parts(&[src, dst]),
    }
}

/// [`flow_hash`] of IP addresses. An IPv4 pair is hashed over 4-byte
/// addresses; anything else over 16-byte ones (IPv4-mapped).
pub fn flow_hash_ip(tz: &Toeplitz, src: IpAddr, dst: IpAddr, ports: Option<(u16, u16)>) -> u32 {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => flow_hash(tz, &s.octets(), &d.octets(), ports),
        _ => {
            use crate::target::entries::addr_to_bytes;
            flow_hash(tz, &addr_to_bytes(src), &addr_to_bytes(dst), ports)
        }
    }
}

/// Odd multiplier whose product with the flow hash gives candidate `b`.
pub const CT_BUCKET_MIX: u32 = 0x9e37_79b1;

/// Buckets per conntrack page: a key's two candidate buckets, and any
/// bucket a relocation moves one of their entries to, lie in the same page
/// (so a sharded replay cuts the table on page boundaries). The first half
/// of a page is sub-table 0 (memory channel group 0), the second half
/// sub-table 1.
pub const CT_PAGE_BUCKETS: u32 = 4096;

/// Buckets per page for a table of `ct_buckets` (smaller tables are one
/// page).
pub fn ct_page_buckets(ct_buckets: u32) -> u32 {
    ct_buckets.clamp(1, CT_PAGE_BUCKETS)
}

/// A key's two candidate conntrack buckets (d-left with d = 2): `a` in the
/// page's first half (sub-table 0), `b` in its second half (sub-table 1).
/// Both are read for every lookup, in parallel, one per channel group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CtBuckets {
    pub a: u32,
    pub b: u32,
}

impl CtBuckets {
    /// The distinct candidates, `a` first (a one-bucket table has one).
    pub fn iter(self) -> impl Iterator<Item = u32> {
        std::iter::once(self.a).chain((self.b != self.a).then_some(self.b))
    }
    /// The page both lie in: what a shard owns.
    pub fn page(self, ct_buckets: u32) -> u32 {
        self.a / ct_page_buckets(ct_buckets)
    }
}

/// Conntrack candidate buckets of a flow, from its Toeplitz flow hash:
/// `a` from the low bits (the lookup index uses the high bits through the
/// multiply, so the two stay independent), the page from the bits above
/// them, `b` from the top bits of a multiplicative mix of the whole hash,
/// so `a` and `b` are independent choices within the page.
pub fn ct_bucket(flow_hash: u32, ct_buckets: u32) -> CtBuckets {
    let page = ct_page_buckets(ct_buckets);
    if page < 2 {
        return CtBuckets { a: 0, b: 0 };
    }
    let half = page / 2;
    let half_bits = half.trailing_zeros();
    let pages = ct_buckets / page;
    let base = ((flow_hash >> half_bits) & (pages - 1)) * page;
    let a = base + (flow_hash & (half - 1));
    let mix = flow_hash.wrapping_mul(CT_BUCKET_MIX);
    let b = base
        + half
        + if half_bits == 0 {
            0
        } else {
            mix >> (32 - half_bits)
        };
    CtBuckets { a, b }
}

/// Index into a table of size `m` for a 32-bit flow hash: a multiply, not a
/// divider, in hardware.
pub fn lookup_index(flow_hash: u32, m: u32) -> u32 {
    ((flow_hash as u64 * m as u64) >> 32) as u32
}

/// Maglev table sizes must be prime; the image loader checks it, the config
/// parser picks from a primes list.
pub fn is_prime(n: u32) -> bool {
    if n < 2 {
        return false;
    }
    if n.is_multiple_of(2) {
        return n == 2;
    }
    let mut d = 3u32;
    while (d as u64) * (d as u64) <= n as u64 {
        if n.is_multiple_of(d) {
            return false;
        }
        d += 2;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toeplitz::{hash_bitwise, DEFAULT_KEY};
    use proptest::prelude::*;

    use crate::toeplitz::{RSS_VECTORS_V4 as V4, RSS_VECTORS_V6 as V6};

    #[test]
    fn published_rss_vectors() {
        let t = Toeplitz::new(&DEFAULT_KEY);
        for &(s, sp, d, dp, ip_only, with_l4) in V4.iter().chain(V6) {
            let (s, d) = (s.parse().unwrap(), d.parse().unwrap());
            assert_eq!(flow_hash_ip(&t, s, d, None), ip_only, "{s} -> {d}");
            assert_eq!(flow_hash_ip(&t, s, d, Some((sp, dp))), with_l4, "{s} -> {d}");
        }
    }

    /// The documented RSS input, spelled out: addresses (4 bytes for an
    /// IPv4 pair, else 16), then the ports, network order.
    fn rss_input(src: IpAddr, dst: IpAddr, ports: Option<(u16, u16)>) -> Vec<u8> {
        let mut v = Vec::new();
        for a in [src, dst] {
            match (a, src.is_ipv4() && dst.is_ipv4()) {
                (IpAddr::V4(a), true) => v.extend(a.octets()),
                (IpAddr::V4(a), false) => v.extend(a.to_ipv6_mapped().octets()),
                (IpAddr::V6(a), _) => v.extend(a.octets()),
            }
        }
        if let Some((s, d)) = ports {
            v.extend(s.to_be_bytes());
            v.extend(d.to_be_bytes());
        }
        v
    }

    fn addr() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(IpAddr::from),
            any::<[u8; 16]>().prop_map(IpAddr::from),
        ]
    }

    /// The plain ranking: among the VIPs on the address that take the
    /// packet, the exact protocol first, then the exact port.
    fn reference(vips: &[(u8, Proto, u16)], addr: u8, proto: u8, dport: u16) -> Option<usize> {
        vips.iter()
            .enumerate()
            .filter(|(_, &(a, p, port))| {
                a == addr
                    && (p.code() == proto || (p == Proto::Any && (proto == 6 || proto == 17)))
                    && (port == dport || port == 0)
            })
            .min_by_key(|(i, &(_, p, port))| (p.code() != proto, port != dport, *i))
            .map(|(i, _)| i)
    }

    fn proto() -> impl Strategy<Value = Proto> {
        prop_oneof![Just(Proto::Tcp), Just(Proto::Udp), Just(Proto::Any)]
    }

    proptest! {
        #[test]
        fn flow_hash_is_toeplitz_of_the_rss_input(
            key in any::<[u8; 32]>(),
            key_tail in any::<[u8; 8]>(),
            src in addr(),
            dst in addr(),
            ports in proptest::option::of(any::<(u16, u16)>()),
        ) {
            let mut k = [0u8; 40];
            k[..32].copy_from_slice(&key);
            k[32..].copy_from_slice(&key_tail);
            let t = Toeplitz::new(&k);
            let want = hash_bitwise(&k, &rss_input(src, dst, ports));
            prop_assert_eq!(flow_hash_ip(&t, src, dst, ports), want);
        }

        #[test]
        fn best_vip_is_the_reference_ranking(
            vips in proptest::collection::vec((0u8..3, proto(), prop_oneof![Just(0u16), 79u16..82]), 0..12),
            addr in 0u8..3,
            proto in prop_oneof![Just(6u8), Just(17u8), Just(1u8), Just(0u8)],
            dport in prop_oneof![Just(0u16), 79u16..82],
        ) {
            // A valid bank: no two VIPs share (address, protocol, port).
            let mut seen = std::collections::HashSet::new();
            let vips: Vec<_> = vips.into_iter().filter(|v| seen.insert(*v)).collect();
            let got = best_vip(
                vips.iter().enumerate().filter(|(_, v)| v.0 == addr),
                |(_, v)| (v.1, v.2),
                proto,
                dport,
            )
            .map(|(i, _)| i);
            prop_assert_eq!(got, reference(&vips, addr, proto, dport));
        }
    }

    #[test]
    fn exact_protocol_beats_exact_port() {
        let vips = [(Proto::Any, 80), (Proto::Tcp, 0), (Proto::Udp, 80)];
        let m = |proto, dport| best_vip(vips.iter(), |v| **v, proto, dport).copied();
        assert_eq!(m(6, 80), Some((Proto::Tcp, 0)));
        assert_eq!(m(17, 80), Some((Proto::Udp, 80)));
        assert_eq!(m(17, 81), None);
        assert_eq!(m(1, 80), None, "any is TCP or UDP");
    }

    #[test]
    fn primes() {
        assert!(is_prime(2) && is_prime(65537) && is_prime(131071) && is_prime(655373));
        assert!(!is_prime(0) && !is_prime(1) && !is_prime(65535) && !is_prime(9));
    }

    #[test]
    fn ct_candidates_share_a_page_and_split_its_halves() {
        for n in [1u32, 2, 64, 1 << 18, 1 << 26] {
            let page = ct_page_buckets(n);
            for h in [0u32, 1, 0xdead_beef, u32::MAX, 0x1234_5678] {
                let c = ct_bucket(h, n);
                assert!(c.a < n && c.b < n, "{n} {h:#x}");
                assert_eq!(c.a / page, c.b / page, "same page");
                if n >= 2 {
                    assert!(c.a % page < page / 2 && c.b % page >= page / 2);
                }
            }
        }
        // Spread: distinct (a, b) pairs for distinct hashes, mostly.
        let pairs: std::collections::HashSet<_> = (0..10_000u32)
            .map(|h| ct_bucket(h.wrapping_mul(2_654_435_761), 1 << 18))
            .collect();
        assert!(pairs.len() > 9_900);
    }

    #[test]
    fn lookup_index_spans_the_table() {
        assert_eq!(lookup_index(0, 65537), 0);
        assert_eq!(lookup_index(u32::MAX, 65537), 65536);
        assert_eq!(lookup_index(1 << 31, 4), 2);
    }
}
