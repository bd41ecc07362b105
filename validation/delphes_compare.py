"""The same Pythia events through genuine Delphes and through dltrigger's detector simulation,
compared event by event.

    python validation/delphes_compare.py prepare --events 5000     # Pythia + Delphes (resumes)
    python validation/delphes_compare.py compare --report docs/validation/tables.md

``--delphes``: the install prefix of a Delphes 3.5.1 build (``bin/DelphesHepMC2``, ``cards/``;
docs/validation.md says how to build one); ``--root-venv``: the virtual environment holding the
``root`` wheel it was built against.

``prepare``: per process, chunks of 500 events: Pythia 8 with dltrigger's own process settings
(``[generate.processes]``, MPI on, its generator filter) written as HepMC2 and kept as Parquet,
then Delphes with three cards, each seeded: the standard CMS card (``cms``), the same with its
two lepton isolation cuts relaxed (``noiso``) and ``CMS_PhaseII_0PU`` (``phase2``). A chunk
whose files exist is not made again, so the script resumes where it stopped (``--reclaim``
redoes chunks a killed run had started); several ``prepare`` runs at once share the chunks.

``compare``: dltrigger simulates the same events with each detector preset and both sides go
through dltrigger's reader, selection and the 14 HLF. Each preset is compared with its card
(``cms`` with ``cms``, ``reference`` with ``noiso``, ``phase2`` with ``phase2``):

- **paired**: per-event differences (ours minus Delphes) of every per-event quantity, their
  mean and its error from their spread (the same events on both sides: far more sensitive
  than comparing two means);
- **spectra**: binned chi2/ndf and Kolmogorov-Smirnov p-value of whole distributions (the two
  samples are the same events, so these are conservative);
- **targets**: each printed with pass/fail (the list is in :data:`TARGETS`).

Not part of CI: it needs the Delphes build.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import awkward as ak
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import hepmc2  # noqa: E402

#: Events per chunk (one HepMC file, one Delphes run per card).
CHUNK = 500
#: The processes compared: the built-in ones, and generic QCD without a lepton filter, whose
#: missing ET is fake (mismeasurement) apart from the few neutrinos of heavy-flavour decays.
PROCESSES = ("wjets", "ttbar", "qcd", "qcd_generic", "qcd_nofilter")
EXTRA_PROCESSES = {
    "qcd_nofilter": {"label": "qcd", "pythia": ["HardQCD:all = on", "PhaseSpace:pTHatMin = 50"]}
}
CARDS = ("cms", "noiso", "phase2")
#: Which Delphes card each dltrigger detector preset is compared with.
PAIRS = {"cms": "cms", "reference": "noiso", "phase2": "phase2"}
#: Lepton pT threshold of the selection (the reference's 23 GeV), for the overlap count.
LEPTON_PT_MIN = 23.0
#: Lower edges of the track-pT bins (GeV) of the per-bin target, and of the tower-ET bins.
TRACK_PT_EDGES = np.array([0.3, 0.4, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 1e4])
TOWER_ET_EDGES = np.array([0.0, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 1e4])

# -- targets -----------------------------------------------------------------------------------

#: Relative paired shift allowed, by quantity (a shift within 2 sigma also passes).
SHIFT_TARGETS = {
    "tracks": 0.03,
    "photons": 0.03,
    "neutral hadrons": 0.03,
    "jets (pT > 30)": 0.05,
    "b-tags (pT > 30)": 0.05,
    "electrons (pT > 23)": 0.05,
    "muons (pT > 23)": 0.05,
    "MET": 0.03,
    "HT (jets pT > 30)": 0.03,
    "MT (leading lepton)": 0.05,
    "selected": 0.05,
    "lepton with a jet within 0.4": 0.05,
}
#: Quantities defined in fewer events than this (on either side) are not compared.
MIN_EVENTS = 20
#: A whole spectrum passes when its binned chi2 and KS p-values are both above this.
P_MIN = 0.01
#: Per-bin ratio targets: track pT per bin within 1%, photon / neutral-hadron ET within 3%.
BIN_TARGETS = {"track pT": 0.01, "photon ET": 0.03, "neutral-hadron ET": 0.03}
TARGETS = (
    "paired shift of each per-event quantity within its SHIFT_TARGETS share of the Delphes mean "
    "or within 2 sigma; every spectrum (quantities and HLF) chi2 and KS p > 0.01; track pT per "
    "bin above 0.3 GeV within 1%, photon and neutral-hadron ET per bin within 3% (or 2 sigma); "
    "QCD without a filter: MET median and P(MET > 20 GeV) within 1 sigma of Delphes'"
)


# -- prepare: Pythia, HepMC, Delphes --------------------------------------------------------


def process_settings(process: str):
    from dltrigger.config import GenerateConfig, ProcessSettings

    if process in EXTRA_PROCESSES:
        return ProcessSettings.model_validate(EXTRA_PROCESSES[process])
    return GenerateConfig().settings(process)


def generate(process: str, n: int, seed: int, hepmc_path: Path) -> tuple[ak.Array, int]:
    """``n`` events of ``process`` (after its generator filter) as HepMC2 and in memory, and
    how many Pythia generated."""
    from dltrigger.generate.processes import common_settings, process_definition
    from dltrigger.generate.pythia_source import (
        _flat_events,
        _PythiaInstance,
        passes_lepton_filter,
    )

    settings = process_settings(process)
    definition = process_definition(settings)
    rng = np.random.default_rng(seed)
    first = definition.variants[0].settings if definition.variants else ()
    instance = _PythiaInstance(common_settings(seed, True) + definition.settings + first, process)
    kept, tried = [], 0
    with open(hepmc_path, "w") as out:
        out.write(hepmc2.HEADER)
        while len(kept) < n:
            if definition.variants:
                fractions = [v.fraction for v in definition.variants]
                variant = definition.variants[rng.choice(len(fractions), p=fractions)]
                instance.switch_decays(variant.settings)
            batch = instance.next_batch(1)
            tried += 1
            events = _flat_events(batch, instance)
            if (
                settings.lepton_filter is not None
                and not passes_lepton_filter(events, settings.lepton_filter)[0]
            ):
                continue
            hepmc2.write_event(
                out, len(kept), hepmc2.record_of(batch.prt[0]), hepmc2.info_of(instance.pythia)
            )
            kept.append(events)
        out.write(hepmc2.FOOTER)
    return ak.concatenate(kept), tried


def delphes_cards(prefix: Path, work: Path) -> dict[str, Path]:
    """The standard CMS card, the same with its electron and muon isolation cuts relaxed, and
    the Phase-II card (beside copies of the files it sources), each with a fixed seed."""
    work.mkdir(parents=True, exist_ok=True)
    seed = "set RandomSeed 12345\n"
    standard = seed + (prefix / "cards" / "delphes_card_CMS.tcl").read_text()
    noiso, inside = [], False
    for line in standard.splitlines():
        if line.startswith(("module Isolation ElectronIsolation", "module Isolation Muon")):
            inside = True
        if inside and line.strip().startswith("set PTRatioMax"):
            line = "  set PTRatioMax 1e9"
        if inside and line.startswith("}"):
            inside = False
        noiso.append(line)
    relaxed = "\n".join(noiso) + "\n"
    if relaxed.count("PTRatioMax 1e9") != 2:
        raise SystemExit("could not relax the two lepton isolation cuts of the CMS card")
    phase2 = work / "phase2"
    phase2.mkdir(exist_ok=True)
    for tcl in (prefix / "cards" / "CMS_PhaseII").glob("*.tcl"):
        shutil.copy(tcl, phase2 / tcl.name)
    (phase2 / "card_phase2.tcl").write_text(
        seed + (prefix / "cards" / "CMS_PhaseII" / "CMS_PhaseII_0PU.tcl").read_text()
    )
    cards = {"cms": work / "card_cms.tcl", "noiso": work / "card_noiso.tcl",
             "phase2": phase2 / "card_phase2.tcl"}  # fmt: skip
    cards["cms"].write_text(standard)
    cards["noiso"].write_text(relaxed)
    return cards


def run_delphes(prefix: Path, root_venv: Path, card: Path, hepmc: Path, out: Path) -> float:
    """``DelphesHepMC2 card out hepmc`` in the card's folder (cards ``source`` files beside
    them); the file appears under its name only when Delphes succeeded. Returns seconds."""
    site = next((root_venv / "lib").glob("python3*/site-packages"))
    env = dict(os.environ)
    libs = [str(site / "root.libs"), str(site / "ROOT" / "lib")]
    env["LD_LIBRARY_PATH"] = ":".join([*libs, env.get("LD_LIBRARY_PATH", "")])
    partial = out.with_suffix(".partial.root")
    partial.unlink(missing_ok=True)
    start = time.perf_counter()
    result = subprocess.run(
        [str(prefix / "bin" / "DelphesHepMC2"), card.name, str(partial.resolve()),
         str(hepmc.resolve())],
        env=env, capture_output=True, text=True, cwd=card.parent,
    )  # fmt: skip
    if result.returncode:
        raise SystemExit(f"DelphesHepMC2 failed on {hepmc}:\n{result.stdout[-2000:]}")
    partial.rename(out)
    return time.perf_counter() - start


def chunk_seed(base: int, process: str, chunk: int) -> int:
    return (base + zlib.crc32(process.encode()) + 1000 * chunk) % 900_000_000 + 1


def prepare(args: argparse.Namespace) -> int:
    cards = delphes_cards(args.delphes, args.out / "cards")
    for process in args.processes:
        for chunk in range(args.first_chunk, -(-args.events // CHUNK)):
            folder = args.out / process / f"{chunk:03d}"
            done = folder / "done.json"
            if done.exists():
                continue
            folder.mkdir(parents=True, exist_ok=True)
            try:  # several `prepare` processes share the chunks: each takes a free one
                (folder / ".claim").mkdir()
            except FileExistsError:
                if not args.reclaim:
                    continue
            seed = chunk_seed(args.seed, process, chunk)
            start = time.perf_counter()
            hepmc = folder / "events.hepmc"
            events, tried = generate(process, CHUNK, seed, hepmc)
            ak.to_parquet(events, folder / "events.parquet")
            seconds = {"pythia": time.perf_counter() - start}
            for card, path in cards.items():
                out = folder / f"delphes_{card}.root"
                seconds[card] = run_delphes(args.delphes, args.root_venv, path, hepmc, out)
            hepmc.unlink()  # ~150 MB per chunk; the Parquet events and Delphes files remain
            done.write_text(json.dumps({"seed": seed, "generated": tried, "seconds": seconds}))
            timing = ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items())
            print(f"{process} chunk {chunk}: {CHUNK} of {tried} generated; {timing}", flush=True)
    return 0


def refresh(args: argparse.Namespace) -> int:
    """Make each finished chunk's Parquet events again from its seed (Pythia only: the HepMC
    and Delphes files stay), so that they carry what a newer generator keeps (the partons);
    the stable particles must come out identical, or the chunk is left as it was."""
    for process in args.processes:
        for done in sorted((args.out / process).glob("*/done.json")):
            folder = done.parent
            info = json.loads(done.read_text())
            old = ak.from_parquet(folder / "events.parquet")
            if "partons" in old.fields:
                continue
            scratch = folder / "refresh.hepmc"
            events, tried = generate(process, len(old), info["seed"], scratch)
            scratch.unlink()
            same = tried == info["generated"] and ak.all(
                ak.num(events.particles) == ak.num(old.particles)
            ) and np.array_equal(ak.to_numpy(ak.flatten(events.particles.px)),
                                 ak.to_numpy(ak.flatten(old.particles.px)))  # fmt: skip
            if not same:
                print(f"{folder}: the seed no longer gives the same events; left as it was")
                continue
            ak.to_parquet(events, folder / "events.partial.parquet")
            (folder / "events.partial.parquet").replace(folder / "events.parquet")
            print(f"{folder}: events refreshed (partons kept)", flush=True)
    return 0


# -- compare: dltrigger's simulation, quantities, paired statistics --------------------------


def simulate_file(events: ak.Array, preset: str, seed: int, out: Path) -> None:
    """dltrigger's simulation of ``events`` with detector ``preset``, written to ``out``."""
    from dltrigger.generate.detector import simulate
    from dltrigger.generate.detector_card import DETECTOR_PRESETS
    from dltrigger.io.delphes_writer import DelphesWriter

    collections = simulate(events, np.random.default_rng(seed), DETECTOR_PRESETS[preset])
    number = np.arange(len(events), dtype=np.int64)
    collections["Event"] = ak.unflatten(ak.zip({"Number": number}), np.ones_like(number))
    out.unlink(missing_ok=True)
    with DelphesWriter(out, uuid_seed=seed) as writer:
        writer.extend(collections)


