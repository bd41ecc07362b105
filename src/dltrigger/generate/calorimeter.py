"""Delphes' calorimeters and energy flow as pure, vectorised numpy functions.

Two Delphes 3.5.1 modules are reproduced, rule for rule (each rule below cites the C++):

- ``SimpleCalorimeter`` (``modules/SimpleCalorimeter.cc``): one calorimeter, one energy per
  tower. **Both** cards this package simulates use it: the standard CMS card
  (``cards/delphes_card_CMS.tcl``, modules ``ECal`` and ``HCal``; its ``Calorimeter`` module
  is only a ``Merger`` of their towers) and the Phase-II card (``CMS_PhaseII_0PU.tcl``, also
  ``ECal`` and ``HCal``). The two are chained as in those cards ([`ecal_hcal`][]): the HCal's
  ``TrackInputArray`` is ``ECal/eflowTracks``, the ECal's energy-flow tracks.
- ``Calorimeter`` (``modules/Calorimeter.cc``): ECAL and HCAL parts in one tower, used by
  older cards ([`calorimeter`][]).

What both do: each particle deposits the fraction ``EnergyFraction`` of its energy (a table
by ``|PID|``, [`EnergyFraction`][]) into the tower of the card's eta-phi grid
([`CaloGrid`][], built from the same Tcl rules as the card's ``EtaPhiBins``) that contains
its position on the calorimeter face; tracks are put in towers the same way. Each tower's
energy is smeared (log-normal, the card's ``ResolutionFormula`` at the tower centre's eta),
thresholds ``EnergyMin`` and ``EnergySignificanceMin`` are applied, the tower's direction is
drawn uniformly inside the tower (``SmearTowerCenter``). Energy flow: the tower energy minus
the energy of its tracks, if significant, becomes a neutral energy-flow tower (``EFlowPhoton``
from the ECAL, ``EFlowNeutralHadron`` from the HCAL) and the tracks stay as they are;
otherwise the tracks are rescaled to the weighted mean of the track and calorimeter
measurements.

Simplification: the position on the calorimeter face is the particle's (or track's)
*momentum* direction (eta, phi) passed in by the caller, not ParticlePropagator's helix exit
point; a caller that has the exit point may pass it instead.

Vectorised: towers are ``np.unique`` over ``(event, cell)`` keys and every per-tower sum is a
``np.bincount``; the only Python loops are over the few distinct phi granularities of a grid.
All events of a batch are processed in one call; inputs and outputs are flat arrays with an
event index.

Random numbers: drawn only from the ``np.random.Generator`` passed in, in this fixed order,
whatever the values (a tower with nothing to smear still consumes its draws, so the stream
depends only on the number of towers): per calorimeter call, with towers ordered by (event,
eta bin, phi bin) as Delphes sorts its hits,

1. one standard normal per tower ([`calorimeter`][]: all ECAL normals, then all HCAL ones),
2. if ``smear_tower_center``: one uniform per tower for eta, then one per tower for phi.

[`ecal_hcal`][] makes the ECAL's draws, then the HCAL's. (Delphes draws tower by tower from
ROOT's ``gRandom``; the values cannot be the same, the distributions are.)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: sigma(E) of a calorimeter, absolute, in GeV, as ``resolution(energy, eta)`` (the argument order
#: of [`detector_card.DetectorCard`][dltrigger.generate.detector_card.DetectorCard]'s
#: ``ecal_resolution``/``hcal_resolution``).
Resolution = Callable[[FloatArray, FloatArray], FloatArray]

#: Below this an energy fraction counts as zero (``1.0E-9`` throughout both C++ files).
FRACTION_EPSILON = 1.0e-9


# -- the grid ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CaloGrid:
    """A calorimeter's towers, exactly as ``Init()`` stores the card's ``EtaPhiBins``.

    ``eta_edges`` are the distinct eta values of the card (``fEtaBins``, sorted);
    ``phi_edges[k]`` the sorted distinct phi values attached to ``eta_edges[k]`` (``fPhiBins``:
    a map from eta value to a *set* of phi values, so an eta value listed twice gets the union
    of its phi lists). Tower ``(k, j)``, ``k >= 1``, ``j >= 1``, spans
    ``(eta_edges[k-1], eta_edges[k]]`` x ``(phi_edges[k][j-1], phi_edges[k][j]]``: its phi
    binning is that of its *upper* eta edge (``Process()``: ``phiBins = fPhiBins[etaBin]``).

    Cells are numbered ``0 .. n_cells - 1`` in (eta bin, phi bin) order, Delphes' hit order.
    """

    eta_edges: FloatArray
    phi_edges: tuple[FloatArray, ...]
    # derived in __post_init__ (per eta edge and per cell)
    _offset: IntArray = field(init=False, repr=False)
    _group: IntArray = field(init=False, repr=False)
    _group_edges: tuple[FloatArray, ...] = field(init=False, repr=False)
    _cell_edges: FloatArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        eta = np.asarray(self.eta_edges, dtype=np.float64)
        phis = tuple(np.asarray(p, dtype=np.float64) for p in self.phi_edges)
        if len(phis) != len(eta) or np.any(np.diff(eta) <= 0):
            raise ValueError("eta_edges must be strictly increasing, one phi list per edge")
        # Row k holds len(phi_edges[k]) - 1 towers; row 0 none (it is only a lower edge).
        n_row = np.array([0] + [max(len(p) - 1, 0) for p in phis[1:]], dtype=np.int64)
        offset = np.cumsum(n_row) - n_row
        # The distinct phi binnings (a handful), so that lookups loop over them, not rows.
        groups: dict[bytes, int] = {}
        group = np.empty(len(phis), dtype=np.int64)
        for k, p in enumerate(phis):
            group[k] = groups.setdefault(p.tobytes(), len(groups))
        group_edges = [np.empty(0)] * len(groups)
        for k, p in enumerate(phis):
            group_edges[group[k]] = p
        # Per cell: eta_lo, eta_hi, phi_lo, phi_hi (Delphes' Tower.Edges[4]).
        row = np.repeat(np.arange(len(eta)), n_row)
        phi_flat = np.concatenate([np.empty(0)] + [phis[k][1:] for k in range(1, len(eta))])
        phi_lo_flat = np.concatenate([np.empty(0)] + [phis[k][:-1] for k in range(1, len(eta))])
        # phi_flat lists, row by row, the upper edges of that row's towers: the cell order.
        cells = np.column_stack([eta[row - 1], eta[row], phi_lo_flat, phi_flat])
        object.__setattr__(self, "eta_edges", eta)
        object.__setattr__(self, "phi_edges", phis)
        object.__setattr__(self, "_offset", offset)
        object.__setattr__(self, "_group", group)
        object.__setattr__(self, "_group_edges", tuple(group_edges))
        object.__setattr__(self, "_cell_edges", cells)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[Iterable[float], Iterable[float]]]) -> CaloGrid:
        """The grid of a card's ``add EtaPhiBins $eta $PhiBins`` lines: ``rows`` are
        ``(eta values, phi values)`` pairs, each eta value getting those phi values
        (``Init()``: ``fBinMap[eta].insert(phi)``, a map of sets)."""
        bins: dict[float, set[float]] = {}
        for etas, phis in rows:
            phis = [float(p) for p in phis]
            for e in etas:
                bins.setdefault(float(e), set()).update(phis)
        keys = sorted(bins)
        return cls(np.array(keys), tuple(np.array(sorted(bins[k])) for k in keys))

    @property
    def n_cells(self) -> int:
        return len(self._cell_edges)

    @property
    def cell_edges(self) -> FloatArray:
        """``(n_cells, 4)``: eta_lo, eta_hi, phi_lo, phi_hi of each cell."""
        return self._cell_edges

    def locate(self, eta: npt.ArrayLike, phi: npt.ArrayLike) -> IntArray:
        """The cell of each (eta, phi), -1 outside the grid.

        ``Process()``: ``lower_bound`` (the first edge >= the value: ``searchsorted`` with
        ``side="left"``), and a value below the first or above the last edge is skipped
        (``itEtaBin == begin() || == end()``): bins are ``(lo, hi]``. NaN is outside.
        """
        eta = np.asarray(eta, dtype=np.float64)
        phi = np.asarray(phi, dtype=np.float64)
        cell = np.full(eta.shape, -1, dtype=np.int64)
        k = np.searchsorted(self.eta_edges, eta, side="left")
        inside = (k >= 1) & (k < len(self.eta_edges))
        kk = np.where(inside, k, 0)
        for g, edges in enumerate(self._group_edges):  # a few phi granularities, not rows
            sel = np.flatnonzero(inside & (self._group[kk] == g))
            if len(sel) == 0 or len(edges) < 2:
                continue
            j = np.searchsorted(edges, phi[sel], side="left")
            ok = (j >= 1) & (j < len(edges))
            cell[sel[ok]] = self._offset[kk[sel[ok]]] + j[ok] - 1
        return cell


def _tcl_pi() -> float:
    return math.acos(-1.0)  # the cards' ``set pi [expr {acos(-1)}]``


def _phi_edges(n: int) -> list[float]:
    """``for {set i -n} {$i <= n} {incr i} { add PhiBins [expr {$i * $pi/n.0}] }``: Tcl
    evaluates ``($i * $pi) / n.0`` in doubles, as Python does, so the values are identical."""
    pi = _tcl_pi()
    return [i * pi / float(n) for i in range(-n, n + 1)]


#: The HF rows shared by both cards' ECal and the Phase-II HCal (``foreach eta {...}``).
_HF_ETA = (-5, -4.7, -4.525, -4.35, -4.175, -4, -3.825, -3.65, -3.475, -3.3, -3.125, -2.958,
           3.125, 3.3, 3.475, 3.65, 3.825, 4, 4.175, 4.35, 4.525, 4.7, 5)  # fmt: skip


def _crystal_rows() -> list[tuple[list[float], list[float]]]:
    """The 0.0174 x 1 degree rows (barrel ``$i * 0.0174``, endcaps ``-2.958 + $i * 0.0174``
    and ``1.4964 + $i * 0.0174``), 1 degree in phi."""
    phi1 = _phi_edges(180)
    return [
        ([i * 0.0174 for i in range(-85, 87)], phi1),
        ([-2.958 + i * 0.0174 for i in range(1, 85)], phi1),
        ([1.4964 + i * 0.0174 for i in range(1, 85)], phi1),
    ]


@functools.cache
def cms_ecal_grid() -> CaloGrid:
    """``ECal`` EtaPhiBins of ``delphes_card_CMS.tcl`` (identical in ``CMS_PhaseII_0PU.tcl``):
    0.0174 x 1 degree to |eta| 2.958, HF 0.175 x 10 degrees to |eta| 5."""
    return CaloGrid.from_rows([*_crystal_rows(), (_HF_ETA, _phi_edges(18))])


@functools.cache
def cms_hcal_grid() -> CaloGrid:
    """``HCal`` EtaPhiBins of ``delphes_card_CMS.tcl``: 0.087 x 5 degrees to |eta| 1.653,
    then 10 degrees to |eta| 4.525, then 20 degrees to |eta| 5."""
    five = [-1.566, -1.479, -1.392, -1.305, -1.218, -1.131, -1.044, -0.957, -0.87, -0.783,
            -0.696, -0.609, -0.522, -0.435, -0.348, -0.261, -0.174, -0.087, 0, 0.087, 0.174,
            0.261, 0.348, 0.435, 0.522, 0.609, 0.696, 0.783, 0.87, 0.957, 1.044, 1.131,
            1.218, 1.305, 1.392, 1.479, 1.566, 1.653]  # fmt: skip
    ten = [-4.35, -4.175, -4, -3.825, -3.65, -3.475, -3.3, -3.125, -2.95, -2.868, -2.65, -2.5,
           -2.322, -2.172, -2.043, -1.93, -1.83, -1.74, -1.653, 1.74, 1.83, 1.93, 2.043,
           2.172, 2.322, 2.5, 2.65, 2.868, 2.95, 3.125, 3.3, 3.475, 3.65, 3.825, 4, 4.175,
           4.35, 4.525]  # fmt: skip
    twenty = [-5, -4.7, -4.525, 4.7, 5]
    return CaloGrid.from_rows(
        [(five, _phi_edges(36)), (ten, _phi_edges(18)), (twenty, _phi_edges(9))]
    )


@functools.cache
def phase2_hcal_grid() -> CaloGrid:
    """``HCal`` EtaPhiBins of ``CMS_PhaseII_0PU.tcl``: 0.087 x 5 degrees to |eta| 1.65, the
    0.0174 x 1 degree HGCAL rows to |eta| 2.958 (overlapping the 5 degree rows near 1.5: the
    map of sets merges them as Delphes does), HF as the ECal."""
    five = [-1.566, -1.479, -1.392, -1.305, -1.218, -1.131, -1.044, -0.957, -0.87, -0.783,
            -0.696, -0.609, -0.522, -0.435, -0.348, -0.261, -0.174, -0.087, 0, 0.087, 0.174,
            0.261, 0.348, 0.435, 0.522, 0.609, 0.696, 0.783, 0.87, 0.957, 1.044, 1.131,
            1.218, 1.305, 1.392, 1.479, 1.566, 1.65]  # fmt: skip
    crystal = _crystal_rows()[1:]  # the card repeats only the two endcap loops
    return CaloGrid.from_rows([(five, _phi_edges(36)), *crystal, (_HF_ETA, _phi_edges(18))])


# -- energy fractions ------------------------------------------------------------------------


@dataclass(frozen=True)
class EnergyFraction:
    """A card's ``add EnergyFraction {|PID|} {f}`` table (``Init()``: ``fFractionMap``); a
    code not listed takes the entry of code 0, and code 0 is ``default`` unless the card lists
    it (SimpleCalorimeter.cc: ``fFractionMap[0] = 1.0``; Calorimeter.cc: ``(0.0, 1.0)``, so
    give its ECAL table ``default=0.0``)."""

    table: Mapping[int, float]
    default: float = 1.0

    def __call__(self, pid: npt.ArrayLike) -> FloatArray:
        """The fraction for each PDG code (its absolute value is looked up)."""
        code = np.abs(np.asarray(pid, dtype=np.int64))
        table = {0: self.default, **{int(k): float(v) for k, v in self.table.items()}}
        keys = np.array(sorted(table), dtype=np.int64)
        values = np.array([table[k] for k in keys])
        i = np.clip(np.searchsorted(keys, code), 0, len(keys) - 1)
        return np.asarray(np.where(keys[i] == code, values[i], table[0]), dtype=np.float64)


_INVISIBLE = {12: 0.0, 13: 0.0, 14: 0.0, 16: 0.0, 1000022: 0.0, 1000023: 0.0, 1000025: 0.0,
              1000035: 0.0, 1000045: 0.0}  # fmt: skip
#: ``ECal`` of both cards: e, gamma, pi0 all, K0S and Lambda 0.3, muons, neutrinos and
#: neutralinos nothing, every other hadron nothing (code 0: 0.0).
ECAL_FRACTION = EnergyFraction(
    {0: 0.0, 11: 1.0, 22: 1.0, 111: 1.0, **_INVISIBLE, 310: 0.3, 3122: 0.3}
)
#: ``HCal`` of both cards: every hadron all (code 0: 1.0), K0S and Lambda 0.7, e/gamma/pi0,
#: muons, neutrinos and neutralinos nothing.
HCAL_FRACTION = EnergyFraction(
    {0: 1.0, 11: 0.0, 22: 0.0, 111: 0.0, **_INVISIBLE, 310: 0.7, 3122: 0.7}
)


# -- inputs and outputs ----------------------------------------------------------------------


def _arrays(obj: Any) -> dict[str, np.ndarray]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


@dataclass(frozen=True)
class Particles:
    """Stable particles reaching the calorimeters (``ParticlePropagator/stableParticles``):
    flat arrays, one entry per particle. ``eta``/``phi``: the position on the calorimeter face
    (here: the momentum direction); ``energy``: ``Momentum.E()``."""

    event: IntArray
    eta: FloatArray
    phi: FloatArray
    energy: FloatArray
    pid: IntArray


@dataclass(frozen=True)
class Tracks:
    """Tracks (``TrackMerger/tracks``), flat arrays. ``resolution`` is Delphes'
    ``TrackResolution``, the relative sigma(pT)/pT MomentumSmearing used; ``mass`` is kept
    when a track is rescaled (``SetPtEtaPhiM``); ``index`` is each track's row in the
    caller's original track arrays (carried through [`ecal_hcal`][])."""

    event: IntArray
    pt: FloatArray
    eta: FloatArray
    phi: FloatArray
    mass: FloatArray
    pid: IntArray
    resolution: FloatArray
    index: IntArray | None = None
    #: Where the track meets the calorimeter face (ParticlePropagator's ``Position``), which
    #: decides its tower; None: the momentum direction ``eta``, ``phi``.
    position_eta: FloatArray | None = None
    position_phi: FloatArray | None = None

    def __post_init__(self) -> None:
        if self.index is None:
            object.__setattr__(self, "index", np.arange(len(self.pt), dtype=np.int64))

    @property
    def at_calorimeter(self) -> tuple[FloatArray, FloatArray]:
        """(eta, phi) of the point that decides the track's tower."""
        eta = self.eta if self.position_eta is None else self.position_eta
        phi = self.phi if self.position_phi is None else self.position_phi
        return eta, phi

    @property
    def energy(self) -> FloatArray:
        """``Momentum.E()`` = sqrt(p^2 + m^2), p = pT cosh(eta)."""
        return np.hypot(self.pt * np.cosh(self.eta), self.mass)

    def take(self, rows: IntArray) -> Tracks:
        return Tracks(**{k: None if v is None else v[rows] for k, v in _arrays(self).items()})


