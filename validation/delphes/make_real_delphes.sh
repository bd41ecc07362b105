#!/usr/bin/env bash
# Genuine Delphes output files (Delphes 3.5.1, cards/delphes_card_CMS.tcl) from Pythia 8 events,
# on a Debian 12 machine that reaches only PyPI and Debian's package archive. The files that
# tests/data/delphes/ is cut from were made this way (validation/delphes/README.md).
#
#   ROOT 6.40.00      from the PyPI wheel `root==0.1a12` (no Eve/Geom/RGL: Delphes' event
#                     display is left out of the build; everything else builds)
#   Pythia 8.317      from the PyPI wheel `pythia8mc==8.317.2` (Python only, no C++ headers or
#                     library: DelphesPythia8 cannot be built against it), so events go
#                     Pythia (Python) -> HepMC2 ascii (gen_hepmc2.py) -> DelphesHepMC2
#   Delphes 3.5.1     git tag 3.5.1 of the delphes/delphes GitHub repository (commit 2865836),
#                     built by validation/build_delphes.sh
#
# Usage (from anywhere; paths are found from this file's location):
#   DELPHES_GIT=<clone or bare git dir of delphes/delphes> bash validation/delphes/make_real_delphes.sh
# Every location below is a /tmp scratch default and can be overridden from the environment.
# Delphes is built once: an install with bin/DelphesHepMC2 in PREFIX is reused (REBUILD=1 builds
# it again; DELPHES_GIT is only needed for a build). Measured on 2 shared cores: build ~4-15 min
# (make -j2), events ~2-3 min per sample, Delphes ~25 s per 500 events.
#
# Delphes is free software under the GNU General Public License v3 (its NOTICE, LICENSE and
# COPYING files); this script downloads nothing of it, it builds the clone you give it.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# The build's settings, read by validation/build_delphes.sh too (DELPHES_TAG is its TAG).
export TAG=${TAG:-${DELPHES_TAG:-3.5.1}}
export PY=${PY:-python3.11}
export VENV=${VENV:-/tmp/rootvenv}
export SRC=${SRC:-/tmp/delphes-src}
export BUILD=${BUILD:-/tmp/delphes-build}
export PREFIX=${PREFIX:-/tmp/delphes-install}
export JOBS=${JOBS:-2}
WORK=${WORK:-/tmp/delphes-work}            # HepMC files (~150 MB per 500 events), logs
OUT=${OUT:-/tmp/delphes-out}               # standard CMS card
OUT_MT=${OUT_MT:-/tmp/delphes-out-muontight}  # same card + a MuonTight branch (see step 5)
OUT_NOISO=${OUT_NOISO:-/tmp/delphes-out-noiso}   # ... and no isolation cut on Electron/MuonTight
# The standard CMS card: the repository's copy, byte for byte cards/delphes_card_CMS.tcl of
# Delphes 3.5.1 (the same file the build installs as $PREFIX/cards/delphes_card_CMS.tcl).
CARD=${CARD:-$REPO/tests/data/delphes/delphes_card_CMS.tcl}
EVENTS=${EVENTS:-500}
QCD_LEPFILTER_EVENTS=${QCD_LEPFILTER_EVENTS:-0}  # >0: also lepton-filtered QCD (0.4% eff.: 100 ~ 40 min)
NICE=${NICE:-nice -n 10}
REBUILD=${REBUILD:-0}

# 0. Compiler and cmake (Debian 12: g++ 12.2, cmake 3.25)
if ! command -v cmake >/dev/null || ! command -v g++ >/dev/null || ! command -v make >/dev/null; then
  apt-get update && apt-get install -y cmake g++ make
fi

# 1-3. ROOT from PyPI and Delphes at the tag, built and installed into $PREFIX by
# validation/build_delphes.sh (the same recipe: no event display, MinBias.pileup left out,
# -rpath-link for the wheel's bundled libraries).
if [ "$REBUILD" != 0 ] || [ ! -x "$PREFIX/bin/DelphesHepMC2" ]; then
  : "${DELPHES_GIT:?set DELPHES_GIT to a clone (or bare git dir) of the delphes/delphes repository}"
  export DELPHES_GIT
  start=$(date +%s)
  $NICE bash "$REPO/validation/build_delphes.sh"
  echo "Delphes built in $(( $(date +%s) - start )) s"
else
  echo "Delphes already installed in $PREFIX (REBUILD=1 to build it again)"
