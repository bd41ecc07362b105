"""Who runs a stage's per-chunk work: Spark tasks, or a process pool on this machine.

The per-chunk work of ingest, features and score is a plain function of one item (a group of
file slices, an ingested file, a group of files to score) that writes its own Parquet part and
returns a small record. An executor maps it over the items:

- [`SparkExecutor`][]: one Spark task per item, on any master (``local[*]``, a cluster);
- [`LocalExecutor`][]: a pool of forked processes over this machine's cores, no JVM. The
  function and the items reach the workers by the fork itself (nothing is pickled but the
  item's index and the returned record), so closures work as they do under Spark.

Both run the same function, so both write the same files. [`choose`][] picks one from
``[spark] executor``: ``auto`` takes the local pool for a ``local[...]`` master and inputs below
``[spark] local_max_bytes`` (the JVM's start-up, 3.5-5.5 s, costs more than Spark gains on one
machine for such inputs: docs/benchmarks.md), Spark otherwise and always for a cluster master.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from .config import SparkConfig

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Maps a function over items, one task each; results come back in the items' order."""

    #: ``"spark"`` or ``"local"`` (recorded in reports).
    name: str
    #: How many tasks run at once (what planning sizes partitions by).
    cores: int

    def map(
        self,
        function: Callable[[T], R],
        items: Sequence[T],
        *,
        description: str = "",
        progress: bool = False,
    ) -> list[R]:
        """``[function(item) for item in items]``, run as tasks; the first task's error is
        raised as it was raised in the task (a Spark task's wrapped in Spark's error)."""
        ...


class SparkExecutor:
    """Each item a Spark task of one job (``parallelize(items, len(items)).map``)."""

    name = "spark"

    def __init__(self, spark: SparkSession):
        self.spark = spark
        self.cores = spark.sparkContext.defaultParallelism

    def map(
        self,
        function: Callable[[T], R],
        items: Sequence[T],
        *,
        description: str = "",
        progress: bool = False,
    ) -> list[R]:
        if not items:
            return []
        rdd = self.spark.sparkContext.parallelize(list(items), len(items)).map(function)
        if progress:
            from .progress import run_spark_job_with_progress

            return run_spark_job_with_progress(self.spark, description, len(items), rdd.collect)
        return rdd.collect()


# What the forked workers of the running LocalExecutor.map call (inherited through the fork).
_FUNCTION: Callable[[Any], Any] | None = None
_ITEMS: Sequence[Any] = ()


_WORKER_READY = False


def _call(index: int) -> Any:
    global _WORKER_READY
    if not _WORKER_READY:  # the pool's processes share the cores: one Arrow thread each
        import pyarrow

        pyarrow.set_cpu_count(1)
        _WORKER_READY = True
    assert _FUNCTION is not None
    return _FUNCTION(_ITEMS[index])


class LocalExecutor:
    """Items run in up to ``cores`` forked processes (in this process when one is enough)."""

    name = "local"

    def __init__(self, cores: int | None = None):
        self.cores = max(1, cores or len(os.sched_getaffinity(0)))

    def map(
        self,
        function: Callable[[T], R],
        items: Sequence[T],
        *,
        description: str = "",
        progress: bool = False,
    ) -> list[R]:
        from .progress import progress_bar

        global _FUNCTION, _ITEMS
        items = list(items)
        workers = min(self.cores, len(items))
        bar: Any
        with progress_bar() if progress else _Silent() as bar:
            task = bar.add_task(description, total=len(items))
            if workers <= 1:
                results = []
                for item in items:
                    results.append(function(item))
                    bar.advance(task)
                return results
            _FUNCTION, _ITEMS = function, items
            try:
                context = multiprocessing.get_context("fork")
                with ProcessPoolExecutor(workers, mp_context=context) as pool:
                    futures = [pool.submit(_call, i) for i in range(len(items))]
                    for future in futures:
                        future.add_done_callback(lambda _: bar.advance(task))
                    done, _ = wait(futures, return_when=FIRST_EXCEPTION)
                    failed = [f for f in futures if f in done and f.exception() is not None]
                    if failed:
                        for future in futures:
                            future.cancel()
                        raise failed[0].exception()  # type: ignore[misc]
                    return [f.result() for f in futures]
            finally:
                _FUNCTION, _ITEMS = None, ()


class _Silent:
    """A progress bar that shows nothing."""

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, *args: object, **kwargs: object) -> int:
        return 0

    def advance(self, task: int) -> None:
        return None


def is_local_master(master: str) -> bool:
    return master == "local" or master.startswith("local[")


def choose(config: SparkConfig, *, input_bytes: int, spark: SparkSession | None = None) -> Executor:
    """The executor ``config.executor`` names for inputs of ``input_bytes``; a Spark session
    (``spark``, else the active one or a new one from ``config``) only when Spark is chosen."""
    master = str(spark.sparkContext.master if spark is not None else config.master)
    local = config.executor == "local" or (
        config.executor == "auto"
        and is_local_master(master)
        and input_bytes < config.local_max_bytes
    )
    if local:
        return LocalExecutor(_local_cores(master))
    from .spark.session import get_spark

    return SparkExecutor(spark or get_spark(config))


def _local_cores(master: str) -> int | None:
    """``local[4]`` -> 4, ``local`` -> 1; ``local[*]`` and cluster masters: every core here."""
    if master == "local":
        return 1
    inside = master.removeprefix("local").strip("[]").split(",")[0]
    return int(inside) if inside.isdigit() else None
