"""The switches that reproduce the reference's quirks (docs/reference.md §3.1, §11), each on
a hand-built event whose features are computed by hand here."""

import math

import awkward as ak
import numpy as np
import pytest

from dltrigger.config import FeaturesConfig
from dltrigger.physics.collections import PRESETS, ResolvedCollections
from dltrigger.physics.features import compute_features
from dltrigger.physics.particles import PARTICLE_FEATURES, ParticleListOptions, particle_lists
from dltrigger.physics.selection import (
    EMPTY_MAP,
    NO_ISOLATED_LEPTON,
    SelectionOptions,
    select_events,
    select_lepton,
)

COLUMN = {name: i for i, name in enumerate(PARTICLE_FEATURES)}
REFERENCE = SelectionOptions(lepton_choice="reference")


def track(pt, eta, phi, charge, pid):
    return {"PT": pt, "Eta": eta, "Phi": phi, "X": 0.0, "Y": 0.0, "Z": 0.0, "Charge": charge,
            "PID": pid}  # fmt: skip


def event(electron_eta=0.5, muon_eta=0.5, neutrals=True):
    """An isolated electron (40 GeV, φ 0) and an isolated muon (30 GeV, φ 2), each with its
    own track; a 10 GeV photon at ΔR 0.14 from the electron; a μ- track (PID 13, charge -1)
    and a neutral hadron far from everything."""
    return {
        "Electron": [{"PT": 40.0, "Eta": electron_eta, "Phi": 0.0, "Charge": -1}],
        "MuonTight": [{"PT": 30.0, "Eta": muon_eta, "Phi": 2.0, "Charge": 1}],
        "EFlowTrack": [
            track(40.0, electron_eta, 0.0, -1, 11),
            track(30.0, muon_eta, 2.0, 1, -13),
            track(5.0, -2.0, -2.0, -1, 13),
        ],
        "EFlowPhoton": [{"ET": 10.0, "Eta": electron_eta + 0.1, "Phi": 0.1}],
        "EFlowNeutralHadron": [{"ET": 5.0, "Eta": -1.0, "Phi": -1.0}] if neutrals else [],
        "Jet": [{"PT": 50.0, "Eta": 0.0, "BTag": 1}],
        "MissingET": [{"MET": 20.0, "Phi": 1.0}],
    }


def events(*items) -> ak.Array:
    return ak.Array(list(items))


def rows_of(options: ParticleListOptions, selection: SelectionOptions | None = None):
    selection = selection or SelectionOptions()
    sample = events(event())
    mask, lepton = select_lepton(sample, selection)
    return np.asarray(particle_lists(sample[mask], lepton, selection, options)[0].to_list())


def test_lepton_choice_reference_takes_the_muon_on_an_eta_tie():
    sample = events(event(0.5, 0.5), event(0.6, 0.5), event(0.4, 0.5))
    _, highest_pt = select_lepton(sample)
    assert highest_pt.is_ele.tolist() == [1.0, 1.0, 1.0]  # 40 GeV electron beats 30 GeV muon
    _, reference = select_lepton(sample, REFERENCE)
    # the reference's `>` on Eta: the electron only when its Eta is strictly larger
    assert reference.is_ele.tolist() == [0.0, 1.0, 0.0]


def test_chpfiso_quirk_offsets_photons_and_neutral_hadrons_by_minus_one():
    fixed = rows_of(ParticleListOptions())
    quirk = rows_of(ParticleListOptions(reference_chpfiso=True))
    photon = np.flatnonzero(fixed[:, COLUMN["isGamma"]] == 1)[0]
    neutral = np.flatnonzero(fixed[:, COLUMN["isNeuHad"]] == 1)[0]
    # The photon at ΔR 0.14 of the electron's 40 GeV track: 40 / 10 in its charged cone.
    assert fixed[photon, COLUMN["ChPFIso"]] == pytest.approx(4.0)
    assert quirk[photon, COLUMN["ChPFIso"]] == pytest.approx(3.0)
    assert fixed[neutral, COLUMN["ChPFIso"]] == 0.0
    assert quirk[neutral, COLUMN["ChPFIso"]] == -1.0
    tracks = fixed[:, COLUMN["isChHad"]] == 1
    # tracks already had their own pT taken out; the lepton row is the selection's own value
    np.testing.assert_array_equal(fixed[tracks], quirk[tracks])
    np.testing.assert_array_equal(fixed[-1], quirk[-1])


