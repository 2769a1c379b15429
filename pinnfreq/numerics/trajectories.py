"""Trajectory datasets with random initial conditions, for training surrogates.

Each generator returns ``u`` (N, T, X[, Y], C) float32, ``axes`` ({"t", "x"[, "y"]}) and ``attrs``
(equation, parameters, frame spacing, solver settings, generator, seed). ``pinnfreq data generate``
writes them to HDF5 (``pinnfreq.surrogate.data.Trajectories``).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import kuramoto_sivashinsky, navier_stokes
from .etdrk4 import output_steps
from .spectral import solve_periodic
from .random_fields import gaussian_random_field, sine_superposition

Progress = Callable[[int], None]


def refine(u0: np.ndarray, dims: int) -> np.ndarray:
    """The trigonometric interpolant of periodic samples (..., n[, n]) on a grid twice as fine."""
    spec = np.fft.fftn(u0, axes=tuple(range(-dims, 0)))
    n = u0.shape[-1]
    fine = np.zeros(u0.shape[:-dims] + (2 * n,) * dims, dtype=complex)
    half = [(slice(0, n // 2), slice(0, n // 2)), (slice(n - n // 2, n), slice(2 * n - n // 2, 2 * n))]
    for blocks in np.ndindex(*(2,) * dims):
        src = tuple(half[b][0] for b in blocks)
        dst = tuple(half[b][1] for b in blocks)
        fine[(..., *dst)] = spec[(..., *src)]
    return np.fft.ifftn(fine, axes=tuple(range(-dims, 0))).real * 2**dims


def self_convergence(solve: Callable[[np.ndarray, float], np.ndarray], u0: np.ndarray, dims: int, dt: float,
                     stride: int) -> float:
    """max |u - u_fine| at the stored points for one initial condition, u_fine solved on a grid twice as
    fine with half the time step (``solve(u0, dt)`` returns frames (T, ..., n[, n]))."""
    coarse = solve(u0, dt)
    fine = solve(refine(u0, dims), dt / 2)
    pick = (Ellipsis, *(slice(None, None, 2 * stride),) * dims)
    return float(np.abs(coarse[(Ellipsis, *(slice(None, None, stride),) * dims)] - fine[pick]).max())


def check_options(generator: Callable[..., Any], **options: Any) -> dict[str, Any]:
    """Validate a generator's options (merged with its defaults) before anything is solved; returns
    the merged options. Raises ValueError naming the option."""
    import inspect

    merged = {k: p.default for k, p in inspect.signature(generator).parameters.items()
              if p.default is not inspect.Parameter.empty}
    merged.update(options)

    def need(ok: bool, msg: str) -> None:
        if not ok:
            raise ValueError(f"{generator.__name__}: {msg}")

    for key in ("resolution", "solve_resolution", "batch"):
        if key in merged:
            need(isinstance(merged[key], int) and merged[key] >= (1 if key == "batch" else 8),
                 f"{key} must be an integer >= {1 if key == 'batch' else 8}, got {merged[key]!r}")
    if "solve_resolution" in merged:
        need(merged["solve_resolution"] % merged["resolution"] == 0,
             f"solve_resolution={merged['solve_resolution']} must be a multiple of resolution={merged['resolution']}")
    for key in ("t_end", "dt", "nu", "length"):
        if key in merged:
            need(isinstance(merged[key], (int, float)) and merged[key] > 0, f"{key} must be positive, got {merged[key]!r}")
    need(isinstance(merged["n_times"], int) and merged["n_times"] >= 2, f"n_times must be >= 2, got {merged['n_times']!r}")
    if "ic" in merged:
        need(merged["ic"] in ("pdebench", "grf"), f"ic must be 'pdebench' or 'grf', got {merged['ic']!r}")
    times = merged.get("burn_in", 0.0) + np.linspace(0, merged["t_end"], merged["n_times"])
    try:
        output_steps(times, merged["dt"])
    except ValueError:
        raise ValueError(f"{generator.__name__}: the frames t_end / (n_times - 1) = "
                         f"{merged['t_end'] / (merged['n_times'] - 1):g} apart must be multiples of dt = {merged['dt']:g}") from None
    return merged


def _batched(n: int, batch: int, progress: Progress | None, solve_batch: Callable[[int, int], np.ndarray]) -> np.ndarray:
    parts = []
    for start in range(0, n, batch):
        parts.append(solve_batch(start, min(batch, n - start)))
        if progress:
            progress(len(parts[-1]))
    return np.concatenate(parts)


def burgers(n: int, seed: int = 0, resolution: int = 256, solve_resolution: int = 1024, nu: float = 0.01,
            t_end: float = 2.0, n_times: int = 41, dt: float = 2.5e-4, ic: str = "pdebench", batch: int = 32,
            progress: Progress | None = None) -> dict[str, Any]:
    """PDEBench's 1-D Burgers: u_t + (u^2/2)_x = (nu / pi) u_xx on [0, 1), periodic, t in [0, 2], its
    initial conditions (``ic="pdebench"``, :func:`pinnfreq.numerics.random_fields.sine_superposition`) or a Gaussian
    random field (``ic="grf"``). ``nu`` is PDEBench's parameter, the viscosity is nu / pi (its
    "nu = 0.01" is a viscosity of 0.00318). Defaults: the frames PDEBench trains on (1024 cells
    stored every 4th, every 5th of its 201 time levels: 256 points, 41 frames). Solved at
    ``solve_resolution`` by a pseudo-spectral ETDRK4 (PDEBench: second-order finite volumes); at
    nu = 0.01 the defaults agree with twice the resolution and half the step to 5e-6 (64 trajectories)."""
    check_options(burgers, resolution=resolution, solve_resolution=solve_resolution, nu=nu, t_end=t_end,
                  n_times=n_times, dt=dt, ic=ic, batch=batch)
    rng = np.random.default_rng(seed)
    xs = np.arange(solve_resolution) / solve_resolution
    times = np.linspace(0, t_end, n_times)
    stride = solve_resolution // resolution
    viscosity = nu / np.pi

    initial = []

    def one_batch(start: int, m: int) -> np.ndarray:
        if ic == "pdebench":
            u0 = sine_superposition(rng, m, xs, 1.0)
        else:
            u0 = gaussian_random_field(rng, m, (solve_resolution,), alpha=2.5, tau=7.0)
        initial.append(u0[0])
        return np.moveaxis(solve_periodic(u0, 1.0, viscosity, dt, times), 0, 1)[..., ::stride]

    u = _batched(n, batch, progress, one_batch)
    check = self_convergence(lambda v, step: solve_periodic(v, 1.0, viscosity, step, times), initial[0], 1, dt, stride)
    return dict(u=u[..., None].astype(np.float32), axes={"t": times, "x": xs[::stride]},
                attrs=dict(equation="burgers: u_t + (u^2/2)_x = (nu/pi) u_xx, periodic on [0, 1) (PDEBench's form)",
                           nu=nu, viscosity=viscosity, frame_dt=times[1] - times[0],
                           solver="Fourier pseudo-spectral ETDRK4 (pinnfreq/numerics/spectral.py)", solver_dt=dt,
                           solve_resolution=solve_resolution, ic=ic, seed=seed, self_convergence=check))


def kuramoto_sivashinsky_trajectories(n: int, seed: int = 0, resolution: int = 256, length: float = 64.0,
                                      t_end: float = 100.0, n_times: int = 201, burn_in: float = 50.0, dt: float = 0.05,
                                      batch: int = 32, progress: Progress | None = None) -> dict[str, Any]:
    """u_t + u u_x + u_xx + u_xxxx = 0 on [0, length), periodic; random smooth initial conditions
    (a Gaussian random field), the first ``burn_in`` time units (the transient) dropped."""
    check_options(kuramoto_sivashinsky_trajectories, resolution=resolution, length=length, t_end=t_end,
                  n_times=n_times, burn_in=burn_in, dt=dt, batch=batch)
    rng = np.random.default_rng(seed)
    x = length * np.arange(resolution) / resolution
    times = burn_in + np.linspace(0, t_end, n_times)

    initial = []

    def one_batch(start: int, m: int) -> np.ndarray:
        u0 = gaussian_random_field(rng, m, (resolution,), alpha=2.0, tau=1.0, sigma=1.0, length=length)
        u0 /= np.abs(u0).max(-1, keepdims=True)
        initial.append(u0[0])
        return np.moveaxis(kuramoto_sivashinsky.solve(u0, length, dt, times), 0, 1)

    u = _batched(n, batch, progress, one_batch)
    # (chaotic: differences grow with time, so this measures the first frames' accuracy only loosely)
    check = self_convergence(lambda v, step: kuramoto_sivashinsky.solve(v, length, step, times[:2]), initial[0], 1, dt, 1)
    return dict(u=u[..., None].astype(np.float32), axes={"t": times - burn_in, "x": x},
                attrs=dict(equation="kuramoto-sivashinsky: u_t + u u_x + u_xx + u_xxxx = 0, periodic", length=length,
                           frame_dt=times[1] - times[0], burn_in=burn_in, solver="Fourier pseudo-spectral ETDRK4",
                           solver_dt=dt, seed=seed, self_convergence_first_frames=check))


def navier_stokes_trajectories(n: int, seed: int = 0, resolution: int = 64, solve_resolution: int = 64,
                               nu: float = 1e-3, t_end: float = 50.0, n_times: int = 51, dt: float = 1e-2,
                               batch: int = 16, progress: Progress | None = None) -> dict[str, Any]:
    """The FNO paper's Navier-Stokes data: vorticity on the unit torus, nu = 1e-3, frames at t = 0, 1, ..., 50."""
    check_options(navier_stokes_trajectories, resolution=resolution, solve_resolution=solve_resolution, nu=nu,
                  t_end=t_end, n_times=n_times, dt=dt, batch=batch)
    rng = np.random.default_rng(seed)
    times = np.linspace(0, t_end, n_times)
    stride = solve_resolution // resolution

    initial = []

    def one_batch(start: int, m: int) -> np.ndarray:
        w0 = gaussian_random_field(rng, m, (solve_resolution, solve_resolution), alpha=2.5, tau=7.0)
        initial.append(w0[0])
        return np.moveaxis(navier_stokes.solve(w0, nu, dt, times), 0, 1)[..., ::stride, ::stride]

    u = _batched(n, batch, progress, one_batch)
    check = self_convergence(lambda v, step: navier_stokes.solve(v, nu, step, times[:3]), initial[0], 2, dt, stride)
    grid = np.arange(resolution) / resolution
    return dict(u=u[..., None].astype(np.float32), axes={"t": times, "x": grid, "y": grid},
                attrs=dict(equation="navier-stokes vorticity on the unit torus, f = 0.1 (sin 2pi(x+y) + cos 2pi(x+y))",
                           nu=nu, frame_dt=times[1] - times[0], solver="Fourier pseudo-spectral ETDRK4 (pinnfreq/numerics/navier_stokes.py)",
                           solver_dt=dt, solve_resolution=solve_resolution, seed=seed,
                           self_convergence_first_frames=check))


GENERATORS: dict[str, Callable[..., dict[str, Any]]] = {
    "burgers": burgers, "ks": kuramoto_sivashinsky_trajectories, "navier-stokes": navier_stokes_trajectories,
}
