"""Second-order Taylor mode: values, first and selected second derivatives carried through a network.

A :class:`Jet` holds, for a tensor y(x) computed pointwise from input points x in R^D,

    v  (n, ...)      the values
    g  (D, n, ...)   dy/dx_i for every coordinate i
    h  (P, n, ...)   d^2 y / dx_i dx_j for the pairs (i, j) in ``pairs`` (only those a residual needs)

Every operation below maps jets to jets by the chain and product rules, so a network written with
them computes u, grad u and the needed second derivatives in one forward pass; one ordinary backward
pass then gives the parameter gradient of a residual loss. This replaces nested reverse-mode autograd
(a backward pass per derivative order, each building a graph the final backward must traverse), in
the spirit of the "forward Laplacian" (Li et al., 2023). Tests compare it with autograd.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor


@dataclass
class Jet:
    v: Tensor
    g: Tensor
    h: Tensor
    pairs: tuple[tuple[int, int], ...]

    @classmethod
    def input(cls, x: Tensor, pairs: Sequence[tuple[int, int]]) -> "Jet":
        """The jet of the coordinates themselves: dx/dx_i = e_i, no curvature."""
        n, d = x.shape
        g = torch.eye(d, dtype=x.dtype, device=x.device)[:, None, :].expand(d, n, d)
        return cls(x, g, x.new_zeros(len(pairs), n, d), tuple(pairs))

    def _like(self, v: Tensor, g: Tensor, h: Tensor) -> "Jet":
        return Jet(v, g, h, self.pairs)

    # -- linear maps: derivatives transform like values --------------------------------------------
    def __matmul__(self, w: Tensor) -> "Jet":
        return self._like(self.v @ w, self.g @ w, self.h @ w)

    def linear(self, layer: torch.nn.Linear) -> "Jet":
        w = layer.weight.T
        return self._like(self.v @ w + layer.bias, self.g @ w, self.h @ w)

    def scale(self, c: Tensor | float) -> "Jet":
        """Multiply by something constant in x (it may still carry parameter gradients)."""
        return self._like(self.v * c, self.g * c, self.h * c)

    def shift(self, c: Tensor | float) -> "Jet":
        return self._like(self.v + c, self.g, self.h)

    def __add__(self, other: "Jet") -> "Jet":
        return self._like(self.v + other.v, self.g + other.g, self.h + other.h)

    def sum(self, dim: int) -> "Jet":
        return self._like(self.v.sum(dim), self.g.sum(_dim(dim)), self.h.sum(_dim(dim)))

    def unsqueeze(self, dim: int) -> "Jet":
        return self._like(self.v.unsqueeze(dim), self.g.unsqueeze(_dim(dim)), self.h.unsqueeze(_dim(dim)))

    def reshape(self, *shape: int) -> "Jet":
        v = self.v.reshape(shape)  # resolves -1 (g or h may be empty when no pair is carried)
        return self._like(v, self.g.reshape(self.g.shape[:1] + v.shape), self.h.reshape(self.h.shape[:1] + v.shape))

    @staticmethod
    def cat(jets: Sequence["Jet"], dim: int) -> "Jet":
        return jets[0]._like(torch.cat([j.v for j in jets], dim), torch.cat([j.g for j in jets], _dim(dim)),
                             torch.cat([j.h for j in jets], _dim(dim)))

    def column(self, k: int) -> "Jet":
        return self._like(self.v[..., k], self.g[..., k], self.h[..., k])

    # -- nonlinear maps ------------------------------------------------------------------------------
    def _at_pairs(self, t: Tensor) -> tuple[Tensor, Tensor]:
        """(t_i, t_j) over the pairs, each (P, n, ...), from t (D, n, ...). The usual case, every
        diagonal pair in order (a Laplacian), needs no indexing copy: t_i = t_j = t."""
        if self.pairs == tuple((k, k) for k in range(t.shape[0])):
            return t, t
        return t[[p[0] for p in self.pairs]], t[[p[1] for p in self.pairs]]

    def _cross(self, a: Tensor, b: Tensor) -> Tensor:
        """(P, n, ...) with entries a_i b_j + a_j b_i over the pairs (a, b: (D, n, ...))."""
        (ai, aj), (bi, bj) = self._at_pairs(a), self._at_pairs(b)
        return ai * bj + aj * bi

    def elementwise(self, f: Tensor, df: Tensor, d2f: Tensor) -> "Jet":
        """y = f(v), given f(v), f'(v), f''(v)."""
        gi, gj = self._at_pairs(self.g)
        return self._like(f, df * self.g, df * self.h + d2f * gi * gj)

    def __mul__(self, other: "Jet") -> "Jet":
        return self._like(self.v * other.v, self.g * other.v + self.v * other.g,
                          self.h * other.v + self.v * other.h + self._cross(self.g, other.g))

    def tanh(self) -> "Jet":
        t = torch.tanh(self.v)
        dt = 1 - t * t
        return self.elementwise(t, dt, -2 * t * dt)

    def sin(self) -> "Jet":
        s, c = torch.sin(self.v), torch.cos(self.v)
        return self.elementwise(s, c, -s)

    def cos(self) -> "Jet":
        s, c = torch.sin(self.v), torch.cos(self.v)
        return self.elementwise(c, -s, -c)

    def softmax(self, dim: int = -1) -> "Jet":
        """a = softmax(s): with <.> the a-weighted mean over ``dim``,
        da = a (ds - <ds>),  d2a = a [(ds_i - <ds_i>)(ds_j - <ds_j>) + d2s - <d2s> - <ds_i ds_j> + <ds_i><ds_j>]."""
        a = torch.softmax(self.v, dim)
        mean = lambda t: (a * t).sum(dim, keepdim=True)  # noqa: E731
        dg = self.g - mean(self.g)
        gi, gj = self._at_pairs(self.g)
        dgi, dgj = self._at_pairs(dg)
        cov = mean(gi * gj) - mean(gi) * mean(gj)
        dh = dgi * dgj + self.h - mean(self.h) - cov
        return self._like(a, a * dg, a * dh)


def _dim(dim: int) -> int:
    """The axis of g and h (which lead with the derivative axis) that matches axis ``dim`` of v."""
    return dim if dim < 0 else dim + 1


ACTIVATIONS = {"tanh": Jet.tanh, "sin": Jet.sin}


def activation(name: str):
    """The jet version of a named activation (only the smooth ones PINNs use)."""
    if name not in ACTIVATIONS:
        raise NotImplementedError(f"the Taylor engine supports activations {sorted(ACTIVATIONS)}, not {name!r}")
    return ACTIVATIONS[name]

