#!/usr/bin/env bash
# The project's test command (README, .ci/run): installs what the tests need,
# lints the generated SystemVerilog package, builds the workspace's tests
# (`cargo test --no-run`: its lbnic and examples then make the RTL's test
# vectors and packages, LBNIC_BIN, scripts/lbnic-run.sh, so nothing is built
# twice in two profiles), tests the RTL units and
# synthesises the pipeline (Verilator, Yosys), builds the RTL's Verilator harness (scripts/rtl-sim.sh),
# then runs
# every test in the workspace, then the real VFIO end-to-end test
# in a QEMU guest (scripts/vfio-qemu-test.sh; it installs QEMU, busybox and a
# Debian kernel itself), twice: with the functional model behind the
# device, then with the RTL (`--model rtl`, the small target's harness
# built above). LBNIC_SKIP_VFIO=1 skips the QEMU tests (CI never sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
# tshark dissects the replay outputs in tests/traffic.rs (installed as root).
bash scripts/tshark-check.sh --install
export LBNIC_REQUIRE_TSHARK=1
# Verilator and Yosys (installed as root) lint rtl/pkg/lbnic_pkg.sv
# (scripts/rtl-lint.sh), and g++ and make build what Verilator writes.
# Yosys's coarse synthesis of the whole pipeline (single-threaded, ~12
# CPU-minutes at stop 65, docs/performance.md "CI run time"; the FPGA
# report is scripts/synth.sh's) starts in the background beside the workspace's test
# build. Then the Verilator harness of the whole RTL (scripts/rtl-sim.sh,
# the small target: the model behind `--model rtl`, which tests/rtl.rs
# compares with the functional model, required here, so a missing harness
# fails those tests; around the loopback stand-in top for
# rtl-sim/tests/harness.rs; and for examples/targets/slow-memory.toml, the
# outstanding-read limit's tests) builds in the background, while
# scripts/rtl-test.sh lints and simulates every RTL module against the
# model's vectors, two testbenches at a time (three jobs on the two cores:
# the testbenches' builds are the longest part of the run, and sharing the
# cores keeps both busy until the end). Each background job has its own
# process group.
bash scripts/rtl-lint.sh --install
missing=()
for t in g++ make; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
mkdir -p rtl/build
setsid bash scripts/rtl-test.sh --synth-only --coarse >rtl/build/synth-ci.log 2>&1 &
synth_pid=$!
sim_pid=
trap 'kill -- -"$synth_pid" ${sim_pid:+-"$sim_pid"} 2>/dev/null || true' EXIT
echo "== cargo test --no-run"
cargo test --workspace --all-targets --locked --no-run "$@"
# (cargo test builds the examples as test harnesses: the vectors' examples
# as programs, on the same compiled dependencies, take seconds)
cargo build --workspace --examples --profile test --locked
LBNIC_BIN="${CARGO_TARGET_DIR:-target}/debug/lbnic"
[ -x "$LBNIC_BIN" ] || { echo "FAIL: the test build made no $LBNIC_BIN" >&2; exit 1; }
export LBNIC_BIN
tgt=examples/targets/small.toml
setsid bash -c "bash scripts/rtl-sim.sh --target $tgt && bash scripts/rtl-sim.sh --target $tgt --selftest && bash scripts/rtl-sim.sh --target examples/targets/slow-memory.toml" \
    >rtl/build/sim-ci.log 2>&1 &
sim_pid=$!
bash scripts/rtl-test.sh --no-synth --jobs 2
echo "== the Verilator harness (scripts/rtl-sim.sh)"
if ! wait "$sim_pid"; then
    cat rtl/build/sim-ci.log
    echo "FAIL: the Verilator harness (scripts/rtl-sim.sh)" >&2
    exit 1
fi
cat rtl/build/sim-ci.log
export LBNIC_RTL_REQUIRED=1
cargo test --workspace --all-targets --locked "$@"
echo "== yosys synthesis of the pipeline"
if ! wait "$synth_pid"; then
    cat rtl/build/synth-ci.log
    echo "FAIL: yosys synthesis of the pipeline" >&2
    exit 1
fi
trap - EXIT
grep -v '^Warning: Replacing memory' rtl/build/synth-ci.log
if [ "${LBNIC_SKIP_VFIO:-0}" = 1 ]; then
    echo "== VFIO/QEMU test skipped (LBNIC_SKIP_VFIO=1)"
else
    # LBNIC_BIN, the lbnic `cargo test` built (no second, static release
    # build: the guest gets its shared libraries).
    echo "== VFIO end-to-end test in a QEMU guest"
    bash scripts/vfio-qemu-test.sh
    echo "== VFIO end-to-end test in a QEMU guest, the RTL behind the device"
    bash scripts/vfio-qemu-test.sh --model rtl
fi
