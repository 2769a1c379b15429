"""What solve() chooses without a model or settings (pinnfreq.defaults)."""

import math

import numpy as np
import pytest
import torch

import pinnfreq as pf
from pinnfreq.defaults import (BANK_REACH, CONDITION_POINTS, EVOLUTION_LBFGS_SHARE, LONG_BUDGET, MLP_REACH, MLP_SIZE,
                               MLP_SIZE_SHORT, RAD_C, TIME_OCTAVES,
                               RAD_EVERY, STEADY_POINTS, data_frequencies, default_network, default_plugins,
                               default_settings, derivative_order, initial_rate, nonlinear, spectral_lines, time_features,
                               time_scale)


def poisson(k: float, lower=0.0, upper=1.0):
    line = pf.Interval(lower, upper)

    def pde(u, x):
        return u.xx + k**2 * torch.sin(k * x)

    return pf.Problem(line, "u", pde, [pf.Dirichlet(0.0, on=line.boundary)])


@pytest.mark.parametrize("k", [2 * math.pi, 50 * math.pi])
def test_the_probe_finds_the_source_frequency_in_normalised_units(k):
    # x in [0, 1] is [-1, 1] to the network: sin(k x) has angular frequency k / 2 there
    (w,) = data_frequencies(poisson(k))
    assert k / 2 <= w <= 1.25 * k / 2 + 2 * math.pi


def test_the_probe_reads_initial_values_along_their_coordinate_only():
    space = pf.Interval(0.0, 1.0)
    prob = pf.Problem(space * pf.Time(0.0, 1.0), "u", lambda u: u.t - u.xx,
                      [pf.Initial(lambda x: torch.sin(200 * math.pi * x))])
    wx, wt = data_frequencies(prob)
    assert 100 * math.pi <= wx <= 1.25 * 100 * math.pi and wt < 1e-9


def advection(speed: float, level: float = 0.0):
    space = pf.Interval(0.0, 2 * math.pi)
    return pf.Problem(space * pf.Time(0.0, 2.0), "u", lambda u: u.t + speed * u.x,
                      [pf.Initial(lambda x: level + torch.sin(x)), pf.Periodic("x")])


@pytest.mark.parametrize("speed, level", [(50.0, 0.0), (3.0, 10.0)])
def test_the_initial_rate_is_the_time_frequency_of_a_travelling_wave(speed, level):
    # sin(x - c t) turns at c radians per unit time, also on top of a constant level
    assert initial_rate(advection(speed, level)) == pytest.approx(speed, rel=0.02)
    wx, wt = data_frequencies(advection(speed, level))
    assert wt == pytest.approx(speed * 2.0 / 2, rel=0.02)  # t in [0, 2] is [-1, 1] to the network
    # a second-order evolution: u_tt = c^2 u_xx, sin(k x) cos(c k t) turns at c k
    line = pf.Interval(0.0, 1.0)
    wave = pf.Problem(line * pf.Time(0.0, 1.0), "u", lambda u: u.tt - 4 * u.xx,
                      [pf.Initial(lambda x: torch.sin(3 * math.pi * x), derivative=0.0)])
    assert initial_rate(wave) == pytest.approx(2 * 3 * math.pi, rel=0.02)
    still = pf.Problem(line * pf.Time(0.0, 1.0), "u", lambda u: u.t - u.xx, [pf.Initial(1.0)])
    assert initial_rate(still) == 0.0 and initial_rate(poisson(2.0)) == 0.0  # nothing moves; no time


def test_the_time_scale_is_a_radian_of_the_initial_turn_where_it_turns_a_period():
    # speed 50 over t in [0, 2]: 100 rad, a radian in 1/100 of the interval; speed 3: 6 rad, less than a period
    assert time_scale(advection(50.0)) == pytest.approx(1 / 100, rel=0.02)
    assert time_scale(advection(3.0)) is None and time_scale(poisson(2.0)) is None


