"""Stage 2: event selection, the 14 high-level features, particle lists, split and
scaling statistics (``dltrigger features``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..artifacts import FeaturesDataset, IngestedDataset
from ..results import FeaturesResult
from ..stage import JobFunction, Stage, lazy_attributes, section_settings

if TYPE_CHECKING:
    from ..config import Config
    from .job import run
    from .loading import load

__all__ = ["STAGE", "FeaturesResult", "load", "note", "run", "stages"]

__getattr__ = lazy_attributes(__name__, {"run": ".job", "load": ".loading"})


def note(manifest: dict[str, Any]) -> str:
    """What a user should know of a features run: the collections read, classes dropped."""
    from ..physics.collections import ResolvedCollections

    text = ResolvedCollections(**manifest["collections"]).describe()
    for dropped in manifest.get("dropped_classes", []):
        text += (
            f"; class {dropped['class']} dropped: none of its {dropped['events']:,} events "
            "passes the selection (the models will have no AUC for it)"
        )
    return text


class _Features:
    """The features stage ([`dltrigger.stage.Stage`][])."""

    name = "features"
    kind: str | None = "features"
    section = "features"

    run = JobFunction(__package__, ".job")

    def inputs(self, config: Config) -> list[Path]:
        assert config.features.input is not None  # resolved
        return [IngestedDataset(Path(config.features.input)).report_file]

    def outputs(self, config: Config) -> list[Path]:
        # dev/ is the stage's last dataset (full/ and balanced/ come before it)
        return [FeaturesDataset(Path(config.features.out) / "dev").manifest_file]

    def settings(self, config: Config) -> Any:
        return section_settings(config.features)

    def load(self, config: Config) -> FeaturesResult:
        out = Path(config.features.out)
        manifests = {
            name: FeaturesDataset(out / name).manifest()
            for name in ("full", "balanced", "dev")
            if FeaturesDataset(out / name).manifest_file.exists()
        }
        return FeaturesResult(out=out, seconds=0.0, manifests=manifests)

    def facts(self, result: FeaturesResult) -> dict[str, Any]:
        full = result.manifests["full"]
        efficiency = full["selection_efficiency"].values()
        return {
            "items": sum(e["events"] for e in efficiency),
            "unit": "events in",
            "selected": sum(e["selected"] for e in efficiency),
            "note": note(full),
        }


STAGE: Stage = _Features()


def stages(config: Config) -> list[Stage]:
    return [STAGE]