@dataclass
class Measured:
    """Per-event quantities (NaN where undefined) and flat spectra of one file."""

    per_event: dict[str, np.ndarray]
    spectra: dict[str, np.ndarray]


def quantities(path: Path) -> Measured:
    """One Delphes-format file through dltrigger's own reader, collection detection, selection
    and HLF (both simulations are measured alike)."""
    import pyarrow as pa

    from dltrigger.config import CollectionsConfig, FeaturesConfig
    from dltrigger.io.root_layout import top_level_names
    from dltrigger.io.root_reader import infer_layout, open_tree, read_record_batch
    from dltrigger.physics.collections import physics_table, resolve_collections
    from dltrigger.physics.events import events_from_arrow
    from dltrigger.physics.features import compute_features
    from dltrigger.physics.kinematics import delta_r, transverse_mass
    from dltrigger.schema import HLF_NAMES

    file, tree = open_tree(str(path), "Delphes")
    with file:
        collections = resolve_collections(CollectionsConfig(), top_level_names(tree), str(path))
        names = list(collections.names.values())
        layout = infer_layout(tree, names).select(names, str(path), "Delphes")
        table = pa.Table.from_batches(
            [read_record_batch(tree, layout, 0, tree.num_entries, str(path))]
        )
    n = table.num_rows
    table = table.append_column("source_file", pa.array([str(path)] * n))
    table = table.append_column("entry", pa.array(np.arange(n, dtype=np.int64)))
    events = events_from_arrow(physics_table(table, collections, str(path)))
    jets = events_from_arrow(pa.table({"Jet": table.column(collections.names["jets"])})).Jet
    good = jets[(jets.PT > 30) & (np.abs(jets.Eta) < 2.6)]
    leptons = ak.concatenate([events.Electron[["PT", "Eta", "Phi"]],
                              events.MuonTight[["PT", "Eta", "Phi"]]], axis=1)  # fmt: skip
    leptons = leptons[ak.argsort(leptons.PT, ascending=False)]
    hard = leptons[leptons.PT > LEPTON_PT_MIN]
    pairs = ak.cartesian({"l": hard, "j": jets}, nested=True)
    near = ak.any(delta_r(pairs.l.Eta, pairs.l.Phi, pairs.j.Eta, pairs.j.Phi) < 0.4, axis=-1)
    met = ak.firsts(events.MissingET)
    lead = ak.firsts(hard)

    def filled(values) -> np.ndarray:
        return ak.to_numpy(ak.fill_none(values, np.nan)).astype(np.float64)

    lead_pt, lead_phi = filled(lead.PT), filled(lead.Phi)
    met_value, met_phi = filled(met.MET), filled(met.Phi)
    mt = np.full(n, np.nan)
    has = np.isfinite(lead_pt)
    mt[has] = transverse_mass(lead_pt[has], lead_phi[has], met_value[has], met_phi[has])
    # the fraction of hard leptons with a jet within 0.4, per event (NaN: no hard lepton)
    n_hard = ak.to_numpy(ak.num(hard)).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        overlap = ak.to_numpy(ak.sum(near, axis=1)).astype(float) / n_hard
    computed = compute_features(table, FeaturesConfig(), collections, str(path))
    selected = np.isin(np.arange(n), computed.kept)
    per_event = {
        "tracks": ak.to_numpy(ak.num(events.EFlowTrack)).astype(float),
        "photons": ak.to_numpy(ak.num(events.EFlowPhoton)).astype(float),
        "neutral hadrons": ak.to_numpy(ak.num(events.EFlowNeutralHadron)).astype(float),
        "jets (pT > 30)": ak.to_numpy(ak.num(good)).astype(float),
        "b-tags (pT > 30)": ak.to_numpy(ak.sum(good.BTag > 0, axis=1)).astype(float),
        "electrons (pT > 23)": ak.to_numpy(ak.sum(events.Electron.PT > 23, axis=1)).astype(float),
        "muons (pT > 23)": ak.to_numpy(ak.sum(events.MuonTight.PT > 23, axis=1)).astype(float),
        "leading lepton pT": lead_pt,
        "MET": met_value,
        "HT (jets pT > 30)": ak.to_numpy(ak.sum(good.PT, axis=1)).astype(float),
        "MT (leading lepton)": mt,
        "lepton with a jet within 0.4": overlap,
        "selected": selected.astype(float),
    }
    for i, name in enumerate(HLF_NAMES):
        column = np.full(n, np.nan)
        column[computed.kept] = computed.hlf[:, i]
        per_event[f"HLF {name}"] = column
    spectra = {
        "track pT": ak.to_numpy(ak.flatten(events.EFlowTrack.PT)).astype(float),
        "photon ET": ak.to_numpy(ak.flatten(events.EFlowPhoton.ET)).astype(float),
        "neutral-hadron ET": ak.to_numpy(ak.flatten(events.EFlowNeutralHadron.ET)).astype(float),
    }
    return Measured(per_event, spectra)


