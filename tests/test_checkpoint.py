"""Resume gives the weights of an uninterrupted run; Ctrl-C leaves a checkpoint and a loadable solution;
non-finite losses restore the last good state."""

import math
import os
import signal

import pytest
import torch

import pinnfreq as pf
from pinnfreq.train.checkpoint import load_checkpoint

LINE = pf.Interval(-1, 1)


def _problem(state=None):
    def poisson(u, x):
        bad = math.nan if state and state["nan"] else 0.0
        return -u.xx - math.pi**2 * torch.sin(math.pi * x) + bad

    return pf.Problem(LINE, "u", poisson, [pf.Dirichlet(0.0, on=LINE.boundary)])


def _run(problem=None, **kw):
    kw.setdefault("steps", 30)
    kw.setdefault("lbfgs_steps", 10)
    return pf.solve(problem or _problem(), pf.MLP(1, 1, 12, 2), dtype="float64", seed=7, points=32,
                    boundary_points=8, resample_every=7, lr=1e-2, progress=False, **kw)


def _ctrl_c_at(step):
    def cb(info):
        if info.step == step:
            os.kill(os.getpid(), signal.SIGINT)
    return cb


def _same_weights(a, b):
    sa, sb = a.model.state_dict(), b.model.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("stop_at", [12, 33])  # during Adam (between resamplings), and during L-BFGS
def test_interrupted_and_resumed_run_ends_with_the_same_weights(tmp_path, stop_at):
    full = _run()
    ckpt = tmp_path / "run.pt"
    with pytest.warns(RuntimeWarning, match="interrupted"):
        part = _run(checkpoint=str(ckpt), callbacks=[_ctrl_c_at(stop_at)])
    assert part.interrupted and load_checkpoint(ckpt)["step"] == stop_at + 1
    assert not _same_weights(part, full)
    resumed = _run(checkpoint=str(ckpt), resume=True)
    assert _same_weights(resumed, full)
    assert resumed.history["loss"] == full.history["loss"]
    assert any("resumed" in e for e in resumed.history["events"])


def test_ctrl_c_leaves_a_checkpoint_and_a_loadable_solution(tmp_path):
    ckpt = tmp_path / "run.pt"
    with pytest.warns(RuntimeWarning, match="interrupted"):
        sol = _run(checkpoint=str(ckpt), steps=1000, lbfgs_steps=0, callbacks=[_ctrl_c_at(4)])
    assert sol.interrupted and len(sol.history["step"]) == 5
    state = load_checkpoint(ckpt)
    assert state["interrupted"] and state["step"] == 5
    sol.save(tmp_path / "s.h5")
    back = pf.Solution.load(tmp_path / "s.h5")
    assert back.interrupted
    x = torch.linspace(-1, 1, 9).numpy()
    assert (back(x=x) == sol(x=x)).all()


def test_checkpoints_are_written_every_n_steps(tmp_path):
    ckpt = tmp_path / "run.pt"
    seen = []

    def cb(info):
        if ckpt.exists():
            seen.append(load_checkpoint(ckpt)["step"])

    _run(checkpoint=str(ckpt), checkpoint_every=10, steps=25, lbfgs_steps=0, callbacks=[cb])
    assert sorted(set(seen)) == [10, 20]
    assert load_checkpoint(ckpt)["step"] == 25


def test_a_corrupt_checkpoint_is_refused(tmp_path):
    ckpt = tmp_path / "run.pt"
    ckpt.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable pinnfreq checkpoint"):
        _run(checkpoint=str(ckpt), resume=True)


def test_non_finite_loss_restores_the_last_good_state():
    def poison(info):
        if info.step == 30:
            with torch.no_grad():
                next(info.model.parameters()).fill_(math.nan)

    with pytest.warns(RuntimeWarning, match="non-finite loss"):
        sol = _run(steps=60, lbfgs_steps=0, callbacks=[poison])
    events = [e for e in sol.history["events"] if "non-finite" in e]
    assert len(events) == 1 and "restored the state of step 25" in events[0] and "learning rate halved" in events[0]
    assert all(torch.isfinite(p).all() for p in sol.model.parameters())
    assert all(math.isfinite(v) for v in sol.history["loss"])


def test_values_read_every_few_steps_still_catch_a_non_finite_loss():
    """With log_every=10 (what a GPU gets) the losses reach the host in batches: the one non-finite
    evaluation (the 37th) is caught at the next read, the last state read as good (step 30) comes back, the steps queued
    after it are dropped, and every recorded value is finite. Without the bad step, nothing is dropped."""
    calls = {"n": 0}

    def poisson(u, x):
        calls["n"] += 1
        bad = math.nan if calls["n"] == 37 else 0.0  # evaluation 37: the first is check_problem's
        return -u.xx - math.pi**2 * torch.sin(math.pi * x) + bad

    problem = pf.Problem(LINE, "u", poisson, [pf.Dirichlet(0.0, on=LINE.boundary)])
    with pytest.warns(RuntimeWarning, match="step 40: non-finite loss in poisson"):
        sol = _run(problem, steps=60, lbfgs_steps=0, log_every=10)
    events = [e for e in sol.history["events"] if "non-finite" in e]
    assert len(events) == 1 and "restored the state of step 30" in events[0]  # the first read after step 25
    assert all(math.isfinite(v) for v in sol.history["loss"])
    assert all(torch.isfinite(p).all() for p in sol.model.parameters())
    # the bad step (35, the 36th step) and the 4 queued after it (to the read after step 39) are not recorded
    assert sol.history["step"] == list(range(35)) + list(range(40, 60))
    clean = _run(steps=60, lbfgs_steps=0, log_every=10)
    assert clean.history["step"] == list(range(60)) and clean.history["loss"] == _run(steps=60, lbfgs_steps=0).history["loss"]


