#!/usr/bin/env python3
"""Pythia 8 events (pythia8mc wheel) written as HepMC2 IO_GenEvent ascii, for DelphesHepMC2.

The events of the genuine Delphes files in ``tests/data/delphes`` (make_real_delphes.sh and
make_fixtures.sh beside this file run it). The HepMC2 writer is ``validation/hepmc2.py``, the
one ``validation/delphes_compare.py`` uses: vertices as Pythia's own Pythia8ToHepMC
(Pythia8Plugins/HepMC2.h) builds them, particle barcodes Pythia's event-record indices, vertex
barcodes -1, -2, ..., status codes Particle::statusHepMC(), units GeV and mm.

Processes (13 TeV, Pythia's default Monash tune, MPI/ISR/FSR/hadronisation on):
  wjets  WeakBosonAndParton:qqbar2Wg + qg2Wq, pTHatMin 20, W -> e nu / mu nu only
  ttbar  Top:gg2ttbar + qqbar2ttbar, kept only if >= 1 W decays to e nu / mu nu (--filter w)
  qcd    HardQCD:all, pTHatMin 50 (optionally --filter lepton: a final e/mu pT > 20, |eta| < 2.5)

These are the settings of the fixtures, not dltrigger's own processes ([generate.processes]).

Usage: gen_hepmc2.py PROCESS N_EVENTS SEED OUT.hepmc [--filter none|w|lepton]
Needs pythia8mc, numpy and awkward (the ROOT virtual environment of make_real_delphes.sh, or
dltrigger's own).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import awkward as ak
import numpy as np
import pythia8mc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # validation/: the writer

import hepmc2

COMMON = [
    "Beams:idA = 2212",
    "Beams:idB = 2212",
    "Beams:eCM = 13000.",
    "Next:numberCount = 0",
    "Next:numberShowEvent = 0",
    "Next:numberShowInfo = 0",
    "Next:numberShowProcess = 0",
    "Init:showChangedParticleData = off",
    "Random:setSeed = on",
]
PROCESSES = {
    "wjets": [
        "WeakBosonAndParton:qqbar2Wg = on",
        "WeakBosonAndParton:qg2Wq = on",
        "PhaseSpace:pTHatMin = 20.",
        "24:onMode = off",
        "24:onIfAny = 11 13",
    ],
    "ttbar": ["Top:gg2ttbar = on", "Top:qqbar2ttbar = on"],
    "qcd": ["HardQCD:all = on", "PhaseSpace:pTHatMin = 50."],
}
DEFAULT_FILTER = {"wjets": "none", "ttbar": "w", "qcd": "none"}


def passes(ev, kind):
    """ev: one event's record (index 0 = Pythia's system line)."""
    if kind == "none":
        return True
    ids, status, m1 = ev["id"], ev["status"], ev["mother1"]
    lep = (np.abs(ids) == 11) | (np.abs(ids) == 13)
    if kind == "w":  # a W decays to e nu or mu nu
        return bool(np.any(lep & (np.abs(ids[m1]) == 24)))
    if kind == "lepton":  # a final-state e or mu with pT > 20 GeV, |eta| < 2.5
        pt = np.hypot(ev["px"], ev["py"])
        eta = np.arcsinh(ev["pz"] / np.maximum(pt, 1e-12))
        return bool(np.any(lep & (status > 0) & (pt > 20.0) & (np.abs(eta) < 2.5)))
    raise ValueError(kind)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("process", choices=sorted(PROCESSES))
    ap.add_argument("events", type=int)
    ap.add_argument("seed", type=int)
    ap.add_argument("out")
    ap.add_argument("--filter", choices=["none", "w", "lepton"])
    args = ap.parse_args()
    kind = args.filter or DEFAULT_FILTER[args.process]

    pythia = pythia8mc.Pythia("", False)
    for s in [*COMMON, f"Random:seed = {args.seed}", *PROCESSES[args.process]]:
        if not pythia.readString(s):
            raise SystemExit(f"Pythia rejected {s!r}")
    if not pythia.init():
        raise SystemExit("Pythia init failed")

    t0 = time.time()
    tried = kept = 0
    with open(args.out, "w") as out:
        out.write(hepmc2.HEADER)
        while kept < args.events:
            batch = pythia.nextBatch(1)
            if len(batch) == 0:
                continue
            tried += 1
            prt = batch.prt[0]
            # the filter first, on the few columns it reads (lepton-filtered QCD keeps 0.4%)
            ev = {
                name: ak.to_numpy(column)
                for name, column in (
                    ("id", prt.id),
                    ("status", prt.status),
                    ("mother1", prt.mother1),
                    ("px", prt.p.px),
                    ("py", prt.p.py),
                    ("pz", prt.p.pz),
                )
            }
            if not passes(ev, kind):
                continue
            hepmc2.write_event(out, kept, hepmc2.record_of(prt), hepmc2.info_of(pythia))
            kept += 1
        out.write(hepmc2.FOOTER)
    dt = time.time() - t0
    info = pythia.infoPython()
    print(
        f"{args.process}: kept {kept} of {tried} events (filter {kind}, efficiency "
        f"{kept / tried:.3f}), {dt:.0f} s, sigmaGen {info.sigmaGen() * 1e9:.4g} pb",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
