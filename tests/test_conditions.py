"""Each condition's residual vanishes for a field that satisfies it, and not for one that does not."""

import math

import numpy as np
import pytest
import torch

import pinnfreq as pf
from helpers import exact_residuals, max_abs


def _poisson(domain, conditions, fields="u"):
    return pf.Problem(domain, fields, lambda u: pf.laplacian(u), conditions=conditions)


def test_dirichlet_neumann_robin_on_a_disk():
    disk = pf.Disk([0, 0], 1.0)
    r2 = lambda p: (p[:, :1] ** 2 + p[:, 1:2] ** 2)  # noqa: E731  u = r^2: u = 1, du/dn = 2 on r = 1
    prob = _poisson(disk, [pf.Dirichlet(lambda x, y: x**2 + y**2, on=disk.boundary),
                           pf.Neumann(2.0, on=disk.boundary), pf.Robin(3.0, 0.5, 4.0, on=disk.boundary)])
    for term in ("dirichlet", "neumann", "robin"):
        assert max_abs(exact_residuals(prob, term, r2)) < 1e-12
        assert max_abs(exact_residuals(prob, term, lambda p: 2 * r2(p))) > 0.5


def test_neumann_uses_outward_normals_on_each_box_face():
    box = pf.Rectangle([0, 0], [2, 1])
    prob = _poisson(box, [pf.Neumann(lambda x, y: torch.where(x > 1.999, 1.0, 0.0) - torch.where(x < 1e-9, 1.0, 0.0),
                                     on=box.boundary)])
    assert max_abs(exact_residuals(prob, "neumann", lambda p: p[:, :1])) < 1e-12  # u = x


def test_where_restricts_a_boundary():
    box = pf.Rectangle([0, 0], [1, 1])
    prob = _poisson(box, [pf.Dirichlet(0.0, on=box.boundary, where=lambda x, y: x < 1e-9)])
    pts, _ = prob.sample("dirichlet", 50, "sobol", 0)
    assert len(pts) == 50 and np.all(pts[:, 0] == 0)


def test_initial_value_and_velocity():
    space = pf.Interval(0, 1)
    prob = pf.Problem(space * pf.Time(0, 1), "u", lambda u: u.tt - u.xx,
                      [pf.Initial(lambda x: torch.sin(math.pi * x), derivative=lambda x: 2 * x)])
    exact = lambda p: (torch.sin(math.pi * p[:, 0]) * torch.cos(p[:, 1]) + 2 * p[:, 0] * p[:, 1])[:, None]  # noqa: E731
    res = exact_residuals(prob, "initial", exact)
    assert len(res) == 2 and max_abs(res) < 1e-12
    wrong = lambda p: (torch.sin(math.pi * p[:, 0]) + p[:, 1])[:, None]  # noqa: E731  right value, wrong velocity
    res = exact_residuals(prob, "initial", wrong)
    assert float(res[0].abs().max()) < 1e-12 and float(res[1].abs().max()) > 0.5


def test_periodic_values_and_derivatives():
    box = pf.Rectangle([0, 0], [1, 1])
    prob = _poisson(box, [pf.Periodic("x", derivatives=2)])
    periodic = lambda p: (torch.sin(2 * math.pi * p[:, 0]) * p[:, 1])[:, None]  # noqa: E731
    assert max_abs(exact_residuals(prob, "periodic", periodic)) < 1e-12
    res = exact_residuals(prob, "periodic", lambda p: (p[:, :1] ** 2))  # equal at no end, derivative differs
    assert float(res[0].abs().max()) > 0.5 and float(res[1].abs().max()) > 1


def test_data_and_equations_with_parameters():
    line = pf.Interval(0, 1)
    xs = np.linspace(0, 1, 7)
    prob = pf.Problem(line, "u", lambda u, x, k: u.xx + k * u, [pf.Data({"x": xs}, np.sin(2 * xs))],
                      parameters={"k": 1.0})
    exact = lambda p: torch.sin(2 * p)  # noqa: E731
    assert max_abs(exact_residuals(prob, "data", exact)) < 1e-12
    assert max_abs(exact_residuals(prob, "pde0", exact, params={"k": 4.0})) < 1e-12
    assert max_abs(exact_residuals(prob, "pde0", exact, params={"k": 1.0})) > 0.5


