"""Benchmark of ``dltrigger l1``: conversion and g++ build times, and the emulation's speed.

One run, on a trained HLF run (``--run``, default ``runs/hlf``) and its dataset (``--data``,
default ``data/features/balanced``):

1. ``dlt.l1.run`` whole (fine-tuning, both hls4ml projects, scoring, estimates), into a
   scratch folder; its own record of each conversion (to hls4ml) and each g++ build of the
   C simulation (an ``hlf`` run or a ``deepsets_l1`` run);
2. the speed of scoring the test split (tiled to ``--events``), one thread each: the bare
   float forward pass (PyTorch, the reference: the local limit of a CPU), the
   quantisation-aware model in Python (its fake quantisation) and the two C
   simulations (hls4ml ``predict``: the bit-accurate emulation). Printed: events/s and the
   ratio to the bare forward pass (``x forward``).

The C simulation is a validation tool, not a trigger: the firmware it emulates scores one
event per clock (40 MHz input, estimated latency in ``l1.json``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import torch

import dltrigger as dlt
from _machine import describe
from dltrigger import __version__
from ingest import best_of

FORWARD = "float forward pass (PyTorch)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("runs/hlf"), help="an HLF run folder")
    parser.add_argument("--data", type=Path, default=Path("data/features/balanced"))
    parser.add_argument("--events", type=int, default=200_000, help="events scored per row")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)

    from dltrigger.l1 import hls, quantised
    from dltrigger.l1.adapters import adapter
    from dltrigger.l1.fixed import FixedType
    from dltrigger.ml.scoring import load_run

    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "l1"
        config = dlt.with_overrides(dlt.Config(), "l1", run=args.run, data=args.data, out=out)
        started = time.perf_counter()
        summary = dlt.l1.run(config).summary
        stage_seconds = time.perf_counter() - started

        # the stage's two projects again, to time their C simulations on many events
        kind = adapter(load_run(args.run))
        test = kind.split(args.data, "test")
        inputs = tuple(np.resize(x, (args.events, *x.shape[1:])) for x in test.inputs)
        settings = config.resolved().l1
        bits = quantised.Bits(settings.input_bits, settings.weight_bits,
                              settings.activation_bits, settings.bias_bits)  # fmt: skip
        model = kind.quantised(bits, kind.split(args.data, "train"))
        model.load_state_dict(torch.load(out / "qat.pt", weights_only=True))
        target = hls.Target(settings.fpga_part, settings.clock_period_ns)
        float_model = kind.float_module().eval()
        ptq = hls.post_training(float_model, kind.input_shapes(),
                                FixedType.parse(settings.ptq_precision), Path(scratch) / "p",
                                target)  # fmt: skip
        qat = kind.emulate_quantised(model, Path(scratch) / "q", target)
        tensors = [torch.as_tensor(x) for x in inputs]

        def forward() -> None:
            with torch.no_grad():
                float_model(*tensors)

        rows = {
            FORWARD: best_of(args.repeats, forward),
            "QAT model in Python": best_of(args.repeats, lambda: quantised.logits(model, *inputs)),
            "PTQ C simulation (hls4ml, g++)": best_of(args.repeats, lambda: ptq.predict(*inputs)),
            "QAT C simulation (hls4ml, g++)": best_of(args.repeats, lambda: qat.predict(*inputs)),
        }

    seconds = summary["seconds"]
    print(f"dltrigger {__version__} l1 benchmark; machine: {describe()}")
    print(f"run {args.run} ({summary['model']}), data {args.data} "
          f"({summary['test_events']} test events); one thread")  # fmt: skip
    print(f"dltrigger l1 (whole stage, {settings.epochs} QAT epochs): {stage_seconds:.1f} s")
    for key, title in (("ptq", "PTQ"), ("qat", "QAT")):
        print(f"  {title}: convert {seconds[f'{key}_convert']:.2f} s, "
              f"g++ build {seconds[f'{key}_compile']:.2f} s")  # fmt: skip
    print(f"{'scoring ' + str(args.events) + ' events':36} {'seconds':>8} {'events/s':>10} "
          f"{'x forward':>9}")  # fmt: skip
    reference = rows[FORWARD]
    for name, value in rows.items():
        print(f"{name:36} {value:8.3f} {args.events / value:10.0f} {reference / value:9.3f}")
    agree = summary["agreement"]
    print(f"emulation vs QAT model: {agree['agreement']:.6f} identical decisions "
          f"({agree['different_events']} of {agree['events']} differ)")  # fmt: skip
    if args.json:
        record = {"machine": describe(), "stage_seconds": stage_seconds, "seconds": seconds,
                  "events": args.events, "rows": rows, "agreement": agree}  # fmt: skip
        args.json.write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
