"""Vectorised selection and HLF against a deliberately simple per-event Python reference.

The reference below loops over particles with plain ``math``, as the reference pipeline's
code did (docs/reference.md §2, §3.2), with the physics fixed the same way (highest-pT
isolated lepton, Δφ wrapped at π, MT with its square root). On generated events the two must
agree to 1e-6 relative, event by event.
"""

import math

import awkward as ak
import numpy as np
import pytest

from dltrigger.io.root_reader import infer_layout, open_tree, read_record_batch
from dltrigger.physics.events import events_from_arrow
from dltrigger.physics.hlf import HLF_NAMES, high_level_features
from dltrigger.physics.selection import SelectionOptions, select_lepton

pytestmark = pytest.mark.slow


def load_events(path) -> ak.Array:
    """Events as ``dltrigger ingest`` stores them (same reader, no Spark)."""
    file, tree = open_tree(str(path), "Delphes")
    with file:
        return events_from_arrow(read_record_batch(tree, infer_layout(tree), 0, tree.num_entries))


def pf_iso(pt, eta, phi, pf_map, cone=0.3, subtract=False, wrap_at_pi=True):
    if pt <= 0:
        return 0.0
    total = 0.0
    for p_pt, p_eta, p_phi in pf_map:
        deta, dphi = p_eta - eta, p_phi - phi
        if wrap_at_pi:
            dphi = (dphi + math.pi) % (2 * math.pi) - math.pi
        elif dphi > 2 * math.pi:
            dphi -= 2 * math.pi
        elif dphi < -2 * math.pi:
            dphi += 2 * math.pi
        if deta * deta + dphi * dphi < cone * cone:
            total += p_pt
    return total / pt - (1.0 if subtract else 0.0)


def reference_event(event, lepton_choice="highest_pt", wrap_at_pi=True):
    """None if the event is rejected, else its 14 HLF (plain loops)."""
    tracks = [(t["PT"], t["Eta"], t["Phi"]) for t in event["EFlowTrack"] if t["PT"] > 0.5]
    photons = [(p["ET"], p["Eta"], p["Phi"]) for p in event["EFlowPhoton"] if p["ET"] > 1.0]
    neutrals = [(n["ET"], n["Eta"], n["Phi"]) for n in event["EFlowNeutralHadron"] if n["ET"] > 1.0]
    isolated = []
    for collection, is_ele in (("Electron", 1.0), ("MuonTight", 0.0)):
        for lep in event[collection]:
            if not lep["PT"] > 23.0:
                continue
            args = (lep["PT"], lep["Eta"], lep["Phi"])
            ch = pf_iso(*args, tracks, subtract=True, wrap_at_pi=wrap_at_pi)
            gamma = pf_iso(*args, photons, wrap_at_pi=wrap_at_pi)
            neu = pf_iso(*args, neutrals, wrap_at_pi=wrap_at_pi)
            if ch + gamma + neu < 0.45:
                isolated.append(
                    (lep["PT"], lep["Eta"], lep["Phi"], ch, gamma, neu, lep["Charge"], is_ele)
                )
    if not isolated:
        return None
    if lepton_choice == "highest_pt":
        lepton = isolated[0]
        for candidate in isolated[1:]:
            if candidate[0] > lepton[0]:
                lepton = candidate
    else:  # the reference: first electron, first muon, larger Eta wins
        electrons = [c for c in isolated if c[7] == 1.0]
        muons = [c for c in isolated if c[7] == 0.0]
        if electrons and muons:
            lepton = electrons[0] if electrons[0][1] > muons[0][1] else muons[0]
        else:
            lepton = (electrons or muons)[0]
    jets = [j for j in event["Jet"] if j["PT"] > 30.0 and abs(j["Eta"]) < 2.6]
    met, met_phi = event["MissingET"][0]["MET"], event["MissingET"][0]["Phi"]
    mt = math.sqrt(max(2 * lepton[0] * met * (1 - math.cos(lepton[2] - met_phi)), 0.0))
    return [
        sum(j["PT"] for j in jets), met, met_phi, mt, len(jets),
        sum(1 for j in jets if j["BTag"] > 0), *lepton[:3], *lepton[3:6], lepton[6], lepton[7],
    ]  # fmt: skip