@dataclass(frozen=True)
class Towers:
    """Towers, or energy-flow towers, flat and ordered by (event, eta bin, phi bin).
    ``eta``/``phi``: the (smeared) tower direction; ``et = energy / cosh(eta)``; ``eem``,
    ``ehad``: the ECAL and HCAL parts of ``energy``; ``edges``: ``(n, 4)`` eta_lo, eta_hi,
    phi_lo, phi_hi; ``cell``: the cell of the [`CaloGrid`][]."""

    event: IntArray
    eta: FloatArray
    phi: FloatArray
    energy: FloatArray
    et: FloatArray
    eem: FloatArray
    ehad: FloatArray
    edges: FloatArray
    cell: IntArray

    def take(self, rows: IntArray) -> Towers:
        return Towers(**{k: v[rows] for k, v in _arrays(self).items()})

    @staticmethod
    def concatenate(parts: Sequence[Towers]) -> Towers:
        return Towers(
            **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Towers)}
        )


@dataclass(frozen=True)
class SimpleCalorimeterParams:
    """One ``SimpleCalorimeter`` module's settings (names as the card's keys)."""

    energy_fraction: EnergyFraction  # EnergyFraction
    resolution: Resolution  # ResolutionFormula, sigma(energy, eta)
    energy_min: float  # EnergyMin
    significance_min: float  # EnergySignificanceMin
    is_ecal: bool  # IsEcal: towers fill Eem (and eflow towers get PID 22) or Ehad
    smear_tower_center: bool = True  # SmearTowerCenter


