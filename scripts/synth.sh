#!/usr/bin/env bash
# Synthesise the pipeline for an UltraScale+ part with Debian's Yosys
# (`synth_xilinx -family xcup`) and report what it costs: LUT, LUTRAM/SRL,
# flip-flops by type, CARRY8/MUXF, block RAM (RAMB36E2/RAMB18E2), URAM288,
# DSP48E2, and the deepest register-to-register path in LUT levels with its
# endpoints (scripts/synth-report.py walks the netlist; Yosys' `ltp` counts
# every cell and does not know Xilinx flip-flops).
#
# Memories (docs/spec.md §1.1, §13 "Synthesis"): the conntrack table is
# external (HBM; lbnic_top's tagged ct_* port); the banks' BACKEND and LUT
# are on chip, URAM (`-uram`: lbnic_ram's large RAMs map to URAM288, the
# packet buffer and smaller RAMs to block RAM); GLOBAL and the VIP table
# are flip-flops (FRONT compares every VIP at once). The design is
# synthesised out of context (-noiopad -noclkbuf: a block inside the
# card's shell), hierarchically (each module once per parameter set),
# then flattened for the depth walk.
#
# usage: scripts/synth.sh [--target FILE] [--top NAME] [--json] [--paths N] [--no-uram]
#   --target FILE  a target TOML (the package from `lbnic target FILE --emit
#                  sv`); default: the default target (rtl/pkg/lbnic_pkg.sv)
#   --top NAME     top module (default lbnic_top); rtl/synth/NAME.sv is read
#                  too when it exists (small-parameter wrappers)
#   --json         print the report as JSON (rtl/build/synth/<tag>/report.json)
#   --paths N      list the N deepest paths (distinct endpoints; default 5)
#   --no-uram      map large memories to block RAM instead of URAM288
# Products in rtl/build/synth/<target>-<top>/: yosys.log, net.json,
# report.json, time.txt. Exits non-zero on any Yosys error.
set -euo pipefail
cd "$(dirname "$0")/.."
target=""
top=lbnic_top
json=0
paths=5
uram=(-uram)
while [ $# -gt 0 ]; do
    case "$1" in
        --target) target=$2; shift ;;
        --top) top=$2; shift ;;
        --json) json=1 ;;
        --paths) paths=$2; shift ;;
        --no-uram) uram=() ;;
        *) echo "unknown argument $1 (usage: scripts/synth.sh [--target FILE] [--top NAME] [--json] [--paths N] [--no-uram])" >&2; exit 2 ;;
    esac
    shift
done
command -v yosys >/dev/null 2>&1 || { echo "yosys not found (scripts/rtl-lint.sh --install)" >&2; exit 2; }

if [ -z "$target" ] || [ "$target" = default ]; then
    tag=default
else
    [ -f "$target" ] || { echo "no target file $target" >&2; exit 2; }
    tag=$(basename "$target" .toml)
fi
dir=rtl/build/synth/$tag-$top
mkdir -p "$dir"
if [ "$tag" = default ]; then
    pkg=rtl/pkg/lbnic_pkg.sv
else
    pkg=$dir/lbnic_pkg.sv
    cargo run -q --locked -- target "$target" --emit sv -o "$pkg"
fi
# packages first (a package must be read before its users)
mapfile -t all < <(ls rtl/*_pkg.sv; ls rtl/*.sv | grep -v '_pkg\.sv$')
extra=()
[ ! -f "rtl/synth/$top.sv" ] || extra=("rtl/synth/$top.sv")

script="read_verilog -sv -defer $pkg ${all[*]} ${extra[*]}; hierarchy -check -top $top"
script+="; synth_xilinx -family xcup ${uram[*]} -noiopad -noclkbuf -top $top"
# without the source locations the JSON netlist is a fraction of the size
script+="; flatten; tee -q -o $dir/stat.txt stat -tech xilinx; setattr -unset src; write_json $dir/net.json"
timer=()
rm -f "$dir/time.txt"
[ ! -x /usr/bin/time ] || timer=(/usr/bin/time -v -o "$dir/time.txt")
[ "$json" = 1 ] || echo "== yosys synth_xilinx -family xcup: $top, target $tag (log: $dir/yosys.log)"
if ! "${timer[@]}" yosys -q -l "$dir/yosys.log" -p "$script" >"$dir/yosys.out" 2>&1; then
    grep -m 5 -i 'error' "$dir/yosys.log" "$dir/yosys.out" >&2 || tail -n 20 "$dir/yosys.out" >&2
    echo "FAIL: yosys synth_xilinx of $top (log: $dir/yosys.log)" >&2
    exit 1
fi
report=(python3 scripts/synth-report.py "$dir/net.json" --target "$tag" --paths "$paths" --json "$dir/report.json")
[ ! -f "$dir/time.txt" ] || report+=(--time "$dir/time.txt")
if [ "$json" = 1 ]; then
    "${report[@]}" >/dev/null
    cat "$dir/report.json"
else
    "${report[@]}"
fi
