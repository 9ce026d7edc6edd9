//! Simulator speed: `cargo bench -p hw-model-tests --bench sim`. 64-byte TCP
//! frames over 100k flows through the functional and the cycle-accurate
//! model (default target), reported as simulated packets per second.

#[path = "workload/mod.rs"]
mod workload;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hw_model::cycle::Cycle;
use hw_model::device::in_memory;
use hw_model::functional::Functional;
use hw_model::model::Model;
use lbnic_contract::target::Target;
use std::time::Duration;

const FLOWS: u64 = 100_000;
const PACKETS: usize = 400_000;

fn sim(c: &mut Criterion) {
    let img = workload::image();
    let frames = workload::frames(PACKETS, FLOWS);
    let mut g = c.benchmark_group("sim_64b_100k_flows");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(frames.len() as u64));
    let mut pool = Vec::new();
    let mut dev = in_memory(Target::builtin()).expect("device");
    dev.flash(&img).expect("flash");
    let mut f = Functional::new(dev);
    g.bench_function("functional", |b| {
        b.iter(|| workload::feed(&mut f, &frames, &mut pool, |m, fr, _| m.input(fr, 1_000_000)))
    });
    let mut dev = in_memory(Target::builtin()).expect("device");
    dev.flash(&img).expect("flash");
    let mut cy = Cycle::new(dev);
    g.bench_function("cycle", |b| {
        b.iter(|| {
            let c0 = cy.now();
            workload::feed(&mut cy, &frames, &mut pool, |m, fr, i| {
                m.input_at_cycle(fr, c0 + workload::line_rate_cycle(i), 1_000_000)
            })
        })
    });
    g.finish();
}

criterion_group!(benches, sim);
criterion_main!(benches);
