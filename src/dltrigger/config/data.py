"""``[ingest]`` and ``[features]``: the samples read, and the features and datasets made."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ._base import LABELS, _Output, _overwrite, _Strict


class SampleConfig(_Strict):
    """One physics sample to ingest: its class label and where its ROOT files are."""

    label: int = Field(ge=0)
    paths: list[str] = Field(
        default_factory=list,
        description=(
            "Files, folders, globs or ``root://host:port//path`` URLs; empty: for a generated "
            "process, its files in generate.out."
        ),
    )
    aliases: list[str] = Field(
        default_factory=list,
        description=(
            "File-name prefixes that identify this sample's files given on the command line "
            "(``wjets_3.root`` -> ``wjets``; the reference's ``Wlnu_lepFilter_13TeV_819.root``)."
        ),
    )


def _default_samples() -> dict[str, SampleConfig]:
    # No paths: the generated files of the class, <generate.out>/<process>_<index>.root
    # (Config.resolved).
    return {
        "qcd": SampleConfig(label=LABELS["qcd"], aliases=["qcd_lepFilter_13TeV"]),
        "ttbar": SampleConfig(label=LABELS["ttbar"], aliases=["ttbar_lepFilter_13TeV"]),
        "wjets": SampleConfig(label=LABELS["wjets"], aliases=["Wlnu_lepFilter_13TeV", "Wlnu"]),
    }


class IngestConfig(_Output):
    """Settings of ``dltrigger ingest`` (ROOT -> Spark -> Parquet)."""

    samples: dict[str, SampleConfig] = Field(default_factory=_default_samples)
    inputs: list[str] = Field(
        default_factory=list,
        description=(
            "Files, folders, globs or URLs read instead of the samples' paths, each assigned "
            "to a sample by its file-name prefix (wjets_3.root, Wlnu_lepFilter_13TeV_1.root)."
        ),
        json_schema_extra={"cli": {"positional": "INPUT"}},
    )
    out: Path = Field(default=Path("data/ingested"), description="Output folder (Parquet dataset).")
    tree: str = Field(default="Delphes", description="Name of the tree read in every file.")
    branches: list[str] = Field(
        default_factory=list,
        description="Collections or branches to read (empty: every readable branch).",
    )
    partition_bytes: int = Field(
        default=128 * 2**20,
        gt=0,
        description=(
            "Bytes on disk per Spark partition (larger files are cut into cluster-aligned slices, "
            "smaller ones packed together; lowered so that every core gets work)."
        ),
    )
    batch_events: int = Field(
        default=100_000,
        gt=0,
        description=(
            "Bounds of one Arrow batch inside a task (the memory a task holds at a time): entries,"
            " and uncompressed bytes of the branches read."
        ),
    )
    batch_bytes: int = Field(default=256 * 2**20, gt=0, description="See batch_events.")
    skip_bad_files: bool = Field(
        default=False,
        description="Leave out unreadable files (listed in the report) instead of failing.",
    )
    overwrite: bool = _overwrite()
    remote_timeout: float = Field(
        default=30.0,
        gt=0,
        description=(
            "Seconds before an unreachable or unresponsive ``root://`` server fails the read "
            "(XRootD connection window and request timeout; the client's own default waits for "
            "minutes)."
        ),
    )


#: The physics objects the features read, each from one ingested collection.
COLLECTION_ROLES = ("electrons", "muons", "tracks", "photons", "neutral_hadrons", "jets", "met")


class CollectionsConfig(_Strict):
    """Which ingested collection holds each physics object (physics/collections.py).

    ``preset``: ``cms`` (the standard CMS card: ``Muon``), ``phase2`` (the CMS Phase-II cards:
    ``MuonTight``), ``dltrigger`` (our generator: ``MuonTight``), or ``auto``: detected from the
    ingested columns. A name set for a role overrides the preset.
    """

    preset: Literal["auto", "cms", "phase2", "dltrigger"] = "auto"
    electrons: str | None = None
    muons: str | None = None
    tracks: str | None = None
    photons: str | None = None
    neutral_hadrons: str | None = None
    jets: str | None = None
    met: str | None = None


class FeaturesConfig(_Output):
    """Settings of ``dltrigger features`` (selection, HLF, particle lists, datasets)."""

    input: Path | None = Field(
        default=None,
        description="The ingested dataset; unset: ingest.out.",
        json_schema_extra={"cli": {"positional": "INPUT"}},
    )
    out: Path = Field(default=Path("data/features"), description="Output folder of the datasets.")
    overwrite: bool = _overwrite()
    test_fraction: float = Field(
        default=0.2, gt=0, lt=1, description="Share of events in the test split (by a hash)."
    )
    validation_fraction: float = Field(
        default=0.1,
        gt=0,
        lt=1,
        description=(
            "Share of events in the validation split (by the same hash, taken from what would "
            "be training events): it alone chooses the best epoch, stops training early, "
            "schedules the learning rate and ranks grid points; the test split only measures."
        ),
    )
    split_key: Literal["content", "file_entry"] = Field(
        default="content",
        description=(
            'What the split and sampling hashes read: "content", the event\'s content key (its '
            "particle-flow candidates), so every copy of an event lands in the same split "
            'wherever it lies. "file_entry" (file name and entry) is how datasets made before '
            "this setting split, recorded so that they are not compared with newer ones; it is "
            "no longer made (a renamed copy of a file put training events in the test split)."
        ),
    )
    duplicates: Literal["drop", "keep"] = Field(
        default="drop",
        description=(
            "Selected events with the same content key (an event in two files, or twice in "
            'one): counted in the manifest with a warning either way; "drop" keeps one copy '
            '(the lowest source file and entry), "keep" writes them all (throughput runs on '
            "repeated files). Copies share their split either way."
        ),
    )
    balance: bool = Field(
        default=True,
        description=(
            "Also write ``balanced``: every class undersampled to the smallest one "
            "(docs/reference.md §4)."
        ),
    )
    dev_per_class: int = Field(
        default=1000,
        gt=0,
        description=(
            "Events per class in the small ``dev`` dataset (taken from ``balanced``, or ``full``)."
        ),
    )
    order: Literal["descending", "ascending"] = Field(
        default="descending",
        description=(
            'Particle order by ΔR to the lepton ("descending" as the reference: lepton last).'
        ),
    )
    max_tracks: int = Field(default=450, gt=0, description="Tracks kept per event (§3).")
    max_photons: int = Field(default=150, gt=0, description="Photons kept per event (§3).")
    max_neutrals: int = Field(default=200, gt=0, description="Neutral hadrons kept per event (§3).")
    collections: CollectionsConfig = CollectionsConfig()
    empty_classes: Literal["error", "drop"] = Field(
        default="error",
        description=(
            'A class (label) none of whose events passes the selection: "error" stops with its '
            'name; "drop" writes the datasets without it, with a warning and the class in the '
            "manifest."
        ),
    )
    reference_lepton_choice: bool = Field(
        default=False,
        description=(
            "Switches reproducing the reference's quirks (docs/reference.md §11); off = fixed."
        ),
    )
    reference_delta_phi: bool = Field(
        default=False, description="Quirk 2: delta phi wrapped at 2 pi in isolation cones."
    )
    reject_empty_maps: bool = Field(
        default=False, description="Quirk 14: reject events with an empty particle map."
    )
    mt_squared: bool = Field(default=False, description="Quirk 3: MT without the square root.")
    reference_chpfiso: bool = Field(
        default=False,
        description=(
            "Quirk 15: ChPFIso minus 1 for photons and neutral hadrons too (subtractPt everywhere)."
        ),
    )
    reference_track_charge: bool = Field(
        default=False,
        description=(
            "The reference's track charge, sign(PID) (§3.1): the opposite of the charge for e and "
            "mu."
        ),
    )

    @model_validator(mode="after")
    def _split_fractions(self) -> FeaturesConfig:
        if self.test_fraction + self.validation_fraction >= 1:
            raise ValueError(
                f"test_fraction {self.test_fraction:g} + validation_fraction "
                f"{self.validation_fraction:g} leave no training events (their sum must be < 1)"
            )
        return self
