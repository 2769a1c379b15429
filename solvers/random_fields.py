"""Random periodic initial conditions."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def gaussian_random_field(rng: np.random.Generator, n_samples: int, shape: Sequence[int], alpha: float, tau: float,
                          sigma: float | None = None, length: float = 1.0) -> np.ndarray:
    """Samples of N(0, sigma^2 (-Delta + tau^2 I)^-alpha) on a periodic grid of side ``length``, zero mean,
    shape (n_samples, *shape). ``sigma`` defaults to tau^(alpha - d/2), the FNO generator's choice
    (Li et al. 2021: alpha = 2.5, tau = 7 for Navier-Stokes)."""
    d = len(shape)
    sigma = tau ** (alpha - d / 2) if sigma is None else sigma
    k = np.meshgrid(*[np.fft.fftfreq(n, 1 / n) for n in shape], indexing="ij")
    k2 = sum(ki**2 for ki in k) * (2 * np.pi / length) ** 2
    sqrt_eig = np.prod(shape) * np.sqrt(2) * sigma * (k2 + tau**2) ** (-alpha / 2)
    sqrt_eig.flat[0] = 0.0
    xi = rng.standard_normal((n_samples, *shape)) + 1j * rng.standard_normal((n_samples, *shape))
    return np.fft.ifftn(sqrt_eig * xi, axes=tuple(range(1, d + 1))).real


def sine_superposition(rng: np.random.Generator, n_samples: int, x: np.ndarray, length: float, n_waves: int = 2,
                       max_wavenumber: int = 8) -> np.ndarray:
    """PDEBench's Burgers initial conditions: sum_i A_i sin(2 pi n_i x / L + phi_i) with n_i uniform
    in 1..max_wavenumber, A_i ~ U(0, 1), phi_i ~ U(0, 2 pi); shape (n_samples, len(x))."""
    n = rng.integers(1, max_wavenumber + 1, (n_samples, n_waves, 1))
    amp = rng.uniform(0, 1, (n_samples, n_waves, 1))
    phase = rng.uniform(0, 2 * np.pi, (n_samples, n_waves, 1))
    return (amp * np.sin(2 * np.pi * n * x / length + phase)).sum(1)
