"""The vectorised Delphes calorimeters (:mod:`dltrigger.generate.calorimeter`) against the
cards' own text and the C++ rules (SimpleCalorimeter.cc, Calorimeter.cc of Delphes 3.5.1)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from dltrigger.generate import calorimeter as calo
from dltrigger.generate.card_formula import PHASE2_CARD, read_card

CMS_CARD = Path(__file__).parent / "data" / "delphes" / "delphes_card_CMS.tcl"


# -- reading the cards' text (independently of the module) ----------------------------------


def _module_text(card: Path, name: str) -> str:
    """The body of ``module SimpleCalorimeter <name> { ... }`` (brace matched)."""
    text = card.read_text()
    start = re.search(rf"^module\s+SimpleCalorimeter\s+{name}\s*\{{", text, re.M)
    assert start, f"no module {name} in {card}"
    depth, i = 1, start.end()
    while depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[start.end() : i - 1]


def _tcl_expr(expression: str, i: int) -> float:
    """The cards' loop expressions (``$i * $pi/180.0``, ``-2.958 + $i * 0.0174``): numbers,
    ``$i``, ``$pi``, ``+ - * /``, evaluated left to right in doubles as Tcl's expr does."""
    python = expression.replace("$i", f"({i})").replace("$pi", f"({math.acos(-1.0)!r})")
    assert re.fullmatch(r"[\d\s.+\-*/()e]+", python), expression
    return float(eval(python, {"__builtins__": {}}))  # checked characters only


_STATEMENT = re.compile(
    r"set\s+PhiBins\s+\{\}"
    r"|for\s+\{set\s+i\s+(?P<a>-?\d+)\}\s+\{\$i\s*<=\s*(?P<b>-?\d+)\}\s+\{incr\s+i\}\s+\{"
    r"\s*(?:add\s+PhiBins\s+\[expr\s+\{(?P<phi>[^}]*)\}\]"
    r"|set\s+eta\s+\[expr\s+\{(?P<eta>[^}]*)\}\]\s+add\s+EtaPhiBins\s+\$eta\s+\$PhiBins)\s*\}"
    r"|foreach\s+eta\s+\{(?P<list>[^}]*)\}\s+\{\s*add\s+EtaPhiBins\s+\$eta\s+\$PhiBins\s*\}"
)


def _card_bins(card: Path, module: str) -> dict[float, set[float]]:
    """Run the module's PhiBins / EtaPhiBins statements: fBinMap, eta -> set of phi."""
    body = "\n".join(line.split("#")[0] for line in _module_text(card, module).splitlines())
    bins: dict[float, set[float]] = {}
    phi_bins: list[float] = []
    n_statements = 0
    for m in _STATEMENT.finditer(body):
        n_statements += 1
        if m.group(0).startswith("set"):
            phi_bins = []
        elif m.group("phi") is not None:
            a, b = int(m.group("a")), int(m.group("b"))
            phi_bins += [_tcl_expr(m.group("phi"), i) for i in range(a, b + 1)]
        else:
            if m.group("eta") is not None:
                a, b = int(m.group("a")), int(m.group("b"))
                etas = [_tcl_expr(m.group("eta"), i) for i in range(a, b + 1)]
            else:
                etas = [float(word) for word in m.group("list").split()]
            for eta in etas:
                bins.setdefault(eta, set()).update(phi_bins)
    # every EtaPhiBins line of the module was understood
    assert n_statements >= body.count("EtaPhiBins") + body.count("set PhiBins")
    return bins


def _card_fractions(card: Path, module: str) -> dict[int, float]:
    body = _module_text(card, module)
    pairs = re.findall(r"^\s*add\s+EnergyFraction\s+\{(\d+)\}\s+\{([\d.]+)\}", body, re.M)
    assert pairs
    return {int(code): float(value) for code, value in pairs}


