"""Hard constraints (pinnfreq.constraints): exact values where imposed, derivatives right in both engines."""

import math

import numpy as np
import pytest
import torch

import pinnfreq as pf
from pinnfreq.constraints import HardConstraints
from pinnfreq.model import PINNModel

from helpers import assert_engines_agree


def wave_problem(u0=lambda x: torch.sin(math.pi * x), c=0.0):
    space = pf.Interval(0.0, 1.0, name="x")

    def wave(u):
        return u.tt - 4 * u.xx

    return pf.Problem(space * pf.Time(0.0, 2.0), "u", wave, name="wave", conditions=[
        pf.Initial(u0, derivative=lambda x: x * (1 - x)), pf.Dirichlet(c, on=space.boundary)])


def model_for(problem, constraints):
    torch.manual_seed(0)
    d, f = len(problem.coordinates), len(problem.fields)
    lower, upper = problem.domain.bounds
    net = pf.MLP(d, f, hidden_channels=16, n_layers=2).double()
    return PINNModel(net, lower.tolist(), upper.tolist(), problem.parameters, constraints).double()


def test_initial_and_dirichlet_values_hold_exactly():
    problem = wave_problem()
    hc = HardConstraints.from_problem(problem)
    assert sorted(hc.terms) == ["dirichlet", "initial"]
    model = model_for(problem, hc)
    x = torch.rand(50, 1, dtype=torch.float64)
    start = torch.cat([x, torch.zeros_like(x)], 1).requires_grad_(True)
    u = model(start)[:, 0]
    assert torch.allclose(u, torch.sin(math.pi * x[:, 0]), atol=1e-14)
    (du,) = torch.autograd.grad(u.sum(), start)
    assert torch.allclose(du[:, 1], x[:, 0] * (1 - x[:, 0]), atol=1e-12)  # u_t(x, 0) = x (1 - x)
    t = 2 * torch.rand(50, 1, dtype=torch.float64)
    for face in (0.0, 1.0):
        side = torch.cat([torch.full_like(t, face), t], 1)
        assert model(side).abs().max() < 1e-14


