"""Magnitude attention (seed 003): softmax attention whose values are gated by each key's share of
the key set's magnitude, so that a cluster of near-identical keys counts as about one.

Per head, with keys k_1..k_N of width d_k:

    Z_jl   = exp(-t ||k_j - k_l||^2 / d_k)          Gaussian kernel, t = softplus(.) > 0 learnt
    mu     = (Z + eps I)^-1 1                       truncated conjugate gradient (batched,
                                                    differentiable: the iterations are unrolled)
    gate_j = sigmoid(beta mu_j + gamma)             beta, gamma learnt per head
    out    = softmax(Q K^T / sqrt(d_k)) (gate . V)

Z + eps I is symmetric positive definite (the Gaussian kernel is strictly positive definite), so CG
applies; k identical keys get mu ~ 1/k, mutually far keys mu ~ 1 (the seed's example). Cost O(N^2)
per CG iteration, the order of attention itself. Memory: up to ``chunk`` tokens Z is formed and kept
for the backward pass; beyond, its products are computed block by block and recomputed in the backward
pass (``kernel.py``), so memory stays O(chunk N) and 16k tokens fit a CPU.

Initialisation (the seed gives none): t = 1, beta = 4, gamma = -2, so a lone key's value passes at
sigmoid(2) = 0.88 and a key in a cluster of 50 at sigmoid(-1.9) = 0.13.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import Mixer, check_tokens
from .kernel import kernel_block, kernel_matvec


def conjugate_gradient(matvec, b: Tensor, n_iter: int) -> Tensor:
    """Solve A x = b for SPD A (batched over leading dims; b (..., N)) by ``n_iter`` CG steps from 0."""
    x = torch.zeros_like(b)
    r, p = b, b
    rr = (r * r).sum(-1, keepdim=True)
    for _ in range(n_iter):
        ap = matvec(p)
        alpha = rr / (p * ap).sum(-1, keepdim=True).clamp_min(1e-30)
        x = x + alpha * p
        r = r - alpha * ap
        rr_new = (r * r).sum(-1, keepdim=True)
        p = r + (rr_new / rr.clamp_min(1e-30)) * p
        rr = rr_new
    return x


def magnitude_weights(k: Tensor, t: Tensor, eps: float, n_iter: int, mask: Tensor | None = None,
                      chunk: int | None = None) -> Tensor:
    """mu (..., N) for keys k (..., N, d_k) and kernel scale t (broadcast to (..., 1, 1)). Padded keys
    (mask 0) are decoupled from the rest (their rows and columns of Z are those of the identity).
    ``chunk``: when N exceeds it, Z is never formed (matrix-free products in blocks of ``chunk`` rows)."""
    n = k.shape[-2]
    if chunk is not None and n > chunk:
        zp = lambda p: kernel_matvec(k, t, p, chunk)  # noqa: E731
    else:
        z = kernel_block(k, slice(None), t)[0]  # squared distances by one matmul: cdist's backward is slow
        zp = lambda p: (z @ p[..., None])[..., 0]  # noqa: E731
    if mask is None:
        matvec = lambda p: zp(p) + eps * p  # noqa: E731
    else:  # Z's padded rows and columns replaced by the identity's
        matvec = lambda p: mask * zp(mask * p) + (1 - mask + eps) * p  # noqa: E731
    return conjugate_gradient(matvec, torch.ones(k.shape[:-1], dtype=k.dtype, device=k.device), n_iter)


def cg_residual(k: Tensor, t: Tensor, eps: float, mu: Tensor) -> Tensor:
    """||(Z + eps I) mu - 1|| / ||1|| per (..., ): how far ``n_iter`` CG steps are from the solution."""
    r = kernel_matvec(k, t, mu, 1024) + eps * mu - 1
    return r.norm(dim=-1) / mu.shape[-1] ** 0.5


class MagnitudeAttention(Mixer):
    """(B, N, d) -> (B, N, d). ``cg_iterations`` (seed: 3-5), ``eps`` the Tikhonov term, ``chunk``: beyond
    this many tokens the kernel is applied matrix-free (None: always formed)."""

    def __init__(self, hidden_channels: int, n_heads: int = 4, cg_iterations: int = 5, eps: float = 1e-3,
                 chunk: int | None = 2048):
        super().__init__(hidden_channels, n_heads)
        if cg_iterations < 1 or not eps > 0 or (chunk is not None and chunk < 1):
            raise ValueError(f"MagnitudeAttention: need cg_iterations >= 1, eps > 0 and chunk >= 1 or None; got "
                             f"{cg_iterations}, {eps}, {chunk}")
        self.cg_iterations, self.eps, self.chunk = cg_iterations, eps, chunk
        self.qkv = nn.Linear(hidden_channels, 3 * hidden_channels, bias=False)
        self.out_proj = nn.Linear(hidden_channels, hidden_channels, bias=False)
        self.t_raw = nn.Parameter(torch.full((n_heads,), math.log(math.expm1(1.0))))  # softplus^-1(1)
        self.beta = nn.Parameter(torch.full((n_heads,), 4.0))
        self.gamma = nn.Parameter(torch.full((n_heads,), -2.0))

    def forward(self, x: Tensor, shape: Sequence[int] | None = None, mask: Tensor | None = None,
                return_magnitude: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """With ``return_magnitude``, also mu (B, heads, N)."""
        check_tokens(x, self.hidden_channels, shape, mask, "MagnitudeAttention")
        q, k, v = (self.split_heads(t) for t in self.qkv(x).chunk(3, -1))
        m = None if mask is None else mask.to(x.dtype)[:, None, :].expand(-1, self.n_heads, -1)
        mu = magnitude_weights(k, F.softplus(self.t_raw).view(1, -1, 1, 1), self.eps, self.cg_iterations, m,
                               self.chunk)
        gate = torch.sigmoid(self.beta.view(1, -1, 1) * mu + self.gamma.view(1, -1, 1))
        keep = None if mask is None else mask.bool()[:, None, None, :]
        out = F.scaled_dot_product_attention(q, k, gate[..., None] * v, attn_mask=keep)
        out = self.out_proj(self.merge_heads(out))
        return (out, mu) if return_magnitude else out
