"""Approximate distance functions of 2-D shapes bounded by segments and circles, for imposing Dirichlet
values exactly where the domain is not a box (Sukumar & Srivastava, "Exact imposition of boundary
conditions with distance functions in physics-informed deep neural networks", CMAME 389, 2022).

The boundary of a polygon, a disk, or a CSG combination of rectangles, polygons and disks is cut into
pieces that lie wholly on it: segments (the shapes' edges, split where they cross one another, kept
where they bound the result) and whole circles (:func:`boundary_pieces`). Then, in torch, so that the
derivative engines can differentiate them:

- each piece i has a distance phi_i, smooth away from the piece, 0 on it and normalised to first order
  (|grad phi_i| = 1 on it): for a segment, the trimmed distance sqrt(f^2 + ((sqrt(t^2 + f^4) - t) / 2)^2)
  with f the signed distance to its line and t = ((L/2)^2 - |x - centre|^2) / L (their eq. 9); for a
  circle |r^2 - |x - c|^2| / (2 r);
- the boundary's distance is their R-equivalence phi = (sum_i phi_i^-m)^(-1/m) (m = 1): 0 on every
  piece, positive elsewhere, normalised to first order (:func:`distance`);
- boundary values g blend into the domain as sum_i w_i g(P_i x), w_i = phi_i^-mu / sum_j phi_j^-mu
  (mu = 1), P_i x the projection of x onto piece i's line (:func:`blend`; their transfinite
  interpolation). On piece i, w_i = 1 and P_i x = x: the blend is g there. g is evaluated only on the
  pieces' lines, never at the point itself, so a manufactured solution given as boundary values does
  not leak into the domain; the unclamped projection keeps the blend smooth inside.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from .base import Geometry
from .csg import _CSG
from .shapes import Ball, Box, Polygon

# the R-equivalence's order and the blend's exponent (module docstring); on the L-shaped Poisson problem (MLP 3 x 20,
# 1,000 Adam + 300 L-BFGS steps) mu = 1 gave 1.0e-2, mu = 2 1.9e-2, mu = 4 2.4e-2; m = 2 with mu = 2 2.3e-2
M, MU = 1, 1


@dataclass(frozen=True)
class Pieces:
    """A 2-D boundary as ``segments`` (s, 2, 2): end points, and whole ``circles`` (c, 3): centre x, y, radius."""

    segments: np.ndarray
    circles: np.ndarray

    def spec(self) -> dict:
        return {"segments": self.segments.tolist(), "circles": self.circles.tolist()}

    @classmethod
    def from_spec(cls, spec: dict) -> "Pieces":
        return cls(np.asarray(spec["segments"], float).reshape(-1, 2, 2), np.asarray(spec["circles"], float).reshape(-1, 3))

    @property
    def length(self) -> float:
        return float(np.linalg.norm(self.segments[:, 1] - self.segments[:, 0], axis=1).sum()
                     + 2 * np.pi * self.circles[:, 2].sum())


def boundary_pieces(geometry: Geometry) -> Pieces | None:
    """The boundary of a 2-D ``Polygon``, ``Rectangle``, ``Disk`` or CSG combination of them as pieces
    wholly on it; None for other shapes, or where a circle bounds the result only in part (an arc)."""
    leaves = _leaves(geometry)
    if leaves is None:
        return None
    segments = np.array([s for g in leaves for s in _edges(g)]).reshape(-1, 2, 2)
    circles = np.array([[*g.center, g.radius] for g in leaves if isinstance(g, Ball)]).reshape(-1, 3)
    if not isinstance(geometry, _CSG):
        return Pieces(segments, circles)
    lo, hi = geometry.bounds
    eps = 1e-7 * float(np.max(hi - lo))
    kept = []
    for p, q in segments:
        cuts = sorted({0.0, 1.0, *_cuts(p, q, segments, circles)})
        for a, b in zip(cuts[:-1], cuts[1:]):
            if b - a > 1e-12 and _on_boundary(geometry, p + 0.5 * (a + b) * (q - p), _normal(q - p), eps):
                kept.append(np.stack([p + a * (q - p), p + b * (q - p)]))
    # the same piece from two shapes once
    unique = {tuple(sorted(map(tuple, np.round(s, 12).tolist()))): s for s in kept}
    whole = []
    for cx, cy, r in circles:
        angle = np.linspace(0, 2 * np.pi, 256, endpoint=False)
        normal = np.stack([np.cos(angle), np.sin(angle)], 1)
        on = _on_boundary(geometry, np.array([cx, cy]) + r * normal, normal, eps)
        if on.all():
            whole.append((cx, cy, r))
        elif on.any():
            return None  # an arc: not a piece this module has a distance for
    return Pieces(np.array(list(unique.values()), float).reshape(-1, 2, 2), np.array(whole, float).reshape(-1, 3))


def piece_distances(pieces: Pieces, x: Tensor) -> Tensor:
    """phi_i at points x (n, 2): (n, pieces), segments then circles (module docstring)."""
    out = []
    delta = 1e-9 * _size(pieces)  # smooths the square roots within delta of a piece: finite derivatives on it
    if len(pieces.segments):
        ends = torch.as_tensor(pieces.segments, dtype=x.dtype, device=x.device)
        a, d = ends[:, 0], ends[:, 1] - ends[:, 0]  # (s, 2)
        length = d.norm(dim=1)
        rel = x[:, None, :] - a  # (n, s, 2)
        f = (rel[..., 0] * d[:, 1] - rel[..., 1] * d[:, 0]) / length
        centre = x[:, None, :] - (a + 0.5 * d)
        t = ((0.5 * length) ** 2 - (centre**2).sum(-1)) / length
        rho = torch.sqrt(t**2 + f**4 + delta**4)
        # rho - t, without the cancellation where t > 0 (near the segment: f^4 << t^2)
        gap = torch.where(t > 0, (f**4 + delta**4) / (rho + t.abs()), rho - t)
        out.append(_smooth_sqrt(f**2 + (gap / 2) ** 2, delta))
    if len(pieces.circles):
        c = torch.as_tensor(pieces.circles, dtype=x.dtype, device=x.device)
        s = (c[:, 2] ** 2 - ((x[:, None, :] - c[:, :2]) ** 2).sum(-1)) / (2 * c[:, 2])
        out.append(_smooth_sqrt(s**2, delta))
    return torch.cat(out, 1)


def distance(pieces: Pieces, x: Tensor) -> Tensor:
    """The boundary's approximate distance at points x (n, 2): (n,); 0 on it, positive elsewhere."""
    inverse = piece_distances(pieces, x).clamp_min(_floor(x.dtype)).pow(-M)
    return inverse.sum(1).pow(-1 / M)


