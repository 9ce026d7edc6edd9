#!/usr/bin/env bash
# Regenerate docs/example-report/ (linked from the README): traffic for
# examples/basic.toml (every mode and scheduler), a mid-trace update that
# adds backend web-5 and drains web-2, replayed through the cycle model at
# the capture's timestamps (100 GbE line rate, IMIX).
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(pwd)/docs/example-report"
target="${CARGO_TARGET_DIR:-target}"
cargo build --release --locked --quiet
lbnic="$(pwd)/$target/release/lbnic"
[ -x "$lbnic" ] || lbnic="$target/release/lbnic"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp examples/basic.toml "$work/basic.toml"
# gen2: web gets a fifth backend, web-2 drains.
sed -e '/^# The same service over IPv6/i [[vip.backend]]\nname = "web-5"\naddress = "10.0.1.5"\nmac = "02:00:0a:00:01:05"\n' \
    -e '/^name = "web-2"$/a state = "drain"' examples/basic.toml > "$work/basic-gen2.toml"
cd "$work"
"$lbnic" compile basic.toml -o basic.img >/dev/null
"$lbnic" compile basic-gen2.toml -o basic-gen2.img --previous basic.img >/dev/null
"$lbnic" gen basic.toml -o trace.pcap -n 200000 --flows 5000 --popularity zipf:1.1 --sizes imix \
    --syn-flood 0.01 --non-vip 0.01 --malformed 0.002 --flow-len 40 >/dev/null
printf '# web gains web-5, web-2 drains\nat packet 100000: flash basic-gen2.img\n' > updates.txt
"$lbnic" replay basic.img trace.pcap --model cycle --updates updates.txt --report "$out"
