"""Primitive shapes: boxes (any dimension, with Interval, Rectangle and Time as names for them),
balls (Disk in 2-D) and polygons."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .base import Geometry, Slice, check_names
from .sampling import unit_cube

_DEFAULT_NAMES = {1: ("x",), 2: ("x", "y"), 3: ("x", "y", "z")}


def _default_names(dim: int) -> tuple[str, ...]:
    return _DEFAULT_NAMES.get(dim, tuple(f"x{i + 1}" for i in range(dim)))


class Box(Geometry):
    """The axis-aligned box ``[lower_i, upper_i]`` in any dimension.

    Parameters
    ----------
    lower, upper : sequence of float, length dim
    names : sequence of str, optional
        Coordinate names; default ``x, y, z`` (``x1..xd`` past three dimensions).
    """

    def __init__(self, lower: Sequence[float], upper: Sequence[float], names: Sequence[str] | None = None):
        lo = np.atleast_1d(np.asarray(lower, dtype=float))
        hi = np.atleast_1d(np.asarray(upper, dtype=float))
        if lo.shape != hi.shape or lo.ndim != 1:
            raise ValueError(f"{type(self).__name__}: lower {lo.tolist()} and upper {hi.tolist()} differ in length")
        if not np.all(np.isfinite(lo)) or not np.all(np.isfinite(hi)) or np.any(hi <= lo):
            raise ValueError(f"{type(self).__name__}: need finite lower < upper, got {lo.tolist()} and {hi.tolist()}")
        self.lower, self.upper = lo, hi
        self.names = check_names(names if names is not None else _default_names(len(lo)), type(self).__name__)
        if len(self.names) != len(lo):
            raise ValueError(f"{type(self).__name__}: {len(self.names)} names for {len(lo)} dimensions")

    def __repr__(self) -> str:
        return f"Box({self.lower.tolist()}, {self.upper.tolist()}, names={self.names})"

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.lower.copy(), self.upper.copy()

    def contains(self, points: np.ndarray) -> np.ndarray:
        tol = self._tol()
        return np.all((points >= self.lower - tol) & (points <= self.upper + tol), axis=1)

    def sample(self, n: int, method: str = "sobol", seed: int = 0) -> np.ndarray:
        return self.lower + (self.upper - self.lower) * unit_cube(n, self.dim, method, seed)

    def _face_areas(self) -> np.ndarray:
        """Area of each face pair (axis i), shape (dim,); 1 for the end points of an interval."""
        size = self.upper - self.lower
        return np.array([np.prod(np.delete(size, i)) for i in range(self.dim)])

    def sample_boundary(self, n: int, method: str = "sobol", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        # The first unit-cube coordinate picks a face (by area), the others place the point on it.
        u = unit_cube(n, self.dim, method, seed)
        areas = np.repeat(self._face_areas(), 2)  # faces ordered (axis 0 lo, axis 0 hi, axis 1 lo, ...)
        face = np.minimum(np.searchsorted(np.cumsum(areas) / areas.sum(), u[:, 0], side="right"), len(areas) - 1)
        axis, side = face // 2, face % 2
        points = np.empty((n, self.dim))
        normals = np.zeros((n, self.dim))
        rows = np.arange(n)
        for i in range(self.dim):
            others = [j for j in range(self.dim) if j != i]
            sel = axis == i
            on_face = self.lower[others] + (self.upper[others] - self.lower[others]) * u[sel][:, 1:]
            points[np.ix_(sel, others)] = on_face
            points[sel, i] = np.where(side[sel] == 0, self.lower[i], self.upper[i])
        normals[rows, axis] = np.where(side == 0, -1.0, 1.0)
        return points, normals

    def boundary_measure(self) -> float:
        return float(2 * self._face_areas().sum())

    def volume(self) -> float:
        return float(np.prod(self.upper - self.lower))


class Rectangle(Box):
    """A 2-D box ``[x0, x1] x [y0, y1]``; coordinates named ``("x", "y")`` unless given."""

    def __init__(self, lower: Sequence[float], upper: Sequence[float], names: Sequence[str] = ("x", "y")):
        super().__init__(lower, upper, names)
        if self.dim != 2:
            raise ValueError(f"Rectangle is two-dimensional, got {self.dim} dimensions")


class Interval(Box):
    """The interval ``[a, b]`` with one named coordinate."""

    def __init__(self, a: float, b: float, name: str = "x"):
        super().__init__([a], [b], [name])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.lower[0]:g}, {self.upper[0]:g}, name={self.names[0]!r})"

    @property
    def start(self) -> Slice:
        """The point ``a`` as a region (``coordinate = a``)."""
        return Slice(self, float(self.lower[0]))

    @property
    def end(self) -> Slice:
        """The point ``b`` as a region (``coordinate = b``)."""
        return Slice(self, float(self.upper[0]))


class Time(Interval):
    """A time interval ``[t0, t1]``; a domain holding one is time-dependent (``Initial`` applies at ``t0``)."""

    def __init__(self, t0: float, t1: float, name: str = "t"):
        super().__init__(t0, t1, name)


class Ball(Geometry):
    """The closed ball ``|p - center| <= radius`` in any dimension."""

    def __init__(self, center: Sequence[float], radius: float, names: Sequence[str] | None = None):
        self.center = np.atleast_1d(np.asarray(center, dtype=float))
        self.radius = float(radius)
        if not (self.radius > 0 and math.isfinite(self.radius)) or not np.all(np.isfinite(self.center)):
            raise ValueError(f"{type(self).__name__}: need a finite center and radius > 0, got {center}, {radius}")
        self.names = check_names(names if names is not None else _default_names(len(self.center)), type(self).__name__)
        if len(self.names) != len(self.center):
            raise ValueError(f"{type(self).__name__}: {len(self.names)} names for a {len(self.center)}-d center")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.center.tolist()}, {self.radius:g}, names={self.names})"

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.center - self.radius, self.center + self.radius

    def contains(self, points: np.ndarray) -> np.ndarray:
        return np.linalg.norm(points - self.center, axis=1) <= self.radius + self._tol()

    def sample_boundary(self, n: int, method: str = "sobol", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        u = unit_cube(n, max(self.dim, 2) if self.dim > 1 else 1, method, seed)
        if self.dim == 1:
            normals = np.where(u < 0.5, -1.0, 1.0)
        elif self.dim == 2:
            angle = 2 * math.pi * u[:, 0]
            normals = np.stack([np.cos(angle), np.sin(angle)], axis=1)
        else:  # normalised Gaussian vectors are uniform on the sphere
            from scipy.special import ndtri  # the normal quantile; imported here, as it is rarely needed

            g = ndtri(np.clip(u, 1e-12, 1 - 1e-12))
            normals = g / np.linalg.norm(g, axis=1, keepdims=True)
        return self.center + self.radius * normals, normals

    def boundary_measure(self) -> float:
        d = self.dim
        return float(2 * math.pi ** (d / 2) / math.exp(math.lgamma(d / 2)) * self.radius ** (d - 1))

    def volume(self) -> float:
        d = self.dim
        return float(math.pi ** (d / 2) / math.exp(math.lgamma(d / 2 + 1)) * self.radius**d)


class Disk(Ball):
    """A 2-D ball; coordinates named ``("x", "y")`` unless given."""

    def __init__(self, center: Sequence[float], radius: float, names: Sequence[str] = ("x", "y")):
        super().__init__(center, radius, names)
        if self.dim != 2:
            raise ValueError(f"Disk is two-dimensional, got a {self.dim}-d center")


class Polygon(Geometry):
    """A simple polygon given by its vertices (either orientation, not closed by repetition).

    Parameters
    ----------
    vertices : array-like, shape (m, 2), m >= 3
    """

    def __init__(self, vertices: Sequence[Sequence[float]], names: Sequence[str] = ("x", "y")):
        v = np.asarray(vertices, dtype=float)
        if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3 or not np.all(np.isfinite(v)):
            raise ValueError(f"Polygon needs at least 3 finite 2-D vertices, got array of shape {v.shape}")
        if np.allclose(v[0], v[-1]):
            v = v[:-1]
        area2 = float(np.sum(v[:, 0] * np.roll(v[:, 1], -1) - np.roll(v[:, 0], -1) * v[:, 1]))
        if abs(area2) < 1e-14:
            raise ValueError("Polygon: the vertices enclose no area")
        self.vertices = v if area2 > 0 else v[::-1].copy()  # counter-clockwise: outward normal = (dy, -dx)
        self.names = check_names(names, "Polygon")
        self._edges = np.roll(self.vertices, -1, axis=0) - self.vertices
        self._lengths = np.linalg.norm(self._edges, axis=1)
        if np.any(self._lengths == 0):
            raise ValueError("Polygon: repeated consecutive vertices")

    def __repr__(self) -> str:
        return f"Polygon({self.vertices.tolist()})"

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.vertices.min(axis=0), self.vertices.max(axis=0)

    def _distance_to_edges(self, p: np.ndarray) -> np.ndarray:
        rel = p[:, None, :] - self.vertices[None]  # (n, m, 2)
        s = np.clip(np.sum(rel * self._edges, axis=2) / self._lengths**2, 0.0, 1.0)
        return np.linalg.norm(rel - s[..., None] * self._edges, axis=2).min(axis=1)

    def contains(self, points: np.ndarray) -> np.ndarray:
        x, y = points[:, :1], points[:, 1:2]
        x0, y0 = self.vertices[:, 0], self.vertices[:, 1]
        x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
        with np.errstate(divide="ignore", invalid="ignore"):
            crosses = ((y0 > y) != (y1 > y)) & (x < (x1 - x0) * (y - y0) / (y1 - y0) + x0)
        inside = np.count_nonzero(crosses, axis=1) % 2 == 1
        return inside | (self._distance_to_edges(points) <= self._tol())

    def sample_boundary(self, n: int, method: str = "sobol", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        cum = np.concatenate([[0.0], np.cumsum(self._lengths)])
        s = unit_cube(n, 1, method, seed)[:, 0] * cum[-1]
        edge = np.minimum(np.searchsorted(cum, s, side="right") - 1, len(self._lengths) - 1)
        frac = (s - cum[edge]) / self._lengths[edge]
        points = self.vertices[edge] + frac[:, None] * self._edges[edge]
        normals = np.stack([self._edges[edge, 1], -self._edges[edge, 0]], axis=1) / self._lengths[edge, None]
        return points, normals

    def boundary_measure(self) -> float:
        return float(self._lengths.sum())

    def volume(self) -> float:
        v = self.vertices
        return float(0.5 * np.sum(v[:, 0] * np.roll(v[:, 1], -1) - np.roll(v[:, 0], -1) * v[:, 1]))
