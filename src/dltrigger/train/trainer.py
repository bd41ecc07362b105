"""Single-process training: Adam, per-epoch validation, checkpoints, resume, early stopping.

A run folder holds ``config.json``, ``metrics.csv`` and ``metrics.json`` (one row per epoch:
training and validation loss, accuracy, per-class AUC, samples/s), ``checkpoint.pt`` (the
last epoch, to resume from) and ``best.pt`` (the lowest validation loss). Files are replaced
atomically; an existing run folder is refused unless ``resume`` or ``overwrite``.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import DLTriggerError
from ..models import build_model
from .data import iterate_batches
from .metrics import per_class_auc

CLASS_NAMES = ("QCD", "ttbar", "W+jets")


class TrainingError(DLTriggerError):
    """Training cannot go on (NaN loss, a checkpoint of another model, an existing run...)."""


@dataclass
class TrainConfig:
    model: str
    data: str  # a features dataset folder (full/, balanced/ or dev/)
    out: str  # the run folder
    epochs: int = 5
    batch_size: int = 128
    learning_rate: float = 1e-3
    seed: int = 0
    patience: int = 3  # epochs without a better validation loss before stopping
    max_particles: int = 801
    shuffle_buffer: int = 10_000
    device: str = "auto"
    resume: bool = False
    overwrite: bool = False

    def same_model(self, other: dict) -> bool:
        keys = ("model", "max_particles")
        return all(other.get(k) == getattr(self, k) for k in keys)


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _forward(model, batch, device):
    hlf = batch.hlf.to(device)
    if batch.particles is None:
        return model(hlf)
    return model(batch.particles.to(device), batch.lengths, hlf)


def _save(obj, path: Path) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    torch.save(obj, temporary)
    os.replace(temporary, path)


def _batches(config: TrainConfig, split: str, epoch: int):
    return iterate_batches(
        Path(config.data),
        split,
        config.batch_size,
        seed=config.seed * 1000 + epoch,
        shuffle_buffer=config.shuffle_buffer if split == "train" else 1,
        max_particles=config.max_particles,
        with_particles=config.model != "hlf",
    )


def evaluate(model, config: TrainConfig, device) -> dict:
    model.eval()
    losses, labels, probabilities = [], [], []
    with torch.no_grad():
        for batch in _batches(config, "test", 0):
            logits = _forward(model, batch, device)
            losses.append(
                torch.nn.functional.cross_entropy(
                    logits, batch.labels.to(device), reduction="sum"
                ).item()
            )
            labels.append(batch.labels.numpy())
            probabilities.append(torch.softmax(logits, 1).cpu().numpy())
    labels_ = np.concatenate(labels)
    probs = np.concatenate(probabilities)
    aucs = per_class_auc(labels_, probs)
    return {
        "val_loss": sum(losses) / len(labels_),
        "val_accuracy": float((probs.argmax(1) == labels_).mean()),
        **{f"val_auc_{name}": auc for name, auc in zip(CLASS_NAMES, aucs, strict=True)},
    }


def train(config: TrainConfig, progress: bool = False) -> list[dict]:
    """Train ``config.model`` on ``config.data``; return the metrics of every epoch."""
    out = Path(config.out)
    checkpoint_path = out / "checkpoint.pt"
    if out.exists() and any(out.iterdir()) and not (config.resume or config.overwrite):
        raise TrainingError(f"run folder {out} exists (use --resume to continue or --overwrite)")
    if config.overwrite and not config.resume and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    device = _device(config.device)
    torch.manual_seed(config.seed)
    model = build_model(config.model).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, eps=1e-7)
    history: list[dict] = []
    start_epoch, best, stale = 1, math.inf, 0
    if config.resume and checkpoint_path.exists():
        state = torch.load(checkpoint_path, map_location=device, weights_only=False)
        if not config.same_model(state["config"]):
            raise TrainingError(
                f"{checkpoint_path} is from model {state['config'].get('model')!r} "
                f"(max_particles {state['config'].get('max_particles')}), not {config.model!r}"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history, best, stale = state["history"], state["best"], state["stale"]
        start_epoch = state["epoch"] + 1
        torch.set_rng_state(state["torch_rng"])
    (out / "config.json").write_text(json.dumps(asdict(config), indent=2))

    for epoch in range(start_epoch, config.epochs + 1):
        model.train()
        seen, total_loss, started = 0, 0.0, time.perf_counter()
        for number, batch in enumerate(_batches(config, "train", epoch), start=1):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(
                _forward(model, batch, device), batch.labels.to(device)
            )
            if not torch.isfinite(loss):
                raise TrainingError(
                    f"loss is {loss.item()} at epoch {epoch}, batch {number}: lower the "
                    "learning rate or check the inputs; checkpoints so far are kept"
                )
            loss.backward()
            optimizer.step()
            seen += len(batch)
            total_loss += loss.item() * len(batch)
        seconds = time.perf_counter() - started
        row = {
            "epoch": epoch,
            "loss": total_loss / max(seen, 1),
            "samples_per_s": seen / seconds if seconds else 0.0,
            **evaluate(model, config, device),
        }
        history.append(row)
        improved = row["val_loss"] < best
        if improved:
            best, stale = row["val_loss"], 0
            _save(
                {"model": model.state_dict(), "config": asdict(config), "epoch": epoch},
                out / "best.pt",
            )
        else:
            stale += 1
        _save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "config": asdict(config),
                "epoch": epoch,
                "history": history,
                "best": best,
                "stale": stale,
                "torch_rng": torch.get_rng_state(),
            },
            checkpoint_path,
        )
        _write_metrics(out, history)
        if progress:
            print(
                f"epoch {epoch}: loss {row['loss']:.4f}, val_loss {row['val_loss']:.4f}, "
                f"val_accuracy {row['val_accuracy']:.3f}, {row['samples_per_s']:.0f} samples/s"
            )
        if stale >= config.patience:
            break
    return history


def _write_metrics(out: Path, history: list[dict]) -> None:
    (out / "metrics.json").write_text(json.dumps(history, indent=2))
    with open(out / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
