"""Data-parallel training on Spark: DistributedDataParallel ranks as Spark barrier tasks.

``fit_distributed`` hands [`rank_main`][] to PySpark's ``TorchDistributor``, which starts one
Spark barrier task per process (on ``local[N]`` the local cores, on a cluster the executors),
and in each ``torchrun`` with the rendezvous set up. Every rank runs the ordinary training
loop ([`dltrigger.ml.loop.fit`][]) on its own shard of the Parquet dataset, gloo on CPU
and nccl on GPU; rank 0 validates and writes the run folder, which must therefore be on a file
system all executors see (as the dataset). Spark schedules; nothing here does.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from ..artifacts import RunFolder
from ..config import TrainConfig
from ..errors import TrainingError
from ..ml.loop import fit
from ..ml.replica import Replica, resolve_device


def rank_main(config_json: str, resume: bool) -> None:
    """Entry point of one rank (runs inside ``torchrun``, which sets RANK and WORLD_SIZE)."""
    import torch.distributed as dist

    config = TrainConfig.model_validate_json(config_json)
    backend = "nccl" if resolve_device(config.device).type == "cuda" else "gloo"
    dist.init_process_group(backend)
    try:
        replica = Replica(dist.get_rank(), dist.get_world_size())
        _, model = fit(config, resume, progress=False, replica=replica)
        # Proof that the ranks ended with the same weights: every rank's checksum on rank 0.
        digests: list[str | None] = [None] * replica.world
        dist.all_gather_object(digests, weights_digest(model))
        if replica.main:
            ranks = {"world_size": replica.world, "weights_sha256": digests}
            (config.run_folder / "ranks.json").write_text(json.dumps(ranks, indent=2))
    finally:
        dist.destroy_process_group()


def weights_digest(model) -> str:
    """SHA-256 of a model's parameters and buffers (equal weights, equal digests)."""
    state = model.state_dict()
    digest = hashlib.sha256()
    for name in sorted(state):
        digest.update(name.encode())
        digest.update(state[name].detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def fit_distributed(config: TrainConfig, resume: bool, spark=None) -> None:
    """Run the data-parallel training of ``config`` (``num_processes`` ranks) through Spark
    (``spark``: the session to use; None: the active one, or one of the default settings)."""
    from pyspark.ml.torch.distributor import TorchDistributor

    from ..spark.session import get_spark

    spark = spark or get_spark()  # the caller's session; no configuration file is read here
    use_gpu = resolve_device(config.device).type == "cuda"
    data = config.data
    assert data is not None  # train() refuses a config without data before calling this
    config = config.model_copy(update={"out": config.run_folder.resolve(),
                                       "data": Path(data).resolve()})  # fmt: skip
    distributor = TorchDistributor(
        num_processes=config.num_processes, local_mode=False, use_gpu=use_gpu
    )
    try:
        distributor.run(rank_main, config.model_dump_json(), resume)
    except Exception as exc:  # Spark wraps the rank's error in the task's output
        checkpoint = config.run_folder / RunFolder.CHECKPOINT
        last = ""
        if checkpoint.exists():
            last = " (the last complete epoch is in checkpoint.pt: --resume continues it)"
        raise TrainingError(
            f"distributed training with {config.num_processes} processes failed: "
            f"{_rank_error(exc)}{last}"
        ) from None


def _rank_error(exc: Exception) -> str:
    """The most telling line of a failed rank's output."""
    text = str(exc)
    for pattern in (r"(dltrigger\.\w+\.\w+\.?\w*Error: [^\n]+)", r"(\w+Error: [^\n]+)"):
        found = re.findall(pattern, text)
        if found:
            return found[-1].strip()
    return text.strip().splitlines()[-1] if text.strip() else type(exc).__name__
