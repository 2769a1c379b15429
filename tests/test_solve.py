"""solve() on problems with exact solutions; options that change training."""

import math
import time

import numpy as np
import pytest
import torch

import pinnfreq as pf

LINE = pf.Interval(-1, 1)
XS = np.linspace(-1, 1, 201)


def _poisson():
    return pf.Problem(LINE, "u", lambda u, x: -u.xx - math.pi**2 * torch.sin(math.pi * x),
                      [pf.Dirichlet(0.0, on=LINE.boundary)])


def test_poisson_1d_reaches_small_error_with_adam_then_lbfgs():
    ref = pf.Reference({"u": np.sin(np.pi * XS)}, axes={"x": XS})
    sol = pf.solve(_poisson(), pf.MLP(1, 1, 32, 3), steps=400, lbfgs_steps=100, lr=3e-3, points=128,
                   dtype="float64", reference=ref, eval_every=100, progress=False)
    err = sol.error()["u"]
    assert err["rel_l2"] < 1e-3, err
    assert sol.history["eval_step"][-1] == 500 and sol.history["rel_l2/u"][-1] == pytest.approx(err["rel_l2"])
    assert sol.history["rel_l2/u"][0] > sol.history["rel_l2/u"][-1]
    # u(0) = u(1) = 0 is imposed exactly by the output transform (hard constraints): no loss term
    assert len(sol.history["term/pde0"]) == len(sol.history["step"]) and "term/dirichlet" not in sol.history


def test_inverse_problem_recovers_a_parameter():
    xs = np.linspace(-1, 1, 25)
    k_true = 2.0
    prob = pf.Problem(LINE, "u", lambda u, x, k: -k * u.xx - math.pi**2 * torch.sin(math.pi * x),
                      [pf.Dirichlet(0.0, on=LINE.boundary), pf.Data({"x": xs}, np.sin(np.pi * xs) / k_true)],
                      parameters={"k": 1.0})
    sol = pf.solve(prob, pf.MLP(1, 1, 24, 2), steps=500, lbfgs_steps=150, lr=5e-3, points=96, dtype="float64",
                   progress=False)
    assert sol.parameters["k"] == pytest.approx(k_true, rel=1e-2)
    assert sol.history["param/k"][0] == pytest.approx(1.0, abs=0.05)


def test_heat_equation_with_initial_condition_in_float32():
    space = pf.Interval(0, 1)
    prob = pf.Problem(space * pf.Time(0, 0.5), "u", lambda u: u.t - 0.1 * u.xx,
                      [pf.Initial(lambda x: torch.sin(math.pi * x)), pf.Dirichlet(0.0, on=space.boundary)])
    x, t = np.meshgrid(np.linspace(0, 1, 21), np.linspace(0, 0.5, 11), indexing="ij")
    ref = pf.Reference({"u": np.sin(np.pi * x) * np.exp(-0.1 * np.pi**2 * t)},
                       axes={"x": x[:, 0], "t": t[0]})
    sol = pf.solve(prob, pf.MLP(2, 1, 32, 3), steps=1000, lbfgs_steps=200, lr=3e-3, points=256, reference=ref,
                   progress=False)
    assert next(sol.model.parameters()).dtype == torch.float32
    assert sol.error()["u"]["rel_l2"] < 1e-2


def test_same_seed_same_result_and_seed_matters():
    run = lambda seed: pf.solve(_poisson(), pf.MLP(1, 1, 8, 2), steps=20, points=32, seed=seed, progress=False)  # noqa: E731
    a, b, c = run(1), run(1), run(2)
    assert a.history["loss"] == b.history["loss"] and a.history["loss"] != c.history["loss"]


def test_keep_init_trains_the_given_weights():
    net = pf.MLP(1, 1, 8, 2)
    before = net.out.weight.detach().clone()
    sol = pf.solve(_poisson(), net, steps=2, points=16, init="keep", progress=False)
    assert sol.model.network is net and not torch.equal(before, net.out.weight)


def test_time_budget_and_callback_stop():
    start = time.perf_counter()
    sol = pf.solve(_poisson(), pf.MLP(1, 1, 8, 2), steps=10**7, points=32, time_budget=1.0, progress=False)
    assert time.perf_counter() - start < 6
    assert any("time budget" in e for e in sol.history["events"])
    sol = pf.solve(_poisson(), pf.MLP(1, 1, 8, 2), steps=100, points=32, progress=False,
                   callbacks=[lambda info: info.step == 4])
    assert sol.history["step"] == [0, 1, 2, 3, 4]


