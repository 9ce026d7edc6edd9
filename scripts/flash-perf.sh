#!/usr/bin/env bash
# Flash speed over shm: (docs/performance.md, "Host driver"). A release
# `lbnic serve --shm` answers; we flash a full default-target image, then a
# one-backend change with --delta, several times, and print the flash
# reports (bytes written, write / commit / read-back / total ms).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-5}"
cargo build --release --locked --quiet --bin lbnic
L="${CARGO_TARGET_DIR:-target}/release/lbnic"
W=$(mktemp -d)
trap 'kill $SP 2>/dev/null || true; rm -rf "$W"' EXIT
export LBNIC_STATE_DIR="$W/state"
"$L" serve --shm "$W/bar" >"$W/serve.log" &
SP=$!
for _ in $(seq 100); do grep -q ready "$W/serve.log" 2>/dev/null && break; sleep 0.1; done
# g1: examples/basic.toml; g2: the same tables, next generation; g3: g2 plus
# one backend for the maglev-stable VIP web6.
"$L" compile examples/basic.toml -o "$W/g1.img" --generation 1 >/dev/null
"$L" compile examples/basic.toml -o "$W/g2.img" --previous "$W/g1.img" >/dev/null
awk '{print} /^address = "2001:db8:1::3"/{print "\n[[vip.backend]]\nname = \"web6-4\"\naddress = \"2001:db8:1::4\""}' \
    examples/basic.toml >"$W/basic3.toml"
"$L" compile "$W/basic3.toml" -o "$W/g3.img" --previous "$W/g2.img" >/dev/null
# One line per flash: the driver's own report, plus the command's wall
# time (process start, image load and validation included).
flash() { # label, args...
    local label=$1 t0 t1
    shift
    t0=$(date +%s%N)
    "$L" flash -d "shm:$W/bar" "$@" --json >"$W/r.json"
    t1=$(date +%s%N)
    python3 -c 'import json,sys; r=json.load(open(sys.argv[2])); print("%-6s %9d bytes in %4d ranges  write %7.2f ms  commit %7.2f ms  read-back %7.2f ms  protocol %7.2f ms  command %7.1f ms" % (sys.argv[1], r["bytes_written"], r["write_ranges"], r["write_ms"], r["commit_ms"], r["readback_ms"], r["total_ms"], float(sys.argv[3]) / 1e6))' \
        "$label" "$W/r.json" "$((t1 - t0))"
}
for _ in $(seq "$RUNS"); do
    flash full "$W/g1.img"
    flash full "$W/g2.img"
    flash delta "$W/g3.img" --delta
done