def blend(pieces: Pieces, g: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """Boundary values ``g`` (a function of points (n, 2) -> (n,)) blended into the domain at x (n, 2): (n,);
    equal to g on the pieces. Circles need their centre outside the domain (the projection onto a circle
    is singular there): :func:`blendable` says whether they have it."""
    weights = piece_distances(pieces, x).clamp_min(_floor(x.dtype)).pow(-MU)
    weights = weights / weights.sum(1, keepdim=True)
    values = []
    if len(pieces.segments):
        ends = torch.as_tensor(pieces.segments, dtype=x.dtype, device=x.device)
        a, d = ends[:, 0], ends[:, 1] - ends[:, 0]
        s = ((x[:, None, :] - a) * d).sum(-1) / (d**2).sum(-1)  # (n, s), not clamped: smooth inside
        on_line = a + s[..., None] * d  # (n, s, 2)
        values.append(g(on_line.reshape(-1, 2)).reshape(len(x), -1))
    if len(pieces.circles):
        c = torch.as_tensor(pieces.circles, dtype=x.dtype, device=x.device)
        rel = x[:, None, :] - c[:, :2]
        on_circle = c[:, :2] + c[:, 2:] * rel / rel.norm(dim=-1, keepdim=True)
        values.append(g(on_circle.reshape(-1, 2)).reshape(len(x), -1))
    return (weights * torch.cat(values, 1)).sum(1)


def blendable(pieces: Pieces, geometry: Geometry) -> bool:
    """Whether :func:`blend` is smooth in ``geometry``: no circle's centre inside it."""
    return not len(pieces.circles) or not geometry.contains(pieces.circles[:, :2]).any()


# -- the pieces ----------------------------------------------------------------------------------------
def _leaves(g: Geometry) -> list[Geometry] | None:
    if isinstance(g, _CSG):
        a, b = _leaves(g.a), _leaves(g.b)
        return None if a is None or b is None else a + b
    if g.dim == 2 and isinstance(g, (Polygon, Box, Ball)):
        return [g]
    return None


def _edges(g: Geometry) -> list[np.ndarray]:
    if isinstance(g, Polygon):
        v = g.vertices
    elif isinstance(g, Box):
        (x0, y0), (x1, y1) = g.lower, g.upper
        v = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    else:
        return []
    return [np.stack([v[i], v[(i + 1) % len(v)]]) for i in range(len(v))]


def _normal(d: np.ndarray) -> np.ndarray:
    return np.array([d[1], -d[0]]) / np.linalg.norm(d)


def _on_boundary(g: Geometry, p: np.ndarray, normal: np.ndarray, eps: float) -> np.ndarray:
    """Whether points p (.., 2) bound g: one side of them (along ``normal``) inside, the other not."""
    p, normal = np.atleast_2d(p), np.atleast_2d(normal)
    out = g.contains(p + eps * normal) != g.contains(p - eps * normal)
    return out if out.shape[0] > 1 else bool(out[0])


def _cross(a: np.ndarray, b: np.ndarray) -> float:
    return float(a[0] * b[1] - a[1] * b[0])


def _cuts(p: np.ndarray, q: np.ndarray, segments: np.ndarray, circles: np.ndarray) -> list[float]:
    """Where, as fractions of p -> q, other segments and circles cross it or a collinear one ends on it."""
    d = q - p
    scale = float(np.linalg.norm(d))
    out = []
    for r, w in segments:
        e = w - r
        denom = _cross(d, e)
        if abs(denom) > 1e-12 * scale * np.linalg.norm(e):
            s, u = _cross(r - p, e) / denom, _cross(r - p, d) / denom
            if -1e-12 <= u <= 1 + 1e-12:
                out.append(s)
        elif abs(_cross(r - p, d)) <= 1e-12 * scale**2:  # collinear: cut where the other one ends
            out += [float(np.dot(r - p, d)) / scale**2, float(np.dot(w - p, d)) / scale**2]
    for cx, cy, rad in circles:  # |p + s d - c|^2 = r^2
        rel = p - np.array([cx, cy])
        a, b, c = np.dot(d, d), 2 * np.dot(rel, d), np.dot(rel, rel) - rad**2
        disc = b * b - 4 * a * c
        if disc >= 0:
            out += [(-b - np.sqrt(disc)) / (2 * a), (-b + np.sqrt(disc)) / (2 * a)]
    return [s for s in out if 0 < s < 1]


# -- numerics ------------------------------------------------------------------------------------------
def _size(pieces: Pieces) -> float:
    points = np.concatenate([pieces.segments.reshape(-1, 2), pieces.circles[:, :2] - pieces.circles[:, 2:],
                             pieces.circles[:, :2] + pieces.circles[:, 2:]])
    return float(np.max(np.ptp(points, axis=0)))


def _smooth_sqrt(z: Tensor, delta: float) -> Tensor:
    """sqrt(z) for z >= 0, made smooth within delta of 0 (sqrt(z + delta^2) - delta): exactly 0 at z = 0
    with a finite derivative there, and sqrt(z) to within delta elsewhere."""
    return torch.sqrt(z + delta**2) - delta


def _floor(dtype: torch.dtype) -> float:
    """The least phi_i the reciprocals see: on a piece phi_i = 0, and its floor^-MU must stay finite."""
    return float(torch.finfo(dtype).tiny) ** (1 / (2 * MU))


__all__ = ["Pieces", "blend", "blendable", "boundary_pieces", "distance", "piece_distances"]
