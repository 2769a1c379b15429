"""Advection: u_t + 50 u_x = 0, x in [0, 2 pi] periodic, t in [0, 1], u(x, 0) = sin x; u = sin(x - 50 t).

The convection case of Krishnapriyan et al. (2021), where a plain PINN fails at beta = 50.
Reference: the exact solution on 256 x 101 points.

    python problems/advection.py --out results/
"""

import math

import numpy as np
import torch

import pinnfreq as pf

BETA = 50.0

SETTINGS = dict(
    model=pf.MLP(2, 1, hidden_channels=50, n_layers=4),
    steps=3000, lbfgs_steps=1000, points={"advection": 4096, "initial": 512, "periodic": 256},
    weights={"initial": 10.0}, eval_every=250,
)


def exact(x, t):
    return torch.sin(x - BETA * t)


def problem() -> pf.Problem:
    space = pf.Interval(0.0, 2 * math.pi, name="x")

    def advection(u):
        return u.t + BETA * u.x

    return pf.Problem(space * pf.Time(0.0, 1.0), "u", advection, name="advection", conditions=[
        pf.Initial(lambda x: torch.sin(x)), pf.Periodic("x", derivatives=0)])


def reference() -> pf.Reference:
    return pf.Reference.from_function(exact, {"x": np.linspace(0, 2 * math.pi, 256), "t": np.linspace(0, 1, 101)})


if __name__ == "__main__":
    raise SystemExit(pf.cli.run_script(__file__))
