#!/usr/bin/env python3
"""The cluster properties table of docs/performance.md ("Cluster"):
connections broken by cause under node churn, a backend change, and both,
for modulo and resilient ECMP and each scheduler. Every mode (DR, IPIP,
GUE, NAT), IPv4 and IPv6, 4 backends per VIP, on the small target.

    cargo build --release -p lbnic
    scripts/cluster-properties.py [LBNIC] [--packets N] [--flows F] [--nodes K]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODES = ["dr", "tun-ipip", "tun-gue", "nat"]


def config(sched, backends, state=None):
    s = 'target = "%s"\n[device]\nmac = "02:00:5e:00:00:01"\ngateway_mac = "02:00:5e:00:00:fe"\n\n' % (
        os.path.join(ROOT, "examples/targets/small.toml"))
    i = 0
    for v6 in (False, True):
        for mode in MODES:
            i += 1
            addr = "2001:db8::%x" % (0x100 + i) if v6 else "192.0.2.%d" % (100 + i)
            s += ('[[vip]]\nname = "v%d-%s"\naddress = "%s"\nport = %d\nprotocol = "tcp"\nmode = "%s"\n'
                  'scheduler = "%s"\n') % (i, mode, addr, 1000 + i, mode, sched)
            if sched.startswith("maglev"):
                s += "table_size = 1021\n"
            for b in backends:
                baddr = "2001:db8:%x::%d" % (i, b) if v6 else "10.%d.0.%d" % (i, b)
                s += '[[vip.backend]]\nname = "b%d"\naddress = "%s"\nmac = "02:00:00:%02x:00:%02x"\n' % (b, baddr, i, b)
                if state and state[0] == b:
                    s += 'state = "%s"\n' % state[1]
            s += "\n"
    return s


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


SCENARIOS = [
    ("P1 churn alone", "at packet {a}: node 1 down\nat packet {b}: node 2 down\nat packet {c}: node 1 up\nat packet {d}: node 2 up\n"),
    ("P2 backend removed", "at packet {b}: flash gen2.img\n"),
    ("P3 removed + node down", "at packet {b}: flash gen2.img\nat packet {b2}: node 1 down\n"),
    ("P3 rollout + node down", "at packet {b}: rollout gen2.img every {g} packets\nat packet {b3}: node 1 down\n"),
    ("P3 other history on node 0", "at packet 0: flash alt.img on node 0\nat packet {b}: node 1 down\n"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lbnic", nargs="?", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release/lbnic"))
    ap.add_argument("--packets", type=int, default=100000)
    ap.add_argument("--flows", type=int, default=5000)
    ap.add_argument("--nodes", type=int, default=4)
    a = ap.parse_args()
    n = a.packets
    marks = dict(a=n // 5, b=2 * n // 5, c=3 * n // 5, d=4 * n // 5, b2=2 * n // 5 + n // 40,
                 b3=2 * n // 5 + n // 20, g=n // 20)
    print("| property | scheduler | ECMP | connections | backend_removed | node churn, same table "
          "| node churn, table differs | evicted | NAT lost to churn | changed backend (connections) |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for sched in ("maglev", "maglev-stable", "rr"):
        with tempfile.TemporaryDirectory() as d:
            def compile_(name, backends, prev=None, state=None):
                p = os.path.join(d, name + ".toml")
                open(p, "w").write(config(sched, backends, state))
                cmd = [a.lbnic, "compile", p, "-o", os.path.join(d, name + ".img")]
                if prev:
                    cmd += ["--previous", os.path.join(d, prev + ".img")]
                run(cmd)
            compile_("gen1", [1, 2, 3, 4])
            compile_("gen2", [1, 3, 4], prev="gen1")
            compile_("gen0", [1, 2, 3])
            compile_("alt", [1, 2, 3, 4], prev="gen0")
            trace = os.path.join(d, "t.pcap")
            run([a.lbnic, "gen", os.path.join(d, "gen1.toml"), "-o", trace, "-n", str(n), "--flows",
                 str(a.flows), "--ipv6", "0.5", "--flow-len", "0"])
            for name, ev in SCENARIOS:
                evp = os.path.join(d, "events.txt")
                open(evp, "w").write(ev.format(**marks))
                for ecmp in ("modulo", "resilient"):
                    r = json.loads(run([a.lbnic, "cluster", os.path.join(d, "gen1.img"), trace, "--nodes",
                                        str(a.nodes), "--events", evp, "--ecmp", ecmp, "--json"]))
                    c = r["connections"]
                    print("| %s | %s | %s | %d | %d | %d | %d | %d | %d | %d (%.1f%%) |" % (
                        name, sched, ecmp, c["tracked"], c["backend_removed"], c["node_churn_same_table"],
                        c["node_churn_table_differs"], c["evicted"], c["node_churn_nat"], c["connections"],
                        100.0 * c["connections"] / max(c["tracked"], 1)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