@pytest.mark.parametrize("process", ["wjets", "ttbar", "qcd"])
def test_vectorised_selection_and_hlf_match_the_loop_reference(generated, process):
    events = load_events(generated.files(process)[0])
    mask, lepton = select_lepton(events)
    hlf = high_level_features(events[mask], lepton)
    assert hlf.shape == (int(mask.sum()), len(HLF_NAMES))
    expected = [reference_event(e) for e in events.to_list()]
    assert mask.tolist() == [e is not None for e in expected]
    reference = np.array([e for e in expected if e is not None], dtype=np.float64)
    np.testing.assert_allclose(hlf, reference, rtol=1e-6, atol=1e-9)
    assert mask.sum() > 0


def test_reference_quirks_can_be_reproduced(generated):
    events = load_events(generated.files("ttbar")[0])
    options = SelectionOptions(lepton_choice="reference", wrap_at_pi=False)
    mask, lepton = select_lepton(events, options)
    expected = [reference_event(e, "reference", wrap_at_pi=False) for e in events.to_list()]
    assert mask.tolist() == [e is not None for e in expected]
    reference = np.array([e for e in expected if e is not None])
    np.testing.assert_allclose(high_level_features(events[mask], lepton), reference, rtol=1e-6)
    # MT squared as the reference computed it.
    squared = high_level_features(events[mask], lepton, mt_squared=True)
    np.testing.assert_allclose(squared[:, 3], reference[:, 3] ** 2, rtol=1e-6)


def test_empty_map_rejection_is_a_switch(generated):
    events = load_events(generated.files("wjets")[0])
    no_photons = ak.with_field(events, events.EFlowPhoton[:, :0], "EFlowPhoton")
    kept, _ = select_lepton(no_photons)
    rejected, _ = select_lepton(no_photons, SelectionOptions(reject_empty_maps=True))
    assert kept.sum() > 0 and rejected.sum() == 0


def test_missing_values_are_named_not_dropped():
    from dltrigger.physics.events import without_options

    table = ak.Array([{"Jet": [{"PT": 31.0}]}, {"Jet": [{"PT": None}]}])
    with pytest.raises(ValueError, match=r"missing values in Jet\.PT"):
        without_options(table)
    clean = without_options(ak.Array([{"Jet": [{"PT": 31.0}]}, {"Jet": []}]))
    assert "?" not in str(clean.type)


