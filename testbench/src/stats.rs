//! Fixed-memory statistics for replays of any length: a time series whose
//! bins widen as the trace grows (latency is the cycle model's own
//! histogram, `hw_model::hist`).

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
