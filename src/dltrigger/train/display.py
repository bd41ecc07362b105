"""What a training shows while it runs: a rich bar per epoch and one line of metrics."""

from __future__ import annotations

from ..schema import CLASS_NAMES


class EpochDisplay:
    """A rich progress bar per epoch with the running loss and samples/s (or nothing)."""

    def __init__(self, enabled: bool, samples_per_epoch: int | None):
        self.enabled = enabled
        self.total = samples_per_epoch
        self.progress = None
        self.task = None
        self.epoch = 0

    def __enter__(self):
        if self.enabled:
            from ..progress import progress_bar

            self.progress = progress_bar()
            self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.__exit__(*exc)

    def start_epoch(self, epoch: int) -> None:
        if self.progress is not None:
            self.epoch = epoch
            self.task = self.progress.add_task(f"epoch {epoch}", total=self.total)

    def advance(self, samples: int, loss: float, rate: float) -> None:
        if self.progress is not None:
            description = f"epoch {self.epoch}  loss {loss:.4f}  {rate:,.0f} samples/s"
            self.progress.update(self.task, advance=samples, description=description)

    def epoch_done(self, row: dict) -> None:
        if self.progress is not None:
            done = next(t.completed for t in self.progress.tasks if t.id == self.task)
            self.progress.update(self.task, total=done)
            self.progress.console.print(epoch_line(row))


def epoch_line(row: dict) -> str:
    aucs = ", ".join(f"{n} {row[f'val_auc_{n}']:.3f}" for n in CLASS_NAMES)
    return (
        f"epoch {row['epoch']}: loss {row['loss']:.4f}, val_loss {row['val_loss']:.4f}, "
        f"val_accuracy {row['val_accuracy']:.3f}, AUC {aucs}, "
        f"{row['samples_per_s']:,.0f} samples/s"
    )
