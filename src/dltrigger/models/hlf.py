"""HLF classifier: 14 -> Dense 50 -> 20 -> 10 (ReLU) -> 3 (docs/reference.md §5.1)."""

from __future__ import annotations

from torch import Tensor, nn

from ..schema import CLASS_NAMES, HLF_WIDTH

N_HLF = HLF_WIDTH
N_CLASSES = len(CLASS_NAMES)


class HLFClassifier(nn.Module):
    def __init__(self, widths: tuple[int, ...] = (50, 20, 10), n_inputs: int = N_HLF):
        super().__init__()
        layers: list[nn.Module] = []
        previous = n_inputs
        for width in widths:
            layers += [nn.Linear(previous, width), nn.ReLU()]
            previous = width
        layers.append(nn.Linear(previous, N_CLASSES))
        self.net = nn.Sequential(*layers)

    def forward(self, hlf: Tensor) -> Tensor:
        return self.net(hlf)
