"""Multi-scale heat 1-D: u_t = u_xx / (500 pi)^2 on [0, 1] x [0, 1], u = exp(-t) sin(500 pi x).

Wang, Wang & Perdikaris (2021): 250 periods in x, a slow decay in t. Reference: the exact solution on
2501 x 101 points (10 per period).

    python problems/heat1d_multiscale.py --out results/
"""

import math

import numpy as np
import torch

import pinnfreq as pf

K = 500 * math.pi

SETTINGS = dict(
    model=pf.MultiScaleFourierNet(2, 1, hidden_channels=100, n_layers=3, sigmas=(1.0, 200.0)),
    steps=3000, lbfgs_steps=0, points={"heat": 4096, "initial": 1024, "dirichlet": 256}, resample_every=100,
    eval_every=250,
)


def exact(x, t):
    return torch.exp(-t) * torch.sin(K * x)


def problem() -> pf.Problem:
    space = pf.Interval(0.0, 1.0, name="x")

    def heat(u):
        return u.t - u.xx / K**2

    return pf.Problem(space * pf.Time(0.0, 1.0), "u", heat, name="heat1d_multiscale", conditions=[
        pf.Initial(lambda x: torch.sin(K * x)), pf.Dirichlet(0.0, on=space.boundary)])


def reference() -> pf.Reference:
    return pf.Reference.from_function(exact, {"x": np.linspace(0, 1, 2501), "t": np.linspace(0, 1, 101)})


if __name__ == "__main__":
    raise SystemExit(pf.cli.run_script(__file__))
