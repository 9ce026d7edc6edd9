//! Maglev table build speed: `cargo bench -p table-compiler --bench maglev_build`.
//!
//! `equal/...` builds the same table over and over, as benchmarks usually
//! do. A modern branch predictor learns a few hundred thousand outcomes of
//! that one build, which makes it look faster than a build ever is in use,
//! so `equal-rotating/...` cycles through 16 configs (other seeds, same M
//! and N) and is the figure to expect from `lbnic compile`.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use std::time::Duration;
use table_compiler::maglev::{populate, populate_stable, Perm};

fn perms(seed: u8, n: usize, m: u32, weight: impl Fn(usize) -> u32) -> Vec<Perm> {
    let mut key = *b"lbnic-bench-seed";
    key[0] ^= seed;
    (0..n)
        .map(|i| Perm::new(&key, &format!("backend-{i}"), m, weight(i)))
        .collect()
}

fn build(c: &mut Criterion) {
    let mut g = c.benchmark_group("maglev_build");
    g.measurement_time(Duration::from_secs(3)).sample_size(30);
    for (m, n) in [(65537u32, 10usize), (65537, 100), (65537, 1000), (655373, 1000)] {
        let id = format!("M={m},N={n}");
        let p = perms(0, n, m, |_| 1);
        g.bench_with_input(BenchmarkId::new("equal", &id), &p, |b, p| {
            b.iter(|| populate(black_box(p), m))
        });
        let sets: Vec<Vec<Perm>> = (0..16).map(|s| perms(s, n, m, |_| 1)).collect();
        g.bench_with_input(BenchmarkId::new("equal-rotating", &id), &sets, |b, sets| {
            let mut k = 0;
            b.iter(|| {
                k = (k + 1) % sets.len();
                populate(black_box(&sets[k]), m)
            })
        });
    }
    let m = 65537;
    let p = perms(0, 1000, m, |i| 1 + (i as u32 % 10));
    g.bench_with_input(BenchmarkId::new("weighted", "M=65537,N=1000"), &p, |b, p| {
        b.iter(|| populate(black_box(p), m))
    });
    // Stable rebuild after removing one of 1000 backends.
    let p = perms(0, 1000, m, |_| 1);
    let old = populate(&p, m).expect("table");
    let p2: Vec<Perm> = p[1..].to_vec();
    let prev: Vec<Option<u16>> = old.iter().map(|&e| e.checked_sub(1)).collect();
    g.bench_with_input(
        BenchmarkId::new("stable_remove_1", "M=65537,N=1000"),
        &p2,
        |b, p2| b.iter(|| populate_stable(black_box(p2), &prev, m)),
    );
    g.finish();
}

criterion_group!(benches, build);
criterion_main!(benches);
