"""Periodic 1-D semilinear problems u_t = L u + N(u) by Fourier pseudo-spectral collocation in space and
ETDRK4 in time (Kassam & Trefethen 2005), with the 2/3 rule against aliasing of the nonlinear term.

L is diagonal in Fourier space (one value per rfft wavenumber, real or complex); N is evaluated on the
grid. The equations the library uses:

- Burgers: u_t + (u^2/2)_x = nu u_xx (L = -nu k^2, N = -(u^2/2)_x);
- Kuramoto-Sivashinsky: u_t + u u_x + u_xx + u_xxxx = 0 (L = k^2 - k^4);
- Allen-Cahn: u_t = eps u_xx + a (u - u^3) (L = -eps k^2 + a, N = -a u^3);
- KdV: u_t + u u_x + delta^2 u_xxx = 0 (L = i delta^2 k^3, N = -(u^2/2)_x).

Usage: python -m pinnfreq.numerics.spectral --n 4096 --dt 1e-4    (Burgers' self-convergence)
"""

from __future__ import annotations

import argparse
from typing import Callable

import numpy as np

from .etdrk4 import integrate, output_steps

#: N(u) in Fourier space, given the grid values u (..., n) and the wavenumbers k (n//2 + 1,)
Nonlinear = Callable[[np.ndarray, np.ndarray], np.ndarray]


def advection(u: np.ndarray, k: np.ndarray) -> np.ndarray:
    """-(u^2 / 2)_x in Fourier space."""
    return -0.5j * k * np.fft.rfft(u * u)


def solve_semilinear(u0: np.ndarray, length: float, linear: np.ndarray, dt: float, times: np.ndarray,
                     nonlinear: Nonlinear = advection) -> np.ndarray:
    """Integrate u_t = L u + N(u) from ``u0`` (..., n) equispaced samples of one period of ``length``
    (leading axes: a batch) and return u at ``times``, shape (len(times), ..., n).

    ``linear``: L per rfft wavenumber, shape (n//2 + 1,); ``times`` must be multiples of ``dt``.
    The default N is Burgers' -(u^2/2)_x."""
    n = u0.shape[-1]
    k = wavenumbers(n, length)
    dealias = np.arange(k.size) < (2 * n) // 6 + 1  # keep |k| below 2/3 of the Nyquist index

    def n_hat(v_hat: np.ndarray) -> np.ndarray:
        return nonlinear(np.fft.irfft(v_hat, n), k) * dealias

    spectra = integrate(np.fft.rfft(u0), linear, n_hat, dt, output_steps(times, dt))
    return np.stack([np.fft.irfft(v, n) for v in spectra])


def solve_periodic(u0: np.ndarray, length: float, nu: float, dt: float, times: np.ndarray) -> np.ndarray:
    """Viscous Burgers u_t + (u^2/2)_x = nu u_xx (see :func:`solve_semilinear` for the arguments)."""
    return solve_semilinear(u0, length, -nu * wavenumbers(u0.shape[-1], length) ** 2, dt, times)


def allen_cahn(u0: np.ndarray, length: float, eps: float, a: float, dt: float, times: np.ndarray) -> np.ndarray:
    """Allen-Cahn u_t = eps u_xx + a (u - u^3)."""
    k = wavenumbers(u0.shape[-1], length)
    return solve_semilinear(u0, length, -eps * k**2 + a, dt, times, lambda u, _: -a * np.fft.rfft(u**3))


def kdv(u0: np.ndarray, length: float, delta: float, dt: float, times: np.ndarray) -> np.ndarray:
    """Korteweg-de Vries u_t + u u_x + delta^2 u_xxx = 0 (the Zabusky-Kruskal form)."""
    k = wavenumbers(u0.shape[-1], length)
    return solve_semilinear(u0, length, 1j * delta**2 * k**3, dt, times)


def wavenumbers(n: int, length: float) -> np.ndarray:
    """Angular wavenumbers of ``np.fft.rfft`` for n samples of one period of ``length``."""
    return 2 * np.pi / length * np.fft.rfftfreq(n, d=1.0 / n)


def fourier_interpolate(u: np.ndarray, x0: float, length: float, x: np.ndarray) -> np.ndarray:
    """Evaluate the trigonometric interpolant of periodic samples u[..., n] (grid x0 + j L / n) at x."""
    n = u.shape[-1]
    c = np.fft.rfft(u, axis=-1) / n
    k = 2 * np.pi / length * np.arange(c.shape[-1])
    w = np.where((np.arange(c.shape[-1]) == 0) | ((n % 2 == 0) & (np.arange(c.shape[-1]) == n // 2)), 1.0, 2.0)
    phase = np.exp(1j * np.outer(x - x0, k))  # (m, n//2+1)
    return np.real((c * w) @ phase.T)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--dt", type=float, default=1e-4)
    ap.add_argument("--nu", type=float, default=0.01 / np.pi)
    args = ap.parse_args()
    times = np.array([0.25, 0.5, 1.0])
    sols = []
    for n in (args.n // 2, args.n):
        x = -1 + 2 * np.arange(n) / n
        sols.append(fourier_interpolate(solve_periodic(-np.sin(np.pi * x), 2.0, args.nu, args.dt, times), -1, 2.0,
                                        np.linspace(-1, 1, 257)))
    print(f"max |u_N/2 - u_N| at t = {times.tolist()}: {np.abs(sols[0] - sols[1]).max():.3e}")


if __name__ == "__main__":
    main()
