"""Fixed-point types as hls4ml and Vivado/Vitis HLS name them (``ap_fixed<W,I>``), in numpy.

A value of ``ap_fixed<W,I>`` is an integer of W bits (two's complement; ``ap_ufixed``: no
sign) times 2^-(W-I): I integer bits, the sign among them, and F = W - I fractional bits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config.l1 import FIXED_TYPE


@dataclass(frozen=True)
class FixedType:
    """``ap_fixed<width, integer>`` (``signed``) or ``ap_ufixed<width, integer>``."""

    width: int
    integer: int
    signed: bool = True

    @classmethod
    def parse(cls, text: str) -> FixedType:
        """``"ap_fixed<16,6>"``, ``"fixed<16,6>"`` or ``"ap_ufixed<8,2>"``."""
        match = FIXED_TYPE.match(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not a fixed-point type like 'ap_fixed<16,6>'")
        return cls(int(match.group(2)), int(match.group(3)), signed=not match.group(1))

    @classmethod
    def from_scale(cls, bits: int, scale: float, signed: bool) -> FixedType:
        """The type of a ``bits``-bit integer times ``scale``, a power of two (Brevitas'
        fixed-point quantisers)."""
        fractional = -int(np.log2(scale))
        if 2.0**-fractional != scale:
            raise ValueError(f"scale {scale} is not a power of two: no fixed-point type has it")
        return cls(bits, bits - fractional, signed)

    @property
    def fractional(self) -> int:
        return self.width - self.integer

    @property
    def kif(self) -> tuple[int, int, int]:
        """(sign bit, integer bits without the sign, fractional bits): da4ml's description."""
        return int(self.signed), self.integer - int(self.signed), self.fractional

    def hls(self, rounding: str | None = None, saturation: str | None = None) -> str:
        """hls4ml's name of the type, with a rounding (``RND_CONV``) and overflow (``SAT``)
        mode when given (hls4ml's default: truncation and wrap-around, as ``ap_fixed``)."""
        modes = "".join(f",{mode}" for mode in (rounding, saturation) if mode)
        if saturation and not rounding:
            modes = f",TRN{modes}"
        return f"{'' if self.signed else 'u'}fixed<{self.width},{self.integer}{modes}>"

    def __str__(self) -> str:
        return f"ap_{'' if self.signed else 'u'}fixed<{self.width},{self.integer}>"

    def truncate(self, values: np.ndarray) -> np.ndarray:
        """``values`` converted to this type as ``ap_fixed``'s default does: rounded down
        (``AP_TRN``) and wrapped around on overflow (``AP_WRAP``)."""
        step = 2.0**-self.fractional
        integers = np.floor(np.asarray(values, dtype=np.float64) / step).astype(np.int64)
        span = 1 << self.width
        low = -(1 << (self.width - 1)) if self.signed else 0
        return ((integers - low) % span + low) * step