@pytest.mark.parametrize(
    ("card", "module", "grid"),
    [
        (CMS_CARD, "ECal", calo.cms_ecal_grid),
        (CMS_CARD, "HCal", calo.cms_hcal_grid),
        (PHASE2_CARD, "ECal", calo.cms_ecal_grid),
        (PHASE2_CARD, "HCal", calo.phase2_hcal_grid),
    ],
)
def test_grid_edges_equal_the_cards_etaphibins(card, module, grid):
    bins = _card_bins(card, module)
    built = grid()
    assert list(built.eta_edges) == sorted(bins)
    for eta, phis in zip(built.eta_edges, built.phi_edges, strict=True):
        assert list(phis) == sorted(bins[eta]), eta
    # the towers the brief names: 0.087 x 5 degrees in the CMS HCal barrel, 1 degree ECAL
    cell = calo.cms_hcal_grid().cell_edges[calo.cms_hcal_grid().locate([0.5], [0.1])[0]]
    assert cell[1] - cell[0] == pytest.approx(0.087)
    assert cell[3] - cell[2] == pytest.approx(math.pi / 36)


def test_grid_bins_are_lower_bound_intervals():
    grid = calo.cms_hcal_grid()
    # (lo, hi]: a value on an edge belongs to the tower below it (lower_bound)
    on_edge, above = grid.locate([0.087, 0.0871], [0.05, 0.05])
    assert grid.cell_edges[on_edge][:2].tolist() == [0.0, 0.087]
    assert grid.cell_edges[above][:2].tolist() == [0.087, 0.174]
    # outside the outermost edges, and the lowest edge itself, there is no tower
    cells = grid.locate([-5.0, 5.0, 5.01, np.nan, 0.5], [0.1, 0.1, 0.1, 0.1, -math.pi])
    assert cells[0] == -1 and cells[1] >= 0 and cells[2:].tolist() == [-1, -1, -1]
    # the tower (1.653, 1.74] takes the phi binning of its upper edge, 1.74: 10 degrees
    cell = grid.cell_edges[grid.locate([1.7], [0.05])[0]]
    assert cell[3] - cell[2] == pytest.approx(math.pi / 18)


@pytest.mark.parametrize("card", [CMS_CARD, PHASE2_CARD])
def test_energy_fractions_equal_the_cards(card):
    for module, table in (("ECal", calo.ECAL_FRACTION), ("HCal", calo.HCAL_FRACTION)):
        fractions = _card_fractions(card, module)
        codes = np.array(sorted(fractions))
        np.testing.assert_array_equal(table(codes), [fractions[c] for c in codes])
        np.testing.assert_array_equal(table(-codes), [fractions[c] for c in codes])
        # a code the card does not list takes the entry of code 0
        for unlisted in (211, 321, 2112, 130, 2212):
            assert table(np.array([unlisted]))[0] == fractions[0]
    ecal, hcal = calo.ECAL_FRACTION, calo.HCAL_FRACTION
    assert ecal(np.array([310, 3122])).tolist() == [0.3, 0.3]
    assert hcal(np.array([310, 3122])).tolist() == [0.7, 0.7]
    assert ecal(np.array([11, 22, 111])).tolist() == [1.0, 1.0, 1.0]
    for nothing in (12, 13, 14, 16):
        assert ecal(np.array([nothing]))[0] == hcal(np.array([nothing]))[0] == 0.0


# -- the simulation --------------------------------------------------------------------------


class _Fixed:
    """A stand-in generator: every normal is ``z``, every uniform ``u`` (deterministic
    checks of the decisions; the smearing itself is checked with a real generator)."""

    def __init__(self, z: float = 0.0, u: float = 0.5):
        self.z, self.u = z, u

    def standard_normal(self, n: int) -> np.ndarray:
        return np.full(n, self.z)

    def random(self, n: int) -> np.ndarray:
        return np.full(n, self.u)


def _particles(event, eta, phi, energy, pid) -> calo.Particles:
    return calo.Particles(
        np.asarray(event, dtype=np.int64),
        np.asarray(eta, dtype=float),
        np.asarray(phi, dtype=float),
        np.asarray(energy, dtype=float),
        np.asarray(pid, dtype=np.int64),
    )


