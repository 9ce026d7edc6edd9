#!/usr/bin/env bash
# Testbench performance, as recorded in docs/performance.md ("Testbench
# (issue 4)"): generate an N-packet capture (default 10M) with `lbnic gen`,
# then replay it with the functional model on 1 and 2 threads and with the
# cycle model, recording wall time, packets/s and peak RSS (/usr/bin/time).
# The config is all-Maglev, no NAT (what sharding needs), written below.
#
# usage: scripts/perf-testbench.sh [N] [WORKDIR]     (WORKDIR keeps the pcap)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10000000}"
work="${2:-$(mktemp -d)}"
mkdir -p "$work"
target="${CARGO_TARGET_DIR:-target}"
cargo build --release --locked --quiet
lbnic="$target/release/lbnic"
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
cat > "$work/perf.toml" <<'TOML'
[device]
mac = "02:00:5e:00:00:01"
[[vip]]
name = "web"
address = "192.0.2.10"
port = 80
mode = "dr"
[[vip.backend]]
name = "web-1"
address = "10.0.1.1"
mac = "02:00:0a:00:01:01"
[[vip.backend]]
name = "web-2"
address = "10.0.1.2"
mac = "02:00:0a:00:01:02"
[[vip.backend]]
name = "web-3"
address = "10.0.1.3"
mac = "02:00:0a:00:01:03"
weight = 2
[[vip]]
name = "web6"
address = "2001:db8::10"
port = 443
mode = "tun-ipip"
scheduler = "maglev-stable"
[[vip.backend]]
name = "web6-1"
address = "2001:db8:1::1"
[[vip.backend]]
name = "web6-2"
address = "2001:db8:1::2"
[[vip]]
name = "dns"
address = "192.0.2.53"
port = 53
protocol = "udp"
mode = "tun-gue"
[[vip.backend]]
name = "dns-a"
address = "198.18.0.1"
[[vip.backend]]
name = "dns-b"
address = "198.18.0.2"
TOML
sed -i 's/^\[device\]$/[device]\ngateway_mac = "02:00:5e:00:00:fe"/' "$work/perf.toml"
"$lbnic" compile "$work/perf.toml" -o "$work/perf.img" >/dev/null
if [ ! -s "$work/trace-$n.pcap" ]; then
    echo "== generating $n packets"
    /usr/bin/time -f "gen: %e s wall, %M KB peak RSS" "$lbnic" gen "$work/perf.toml" -o "$work/trace-$n.pcap" \
        -n "$n" --flows 200000 --popularity zipf:1.1 --sizes imix --flow-len 50
fi
ls -l "$work/trace-$n.pcap"
run() {
    local name="$1"; shift
    /usr/bin/time -f "%e %M %U %S" -o "$work/time.txt" "$lbnic" replay "$work/perf.img" "$work/trace-$n.pcap" --json "$@" > "$work/$name.json"
    read -r wall rss user sys < "$work/time.txt"
    python3 - "$work/$name.json" "$name" "$wall" "$rss" "$user" "$sys" "$n" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); name, wall, rss, user, sys_, n = sys.argv[2:]
print(f"{name:<28} {float(wall):8.2f} s  {int(n)/float(wall)/1e6:6.3f} Mpps  peak RSS {int(rss)/1024:7.1f} MiB  "
      f"cpu {float(user)+float(sys_):7.2f} s  threads {r['threads']}")
PY
}
echo "== replay (wall time, packets per second of wall time, peak RSS, CPU time)"
nproc
uptime
run functional-1-thread --threads 1
run functional-2-threads --threads 2
run functional-1-thread --threads 1
run functional-2-threads --threads 2
run functional-2-threads-out --threads 2 -o "$work/out.pcap"
rm -f "$work/out.pcap"
run cycle --model cycle