def test_persistent_non_finite_loss_stops_with_a_clear_error(tmp_path):
    state = {"nan": False}

    def switch(info):
        if info.step == 5:
            state["nan"] = True

    with pytest.warns(RuntimeWarning), pytest.raises(FloatingPointError, match="training diverged"):
        _run(_problem(state), steps=50, lbfgs_steps=0, callbacks=[switch])


def test_non_finite_solutions_are_never_written(tmp_path):
    sol = _run(steps=3, lbfgs_steps=0)
    with torch.no_grad():
        next(sol.model.parameters()).fill_(math.nan)
    with pytest.raises(ValueError, match="not finite"):
        sol.save(tmp_path / "s.h5")
    assert list(tmp_path.iterdir()) == []


# -- resume only into the same problem (issue 14) --------------------------------------------------------
def _on(line, equation):
    return pf.Problem(line, "u", equation, [pf.Dirichlet(0.0, on=line.boundary)])


@pytest.mark.parametrize("other, differs", [
    (lambda: _on(pf.Interval(-2, 2), lambda u: u.xx), "lower: checkpoint \\[-1.0\\], now \\[-2.0\\]"),
    (lambda: _on(pf.Interval(-1, 1, name="y"), lambda u: u.yy), "coordinates"),
    (lambda: pf.Problem(LINE, "v", lambda v: v.xx, [pf.Dirichlet(0.0, on=LINE.boundary)]), "fields"),
    (lambda: pf.Problem(LINE, "u", lambda u: u.xx, [pf.Neumann(0.0, on=LINE.boundary)]), "terms"),
    (lambda: pf.Problem(LINE, "u", lambda u, k: u.xx - k, [pf.Dirichlet(0.0, on=LINE.boundary)],
                        parameters={"k": 1.0}), "parameters"),
])
def test_resume_refuses_another_problem_and_says_what_differs(tmp_path, other, differs):
    ckpt = tmp_path / "c.pt"
    _run(steps=5, lbfgs_steps=0, checkpoint=str(ckpt))
    with pytest.raises(ValueError, match="belongs to another problem or network.*" + differs):
        _run(other(), steps=8, lbfgs_steps=0, checkpoint=str(ckpt), resume=True)


def test_resume_refuses_another_network(tmp_path):
    ckpt = tmp_path / "c.pt"
    _run(steps=5, lbfgs_steps=0, checkpoint=str(ckpt))
    with pytest.raises(ValueError, match="network: checkpoint .*'MLP'.*now .*'RFFMLP'"):
        pf.solve(_problem(), pf.RFFMLP(1, 1, 12, 2, n_base=8, n_scales=2), steps=8, checkpoint=str(ckpt), resume=True,
                 progress=False, points=32, boundary_points=8)


def test_resume_without_a_checkpoint_starts_afresh_and_says_so(tmp_path):
    with pytest.warns(RuntimeWarning, match="no checkpoint at .*: starting afresh"):
        sol = _run(steps=5, lbfgs_steps=0, checkpoint=str(tmp_path / "none.pt"), resume=True)
    assert sol.history["step"] == list(range(5)) and any("starting afresh" in e for e in sol.history["events"])


def test_lbfgs_on_new_points_every_few_iterations_resumes_exactly(tmp_path):
    seen = []
    kw = dict(lbfgs_resample_every=4, lbfgs_steps=12)
    full = _run(callbacks=[lambda info: seen.append((info.step, info.trainer.batches["poisson"].points.clone(),
                                                      info.trainer.optimizer))], **kw)
    lbfgs = [(s, p, opt) for s, p, opt in seen if s >= 30]
    # L-BFGS starts on the last Adam points, then takes new ones (and a fresh memory) at iterations 4 and 8
    for s, p, opt in lbfgs:
        block = (s - 30) // 4
        assert torch.equal(p, lbfgs[4 * block][1]) and opt is lbfgs[4 * block][2]
    assert torch.equal(lbfgs[0][1], [p for s, p, _ in seen if s == 29][0])
    assert not torch.equal(lbfgs[3][1], lbfgs[4][1]) and not torch.equal(lbfgs[7][1], lbfgs[8][1])
    assert lbfgs[3][2] is not lbfgs[4][2]
    ckpt = tmp_path / "run.pt"
    with pytest.warns(RuntimeWarning, match="interrupted"):
        _run(checkpoint=str(ckpt), callbacks=[_ctrl_c_at(35)], **kw)  # inside the second point set
    resumed = _run(checkpoint=str(ckpt), resume=True, **kw)
    assert _same_weights(resumed, full) and resumed.history["loss"] == full.history["loss"]
