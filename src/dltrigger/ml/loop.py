"""The training loop shared by single-process and data-parallel training.

[`fit`][] is the loop of one process (every rank of a data-parallel run calls it, see
[`dltrigger.train.distributed`][]), [`fit_events`][] the in-memory loop of a grid search
([`dltrigger.tune`][]); [`dltrigger.train.trainer`][] prepares the run folder and calls one
or the other. Nothing here imports a stage: the imports go one way only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import numpy as np
import torch

from ..artifacts import FeaturesDataset, RunFolder
from ..config import TrainConfig
from ..errors import TrainingError
from ..models import build_model
from ..models.export import export_model
from ..schema import CLASS_NAMES
from .batches import Batch, Events, in_memory_batches
from .checkpoints import UNDEFINED_AUC, json_text, read_checkpoint, save_epoch, write_text
from .dataset import DatasetWatch
from .display import EpochDisplay, absent_classes, absent_lines, epoch_line
from .metrics import per_class_auc
from .replica import BatchSource, Replica, resolve_device, torch_threads

__all__ = ["evaluate", "fit", "fit_events", "forward"]


def forward(model: torch.nn.Module, batch: Batch, device: torch.device) -> torch.Tensor:
    hlf = batch.hlf.to(device)
    if batch.particles is None:
        return model(hlf)
    assert batch.lengths is not None  # particles and lengths are set together
    return model(batch.particles.to(device), batch.lengths.to(device), hlf)


def _absent_classes(config: TrainConfig) -> dict[str, str]:
    """The classes without validation events, and why (the dataset's manifest)."""
    assert config.data is not None  # train() refuses a config without data
    dataset = FeaturesDataset(config.data)
    manifest = dataset.manifest()
    split = config.validation_split
    counts = manifest.get("split_counts", {}).get(split)
    if counts is None:  # a dataset made by hand: counted in its parts
        from .dataset import class_counts

        by_label = class_counts(config.data)[split]
    else:
        by_label = {int(k): v for k, v in counts.items()}
    return absent_classes(
        by_label, manifest.get("dropped_classes", []), split, str(dataset.manifest_file)
    )


def evaluate(model, batches: Iterator[Batch], device) -> dict:
    """Validation loss, accuracy and per-class one-vs-rest AUC."""
    model.eval()
    losses, labels, probabilities = [], [], []
    with torch.no_grad():
        for batch in batches:
            logits = forward(model, batch, device)
            target = batch.labels.to(device)
            losses.append(torch.nn.functional.cross_entropy(logits, target, reduction="sum").item())
            labels.append(batch.labels.numpy())
            probabilities.append(torch.softmax(logits, 1).cpu().numpy())
    if not labels:
        raise TrainingError("the validation split is empty: nothing to validate on")
    labels_ = np.concatenate(labels)
    probs = np.concatenate(probabilities)
    aucs = per_class_auc(labels_, probs)
    return {
        "val_loss": sum(losses) / len(labels_),
        "val_accuracy": float((probs.argmax(1) == labels_).mean()),
        **{f"val_auc_{name}": auc for name, auc in zip(CLASS_NAMES, aucs, strict=True)},
    }


def _scheduler(config: TrainConfig, optimizer):
    if config.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    if config.lr_schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=0.1, patience=config.plateau_patience
        )
    return None


