"""Export a trained classifier for inference outside this package: ONNX and TorchScript.

Every exported graph takes the inputs the model uses (``hlf`` ``(batch, 14)``; the particle
models also ``particles`` ``(batch, length, 19)`` float32 and ``lengths`` ``(batch,)`` int64),
*already scaled* with the dataset's ``_scaling.json``, and returns ``logits`` and ``scores``
(softmax probabilities, columns 0 QCD, 1 ttbar, 2 W+jets). Batch size and sequence length
are dynamic.

- ``model.onnx``: ONNX (torch's dynamo exporter), for onnxruntime and any ONNX runtime; the
  format the streaming trigger filter uses.
- ``model.torchscript.pt``: TorchScript (``torch.jit.trace``), for libtorch C++ code. torch
  2.13 deprecates TorchScript in favour of ``torch.export``; we still write it because C++
  deployments load it today, and silence that one deprecation warning here. ``torch.export``'s
  own ``.pt2`` is not offered: in torch 2.13 it fixes the sequence length of GRU/LSTM graphs
  to the example's (a guard fails on any other length), while ONNX and TorchScript stay dynamic.

Recurrent models are exported with ``packed = False`` (see
[`recurrent`][dltrigger.models.recurrent]): the same numbers without packed sequences, which no
exported format can hold.
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import Tensor, nn

from ..errors import ConfigError, did_you_mean
from ..io.atomic import atomic_path

FORMATS = {"onnx": "model.onnx", "torchscript": "model.torchscript.pt"}
OUTPUTS = ("logits", "scores")


class _Scoring(nn.Module):
    """A classifier in eval mode returning ``(logits, softmax scores)``."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = copy.deepcopy(model).cpu().eval()
        if hasattr(self.model, "packed"):
            # torch types Module.__setattr__ as taking tensors and modules only; any value works.
            cast(Any, self.model).packed = False


class _HLFScoring(_Scoring):
    def forward(self, hlf: Tensor) -> tuple[Tensor, Tensor]:
        logits = self.model(hlf)
        return logits, torch.softmax(logits, dim=1)


class _ParticleScoring(_Scoring):
    def forward(self, particles: Tensor, lengths: Tensor, hlf: Tensor) -> tuple[Tensor, Tensor]:
        logits = self.model(particles, lengths, hlf)
        return logits, torch.softmax(logits, dim=1)


def input_names(model_name: str) -> tuple[str, ...]:
    return ("hlf",) if model_name == "hlf" else ("particles", "lengths", "hlf")


def example_inputs(model_name: str, batch: int = 3, length: int = 5) -> tuple[Tensor, ...]:
    """Small inputs of the right types (real rows then zero padding) to trace with."""
    generator = torch.Generator().manual_seed(0)
    hlf = torch.randn(batch, 14, generator=generator)
    if model_name == "hlf":
        return (hlf,)
    particles = torch.randn(batch, length, 19, generator=generator)
    lengths = torch.arange(batch, dtype=torch.long) % length + 1
    particles[torch.arange(length)[None, :] >= lengths[:, None]] = 0.0
    return particles, lengths, hlf


def _dynamic_shapes(model_name: str):
    # AUTO rather than named dims: a named length dim trips over the RNN ops' shape checks.
    # Batch and length of 1 still work (checked in tests).
    auto = torch.export.Dim.AUTO
    if model_name == "hlf":
        return ({0: auto},)
    return ({0: auto, 1: auto}, {0: auto}, {0: auto})


def export_model(
    model: nn.Module, model_name: str, folder: Path, formats: Sequence[str]
) -> dict[str, Path]:
    """Write ``model`` in each of ``formats`` into ``folder``; return the paths by format."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ConfigError(
            f"unknown export format {unknown[0]!r}{did_you_mean(unknown[0], FORMATS)}; "
            f"valid: {', '.join(FORMATS)}"
        )
    folder = Path(folder)
    scoring = (_HLFScoring if model_name == "hlf" else _ParticleScoring)(model)
    inputs = example_inputs(model_name)
    written: dict[str, Path] = {}
    # Exporters warn about things that are fine here (RNN weights seen as attributes, traced
    # shapes); a run's warnings must not turn into errors under ``-W error``.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if "torchscript" in formats:
            traced = torch.jit.trace(scoring, inputs, check_trace=False)
            with atomic_path(folder / FORMATS["torchscript"]) as temporary:
                traced.save(str(temporary))
            written["torchscript"] = folder / FORMATS["torchscript"]
        if "onnx" in formats:
            quiet = logging.getLogger("torch.onnx")
            level, quiet.level = quiet.level, logging.ERROR
            try:
                onnx_program = torch.onnx.export(
                    scoring,
                    inputs,
                    dynamo=True,
                    input_names=list(input_names(model_name)),
                    output_names=list(OUTPUTS),
                    dynamic_shapes=_dynamic_shapes(model_name),
                    verbose=False,
                )
            finally:
                quiet.setLevel(level)
            assert onnx_program is not None  # None only for the legacy exporter (dynamo=False)
            with atomic_path(folder / FORMATS["onnx"]) as temporary:
                onnx_program.save(str(temporary))
            written["onnx"] = folder / FORMATS["onnx"]
    return written


class OnnxScorer:
    """Scores from an exported ``model.onnx`` with onnxruntime (numpy in, numpy out)."""

    def __init__(self, path: Path, threads: int = 0):
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]

    def __call__(self, **inputs: np.ndarray) -> np.ndarray:
        """``scores`` for the given inputs (unused ones, e.g. ``hlf`` of a GRU, are ignored)."""
        feeds = {name: inputs[name] for name in self.inputs}
        return self.session.run(["scores"], feeds)[0]
