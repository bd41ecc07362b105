#!/usr/bin/env bash
# Small genuine Delphes files: the 100-event files that tests/data/delphes/ is cut from
# (tests/data/delphes/README.md), written by DelphesHepMC2 with the settings, seeds and /tmp
# scratch defaults of make_real_delphes.sh beside this file: the standard CMS card (CARD_A,
# default the repository's copy tests/data/delphes/delphes_card_CMS.tcl, byte for byte
# cards/delphes_card_CMS.tcl of Delphes 3.5.1), unchanged; the first FIXTURE_EVENTS (100)
# events of the wjets, ttbar and qcd HepMC files, into FIXTURES (default ./delphes-fixtures).
# The standard card writes `Muon` (not `MuonTight`); its Electron/Muon are isolated and jets
# overlapping them removed.
#
# Usage:  FIXTURES=<dir> bash validation/delphes/make_fixtures.sh
# Delphes: the install in PREFIX that make_real_delphes.sh or validation/build_delphes.sh
# leaves behind; if there is none, it is built here by validation/build_delphes.sh (set
# DELPHES_GIT to a clone of delphes/delphes for that).
# HepMC files missing from WORK, or shorter than needed, are generated here by gen_hepmc2.py
# with make_real_delphes.sh's seeds (same seed: the same first events). qcd_lepfilter is the
# slow one: ~40 min per 100 events on one core (0.4% filter efficiency).
# Delphes itself: a few seconds per 100 events. The cards set no RandomSeed, so Delphes seeds
# its smearing/efficiencies from the clock: a rerun gives statistically equivalent, not
# byte-identical, files (the generator-level Particle/GenJet content is identical).
#
# Delphes is free software under the GNU General Public License v3 (its NOTICE, LICENSE and
# COPYING files); so is the card.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
export PY=${PY:-python3.11}
export VENV=${VENV:-/tmp/rootvenv}
export PREFIX=${PREFIX:-/tmp/delphes-install}
WORK=${WORK:-/tmp/delphes-work}            # full HepMC files; truncated copies go to $WORK/first
NICE=${NICE:-nice -n 10}
FIXTURES=${FIXTURES:-$PWD/delphes-fixtures}
FIXTURE_EVENTS=${FIXTURE_EVENTS:-100}
CARD_A=${CARD_A:-$REPO/tests/data/delphes/delphes_card_CMS.tcl}
SETS=A

if [ ! -x "$PREFIX/bin/DelphesHepMC2" ]; then
  [ -n "${DELPHES_GIT:-}" ] || {
    echo "no $PREFIX/bin/DelphesHepMC2: set DELPHES_GIT (a clone of delphes/delphes) to build it" \
      "with validation/build_delphes.sh, or run make_real_delphes.sh first" >&2
    exit 1
  }
  export DELPHES_GIT
  $NICE bash "$REPO/validation/build_delphes.sh"
fi
# Pythia and the readers beside ROOT (make_real_delphes.sh installs the same versions).
"$VENV/bin/python" -c 'import pythia8mc, awkward, uproot' 2>/dev/null \
  || "$VENV/bin/pip" install -q pythia8mc==8.317.2 numpy==2.4.6 awkward==2.14.0 uproot==5.7.7
[ -f "$CARD_A" ]
SP=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
export LD_LIBRARY_PATH="$SP/root.libs:$SP/ROOT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
mkdir -p "$WORK/first"

count() { grep -c '^E ' "$1" || true; }
# need NAME EVENTS PROCESS SEED [FILTER]: $WORK/NAME.hepmc with at least EVENTS events
need() {
  local f="$WORK/$1.hepmc"
  if [ ! -f "$f" ] || [ "$(count "$f")" -lt "$2" ]; then
    echo "generating $f ($2 events, seed $4)"
    $NICE "$VENV/bin/python" "$HERE/gen_hepmc2.py" "$3" "$2" "$4" "$f" ${5:+--filter "$5"} \
      > "$WORK/gen-$1.log" 2>&1 || { tail "$WORK/gen-$1.log"; exit 1; }
    tail -1 "$WORK/gen-$1.log"
  fi
}
# first N IN OUT: the header, the first N events (each starts at a line "E ..."), the end line
first() {
  awk -v n="$1" '
    /^HepMC::IO_GenEvent-END_EVENT_LISTING/ { next }
    /^E / { if (++c > n) exit }
    { print }
    END { if (c < n) { print "only " c " events" > "/dev/stderr"; exit 1 }
          print "HepMC::IO_GenEvent-END_EVENT_LISTING" }' "$2" > "$3"
  [ "$(count "$3")" = "$1" ]
}
# delphes CARD HEPMC N OUT: DelphesHepMC2 on the first N events of HEPMC
delphes() {
  local base; base=$(basename "$2" .hepmc)
  local cut="$WORK/first/${base}_$3.hepmc" log="$WORK/first/$(basename "$4" .root)-$(basename "$1" .tcl).log"
  first "$3" "$2" "$cut"
  rm -f "$4"
  $NICE "$PREFIX/bin/DelphesHepMC2" "$1" "$4" "$cut" > "$log" 2>&1 || { tail "$log"; exit 1; }
  echo "$(basename "$1"): $3 events of $base -> $4"
}

max() { [ "$1" -gt "$2" ] && echo "$1" || echo "$2"; }
N_WT=0; N_QCD=0; N_QLF=0
case " $SETS " in *" A "*) N_WT=$FIXTURE_EVENTS; N_QCD=$FIXTURE_EVENTS;; esac
# the seeds and settings of make_real_delphes.sh, step 4
if [ "$N_WT" -gt 0 ]; then
  need wjets "$N_WT" wjets 101
  need ttbar "$N_WT" ttbar 102                   # kept only with >= 1 W -> e nu / mu nu
fi
if [ "$N_QCD" -gt 0 ]; then need qcd "$N_QCD" qcd 103; fi          # HardQCD:all, no filter
if [ "$N_QLF" -gt 0 ]; then need qcd_lepfilter "$N_QLF" qcd 104 lepton; fi  # e/mu pT > 20, |eta| < 2.5

OUTS=()
case " $SETS " in *" A "*)
  mkdir -p "$FIXTURES"
  for pair in wjets:Wlnu ttbar:ttbar qcd:qcd; do
    p=${pair%%:*}; out="$FIXTURES/${pair##*:}_lepFilter_13TeV_0.root"
    delphes "$CARD_A" "$WORK/$p.hepmc" "$FIXTURE_EVENTS" "$out"; OUTS+=("$out")
  done;;
esac

# What was written: each file opened with uproot
"$VENV/bin/python" - "${OUTS[@]}" <<'EOF'
import os, sys
import uproot
total = {}
for path in sys.argv[1:]:
    f = uproot.open(path)
    t = f["Delphes"]
    colls = [b.name for b in t.branches if not b.name.endswith("_size")]
    mult = {c: float(t[f"{c}_size"].array(library="np").mean())
            for c in ("Electron", "Muon", "MuonTight", "Jet") if f"{c}_size" in t}
    mb = os.path.getsize(path) / 1e6
    total[os.path.dirname(path)] = total.get(os.path.dirname(path), 0) + mb
    print(f"{os.path.basename(os.path.dirname(path))}/{os.path.basename(path)}: {mb:.1f} MB, "
          f"{t.num_entries} entries, keys {f.keys()}")
    print(f"  {len(colls)} collections: {' '.join(colls)}")
    print("  mean per event: " + ", ".join(f"{k} {v:.2f}" for k, v in mult.items()))
for d, mb in total.items():
    print(f"{d}: {mb:.1f} MB in all")
EOF