def reference_particles(event, lepton_row, quirks=False):
    """The particle rows of one event with plain loops (order: descending ΔR to the lepton).

    ``quirks``: as the reference's code, Δφ wrapped at 2π in the cones, ChPFIso minus 1 for
    every particle (quirk 15), track charge sign(PID) (§3.1)."""
    l_eta, l_phi = lepton_row[5], lepton_row[6]
    tracks = [t for t in event["EFlowTrack"] if t["PT"] > 0.5]
    photons = [p for p in event["EFlowPhoton"] if p["ET"] > 1.0][:150]
    neutrals = [n for n in event["EFlowNeutralHadron"] if n["ET"] > 1.0][:200]
    maps = [
        [(t["PT"], t["Eta"], t["Phi"]) for t in tracks],
        [(p["ET"], p["Eta"], p["Phi"]) for p in photons_all(event)],
        [(n["ET"], n["Eta"], n["Phi"]) for n in neutrals_all(event)],
    ]

    def dr(eta, phi):
        dphi = (phi - l_phi + math.pi) % (2 * math.pi) - math.pi
        return math.hypot(eta - l_eta, dphi)

    def four(pt, eta, phi):
        return [
            pt * math.cosh(eta),
            pt * math.cos(phi),
            pt * math.sin(phi),
            pt * math.sinh(eta),
            pt,
            eta,
            phi,
        ]

    rows = [lepton_row]
    kept = [t for t in tracks if dr(t["Eta"], t["Phi"]) > 1e-4][:450]
    wrap = not quirks
    for t in kept:
        isos = [pf_iso(t["PT"], t["Eta"], t["Phi"], m, wrap_at_pi=wrap) for m in maps]
        isos[0] -= 1.0
        rows.append(
            [
                *four(t["PT"], t["Eta"], t["Phi"]),
                t["X"],
                t["Y"],
                t["Z"],
                *isos,
                1,
                0,
                0,
                0,
                0,
                math.copysign(1.0, t["PID"]) if quirks else t["Charge"],
            ]
        )
    for kind, items in ((2, photons), (1, neutrals)):
        for p in items:
            isos = [pf_iso(p["ET"], p["Eta"], p["Phi"], m, wrap_at_pi=wrap) for m in maps]
            if quirks:
                isos[0] -= 1.0
            onehot = [0, 1, 0] if kind == 1 else [0, 0, 1]
            rows.append([*four(p["ET"], p["Eta"], p["Phi"]), 0, 0, 0, *isos, *onehot, 0, 0, 0])
    keyed = sorted(enumerate(rows), key=lambda r: (-dr(r[1][5], r[1][6]), r[0]))
    return [r for _, r in keyed]


def photons_all(event):
    return [p for p in event["EFlowPhoton"] if p["ET"] > 1.0]


def neutrals_all(event):
    return [n for n in event["EFlowNeutralHadron"] if n["ET"] > 1.0]


@pytest.mark.parametrize("quirks", [False, True], ids=["fixed", "every-quirk-switch-on"])
def test_particle_lists_match_the_loop_reference(generated, quirks):
    from dltrigger.physics.particles import (
        PARTICLE_FEATURES,
        ParticleListOptions,
        particle_lists,
    )

    events = load_events(generated.files("ttbar")[0])[:40]
    selection = (
        SelectionOptions(lepton_choice="reference", wrap_at_pi=False) if quirks
        else SelectionOptions()
    )  # fmt: skip
    options = ParticleListOptions(reference_chpfiso=quirks, charge_from_pid=quirks)
    mask, lepton = select_lepton(events, selection)
    lists = particle_lists(events[mask], lepton, selection, options)
    assert len(lists) == int(mask.sum()) > 10
    for event, lep, rows in zip(
        events[mask].to_list(), lepton.to_list(), lists.to_list(), strict=True
    ):
        pt, eta, phi = lep["pt"], lep["eta"], lep["phi"]
        lepton_row = [
            pt * math.cosh(eta), pt * math.cos(phi), pt * math.sin(phi), pt * math.sinh(eta),
            pt, eta, phi, 0, 0, 0, lep["iso_ch"], lep["iso_gamma"], lep["iso_neu"], 0, 0, 0,
            lep["is_ele"], 1 - lep["is_ele"], lep["charge"],
        ]  # fmt: skip
        expected = reference_particles(event, lepton_row, quirks)
        assert len(rows) == len(expected)
        assert all(len(r) == len(PARTICLE_FEATURES) for r in rows)
        # float32 storage: 1e-6 relative on the values, absolute 1e-5 near zero.
        np.testing.assert_allclose(
            np.array(rows), np.array(expected, dtype=np.float32), rtol=1e-6, atol=1e-5
        )
        assert rows[-1][16] + rows[-1][17] == 1.0  # the lepton, at ΔR = 0, comes last


def test_generator_count_agrees_with_the_selection(generated):
    """The generator's cheap "selected-equivalent" count is the same selection."""
    from dltrigger.physics.selection import has_isolated_lepton

    for process in ("wjets", "qcd"):
        events = load_events(generated.files(process)[0])
        collections = {name: events[name] for name in events.fields}
        mask, _ = select_lepton(events)
        assert ak.to_list(has_isolated_lepton(collections)) == mask.tolist()