def test_track_charge_from_pid_is_the_reference_sign():
    fixed = rows_of(ParticleListOptions())
    quirk = rows_of(ParticleListOptions(charge_from_pid=True))
    tracks = np.flatnonzero(fixed[:, COLUMN["isChHad"]] == 1)
    by_pt = {round(fixed[i, COLUMN["Pt"]]): i for i in tracks}
    # the μ- track (PID 13): charge -1, sign(PID) +1; the μ+ (PID -13): +1 and -1
    assert fixed[by_pt[5], COLUMN["Charge"]] == -1 and quirk[by_pt[5], COLUMN["Charge"]] == 1
    assert fixed[by_pt[30], COLUMN["Charge"]] == 1 and quirk[by_pt[30], COLUMN["Charge"]] == -1
    assert 40 not in by_pt  # the selected electron's own track is not a particle row
    assert fixed[-1, COLUMN["Charge"]] == quirk[-1, COLUMN["Charge"]] == -1  # lepton: Charge


def test_empty_maps_are_counted_under_their_own_reason():
    no_lepton = event()
    no_lepton["Electron"], no_lepton["MuonTight"] = [], []
    sample = events(event(), event(neutrals=False), no_lepton)
    kept = select_events(sample)
    assert kept.mask.tolist() == [True, True, False]
    assert kept.rejected == {NO_ISOLATED_LEPTON: 1, EMPTY_MAP: 0}
    rejecting = select_events(sample, SelectionOptions(reject_empty_maps=True))
    assert rejecting.mask.tolist() == [True, False, False]
    assert rejecting.rejected == {NO_ISOLATED_LEPTON: 1, EMPTY_MAP: 1}
    # and so in the counts the features stage writes into its manifest
    table = ak.to_arrow_table(sample, list_to32=True, extensionarray=False)
    collections = ResolvedCollections(PRESETS["dltrigger"], "preset dltrigger")
    computed = compute_features(table, FeaturesConfig(reject_empty_maps=True), collections)
    assert computed.rejected[EMPTY_MAP] == 1 and computed.rejected[NO_ISOLATED_LEPTON] == 1
    assert computed.kept.tolist() == [0]


def test_every_switch_on_gives_the_reference_rows_by_hand():
    """The whole lepton row and photon row of the hand-built event with every quirk on."""
    options = ParticleListOptions(reference_chpfiso=True, charge_from_pid=True)
    rows = rows_of(options, SelectionOptions(lepton_choice="reference", wrap_at_pi=False))
    lepton = rows[-1]  # ΔR 0, last in descending order: the muon (Eta tie)
    pt, eta, phi = 30.0, 0.5, 2.0
    expected = [pt * math.cosh(eta), pt * math.cos(phi), pt * math.sin(phi), pt * math.sinh(eta),
                pt, eta, phi, 0, 0, 0, 30.0 / 30.0 - 1.0, 0, 0, 0, 0, 0, 0, 1, 1]  # fmt: skip
    np.testing.assert_allclose(lepton, expected, rtol=1e-6, atol=1e-6)
    photon = rows[rows[:, COLUMN["isGamma"]] == 1][0]
    assert photon[COLUMN["ChPFIso"]] == pytest.approx(40.0 / 10.0 - 1.0)
    assert photon[COLUMN["GammaPFIso"]] == pytest.approx(1.0)  # itself, as the reference
    assert photon[COLUMN["Charge"]] == 0
