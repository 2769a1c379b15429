"""What every token mixer shares: (B, N, d) -> (B, N, d) on a grid of tokens, with an optional mask."""

from __future__ import annotations

import math
from typing import Sequence

from torch import Tensor, nn


class Mixer(nn.Module):
    """Base class. ``forward(x, shape=None, mask=None)``:

    x : (B, N, d) tokens, row-major over the grid ``shape`` (default ``(N,)``: a 1-D grid)
    mask : (B, N), 1 (or True) for real tokens, 0 for padding; None: all real
    returns (B, N, d)
    """

    def __init__(self, hidden_channels: int, n_heads: int = 1):
        super().__init__()
        if hidden_channels < 1 or n_heads < 1 or hidden_channels % n_heads:
            raise ValueError(f"{type(self).__name__}: n_heads={n_heads} must divide hidden_channels={hidden_channels}")
        self.hidden_channels, self.n_heads = hidden_channels, n_heads
        self.head_channels = hidden_channels // n_heads

    def split_heads(self, x: Tensor) -> Tensor:
        """(B, N, d) -> (B, heads, N, d / heads)."""
        b, n, _ = x.shape
        return x.view(b, n, self.n_heads, self.head_channels).transpose(1, 2)

    def merge_heads(self, x: Tensor) -> Tensor:
        b, h, n, c = x.shape
        return x.transpose(1, 2).reshape(b, n, h * c)


def check_tokens(x: Tensor, hidden_channels: int, shape: Sequence[int] | None, mask: Tensor | None,
                 owner: str) -> tuple[int, ...]:
    """Validate the common arguments; returns the grid shape."""
    if x.ndim != 3 or x.shape[-1] != hidden_channels:
        raise ValueError(f"{owner} takes tokens (B, N, {hidden_channels}); got {tuple(x.shape)}")
    shape = (x.shape[1],) if shape is None else tuple(int(s) for s in shape)
    if math.prod(shape) != x.shape[1] or len(shape) not in (1, 2):
        raise ValueError(f"{owner}: grid shape {shape} does not hold N = {x.shape[1]} tokens (1-D or 2-D grids)")
    if mask is not None and tuple(mask.shape) != tuple(x.shape[:2]):
        raise ValueError(f"{owner}: mask must be (B, N) = {tuple(x.shape[:2])}, got {tuple(mask.shape)}")
    return shape
