#!/usr/bin/env bash
# Set up and run the main job on the built-in example: build lbnic, compile
# examples/basic.toml into a bank image, show it, look a flow up in it,
# generate traffic for its VIPs and replay that through the cycle-accurate
# pipeline model (throughput, stalls, latency, per-backend load).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked
lbnic=./target/release/lbnic
dir=${OUT:-target/demo}
mkdir -p "$dir"
$lbnic compile examples/basic.toml -o "$dir/basic.img"
$lbnic inspect "$dir/basic.img"
$lbnic lookup "$dir/basic.img" --flow 'tcp 198.51.100.7:40000 -> 192.0.2.10:80'
$lbnic gen examples/basic.toml -o "$dir/trace.pcap" -n 200000 --flows 20000 --sizes imix
$lbnic replay "$dir/basic.img" "$dir/trace.pcap" --model cycle -o "$dir/out.pcap" --report "$dir/report"
