//! Lookup arithmetic the pipeline and the compiler share: where a flow's
//! conntrack bucket is and which lookup-table entry it reads.

/// Conntrack bucket of a flow: the low bits of its Toeplitz flow hash (the
/// lookup index uses the high bits through the multiply, so the two stay
/// independent).
pub fn ct_bucket(flow_hash: u32, ct_buckets: u32) -> u32 {
    flow_hash & (ct_buckets - 1)
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

    #[test]
    fn primes() {
        assert!(is_prime(2) && is_prime(65537) && is_prime(131071) && is_prime(655373));
        assert!(!is_prime(0) && !is_prime(1) && !is_prime(65535) && !is_prime(9));
    }

    #[test]
    fn lookup_index_spans_the_table() {
        assert_eq!(lookup_index(0, 65537), 0);
        assert_eq!(lookup_index(u32::MAX, 65537), 65536);
        assert_eq!(lookup_index(1 << 31, 4), 2);
    }
}
