"""References for the periodic 1-D problems: Allen-Cahn and KdV by Fourier pseudo-spectral ETDRK4
(``pinnfreq.numerics.spectral``), each with a self-convergence study in space and time.

- Allen-Cahn: u_t = 1e-4 u_xx + 5 (u - u^3), x in [-1, 1] periodic, t in [0, 1], u0 = x^2 cos(pi x);
- KdV: u_t + u u_x + 0.022^2 u_xxx = 0, x in [-1, 1] periodic, t in [0, 1], u0 = cos(pi x).

    python solvers/periodic_1d.py [--problems allen_cahn kdv]

writes data/<problem>.h5 on a 512 x 201 grid (x excludes the right end, the period's copy of the left
one) with ``self_convergence_error`` = max |u(N, dt) - u(2N, dt/2)| over the grid, where u(2N, dt/2)
is the stored solution.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pinnfreq import Reference  # noqa: E402
from pinnfreq.numerics.spectral import allen_cahn, fourier_interpolate, kdv  # noqa: E402

PROBLEMS = {
    # name: (equation, initial condition, solver (u0, dt, times), solve resolution, dt)
    "allen_cahn": ("u_t = 1e-4 u_xx + 5 (u - u^3), periodic on [-1, 1], u(x, 0) = x^2 cos(pi x)",
                   lambda x: x**2 * np.cos(np.pi * x),
                   lambda u0, dt, t: allen_cahn(u0, 2.0, 1e-4, 5.0, dt, t), 4096, 1e-4),
    "kdv": ("u_t + u u_x + 0.022^2 u_xxx = 0, periodic on [-1, 1], u(x, 0) = cos(pi x)",
            lambda x: np.cos(np.pi * x),
            lambda u0, dt, t: kdv(u0, 2.0, 0.022, dt, t), 1024, 2.5e-5),
}


def reference(name: str, nx: int = 512, nt: int = 201) -> Reference:
    equation, initial, solver, n, dt = PROBLEMS[name]
    x, t = -1 + 2 * np.arange(nx) / nx, np.linspace(0, 1, nt)
    solutions = []
    for m, step in ((n // 2, 2 * dt), (n, dt)):
        grid = -1 + 2 * np.arange(m) / m
        solutions.append(fourier_interpolate(solver(initial(grid), step, t), -1.0, 2.0, x).T)  # (nx, nt)
    coarse, fine = solutions
    attrs = {
        "equation": equation, "generator": "solvers/periodic_1d.py (Fourier pseudo-spectral ETDRK4, 2/3 dealiasing)",
        "resolution": f"solved with N = {n} modes, dt = {dt:g}; stored on {nx} x {nt} (x, t)",
        "self_convergence_error": float(np.abs(fine - coarse).max()),
        "self_convergence_note": f"max |u(N={n // 2}, dt={2 * dt:g}) - u(N={n}, dt={dt:g})| on the stored grid",
    }
    return Reference({"u": fine}, axes={"x": x, "t": t}, attrs=attrs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", nargs="+", choices=sorted(PROBLEMS), default=sorted(PROBLEMS))
    args = ap.parse_args()
    for name in args.problems:
        ref = reference(name)
        out = ROOT / "data" / f"{name}.h5"
        ref.save(out)
        print(f"wrote {out}: self_convergence_error={ref.attrs['self_convergence_error']:.3e}")


if __name__ == "__main__":
    main()
