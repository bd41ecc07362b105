"""Generator-level events: process definitions, lepton filter, ttbar decay mixture, pile-up."""

import awkward as ak
import numpy as np
import pytest

from dltrigger.config import GenerateConfig
from dltrigger.generate.processes import W_TO_E_OR_MU, ttbar_variants
from dltrigger.generate.pythia_source import EventSource

pytestmark = pytest.mark.slow
CONFIG = GenerateConfig()


def gen_leptons(events, pt_min=0.0):
    p = events.particles
    lepton = (np.abs(p.id) == 11) | (np.abs(p.id) == 13)
    return lepton & (np.hypot(p.px, p.py) > pt_min)


def test_ttbar_mixture_is_that_of_an_at_least_one_lepton_filter():
    fractions = [v.fraction for v in ttbar_variants()]
    p = W_TO_E_OR_MU
    inclusive = np.array([p * (1 - p), p * (1 - p), p * p])
    assert np.allclose(fractions, inclusive / inclusive.sum())
    assert sum(fractions) == pytest.approx(1.0)


def test_ttbar_dilepton_share_follows_the_decay_variants():
    source = EventSource("ttbar", CONFIG.settings("ttbar"), np.random.SeedSequence(11))
    events = source.next(200)
    dilepton = np.mean(ak.to_numpy(ak.sum(gen_leptons(events, 20.0), axis=1) >= 2))
    expected = W_TO_E_OR_MU / (2 - W_TO_E_OR_MU)  # 0.119; sigma ~0.023 at 200 events
    # Leptons from b decays add a little; acceptance (pT > 20) removes a little.
    assert expected - 0.07 < dilepton < expected + 0.10


def test_every_ttbar_and_w_event_has_a_lepton():
    for process in ("ttbar", "wjets"):
        source = EventSource(process, CONFIG.settings(process), np.random.SeedSequence(1))
        events = source.next(40)
        assert len(events) == 40
        assert ak.all(ak.any(gen_leptons(events), axis=1))


def test_qcd_lepton_filter_and_its_efficiency():
    settings = CONFIG.settings("qcd")
    assert settings.lepton_filter is not None
    source = EventSource("qcd", settings, np.random.SeedSequence(2))
    events = source.next(30)
    eta = np.arcsinh(events.particles.pz / np.hypot(events.particles.px, events.particles.py))
    passing = gen_leptons(events, settings.lepton_filter.pt) & (np.abs(eta) < 2.5)
    assert ak.all(ak.any(passing, axis=1))
    assert source.accepted == 30
    assert source.generated > source.accepted  # the filter rejected something
    # Heavy-flavour hadrons are recorded for jet flavour.
    assert ak.all(
        ak.any(events.hadrons.flavour == 5, axis=1) | ak.any(events.hadrons.flavour == 4, axis=1)
    )


def test_pileup_adds_particles_at_displaced_vertices():
    seed = np.random.SeedSequence(3)
    plain = EventSource("wjets", CONFIG.settings("wjets"), seed).next(20)
    piled = EventSource("wjets", CONFIG.settings("wjets"), seed, pileup_mean=5).next(20)
    assert ak.sum(ak.num(piled.particles)) > ak.sum(ak.num(plain.particles))
    # The hard-scatter particles come first and are unchanged.
    n = ak.num(plain.particles)
    head = piled.particles[:, : ak.max(n)]
    assert ak.all(ak.num(head) >= n)
    z = ak.flatten(piled.particles.z)
    assert np.std(ak.to_numpy(z)) > 5.0  # mm: pile-up vertices are spread along the beam