@dataclass(frozen=True)
class CalorimeterParams:
    """The ``Calorimeter`` module's settings: ``ECal*``/``HCal*`` keys of the card."""

    ecal_fraction: EnergyFraction  # first number of each EnergyFraction {code} {Fecal Fhcal}
    hcal_fraction: EnergyFraction  # the second
    ecal_resolution: Resolution
    hcal_resolution: Resolution
    ecal_energy_min: float = 0.0
    hcal_energy_min: float = 0.0
    ecal_significance_min: float = 0.0
    hcal_significance_min: float = 0.0
    smear_tower_center: bool = True


@dataclass(frozen=True)
class SimpleCalorimeterResult:
    """``towers``: TowerOutputArray (energy > 0); ``eflow_towers``: EFlowTowerOutputArray
    (the neutral excesses: ECal -> eflowPhotons, HCal -> eflowNeutralHadrons);
    ``eflow_tracks``: EFlowTrackOutputArray, in input order (Delphes writes them tower by
    tower; the set is the same)."""

    towers: Towers
    eflow_towers: Towers
    eflow_tracks: Tracks


@dataclass(frozen=True)
class CalorimeterResult:
    """``Calorimeter`` outputs: ``towers`` (TowerOutputArray), ``photons`` (PhotonOutputArray:
    towers with an e/gamma hit and no track hit), ``eflow_photons``,
    ``eflow_neutral_hadrons``, ``eflow_tracks``."""

    towers: Towers
    photons: Towers
    eflow_photons: Towers
    eflow_neutral_hadrons: Towers
    eflow_tracks: Tracks