def merge(parts: list[Measured]) -> Measured:
    return Measured(
        {k: np.concatenate([p.per_event[k] for p in parts]) for k in parts[0].per_event},
        {k: np.concatenate([p.spectra[k] for p in parts]) for k in parts[0].spectra},
    )


INTEGER = {
    "tracks", "photons", "neutral hadrons", "jets (pT > 30)", "b-tags (pT > 30)",
    "electrons (pT > 23)", "muons (pT > 23)", "selected", "HLF nJets", "HLF nBjets",
}  # fmt: skip


def binned_chi2(a: np.ndarray, b: np.ndarray, integer: bool) -> tuple[float, int, float]:
    """Two-sample chi2 of the normalised histograms (bins with fewer than 5 expected entries
    merged into their neighbour), its degrees of freedom and p-value."""
    from scipy.stats import chi2

    both = np.concatenate([a, b])
    if integer:
        edges = np.arange(np.floor(both.min()) - 0.5, np.ceil(both.max()) + 1.5)
    else:
        edges = np.unique(np.quantile(both, np.linspace(0, 1, 21)))
        edges[-1] = np.nextafter(edges[-1], np.inf)
    if len(edges) < 3:
        return 0.0, 0, 1.0
    ha, _ = np.histogram(a, edges)
    hb, _ = np.histogram(b, edges)
    # merge sparse bins (left to right) so that each bin has >= 5 entries in both samples
    ma, mb, ca, cb = [], [], 0, 0
    for x, y in zip(ha, hb, strict=True):
        ca, cb = ca + x, cb + y
        if ca >= 5 and cb >= 5:
            ma.append(ca), mb.append(cb)
            ca = cb = 0
    if ma:
        ma[-1] += ca
        mb[-1] += cb
    ha, hb = np.array(ma, float), np.array(mb, float)
    if len(ha) < 2:
        return 0.0, 0, 1.0
    na, nb = ha.sum(), hb.sum()
    statistic = float(np.sum((nb * ha - na * hb) ** 2 / (na * nb * (ha + hb))))
    ndf = len(ha) - 1
    return statistic, ndf, float(chi2.sf(statistic, ndf))


