#!/usr/bin/env python3
"""Describe Delphes ROOT files with uproot: entries, top-level branches (class, split leaves,
uproot interpretation), mean multiplicities; optionally compare two files' layouts.

Usage: inspect_delphes.py FILE.root [FILE.root ...]
       inspect_delphes.py --compare REAL.root GENERATED.root

Needs uproot, awkward and numpy: dltrigger's environment, or the ROOT virtual environment of
make_real_delphes.sh (which runs it on what it wrote). For example, from the repository root:

    .venv/bin/python validation/delphes/inspect_delphes.py tests/data/delphes/*.root
"""

from __future__ import annotations

import os
import sys

import awkward as ak
import numpy as np
import uproot


def leaves(tree):
    out = {}
    for path, branch in tree.iteritems(recursive=True, full_paths=True):
        if len(branch.branches):
            continue
        try:
            interp = str(branch.interpretation)
        except Exception as exc:
            interp = f"<no interpretation: {type(exc).__name__}>"
        out[branch.name] = (path, branch.typename, interp)
    return out


def describe(path):
    f = uproot.open(path)
    t = f["Delphes"]
    print(
        f"== {os.path.basename(path)}: {os.path.getsize(path)} bytes, {t.num_entries} entries, "
        f"keys {f.keys()}"
    )
    for b in t.branches:
        kind = b.classname
        sub = len(b.branches)
        title = b.member("fClonesName", none_if_missing=True) if hasattr(b, "member") else None
        mult = ""
        size = f"{b.name}_size"
        if size in t:
            n = t[size].array(library="np")
            mult = f" mean {n.mean():.1f}, max {n.max()} per event"
        print(f"  {b.name:24s} {kind:26s} TClonesArray of {title!s:18s} {sub:3d} leaves{mult}")
    return t


def compare(real, gen):
    ta, tb = uproot.open(real)["Delphes"], uproot.open(gen)["Delphes"]
    a, b = leaves(ta), leaves(tb)
    print(
        f"== layout: real {os.path.basename(real)} ({len(ta.branches)} top-level branches, "
        f"{len(a)} leaves) vs generated {os.path.basename(gen)} ({len(tb.branches)} top-level "
        f"branches, {len(b)} leaves)"
    )
    top_a = {x.name: x for x in ta.branches}
    top_b = {x.name: x for x in tb.branches}
    print("  top-level only in real:", sorted(set(top_a) - set(top_b)))
    print("  top-level only in generated:", sorted(set(top_b) - set(top_a)))
    colls = sorted({n.split(".")[0] for n in b if "." in n})
    for c in colls:
        real_c = top_a.get(c)
        if real_c is None:
            print(f"  {c}: MISSING in real file")
            continue
        gen_path = next(v[0] for n, v in b.items() if n.startswith(c + "."))
        clones = real_c.member("fClonesName", none_if_missing=True)
        print(
            f"  {c}: real = {type(real_c).__name__} '{c}' (TClonesArray of {clones},"
            f" split, leaves '{c}/{c}.M'); generated = top-level TBranch '{gen_path}' + '{c}_size'"
        )
        for n in sorted(x for x in b if x.startswith(c + ".")):
            if n not in a:
                print(f"     member {n.split('.', 1)[1]}: only in generated ({b[n][1]})")
            elif a[n][1] != b[n][1]:
                print(
                    f"     member {n.split('.', 1)[1]}: type real {a[n][1]} vs generated {b[n][1]}"
                )
        extra = sorted(n for n in a if n.startswith(c + ".") and n not in b)
        print(
            f"     {len(extra)} members only in real: "
            + ", ".join(f"{n.split('.', 1)[1]}[{a[n][1]}]" for n in extra)
        )


def physics(path):
    t = uproot.open(path)["Delphes"]
    e = t.arrays(["Electron.PT", "Electron.Eta"], library="ak")
    br = "MuonTight.PT" if "MuonTight.PT" in t else "Muon.PT"
    m = t[br].array()
    met = t["MissingET.MET"].array()
    jet = t["Jet.PT"].array()
    print(
        f"   electrons/event {ak.mean(ak.num(e['Electron.PT'])):.2f}, {br.split('.')[0]}/event "
        f"{ak.mean(ak.num(m)):.2f}, events with e or mu pT>23: "
        f"{int(ak.sum((ak.sum(e['Electron.PT'] > 23, axis=1) + ak.sum(m > 23, axis=1)) > 0))}, "
        f"median MET {np.median(ak.to_numpy(ak.firsts(met))):.1f}, jets(pT>30)/event "
        f"{ak.mean(ak.sum(jet > 30, axis=1)):.2f}"
    )


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "--compare":
        compare(args[1], args[2])
    else:
        for p in args:
            describe(p)
            physics(p)
