"""Points in the unit cube: pseudo-random or quasi-random (``scipy.stats.qmc``)."""

from __future__ import annotations

import warnings

import numpy as np

METHODS = ("uniform", "sobol", "halton", "lhs")


def unit_cube(n: int, dim: int, method: str = "sobol", seed: int = 0) -> np.ndarray:
    """Sample ``n`` points in ``[0, 1)^dim``.

    Parameters
    ----------
    n, dim : int
        Number of points and dimension.
    method : {"uniform", "sobol", "halton", "lhs"}
        ``uniform`` is pseudo-random; the others are scrambled quasi-random sequences.
    seed : int
        Fixes the draw: the same ``(n, dim, method, seed)`` gives the same points.

    Returns
    -------
    np.ndarray, shape (n, dim), float64
    """
    if method not in METHODS:
        raise ValueError(f"unknown sampling method {method!r}; choose one of {METHODS}")
    if n < 0 or dim < 1:
        raise ValueError(f"need n >= 0 and dim >= 1, got n={n}, dim={dim}")
    if n == 0:
        return np.zeros((0, dim))
    if method == "uniform":
        return np.random.default_rng(seed).random((n, dim))
    from scipy.stats import qmc  # here, not at the top: scipy.stats is half a second of every `import pinnfreq`

    if method == "sobol":
        with warnings.catch_warnings():  # Sobol prefers powers of two; any n is still valid
            warnings.simplefilter("ignore", UserWarning)
            return qmc.Sobol(dim, scramble=True, seed=seed).random(n)
    if method == "halton":
        return qmc.Halton(dim, scramble=True, seed=seed).random(n)
    return qmc.LatinHypercube(dim, seed=seed).random(n)


def sub_seed(*parts: int) -> int:
    """A deterministic seed derived from several integers (a stable hash, not Python's ``hash``)."""
    return int(np.random.SeedSequence([abs(int(p)) for p in parts]).generate_state(1)[0])
