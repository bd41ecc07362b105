"""Relative isolation of objects (leptons) against particle-flow collections, with awkward."""

from __future__ import annotations

import awkward as ak
import numpy as np

from .kinematics import delta_r


def cone_sum(
    obj_eta, obj_phi, cand_pt, cand_eta, cand_phi, radius: float, wrap_at_pi: bool = True
) -> ak.Array:
    """Sum of ``cand_pt`` within ``delta_r < radius`` (strictly) of each object, per event.

    Object and candidate arrays are jagged per event; the result has the objects' shape.
    """
    objects = ak.zip({"eta": obj_eta, "phi": obj_phi})
    cands = ak.zip({"pt": cand_pt, "eta": cand_eta, "phi": cand_phi})
    pairs = ak.cartesian({"o": objects, "c": cands}, axis=1, nested=True)
    dr = delta_r(pairs.o.eta, pairs.o.phi, pairs.c.eta, pairs.c.phi, wrap_at_pi)
    return ak.sum(ak.where(dr < radius, pairs.c.pt, 0.0), axis=-1)


def relative_isolation(
    lep_pt,
    lep_eta,
    lep_phi,
    collections: list[tuple[ak.Array, ak.Array, ak.Array]],
    radius: float,
    subtract_self: ak.Array | float = 0.0,
) -> ak.Array:
    """(Sum over collections of cone pT sums - ``subtract_self``) / lepton pT.

    ``collections`` are (pt, eta, phi) triples already cut on their own thresholds;
    ``subtract_self`` removes the lepton's own track from the charged sum.
    """
    total = sum(cone_sum(lep_eta, lep_phi, *c, radius) for c in collections) - subtract_self
    return total / np.maximum(lep_pt, 1e-9)
