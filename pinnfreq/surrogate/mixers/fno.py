"""A Fourier neural operator layer (Li et al. 2021) as a token mixer on 1-D or 2-D grids:

    out = iFFT(R . FFT(x)[lowest modes]) + x W

R holds complex weights (d x d) per retained mode. Periodic by construction, so it suits the
periodic PDE grids here; padding (mask 0) is zeroed before the transform.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from .base import Mixer, check_tokens


class FNOMixer(Mixer):
    """(B, N, d) -> (B, N, d). ``n_modes``: retained Fourier modes per axis; ``n_dims``: 1 or 2.

    Modes counted as here: 1-D keeps rfft modes 0..n_modes-1; 2-D keeps n_modes rows of each sign and
    n_modes rfft columns. (neuraloperator's ``n_modes=(m,)`` keeps m // 2 + 1 rfft modes: its (16,) is
    n_modes=9 here; its (12, 12) keeps 6 rows of each sign and 7 columns, n_modes=6 here 6 and 6.)
    """

    has_skip = True  # the linear term x W: a block need not add its own skip around this mixer

    def __init__(self, hidden_channels: int, n_modes: int = 16, n_dims: int = 1):
        super().__init__(hidden_channels, 1)
        if n_dims not in (1, 2) or n_modes < 1:
            raise ValueError(f"FNOMixer: need n_dims 1 or 2 and n_modes >= 1; got {n_dims}, {n_modes}")
        d = hidden_channels
        self.n_modes, self.n_dims = n_modes, n_dims
        # 2-D keeps the lowest |k_0| on both signs: two blocks of rows
        shape = (d, d, n_modes, 2) if n_dims == 1 else (2, d, d, n_modes, n_modes, 2)
        self.weight = nn.Parameter(torch.randn(shape) / (d * math.sqrt(2)))
        self.pointwise = nn.Linear(d, d)

    def forward(self, x: Tensor, shape: Sequence[int] | None = None, mask: Tensor | None = None) -> Tensor:
        grid = check_tokens(x, self.hidden_channels, shape, mask, "FNOMixer")
        if len(grid) != self.n_dims:
            raise ValueError(f"FNOMixer was built for {self.n_dims}-D grids; got the grid {grid}")
        b, n, d = x.shape
        if mask is not None:
            x = x * mask.to(x.dtype)[..., None]
        u = x.transpose(1, 2).reshape(b, d, *grid)
        spec = torch.fft.rfftn(u, dim=tuple(range(2, 2 + self.n_dims)))
        out = torch.zeros_like(spec)
        w = torch.view_as_complex(self.weight)
        m = self.n_modes
        if self.n_dims == 1:
            k = min(m, spec.shape[-1])
            out[..., :k] = torch.einsum("bix,iox->box", spec[..., :k], w[..., :k])
        else:
            k0, k1 = min(m, grid[0] // 2), min(m, spec.shape[-1])
            out[..., :k0, :k1] = torch.einsum("bixy,ioxy->boxy", spec[..., :k0, :k1], w[0, ..., :k0, :k1])
            out[..., -k0:, :k1] = torch.einsum("bixy,ioxy->boxy", spec[..., -k0:, :k1], w[1, ..., :k0, :k1])
        mixed = torch.fft.irfftn(out, s=grid, dim=tuple(range(2, 2 + self.n_dims)))
        return mixed.reshape(b, d, n).transpose(1, 2) + self.pointwise(x)
