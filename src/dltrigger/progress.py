"""Rich progress displays, including one that follows the tasks of a running Spark job."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


def output(stderr: bool = False) -> Console:
    """A console for the commands' lines and tables. Lines are never wrapped: when the output
    is not a terminal (a log file, CI, a batch job) rich would break them at 80 columns,
    mid-number; a terminal's own wrapping is left to it."""
    return Console(stderr=stderr, soft_wrap=True)


console = output(stderr=True)


def _new_progress(transient: bool = False) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
    )


#: The display of a running ``dltrigger run``: stages add their bars to it instead of
#: starting their own (rich allows one live display at a time).
_shared: Progress | None = None


class _Borrowed:
    """A stage's view of the shared display: its bars are removed when the stage ends."""

    def __init__(self, progress: Progress):
        self._progress = progress
        self._added: list = []

    def __enter__(self) -> _Borrowed:
        return self

    def __exit__(self, *exc) -> None:
        for task in self._added:
            self._progress.remove_task(task)

    def add_task(self, *args, **kwargs):
        task = self._progress.add_task(*args, **kwargs)
        self._added.append(task)
        return task

    def __getattr__(self, name: str):
        return getattr(self._progress, name)


def progress_bar(transient: bool = False) -> Progress | _Borrowed:
    """A progress display for one stage: its own, or a share of the pipeline's."""
    return _Borrowed(_shared) if _shared is not None else _new_progress(transient)


class PipelineDisplay:
    """One bar for the stages of a run; each stage's bars appear under it while it runs."""

    def __init__(self, progress: Progress | None, stages: list[str]):
        self.progress = progress
        self.total = len(stages)
        self.done = 0
        self.task = progress.add_task("pipeline", total=len(stages)) if progress else None

    def _say(self, text: str) -> None:
        (self.progress.console if self.progress else console).print(text)

    def stage_start(self, name: str, reason: str) -> None:
        self._say(f"[bold]\\[{self.done + 1}/{self.total}] {name}[/bold] ({reason})")
        if self.progress and self.task is not None:  # the task exists whenever progress does
            self.progress.update(self.task, description=f"pipeline: {name}")

    def stage_done(self, name: str, note: str) -> None:
        self.done += 1
        if note == "up to date":
            self._say(f"[bold]\\[{self.done}/{self.total}] {name}[/bold]: up to date, skipped")
        else:
            self._say(f"[green]\\[{self.done}/{self.total}] {name} done[/green] ({note})")
        if self.progress and self.task is not None:  # the task exists whenever progress does
            self.progress.update(self.task, completed=self.done)


@contextmanager
def pipeline_display(stages: list[str], enabled: bool = True) -> Iterator[PipelineDisplay]:
    """The whole run's display; stages' own bars join it (see [`progress_bar`][])."""
    global _shared
    if not enabled:
        yield PipelineDisplay(None, stages)
        return
    with _new_progress() as progress:
        _shared = progress
        try:
            yield PipelineDisplay(progress, stages)
        finally:
            _shared = None


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
