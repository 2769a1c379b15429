"""Distance functions of 2-D shapes (pinnfreq.geometry.distance) and the Dirichlet values they impose
exactly on domains that are not boxes (pinnfreq.constraints)."""

import math

import numpy as np
import pytest
import torch

import pinnfreq as pf
from pinnfreq.constraints import HardConstraints
from pinnfreq.geometry.distance import blend, blendable, boundary_pieces, distance, piece_distances
from pinnfreq.model import PINNModel

from helpers import assert_engines_agree


def lshape():
    return pf.Rectangle([-1.0, -1.0], [1.0, 1.0]) - pf.Rectangle([0.0, 0.0], [1.0, 1.0])


def test_pieces_of_csg_shapes_bound_exactly_the_result():
    pieces = boundary_pieces(lshape())
    assert len(pieces.segments) == 6 and len(pieces.circles) == 0 and pieces.length == pytest.approx(8.0)
    # the removed square's far sides lie on the outer square's boundary but bound nothing: not pieces
    mids = pieces.segments.mean(1)
    assert not np.any(np.isclose(mids[:, 0], 1.0) & (mids[:, 1] > 0))
    holed = pf.Rectangle([-1.0, -1.0], [1.0, 1.0]) - pf.Disk([0.2, 0.0], 0.5)
    pieces = boundary_pieces(holed)
    assert len(pieces.segments) == 4 and np.allclose(pieces.circles, [[0.2, 0.0, 0.5]]) and blendable(pieces, holed)
    disk = pf.Disk([0.0, 0.0], 1.0)
    assert not blendable(boundary_pieces(disk), disk)  # its centre is inside: no blend of boundary values
    # two rectangles sharing stretches of their outer boundary: the union's perimeter, each stretch once
    union = pf.Rectangle([0.0, 0.0], [2.0, 1.0]) | pf.Rectangle([1.0, 0.0], [3.0, 1.0])
    assert boundary_pieces(union).length == pytest.approx(8.0)
    triangle = pf.Polygon([[0, 0], [2, 0], [0, 1]])
    assert boundary_pieces(triangle).length == pytest.approx(3 + math.sqrt(5))
    # where only an arc of a circle bounds the result, or in 3-D, there is no distance function here
    assert boundary_pieces(pf.Disk([0, 0], 1) | pf.Disk([1, 0], 1)) is None
    assert boundary_pieces(pf.Ball([0, 0, 0], 1.0)) is None


@pytest.mark.parametrize("shape", [lshape(), pf.Rectangle([-1.0, -1.0], [1.0, 1.0]) - pf.Disk([0.2, 0.0], 0.5),
                                   pf.Polygon([[0, 0], [2, 0], [1.5, 1], [0.5, 1.5]])], ids=["lshape", "holed", "polygon"])
def test_distance_vanishes_on_the_boundary_and_is_normalised_to_first_order(shape):
    pieces = boundary_pieces(shape)
    b, n = shape.sample_boundary(400, seed=1)
    assert shape.contains(b - 1e-4 * n).all() and not shape.contains(b + 1e-4 * n).any()  # outward normals
    on = torch.as_tensor(b)
    assert distance(pieces, on).abs().max() < 1e-12
    inside = torch.as_tensor(shape.sample(500, seed=2))
    assert (distance(pieces, inside) > 0).all()
    # away from the corners, a step h inwards is a distance h: |grad phi| = 1 on the boundary
    corners = np.concatenate([pieces.segments.reshape(-1, 2)])
    far = np.linalg.norm(b[:, None] - corners[None], axis=2).min(1) > 0.05
    h = 1e-4
    step = distance(pieces, torch.as_tensor(b[far] - h * n[far]))
    assert torch.allclose(step, torch.full_like(step, h), rtol=1e-2)
    # and its derivatives are finite on the boundary itself (the square roots are smoothed there)
    x = on.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(distance(pieces, x).sum(), x)
    assert torch.isfinite(g).all()


def test_the_blend_takes_the_boundary_values_and_reads_them_only_on_the_pieces_lines():
    shape = lshape()
    pieces = boundary_pieces(shape)
    g = lambda p: torch.exp(p[:, 0]) * torch.sin(2 * p[:, 1]) + p[:, 1] ** 3  # noqa: E731
    b, _ = shape.sample_boundary(300, seed=3)
    on = torch.as_tensor(b)
    assert torch.allclose(blend(pieces, g, on), g(on), atol=1e-12)
    seen = []
    inside = torch.as_tensor(shape.sample(50, seed=4))
    blend(pieces, lambda p: seen.append(p) or g(p), inside)
    lines = np.concatenate([q.numpy() for q in seen])
    # every point g saw lies on the line of some piece (x = -1, 0, 1 or y = -1, 0, 1 for the L-shape)
    assert (np.isclose(np.abs(lines), 1.0) | np.isclose(lines, 0.0)).any(1).all()
    assert piece_distances(pieces, inside).shape == (50, 6)


