"""Particle-sequence (GRU) and inclusive (GRU/LSTM + HLF) classifiers
(docs/reference.md §5.2, §5.3).

The result is the hidden state after each event's last real particle (with the reference's
descending-ΔR order, the lepton): padding never reaches it. By default the layer runs over
the padded batch and takes the output at each event's last real row: padding sits after the
real rows and a one-directional RNN's output at step t depends on steps <= t only, so this is
exactly the final state of the unpadded sequence, gradients included. ``packed = True`` uses
PyTorch's packed sequences instead: the same numbers, ~2x slower on CPU (measured in
docs/benchmarks.md), and not exportable to ONNX/TorchScript.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from ..schema import PARTICLE_WIDTH as N_PARTICLE_FEATURES
from .hlf import N_CLASSES, N_HLF


def last_hidden(rnn: nn.RNNBase, particles: Tensor, lengths: Tensor, packed: bool = True) -> Tensor:
    """The final hidden state after each sequence's real rows only."""
    if not packed:
        output, _ = rnn(particles)
        last = (lengths.clamp(min=1) - 1).to(torch.long)
        index = last.view(-1, 1, 1).expand(-1, 1, output.shape[2])
        return output.gather(1, index).squeeze(1)
    packed_input = pack_padded_sequence(
        particles, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
    )
    _, state = rnn(packed_input)
    hidden = state[0] if isinstance(state, tuple) else state  # LSTM returns (h, c)
    return hidden[-1]


class ParticleSequenceClassifier(nn.Module):
    """GRU(50) over the particles -> Dropout 0.2 -> 3 (10,803 parameters)."""

    packed = False  # True: packed sequences (same result, ~2x slower on CPU, not exportable)

    def __init__(self, hidden: int = 50, dropout: float = 0.2):
        super().__init__()
        self.rnn = nn.GRU(N_PARTICLE_FEATURES, hidden, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, N_CLASSES)

    def forward(self, particles: Tensor, lengths: Tensor, hlf: Tensor | None = None) -> Tensor:
        hidden = last_hidden(self.rnn, particles, lengths, self.packed)
        return self.out(self.dropout(hidden))


class InclusiveClassifier(nn.Module):
    """[GRU(50) -> Dropout 0.2] + [Dropout 0.2 on the 14 HLF] -> Dense 25 (ReLU) -> 3.

    12,353 parameters with the GRU, as the reference's Keras model; ``cell="lstm"`` gives the
    LSTM variant.
    """

    packed = False  # True: packed sequences (same result, ~2x slower on CPU, not exportable)

    def __init__(self, hidden: int = 50, dropout: float = 0.2, cell: str = "gru"):
        super().__init__()
        rnn = {"gru": nn.GRU, "lstm": nn.LSTM}[cell]
        self.rnn = rnn(N_PARTICLE_FEATURES, hidden, batch_first=True)
        self.particle_dropout = nn.Dropout(dropout)
        self.hlf_dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(hidden + N_HLF, 25)
        self.out = nn.Linear(25, N_CLASSES)

    def forward(self, particles: Tensor, lengths: Tensor, hlf: Tensor) -> Tensor:
        hidden = last_hidden(self.rnn, particles, lengths, self.packed)
        sequence = self.particle_dropout(hidden)
        joined = torch.cat([sequence, self.hlf_dropout(hlf)], dim=1)
        return self.out(torch.relu(self.dense(joined)))