@dataclass
class Row:
    quantity: str
    events: int
    delphes: float
    ours: float
    shift: float
    shift_error: float
    relative: float
    chi2_ndf: str
    chi2_p: float
    ks_p: float
    target: str
    passed: bool


def compare_quantity(name: str, theirs: np.ndarray, mine: np.ndarray) -> Row | None:
    from scipy.stats import ks_2samp

    both = np.isfinite(theirs) & np.isfinite(mine)
    m = int(both.sum())
    if min(m, np.isfinite(theirs).sum(), np.isfinite(mine).sum()) < MIN_EVENTS:
        return None  # too few to test anything (HLF of a sample that selects ~nothing)
    difference = mine[both] - theirs[both]
    shift, error = float(difference.mean()), float(difference.std(ddof=1) / np.sqrt(m))
    reference = float(theirs[both].mean())
    relative = shift / reference if reference else float("nan")
    # spectra over each side's own events (a side may select an event the other does not)
    a, b = theirs[np.isfinite(theirs)], mine[np.isfinite(mine)]
    statistic, ndf, chi2_p = binned_chi2(a, b, name in INTEGER)
    ks_p = float(ks_2samp(a, b, method="asymp").pvalue)
    allowed = SHIFT_TARGETS.get(name, 0.05)
    shift_ok = abs(shift) <= max(allowed * abs(reference), 2 * error)
    spectra_ok = chi2_p > P_MIN and ks_p > P_MIN
    target = f"shift ≤ {allowed:.0%} or 2σ; χ², KS p > {P_MIN}"
    return Row(name, m, reference, float(mine[both].mean()), shift, error, relative,
               f"{statistic:.1f}/{ndf}", chi2_p, ks_p, target, shift_ok and spectra_ok)  # fmt: skip


