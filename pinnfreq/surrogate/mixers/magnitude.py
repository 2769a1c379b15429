"""Magnitude attention (seed 003): softmax attention whose values are gated by each key's share of
the key set's magnitude, so that a cluster of near-identical keys counts as about one.

Per head, with keys k_1..k_N of width d_k:

    Z_jl   = exp(-t ||k_j - k_l||^2 / d_k)          Gaussian kernel, t = softplus(.) > 0 learnt
    mu     = (Z + eps I)^-1 1                       truncated conjugate gradient (batched; differentiable:
                                                    the unrolled iterations' gradient, by their adjoint)
    gate_j = sigmoid(beta mu_j + gamma)             beta, gamma learnt per head
    out    = softmax(Q K^T / sqrt(d_k)) (gate . V)

Z + eps I is symmetric positive definite (the Gaussian kernel is strictly positive definite), so CG
applies; k identical keys get mu ~ 1/k, mutually far keys mu ~ 1 (the seed's example). Cost O(N^2)
per CG iteration, the order of attention itself. Memory: up to ``chunk`` tokens Z is formed and kept
for the backward pass; beyond, its products are computed block by block and recomputed in the backward
pass (``kernel.py``), so memory stays O(chunk N) and 16k tokens fit a CPU. The backward pass runs the
iterations in reverse by hand (``_cg_adjoint``): the gradient with respect to Z is a rank-n_iter matrix,
taken through Z in one pass; autograd through the iterations formed n_iter N x N outer products and the
kernel's own backward, twice the time of a training step at 256 tokens (benchmarks/README.md).

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
from .kernel import kernel_matvec, kernel_products, kernel_rows, kernel_vjp


def conjugate_gradient(matvec, b: Tensor, n_iter: int) -> Tensor:
    """Solve A x = b for SPD A (batched over leading dims; b (..., N)) by ``n_iter`` CG steps from 0
    (differentiable by autograd through the iterations)."""
    return _cg_forward(matvec, b, n_iter)[0]


def _cg_forward(matvec, b: Tensor, n_iter: int) -> tuple[Tensor, list]:
    """CG's iterate and what its adjoint needs: per iteration (p_i, A p_i, r_i, r_i.r_i, p_i.A p_i, alpha_i),
    then (r_n, r_n.r_n)."""
    x = torch.zeros_like(b)
    r, p = b, b
    rr = (r * r).sum(-1, keepdim=True)
    steps = []
    for _ in range(n_iter):
        ap = matvec(p)
        pap = (p * ap).sum(-1, keepdim=True).clamp_min(1e-30)
        alpha = rr / pap
        steps.append((p, ap, r, rr, pap, alpha))
        x = x + alpha * p
        r = r - alpha * ap
        rr_new = (r * r).sum(-1, keepdim=True)
        p = r + (rr_new / rr.clamp_min(1e-30)) * p
        rr = rr_new
    steps.append((None, None, r, rr, None, None))  # r_n, rr_n
    return x, steps


def _cg_adjoint(matvec, steps: list, gx: Tensor) -> Tensor:
    """The truncated CG's iterations run backwards (reverse mode by hand, A symmetric): for the output's
    gradient ``gx``, the gradients g_i of each product A p_i, stacked (..., N, n_iter). The gradient of
    the loss with respect to A is sum_i g_i p_i^T: a rank-n_iter matrix, never formed here."""
    gr, gp, grr = torch.zeros_like(gx), torch.zeros_like(gx), torch.zeros_like(steps[0][3])
    out = [None] * (len(steps) - 1)
    for i in range(len(steps) - 2, -1, -1):
        p, ap, r, rr, pap, alpha = steps[i]
        r_next, rr_next = steps[i + 1][2], steps[i + 1][3]
        rr_c = rr.clamp_min(1e-30)  # as the forward pass; ratios divided twice, never by rr^2 (float32 underflow)
        # p_{i+1} = r_{i+1} + beta p_i,  beta = rr_{i+1} / rr_i
        gbeta = (gp * p).sum(-1, keepdim=True)
        gr = gr + gp
        gp = (rr_next / rr_c) * gp
        grr = grr + gbeta / rr_c  # rr_{i+1}'s, from beta
        grr_i = -gbeta * (rr_next / rr_c) / rr_c
        gr = gr + 2 * grr * r_next  # rr_{i+1} = r_{i+1}.r_{i+1}
        # r_{i+1} = r_i - alpha A p_i;  x_{i+1} = x_i + alpha p_i;  alpha = rr_i / (p_i . A p_i)
        galpha = (gx * p).sum(-1, keepdim=True) - (gr * ap).sum(-1, keepdim=True)
        gap = -alpha * gr
        gp = gp + alpha * gx
        grr_i = grr_i + galpha / pap
        gpap = -galpha * alpha / pap
        gp = gp + gpap * ap
        gap = gap + gpap * p
        out[i] = gap
        if i:  # A^T gap = A gap; p_0 = b is a constant, its gradient unused
            gp = gp + matvec(gap)
        grr = grr_i
    return torch.stack(out, -1)


class _TruncatedCG(torch.autograd.Function):
    """mu = n_iter CG steps on (Z + eps I) mu = 1 (Z masked), Z = Z(k, t) the Gaussian kernel: formed and held
    up to ``chunk`` tokens (or always, chunk None), else applied in blocks of ``chunk`` rows and never held
    (``kernel.py``). Its gradient in k and t is that of the unrolled iterations (what autograd through
    ``conjugate_gradient`` gives, to round-off), by the adjoint recurrence: dL/dZ = sum_i g_i p_i^T, a
    rank-n_iter matrix, goes through one pass over Z (``kernel_vjp``) instead of the n_iter N x N outer
    products, and the exponential's and distances' backward passes, that autograd forms."""

    @staticmethod
    def forward(ctx, k: Tensor, t: Tensor, mask: Tensor | None, eps: float, n_iter: int, chunk: int | None) -> Tensor:
        n = k.shape[-2]
        rows = n if chunk is None or n <= chunk else chunk
        z = kernel_rows(k, slice(None), t) if rows == n else None
        b = torch.ones(k.shape[:-1], dtype=k.dtype, device=k.device)
        mu, ctx.steps = _cg_forward(_system(k, t, z, rows, mask, eps), b, n_iter)
        ctx.eps, ctx.rows = eps, rows
        ctx.save_for_backward(k, t, mask, z)
        return mu

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gmu: Tensor):
        k, t, mask, z = ctx.saved_tensors
        g = _cg_adjoint(_system(k, t, z, ctx.rows, mask, ctx.eps), ctx.steps, gmu)
        p = torch.stack([step[0] for step in ctx.steps[:-1]], -1)
        if mask is not None:  # A's Z part is diag(m) Z diag(m)
            g, p = g * mask[..., None], p * mask[..., None]
        gk, gt = kernel_vjp(k, t, g, p, ctx.rows, z)
        return gk, gt if t.requires_grad else None, None, None, None, None


def _system(k: Tensor, t: Tensor, z: Tensor | None, rows: int, mask: Tensor | None, eps: float):
    """p -> (Z + eps I) p, Z's masked rows and columns those of the identity; Z held (z) or in blocks of ``rows``."""
    if z is not None:  # Z p as p^T Z (Z symmetric): a row times the matrix runs 4-8x faster on CPU than Z @ p
        zp = lambda p: (p[..., None, :] @ z)[..., 0, :]  # noqa: E731
    else:
        zp = lambda p: kernel_products(k, t, p, rows)  # noqa: E731
    if mask is None:
        return lambda p: zp(p) + eps * p
    return lambda p: mask * zp(mask * p) + (1 - mask + eps) * p


def magnitude_weights(k: Tensor, t: Tensor, eps: float, n_iter: int, mask: Tensor | None = None,
                      chunk: int | None = None) -> Tensor:
    """mu (..., N) for keys k (..., N, d_k) and kernel scale t (broadcast to (..., 1, 1)). Padded keys
    (mask 0) are decoupled from the rest (their rows and columns of Z are those of the identity).
    ``chunk``: when N exceeds it, Z is never formed (matrix-free products in blocks of ``chunk`` rows).
    Differentiable in k and t (the unrolled iterations' gradient, by their adjoint: ``_TruncatedCG``)."""
    return _TruncatedCG.apply(k, t, mask, eps, n_iter, chunk)


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
