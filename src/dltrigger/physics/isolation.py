"""Cone sums (isolation) of objects against particle-flow candidates, per event."""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np
import numpy.typing as npt

from .kinematics import delta_phi_reference


def jagged_cone_sums(
    objects: ak.Array, candidates: ak.Array, radius: float, wrap_at_pi: bool = True
) -> ak.Array:
    """[`cone_sums_flat`][] for jagged (eta, phi) objects and (pt, eta, phi) candidates."""
    n = len(objects)
    obj_counts = ak.to_numpy(ak.num(objects.eta, axis=1))
    cand_counts = ak.to_numpy(ak.num(candidates.pt, axis=1))

    def flat(x: ak.Array) -> npt.NDArray[np.float64]:
        values: npt.NDArray[Any] = ak.to_numpy(ak.flatten(x, axis=1))
        return values.astype(np.float64)

    sums = cone_sums_flat(
        np.repeat(np.arange(n), obj_counts), flat(objects.eta), flat(objects.phi),
        np.repeat(np.arange(n), cand_counts), flat(candidates.eta), flat(candidates.phi),
        flat(candidates.pt), radius, wrap_at_pi,
    )  # fmt: skip
    return ak.unflatten(sums, obj_counts)


def cone_sums_flat(
    obj_event: npt.NDArray[np.integer[Any]],
    obj_eta: npt.NDArray[np.floating[Any]],
    obj_phi: npt.NDArray[np.floating[Any]],
    cand_event: npt.NDArray[np.integer[Any]],
    cand_eta: npt.NDArray[np.floating[Any]],
    cand_phi: npt.NDArray[np.floating[Any]],
    cand_pt: npt.NDArray[np.floating[Any]],
    radius: float,
    wrap_at_pi: bool = True,
) -> npt.NDArray[np.float64]:
    """Per object, the sum of ``cand_pt`` within ``delta_r < radius`` in the same event.

    Flat arrays with an event index each. Candidates are sorted by (event, eta) once and each
    object looks only at the eta window ``[eta - radius, eta + radius]`` of its own event, so
    the cost grows with the pairs that are close in eta, not with all pairs (hundreds of
    particles per event would make ~10^5 pairs per event otherwise).
    """
    n = len(obj_eta)
    if n == 0 or len(cand_eta) == 0:
        return np.zeros(n)
    # Pseudorapidities are finite but may be huge along the beam: clip into a band that keeps
    # events' key ranges apart.
    span = 100.0
    cand_key = cand_event * (4 * span) + np.clip(cand_eta, -span, span)
    order = np.argsort(cand_key, kind="stable")
    sorted_key = cand_key[order]
    obj_key = obj_event * (4 * span) + np.clip(obj_eta, -span, span)
    lo = np.searchsorted(sorted_key, obj_key - radius, side="left")
    hi = np.searchsorted(sorted_key, obj_key + radius, side="right")
    counts = hi - lo
    owner = np.repeat(np.arange(n), counts)
    starts = np.repeat(lo - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    cand = order[starts + np.arange(counts.sum())]
    deta = cand_eta[cand] - obj_eta[owner]
    dphi = cand_phi[cand] - obj_phi[owner]
    dphi = (dphi + np.pi) % (2 * np.pi) - np.pi if wrap_at_pi else delta_phi_reference(dphi, 0.0)
    inside = deta * deta + dphi * dphi < radius * radius
    # numpy's stub types bincount as intp whatever the weights; weighted counts are float64
    return np.bincount(  # type: ignore[return-value]
        owner[inside], weights=cand_pt[cand][inside], minlength=n
    )
