"""2-D incompressible Navier-Stokes in vorticity form on the unit torus, as in the FNO paper:

    w_t + u . grad w = nu Lap w + f,   u = (psi_y, -psi_x),  -Lap psi = w,
    f = 0.1 (sin 2 pi (x + y) + cos 2 pi (x + y)),   w_0 ~ N(0, 7^3 (-Lap + 49 I)^-2.5)

Fourier pseudo-spectral with 2/3-rule dealiasing, ETDRK4 in time (the FNO data used Crank-Nicolson
with dt = 1e-4 at 256^2). Batched over leading axes.

Usage: python -m pinnfreq.numerics.navier_stokes       (prints the self-convergence in dt and in resolution)
"""

from __future__ import annotations

import numpy as np

from .etdrk4 import integrate, output_steps


def forcing(n: int) -> np.ndarray:
    x = np.arange(n) / n
    s = 2 * np.pi * (x[:, None] + x[None, :])
    return 0.1 * (np.sin(s) + np.cos(s))


def solve(w0: np.ndarray, nu: float, dt: float, times: np.ndarray) -> np.ndarray:
    """Vorticity at ``times``, (len(times), ..., n, n), from w0 (..., n, n) on the unit torus."""
    n = w0.shape[-1]
    kx = 2 * np.pi * np.fft.fftfreq(n, 1 / n)[:, None]
    ky = 2 * np.pi * np.fft.rfftfreq(n, 1 / n)[None, :]
    k2 = kx**2 + ky**2
    inv = np.where(k2 > 0, 1 / np.where(k2 > 0, k2, 1), 0.0)
    cut = n // 3
    dealias = (np.abs(np.fft.fftfreq(n, 1 / n))[:, None] <= cut) & (np.fft.rfftfreq(n, 1 / n)[None, :] <= cut)
    f_hat = np.fft.rfft2(forcing(n))

    def nonlinear(w_hat: np.ndarray) -> np.ndarray:
        psi = w_hat * inv
        u, v = np.fft.irfft2(1j * ky * psi, s=(n, n)), np.fft.irfft2(-1j * kx * psi, s=(n, n))
        wx, wy = np.fft.irfft2(1j * kx * w_hat, s=(n, n)), np.fft.irfft2(1j * ky * w_hat, s=(n, n))
        return f_hat - np.fft.rfft2(u * wx + v * wy) * dealias

    # the initial field is filtered like the nonlinear term, so that every stored frame is band-limited alike
    spectra = integrate(np.fft.rfft2(w0) * dealias, -nu * k2, nonlinear, dt, output_steps(times, dt))
    return np.stack([np.fft.irfft2(w, s=(n, n)) for w in spectra])


def main() -> None:
    from .random_fields import gaussian_random_field

    w0 = gaussian_random_field(np.random.default_rng(0), 1, (128, 128), alpha=2.5, tau=7.0)
    times = np.array([1.0, 5.0])
    a, b = solve(w0, 1e-3, 1e-2, times), solve(w0, 1e-3, 5e-3, times)
    print(f"max |w(dt=1e-2) - w(dt=5e-3)| at t = {times.tolist()}: {np.abs(a - b).max():.3e} "
          f"(max |w| {np.abs(b).max():.2f})")
    c = solve(w0[:, ::2, ::2], 1e-3, 5e-3, times)
    print(f"max |w(64^2) - w(128^2)[::2, ::2]|: {np.abs(c - b[..., ::2, ::2]).max():.3e}")


if __name__ == "__main__":
    main()