def _tracks(event=(), pt=(), eta=(), phi=(), pid=(), resolution=(), mass=None) -> calo.Tracks:
    pt = np.asarray(pt, dtype=float)
    return calo.Tracks(
        np.asarray(event, dtype=np.int64),
        pt,
        np.asarray(eta, dtype=float),
        np.asarray(phi, dtype=float),
        np.zeros_like(pt) if mass is None else np.asarray(mass, dtype=float),
        np.asarray(pid, dtype=np.int64),
        np.asarray(resolution, dtype=float),
    )


def _card_params(card: Path, module: str, **overrides) -> calo.SimpleCalorimeterParams:
    """The module's settings read from the card's text (formula compiled from it)."""
    m = read_card(card).module(module)
    formula = m.formula("ResolutionFormula")
    table = _card_fractions(card, module)
    values = dict(
        energy_fraction=calo.EnergyFraction(table),
        resolution=lambda energy, eta: formula(eta=eta, energy=energy),
        energy_min=m.number("EnergyMin"),
        significance_min=m.number("EnergySignificanceMin"),
        is_ecal=m.get("IsEcal") == "true",
        smear_tower_center=m.get("SmearTowerCenter") == "true",
    )
    values.update(overrides)
    return calo.SimpleCalorimeterParams(**values)


EXACT_HCAL = calo.SimpleCalorimeterParams(
    calo.HCAL_FRACTION,
    lambda e, eta: np.zeros_like(e),
    0.0,
    0.0,
    is_ecal=False,
    smear_tower_center=False,
)


def test_two_particles_in_one_tower_merge_neighbours_do_not():
    # neutrons: (0.10, 0.01) and (0.15, 0.05) share the tower (0.087, 0.174] x (0, 5 deg];
    # (0.20, 0.01) is in the next eta tower; a second event's particle in the same cell is
    # its own tower
    p = _particles(
        [0, 0, 0, 1],
        [0.10, 0.15, 0.20, 0.12],
        [0.01, 0.05, 0.01, 0.02],
        [10.0, 20.0, 40.0, 5.0],
        [2112, 130, 2112, 2112],
    )
    out = calo.simple_calorimeter(p, _tracks(), calo.cms_hcal_grid(), EXACT_HCAL, _Fixed())
    towers = out.towers
    assert towers.event.tolist() == [0, 0, 1]
    np.testing.assert_allclose(towers.energy, [30.0, 40.0, 5.0])
    np.testing.assert_allclose(towers.ehad, towers.energy)
    np.testing.assert_allclose(towers.eem, 0.0)
    assert towers.cell[0] == towers.cell[2] != towers.cell[1]
    # no smearing of the centre: the direction is the tower's centre; ET = E / cosh(eta)
    np.testing.assert_allclose(towers.eta[0], 0.1305)
    np.testing.assert_allclose(towers.et, towers.energy / np.cosh(towers.eta))
    # no tracks: every tower is a neutral eflow tower of the whole energy
    np.testing.assert_allclose(out.eflow_towers.energy, [30.0, 40.0, 5.0])
    # with SmearTowerCenter the direction is uniform inside the tower's edges
    smeared = calo.simple_calorimeter(
        p,
        _tracks(),
        calo.cms_hcal_grid(),
        calo.SimpleCalorimeterParams(**{**EXACT_HCAL.__dict__, "smear_tower_center": True}),
        np.random.default_rng(1),
    ).towers
    assert np.all((smeared.eta > smeared.edges[:, 0]) & (smeared.eta < smeared.edges[:, 1]))
    assert np.all((smeared.phi > smeared.edges[:, 2]) & (smeared.phi < smeared.edges[:, 3]))


