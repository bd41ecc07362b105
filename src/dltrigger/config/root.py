"""The whole configuration ([`Config`][]), loaded from TOML and overridden from the CLI."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import FROM_COMMAND_LINE, ConfigError, did_you_mean
from ._base import LABELS, ModelName, _Strict
from .data import FeaturesConfig, IngestConfig
from .evaluate import EvaluateConfig, RunConfig, TrackingConfig
from .generate import GenerateConfig
from .l1 import L1Config
from .spark import SparkConfig
from .training import BaselinesConfig, TrainConfig, TuneConfig
from .trigger import ScoreConfig, StreamConfig

#: The file [`load_config`][] reads from the working directory when neither its argument nor
#: ``$DLTRIGGER_CONFIG`` names another.
DEFAULT_CONFIG_NAME = "dltrigger.toml"


class Config(_Strict):
    """The whole pipeline's configuration.

    Each stage's input left unset is the upstream stage's output: [`resolved`][] fills them
    in (every stage's ``run`` calls it, so ``dltrigger run`` and the commands read the same
    paths); a value set in the file or on the command line always wins.
    """

    spark: SparkConfig = SparkConfig()
    generate: GenerateConfig = GenerateConfig()
    ingest: IngestConfig = IngestConfig()
    features: FeaturesConfig = FeaturesConfig()
    train: TrainConfig = TrainConfig()
    tune: TuneConfig = TuneConfig()
    baselines: BaselinesConfig = BaselinesConfig()
    l1: L1Config = L1Config()
    evaluate: EvaluateConfig = EvaluateConfig()
    run: RunConfig = RunConfig()
    stream: StreamConfig = StreamConfig()
    score: ScoreConfig = ScoreConfig()
    tracking: TrackingConfig = TrackingConfig()

    def run_folder(self, model: ModelName) -> Path:
        """Where ``model`` trains: ``train.out`` (``train.out/<model>`` when ``run.models``
        trains several), else ``runs/<model>``."""
        if self.train.out is None:
            return Path("runs") / model
        several = len(self.run.models) > 1 and model in self.run.models
        return Path(self.train.out) / model if several else Path(self.train.out)

    def _generated_files(self, sample: str, label: int) -> list[str]:
        """The files ``generate`` writes for the processes of ``generate.process`` whose class
        is ``label`` (the sample's own name when none is)."""
        generate = self.generate
        names = [p for p in generate.process if LABELS[generate.processes[p].label] == label]
        # the index's digits: qcd_[0-9]*.root is not also qcd_generic_0.root
        return [str(Path(generate.out) / f"{name}_[0-9]*.root") for name in names or [sample]]

    def resolved(self) -> Config:
        """This configuration with every unset stage input set to its upstream's output.

        ``ingest.samples`` without paths: the generated files of ``generate.process`` of the
        sample's class (``<generate.out>/<process>_<index>.root``);
        ``features.input``: ``ingest.out``; ``train.data``: ``<features.out>/balanced``;
        ``tune.data``: ``<features.out>/dev``; ``baselines.data``, ``evaluate.data``:
        ``train.data``; ``l1.data``: ``train.data``, ``l1.run``: the run folder of ``hlf``;
        ``evaluate.runs``: the run folders of ``run.models``; ``evaluate.baselines``:
        ``baselines.out``; ``evaluate.l1``: ``l1.out``; ``stream.model``: the run folder of
        ``train.model``. Resolving twice changes nothing.
        """
        samples = {
            name: sample.model_copy(update={"paths": self._generated_files(name, sample.label)})
            if not sample.paths and name in LABELS
            else sample
            for name, sample in self.ingest.samples.items()
        }
        features_out = Path(self.features.out)
        train_data = self.train.data or features_out / "balanced"
        evaluate = self.evaluate
        return self.model_copy(
            update={
                "ingest": self.ingest.model_copy(update={"samples": samples}),
                "features": self.features.model_copy(
                    update={"input": self.features.input or Path(self.ingest.out)}
                ),
                "train": self.train.model_copy(update={"data": train_data}),
                "tune": self.tune.model_copy(
                    update={"data": self.tune.data or features_out / "dev"}
                ),
                "baselines": self.baselines.model_copy(
                    update={"data": self.baselines.data or train_data}
                ),
                "l1": self.l1.model_copy(
                    update={
                        "data": self.l1.data or train_data,
                        "run": self.l1.run or self.run_folder("hlf"),
                    }
                ),
                "evaluate": evaluate.model_copy(
                    update={
                        "data": evaluate.data or train_data,
                        "runs": evaluate.runs or [self.run_folder(m) for m in self.run.models],
                        "baselines": evaluate.baselines or Path(self.baselines.out),
                        "l1": evaluate.l1 or Path(self.l1.out),
                    }
                ),
                "stream": self.stream.model_copy(
                    update={"model": self.stream.model or self.run_folder(self.train.model)}
                ),
            }
        )


def _nearest_setting(loc: tuple[Any, ...]) -> str:
    """`` (did you mean 'epochs'?)`` for an unknown key at ``loc`` in the configuration."""
    model: Any = Config
    for part in loc[:-1]:
        field = getattr(model, "model_fields", {}).get(part)
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, _Strict)):
            return ""
        model = annotation
    return did_you_mean(str(loc[-1]), getattr(model, "model_fields", {}))


