"""``dltrigger l1``: the HLF run as a Level-1 FPGA model, emulated and estimated."""

from __future__ import annotations

import argparse

from .common import add_common, config_for
from .options import add_section


def add_commands(commands) -> None:
    l1 = commands.add_parser(
        "l1",
        help="an HLF or deepsets_l1 model for a Level-1 FPGA trigger: quantised, emulated with "
        "hls4ml, estimated",
        description="Quantise a trained hlf or deepsets_l1 run after training (ap_fixed<16,6>) "
        "and during "
        "training (Brevitas for hlf, hls4ml's own types for deepsets_l1; fine-tuned on the "
        "training split, chosen on the validation split), turn both into hls4ml projects, "
        "build their C simulation with g++ (the "
        "bit-accurate emulation of the firmware), and compare the triggers of the float and "
        "quantised models on the test split (AUC, 99% signal-efficiency point, rates, with "
        "Clopper-Pearson intervals) and the emulation with the quantised model, event by "
        "event. Latency and resources are estimates (da4ml and counts; no synthesis). Needs "
        "the l1 extra: pip install 'dltrigger[l1]'. Every option overrides [l1].",
    )
    add_section(l1, "l1")
    l1.add_argument("--quiet", action="store_true", help="no progress bar")
    add_common(l1)
    l1.set_defaults(handler=_l1)


def _l1(args: argparse.Namespace) -> int:
    from .. import l1
    from .l1_summary import print_summary

    result = l1.run(config_for(args), progress=not args.quiet)
    print_summary(result.summary, result.out)
    return 0