@dataclass(frozen=True)
class EnergyFlow:
    """The energy flow of a card with ``ECal`` and ``HCal`` ([`ecal_hcal`][]): the branches
    ``EFlowTrack`` (``HCal/eflowTracks``), ``EFlowPhoton`` (``ECal/eflowPhotons``),
    ``EFlowNeutralHadron`` (``HCal/eflowNeutralHadrons``) and ``Tower`` (the ``Calorimeter``
    Merger: ECal towers, then HCal towers)."""

    tracks: Tracks
    photons: Towers
    neutral_hadrons: Towers
    towers: Towers


# -- shared steps ----------------------------------------------------------------------------


def _lognormal(mean: FloatArray, sigma: FloatArray, normal: FloatArray) -> FloatArray:
    """``LogNormal(mean, sigma)`` of both C++ files with the given standard normals: mean and
    standard deviation of the result are ``mean`` and ``sigma``; 0 when ``mean <= 0``."""
    positive = mean > 0.0
    m = np.where(positive, mean, 1.0)
    b = np.sqrt(np.log1p(np.square(sigma / m)))
    a = np.log(m) - 0.5 * b * b
    return np.where(positive, np.exp(a + b * normal), 0.0)


def _sum_by(index: IntArray, weights: FloatArray, n: int) -> FloatArray:
    """Per-tower sums: ``np.bincount`` with weights (always float64)."""
    return np.asarray(np.bincount(index, weights, minlength=n), dtype=np.float64)


