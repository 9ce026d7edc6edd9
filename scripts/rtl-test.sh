#!/usr/bin/env bash
# Check the RTL in rtl/ with Debian's Verilator and Yosys:
#   1. scripts/rtl-lint.sh: the generated package (installs the tools);
#   2. verilator --lint-only -Wall of every module rtl/<name>.sv;
#   3. the test vectors, from the Rust contract
#      (cargo run -p lbnic-contract --example rtl_vectors) and from the
#      model (cargo run -p hw-model-tests --example rtl_vectors_<stage>), or
#      the examples built beside LBNIC_BIN (scripts/lbnic-run.sh);
#   4. Yosys: read_verilog -sv (-defer: only the modules under the top are
#      elaborated), then a generic `synth -top <name>`, with its cell count
#      (Yosys `stat`): by default of the whole pipeline, lbnic_top (every
#      module is under it), with --synth-each or NAMEs of each module on
#      its own; with --depth the
#      depth of its deepest register-to-register path in 6-input LUTs
#      (`abc -lut 6` of the generic netlist, `ltp -noff`; a multiply shows
#      as deep here, it is a DSP on an FPGA; minutes per large module, so
#      CI leaves it out);
#   5. every module testbench rtl/tb/<name>_tb.sv: verilator --binary
#      --timing, run; it must print PASS and exit 0. lbnic_top's runs only
#      when named: the whole pipeline is checked, on far more traffic, by
#      the Verilator harness (scripts/rtl-sim.sh, tests/rtl.rs), and its
#      build costs as much. A module listed in
#      tb_of is checked by another module's testbench (it is exercised
#      there through its ports); synth_top names a wrapper in rtl/synth/
#      that instantiates a module with small parameters, synthesised
#      instead of the module when its defaults (the default target's
#      memories) are too large for a generic Yosys run.
# Synthesis (4) and the testbenches (5) run side by side, the synthesis
# one job and the testbenches --jobs at a time (default 1).
# Build products go to rtl/build/ (ignored by git).
#
# usage: scripts/rtl-test.sh [--install] [--no-synth] [--synth-each] [--depth] [--jobs N] [NAME...]
#   --install    install verilator and yosys (apt-get) when missing
#   --no-synth   skip step 4
#   --synth-each synthesise every module on its own (not only lbnic_top)
#   --synth-only only step 4 (no lint, vectors or testbenches): for
#                running the synthesis beside other work (scripts/test.sh)
#   --coarse     step 4 stops after synth's coarse passes (`synth -run
#                begin:fine`: elaboration, proc, opt, memory inference;
#                no techmap or ABC): the check that Yosys takes the RTL, in
#                about half the CPU time (scripts/test.sh, CI). The LUT/FF
#                report for an FPGA is scripts/synth.sh's.
#   --depth      also map to 6-input LUTs and report the logic depth
#   --jobs N     N testbenches at a time (default 1; scripts/test.sh: 2,
#                beside the harness's build)
#   NAME...      only these modules (default: every rtl/*.sv)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lbnic-run.sh
install=()
synth=1
depth=0
each=0
synth_only=0
coarse=0
tb_jobs=1
names=()
while [ $# -gt 0 ]; do
    a=$1
    shift
    case "$a" in
        --jobs) tb_jobs=${1:?--jobs needs a number}; shift ;;
        --install) install=(--install) ;;
        --no-synth) synth=0 ;;
        --depth) depth=1 ;;
        --synth-each) each=1 ;;
        --synth-only) synth_only=1 ;;
        --coarse) coarse=1 ;;
        -*) echo "unknown option $a" >&2; exit 2 ;;
        *) names+=("$(basename "$a" .sv)") ;;
    esac
done

