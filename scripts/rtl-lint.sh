#!/usr/bin/env bash
# Lint the generated SystemVerilog package with Debian's tools: Verilator
# (--lint-only -Wall) and Yosys (read_verilog -sv, a generic synth), both through
# the lint top rtl/tb/lbnic_pkg_lint.sv, which also checks the packed struct
# widths. contract/tests/generated.rs checks the package is current.
#
# usage: scripts/rtl-lint.sh [--install]
#   --install   install verilator and yosys (apt-get) when missing
set -euo pipefail
cd "$(dirname "$0")/.."
install=0
[ "${1:-}" = --install ] && install=1
missing=()
command -v verilator >/dev/null 2>&1 || missing+=(verilator)
command -v yosys >/dev/null 2>&1 || missing+=(yosys)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$install" = 1 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "${missing[*]} not found (pass --install, or: apt-get install ${missing[*]})" >&2
        exit 2
    fi
fi
files=(rtl/pkg/lbnic_pkg.sv rtl/tb/lbnic_pkg_lint.sv)
echo "== verilator --lint-only -Wall ${files[*]}"
verilator --lint-only -Wall --top-module lbnic_pkg_lint "${files[@]}"
echo "== yosys read_verilog -sv ${files[*]}; synth -top lbnic_pkg_lint"
yosys -q -p "read_verilog -sv ${files[*]}; hierarchy -check -top lbnic_pkg_lint; synth -top lbnic_pkg_lint"
echo "rtl lint ok"
