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
# card's shell) and hierarchically, as one Yosys run would (each module
# once per parameter set, no optimisation across a module's boundary),
# but in parallel: the top is elaborated once; each of its submodules
# (with what it instantiates) is synthesised in its own Yosys process,
# --jobs at a time, the largest first; the top's own logic in one more,
# its submodules black boxes; then the mapped parts are put together and
# flattened for the depth walk.
#
# Parts are cached (rtl/build/synth/cache/, shared by every target and
# top): a part whose input (its module and what it instantiates, as
# elaborated, auto-name counters renumbered; the synthesis command; the
# Yosys version) is the same as an earlier run's is not synthesised
# again. A run after a change to one unit redoes that unit, the top's own
# logic and the join; --fresh redoes every part. The report says how many
# parts were reused, and its CPU time is the work this run did.
#
# usage: scripts/synth.sh [--target FILE] [--top NAME] [--json] [--paths N] [--no-uram] [--jobs N] [--fresh]
#   --target FILE  a target TOML (the package from `lbnic target FILE --emit
#                  sv`); default: the default target (rtl/pkg/lbnic_pkg.sv)
#   --top NAME     top module (default lbnic_top); rtl/synth/NAME.sv is read
#                  too when it exists (small-parameter wrappers)
#   --json         print the report as JSON (rtl/build/synth/<tag>/report.json)
#   --paths N      list the N deepest paths (distinct endpoints; default 5)
#   --no-uram      map large memories to block RAM instead of URAM288
#   --jobs N       Yosys processes at once (default: the CPUs, `nproc`)
#   --fresh        synthesise every part, none from the cache
# Products in rtl/build/synth/<target>-<top>/: yosys.log (the elaboration),
# part-*.log and top.log (each part's synthesis), join.log, net.json,
# report.json, time.txt (the whole run: CPU summed over the processes, the
# largest one's peak memory). Exits non-zero on any Yosys error.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lbnic-run.sh
target=""
top=lbnic_top
json=0
paths=5
uram=(-uram)
jobs=$(nproc 2>/dev/null || echo 1)
fresh=0
while [ $# -gt 0 ]; do
    case "$1" in
        --target) target=$2; shift ;;
        --top) top=$2; shift ;;
        --json) json=1 ;;
        --paths) paths=$2; shift ;;
        --no-uram) uram=() ;;
        --jobs) jobs=$2; shift ;;
        --fresh) fresh=1 ;;
        *) echo "unknown argument $1 (usage: scripts/synth.sh [--target FILE] [--top NAME] [--json] [--paths N] [--no-uram] [--jobs N] [--fresh])" >&2; exit 2 ;;
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
    lbnic target "$target" --emit sv -o "$pkg"
