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


def sine_superposition(rng: np.random.Generator, n_samples: int, x: np.ndarray, length: float, max_wavenumber: int = 4,
                       n_choices: int = 2, p_abs: float = 0.1, p_window: float = 0.1) -> np.ndarray:
    """PDEBench's 1-D initial conditions (``init_multi`` in its ``data_gen_NLE/utils.py``, as its Burgers
    script calls it, k_tot = 4), shape (n_samples, len(x)):

    u0 = s W(x) F(sum_{k=1}^{K} A_k sin(2 pi k c_k x / L + phi_k)),

    c_k = how often k was among ``n_choices`` draws from 1..K (so mostly 0 or 1; a repeated draw doubles
    that wave's frequency), A_k ~ U(0, 1), phi_k ~ U(0, 2 pi) (an unchosen k adds the constant
    A_k sin phi_k: PDEBench's trajectories drift); F = |.| with probability ``p_abs``; s = +-1; W = 1, or
    with probability ``p_window`` the window (tanh((x - x_L)/0.01) - tanh((x - x_R)/0.01)) / 2 on
    [x_L, x_R], x_L ~ U(0.1, 0.45) L, x_R ~ U(0.55, 0.9) L. One departure: PDEBench divides by
    x_last - x_first = L (1 - 1/n), which makes its waves not quite periodic; here the period is L."""
    ks = np.arange(1, max_wavenumber + 1)
    draws = rng.integers(1, max_wavenumber + 1, (n_samples, n_choices))
    counts = (draws[:, :, None] == ks).sum(1)[..., None]  # (n, K, 1)
    amp = rng.uniform(0, 1, (n_samples, max_wavenumber, 1))
    phase = rng.uniform(0, 2 * np.pi, (n_samples, max_wavenumber, 1))
    u = (amp * np.sin(2 * np.pi * ks[:, None] * counts * x / length + phase)).sum(1)
    u = np.where(rng.uniform(size=(n_samples, 1)) < p_abs, np.abs(u), u)
    u *= rng.choice([-1.0, 1.0], size=(n_samples, 1))
    x_left = rng.uniform(0.1, 0.45, (n_samples, 1)) * length
    x_right = rng.uniform(0.55, 0.9, (n_samples, 1)) * length
    window = 0.5 * (np.tanh((x - x_left) / (0.01 * length)) - np.tanh((x - x_right) / (0.01 * length)))
    return np.where(rng.uniform(size=(n_samples, 1)) < p_window, u * window, u)
