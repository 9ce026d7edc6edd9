#!/usr/bin/env bash
# Check the RTL in rtl/ with Debian's Verilator and Yosys:
#   1. scripts/rtl-lint.sh: the generated package (installs the tools);
#   2. verilator --lint-only -Wall of every module rtl/<name>.sv;
#   3. the test vectors, from the Rust contract
#      (cargo run -p lbnic-contract --example rtl_vectors) and model
#      (cargo run -p hw-model-tests --example rtl_vectors_<stage>);
#   4. Yosys: read_verilog -sv, then a generic `synth -top <name>` of every
#      module, with its cell count (Yosys `stat`);
#   5. every module testbench rtl/tb/<name>_tb.sv: verilator --binary
#      --timing, run; it must print PASS and exit 0.
# Synthesis (4) and the testbenches (5) run side by side, one job each, so
# the two cores are used without overloading them.
# Build products go to rtl/build/ (ignored by git).
#
# usage: scripts/rtl-test.sh [--install] [--no-synth] [NAME...]
#   --install    install verilator and yosys (apt-get) when missing
#   --no-synth   skip step 4
#   NAME...      only these modules (default: every rtl/*.sv)
set -euo pipefail
cd "$(dirname "$0")/.."
install=()
synth=1
names=()
for a in "$@"; do
    case "$a" in
        --install) install=(--install) ;;
        --no-synth) synth=0 ;;
        -*) echo "unknown option $a" >&2; exit 2 ;;
        *) names+=("$(basename "$a" .sv)") ;;
    esac
done

bash scripts/rtl-lint.sh "${install[@]}"

build=rtl/build
mkdir -p "$build"
pkg=rtl/pkg/lbnic_pkg.sv
# Packages first: a module file that sorts before lbnic_pipe_pkg.sv
# (lbnic_parse.sv) must see it declared.
mapfile -t all < <(ls rtl/*_pkg.sv; ls rtl/*.sv | grep -v '_pkg\.sv$')
if [ ${#names[@]} -eq 0 ]; then
    for f in "${all[@]}"; do names+=("$(basename "$f" .sv)"); done
fi
for n in "${names[@]}"; do
    [ -f "rtl/$n.sv" ] || { echo "no module rtl/$n.sv" >&2; exit 2; }
done

echo "== verilator --lint-only -Wall: ${names[*]}"
for n in "${names[@]}"; do
    verilator --lint-only -Wall --top-module "$n" "$pkg" "${all[@]}"
done

echo "== test vectors from the contract"
cargo run -q --locked -p lbnic-contract --example rtl_vectors -- "$build/vectors"
# the parser's (lbnic_parse, lbnic_parse_ext, lbnic_hdr_capture), from hw-model
cargo run -q --locked -p hw-model-tests --example rtl_vectors_parse -- "$build/vectors"

synth_all() {
    for n in "${names[@]}"; do
        if ! yosys -q -l "$build/$n.yosys.log" -p "read_verilog -sv $pkg ${all[*]}; hierarchy -check -top $n; synth -top $n; tee -q -o $build/$n.stat stat" >/dev/null; then
            echo "FAIL synth $n (log: $build/$n.yosys.log)"
            return 1
        fi
        echo "synth $n: $(awk '/Number of cells:/ {print $4; exit}' "$build/$n.stat") cells"
    done
}

tb_all() {
    for n in "${names[@]}"; do
        tb=rtl/tb/${n}_tb.sv
        if [ ! -f "$tb" ]; then
            echo "FAIL: $n has no testbench $tb"
            return 1
        fi
        if ! verilator --binary --timing --timescale 1ns/1ps -j 1 -Mdir "$build/${n}_tb" \
            --top-module "${n}_tb" -o sim "$pkg" "${all[@]}" "$tb" >"$build/${n}_tb.build.log" 2>&1; then
            cat "$build/${n}_tb.build.log"
            echo "FAIL: building $tb"
            return 1
        fi
        if ! "$build/${n}_tb/sim" +vectors="$build/vectors" >"$build/${n}_tb.log" 2>&1 \
            || ! grep -q PASS "$build/${n}_tb.log"; then
            tail -n 20 "$build/${n}_tb.log"
            echo "FAIL: $tb"
            return 1
        fi
        grep PASS "$build/${n}_tb.log"
    done
}

echo "== testbenches${synth:+ and yosys synth}, side by side"
status=0
if [ "$synth" = 1 ]; then
    synth_all >"$build/synth.out" 2>&1 &
    synth_pid=$!
fi
tb_all || status=1
if [ "$synth" = 1 ]; then
    wait "$synth_pid" || status=1
    cat "$build/synth.out"
fi
if [ "$status" != 0 ]; then
    echo "rtl test FAILED" >&2
    exit 1
fi
echo "rtl test ok"
