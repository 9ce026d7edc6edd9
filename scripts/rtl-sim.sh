#!/usr/bin/env bash
# Build the Verilator harness of the RTL (rtl/sim/lbnic_sim.cpp around
# rtl/lbnic_top.sv) for one target: the model behind `lbnic replay / check
# --model rtl` (crate lbnic-rtl-sim). The RTL is built per target (the
# contract package is generated from it), into
#   rtl/build/sim/<fingerprint, 16 hex digits>/lbnic_sim
# next to the target's lbnic_pkg.sv and lbnic_contract.h. Idempotent: the
# build is redone only when an input changed (rtl/, rtl/sim/, the generated
# package and header, this script), checked by a digest in that directory.
#
# usage: scripts/rtl-sim.sh [--target FILE] [--install] [--selftest]
#   --target FILE  a target TOML file (default: the built-in default target)
#   --install      install verilator, g++ and make (apt-get) when missing
#   --selftest     build the harness around rtl/sim/selftest/lbnic_top.sv (a
#                  loopback stand-in with the same ports) instead of
#                  rtl/lbnic_top.sv, into rtl/build/sim-selftest/<fingerprint>/
#                  (rtl-sim/tests/harness.rs checks the harness with it)
# Prints the binary's path on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
target=default
install=0
selftest=0
while [ $# -gt 0 ]; do
    case "$1" in
        --target) target=${2:?--target needs a file}; shift 2 ;;
        --target=*) target=${1#--target=}; shift ;;
        --install) install=1; shift ;;
        --selftest) selftest=1; shift ;;
        *) echo "usage: scripts/rtl-sim.sh [--target FILE] [--install] [--selftest]" >&2; exit 2 ;;
    esac
done

missing=()
command -v verilator >/dev/null 2>&1 || missing+=(verilator)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$install" = 1 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "${missing[*]} not found (pass --install, or: apt-get install ${missing[*]})" >&2
        exit 2
    fi
fi

. scripts/lbnic-run.sh
fp=$(lbnic target "$target" --json | sed -n 's/.*"fingerprint": *"0x\([0-9a-f]*\)".*/\1/p')
[ ${#fp} = 16 ] || { echo "could not read the fingerprint of target $target" >&2; exit 2; }
dir=rtl/build/sim/$fp
[ "$selftest" = 0 ] || dir=rtl/build/sim-selftest/$fp
mkdir -p "$dir"
lbnic target "$target" --emit sv -o "$dir/lbnic_pkg.sv.new"
lbnic target "$target" --emit c -o "$dir/lbnic_contract.h.new"
# The generated files keep their mtime unless their content changed.
for f in lbnic_pkg.sv lbnic_contract.h; do
    if cmp -s "$dir/$f.new" "$dir/$f"; then rm "$dir/$f.new"; else mv "$dir/$f.new" "$dir/$f"; fi
done

# Packages first: a package must be read before its users.
mapfile -t srcs < <(ls rtl/*_pkg.sv; ls rtl/*.sv | grep -v '_pkg\.sv$')
if [ "$selftest" = 1 ]; then
    mapfile -t srcs < <(printf '%s\n' "${srcs[@]}" | grep -v '^rtl/lbnic_top\.sv$'; echo rtl/sim/selftest/lbnic_top.sv)
fi
shopt -s nullglob
sim_srcs=(rtl/sim/*.cpp rtl/sim/*.h)
shopt -u nullglob
digest="$(cat "$dir/lbnic_pkg.sv" "$dir/lbnic_contract.h" "${srcs[@]}" "${sim_srcs[@]}" "$0" | sha256sum | cut -d' ' -f1) $(verilator --version)"
if [ -x "$dir/lbnic_sim" ] && [ "$(cat "$dir/digest" 2>/dev/null)" = "$digest" ]; then
    echo "== rtl sim of target $target is current"
    echo "$dir/lbnic_sim"
    exit 0
fi
echo "== verilating lbnic_top for target $target ($fp)"
rm -f "$dir/digest" "$dir/lbnic_sim"
abs=$(cd "$dir" && pwd)
verilator --cc --exe --build -O3 --x-assign fast --x-initial fast -j 2 \
    -MAKEFLAGS "OPT_FAST=-O2 OPT_GLOBAL=-O2" \
    --top-module lbnic_top -Mdir "$dir/obj" -o lbnic_sim \
    -CFLAGS "-I$abs" \
    "$dir/lbnic_pkg.sv" "${srcs[@]}" "$PWD/rtl/sim/lbnic_sim.cpp" >"$dir/build.log" 2>&1 || {
    tail -n 40 "$dir/build.log"
    echo "FAIL: building the rtl sim (log: $dir/build.log)" >&2
    exit 1
}
cp "$dir/obj/lbnic_sim" "$dir/lbnic_sim"
echo "$digest" >"$dir/digest"
echo "$dir/lbnic_sim"
