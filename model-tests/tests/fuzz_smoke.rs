//! The fuzz targets' bodies (`fuzz/fuzz_targets/packet_parse.rs` and
//! `model_frames.rs`) on a few thousand pseudo-random inputs each, so the
//! same properties run on the stable toolchain in every test run.

mod fuzz_harness;

use fuzz_harness::{model_frames, packet_parse, seed_frames};

/// SplitMix64: deterministic, so a failure names a reproducible case.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A valid frame with a few bytes changed, cut or extended.
fn mutate(r: &mut Rng, f: &[u8]) -> Vec<u8> {
    let mut g = f.to_vec();
    for _ in 0..1 + r.below(3) {
        match r.below(5) {
            0 if !g.is_empty() => {
                let i = r.below(g.len());
                g[i] ^= 1 << r.below(8);
            }
            1 if !g.is_empty() => {
                let i = r.below(g.len());
                g[i] = r.next() as u8;
            }
            2 if !g.is_empty() => {
                // Header bytes are the interesting ones.
                let i = r.below(g.len().min(80));
                g[i] = [0, 1, 4, 5, 6, 17, 41, 43, 44, 58, 60, 0x45, 0x4f, 0x60, 0xff][r.below(15)];
            }
            3 if !g.is_empty() => g.truncate(r.below(g.len())),
            _ => {
                let n = r.below(40);
                g.extend(r.bytes(n));
            }
        }
    }
    g
}

#[test]
fn packet_parse_on_random_and_mutated_frames() {
    let mut r = Rng(0x5eed_0001);
    let seeds = seed_frames();
    let mut parsed = 0;
    let mut runs = 0;
    for s in &seeds {
        assert!(!s.is_empty());
        parsed += packet_parse(s) as usize;
        runs += 1;
    }
    // Most seeds are well formed; they run the rewrite checks.
    assert!(
        parsed * 2 > seeds.len(),
        "{parsed} of {} seeds parse",
        seeds.len()
    );
    for _ in 0..4000 {
        let i = r.below(seeds.len());
        let f = mutate(&mut r, &seeds[i]);
        parsed += packet_parse(&f) as usize;
        runs += 1;
    }
    for _ in 0..1000 {
        let n = r.below(120);
        let f = r.bytes(n);
        packet_parse(&f);
        runs += 1;
    }
    assert!(parsed > runs / 4, "only {parsed} of {runs} inputs parsed");
}

#[test]
fn model_frames_on_random_inputs() {
    let mut r = Rng(0x5eed_0002);
    let mut out = 0;
    let n = 3000;
    for _ in 0..n {
        let len = r.below(600);
        out += model_frames(&r.bytes(len));
    }
    assert!(out > n, "only {out} frames out of {n} traces");
}