def test_multiple_fields_need_a_field_name():
    line = pf.Interval(0, 1)
    with pytest.raises(ValueError, match="say which with field="):
        pf.Problem(line, ("u", "v"), lambda u, v: u - v, [pf.Dirichlet(0.0, on=line.boundary)])
    prob = pf.Problem(line, ("u", "v"), lambda u, v: u - v, [pf.Dirichlet(1.0, on=line.boundary, field="v")])
    res = exact_residuals(prob, "dirichlet", lambda p: torch.cat([0 * p, 1 + 0 * p], 1))
    assert max_abs(res) < 1e-15


def _advection():
    domain = pf.Interval(0, 2 * math.pi) * pf.Time(0, 1)
    return pf.Problem(domain, "u", lambda u: u.t + u.x,
                      [pf.Initial(lambda x: torch.sin(x)), pf.Periodic("x")])


@pytest.mark.parametrize("world", [1, 2])
def test_training_batches_of_a_periodic_condition_hold_whole_pairs(world):
    # Regression: each rank once kept the first n of the 2n rows, the lower ends only, so the residual
    # compared u(x_lo, t_i) with u(x_lo, t_j) and trained u to be constant in t at one end.
    from pinnfreq.train.config import TrainConfig
    from pinnfreq.train.losses import sample_batches

    prob, config = _advection(), TrainConfig(boundary_points=32)
    shares = [sample_batches(prob, config, 0, torch.device("cpu"), torch.float64, r, world)["periodic"].points
              for r in range(world)]
    for p in shares:
        assert len(p) == 64 and torch.all(p[0::2, 0] == 0) and torch.all(p[1::2, 0] == 2 * math.pi)
        assert torch.equal(p[0::2, 1], p[1::2, 1])  # the same time at both ends
    whole = sample_batches(prob, TrainConfig(boundary_points=32 * world), 0, torch.device("cpu"), torch.float64)
    assert torch.equal(torch.cat(shares), whole["periodic"].points)  # the ranks' shares are one process's set


def test_a_network_periodic_by_construction_has_zero_periodic_loss():
    from pinnfreq.model import PINNModel
    from pinnfreq.train.config import TrainConfig
    from pinnfreq.train.losses import sample_batches, term_losses

    prob = _advection()
    torch.manual_seed(0)
    model = PINNModel(pf.MLP(2, 1, 16, 2, periodic=[0]), [0, 0], [2 * math.pi, 1]).double()
    batches = sample_batches(prob, TrainConfig(boundary_points=64), 0, torch.device("cpu"), torch.float64)
    losses = term_losses(prob, model, batches)
    assert float(losses["periodic"]) < 1e-24 and float(losses["initial"]) > 1e-3
    model = PINNModel(pf.MLP(2, 1, 16, 2), [0, 0], [2 * math.pi, 1]).double()  # not periodic: the loss sees it
    assert float(term_losses(prob, model, batches)["periodic"]) > 1e-6


@pytest.mark.parametrize("world", [1, 2])
def test_data_batches_keep_every_observation(world):
    from pinnfreq.train.config import TrainConfig
    from pinnfreq.train.losses import sample_batches

    xs = np.linspace(0, 1, 301)
    prob = pf.Problem(pf.Interval(0, 1), "u", lambda u: u.xx, [pf.Data({"x": xs}, xs)])
    config = TrainConfig(boundary_points=16)  # fewer than the observations: they are kept all the same
    shares = [sample_batches(prob, config, 0, torch.device("cpu"), torch.float64, r, world)["data"].points
              for r in range(world)]
    assert torch.equal(torch.cat(shares)[:, 0], torch.as_tensor(xs))


def test_a_user_mlp_periodic_by_its_embedding_takes_the_periodic_condition_out_of_the_loss():
    prob = _advection()
    sol = pf.solve(prob, pf.MLP(2, 1, 8, 1, periodic=[0]), steps=2, points=16, progress=False)
    assert "term/periodic" not in sol.history and "term/pde0" in sol.history
    sol = pf.solve(prob, pf.MLP(2, 1, 8, 1, periodic=[1]), steps=2, points=16, progress=False)
    assert "term/periodic" in sol.history  # periodic in t says nothing of x's ends