def poisson_lshape(value):
    shape = lshape()
    exact = lambda x, y: torch.sin(math.pi * x) * torch.sin(math.pi * y) + (x**2 - y**2) / 2  # noqa: E731

    def poisson(u, x, y):
        return -(u.xx + u.yy) - 2 * math.pi**2 * torch.sin(math.pi * x) * torch.sin(math.pi * y)

    return pf.Problem(shape, "u", poisson, conditions=[pf.Dirichlet(exact if value is None else value,
                                                                    on=shape.boundary)]), exact


def model_for(problem, constraints):
    torch.manual_seed(0)
    lower, upper = problem.domain.bounds
    net = pf.MLP(2, 1, hidden_channels=16, n_layers=2).double()
    return PINNModel(net, lower.tolist(), upper.tolist(), problem.parameters, constraints).double()


@pytest.mark.parametrize("value", [None, 0.5], ids=["function", "constant"])
def test_dirichlet_values_on_a_csg_domain_hold_exactly_and_both_engines_agree(value):
    problem, exact = poisson_lshape(value)
    hc = HardConstraints.from_problem(problem, distance=True)
    assert hc.terms == ["dirichlet"] and "distance" in hc.describe()
    model = model_for(problem, hc)
    b = torch.as_tensor(problem.domain.sample_boundary(300, seed=5)[0])
    with torch.no_grad():
        u = model(b)[:, 0]
    target = exact(*b.unbind(1)) if value is None else torch.full_like(u, value)
    assert torch.allclose(u, target, atol=1e-12)
    assert_engines_agree(problem, model, "poisson", rtol=1e-9)


def test_a_boundary_value_that_jumps_or_cannot_be_blended_stays_a_loss_term():
    lid = lambda y: (y > 0.999).double()  # noqa: E731
    assert HardConstraints.from_problem(poisson_lshape(lid)[0], distance=True) is None
    # finite on the boundary (x + y <= 1 there) but not on the line x = 1 beyond it, where the blend reads it too
    assert HardConstraints.from_problem(poisson_lshape(lambda x, y: torch.sqrt(1.2 - x - y))[0], distance=True) is None
    disk = pf.Disk([0.0, 0.0], 1.0)
    round_ = pf.Problem(disk, "u", lambda u: u.xx + u.yy, conditions=[pf.Dirichlet(lambda x: x, on=disk.boundary)])
    assert HardConstraints.from_problem(round_, distance=True) is None  # a function on a disk: singular at the centre
    constant = pf.Problem(disk, "u", lambda u: u.xx + u.yy + 1, conditions=[pf.Dirichlet(0.0, on=disk.boundary)])
    assert HardConstraints.from_problem(constant, distance=True).terms == ["dirichlet"]
    assert HardConstraints.from_problem(constant) is None  # only when asked: hard_constraints="distance"


def test_poisson_on_the_lshape_trains_with_exact_boundary_values_and_files_keep_them(tmp_path):
    problem, exact = poisson_lshape(None)
    grid = np.linspace(-1, 1, 41)
    ref = pf.Reference.from_function(exact, {"x": grid, "y": grid}, inside=lshape().contains)
    errors = {}
    for hard in ("distance", True):  # True: boxes only, so the L-shape's boundary stays a loss term
        sol = pf.solve(problem, pf.MLP(2, 1, hidden_channels=20, n_layers=3), steps=300, lbfgs_steps=100, points=800,
                       progress=False, seed=0, reference=ref, dtype="float64", hard_constraints=hard)
        assert ("term/dirichlet" in sol.history) is (hard is True)
        errors[hard] = sol.error()["u"]["rel_l2"]
    # at a few hundred steps the exact boundary values are well ahead (0.03 against 0.23)
    assert errors["distance"] < 0.05 and errors["distance"] < errors[True] / 3
    sol.save(tmp_path / "l.h5")
    back = pf.Solution.load(tmp_path / "l.h5", problem=problem)
    pts = problem.domain.sample(30, seed=6)
    assert np.array_equal(back.evaluate(pts), sol.evaluate(pts))
    # a constant boundary value needs no problem to rebuild: the file holds the pieces
    constant, _ = poisson_lshape(0.0)
    sol = pf.solve(constant, pf.MLP(2, 1, hidden_channels=8, n_layers=2), steps=2, progress=False,
                   hard_constraints="distance")
    sol.save(tmp_path / "c.h5")
    b = constant.domain.sample_boundary(20, seed=7)[0]
    assert np.abs(pf.Solution.load(tmp_path / "c.h5").evaluate(b)).max() < 1e-6