[ "$synth_only" = 1 ] || bash scripts/rtl-lint.sh "${install[@]}"
# verilator --binary compiles C++ (Debian's verilator does not depend on
# a compiler)
missing=()
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
if [ ${#missing[@]} -gt 0 ]; then
    if [ ${#install[@]} -gt 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "${missing[*]} not found (pass --install, or: apt-get install ${missing[*]})" >&2
        exit 2
    fi
fi

build=rtl/build
mkdir -p "$build"
pkg=rtl/pkg/lbnic_pkg.sv
# Packages (rtl/*_pkg.sv) first: a package must be read before its users.
mapfile -t all < <(ls rtl/*_pkg.sv; ls rtl/*.sv | grep -v '_pkg\.sv$')
# The testbenches' own packages (rtl/tb/*_pkg.sv: vector readers they share).
mapfile -t tb_pkgs < <(ls rtl/tb/*_pkg.sv 2>/dev/null)
tb_names=()
synth_names=()
if [ ${#names[@]} -eq 0 ]; then
    for f in "${all[@]}"; do
        case "$f" in *_pkg.sv) ;; *) names+=("$(basename "$f" .sv)") ;; esac
    done
    tb_names=("${names[@]}")
    top_tb=0
    synth_names=(lbnic_top)
    [ "$each" = 0 ] || synth_names=("${names[@]}")
else
    tb_names=("${names[@]}")
    top_tb=1
    synth_names=("${names[@]}")
fi
for n in "${names[@]}"; do
    [ -f "rtl/$n.sv" ] || { echo "no module rtl/$n.sv" >&2; exit 2; }
done

if [ "$synth_only" = 0 ]; then
    echo "== verilator --lint-only -Wall: ${names[*]}"
    for n in "${names[@]}"; do
        verilator --lint-only -Wall --top-module "$n" $pkg "${all[@]}"
    done

    echo "== test vectors from the contract"
    example lbnic-contract rtl_vectors "$build/vectors"
    echo "== test vectors from the model"
    for ex in rtl_vectors_front rtl_vectors_icmp rtl_vectors_regs rtl_vectors_rewrite rtl_vectors_ct rtl_vectors_ctx rtl_vectors_parse rtl_vectors_top; do
        example hw-model-tests "$ex" "$build/vectors"
    done
fi

# Modules checked by another module's testbench.
declare -A tb_of=(
    [lbnic_bank]=lbnic_regs
    [lbnic_commit]=lbnic_regs
    [lbnic_ram]=lbnic_regs
    [lbnic_hdr_sums]=lbnic_top
    [lbnic_csum_pipe]=lbnic_rx_sum
    [lbnic_win_word]=lbnic_parse_ext
    [lbnic_ct_rmw]=lbnic_ct_engine
)
# Testbenches built against another target's package than rtl/pkg's (the
# default target): rtl/build/pkg_<target>/lbnic_pkg.sv, generated from
# examples/targets/<target>.toml (`lbnic target FILE --emit sv`).
declare -A tb_target=(
    [lbnic_top]=small
)
# Testbenches run again with these plusargs, a run per `|`-separated
# set: the conntrack engine at 100 clocks of memory latency, where a
# posted unit still holds its buckets as the hazard table reaches a
# queued packet that has one (at 3-10 clocks that never happens); and
# with another random seed (other gaps, latencies and back-pressure). The
# seed-2 run used to take a slot as its source left CT_EXEC from S_WR
# (fw_lft, `+need_lft=small` failed the run without one); since the
# head's pre-match no seed tried does (docs/performance.md, "The head's
# lookup run ahead").
declare -A tb_again=(
    [lbnic_ct_engine]="+ctlat=100|+seed=2"
)
# Small-parameter synthesis tops (rtl/synth/<top>.sv) of modules too large
# to synthesise generically at the default target's sizes in about a minute
# (lbnic_bank: the BACKEND and LUT RAMs, URAM on an FPGA; lbnic_front: 256
# VIPs, ~80 s of CPU and 146k cells, which passes; lbnic_ct_engine: CT_REQ's
# queue of 16 packets' bucket data in flip-flops). Yosys 0.23's
# `hierarchy -chparam` asserts on lbnic_bank, hence wrappers.
declare -A synth_top=(
    [lbnic_bank]=lbnic_bank_small
    [lbnic_ct_engine]=lbnic_ct_engine_small
    [lbnic_front]=lbnic_front_small
    [lbnic_top]=lbnic_top_small
)

synth_all() {
    for n in "${synth_names[@]}"; do
        top=${synth_top[$n]:-$n}
        extra=""
        [ "$top" = "$n" ] || extra=rtl/synth/$top.sv
        lut=""
        run=""
        [ "$coarse" = 0 ] || run=" -run begin:fine"
        [ "$depth" = 0 ] || lut="; abc -lut 6; opt_clean; tee -q -o $build/$n.ltp ltp -noff"
        if ! yosys -q -l "$build/$n.yosys.log" -p "read_verilog -sv -defer $pkg ${all[*]} $extra; hierarchy -check -top $top; synth -top $top$run; tee -q -o $build/$n.stat stat$lut" >/dev/null; then
            echo "FAIL synth $n (log: $build/$n.yosys.log)"
            return 1
        fi
        # a name Yosys could not resolve is a new wire, and the netlist is
        # not the RTL (Yosys 0.23: a field of a struct declared in a block)
        if grep -q 'is implicitly declared' "$build/$n.yosys.log"; then
            echo "FAIL synth $n: $(grep -m1 'is implicitly declared' "$build/$n.yosys.log") (log: $build/$n.yosys.log)"
            return 1
        fi
        # the last count is the whole hierarchy's
        msg="synth${run:+ (coarse)} $n${synth_top[$n]:+ (as rtl/synth/${synth_top[$n]}.sv)}: $(awk '/Number of cells:/ {c = $4} END {print c}' "$build/$n.stat") cells"
        [ "$depth" = 0 ] || msg+=", LUT6 depth $(sed -n 's/.*(length=\([0-9]*\)).*/\1/p' "$build/$n.ltp")"
        echo "$msg"
    done
}

# One module's testbench: build, run; its output on stdout (tb_all keeps
# it in $build/<name>_tb.out).
tb_one() {
    local n=$1 tb=rtl/tb/$1_tb.sv tpkg=$pkg
    if [ -n "${tb_target[$n]:-}" ]; then
        tpkg=$build/pkg_${tb_target[$n]}/lbnic_pkg.sv
        mkdir -p "$(dirname "$tpkg")"
        lbnic target "examples/targets/${tb_target[$n]}.toml" --emit sv -o "$tpkg" || return 1
    fi
    # -O1 (-O0 for the run-once code): a third less CPU to build than
    # Verilator's -Os, and the testbenches run as fast within 15 %.
    if ! verilator --binary --timing --timescale 1ns/1ps -j 1 -Mdir "$build/${n}_tb" \
        -MAKEFLAGS "OPT_FAST=-O1 OPT_SLOW=-O0 OPT_GLOBAL=-O1" \
        --top-module "${n}_tb" -o sim "$tpkg" "${all[@]}" "${tb_pkgs[@]}" "$tb" >"$build/${n}_tb.build.log" 2>&1; then
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
    # more runs where a testbench's paths need other timing (tb_again)
    local again args k=0
    IFS='|' read -r -a again <<<"${tb_again[$n]:-}"
    for args in "${again[@]}"; do
        k=$((k + 1))
        local log=$build/${n}_tb.again.log
        [ "$k" = 1 ] || log=$build/${n}_tb.again$k.log
        # shellcheck disable=SC2086
        if ! "$build/${n}_tb/sim" +vectors="$build/vectors" $args >"$log" 2>&1 \
            || ! grep -q PASS "$log"; then
            tail -n 20 "$log"
            echo "FAIL: $tb $args"
            return 1
        fi
        echo "PASS ($args)"
    done
}

# Every testbench, tb_jobs at a time, the longest builds first (so the
# last to finish is a short one); outputs printed in that order.
tb_all() {
    local -A done_tb=()
    local -a list=() pids=()
    local n m p tb c status=0
    for m in lbnic_parse lbnic_parse_ext lbnic_ct_engine lbnic_front lbnic_regs lbnic_rewrite \
        "${tb_names[@]}"; do
        n=${tb_of[$m]:-$m}
        # only modules asked for; lbnic_top_tb (and the modules it checks)
        # only when named
        [[ " ${tb_names[*]} " == *" $m "* ]] || continue
        [ "$n" != lbnic_top ] || [ "$top_tb" = 1 ] || continue
        [ -z "${done_tb[$n]:-}" ] || continue
        done_tb[$n]=1
        tb=rtl/tb/${n}_tb.sv
        if [ ! -f "$tb" ]; then
            echo "FAIL: $n has no testbench $tb"
            return 1
        fi
        list+=("$n")
    done
    for n in "${list[@]}"; do
        # (polled: `wait -n` would also reap the synthesis beside us)
        while :; do
            c=0
            for p in "${pids[@]}"; do ! kill -0 "$p" 2>/dev/null || c=$((c + 1)); done
            [ "$c" -ge "$tb_jobs" ] || break
            sleep 1
        done
        tb_one "$n" >"$build/${n}_tb.out" 2>&1 &
        pids+=($!)
    done
    for c in "${!list[@]}"; do
        wait "${pids[$c]}" || status=1
        cat "$build/${list[$c]}_tb.out"
    done
    return $status
}

if [ "$synth_only" = 1 ]; then
    echo "== yosys synth"
    synth_all
    exit
fi

if [ "$synth" = 1 ]; then echo "== testbenches and yosys synth, side by side"; else echo "== testbenches"; fi
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
