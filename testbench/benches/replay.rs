//! The whole replay path, as `lbnic replay` runs it: `cargo bench -p
//! testbench --bench replay`. A capture file is read (mapped), run through
//! the model, analysed for the report, and (`_output`) written to a capture
//! file: 200,000 64-byte frames over 100,000 flows to one Maglev VIP with 16
//! DR backends (the traffic of `hw-model-tests`' `sim` bench, as `lbnic
//! gen` makes it). Each iteration is a whole replay: setting up the device
//! (a 128 MiB conntrack) is part of it. Under a minute in all.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::Path;
use std::time::Duration;
use table_compiler::compile::compile;
use table_compiler::config::Config;
use testbench::gen::{generate, GenSpec};
use testbench::replay::{replay, Emitted, ModelKind, Options, ReplayError};
use testbench::trace::{Format, TraceWriter};

const PACKETS: u64 = 200_000;
const FLOWS: u32 = 100_000;

fn config() -> Config {
    let mut text = String::from(
        "[device]\nmac = \"02:00:5e:00:00:01\"\ngateway_mac = \"02:00:5e:00:00:fe\"\n\
         [[vip]]\nname = \"web\"\naddress = \"192.0.2.10\"\nport = 80\nmode = \"dr\"\n",
    );
    for i in 0..16 {
        text += &format!(
            "[[vip.backend]]\nname = \"b{i}\"\naddress = \"10.0.0.{}\"\nmac = \"02:00:00:00:00:{:02x}\"\n",
            i + 1,
            i + 1
        );
    }
    Config::parse(&text, "bench.toml", Path::new(".")).expect("config")
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config();
    let image = compile(&cfg, None, None).expect("compile").0;
    let trace = dir.path().join("in.pcap");
    let spec = GenSpec {
        packets: PACKETS,
        flows: FLOWS,
        ..GenSpec::default()
    };
    generate(&cfg, spec, &trace, |_| {}).expect("generate");
    let out = dir.path().join("out.pcap");

    let mut g = c.benchmark_group("replay_64b_100k_flows");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(PACKETS));
    let run = |model: ModelKind, write: bool| {
        let opts = Options {
            model,
            keep_output: write,
            ..Options::default()
        };
        let mut w = write.then(|| TraceWriter::create(&out, Format::Pcap).expect("writer"));
        let mut sink = |e: &Emitted<'_>| -> Result<(), ReplayError> {
            if let Some(w) = w.as_mut() {
                w.write(e.ts, e.data)?;
            }
            Ok(())
        };
        let r = replay(&image, &trace, &opts, &mut sink, &|_, _| {}).expect("replay");
        if let Some(w) = w {
            w.finish().expect("finish");
        }
        r.achieved.packets
    };
    g.bench_function("functional", |b| b.iter(|| run(ModelKind::Functional, false)));
    g.bench_function("functional_output", |b| {
        b.iter(|| run(ModelKind::Functional, true))
    });
    g.bench_function("cycle", |b| b.iter(|| run(ModelKind::Cycle, false)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
