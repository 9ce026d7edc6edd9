//! Simulator speed: `cargo bench -p hw-model --bench sim`. 64-byte TCP
//! frames over 100k flows through the functional and the cycle-accurate
//! model (default target), reported as simulated packets per second.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use etherparse::PacketBuilder;
use hw_model::cycle::Cycle;
use hw_model::device::in_memory;
use hw_model::functional::Functional;
use hw_model::model::Model;
use std::path::Path;
use std::time::Duration;
use table_compiler::compile::compile;
use table_compiler::config::Config;
use table_compiler::image::Image;
use table_compiler::target::Target;

const FLOWS: u32 = 100_000;
const PACKETS: usize = 400_000;

fn image() -> Image {
    let mut text = String::from("[[vip]]\nname = \"web\"\naddress = \"192.0.2.10\"\nport = 80\n");
    for i in 0..16 {
        text += &format!(
            "[[vip.backend]]\nname = \"b{i}\"\naddress = \"10.0.0.{}\"\nmac = \"02:00:00:00:00:{:02x}\"\n",
            i + 1,
            i + 1
        );
    }
    let cfg = Config::parse(&text, "bench.toml", Path::new(".")).expect("config");
    compile(&cfg, None, None).expect("compile").0
}

/// 60-byte frames (64 on the wire with FCS): flow `i` of `FLOWS`, in a
/// deterministic shuffled order so consecutive packets are other flows.
fn frames() -> Vec<Vec<u8>> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..PACKETS)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let f = (x % FLOWS as u64) as u32;
            let src = [198, 18 + (f >> 16) as u8, (f >> 8) as u8, f as u8];
            let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 9], [2, 0, 0, 0, 0, 1])
                .ipv4(src, [192, 0, 2, 10], 64)
                .tcp(10_000 + (f % 50_000) as u16, 80, 1, 65535)
                .ack(1);
            let mut out = Vec::with_capacity(60);
            b.write(&mut out, &[0u8; 6]).expect("frame");
            out
        })
        .collect()
}

/// Feed `frames` through `m` the way a replay does: input buffers are
/// recycled from the outputs, so the measurement is the model, not malloc.
fn feed<M: Model>(
    m: &mut M,
    frames: &[Vec<u8>],
    pool: &mut Vec<Vec<u8>>,
    at: impl Fn(&mut M, Vec<u8>, usize),
) {
    let mut out = Vec::new();
    for (i, fr) in frames.iter().enumerate() {
        let mut b = pool.pop().unwrap_or_default();
        b.clear();
        b.extend_from_slice(fr);
        at(m, b, i);
        if i % 1024 == 1023 {
            m.take_output_into(&mut out);
            pool.extend(out.drain(..).map(|o| o.data));
        }
    }
    m.take_output_into(&mut out);
    pool.extend(out.drain(..).map(|o| o.data));
}

fn sim(c: &mut Criterion) {
    let img = image();
    let frames = frames();
    let mut g = c.benchmark_group("sim_64b_100k_flows");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(frames.len() as u64));
    let mut pool = Vec::new();
    let mut dev = in_memory(Target::builtin()).expect("device");
    dev.flash(&img).expect("flash");
    let mut f = Functional::new(dev);
    g.bench_function("functional", |b| {
        b.iter(|| feed(&mut f, &frames, &mut pool, |m, fr, _| m.input(fr, 1_000_000)))
    });
    let mut dev = in_memory(Target::builtin()).expect("device");
    dev.flash(&img).expect("flash");
    let mut cy = Cycle::new(dev);
    g.bench_function("cycle", |b| {
        b.iter(|| {
            // Offered at 100 GbE line rate for 64-byte frames: 250 MHz /
            // 148.8 Mpps = 1.68 cycles per frame.
            let c0 = cy.now();
            feed(&mut cy, &frames, &mut pool, |m, fr, i| {
                m.input_at_cycle(fr, c0 + i as u64 * 168 / 100, 1_000_000)
            });
        })
    });
    g.finish();
}

criterion_group!(benches, sim);
criterion_main!(benches);
