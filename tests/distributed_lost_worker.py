"""Run by tests/test_distributed.py in a process of its own (its own Spark session on
``local[2]``: no state of earlier tests' Spark workers): a data-parallel training whose rank
is killed after its first epoch, then resumed. Prints the outcome as one JSON line.

    python distributed_lost_worker.py DATASET RUN_FOLDER
"""

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import dltrigger as dlt
from dltrigger.config import Config, SparkConfig, TrackingConfig, TrainConfig
from dltrigger.errors import TrainingError


def launchers_and_ranks() -> tuple[set[int], list[int]]:
    """PIDs of the ``torchrun`` launchers TorchDistributor starts (one per Spark task), and of
    their children, the rank processes."""
    commands, parents = {}, {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    commands[int(entry)] = f.read()
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    launchers = {pid for pid, command in commands.items() if b"torch.distributed.run" in command}
    return launchers, sorted(pid for pid, parent in parents.items() if parent in launchers)


def wait_for(condition, seconds: float) -> None:
    deadline = time.time() + seconds
    while not condition() and time.time() < deadline:
        time.sleep(0.5)


def main() -> None:
    data, run = Path(sys.argv[1]), Path(sys.argv[2])
    settings = TrainConfig(model="hlf", data=data, out=run, epochs=200, batch_size=8, seed=1,
                           export=[], num_processes=2, in_memory=False)  # fmt: skip
    config = Config(train=settings, tracking=TrackingConfig(enabled=False),
                    spark=SparkConfig(master="local[2]"))  # fmt: skip
    outcome: dict = {}
    with dlt.spark_session(config) as spark:

        def target() -> None:
            try:
                dlt.train.run(config, spark=spark)
            except TrainingError as exc:
                outcome["error"] = str(exc)

        thread = threading.Thread(target=target)
        thread.start()
        deadline = time.time() + 300
        while not (run / "checkpoint.pt").exists() and time.time() < deadline:
            time.sleep(0.2)
        ranks = launchers_and_ranks()[1]
        outcome["ranks"] = len(ranks)
        if ranks:
            os.kill(ranks[-1], signal.SIGKILL)  # a rank dies as if its machine were lost
        # A surviving launcher may wait out torch elastic's exit barrier (300 s) before its
        # Spark task fails; the next barrier stage needs its slot back.
        thread.join(600)
        wait_for(lambda: not launchers_and_ranks()[0], 400)
        outcome["summary_after_failure"] = (run / "summary.json").exists()
        done = json.loads((run / "metrics.json").read_text())
        outcome["epochs_done"] = len(done)
        resumed = dict(epochs=len(done) + 1, resume=True)
        history = dlt.train.run(
            config.model_copy(update={"train": settings.model_copy(update=resumed)}), spark=spark
        ).history
        outcome["resumed_epochs"] = [h["epoch"] for h in history]
        outcome["complete"] = json.loads((run / "summary.json").read_text())["complete"]
    print(json.dumps(outcome))


if __name__ == "__main__":
    main()
