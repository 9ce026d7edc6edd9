#!/usr/bin/env bash
# The project's test command (README, .ci/run): installs what the tests need,
# then runs every test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
# tshark dissects the replay outputs in tests/traffic.rs.
if ! command -v tshark >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark >/dev/null
    else
        echo "tshark missing and not root: install it (apt-get install tshark)" >&2
        exit 1
    fi
fi
export LBNIC_REQUIRE_TSHARK=1
cargo test --workspace --all-targets --locked "$@"