def test_taylor_jet_of_constrained_model_equals_autograd():
    problem = wave_problem()
    model = model_for(problem, HardConstraints.from_problem(problem))
    pts = torch.rand(40, 2, dtype=torch.float64) * torch.tensor([1.0, 2.0], dtype=torch.float64)
    pairs = [(0, 0), (1, 1), (0, 1)]
    cache: dict = {}
    for _ in range(2):  # the second call reads the cached jets of A and B
        jet = model.forward_jet(pts, pairs, cache)
    x = pts.clone().requires_grad_(True)
    u = model(x)[:, 0]
    (g,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    assert torch.allclose(jet.v[:, 0], u, atol=1e-12)
    assert torch.allclose(jet.g[..., 0].T, g, atol=1e-10)
    for p, (i, j) in enumerate(pairs):
        (h,) = torch.autograd.grad(g[:, i].sum(), x, retain_graph=True)
        assert torch.allclose(jet.h[p, :, 0], h[:, j], atol=1e-9)
    assert "hard_constraints" in cache


def test_losses_of_both_engines_agree_and_exact_terms_leave_the_loss():
    problem = wave_problem()
    model = model_for(problem, HardConstraints.from_problem(problem))
    assert_engines_agree(problem, model, "wave", rtol=1e-10)
    sol = pf.solve(problem, pf.MLP(2, 1, hidden_channels=8, n_layers=2), steps=3, progress=False, dtype="float64")
    assert "term/wave" in sol.history and "term/initial" not in sol.history and "term/dirichlet" not in sol.history


def test_incompatible_dirichlet_value_stays_a_loss_term():
    # u0 = 1 on the faces but the walls hold 0: only the initial condition can be exact
    hc = HardConstraints.from_problem(wave_problem(u0=lambda x: torch.ones_like(x)))
    assert hc.terms == ["initial"]


def test_what_is_not_imposed():
    square = pf.Rectangle([0.0, 0.0], [1.0, 1.0])
    lap = lambda u: u.xx + u.yy  # noqa: E731
    lid = pf.Problem(square, "u", lap, conditions=[  # a lid's value as one function: it jumps at the corners
        pf.Dirichlet(lambda y: (y > 0.999).double(), on=square.boundary)])
    where = pf.Problem(square, "u", lap, conditions=[pf.Dirichlet(1.0, on=square.boundary, where=lambda y: y > 0.99)])
    ball = pf.Ball([0.0, 0.0, 0.0], 1.0)  # no distance function for a 3-D shape that is not a box
    round_ = pf.Problem(ball, "u", lambda u: u.xx + u.yy + u.zz, conditions=[pf.Dirichlet(0.0, on=ball.boundary)])
    disk = pf.Disk([0.0, 0.0], 1.0)  # a shape that is not a box: only with hard_constraints="distance"
    on_disk = pf.Problem(disk, "u", lap, conditions=[pf.Dirichlet(0.0, on=disk.boundary)])
    for problem in (lid, where, round_, on_disk):
        assert HardConstraints.from_problem(problem) is None
    sol = pf.solve(lid, pf.MLP(2, 1, hidden_channels=8, n_layers=2), steps=2, progress=False)
    assert "term/dirichlet" in sol.history
    # a function-valued boundary value beside an initial value on the same field: only the initial one is exact
    space = pf.Interval(0.0, 1.0, name="x")
    heat = pf.Problem(space * pf.Time(0.0, 1.0), "u", lambda u: u.t - u.xx, conditions=[
        pf.Initial(lambda x: torch.sin(math.pi * x)), pf.Dirichlet(lambda t: 0 * t, on=space.boundary)])
    assert HardConstraints.from_problem(heat).terms == ["initial"]


def box_problem(g, lower=(-1.0, 0.0, 2.0), upper=(1.0, 3.0, 2.5)):
    box = pf.Box(list(lower), list(upper), names=("x", "y", "z")) if len(lower) == 3 else \
        pf.Rectangle(list(lower), list(upper))
    lap = (lambda u: u.xx + u.yy + u.zz) if len(lower) == 3 else (lambda u: u.xx + u.yy)
    return pf.Problem(box, "u", lap, conditions=[pf.Dirichlet(g, on=box.boundary)])


def test_function_boundary_values_hold_exactly_through_the_transfinite_interpolant():
    g3 = lambda x, y, z: torch.sin(3 * x) * torch.cos(y * z) + x * y * z  # noqa: E731
    problem = box_problem(g3)
    hc = HardConstraints.from_problem(problem)
    assert hc.terms == ["dirichlet"]
    model = model_for(problem, hc)
    pts = torch.as_tensor(problem.condition("dirichlet").sample(problem, 300, "sobol", 0)[0])
    with torch.no_grad():
        u = model(pts)[:, 0]
    assert torch.allclose(u, g3(*pts.unbind(1)), atol=1e-12)  # every face, corners and edges included
    # the interpolant reproduces what it can: a function linear in each coordinate is its own interpolant, and
    # in 2-D a sum of functions of one coordinate each (the Poisson 2-D chirp's exact solution)
    bilinear = lambda x, y, z: 1 + x - 2 * y * z + x * y * z  # noqa: E731
    inner = torch.rand(100, 3, dtype=torch.float64) * torch.tensor([2.0, 3.0, 0.5]) + torch.tensor([-1.0, 0.0, 2.0])
    a, _ = HardConstraints.from_problem(box_problem(bilinear)).parts(inner)
    assert torch.allclose(a[:, 0], bilinear(*inner.unbind(1)), atol=1e-12)
    chirp = lambda x, y: torch.sin(50 * x**2) + torch.sin(50 * y**2)  # noqa: E731
    inner2 = torch.rand(100, 2, dtype=torch.float64) * 2 - 1
    a, _ = HardConstraints.from_problem(box_problem(chirp, (-1.0, -1.0), (1.0, 1.0))).parts(inner2)
    assert torch.allclose(a[:, 0], chirp(*inner2.unbind(1)), atol=1e-12)


def test_transfinite_jets_equal_autograd_and_the_file_needs_the_problem(tmp_path):
    g = lambda x, y: torch.exp(x) * torch.sin(2 * y) + y**3  # noqa: E731
    problem = box_problem(g, (0.0, -1.0), (2.0, 1.0))
    hc = HardConstraints.from_problem(problem)
    model = model_for(problem, hc)
    x = (torch.rand(40, 2, dtype=torch.float64) * torch.tensor([2.0, 2.0]) - torch.tensor([0.0, 1.0]))
    pairs = [(0, 0), (1, 1), (0, 1)]
    jet = model.forward_jet(x, pairs, {})
    xg = x.clone().requires_grad_(True)
    u = model(xg)[:, 0]
    (grad,) = torch.autograd.grad(u.sum(), xg, create_graph=True)
    assert torch.allclose(jet.g[..., 0].T, grad, atol=1e-10)
    for p, (i, j) in enumerate(pairs):
        (h,) = torch.autograd.grad(grad[:, i].sum(), xg, retain_graph=True)
        assert torch.allclose(jet.h[p, :, 0], h[:, j], atol=1e-9)
    sol = pf.solve(problem, pf.MLP(2, 1, hidden_channels=8, n_layers=2), steps=2, progress=False)
    assert "term/dirichlet" not in sol.history
    sol.save(tmp_path / "g.h5")
    back = pf.Solution.load(tmp_path / "g.h5", problem=problem)
    pts = np.random.default_rng(0).uniform([0, -1], [2, 1], (30, 2))
    assert np.array_equal(back.evaluate(pts), sol.evaluate(pts))
    with pytest.raises(ValueError, match="problem="):
        pf.Solution.load(tmp_path / "g.h5").evaluate(pts)


def test_hard_constraints_solve_helmholtz_and_switch_off():
    square = pf.Rectangle([-1.0, -1.0], [1.0, 1.0])
    exact = lambda x, y: torch.sin(math.pi * x) * torch.sin(math.pi * y)  # noqa: E731

    def pde(u, x, y):
        return u.xx + u.yy + 2 * math.pi**2 * exact(x, y)

    problem = pf.Problem(square, "u", pde, conditions=[pf.Dirichlet(0.0, on=square.boundary)])
    grid = np.linspace(-1, 1, 41)
    ref = pf.Reference.from_function(exact, {"x": grid, "y": grid})
    settings = dict(steps=300, lbfgs_steps=60, points=400, progress=False, seed=0)
    sol = pf.solve(problem, pf.MLP(2, 1, hidden_channels=20, n_layers=2), reference=ref, **settings)
    err = sol.error()["u"]["rel_l2"]
    assert err < 1e-2
    soft = pf.solve(problem, pf.MLP(2, 1, hidden_channels=20, n_layers=2), reference=ref, hard_constraints=False,
                    **settings)
    assert "term/dirichlet" in soft.history
    with pytest.raises(ValueError, match="hard_constraints"):
        pf.solve(problem, steps=1, hard_constraints="yes")


@pytest.mark.parametrize("derivative", [None, lambda x: x * (1 - x)])
def test_time_scale_keeps_the_values_exact_and_the_jets_right(derivative):
    space = pf.Interval(0.0, 1.0, name="x")
    problem = pf.Problem(space * pf.Time(0.0, 2.0), "u", lambda u: u.tt - 4 * u.xx, conditions=[
        pf.Initial(lambda x: torch.sin(math.pi * x), derivative=derivative), pf.Dirichlet(0.0, on=space.boundary)])
    model = model_for(problem, HardConstraints.from_problem(problem, time_scale=0.05))
    x = torch.rand(30, 1, dtype=torch.float64)
    start = torch.cat([x, torch.zeros_like(x)], 1).requires_grad_(True)
    u = model(start)[:, 0]
    assert torch.allclose(u, torch.sin(math.pi * x[:, 0]), atol=1e-14)
    if derivative is not None:  # the factor still vanishes to second order at t0: u_t(x, 0) = u1 exactly
        (du,) = torch.autograd.grad(u.sum(), start)
        assert torch.allclose(du[:, 1], x[:, 0] * (1 - x[:, 0]), atol=1e-12)
    # the factor in time: 1 at the end of the interval, near 1 beyond a few time scales (tau^k would be 0.1^k at
    # tau = 0.1), never falling
    hc = model.constraints
    tau = torch.tensor([0.0, 0.01, 0.1, 0.5, 1.0], dtype=torch.float64)
    pts = torch.stack([torch.full_like(tau, 0.5), 2 * tau], 1)  # x = 0.5: the Dirichlet factor is 1
    b = hc.parts(pts)[1][:, 0]
    assert b[0] == 0 and b[-1] == pytest.approx(1.0) and b[2] > 0.8 and bool((b.diff() >= 0).all())
    pts = torch.rand(40, 2, dtype=torch.float64) * torch.tensor([1.0, 2.0], dtype=torch.float64)
    pairs = [(0, 0), (1, 1), (0, 1)]
    jet = model.forward_jet(pts, pairs, {})
    p = pts.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(model(p)[:, 0].sum(), p, create_graph=True)
    assert torch.allclose(jet.g[..., 0].T, g, atol=1e-10)
    (h,) = torch.autograd.grad(g[:, 1].sum(), p)
    assert torch.allclose(jet.h[1, :, 0], h[:, 1], atol=1e-8)


def test_time_scale_tends_to_the_power_and_is_validated():
    problem = wave_problem()
    x = torch.rand(20, 2, dtype=torch.float64) * torch.tensor([1.0, 2.0], dtype=torch.float64)
    plain = HardConstraints.from_problem(problem).parts(x)[1]
    slow = HardConstraints.from_problem(problem, time_scale=1e3).parts(x)[1]
    assert torch.allclose(slow, plain, rtol=1e-5)
    for bad in (0.0, -1.0, float("nan"), "fast", True):
        with pytest.raises(ValueError, match="time_scale"):
            HardConstraints.from_problem(problem, time_scale=bad)


def test_solution_file_keeps_the_time_scale(tmp_path):
    space = pf.Interval(0.0, 2 * math.pi, name="x")
    problem = pf.Problem(space * pf.Time(0.0, 1.0), "u", lambda u: u.t + 50 * u.x, name="advection",
                         conditions=[pf.Initial(lambda x: torch.sin(x)), pf.Periodic("x")])
    sol = pf.solve(problem, pf.MLP(2, 1, hidden_channels=8, n_layers=2), steps=2, progress=False)
    assert sol.model.constraints.time_scale == pytest.approx(1 / 50, rel=0.05)  # sin(x - 50 t): 50 rad per unit time
    assert any("time scale 0.02" in e for e in sol.history["events"])
    sol.save(tmp_path / "a.h5")
    back = pf.Solution.load(tmp_path / "a.h5", problem=problem)
    pts = np.random.default_rng(0).uniform([0, 0], [2 * math.pi, 1], (30, 2))
    assert back.model.constraints.time_scale == sol.model.constraints.time_scale
    assert np.array_equal(back.evaluate(pts), sol.evaluate(pts))
