#!/usr/bin/env bash
# The project's test command (README, .ci/run): installs what the tests need,
# then runs every test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
# tshark dissects the replay outputs in tests/traffic.rs (installed as root).
bash scripts/tshark-check.sh --install
export LBNIC_REQUIRE_TSHARK=1
cargo test --workspace --all-targets --locked "$@"
