"""Kinematic formulas written once, for numpy or awkward arrays alike.

Angles in radians, momenta in GeV. Each function broadcasts like numpy ufuncs, so it works on
flat numpy arrays, on jagged awkward arrays, and on ``ak.cartesian`` pairs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias, overload

import numpy as np

if TYPE_CHECKING:
    import awkward as ak
    import numpy.typing as npt

    #: What the formulas take and give: numpy arrays or scalars, or awkward arrays (jagged
    #: ones included), which dispatch numpy's ufuncs to each value.
    Values: TypeAlias = npt.NDArray[np.floating[Any]] | ak.Array | float
    #: Numpy arrays in, numpy arrays out (the overloads): any numbers in (``np.bincount``
    #: with weights gives floats but is typed as giving integers), floats out.
    Numbers: TypeAlias = npt.NDArray[np.number[Any]]
    Array: TypeAlias = npt.NDArray[np.floating[Any]]

#: |eta| returned for a particle along the beam (pT = 0), instead of infinity.
ETA_AT_ZERO_PT = 1e4


@overload
def pt(px: Numbers, py: Numbers) -> Array: ...
@overload
def pt(px: Values, py: Values) -> Values: ...
def pt(px: Values, py: Values) -> Values:
    """Transverse momentum."""
    return np.hypot(px, py)


@overload
def phi(px: Numbers, py: Numbers) -> Array: ...
@overload
def phi(px: Values, py: Values) -> Values: ...
def phi(px: Values, py: Values) -> Values:
    """Azimuth in [-pi, pi]."""
    return np.arctan2(py, px)


@overload
def eta(px: Numbers, py: Numbers, pz: Numbers) -> Array: ...
@overload
def eta(px: Values, py: Values, pz: Values) -> Values: ...
def eta(px: Values, py: Values, pz: Values) -> Values:
    """Pseudorapidity, finite (+-ETA_AT_ZERO_PT) along the beam axis."""
    transverse = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.arcsinh(pz / transverse)
    return np.where(transverse > 0, value, np.copysign(ETA_AT_ZERO_PT, pz))


def delta_phi(phi1: Values, phi2: Values) -> Values:
    """phi1 - phi2 wrapped to [-pi, pi] (the reference wrapped at 2 pi by mistake,
    docs/reference.md §2 step 5)."""
    return (phi1 - phi2 + np.pi) % (2 * np.pi) - np.pi


def delta_phi_reference(phi1: Values, phi2: Values) -> Values:
    """phi1 - phi2 as the reference code wrapped it: at +-2 pi, i.e. practically never
    (docs/reference.md §2 step 5, quirk 2). Only for reproducing the reference."""
    d = phi1 - phi2
    return d - 2 * np.pi * (d > 2 * np.pi) + 2 * np.pi * (d < -2 * np.pi)


def delta_r(
    eta1: Values, phi1: Values, eta2: Values, phi2: Values, wrap_at_pi: bool = True
) -> Values:
    """Angular distance sqrt(d_eta^2 + d_phi^2); ``wrap_at_pi=False`` reproduces quirk 2."""
    dphi = delta_phi(phi1, phi2) if wrap_at_pi else delta_phi_reference(phi1, phi2)
    return np.hypot(eta1 - eta2, dphi)


def transverse_mass(pt1: Values, phi1: Values, pt2: Values, phi2: Values) -> Values:
    """Transverse mass of two massless objects, sqrt(2 pT1 pT2 (1 - cos d_phi)).

    The reference's MT omitted the square root (docs/reference.md §11).
    """
    return np.sqrt(np.maximum(2 * pt1 * pt2 * (1 - np.cos(phi1 - phi2)), 0.0))


@overload
def invariant_mass(e: Numbers, px: Numbers, py: Numbers, pz: Numbers) -> Array: ...
@overload
def invariant_mass(e: Values, px: Values, py: Values, pz: Values) -> Values: ...
def invariant_mass(e: Values, px: Values, py: Values, pz: Values) -> Values:
    """Invariant mass of a four-momentum, clipped at zero for rounding below the light cone."""
    return np.sqrt(np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0))


@overload
def massless_four_vector(
    pt_: Numbers, eta_: Numbers, phi_: Numbers
) -> tuple[Array, Array, Array, Array]: ...
@overload
def massless_four_vector(
    pt_: Values, eta_: Values, phi_: Values
) -> tuple[Values, Values, Values, Values]: ...
def massless_four_vector(
    pt_: Values, eta_: Values, phi_: Values
) -> tuple[Values, Values, Values, Values]:
    """(E, px, py, pz) of a massless object from (pT, eta, phi)."""
    return pt_ * np.cosh(eta_), pt_ * np.cos(phi_), pt_ * np.sin(phi_), pt_ * np.sinh(eta_)
