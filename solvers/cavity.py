"""Steady lid-driven cavity flow on [0, 1]^2 (u = 1 on the lid y = 1, no slip elsewhere), Re = 100.

Second-order finite differences on a staggered (MAC) grid, marched to the steady state by Chorin's
projection method: u* = u^n + dt (-(u.grad)u + lap(u) / Re), lap(p) = div(u*) / dt (cell-centred,
Neumann, solved exactly by a DCT-II), u^{n+1} = u* - dt grad(p). When u^{n+1} = u^n the pair (u, p)
satisfies the discrete steady equations exactly, so the time step sets only the path, not the answer.

    python solvers/cavity.py [--out data/cavity_re100.h5]

writes u and v on a uniform 101 x 101 grid, with provenance: the
self-convergence error (solutions on 64^2, 128^2 and 256^2 cells; the estimate is Richardson's
|u_256 - u_128| / 3 for a second-order scheme) and the largest difference from Ghia, Ghia & Shin (1982),
Table I, u on the vertical centre line. The pressure is not stored: it is singular at the lid's two
corners (the velocity jumps there), so its grid values do not converge (relative change 13% from 128^2
to 256^2 cells, against 0.2% for u and v) and a relative error of p would measure the corners only.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.fft import dctn, idctn
from scipy.interpolate import RegularGridInterpolator

RE = 100.0

#: Ghia, Ghia & Shin (1982), Table I, Re = 100: (y, u) on the vertical line x = 0.5
GHIA_U = np.array([
    (1.0000, 1.00000), (0.9766, 0.84123), (0.9688, 0.78871), (0.9609, 0.73722), (0.9531, 0.68717),
    (0.8516, 0.23151), (0.7344, 0.00332), (0.6172, -0.13641), (0.5000, -0.20581), (0.4531, -0.21090),
    (0.2813, -0.15662), (0.1719, -0.10150), (0.1016, -0.06434), (0.0703, -0.04775), (0.0625, -0.04192),
    (0.0547, -0.03717), (0.0000, 0.00000)])


def solve(n: int, re: float = RE, tol: float = 1e-9, max_time: float = 200.0) -> dict[str, np.ndarray]:
    """Steady state on n x n cells. Returns u (n+1, n) on vertical faces, v (n, n+1) on horizontal
    faces, p (n, n) at cell centres, and the grid spacing h."""
    h = 1.0 / n
    dt = min(0.2 * h * h * re, 0.5 * h)  # explicit diffusion and advection limits, with margin
    u, v = np.zeros((n + 1, n)), np.zeros((n, n + 1))
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    eig = (2 * np.cos(np.pi * i / n) - 2 + 2 * np.cos(np.pi * j / n) - 2) / h**2  # Neumann Laplacian, DCT-II
    eig[0, 0] = 1.0
    steps, t = 0, 0.0
    while t < max_time:
        un, vn = momentum(u, v, h, re, dt)
        div = ((un[1:, :] - un[:-1, :]) + (vn[:, 1:] - vn[:, :-1])) / h
        p_hat = dctn(div / dt, type=2, norm="ortho") / eig
        p_hat[0, 0] = 0.0
        p = idctn(p_hat, type=2, norm="ortho")
        un[1:-1, :] -= dt * (p[1:, :] - p[:-1, :]) / h
        vn[:, 1:-1] -= dt * (p[:, 1:] - p[:, :-1]) / h
        change = max(np.abs(un - u).max(), np.abs(vn - v).max()) / dt
        u, v = un, vn
        steps, t = steps + 1, t + dt
        if change < tol:
            break
    else:
        raise RuntimeError(f"no steady state after t = {max_time} (last change {change:.2e})")
    return dict(u=u, v=v, p=p, h=h, steps=steps, t=t, residual=change)


def momentum(u: np.ndarray, v: np.ndarray, h: float, re: float, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """u*, v*: one explicit step of advection (central, conservative) and diffusion; walls by ghost values."""
    n = v.shape[0]
    # u with ghost rows below (no slip: -u) and above (lid: 2 - u), shape (n+1, n+2)
    ug = np.concatenate([-u[:, :1], u, 2.0 - u[:, -1:]], axis=1)
    # v with ghost columns left and right (no slip: -v), shape (n+2, n+1)
    vg = np.concatenate([-v[:1, :], v, -v[-1:, :]], axis=0)
    # u-momentum at interior vertical faces (1..n-1, 0..n-1)
    uc = 0.5 * (ug[1:, 1:-1] + ug[:-1, 1:-1])  # u at cell centres (n, n)
    duu = (uc[1:, :] ** 2 - uc[:-1, :] ** 2) / h
    u_corner = 0.5 * (ug[:, 1:] + ug[:, :-1])  # u at cell corners (n+1, n+1)
    v_corner = 0.5 * (vg[1:, :] + vg[:-1, :])  # v at cell corners (n+1, n+1)
    uv = u_corner * v_corner
    duv_y = (uv[1:-1, 1:] - uv[1:-1, :-1]) / h
    lap_u = (ug[2:, 1:-1] - 2 * ug[1:-1, 1:-1] + ug[:-2, 1:-1] + ug[1:-1, 2:] - 2 * ug[1:-1, 1:-1] + ug[1:-1, :-2]) / h**2
    un = u.copy()
    un[1:-1, :] += dt * (-duu - duv_y + lap_u / re)
    # v-momentum at interior horizontal faces (0..n-1, 1..n-1)
    vc = 0.5 * (vg[1:-1, 1:] + vg[1:-1, :-1])  # v at cell centres (n, n)
    dvv = (vc[:, 1:] ** 2 - vc[:, :-1] ** 2) / h
    duv_x = (uv[1:, 1:-1] - uv[:-1, 1:-1]) / h
    lap_v = (vg[2:, 1:-1] - 2 * vg[1:-1, 1:-1] + vg[:-2, 1:-1] + vg[1:-1, 2:] - 2 * vg[1:-1, 1:-1] + vg[1:-1, :-2]) / h**2
    vn = v.copy()
    vn[:, 1:-1] += dt * (-dvv - duv_x + lap_v / re)
    del n
    return un, vn


def sample(state: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """u, v, p on the grid x (m,) by y (k,) (``ij``), by linear interpolation from the staggered grid
    (walls included: u and v take their boundary values there); p has p(0.5, 0.5) = 0."""
    u, v, p, h = state["u"], state["v"], state["p"], state["h"]
    n = p.shape[0]
    faces, centres = np.linspace(0, 1, n + 1), (np.arange(n) + 0.5) * h
    yu = np.concatenate([[0.0], centres, [1.0]])
    u_full = np.concatenate([np.zeros((n + 1, 1)), u, np.ones((n + 1, 1))], axis=1)
    u_full[0, -1] = u_full[-1, -1] = 0.5  # the lid's corners: the mean of the two walls
    v_full = np.concatenate([np.zeros((1, n + 1)), v, np.zeros((1, n + 1))], axis=0)
    # p: extend to the walls by linear extrapolation, so the grid covers [0, 1]^2
    pc = np.concatenate([[0.0], centres, [1.0]])
    pe = np.pad(p, 1, mode="edge")
    pe[0, :], pe[-1, :] = 1.5 * pe[1, :] - 0.5 * pe[2, :], 1.5 * pe[-2, :] - 0.5 * pe[-3, :]
    pe[:, 0], pe[:, -1] = 1.5 * pe[:, 1] - 0.5 * pe[:, 2], 1.5 * pe[:, -2] - 0.5 * pe[:, -3]
    X, Y = np.meshgrid(x, y, indexing="ij")
    pts = np.stack([X.ravel(), Y.ravel()], axis=1)
    out = {
        "u": RegularGridInterpolator((faces, yu), u_full)(pts).reshape(X.shape),
        "v": RegularGridInterpolator((yu, faces), v_full)(pts).reshape(X.shape),
    }
    p_at = RegularGridInterpolator((pc, pc), pe)
    out["p"] = (p_at(pts) - p_at([[0.5, 0.5]])[0]).reshape(X.shape)
    return out


def ghia_difference(state: dict[str, np.ndarray]) -> float:
    """Largest |u - u_Ghia| on the vertical centre line."""
    u = sample(state, np.array([0.5]), GHIA_U[:, 0])["u"][0]
    return float(np.abs(u - GHIA_U[:, 1]).max())


def write_reference(out: Path, sizes: tuple[int, ...] = (64, 128, 256), n_points: int = 101) -> dict[str, float]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from pinnfreq import Reference

    x = np.linspace(0, 1, n_points)
    states, grids = {}, {}
    for n in sizes:
        start = time.perf_counter()
        states[n] = solve(n)
        grids[n] = sample(states[n], x, x)
        print(f"{n}^2 cells: steady after t = {states[n]['t']:.1f} ({states[n]['steps']} steps, "
              f"{time.perf_counter() - start:.0f} s), Ghia difference {ghia_difference(states[n]):.2e}", flush=True)
    fine, coarse = sizes[-1], sizes[-2]
    # away from the two lid corners, where the velocity is discontinuous and no grid converges pointwise
    far = (np.hypot(*np.meshgrid(x, x - 1, indexing="ij")) > 0.05) & (np.hypot(*np.meshgrid(x - 1, x - 1, indexing="ij")) > 0.05)
    diffs = {f: float(np.abs(grids[fine][f] - grids[coarse][f])[far].max()) for f in ("u", "v", "p")}
    rel = {f: float(np.linalg.norm(grids[fine][f] - grids[coarse][f]) / np.linalg.norm(grids[fine][f]) / 3)
           for f in ("u", "v", "p")}
    stored = ("u", "v")
    attrs = {
        "equation": "steady incompressible Navier-Stokes, Re = 100, lid-driven cavity [0,1]^2, u = 1 on y = 1",
        "generator": "solvers/cavity.py (MAC finite differences, Chorin projection to the steady state)",
        "resolution": f"{fine} x {fine} cells, sampled on {n_points} x {n_points} points (linear interpolation)",
        "self_convergence_error": max(rel[f] for f in stored),
        "self_convergence_note": f"max over u, v of |f_{fine} - f_{coarse}|_2 / |f_{fine}|_2 / 3 (Richardson, "
                                 "second order); relative L2 over the sampling grid",
        "self_convergence_max_abs_away_from_lid_corners": max(diffs[f] for f in stored),
        "pressure_note": f"p (gauge p(0.5, 0.5) = 0) not stored: singular at the lid corners, relative change "
                         f"{3 * rel['p']:.2f} between {coarse}^2 and {fine}^2 cells",
        "ghia_max_diff": ghia_difference(states[fine]),
        "ghia_note": "max |u - u_Ghia| on x = 0.5, Ghia, Ghia & Shin (1982) Table I, Re = 100",
    }
    Reference({f: grids[fine][f] for f in stored}, axes={"x": x, "y": x}, attrs=attrs).save(out)
    return {"self_convergence_error": attrs["self_convergence_error"], "ghia_max_diff": attrs["ghia_max_diff"],
            **{f"rel_change_{f}": v for f, v in rel.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "data" / "cavity_re100.h5")
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    args = ap.parse_args()
    stats = write_reference(args.out, tuple(args.sizes))
    print(f"wrote {args.out}: " + ", ".join(f"{k}={v:.3e}" for k, v in stats.items()))


if __name__ == "__main__":
    main()