def bin_rows(name: str, theirs: np.ndarray, mine: np.ndarray, edges: np.ndarray) -> list[Row]:
    """Per-bin ratios of two spectra of the same events (counts, not shapes: the same events
    should give the same number of objects in each bin)."""
    allowed = BIN_TARGETS[name]
    ht, _ = np.histogram(theirs, edges)
    hm, _ = np.histogram(mine, edges)
    rows = []
    for low, high, t, m in zip(edges[:-1], edges[1:], ht, hm, strict=True):
        if t == 0:
            continue
        ratio = m / t
        error = ratio * np.sqrt(1 / max(m, 1) + 1 / t)
        label = f"{name} {low:g}–{high:g}" if high < 1e4 else f"{name} > {low:g}"
        rows.append(Row(label, int(t), float(t), float(m), ratio - 1, error, ratio - 1, "", 1.0,
                        1.0, f"count ratio within {allowed:.0%} or 2σ",
                        abs(ratio - 1) <= max(allowed, 2 * error)))  # fmt: skip
    return rows


def met_rows(theirs: np.ndarray, mine: np.ndarray, rng: np.random.Generator) -> list[Row]:
    """QCD's fake MET: the median and P(MET > 20 GeV) within 1 sigma of Delphes' (its
    bootstrap error for the median, the binomial one for the fraction)."""
    medians = [np.median(rng.choice(theirs, len(theirs))) for _ in range(200)]
    sigma_median = float(np.std(medians))
    rows = []
    for label, t, m, sigma in (
        ("MET median", float(np.median(theirs)), float(np.median(mine)), sigma_median),
        ("P(MET > 20 GeV)", float(np.mean(theirs > 20)), float(np.mean(mine > 20)),
         float(np.sqrt(np.mean(theirs > 20) * (1 - np.mean(theirs > 20)) / len(theirs)))),
    ):  # fmt: skip
        rows.append(Row(label, len(theirs), t, m, m - t, sigma, (m - t) / t if t else np.nan,
                        "", 1.0, 1.0, "within 1σ of Delphes", abs(m - t) <= sigma))  # fmt: skip
    return rows


