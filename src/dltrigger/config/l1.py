"""``[l1]``: the Level-1 FPGA path of ``dltrigger l1`` (quantisation, emulation, estimates)."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator

from ._base import _Output, _overwrite

#: ``ap_fixed<W,I>`` (or hls4ml's ``fixed<W,I>``): W bits in all, I of them integer (sign included).
FIXED_TYPE = re.compile(r"^(?:ap_)?(u?)fixed<\s*(\d+)\s*,\s*(-?\d+)\s*>$")


class L1Config(_Output):
    """Settings of ``dltrigger l1``: a trained HLF (or ``deepsets_l1``) run made into a
    Level-1 trigger model.

    Three versions of the model are compared on the test split: the float network, the
    post-training-quantised one (every weight, bias and result ``ptq_precision``, as hls4ml
    users start) and a quantisation-aware one (fine-tuned from the float weights with
    ``weight_bits``, ``activation_bits``, ``input_bits`` and ``bias_bits``, its epoch chosen
    on the validation split). Both quantised models become hls4ml projects whose C simulation,
    compiled with g++, is the bit-accurate emulation of the firmware. Latency and resources
    are estimates (no synthesis tool here): see docs/l1.md.
    """

    run: Path | None = Field(
        default=None,
        description=(
            "A run folder of ``dltrigger train`` with an ``hlf`` or ``deepsets_l1`` model (the "
            "float model); unset: the run folder of the hlf model (runs/hlf)."
        ),
    )
    data: Path | None = Field(
        default=None,
        description=(
            "The features dataset whose splits fine-tune (train), choose (validation) and "
            "measure (test); unset: train.data."
        ),
    )
    out: Path = Field(default=Path("runs/l1"), description="Output folder.")
    overwrite: bool = _overwrite()
    ptq_precision: str = Field(
        default="ap_fixed<16,6>",
        description="The post-training-quantised baseline's type for every weight and result.",
    )
    input_bits: int = Field(
        default=10, ge=2, le=32, description="Bits of each (scaled) input feature, sign included."
    )
    weight_bits: int = Field(
        default=6, ge=2, le=16, description="Bits of each weight (quantisation-aware model)."
    )
    activation_bits: int = Field(
        default=6, ge=2, le=16, description="Bits of each ReLU output (quantisation-aware model)."
    )
    bias_bits: int = Field(
        default=16, ge=4, le=32, description="Bits of each bias (quantisation-aware model)."
    )
    epochs: int = Field(
        default=10, ge=0, description="Quantisation-aware fine-tuning epochs (0: none)."
    )
    batch_size: int = Field(default=256, ge=1, description="Fine-tuning batch size.")
    learning_rate: float = Field(default=1e-3, gt=0, description="Fine-tuning learning rate.")
    seed: int = Field(default=0, description="Seed of the fine-tuning.")
    bootstrap: int = Field(
        default=200, ge=0, description="Bootstrap resamples of each AUC difference's error."
    )
    fpga_part: str = Field(
        default="xcvu13p-flga2577-2-e",
        description="The FPGA the hls4ml project targets and resource shares are quoted against.",
    )
    clock_period_ns: float = Field(
        default=5.0, gt=0, description="The clock the latency is quoted at (5 ns: 200 MHz)."
    )
    adder_levels_per_cycle: int = Field(
        default=4,
        ge=1,
        description=(
            "Assumption of the latency estimate: carry-chain adder levels that fit in one clock "
            "cycle (docs/l1.md)."
        ),
    )

    @field_validator("ptq_precision")
    @classmethod
    def _fixed_type(cls, value: str) -> str:
        match = FIXED_TYPE.match(value.strip())
        if match is None:
            raise ValueError(f"{value!r} is not a fixed-point type like 'ap_fixed<16,6>'")
        if int(match.group(2)) < 2 or int(match.group(2)) > 64:
            raise ValueError(f"{value!r}: its width must be 2 to 64 bits")
        return value.strip()
