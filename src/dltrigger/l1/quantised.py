"""The quantisation-aware HLF network (Brevitas) and its fine-tuning: pure torch compute.

The network is the HLF classifier's (docs/reference.md §5.1) with every number of the
firmware quantised as it will be there: the scaled inputs (``input_bits``), the weights
(``weight_bits``), the biases (``bias_bits``) and each ReLU's output (``activation_bits``),
each a signed or unsigned integer times a power of two that the training learns, so that
every one is an ``ap_fixed`` type exactly. The last layer's output (the logits) is left
wide, as hls4ml's accumulators are: no softmax (an L1 trigger cuts on logits).
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import L1Error
from .fixed import FixedType

#: How to install what this stage needs.
INSTALL_HINT = "pip install 'dltrigger[l1]'"


def extra(module: str) -> Any:
    """Import ``module`` of the ``l1`` extra (its import-time warnings silenced: Brevitas
    warns about optional kernels it does not need here), or say how to install it."""
    import importlib

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importlib.import_module(module)
    except ImportError as exc:
        raise L1Error(
            f"dltrigger l1 needs the l1 extra ({exc.name} is not installed): {INSTALL_HINT}"
        ) from None


@dataclass(frozen=True)
class Bits:
    """The bit widths of the quantisation-aware model."""

    inputs: int
    weights: int
    activations: int
    biases: int


def quantised_hlf(
    widths: tuple[int, ...], n_inputs: int, n_outputs: int, bits: Bits
) -> nn.Sequential:
    """The HLF network with Brevitas' fixed-point (power-of-two scale) quantisers:
    [input quantiser, (QuantLinear, QuantReLU) per hidden layer, QuantLinear]."""
    qnn = extra("brevitas.nn")
    quant = extra("brevitas.quant")
    layers: list[nn.Module] = [
        qnn.QuantIdentity(
            act_quant=quant.Int8ActPerTensorFixedPoint,
            bit_width=bits.inputs,
            return_quant_tensor=True,
        )
    ]
    previous = n_inputs
    for index, width in enumerate((*widths, n_outputs)):
        layers.append(
            qnn.QuantLinear(
                previous, width, bias=True,
                weight_quant=quant.Int8WeightPerTensorFixedPoint, weight_bit_width=bits.weights,
                bias_quant=quant.Int16Bias, bias_bit_width=bits.biases,
                return_quant_tensor=False,
            )
        )  # fmt: skip
        if index < len(widths):  # the logits stay wide: no quantiser after the last layer
            layers.append(
                qnn.QuantReLU(
                    act_quant=quant.Uint8ActPerTensorFixedPoint,
                    bit_width=bits.activations,
                    return_quant_tensor=True,
                )
            )
        previous = width
    return nn.Sequential(*layers)


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    """The Linear (or QuantLinear) layers of ``model``, in order."""
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def copy_float_weights(quantised: nn.Sequential, float_model: nn.Module) -> None:
    """Start ``quantised`` from the trained float network's weights and biases."""
    targets, sources = linear_layers(quantised), linear_layers(float_model)
    if [(t.in_features, t.out_features) for t in targets] != [
        (s.in_features, s.out_features) for s in sources
    ]:
        raise L1Error("the float model's layers do not match the quantised network's")
    with torch.no_grad():
        for target, source in zip(targets, sources, strict=True):
            target.weight.copy_(source.weight)
            target.bias.copy_(source.bias)


def fixed_types(quantised: nn.Module) -> dict[str, FixedType]:
    """The fixed-point types the quantisers have learned: ``input`` and ``relu<k>``."""
    found: dict[str, FixedType] = {}
    relu = 0
    for module in quantised.children():
        act = getattr(module, "act_quant", None)
        if act is None:
            continue
        bits, scale = int(act.bit_width().detach()), float(act.scale().detach())
        if type(module).__name__ == "QuantIdentity":
            found["input"] = FixedType.from_scale(bits, scale, signed=True)
        else:
            found[f"relu{relu}"] = FixedType.from_scale(bits, scale, signed=False)
            relu += 1
    return found


def logits(model: nn.Module, *inputs: np.ndarray, batch: int = 65536) -> np.ndarray:
    """``model``'s outputs on ``inputs`` (one array per input; float64; a QuantTensor's
    value)."""
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(inputs[0]), batch):
            chunk = [torch.as_tensor(x[start : start + batch], dtype=torch.float32) for x in inputs]
            value = model(*chunk)
            out.append(getattr(value, "value", value).double().numpy())
    return np.concatenate(out) if out else np.zeros((0, 3))


def fine_tune(
    model: nn.Module,
    train: tuple[tuple[np.ndarray, ...], np.ndarray],
    validation: tuple[tuple[np.ndarray, ...], np.ndarray],
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> list[dict[str, float]]:
    """Quantisation-aware training of ``model`` from its current weights; it ends with the
    weights of the epoch of lowest validation loss (epoch 0: the starting weights, after a
    calibration pass that sets the quantisers' scales). ``train`` and ``validation``: the
    model's inputs (one array each) and the labels. Returns the history."""
    torch.manual_seed(seed)
    generator = np.random.default_rng(seed)
    x_train = [torch.as_tensor(x, dtype=torch.float32) for x in train[0]]
    y_train = torch.as_tensor(train[1], dtype=torch.int64)
    events = len(y_train)
    loss_function = nn.CrossEntropyLoss()

    def validation_loss() -> float:
        scores = torch.as_tensor(logits(model, *validation[0]))
        return float(loss_function(scores, torch.as_tensor(validation[1], dtype=torch.int64)))

    model.train()
    with torch.no_grad():  # calibration: the activation quantisers' scales from statistics
        for start in range(0, events, 4096):
            model(*(x[start : start + 4096] for x in x_train))
    history = [{"epoch": 0, "validation_loss": validation_loss()}]
    best = (history[0]["validation_loss"], copy.deepcopy(model.state_dict()))
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
    steps = math.ceil(events / batch_size)
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.as_tensor(generator.permutation(events))
        total = 0.0
        for step in range(steps):
            chosen = order[step * batch_size : (step + 1) * batch_size]
            optimiser.zero_grad()
            loss = loss_function(model(*(x[chosen] for x in x_train)), y_train[chosen])
            loss.backward()
            optimiser.step()
            total += loss.item() * len(chosen)
        entry = {"epoch": epoch, "train_loss": total / events,
                 "validation_loss": validation_loss()}  # fmt: skip
        history.append(entry)
        if on_epoch is not None:
            on_epoch(entry)
        if entry["validation_loss"] < best[0]:
            best = (entry["validation_loss"], copy.deepcopy(model.state_dict()))
    model.load_state_dict(best[1])
    model.eval()
    return history
