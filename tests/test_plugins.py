"""Training techniques as plug-ins: the hooks, causal weighting, loss balancing, RAD, their checkpoints."""

import math

import numpy as np
import pytest
import torch

import pinnfreq as pf
from pinnfreq.model import PINNModel
from pinnfreq.residuals import Batch
from pinnfreq.train.config import TrainConfig
from pinnfreq.train.trainer import Trainer

LINE = pf.Interval(0, 1)


def _heat():
    """u_t = u_xx / pi^2 with u = exp(-t) sin(pi x)."""
    dom = LINE * pf.Time(0.0, 1.0)
    return pf.Problem(dom, "u", lambda u: u.t - u.xx / math.pi**2, conditions=[
        pf.Initial(lambda x: torch.sin(math.pi * x)), pf.Dirichlet(0.0, on=LINE.boundary)])


class Counter(pf.Plugin):
    name = "counter"

    def __init__(self):
        self.calls = {"attach": 0, "before_step": 0, "after_step": 0, "before_backward": 0}
        self.steps_seen = []

    def attach(self, trainer):
        self.calls["attach"] += 1

    def before_step(self, trainer):
        self.calls["before_step"] += 1

    def before_backward(self, trainer, losses):
        self.calls["before_backward"] += 1
        assert all(v.requires_grad for v in losses.values())  # the graph is still there

    def after_step(self, trainer):
        self.calls["after_step"] += 1
        self.steps_seen.append(trainer.step)

    def term_factors(self):
        return {"pde0": 3.0}

    def state_dict(self):
        return {"after": self.calls["after_step"]}


def test_a_plugin_sees_every_step_and_scales_its_terms():
    counter = Counter()
    prob = pf.Problem(LINE, "u", lambda u, x: u.xx + torch.sin(x), [pf.Dirichlet(0.0, on=LINE.boundary)])
    sol = pf.solve(prob, pf.MLP(1, 1, 8, 2), steps=5, lbfgs_steps=2, points=16, plugins=[counter], progress=False)
    assert counter.calls == {"attach": 1, "before_step": 7, "after_step": 7, "before_backward": 5}
    assert counter.steps_seen == [1, 2, 3, 4, 5, 6, 7]
    # the plug-in's factor multiplies the term's weight: recorded, and in the total loss
    assert sol.history["weight/pde0"] == [3.0] * 7
    assert sol.history["loss"][0] == pytest.approx(3.0 * sol.history["term/pde0"][0])


def test_plugins_are_checked():
    prob = pf.Problem(LINE, "u", lambda u, x: u.xx + torch.sin(x), [pf.Dirichlet(0.0, on=LINE.boundary)])
    with pytest.raises(TypeError, match="plugins= takes pinnfreq plug-ins"):
        pf.solve(prob, pf.MLP(1, 1, 8, 2), steps=2, plugins=[lambda info: None], progress=False)
    with pytest.raises(ValueError, match=r"two plug-ins named \['gradnorm'\]"):
        pf.solve(prob, pf.MLP(1, 1, 8, 2), steps=2, adaptive_weights="gradnorm", plugins=[pf.GradNorm()],
                 progress=False)
    with pytest.raises(ValueError, match="needs an evolution problem"):
        pf.solve(prob, pf.MLP(1, 1, 8, 2), steps=2, plugins=[pf.CausalWeighting()], progress=False)
    with pytest.raises(ValueError, match="epsilon must be positive"):
        pf.CausalWeighting(epsilon=0)
    with pytest.raises(ValueError, match="k and c"):
        pf.RAD(k=0, c=0)


def test_causal_loss_is_the_weighted_mean_over_time_slabs():
    """L = mean_i w_i L_i with w_i = exp(-eps sum_{k<i} L_k), L_i the mean square of the points in slab i."""
    causal = pf.CausalWeighting(epsilon=2.0, chunks=4)
    causal.column, causal.t0, causal.t1 = 1, 0.0, 1.0
    t = torch.tensor([0.1, 0.2, 0.3, 0.6, 0.7, 0.9, 0.95], dtype=torch.float64)
    r = torch.tensor([1.0, 2.0, 0.5, 3.0, 1.0, 0.2, 0.4], dtype=torch.float64, requires_grad=True)
    batch = Batch(torch.stack([torch.zeros_like(t), t], 1), None)
    loss = causal.reduce([r], batch)
    slabs = [(1 + 4) / 2, 0.25, (9 + 1) / 2, (0.04 + 0.16) / 2]  # t in [0, .25), [.25, .5), [.5, .75), [.75, 1]
    w = [math.exp(-2.0 * sum(slabs[:i])) for i in range(4)]
    assert float(loss.detach()) == pytest.approx(sum(wi * li for wi, li in zip(w, slabs)) / 4, rel=1e-12)
    loss.backward()  # no gradient through the weights: d/dr_j = w_i * 2 r_j / (n_i * 4)
    assert float(r.grad[3]) == pytest.approx(w[2] * 2 * 3.0 / (2 * 4), rel=1e-12)


