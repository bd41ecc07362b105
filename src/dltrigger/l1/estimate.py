"""Latency and resource *estimates* of an L1 model (no synthesis: every figure says how it
was estimated).

- ``da4ml``: the network traced with da4ml as fixed-point arithmetic (its inputs', weights',
  biases' and results' types from the hls4ml project) and every constant matrix-vector
  product turned into an adder graph, as hls4ml's ``distributed_arithmetic`` strategy builds
  it. da4ml's cost is its LUT estimate (one LUT per adder bit, hardware ``HWConfig(1, -1,
  -1)`` as hls4ml uses), its latency the depth in adder levels; cut into pipeline stages of
  ``adder_levels_per_cycle`` levels (an assumption, docs/l1.md) it gives the clock cycles and
  the flip-flops that hold each stage's values.
- ``analytic``: counts from the weights: multiplications by a nonzero weight, bit-operations
  (each such product's weight bits times input bits: the BOPs of the quantisation
  literature) and the DSP slices hls4ml's ``latency`` strategy would use at most (one per
  product, when no product is small enough to be built from LUTs).
- The initiation interval is 1 by construction (``io_parallel``, ``ReuseFactor`` 1: every
  multiplier is used once per event), as the HLS pragma asks; only synthesis would prove it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .quantised import extra

#: Resources of the FPGAs quoted against (AMD data sheets DS923, UltraScale+ product tables).
FPGA_RESOURCES: dict[str, dict[str, int]] = {
    "xcvu13p": {"LUT": 1_728_000, "FF": 3_456_000, "DSP": 12_288},
    "xcvu9p": {"LUT": 1_182_240, "FF": 2_364_480, "DSP": 6_840},
    "xcku115": {"LUT": 663_360, "FF": 1_326_720, "DSP": 5_520},
}

_TYPE = re.compile(r"(u?)fixed<\s*(\d+)\s*,\s*(-?\d+)\s*(?:,\s*(\w+))?(?:\s*,\s*(\w+))?")


@dataclass(frozen=True)
class Precision:
    """A type of the hls4ml project: (sign, integer, fractional) bits, rounding, overflow."""

    k: int
    i: int
    f: int
    rounding: str  # da4ml's "TRN" or "RND"
    overflow: str  # "WRAP" or "SAT"

    @classmethod
    def parse(cls, text: str) -> Precision:
        match = _TYPE.search(text)
        if match is None:
            raise ValueError(f"not a fixed-point type: {text!r}")
        unsigned, width, integer, rounding, overflow = match.groups()
        k = 0 if unsigned else 1
        return cls(k, int(integer) - k, int(width) - int(integer),
                   "RND" if (rounding or "TRN").startswith("RND") else "TRN",
                   "SAT" if (overflow or "WRAP").startswith("SAT") else "WRAP")  # fmt: skip

    @property
    def bits(self) -> int:
        return self.k + self.i + self.f

    def values(self, data: np.ndarray) -> np.ndarray:
        """``data`` as this type holds it (weights written as floats into the project)."""
        step = 2.0**-self.f
        scaled = np.asarray(data, dtype=np.float64) / step
        integers = np.round(scaled) if self.rounding == "RND" else np.floor(scaled)
        low = -(2.0 ** (self.i + self.f)) if self.k else 0.0
        high = 2.0 ** (self.i + self.f) - 1
        return np.clip(integers, low, high) * step


def _weights(layer: Any) -> tuple[Precision, np.ndarray, np.ndarray | None]:
    """A Dense or PointwiseConv1D layer's weight type, weights (inputs x outputs, as the
    project holds them) and biases (None: none)."""
    weight = layer.weights["weight"]
    w_type = Precision.parse(str(weight.type.precision))
    outputs = int(layer.get_attr("n_out") or layer.get_attr("n_filt"))
    values = w_type.values(np.asarray(weight.data)).reshape(-1, outputs)
    bias = layer.weights.get("bias")
    if bias is None or "uint<1>" in str(bias.type.precision):  # hls4ml's "no bias"
        return w_type, values, None
    return w_type, values, Precision.parse(str(bias.type.precision)).values(bias.data)


def _trace(graph: Any, ops: Any, trace: Any) -> tuple[list[Any], Any, int, int]:
    """The project's arithmetic traced by da4ml, layer by layer (each layer's output in its
    result type): the input arrays, the output, multiplications and bit-operations."""
    arrays: dict[str, Any] = {}
    bits: dict[str, int] = {}
    inputs, multiplications, bops = [], 0, 0
    output = None
    for layer in graph.get_layers():
        result = Precision.parse(str(layer.get_output_variable().type.precision))
        kind = layer.class_name
        sources = [arrays[name] for name in layer.inputs] if kind != "Input" else []
        width = bits[layer.inputs[0]] if kind != "Input" else result.bits
        if kind == "Input":
            shape = tuple(int(n) for n in layer.get_output_variable().shape)
            array = trace.FixedVariableArrayInput(shape, hwconf=trace.HWConfig(1, -1, -1))
            inputs.append(array)
            # the inputs arrive in their type (rounded and saturated upstream)
            values = ops.quantize(array, result.k, result.i, result.f)
        elif kind in ("Dense", "PointwiseConv1D"):
            w_type, weight, bias = _weights(layer)
            nonzero = int(np.count_nonzero(weight))
            positions = int(np.prod(sources[0].shape[:-1])) if len(sources[0].shape) > 1 else 1
            multiplications += nonzero * positions
            bops += nonzero * positions * w_type.bits * width
            values = sources[0] @ weight
            if bias is not None:
                values = values + bias
        elif kind == "Activation" and str(layer.get_attr("activation")).lower() == "relu":
            values = ops.relu(sources[0], result.i, result.f, result.rounding)
        elif kind == "Activation" and str(layer.get_attr("activation")).lower() == "linear":
            values = sources[0]
        elif kind == "Transpose":
            values = np.transpose(sources[0], layer.get_attr("perm"))
        elif kind == "Reshape":
            values = sources[0].reshape(tuple(int(n) for n in layer.get_output_variable().shape))
        elif kind in ("Pooling1D", "GlobalPooling1D") and "Average" in str(
            layer.get_attr("pool_op")
        ):
            steps = sources[0].shape[0]
            pooled = np.sum(sources[0], axis=0) * (1.0 / steps)
            values = pooled.reshape(tuple(int(n) for n in layer.get_output_variable().shape))
        elif kind == "Concatenate":
            values = np.concatenate(sources, axis=-1)
        else:
            raise ValueError(f"layer {layer.name} ({kind}) cannot be estimated")
        values = ops.quantize(values, result.k, result.i, result.f, result.overflow,
                              result.rounding)  # fmt: skip
        for name in layer.outputs:
            arrays[name], bits[name] = values, result.bits
        output = values
    return inputs, output, multiplications, bops


def estimate(
    graph: Any, *, part: str, clock_period_ns: float, adder_levels_per_cycle: int
) -> dict[str, Any]:
    """Estimated latency and resources of the hls4ml project ``graph`` (JSON-able, each
    figure labelled with its method)."""
    trace = extra("da4ml.trace")
    ops = extra("da4ml.trace.ops")
    inputs, values, multiplications, bops = _trace(graph, ops, trace)
    flat = np.concatenate([np.ravel(x) for x in inputs]) if len(inputs) > 1 else inputs[0]
    logic = trace.comb_trace(flat, values)
    pipeline = trace.to_pipeline(logic, latency_cutoff=adder_levels_per_cycle, verbose=False)
    stages = pipeline.solutions
    registers = sum(int(np.asarray(s.inp_kifs).sum()) for s in stages[1:])
    registers += int(np.asarray(stages[-1].out_kifs).sum())
    cycles = len(stages)
    resources = FPGA_RESOURCES.get(part[: part.find("-")] if "-" in part else part)
    estimated = {
        "luts": float(logic.cost),
        "flip_flops": registers,
        "adder_levels": float(logic.latency[1]),
        "cycles": cycles,
        "latency_ns": cycles * clock_period_ns,
        "initiation_interval": 1,
    }
    shares: dict[str, float | None] = {"luts": None, "flip_flops": None, "dsp_upper_bound": None}
    if resources is not None:
        shares = {
            "luts": estimated["luts"] / resources["LUT"],
            "flip_flops": registers / resources["FF"],
            "dsp_upper_bound": multiplications / resources["DSP"],
        }
    return {
        "part": part,
        "part_resources": resources,
        "clock_period_ns": clock_period_ns,
        "clock_mhz": 1e3 / clock_period_ns,
        "da4ml": {
            **estimated,
            "method": (
                "da4ml adder-graph estimate of hls4ml's distributed-arithmetic implementation "
                f"(HWConfig(1, -1, -1)); cycles: pipeline stages of {adder_levels_per_cycle} "
                "adder levels (assumed per clock cycle); flip-flops: the bits held between "
                "stages and at the output"
            ),
        },
        "analytic": {
            "multiplications": multiplications,
            "bit_operations": bops,
            "dsp_upper_bound": multiplications,
            "method": (
                "counts from the project's weights: one multiplication per nonzero weight; "
                "BOPs = its weight bits x input bits; DSP upper bound: one DSP slice each"
            ),
        },
        "initiation_interval_method": (
            "by construction: io_parallel, ReuseFactor 1 (not synthesised)"
        ),
        "share_of_part": shares,
        "adder_levels_per_cycle": adder_levels_per_cycle,
        "estimated": True,
        "minimum_cycles": max(1, math.ceil(estimated["adder_levels"] / adder_levels_per_cycle)),
    }
