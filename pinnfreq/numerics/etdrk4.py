"""ETDRK4 (Cox & Matthews 2002; Kassam & Trefethen 2005) for semilinear problems v' = L v + N(v) with a
diagonal linear part L in Fourier space, batched over leading axes (1-D and 2-D grids alike)."""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np


def coefficients(linear: np.ndarray, dt: float, n_contour: int = 64) -> dict[str, np.ndarray]:
    """ETDRK4 coefficients for the diagonal operator ``linear`` (any shape, real or complex), by
    contour integrals, which avoid the cancellation of the naive formulas near zero."""
    e, e2 = np.exp(dt * linear), np.exp(dt * linear / 2)
    # for real L the upper half of the unit circle suffices (the functions are real on the real axis,
    # so the lower half contributes the conjugates); complex L needs the whole circle
    real = not np.iscomplexobj(linear)
    r = np.exp(1j * np.pi * (1 if real else 2) * (np.arange(1, n_contour + 1) - 0.5) / n_contour)
    lr = dt * linear[..., None] + r
    part = np.real if real else (lambda z: z)
    q = dt * part(np.mean((np.exp(lr / 2) - 1) / lr, axis=-1))
    f1 = dt * part(np.mean((-4 - lr + np.exp(lr) * (4 - 3 * lr + lr**2)) / lr**3, axis=-1))
    f2 = dt * part(np.mean((2 + lr + np.exp(lr) * (-2 + lr)) / lr**3, axis=-1))
    f3 = dt * part(np.mean((-4 - 3 * lr - lr**2 + np.exp(lr) * (4 - lr)) / lr**3, axis=-1))
    return dict(e=e, e2=e2, q=q, f1=f1, f2=f2, f3=f3)


def integrate(v: np.ndarray, linear: np.ndarray, nonlinear: Callable[[np.ndarray], np.ndarray], dt: float,
              steps: np.ndarray) -> Iterator[np.ndarray]:
    """Yield the spectrum after each count in ``steps`` (non-decreasing step numbers from 0)."""
    c = coefficients(linear, dt)
    done = 0
    for target in np.asarray(steps, dtype=int):
        if target < done:
            raise ValueError("output steps must be non-decreasing")
        while done < target:
            nv = nonlinear(v)
            a = c["e2"] * v + c["q"] * nv
            na = nonlinear(a)
            b = c["e2"] * v + c["q"] * na
            nb = nonlinear(b)
            cc = c["e2"] * a + c["q"] * (2 * nb - nv)
            nc = nonlinear(cc)
            v = c["e"] * v + c["f1"] * nv + 2 * c["f2"] * (na + nb) + c["f3"] * nc
            done += 1
        yield v


def output_steps(times: np.ndarray, dt: float) -> np.ndarray:
    """Step counts of the output ``times``, which must be increasing multiples of ``dt``."""
    times = np.asarray(times, dtype=float)
    steps = np.rint(times / dt).astype(int)
    if np.any(np.abs(steps * dt - times) > 1e-9 * max(1.0, float(np.max(times)))) or np.any(np.diff(steps) < 0) \
            or np.any(steps < 0):
        raise ValueError("times must be increasing multiples of dt, from 0 on")
    return steps