def test_a_fast_initial_evolution_gives_the_mlp_features_at_its_rate_in_time():
    # the data of advection at speed 50 are smooth (sin x), but the solution turns 50 times a unit of
    # time: 50 radians per unit of normalised time (t in [0, 2]), which the MLP gets as cos and sin of it
    # (and octaves around it: the rate is an average over the initial state's modes)
    ws = [pytest.approx(m * 50.0, rel=0.02) for m in TIME_OCTAVES]
    assert time_features(advection(50.0)) == [(1, w) for w in ws]
    net, why, exact = default_network(advection(50.0), torch.device("cpu"))
    assert isinstance(net, pf.MLP) and exact == ["periodic"]
    assert net.config["periodic"] == [0] and net.config["frequencies"] == [[1, w] for w in ws]
    assert "t also as cos and sin of (" in why[0] and "octaves around the initial state's rate" in why[0]
    slow = default_network(advection(3.0), torch.device("cpu"))[0]  # 6 radians over the interval: no features
    assert isinstance(slow, pf.MLP) and slow.config["frequencies"] == [] and time_features(advection(3.0)) == []


def chirp(k: float):
    line = pf.Interval(-1.0, 1.0)
    return pf.Problem(line, "u", lambda u, x: u.xx + torch.sin(k * x**2), [pf.Dirichlet(0.0, on=line.boundary)])


def test_a_broadband_high_frequency_source_stretches_the_bank_and_lowers_beta():
    # a chirp's frequencies fill 0 .. 2 k: no spectral line explains them, so the bank reaches for them
    ((lines, explained),) = spectral_lines(chirp(50.0))
    assert explained < 0.5
    net, why, _ = default_network(chirp(50.0), torch.device("cpu"))
    assert net.bank.omega.abs().max().item() > 4 * BANK_REACH  # the bank now reaches for the data's |omega| ~ 100
    assert net.bank.beta.item() < 0.1 * BANK_REACH / 100 and net.low is not None and net.post.n_features == 0
    assert "stretched" in why[1]
    plain, why, _ = default_network(poisson(2 * math.pi), torch.device("cpu"), tokens=True)  # as for AFE
    assert math.isclose(plain.bank.beta.item(), 0.1, rel_tol=1e-5) and plain.low is None and "seed's" in why[1]


def test_a_spectral_line_of_the_data_becomes_a_token_and_a_far_one_leaves_the_bank_alone():
    # sin(300 pi x) on [0, 1]: |omega| 150 pi in the normalised box, one line, all of the data beyond the reach
    ((lines, explained),) = spectral_lines(poisson(300 * math.pi))
    assert lines == pytest.approx([150 * math.pi], rel=1e-4) and explained == 1.0
    net, why, _ = default_network(poisson(300 * math.pi), torch.device("cpu"))
    assert net.n_tokens == net.n_base_tokens + 1 and net.post.n_features == net.token_width
    assert torch.allclose(net.post.omega[:, 0].abs(), torch.tensor(150 * math.pi), rtol=1e-4)
    # stretching the bank 35x to reach it would spread its features too thin: the seed's bank
    assert math.isclose(net.bank.beta.item(), 0.1, rel_tol=1e-5) and net.bank.omega.abs().max().item() < 2 * BANK_REACH
    assert "spectral lines" in why[2] and "x: |omega| 471.2" in why[2]
    # the token reloads with the network (AFE's tokens do)
    back = pf.CrossAttentionNet(**net.config)
    back.load_state_dict(net.state_dict())
    x = torch.rand(16, 1) * 2 - 1
    assert torch.equal(back(x), net(x))
    # a line within MAX_STRETCH of the reach (sin(50 pi x): 5.9x): the bank stretched to it, no token
    near, why, _ = default_network(poisson(50 * math.pi), torch.device("cpu"))
    assert near.post.n_features == 0 and near.bank.omega.abs().max().item() > 25 * math.pi
    assert "stretched" in why[1] and not any("spectral lines" in w for w in why)


