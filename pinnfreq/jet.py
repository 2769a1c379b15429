"""Taylor mode: values, first and selected higher derivatives carried through a network.

A :class:`Jet` holds, for a tensor y(x) computed pointwise from input points x in R^D,

    v  (n, ...)      the values
    g  (D, n, ...)   dy/dx_i for every coordinate i
    h  (P, n, ...)   d^2 y / dx_i dx_j for the pairs (i, j) in ``pairs`` (only those a residual needs),
                     then d^3 y / dx_i dx_j dx_k for the triples (i, j, k) in ``pairs`` (KdV's u_xxx)

Pairs come first; a triple needs its three pairs among them (its rules read them). Every map here
carries triples; ``elementwise`` given no third derivative raises NotImplementedError on them (a
network of the user's with second-order rules only), and the engine then differentiates such a term
by autograd.

Every operation below maps jets to jets by the chain and product rules, so a network written with
them computes u, grad u and the needed higher derivatives in one forward pass; one ordinary backward
pass then gives the parameter gradient of a residual loss. This replaces nested reverse-mode autograd
(a backward pass per derivative order, each building a graph the final backward must traverse), in
the spirit of the "forward Laplacian" (Li et al., 2023). Tests compare it with autograd.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

import torch
from torch import Tensor


@dataclass
class Jet:
    v: Tensor
    g: Tensor
    h: Tensor
    pairs: tuple[tuple[int, int], ...]

    @classmethod
    def input(cls, x: Tensor, pairs: Sequence[tuple[int, ...]]) -> "Jet":
        """The jet of the coordinates themselves: dx/dx_i = e_i, no curvature. ``pairs``: the pairs
        (i, j), then any triples (i, j, k), each with its three pairs among the pairs."""
        n, d = x.shape
        pairs = tuple(tuple(int(i) for i in p) for p in pairs)
        _layout(pairs)  # the order, and the triples' pairs
        g = torch.eye(d, dtype=x.dtype, device=x.device)[:, None, :].expand(d, n, d)
        return cls(x, g, x.new_zeros(len(pairs), n, d), pairs)

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

    def transpose(self, dim0: int, dim1: int) -> "Jet":
        return self._like(self.v.transpose(dim0, dim1), self.g.transpose(_dim(dim0), _dim(dim1)),
                          self.h.transpose(_dim(dim0), _dim(dim1)))

    def detach(self) -> "Jet":
        return self._like(self.v.detach(), self.g.detach(), self.h.detach())

    def map(self, fn) -> "Jet":  # noqa: ANN001
        """Apply a map that is linear and acts on trailing axes (leading ones are batch), e.g. an einsum
        with a weight: derivatives transform like values."""
        return self._like(fn(self.v), fn(self.g), fn(self.h))

    def components(self) -> Tensor:
        """v, g_1..g_D, h_1..h_P stacked point-major and contiguous: (n, 1 + D + P, ...). (bmm and its
        backward are far slower on other strides.)"""
        return torch.cat([self.v[:, None], self.g.transpose(0, 1), self.h.transpose(0, 1)], 1)

    def bmm(self, other: "Jet") -> "Jet":
        """Per-point matrix product: self (n, p, k) @ other (n, k, r) -> (n, p, r), by the product rule.

        One ``torch.bmm`` does it all: the left jet's components are expanded by the product rule into
        (n, K p, K k) rows (K = 1 + D + P components: value, first derivatives, second-order pairs) and
        the right jet's stacked along the contraction, (n, K k, r); the product holds the result's
        components. That replaces a dozen elementwise products and reductions over (n, p, k, r)-sized
        intermediates, which were the bulk of the cross-attention network's step on CPU.
        """
        return self.bmm_operand_left(other.bmm_operand())

    def bmm_operand(self) -> Tensor:
        """This jet (n, k, r) as the right operand of :meth:`bmm`: components stacked, (n, K k, r)."""
        c = self.components()
        return c.view(c.shape[0], -1, c.shape[-1])

    def bmm_operand_left(self, right: "Tensor | ScaledOperand") -> "Jet":
        """``self.bmm(other)`` given ``right = other.bmm_operand()`` (prepared once, reused), or given a
        :class:`ScaledOperand`: constant waves times a learnt scale (the cross-attention tokens: the
        waves of fixed points times the learnt envelope), whose backward pass is written for it."""
        n, p, k = self.v.shape
        c = 1 + len(self.g) + len(self.h)
        rows = self._product_rule_rows()
        if p == 1:  # the usual single head: one copy
            left = torch.stack([b for row in rows for b in row], 1).view(n, c * p, c * k)
        else:
            left = torch.stack([torch.stack(row, 2) for row in rows], 1).view(n, c * p, c * k)
        out = _bmm(left, right)
        v, g, h = out.view(n, c, p, -1).split([1, len(self.g), len(self.h)], 1)
        return self._like(v[:, 0], g.transpose(0, 1), h.transpose(0, 1))

    def products(self, right: "Tensor | ScaledOperand") -> "Jet":
        """Per-point matrix product, self (n, p, k) @ other (n, k, r), by the product rule, given the
        other jet's components side by side, (n, k, K r) (K components: value, first derivatives,
        pairs, triples), as a tensor or a :class:`ScaledOperand`.

        One ``torch.bmm`` of this jet's components (n, K p, k) forms every product y_a z_b, (n, K p, K r),
        and the rule's sums pick from them (:func:`_product_terms`). Where k is larger than r this moves
        less data than :meth:`bmm_operand_left`, whose left operand expands to (n, K p, K k) with the
        rule's zero blocks (the cross-attention scores: k = d_q against r = N_tok).
        """
        n, p, k = self.v.shape
        c, d = 1 + len(self.g) + len(self.h), len(self.g)
        y = self.components().view(n, c * p, k)
        every = _bmm(y, right).view(n, c, p, c, -1)
        parts = []
        for terms in _product_terms(self.pairs, d):
            part = None
            for coef, a, b in terms:
                term = every[:, a, :, b] if coef == 1 else coef * every[:, a, :, b]
                part = term if part is None else part + term
            parts.append(part)
        h = torch.stack(parts[1 + d:]) if len(self.h) else every.new_zeros((0,) + parts[0].shape)
        return self._like(parts[0], torch.stack(parts[1:1 + d]), h)

    def _product_rule_rows(self) -> list[list[Tensor]]:
        """Blocks [o][b] of the product rule: component o of y z is sum_b block[o][b] z_b
        (:func:`_product_terms` as blocks of y's components)."""
        comps, zero = [self.v, *self.g.unbind(0), *self.h.unbind(0)], torch.zeros_like(self.v)
        rows = []
        for terms in _product_terms(self.pairs, len(self.g)):
            row = [zero] * len(comps)
            for coef, a, b in terms:
                y = comps[a] if coef == 1 else coef * comps[a]
                row[b] = y if row[b] is zero else row[b] + y
            rows.append(row)
        return rows

    # -- nonlinear maps ------------------------------------------------------------------------------
    @property
    def _n_pairs(self) -> int:
        """How many entries of h are second order (the rest are triples)."""
        return _layout(self.pairs)[0]

    def _at_pairs(self, t: Tensor) -> tuple[Tensor, Tensor]:
        """(t_i, t_j) over the pairs, each (P2, n, ...), from t (D, n, ...): views where the pairs allow
        (every diagonal pair in order, a Laplacian: t_i = t_j = t; a single pair), else index copies."""
        pairs = self.pairs[:self._n_pairs]
        if pairs == tuple((k, k) for k in range(t.shape[0])):
            return t, t
        if len(pairs) == 1:
            (i, j), = pairs
            return t[i:i + 1], t[j:j + 1]
        return t[[p[0] for p in pairs]], t[[p[1] for p in pairs]]

    def _cross(self, other: "Jet") -> Tensor:
        """The product rule's terms that mix the two factors' derivatives, (P, n, ...): y_i z_j + y_j z_i
        for a pair; y_i z_jk + y_j z_ik + y_k z_ij + y_jk z_i + y_ik z_j + y_ij z_k for a triple."""
        (ai, aj), (bi, bj) = self._at_pairs(self.g), self._at_pairs(other.g)
        two = ai * bj + aj * bi
        triples = _layout(self.pairs)[1]
        if not triples:
            return two
        a, b, ah, bh = self.g.unbind(0), other.g.unbind(0), self.h.unbind(0), other.h.unbind(0)
        three = [a[i] * bh[jk] + a[j] * bh[ik] + a[k] * bh[ij] + ah[jk] * b[i] + ah[ik] * b[j] + ah[ij] * b[k]
                 for i, j, k, jk, ik, ij in triples]
        return torch.cat([two, torch.stack(three)])

    def elementwise(self, f: Tensor, df: Tensor, d2f: Tensor, d3f: Tensor | None = None) -> "Jet":
        """y = f(v), given f(v), f'(v), f''(v), and f'''(v) where the jet carries triples."""
        p2, triples = _layout(self.pairs)
        gi, gj = self._at_pairs(self.g)
        if not triples:
            return self._like(f, df * self.g, df * self.h + d2f * gi * gj)
        if d3f is None:
            raise NotImplementedError("a map given without its third derivative cannot carry triples")
        # entries by unbind/split rather than indexing: their gradients are then stacked, not scattered
        # into zeros (which was a quarter of KdV's step)
        h2, h3 = self.h.split([p2, len(triples)])
        g, h = self.g.unbind(0), self.h.unbind(0)
        three = []
        for q, (i, j, k, jk, ik, ij) in enumerate(triples):
            # Faa di Bruno: f' v_ijk + f'' (v_i v_jk + v_j v_ik + v_k v_ij) + f''' v_i v_j v_k
            mixed = 3 * g[i] * h[jk] if i == j == k else g[i] * h[jk] + g[j] * h[ik] + g[k] * h[ij]
            three.append(df * h3[q] + d2f * mixed + d3f * g[i] * g[j] * g[k])
        return self._like(f, df * self.g, torch.cat([df * h2 + d2f * gi * gj, torch.stack(three)]))

    def __mul__(self, other: "Jet") -> "Jet":
        return self._like(self.v * other.v, self.g * other.v + self.v * other.g,
                          self.h * other.v + self.v * other.h + self._cross(other))

    def tanh(self) -> "Jet":
        t = torch.tanh(self.v)
        dt = 1 - t * t
        d2t = -2 * t * dt
        return self.elementwise(t, dt, d2t, -2 * (dt * dt + t * d2t) if _layout(self.pairs)[1] else None)

    def sin(self) -> "Jet":
        s, c = torch.sin(self.v), torch.cos(self.v)
        return self.elementwise(s, c, -s, -c)

    def cos(self) -> "Jet":
        s, c = torch.sin(self.v), torch.cos(self.v)
        return self.elementwise(c, -s, -c, s)

    def exp(self) -> "Jet":
        e = torch.exp(self.v)
        return self.elementwise(e, e, e, e)

    def reciprocal(self) -> "Jet":
        r = 1 / self.v
        r2 = r * r
        return self.elementwise(r, -r2, 2 * r2 * r, -6 * r2 * r2)

    def softmax(self, dim: int = -1) -> "Jet":
        """a = softmax(s): with <.> the a-weighted mean over ``dim``,
        da = a (ds - <ds>),  d2a = a [(ds_i - <ds_i>)(ds_j - <ds_j>) + d2s - <d2s> - <ds_i ds_j> + <ds_i><ds_j>]."""
        if _layout(self.pairs)[1]:  # triples: by the rules of exp, sum, reciprocal and product
            e = self.shift(-self.v.detach().amax(dim, keepdim=True)).exp()
            return e * e.sum(dim).unsqueeze(dim).reciprocal()
        a = torch.softmax(self.v, dim)
        mean = lambda t: (a * t).sum(dim, keepdim=True)  # noqa: E731
        dg = self.g - mean(self.g)
        gi, gj = self._at_pairs(self.g)
        dgi, dgj = self._at_pairs(dg)
        cov = mean(gi * gj) - mean(gi) * mean(gj)
        dh = dgi * dgj + self.h - mean(self.h) - cov
        return self._like(a, a * dg, a * dh)


_LAYOUTS: dict[tuple, tuple] = {}  # _layout's results (a dict, not lru_cache, which torch.compile warns about)


def _layout(pairs: tuple[tuple[int, ...], ...]) -> tuple[int, tuple[tuple[int, ...], ...]]:
    """How many entries of h are pairs, and for each triple (i, j, k) the tuple (i, j, k, position of
    (j, k), of (i, k), of (i, j) in h): what its rules read."""
    if pairs not in _LAYOUTS:
        _LAYOUTS[pairs] = _make_layout(pairs)
    return _LAYOUTS[pairs]


def _make_layout(pairs: tuple[tuple[int, ...], ...]) -> tuple[int, tuple[tuple[int, ...], ...]]:
    orders = [len(p) for p in pairs]
    if any(o not in (2, 3) for o in orders) or orders != sorted(orders):
        raise ValueError(f"a jet carries pairs (i, j), then triples (i, j, k); got {pairs}")
    p2 = orders.count(2)
    where = {tuple(sorted(p)): q for q, p in enumerate(pairs[:p2])}
    triples = []
    for i, j, k in pairs[p2:]:
        need = [tuple(sorted(q)) for q in ((j, k), (i, k), (i, j))]
        missing = sorted({q for q in need if q not in where})
        if missing:
            raise ValueError(f"the triple {(i, j, k)} needs the pairs {missing} in the jet too")
        triples.append((i, j, k, *(where[q] for q in need)))
    return p2, tuple(triples)


_TERMS: dict[tuple, tuple] = {}  # _product_terms' results


def _product_terms(pairs: tuple[tuple[int, ...], ...], d: int) -> tuple[tuple[tuple[int, int, int], ...], ...]:
    """For each component o of a product y z of jets over d coordinates (value, first derivatives,
    pairs, triples), the terms (coef, a, b) of the product rule: component o = sum coef * y_a z_b.
    The rule of :meth:`Jet._product_rule_rows`, as indices."""
    key = (pairs, d)
    if key not in _TERMS:
        p2, triples = _layout(pairs)
        rules: list[dict[tuple[int, int], int]] = [{(0, 0): 1}]
        rules += [{(1 + i, 0): 1, (0, 1 + i): 1} for i in range(d)]
        for q, (i, j) in enumerate(pairs[:p2]):
            rule = {(1 + d + q, 0): 1, (0, 1 + d + q): 1}
            for a, b in ((1 + i, 1 + j), (1 + j, 1 + i)):
                rule[a, b] = rule.get((a, b), 0) + 1
            rules.append(rule)
        for q, (i, j, k, jk, ik, ij) in enumerate(triples, p2):
            rule = {(1 + d + q, 0): 1, (0, 1 + d + q): 1}
            for a, b in ((1 + d + jk, 1 + i), (1 + d + ik, 1 + j), (1 + d + ij, 1 + k),
                         (1 + i, 1 + d + jk), (1 + j, 1 + d + ik), (1 + k, 1 + d + ij)):
                rule[a, b] = rule.get((a, b), 0) + 1
            rules.append(rule)
        _TERMS[key] = tuple(tuple((coef, a, b) for (a, b), coef in rule.items()) for rule in rules)
    return _TERMS[key]


class ScaledOperand(NamedTuple):
    """The right operand of :meth:`Jet.bmm_operand_left` as ``right * scale``: ``right`` (n, j, r) a
    constant, ``scale`` (broadcastable to (j, r)) learnt. Both layouts are kept, (n, j, r) and (n, r, j),
    each contiguous: the backward pass multiplies by the transposed operand, and ``torch.bmm`` on a
    transposed view, or a transposed result, costs a copy as large as the product itself (a quarter
    of the cavity's step on CPU when it did so). Build it with :meth:`make` once per forward pass and
    use it in every layer."""

    right: Tensor
    right_t: Tensor
    scale: Tensor
    scaled: Tensor
    scaled_t: Tensor

    @property
    def T(self) -> "ScaledOperand":  # noqa: N802 -- as Tensor.T
        """The transposed operand (n, r, j): the same tensors, roles swapped."""
        return ScaledOperand(self.right_t, self.right, self.scale.T, self.scaled_t, self.scaled)

    @classmethod
    def make(cls, right: Tensor, right_t: Tensor, scale: Tensor) -> "ScaledOperand":
        """``right`` (n, j, r) and ``right_t`` = its contiguous transpose (n, r, j), e.g. kept per point set."""
        scale = scale.expand(right.shape[1:])
        s = scale.detach()
        return cls(right, right_t, scale, right * s, right_t * s.T)


def _bmm(left: Tensor, right: "Tensor | ScaledOperand") -> Tensor:
    if isinstance(right, Tensor):
        return torch.bmm(left, right)
    if right.right.requires_grad:  # not a constant after all: plain autograd
        return torch.bmm(left, right.right * right.scale)
    return _ScaledBmm.apply(left, right.scale, right)


class _ScaledBmm(torch.autograd.Function):
    """left (n, i, j) @ (right * scale) for a :class:`ScaledOperand`; differentiable in left and scale."""

    CHUNK_ELEMENTS = 2**18  # points per chunk of the scale's gradient: this many elements (~1 MB, fits L2)

    @staticmethod
    def forward(ctx, left: Tensor, scale: Tensor, op: ScaledOperand) -> Tensor:  # noqa: ANN001
        ctx.save_for_backward(left)
        ctx.op = op
        return torch.bmm(left, op.scaled)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: Tensor) -> tuple:  # noqa: ANN001
        (left,), op = ctx.saved_tensors, ctx.op
        grad_left = torch.bmm(grad, op.scaled_t) if ctx.needs_input_grad[0] else None
        grad_scale = None
        if ctx.needs_input_grad[1]:  # sum_n (left^T grad) * right, a chunk of points at a time
            j, r = op.right.shape[1:]
            chunk = max(1, _ScaledBmm.CHUNK_ELEMENTS // (j * r))
            if j > r:  # (grad^T left) * right^T: no transposed view of the (larger) left
                grad_t = grad.transpose(1, 2).contiguous()
                acc = grad.new_zeros(r, j)
                for lc, gc, rc in zip(left.split(chunk), grad_t.split(chunk), op.right_t.split(chunk)):
                    acc += (torch.bmm(gc, lc) * rc).sum(0)
                acc = acc.T
            else:
                acc = grad.new_zeros(j, r)
                for lc, gc, rc in zip(left.split(chunk), grad.split(chunk), op.right.split(chunk)):
                    acc += (torch.bmm(lc.transpose(1, 2), gc) * rc).sum(0)
            grad_scale = acc
        return grad_left, grad_scale, None


def _dim(dim: int) -> int:
    """The axis of g and h (which lead with the derivative axis) that matches axis ``dim`` of v."""
    return dim if dim < 0 else dim + 1


ACTIVATIONS = {"tanh": Jet.tanh, "sin": Jet.sin}


def activation(name: str):
    """The jet version of a named activation (only the smooth ones PINNs use)."""
    if name not in ACTIVATIONS:
        raise NotImplementedError(f"the Taylor engine supports activations {sorted(ACTIVATIONS)}, not {name!r}")
    return ACTIVATIONS[name]

