"""Gaussian kernel products Z p, Z_il = exp(-t ||k_i - k_l||^2 / d_k), without holding Z.

Forward and backward run over blocks of ``chunk`` rows, so memory is O(chunk N) per (batch, head)
instead of the O(N^2) that autograd keeps for every CG iteration (at 16k tokens and 4 heads a single
float32 Z is 4 GiB). The backward pass recomputes each block of Z:

    dL/dp   = Z g                                     (Z symmetric)
    dL/dt   = -sum_il g_i p_l Z_il D_il / d_k          D_il = ||k_i - k_l||^2
    dL/dk_i = sum_l S_il (k_i - k_l),                  S = W + W^T,  W_il = -2 t / d_k g_i p_l Z_il
"""

from __future__ import annotations

import torch
from torch import Tensor


def kernel_block(k: Tensor, rows: slice, t: Tensor) -> tuple[Tensor, Tensor]:
    """Z[rows, :] and D[rows, :] for keys (..., N, d)."""
    ki = k[..., rows, :]
    d2 = ((ki * ki).sum(-1, keepdim=True) + (k * k).sum(-1).unsqueeze(-2) - 2 * ki @ k.transpose(-1, -2)).clamp_min(0)
    return torch.exp(-t * d2 / k.shape[-1]), d2


class _KernelMatvec(torch.autograd.Function):
    @staticmethod
    def forward(ctx, k: Tensor, t: Tensor, p: Tensor, chunk: int) -> Tensor:
        out = torch.empty_like(p)
        for start in range(0, k.shape[-2], chunk):
            rows = slice(start, start + chunk)
            out[..., rows] = (kernel_block(k, rows, t)[0] @ p[..., None])[..., 0]
        ctx.save_for_backward(k, t, p)
        ctx.chunk = chunk
        return out

    @staticmethod
    def backward(ctx, g: Tensor):
        k, t, p = ctx.saved_tensors
        d = k.shape[-1]
        gk, gt, gp = torch.zeros_like(k), torch.zeros_like(t.expand(k.shape[:-2] + (1, 1))), torch.zeros_like(p)
        for start in range(0, k.shape[-2], ctx.chunk):
            rows = slice(start, start + ctx.chunk)
            z, d2 = kernel_block(k, rows, t)
            gp += (g[..., rows, None] * z).sum(-2)  # (Z^T g) restricted to these rows of Z
            w = g[..., rows, None] * p[..., None, :] * z  # (..., chunk, N)
            gt -= (w * d2).sum((-1, -2), keepdim=True) / d
            w = w * (-2 * t / d)
            ki = k[..., rows, :]
            gk[..., rows, :] += ki * w.sum(-1, keepdim=True) - w @ k  # k_i as the first index
            gk += k * w.sum(-2)[..., None] - w.transpose(-1, -2) @ ki  # k_l as the second
        gt = gt.sum_to_size(t.shape) if t.requires_grad else None
        return gk, gt, gp, None


def kernel_matvec(k: Tensor, t: Tensor, p: Tensor, chunk: int = 1024) -> Tensor:
    """Z p for keys k (..., N, d), scale t (broadcast against (..., 1, 1)), vectors p (..., N)."""
    return _KernelMatvec.apply(k, t, p, chunk)
