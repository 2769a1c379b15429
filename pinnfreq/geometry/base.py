"""The geometry interface shared by every shape, and the regions that conditions live on.

All geometry works in NumPy float64: sampling happens once per resampling round, off the hot path.
Points are arrays of shape (n, dim) whose columns follow ``geometry.names``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .sampling import sub_seed, unit_cube

#: Relative tolerance (of the bounding-box size) used by ``contains`` for points on a boundary.
TOL = 1e-9


class Geometry:
    """A closed region of R^dim with named coordinates.

    Subclasses implement ``bounds``, ``contains`` and ``sample_boundary``; interior sampling
    defaults to rejection from the bounding box, which keeps quasi-random sequences quasi-random.
    """

    names: tuple[str, ...]

    # -- what every shape provides -------------------------------------------------------------
    @property
    def dim(self) -> int:
        return len(self.names)

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper corners of the bounding box, each of shape (dim,)."""
        raise NotImplementedError

    def contains(self, points: np.ndarray) -> np.ndarray:
        """Boolean mask (n,) of points inside or on the boundary."""
        raise NotImplementedError

    def sample_boundary(self, n: int, method: str = "sobol", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``n`` points on the boundary and their outward unit normals, both (n, dim)."""
        raise NotImplementedError

    def boundary_measure(self) -> float:
        """Length/area of the boundary (a point count for an interval); weights CSG sampling."""
        raise NotImplementedError

    def volume(self) -> float:
        """Length/area/volume of the region."""
        raise NotImplementedError

    # -- shared behaviour ------------------------------------------------------------------------
    def sample(self, n: int, method: str = "sobol", seed: int = 0) -> np.ndarray:
        """``n`` interior points, shape (n, dim), by rejection from the bounding box."""
        lo, hi = self.bounds
        box_volume = float(np.prod(hi - lo))
        accept = min(1.0, max(self.volume() / box_volume, 1e-3)) if box_volume > 0 else 1.0
        found: list[np.ndarray] = []
        total, attempt = 0, 0
        while total < n:
            m = int(math.ceil((n - total) / accept * 1.2)) + 16
            cand = lo + (hi - lo) * unit_cube(m, self.dim, method, sub_seed(seed, attempt))
            cand = cand[self.contains(cand)]
            found.append(cand)
            total += len(cand)
            attempt += 1
            if attempt > 50:
                raise RuntimeError(f"could not sample {n} points inside {self!r}: is it empty?")
        return np.concatenate(found)[:n]

    def grid(self, n: int | dict[str, int]) -> dict[str, np.ndarray]:
        """Uniform axes over the bounding box: ``{name: linspace(lo, hi, n_name)}``."""
        counts = n if isinstance(n, dict) else {name: n for name in self.names}
        lo, hi = self.bounds
        return {name: np.linspace(lo[i], hi[i], int(counts[name])) for i, name in enumerate(self.names)}

    @property
    def boundary(self) -> "Boundary":
        """The boundary as a region conditions can be placed on."""
        return Boundary(self)

    def __mul__(self, other: "Geometry") -> "Geometry":
        from .product import Product

        return Product(self, other)

    def __or__(self, other: "Geometry") -> "Geometry":
        from .csg import Union

        return Union(self, other)

    def __sub__(self, other: "Geometry") -> "Geometry":
        from .csg import Difference

        return Difference(self, other)

    def __and__(self, other: "Geometry") -> "Geometry":
        from .csg import Intersection

        return Intersection(self, other)

    def _tol(self) -> float:
        lo, hi = self.bounds
        return TOL * max(1.0, float(np.max(hi - lo)))


@dataclass(frozen=True)
class Boundary:
    """The boundary of ``geometry``; in a product domain, the other factors are sampled inside."""

    geometry: Geometry

    def __repr__(self) -> str:
        return f"{self.geometry!r}.boundary"


@dataclass(frozen=True)
class Slice:
    """The hyperplane ``coordinate = value`` of a one-dimensional ``geometry`` (e.g. ``t = t0``)."""

    geometry: Geometry
    value: float

    def __repr__(self) -> str:
        return f"{self.geometry.names[0]}={self.value:g}"


Region = Boundary | Slice


def check_names(names: tuple[str, ...], owner: str) -> tuple[str, ...]:
    names = tuple(names)
    for name in names:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"{owner}: coordinate name {name!r} must be a Python identifier")
    if len(set(names)) != len(names):
        raise ValueError(f"{owner}: coordinate names {names} repeat")
    return names
