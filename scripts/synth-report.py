#!/usr/bin/env python3
"""Resource counts and logic depth of a flattened Yosys `synth_xilinx` netlist.

Reads the JSON netlist (`write_json` after `flatten`) of scripts/synth.sh
and prints, or writes as JSON, the cells an UltraScale+ part spends: LUTs
(LUT1-LUT6), LUTRAM and SRL cells, flip-flops by type (FDRE, FDSE, FDCE,
FDPE, latches), CARRY8, MUXF7/8/9, block RAM (RAMB36E2, RAMB18E2), URAM288
and DSP48E2.

Depth: the deepest register-to-register path in LUT levels. Yosys' `ltp`
counts every cell and knows only its internal flip-flop types, so the
paths are walked here: a path starts at a flip-flop, a block RAM / URAM /
DSP output (their read and pipeline registers are inside the cell), an SRL
or a top-level input, and ends at the same cells' inputs or a top-level
output. A LUT (or a LUTRAM's asynchronous read) is one level; MUXF7/8/9
(the slice's wide-function muxes behind the LUTs) and CARRY8 (the carry
chain) add no level but are listed with the path, since they add delay:
on UltraScale+ about 0.1 ns per MUXF, 0.05-0.1 ns per CARRY8. A DSP48E2
without any internal register would be combinational; it is walked
through and named in the path. Ties between equally deep paths go to the
one with more cells.

usage: synth-report.py NETLIST.json [--json OUT.json] [--paths N] [--time TIME.txt]
                       [--target NAME] [--reused K/N]

--reused K/N: K of the run's N parts came from scripts/synth.sh's cache
(the run's time is the work it did, not a whole synthesis).
"""
import json
import re
import sys
from collections import Counter, defaultdict

FF_TYPES = {"FDRE", "FDSE", "FDCE", "FDPE", "LDCE", "LDPE"}
LUT_RE = re.compile(r"^LUT[1-6]$")
LUTRAM_RE = re.compile(r"^RAM(32|64|128|256|512)(X\d+[SD]?|M\d*)")
# A LUTRAM reads asynchronously (a port's address to its output: one
# level) but writes on the clock: its data, write-enable and write-address
# pins end a path, as a flip-flop's D does. Each read output depends on its
# own port's address only (DOA on ADDRA, SPO on A, DPO on DPRA); the write
# address (ADDRH of a RAM32M16, ADDRD of a RAM64M, A of a RAM32X1D) is also
# the last port's read address, so it is both an endpoint and that port's
# read path. `split_lutrams` makes a cell per read port and one (WADR) for
# the write: walked as one cell, the write address reached every read
# output and the register behind it, a level more than the hardware has
# (the conntrack engine's queue RAMs at stop 56).
LUTRAM_WRITE_RE = re.compile(r"^(D|DI[A-H]?|WE|WCLK|WADR)$")
SRL_TYPES = {"SRL16E", "SRLC16E", "SRLC32E"}
MUXF_TYPES = {"MUXF7", "MUXF8", "MUXF9"}
CARRY_TYPES = {"CARRY8", "CARRY4"}
BRAM_TYPES = {"RAMB36E2", "RAMB18E2", "RAMB36E1", "RAMB18E1"}
DSP_TYPES = {"DSP48E2", "DSP48E1"}
# buffers and constants: no level
PASS_TYPES = {"BUFG", "IBUF", "OBUF", "INV", "VCC", "GND"}
DSP_REGS = ("AREG", "BREG", "CREG", "DREG", "ADREG", "MREG", "PREG")


def param_int(v):
    if isinstance(v, int):
        return v
    try:
        return int(v, 2)
    except (TypeError, ValueError):
        return 0


def classify(cell):
    t = cell["type"]
    if LUT_RE.match(t):
        return "lut"
    if LUTRAM_RE.match(t):
        return "lutram"
    if t in MUXF_TYPES:
        return "muxf"
    if t in CARRY_TYPES:
        return "carry"
    if t in PASS_TYPES:
        return "pass"
    if t in DSP_TYPES:
        p = cell.get("parameters", {})
        if all(param_int(p.get(r, 1)) == 0 for r in DSP_REGS):
            return "dsp_comb"
        return "seq"
    # flip-flops, SRLs, block RAM, URAM, registered DSPs, anything unknown:
    # a path ends at its inputs and starts at its outputs
    return "seq"


