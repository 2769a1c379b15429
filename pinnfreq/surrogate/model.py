"""The surrogate: a history of frames in, the next frame(s) out, on grid-point tokens.

    tokens  = Linear([u_{t-h+1}, ..., u_t, coordinates]) per grid point     (B, N, d)
              (or per patch of p x p points: N / p^2 tokens, which is what makes attention over a
              64 x 64 grid affordable: 256 tokens instead of 4096)
    tokens <- Block(tokens)  x n_layers          pre-norm transformer blocks, or FNO blocks (blocks.py)
    frames  = Linear(tokens) -> (B, k, *grid, C)   (+ u_t when predicting increments)

The default design is neuraloperator's FNO's, whatever the mixer: FNO blocks (no normalisation,
channel MLPs of width d / 2 with soft-gated skips) between a lifting and a projection MLP through 2 d
channels. Measured against the transformer design (pre-norm blocks, MLP ratio 4, linear lifting and
projection) at 240 s on one CPU thread, seed 0 (``benchmarks/README.md``, "Surrogates: what of the
peer's design matters"): FNO layer on Burgers nRMSE 0.060 -> 0.018, on Navier-Stokes 0.134 -> 0.035;
SPECTRE on Navier-Stokes 0.48 -> 0.10. ``block="pre-norm"`` keeps the transformer design.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from ..nn.registry import register
from .blocks import BLOCKS, NORMS, FNOBlock, PreNormBlock, channel_mlp, make_norm
from .mixers import FNOMixer, MagnitudeAttention, SoftmaxAttention, SpectreMixer

MIXERS = {"spectre": SpectreMixer, "magnitude": MagnitudeAttention, "softmax": SoftmaxAttention, "fno": FNOMixer}


def make_mixer(kind: str, hidden_channels: int, n_dims: int, options: dict[str, Any],
               grid: tuple[int, ...] | None = None) -> nn.Module:
    """A mixer by name. Knowing the ``grid``, SPECTRE mixes circularly (n_fft = the grid: the data are
    periodic) with the seed's bucket rule max(4, floor(sqrt(n/2 + 1))) per axis."""
    if kind not in MIXERS:
        raise ValueError(f"unknown mixer {kind!r}; choose one of {sorted(MIXERS)}")
    if kind in ("spectre", "fno"):
        options = {"n_dims": n_dims, **options}
    if kind == "spectre" and grid is not None:
        options = {"n_fft": "same", "n_buckets": max(4, math.isqrt(max(grid) // 2 + 1)), **options}
    return MIXERS[kind](hidden_channels, **options)


@register
class Surrogate(nn.Module):
    """(B, history, *grid, channels) -> (B, out_frames, *grid, channels).

    Parameters
    ----------
    history : int
        Input frames h.
    channels : int
        Fields per frame C.
    n_dims : 1 or 2
        Grid dimension.
    mixer : {"spectre", "magnitude", "softmax", "fno"}
    hidden_channels, n_layers : int
    mlp_ratio : float, optional
        Hidden width of each block's channel MLP over ``hidden_channels`` (default: the block's, "fno" 0.5,
        "pre-norm" 4).
    out_frames : int
        Frames predicted per call (multi-step output).
    increment : bool
        Predict u_{t+j} - u_t instead of u_{t+j}.
    coordinates : bool
        Append the grid coordinates in [0, 1) as input channels.
    mixer_options : dict
        Keyword arguments of the mixer (e.g. ``{"n_heads": 4}``, ``{"n_modes": 16}``).
    grid : tuple of int, optional
        The data's grid, when known: sets SPECTRE's FFT size and buckets (see :func:`make_mixer`).
    patch : int
        Tokens are patches of ``patch`` points per axis (1: grid points); must divide the grid.
    norm : {"layer", "none"}, optional
        The norms of the blocks (and, in pre-norm blocks, the one before the output): LayerNorm over each
        token's channels (the transformer's choice), or none (FNO's). Default: the block's ("fno": none,
        "pre-norm": layer).
    block : {"fno", "pre-norm"}
        neuraloperator's FNO blocks (post-activation, linear skip around the mixer, soft-gated channel
        MLP), or residual pre-norm transformer blocks; see :mod:`pinnfreq.surrogate.blocks`.
    lifting_channel_ratio, projection_channel_ratio : float, optional
        0: the lifting (projection) is one linear map; r > 0: a channel MLP through r * hidden_channels.
        Default: the block's ("fno": 2, "pre-norm": 0).
    """

    def __init__(self, history: int, channels: int, n_dims: int = 1, mixer: str = "spectre", hidden_channels: int = 64,
                 n_layers: int = 4, mlp_ratio: float | None = None, out_frames: int = 1, increment: bool = True,
                 coordinates: bool = True, mixer_options: dict[str, Any] | None = None,
                 grid: tuple[int, ...] | list[int] | None = None, patch: int = 1, norm: str | None = None,
                 block: str = "fno", lifting_channel_ratio: float | None = None,
                 projection_channel_ratio: float | None = None):
        super().__init__()
        if block not in BLOCKS:
            raise ValueError(f"Surrogate: block must be one of {BLOCKS}, got {block!r}")
        fno = block == "fno"
        norm = norm or ("none" if fno else "layer")
        mlp_ratio = (0.5 if fno else 4) if mlp_ratio is None else mlp_ratio
        lifting_channel_ratio = (2 if fno else 0) if lifting_channel_ratio is None else lifting_channel_ratio
        projection_channel_ratio = (2 if fno else 0) if projection_channel_ratio is None else projection_channel_ratio
        if norm not in NORMS:
            raise ValueError(f"Surrogate: norm must be one of {NORMS}, got {norm!r}")
        if min(mlp_ratio, lifting_channel_ratio, projection_channel_ratio) < 0 or mlp_ratio == 0:
            raise ValueError("Surrogate: mlp_ratio must be positive and the channel ratios >= 0")
        if n_dims not in (1, 2) or min(history, channels, n_layers, out_frames, hidden_channels, patch) < 1:
            raise ValueError("Surrogate: need n_dims 1 or 2 and positive history, channels, n_layers, out_frames, "
                             "hidden_channels")
        options = dict(mixer_options or {})
        self.config = dict(history=history, channels=channels, n_dims=n_dims, mixer=mixer,
                           hidden_channels=hidden_channels, n_layers=n_layers, mlp_ratio=mlp_ratio,
                           out_frames=out_frames, increment=increment, coordinates=coordinates, mixer_options=options,
                           grid=None if grid is None else list(grid), patch=patch, norm=norm, block=block,
                           lifting_channel_ratio=lifting_channel_ratio,
                           projection_channel_ratio=projection_channel_ratio)
        self.history, self.channels, self.n_dims, self.out_frames = history, channels, n_dims, out_frames
        self.increment, self.coordinates, self.patch = increment, coordinates, patch
        cells = patch**n_dims
        d, n_in, n_out = hidden_channels, cells * history * channels + (n_dims if coordinates else 0), cells * out_frames * channels
        self.lift = channel_mlp(n_in, round(lifting_channel_ratio * d), d) if lifting_channel_ratio else nn.Linear(n_in, d)
        grid = None if grid is None else tuple(g // patch for g in grid)
        mixers = [make_mixer(mixer, d, n_dims, options, grid) for _ in range(n_layers)]
        self.blocks = nn.ModuleList(PreNormBlock(m, d, mlp_ratio, norm) if block == "pre-norm"
                                    else FNOBlock(m, d, mlp_ratio, norm, last=i == n_layers - 1)
                                    for i, m in enumerate(mixers))
        self.norm = make_norm(norm if block == "pre-norm" else "none", d)
        self.project = (channel_mlp(d, round(projection_channel_ratio * d), n_out) if projection_channel_ratio
                        else nn.Linear(d, n_out))

    def forward(self, frames: Tensor) -> Tensor:
        if frames.ndim != 3 + self.n_dims or frames.shape[1] != self.history or frames.shape[-1] != self.channels:
            raise ValueError(f"Surrogate takes (B, {self.history}, {'X, Y' if self.n_dims == 2 else 'X'}, "
                             f"{self.channels}); got {tuple(frames.shape)}")
        b, full = frames.shape[0], tuple(frames.shape[2:-1])
        p = self.patch
        if any(n % p for n in full):
            raise ValueError(f"Surrogate: patch={p} does not divide the grid {full}")
        grid = tuple(n // p for n in full)
        x = self._patches(frames.movedim(1, -2).flatten(-2), grid)  # (B, N, p^d h C)
        if self.coordinates:  # of each token's first point, in [0, 1)
            axes = [torch.arange(n, dtype=frames.dtype, device=frames.device) / n for n in grid]
            coords = torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).reshape(1, -1, self.n_dims)
            x = torch.cat([x, coords.expand(b, -1, -1)], -1)
        x = self.lift(x)
        for block in self.blocks:
            x = block(x, grid)
        out = self._unpatch(self.project(self.norm(x)), grid)  # (B, *full, k C)
        out = out.unflatten(-1, (self.out_frames, self.channels)).movedim(-2, 1)
        return frames[:, -1:] + out if self.increment else out

    def _patches(self, x: Tensor, grid: tuple[int, ...]) -> Tensor:
        """(B, *full grid, c) -> (B, N tokens, p^d c)."""
        b, c, p = x.shape[0], x.shape[-1], self.patch
        if self.n_dims == 1:
            return x.reshape(b, grid[0], p * c)
        x = x.reshape(b, grid[0], p, grid[1], p, c).transpose(2, 3)
        return x.reshape(b, grid[0] * grid[1], p * p * c)

    def _unpatch(self, x: Tensor, grid: tuple[int, ...]) -> Tensor:
        """(B, N tokens, p^d c) -> (B, *full grid, c)."""
        b, p = x.shape[0], self.patch
        if self.n_dims == 1:
            return x.reshape(b, grid[0] * p, -1)
        x = x.reshape(b, grid[0], grid[1], p, p, -1).transpose(2, 3)
        return x.reshape(b, grid[0] * p, grid[1] * p, -1)

    @torch.no_grad()
    def rollout(self, frames: Tensor, n_steps: int) -> Tensor:
        """Autoregressive prediction of ``n_steps`` frames after the history ``frames`` (B, h, *grid, C)."""
        out = []
        window = frames
        while sum(o.shape[1] for o in out) < n_steps:
            nxt = self(window)
            out.append(nxt)
            window = torch.cat([window, nxt], 1)[:, -self.history:]
        return torch.cat(out, 1)[:, :n_steps]
