#!/usr/bin/env python3
"""File-level import cycles inside each crate of the workspace.

A file (module) depends on another when it names it through `crate::`,
`super::` or `self::` paths, or names a child module it declares. A cycle
(a.rs uses b.rs, b.rs uses a.rs, possibly through others) means neither can
be read or tested without the other: the shared piece belongs in a third
module. The crate root (lib.rs / main.rs) only declares modules and
re-exports, so paths through it are resolved to the module re-exported
(`pub use x::Y` at the root makes `crate::Y` an edge to x).

Prints every cycle as `crate: a -> b -> a` and exits 1 if there is one.
"""
import os
import re
import sys

ROOTS = ["contract", "files", "table-compiler", "hw-model", "host-driver", "hw-emu", "testbench", "."]

PATH_RE = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE_GROUP_RE = re.compile(r"\buse\s+(crate|super|self)::\{([^;]*)\};", re.S)
MOD_RE = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+([a-z_][a-z0-9_]*)\s*;", re.M)
REEXPORT_RE = re.compile(r"^\s*pub\s+use\s+([a-z_][a-z0-9_]*)::(\{[^;]*\}|[A-Za-z_][A-Za-z0-9_]*)\s*;", re.M)


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return text


def cfg_test_free(text):
    """Drop `#[cfg(test)] mod tests { ... }` blocks: a test module may use
    anything of its parent."""
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def modules(src):
    """module path tuple -> file, for every .rs file reachable under src."""
    mods = {}
    for dirpath, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), src)
            parts = rel[:-3].split(os.sep)
            if parts[-1] in ("mod", "lib", "main"):
                parts = parts[:-1]
            if parts and parts[0] == "bin":
                continue
            mods[tuple(parts)] = os.path.join(dirpath, f)
    return mods


def resolve(mods, path):
    """Longest prefix of `path` that is a module."""
    for n in range(len(path), -1, -1):
        if tuple(path[:n]) in mods:
            return tuple(path[:n])
    return ()


def crate_edges(src):
    mods = modules(src)
    texts = {m: cfg_test_free(strip_comments(open(f).read())) for m, f in mods.items()}
    reexport = {}
    for name, group in REEXPORT_RE.findall(texts.get((), "")):
        for item in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", group):
            reexport[item] = (name,)
    edges = {m: set() for m in mods}
    for m, text in texts.items():
        paths = []
        for head, group in USE_GROUP_RE.findall(text):
            for item in re.split(r",", group):
                item = item.strip().split(" as ")[0]
                if item:
                    paths.append((head, item.split("::")))
        for head, rest in PATH_RE.findall(text):
            paths.append((head, rest.strip(":").split("::")))
        for head, rest in paths:
            rest = [p for p in rest if p and p not in ("*", "self")]
            if head == "crate":
                base = []
            elif head == "super":
                base = list(m[:-1])
                while rest and rest[0] == "super":
                    base, rest = base[:-1], rest[1:]
            else:
                base = list(m)
            target = resolve(mods, base + rest)
            if target == () and head == "crate" and rest and rest[0] in reexport:
                target = reexport[rest[0]]
            if target != m and target != ():
                edges[m].add(target)
    return edges


def cycles(edges):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    found = 0
    for crate in ROOTS:
        src = os.path.join(root, crate, "src")
        if not os.path.isdir(src):
            continue
        for comp in cycles(crate_edges(src)):
            found += 1
            names = ["::".join(m) or "(root)" for m in comp]
            print(f"{crate}: import cycle among {', '.join(names)}")
    if found:
        sys.exit(1)
    print("no file-level import cycles")


if __name__ == "__main__":
    main()
