//! The simulator-speed workload, shared by the `sim` bench and the
//! `simspeed` example: 60-byte TCP frames (64 on the wire) over `flows`
//! flows to one Maglev VIP with 16 DR backends, in a deterministic shuffled
//! order, fed the way a replay feeds them (input buffers recycled from the
//! outputs, so malloc is not what is measured).

use etherparse::PacketBuilder;
use hw_model::model::Model;
use lbnic_contract::image::Image;
use std::path::Path;
use table_compiler::compile::compile;
use table_compiler::config::Config;

pub fn image() -> Image {
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

/// `n` frames over `flows` flows; consecutive frames belong to other flows.
pub fn frames(n: usize, flows: u64) -> Vec<Vec<u8>> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
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
        .collect()
}

/// Feed `frames` through `m` with `at(model, frame, index)`; returns how
/// many frames came out.
pub fn feed<M: Model>(
    m: &mut M,
    frames: &[Vec<u8>],
    pool: &mut Vec<Vec<u8>>,
    at: impl Fn(&mut M, Vec<u8>, usize),
) -> usize {
    let mut out = Vec::new();
    let mut n = 0;
    for (i, fr) in frames.iter().enumerate() {
        let mut b = pool.pop().unwrap_or_default();
        b.clear();
        b.extend_from_slice(fr);
        at(m, b, i);
        if i % 1024 == 1023 {
            m.take_output_into(&mut out);
            n += out.len();
            pool.extend(out.drain(..).map(|o| o.data));
        }
    }
    m.take_output_into(&mut out);
    n += out.len();
    pool.extend(out.drain(..).map(|o| o.data));
    n
}

/// Arrival cycle of frame `i` offered at 100 GbE line rate for 64-byte
/// frames (84 bytes on the wire) on the default target's clock (322 MHz:
/// 2.16 cycles apart).
pub fn line_rate_cycle(i: usize) -> u64 {
    let clock = lbnic_contract::target::Target::builtin().clock_mhz as u64;
    i as u64 * 84 * 8 * clock / 100_000
}
