"""Physical bounds: the values no collision can produce, in one place.

A damaged basket of a ZSTD-compressed ROOT file usually still decompresses (ROOT's ZSTD blocks
carry no checksum; ZLIB's and LZ4's do), and its numbers become garbage: a track pT of
-3.6e30, a float32 at 3e38. Nothing downstream fails on such a number; it silently wrecks the
scaling statistics (a standard deviation of 1e36 makes the feature ~0 for every event). So:

- ``dltrigger ingest`` (and every reader of ROOT files: the ``root`` Spark source, ``score``,
  ``stream``) checks every number it reads against [`member_bound`][]: a value outside it
  names the file, branch and entry, and the file is refused like any other bad file
  ([`BadValueError`][]);
- ``dltrigger features`` checks the members its physics reads again (an ingested dataset made
  by another program, or by an older dltrigger) and refuses statistics outside
  [`feature_limit`][] before writing ``_scaling.json``; loading a ``_scaling.json``
  ([`dltrigger.artifacts.Scaling.from_file`][]) refuses them too.

The bounds are generous on purpose: they must never flag a real value (the genuine Delphes
3.5.1 files and the generated ones pass, tests/test_bad_values.py), only impossible ones.
Units are Delphes': GeV, mm, rad.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: The collider's whole energy, the LHC's design centre-of-mass energy: 14 TeV. No object of
#: a collision (13 or 13.6 TeV today) can carry more energy than both beams together.
COLLIDER_ENERGY_GEV = 14_000.0

#: How far above the collider's energy a value may still go: far enough that sums over
#: pile-up (HT of 200 overlaid collisions), detector smearing and files of another collider
#: (FCC-hh's 100 TeV) pass, while garbage (a damaged float32 takes any magnitude up to 3.4e38)
#: does not.
ENERGY_MARGIN = 10.0

#: The largest energy, momentum (or component), transverse momentum, mass, MET or HT in GeV:
#: 140 TeV.
MAX_ENERGY_GEV = ENERGY_MARGIN * COLLIDER_ENERGY_GEV

#: The largest |pseudorapidity| or |rapidity|. Delphes writes +-999.9 for an object along the
#: beam (zero pT: genuine ``Particle.Eta`` holds it); any other value stays below ~20 (the
#: double precision of cos theta), so 1000 lets both through.
MAX_ABS_ETA = 1000.0

#: Azimuths are in [-pi, pi]; the tolerance covers float32 rounding (float32(pi) > pi) and
#: writers that wrap at a slightly different place.
PHI_TOLERANCE = 1e-3
MAX_ABS_PHI = math.pi + PHI_TOLERANCE

#: The charge of one track or lepton: -1, 0 or 1.
MAX_PARTICLE_CHARGE = 1

#: Any other charge: a jet's is the sum of its constituents', and Delphes writes -999 for a
#: generator particle whose charge it does not know.
MAX_ABS_CHARGE = 999

#: Every other floating-point number: finite and at most this in magnitude. No Delphes
#: quantity comes near it in its units: the genuine files' largest are a track length of
#: 2.3e7 mm and a cross section of 2.3e7 pb (the whole pp cross section is ~1e11 pb).
MAX_MAGNITUDE = 1e15


@dataclass(frozen=True)
class Bound:
    """The closed interval ``[low, high]`` a value must lie in (NaN and +-inf never do), and
    what the value is, for messages."""

    low: float
    high: float
    what: str
    #: NaN (and +-inf) pass: a member a genuine writer leaves NaN in some objects.
    nonfinite_allowed: bool = False

    def describe(self) -> str:
        """``"a transverse momentum or energy in GeV, 0 to 1.4e+05"``."""
        return f"{self.what}, {self.low:.6g} to {self.high:.6g}"


ENERGY = Bound(0.0, MAX_ENERGY_GEV, "a transverse momentum or energy in GeV")
MOMENTUM = Bound(-MAX_ENERGY_GEV, MAX_ENERGY_GEV, "a momentum component or mass in GeV")
ETA = Bound(-MAX_ABS_ETA, MAX_ABS_ETA, "a pseudorapidity (+-999.9 along the beam)")
PHI = Bound(-MAX_ABS_PHI, MAX_ABS_PHI, "an azimuth in rad")
PARTICLE_CHARGE = Bound(-MAX_PARTICLE_CHARGE, MAX_PARTICLE_CHARGE, "the charge of one particle")
CHARGE = Bound(-MAX_ABS_CHARGE, MAX_ABS_CHARGE, "a charge")
FINITE = Bound(-MAX_MAGNITUDE, MAX_MAGNITUDE, "a finite number")
#: Delphes 3.5.1 writes a tower's ``HardEnergyFraction`` (its ``BetaStar``) as NaN now and
#: then: 6 of 37,779 ``EFlowPhoton`` objects of 500 W events through the CMS Phase-II card
#: (SimpleCalorimeter's energy-flow towers). Nothing here reads it; a NaN must not refuse the
#: file.
FRACTION_OR_NAN = Bound(
    -MAX_MAGNITUDE, MAX_MAGNITUDE, "a fraction (NaN allowed)", nonfinite_allowed=True
)

#: Delphes members (by name, in any collection) with a bound of their own. The components of
#: a TLorentzVector column (``px``, ``py``, ``pz``, ``E``) are [`MOMENTUM`][] whatever their
#: name: a default-constructed or difference vector may hold a negative ``E``.
_ENERGIES = ("PT", "ET", "E", "Eem", "Ehad", "Etrk", "P", "MET", "HT", "SumPt", "SumPtCharged",
             "SumPtNeutral", "SumPtChargedPU")  # fmt: skip
MEMBER_BOUNDS: Mapping[str, Bound] = {
    **dict.fromkeys(_ENERGIES, ENERGY),
    # A Delphes mass is TLorentzVector::M(), negative for a vector that rounding made spacelike.
    **dict.fromkeys(("Px", "Py", "Pz", "Mass"), MOMENTUM),
    **dict.fromkeys(("Eta", "Rapidity", "EtaOuter"), ETA),
    **dict.fromkeys(("Phi", "PhiOuter"), PHI),
    "HardEnergyFraction": FRACTION_OR_NAN,
}

#: Collections of single charged particles (tracks and leptons, whatever the card calls them:
#: ``Electron``, ``MuonTight``, ``EFlowTrack``...): their ``Charge`` is -1, 0 or 1.
_ONE_PARTICLE = re.compile(r"^(Electron|Muon).*|.*Track$")


def member_bound(
    collection: str, member: str, dtype: np.dtype, lorentz: bool = False
) -> Bound | None:
    """The bound of one member's values (``collection`` is ``""`` for a flat branch), or None
    for an integer member that has none (PID, Status, indices, flags)."""
    if lorentz:
        return MOMENTUM
    if member == "Charge":
        return PARTICLE_CHARGE if _ONE_PARTICLE.match(collection) else CHARGE
    if dtype.kind == "f":
        return MEMBER_BOUNDS.get(member, FINITE)
    return None


def first_outside(values: np.ndarray, bound: Bound, allow_nonfinite: bool = False) -> int | None:
    """Index of the first value outside ``bound`` (NaN and +-inf are, unless
    ``allow_nonfinite``), or None if there is none.

    Two reductions over the buffer in the common, clean case (NaN makes ``min`` NaN, which
    fails the comparison); the element-wise search runs only when something is wrong.
    """
    if values.size == 0:
        return None
    if values.min() >= bound.low and values.max() <= bound.high:
        return None
    outside = ~((values >= bound.low) & (values <= bound.high))
    if allow_nonfinite:
        outside &= np.isfinite(values)
    return int(np.argmax(outside)) if outside.any() else None


#: The largest |value| each feature ([`dltrigger.schema.HLF_NAMES`][],
#: [`PARTICLE_FEATURES`][]) can take; a feature not named here (counts,
#: isolation ratios, vertex positions in mm) has [`MAX_MAGNITUDE`][].
FEATURE_LIMITS: Mapping[str, float] = {
    **dict.fromkeys(("HT", "MET", "LepPt", "E", "Px", "Py", "Pz", "Pt"), MAX_ENERGY_GEV),
    # The reference's MT is MT squared (quirk 3, ``mt_squared``): GeV^2.
    "MT": MAX_ENERGY_GEV**2,
    **dict.fromkeys(("LepEta", "Eta"), MAX_ABS_ETA),
    **dict.fromkeys(("phiMET", "LepPhi", "Phi"), MAX_ABS_PHI),
    **dict.fromkeys(("LepCharge", "Charge"), float(MAX_PARTICLE_CHARGE)),
    **dict.fromkeys(("LepIsEle", "isChHad", "isNeuHad", "isGamma", "isEle", "isMu"), 1.0),
}


def feature_limit(name: str) -> float:
    """The largest |value| feature ``name`` can take (see [`FEATURE_LIMITS`][])."""
    return FEATURE_LIMITS.get(name, MAX_MAGNITUDE)


def statistics_problems(summary: Mapping[str, Sequence[Any]]) -> list[str]:
    """What is impossible in one block of scaling statistics (``names``, ``mean``, ``std``
    and, where present, ``count``, ``min``, ``max``, as ``_scaling.json`` holds them), one
    phrase per feature naming it: a NaN or infinite statistic, or one beyond
    [`feature_limit`][] (a standard deviation can be no larger than the largest |value|).
    ``min``/``max`` of a feature without values (count 0) are +-inf by construction: not
    checked."""
    means = list(summary["mean"])
    # A hand-made file may leave out the names: its features get the generic limit.
    names = [str(n) for n in summary.get("names") or [f"#{i}" for i in range(len(means))]]
    counts: Sequence[Any] = summary.get("count") or [None] * len(names)
    problems = []
    for i, name in enumerate(names):
        limit = feature_limit(name)
        checked = [("mean", means[i]), ("std", summary["std"][i])]
        if counts[i] is None or counts[i] > 0:
            checked += [(k, summary[k][i]) for k in ("min", "max") if k in summary]
        for key, value in checked:
            value = float(value)
            if not math.isfinite(value) or abs(value) > limit:
                problems.append(
                    f"feature {name!r}: {key} {value:.6g} (|{key}| at most {limit:.6g})"
                )
                break
    return problems
