#!/usr/bin/env bash
# Set up and run the main job on the built-in example: build lbnic, compile
# examples/basic.toml into a bank image, show it, and look a flow up in it.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked
out=${OUT:-target/basic.img}
./target/release/lbnic compile examples/basic.toml -o "$out"
./target/release/lbnic inspect "$out"
./target/release/lbnic lookup "$out" --flow 'tcp 198.51.100.7:40000 -> 192.0.2.10:80'
