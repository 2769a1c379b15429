"""Gaussian kernel products Z p, Z_il = exp(-t ||k_i - k_l||^2 / d_k), without holding Z.

Forward and backward run over blocks of ``chunk`` rows, so memory is O(chunk N) per (batch, head)
instead of the O(N^2) that autograd keeps for every CG iteration (at 16k tokens and 4 heads a single
float32 Z is 4 GiB). The backward pass recomputes each block of Z. For a sum of products
L = sum_j g_j^T Z p_j (one term for a single product; one per CG iteration in magnitude.py):

    dL/dt   = -sum_il W_il D_il / d_k,                W_il = sum_j g_ij p_lj Z_il,  D_il = ||k_i - k_l||^2
    dL/dk_i = -2 t / d_k sum_l (W_il + W_li) (k_i - k_l)
    dL/dp_j = Z g_j                                   (Z symmetric)
"""

from __future__ import annotations

import torch
from torch import Tensor


def sq_distances(k: Tensor, rows: slice) -> Tensor:
    """D[rows, :], D_il = ||k_i - k_l||^2 for keys (..., N, d), by one matmul (in place after it: not for autograd)."""
    ki = k[..., rows, :]
    d2 = (ki @ k.transpose(-1, -2)).mul_(-2).add_((ki * ki).sum(-1, keepdim=True))
    return d2.add_((k * k).sum(-1).unsqueeze(-2)).clamp_(min=0)


def kernel_rows(k: Tensor, rows: slice, t: Tensor) -> Tensor:
    """Z[rows, :] for keys (..., N, d), computed in the distances' buffer: one N x N tensor where the
    out-of-place expression made several (each pass over N x N memory-bound on a CPU)."""
    return sq_distances(k, rows).mul_(-t / k.shape[-1]).exp_()


def kernel_products(k: Tensor, t: Tensor, p: Tensor, chunk: int) -> Tensor:
    """Z p (..., N) for vectors p (..., N), blocks of ``chunk`` rows at a time; not differentiable."""
    out = torch.empty_like(p)
    for start in range(0, k.shape[-2], chunk):
        rows = slice(start, start + chunk)
        out[..., rows] = (kernel_rows(k, rows, t) @ p[..., None])[..., 0]
    return out


def kernel_vjp(k: Tensor, t: Tensor, g: Tensor, p: Tensor, chunk: int, z: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """(dL/dk, dL/dt) for L = sum_j g[..., j]^T Z p[..., j]; g and p (..., N, r). One pass over Z whatever r
    is (the r products' gradients are summed in W), Z recomputed in blocks of ``chunk`` rows, or ``z``: all
    of Z, held by the caller. D is never needed: with R = W 1, C = W^T 1 and s_i = ||k_i||^2,
    sum_il W_il D_il = s . (R + C) - 2 sum_i k_i . (W k)_i, and W k and W^T k are dL/dk's own products."""
    d = k.shape[-1]
    gk, wd = torch.zeros_like(k), torch.zeros(k.shape[:-2], dtype=k.dtype, device=k.device)
    sq = (k * k).sum(-1)
    for start in range(0, k.shape[-2], chunk):
        rows = slice(start, start + chunk)
        zb = kernel_rows(k, rows, t) if z is None else z
        w = (g[..., rows, :] @ p.transpose(-1, -2)).mul_(zb)  # (..., chunk, N)
        ki, wk, c = k[..., rows, :], w @ k, w.sum(-2)
        r = w.sum(-1)
        wd += (sq[..., rows] * r).sum(-1) + (sq * c).sum(-1) - 2 * (ki * wk).sum((-1, -2))
        gk[..., rows, :] += ki * r[..., None] - wk  # k_i as the first index of D_il
        gk += k * c[..., None] - w.transpose(-1, -2) @ ki  # k_l as the second
    return gk * (-2 * t / d), (-wd[..., None, None] / d).sum_to_size(t.shape)


class _KernelMatvec(torch.autograd.Function):
    @staticmethod
    def forward(ctx, k: Tensor, t: Tensor, p: Tensor, chunk: int) -> Tensor:
        ctx.save_for_backward(k, t, p)
        ctx.chunk = chunk
        return kernel_products(k, t, p, chunk)

    @staticmethod
    def backward(ctx, g: Tensor):
        k, t, p = ctx.saved_tensors
        gk, gt = kernel_vjp(k, t, g[..., None], p[..., None], ctx.chunk)
        return gk, gt if t.requires_grad else None, kernel_products(k, t, g, ctx.chunk), None


def kernel_matvec(k: Tensor, t: Tensor, p: Tensor, chunk: int = 1024) -> Tensor:
    """Z p for keys k (..., N, d), scale t (broadcast against (..., 1, 1)), vectors p (..., N)."""
    return _KernelMatvec.apply(k, t, p, chunk)
