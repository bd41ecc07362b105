"""Quantisation-aware training of the L1 Deep Sets model with hls4ml's own types: pure torch.

Brevitas' QONNX export of a pooled particle network does not reach hls4ml intact (qonnx's
channels-last pass leaves a transpose before the global pooling, over which hls4ml then
averages the wrong axis: 98% identical decisions, measured), so this model is trained with
the firmware's arithmetic written out here instead and converted through hls4ml's PyTorch
front end with the same types, layer by layer:

- the inputs, weights and biases: ``ap_fixed<bits, I>`` rounded to nearest (ties to even:
  ``AP_RND_CONV``) and saturated (``AP_SAT``), as hls4ml converts them;
- each ReLU's output: ``ap_ufixed<bits, I>``, rounded and saturated the same way;
- sums, the mean over the particle slots and the concatenation: exact (wide types).

Each integer part I is chosen once, before training, from the float model's values on the
training split (the 99.99% quantile: the rare larger ones saturate; weights: the largest
weight), then kept: the types are those the firmware gets. Gradients pass the rounding
straight through.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import Tensor, nn

from ..models.deepsets import L1DeepSetsCore
from .fixed import FixedType
from .quantised import Bits

#: The type of every exact intermediate (sums, pooling, concatenation) in the project.
WIDE = "fixed<40,20>"


def fixed_round(values: Tensor, kind: FixedType) -> Tensor:
    """``values`` in ``kind``, rounded to nearest (ties to even) and saturated; the
    gradient passes straight through."""
    step = 2.0**-kind.fractional
    if kind.signed:
        low, high = -(2.0 ** (kind.integer - 1)), 2.0 ** (kind.integer - 1) - step
    else:
        low, high = 0.0, 2.0**kind.integer - step
    rounded = torch.clamp(torch.round(values / step) * step, low, high)
    return values + (rounded - values).detach()


def covering(largest: float, bits: int, signed: bool) -> FixedType:
    """The ``bits``-bit type whose range just holds ``largest`` (absolute value)."""
    magnitude = max(float(largest), 2.0**-16)
    integer = math.ceil(math.log2(magnitude * (1 + 2.0 ** (1 - bits)))) + (1 if signed else 0)
    return FixedType(bits, integer, signed)


#: The share of values an input's or activation's type holds unsaturated: its range covers
#: this quantile of the training split's values, not the largest (a few scaled particle
#: energies far out in the tail would otherwise cost every value its fractional bits).
COVERED_QUANTILE = 0.9999


def _typical_largest(values: Tensor) -> float:
    """The ``COVERED_QUANTILE`` quantile of ``values`` (a sample of a million at most)."""
    flat = values.detach().reshape(-1).float()
    if flat.numel() > 1_000_000:
        flat = flat[
            torch.randperm(flat.numel(), generator=torch.Generator().manual_seed(0))[:1_000_000]
        ]
    return float(torch.quantile(flat, COVERED_QUANTILE))


class QuantisedDeepSets(nn.Module):
    """A copy of an ``L1DeepSetsCore`` (``dltrigger.models.deepsets``) computing
    as the firmware does, its types chosen from ``calibration`` (the training inputs)."""

    def __init__(self, core: L1DeepSetsCore, bits: Bits, calibration: tuple[np.ndarray, ...]):
        super().__init__()
        self.core: L1DeepSetsCore = copy.deepcopy(core).eval()
        particles, hlf = (torch.as_tensor(x, dtype=torch.float32) for x in calibration)
        self.input_types = (
            covering(_typical_largest(particles.abs()), bits.inputs, signed=True),
            covering(_typical_largest(hlf.abs()), bits.inputs, signed=True),
        )
        self.layers = [m for m in (*self.core.phi, *self.core.rho) if not isinstance(m, nn.ReLU)]
        self.weight_types = [
            covering(float(m.weight.detach().abs().max()), bits.weights, True) for m in self.layers
        ]
        self.bias_types = [
            covering(float(m.bias.detach().abs().max()), bits.biases, True)
            if m.bias is not None
            else None
            for m in self.layers
        ]
        with torch.no_grad():
            largest = self._activations(particles, hlf)
        self.relu_types = [covering(value, bits.activations, signed=False) for value in largest]

    def _activations(self, particles: Tensor, hlf: Tensor) -> list[float]:
        """The largest output of each ReLU of the float model."""
        found = []
        x = particles
        for module in self.core.phi:
            x = module(x)
            if isinstance(module, nn.ReLU):
                found.append(_typical_largest(x))
        z = torch.cat([self.core.flatten(self.core.pool(x)), hlf], dim=1)
        for module in self.core.rho:
            z = module(z)
            if isinstance(module, nn.ReLU):
                found.append(_typical_largest(z))
        return found

    def _layer(self, index: int, x: Tensor) -> Tensor:
        layer = self.layers[index]
        weight = fixed_round(layer.weight, self.weight_types[index])
        bias_type = self.bias_types[index]
        bias = None if bias_type is None else fixed_round(layer.bias, bias_type)
        if isinstance(layer, nn.Conv1d):
            return nn.functional.conv1d(x, weight, bias)
        return nn.functional.linear(x, weight, bias)

    def forward(self, particles: Tensor, hlf: Tensor) -> Tensor:
        x = fixed_round(particles, self.input_types[0])
        h = fixed_round(hlf, self.input_types[1])
        index = relu = 0
        for module in self.core.phi:
            if isinstance(module, nn.ReLU):
                x = fixed_round(torch.relu(x), self.relu_types[relu])
                relu += 1
            else:
                x = self._layer(index, x)
                index += 1
        z = torch.cat([self.core.flatten(self.core.pool(x)), h], dim=1)
        for module in self.core.rho:
            if isinstance(module, nn.ReLU):
                z = fixed_round(torch.relu(z), self.relu_types[relu])
                relu += 1
            else:
                z = self._layer(index, z)
                index += 1
        return z

    def hls_types(self, input_names: tuple[str, str]) -> dict[str, dict[str, str]]:
        """hls4ml's per-layer types (``granularity="name"``: the core's module paths with
        ``_``; inputs by name) that make its C simulation compute as ``forward``."""
        exact = {"result": WIDE, "accum": WIDE}
        types: dict[str, dict[str, str]] = {
            name: {"result": kind.hls("RND_CONV", "SAT")}
            for name, kind in zip(input_names, self.input_types, strict=True)
        }
        names = [f"{part}_{i}" for part in ("phi", "rho")
                 for i, _ in enumerate(getattr(self.core, part))]  # fmt: skip
        modules = [*self.core.phi, *self.core.rho]
        index = relu = 0
        for name, module in zip(names, modules, strict=True):
            if isinstance(module, nn.ReLU):
                types[name] = {"result": self.relu_types[relu].hls("RND_CONV", "SAT")}
                relu += 1
                continue
            entry = {**exact, "weight": self.weight_types[index].hls("RND_CONV", "SAT")}
            bias_type = self.bias_types[index]
            if bias_type is not None:
                entry["bias"] = bias_type.hls("RND_CONV", "SAT")
            types[name] = entry
            index += 1
        for name in ("pool", "flatten", "cat"):
            types[name] = dict(exact)
        return types

    def type_names(self) -> dict[str, str]:
        """The chosen types, by role, as l1.json records them."""
        found = {"input_particles": str(self.input_types[0]), "input": str(self.input_types[1])}
        found.update({f"weight{i}": str(t) for i, t in enumerate(self.weight_types)})
        found.update({f"relu{i}": str(t) for i, t in enumerate(self.relu_types)})
        return found