def test_learning_rate_schedules_and_resampling():
    sol = pf.solve(_poisson(), pf.MLP(1, 1, 8, 2), steps=20, points=32, lr=1e-2, schedule="cosine", progress=False)
    lrs = sol.history["lr"]
    assert lrs[0] == pytest.approx(1e-2) and lrs[-1] < 1e-3 and all(a >= b for a, b in zip(lrs, lrs[1:]))
    seen = []
    pf.solve(_poisson(), pf.MLP(1, 1, 8, 2), steps=6, points=8, resample_every=3, progress=False,
             callbacks=[lambda info: seen.append(info.trainer.batches["pde0"].points.clone())])
    assert torch.equal(seen[0], seen[2]) and not torch.equal(seen[2], seen[3])


def test_cosine_schedule_decays_over_adams_share_of_a_time_budget():
    from pinnfreq.train.config import TrainConfig

    cfg = TrainConfig(steps=10**8, lbfgs_steps=10**8, lr=1e-3, schedule="cosine", time_budget=10.0, lbfgs_share=0.75)
    assert cfg.learning_rate(0, 0.0) == pytest.approx(1e-3)
    assert cfg.learning_rate(50, 1.25) == pytest.approx(0.5e-3)  # half of Adam's 2.5 s: half the rate
    assert cfg.learning_rate(99, 2.5) == pytest.approx(0.0, abs=1e-12)
    adam_only = TrainConfig(steps=10**8, lr=1e-3, schedule="cosine", time_budget=10.0, lbfgs_share=0.75)
    assert adam_only.learning_rate(50, 5.0) == pytest.approx(0.5e-3)  # no L-BFGS: Adam has the whole budget
    steps_first = TrainConfig(steps=10, lr=1e-3, schedule="cosine", time_budget=1e6)
    assert steps_first.learning_rate(5, 1.0) == pytest.approx(0.5e-3)


def test_gradnorm_weights_balance_terms():
    sol = pf.solve(_poisson(), pf.MLP(1, 1, 8, 2), steps=30, points=32, adaptive_weights="gradnorm",
                   adapt_every=10, weights={"dirichlet": 2.0}, progress=False, hard_constraints=False)
    w_pde, w_bc = sol.history["weight/pde0"], sol.history["weight/dirichlet"]
    assert w_pde[0] != 1.0 or w_bc[0] != 2.0
    assert all(math.isfinite(v) and v > 0 for v in w_pde + w_bc)


def test_two_dimensional_problem_on_a_disk_with_two_fields():
    disk = pf.Disk([0, 0], 1)
    prob = pf.Problem(disk, ("u", "v"), {"laplace": lambda u: pf.laplacian(u), "couple": lambda u, v: v - 2 * u},
                      [pf.Dirichlet(lambda x, y: x * y, on=disk.boundary, field="u")])
    # Adam alone (600 steps) left the coupling at 0.09 here; with L-BFGS errors are ~1e-3 for seeds 0-2
    sol = pf.solve(prob, pf.MLP(2, 2, 24, 2), steps=300, lbfgs_steps=200, lr=5e-3, points=256, boundary_points=128,
                   progress=False)
    g = np.linspace(-0.6, 0.6, 7)
    out = sol(x=g[:, None], y=g[None, :])
    assert set(out) == {"u", "v"} and out["u"].shape == (7, 7)
    assert np.abs(out["u"] - g[:, None] * g[None, :]).max() < 0.02  # u = xy is harmonic
    assert np.abs(out["v"] - 2 * out["u"]).max() < 0.02


def test_compiled_losses_train_like_eager_ones_and_failures_fall_back(monkeypatch):
    """compile=True: the same steps as eager execution (float64, to round-off), also across gradient-norm
    re-balancing (eager on those steps) and L-BFGS; a compiler that fails leaves training eager, with
    a warning and an event in the history."""
    line = pf.Interval(0, 1)
    prob = pf.Problem(line, "u", lambda u, x: u.xx + math.pi**2 * torch.sin(math.pi * x),
                      conditions=[pf.Dirichlet(0.0, on=line.boundary)])
    kw = dict(steps=12, lbfgs_steps=3, adaptive_weights="gradnorm", adapt_every=5, points=64, boundary_points=8,
              progress=False, dtype="float64")
    eager = pf.solve(prob, pf.MLP(1, 1, 16, 2), **kw).history["loss"]
    compiled = pf.solve(prob, pf.MLP(1, 1, 16, 2), compile=True, **kw)
    assert not [e for e in compiled.history["events"] if not e.startswith("chose ")]
    assert max(abs(a - b) / abs(a) for a, b in zip(eager, compiled.history["loss"])) < 1e-12 and len(eager) == 15

    def broken(fn, **_):
        def call(*args, **kwargs):
            raise RuntimeError("no C++ compiler")
        return call

    monkeypatch.setattr(torch, "compile", broken)
    with pytest.warns(RuntimeWarning, match="torch.compile failed .*no C\\+\\+ compiler.*without it"):
        fallback = pf.solve(prob, pf.MLP(1, 1, 16, 2), compile=True, **kw)
    assert fallback.history["loss"] == eager


