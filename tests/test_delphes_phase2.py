"""A genuine Delphes file of the CMS Phase-II card (tests/data/delphes_phase2): it reads, its
muons are ``MuonTight``, and dltrigger's ``phase2`` preset, run on the file's own generator
particles, reconstructs the same events as Delphes did, event by event."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from dltrigger.config import CollectionsConfig
from dltrigger.generate.detector import simulate
from dltrigger.generate.detector_card import DETECTOR_PRESETS
from dltrigger.generate.pythia_source import _heavy_flavour
from dltrigger.io.root_layout import top_level_names
from dltrigger.io.root_reader import infer_layout, open_tree, read_record_batch
from dltrigger.physics.collections import resolve_collections
from dltrigger.physics.kinematics import delta_r

FILE = Path(__file__).parent / "data" / "delphes_phase2" / "qcd_PhaseII_0PU_0.root"
EVENTS = 30
HARD_LEPTON_PT = 23.0


def test_every_branch_reads_and_muons_are_muon_tight():
    file, tree = open_tree(str(FILE), "Delphes")
    with file:
        batch = read_record_batch(tree, infer_layout(tree), 0, tree.num_entries, str(FILE))
        collections = resolve_collections(CollectionsConfig(), top_level_names(tree), str(FILE))
    assert batch.num_rows == EVENTS
    assert collections.names["muons"] == "MuonTight"  # not MuonLoose
    assert collections.names["electrons"] == "Electron"


def generator_events(path: Path) -> ak.Array:
    """The file's stable generator particles and heavy-flavour hadrons, as dltrigger's
    detector simulation takes them from Pythia."""
    names = ["PID", "Status", "Charge", "Px", "Py", "Pz", "E", "X", "Y", "Z", "PT", "Eta", "Phi"]
    with uproot.open(path) as f:
        p = f["Delphes"].arrays([f"Particle.{n}" for n in names], how="zip")["Particle"]
    stable = p[p.Status == 1]
    particles = ak.zip({"id": stable.PID, "charge": ak.values_astype(stable.Charge, np.float32),
                        "px": stable.Px, "py": stable.Py, "pz": stable.Pz, "e": stable.E,
                        "x": stable.X, "y": stable.Y, "z": stable.Z})  # fmt: skip
    counts = ak.num(p)
    flat = ak.flatten(p)
    flavour = _heavy_flavour(np.abs(ak.to_numpy(flat.PID)))
    hadrons = ak.zip({"flavour": flavour, "pt": ak.to_numpy(flat.PT).astype(np.float64),
                      "eta": ak.to_numpy(flat.Eta).astype(np.float64),
                      "phi": ak.to_numpy(flat.Phi).astype(np.float64)})  # fmt: skip
    hadrons = ak.unflatten(hadrons, counts)
    hadrons = hadrons[hadrons.flavour > 0]
    # the partons as Delphes' reader keeps them: every non-final quark and gluon
    abs_id = np.abs(p.PID)
    parton = p[(p.Status != 1) & ((abs_id <= 5) | (abs_id == 21))]
    partons = ak.zip({"flavour": np.abs(parton.PID), "pt": parton.PT, "eta": parton.Eta,
                      "phi": parton.Phi})  # fmt: skip
    return ak.zip({"particles": particles, "hadrons": hadrons, "partons": partons}, depth_limit=1)


def reconstructed(collections: dict) -> dict[str, np.ndarray]:
    """Per event: hard leptons (pT > 23), how many of them have a jet within 0.4, jets above
    30 GeV."""
    leptons = ak.concatenate([collections["Electron"][["PT", "Eta", "Phi"]],
                              collections["MuonTight"][["PT", "Eta", "Phi"]]], axis=1)  # fmt: skip
    hard = leptons[leptons.PT > HARD_LEPTON_PT]
    jets = collections["Jet"]
    pairs = ak.cartesian({"l": hard, "j": jets}, nested=True)
    near = ak.any(delta_r(pairs.l.Eta, pairs.l.Phi, pairs.j.Eta, pairs.j.Phi) < 0.4, axis=-1)
    return {
        "hard leptons": ak.to_numpy(ak.num(hard)),
        "in a jet": ak.to_numpy(ak.sum(near, axis=1)),
        "jets": ak.to_numpy(ak.sum(jets.PT > 30, axis=1)),
    }


@pytest.fixture(scope="module")
def both() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    with uproot.open(FILE) as f:
        tree = f["Delphes"]
        delphes = {
            name: tree.arrays([f"{name}.PT", f"{name}.Eta", f"{name}.Phi"], how="zip")[name]
            for name in ("Electron", "MuonTight", "Jet")
        }
    ours = simulate(generator_events(FILE), np.random.default_rng(1), DETECTOR_PRESETS["phase2"])
    return reconstructed(delphes), reconstructed(ours)


def test_phase2_leptons_sit_in_jets_as_in_delphes(both):
    """The Phase-II card removes no lepton from the jets: every hard lepton has a jet within
    0.4, in Delphes' file and in the preset alike (the standard card: none)."""
    delphes, ours = both
    for side in (delphes, ours):
        assert side["hard leptons"].sum() >= 15  # lepton-enriched QCD: most events have one
        assert (side["in a jet"] == side["hard leptons"]).all()


def test_phase2_jets_and_leptons_agree_event_by_event(both):
    """Paired differences, ours minus Delphes, over the same 30 events: jets above 30 GeV and
    hard leptons agree within 3 sigma of the spread of the differences (plus one count in
    the mean, the resolution of a 30-event test)."""
    delphes, ours = both
    for name in ("jets", "hard leptons"):
        difference = ours[name].astype(float) - delphes[name]
        error = difference.std(ddof=1) / np.sqrt(EVENTS)
        assert abs(difference.mean()) <= 3 * error + 1 / EVENTS, (name, difference)
        assert delphes[name].mean() > 0.5  # something to compare


def test_jet_flavour_is_delphes_jet_flavor():
    """Each jet above 30 GeV that both simulations reconstruct (axes within 0.1) gets the
    Flavor Delphes' JetFlavorAssociation gave it (partons in a 0.5 cone, gluons 21): the
    b-tagging efficiency each jet is drawn with."""
    with uproot.open(FILE) as f:
        names = ["Jet.PT", "Jet.Eta", "Jet.Phi", "Jet.Flavor"]
        delphes = f["Delphes"].arrays(names, how="zip")["Jet"]
    ours = simulate(generator_events(FILE), np.random.default_rng(1),
                    DETECTOR_PRESETS["phase2"])["Jet"]  # fmt: skip
    pairs = ak.cartesian({"d": delphes, "o": ours}, nested=True)
    distance = delta_r(pairs.d.Eta, pairs.d.Phi, pairs.o.Eta, pairs.o.Phi)
    nearest = ak.argmin(distance, axis=-1, keepdims=True)
    matched = (ak.flatten(distance[nearest], axis=-1) < 0.1) & (delphes.PT > 30)
    same = ak.flatten((ak.flatten(pairs.o.Flavor[nearest], axis=-1) == delphes.Flavor)[matched])
    assert len(same) >= 40
    assert ak.mean(same) >= 0.95
    assert set(ak.to_list(ak.flatten(delphes.Flavor))) >= {0, 4, 5, 21}  # all kinds met