def test_one_smooth_field_gets_a_plain_mlp():
    net, why, exact = default_network(poisson(2 * math.pi), torch.device("cpu"))
    assert isinstance(net, pf.MLP) and net.config["hidden_channels"] == 50 and net.config["n_layers"] == 4
    assert exact == [] and "tanh MLP" in why[0] and "(x: |omega| " in why[0]
    # the rule's edge: the MLP up to |omega| = MLP_REACH, the cross-attention network beyond
    edge = 2 * MLP_REACH  # sin(k x) on [0, 1] has |omega| k / 2 in the normalised box
    assert isinstance(default_network(poisson(0.5 * edge), torch.device("cpu"))[0], pf.MLP)
    assert isinstance(default_network(poisson(1.5 * edge), torch.device("cpu"))[0], pf.CrossAttentionNet)
    # two fields (a system, like the flows where the MLP failed): the cross-attention network
    line = pf.Interval(0.0, 1.0)
    system = pf.Problem(line, ("u", "v"), lambda u, v, x: (u.xx + v, v - torch.sin(2 * math.pi * x)),
                        [pf.Dirichlet(0.0, on=line.boundary, field="u")])
    assert isinstance(default_network(system, torch.device("cpu"))[0], pf.CrossAttentionNet)


def test_the_plain_mlp_is_narrower_for_a_forward_problem_on_a_short_budget():
    size = lambda net: (net.config["hidden_channels"], net.config["n_layers"])  # noqa: E731
    cpu = torch.device("cpu")
    assert MLP_SIZE_SHORT[0] < MLP_SIZE[0]
    net, why, _ = default_network(poisson(2 * math.pi), cpu, budget=0.5 * LONG_BUDGET)
    assert size(net) == MLP_SIZE_SHORT and "budget under" in why[1]
    assert size(default_network(poisson(2 * math.pi), cpu, budget=LONG_BUDGET)[0]) == MLP_SIZE
    assert size(default_network(poisson(2 * math.pi), cpu)[0]) == MLP_SIZE  # steps, not a budget
    line = pf.Interval(0.0, 1.0)
    inverse = pf.Problem(line, "u", lambda u, k: u.xx + k, [pf.Data({"x": np.linspace(0, 1, 5)}, np.zeros(5))],
                         parameters={"k": 1.0})
    assert size(default_network(inverse, cpu, budget=0.5 * LONG_BUDGET)[0]) == MLP_SIZE  # unknowns: the wider one
    # solve() hands its budget on
    sol = pf.solve(poisson(2 * math.pi), time_budget=1.0, progress=False)
    assert any(e.startswith(f"chose MLP size: {MLP_SIZE_SHORT[1]} x {MLP_SIZE_SHORT[0]}") for e in sol.history["events"])


def test_a_time_budget_alone_means_adam_then_lbfgs():
    out, why = default_settings({"time_budget": 10.0})
    assert out["steps"] >= 10**6 and out["lbfgs_steps"] >= 10**6 and out["lbfgs_share"] == 0.5 and why
    assert default_settings({"time_budget": 10.0, "lbfgs_share": 0.75})[0]["lbfgs_share"] == 0.75  # the user's wins
    assert default_settings({"time_budget": 10.0, "steps": 50})[0] == {"time_budget": 10.0, "steps": 50}
    assert default_settings({"steps": 50})[0] == {"steps": 50}
    assert "adaptive_weights" not in out  # nothing to balance: no condition stays a loss term
    balanced, why = default_settings({"time_budget": 10.0}, ["dirichlet"])
    assert balanced["adaptive_weights"] == "gradnorm" and "dirichlet" in why[-1]
    assert "boundary_points" not in balanced  # the cross-attention network: its steps would pay for them
    mlp, why = default_settings({"time_budget": 10.0}, ["dirichlet"], plain=True)
    assert mlp["boundary_points"] == CONDITION_POINTS and "dirichlet" in why[-2]  # the MLP: more points for losses
    assert default_settings({"time_budget": 10.0, "boundary_points": 64}, ["dirichlet"], plain=True)[0][
        "boundary_points"] == 64
    assert "adaptive_weights" not in default_settings({"time_budget": 10.0, "weights": {"dirichlet": 5.0}},
                                                      ["dirichlet"])[0]
    assert "resample_every" not in out  # the cross-attention network trains on one point set ...
    long, why = default_settings({"time_budget": LONG_BUDGET})  # ... unless the budget is long
    assert long["resample_every"] == 100 and "long fits of fixed points drift" in why[-1]
    plain, plain_why = default_settings({"time_budget": 10.0}, plain=True)  # the MLP: new points every 100 steps
    assert plain["resample_every"] == 100 and "every 100 Adam steps" in plain_why[-1]
    assert default_settings({"time_budget": 10.0, "resample_every": 0}, plain=True)[0]["resample_every"] == 0
    # the MLP on a steady problem: fewer interior points on a short budget (more steps), the configured ones else
    assert "points" not in plain
    steady, why = default_settings({"time_budget": 10.0}, plain=True, steady=True)
    assert steady["points"] == STEADY_POINTS and "steady problem" in " ".join(why)
    assert "points" not in default_settings({"time_budget": LONG_BUDGET}, plain=True, steady=True)[0]
    assert "points" not in default_settings({"time_budget": 10.0}, steady=True)[0]  # not the cross-attention network
    assert default_settings({"time_budget": 10.0, "points": 64}, plain=True, steady=True)[0]["points"] == 64
    # the MLP on an evolution problem: more of a short budget for L-BFGS
    assert plain["lbfgs_share"] == EVOLUTION_LBFGS_SHARE and "L-BFGS's longer run pays" in plain_why[0]
    assert steady["lbfgs_share"] == default_settings({"time_budget": 10.0})[0]["lbfgs_share"] \
        == default_settings({"time_budget": LONG_BUDGET}, plain=True)[0]["lbfgs_share"] == 0.5
    assert default_settings({"time_budget": 10.0, "lbfgs_share": 0.3}, plain=True)[0]["lbfgs_share"] == 0.3


