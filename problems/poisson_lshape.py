"""Poisson on an L-shaped domain built by CSG: -lap u = f on [-1, 1]^2 minus [0, 1]^2,
u = sin(pi x) sin(pi y) + (x^2 - y^2) / 2 (so f = 2 pi^2 sin(pi x) sin(pi y)), u given on the boundary.

The smooth exact solution isolates what the geometry does (sampling, the re-entrant corner's
boundary). Reference: the exact solution at the 201 x 201 grid points inside the domain.

    python problems/poisson_lshape.py --out results/
"""

import math

import numpy as np
import torch

import pinnfreq as pf

SETTINGS = dict(
    model=pf.MLP(2, 1, hidden_channels=50, n_layers=4),
    steps=3000, lbfgs_steps=1000, points={"poisson": 2048, "dirichlet": 512}, eval_every=250,
)


def exact(x, y):
    return torch.sin(math.pi * x) * torch.sin(math.pi * y) + (x**2 - y**2) / 2


def domain() -> pf.Rectangle:
    return pf.Rectangle([-1.0, -1.0], [1.0, 1.0]) - pf.Rectangle([0.0, 0.0], [1.0, 1.0])


def problem() -> pf.Problem:
    shape = domain()

    def poisson(u, x, y):
        return -(u.xx + u.yy) - 2 * math.pi**2 * torch.sin(math.pi * x) * torch.sin(math.pi * y)

    return pf.Problem(shape, "u", poisson, name="poisson_lshape", conditions=[pf.Dirichlet(exact, on=shape.boundary)])


def reference() -> pf.Reference:
    grid = np.linspace(-1, 1, 201)
    return pf.Reference.from_function(exact, {"x": grid, "y": grid}, inside=domain().contains)


if __name__ == "__main__":
    raise SystemExit(pf.cli.run_script(__file__))
