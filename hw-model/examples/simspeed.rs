//! Quick simulator-speed probe (instructions per packet under callgrind,
//! or wall time): `cargo run --release -p hw-model --example simspeed --
//! functional|cycle [packets] [flows]`. The criterion bench `sim` is the
//! measurement of record.

use etherparse::PacketBuilder;
use hw_model::cycle::Cycle;
use hw_model::device::in_memory;
use hw_model::functional::Functional;
use hw_model::model::Model;
use std::path::Path;
use table_compiler::compile::compile;
use table_compiler::config::Config;
use table_compiler::target::Target;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map_or("functional", String::as_str);
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let flows: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let mut text = String::from("[[vip]]\nname = \"web\"\naddress = \"192.0.2.10\"\nport = 80\n");
    for i in 0..16 {
        text += &format!(
            "[[vip.backend]]\nname = \"b{i}\"\naddress = \"10.0.0.{}\"\nmac = \"02:00:00:00:00:{:02x}\"\n",
            i + 1,
            i + 1
        );
    }
    let cfg = Config::parse(&text, "bench.toml", Path::new(".")).expect("config");
    let img = compile(&cfg, None, None).expect("compile").0;
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let frames: Vec<Vec<u8>> = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let f = (x % flows) as u32;
            let src = [198, 18 + (f >> 16) as u8, (f >> 8) as u8, f as u8];
            let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 9], [2, 0, 0, 0, 0, 1])
                .ipv4(src, [192, 0, 2, 10], 64)
                .tcp(10_000 + (f % 50_000) as u16, 80, 1, 65535)
                .ack(1);
            let mut out = Vec::with_capacity(60);
            b.write(&mut out, &[0u8; 6]).expect("frame");
            out
        })
        .collect();
    let mut dev = in_memory(Target::builtin()).expect("device");
    dev.flash(&img).expect("flash");
    let t0 = std::time::Instant::now();
    let out = if which == "cycle" {
        run_cycle(Cycle::new(dev), frames)
    } else {
        run_functional(Functional::new(dev), frames)
    };
    let dt = t0.elapsed().as_secs_f64();
    println!("{which}: {n} packets, {out} out, {:.2} Mpps", n as f64 / dt / 1e6);
}

/// Offered at 100 GbE line rate for 60-byte frames: 1.68 cycles apart.
/// Output buffers are recycled as input buffers, as a replay does.
#[inline(never)]
fn run_cycle<B: AsRef<[u8]> + AsMut<[u8]>>(mut m: Cycle<B>, frames: Vec<Vec<u8>>) -> usize {
    let mut out = 0;
    let mut pool: Vec<Vec<u8>> = Vec::new();
    let mut o = Vec::new();
    for (i, fr) in frames.iter().enumerate() {
        let mut b = pool.pop().unwrap_or_default();
        b.clear();
        b.extend_from_slice(fr);
        m.input_at_cycle(b, i as u64 * 168 / 100, 1_000_000);
        if i % 1024 == 1023 {
            m.take_output_into(&mut o);
            out += o.len();
            pool.extend(o.drain(..).map(|p| p.data));
        }
    }
    m.finish();
    out + m.take_output().len()
}

#[inline(never)]
fn run_functional<B: AsRef<[u8]> + AsMut<[u8]>>(mut m: Functional<B>, frames: Vec<Vec<u8>>) -> usize {
    let mut out = 0;
    let mut pool: Vec<Vec<u8>> = Vec::new();
    let mut o = Vec::new();
    for (i, fr) in frames.iter().enumerate() {
        let mut b = pool.pop().unwrap_or_default();
        b.clear();
        b.extend_from_slice(fr);
        m.input(b, 1_000_000);
        if i % 1024 == 1023 {
            m.take_output_into(&mut o);
            out += o.len();
            pool.extend(o.drain(..).map(|p| p.data));
        }
    }
    m.finish();
    out + m.take_output().len()
}