def test_causal_weighting_trains_an_evolution_problem():
    sol = pf.solve(_heat(), pf.MLP(2, 1, 16, 2), steps=200, lr=5e-3, points=256, progress=False, dtype="float64",
                   plugins=[pf.CausalWeighting(epsilon=1.0, chunks=8)])
    w = sol.history["causal/min_weight"]
    assert len(w) == 200 and all(0 < v <= 1 for v in w) and w[-1] > w[0]  # later slabs open as early ones fit
    x, t = np.meshgrid(np.linspace(0, 1, 21), np.linspace(0, 1, 11), indexing="ij")
    u = sol(x=x, t=t)
    exact = np.exp(-t) * np.sin(np.pi * x)
    assert np.linalg.norm(u - exact) / np.linalg.norm(exact) < 0.05


def test_learning_rate_annealing_follows_its_formula():
    """After one update: w_b = 0.9 + 0.1 max|grad L_r| / mean|grad L_b|; equations keep weight 1."""
    prob = pf.Problem(LINE, "u", lambda u, x: u.xx + torch.sin(3 * x), [pf.Dirichlet(1.0, on=LINE.boundary)])
    torch.manual_seed(0)
    net = pf.MLP(1, 1, 8, 2).double()
    model = PINNModel(net, [0.0], [1.0])
    trainer = Trainer(prob, model, TrainConfig(steps=1, points=32, adaptive_weights="annealing", adapt_every=1,
                                               progress=False, dtype="float64", hard_constraints=False))
    trainer._ensure_batches()
    from pinnfreq.train.losses import term_losses
    losses = term_losses(prob, model, trainer.batches)
    params = list(model.parameters())
    g = {}
    for t, v in losses.items():
        parts = torch.autograd.grad(v, params, retain_graph=True, allow_unused=True)
        g[t] = torch.cat([torch.zeros_like(p).reshape(-1) if x is None else x.reshape(-1) for x, p in zip(parts, params)])
    expected = 0.9 + 0.1 * float(g["pde0"].abs().max() / g["dirichlet"].abs().mean())
    trainer.run()
    assert trainer.history["weight/dirichlet"][0] == pytest.approx(expected, rel=1e-9)
    assert trainer.history["weight/pde0"][0] == 1.0


def test_gradnorm_does_not_weight_up_a_satisfied_term():
    """w_t <- 0.9 w_t + 0.1 sum_j |grad L_j| / |grad L_t|, except that a term below SATISFIED of the weighted
    total (a pressure gauge met to 1e-9) is not weighted up: its gradient is noise."""
    from types import SimpleNamespace

    from pinnfreq.train.plugins.weighting import SATISFIED

    theta = torch.nn.Parameter(torch.tensor([1.0, 1.0], dtype=torch.float64))
    model = torch.nn.ParameterList([theta])
    plug = pf.GradNorm(every=1)
    trainer = SimpleNamespace(terms=["pde", "gauge"], model=model, ranks=SimpleNamespace(average_=lambda ts: None),
                              step=0, phase=lambda: "adam", term_weights=lambda: dict(plug.factors))
    plug.attach(trainer)
    for scale in (1e-3, 1e-12):  # the gauge's share of the loss: 2.5e-4 (above SATISFIED), 2.5e-13 (below)
        plug.factors = {"pde": 1.0, "gauge": 1.0}
        plug.before_backward(trainer, {"pde": (theta[0] - 3) ** 2, "gauge": scale * theta[1] ** 2})
        # |grad L_pde| = 4, |grad L_gauge| = 2 scale
        assert plug.factors["pde"] == pytest.approx(0.9 + 0.1 * (4 + 2 * scale) / 4)
        share = scale / (4 + scale)
        expected = 0.9 + 0.1 * (4 + 2 * scale) / (2 * scale) if share >= SATISFIED else 1.0
        assert plug.factors["gauge"] == pytest.approx(expected)
    assert plug.factors["gauge"] == 1.0


def _step_problem():
    """A fit whose residual is large only for x > 0.8 while u ~ 0."""
    return pf.Problem(LINE, "u", lambda u, x: u - 100.0 * (x > 0.8).to(x.dtype))


