"""Stage 4 models (PyTorch): the reference's classifiers, with padding truly masked.

Every model returns *logits* for the three classes (0 QCD, 1 ttbar, 2 W+jets); the loss is
cross-entropy on logits (the reference's PyTorch versions applied softmax twice,
docs/reference.md §5.5).
Particle inputs are ``(batch, max_len, 19)`` padded tensors with ``lengths`` (real rows per
event); padding never reaches the result (packed sequences, attention masks).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .deepsets import DeepSetsClassifier, L1DeepSetsClassifier
from .hlf import HLFClassifier
from .recurrent import InclusiveClassifier, ParticleSequenceClassifier
from .transformer import ParticleTransformerClassifier

if TYPE_CHECKING:
    from torch import nn

MODELS: dict[str, Callable[..., nn.Module]] = {
    "hlf": HLFClassifier,
    "particle": ParticleSequenceClassifier,
    "inclusive": InclusiveClassifier,
    "lstm": lambda **kw: InclusiveClassifier(cell="lstm", **kw),
    "transformer": ParticleTransformerClassifier,
    "deepsets": DeepSetsClassifier,
    "deepsets_l1": L1DeepSetsClassifier,
}

#: Parameter counts of the reference's Keras models (docs/reference.md §5).
REFERENCE_PARAMETERS = {
    "hlf": 2_013,
    "inclusive": 12_353,
    "lstm": 15_703,  # Keras LSTM has one bias vector; PyTorch's has two (+200)
    "transformer": 173_378,  # no mask, no residual, a 16,020-wide flatten
}


def build_model(name: str, **options):
    """A model by name (``hlf``, ``particle``, ``inclusive``, ``lstm``, ``transformer``,
    ``deepsets``, ``deepsets_l1``)."""
    from ..errors import ConfigError, did_you_mean

    if name not in MODELS:
        raise ConfigError(
            f"unknown model {name!r}{did_you_mean(name, MODELS)}; valid: {', '.join(MODELS)}"
        )
    try:
        return MODELS[name](**options)
    except TypeError as exc:  # an option the model does not take
        raise ConfigError(f"model {name!r}: {exc}") from None


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def describe_parameters(name: str, options: dict | None = None) -> str:
    """One line: the model's trainable parameters beside the reference's Keras model's."""
    count = count_parameters(build_model(name, **(options or {})))
    line = f"model {name}: {count:,} trainable parameters"
    if name in REFERENCE_PARAMETERS and not options:
        line += f" (reference {REFERENCE_PARAMETERS[name]:,})"
    return line


__all__ = [
    "MODELS",
    "REFERENCE_PARAMETERS",
    "DeepSetsClassifier",
    "HLFClassifier",
    "InclusiveClassifier",
    "L1DeepSetsClassifier",
    "ParticleSequenceClassifier",
    "ParticleTransformerClassifier",
    "build_model",
    "count_parameters",
    "describe_parameters",
]
