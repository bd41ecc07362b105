"""Physics of the generated sample, checked by independent numpy/awkward code on the files.

Nothing here uses dltrigger's own physics functions: the files are read with uproot and the
quantities computed afresh. Tolerances are stated with each check; the sample has 600 events
per process.
"""

import itertools

import awkward as ak
import numpy as np
import pytest
import uproot

pytestmark = [pytest.mark.spark, pytest.mark.slow]

W_MASS, TOP_MASS = 80.4, 172.7


def read(files, branches):
    return ak.concatenate([uproot.open(f)["Delphes"].arrays(branches) for f in files])


def leading_lepton_mt(files):
    """mT of the leading e/mu (pT > 25 GeV) with the MET, for events that have one."""
    a = read(
        files,
        [
            "Electron.PT",
            "Electron.Phi",
            "MuonTight.PT",
            "MuonTight.Phi",
            "MissingET.MET",
            "MissingET.Phi",
        ],
    )
    pt = ak.concatenate([a["Electron.PT"], a["MuonTight.PT"]], axis=1)
    phi = ak.concatenate([a["Electron.Phi"], a["MuonTight.Phi"]], axis=1)
    best = ak.argmax(pt, axis=1, keepdims=True)
    has = ak.num(pt) > 0
    lep_pt = ak.to_numpy(ak.fill_none(ak.firsts(pt[best][has]), 0.0)).astype(np.float64)
    lep_phi = ak.to_numpy(ak.fill_none(ak.firsts(phi[best][has]), 0.0)).astype(np.float64)
    met = ak.to_numpy(a["MissingET.MET"][has][:, 0]).astype(np.float64)
    met_phi = ak.to_numpy(a["MissingET.Phi"][has][:, 0]).astype(np.float64)
    mt = np.sqrt(2 * lep_pt * met * (1 - np.cos(lep_phi - met_phi)))
    return mt[lep_pt > 25]


def test_w_transverse_mass_has_its_jacobian_edge_at_the_w_mass(generated):
    mt = leading_lepton_mt(generated.files("wjets"))
    assert len(mt) > 180  # ~40% of W+jets events have a lepton above 25 GeV
    counts, edges = np.histogram(mt, bins=np.arange(0, 160, 10))
    peak = edges[np.argmax(counts)]
    # The Jacobian peak sits just below m_W and the spectrum falls sharply above it.
    assert 55 <= peak <= W_MASS, f"mT peak bin starts at {peak} GeV"
    below = np.count_nonzero((mt > 60) & (mt < 80))
    above = np.count_nonzero((mt > 90) & (mt < 110))
    assert above < 0.35 * below, f"no edge: {below} events in 60-80 GeV, {above} in 90-110"
    # Much of the W+jets sample sits near the edge, which QCD does not show.
    qcd = leading_lepton_mt(generated.files("qcd"))
    assert np.mean((mt > 50) & (mt < 90)) > 2 * np.mean((qcd > 50) & (qcd < 90))


def jet_multiplicities(files):
    a = read(files, ["Jet.PT", "Jet.Eta", "Jet.BTag"])
    good = (a["Jet.PT"] > 30) & (np.abs(a["Jet.Eta"]) < 2.5)
    return (
        ak.to_numpy(ak.sum(good, axis=1)),
        ak.to_numpy(ak.sum(good & (a["Jet.BTag"] > 0), axis=1)),
    )


def test_ttbar_has_more_jets_and_b_tags_than_w_jets(generated):
    tt_jets, tt_b = jet_multiplicities(generated.files("ttbar"))
    w_jets, w_b = jet_multiplicities(generated.files("wjets"))
    # Standard errors are ~0.06 jets and ~0.03 b-tags: the gaps asked for are > 10 sigma.
    assert tt_jets.mean() > w_jets.mean() + 1.5
    assert tt_b.mean() > w_b.mean() + 0.5
    assert 0.8 < tt_b.mean() < 2.0  # two b jets at ~60% tagging efficiency, some outside


def hadronic_top_masses(files):
    """Per event: the b-jet + two light jets whose dijet mass is closest to m_W (within 20)."""
    a = read(files, ["Jet.PT", "Jet.Eta", "Jet.Phi", "Jet.Mass", "Jet.BTag"])
    masses = []
    for event in a:
        pt, eta, phi, m, btag = (
            np.asarray(event[f"Jet.{k}"], dtype=np.float64)
            for k in ("PT", "Eta", "Phi", "Mass", "BTag")
        )
        good = (pt > 30) & (np.abs(eta) < 2.5)
        px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
        e = np.sqrt(px**2 + py**2 + pz**2 + m**2)

        def mass(idx, e=e, px=px, py=py, pz=pz):
            idx = list(idx)
            s = e[idx].sum(), px[idx].sum(), py[idx].sum(), pz[idx].sum()
            return np.sqrt(max(s[0] ** 2 - s[1] ** 2 - s[2] ** 2 - s[3] ** 2, 0.0))

        bjets = np.flatnonzero(good & (btag > 0))
        light = np.flatnonzero(good & (btag == 0))
        best = None
        for b in bjets:
            for pair in itertools.combinations(light, 2):
                distance = abs(mass(pair) - W_MASS)
                if best is None or distance < best[0]:
                    best = (distance, mass((b, *pair)))
        if best is not None and best[0] < 20:
            masses.append(best[1])
    return np.array(masses)


def test_hadronic_top_candidate_peaks_at_the_top_mass(generated):
    masses = hadronic_top_masses(generated.files("ttbar"))
    assert len(masses) > 100
    counts, edges = np.histogram(masses, bins=np.arange(100, 310, 15))
    peak_centre = edges[np.argmax(counts)] + 7.5
    # Jets are not energy-corrected; a 25 GeV window covers the remaining response and the
    # 15 GeV binning.
    assert abs(peak_centre - TOP_MASS) < 25, f"top candidate peak at {peak_centre} GeV"


def test_missing_et_is_larger_with_neutrinos(generated):
    def met(process):
        return ak.to_numpy(read(generated.files(process), ["MissingET.MET"])["MissingET.MET"][:, 0])

    qcd, w, tt = met("qcd"), met("wjets"), met("ttbar")
    # Means differ by > 15 GeV; standard errors are ~1 GeV.
    assert w.mean() > qcd.mean() + 15
    assert tt.mean() > qcd.mean() + 15
    assert np.median(w) > np.median(qcd)


def test_isolated_lepton_rates_follow_the_physics(generated):
    """W+jets and ttbar leptons are mostly isolated; QCD's (from b/c decays) mostly not."""
    rate = {}
    for process in ("wjets", "ttbar", "qcd"):
        reports = [r for r in generated.reports if r.process == process]
        rate[process] = sum(r.selected for r in reports) / sum(r.events for r in reports)
    assert rate["wjets"] > 0.3 and rate["ttbar"] > 0.4
    assert 0.01 < rate["qcd"] < 0.5 * rate["wjets"]
