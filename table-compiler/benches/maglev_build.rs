//! Maglev table build speed: `cargo bench -p table-compiler --bench maglev_build`.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use std::time::Duration;
use table_compiler::maglev::{populate, populate_stable, Perm};

fn perms(n: usize, m: u32, weight: impl Fn(usize) -> u32) -> Vec<Perm> {
    let seed = *b"lbnic-bench-seed";
    (0..n)
        .map(|i| Perm::new(&seed, &format!("backend-{i}"), m, weight(i)))
        .collect()
}

fn build(c: &mut Criterion) {
    let mut g = c.benchmark_group("maglev_build");
    g.measurement_time(Duration::from_secs(3)).sample_size(30);
    for (m, n) in [(65537u32, 10usize), (65537, 100), (65537, 1000), (655373, 1000)] {
        let p = perms(n, m, |_| 1);
        g.bench_with_input(BenchmarkId::new("equal", format!("M={m},N={n}")), &p, |b, p| {
            b.iter(|| populate(black_box(p), m))
        });
    }
    let m = 65537;
    let p = perms(1000, m, |i| 1 + (i as u32 % 10));
    g.bench_with_input(BenchmarkId::new("weighted", "M=65537,N=1000"), &p, |b, p| {
        b.iter(|| populate(black_box(p), m))
    });
    // Stable rebuild after removing one of 1000 backends.
    let p = perms(1000, m, |_| 1);
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