def counts(cells):
    by_type = Counter(c["type"] for c in cells.values())
    lut = sum(n for t, n in by_type.items() if LUT_RE.match(t))
    lutram = sum(n for t, n in by_type.items() if LUTRAM_RE.match(t))
    ff = {t: by_type[t] for t in sorted(FF_TYPES) if by_type[t]}
    return {
        "lut": lut,
        "lut_by_size": {t: by_type[t] for t in sorted(by_type) if LUT_RE.match(t)},
        "lutram": lutram,
        "srl": sum(by_type[t] for t in SRL_TYPES),
        "ff": sum(ff.values()),
        "ff_by_type": ff,
        "carry8": by_type["CARRY8"],
        "muxf": {t: by_type[t] for t in sorted(MUXF_TYPES) if by_type[t]},
        "ramb36": by_type["RAMB36E2"],
        "ramb18": by_type["RAMB18E2"],
        "uram": by_type["URAM288"],
        "dsp": by_type["DSP48E2"],
        "other": {t: n for t, n in sorted(by_type.items())
                  if not (LUT_RE.match(t) or LUTRAM_RE.match(t) or t in FF_TYPES or t in SRL_TYPES
                          or t in MUXF_TYPES or t in CARRY_TYPES or t in BRAM_TYPES
                          or t in DSP_TYPES or t in PASS_TYPES or t == "URAM288")},
    }


def net_names(mod):
    """bit -> the most readable name of a net carrying it (public names
    first, then the shortest)."""
    names = {}
    for name, n in mod.get("netnames", {}).items():
        hidden = n.get("hide_name", 0)
        bits = n["bits"]
        for i, b in enumerate(bits):
            if not isinstance(b, int):
                continue
            label = name if len(bits) == 1 else f"{name}[{i + n.get('offset', 0)}]"
            key = (hidden, len(label))
            if b not in names or key < names[b][0]:
                names[b] = (key, label)
    return {b: v[1] for b, v in names.items()}


def lutram_reads(conns, dirs):
    """A LUTRAM's read outputs -> the input pins each reads through, and
    the write-address pins."""
    ins = [p for p in conns if dirs.get(p, "input") != "output" and not LUTRAM_WRITE_RE.match(p)]
    letters = sorted(p[4:] for p in ins if re.fullmatch(r"ADDR[A-H]", p))
    a_pins = [p for p in ins if re.fullmatch(r"A\d*", p)]
    reads = {}
    for out in (p for p in conns if dirs.get(p) == "output"):
        m = re.fullmatch(r"DO([A-H])", out)
        if m and f"ADDR{m.group(1)}" in conns:
            reads[out] = [f"ADDR{m.group(1)}"]
        elif out in ("SPO", "O") and a_pins:
            reads[out] = a_pins
        elif out == "DPO":
            reads[out] = [p for p in ins if re.fullmatch(r"DPRA\d*", p)] or ins
        else:
            reads[out] = ins
    waddr = [f"ADDR{letters[-1]}"] if letters else a_pins
    return reads, waddr


def split_lutrams(cells):
    """Each LUTRAM cell as a cell per read output (its address pins to it)
    and a write cell whose inputs (data, enable, clock, WADR: the write
    address) end paths."""
    out = {}
    for name, c in cells.items():
        if classify(c) != "lutram":
            out[name] = c
            continue
        conns, dirs = c["connections"], c["port_directions"]
        reads, waddr = lutram_reads(conns, dirs)
        for port, pins in reads.items():
            out[f"{name}.{port}"] = {
                "type": c["type"],
                "connections": {port: conns[port], **{p: conns[p] for p in pins}},
                "port_directions": {port: "output", **{p: "input" for p in pins}},
            }
        w = {p: conns[p] for p in conns if LUTRAM_WRITE_RE.match(p)}
        w["WADR"] = [b for p in waddr for b in conns[p]]
        out[f"{name}.write"] = {
            "type": c["type"],
            "connections": w,
            "port_directions": {p: "input" for p in w},
        }
    return out


