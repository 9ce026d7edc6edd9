#!/usr/bin/env bash
# The project's test command (README, .ci/run): installs what the tests need,
# lints the generated SystemVerilog package, tests the RTL units and
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
# (scripts/rtl-lint.sh); then the Yosys synthesis of the whole pipeline
# (single-threaded, ~12 CPU-minutes) runs in the background beside
# everything up to the QEMU test, while scripts/rtl-test.sh lints and
# simulates every RTL module against the model's vectors.
bash scripts/rtl-lint.sh --install
mkdir -p rtl/build
bash scripts/rtl-test.sh --synth-only >rtl/build/synth-ci.log 2>&1 &
synth_pid=$!
trap 'kill "$synth_pid" 2>/dev/null || true' EXIT
bash scripts/rtl-test.sh --install --no-synth
# The Verilator harness of the whole RTL (rtl/sim/) for the small target:
# the model behind `--model rtl`, which tests/rtl.rs compares with the
# functional model; required, so a missing harness fails those tests.
bash scripts/rtl-sim.sh --install --target examples/targets/small.toml
# ... and around the loopback stand-in top (rtl-sim/tests/harness.rs).
bash scripts/rtl-sim.sh --target examples/targets/small.toml --selftest
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
    echo "== VFIO end-to-end test in a QEMU guest"
    bash scripts/vfio-qemu-test.sh
    echo "== VFIO end-to-end test in a QEMU guest, the RTL behind the device"
    bash scripts/vfio-qemu-test.sh --model rtl
fi
