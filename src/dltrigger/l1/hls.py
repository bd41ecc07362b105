"""hls4ml projects of the L1 models and their C simulation (the bit-accurate emulation).

hls4ml writes an HLS project (C++ of the firmware, with the ``ap_fixed`` headers) and
``compile()`` builds its C simulation with g++ into a shared library that ``predict`` calls:
the firmware's arithmetic, bit for bit, on a CPU. Synthesis (Vitis HLS) is not run here.

Two routes in:

- [`post_training`][dltrigger.l1.hls.post_training]: a PyTorch model through hls4ml's PyTorch
  front end, every weight, bias, result and accumulator of one type (``ap_fixed<16,6>``), or
  of the types given layer by layer (the quantisation-aware ``deepsets_l1``);
- [`quantisation_aware`][dltrigger.l1.hls.quantisation_aware]: the Brevitas model exported to
  QONNX (``Quant`` nodes: the learned power-of-two scales and bit widths), cleaned with
  qonnx, through hls4ml's ONNX front end, which sets each type from its ``Quant`` node; the
  accumulators are sized by hls4ml to hold every sum exactly.
"""

from __future__ import annotations

import contextlib
import io
import logging
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from ..errors import L1Error
from .fixed import FixedType
from .quantised import extra

#: hls4ml's backend: Vitis HLS, the current AMD tool (the project's C++ is the same for Vivado).
BACKEND = "Vitis"
#: The model's name in the project (``firmware/<name>.cpp``).
PROJECT = "l1model"
#: What the QAT project's types default to where no ``Quant`` node decides: wide enough that
#: nothing rounds there (hls4ml infers every accumulator from its inputs' types).
WIDE = "fixed<32,16>"


@dataclass(frozen=True)
class Target:
    """The FPGA the project is written for, and its clock."""

    part: str
    clock_period_ns: float


@dataclass
class Emulation:
    """A compiled hls4ml project: ``predict`` runs its C simulation."""

    model: Any  # hls4ml ModelGraph
    folder: Path
    convert_seconds: float
    compile_seconds: float

    def predict(self, *inputs: np.ndarray) -> np.ndarray:
        """The firmware's outputs on ``inputs`` (one array per input of the model; converted
        to the input types by the C simulation itself). In double precision, which holds
        every fixed-point output exactly (hls4ml's float bridge would round wide ones). The
        time is the C simulation's ``ap_fixed`` arithmetic, not hls4ml's loop over events:
        a batch function looping in C instead measured 1.2x faster only."""
        values = [np.ascontiguousarray(x, dtype=np.float64) for x in inputs]
        events = len(values[0])
        if not events:
            return np.zeros((0, self.model.get_output_variables()[0].shape[-1]))
        found = self.model.predict(values[0] if len(values) == 1 else values)
        return np.asarray(found, dtype=np.float64).reshape(events, -1)

    def layers(self) -> list[dict[str, Any]]:
        """Each layer of the project: name, class and the types of its results and weights."""
        return [
            {"name": layer.name, "class": layer.class_name,
             "types": {k: str(v.type.precision) for k, v in layer.variables.items()},
             "weights": {k: str(v.type.precision) for k, v in layer.weights.items()}}
            for layer in self.model.get_layers()
        ]  # fmt: skip


@contextlib.contextmanager
def _quiet(what: str) -> Iterator[io.StringIO]:
    """hls4ml and qonnx print their progress and warn about what we set on purpose: both
    are kept from the user, and a failure names ``what`` with the tail of what was printed."""
    printed = io.StringIO()
    exporter = logging.getLogger("torch.onnx")  # "torchvision is not installed": not needed
    level = exporter.level
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(printed):
            warnings.simplefilter("ignore")
            exporter.setLevel(logging.ERROR)
            yield printed
    except L1Error:
        raise
    except Exception as exc:  # hls4ml raises bare Exceptions
        tail = " | ".join(printed.getvalue().strip().splitlines()[-3:])
        raise L1Error(f"{what} failed: {exc}" + (f" ({tail})" if tail else "")) from exc
    finally:
        exporter.setLevel(level)


