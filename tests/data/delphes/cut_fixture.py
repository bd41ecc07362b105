"""Cut a genuine Delphes file to its first N events with ROOT itself (``TTree::CloneTree``).

Run with PyROOT (the ``root==0.1a12`` wheel that ``validation/build_delphes.sh`` and
``validation/delphes/make_real_delphes.sh`` install), not with dltrigger's environment::

    python cut_fixture.py SOURCE.root TARGET.root 25

Every branch, streamer and the ``ProcessID0`` the TRefs point into are kept, with the source's
compression settings: the result reads exactly as the source's first N entries (checked by
tests/test_delphes_files.py::test_fixture_is_genuine_delphes_layout).
"""

import sys

import ROOT

source, target, entries = sys.argv[1], sys.argv[2], int(sys.argv[3])
original = ROOT.TFile.Open(source)
tree = original.Get("Delphes")
copy = ROOT.TFile(target, "RECREATE", "", original.GetCompressionSettings())
tree.CloneTree(entries).Write()
copy.Close()