def depth(mod, npaths):
    cells = split_lutrams(mod["cells"])
    kinds = {name: classify(c) for name, c in cells.items()}
    # driver of each bit, consumers of each bit (combinational cells only)
    driver = {}
    comb_inputs = {}
    consumers = defaultdict(list)
    for name, c in cells.items():
        if kinds[name] == "seq":
            continue
        ins, outs = [], []
        for port, bits in c["connections"].items():
            d = c["port_directions"].get(port, "input")
            if d != "output" and kinds[name] == "lutram" and LUTRAM_WRITE_RE.match(port):
                continue  # a clocked write: an endpoint, below
            for b in bits:
                if isinstance(b, int):
                    (outs if d == "output" else ins).append(b)
        comb_inputs[name] = ins
        for b in outs:
            driver[b] = name
        for b in set(ins):
            consumers[b].append(name)

    # Kahn over combinational cells; a cell's level = max over its inputs
    weight = {"lut": 1, "lutram": 1}
    pending = {}
    for name, ins in comb_inputs.items():
        pending[name] = len({b for b in ins if b in driver})
    ready = [n for n, k in pending.items() if k == 0]
    # bit -> (luts, cells, cell that drives it on the deepest path)
    best = {}
    cell_best = {}
    done = 0
    while ready:
        name = ready.pop()
        done += 1
        # the deepest input (a path start when no input is driven by logic)
        top = (0, 0, None)
        for b in comb_inputs[name]:
            v = best.get(b, (0, 0))
            if top[2] is None or (v[0], v[1]) > (top[0], top[1]):
                top = (v[0], v[1], b)
        me = (top[0] + weight.get(kinds[name], 0), top[1] + 1, top[2])
        cell_best[name] = me
        for port, bits in cells[name]["connections"].items():
            if cells[name]["port_directions"].get(port) == "output":
                for b in bits:
                    if isinstance(b, int):
                        best[b] = (me[0], me[1], name)
        outs = {b for port, bits in cells[name]["connections"].items()
                if cells[name]["port_directions"].get(port) == "output" for b in bits if isinstance(b, int)}
        for b in outs:
            for c in consumers.get(b, ()):
                pending[c] -= 1
                if pending[c] == 0:
                    ready.append(c)
    loops = len(comb_inputs) - done

    # endpoints: inputs of sequential cells, LUTRAM write pins, and
    # top-level outputs
    ends = {}
    for name, c in cells.items():
        if kinds[name] not in ("seq", "lutram"):
            continue
        for port, bits in c["connections"].items():
            if c["port_directions"].get(port) == "output":
                continue
            if kinds[name] == "lutram" and not LUTRAM_WRITE_RE.match(port):
                continue
            for b in bits:
                if isinstance(b, int) and b in best:
                    v = best[b]
                    if b not in ends or (v[0], v[1]) > ends[b][0]:
                        ends[b] = ((v[0], v[1]), f"{name} ({c['type']}.{port})")
    for pname, p in mod.get("ports", {}).items():
        if p["direction"] == "output":
            for i, b in enumerate(p["bits"]):
                if isinstance(b, int) and b in best:
                    v = best[b]
                    ends[b] = ((v[0], v[1]), f"output {pname}[{i}]")

    names = net_names(mod)

    def trace(b):
        """The nets of the deepest path into bit b, start first."""
        path = []
        while True:
            cname = best[b][2]
            path.append((cname, names.get(b, str(b))))
            prev = cell_best[cname][2]
            if prev is None or prev not in best:
                path.append((None, names.get(prev, "constant") if prev is not None else "constant"))
                break
            b = prev
        path.reverse()
        return path

    ranked = sorted(ends.items(), key=lambda kv: kv[1][0], reverse=True)
    paths = []
    seen_ends = set()
    for b, ((luts, ncells), where) in ranked:
        label = names.get(b, str(b))
        # one path per endpoint register/vector
        stem = re.sub(r"\[\d+\]$", "", label)
        if stem in seen_ends:
            continue
        seen_ends.add(stem)
        p = trace(b)
        comp = Counter(kinds[c] for c, _ in p if c)
        paths.append({
            "lut_levels": luts,
            "cells": ncells,
            "start": p[0][1],
            "end": label,
            "end_cell": where,
            "muxf": comp.get("muxf", 0),
            "carry8": comp.get("carry", 0),
            "dsp": comp.get("dsp_comb", 0),
            "nets": [n for _, n in p],
        })
        if len(paths) >= npaths:
            break
    return paths, loops


