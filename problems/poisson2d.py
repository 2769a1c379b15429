"""Poisson 2-D with a chirp: -lap u = f on [-1, 1]^2, u = sin(mu x^2) + sin(mu y^2), mu = 50, u given
on the boundary.

The backbone paper's case (Feng et al. 2025): the local frequency grows to mu / pi ~ 16 cycles per unit
at the edges. Reference: the exact solution on 256 x 256 points.

    python problems/poisson2d.py --out results/
"""

import numpy as np
import torch

import pinnfreq as pf

MU = 50.0

SETTINGS = dict(
    model=pf.MultiScaleFourierNet(2, 1, hidden_channels=128, n_layers=4, sigmas=(1.0, 10.0)),
    steps=3000, lbfgs_steps=500, points={"poisson": 4096, "dirichlet": 1024}, weights={"dirichlet": 100.0},
    resample_every=100, eval_every=250,
)


def exact(x, y):
    return torch.sin(MU * x**2) + torch.sin(MU * y**2)


def source(x, y):
    def second(s):  # d^2/ds^2 sin(mu s^2)
        return 2 * MU * torch.cos(MU * s**2) - 4 * MU**2 * s**2 * torch.sin(MU * s**2)
    return -(second(x) + second(y))


def problem() -> pf.Problem:
    square = pf.Rectangle([-1.0, -1.0], [1.0, 1.0])

    def poisson(u, x, y):
        return -(u.xx + u.yy) - source(x, y)

    return pf.Problem(square, "u", poisson, name="poisson2d", conditions=[pf.Dirichlet(exact, on=square.boundary)])


def reference() -> pf.Reference:
    grid = np.linspace(-1, 1, 256)
    return pf.Reference.from_function(exact, {"x": grid, "y": grid})


if __name__ == "__main__":
    raise SystemExit(pf.cli.run_script(__file__))
