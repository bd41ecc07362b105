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


#: The particle feature a Level-1 input is ordered by (the leading particles: highest pT).
PT_INDEX = 4


def leading_particles(particles: Tensor, lengths: Tensor, count: int) -> Tensor:
    """The ``count`` highest-pT real particles of each event, highest first, as (events,
    19, count), channels first; an event with fewer is padded with zero rows (the L1
    correlator's sorted, fixed-size particle list)."""
    positions = torch.arange(particles.shape[1], device=particles.device)
    real = positions[None, :] < lengths[:, None]
    pt = particles[..., PT_INDEX].masked_fill(~real, float("-inf"))
    if particles.shape[1] < count:  # fewer slots than asked for: pad first
        missing = count - particles.shape[1]
        particles = nn.functional.pad(particles, (0, 0, 0, missing))
        pt = nn.functional.pad(pt, (0, missing), value=float("-inf"))
    order = pt.topk(count, dim=1).indices
    chosen = particles.gather(1, order.unsqueeze(-1).expand(-1, -1, particles.shape[2]))
    kept = pt.gather(1, order) > float("-inf")
    return (chosen * kept.unsqueeze(-1).to(chosen.dtype)).transpose(1, 2).contiguous()


class L1DeepSetsCore(nn.Module):
    """The firmware's part of the L1 Deep Sets model: ``particles`` (events, 19, N: channels
    first, zero rows for absent particles) and ``hlf`` (events, 14) -> 3 logits. phi has no
    bias, so a zero row contributes zero, and the mean over the N slots is the sum over the
    real particles / N. Conv1d with kernel 1, AvgPool1d, Flatten, cat and Linear: the layers
    hls4ml's PyTorch front end converts (io_parallel)."""

    def __init__(self, count: int, widths: tuple[int, ...], head: tuple[int, ...]):
        super().__init__()
        layers: list[nn.Module] = []
        width = N_PARTICLE_FEATURES
        for size in widths:
            layers += [nn.Conv1d(width, size, kernel_size=1, bias=False), nn.ReLU()]
            width = size
        self.phi = nn.Sequential(*layers)
        self.pool = nn.AvgPool1d(count)
        self.flatten = nn.Flatten()
        rho: list[nn.Module] = []
        width += N_HLF
        for size in head:
            rho += [nn.Linear(width, size), nn.ReLU()]
            width = size
        rho.append(nn.Linear(width, N_CLASSES))
        self.rho = nn.Sequential(*rho)

    def forward(self, particles: Tensor, hlf: Tensor) -> Tensor:
        pooled = self.flatten(self.pool(self.phi(particles)))
        return self.rho(torch.cat([pooled, hlf], dim=1))


class L1DeepSetsClassifier(nn.Module):
    """A Deep Sets model small enough for a Level-1 FPGA (``deepsets_l1``): the
    ``particles`` leading particles by pT, phi 19 -> ``widths`` (ReLU, no bias) on each, the
    mean over the slots, with the 14 HLF -> ``head`` (ReLU) -> 3 logits. Trains, exports and
    scores like the others; ``dltrigger l1`` makes it firmware ([`L1DeepSetsCore`][])."""

    def __init__(
        self,
        particles: int = 16,
        widths: tuple[int, ...] | list[int] = (16, 16),
        head: tuple[int, ...] | list[int] = (32,),
    ):
        super().__init__()
        if particles < 1:
            raise TypeError(f"particles must be at least 1, not {particles}")
        self.count = particles
        self.core = L1DeepSetsCore(particles, tuple(widths), tuple(head))

    def forward(self, particles: Tensor, lengths: Tensor, hlf: Tensor) -> Tensor:
        return self.core(leading_particles(particles, lengths, self.count), hlf)