def test_energy_goes_to_the_calorimeters_by_fraction():
    # K0S 0.3 ECAL / 0.7 HCAL, photon all ECAL, muon and neutrino nothing
    p = _particles([0, 1, 2, 3], [0.5] * 4, [0.5] * 4, [100.0] * 4, [310, 22, 13, 12])
    tracks = _tracks()
    ecal = calo.simple_calorimeter(
        p,
        tracks,
        calo.cms_ecal_grid(),
        calo.SimpleCalorimeterParams(
            **{**EXACT_HCAL.__dict__, "energy_fraction": calo.ECAL_FRACTION, "is_ecal": True}
        ),
        _Fixed(),
    )
    hcal = calo.simple_calorimeter(p, tracks, calo.cms_hcal_grid(), EXACT_HCAL, _Fixed())
    assert ecal.towers.event.tolist() == [0, 1]
    np.testing.assert_allclose(ecal.towers.eem, [30.0, 100.0])
    assert hcal.towers.event.tolist() == [0]
    np.testing.assert_allclose(hcal.towers.ehad, [70.0])
    # the combined Calorimeter module: one tower with both parts
    params = calo.CalorimeterParams(
        calo.ECAL_FRACTION,
        calo.HCAL_FRACTION,
        lambda e, eta: np.zeros_like(e),
        lambda e, eta: np.zeros_like(e),
        smear_tower_center=False,
    )
    both = calo.calorimeter(p, tracks, calo.cms_hcal_grid(), params, _Fixed())
    assert both.towers.event.tolist() == [0, 1]
    np.testing.assert_allclose(both.towers.eem, [30.0, 100.0])
    np.testing.assert_allclose(both.towers.ehad, [70.0, 0.0])
    assert both.photons.event.tolist() == [1]  # e/gamma hit, no track
    np.testing.assert_allclose(both.eflow_photons.energy, [30.0, 100.0])
    np.testing.assert_allclose(both.eflow_neutral_hadrons.energy, [70.0])


def _pion_event(with_neutral: bool):
    """A 50 GeV charged pion with its track (and a 30 GeV K_L in the same HCAL tower)."""
    eta, phi, pt = 0.3, 1.0, 50.0 / np.cosh(0.3)
    p = _particles([0, 0], [eta, eta + 0.01], [phi, phi + 0.01], [50.0, 30.0], [211, 130])
    if not with_neutral:
        p = _particles([0], [eta], [phi], [50.0], [211])
    t = _tracks([0], [pt], [eta], [phi], [211], [0.06])
    return p, t


def test_lone_charged_pion_leaves_no_neutral():
    hcal = _card_params(CMS_CARD, "HCal")
    p, t = _pion_event(with_neutral=False)
    # the tower measures the track's energy within resolution (log-normal at its median)
    out = calo.simple_calorimeter(p, t, calo.cms_hcal_grid(), hcal, _Fixed(z=0.0))
    assert len(out.towers.energy) == 1 and len(out.eflow_towers.energy) == 0
    assert out.eflow_tracks.index.tolist() == [0]
    # not significant: the track takes the weighted mean of track and calorimeter energies
    e_calo = out.towers.energy[0]
    sigma_calo = hcal.resolution(np.array([e_calo]), np.array([0.3045]))[0]
    sigma_track = 0.06 * 50.0  # TrackResolution * E (calorimeter relatively worse)
    w_t, w_c = sigma_track**-2, sigma_calo**-2
    best = (w_t * 50.0 + w_c * e_calo) / (w_t + w_c)
    np.testing.assert_allclose(out.eflow_tracks.pt, t.pt * best / 50.0, rtol=1e-12)
    # an upward fluctuation of half a sigma is still no neutral
    assert (
        len(
            calo.simple_calorimeter(
                p, t, calo.cms_hcal_grid(), hcal, _Fixed(z=0.5)
            ).eflow_towers.energy
        )
        == 0
    )
    # over many draws: a neutral appears only as often as a > 1 sigma excess (and > 1 GeV)
    n = 4000
    many_p = _particles(
        np.arange(n), np.full(n, 0.3), np.full(n, 1.0), np.full(n, 50.0), np.full(n, 211)
    )
    many_t = _tracks(
        np.arange(n),
        np.full(n, t.pt[0]),
        np.full(n, 0.3),
        np.full(n, 1.0),
        np.full(n, 211),
        np.full(n, 0.06),
    )
    many = calo.simple_calorimeter(
        many_p, many_t, calo.cms_hcal_grid(), hcal, np.random.default_rng(7)
    )
    assert len(many.eflow_tracks.pt) == n
    assert 0.05 * n < len(many.eflow_towers.energy) < 0.2 * n  # ~ P(z > 1), skewed


