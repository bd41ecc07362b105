"""What a training shows while it runs: a rich bar per epoch and one line of metrics."""

from __future__ import annotations

from ..schema import CLASS_NAMES


def absent_classes(
    validation_counts: dict[int, int], dropped: list[dict], split: str, manifest: str
) -> dict[str, str]:
    """Class name -> why it has no AUC: dropped at the features stage (``dropped``: the
    manifest's ``dropped_classes``), or without events in the validation ``split``."""
    absent = {}
    dropped_by_label = {int(d["label"]): d for d in dropped if "label" in d}
    for label, name in enumerate(CLASS_NAMES):
        if validation_counts.get(label):
            continue
        if label in dropped_by_label:
            d = dropped_by_label[label]
            samples = ", ".join(d.get("samples", [])) or "no sample"
            absent[name] = (
                f"no events (dropped at features: none of the {d.get('events', 0):,} events of "
                f"{samples} passed the selection; see {manifest})"
            )
        else:
            absent[name] = f"no events in the {split} split"
    return absent


class EpochDisplay:
    """A rich progress bar per epoch with the running loss and samples/s (or nothing).

    ``absent``: class name -> why it has no AUC ([`absent_classes`][]), said once at the
    start instead of an undefined AUC every epoch."""

    def __init__(
        self, enabled: bool, samples_per_epoch: int | None, absent: dict[str, str] | None = None
    ):
        self.enabled = enabled
        self.total = samples_per_epoch
        self.absent = absent or {}
        self.progress = None
        self.task = None
        self.epoch = 0

    def __enter__(self):
        if self.enabled:
            from ..progress import progress_bar

            self.progress = progress_bar()
            self.progress.__enter__()
            for line in absent_lines(self.absent):
                self.progress.console.print(line, highlight=False)
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
            self.progress.console.print(epoch_line(row, self.absent), highlight=False)


def absent_lines(absent: dict[str, str]) -> list[str]:
    return [f"{name}: {why}; it has no AUC" for name, why in absent.items()]


def epoch_line(row: dict, absent: dict[str, str] | None = None) -> str:
    """One epoch's metrics; a class without an AUC (``absent``, or undefined) is left out of
    the AUCs and named after them, never printed as ``nan``."""
    shown, missing = [], []
    for name in CLASS_NAMES:
        value = row.get(f"val_auc_{name}")
        if value is None or value != value or name in (absent or {}):
            missing.append(name)
        else:
            shown.append(f"{name} {value:.3f}")
    aucs = ", ".join(shown) + (f" (none for {', '.join(missing)})" if missing else "")
    return (
        f"epoch {row['epoch']}: loss {row['loss']:.4f}, val_loss {row['val_loss']:.4f}, "
        f"val_accuracy {row['val_accuracy']:.3f}, AUC {aucs}, "
        f"{row['samples_per_s']:,.0f} samples/s"
    )
