"""The 14 high-level features of the reference, in its order (docs/reference.md §3.2).

``HT, MET, phiMET, MT, nJets, nBjets, LepPt, LepEta, LepPhi, LepIsoCh, LepIsoGamma,
LepIsoNeu, LepCharge, LepIsEle``. Jets: ``Jet`` with PT > 30 GeV and |Eta| < 2.6 (no
jet-lepton overlap removal, as the reference); b-jets: ``BTag > 0``. MT is the transverse
mass with its square root (the reference computed MT², quirk 3: ``mt_squared=True``).
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np
import numpy.typing as npt

from ..schema import HLF_NAMES
from .kinematics import transverse_mass

__all__ = ["HLF_NAMES", "JetSelection", "high_level_features"]


@dataclass(frozen=True)
class JetSelection:
    """Jets counted in HT, nJets and nBjets (docs/reference.md §3.2)."""

    pt_min: float = 30.0
    eta_max: float = 2.6


def high_level_features(
    events: ak.Array,
    lepton: ak.Array,
    jets: JetSelection = JetSelection(),
    mt_squared: bool = False,
) -> npt.NDArray[np.float64]:
    """``(n_events, 14)`` float64 array for selected ``events`` and their ``lepton``.

    ``lepton`` is one record per event as
    [`selection.select_lepton`][dltrigger.physics.selection.select_lepton] returns it.
    """
    jet = events.Jet
    good = (jets.pt_min < jet.PT) & (np.abs(jet.Eta) < jets.eta_max)
    ht = ak.sum(ak.where(good, ak.values_astype(jet.PT, np.float64), 0.0), axis=1)
    n_jets = ak.sum(good, axis=1)
    n_bjets = ak.sum(good & (jet.BTag > 0), axis=1)
    met = ak.values_astype(ak.firsts(events.MissingET.MET), np.float64)
    met_phi = ak.values_astype(ak.firsts(events.MissingET.Phi), np.float64)
    mt = transverse_mass(lepton.pt, lepton.phi, met, met_phi)
    if mt_squared:
        mt = mt**2
    columns = [
        ht, met, met_phi, mt, n_jets, n_bjets, lepton.pt, lepton.eta, lepton.phi,
        lepton.iso_ch, lepton.iso_gamma, lepton.iso_neu, lepton.charge, lepton.is_ele,
    ]  # fmt: skip
    return np.stack([ak.to_numpy(ak.fill_none(c, np.nan)).astype(np.float64) for c in columns], 1)