def test_rad_draws_points_where_the_residual_is_large():
    net = pf.MLP(1, 1, 8, 2)
    model = PINNModel(net, [0.0], [1.0])
    trainer = Trainer(_step_problem(), model, TrainConfig(steps=1, points=500, progress=False))
    trainer._ensure_batches()
    focused = pf.RAD(k=2.0, c=0.0)
    focused.attach(trainer)
    pts = focused.draw(trainer, "pde0")[:, 0]
    assert pts.shape == (500,) and len(set(pts.tolist())) == 500  # drawn without replacement
    assert float((pts > 0.8).float().mean()) > 0.9
    # the residual is 100 on a fifth of the pool and ~0 elsewhere: its top tenth holds half of its sum
    assert trainer.history["rad_top_tenth/pde0"][-1] == pytest.approx(0.5, abs=0.06)
    spread = pf.RAD(k=1.0, c=1e6)
    spread.attach(trainer)
    share = float((spread.draw(trainer, "pde0")[:, 0] > 0.8).float().mean())
    assert 0.1 < share < 0.3  # a large c is uniform sampling: ~20% of the points


class PointShare(pf.Plugin):
    """Records, per step and phase, the share of the equation's points beyond x = 0.8."""
    name = "share"

    def __init__(self):
        self.seen, self.sizes = [], {}

    def before_step(self, trainer):
        x = trainer.batches["pde0"].points[:, 0]
        self.seen.append((trainer.phase(), float((x > 0.8).double().mean())))
        self.sizes.setdefault(trainer.phase(), set()).add(len(x))


@pytest.mark.parametrize("lbfgs", ["last", "uniform", "both"])
def test_rad_gives_lbfgs_its_last_set_or_uniform_points(lbfgs, tmp_path):
    share = PointShare()
    kw = dict(steps=20, lbfgs_steps=6, points=400, progress=False, dtype="float64", seed=3)
    pf.solve(_step_problem(), pf.MLP(1, 1, 8, 2), plugins=[pf.RAD(every=10, k=2.0, c=0.0, lbfgs=lbfgs), share], **kw)
    adam = [s for phase, s in share.seen[11:] if phase == "adam"]  # after the first draw
    lbfgs_shares = [s for phase, s in share.seen if phase == "lbfgs"]
    assert adam and lbfgs_shares and min(adam) > 0.9  # drawn where the residual is large
    if lbfgs == "last":
        assert lbfgs_shares == [adam[-1]] * len(lbfgs_shares)
    elif lbfgs == "uniform":  # one uniform draw, kept for every iteration: about 20% of the points beyond 0.8
        assert len(set(lbfgs_shares)) == 1 and 0.12 < lbfgs_shares[0] < 0.28
    else:  # the last set and as many uniform points
        assert len(set(lbfgs_shares)) == 1 and 0.5 < lbfgs_shares[0] < 0.65
    assert share.sizes == {"adam": {400}, "lbfgs": {800 if lbfgs == "both" else 400}}
    # a run stopped inside L-BFGS resumes onto the same points and losses
    ckpt = dict(kw, checkpoint=str(tmp_path / "c.pt"), checkpoint_every=1)
    full = pf.solve(_step_problem(), pf.MLP(1, 1, 8, 2), plugins=[pf.RAD(every=10, k=2.0, c=0.0, lbfgs=lbfgs)], **ckpt)
    pf.solve(_step_problem(), pf.MLP(1, 1, 8, 2), plugins=[pf.RAD(every=10, k=2.0, c=0.0, lbfgs=lbfgs)],
             callbacks=[lambda info: info.step == 23], **ckpt)
    resumed = pf.solve(_step_problem(), pf.MLP(1, 1, 8, 2), plugins=[pf.RAD(every=10, k=2.0, c=0.0, lbfgs=lbfgs)],
                       resume=True, **ckpt)
    assert resumed.history["loss"] == pytest.approx(full.history["loss"], rel=1e-10)
    with pytest.raises(ValueError, match="lbfgs must be one of"):
        pf.RAD(lbfgs="fresh")


def test_rad_draws_anew_for_each_lbfgs_restart_on_new_points(tmp_path):
    """With lbfgs_resample_every, L-BFGS restarts on a residual-based draw (not the trainer's uniform
    points, not Adam's last draw kept), and a run stopped between restarts resumes onto the same points."""
    share = PointShare()
    kw = dict(steps=20, lbfgs_steps=9, lbfgs_resample_every=3, points=400, progress=False, dtype="float64", seed=3)
    rad = lambda: pf.RAD(every=10, k=2.0, c=0.0)  # noqa: E731
    sol = pf.solve(_step_problem(), pf.MLP(1, 1, 8, 2), plugins=[rad(), share], **kw)
    lbfgs = [s for phase, s in share.seen if phase == "lbfgs"]
    assert len(lbfgs) == 9 and lbfgs[0] == [s for phase, s in share.seen if phase == "adam"][-1]
    assert len(set(lbfgs[:3])) == 1 and len(set(lbfgs[::3])) == 3  # a draw per round, kept within it
    # drawn by the residual (k=2, c=0: where the fit is worst, which moves as L-BFGS fits the step), not
    # uniform points (about 20% beyond x = 0.8)
    assert all(abs(s - 0.2) > 0.15 for s in lbfgs), lbfgs
    assert sol.history["rad_step"] == [10, 20, 23, 26]  # Adam's two draws, then the restarts at 3 and 6
    ckpt = dict(kw, checkpoint=str(tmp_path / "c.pt"), checkpoint_every=1)
    full = pf.solve(_step_problem(), pf.MLP(1, 1, 8, 2), plugins=[rad()], **ckpt)
    pf.solve(_step_problem(), pf.MLP(1, 1, 8, 2), plugins=[rad()], callbacks=[lambda info: info.step == 24], **ckpt)
    resumed = pf.solve(_step_problem(), pf.MLP(1, 1, 8, 2), plugins=[rad()], resume=True, **ckpt)
    assert resumed.history["loss"] == pytest.approx(full.history["loss"], rel=1e-10)


