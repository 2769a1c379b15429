"""Constructive solid geometry: union, difference and intersection of two shapes.

Boundaries are sampled from both operands in proportion to their boundary measures, filtered to the
part that bounds the result, then subsampled at random: uniform in arc length on the result. A point
of an operand's boundary bounds the result where the result holds the point just inside it (along the
operand's normal) and not the one just outside, or the other way round (then the normal flips): this
also drops the parts where the operands' boundaries coincide without bounding the result (a hole's
side on the outer boundary of a difference), and the second operand's points that lie on the first's
boundary too are dropped, so that a stretch both bound is sampled once. Volumes and boundary measures
are Monte-Carlo estimates (they only weight sampling).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from .base import Geometry
from .sampling import sub_seed, unit_cube

_ESTIMATE_POINTS = 1 << 14


class _CSG(Geometry):
    op = "?"

    def __init__(self, a: Geometry, b: Geometry):
        if a.names != b.names:
            raise ValueError(f"{type(self).__name__}: operands have coordinates {a.names} and {b.names}")
        self.a, self.b = a, b
        self.names = a.names

    def __repr__(self) -> str:
        return f"({self.a!r} {self.op} {self.b!r})"

    def _keep(self, points: np.ndarray, normals: np.ndarray, from_a: bool) -> tuple[np.ndarray, np.ndarray]:
        """Which boundary points of an operand bound the result (module docstring), and the sign (n, 1) that
        turns the operand's outward normals into the result's."""
        lo, hi = self.bounds
        eps = 1e-7 * max(1.0, float(np.max(hi - lo)))  # above contains' tolerance (1e-9 of the size)
        inner, outer = self.contains(points - eps * normals), self.contains(points + eps * normals)
        keep = inner != outer
        if not from_a:  # a stretch the first operand bounds too is its to sample
            keep &= self.a.contains(points - eps * normals) == self.a.contains(points + eps * normals)
        return keep, np.where(inner, 1.0, -1.0)[:, None]

    def _candidates(self, n: int, method: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
        ma, mb = self.a.boundary_measure(), self.b.boundary_measure()
        pts, nrm = [], []
        for k, (g, m, from_a) in enumerate(((self.a, ma, True), (self.b, mb, False))):
            count = int(np.ceil(n * m / (ma + mb)))
            p, q = g.sample_boundary(count, method, sub_seed(seed, k))
            keep, sign = self._keep(p, q, from_a)
            pts.append(p[keep])
            nrm.append((sign * q)[keep])
        return np.concatenate(pts), np.concatenate(nrm)

    def sample_boundary(self, n: int, method: str = "sobol", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        pts, nrm = [], []
        total, attempt, factor = 0, 0, 2.0
        while total < n:
            p, q = self._candidates(int((n - total) * factor) + 16, method, sub_seed(seed, attempt))
            pts.append(p)
            nrm.append(q)
            total += len(p)
            attempt += 1
            factor *= 2
            if attempt > 20:
                raise RuntimeError(f"{self!r} has no boundary to sample")
        p, q = np.concatenate(pts), np.concatenate(nrm)
        pick = np.sort(np.random.default_rng(seed).permutation(len(p))[:n])
        return p[pick], q[pick]

    @cached_property
    def _boundary_measure(self) -> float:
        p, _ = self._candidates(_ESTIMATE_POINTS, "sobol", 12345)
        ma, mb = self.a.boundary_measure(), self.b.boundary_measure()
        return (ma + mb) * len(p) / _ESTIMATE_POINTS

    def boundary_measure(self) -> float:
        return self._boundary_measure

    @cached_property
    def _volume(self) -> float:
        lo, hi = self.bounds
        u = lo + (hi - lo) * unit_cube(_ESTIMATE_POINTS, self.dim, "sobol", 12345)
        return float(np.prod(hi - lo) * np.mean(self.contains(u)))

    def volume(self) -> float:
        return self._volume


class Union(_CSG):
    """Points in ``a`` or ``b`` (``a | b``)."""

    op = "|"

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        (la, ha), (lb, hb) = self.a.bounds, self.b.bounds
        return np.minimum(la, lb), np.maximum(ha, hb)

    def contains(self, points: np.ndarray) -> np.ndarray:
        return self.a.contains(points) | self.b.contains(points)


class Difference(_CSG):
    """Points in ``a`` and not in ``b`` (``a - b``); on ``b``'s boundary the normal points into ``b``."""

    op = "-"

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.a.bounds

    def contains(self, points: np.ndarray) -> np.ndarray:
        # b's own boundary counts as outside: a measure-zero set, and it keeps the test one line
        return self.a.contains(points) & ~self.b.contains(points)


class Intersection(_CSG):
    """Points in both ``a`` and ``b`` (``a & b``)."""

    op = "&"

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        (la, ha), (lb, hb) = self.a.bounds, self.b.bounds
        lo, hi = np.maximum(la, lb), np.minimum(ha, hb)
        if np.any(hi <= lo):
            raise ValueError(f"{self!r} is empty")
        return lo, hi

    def contains(self, points: np.ndarray) -> np.ndarray:
        return self.a.contains(points) & self.b.contains(points)
