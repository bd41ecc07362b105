"""The models ``dltrigger l1`` makes firmware of, each with its inputs, its firmware part and
its quantisation-aware version:

- ``hlf``: the 14 HLF -> 50 -> 20 -> 10 -> 3 network; quantisation-aware with Brevitas,
  converted through QONNX ([`dltrigger.l1.quantised`][]);
- ``deepsets_l1``: the leading particles (19 x N, channels first) and the 14 HLF;
  quantisation-aware with hls4ml's own types, converted through hls4ml's PyTorch front end
  ([`dltrigger.l1.fixed_training`][]).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from ..artifacts import FeaturesDataset
from ..errors import DatasetError, L1Error
from ..schema import CLASS_NAMES, HLF_WIDTH, PARTICLE_WIDTH
from . import hls, quantised
from .fixed import FixedType

#: The models with a route into L1 firmware.
L1_MODELS = ("hlf", "deepsets_l1")


@dataclass
class Split:
    """One split's model inputs (one array per input of the firmware) and labels."""

    inputs: tuple[np.ndarray, ...]
    labels: np.ndarray


def hlf_arrays(data: Path, split: str, scaling) -> tuple[np.ndarray, np.ndarray]:
    """The scaled HLF (float32, n x 14) and labels of ``split`` of the dataset ``data``."""
    import pyarrow.parquet as pq

    parts = FeaturesDataset(data).parts()
    table = pq.read_table([str(p) for p in parts], columns=["label", "hlf"],
                          filters=[("split", "=", split)])  # fmt: skip
    if not table.num_rows:
        raise DatasetError(f"{data}: the {split} split is empty")
    values = table.column("hlf").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    if values.size != table.num_rows * HLF_WIDTH:
        raise DatasetError(f"{data}: hlf rows are not {HLF_WIDTH} numbers each")
    hlf = values.astype(np.float64).reshape(table.num_rows, HLF_WIDTH)
    labels = table.column("label").to_numpy().astype(np.int64)
    return scaling.scale_hlf(hlf).astype(np.float32), labels


class HLFAdapter:
    """The HLF network: Brevitas -> QONNX -> hls4ml."""

    name = "hlf"
    input_names = ("hlf",)

    def __init__(self, trained: Any):
        self.trained = trained

    def split(self, data: Path, split: str) -> Split:
        hlf, labels = hlf_arrays(data, split, self.trained.scaling)
        return Split((hlf,), labels)

    def float_module(self) -> nn.Module:
        return self.trained.model

    def input_shapes(self) -> list[tuple[int, ...]]:
        return [(HLF_WIDTH,)]

    def quantised(self, bits: quantised.Bits, train: Split) -> nn.Module:
        layers = quantised.linear_layers(self.trained.model)
        widths = tuple(layer.out_features for layer in layers)[:-1]
        model = quantised.quantised_hlf(widths, HLF_WIDTH, len(CLASS_NAMES), bits)
        quantised.copy_float_weights(model, self.trained.model)
        return model

    def emulate_quantised(self, model: nn.Module, folder: Path, target: hls.Target):
        input_type = quantised.fixed_types(model)["input"]
        return hls.quantisation_aware(model, HLF_WIDTH, input_type, folder, target)

    def type_names(self, model: nn.Module) -> dict[str, str]:
        return {k: str(v) for k, v in quantised.fixed_types(model).items()}


class DeepSetsAdapter:
    """The L1 Deep Sets model: its own fixed-point training -> hls4ml's PyTorch front end."""

    name = "deepsets_l1"
    input_names = ("particles", "hlf")

    def __init__(self, trained: Any):
        self.trained = trained
        self.count = int(trained.model.count)

    def split(self, data: Path, split: str) -> Split:
        import torch

        from ..ml.batches import iterate_batches
        from ..models.deepsets import leading_particles

        particles, hlf, labels = [], [], []
        batches = iterate_batches(
            Path(data), split, 4096, shuffle_buffer=1, scaling=self.trained.scaling,
            max_particles=self.trained.config.max_particles, with_particles=True,
        )  # fmt: skip
        with torch.no_grad():
            for batch in batches:
                assert batch.particles is not None and batch.lengths is not None
                chosen = leading_particles(batch.particles, batch.lengths, self.count)
                particles.append(chosen.numpy())
                hlf.append(batch.hlf.numpy())
                labels.append(batch.labels.numpy())
        if not labels:
            raise DatasetError(f"{data}: the {split} split is empty")
        arrays = (np.concatenate(particles).astype(np.float32),
                  np.concatenate(hlf).astype(np.float32))  # fmt: skip
        return Split(arrays, np.concatenate(labels).astype(np.int64))

    def float_module(self) -> nn.Module:
        core: nn.Module = self.trained.model.core
        return core

    def input_shapes(self) -> list[tuple[int, ...]]:
        return [(PARTICLE_WIDTH, self.count), (HLF_WIDTH,)]

    def quantised(self, bits: quantised.Bits, train: Split) -> nn.Module:
        from .fixed_training import QuantisedDeepSets

        particles, hlf = train.inputs
        return QuantisedDeepSets(self.trained.model.core, bits, (particles, hlf))

    def emulate_quantised(self, model: nn.Module, folder: Path, target: hls.Target):
        from .fixed_training import WIDE

        types = model.hls_types(self.input_names)  # type: ignore[operator]
        core: nn.Module = model.core  # type: ignore[assignment]
        return hls.post_training(core, self.input_shapes(), FixedType.parse(WIDE), folder,
                                 target, types=types)  # fmt: skip

    def type_names(self, model: nn.Module) -> dict[str, str]:
        names: dict[str, str] = model.type_names()  # type: ignore[operator]
        return names


def adapter(trained: Any) -> HLFAdapter | DeepSetsAdapter:
    """The adapter of a trained run's model, or a clear refusal."""
    model = trained.config.model
    if model == "hlf":
        return HLFAdapter(trained)
    if model == "deepsets_l1":
        return DeepSetsAdapter(trained)
    raise L1Error(
        f"{trained.folder}: a {model!r} run; dltrigger l1 takes {' or '.join(map(repr, L1_MODELS))}"
        " (models of a few dense layers: the recurrent and attention models have no route "
        "into L1 firmware)"
    )
