"""Generator-level events from Pythia 8 batches, as flat awkward records ready for detsim.

Pythia's ``nextBatch`` returns whole event records as awkward arrays (no Python loop per
particle). This module keeps what the detector simulation needs: the stable visible and
invisible particles with production vertices, the partons and heavy-flavour hadrons for jet
flavour, and a charge per particle (Pythia's batch has no charge field; the particle data
table does).
"""

from __future__ import annotations

import awkward as ak
import numpy as np
import pythia8mc

from ..config import LeptonFilter, ProcessSettings
from .detector_card import CMS, DETECTOR_PRESETS
from .processes import MINIMUM_BIAS, common_settings, process_definition

#: The loosest parton thresholds of the presets' JetFlavorAssociation (the partons kept).
PARTON_PT_MIN = min(card.parton_pt_min for card in DETECTOR_PRESETS.values())
PARTON_ETA_MAX = max(card.parton_eta_max for card in DETECTOR_PRESETS.values())

#: Pythia's random seed must be in [1, 900_000_000].
_MAX_PYTHIA_SEED = 900_000_000

#: How many of the settings are dltrigger's own (not quoted back in an error).
_COMMON_PREFIX = common_settings(1, True)


def pythia_seed(seed_sequence: np.random.SeedSequence) -> int:
    return int(seed_sequence.generate_state(1)[0] % _MAX_PYTHIA_SEED) + 1


