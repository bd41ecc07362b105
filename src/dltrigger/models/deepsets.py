"""A particle-set (Deep Sets / particle-flow network) inclusive classifier: the same small
network on every particle's 19 features, a masked sum over the real particles (the order of
the list and its padding never matter), joined with the 14 HLF as the inclusive classifier
does. Dense layers only: far cheaper than the 801-step GRU on a CPU, and the shape of model a
Level-1 FPGA can hold (issue 27)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .hlf import N_CLASSES, N_HLF
from .recurrent import N_PARTICLE_FEATURES


class DeepSetsClassifier(nn.Module):
    """phi: 19 -> ``widths`` (ReLU) per particle; masked sum (``pooling="sum"``) or mean over
    the real particles; rho: (pooled + 14 HLF) -> ``head`` (ReLU) -> 3 logits."""

    def __init__(
        self,
        widths: tuple[int, ...] | list[int] = (64, 64),
        head: tuple[int, ...] | list[int] = (64, 32),
        pooling: str = "sum",
        dropout: float = 0.1,
        hlf_dropout: float = 0.2,
    ):
        super().__init__()
        if pooling not in ("sum", "mean"):
            raise TypeError(f"pooling must be 'sum' or 'mean', not {pooling!r}")
        self.pooling = pooling
        layers: list[nn.Module] = []
        width = N_PARTICLE_FEATURES
        for size in widths:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        self.phi = nn.Sequential(*layers)
        self.hlf_dropout = nn.Dropout(hlf_dropout)
        rho: list[nn.Module] = []
        width += N_HLF
        for size in head:
            rho += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
            width = size
        rho.append(nn.Linear(width, N_CLASSES))
        self.rho = nn.Sequential(*rho)

    def forward(self, particles: Tensor, lengths: Tensor, hlf: Tensor) -> Tensor:
        positions = torch.arange(particles.shape[1], device=particles.device)
        real = (positions[None, :] < lengths[:, None]).unsqueeze(-1).to(particles.dtype)
        pooled = (self.phi(particles) * real).sum(1)  # padding multiplied away, whatever it holds
        if self.pooling == "mean":
            pooled = pooled / real.sum(1).clamp(min=1)
        return self.rho(torch.cat([pooled, self.hlf_dropout(hlf)], dim=1))
