"""Inverse Burgers: recover the viscosity nu of u_t + u u_x = nu u_xx on [-1, 1] x [0, 1]
(u(x, 0) = -sin(pi x), u(+-1, t) = 0) from 200 observations of u with 1% noise.

The observations are 200 points of the Cole-Hopf reference (data/burgers1d.h5, true nu = 0.01/pi),
drawn with a fixed seed, plus Gaussian noise of 1% of their standard deviation. nu starts at 0.01
(three times the truth) and is learnt with the network.

    python problems/burgers_inverse.py --out results/       (prints nu=... and its error)
"""

import math
from pathlib import Path

import numpy as np
import torch

import pinnfreq as pf

TRUE_PARAMETERS = {"nu": 0.01 / math.pi}
N_OBSERVATIONS, NOISE = 200, 0.01

SETTINGS = dict(
    model=pf.MLP(2, 1, hidden_channels=20, n_layers=8),
    steps=3000, lbfgs_steps=1000, points={"burgers": 4000, "initial": 256, "dirichlet": 256},
    weights={"data": 10.0}, dtype="float64", eval_every=250,
)


def observations(seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    ref = reference()
    rng = np.random.default_rng(seed)
    pts, values = ref.points(("x", "t")), ref.values("u")
    pick = rng.choice(len(pts), N_OBSERVATIONS, replace=False)
    noisy = values[pick] + NOISE * values[pick].std() * rng.standard_normal(N_OBSERVATIONS)
    return {"x": pts[pick, 0], "t": pts[pick, 1]}, noisy


def problem() -> pf.Problem:
    space = pf.Interval(-1.0, 1.0, name="x")
    points, values = observations()

    def burgers(u, nu):
        return u.t + u * u.x - nu * u.xx

    return pf.Problem(space * pf.Time(0.0, 1.0), "u", burgers, name="burgers_inverse", parameters={"nu": 0.01},
                      conditions=[pf.Initial(lambda x: -torch.sin(math.pi * x)), pf.Dirichlet(0.0, on=space.boundary),
                                  pf.Data(points, values)])


def reference() -> pf.Reference:
    return pf.Reference.load(Path(__file__).resolve().parent.parent / "data" / "burgers1d.h5")


if __name__ == "__main__":
    raise SystemExit(pf.cli.run_script(__file__))
