"""Multi-scale Poisson 1-D: -u'' = f on [0, 1], u(0) = u(1) = 0, u = sin(2 pi x) + 0.1 sin(50 pi x).

The 1-D case of Wang, Wang & Perdikaris (2021, multi-scale Fourier features): a plain PINN learns the
low mode and misses the high one. Reference: the exact solution on 2001 points.

    python problems/poisson1d_multiscale.py --out results/      (or: pinnfreq solve problems/poisson1d_multiscale.py)
"""

import math

import numpy as np
import torch

import pinnfreq as pf

SETTINGS = dict(
    model=pf.MultiScaleFourierNet(1, 1, hidden_channels=100, n_layers=3, sigmas=(1.0, 10.0)),
    steps=3000, lbfgs_steps=1000, points=1280, eval_every=250,
)


def exact(x):
    return torch.sin(2 * math.pi * x) + 0.1 * torch.sin(50 * math.pi * x)


def source(x):
    return 4 * math.pi**2 * torch.sin(2 * math.pi * x) + 0.1 * (50 * math.pi) ** 2 * torch.sin(50 * math.pi * x)


def problem() -> pf.Problem:
    space = pf.Interval(0.0, 1.0, name="x")

    def poisson(u, x):
        return -u.xx - source(x)

    return pf.Problem(space, "u", poisson, name="poisson1d_multiscale",
                      conditions=[pf.Dirichlet(0.0, on=space.boundary)])


def reference() -> pf.Reference:
    return pf.Reference.from_function(exact, {"x": np.linspace(0, 1, 2001)})


if __name__ == "__main__":
    raise SystemExit(pf.cli.run_script(__file__))
