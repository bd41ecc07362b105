"""Jet flavour as Delphes' JetFlavorAssociation gives it (the largest |PID| of the partons in
a 0.5 cone above PartonPTMin, gluons below every quark, 21 when alone), on hand-made jets."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from dltrigger.generate.detector import _jet_flavour
from dltrigger.generate.detector_card import DETECTOR_PRESETS


def partons(*rows: tuple[int, float, float, float]) -> ak.Array:
    """One event's partons: (flavour, pt, eta, phi)."""
    fields = ("flavour", "pt", "eta", "phi")
    if not rows:  # an empty event of the same type
        return partons((1, 0.0, 0.0, 0.0))[:, :0]
    return ak.Array([[dict(zip(fields, row, strict=True)) for row in rows]])


def flavour_of(parton_rows, preset: str = "cms") -> int:
    jets = ak.Array([[{"eta": 0.0, "phi": 0.0}]])
    hadrons = ak.Array([[{"flavour": 0, "pt": 0.0, "eta": 0.0, "phi": 0.0}]])[:, :0]
    return int(_jet_flavour(jets, partons(*parton_rows), hadrons, DETECTOR_PRESETS[preset])[0])


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([(5, 2.0, 0.3, 0.35)], 5),  # dR 0.46 <= 0.5
        ([(5, 2.0, 0.4, 0.35)], 0),  # dR 0.53: outside
        ([(5, 0.9, 0.1, 0.0)], 0),  # below PartonPTMin 1.0
        ([(21, 30.0, 0.0, 0.1)], 21),  # gluons only
        ([(21, 30.0, 0.0, 0.1), (3, 5.0, 0.1, 0.0)], 3),  # a quark beats a gluon
        ([(4, 5.0, 0.1, 0.0), (5, 1.5, -0.2, 0.1), (2, 40.0, 0.0, 0.0)], 5),  # heaviest
        ([], 0),
    ],
)
def test_the_largest_parton_flavour_in_the_cone(rows, expected):
    assert flavour_of(rows) == expected


def test_each_card_has_its_own_parton_thresholds():
    """Phase-II: PartonPTMin 10 and PartonEtaMax 4.0 (the standard card: 1.0 and 2.5)."""
    soft_b = [(5, 5.0, 0.1, 0.0)]
    assert flavour_of(soft_b, "cms") == 5
    assert flavour_of(soft_b, "phase2") == 0
    forward = [(5, 20.0, 3.0, 0.0)]
    jets = ak.Array([[{"eta": 3.0, "phi": 0.0}]])
    empty = ak.Array([[{"flavour": 0, "pt": 0.0, "eta": 0.0, "phi": 0.0}]])[:, :0]
    phase2 = _jet_flavour(jets, partons(*forward), empty, DETECTOR_PRESETS["phase2"])
    standard = _jet_flavour(jets, partons(*forward), empty, DETECTOR_PRESETS["cms"])
    assert (int(phase2[0]), int(standard[0])) == (5, 0)


def test_without_partons_the_hadrons_decide():
    """Events made before partons were kept (or ``legacy``): the b/c hadron in the cone."""
    jets = ak.Array([[{"eta": 0.0, "phi": 0.0}]])
    hadrons = ak.Array([[{"flavour": 4, "pt": 8.0, "eta": 0.1, "phi": 0.0}]])
    assert int(_jet_flavour(jets, None, hadrons, DETECTOR_PRESETS["cms"])[0]) == 4
    legacy = DETECTOR_PRESETS["legacy"]
    assert int(_jet_flavour(jets, partons((5, 9.0, 0.0, 0.0)), hadrons, legacy)[0]) == 4
    assert np.dtype(_jet_flavour(jets, None, hadrons, legacy).dtype) == np.int32
