"""Korteweg-de Vries: u_t + u u_x + 0.022^2 u_xxx = 0, x in [-1, 1] periodic, t in [0, 1],
u(x, 0) = cos(pi x).

The Zabusky-Kruskal soliton case used by Raissi et al. (2019) and jaxpi (PirateNet: rel. L2 4.3e-4).
Reference: data/kdv.h5 (Fourier pseudo-spectral ETDRK4, solvers/periodic_1d.py).

    python problems/kdv.py --out results/
"""

import math
from pathlib import Path

import torch

import pinnfreq as pf

SETTINGS = dict(
    model=pf.MLP(2, 1, hidden_channels=64, n_layers=4),
    steps=3000, lbfgs_steps=1000, points={"kdv": 4096, "initial": 512, "periodic": 256},
    weights={"initial": 100.0}, eval_every=250,
)


def problem() -> pf.Problem:
    space = pf.Interval(-1.0, 1.0, name="x")

    def kdv(u):
        return u.t + u * u.x + 0.022**2 * u.xxx

    return pf.Problem(space * pf.Time(0.0, 1.0), "u", kdv, name="kdv", conditions=[
        pf.Initial(lambda x: torch.cos(math.pi * x)), pf.Periodic("x", derivatives=2)])


def reference() -> pf.Reference:
    return pf.Reference.load(Path(__file__).resolve().parent.parent / "data" / "kdv.h5")


if __name__ == "__main__":
    raise SystemExit(pf.cli.run_script(__file__))