def _heavy_flavour(abs_id: np.ndarray) -> np.ndarray:
    """5 for hadrons with a b quark, 4 for hadrons with a c (and no b) quark, else 0."""
    is_hadron = abs_id >= 100
    digits = (abs_id // 100 % 10, abs_id // 1000 % 10)
    has_b = is_hadron & ((digits[0] == 5) | (digits[1] == 5))
    has_c = is_hadron & ((digits[0] == 4) | (digits[1] == 4))
    return np.where(has_b, 5, np.where(has_c, 4, 0)).astype(np.int8)


class _PythiaInstance:
    def __init__(self, settings: tuple[str, ...], process: str = "pile-up"):
        self.pythia = pythia8mc.Pythia("", False)
        for line in settings:
            if not self.pythia.readString(line):
                raise ValueError(f"process {process!r}: Pythia rejected the setting {line!r}")
        if not self.pythia.init():
            raise RuntimeError(
                f"process {process!r}: Pythia failed to initialise with its settings "
                f"{list(settings[len(_COMMON_PREFIX) :])}"
            )
        self._charges: dict[int, float] = {}

    def charges(self, ids: np.ndarray) -> np.ndarray:
        unique, inverse = np.unique(ids, return_inverse=True)
        for pid in unique.tolist():
            if pid not in self._charges:
                self._charges[pid] = self.pythia.particleData.charge(pid)
        return np.array([self._charges[p] for p in unique.tolist()], dtype=np.float32)[inverse]

    def switch_decays(self, settings: tuple[str, ...]) -> None:
        """Change decay tables between events (honoured by Pythia's decays after init)."""
        for line in settings:
            if not self.pythia.particleData.readString(line):
                raise ValueError(f"Pythia rejected the particle-data setting {line!r}")

    def next_batch(self, n: int) -> ak.Array:
        """At least ``n`` events (Pythia may skip failed ones, so ask again until there)."""
        parts, have = [], 0
        while have < n:
            batch = self.pythia.nextBatch(n - have)
            parts.append(batch)
            have += len(batch)
        return parts[0] if len(parts) == 1 else ak.concatenate(parts)


def _flat_events(batch: ak.Array, instance: _PythiaInstance) -> ak.Array:
    """Reduce Pythia records to final-state particles and heavy hadrons, per event."""
    prt = batch.prt
    final = prt[prt.status > 0]
    counts = ak.num(final)
    flat = ak.flatten(final)
    vertex = flat.vProd
    pid = ak.to_numpy(flat.id)
    particles = ak.zip(
        {
            "id": pid,
            "charge": instance.charges(pid),
            "px": ak.to_numpy(flat.p.px),
            "py": ak.to_numpy(flat.p.py),
            "pz": ak.to_numpy(flat.p.pz),
            "e": ak.to_numpy(flat.p.e),
            # Pythia leaves vProd empty where the production vertex is the origin.
            "x": ak.to_numpy(ak.fill_none(vertex.px, 0.0)),
            "y": ak.to_numpy(ak.fill_none(vertex.py, 0.0)),
            "z": ak.to_numpy(ak.fill_none(vertex.pz, 0.0)),
        }
    )
    all_flat = ak.flatten(prt)
    flavour = _heavy_flavour(np.abs(ak.to_numpy(all_flat.id)))
    px, py, pz = (ak.to_numpy(all_flat.p[c]) for c in ("px", "py", "pz"))
    keep = flavour > 0
    hadron_pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        hadron_eta = np.arcsinh(np.where(hadron_pt > 0, pz / hadron_pt, 0.0))
    hadrons = ak.zip(
        {
            "flavour": flavour[keep],
            "pt": hadron_pt[keep],
            "eta": hadron_eta[keep],
            "phi": np.arctan2(py, px)[keep],
        }
    )
    hadron_counts = ak.to_numpy(ak.sum(ak.unflatten(keep, ak.num(prt)), axis=1))
    # Partons as Delphes' readers keep them (every non-final quark or gluon of the record, all
    # copies along the shower), for JetFlavorAssociation: flavour 1-5, gluons 21.
    abs_id = np.abs(ak.to_numpy(all_flat.id))
    is_parton = (ak.to_numpy(all_flat.status) < 0) & ((abs_id <= 5) | (abs_id == 21))
    # ~700 per ttbar event; those no preset's PartonPTMin / PartonEtaMax admits are dropped
    is_parton &= (hadron_pt > PARTON_PT_MIN) & (np.abs(hadron_eta) <= PARTON_ETA_MAX)
    partons = ak.zip(
        {
            "flavour": abs_id[is_parton].astype(np.int8),
            "pt": hadron_pt[is_parton],
            "eta": hadron_eta[is_parton],
            "phi": np.arctan2(py, px)[is_parton],
        }
    )
    parton_counts = ak.to_numpy(ak.sum(ak.unflatten(is_parton, ak.num(prt)), axis=1))
    return ak.zip(
        {
            "particles": ak.unflatten(particles, counts),
            "hadrons": ak.unflatten(hadrons, hadron_counts),
            "partons": ak.unflatten(partons, parton_counts),
        },
        depth_limit=1,
    )


def passes_lepton_filter(events: ak.Array, lepton_filter: LeptonFilter) -> np.ndarray:
    """Per event: ``count`` or more generated e/mu above ``pt`` within ``|eta| < eta``."""
    p = events.particles
    is_lepton = (np.abs(p.id) == 11) | (np.abs(p.id) == 13)
    pt = np.hypot(p.px, p.py)
    eta = np.arcsinh(p.pz / np.maximum(pt, 1e-12))
    passing = is_lepton & (pt > lepton_filter.pt) & (np.abs(eta) < lepton_filter.eta)
    return ak.to_numpy(ak.sum(passing, axis=1) >= lepton_filter.count)


class EventSource:
    """Draws generator-level events of one process, reproducibly from a seed sequence.

    ``generated`` counts every event Pythia produced, ``accepted`` those handed out (events that
    passed the lepton filter but were not needed yet wait for the next call).
    """

    def __init__(
        self,
        process: str,
        settings: ProcessSettings,
        seed: np.random.SeedSequence,
        *,
        mpi: bool = True,
        pileup_mean: float = 0.0,
    ):
        definition = process_definition(settings)
        children = seed.spawn(3)
        first_variant = definition.variants[0].settings if definition.variants else ()
        self._instance = _PythiaInstance(
            common_settings(pythia_seed(children[0]), mpi) + definition.settings + first_variant,
            process,
        )
        self._variants = definition.variants
        self._rng = np.random.default_rng(children[1])
        self._filter = settings.lepton_filter
        self._pileup_mean = pileup_mean
        self._pileup = (
            _PythiaInstance(common_settings(pythia_seed(children[2]), mpi) + MINIMUM_BIAS)
            if pileup_mean > 0
            else None
        )
        self.generated = 0
        self.accepted = 0
        self._passed_filter = 0
        self._surplus: ak.Array | None = None

    def _draw(self, n: int) -> ak.Array:
        instance = self._instance
        if not self._variants:
            return _flat_events(instance.next_batch(n), instance)
        counts = self._rng.multinomial(n, [v.fraction for v in self._variants])
        parts = []
        for variant, k in zip(self._variants, counts, strict=True):
            if k > 0:
                instance.switch_decays(variant.settings)
                parts.append(_flat_events(instance.next_batch(k), instance))
        events = ak.concatenate(parts)
        return events[self._rng.permutation(len(events))]

    def _overlay_pileup(self, events: ak.Array) -> ak.Array:
        n_pileup = self._rng.poisson(self._pileup_mean, size=len(events))
        total = int(n_pileup.sum())
        if total == 0:
            return events
        source = self._pileup
        assert source is not None  # pile-up is drawn only with pileup_mean > 0 (see __init__)
        pileup = _flat_events(source.next_batch(total), source).particles[:total]
        # Each pile-up interaction gets its own vertex along the beam line.
        z_shift = self._rng.normal(0.0, CMS.pileup_z_spread_mm, size=total)
        pileup = ak.with_field(pileup, pileup.z + z_shift, "z")
        # Interactions are handed out in order: event i takes the next n_pileup[i] of them.
        per_event_counts = np.zeros(len(events), dtype=np.int64)
        np.add.at(
            per_event_counts,
            np.repeat(np.arange(len(events)), n_pileup),
            ak.to_numpy(ak.num(pileup)),
        )
        per_event = ak.unflatten(ak.flatten(pileup), per_event_counts)
        merged = ak.concatenate([events.particles, per_event], axis=1)
        return ak.with_field(events, merged, "particles")

    def next(self, n: int) -> ak.Array:
        """``n`` accepted events (after the lepton filter and pile-up overlay, if any)."""
        kept: list[ak.Array] = [self._surplus] if self._surplus is not None else []
        have = sum(len(k) for k in kept)
        while have < n:
            # Draw enough for the filter's running efficiency, so a low-efficiency filter
            # does not degrade into many tiny Pythia batches.
            efficiency = max(self._passed_filter / self.generated, 0.02) if self.generated else 1.0
            events = self._draw(max(int(np.ceil((n - have) / efficiency)), 1))
            self.generated += len(events)
            if self._filter is not None:
                events = events[passes_lepton_filter(events, self._filter)]
            self._passed_filter += len(events)
            kept.append(events)
            have += len(events)
        merged = kept[0] if len(kept) == 1 else ak.concatenate(kept)
        out, rest = merged[:n], merged[n:]
        self._surplus = rest if len(rest) else None
        self.accepted += len(out)
        if self._pileup is not None:
            out = self._overlay_pileup(out)
        return out
