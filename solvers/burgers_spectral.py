"""Viscous Burgers u_t + (u^2/2)_x = nu u_xx on a periodic interval: Fourier pseudo-spectral in space,
ETDRK4 in time (Kassam & Trefethen 2005), 2/3-rule dealiasing.

Usage: python solvers/burgers_spectral.py --n 4096 --dt 1e-4    (prints the solution's self-convergence)
"""

from __future__ import annotations

import argparse

import numpy as np

from solvers.etdrk4 import integrate, output_steps


def solve_periodic(u0: np.ndarray, length: float, nu: float, dt: float, times: np.ndarray) -> np.ndarray:
    """Integrate from ``u0`` (..., n) equispaced samples of one period (leading axes: a batch) and
    return u at ``times``, shape (len(times), ..., n). ``times`` must be multiples of ``dt``."""
    return solve_semilinear(u0, length, -nu * _wavenumbers(u0.shape[-1], length) ** 2, dt, times)


def solve_semilinear(u0: np.ndarray, length: float, linear: np.ndarray, dt: float, times: np.ndarray) -> np.ndarray:
    """u_t + (u^2/2)_x = L u on a periodic interval, L diagonal in Fourier space (``linear``, one value
    per rfft wavenumber): Burgers (L = -nu k^2), Kuramoto-Sivashinsky (L = k^2 - k^4)."""
    n = u0.shape[-1]
    k = _wavenumbers(n, length)
    dealias = np.arange(k.size) < (2 * n) // 6 + 1  # keep |k| below 2/3 of the Nyquist index

    def nonlinear(v_hat: np.ndarray) -> np.ndarray:
        u = np.fft.irfft(v_hat, n)
        return -0.5j * k * np.fft.rfft(u * u) * dealias

    spectra = integrate(np.fft.rfft(u0), linear, nonlinear, dt, output_steps(times, dt))
    return np.stack([np.fft.irfft(v, n) for v in spectra])


def _wavenumbers(n: int, length: float) -> np.ndarray:
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
