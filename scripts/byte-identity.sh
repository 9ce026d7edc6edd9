#!/usr/bin/env bash
# Byte identity of a refactor: build lbnic at BASE (default: the commit before
# the contract-crate work) and at the work tree, run both over the same
# inputs, and compare every output byte for byte: images (every example,
# --previous chains, conntrack images), generated traces (every mode and
# scheduler of examples/basic.toml, IPv4 and IPv6, IMIX, SYN floods,
# malformed and non-VIP frames, NAT replies), replays through the functional
# and the cycle model (output pcaps and JSON reports, mid-trace updates,
# --threads 2), and the text of inspect/diff/lookup/target.
#
#   bash scripts/byte-identity.sh [BASE] [PACKETS] [NEW]
#
# NEW is a commit to compare instead of the work tree.
#
# MASK_SNAPLEN=1 compares captures with the snap length in their headers
# zeroed (the pcap header's, every pcapng interface block's): the one
# change of the file-handling work to what a capture's bytes are.
#
# Prints one line per artefact and a closing "N passed, N failed" line;
# exits 1 on any difference. Report fields that measure the host
# (wall_seconds, model_pps) are masked.
set -euo pipefail
trap 'echo "byte-identity: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."
BASE="${1:-f62c67c}"
N="${2:-200000}"
NEW="${3:-}"
root=$(pwd)
work=$(mktemp -d)
cleanup() {
    git -C "$root" worktree remove --force "$work/base-src" >/dev/null 2>&1 || true
    git -C "$root" worktree remove --force "$work/new-src" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

echo "== building base $BASE and ${NEW:-the work tree}"
git worktree add --detach -q "$work/base-src" "$BASE"
# A target dir of its own so the work tree's build is not disturbed; crates
# from the registry are compiled once per dir.
CARGO_TARGET_DIR="$root/target/byte-identity-base" cargo build --release --locked --quiet \
    --manifest-path "$work/base-src/Cargo.toml" --bin lbnic
cp "$root/target/byte-identity-base/release/lbnic" "$work/lbnic-base"
if [ -n "$NEW" ]; then
    git worktree add --detach -q "$work/new-src" "$NEW"
    CARGO_TARGET_DIR="$root/target/byte-identity-new" cargo build --release --locked --quiet \
        --manifest-path "$work/new-src/Cargo.toml" --bin lbnic
    cp "$root/target/byte-identity-new/release/lbnic" "$work/lbnic-new"
else
    cargo build --release --locked --quiet --bin lbnic
    cp "$root/target/release/lbnic" "$work/lbnic-new"
fi

# Inputs both builds read: the base's examples (a refactor does not change them).
cp -r "$work/base-src/examples" "$work/examples"
sed -e '/^# The same service over IPv6/i [[vip.backend]]\nname = "web-5"\naddress = "10.0.1.5"\nmac = "02:00:0a:00:01:05"\n' \
    -e '/^name = "web-2"$/a state = "drain"' "$work/examples/basic.toml" >"$work/examples/basic-gen2.toml"

run() { # side: run every command, writing into $work/$side
    local side=$1 L="$work/lbnic-$1" o="$work/$1"
    mkdir -p "$o"
    cd "$work/examples"
    "$L" compile basic.toml -o "$o/basic.img" | sed "s|$o|OUT|g" >"$o/compile.txt"
    "$L" compile basic-gen2.toml -o "$o/gen2.img" --previous "$o/basic.img" | sed "s|$o|OUT|g" >"$o/compile-gen2.txt"
    sed -e 's|^target = "default"|target = "targets/small.toml"|' -e 's|^table_size = 65537|table_size = 8191|' \
        basic.toml >basic-small.toml
    # DR and tunnel VIPs only, so that --threads 2 really shards.
    python3 -c 'import re,sys; t=open("basic.toml").read(); print("\n[[vip]]".join(p for p in t.split("\n[[vip]]") if not re.search(r"^(mode = \"nat\"|scheduler = \"w?rr\")", p, re.M)))' >basic-shard.toml
    "$L" compile basic-shard.toml -o "$o/shard.img" | sed "s|$o|OUT|g" >"$o/compile-shard.txt"
    "$L" compile basic-small.toml -o "$o/small.img" 2>&1 | sed "s|$o|OUT|g" >"$o/compile-small.txt"
    "$L" compile scale.toml -o "$o/scale.img" | sed "s|$o|OUT|g" >"$o/compile-scale.txt"
    "$L" inspect "$o/basic.img" --json | sed "s|$o|OUT|g" >"$o/inspect.json"
    "$L" inspect "$o/gen2.img" | sed "s|$o|OUT|g" >"$o/inspect-gen2.txt"
    "$L" diff "$o/basic.img" "$o/gen2.img" --json | sed "s|$o|OUT|g" >"$o/diff.json"
    "$L" target --json >"$o/target.json"
    "$L" target targets/small.toml --json >"$o/target-small.json" 2>&1 || true
    for f in 'tcp 198.51.100.7:40000 -> 192.0.2.10:80' 'udp [2001:db8::1]:5000 -> [2001:db8::10]:53' \
        'tcp [2001:db8:9::7]:1234 -> [2001:db8::10]:443'; do
        { "$L" lookup "$o/basic.img" --flow "$f" --json 2>&1 || echo "exit status $?"; } | sed "s|$o|OUT|g"
    done >"$o/lookup.json"
    "$L" gen basic.toml -o "$o/mix.pcap" -n "$N" --flows 5000 --popularity zipf:1.1 --sizes imix \
        --syn-flood 0.01 --non-vip 0.01 --malformed 0.002 --flow-len 40 >/dev/null
    "$L" gen basic.toml -o "$o/v6.pcap" -n $((N / 2)) --flows 2000 --ipv6 1 --sizes 64:1,1518:1 \
        --nat-replies 0.3 >/dev/null
    "$L" gen basic.toml -o "$o/small.pcapng" -n 5000 --flows 300 --sizes 65 >/dev/null
    "$L" replay "$o/small.img" "$o/mix.pcap" --model cycle --json 2>&1 | sed "s|$o|OUT|g" >"$o/small-target.json"
    "$L" ct build --bank "$o/basic.img" -o "$o/ct.img" >/dev/null
    "$L" ct list --bank "$o/basic.img" "$o/ct.img" >"$o/ct-list.txt"
    printf 'at packet %d: flash gen2.img\n' $((N / 2)) >"$o/updates.txt"
    for t in mix v6; do
        for m in functional cycle; do
            "$L" replay "$o/basic.img" "$o/$t.pcap" --model "$m" -o "$o/$t-$m-out.pcap" --json \
                --updates "$o/updates.txt" | sed "s|$o|OUT|g" >"$o/$t-$m.json"
        done
        "$L" replay "$o/basic.img" "$o/$t.pcap" --threads 2 -o "$o/$t-t2-out.pcap" --json \
            | sed "s|$o|OUT|g" >"$o/$t-t2.json"
    done
    for m in t1 t2; do
        "$L" replay "$o/shard.img" "$o/mix.pcap" --threads "${m#t}" -o "$o/shard-$m-out.pcap" --json \
            2>&1 | sed "s|$o|OUT|g" >"$o/shard-$m.json"
    done
    "$L" replay "$o/basic.img" "$o/small.pcapng" --model cycle --timing max -o "$o/small-out.pcapng" --json \
        | sed "s|$o|OUT|g" >"$o/small.json"
    "$L" check "$o/basic.img" "$o/mix.pcap" --expect "$o/mix-functional-out.pcap" --updates "$o/updates.txt" --json \
        | sed "s|$o|OUT|g" >"$o/check.json" 2>&1 || true
    for j in "$o"/*.json; do # mask the host's speed
        sed -i -E 's/"(wall_seconds|model_pps|elapsed_ms|wall_ms)": [0-9.e+-]+/"\1": 0/' "$j"
    done
    cd "$root"
}
echo "== running base"
run base
echo "== running work tree"
run new

if [ "${MASK_SNAPLEN:-0}" = 1 ]; then
    python3 - "$work/base" "$work/new" <<'PY'
import os, struct, sys
for d in sys.argv[1:]:
    for n in os.listdir(d):
        p = os.path.join(d, n)
        if not (n.endswith(".pcap") or n.endswith(".pcapng")):
            continue
        b = bytearray(open(p, "rb").read())
        if b[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            b[16:20] = b"\0\0\0\0"
        elif b[:4] == b"\x0a\x0d\x0d\x0a":
            o = 0
            while o + 12 <= len(b):
                t, l = struct.unpack_from("<II", b, o)
                if l < 12:
                    break
                if t == 1:  # interface description: link type, reserved, snaplen
                    b[o + 12:o + 16] = b"\0\0\0\0"
                o += l
        open(p, "wb").write(bytes(b))
PY
fi
pass=0 fail=0
for f in "$work/base"/*; do
    n=$(basename "$f")
    if cmp -s "$f" "$work/new/$n"; then
        printf 'same       %-22s %10d bytes\n' "$n" "$(stat -c %s "$f")"
        pass=$((pass + 1))
    else
        printf 'DIFFERENT  %-22s\n' "$n"
        cmp "$f" "$work/new/$n" | head -1 || true
        fail=$((fail + 1))
    fi
done
for f in "$work/new"/*; do
    [ -e "$work/base/$(basename "$f")" ] || { echo "EXTRA      $(basename "$f")"; fail=$((fail + 1)); }
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
