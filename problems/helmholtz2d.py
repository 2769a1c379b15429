"""Helmholtz 2-D: u_xx + u_yy + u = q on [-1, 1]^2, u = 0 on the boundary, u = sin(pi x) sin(4 pi y).

The case of Wang, Teng & Perdikaris (2021, gradient pathologies) and PINNacle. Reference: the exact
solution on 201 x 201 points.

    python problems/helmholtz2d.py --out results/
"""

import math

import numpy as np
import torch

import pinnfreq as pf

SETTINGS = dict(
    model=pf.MLP(2, 1, hidden_channels=50, n_layers=4),
    steps=3000, lbfgs_steps=1000, points={"helmholtz": 4096, "dirichlet": 1024}, weights={"dirichlet": 10.0},
    eval_every=250,
)


def exact(x, y):
    return torch.sin(math.pi * x) * torch.sin(4 * math.pi * y)


def problem() -> pf.Problem:
    square = pf.Rectangle([-1.0, -1.0], [1.0, 1.0])

    def helmholtz(u, x, y):
        q = (1 - math.pi**2 - (4 * math.pi) ** 2) * exact(x, y)
        return u.xx + u.yy + u - q

    return pf.Problem(square, "u", helmholtz, name="helmholtz2d", conditions=[pf.Dirichlet(0.0, on=square.boundary)])


def reference() -> pf.Reference:
    grid = np.linspace(-1, 1, 201)
    return pf.Reference.from_function(exact, {"x": grid, "y": grid})


if __name__ == "__main__":
    raise SystemExit(pf.cli.run_script(__file__))
