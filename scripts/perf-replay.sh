#!/usr/bin/env bash
# Replay speed side by side, as recorded in docs/performance.md ("Replay
# speed (issue 14)"): builds release, writes a config (one DR Maglev VIP,
# 16 backends: the traffic of `cargo bench -p hw-model-tests --bench sim`),
# generates two 2M-packet captures with `lbnic gen` (64-byte frames over
# 100k flows; IMIX over 1M flows), then runs, alternating, R rounds of:
# `editcap -F pcap`, `lbnic replay -o`, `lbnic replay` (report only), with
# `--threads 2`, with LBNIC_NO_MMAP=1 (streamed), and (64 B only) `--model
# cycle`; BASE=/path/to/an/older/lbnic adds its `-o`, report-only and cycle
# runs. Prints each command's wall times, best and median.
#
# usage: scripts/perf-replay.sh [WORKDIR]    (R=3 by default; WORKDIR keeps the captures)
# On a shared VM run it in its own autogroup at nice -20:
#   setsid bash -c 'echo -20 > /proc/self/autogroup; bash scripts/perf-replay.sh /tmp/replay'
set -uo pipefail
cd "$(dirname "$0")/.."
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
R="${R:-3}"
target="${CARGO_TARGET_DIR:-target}"
cargo build --release --locked --quiet || exit 1
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
new="$target/release/lbnic"
base="${BASE:-}"
command -v editcap >/dev/null || { apt-get update -qq && apt-get install -y -qq wireshark-common >/dev/null; }
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
{
    printf '[device]\nmac = "02:00:5e:00:00:01"\ngateway_mac = "02:00:5e:00:00:fe"\n'
    printf '[[vip]]\nname = "web"\naddress = "192.0.2.10"\nport = 80\nmode = "dr"\n'
    for i in $(seq 0 15); do
        printf '[[vip.backend]]\nname = "b%d"\naddress = "10.0.0.%d"\nmac = "02:00:00:00:00:%02x"\n' "$i" $((i + 1)) $((i + 1))
    done
} > "$work/dr16.toml"
"$new" compile "$work/dr16.toml" -o "$work/dr16.img" >/dev/null || exit 1
[ -s "$work/t64.pcap" ] || "$new" gen "$work/dr16.toml" -o "$work/t64.pcap" -n 2000000 --flows 100000 --sizes 64 >/dev/null
[ -s "$work/imix.pcap" ] || "$new" gen "$work/dr16.toml" -o "$work/imix.pcap" -n 2000000 --flows 1000000 --sizes imix >/dev/null
img="$work/dr16.img"
nproc
for trace in t64 imix; do
    t="$work/$trace.pcap"
    cmds=(
        "editcap|editcap -F pcap $t $work/ed.pcap"
        "replay -o|$new replay $img $t --json -o $work/out.pcap"
        "replay|$new replay $img $t --json"
        "replay --threads 2|$new replay $img $t --json --threads 2"
        "replay, streamed|env LBNIC_NO_MMAP=1 $new replay $img $t --json"
    )
    [ "$trace" = t64 ] && cmds+=("replay --model cycle|$new replay $img $t --json --model cycle")
    if [ -n "$base" ]; then
        cmds+=("BASE replay -o|$base replay $img $t --json -o $work/out.pcap" "BASE replay|$base replay $img $t --json")
        [ "$trace" = t64 ] && cmds+=("BASE replay --model cycle|$base replay $img $t --json --model cycle")
    fi
    declare -A T=()
    echo "== $trace: $(ls -l "$t" | awk '{print $5}') bytes"
    uptime
    for _ in $(seq "$R"); do
        for c in "${cmds[@]}"; do
            name=${c%%|*}
            # shellcheck disable=SC2086
            /usr/bin/time -f "%e" -o "$work/time.txt" ${c#*|} >/dev/null 2>"$work/err.txt" || { echo "FAILED: $name"; cat "$work/err.txt"; }
            T[$name]+="$(cat "$work/time.txt") "
        done
    done
    uptime
    for c in "${cmds[@]}"; do
        name=${c%%|*}
        python3 -c '
import sys
name, v = sys.argv[1], sorted(map(float, sys.argv[2].split()))
print(f"{name:<28} best {v[0]:.2f} s  median {v[len(v)//2]:.2f} s  all {v}")' "$name" "${T[$name]}"
    done
    unset T
done
rm -f "$work/ed.pcap" "$work/out.pcap"
