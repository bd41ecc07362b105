"""Delphes modules of the CMS card as pure numpy/awkward functions, for the fast simulation.

Each function is one card module's computation on flat arrays (no random numbers, no files):
``ParticlePropagator``'s exit point of a helix, the ``Isolation`` modules' cone sums, and the
``UniqueObjectFinder``'s overlap test of jets by their constituents.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from ..physics.kinematics import delta_r
from .detector_card import DetectorCard


def exit_position(
    pt_gev: np.ndarray,
    pz_gev: np.ndarray,
    z0_mm: np.ndarray,
    charge: np.ndarray,
    phi0: np.ndarray,
    card: DetectorCard,
) -> tuple[np.ndarray, np.ndarray]:
    """Pseudorapidity and azimuth of the point where a charged particle from the beam line
    leaves the tracker volume (ParticlePropagator: a helix in the field ``Bz`` until radius
    ``Radius`` or ``|z| = HalfLength``): where efficiencies are evaluated and the calorimeters
    see it. A particle whose helix never reaches the radius (pT below about 0.3 B R / 2, 0.74
    GeV) leaves through an endcap, at large ``|eta|``. The helix turns
    by ``s / r`` over the transverse path ``s``; the chord to the exit point is half-way, so
    its azimuth is ``phi0 - q s / 2r`` (positive charges turn clockwise in a field along
    +z, ParticlePropagator's ``phi_t = phi_0 - omega t``)."""
    radius = pt_gev / (0.299792458 * card.field_tesla * np.maximum(np.abs(charge), 1e-9))
    z0 = z0_mm / 1000.0
    with np.errstate(divide="ignore", invalid="ignore"):
        # transverse path length to the cylinder (a chord of 2 r sin(s / 2r) = R)
        reach = np.where(
            2 * radius >= card.tracker_radius_m,
            2 * radius * np.arcsin(np.minimum(card.tracker_radius_m / (2 * radius), 1.0)),
            np.inf,
        )
        to_endcap = np.where(
            pz_gev != 0, (np.sign(pz_gev) * card.tracker_half_length_m - z0) * pt_gev / pz_gev,
            np.inf,
        )  # fmt: skip
        s = np.minimum(reach, to_endcap)
        r_exit = 2 * radius * np.abs(np.sin(s / (2 * radius)))
        z_exit = z0 + s * pz_gev / pt_gev
        turn = np.where(np.isfinite(s), np.sign(charge) * s / (2 * radius), 0.0)
        phi_exit = np.mod(phi0 - turn + np.pi, 2 * np.pi) - np.pi
        return np.arcsinh(z_exit / r_exit), phi_exit


def isolation_sums(
    n_events: int,
    event: np.ndarray,
    candidates: np.ndarray,
    isolating: np.ndarray,
    objects: dict[str, np.ndarray],
    dr_max: float,
) -> dict[str, np.ndarray]:
    """Delphes' Isolation module for the ``candidates`` (flags over all objects): the pT sums
    of the ``isolating`` objects of the same event within ``dr_max`` (the candidate itself
    excluded), charged and neutral, and their ratio to the candidate's pT (``IsolationVar``;
    no pile-up, so the rho and delta-beta corrections vanish)."""
    chosen = np.flatnonzero(candidates)
    others = np.flatnonzero(isolating)
    counts = np.bincount(event[others], minlength=n_events)
    starts = np.cumsum(counts) - counts
    own = event[chosen]
    per_candidate = counts[own]
    pair_candidate = np.repeat(np.arange(len(chosen)), per_candidate)
    pair_other = others[
        np.repeat(starts[own], per_candidate)
        + np.arange(per_candidate.sum()) - np.repeat(np.cumsum(per_candidate) - per_candidate,
                                                     per_candidate)
    ]  # fmt: skip
    inside = delta_r(objects["eta"][chosen[pair_candidate]], objects["phi"][chosen[pair_candidate]],
                     objects["eta"][pair_other], objects["phi"][pair_other]) <= dr_max  # fmt: skip
    inside &= pair_other != chosen[pair_candidate]
    pt_other = np.where(inside, objects["pt"][pair_other], 0.0)
    charged = objects["charged"][pair_other]
    sum_charged = np.bincount(pair_candidate, pt_other * charged, minlength=len(chosen))
    sum_neutral = np.bincount(pair_candidate, pt_other * ~charged, minlength=len(chosen))
    total = sum_charged + sum_neutral
    return {
        "IsolationVar": total / np.maximum(objects["pt"][chosen], 1e-12),
        "SumPtCharged": sum_charged,
        "SumPtNeutral": sum_neutral,
        "SumPt": total,
    }


def holds_written(constituents: ak.Array, per_event: np.ndarray, written: np.ndarray) -> ak.Array:
    """Per jet: does one of its constituents (indices within the event, as FastJet numbers
    them) belong to ``written`` (a flag per object of all events, end to end)?"""
    starts = np.cumsum(per_event) - per_event
    flat = constituents + starts  # the event's offset, broadcast over jets and constituents
    index = ak.to_numpy(ak.flatten(flat, axis=None)).astype(np.int64)
    inner = ak.to_numpy(ak.flatten(ak.num(flat, axis=2)))
    hits = ak.unflatten(ak.unflatten(written[index], inner), ak.to_numpy(ak.num(flat, axis=1)))
    return ak.any(hits, axis=-1)
