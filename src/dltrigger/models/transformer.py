"""A particle Transformer done right (the reference's version, §5.4, had no mask, no residual
and a 16,020-wide flatten): particles embedded, masked multi-head self-attention with
residuals and layer norm (pre-norm encoder layers), a masked mean over real particles, joined
with the HLF as in the inclusive classifier."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .hlf import N_CLASSES, N_HLF
from .recurrent import N_PARTICLE_FEATURES


class ParticleTransformerClassifier(nn.Module):
    def __init__(
        self,
        d_model: int = 32,
        heads: int = 4,
        layers: int = 2,
        feedforward: int = 64,
        dropout: float = 0.1,
        hlf_dropout: float = 0.2,
    ):
        super().__init__()
        self.embed = nn.Linear(N_PARTICLE_FEATURES, d_model)
        layer = nn.TransformerEncoderLayer(
            d_model, heads, feedforward, dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.hlf_dropout = nn.Dropout(hlf_dropout)
        self.dense = nn.Linear(d_model + N_HLF, 25)
        self.out = nn.Linear(25, N_CLASSES)

    def forward(self, particles: Tensor, lengths: Tensor, hlf: Tensor) -> Tensor:
        positions = torch.arange(particles.shape[1], device=particles.device)
        padding = positions[None, :] >= lengths[:, None]  # True where there is no particle
        encoded = self.norm(self.encoder(self.embed(particles), src_key_padding_mask=padding))
        real = (~padding).unsqueeze(-1).to(encoded.dtype)
        pooled = (encoded * real).sum(1) / real.sum(1).clamp(min=1)
        joined = torch.cat([pooled, self.hlf_dropout(hlf)], dim=1)
        return self.out(torch.relu(self.dense(joined)))