def test_default_solve_on_a_budget_uses_both_optimisers_and_says_what_it_chose(capsys):
    prob = poisson(2 * math.pi)
    grid = np.linspace(0, 1, 65)
    ref = pf.Reference({"u": np.sin(2 * np.pi * grid)}, axes={"x": grid})
    sol = pf.solve(prob, time_budget=20, points=64, reference=ref, progress=True)
    starts = [int(e.split()[1].rstrip(":")) for e in sol.history["events"] if "L-BFGS starts" in e]
    assert len(starts) == 1 and 0 < starts[0] < len(sol.history["step"]) - 1  # Adam's steps, then L-BFGS's
    assert sol.error()["u"]["rel_l2"] < 0.05
    printed = capsys.readouterr().out
    assert "pinnfreq: optimiser: Adam for 50% of the time budget, then L-BFGS" in printed
    assert "pinnfreq: hard constraints: u: dirichlet" in printed
    assert "pinnfreq: network: a tanh MLP" in printed and sol.config["resample_every"] == 100
    assert "where the residual is large" not in printed  # linear equations: uniform points


@pytest.mark.parametrize("k, network", [(1, pf.MLP), (40, pf.CrossAttentionNet)])
def test_a_periodic_coordinate_makes_the_default_network_exactly_periodic(k, network):
    # smooth data: the MLP with x embedded as (cos, sin); sin(40 x): the bank snapped to the period
    space = pf.Interval(0.0, 2 * math.pi)

    def advection(u):
        return u.t + 5 * u.x

    prob = pf.Problem(space * pf.Time(0.0, 1.0), "u", advection,
                      [pf.Initial(lambda x: torch.sin(k * x)), pf.Periodic("x", derivatives=1)])
    sol = pf.solve(prob, steps=3, points=64, progress=False, dtype="float64")
    assert isinstance(sol.model.network, network)
    assert "term/periodic" not in sol.history and "term/initial" not in sol.history
    t = torch.rand(20, 1, dtype=torch.float64).requires_grad_(True)
    lo = torch.cat([torch.zeros_like(t), t], 1).requires_grad_(True)
    hi = torch.cat([torch.full_like(t, 2 * math.pi), t], 1).requires_grad_(True)
    u_lo, u_hi = sol.model(lo), sol.model(hi)
    assert torch.allclose(u_lo, u_hi, atol=1e-12)
    (g_lo,), (g_hi,) = torch.autograd.grad(u_lo.sum(), lo), torch.autograd.grad(u_hi.sum(), hi)
    assert torch.allclose(g_lo, g_hi, atol=1e-10)