def test_neutral_hadron_in_a_charged_pions_tower_is_its_excess():
    hcal = _card_params(CMS_CARD, "HCal")
    p, t = _pion_event(with_neutral=True)
    out = calo.simple_calorimeter(p, t, calo.cms_hcal_grid(), hcal, _Fixed(z=0.0))
    assert len(out.towers.energy) == 1
    tower_energy = out.towers.energy[0]
    assert tower_energy == pytest.approx(80.0, rel=0.05)
    np.testing.assert_allclose(out.eflow_towers.energy, [tower_energy - 50.0])
    np.testing.assert_allclose(out.eflow_towers.ehad, out.eflow_towers.energy)
    np.testing.assert_allclose(
        out.eflow_towers.et, out.eflow_towers.energy / np.cosh(out.eflow_towers.eta)
    )
    # the track is written unchanged
    np.testing.assert_array_equal(out.eflow_tracks.pt, t.pt)

    # the whole CMS chain: ECal (nothing of pions) then HCal; MET balances the event
    ecal = _card_params(CMS_CARD, "ECal")
    flow = calo.ecal_hcal(p, t, ecal, hcal, _Fixed(z=0.0))
    assert len(flow.photons.energy) == 0
    np.testing.assert_allclose(flow.neutral_hadrons.energy, [tower_energy - 50.0])
    np.testing.assert_array_equal(flow.tracks.pt, t.pt)
    mex, mey = calo.missing_et(1, flow)
    neutral = flow.neutral_hadrons
    px = t.pt[0] * np.cos(t.phi[0]) + neutral.et[0] * np.cos(neutral.phi[0])
    py = t.pt[0] * np.sin(t.phi[0]) + neutral.et[0] * np.sin(neutral.phi[0])
    np.testing.assert_allclose([mex[0], mey[0]], [-px, -py])


def test_track_routing():
    """A muon track passes both calorimeters unchanged; an electron track is ECAL's (and
    rescaled there when its tower has no significant excess); a track outside the grid is
    dropped (Process(): ``continue`` before any output)."""
    ecal = _card_params(CMS_CARD, "ECal")
    hcal = _card_params(CMS_CARD, "HCal")
    p = _particles([0, 1], [0.2, -0.4], [0.3, 2.0], [40.0, 20.0], [11, 13])
    t = _tracks(
        [0, 1, 1],
        [40.0 / np.cosh(0.2), 20.0 / np.cosh(0.4), 3.0],
        [0.2, -0.4, 5.5],
        [0.3, 2.0, 0.0],
        [-11, 13, 211],
        [0.03, 0.01, 0.1],
        mass=[0.000511, 0.1057, 0.1396],
    )
    flow = calo.ecal_hcal(p, t, ecal, hcal, _Fixed(z=0.0))
    assert flow.tracks.index.tolist() == [0, 1]
    assert flow.tracks.pt[1] == t.pt[1]
    assert flow.tracks.mass.tolist() == [0.000511, 0.1057]
    assert flow.tracks.pt[0] != t.pt[0]  # rescaled to the ECAL-track weighted mean
    assert len(flow.photons.energy) == 0 and len(flow.neutral_hadrons.energy) == 0


