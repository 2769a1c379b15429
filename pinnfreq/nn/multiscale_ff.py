"""Baseline: the multi-scale Fourier feature network of Wang, Wang & Perdikaris (2021).

Each scale i embeds x as gamma_i(x) = [cos(2 pi B_i x), sin(2 pi B_i x)] with B_i ~ N(0, sigma_i^2);
one shared MLP maps every embedding, and a linear layer reads out their concatenation.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from .mlp import MLP
from .registry import register


@register
class MultiScaleFourierNet(nn.Module):
    """(n, in_channels) -> (n, out_channels).

    Parameters
    ----------
    sigmas : sequence of float
        Standard deviations of the Gaussian frequency matrices, one per scale (their paper: 1 and 10
        or 1, 20, 50 depending on the problem).
    n_features : int
        Frequencies per scale (each gives a cosine and a sine).
    hidden_channels, n_layers, activation : the shared MLP (its last layer has hidden_channels outputs).
    """

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int = 64, n_layers: int = 4,
                 sigmas: Sequence[float] = (1.0, 10.0), n_features: int = 64, activation: str = "tanh"):
        super().__init__()
        self.config = dict(in_channels=in_channels, out_channels=out_channels, hidden_channels=hidden_channels,
                           n_layers=n_layers, sigmas=list(sigmas), n_features=n_features, activation=activation)
        self.register_buffer("b", torch.stack([s * torch.randn(in_channels, n_features) for s in sigmas]))
        self.shared = MLP(2 * n_features, hidden_channels, hidden_channels, n_layers - 1, activation)
        self.act = self.shared.act
        self.readout = nn.Linear(len(sigmas) * hidden_channels, out_channels)

    def forward(self, x: Tensor) -> Tensor:
        z = 2 * math.pi * torch.einsum("nd,sdf->snf", x, self.b)  # (scales, n, n_features)
        h = self.act(self.shared(torch.cat([torch.cos(z), torch.sin(z)], dim=-1)))
        return self.readout(torch.cat(list(h), dim=-1))
