"""Allen-Cahn: u_t = 1e-4 u_xx + 5 (u - u^3), x in [-1, 1] periodic, t in [0, 1], u(x, 0) = x^2 cos(pi x).

The stiff reaction-diffusion benchmark of Raissi et al. (2019) and jaxpi (best published rel. L2:
2.2e-5). Reference: data/allen_cahn.h5 (Fourier pseudo-spectral ETDRK4, solvers/periodic_1d.py).

    python problems/allen_cahn.py --out results/
"""

import math
from pathlib import Path

import torch

import pinnfreq as pf

SETTINGS = dict(
    model=pf.MLP(2, 1, hidden_channels=64, n_layers=4),
    steps=3000, lbfgs_steps=1000, points={"allen_cahn": 8000, "initial": 512, "periodic": 256},
    weights={"initial": 100.0}, eval_every=250,
)


def problem() -> pf.Problem:
    space = pf.Interval(-1.0, 1.0, name="x")

    def allen_cahn(u):
        return u.t - 1e-4 * u.xx - 5 * (u - u**3)

    return pf.Problem(space * pf.Time(0.0, 1.0), "u", allen_cahn, name="allen_cahn", conditions=[
        pf.Initial(lambda x: x**2 * torch.cos(math.pi * x)), pf.Periodic("x", derivatives=1)])


def reference() -> pf.Reference:
    return pf.Reference.load(Path(__file__).resolve().parent.parent / "data" / "allen_cahn.h5")


if __name__ == "__main__":
    raise SystemExit(pf.cli.run_script(__file__))
