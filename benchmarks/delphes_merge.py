"""Make bigger genuine-Delphes files for benchmarks: each input chained ``N`` times and merged
with ROOT itself (``TChain::Merge``), so the output keeps Delphes' exact layout.

Run with PyROOT (the ``root==0.1a12`` wheel that ``validation/build_delphes.sh`` and
``validation/delphes/make_real_delphes.sh`` install), not with dltrigger's environment; the
inputs here are the 100-event files of ``validation/delphes/make_fixtures.sh``::

    python benchmarks/delphes_merge.py OUT_DIR 10 FIXTURES/*.root

The events repeat (N copies of each): right for throughput, meaningless for physics.
"""

import sys
from pathlib import Path

import ROOT

target, copies, sources = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
target.mkdir(parents=True, exist_ok=True)
for source in sources:
    chain = ROOT.TChain("Delphes")
    for _ in range(copies):
        chain.Add(source)
    out = target / Path(source).name
    settings = ROOT.TFile.Open(source).GetCompressionSettings()
    chain.Merge(ROOT.TFile(str(out), "RECREATE", "", settings), 0, "keep")
    print(out, chain.GetEntries())
