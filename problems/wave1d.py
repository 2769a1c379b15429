"""Wave 1-D: u_tt = 4 u_xx on [0, 1] x [0, 1], u = sin(pi x) cos(2 pi t) + 0.5 sin(5 pi x) cos(10 pi t),
u_t(x, 0) = 0, u = 0 at x = 0 and 1.

PINNacle's wave case (c = 2). Reference: the exact solution on 201 x 201 points.

    python problems/wave1d.py --out results/
"""

import math

import numpy as np
import torch

import pinnfreq as pf

SETTINGS = dict(
    model=pf.MLP(2, 1, hidden_channels=100, n_layers=5),
    steps=3000, lbfgs_steps=1000, points={"wave": 4096, "initial": 512, "dirichlet": 512},
    weights={"initial": 10.0}, eval_every=250,
)


def exact(x, t):
    return (torch.sin(math.pi * x) * torch.cos(2 * math.pi * t)
            + 0.5 * torch.sin(5 * math.pi * x) * torch.cos(10 * math.pi * t))


def problem() -> pf.Problem:
    space = pf.Interval(0.0, 1.0, name="x")

    def wave(u):
        return u.tt - 4 * u.xx

    return pf.Problem(space * pf.Time(0.0, 1.0), "u", wave, name="wave1d", conditions=[
        pf.Initial(lambda x: exact(x, torch.zeros_like(x)), derivative=0.0), pf.Dirichlet(0.0, on=space.boundary)])


def reference() -> pf.Reference:
    return pf.Reference.from_function(exact, {"x": np.linspace(0, 1, 201), "t": np.linspace(0, 1, 201)})


if __name__ == "__main__":
    raise SystemExit(pf.cli.run_script(__file__))