def _finite_div(num: FloatArray | float, den: FloatArray) -> FloatArray:
    """C double division (x/0 = inf, 0/0 = NaN; NaN compares false, as in the C++)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return num / den


@dataclass(frozen=True)
class _Hits:
    """The towers hit in a call: unique (event, cell) keys and each hit's tower."""

    event: IntArray
    cell: IntArray
    particle_tower: IntArray  # per particle hit
    track_tower: IntArray  # per track hit

    @property
    def n(self) -> int:
        return len(self.cell)


def _hits(
    grid: CaloGrid, p_event: IntArray, p_cell: IntArray, t_event: IntArray, t_cell: IntArray
) -> _Hits:
    """Process(): every particle and track hit is keyed by (eta bin, phi bin) and sorted; a
    tower exists for every cell with at least one hit, tracks included (a track-only tower
    is still finalized). Here the key also holds the event, so a batch is one sort."""
    n = np.int64(grid.n_cells)
    keys = np.concatenate(
        [p_event.astype(np.int64) * n + p_cell, t_event.astype(np.int64) * n + t_cell]
    )
    unique, inverse = np.unique(keys, return_inverse=True)
    inverse = inverse.reshape(-1)
    return _Hits(unique // n, unique % n, inverse[: len(p_cell)], inverse[len(p_cell) :])


def _tower_direction(
    grid: CaloGrid, hits: _Hits, smear: bool, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """FinalizeTower(): ``gRandom->Uniform`` inside the tower's edges if SmearTowerCenter,
    else the centre; draws all eta uniforms, then all phi uniforms."""
    edges = grid.cell_edges[hits.cell]
    if smear:
        u_eta = rng.random(hits.n)
        u_phi = rng.random(hits.n)
        eta = edges[:, 0] + (edges[:, 1] - edges[:, 0]) * u_eta
        phi = edges[:, 2] + (edges[:, 3] - edges[:, 2]) * u_phi
    else:
        eta = 0.5 * (edges[:, 0] + edges[:, 1])
        phi = 0.5 * (edges[:, 2] + edges[:, 3])
    return eta, phi, edges


def _track_sums(
    hits: _Hits,
    t_rows: IntArray,
    energy: FloatArray,
    fraction: FloatArray,
    resolution: FloatArray,
    calo_resolution: Resolution,
    tower_centre_eta: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Process(), track hits: the track energy of a tower, sum of ``E * fraction``, and its
    sigma, sqrt of the sum of ``(TrackResolution * energyGuess)^2``, where ``energyGuess`` is
    ``E * fraction`` if the calorimeter's relative resolution at the track energy (and the
    tower centre's eta) is better than the track's, else ``E``."""
    tower = hits.track_tower[t_rows]
    e = energy[t_rows]
    deposit = e * fraction[t_rows]
    calo_relative = _finite_div(calo_resolution(e, tower_centre_eta[tower]), e)
    guess = np.where(calo_relative < resolution[t_rows], deposit, e)
    track_energy = _sum_by(tower, deposit, hits.n)
    sigma2 = _sum_by(tower, np.square(resolution[t_rows] * guess), hits.n)
    return track_energy, np.sqrt(sigma2)  # FinalizeTower: fTrackSigma = sqrt(fTrackSigma)


@dataclass(frozen=True)
class _Part:
    energy: FloatArray  # smeared, thresholded
    sigma: FloatArray  # sigma at the smeared energy, before the thresholds
    neutral: FloatArray  # neutral excess
    eflow: BoolArray  # excess significant: a neutral eflow tower, tracks unchanged
    rescale: FloatArray  # else, with tracks: the tracks' rescale factor (NaN: not written)


def _part(
    true_energy: FloatArray,
    centre_eta: FloatArray,
    normal: FloatArray,
    resolution: Resolution,
    energy_min: float,
    significance_min: float,
    track_energy: FloatArray,
    track_sigma: FloatArray,
) -> _Part:
    """FinalizeTower() of one calorimeter (or one part of Calorimeter's tower)."""
    # Smearing at the tower centre's eta; the thresholds use sigma at the *smeared* energy.
    sigma = resolution(true_energy, centre_eta)
    energy = _lognormal(true_energy, sigma, normal)
    sigma = resolution(energy, centre_eta)
    energy = np.where((energy < energy_min) | (energy < significance_min * sigma), 0.0, energy)
    # Neutral excess and its significance against track and calorimeter sigmas (C doubles:
    # 0/0 is NaN and fails the test).
    neutral = np.maximum(energy - track_energy, 0.0)
    significance = _finite_div(neutral, np.sqrt(track_sigma**2 + sigma**2))
    eflow = (neutral > energy_min) & (significance > significance_min)
    # Not significant: the tracks get the weighted mean of track and calorimeter energies,
    # weights 1/sigma^2 (0 where sigma is 0; both 0 gives NaN, as in the C++).
    w_track = np.where(track_sigma > 0, _finite_div(1.0, track_sigma**2), 0.0)
    w_calo = np.where(sigma > 0, _finite_div(1.0, sigma**2), 0.0)
    best = _finite_div(w_track * track_energy + w_calo * energy, w_track + w_calo)
    rescale = np.where(~eflow & (track_energy > 0), _finite_div(best, track_energy), np.nan)
    return _Part(energy, sigma, neutral, eflow, rescale)


def _write_towers(
    hits: _Hits,
    rows: IntArray,
    eta: FloatArray,
    phi: FloatArray,
    edges: FloatArray,
    eem: FloatArray,
    ehad: FloatArray,
) -> Towers:
    energy = eem[rows] + ehad[rows]
    return Towers(
        event=hits.event[rows],
        eta=eta[rows],
        phi=phi[rows],
        energy=energy,
        et=energy / np.cosh(eta[rows]),
        eem=eem[rows],
        ehad=ehad[rows],
        edges=edges[rows],
        cell=hits.cell[rows],
    )


# -- SimpleCalorimeter -----------------------------------------------------------------------


def simple_calorimeter(
    particles: Particles,
    tracks: Tracks,
    grid: CaloGrid,
    params: SimpleCalorimeterParams,
    rng: np.random.Generator,
) -> SimpleCalorimeterResult:
    """Delphes' ``SimpleCalorimeter`` (``modules/SimpleCalorimeter.cc``) on a batch of events.

    Draws one normal per tower, then (``smear_tower_center``) one uniform per tower for eta
    and one for phi. Rules, by the C++ function:

    - Process(): a particle with fraction < 1e-9 deposits nothing; the others put
      ``E * fraction`` in their cell (none outside the grid). A track outside the grid is
      dropped (never written); a track whose fraction is < 1e-9 is written unchanged; the
      others count in their tower's track energy and sigma ([`_track_sums`][]).
    - FinalizeTower(): tower energy smeared log-normally with sigma(E, centre eta); zeroed
      below ``EnergyMin`` or ``EnergySignificanceMin * sigma(smeared E)``; written if > 0.
      Neutral excess ``max(E - track energy, 0)``: if ``> EnergyMin`` and its significance
      ``excess / sqrt(trackSigma^2 + sigma^2) > EnergySignificanceMin`` it is written as an
      eflow tower (E = excess, ET = excess / cosh(eta), same direction as the tower) and the
      tower's tracks are written unchanged; else, if the track energy is > 0, each track's pT
      is multiplied by ``bestEnergyEstimate / trackEnergy`` at fixed eta, phi and mass
      (``SetPtEtaPhiM``); else (tracks of zero energy) they are not written.
    - Not reproduced: the timing, pile-up (``IsPU``, ``BetaStar``) and ``Position`` of
      towers; ``InsensitiveEtaPhiBins`` (neither card sets it).
    """
    p_frac = params.energy_fraction(particles.pid)
    p_cell = np.where(p_frac >= FRACTION_EPSILON, grid.locate(particles.eta, particles.phi), -1)
    p_rows = np.flatnonzero(p_cell >= 0)
    t_frac = params.energy_fraction(tracks.pid)
    t_cell = grid.locate(*tracks.at_calorimeter)
    t_in = np.flatnonzero(t_cell >= 0)
    hits = _hits(grid, particles.event[p_rows], p_cell[p_rows], tracks.event[t_in], t_cell[t_in])

    edges = grid.cell_edges[hits.cell]
    centre_eta = 0.5 * (edges[:, 0] + edges[:, 1])  # fTowerEta
    tower_energy = _sum_by(hits.particle_tower, particles.energy[p_rows] * p_frac[p_rows], hits.n)
    # Track rows (within t_in) that count in their tower, and those that pass straight on.
    t_hit_tower = np.full(len(tracks.pt), -1, dtype=np.int64)
    t_hit_tower[t_in] = hits.track_tower
    calo_track = t_in[t_frac[t_in] >= FRACTION_EPSILON]
    straight = t_in[t_frac[t_in] < FRACTION_EPSILON]
    local = _Hits(hits.event, hits.cell, hits.particle_tower, t_hit_tower)
    track_energy, track_sigma = _track_sums(
        local, calo_track, tracks.energy, t_frac, tracks.resolution, params.resolution, centre_eta
    )

    normal = rng.standard_normal(hits.n)
    eta, phi, edges = _tower_direction(grid, hits, params.smear_tower_center, rng)
    part = _part(
        tower_energy,
        centre_eta,
        normal,
        params.resolution,
        params.energy_min,
        params.significance_min,
        track_energy,
        track_sigma,
    )

    zero = np.zeros(hits.n)
    eem, ehad = (part.energy, zero) if params.is_ecal else (zero, part.energy)
    towers = _write_towers(hits, np.flatnonzero(part.energy > 0), eta, phi, edges, eem, ehad)
    n_eem, n_ehad = (part.neutral, zero) if params.is_ecal else (zero, part.neutral)
    eflow_towers = _write_towers(hits, np.flatnonzero(part.eflow), eta, phi, edges, n_eem, n_ehad)

    # Energy-flow tracks: unchanged (straight on, or in a tower with an eflow tower),
    # rescaled, or dropped (no eflow tower and zero track energy).
    tower = t_hit_tower[calo_track]
    factor = np.where(part.eflow[tower], 1.0, part.rescale[tower])
    kept = ~np.isnan(factor) | part.eflow[tower]
    rows = np.concatenate([straight, calo_track[kept]])
    scale = np.concatenate([np.ones(len(straight)), factor[kept]])
    order = np.argsort(rows, kind="stable")
    out = tracks.take(rows[order])
    out = replace(out, pt=out.pt * scale[order])  # SetPtEtaPhiM(pt * f, eta, phi, M)
    return SimpleCalorimeterResult(towers, eflow_towers, out)


# -- ECal + HCal, as both CMS cards ----------------------------------------------------------


def simple_calorimeter_params(card: Any, ecal: bool) -> SimpleCalorimeterParams:
    """The ``ECal`` (``ecal=True``) or ``HCal`` module's settings from a
    [`detector_card.DetectorCard`][dltrigger.generate.detector_card.DetectorCard] (its
    ``ecal_/hcal_energy_min``, ``..._significance_min`` and ``ecal_/hcal_resolution``); the fraction
    tables are the cards' (the same in the CMS and Phase-II cards), SmearTowerCenter is on in
    both."""
    if ecal:
        return SimpleCalorimeterParams(
            ECAL_FRACTION,
            card.ecal_resolution,
            card.ecal_energy_min,
            card.ecal_significance_min,
            is_ecal=True,
        )
    return SimpleCalorimeterParams(
        HCAL_FRACTION,
        card.hcal_resolution,
        card.hcal_energy_min,
        card.hcal_significance_min,
        is_ecal=False,
    )


def ecal_hcal(
    particles: Particles,
    tracks: Tracks,
    ecal: SimpleCalorimeterParams,
    hcal: SimpleCalorimeterParams,
    rng: np.random.Generator,
    ecal_grid: CaloGrid | None = None,
    hcal_grid: CaloGrid | None = None,
) -> EnergyFlow:
    """The cards' ``ECal`` then ``HCal`` (SimpleCalorimeter each): the HCal reads the ECal's
    energy-flow tracks (``TrackInputArray ECal/eflowTracks``), so electron tracks rescaled
    by the ECal reach the HCal rescaled, and its ``eflowTracks`` are the event's
    ``EFlowTrack``. Grids default to the standard CMS card's ([`cms_ecal_grid`][],
    [`cms_hcal_grid`][]; Phase-II: ``hcal_grid=phase2_hcal_grid()``)."""
    ecal_out = simple_calorimeter(particles, tracks, ecal_grid or cms_ecal_grid(), ecal, rng)
    hcal_out = simple_calorimeter(
        particles, ecal_out.eflow_tracks, hcal_grid or cms_hcal_grid(), hcal, rng
    )
    return EnergyFlow(
        tracks=hcal_out.eflow_tracks,
        photons=ecal_out.eflow_towers,
        neutral_hadrons=hcal_out.eflow_towers,
        towers=Towers.concatenate([ecal_out.towers, hcal_out.towers]),
    )


def missing_et(n_events: int, flow: EnergyFlow) -> tuple[FloatArray, FloatArray]:
    """``MissingET`` (the card's Merger of ``EFlowMerger/eflow``): minus the vector sum of
    the transverse momenta of EFlowTrack, EFlowPhoton and EFlowNeutralHadron, per event."""
    mex = np.zeros(n_events)
    mey = np.zeros(n_events)
    for event, pt, phi in (
        (flow.tracks.event, flow.tracks.pt, flow.tracks.phi),
        (flow.photons.event, flow.photons.et, flow.photons.phi),
        (flow.neutral_hadrons.event, flow.neutral_hadrons.et, flow.neutral_hadrons.phi),
    ):
        mex -= np.bincount(event, pt * np.cos(phi), minlength=n_events)
        mey -= np.bincount(event, pt * np.sin(phi), minlength=n_events)
    return mex, mey


# -- Calorimeter (ECAL and HCAL in one tower) ------------------------------------------------


def calorimeter(
    particles: Particles,
    tracks: Tracks,
    grid: CaloGrid,
    params: CalorimeterParams,
    rng: np.random.Generator,
) -> CalorimeterResult:
    """Delphes' ``Calorimeter`` (``modules/Calorimeter.cc``): one grid, each tower with an
    ECAL and an HCAL energy, each part smeared, thresholded and energy-flowed separately.

    Draws one normal per tower for the ECAL, then one per tower for the HCAL, then the
    tower-centre uniforms. Differences from [`simple_calorimeter`][], by the C++:

    - Process(): a particle deposits nothing if both fractions are < 1e-9. A track goes to
      the ECAL track sums if only its ECAL fraction is non-zero, to the HCAL ones if only its
      HCAL fraction is, straight to the output if both are zero, and *nowhere* (lost) if both
      are non-zero.
    - FinalizeTower(): the tower (energy = ECAL + HCAL after thresholds) is written if its
      energy is > 0, and also as a photon if it holds an electron or photon hit and no track
      hit; ECAL excess -> EFlowPhoton, HCAL excess -> EFlowNeutralHadron (same direction as
      the tower). Rescaled ECAL tracks: ``Momentum *= f`` (pT and mass times f); rescaled
      HCAL tracks: ``Momentum *= f`` *then* ``SetPtEtaPhiM(Pt() * f, ...)``, so pT times f^2
      and mass times f, as the C++ does.
    """
    p_ecal = params.ecal_fraction(particles.pid)
    p_hcal = params.hcal_fraction(particles.pid)
    deposits = (p_ecal >= FRACTION_EPSILON) | (p_hcal >= FRACTION_EPSILON)
    p_cell = np.where(deposits, grid.locate(particles.eta, particles.phi), -1)
    p_rows = np.flatnonzero(p_cell >= 0)
    t_ecal = params.ecal_fraction(tracks.pid)
    t_hcal = params.hcal_fraction(tracks.pid)
    t_cell = grid.locate(*tracks.at_calorimeter)
    t_in = np.flatnonzero(t_cell >= 0)
    hits = _hits(grid, particles.event[p_rows], p_cell[p_rows], tracks.event[t_in], t_cell[t_in])

    edges = grid.cell_edges[hits.cell]
    centre_eta = 0.5 * (edges[:, 0] + edges[:, 1])
    e_p = particles.energy[p_rows]
    ecal_true = _sum_by(hits.particle_tower, e_p * p_ecal[p_rows], hits.n)
    hcal_true = _sum_by(hits.particle_tower, e_p * p_hcal[p_rows], hits.n)
    abs_pid = np.abs(particles.pid[p_rows])
    photon_hits = np.bincount(
        hits.particle_tower, (abs_pid == 11) | (abs_pid == 22), minlength=hits.n
    )
    track_hits = np.bincount(hits.track_tower, minlength=hits.n)

    t_tower = np.full(len(tracks.pt), -1, dtype=np.int64)
    t_tower[t_in] = hits.track_tower
    e_on = t_ecal[t_in] >= FRACTION_EPSILON
    h_on = t_hcal[t_in] >= FRACTION_EPSILON
    ecal_tracks, hcal_tracks = t_in[e_on & ~h_on], t_in[~e_on & h_on]
    straight = t_in[~e_on & ~h_on]
    local = _Hits(hits.event, hits.cell, hits.particle_tower, t_tower)
    energy = tracks.energy
    e_track, e_sigma = _track_sums(
        local, ecal_tracks, energy, t_ecal, tracks.resolution, params.ecal_resolution, centre_eta
    )
    h_track, h_sigma = _track_sums(
        local, hcal_tracks, energy, t_hcal, tracks.resolution, params.hcal_resolution, centre_eta
    )

    normal_ecal = rng.standard_normal(hits.n)
    normal_hcal = rng.standard_normal(hits.n)
    eta, phi, edges = _tower_direction(grid, hits, params.smear_tower_center, rng)
    ecal = _part(
        ecal_true,
        centre_eta,
        normal_ecal,
        params.ecal_resolution,
        params.ecal_energy_min,
        params.ecal_significance_min,
        e_track,
        e_sigma,
    )
    hcal = _part(
        hcal_true,
        centre_eta,
        normal_hcal,
        params.hcal_resolution,
        params.hcal_energy_min,
        params.hcal_significance_min,
        h_track,
        h_sigma,
    )

    zero = np.zeros(hits.n)
    written = ecal.energy + hcal.energy > 0
    towers = _write_towers(hits, np.flatnonzero(written), eta, phi, edges, ecal.energy, hcal.energy)
    photons = _write_towers(
        hits,
        np.flatnonzero(written & (photon_hits > 0) & (track_hits == 0)),
        eta,
        phi,
        edges,
        ecal.energy,
        hcal.energy,
    )
    eflow_photons = _write_towers(
        hits, np.flatnonzero(ecal.eflow), eta, phi, edges, ecal.neutral, zero
    )
    eflow_neutral = _write_towers(
        hits, np.flatnonzero(hcal.eflow), eta, phi, edges, zero, hcal.neutral
    )

    def scaled(rows: IntArray, part: _Part) -> tuple[IntArray, FloatArray]:
        tower = t_tower[rows]
        factor = np.where(part.eflow[tower], 1.0, part.rescale[tower])
        kept = ~np.isnan(factor) | part.eflow[tower]
        return rows[kept], factor[kept]

    e_rows, e_f = scaled(ecal_tracks, ecal)
    h_rows, h_f = scaled(hcal_tracks, hcal)
    rows = np.concatenate([straight, e_rows, h_rows])
    pt_factor = np.concatenate([np.ones(len(straight)), e_f, h_f * h_f])
    mass_factor = np.concatenate([np.ones(len(straight)), e_f, h_f])
    order = np.argsort(rows, kind="stable")
    out = tracks.take(rows[order])
    out = replace(out, pt=out.pt * pt_factor[order], mass=out.mass * mass_factor[order])
    return CalorimeterResult(towers, photons, eflow_photons, eflow_neutral, out)
