#!/usr/bin/env bash
# The RTL against the cycle model on the traces of docs/spec.md §12.3's
# table ("Where they stand"): examples/basic.toml on the small target
# (its Maglev tables 8191 long), a NAT-only config (its `api` VIP, round
# robin; and the same on Maglev, `nat-maglev`), and
# `lbnic gen` traces from lone packets to line rate; the slow-* rows run
# basic.toml on the slow-memory target (the outstanding-read limit,
# decision 9). For each trace,
# `lbnic check IMG TRACE --model rtl --against cycle --json` runs the
# Verilator harness and the cycle model side by side; the table printed
# has the packets compared, those whose egress cycle is equal, the largest
# difference, the figures at the ports and the memory port (stall counts,
# the port backlog's high water, bucket reads and way writes) that differ
# of those both count alike (spec §12.3, "the edges"; named in the JSON),
# and whether every output byte was equal.
#
# usage: scripts/rtl-cycles.sh [--dir DIR] [--json]
#   --dir DIR  where the configs, images, traces and reports go (kept;
#              traces are reused when present). Default: a temporary
#              directory, removed at exit.
#   --json     print one JSON object per trace instead of the table
# Needs the harnesses for the small and the slow-memory target
# (scripts/rtl-sim.sh --target examples/targets/small.toml, and
# slow-memory.toml for the slow-* rows; built here when missing) and the lbnic
# binary (scripts/lbnic-run.sh: $LBNIC_BIN, else `cargo run`).
# Exits non-zero when a check fails to run or any output byte differs;
# cycles that differ are what the table reports, not a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lbnic-run.sh
dir=""
json=0
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) dir=$2; shift ;;
        --json) json=1 ;;
        *) echo "unknown argument $1 (usage: scripts/rtl-cycles.sh [--dir DIR] [--json])" >&2; exit 2 ;;
    esac
    shift
done
if [ -z "$dir" ]; then
    dir=$(mktemp -d)
    trap 'rm -rf "$dir"' EXIT
fi
mkdir -p "$dir"
root=$(pwd)
scripts/rtl-sim.sh --target examples/targets/small.toml >/dev/null
scripts/rtl-sim.sh --target examples/targets/slow-memory.toml >/dev/null

# the configs: basic.toml on the small target, and its NAT VIP alone
python3 - "$root" "$dir" <<'PY'
import re, sys
root, out = sys.argv[1], sys.argv[2]
s = open(f"{root}/examples/basic.toml").read()
s = re.sub(r'^target = .*$', f'target = "{root}/examples/targets/small.toml"', s, count=1, flags=re.M)
s = s.replace("table_size = 65537", "table_size = 8191")
open(f"{out}/basic.toml", "w").write(s)
head, rest = s[:s.index("[[vip]]")], s[s.index("[[vip]]"):]
api = [v for v in rest.split("[[vip]]\n") if v.startswith('name = "api"')]
if not api:
    sys.exit("examples/basic.toml has no `api` VIP")
open(f"{out}/nat.toml", "w").write(head + "[[vip]]\n" + api[0])
# the same VIP on Maglev (CT_REQ's pre-schedule reads its backend ahead)
mg = api[0].replace('scheduler = "rr"', 'scheduler = "maglev"\ntable_size = 8191')
if mg == api[0]:
    sys.exit("examples/basic.toml's `api` VIP is no longer `scheduler = \"rr\"`")
open(f"{out}/nat-maglev.toml", "w").write(head + "[[vip]]\n" + mg)
# the same on the slow memory (the outstanding-read limit, spec §12.3 decision 9)
open(f"{out}/slow.toml", "w").write(s.replace("targets/small.toml", "targets/slow-memory.toml"))
PY
lbnic compile "$dir/basic.toml" -o "$dir/basic.img" >/dev/null
lbnic compile "$dir/nat.toml" -o "$dir/nat.img" >/dev/null
lbnic compile "$dir/nat-maglev.toml" -o "$dir/nat-maglev.img" >/dev/null
lbnic compile "$dir/slow.toml" -o "$dir/slow.img" >/dev/null

