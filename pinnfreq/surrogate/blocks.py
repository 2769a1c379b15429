"""The two block designs a Surrogate stacks around its token mixer, and the channel MLPs they share.

    "pre-norm" (the transformer's):
        x <- x + Mixer(Norm(x))
        x <- x + MLP(Norm(x))                                   MLP: d -> r d -> d, GELU

    "fno" (Li et al. 2021 as neuraloperator builds it, post-activation; the default):
        x <- act(Norm(Mixer(x)) + W x)                          W: linear skip (no bias)
        x <- act(Norm(MLP(x)) + g * x)                          g: per-channel soft gate
        (no act after the last block)

The FNO layer (``FNOMixer``) carries its own linear skip, so the "fno" block adds none around it.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

BLOCKS = ("fno", "pre-norm")
NORMS = ("layer", "none")


def make_norm(kind: str, hidden_channels: int) -> nn.Module:
    return nn.LayerNorm(hidden_channels) if kind == "layer" else nn.Identity()


def channel_mlp(in_channels: int, hidden_channels: int, out_channels: int) -> nn.Sequential:
    """Per-token MLP (in -> hidden -> out, GELU)."""
    return nn.Sequential(nn.Linear(in_channels, hidden_channels), nn.GELU(), nn.Linear(hidden_channels, out_channels))


class PreNormBlock(nn.Module):
    def __init__(self, mixer: nn.Module, hidden_channels: int, mlp_ratio: float, norm: str = "layer"):
        super().__init__()
        self.norm1, self.norm2 = make_norm(norm, hidden_channels), make_norm(norm, hidden_channels)
        self.mixer = mixer
        self.mlp = channel_mlp(hidden_channels, max(1, round(mlp_ratio * hidden_channels)), hidden_channels)

    def forward(self, x: Tensor, shape: tuple[int, ...]) -> Tensor:
        x = x + self.mixer(self.norm1(x), shape)
        return x + self.mlp(self.norm2(x))


class FNOBlock(nn.Module):
    """``last``: no activation at the end (neuraloperator's last layer)."""

    def __init__(self, mixer: nn.Module, hidden_channels: int, mlp_ratio: float, norm: str = "none",
                 last: bool = False):
        super().__init__()
        d = hidden_channels
        self.mixer, self.last = mixer, last
        self.skip = None if getattr(mixer, "has_skip", False) else nn.Linear(d, d, bias=False)
        self.norm1, self.norm2 = make_norm(norm, d), make_norm(norm, d)
        self.mlp = channel_mlp(d, max(1, round(mlp_ratio * d)), d)
        self.gate = nn.Parameter(torch.ones(d))

    def forward(self, x: Tensor, shape: tuple[int, ...]) -> Tensor:
        y = self.norm1(self.mixer(x, shape))
        x = F.gelu(y + (self.skip(x) if self.skip is not None else 0))
        x = self.norm2(self.mlp(x)) + self.gate * x
        return x if self.last else F.gelu(x)