def test_runs_with_rad_and_causal_weighting_resume_exactly(tmp_path):
    kw = dict(steps=30, points=64, boundary_points=16, progress=False, dtype="float64",
              checkpoint=str(tmp_path / "c.pt"), checkpoint_every=5)
    plugins = lambda: [pf.RAD(every=10), pf.CausalWeighting(chunks=4)]  # noqa: E731
    net = pf.MLP(2, 1, 8, 2)
    full = pf.solve(_heat(), net, plugins=plugins(), **kw)
    stop = pf.solve(_heat(), net, plugins=plugins(), callbacks=[lambda info: info.step == 14], **kw)
    assert stop.history["step"][-1] == 14
    resumed = pf.solve(_heat(), net, plugins=plugins(), resume=True, **kw)
    assert resumed.history["loss"] == pytest.approx(full.history["loss"], rel=1e-12)
    reused = plugins()  # one set of plug-in objects for two runs: the second starts afresh
    pf.solve(_heat(), net, plugins=reused, **dict(kw, checkpoint=None))
    again = pf.solve(_heat(), net, plugins=reused, **dict(kw, checkpoint=None))
    assert again.history["loss"] == pytest.approx(full.history["loss"], rel=1e-12)
    with pytest.raises(ValueError, match=r"written with the plug-ins \['causal', 'rad'\], this run has \['rad'\]"):
        pf.solve(_heat(), net, plugins=[pf.RAD(every=10)], resume=True, **kw)


class Spike(pf.Plugin):
    """Throws the network's weights off at Adam's last step, as a spike of the loss would."""
    name = "spike"

    def after_step(self, trainer):
        if trainer.step == trainer.adam_steps:
            with torch.no_grad():
                for p in trainer.model.parameters():
                    p.mul_(3.0)


def test_lbfgs_starts_from_the_best_of_adams_last_states(tmp_path):
    line = pf.Interval(0, 1)
    prob = pf.Problem(line, "u", lambda u, x: u.xx + math.pi**2 * torch.sin(math.pi * x),
                      [pf.Dirichlet(0.0, on=line.boundary)])
    kw = dict(steps=30, lbfgs_steps=2, points=64, boundary_points=8, progress=False, dtype="float64", seed=1)
    plain = pf.solve(prob, pf.MLP(1, 1, 16, 2), plugins=[Spike()], **kw)
    best = pf.solve(prob, pf.MLP(1, 1, 16, 2), plugins=[Spike(), pf.BestStart(every=10, keep=2)], **kw)
    assert plain.history["loss"][:30] == best.history["loss"][:30]
    chosen = [e for e in best.history["events"] if "L-BFGS takes over from" in e]
    assert len(chosen) == 1 and "state of step 20" in chosen[0], best.history["events"]
    # L-BFGS's first evaluation is of the state at step 20, not of the spiked one
    assert best.history["loss"][30] < 0.1 * plain.history["loss"][30]
    # a run stopped during Adam resumes with the states it kept
    ckpt = dict(kw, checkpoint=str(tmp_path / "c.pt"), checkpoint_every=1)
    full = pf.solve(prob, pf.MLP(1, 1, 16, 2), plugins=[Spike(), pf.BestStart(every=10, keep=2)], **ckpt)
    pf.solve(prob, pf.MLP(1, 1, 16, 2), plugins=[Spike(), pf.BestStart(every=10, keep=2)],
             callbacks=[lambda info: info.step == 24], **ckpt)
    resumed = pf.solve(prob, pf.MLP(1, 1, 16, 2), plugins=[Spike(), pf.BestStart(every=10, keep=2)], resume=True,
                       **ckpt)
    assert resumed.history["loss"] == pytest.approx(full.history["loss"], rel=1e-10)
    with pytest.raises(ValueError, match="every and keep must be positive integers"):
        pf.BestStart(keep=0)