def read_time(path):
    """CPU seconds, wall seconds and peak memory from `/usr/bin/time -v`."""
    t = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.strip().rpartition(": ")
            t[k] = v
    wall = 0.0
    for part in t.get("Elapsed (wall clock) time (h:mm:ss or m:ss)", "0").split(":"):
        wall = wall * 60 + float(part)
    return {
        "cpu_s": round(float(t.get("User time (seconds)", 0)) + float(t.get("System time (seconds)", 0)), 1),
        "wall_s": round(wall, 1),
        "peak_rss_mib": int(t.get("Maximum resident set size (kbytes)", 0)) // 1024,
    }


def render(rep):
    ff = ", ".join(f"{t} {n}" for t, n in rep["ff_by_type"].items())
    muxf = ", ".join(f"{t} {n}" for t, n in rep["muxf"].items()) or "0"
    lines = [
        f"top            {rep['top']}" + (f" ({rep['target']})" if rep.get("target") else ""),
        f"LUT            {rep['lut']}  (" + ", ".join(f"{t} {n}" for t, n in rep["lut_by_size"].items()) + ")",
        f"LUTRAM / SRL   {rep['lutram']} / {rep['srl']}",
        f"FF             {rep['ff']}  ({ff})",
        f"CARRY8 / MUXF  {rep['carry8']} / {muxf}",
        f"BRAM           RAMB36E2 {rep['ramb36']}, RAMB18E2 {rep['ramb18']}",
        f"URAM           URAM288 {rep['uram']}",
        f"DSP            DSP48E2 {rep['dsp']}",
    ]
    if rep["other"]:
        lines.append("other          " + ", ".join(f"{t} {n}" for t, n in rep["other"].items()))
    lines.append(f"LUT depth      {rep['lut_depth']} levels (deepest register-to-register path)")
    if rep["combinational_loops"]:
        lines.append(f"WARNING        {rep['combinational_loops']} cells on combinational loops (not walked)")
    for p in rep["paths"]:
        extra = f", {p['muxf']} MUXF, {p['carry8']} CARRY8" + (f", {p['dsp']} DSP" if p["dsp"] else "")
        lines.append(f"  {p['lut_levels']:3d} LUT{extra}: {p['start']} -> {p['end']}")
    if "run" in rep:
        r = rep["run"]
        lines.append(f"run            {r['cpu_s']} s CPU, {r['wall_s']} s wall, {r['peak_rss_mib']} MiB peak")
    if rep.get("parts_reused"):
        k, n = rep["parts_reused"]
        lines.append(f"parts          {k} of {n} reused from earlier runs (rtl/build/synth/cache; --fresh redoes them)")
    return "\n".join(lines)


def main():
    args = sys.argv[1:]
    opts = {"--json": None, "--paths": "10", "--time": None, "--target": None, "--reused": None}
    for k in list(opts):
        if k in args:
            i = args.index(k)
            opts[k] = args[i + 1]
            del args[i:i + 2]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    with open(args[0]) as f:
        net = json.load(f)
    mods = net["modules"]
    tops = [n for n, m in mods.items() if param_int(m.get("attributes", {}).get("top", 0))]
    if len(tops) != 1:
        print(f"expected one top module, found {tops}", file=sys.stderr)
        return 2
    mod = mods[tops[0]]
    rep = {"top": tops[0], "target": opts["--target"], **counts(mod["cells"])}
    paths, loops = depth(mod, int(opts["--paths"]))
    rep["lut_depth"] = paths[0]["lut_levels"] if paths else 0
    rep["combinational_loops"] = loops
    rep["paths"] = paths
    if opts["--time"]:
        rep["run"] = read_time(opts["--time"])
    if opts["--reused"]:
        k, _, n = opts["--reused"].partition("/")
        if not (k.isdigit() and n.isdigit()):
            print(f"--reused takes K/N, not {opts['--reused']}", file=sys.stderr)
            return 2
        rep["parts_reused"] = [int(k), int(n)]
    if opts["--json"]:
        with open(opts["--json"], "w") as f:
            json.dump(rep, f, indent=1)
    print(render(rep))
    return 0


if __name__ == "__main__":
    sys.exit(main())
