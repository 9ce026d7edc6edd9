//! Round-robin and weighted round-robin slot tables. The pipeline keeps a
//! per-VIP pointer and steps it once per new flow, so the table order is the
//! order new flows see; conntrack pins each flow afterwards.

/// One slot per backend with positive weight, in stable-name order.
pub fn rr_slots(weights: &[u32]) -> Vec<u16> {
    (0..weights.len())
        .filter(|&i| weights[i] > 0)
        .map(|i| i as u16)
        .collect()
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Number of slots the WRR table for these weights needs: sum of the
/// weights divided by their greatest common divisor.
pub fn wrr_len(weights: &[u32]) -> u64 {
    let g = weights.iter().fold(0u64, |g, &w| gcd(g, w as u64));
    if g == 0 {
        return 0;
    }
    weights.iter().map(|&w| w as u64 / g).sum()
}

/// Smooth weighted round robin (the nginx sequence): each backend appears
/// `w/g` times, spread out rather than in runs, so a burst of new flows is
/// split by weight too. Ties go to the lower index.
pub fn wrr_slots(weights: &[u32]) -> Vec<u16> {
    let g = weights.iter().fold(0u64, |g, &w| gcd(g, w as u64));
    if g == 0 {
        return Vec::new();
    }
    let w: Vec<i64> = weights.iter().map(|&x| (x as u64 / g) as i64).collect();
    let total: i64 = w.iter().sum();
    let mut current = vec![0i64; w.len()];
    let mut out = Vec::with_capacity(total as usize);
    for _ in 0..total {
        let mut best = usize::MAX;
        for i in 0..w.len() {
            if w[i] == 0 {
                continue;
            }
            current[i] += w[i];
            if best == usize::MAX || current[i] > current[best] {
                best = i;
            }
        }
        current[best] -= total;
        out.push(best as u16);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rr_skips_zero_weight() {
        assert_eq!(rr_slots(&[1, 0, 5]), vec![0, 2]);
    }

    #[test]
    fn wrr_counts_follow_weights_and_interleave() {
        let s = wrr_slots(&[5, 1, 1]);
        assert_eq!(s, vec![0, 0, 1, 0, 2, 0, 0]);
        let s = wrr_slots(&[200, 100, 0]);
        assert_eq!(s, vec![0, 1, 0]);
        assert_eq!(wrr_len(&[200, 100, 0]), 3);
        assert!(wrr_slots(&[0, 0]).is_empty());
    }
}
