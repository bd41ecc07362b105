"""The same Pythia events through genuine Delphes and through dltrigger's detector simulation.

    python validation/delphes_compare.py --delphes /tmp/delphes-install --root-venv /tmp/rootvenv

(``--delphes``: the install prefix of the recipe ``shared/delphes/make_real_delphes.sh``,
with ``bin/DelphesHepMC2`` and ``cards/``; ``--root-venv``: the virtual environment holding the
``root`` wheel Delphes was built against.) Per process (W+jets, ttbar, QCD):

1. Pythia 8 with dltrigger's own process settings (``dltrigger.generate.processes``, MPI on,
   its generator filters) writes the events as HepMC2 and keeps them in memory;
2. Delphes 3.5.1 simulates the HepMC file with the standard CMS card (``cms``: isolated
   ``Electron``/``Muon``) and with that card's two lepton isolation cuts relaxed (``noiso``,
   the recipe's third card), seeded;
3. dltrigger's simulation simulates the same events with each detector preset, and with the
   simulation as it was before this comparison (``legacy``);
4. every file goes through dltrigger's reader, selection and the 14 HLF, and the two sides
   of each pair (``cms`` preset / ``cms`` card, ``reference`` / ``noiso``, ``legacy`` /
   ``noiso``) are compared: means with their errors, a two-sample Kolmogorov-Smirnov test,
   overlaid normalised histograms with ratio panels.

Writes ``<out>/`` (HepMC, ROOT files, ``comparison.json``) and, with ``--report``, the
Markdown report and its plots beside it. Not part of CI: it needs the Delphes build.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import hepmc2  # noqa: E402

PROCESSES = ("wjets", "ttbar", "qcd")
#: Which Delphes card each dltrigger detector preset is compared with.
PAIRS = {"cms": "cms", "reference": "noiso", "legacy": "noiso"}
#: Lepton pT threshold of the selection (reference-pipeline.md §2), used for the overlap count.
LEPTON_PT_MIN = 23.0


def delphes_cards(prefix: Path, work: Path) -> dict[str, Path]:
    """The standard CMS card, and the same card with its electron and muon isolation cuts
    relaxed (as the recipe's third card), with a fixed random seed (the card sets none)."""
    standard = (prefix / "cards" / "delphes_card_CMS.tcl").read_text()
    seeded = "set RandomSeed 12345\n" + standard
    noiso, inside = [], None
    for line in seeded.splitlines():
        if line.startswith("module Isolation ElectronIsolation") or line.startswith(
            "module Isolation MuonIsolation"
        ):
            inside = True
        if inside and line.strip().startswith("set PTRatioMax"):
            line = "  set PTRatioMax 1e9"
        if inside and line.startswith("}"):
            inside = None
        noiso.append(line)
    relaxed = "\n".join(noiso) + "\n"
    if relaxed.count("PTRatioMax 1e9") != 2:
        raise SystemExit("could not relax the two lepton isolation cuts of the CMS card")
    cards = {"cms": work / "card_cms.tcl", "noiso": work / "card_cms_noiso.tcl"}
    cards["cms"].write_text(seeded)
    cards["noiso"].write_text(relaxed)
    return cards


def generate(process: str, n: int, seed: int, hepmc_path: Path) -> ak.Array:
    """``n`` events of ``process`` (after its generator filter) as HepMC2 and in memory."""
    from dltrigger.config import GenerateConfig
    from dltrigger.generate.processes import common_settings, process_definition
    from dltrigger.generate.pythia_source import (
        _flat_events,
        _PythiaInstance,
        passes_lepton_filter,
    )

    settings = GenerateConfig().settings(process)
    definition = process_definition(settings)
    rng = np.random.default_rng(seed)
    first = definition.variants[0].settings if definition.variants else ()
    instance = _PythiaInstance(common_settings(seed, True) + definition.settings + first)
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
    print(f"  {process}: {n} events kept of {tried} generated", flush=True)
    return ak.concatenate(kept)


def run_delphes(prefix: Path, root_venv: Path, card: Path, hepmc: Path, out: Path) -> float:
    """``DelphesHepMC2 card out hepmc``; returns its seconds."""
    site = next((root_venv / "lib").glob("python3*/site-packages"))
    env = dict(os.environ)
    libs = [str(site / "root.libs"), str(site / "ROOT" / "lib")]
    env["LD_LIBRARY_PATH"] = ":".join([*libs, env.get("LD_LIBRARY_PATH", "")])
    out.unlink(missing_ok=True)
    start = time.perf_counter()
    result = subprocess.run(
        [str(prefix / "bin" / "DelphesHepMC2"), str(card), str(out), str(hepmc)],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode:
        raise SystemExit(f"DelphesHepMC2 failed on {hepmc}:\n{result.stdout[-2000:]}")
    return time.perf_counter() - start


def simulate_file(events: ak.Array, preset: str, seed: int, out: Path) -> float:
    """dltrigger's simulation of ``events`` with detector ``preset``, written to ``out``."""
    from dltrigger.generate.detector import simulate
    from dltrigger.generate.detector_card import DETECTOR_PRESETS
    from dltrigger.io.delphes_writer import DelphesWriter

    start = time.perf_counter()
    collections = simulate(events, np.random.default_rng(seed), DETECTOR_PRESETS[preset])
    number = np.arange(len(events), dtype=np.int64)
    collections["Event"] = ak.unflatten(ak.zip({"Number": number}), np.ones_like(number))
    with DelphesWriter(out, uuid_seed=seed) as writer:
        writer.extend(collections)
    return time.perf_counter() - start


def quantities(path: Path) -> dict[str, np.ndarray]:
    """Per-event quantities of one Delphes-format file, through dltrigger's own reader,
    collection detection, selection and HLF (so both simulations are measured alike)."""
    import pyarrow as pa

    from dltrigger.config import CollectionsConfig, FeaturesConfig
    from dltrigger.features.collections import physics_table, resolve_collections
    from dltrigger.features.compute import compute_features
    from dltrigger.io.root_layout import top_level_names
    from dltrigger.io.root_reader import infer_layout, open_tree, read_record_batch
    from dltrigger.physics.events import events_from_arrow
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
    jet_column = table.column(collections.names["jets"])  # every member: Phi too
    jets = events_from_arrow(pa.table({"Jet": jet_column})).Jet
    good = jets[(jets.PT > 30) & (np.abs(jets.Eta) < 2.6)]
    leptons = ak.concatenate([events.Electron[["PT", "Eta", "Phi"]],
                              events.MuonTight[["PT", "Eta", "Phi"]]], axis=1)  # fmt: skip
    leptons = leptons[ak.argsort(leptons.PT, ascending=False)]
    hard = leptons[leptons.PT > LEPTON_PT_MIN]
    pairs = ak.cartesian({"l": hard, "j": jets}, nested=True)
    near = ak.any(delta_r(pairs.l.Eta, pairs.l.Phi, pairs.j.Eta, pairs.j.Phi) < 0.4, axis=-1)
    met = ak.firsts(events.MissingET)
    lead = ak.firsts(hard)
    has = ~ak.is_none(lead)
    mt = transverse_mass(
        *(np.asarray(ak.to_numpy(x[has])) for x in (lead.PT, lead.Phi, met.MET, met.Phi))
    )
    computed = compute_features(table, FeaturesConfig(), collections, str(path))
    out = {
        "tracks": ak.to_numpy(ak.num(events.EFlowTrack)),
        "photons": ak.to_numpy(ak.num(events.EFlowPhoton)),
        "neutral hadrons": ak.to_numpy(ak.num(events.EFlowNeutralHadron)),
        "jets (pT > 30)": ak.to_numpy(ak.num(good)),
        "b-tags (pT > 30)": ak.to_numpy(ak.sum(good.BTag > 0, axis=1)),
        "electrons (pT > 23)": ak.to_numpy(ak.num(events.Electron[events.Electron.PT > 23])),
        "muons (pT > 23)": ak.to_numpy(ak.num(events.MuonTight[events.MuonTight.PT > 23])),
        "leading lepton pT": np.asarray(ak.to_numpy(lead.PT[has])),
        "leading lepton eta": np.asarray(ak.to_numpy(lead.Eta[has])),
        "MET": ak.to_numpy(met.MET),
        "HT (jets pT > 30)": ak.to_numpy(ak.sum(good.PT, axis=1)),
        "MT (leading lepton)": np.asarray(mt),
        "lepton with a jet within 0.4": ak.to_numpy(ak.flatten(near)).astype(float),
        "selected": np.isin(np.arange(n), computed.kept).astype(float),
    }
    for i, name in enumerate(HLF_NAMES):
        out[f"HLF {name}"] = computed.hlf[:, i]
    return out


MULTIPLICITIES = ("jets (pT > 30)", "electrons (pT > 23)", "muons (pT > 23)")


@dataclass
class Row:
    quantity: str
    delphes: float
    delphes_error: float
    ours: float
    ours_error: float
    ks_p: float | None
    target: str
    met: bool | None

    @property
    def ratio(self) -> float | None:
        return self.ours / self.delphes if self.delphes else None


def _mean(values: np.ndarray) -> tuple[float, float]:
    if len(values) == 0:
        return float("nan"), float("nan")
    error = float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0
    return float(np.mean(values)), error


def compare(delphes: dict[str, np.ndarray], ours: dict[str, np.ndarray]) -> list[Row]:
    """Means, errors, KS p-values and the issue's target for every quantity."""
    from scipy.stats import ks_2samp

    rows = []
    for name, theirs in delphes.items():
        mine = ours[name]
        (d, de), (o, oe) = _mean(theirs), _mean(mine)
        ks = None
        if len(theirs) > 1 and len(mine) > 1:
            ks = float(ks_2samp(theirs, mine, method="asymp").pvalue)
        combined = float(np.hypot(de, oe))
        close = abs(o - d) <= max(0.05 * abs(d), 2 * combined) if np.isfinite(d + o) else None
        if name.startswith("HLF ") or name in MULTIPLICITIES:
            target, met = "mean within 5% or 2σ", close
        elif name == "selected":
            relative = abs(o - d) <= max(0.10 * d, 2 * combined)
            target, met = "within 10% relative or 2σ", relative
        elif name == "lepton with a jet within 0.4":
            target, met = "equal (2σ)", abs(o - d) <= max(2 * combined, 1e-9)
        else:
            target, met = "—", None
        rows.append(Row(name, d, de, o, oe, ks, target, met))
    return rows


def plot(delphes, ours, title: str, path: Path, label: str, card: str) -> None:
    """Overlaid normalised histograms with ratio panels, one panel pair per quantity."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    names = [k for k in delphes if k not in ("selected",)]
    columns = 5
    rows = -(-len(names) // columns)
    with plt.style.context(mplhep.style.CMS):
        figure = plt.figure(figsize=(5 * columns, 5.2 * rows))
        grid = figure.add_gridspec(rows * 2, columns, height_ratios=[3, 1] * rows, hspace=0.5)
        for k, name in enumerate(names):
            r, c = divmod(k, columns)
            top = figure.add_subplot(grid[2 * r, c])
            bottom = figure.add_subplot(grid[2 * r + 1, c], sharex=top)
            both = np.concatenate([delphes[name], ours[name]])
            both = both[np.isfinite(both)]
            if len(both) == 0:
                continue
            low, high = np.percentile(both, [0.5, 99.5])
            integer = name in MULTIPLICITIES or name in ("b-tags (pT > 30)", "HLF nJets",
                                                         "HLF nBjets")  # fmt: skip
            if integer or high - low < 1e-9:
                edges = np.arange(np.floor(low) - 0.5, np.ceil(high) + 1.5)
            else:
                edges = np.linspace(low, high, 26)
            counts = {}
            sides = ((delphes[name], f"Delphes ({card})", "step"),
                     (ours[name], f"dltrigger ({label})", "errorbar"))  # fmt: skip
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delphes", type=Path, default=Path("/tmp/delphes-install"),
                        help="Delphes install prefix (bin/DelphesHepMC2, cards/)")  # fmt: skip
    parser.add_argument("--root-venv", type=Path, default=Path("/tmp/rootvenv"),
                        help="venv with the ROOT wheel Delphes was built with")  # fmt: skip
    parser.add_argument("--events", type=int, default=500, help="events per process")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--out", type=Path, default=Path("/tmp/dltrigger-validation"))
    parser.add_argument("--presets", default="legacy,reference,cms")
    parser.add_argument("--report", type=Path,
                        help="write the Markdown tables here, the plots beside them")  # fmt: skip
    args = parser.parse_args()
    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    args.out.mkdir(parents=True, exist_ok=True)
    cards = delphes_cards(args.delphes, args.out)
    results: dict = {"events": args.events, "seed": args.seed, "processes": {}}
    plots_dir = args.report.parent if args.report else args.out / "plots"
    plots_dir.mkdir(parents=True, exist_ok=True)
    for i, process in enumerate(PROCESSES):
        print(f"{process}:", flush=True)
        hepmc = args.out / f"{process}.hepmc"
        events = generate(process, args.events, args.seed + i, hepmc)
        measured: dict[str, dict] = {}
        timing = {}
        for card, path in cards.items():
            out = args.out / f"delphes_{card}_{process}.root"
            timing[f"delphes {card}"] = run_delphes(args.delphes, args.root_venv, path, hepmc, out)
            measured[f"delphes {card}"] = quantities(out)
        for preset in presets:
            out = args.out / f"dltrigger_{preset}_{process}.root"
            timing[f"dltrigger {preset}"] = simulate_file(events, preset, args.seed + i, out)
            measured[f"dltrigger {preset}"] = quantities(out)
        comparisons = {}
        for preset in presets:
            card = PAIRS[preset]
            rows = compare(measured[f"delphes {card}"], measured[f"dltrigger {preset}"])
            comparisons[preset] = {"card": card, "rows": [vars(r) for r in rows]}
            plot(measured[f"delphes {card}"], measured[f"dltrigger {preset}"],
                 f"{process}: dltrigger '{preset}' vs Delphes '{card}' card, {args.events} events",
                 plots_dir / f"{process}_{preset}.png", preset, card)  # fmt: skip
        results["processes"][process] = {"timing_s": timing, "comparisons": comparisons}
        print(f"  timing: {json.dumps({k: round(v, 1) for k, v in timing.items()})}", flush=True)
    (args.out / "comparison.json").write_text(json.dumps(results, indent=2, default=float))
    if args.report:
        args.report.write_text(report(results, ".", presets))
        print(f"report: {args.report}")
    return 0


def _fmt(value: float, error: float) -> str:
    if not np.isfinite(value):
        return "—"
    digits = 3 if abs(value) < 10 else 1
    return f"{value:.{digits}f} ± {error:.{digits}f}"


def report(results: dict, plots: str, presets: list[str]) -> str:
    """The comparison tables in Markdown (one per process and preset)."""
    lines = [
        "# dltrigger's detector simulation vs Delphes 3.5.1: the tables",
        "",
        "Written by `validation/delphes_compare.py` (the discussion: [../validation.md]"
        "(../validation.md)). Means with their statistical errors; KS p: two-sample "
        "Kolmogorov-Smirnov test; ratio: dltrigger / Delphes.",
        "",
    ]
    for process, data in results["processes"].items():
        for preset in presets:
            comparison = data["comparisons"][preset]
            rows = comparison["rows"]
            met = [r for r in rows if r["met"] is not None]
            passed = sum(bool(r["met"]) for r in met)
            lines += [
                f"### {process}: `{preset}` preset vs Delphes `{comparison['card']}` card",
                "",
                f"Targets met: {passed} of {len(met)}. Plots: "
                f"[{process}_{preset}.png]({plots}/{process}_{preset}.png)",
                "",
                "| quantity | Delphes | dltrigger | ratio | KS p | target | met |",
                "|---|---|---|---|---|---|---|",
            ]
            for r in rows:
                ratio = r["ours"] / r["delphes"] if r["delphes"] else float("nan")
                ks = f"{r['ks_p']:.2g}" if r["ks_p"] is not None else "—"
                mark = {True: "yes", False: "**no**", None: ""}[r["met"]]
                lines.append(
                    f"| {r['quantity']} | {_fmt(r['delphes'], r['delphes_error'])} | "
                    f"{_fmt(r['ours'], r['ours_error'])} | "
                    f"{ratio:.3f} | {ks} | {r['target']} | {mark} |"
                    if np.isfinite(ratio)
                    else f"| {r['quantity']} | {_fmt(r['delphes'], r['delphes_error'])} | "
                    f"{_fmt(r['ours'], r['ours_error'])} | — | {ks} | {r['target']} | {mark} |"
                )
            lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
