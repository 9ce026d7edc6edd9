//! Fixed-memory statistics for replays of any length: a log-linear latency
//! histogram (exact below 2048, then within 1/1024 of the value) and a time
//! series whose bins widen as the trace grows.

/// Values below `1 << SUB_BITS` are exact; above, each power of two is
/// split into `1 << SUB_BITS` buckets.
const SUB_BITS: u32 = 10;
const SUB: u64 = 1 << SUB_BITS;

#[derive(Debug, Clone, Default)]
pub struct Histogram {
    counts: Vec<u64>,
    pub total: u64,
    pub max: u64,
    pub min: u64,
    sum: u128,
}

fn bucket_of(v: u64) -> usize {
    if v < 2 * SUB {
        v as usize
    } else {
        let e = 63 - v.leading_zeros() - SUB_BITS; // >= 1
        (SUB * (e as u64 + 1) + ((v >> e) - SUB)) as usize
    }
}

/// Lowest value of a bucket.
fn bucket_low(b: usize) -> u64 {
    let b = b as u64;
    if b < 2 * SUB {
        b
    } else {
        let e = b / SUB - 1;
        (SUB + b % SUB) << e
    }
}

impl Histogram {
    pub fn record(&mut self, v: u64) {
        let b = bucket_of(v);
        if b >= self.counts.len() {
            self.counts.resize(b + 1, 0);
        }
        self.counts[b] += 1;
        if self.total == 0 || v < self.min {
            self.min = v;
        }
        self.total += 1;
        self.max = self.max.max(v);
        self.sum += v as u128;
    }

    pub fn mean(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.sum as f64 / self.total as f64
        }
    }

    /// The value at quantile `q` (0..=1): the lowest value of the bucket
    /// holding that rank, clamped to the observed max.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_low(b).clamp(self.min, self.max);
            }
        }
        self.max
    }

    /// (low value, count) of every non-empty bucket, merged into at most
    /// `n` groups for plotting.
    pub fn buckets(&self, n: usize) -> Vec<(u64, u64)> {
        let nz: Vec<(u64, u64)> = self
            .counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(b, &c)| (bucket_low(b), c))
            .collect();
        if nz.len() <= n || n == 0 {
            return nz;
        }
        // Equal-width groups over the value range.
        let (lo, hi) = (nz[0].0, nz[nz.len() - 1].0);
        let w = (hi - lo).div_ceil(n as u64).max(1);
        let mut out: Vec<(u64, u64)> = Vec::new();
        for (v, c) in nz {
            let g = lo + (v - lo) / w * w;
            match out.last_mut() {
                Some((gv, gc)) if *gv == g => *gc += c,
                _ => out.push((g, c)),
            }
        }
        out
    }
}

/// Per-bin packets and bytes over time; at most `2 * max_bins` bins, the
/// width (a power of two ns, so binning is a shift) doubling when the trace
/// outgrows them.
#[derive(Debug, Clone)]
pub struct Series {
    pub bin_ns: u64,
    shift: u32,
    pub packets: Vec<u64>,
    pub bytes: Vec<u64>,
    max_bins: usize,
}

impl Series {
    /// `initial_bin_ns` is rounded up to a power of two.
    pub fn new(initial_bin_ns: u64, max_bins: usize) -> Series {
        let bin = initial_bin_ns.max(1).next_power_of_two();
        Series {
            bin_ns: bin,
            shift: bin.trailing_zeros(),
            packets: Vec::new(),
            bytes: Vec::new(),
            max_bins: max_bins.max(2),
        }
    }

    /// Count a packet of `bytes` at `t_ns` after the start.
    pub fn add(&mut self, t_ns: u64, bytes: u64) {
        let mut i = (t_ns >> self.shift) as usize;
        while i >= 2 * self.max_bins {
            self.widen();
            i = (t_ns >> self.shift) as usize;
        }
        if i >= self.packets.len() {
            self.packets.resize(i + 1, 0);
            self.bytes.resize(i + 1, 0);
        }
        self.packets[i] += 1;
        self.bytes[i] += bytes;
    }

    fn widen(&mut self) {
        let merge = |v: &mut Vec<u64>| {
            *v = v.chunks(2).map(|c| c.iter().sum()).collect();
        };
        merge(&mut self.packets);
        merge(&mut self.bytes);
        self.bin_ns *= 2;
        self.shift += 1;
    }

    /// Bring another series to this one's bin width (or this one to the
    /// other's), so two series can be plotted on one axis.
    pub fn align(a: &mut Series, b: &mut Series) {
        while a.bin_ns < b.bin_ns {
            a.widen();
        }
        while b.bin_ns < a.bin_ns {
            b.widen();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exact_below_2048_and_quantiles() {
        let mut h = Histogram::default();
        for v in 1..=1000u64 {
            h.record(v);
        }
        assert_eq!(h.quantile(0.5), 500);
        assert_eq!(h.quantile(0.99), 990);
        assert_eq!(h.quantile(1.0), 1000);
        assert_eq!(h.quantile(0.0), 1);
        assert_eq!(h.total, 1000);
        assert!((h.mean() - 500.5).abs() < 1e-9);
        assert_eq!(Histogram::default().quantile(0.5), 0);
    }

    proptest! {
        #[test]
        fn bucket_bounds(v in 0u64..u64::MAX / 2) {
            let b = bucket_of(v);
            let lo = bucket_low(b);
            prop_assert!(lo <= v);
            prop_assert!(v - lo <= lo / SUB + 1, "v {} lo {}", v, lo);
            prop_assert_eq!(bucket_of(lo), b);
        }
    }

    #[test]
    fn series_widens_and_keeps_totals() {
        let mut s = Series::new(10, 4);
        for t in 0..1000u64 {
            s.add(t, 2);
        }
        assert!(s.packets.len() <= 8);
        assert_eq!(s.packets.iter().sum::<u64>(), 1000);
        assert_eq!(s.bytes.iter().sum::<u64>(), 2000);
        let mut o = Series::new(10, 4);
        o.add(5, 1);
        Series::align(&mut s, &mut o);
        assert_eq!(s.bin_ns, o.bin_ns);
    }
}