#: The reference's fractions of raw events (docs/reference.md §1.3): with an e/mu above
#: 23 GeV before isolation ("pre-filter"), and selected (one isolated lepton). Its samples'
#: generator filters are unknown; the ratio of the two (how often an event with a hard lepton
#: passes the isolation) does not depend on them.
REFERENCE_FRACTIONS = {
    "wjets": (9_983_864 / 14_354_796, 9_776_447 / 14_354_796),
    "ttbar": (18_030_116 / 26_335_315, 14_265_397 / 26_335_315),
    "qcd": (9_743_725 / 13_780_026, 1_426_626 / 13_780_026),
}


def summary(measured: Measured) -> dict[str, float]:
    """What the detector preset decision looks at: the hard-lepton and selected fractions,
    their ratio, and the selected events' jets, b-tags, HT and lepton-jet overlap."""
    e = measured.per_event
    hard = (e["electrons (pT > 23)"] + e["muons (pT > 23)"]) > 0
    selected = e["selected"] > 0
    n = len(selected)

    def among(name: str) -> float:
        return float(np.nanmean(e[name][selected])) if selected.any() else float("nan")

    return {
        "events": n,
        "hard lepton": float(hard.mean()),
        "selected": float(selected.mean()),
        "selected error": float(np.sqrt(selected.mean() * (1 - selected.mean()) / n)),
        "selected / hard lepton": float(selected.sum() / max(hard.sum(), 1)),
        "jets": among("jets (pT > 30)"),
        "b-tags": among("b-tags (pT > 30)"),
        "HT": among("HT (jets pT > 30)"),
        "overlap": among("lepton with a jet within 0.4"),
    }


#: The quantities drawn, per process and preset (overlaid, with ratio panels).
PLOTTED = ("tracks", "photons", "neutral hadrons", "jets (pT > 30)", "b-tags (pT > 30)",
           "leading lepton pT", "MET", "HT (jets pT > 30)", "MT (leading lepton)",
           "HLF LepIsoCh", "HLF LepIsoGamma", "HLF LepIsoNeu", "HLF nJets", "HLF HT",
           "HLF MET")  # fmt: skip


