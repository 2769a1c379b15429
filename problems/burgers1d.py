"""Viscous Burgers: u_t + u u_x = (0.01/pi) u_xx on [-1, 1] x [0, 1], u(x, 0) = -sin(pi x), u(+-1, t) = 0.

The shock-forming benchmark of Raissi, Perdikaris & Karniadakis (2019). Reference: data/burgers1d.h5
(Cole-Hopf, solvers/burgers_colehopf.py).

    python problems/burgers1d.py --out results/      (or: pinnfreq solve problems/burgers1d.py)
"""

import math
from pathlib import Path

import torch

import pinnfreq as pf

NU = 0.01 / math.pi

SETTINGS = dict(
    model=pf.MLP(2, 1, hidden_channels=20, n_layers=8),
    steps=2000, lbfgs_steps=2000, lr=1e-3,
    points={"burgers": 8000, "initial": 256, "dirichlet": 256},
    dtype="float64", eval_every=250,
)


def problem() -> pf.Problem:
    space = pf.Interval(-1.0, 1.0, name="x")
    domain = space * pf.Time(0.0, 1.0)

    def burgers(u):
        return u.t + u * u.x - NU * u.xx

    return pf.Problem(domain, "u", burgers, name="burgers1d", conditions=[
        pf.Initial(lambda x: -torch.sin(math.pi * x)),
        pf.Dirichlet(0.0, on=space.boundary),
    ])


def reference() -> pf.Reference:
    return pf.Reference.load(Path(__file__).resolve().parent.parent / "data" / "burgers1d.h5")


if __name__ == "__main__":
    raise SystemExit(pf.cli.run_script(__file__))