fi
# packages first (a package must be read before its users)
mapfile -t all < <(ls rtl/*_pkg.sv; ls rtl/*.sv | grep -v '_pkg\.sv$')
extra=()
[ ! -f "rtl/synth/$top.sv" ] || extra=("rtl/synth/$top.sv")

case "$jobs" in ''|*[!0-9]*|0) echo "--jobs takes a positive number, not '$jobs'" >&2; exit 2 ;; esac

# The flow (run under one /usr/bin/time, which sums the CPU of every
# process it waits for), from SY_* in the environment.
read -r -d '' flow <<'SH' || true
set -euo pipefail
d=$SY_DIR
# 1. elaborate once: parameters resolved, each submodule a derived module
yosys -q -l "$d/yosys.log" -p "$SY_READ; hierarchy -check -top $SY_TOP; write_rtlil $d/elab.il" >"$d/yosys.out" 2>&1
# (a name Yosys could not resolve is a new wire: the netlist would not be
# the RTL; Yosys 0.23 so takes a field of a struct declared in a block)
if grep -q 'is implicitly declared' "$d/yosys.log"; then
    echo "FAIL: $(grep -m1 'is implicitly declared' "$d/yosys.log") (log: $d/yosys.log)" >&2
    exit 1
fi
# 2. the top's submodules, the largest first (RTLIL text with what each
# instantiates): "part-N module key" lines, then the top's own; a key is
# the digest of what the part's synthesis reads (its modules' text with
# the frontend's global counters renumbered, so an edit elsewhere does not
# change it) and of how it is synthesised
python3 - "$d/elab.il" "$SY_TOP" "$SY_SALT" >"$d/jobs.txt" <<'PY'
import hashlib, re, sys
path, top, salt = sys.argv[1], sys.argv[2], sys.argv[3]
size, cells, text, mod, attrs = {}, {}, {}, None, []
with open(path) as f:
    for line in f:
        if line.startswith("module "):
            mod = line.split()[1]
            size[mod], cells[mod], text[mod] = 0, set(), attrs + [line]
            attrs = []
        elif mod is None:
            if line.startswith("attribute "):
                attrs.append(line)
        elif line.rstrip("\n") == "end":
            text[mod].append(line)
            mod = None
        else:
            size[mod] += len(line)
            text[mod].append(line)
            m = re.match(r"\s+cell (\S+) ", line)
            if m:
                cells[mod].add(m.group(1))
def closure(m, seen):
    if m in seen or m not in size:
        return seen
    seen.add(m)
    for c in cells[m]:
        closure(c, seen)
    return seen
# the frontend's counters: `$N` ending a name part; the block counters
# (`$unnamed_block$N`, ...) are a count of their own, made at parse time
COUNTER = re.compile(r"([A-Za-z_]*)\$(\d+)(?![0-9A-Za-z])")
BLOCKS = {"unnamed_block", "fordecl_block", "for_loop"}
def items(lines):
    """A module's statements, each with its attributes and nested lines."""
    out, cur, pend = [], None, []
    for line in lines:
        if line.startswith("  ") and not line.startswith("   "):
            if line.startswith("  attribute "):
                pend.append(line)
                continue
            if line.startswith("  end"):
                cur.append(line)
                continue
            cur = pend + [line]
            pend = []
            out.append(cur)
        elif cur is not None and line.startswith("    "):
            cur.append(line)
        else:
            out.append(pend + [line])
            pend, cur = [], None
    return ["".join(i) for i in out]
digests = {}
def digest(m):
    """What a module's synthesis reads, once per module: its text as
    elaborated, the frontend's global counters (which move with any edit to
    a file read before) ranked within the module (a module is elaborated at
    once), statements sorted (RTLIL is written in name order, and the names
    hold the counters)."""
    if m not in digests:
        t = "".join(text[m])
        seen = {(p in BLOCKS, int(n)) for p, n in COUNTER.findall(t)}
        rank = {c: str(i) for i, c in enumerate(sorted(seen))}
        t = COUNTER.sub(lambda x: x.group(1) + "$" + rank[(x.group(1) in BLOCKS, int(x.group(2)))], t)
        h = hashlib.sha256()
        for s in sorted(items(t.splitlines(keepends=True))):
            h.update(s.encode())
        digests[m] = h.hexdigest()
    return digests[m]
def key(mods, how):
    """A part's key: its modules' digests and how it is synthesised."""
    h = hashlib.sha256((salt + "\n" + how + "\n").encode())
    for m in sorted(mods):
        h.update((digest(m) + "\n").encode())
    return h.hexdigest()[:32]
name = "\\" + top
parts = sorted((c for c in cells.get(name, ()) if c in size),
               key=lambda c: -sum(size[x] for x in closure(c, set())))
for i, c in enumerate(parts):
    print(f"part-{i + 1} {c} {key(closure(c, set()), 'part ' + c)}")
print(f"top {name} {key(closure(name, set()), 'top ' + ' '.join(parts))} " + " ".join(parts))
PY
# 3. each part, and the top with its parts as black boxes, SY_JOBS at once
# (a part in the cache is not synthesised again: see the header)
xargs -P "$SY_JOBS" -d '\n' -n 1 bash -c '
    set -euo pipefail
    read -r tag m key bb <<<"$0"
    c="$SY_CACHE/$key"
    if [ "$SY_FRESH" != 1 ] && [ -s "$c.il" ]; then
        cp "$c.log" "$SY_DIR/$tag.log" 2>/dev/null || true
        : >"$SY_DIR/$tag.reused"
        exit 0
    fi
    s="read_rtlil $SY_DIR/elab.il; hierarchy -top $m"
    [ -z "$bb" ] || s+="; blackbox $bb"
    # (without source locations a part is a fraction of the size to join)
    s+="; $SY_SYNTH -top $m; setattr -unset src; write_rtlil $c.il.$$"
    yosys -q -l "$SY_DIR/$tag.log" -p "$s" >"$SY_DIR/$tag.out" 2>&1 \
        || { rm -f "$c.il.$$"; echo "FAIL: yosys synth_xilinx of $m (log: $SY_DIR/$tag.log)" >&2; exit 255; }
    cp "$SY_DIR/$tag.log" "$c.log"
    mv "$c.il.$$" "$c.il"
' <"$d/jobs.txt"
# 4. the parts put together (a module two parts share is read once) and
# flattened for the depth walk
join=""
while read -r tag _ key _; do
    join+="read_rtlil -nooverwrite $SY_CACHE/$key.il; "
done < <(awk '$1 != "top"' "$d/jobs.txt"; awk '$1 == "top"' "$d/jobs.txt")
join+="hierarchy -check -top $SY_TOP; flatten"
join+="; tee -q -o $d/stat.txt stat -tech xilinx; setattr -unset src; write_json $d/net.json"
yosys -q -l "$d/join.log" -p "$join" >"$d/join.out" 2>&1
SH
cache=rtl/build/synth/cache
mkdir -p "$cache"
export SY_DIR="$dir" SY_TOP="$top" SY_JOBS="$jobs" SY_CACHE="$cache" SY_FRESH="$fresh"
export SY_SYNTH="synth_xilinx -family xcup ${uram[*]} -noiopad -noclkbuf"
export SY_READ="read_verilog -sv -defer $pkg ${all[*]} ${extra[*]}"
export SY_SALT="synth.sh parts v2; $SY_SYNTH; $(yosys -V)"
timer=()
rm -f "$dir/time.txt" "$dir"/*.out "$dir"/*.il "$dir"/*.reused
[ ! -x /usr/bin/time ] || timer=(/usr/bin/time -v -o "$dir/time.txt")
[ "$json" = 1 ] || echo "== yosys synth_xilinx -family xcup: $top, target $tag, $jobs process(es) at once (logs: $dir)"
if ! "${timer[@]}" bash -c "$flow"; then
    for f in "$dir"/*.out; do
        [ -s "$f" ] || continue
        grep -m 5 -i 'error' "$f" >&2 || tail -n 20 "$f" >&2
    done
    echo "FAIL: yosys synth_xilinx of $top (logs: $dir)" >&2
    exit 1
fi
# the cache keeps the parts some run's jobs.txt names (this run's, the
# last of every other target and top, and any still running)
keep=$(cat rtl/build/synth/*/jobs.txt 2>/dev/null | awk '{print $3}')
for f in "$cache"/*; do
    [ -e "$f" ] || continue
    k=$(basename "$f"); k=${k%%.*}
    grep -qx -- "$k" <<<"$keep" || rm -f "$f"
done
nparts=$(wc -l <"$dir/jobs.txt")
nreused=$(find "$dir" -maxdepth 1 -name '*.reused' | wc -l)
report=(python3 scripts/synth-report.py "$dir/net.json" --target "$tag" --paths "$paths" --json "$dir/report.json"
        --reused "$nreused/$nparts")
[ ! -f "$dir/time.txt" ] || report+=(--time "$dir/time.txt")
if [ "$json" = 1 ]; then
    "${report[@]}" >/dev/null
    cat "$dir/report.json"
else
    "${report[@]}"
fi
