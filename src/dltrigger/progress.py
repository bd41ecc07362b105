"""Rich progress displays, including one that follows the tasks of a running Spark job."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")

console = Console(stderr=True)


def progress_bar(transient: bool = False) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
    )


def run_spark_job_with_progress(
    spark, description: str, total_tasks: int, action: Callable[[], T], poll_seconds: float = 0.5
) -> T:
    """Run ``action`` (a Spark action) in a thread and show its completed tasks as a bar.

    Spark reports task completion through its status tracker; the job is found by a job
    group set on the action's thread.
    """
    sc = spark.sparkContext
    group = f"dltrigger-{threading.get_ident()}-{id(action)}"
    outcome: dict[str, object] = {}

    def target() -> None:
        sc.setJobGroup(group, description)
        try:
            outcome["value"] = action()
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            sc.setLocalProperty("spark.jobGroup.id", None)

    thread = threading.Thread(target=target, daemon=True)
    tracker = sc.statusTracker()
    with progress_bar() as progress:
        task = progress.add_task(description, total=total_tasks)
        thread.start()
        while thread.is_alive():
            thread.join(poll_seconds)
            done = 0
            for job_id in tracker.getJobIdsForGroup(group):
                job = tracker.getJobInfo(job_id)
                for stage_id in job.stageIds if job else ():
                    stage = tracker.getStageInfo(stage_id)
                    if stage:
                        done += stage.numCompletedTasks
            progress.update(task, completed=min(done, total_tasks))
        if "error" in outcome:
            raise outcome["error"]  # type: ignore[misc]
        progress.update(task, completed=total_tasks)
    return outcome["value"]  # type: ignore[return-value]
