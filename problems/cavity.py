"""Lid-driven cavity: steady incompressible Navier-Stokes at Re = 100 on [0, 1]^2, u = 1 on the lid
y = 1, no slip elsewhere, three fields (u, v, p) and the pressure gauge p(0.5, 0.5) = 0.

Reference: data/cavity_re100.h5 (MAC finite differences on 256^2 cells, marched to the steady state;
solvers/cavity.py records its self-convergence and its agreement with Ghia, Ghia & Shin 1982). The
reference holds u and v only: p is singular at the lid's corners and its grid values do not converge.

    python problems/cavity.py --out results/
"""

from pathlib import Path

import numpy as np

import pinnfreq as pf

RE = 100.0

SETTINGS = dict(
    model=pf.MLP(2, 3, hidden_channels=50, n_layers=4),
    steps=3000, lbfgs_steps=1000, points={"momentum": 4096, "lid": 256, "walls": 768, "no_flow": 1024},
    weights={"lid": 10.0, "walls": 10.0, "no_flow": 10.0}, eval_every=250,
)


def problem() -> pf.Problem:
    square = pf.Rectangle([0.0, 0.0], [1.0, 1.0])

    def momentum(u, v, p):
        return (u * u.x + v * u.y + p.x - (u.xx + u.yy) / RE,
                u * v.x + v * v.y + p.y - (v.xx + v.yy) / RE,
                u.x + v.y)

    return pf.Problem(square, ("u", "v", "p"), momentum, name="cavity", conditions=[
        pf.Dirichlet(1.0, on=square.boundary, field="u", where=lambda y: np.isclose(y, 1.0), name="lid"),
        pf.Dirichlet(0.0, on=square.boundary, field="u", where=lambda y: ~np.isclose(y, 1.0), name="walls"),
        pf.Dirichlet(0.0, on=square.boundary, field="v", name="no_flow"),
        pf.Data({"x": [0.5], "y": [0.5]}, {"p": [0.0]}, name="gauge")])


def reference() -> pf.Reference:
    return pf.Reference.load(Path(__file__).resolve().parent.parent / "data" / "cavity_re100.h5")


if __name__ == "__main__":
    raise SystemExit(pf.cli.run_script(__file__))