def test_inverse_evolution_problems_get_causal_weighting_on_a_budget():
    space = pf.Interval(0.0, 1.0)
    ts = np.linspace(0, 1, 5)
    inverse = pf.Problem(space * pf.Time(0.0, 1.0), "u", lambda u, k: u.t - k * u.xx,
                         [pf.Data({"x": np.full(5, 0.5), "t": ts}, np.exp(-ts))], parameters={"k": 1.0})
    plugins, why = default_plugins(inverse, {"time_budget": 5.0}, [])
    assert [p.name for p in plugins] == ["causal"] and "inverse evolution problem (unknown k)" in why[0]
    assert default_plugins(inverse, {"time_budget": 5.0, "steps": 10}, [])[0] == []  # the user set the steps
    mine = pf.CausalWeighting(epsilon=0.1)
    assert default_plugins(inverse, {"time_budget": 5.0}, [mine])[0] == [mine]
    assert default_plugins(poisson(2.0), {"time_budget": 5.0}, [])[0] == []  # not an evolution problem
    forward = pf.Problem(space * pf.Time(0.0, 1.0), "u", lambda u: u.t - u.xx, [pf.Initial(0.0)])
    assert default_plugins(forward, {"time_budget": 5.0}, [])[0] == []  # no unknowns
    sol = pf.solve(inverse, time_budget=3.0, points=64, progress=False)
    assert any("causal weighting" in e for e in sol.history["events"]) and sol.history["causal/min_weight"]


def test_the_plain_mlp_gets_residual_based_points_where_the_equations_are_nonlinear():
    space = pf.Interval(-1.0, 1.0)
    burgers = pf.Problem(space * pf.Time(0.0, 1.0), "u", lambda u: u.t + u * u.x - 0.01 * u.xx,
                         [pf.Initial(lambda x: -torch.sin(math.pi * x))])
    heat = pf.Problem(space * pf.Time(0.0, 1.0), "u", lambda u, x: u.t - u.xx - torch.sin(x),  # affine: linear
                      [pf.Initial(lambda x: -torch.sin(math.pi * x))])
    pair = pf.Problem(space, ("u", "v"), lambda u, v: (u.xx - v, v.xx + torch.cos(u)), [])
    assert nonlinear(burgers) and nonlinear(pair) and not nonlinear(heat)
    assert not nonlinear(pf.Problem(space, "u", lambda u, x: u.xx - np.sin(x), []))  # outside torch: cannot tell
    plugins, why = default_plugins(burgers, {"time_budget": 5.0}, [], plain=True)
    assert [p.name for p in plugins] == ["rad"] and "where the residual is large" in why[0]
    assert (plugins[0].every, plugins[0].c, plugins[0].lbfgs) == (RAD_EVERY, RAD_C, "both")
    assert default_plugins(burgers, {"time_budget": 5.0}, [])[0] == []  # the cross-attention network: fixed points
    assert default_plugins(heat, {"time_budget": 5.0}, [], plain=True)[0] == []
    assert default_plugins(burgers, {"time_budget": 5.0, "resample_every": 0}, [], plain=True)[0] == []  # the user's
    assert default_plugins(burgers, {"time_budget": 5.0}, [pf.RAD(every=7)], plain=True)[0][0].every == 7
    kdv = pf.Problem(space * pf.Time(0.0, 1.0), "u", lambda u: u.t + u * u.x + 0.022**2 * u.xxx,
                     [pf.Initial(lambda x: torch.cos(math.pi * x))])
    assert (derivative_order(kdv), derivative_order(burgers), derivative_order(pair)) == (3, 2, 2)
    plugins, why = default_plugins(kdv, {"time_budget": 5.0}, [], plain=True)  # third order: uniform points
    assert plugins == [] and "uniform, not by residual (derivatives of order 3" in why[0]
    sol = pf.solve(burgers, time_budget=3.0, points=64, progress=False)
    assert any("where the residual is large" in e for e in sol.history["events"])
    assert sol.config["lbfgs_share"] == EVOLUTION_LBFGS_SHARE  # with RAD's points as without
    sol = pf.solve(kdv, time_budget=2.0, points=64, progress=False)
    assert sol.config["lbfgs_share"] == EVOLUTION_LBFGS_SHARE and sol.config["resample_every"] == 100