def _format_validation_error(error: ValidationError, source: str) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"])
        given = item.get("input")
        # A section-wide check (two settings that exclude each other) gets the whole section
        # as its input: its message names the values, the dump would bury it.
        whole = item["type"] == "value_error" and isinstance(given, dict)
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = f"no such setting{_nearest_setting(item['loc'])}"
        parts.append((f"{where}: " if where else "") + message
                     + ("" if whole else f" (got {given!r})"))  # fmt: skip
    return f"invalid configuration in {source}: " + "; ".join(parts)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load the configuration from ``path``, ``$DLTRIGGER_CONFIG`` or ``./dltrigger.toml``.

    A missing default file gives the built-in defaults; a missing file that was named explicitly
    is an error.

    Example, with a file of two settings (the others keep their defaults):

    ```pycon
    >>> import tempfile
    >>> from pathlib import Path
    >>> import dltrigger as dlt
    >>> path = Path(tempfile.mkdtemp()) / "dltrigger.toml"
    >>> _ = path.write_text('train = {model = "hlf", epochs = 5}')
    >>> config = dlt.load_config(path)
    >>> config.train.model, config.train.epochs, config.train.batch_size
    ('hlf', 5, 32)
    >>> _ = path.write_text("train = {epoch = 5}")
    >>> dlt.load_config(path)  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    dltrigger.errors.ConfigError: invalid configuration in ...: train.epoch: no such setting
    (did you mean 'epochs'?) (got 5)

    ```
    """
    explicit = path is not None or "DLTRIGGER_CONFIG" in os.environ
    chosen = Path(path or os.environ.get("DLTRIGGER_CONFIG", DEFAULT_CONFIG_NAME))
    if not chosen.exists():
        if explicit:
            raise ConfigError(f"configuration file not found: {chosen}")
        return Config()
    try:
        data = tomllib.loads(chosen.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot parse {chosen}: {exc}") from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, str(chosen))) from None


def with_overrides(config: Config, section: str | None = None, /, **values: Any) -> Config:
    """A copy of ``config`` with settings replaced (a value of None leaves a setting as it is).

    One section: ``with_overrides(config, "train", epochs=2)``; several at once, a mapping per
    section: ``with_overrides(config, train={"epochs": 2}, features={"balance": False})``;
    ``with_overrides(config, if_exists="skip")`` sets every stage's ``if_exists``. An unknown
    section or setting is refused naming the nearest valid one.

    Example:

    ```pycon
    >>> import dltrigger as dlt
    >>> config = dlt.Config()
    >>> quick = dlt.with_overrides(config, "train", epochs=2, batch_size=None)  # None: unchanged
    >>> quick.train.epochs, quick.train.batch_size
    (2, 32)
    >>> both = dlt.with_overrides(config, train={"epochs": 2}, features={"balance": False})
    >>> both.train.epochs, both.features.balance, config.train.epochs
    (2, False, 20)
    >>> dlt.with_overrides(config, "train", epoch=2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    dltrigger.errors.ConfigError: no setting train.epoch (did you mean 'epochs'?); ...
    >>> dlt.with_overrides(config, "train", epochs=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    dltrigger.errors.ConfigError: invalid ...: epochs: Input should be greater than 0 (got 0)

    ```
    """
    if section is None and "if_exists" in values:  # every stage that writes an output
        mode = values.pop("if_exists")
        for name, field in Config.model_fields.items():
            if isinstance(field.annotation, type) and "if_exists" in field.annotation.model_fields:
                values[name] = {"if_exists": mode, **values.get(name, {})}
    sections = {section: values} if section is not None else values
    for name, updates in sections.items():
        if name not in Config.model_fields:
            raise ConfigError(
                f"no configuration section {name!r}{did_you_mean(name, Config.model_fields)}; "
                f"sections: {', '.join(Config.model_fields)}"
            )
        if not isinstance(updates, dict):
            raise ConfigError(f"{name}: give its settings as a mapping (got {updates!r})")
        current = getattr(config, name)
        fields = type(current).model_fields
        for key in updates:
            if key not in fields:
                raise ConfigError(
                    f"no setting {name}.{key}{did_you_mean(key, fields)}; see the "
                    f"[{name}] section of dltrigger.toml for its settings"
                )
        given = {k: v for k, v in updates.items() if v is not None}
        source = "command-line options" if FROM_COMMAND_LINE.get() else "with_overrides"
        try:
            new = type(current).model_validate({**current.model_dump(), **given})
        except ValidationError as exc:
            raise ConfigError(_format_validation_error(exc, source)) from None
        config = config.model_copy(update={name: new})
    return config
