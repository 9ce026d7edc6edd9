//! Quick simulator-speed probe (instructions per packet under callgrind,
//! or wall time) on the `sim` bench's workload:
//! `cargo run --release -p hw-model-tests --example simspeed -- functional|cycle
//! [packets] [flows]`. The criterion bench `sim` is the measurement of
//! record.

#[path = "../benches/workload/mod.rs"]
mod workload;

use hw_model::cycle::Cycle;
use hw_model::device::in_memory;
use hw_model::functional::Functional;
use hw_model::model::Model;
use lbnic_contract::target::Target;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map_or("functional", String::as_str);
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let flows: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let img = workload::image();
    let frames = workload::frames(n, flows);
    let mut dev = in_memory(Target::builtin()).expect("device");
    dev.flash(&img).expect("flash");
    let t0 = std::time::Instant::now();
    let out = if which == "cycle" {
        run_cycle(Cycle::new(dev), &frames)
    } else {
        run_functional(Functional::new(dev), &frames)
    };
    let dt = t0.elapsed().as_secs_f64();
    println!("{which}: {n} packets, {out} out, {:.2} Mpps", n as f64 / dt / 1e6);
}

// Separate functions so `valgrind --toggle-collect='simspeed::run_*'`
// counts the model and not the set-up.
#[inline(never)]
fn run_cycle<B: AsRef<[u8]> + AsMut<[u8]>>(mut m: Cycle<B>, frames: &[Vec<u8>]) -> usize {
    let n = workload::feed(&mut m, frames, &mut Vec::new(), |m, fr, i| {
        m.input_at_cycle(fr, workload::line_rate_cycle(i), 1_000_000)
    });
    m.finish();
    n + m.take_output().len()
}

#[inline(never)]
fn run_functional<B: AsRef<[u8]> + AsMut<[u8]>>(mut m: Functional<B>, frames: &[Vec<u8>]) -> usize {
    let n = workload::feed(&mut m, frames, &mut Vec::new(), |m, fr, _| m.input(fr, 1_000_000));
    m.finish();
    n + m.take_output().len()
}
