"""Cartesian products of geometries, e.g. ``space * Time(0, 1)``."""

from __future__ import annotations

import numpy as np

from .base import Boundary, Geometry, Region, check_names
from .sampling import sub_seed, unit_cube


class Product(Geometry):
    """``a x b``: coordinates are ``a.names + b.names``; its boundary is ``da x b  U  a x db``."""

    def __init__(self, a: Geometry, b: Geometry):
        self.factors = (a, b)
        self.names = check_names(a.names + b.names, f"{a!r} * {b!r}")

    def __repr__(self) -> str:
        return f"({self.factors[0]!r} * {self.factors[1]!r})"

    def _split(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = self.factors[0].dim
        return points[:, :k], points[:, k:]

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        (la, ha), (lb, hb) = self.factors[0].bounds, self.factors[1].bounds
        return np.concatenate([la, lb]), np.concatenate([ha, hb])

    def contains(self, points: np.ndarray) -> np.ndarray:
        pa, pb = self._split(points)
        return self.factors[0].contains(pa) & self.factors[1].contains(pb)

    # Interior sampling is the base class's: one joint sequence over the bounding box. Pairing two
    # independently scrambled sequences index by index would put the points on a curve (scrambled
    # 1-D Sobol sequences are digit-wise bijections of each other).

    def volume(self) -> float:
        return self.factors[0].volume() * self.factors[1].volume()

    def boundary_measure(self) -> float:
        a, b = self.factors
        return a.boundary_measure() * b.volume() + a.volume() * b.boundary_measure()

    def sample_boundary(self, n: int, method: str = "sobol", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.factors
        share = a.boundary_measure() * b.volume() / self.boundary_measure()
        n_a = int(np.sum(unit_cube(n, 1, "uniform", seed)[:, 0] < share))
        pa, na = sample_region(self, Boundary(a), n_a, method, sub_seed(seed, 0))
        pb, nb = sample_region(self, Boundary(b), n - n_a, method, sub_seed(seed, 1))
        return np.concatenate([pa, pb]), np.concatenate([na, nb])


def sample_region(domain: Geometry, region: Region, n: int, method: str = "sobol", seed: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """Sample ``n`` points of ``domain`` that lie on ``region``.

    ``region`` is the boundary of ``domain`` or of one of its product factors (the other factors are
    then sampled inside), or a slice ``coordinate = value`` of a one-dimensional factor.

    Returns
    -------
    points : (n, domain.dim)
    normals : (n, domain.dim) outward unit normals, zero along other factors; None for a slice.
    """
    if region.geometry is domain:
        if isinstance(region, Boundary):
            return domain.sample_boundary(n, method, seed)
        return np.full((n, 1), region.value), None
    if isinstance(domain, Product) and contains_factor(domain, region.geometry):
        a, b = domain.factors
        inside_a = contains_factor(a, region.geometry)
        pa, na = sample_region(a, region, n, method, sub_seed(seed, 0)) if inside_a else (a.sample(n, method, sub_seed(seed, 0)), None)
        pb, nb = (b.sample(n, method, sub_seed(seed, 1)), None) if inside_a else sample_region(b, region, n, method, sub_seed(seed, 1))
        # the two sets were drawn separately: shuffle one, or index-by-index pairing correlates them
        shuffle = np.random.default_rng(sub_seed(seed, 2)).permutation(n)
        pb, nb = pb[shuffle], (None if nb is None else nb[shuffle])
        points = np.concatenate([pa, pb], axis=1)
        if na is None and nb is None:
            return points, None
        na = np.zeros((n, a.dim)) if na is None else na
        nb = np.zeros((n, b.dim)) if nb is None else nb
        return points, np.concatenate([na, nb], axis=1)
    raise ValueError(f"{region!r} is not part of the domain {domain!r}")


def contains_factor(domain: Geometry, geometry: Geometry) -> bool:
    """Whether ``geometry`` is ``domain`` or a factor of it, at any depth."""
    if domain is geometry:
        return True
    return isinstance(domain, Product) and any(contains_factor(f, geometry) for f in domain.factors)


def time_factor(domain: Geometry) -> Geometry | None:
    """The domain's ``Time`` factor, or None for a steady problem."""
    from .shapes import Time

    if isinstance(domain, Time):
        return domain
    if isinstance(domain, Product):
        for f in domain.factors:
            t = time_factor(f)
            if t is not None:
                return t
    return None
