#!/usr/bin/env bash
# Regenerate the default target's hardware headers from the contract:
# rtl/pkg/lbnic_pkg.sv (SystemVerilog package) and
# rtl/include/lbnic_contract.h (C11). contract/tests/generated.rs fails when
# the committed files differ from what this writes.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run -q -- target --emit sv -o rtl/pkg/lbnic_pkg.sv
cargo run -q -- target --emit c -o rtl/include/lbnic_contract.h
echo "wrote rtl/pkg/lbnic_pkg.sv rtl/include/lbnic_contract.h"