def fit(
    config: TrainConfig,
    resume: bool,
    progress: bool,
    replica: Replica = Replica(),  # noqa: B008 (a frozen dataclass: one shared default is safe)
    watch: DatasetWatch | None = None,
) -> tuple[list[dict], torch.nn.Module]:
    """The training loop of one process (the run folder is ready; see
    [`run`][dltrigger.train.trainer.run]); returns the metrics of every epoch and the model as
    trained (last epoch).

    In a data-parallel run every rank calls it: the model is wrapped in
    DistributedDataParallel, each rank trains on its shard, rank 0 validates, broadcasts the
    epoch's metrics (so schedules and early stopping agree) and writes every file. The first
    epoch's shuffle pool fills in its loader thread while the model and optimiser are built,
    each later one's while the previous epoch validates.

    ``watch``: the dataset's pinned identity, checked after every epoch before its files are
    written (None: pinned from the run's ``features.json``, as a data-parallel rank does).
    """
    out = config.run_folder
    if watch is None and replica.main:
        recorded = RunFolder(out).features().get("dataset_digest")
        if recorded is not None and config.data is not None:
            watch = DatasetWatch(config.data, recorded)
            watch.check("before this process started training", read=True)
    torch.set_num_threads(torch_threads(config))
    device = resolve_device(config.device)
    if replica.world > 1 and device.type == "cuda":
        device = torch.device("cuda", replica.rank % torch.cuda.device_count())
    state = read_checkpoint(out / RunFolder.CHECKPOINT, map_location=device) if resume else None
    start_epoch = state["epoch"] + 1 if state is not None else 1
    source = BatchSource(config, replica)
    if start_epoch <= config.epochs:  # the shuffle pool fills while the model is built
        source.start("train", start_epoch)
    try:
        return _fit(config, progress, replica, source, device, state, start_epoch, watch)
    finally:
        source.close()


def _fit(
    config: TrainConfig,
    progress: bool,
    replica: Replica,
    source: BatchSource,
    device: torch.device,
    state: dict | None,
    start_epoch: int,
    watch: DatasetWatch | None,
) -> tuple[list[dict], torch.nn.Module]:
    import torch.distributed as dist

    out = config.run_folder
    parallel = replica.world > 1
    torch.manual_seed(config.seed)
    core = build_model(config.model, **config.model_options)
    if hasattr(core, "packed"):
        core.packed = config.packed_sequences
    core.to(device)
    model = core
    if parallel:
        model = torch.nn.parallel.DistributedDataParallel(core)
        torch.manual_seed(config.seed * 1000 + replica.rank)  # own dropout masks per rank
    rate = config.learning_rate
    if parallel and config.scale_learning_rate:
        rate *= replica.world  # linear scaling with the global batch, as the reference
    # eps as Keras (the reference); fused: one kernel for all parameters (14% faster HLF steps)
    optimizer = torch.optim.Adam(core.parameters(), lr=rate, eps=1e-7, fused=True)
    scheduler = _scheduler(config, optimizer)
    history: list[dict] = []
    best, stale = math.inf, 0
    if state is not None:
        core.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler"):
            scheduler.load_state_dict(state["scheduler"])
        history, best, stale = state["history"], state["best"], state["stale"]
        if not parallel:
            torch.set_rng_state(state["torch_rng"])
    absent = _absent_classes(config) if replica.main else {}
    display = EpochDisplay(progress and replica.main, source.split_size("train"), absent)
    if parallel and replica.main:  # a rank's stdout reaches the driver through Spark
        for line in absent_lines(absent):
            print(line, flush=True)
    stopped_early = False
    with display:
        for epoch in range(start_epoch, config.epochs + 1):
            if stale >= config.patience:
                stopped_early = True
                break
            batches = source("train", epoch)
            if parallel:
                with model.join():  # ranks may hold different numbers of batches
                    row = _train_epoch(model, optimizer, batches, device, epoch, display)
                row = _global_training_metrics(row, device)
            else:
                row = _train_epoch(model, optimizer, batches, device, epoch, display)
            if not row["samples"]:
                raise TrainingError(f"{config.data}: the training split is empty")
            if epoch < config.epochs:  # the next epoch's pool fills during validation
                source.start("train", epoch + 1)
            row["learning_rate"] = optimizer.param_groups[0]["lr"]
            if replica.main:
                row.update(evaluate(core, source(config.validation_split, 0), device))
                if watch is not None:  # before the epoch's files: none trained on other data
                    watch.check(f"during epoch {epoch}")
            if parallel:
                shared = [row]
                dist.broadcast_object_list(shared, src=0)
                row = shared[0]
            history.append(row)
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(row["val_loss"])
            elif scheduler is not None:
                scheduler.step()
            improved = row["val_loss"] < best
            best, stale = (row["val_loss"], 0) if improved else (best, stale + 1)
            if replica.main:
                save_epoch(out, config, core, optimizer, scheduler, history, best, stale, improved)
                display.epoch_done(row)
                if parallel:  # a rank's stdout reaches the driver through Spark line by line
                    print(epoch_line(row, absent), flush=True)
    if replica.main:
        if config.export and (out / RunFolder.BEST).exists():
            best_state = read_checkpoint(out / RunFolder.BEST)
            best_model = build_model(config.model, **config.model_options)
            best_model.load_state_dict(best_state["model"])
            export_model(best_model, config.model, out, config.export)
        best_row = min(history, key=lambda h: h["val_loss"])
        summary = {
            "complete": True,
            "model": config.model,
            "epochs_trained": len(history),
            "stopped_early": stopped_early,
            "best_epoch": best_row["epoch"],
            "best": best_row,
            "processes": replica.world,
            "exported": list(config.export),
        }
        undefined = {
            k: UNDEFINED_AUC for k, v in best_row.items() if isinstance(v, float) and math.isnan(v)
        }
        if undefined:  # valid JSON: null, with the reason beside it
            summary["undefined"] = undefined
        write_text(out / RunFolder.SUMMARY, json_text(summary))
    return history, core


