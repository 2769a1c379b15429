"""Kovasznay flow: steady incompressible Navier-Stokes at Re = 20 on [-0.5, 1] x [-0.5, 1.5], three
fields (u, v, p); velocity given on the whole boundary, pressure on the outflow x = 1 (its gauge).

Kovasznay's exact solution (1948), DeepXDE's example. Reference: the exact solution on 151 x 201 points.

    python problems/kovasznay.py --out results/
"""

import math

import numpy as np
import torch

import pinnfreq as pf

RE = 20.0
LAMBDA = RE / 2 - math.sqrt(RE**2 / 4 + 4 * math.pi**2)

SETTINGS = dict(
    model=pf.MLP(2, 3, hidden_channels=50, n_layers=4),
    steps=3000, lbfgs_steps=1000, points={"momentum": 2601, "dirichlet": 400, "dirichlet1": 400, "dirichlet2": 200},
    eval_every=250,
)


def exact(x, y):
    u = 1 - torch.exp(LAMBDA * x) * torch.cos(2 * math.pi * y)
    v = LAMBDA / (2 * math.pi) * torch.exp(LAMBDA * x) * torch.sin(2 * math.pi * y)
    p = 0.5 * (1 - torch.exp(2 * LAMBDA * x))
    return u, v, p


def problem() -> pf.Problem:
    box = pf.Rectangle([-0.5, -0.5], [1.0, 1.5])

    def momentum(u, v, p):
        return (u * u.x + v * u.y + p.x - (u.xx + u.yy) / RE,
                u * v.x + v * v.y + p.y - (v.xx + v.yy) / RE,
                u.x + v.y)

    return pf.Problem(box, ("u", "v", "p"), momentum, name="kovasznay", conditions=[
        pf.Dirichlet(lambda x, y: exact(x, y)[0], on=box.boundary, field="u"),
        pf.Dirichlet(lambda x, y: exact(x, y)[1], on=box.boundary, field="v"),
        pf.Dirichlet(lambda x, y: exact(x, y)[2], on=box.boundary, field="p", where=lambda x: np.isclose(x, 1.0))])


def reference() -> pf.Reference:
    return pf.Reference.from_function(exact, {"x": np.linspace(-0.5, 1, 151), "y": np.linspace(-0.5, 1.5, 201)},
                                      fields=("u", "v", "p"))


if __name__ == "__main__":
    raise SystemExit(pf.cli.run_script(__file__))
