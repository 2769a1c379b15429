"""Every user mistake gets an error naming the culprit, before training starts."""

import math

import h5py
import numpy as np
import pytest
import torch

import pinnfreq as pf

LINE = pf.Interval(-1, 1)


def _solve(problem, **kw):
    steps = []
    sol = pf.solve(problem, pf.MLP(len(problem.coordinates), len(problem.fields), 8, 1), steps=3, points=16,
                   boundary_points=4, progress=False, callbacks=[lambda info: steps.append(info.step)], **kw)
    return sol, steps


def test_unknown_name_in_a_residual():
    with pytest.raises(ValueError, match=r"equation 'heat'.*asks for 'w'.*fields: u; coordinates: x"):
        def heat(u, w):
            return u.xx - w
        pf.Problem(LINE, "u", heat)


def test_unknown_name_in_a_condition_value():
    with pytest.raises(ValueError, match=r"condition 'dirichlet' value.*asks for 'y'"):
        pf.Problem(LINE, "u", lambda u: u.xx, [pf.Dirichlet(lambda y: y, on=LINE.boundary)])


def test_names_that_clash():
    with pytest.raises(ValueError, match="'x' is used by a coordinate and a field"):
        pf.Problem(LINE, "x", lambda x: x)
    with pytest.raises(ValueError, match="'u' is used by a field and a parameter"):
        pf.Problem(LINE, "u", lambda u: u, parameters={"u": 1.0})


def test_condition_on_a_boundary_that_samples_no_points():
    prob = pf.Problem(LINE, "u", lambda u: u.xx, [pf.Dirichlet(0.0, on=LINE.boundary, where=lambda x: x > 5)])
    with pytest.raises(ValueError, match=r"condition 'dirichlet': no point of .* satisfies where="):
        _solve(prob)


def test_condition_on_a_region_outside_the_domain():
    with pytest.raises(ValueError, match="condition 'dirichlet'.*not part of the domain"):
        pf.Problem(LINE, "u", lambda u: u.xx, [pf.Dirichlet(0.0, on=pf.Interval(0, 1).boundary)])


def test_shapes_that_do_not_broadcast():
    def bad(u, x):
        return u.xx - x[:, None]  # (n,) - (n, 1) -> (n, n)

    with pytest.raises(ValueError, match=r"equation 'bad'.*shape \(16, 16\).*\(an \(n, 1\) tensor met an \(n,\) one\?\)"):
        _solve(pf.Problem(LINE, "u", bad))
    with pytest.raises(ValueError, match=r"condition 'initial' value.*shape \(\d+, 3\)"):
        _solve(pf.Problem(LINE * pf.Time(0, 1), "u", lambda u: u.t, [pf.Initial(lambda x: torch.ones(len(x), 3))]))


def test_non_finite_values_from_user_functions():
    prob = pf.Problem(LINE * pf.Time(0, 1), "u", lambda u: u.t, [pf.Initial(lambda x: torch.log(x - x))])
    with pytest.raises(ValueError, match="condition 'initial' gives non-finite values"):
        _solve(prob)
    with pytest.raises(ValueError, match=r"equation 'pde0' \(lambda at .*\) gives non-finite values"):
        _solve(pf.Problem(LINE, "u", lambda u, x: u.xx / (x - x)))
    with pytest.raises(ValueError, match="not finite"):
        pf.Problem(LINE, "u", lambda u: u.xx, [pf.Dirichlet(math.inf, on=LINE.boundary)])
    with pytest.raises(ValueError, match="observations of 'u' are not all finite"):
        pf.Problem(LINE, "u", lambda u: u.xx, [pf.Data({"x": [0.0, 0.5]}, [1.0, math.nan])])


def test_conditions_that_do_not_fit_the_domain():
    with pytest.raises(ValueError, match="Initial needs a time-dependent domain"):
        pf.Problem(LINE, "u", lambda u: u.xx, [pf.Initial(0.0)])
    with pytest.raises(ValueError, match="not a box along 'x'"):
        pf.Problem(pf.Disk([0, 0], 1), "u", lambda u: u.xx, [pf.Periodic("x")])
    with pytest.raises(ValueError, match="unknown coordinate 'z'"):
        pf.Problem(LINE, "u", lambda u: u.xx, [pf.Periodic("z")])
    with pytest.raises(ValueError, match="3 values of 'u' for 2 points"):
        pf.Problem(LINE, "u", lambda u: u.xx, [pf.Data({"x": [0.0, 1.0]}, [1.0, 2.0, 3.0])])


def test_model_that_does_not_fit_the_problem():
    prob = pf.Problem(LINE, "u", lambda u: u.xx)
    with pytest.raises(ValueError, match="does not take 1 input coordinates"):
        pf.solve(prob, pf.MLP(2, 1, 8, 1), steps=1, progress=False)
    with pytest.raises(ValueError, match=r"maps \(n, 1\) to \(3,\) per point; the problem has 1 field"):
        pf.solve(prob, pf.MLP(1, 3, 8, 1), steps=1, progress=False)


