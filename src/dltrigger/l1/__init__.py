"""Stage 5b: a Level-1 FPGA trigger path (``dltrigger l1``).

The HLF network quantised after training (``ap_fixed<16,6>``) and during training
(Brevitas, a few bits a number), both made hls4ml projects whose C simulation, built with
g++, emulates the firmware bit for bit; their triggers measured against the float model's on
the test split, and their latency and resources estimated (docs/l1.md). Needs the ``l1``
extra: ``pip install 'dltrigger[l1]'``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..artifacts import L1Output
from ..results import L1Result
from ..stage import JobFunction, Stage, lazy_attributes, section_settings

if TYPE_CHECKING:
    from ..config import Config
    from .job import run

__all__ = ["STAGE", "L1Result", "run", "stages"]

#: The settings of ``[evaluate]`` the L1 rates use (the report's budgets and assumptions).
RATE_SETTINGS = ("input_rate_hz", "class_fractions", "output_rates_hz", "min_background_events")

__getattr__ = lazy_attributes(__name__, {"run": ".job"})


class _L1:
    """The l1 stage ([`dltrigger.stage.Stage`][])."""

    name = "l1"
    kind: str | None = "l1"
    section = "l1"

    run = JobFunction(__package__, ".job")

    def inputs(self, config: Config) -> list[Path]:
        assert config.l1.data is not None and config.l1.run is not None  # resolved
        return [Path(config.l1.data), Path(config.l1.run)]

    def outputs(self, config: Config) -> list[Path]:
        return [L1Output(Path(config.l1.out)).summary_file]

    def settings(self, config: Config) -> Any:
        rates = section_settings(config.evaluate)
        return {"l1": section_settings(config.l1), "rates": {k: rates[k] for k in RATE_SETTINGS}}

    def load(self, config: Config) -> L1Result:
        out = Path(config.l1.out)
        return L1Result(out=out, seconds=0.0, summary=L1Output(out).summary())

    def facts(self, result: L1Result) -> dict[str, Any]:
        return {"items": result.summary["test_events"], "unit": "test events emulated"}


STAGE: Stage = _L1()


def stages(config: Config) -> list[Stage]:
    """``dltrigger run`` makes the L1 model when ``run.l1`` is on."""
    return [STAGE] if config.run.l1 else []