def plot(delphes, ours, title: str, path: Path, label: str, card: str) -> None:
    """Overlaid normalised histograms with ratio panels, one panel pair per quantity."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    def enough(name: str) -> bool:
        return min(np.isfinite(delphes[name]).sum(), np.isfinite(ours[name]).sum()) >= MIN_EVENTS

    names = [k for k in PLOTTED if k in delphes and enough(k)]
    columns = 5
    rows = -(-len(names) // columns)
    with plt.style.context(mplhep.style.CMS):
        figure = plt.figure(figsize=(5 * columns, 5.2 * rows))
        grid = figure.add_gridspec(rows * 2, columns, height_ratios=[3, 1] * rows, hspace=0.5)
        for k, name in enumerate(names):
            r, c = divmod(k, columns)
            top = figure.add_subplot(grid[2 * r, c])
            bottom = figure.add_subplot(grid[2 * r + 1, c], sharex=top)
            theirs_all, ours_all = delphes[name], ours[name]
            theirs_all = theirs_all[np.isfinite(theirs_all)]
            ours_all = ours_all[np.isfinite(ours_all)]
            both = np.concatenate([theirs_all, ours_all])
            both = both[np.isfinite(both)]
            if len(both) == 0:
                continue
            low, high = np.percentile(both, [0.5, 99.5])
            integer = name in INTEGER and high - low < 30
            if integer or high - low < 1e-9:
                edges = np.arange(np.floor(low) - 0.5, np.ceil(high) + 1.5)
            else:
                edges = np.linspace(low, high, 26)
            counts = {}
            sides = ((theirs_all, f"Delphes ({card})", "step"),
                     (ours_all, f"dltrigger ({label})", "errorbar"))  # fmt: skip
            for values, what, style in sides:
                h, _ = np.histogram(values, edges)
                total = max(h.sum(), 1)
                counts[what] = (h / total, np.sqrt(h) / total)
                mplhep.histplot(h / total, edges, yerr=np.sqrt(h) / total, histtype=style,
                                label=what, ax=top)  # fmt: skip
            (dh, _), (oh, oe) = counts.values()
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(dh > 0, oh / dh, np.nan)
                error = np.where(dh > 0, oe / dh, np.nan)
            centres = 0.5 * (edges[1:] + edges[:-1])
            bottom.errorbar(centres, ratio, yerr=error, fmt="o", markersize=3)
            bottom.axhline(1, color="grey", lw=1)
            bottom.set_ylim(0, 2)
            bottom.set_ylabel("ours / Delphes", fontsize=11)
            top.set_title(name, fontsize=14)
            top.tick_params(labelsize=10)
            bottom.tick_params(labelsize=10)
            if k == 0:
                top.legend(fontsize=10)
        figure.suptitle(title, fontsize=20, y=0.995)
        figure.savefig(path, dpi=60, bbox_inches="tight")
        plt.close(figure)


def compare_all(args: argparse.Namespace) -> int:
    results: dict = {"presets": args.presets, "targets": TARGETS, "processes": {}}
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    for process in args.processes:
        chunks = sorted(p.parent for p in (args.out / process).glob("*/done.json"))
        if not chunks:
            print(f"{process}: nothing prepared", flush=True)
            continue
        measured: dict[str, list[Measured]] = {}
        generated = 0
        for folder in chunks:
            info = json.loads((folder / "done.json").read_text())
            generated += info["generated"]
            events = ak.from_parquet(folder / "events.parquet")
            for card in {PAIRS[p] for p in args.presets}:
                measured.setdefault(f"delphes {card}", []).append(
                    quantities(folder / f"delphes_{card}.root")
                )
            for preset in args.presets:
                out = folder / f"dltrigger_{preset}.root"
                simulate_file(events, preset, info["seed"], out)
                measured.setdefault(f"dltrigger {preset}", []).append(quantities(out))
        merged = {k: merge(v) for k, v in measured.items()}
        n = len(chunks) * CHUNK
        entry: dict = {"events": n, "generated": generated, "comparisons": {},
                       "summary": {k: summary(v) for k, v in merged.items()}}  # fmt: skip
        for preset in args.presets:
            card = PAIRS[preset]
            theirs, mine = merged[f"delphes {card}"], merged[f"dltrigger {preset}"]
            compared = (compare_quantity(k, theirs.per_event[k], mine.per_event[k])
                        for k in theirs.per_event)  # fmt: skip
            rows = [r for r in compared if r is not None]
            for name, edges in (("track pT", TRACK_PT_EDGES), ("photon ET", TOWER_ET_EDGES),
                                ("neutral-hadron ET", TOWER_ET_EDGES)):  # fmt: skip
                rows += bin_rows(name, theirs.spectra[name], mine.spectra[name], edges)
            if process == "qcd_nofilter":
                rows += met_rows(theirs.per_event["MET"], mine.per_event["MET"], rng)
            entry["comparisons"][preset] = {"card": card, "rows": [asdict(r) for r in rows]}
            if args.report:
                plot(theirs.per_event, mine.per_event,
                     f"{process}: dltrigger '{preset}' vs Delphes '{card}' card, {n} events",
                     args.report.parent / f"{process}_{preset}.png", preset, card)  # fmt: skip
            passed = sum(r.passed for r in rows)
            print(f"{process} ({n} events): {preset} vs Delphes {card}: {passed} of "
                  f"{len(rows)} targets met", flush=True)  # fmt: skip
            for r in rows:
                print(f"  {'pass' if r.passed else 'FAIL'}  {r.quantity}: Delphes {r.delphes:.4g}"
                      f", ours {r.ours:.4g}, shift {r.shift:+.4g} ± {r.shift_error:.2g}"
                      f" ({r.relative:+.1%}) χ² {r.chi2_ndf} p {r.chi2_p:.2g}"
                      f" KS p {r.ks_p:.2g}")  # fmt: skip
        results["processes"][process] = entry
    (args.out / "comparison.json").write_text(json.dumps(results, indent=1, default=float))
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(report(results))
        print(f"report: {args.report}")
    return 0


def _number(value: float) -> str:
    if not np.isfinite(value):
        return "—"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"


def report(results: dict) -> str:
    """The paired tables in Markdown, one per process and preset."""
    lines = [
        "# dltrigger's detector simulation vs Delphes 3.5.1, event by event",
        "",
        "Written by `validation/delphes_compare.py compare` (discussion: [../validation.md]"
        "(../validation.md)). The same Pythia events through both simulations. *Shift*: the "
        "mean per-event difference, dltrigger minus Delphes, with its error from the spread "
        "of the differences; *rel.*: the shift over Delphes' mean; χ²/ndf and KS p: whole "
        "spectra (each side's own events). Targets: " + results["targets"] + ".",
        "",
    ]
    lines += [
        "## Which detector preset: the selection as the reference's",
        "",
        "Per sample and simulation: events with an e/μ above 23 GeV in the lepton collections "
        "(before any isolation), events selected (one isolated lepton), the ratio of the two "
        "(independent of the generator filter), and the selected events' means. The "
        "reference's raw-event fractions: docs/reference.md §1.3.",
        "",
        "| sample | simulation | events | e/μ > 23 | selected | selected / e/μ > 23 | jets "
        "| b-tags | HT | lepton in a jet |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for process, data in results["processes"].items():
        if process in REFERENCE_FRACTIONS:
            hard, chosen = REFERENCE_FRACTIONS[process]
            lines.append(f"| {process} | **reference's data** | — | {hard:.1%} | {chosen:.1%} | "
                         f"{chosen / hard:.3f} | — | — | — | — |")  # fmt: skip
        for side, m in data["summary"].items():
            lines.append(
                f"| {process} | {side} | {m['events']:,} | {m['hard lepton']:.1%} | "
                f"{m['selected']:.1%} ± {m['selected error']:.1%} | "
                f"{m['selected / hard lepton']:.3f} | {_number(m['jets'])} | "
                f"{_number(m['b-tags'])} | {_number(m['HT'])} | {_number(m['overlap'])} |"
            )
    lines.append("")
    for process, data in results["processes"].items():
        for preset, comparison in data["comparisons"].items():
            rows = comparison["rows"]
            passed = sum(r["passed"] for r in rows)
            lines += [
                f"## {process}: `{preset}` preset vs Delphes `{comparison['card']}` card",
                "",
                f"{data['events']:,} events ({data['generated']:,} generated before the "
                f"generator filter). Targets met: **{passed} of {len(rows)}**. Plots: "
                f"[{process}_{preset}.png]({process}_{preset}.png)",
                "",
                "| quantity | events | Delphes | dltrigger | shift | rel. | χ²/ndf | χ² p | KS p "
                "| pass |",
                "|---|---|---|---|---|---|---|---|---|---|",
            ]
            for r in rows:
                spectrum = bool(r["chi2_ndf"])
                lines.append(
                    f"| {r['quantity']} | {r['events']:,} | {_number(r['delphes'])} | "
                    f"{_number(r['ours'])} | {r['shift']:+.3g} ± {r['shift_error']:.2g} | "
                    f"{r['relative']:+.1%} | {r['chi2_ndf'] or '—'} | "
                    f"{format(r['chi2_p'], '.2g') if spectrum else '—'} | "
                    f"{format(r['ks_p'], '.2g') if spectrum else '—'} | "
                    f"{'yes' if r['passed'] else '**no**'} |"
                )
            lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=["prepare", "refresh", "compare"])
    parser.add_argument("--delphes", type=Path, default=Path("/tmp/delphes-install"),
                        help="Delphes install prefix (bin/DelphesHepMC2, cards/)")  # fmt: skip
    parser.add_argument("--root-venv", type=Path, default=Path("/tmp/rootvenv"),
                        help="venv with the ROOT wheel Delphes was built with")  # fmt: skip
    parser.add_argument("--events", type=int, default=5000, help="events per process (prepare)")
    parser.add_argument("--processes", default=",".join(PROCESSES))
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--out", type=Path, default=Path("/tmp/dltrigger-validation"))
    parser.add_argument("--presets", default=",".join(PAIRS))
    parser.add_argument("--report", type=Path, help="write the Markdown tables here (compare)")
    parser.add_argument("--first-chunk", type=int, default=0, help="prepare: start here")
    parser.add_argument(
        "--reclaim", action="store_true", help="prepare: redo chunks a killed run had taken"
    )
    args = parser.parse_args()
    args.processes = [p.strip() for p in args.processes.split(",") if p.strip()]
    args.presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    return {"prepare": prepare, "refresh": refresh, "compare": compare_all}[args.step](args)


if __name__ == "__main__":
    sys.exit(main())