def test_compile_is_skipped_with_a_reason_where_a_term_reads_fourth_derivatives(recwarn):
    """u.xxxx is taken by nested autograd (Taylor mode carries up to third order), which torch.compile
    cannot differentiate: no failed compilation and no warning, an event that says why."""
    line = pf.Interval(0, 1)
    prob = pf.Problem(line, "u", lambda u, x: u.xxxx - torch.cos(x), [pf.Dirichlet(0.0, on=line.boundary)])
    sol = pf.solve(prob, pf.MLP(1, 1, 8, 1), steps=4, points=16, boundary_points=4, compile=True, progress=False)
    assert [e for e in sol.history["events"] if "compile skipped: pde0 read(s)" in e]
    assert not [e for e in sol.history["events"] if "compile failed" in e]
    assert not [w for w in recwarn if "compile" in str(w.message)]


def test_a_stalled_lbfgs_hands_the_rest_of_the_time_budget_to_adam():
    line = pf.Interval(0, 1)
    prob = pf.Problem(line, "u", lambda u: u.xx, [pf.Dirichlet(0.0, on=line.boundary)])
    # u = 0 is exact and reachable: in float32 L-BFGS soon drives the loss to round-off and stalls there
    seen = []
    sol = pf.solve(prob, pf.MLP(1, 1, 8, 2), steps=20, lbfgs_steps=10**6, time_budget=4.0, points=32,
                   dtype="float32", progress=False, resample_every=5,
                   callbacks=[lambda info: seen.append((info.step, info.trainer.batches["pde0"].points.clone()))])
    handed = [e for e in sol.history["events"] if "Adam takes the rest of the time budget" in e]
    assert len(handed) == 1
    again = int(handed[0].split()[1].rstrip(":")) + 1
    steps, lrs = sol.history["step"], sol.history["lr"]
    after = [lr for s, lr in zip(steps, lrs) if s >= again]
    assert after and all(lr == pytest.approx(1e-3 * 0.9 ** ((20 + s - again) / 1000)) for s, lr in
                         zip([s for s in steps if s >= again], after))
    assert sol.history["time"][-1] > 3.0  # the budget was used, not left
    # L-BFGS keeps the last Adam step's points; Adam, back, resamples every 5 of its steps from there
    adam = [p for step, p in seen if step < 20]
    lbfgs = [p for step, p in seen if 20 <= step < again]
    back = [p for step, p in seen if step >= again]
    assert lbfgs and all(torch.equal(p, adam[-1]) for p in lbfgs)
    assert len(back) > 10 and not torch.equal(back[0], adam[-1])
    assert torch.equal(back[0], back[4]) and not torch.equal(back[4], back[5])


def test_lbfgs_share_splits_the_time_budget():
    line = pf.Interval(0, 1)
    prob = pf.Problem(line, "u", lambda u, x: u.xx + torch.sin(3 * x), [pf.Dirichlet(0.0, on=line.boundary)])
    seen = []
    sol = pf.solve(prob, pf.MLP(1, 1, 8, 2), steps=10**6, lbfgs_steps=10**6, time_budget=2.0, lbfgs_share=0.8,
                   points=32, progress=False, callbacks=[lambda info: seen.append((info.step, info.phase))])
    assert [s for s, _ in seen] == sol.history["step"] and {p for _, p in seen} >= {"adam", "lbfgs"}
    assert [p for _, p in seen] == sol.history["phase"]
    starts = [e for e in sol.history["events"] if "L-BFGS starts" in e]
    assert len(starts) == 1 and sol.history["time"][-1] > 1.5
    adam = int(starts[0].split()[1].rstrip(":"))  # Adam's steps: the history counts steps taken, 0, 1, 2, ...
    assert sol.history["step"] == list(range(len(sol.history["loss"]))) and 0 < adam < len(sol.history["loss"])
    # Adam stops once 20% of the budget is spent: its last step ends near 0.4 s (the clock is read again
    # after the step's bookkeeping, so it may end just before), and L-BFGS's first ends after it
    assert 0.3 <= sol.history["time"][adam - 1] < 0.9 and sol.history["time"][adam] > 0.4
    with pytest.raises(ValueError, match=r"lbfgs_share must be a fraction of the time budget in \(0, 1\), got 1"):
        pf.solve(prob, pf.MLP(1, 1, 8, 2), time_budget=2.0, lbfgs_share=1, progress=False)
