//! A fixed-memory latency histogram: exact below 1024, then 64 buckets per
//! power of two (at most 1.6% error), so a replay of any length keeps
//! percentiles without storing a value per packet.

use serde::Serialize;

const EXACT: u64 = 1024;
const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;

#[derive(Clone, Default, PartialEq, Eq, Serialize)]
pub struct Histogram {
    #[serde(skip)]
    counts: Vec<u64>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

fn index(v: u64) -> usize {
    if v < EXACT {
        return v as usize;
    }
    let e = 63 - v.leading_zeros(); // >= 10
    let sub = (v >> (e - SUB_BITS)) & (SUB - 1);
    (EXACT + (e as u64 - 10) * SUB + sub) as usize
}

/// Smallest and largest value that land in bucket `i`.
fn bounds(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < EXACT {
        return (i, i);
    }
    let e = (i - EXACT) / SUB + 10;
    let sub = (i - EXACT) % SUB;
    let lo = (SUB + sub) << (e - SUB_BITS as u64);
    (lo, lo + (1u64 << (e - SUB_BITS as u64)) - 1)
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Histogram {{ count: {}, min: {}, p50: {}, p99: {}, max: {} }}",
            self.count,
            self.min,
            self.quantile(0.5),
            self.quantile(0.99),
            self.max
        )
    }
}

impl Histogram {
    pub fn new() -> Histogram {
        Histogram::default()
    }

    pub fn record(&mut self, v: u64) {
        let i = index(v);
        if i >= self.counts.len() {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += 1;
        self.min = if self.count == 0 { v } else { self.min.min(v) };
        self.count += 1;
        self.sum += v as u128;
        self.max = self.max.max(v);
    }

    /// Add another histogram's samples (shards of one replay).
    pub fn merge(&mut self, o: &Histogram) {
        if o.count == 0 {
            return;
        }
        if o.counts.len() > self.counts.len() {
            self.counts.resize(o.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&o.counts) {
            *a += b;
        }
        self.min = if self.count == 0 {
            o.min
        } else {
            self.min.min(o.min)
        };
        self.count += o.count;
        self.sum += o.sum;
        self.max = self.max.max(o.max);
    }

    pub fn count(&self) -> u64 {
        self.count
    }
    pub fn max(&self) -> u64 {
        self.max
    }
    pub fn min(&self) -> u64 {
        self.min
    }
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    /// The value at quantile `q` (0..=1): the upper bound of the bucket that
    /// holds the ceil(q * count)-th smallest sample, capped at the maximum.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bounds(i).1.min(self.max);
            }
        }
        self.max
    }

    /// Non-empty buckets as (lowest value, count), merged into at most `n`
    /// equal-width groups over the value range (for a chart).
    pub fn grouped(&self, n: usize) -> Vec<(u64, u64)> {
        let nz: Vec<(u64, u64)> = self.buckets().map(|(lo, _, c)| (lo, c)).collect();
        if nz.len() <= n || n == 0 {
            return nz;
        }
        let (lo, hi) = (nz[0].0, nz[nz.len() - 1].0);
        let w = (hi - lo).div_ceil(n as u64).max(1);
        let mut out: Vec<(u64, u64)> = Vec::new();
        for (v, c) in nz {
            let g = lo + ((v - lo) / w).min(n as u64 - 1) * w;
            match out.last_mut() {
                Some((gv, gc)) if *gv == g => *gc += c,
                _ => out.push((g, c)),
            }
        }
        out
    }

    /// Non-empty buckets as (lowest value, highest value, count), ascending.
    pub fn buckets(&self) -> impl Iterator<Item = (u64, u64, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(i, &c)| {
                let (lo, hi) = bounds(i);
                (lo, hi, c)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exact_below_1024() {
        let mut h = Histogram::new();
        for v in 1..=1000 {
            h.record(v);
        }
        assert_eq!(h.quantile(0.5), 500);
        assert_eq!(h.quantile(0.99), 990);
        assert_eq!(h.quantile(1.0), 1000);
        assert_eq!(h.min(), 1);
        assert_eq!(h.mean(), 500.5);
    }

    #[test]
    fn grouped_keeps_every_sample() {
        let mut h = Histogram::new();
        for v in 0..5000u64 {
            h.record(v * 7 % 3000);
        }
        for n in [1, 10, 60, 10_000] {
            let g = h.grouped(n);
            assert!(g.len() <= n.max(1));
            assert_eq!(g.iter().map(|x| x.1).sum::<u64>(), 5000);
            assert!(g.windows(2).all(|w| w[0].0 < w[1].0));
        }
        assert!(h.grouped(60).len() <= 60);
    }

    #[test]
    fn bounds_invert_index() {
        for i in 0..4000 {
            let (lo, hi) = bounds(i);
            assert_eq!(index(lo), i);
            assert_eq!(index(hi), i);
            assert_eq!(index(hi + 1), i + 1);
        }
        assert_eq!(index(u64::MAX), index(u64::MAX - 1));
    }

    proptest! {
        #[test]
        fn quantile_is_within_one_bucket(mut v in prop::collection::vec(0u64..10_000_000, 1..300), q in 0.0f64..=1.0) {
            let mut h = Histogram::new();
            for &x in &v {
                h.record(x);
            }
            v.sort_unstable();
            let rank = ((q * v.len() as f64).ceil() as usize).max(1);
            let exact = v[rank - 1];
            let got = h.quantile(q);
            prop_assert!(got >= exact && got as f64 <= exact as f64 * 1.016 + 1.0, "{got} vs {exact}");
        }
    }
}