@pytest.mark.parametrize(
    ("card", "module", "grid", "pid", "eta", "energy"),
    [
        (CMS_CARD, "ECal", calo.cms_ecal_grid, 22, 0.3, 50.0),
        (CMS_CARD, "ECal", calo.cms_ecal_grid, 22, 2.2, 20.0),
        (CMS_CARD, "HCal", calo.cms_hcal_grid, 2112, 0.8, 60.0),
        (CMS_CARD, "HCal", calo.cms_hcal_grid, 2112, 3.6, 200.0),
        (PHASE2_CARD, "HCal", calo.phase2_hcal_grid, 130, 2.0, 40.0),
        (CMS_CARD, "HCal", calo.cms_hcal_grid, 2112, 0.5, 4.0),  # sigma / E = 0.75
    ],
)
def test_tower_energy_spread_is_the_cards_resolution(card, module, grid, pid, eta, energy):
    n = 20000
    params = _card_params(card, module, energy_min=0.0, significance_min=0.0)
    p = _particles(
        np.arange(n), np.full(n, eta), np.full(n, 0.4), np.full(n, energy), np.full(n, pid)
    )
    out = calo.simple_calorimeter(p, _tracks(), grid(), params, np.random.default_rng(11))
    e = out.towers.energy
    assert len(e) == n
    centre = 0.5 * (out.towers.edges[0, 0] + out.towers.edges[0, 1])  # formula at the centre
    sigma = params.resolution(np.array([energy]), np.array([centre]))[0]
    # standard errors: sigma / sqrt(n) for the mean, sigma / 2 sqrt((kurtosis + 2) / n) for
    # the spread, with the excess kurtosis of a log-normal of this relative width
    w = math.exp(math.log1p((sigma / energy) ** 2))  # exp(b^2)
    kurtosis = w**4 + 2 * w**3 + 3 * w**2 - 6
    assert abs(e.mean() - energy) < 4.5 * sigma / math.sqrt(n)
    assert abs(e.std() - sigma) < 4.5 * sigma / 2 * math.sqrt((kurtosis + 2) / n)


def test_thresholds_apply_per_tower():
    # a 0.8 GeV photon (median 0.71): above ECal EnergyMin 0.5, below 2 sigma (0.41): dropped
    ecal = _card_params(CMS_CARD, "ECal")
    p = _particles([0], [0.1], [0.1], [0.8], [22])
    out = calo.simple_calorimeter(p, _tracks(), calo.cms_ecal_grid(), ecal, _Fixed(z=0.0))
    assert len(out.towers.energy) == 0 and len(out.eflow_towers.energy) == 0
    loose = _card_params(CMS_CARD, "ECal", significance_min=0.0)
    out = calo.simple_calorimeter(p, _tracks(), calo.cms_ecal_grid(), loose, _Fixed(z=0.0))
    assert len(out.towers.energy) == 1


def test_random_stream_is_reproducible_from_a_seed():
    rng = np.random.default_rng(3)
    n = 300
    event = np.sort(rng.integers(0, 20, n))
    pid = rng.choice([22, 211, 2112, 130, 11, 310, 13, 12], n)
    p = _particles(
        event, rng.uniform(-3, 3, n), rng.uniform(-3.1, 3.1, n), rng.exponential(10.0, n) + 0.5, pid
    )
    charged = np.flatnonzero(np.isin(pid, [211, 11, 13]))
    t = _tracks(
        event[charged],
        p.energy[charged] / np.cosh(p.eta[charged]),
        p.eta[charged],
        p.phi[charged],
        pid[charged],
        np.full(len(charged), 0.05),
    )
    ecal, hcal = _card_params(CMS_CARD, "ECal"), _card_params(CMS_CARD, "HCal")

    def run(seed):
        flow = calo.ecal_hcal(p, t, ecal, hcal, np.random.default_rng(seed))
        return np.concatenate(
            [
                flow.tracks.pt,
                flow.photons.energy,
                flow.photons.eta,
                flow.neutral_hadrons.energy,
                flow.neutral_hadrons.phi,
                flow.towers.energy,
            ]
        )

    a, b, c = run(5), run(5), run(6)
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)
    # the draws: per module, one normal per tower, then one uniform per tower for eta and
    # one for phi; nothing else
    rng = np.random.default_rng(5)
    out = calo.simple_calorimeter(p, t, calo.cms_ecal_grid(), ecal, rng)
    n_towers = len(np.unique(out.towers.cell + 10**6 * out.towers.event))
    assert n_towers <= len(p.energy)
    replay = np.random.default_rng(5)
    normals = replay.standard_normal(_n_towers(p, t, calo.cms_ecal_grid(), ecal))
    assert normals.size > 0
    u_eta = replay.random(normals.size)
    towers = out.towers
    # the written towers' eta is edges_lo + width * the uniform of their tower
    u = (towers.eta - towers.edges[:, 0]) / (towers.edges[:, 1] - towers.edges[:, 0])
    assert np.all(np.isclose(u[:, None], u_eta[None, :]).any(axis=1))


