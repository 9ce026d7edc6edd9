#!/usr/bin/env bash
# The project's test command (README, .ci/run): installs what the tests need,
# then runs every test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --all-targets --locked "$@"
