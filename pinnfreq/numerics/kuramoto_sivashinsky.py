"""Kuramoto-Sivashinsky u_t + u u_x + u_xx + u_xxxx = 0 on a periodic interval: Fourier pseudo-spectral,
ETDRK4 (the Kassam & Trefethen 2005 test problem), 2/3-rule dealiasing.

Usage: python -m pinnfreq.numerics.kuramoto_sivashinsky       (prints the self-convergence in dt)
"""

from __future__ import annotations

import numpy as np

from .spectral import solve_semilinear, wavenumbers


def solve(u0: np.ndarray, length: float, dt: float, times: np.ndarray) -> np.ndarray:
    """u at ``times`` (len(times), ..., n) from u0 (..., n) equispaced on [0, length)."""
    k = wavenumbers(u0.shape[-1], length)
    return solve_semilinear(u0, length, k**2 - k**4, dt, times)


def main() -> None:
    length, n = 32 * np.pi, 128
    x = length * np.arange(n) / n
    u0 = np.cos(x / 16) * (1 + np.sin(x / 16))  # Kassam & Trefethen's initial condition
    times = np.array([10.0, 30.0])
    a, b = solve(u0, length, 0.25, times), solve(u0, length, 0.125, times)
    print(f"max |u(dt=1/4) - u(dt=1/8)| at t = {times.tolist()}: {np.abs(a - b).max():.3e}")


if __name__ == "__main__":
    main()
