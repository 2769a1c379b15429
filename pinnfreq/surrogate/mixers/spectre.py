"""SPECTRE (seed 002): FFT-gated spectral token mixing, O(N log N) time and O(N) memory.

Per head, with q = x W_Q and v = x W_V split into heads:

    v^      = rFFT(v, n_fft) along the tokens (zero-padded; rfft2 on 2-D grids)
    p       = pool(q)                           mean, DCT (mean of the first 64 DCT-II components) or
                                                attention pooling (a learnt query)
    anchors = gate_mlp(p)                       complex, n_buckets (per axis) x n_groups
              (+ frozen spectral memory: learnt mixing coefficients of fixed random anchor sets)
    gate    = interpolate(anchors) to the n_fft/2+1 frequencies (cubic), then optional Toeplitz
              (banded circular convolution over frequencies), then ComplexModReLU
    v^      <- v^ + v^ A(k)                     optional (``mix_buckets`` > 0): channel mixing per frequency,
              A(k) a complex dh x dh matrix per head interpolated from mix_buckets anchors per axis
    v       <- iFFT(gate . v^) truncated to N tokens, the channel groups each with their gate
    out     = v W_O  (+ optional Haar-wavelet refinement in training)

Defaults from the reference: d_gate = 256, n_groups = 4, n_buckets = max(4, floor(sqrt(F_half))),
cubic interpolation, ComplexModReLU relu(|z| + b) z / sqrt(|z|^2 + eps^2) with b = -0.1, eps = 1e-4,
Toeplitz bandwidth 4 when on, wavelet refinement with probability 0.1 per batch element when on.
The n_fft rule: by default the power of two at or above the grid size per axis (the seed's
advice); ``n_fft="same"`` uses the grid size itself, i.e. circular mixing, which is what periodic
PDE grids want (and what makes the mixer commute with circular shifts). Departures: the ModReLU bias
is one scalar per head and group rather than one per frequency, so that the parameters do not depend on
the grid size. The spectral memory is our own mechanism, not the seed's: the seed's ``memory_fft`` is a
frozen spectral bias added to the gate (a fixed prior shared by every input); here the frozen part is
``memory_size`` random anchor patterns, and the gate MLP learns per input how much of each to add.
It is off by default (``memory_size=0``), as the seed advises unless a bias across batches is wanted.
The channel mixing per frequency (``mix_buckets``) is our own too: the seed's gate is one complex scalar
per (group, frequency) and mixes channels only through W_O, the same at every frequency, which is
what separates it from an FNO layer (a d x d complex matrix per mode). The mixing matrices follow the
seed's bucket idea (anchors interpolated over the frequencies, so the parameters do not depend on the
grid) and start at zero (the layer starts as the seed's). Off by default: at a fixed width it did
not lower the error at equal time on Burgers, Kuramoto-Sivashinsky or Navier-Stokes
(``benchmarks/README.md``, "SPECTRE: channel mixing per frequency").
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import Mixer, check_tokens

POOLINGS = ("mean", "dct", "attention")
DCT_COMPONENTS = 64


def interpolation_matrix(n_in: int, n_out: int, mode: str, like: Tensor) -> Tensor:
    """(n_in, n_out): values at n_in equispaced anchors -> n_out equispaced points over the same interval,
    cubic ("bicubic": PyTorch's cubic convolution, a = -0.75, borders replicated) or "linear", ends
    aligned: ``F.interpolate`` of the identity, so that ``x @ W`` equals ``F.interpolate(x)``. dtype and
    device of ``like``."""
    eye = torch.eye(n_in, dtype=like.dtype, device=like.device)
    if mode == "bicubic":
        return F.interpolate(eye[:, None, None], size=(1, n_out), mode="bicubic", align_corners=True)[:, 0, 0]
    return F.interpolate(eye[:, None], size=n_out, mode=mode, align_corners=True)[:, 0]


class SpectreMixer(Mixer):
    """(B, N, d) -> (B, N, d).

    Parameters
    ----------
    hidden_channels, n_heads : int
    n_dims : 1 or 2
        Grid dimension of the tokens (fixes the anchor layout).
    n_fft : int, tuple, "same" or None
        FFT size per axis (None: next power of two; "same": the grid size). Must not be below the grid.
    pooling : {"mean", "dct", "attention"}
    n_groups : int
        Channel groups per head, each with its own gate (must divide the head width).
    n_buckets : int, optional
        Anchors per axis; default max(4, floor(sqrt(n_fft/2 + 1))) when n_fft is an int, else 16.
    d_gate : int
    toeplitz_bandwidth : int
        0 (off) or the half-width of the frequency convolution (reference: 4).
    memory_size : int
        Frozen random anchor sets mixed in by learnt coefficients (0: off).
    wavelet_rate : float
        Probability per batch element of the Haar refinement in training (0: off; reference 0.1).
    mix_buckets : int
        0 (off) or the anchors per axis of the channel mixing per frequency: a complex (dh x dh)
        matrix per head and anchor, linearly interpolated to every frequency (our addition, not the
        seed's; parameters 2 H dh^2 mix_buckets^n_dims).
    """

    def __init__(self, hidden_channels: int, n_heads: int = 4, n_dims: int = 1,
                 n_fft: int | Sequence[int] | str | None = None, pooling: str = "mean", n_groups: int = 4,
                 n_buckets: int | None = None, d_gate: int = 256, toeplitz_bandwidth: int = 0, memory_size: int = 0,
                 wavelet_rate: float = 0.0, modrelu_bias: float = -0.1, eps: float = 1e-4, mix_buckets: int = 0):
        super().__init__(hidden_channels, n_heads)
        dh = self.head_channels
        if pooling not in POOLINGS:
            raise ValueError(f"SpectreMixer: pooling must be one of {POOLINGS}, got {pooling!r}")
        if n_dims not in (1, 2) or n_groups < 1 or dh % n_groups:
            raise ValueError(f"SpectreMixer: need n_dims 1 or 2 and n_groups dividing the head width {dh}; "
                             f"got n_dims={n_dims}, n_groups={n_groups}")
        if (not 0 <= wavelet_rate <= 1 or toeplitz_bandwidth < 0 or memory_size < 0
                or mix_buckets < 0 or mix_buckets == 1):
            raise ValueError("SpectreMixer: wavelet_rate in [0, 1], toeplitz_bandwidth and memory_size >= 0, "
                             f"mix_buckets 0 or >= 2; got {wavelet_rate}, {toeplitz_bandwidth}, {memory_size}, "
                             f"{mix_buckets}")
        self.n_dims, self.n_fft, self.pooling, self.n_groups = n_dims, n_fft, pooling, n_groups
        if n_buckets is None:
            n_buckets = max(4, math.isqrt(n_fft // 2 + 1)) if isinstance(n_fft, int) else 16
        self.n_buckets, self.bandwidth, self.wavelet_rate, self.eps = n_buckets, toeplitz_bandwidth, wavelet_rate, eps
        self.n_anchors = n_groups * n_buckets**n_dims
        self.q_proj = nn.Linear(hidden_channels, hidden_channels, bias=False)
        self.v_proj = nn.Linear(hidden_channels, hidden_channels, bias=False)
        self.out_proj = nn.Linear(hidden_channels, hidden_channels, bias=False)
        self.gate_mlp = nn.Sequential(nn.LayerNorm(dh), nn.Linear(dh, d_gate), nn.GELU(),
                                      nn.Linear(d_gate, 2 * self.n_anchors + memory_size))
        self.modrelu_bias = nn.Parameter(torch.full((n_heads, n_groups), float(modrelu_bias)))
        if toeplitz_bandwidth:
            self.toeplitz = nn.Parameter(torch.zeros(n_heads, 2 * toeplitz_bandwidth + 1, 2))
        if memory_size:  # frozen: saved with the model, never trained
            self.register_buffer("memory", torch.randn(memory_size, self.n_anchors, 2) / math.sqrt(memory_size))
        self.memory_size = memory_size
        if pooling == "attention":
            self.pool_query = nn.Parameter(torch.zeros(n_heads, dh))  # zeros: starts as the mean
        if wavelet_rate:
            self.wavelet_gate = nn.Linear(dh, dh)
        self.mix_buckets = mix_buckets
        if mix_buckets:  # zeros: the layer starts as the seed's
            self.mix = nn.Parameter(torch.zeros(n_heads, dh, dh, 2, *(mix_buckets,) * n_dims))

    # -- pieces ---------------------------------------------------------------------------------------
    def fft_sizes(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if self.n_fft is None:
            return tuple(1 << (s - 1).bit_length() for s in shape)
        if self.n_fft == "same":
            return shape
        sizes = (self.n_fft,) * len(shape) if isinstance(self.n_fft, int) else tuple(self.n_fft)
        if len(sizes) != len(shape) or any(f < s for f, s in zip(sizes, shape)):
            raise ValueError(f"SpectreMixer: n_fft={self.n_fft} is below the token grid {shape}; it would drop tokens")
        return sizes

    def pool(self, q: Tensor, mask: Tensor | None) -> Tensor:
        """(B, H, N, dh) -> (B, H, dh)."""
        if mask is not None:
            q = q * mask
        n = q.shape[2]
        count = mask.sum(2).clamp_min(1) if mask is not None else torch.full_like(q[:, :, 0, :1], n)
        if self.pooling == "mean":
            return q.sum(2) / count
        if self.pooling == "dct":  # orthonormal DCT-II, mean of the first components
            k = torch.arange(min(DCT_COMPONENTS, n), dtype=q.dtype, device=q.device)
            idx = torch.arange(n, dtype=q.dtype, device=q.device)
            basis = torch.cos(math.pi * k[:, None] * (2 * idx[None] + 1) / (2 * n)) * math.sqrt(2 / n)
            basis[0] /= math.sqrt(2)
            return torch.einsum("kn,bhnc->bhc", basis, q) / len(k)
        scores = torch.einsum("bhnc,hc->bhn", q, self.pool_query) / math.sqrt(q.shape[-1])
        if mask is not None:
            scores = scores.masked_fill(mask[..., 0] == 0, float("-inf"))
        return torch.einsum("bhn,bhnc->bhc", torch.softmax(scores, -1), q)

    def spread(self, anchors: Tensor, sizes: tuple[int, ...], mode: str) -> Tensor:
        """(M, C, *buckets) anchors over [0, Nyquist] per axis -> (M, C, *F) on the rfft frequencies of
        grid ``sizes``; in 2-D the anchors lie over (|k_0|, k_1), so that +-k_0 get the same value.
        ``mode`` "bicubic" or "linear", with align_corners (as ``F.interpolate``): both separable, so
        applied as one matrix per axis (``interpolation_matrix``); ``F.interpolate``'s backward pass
        took a fifth of a training step on CPU."""
        half = sizes[-1] // 2 + 1
        w = interpolation_matrix(anchors.shape[-1], half, mode, anchors)
        if self.n_dims == 1:
            return anchors @ w
        w0 = interpolation_matrix(anchors.shape[-2], sizes[0] // 2 + 1, mode, anchors)
        g = w0.T @ anchors @ w
        rows = torch.fft.fftfreq(sizes[0], 1 / sizes[0], device=g.device).abs().long()
        return g[:, :, rows]

    def mixing(self, sizes: tuple[int, ...]) -> Tensor:
        """The channel-mixing matrices A(k), complex (H, *F, dh, dh)."""
        h, dh = self.n_heads, self.head_channels
        a = self.spread(self.mix.reshape(1, h * dh * dh * 2, *self.mix.shape[4:]), sizes, "linear")
        a = a.reshape(h, dh, dh, 2, *a.shape[2:]).movedim(3, -1)
        return torch.view_as_complex(a.contiguous()).movedim((1, 2), (-2, -1))

    def gate(self, pooled: Tensor, sizes: tuple[int, ...]) -> Tensor:
        """Complex gates (B, H, G, *F) on the rfft frequencies of grid ``sizes``."""
        b, h, _ = pooled.shape
        raw = self.gate_mlp(pooled)
        anchors = raw[..., : 2 * self.n_anchors].unflatten(-1, (self.n_anchors, 2))
        if self.memory_size:
            anchors = anchors + torch.einsum("bhm,mar->bhar", raw[..., 2 * self.n_anchors:], self.memory)
        grid = anchors.reshape(b * h * self.n_groups, *(self.n_buckets,) * self.n_dims, 2).movedim(-1, 1)
        g = self.spread(grid, sizes, "bicubic")
        g = torch.complex(g[:, 0], g[:, 1]).reshape(b, h, self.n_groups, *g.shape[2:])
        if self.bandwidth:
            taps = torch.view_as_complex(self.toeplitz.contiguous())
            g = g + sum(taps[:, i].view(1, h, 1, *(1,) * self.n_dims) * torch.roll(g, o, dims=-1)
                        for i, o in enumerate(range(-self.bandwidth, self.bandwidth + 1)))
        amp = g.abs()
        bias = self.modrelu_bias.view(1, h, self.n_groups, *(1,) * self.n_dims)
        return g * (F.relu(amp + bias) / torch.sqrt(amp**2 + self.eps**2))

    def refine(self, v: Tensor, pooled: Tensor) -> Tensor:
        """Haar refinement of a random subset of the batch: the detail coefficients rescaled by a
        gate from the pooled query; gradients reach the gate only (the detached path)."""
        b, h, n, c = v.shape
        chosen = (torch.rand(b, device=v.device) < self.wavelet_rate).view(b, 1, 1, 1)
        even = v[:, :, : n - n % 2].detach()
        low, high = (even[:, :, 0::2] + even[:, :, 1::2]) / 2, (even[:, :, 0::2] - even[:, :, 1::2]) / 2
        high = high * torch.sigmoid(self.wavelet_gate(pooled))[:, :, None]
        rebuilt = torch.stack([low + high, low - high], 3).flatten(2, 3)
        delta = F.pad(rebuilt - even, (0, 0, 0, n % 2))
        return v + chosen * delta

    # -- forward --------------------------------------------------------------------------------------
    def forward(self, x: Tensor, shape: Sequence[int] | None = None, mask: Tensor | None = None) -> Tensor:
        grid = check_tokens(x, self.hidden_channels, shape, mask, "SpectreMixer")
        if len(grid) != self.n_dims:
            raise ValueError(f"SpectreMixer was built for {self.n_dims}-D grids; got the grid {grid}")
        b, n, _ = x.shape
        q, v = self.split_heads(self.q_proj(x)), self.split_heads(self.v_proj(x))
        m = None if mask is None else mask.to(x.dtype)[:, None, :, None]
        if m is not None:
            v = v * m  # padding contributes nothing to the spectrum
        pooled = self.pool(q, m)
        sizes = self.fft_sizes(grid)
        dims = tuple(range(2, 2 + len(grid)))
        spec = torch.fft.rfftn(v.reshape(b, self.n_heads, *grid, -1), s=sizes, dim=dims)
        if self.mix_buckets:
            spec = spec + torch.einsum("bh...i,h...io->bh...o", spec, self.mixing(sizes))
        gate = self.gate(pooled, sizes).movedim(2, -1)  # (B, H, *F, G)
        spec = (spec.unflatten(-1, (self.n_groups, -1)) * gate[..., None]).flatten(-2)
        out = torch.fft.irfftn(spec, s=sizes, dim=dims)
        out = out[(slice(None), slice(None), *(slice(0, s) for s in grid))].reshape(b, self.n_heads, n, -1)
        if self.training and self.wavelet_rate:
            out = self.refine(out, pooled)
        return self.out_proj(self.merge_heads(out))