@pytest.mark.parametrize("setting, match", [
    (dict(sampler="grid"), "sampler must be one of"),
    (dict(steps=-1), "steps must be an integer >= 0"),
    (dict(lr=0.0), "lr must be positive"),
    (dict(dtype="float16"), "dtype must be one of"),
    (dict(resume=True), "resume=True needs checkpoint"),
    (dict(weights={"nope": 1.0}), r"weights given for unknown term\(s\) \['nope'\]"),
    (dict(points={"nope": 5}), r"points given for unknown term\(s\) \['nope'\]"),
    (dict(device="tpu9"), "device"),
    (dict(stepz=3), r"unknown setting\(s\) \['stepz'\]"),
])
def test_bad_settings(setting, match):
    with pytest.raises((ValueError, TypeError), match=match):
        pf.solve(pf.Problem(LINE, "u", lambda u: u.xx), pf.MLP(1, 1, 4, 1), progress=False, **setting)


def test_truncated_and_foreign_files(tmp_path):
    sol, _ = _solve(pf.Problem(LINE, "u", lambda u: u.xx))
    good = tmp_path / "s.h5"
    sol.save(good)
    data = good.read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut.h5: not a readable HDF5 file"):
        pf.Solution.load(tmp_path / "cut.h5")
    with h5py.File(tmp_path / "foreign.h5", "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(ValueError, match=r"foreign.h5: not a pinnfreq.solution file"):
        pf.Solution.load(tmp_path / "foreign.h5")
    with pytest.raises(ValueError, match="not a pinnfreq.reference file"):
        pf.Reference.load(good)
    with pytest.raises(FileNotFoundError):
        pf.Solution.load(tmp_path / "missing.h5")


# -- residuals that cannot train, and names that make derivatives ambiguous (issue 14) ---------------
def _heat(equation):
    space = pf.Interval(-1.0, 1.0, name="x")
    return pf.Problem(space * pf.Time(0.0, 1.0), "u", equation, conditions=[pf.Dirichlet(0.0, on=space.boundary)])


@pytest.mark.parametrize("equation, message", [
    (lambda u: 1.0, "does not depend on the network"),
    (lambda u, x: torch.sin(x), "does not depend on the network"),
    (lambda u: u.t.value.detach(), "does not depend on the network"),
    (lambda u: (u.t - u.xx, 0.0), r"\(output 1\) does not depend on the network"),
    (lambda u: np.zeros(3), "returned a NumPy value"),
    (lambda u: None, "returned None: a forgotten return"),
    (lambda u: np.sin(u.value), "failed before training: RuntimeError"),
    (lambda u: u.y, "failed before training: AttributeError: 'y' is not a derivative"),
])
def test_residuals_that_cannot_train_fail_before_training(equation, message):
    with pytest.raises(ValueError, match=r"equation 'pde0' \(lambda at .*test_bad_input.py:\d+\).*" + message):
        pf.solve(_heat(equation), pf.MLP(2, 1, 8, 2), steps=1, progress=False)


@pytest.mark.parametrize("names, message", [
    (("x", "xx"), "ambiguous"), (("x", "t", "xt"), "ambiguous"), (("a", "ab", "bc", "c"), "ambiguous"),
    (("value", "t"), "clash with a field's own attributes"), (("x", "shape"), "clash"),
])
def test_coordinate_names_that_break_derivative_spelling_are_rejected(names, message):
    box = pf.Box([0.0] * len(names), [1.0] * len(names), names=list(names))
    with pytest.raises(ValueError, match=message):
        pf.Problem(box, "u", lambda u: u)


def test_unambiguous_coordinate_names_are_accepted():
    for names in (("x1", "x2", "x3"), ("xa", "x", "t"), ("r", "theta")):
        problem = pf.Problem(pf.Box([0.0] * len(names), [1.0] * len(names), names=list(names)), "u", lambda u: u)
        assert problem.coordinates == names


def test_a_time_budget_always_allows_one_step_and_histories_have_their_keys():
    sol = pf.solve(_heat(lambda u: u.t - u.xx), pf.MLP(2, 1, 8, 2), steps=50, time_budget=1e-9, progress=False)
    assert sol.history["step"] == [0] and len(sol.history["loss"]) == 1 and "time budget" in sol.history["events"][-1]


def test_a_run_that_took_no_step_saves_and_reloads(tmp_path):
    from pinnfreq.model import PINNModel
    from pinnfreq.train.config import TrainConfig
    from pinnfreq.train.trainer import Trainer

    problem = _heat(lambda u: u.t - u.xx)
    model = PINNModel(pf.MLP(2, 1, 8, 2), [-1.0, 0.0], [1.0, 1.0])
    trainer = Trainer(problem, model, TrainConfig(steps=10, progress=False))
    trainer._stop = trainer.interrupted = True  # as a Ctrl-C before the first step ends
    with pytest.warns(RuntimeWarning, match="interrupted"):
        trainer.run()
    sol = pf.Solution(model, problem.coordinates, problem.fields, problem.time, trainer.history, {}, interrupted=True)
    sol.save(tmp_path / "zero.h5")
    back = pf.Solution.load(tmp_path / "zero.h5")
    assert back.history["step"] == [] and back.history["loss"] == [] and back.interrupted