fi

# Pythia and the readers, from PyPI, beside ROOT in the same virtual environment.
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q root==0.1a12 pythia8mc==8.317.2 numpy==2.4.6 awkward==2.14.0 \
  uproot==5.7.7 pyhepmc==2.16.1
SP=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
export LD_LIBRARY_PATH="$SP/root.libs:$SP/ROOT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
"$VENV/bin/python" -c 'import ROOT; print("ROOT", ROOT.gROOT.GetVersion())' 2>/dev/null

# 4. Pythia 8 events -> HepMC2 (seeds fixed: the same files every time)
mkdir -p "$WORK" "$OUT" "$OUT_MT" "$OUT_NOISO"
gen() {  # process events seed name [filter]
  $NICE "$VENV/bin/python" "$HERE/gen_hepmc2.py" "$1" "$2" "$3" "$WORK/$4.hepmc" ${5:+--filter "$5"} \
    > "$WORK/gen-$4.log" 2>&1 || { tail "$WORK/gen-$4.log"; exit 1; }
  tail -1 "$WORK/gen-$4.log"
}
gen wjets "$EVENTS" 101 wjets
gen ttbar "$EVENTS" 102 ttbar       # kept only with >= 1 W -> e nu / mu nu (~41% of events)
gen qcd   "$EVENTS" 103 qcd         # HardQCD:all, pTHatMin 50, no filter
if [ "$QCD_LEPFILTER_EVENTS" -gt 0 ]; then  # generator e/mu pT > 20, |eta| < 2.5
  gen qcd "$QCD_LEPFILTER_EVENTS" 104 qcd_lepfilter lepton
fi

# 5. Delphes with the standard CMS card, and with the same card plus one TreeWriter line
# that also writes the isolated muons as "MuonTight" (the name the reference's files and
# dltrigger use; the standard card calls the branch "Muon").
[ -f "$CARD" ] || { echo "no card $CARD" >&2; exit 1; }
CARD_MT="$WORK/delphes_card_CMS_MuonTight.tcl"
sed 's|^  add Branch UniqueObjectFinder/muons Muon Muon$|&\n  add Branch UniqueObjectFinder/muons MuonTight Muon|' \
  "$CARD" > "$CARD_MT"
grep -q "MuonTight Muon" "$CARD_MT"
# Delphes' CMS card keeps only isolated leptons (Electron: pT ratio < 0.12, Muon: < 0.25, in
# dR 0.5); dltrigger applies its own isolation (< 0.45, dR 0.3), so QCD's non-isolated leptons
# never reach it. Third card: the MuonTight one without those two cuts.
CARD_NOISO="$WORK/delphes_card_CMS_MuonTight_noiso.tcl"
sed -e '/^module Isolation ElectronIsolation/,/^}/s/set PTRatioMax .*/set PTRatioMax 1e9/' \
    -e '/^module Isolation MuonIsolation/,/^}/s/set PTRatioMax .*/set PTRatioMax 1e9/' \
    "$CARD_MT" > "$CARD_NOISO"
[ "$(grep -c 'PTRatioMax 1e9' "$CARD_NOISO")" = 2 ]
delphes() {  # card hepmc out log
  rm -f "$3"
  $NICE "$PREFIX/bin/DelphesHepMC2" "$1" "$3" "$2" > "$WORK/$4" 2>&1 || { tail "$WORK/$4"; exit 1; }
}
for pair in wjets:Wlnu ttbar:ttbar qcd:qcd; do
  p=${pair%%:*}; name=${pair##*:}_lepFilter_13TeV_0.root
  delphes "$CARD" "$WORK/$p.hepmc" "$OUT/$name" "delphes-$p.log"
  delphes "$CARD_MT" "$WORK/$p.hepmc" "$OUT_MT/$name" "delphes-mt-$p.log"
  delphes "$CARD_NOISO" "$WORK/$p.hepmc" "$OUT_NOISO/$name" "delphes-noiso-$p.log"
done
if [ "$QCD_LEPFILTER_EVENTS" -gt 0 ]; then
  delphes "$CARD_NOISO" "$WORK/qcd_lepfilter.hepmc" "$OUT_NOISO/qcd_lepFilter_13TeV_1.root" \
    "delphes-noiso-qcd_lepfilter.log"
fi

# 6. What was written
"$VENV/bin/python" "$HERE/inspect_delphes.py" "$OUT"/*.root