def _n_towers(p, t, grid, params) -> int:
    """Cells hit per event by depositing particles and by tracks (C++: one tower each)."""
    frac = params.energy_fraction(p.pid)
    pc = np.where(frac >= 1e-9, grid.locate(p.eta, p.phi), -1)
    tc = grid.locate(t.eta, t.phi)
    keys = np.concatenate(
        [
            p.event[pc >= 0] * grid.n_cells + pc[pc >= 0],
            t.event[tc >= 0] * grid.n_cells + tc[tc >= 0],
        ]
    )
    return len(np.unique(keys))


def test_calorimeter_module_rescales_hcal_tracks_as_the_cpp():
    """Calorimeter.cc rescales an HCAL track twice (``Momentum *= f`` then
    ``SetPtEtaPhiM(Pt() * f, ...)``): pT times f^2, mass times f."""
    fractions = (calo.ECAL_FRACTION, calo.HCAL_FRACTION)
    hcal_formula = read_card(CMS_CARD).module("HCal").formula("ResolutionFormula")
    ecal_formula = read_card(CMS_CARD).module("ECal").formula("ResolutionFormula")
    params = calo.CalorimeterParams(*fractions,
                                    lambda e, eta: ecal_formula(eta=eta, energy=e),
                                    lambda e, eta: hcal_formula(eta=eta, energy=e),
                                    0.5, 1.0, 2.0, 1.0)  # fmt: skip
    p, t = _pion_event(with_neutral=False)
    t = calo.Tracks(t.event, t.pt, t.eta, t.phi, np.array([0.1396]), t.pid, t.resolution)
    out = calo.calorimeter(p, t, calo.cms_hcal_grid(), params, _Fixed(z=0.0))
    assert len(out.eflow_neutral_hadrons.energy) == 0 and len(out.eflow_photons.energy) == 0
    e_calo = out.towers.ehad[0]
    sigma_calo = params.hcal_resolution(np.array([e_calo]), np.array([0.3045]))[0]
    e_track = t.energy[0]
    w_t, w_c = (0.06 * e_track) ** -2, sigma_calo**-2
    f = (w_t * e_track + w_c * e_calo) / (w_t + w_c) / e_track
    np.testing.assert_allclose(out.eflow_tracks.pt, t.pt * f * f, rtol=1e-12)
    np.testing.assert_allclose(out.eflow_tracks.mass, 0.1396 * f, rtol=1e-12)


@pytest.mark.parametrize("track_resolution", [0.05, 0.2])
def test_track_sigma_uses_the_cpps_energy_guess(track_resolution):
    """Process(): a track's sigma is ``TrackResolution * energyGuess``, with energyGuess the
    track's deposit (E * fraction) when the calorimeter is relatively better than the track
    at the track's energy, else the whole E. Seen through the rescale factor."""
    fraction = calo.EnergyFraction({0: 1.0, 211: 0.5})
    params = calo.SimpleCalorimeterParams(
        fraction, lambda e, eta: 0.1 * e, 0.0, 1.0, is_ecal=False, smear_tower_center=False
    )
    p, t = _pion_event(with_neutral=False)
    t = calo.Tracks(t.event, t.pt, t.eta, t.phi, t.mass, t.pid, np.array([track_resolution]))
    out = calo.simple_calorimeter(p, t, calo.cms_hcal_grid(), params, _Fixed(z=0.0))
    assert len(out.eflow_towers.energy) == 0
    e_track = t.energy[0]
    deposit = 0.5 * e_track
    guess = deposit if track_resolution > 0.1 else e_track
    e_calo = out.towers.energy[0]
    w_t, w_c = (track_resolution * guess) ** -2, (0.1 * e_calo) ** -2
    f = (w_t * deposit + w_c * e_calo) / (w_t + w_c) / deposit
    np.testing.assert_allclose(out.eflow_tracks.pt, t.pt * f, rtol=1e-12)
