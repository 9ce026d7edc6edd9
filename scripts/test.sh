#!/usr/bin/env bash
# The project's test command (README, .ci/run): installs what the tests need,
# lints the generated SystemVerilog package and tests the RTL units
# (Verilator, Yosys), builds the RTL's Verilator harness (scripts/rtl-sim.sh),
# then runs
# every test in the workspace, then the real VFIO end-to-end test
# in a QEMU guest (scripts/vfio-qemu-test.sh; it installs QEMU, busybox and a
# Debian kernel itself). LBNIC_SKIP_VFIO=1 skips the QEMU test (CI never
# sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
# tshark dissects the replay outputs in tests/traffic.rs (installed as root).
bash scripts/tshark-check.sh --install
export LBNIC_REQUIRE_TSHARK=1
# Verilator and Yosys (installed as root) lint rtl/pkg/lbnic_pkg.sv
# (scripts/rtl-lint.sh), then lint, synthesise and simulate every RTL
# module against the contract's vectors (scripts/rtl-test.sh).
bash scripts/rtl-test.sh --install
# The Verilator harness of the whole RTL (rtl/sim/) for the small target:
# the model behind `--model rtl`, which tests/rtl.rs compares with the
# functional model; required, so a missing harness fails those tests.
bash scripts/rtl-sim.sh --install --target examples/targets/small.toml
# ... and around the loopback stand-in top (rtl-sim/tests/harness.rs).
bash scripts/rtl-sim.sh --target examples/targets/small.toml --selftest
export LBNIC_RTL_REQUIRED=1
cargo test --workspace --all-targets --locked "$@"
if [ "${LBNIC_SKIP_VFIO:-0}" = 1 ]; then
    echo "== VFIO/QEMU test skipped (LBNIC_SKIP_VFIO=1)"
else
    echo "== VFIO end-to-end test in a QEMU guest"
    bash scripts/vfio-qemu-test.sh
fi