# name | config | gen options (the table's rows, in its order)
traces=(
    "lone|basic|-n 200 --flows 50 --rate pps:10000"
    "edge-cases-10k|basic|--edge-cases --rate pps:10000"
    "edge-cases-1M|basic|--edge-cases --rate pps:1000000"
    "mixed-1M|basic|-n 2000 --flows 200 --rate pps:1000000"
    "mixed-2M|basic|-n 2000 --flows 200 --rate pps:2000000"
    "syn-flood-1M|basic|-n 2000 --flows 200 --rate pps:1000000 --syn-flood 0.5"
    "mixed-5M|basic|-n 2000 --flows 200 --rate pps:5000000"
    "nat-2M|nat|-n 2000 --flows 500 --rate pps:2000000"
    "nat-5M|nat|-n 2000 --flows 500 --rate pps:5000000"
    "nat-10M|nat|-n 2000 --flows 500 --rate pps:10000000"
    "nat-maglev-2M|nat-maglev|-n 2000 --flows 500 --rate pps:2000000"
    "nat-maglev-10M|nat-maglev|-n 2000 --flows 500 --rate pps:10000000"
    "nat-fill-1M|nat|-n 5000 --flows 5000 --rate pps:1000000"
    "nat-fill-2M|nat|-n 5000 --flows 5000 --rate pps:2000000"
    "64B-line|basic|-n 3000 --flows 100000 --sizes 64 --rate line"
    "imix-line|basic|-n 3000 --flows 10000 --sizes imix --rate line"
    "65B-line|basic|-n 3000 --flows 1000 --sizes 65 --rate line"
    "syn-flood-line|basic|-n 3000 --flows 1000 --syn-flood 0.8 --rate line"
    "4-flows-line|basic|-n 3000 --flows 4 --rate line"
    "slow-lone|slow|-n 200 --flows 50 --rate pps:10000"
    "slow-500k|slow|-n 2000 --flows 200 --rate pps:500000"
    "slow-1M|slow|-n 2000 --flows 200 --rate pps:1000000"
)
[ "$json" = 1 ] || printf '%-16s %9s %9s %12s %6s  %s\n' trace compared equal max_delta edges bytes
bad=0
for t in "${traces[@]}"; do
    IFS='|' read -r name cfg opts <<<"$t"
    # shellcheck disable=SC2086 # opts is a list of options
    [ -f "$dir/$name.pcap" ] || lbnic gen "$dir/$cfg.toml" -o "$dir/$name.pcap" $opts >/dev/null 2>&1
    # (exit 1 when a cycle differs: the report says how, below; its
    # message is in NAME.log)
    lbnic check "$dir/$cfg.img" "$dir/$name.pcap" --model rtl --against cycle --json \
        >"$dir/$name.json" 2>"$dir/$name.log" || true
    python3 - "$dir/$name.json" "$name" "$json" <<'PY' || bad=1
import json, sys
path, name, as_json = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
try:
    j = json.load(open(path))
except ValueError:
    sys.exit(f"{name}: lbnic check gave no report ({path[:-5]}.log)")
t = j["timing"]
row = {
    "trace": name,
    "compared": t["compared"],
    "equal": t["compared"] - t["differ"],
    "max_abs_delta": t["max_abs_delta"],
    "bytes_equal": j["diff_count"] == 0 and j["got_extra"] == 0 and j["want_extra"] == 0,
    "edges_differ": [e["name"] for e in t["edges"] if e["compared"] and e["here"] != e["reference"]],
}
if as_json:
    print(json.dumps(row))
else:
    print(f'{name:<16} {row["compared"]:>9} {row["equal"]:>9} {row["max_abs_delta"]:>12} '
          + f'{len(row["edges_differ"]):>6}  ' + ("equal" if row["bytes_equal"] else "DIFFER"))
sys.exit(0 if row["bytes_equal"] else 1)
PY
done
exit $bad