def fit_events(config: TrainConfig, train_events: Events, validation_events: Events) -> list[dict]:
    """Train on events in memory for exactly ``config.epochs`` epochs (no early stopping, no
    files): the unit of work of a grid search. Returns each epoch's metrics."""
    device = resolve_device(config.device)
    torch.set_num_threads(torch_threads(config))
    torch.manual_seed(config.seed)
    model = build_model(config.model, **config.model_options).to(device)
    if hasattr(model, "packed"):
        model.packed = config.packed_sequences
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, eps=1e-7, fused=True)
    scheduler = _scheduler(config, optimizer)
    history = []
    started = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        batches = in_memory_batches(
            train_events, config.batch_size, config.seed * 1000 + epoch,
            bucket_by_length=config.bucket_by_length,
        )  # fmt: skip
        row = _train_epoch(model, optimizer, batches, device, epoch, EpochDisplay(False, None))
        row["learning_rate"] = optimizer.param_groups[0]["lr"]
        row.update(evaluate(model, in_memory_batches(validation_events, 4096, shuffle=False),
                            device))  # fmt: skip
        row["elapsed_s"] = time.perf_counter() - started
        history.append(row)
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(row["val_loss"])
        elif scheduler is not None:
            scheduler.step()
    return history


def _global_training_metrics(row: dict, device) -> dict:
    """Loss and samples/s of all ranks together (the epoch takes as long as the slowest)."""
    import torch.distributed as dist

    seconds = row["samples_per_s"] and row["samples"] / row["samples_per_s"]
    totals = torch.tensor([row["samples"], row["loss"] * row["samples"]], dtype=torch.float64)
    slowest = torch.tensor([seconds], dtype=torch.float64)
    dist.all_reduce(totals)
    dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
    samples, loss_sum = totals.tolist()
    return {
        "epoch": row["epoch"],
        "loss": loss_sum / samples,
        "samples": int(samples),
        "samples_per_s": samples / slowest.item(),
    }


def _train_epoch(model, optimizer, batches, device, epoch: int, display) -> dict:
    model.train()
    seen, total_loss, started = 0, 0.0, time.perf_counter()
    display.start_epoch(epoch)
    for number, batch in enumerate(batches, start=1):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(
            forward(model, batch, device), batch.labels.to(device)
        )
        value = loss.item()
        if not math.isfinite(value):
            raise TrainingError(
                f"loss is {value} at epoch {epoch}, batch {number}: lower the learning rate "
                "or check the inputs"
            )
        loss.backward()
        optimizer.step()
        seen += len(batch)
        total_loss += value * len(batch)
        display.advance(len(batch), total_loss / seen, seen / (time.perf_counter() - started))
    seconds = time.perf_counter() - started
    return {
        "epoch": epoch,
        "loss": total_loss / max(seen, 1),
        "samples": seen,
        "samples_per_s": seen / seconds if seen else 0.0,
    }