def _compile(model: Any, folder: Path, started: float) -> Emulation:
    converted = time.perf_counter()
    with _quiet(f"building the C simulation of {folder} with g++"):
        model.compile()
    return Emulation(model, folder, converted - started, time.perf_counter() - converted)


def post_training(
    model: nn.Module,
    input_shapes: list[tuple[int, ...]],
    precision: FixedType,
    folder: Path,
    target: Target,
    types: dict[str, dict[str, str]] | None = None,
) -> Emulation:
    """The float ``model`` (``torch.fx``-traceable; its inputs of ``input_shapes``, without
    the batch dimension) with every number of type ``precision`` (truncation, wrap-around:
    ``ap_fixed``'s defaults), compiled. ``types``: per layer name, the types of its
    ``result``, ``weight``, ``bias``, ``accum`` instead (a quantisation-aware model's)."""
    hls4ml = extra("hls4ml")
    started = time.perf_counter()
    with _quiet(f"converting the float model to hls4ml ({folder})"):
        shapes = input_shapes[0] if len(input_shapes) == 1 else input_shapes
        config = hls4ml.utils.config_from_pytorch_model(
            model, input_shape=shapes, granularity="name", backend=BACKEND,
            default_precision=precision.hls(),
        )  # fmt: skip
        for name, layer in config["LayerName"].items():
            for key in layer.get("Precision", {}):
                if key != "table":  # ReLU needs no table
                    layer["Precision"][key] = precision.hls()
            if types is not None:
                layer.setdefault("Precision", {}).update(types.get(name, {}))
        graph = hls4ml.converters.convert_from_pytorch_model(
            model.eval(), hls_config=config, output_dir=str(folder), project_name=PROJECT,
            backend=BACKEND, part=target.part, clock_period=target.clock_period_ns,
            io_type="io_parallel",
        )  # fmt: skip
    return _compile(graph, folder, started)


def quantisation_aware(
    model: nn.Module,
    n_inputs: int,
    input_type: FixedType,
    folder: Path,
    target: Target,
) -> Emulation:
    """The Brevitas ``model`` through QONNX (``folder/model.qonnx.onnx``), compiled. The
    project's input has the model's input quantiser's type, rounding and saturating as the
    quantiser does: a float input becomes the same fixed-point number in both."""
    import torch

    hls4ml = extra("hls4ml")
    export = extra("brevitas.export")
    wrapper = extra("qonnx.core.modelwrapper")
    cleanup = extra("qonnx.util.cleanup")
    gemm = extra("qonnx.transformation.gemm_to_matmul")
    folder.mkdir(parents=True, exist_ok=True)
    onnx_file = folder / "model.qonnx.onnx"
    started = time.perf_counter()
    with _quiet(f"exporting the quantised model to QONNX ({onnx_file})"):
        export.export_qonnx(model.eval(), input_t=torch.zeros(1, n_inputs),
                            export_path=str(onnx_file))  # fmt: skip
        graph = cleanup.cleanup_model(wrapper.ModelWrapper(str(onnx_file)))
        graph = cleanup.cleanup_model(graph.transform(gemm.GemmToMatMul()))
    with _quiet(f"converting the QONNX model to hls4ml ({folder})"):
        config = hls4ml.utils.config.config_from_onnx_model(
            graph, granularity="name", backend=BACKEND, default_precision=WIDE
        )
        # the input's name is the graph's (Brevitas: "global_in")
        layer = config["LayerName"][graph.graph.input[0].name]
        layer["Precision"]["result"] = input_type.hls("RND_CONV", "SAT")
        model_graph = hls4ml.converters.convert_from_onnx_model(
            graph, hls_config=config, output_dir=str(folder / "hls"), project_name=PROJECT,
            backend=BACKEND, part=target.part, clock_period=target.clock_period_ns,
            io_type="io_parallel",
        )  # fmt: skip
    return _compile(model_graph, folder / "hls", started)
