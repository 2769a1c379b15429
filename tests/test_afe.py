"""Adaptive Frequency Enhancement: the spectral analysis, the new tokens, the mask, and whole runs."""

import math

import numpy as np
import pytest
import torch

import pinnfreq as pf
from pinnfreq.afe import find_frequencies, post_features

PAPER_MODES = {(2,), (20,), (40,)}


def paper_target(x):
    """The 1-D case of the AFE paper on [0, 1]."""
    return (torch.sin(2 * math.pi * 2 * x) + 0.5 * torch.sin(2 * math.pi * 20 * x + 0.3)
            + 0.5 * torch.cos(2 * math.pi * 40 * x - 0.2))


def _grid(n, d=1):
    g = np.linspace(-1, 1, n, endpoint=False)
    return np.meshgrid(*[g] * d, indexing="ij")


def _found(peaks):
    return {tuple(k) for k in peaks.k.tolist()}


@pytest.mark.parametrize("window, peaks", [("hann", "local"), (None, "all")])
def test_paper_modes_found_in_the_spectrum(window, peaks):
    (x,) = _grid(4096)
    u = paper_target(torch.as_tensor((x + 1) / 2)).numpy()  # [0, 1] mapped to the normalised box
    found = find_frequencies(u, 0.02, window, peaks)
    assert _found(found) == PAPER_MODES
    assert found.k[0].tolist() == [2] and np.allclose(found.relative, [1, 0.5, 0.5], atol=1e-6)


def test_a_2d_pair_is_recovered_and_conjugates_count_once():
    x, y = _grid(128, 2)
    u = np.cos(np.pi * (3 * x + 5 * y) + 0.4) + 0.5 * np.sin(np.pi * (7 * x - 2 * y))
    assert _found(find_frequencies(u, 0.02)) == {(3, 5), (7, -2)}
    assert _found(find_frequencies(u, 0.02, None, "all")) == {(3, 5), (7, -2)}


def test_the_window_keeps_a_non_periodic_solution_from_leaking():
    (x,) = _grid(1024)
    u = 3 * x + np.sin(12 * np.pi * x)  # the trend jumps by 6 across the box's edge
    plain = _found(find_frequencies(u, 0.02, None, "all"))
    remedied = _found(find_frequencies(u, 0.02))
    assert len(plain) > 20 and (12,) in remedied and len(remedied) <= 3


def test_a_constant_has_no_frequency_and_an_earlier_zeta_raises_the_bar():
    (x,) = _grid(256)
    assert len(find_frequencies(np.full(256, 2.0), 0.02).k) == 0
    assert len(find_frequencies(2.0 + 1e-9 * np.sin(3 * np.pi * x), 0.02).k) == 0  # round-off is no mode
    weak = 1e-3 * np.sin(5 * np.pi * x)
    assert _found(find_frequencies(weak, 0.02)) == {(5,)}
    assert len(find_frequencies(weak, 0.02, reference=1.0).k) == 0


@pytest.mark.parametrize("padding", ["repeat", "zero"])
def test_posterior_features_fill_whole_tokens(padding):
    k = np.array([[3], [7], [11]])
    omega, phase, scale = post_features(k, 8, padding, torch.Generator().manual_seed(0), torch.float64)
    assert omega.shape == (8, 1) and phase.shape == scale.shape == (8,)
    assert set(omega[scale > 0, 0].tolist()) == {3 * math.pi, 7 * math.pi, 11 * math.pi}
    if padding == "repeat":
        assert torch.allclose(scale, torch.full((8,), 0.5, dtype=torch.float64))  # sqrt(2/8)
    else:
        assert torch.allclose(scale[:3], torch.full((3,), math.sqrt(2 / 3), dtype=torch.float64)) and not scale[3:].any()


def test_eta_schedule_holds_then_releases():
    afe = pf.AFE()
    etas = [afe.eta(f) for f in np.linspace(0, 1, 101)]
    assert etas[0] == etas[69] == -6.0 and etas[-1] == pytest.approx(0.0, abs=1e-12)
    assert afe.eta(0.85) == pytest.approx(-3.0) and np.all(np.diff(etas) >= 0)
    assert pf.AFE(release="linear").eta(0.85) == pytest.approx(-3.0)


def test_a_strong_mask_shuts_the_new_tokens_out():
    torch.manual_seed(0)
    net = pf.CrossAttentionNet(1, 1, hidden_channels=8, n_layers=2, n_base=16, n_scales=2).double()
    x = torch.rand(30, 1, dtype=torch.float64) * 2 - 1
    before = net(x)
    new = net.add_tokens(torch.full((16, 1), 20 * math.pi), torch.rand(16), torch.full((16,), 0.5))
    assert net.n_tokens == 6 and new == slice(4, 6)
    net.set_token_bias(new, -40.0)
    after, a = net(x, return_attention=True)
    assert a[..., new].max() < 1e-16 and torch.allclose(after, before, atol=1e-12)
    net.set_token_bias(new, 0.0)
    assert a.shape[-1] == 6 and (net(x) - before).abs().max() > 1e-3  # released, they count


def test_tokens_survive_state_dicts_and_saved_solutions(tmp_path):
    torch.manual_seed(0)
    net = pf.CrossAttentionNet(1, 1, hidden_channels=8, n_layers=2, n_base=16, n_scales=2)
    net.add_tokens(torch.full((8, 1), 3.0), torch.rand(8), torch.full((8,), 0.5))
    fresh = pf.CrossAttentionNet(**net.config)
    fresh.load_state_dict(net.state_dict())
    x = torch.rand(10, 1)
    assert fresh.n_tokens == 5 and torch.equal(fresh(x), net(x))


def _fit_problem():
    line = pf.Interval(0, 1)
    prob = pf.Problem(line, "u", {"fit": lambda u, x: u - paper_target(x)}, name="afe1d")
    xs = np.linspace(0, 1, 2001)
    return prob, pf.Reference({"u": paper_target(torch.as_tensor(xs)).numpy()}, axes={"x": xs})


def _stages(sol):
    h = sol.history
    return [{tuple(k) for k, a in zip(h["afe/k"], h["afe/k_analysis"]) if a == s} for s in (1, 2)]


def test_paper_case_the_seed_recipe_finds_the_three_modes():
    prob, ref = _fit_problem()
    net = pf.CrossAttentionNet(1, 1, hidden_channels=32, n_layers=3, n_base=32, n_scales=4, sigma=0.2, beta_init=0.01)
    # the paper's first stage, 1,000 steps on the base bank; only a tenth of a stage after it (the test reads the analysis)
    sol = pf.solve(prob, net, steps=1100, points=1024, afe=pf.AFE(max_stages=1, first_stage=1000 / 1100), reference=ref,
                   progress=False)
    assert _stages(sol)[0] == PAPER_MODES
    assert sol.history["afe/step"][0] == 1000 and sol.history["afe/n_new"][0] == 3
    assert sol.model.network.n_tokens == 4 + 1  # 3 frequencies, repeated into one token of 32


def test_paper_case_afe_recovers_modes_the_bank_missed(tmp_path):
    """The paper's default bank (sigma 1, beta 0.1) cannot reach k = 20, 40; the residual's spectrum
    names them, and the error falls by more than 10x after the stage."""
    prob, ref = _fit_problem()
    net = pf.CrossAttentionNet(1, 1, hidden_channels=32, n_layers=3, n_base=32, n_scales=4)
    afe = pf.AFE(max_stages=1, source="both")
    sol = pf.solve(prob, net, steps=1200, points=1024, afe=afe, reference=ref, progress=False)
    found = _stages(sol)
    assert PAPER_MODES <= found[0] and len(found[0]) <= 5  # (the residual may add a mode of the error)
    before, after = sol.history["afe/rel_l2/u"]
    assert before > 0.4 and after < before / 10 and sol.history["rel_l2/u"][-1] == after
    eta = np.array(sol.history["afe/eta"])
    assert len(eta) == 1200 and (eta[:600] == 0).all() and (eta[600:1020] == -6).all() and eta[-1] > -0.01
    sol.save(tmp_path / "s.h5")
    back = pf.Solution.load(tmp_path / "s.h5")
    assert back.model.network.n_tokens == sol.model.network.n_tokens
    assert np.array_equal(back.evaluate(np.array([[0.3], [0.7]])), sol.evaluate(np.array([[0.3], [0.7]])))
    assert [tuple(k) for k in back.history["afe/k"]] == [tuple(k) for k in sol.history["afe/k"]]


def test_afe_ends_cleanly_without_frequencies():
    from pinnfreq.afe import AFERun
    from pinnfreq.model import PINNModel

    prob, _ = _fit_problem()
    net = pf.CrossAttentionNet(1, 1, hidden_channels=8, n_layers=1, n_base=16, n_scales=2)
    torch.nn.init.zeros_(net.readout.weight)  # a constant solution
    events, records = [], {}
    run = AFERun(pf.AFE(), prob, PINNModel(net, [0], [1]), 100, 0,
                 lambda k, v: records.setdefault(k, []).append(v), events.append)
    run.analyse(50, None)
    assert net.n_tokens == 4 and run.finished and not run.due(75) and records["afe/n_found"] == [0]
    assert "no frequency above" in events[0] and "AFE ends" in events[0]


def test_afe_resumes_exactly(tmp_path):
    """A run stopped after a stage boundary and resumed equals an uninterrupted one."""
    prob2, _ = _fit_problem()
    kw = dict(steps=60, points=256, progress=False, checkpoint=str(tmp_path / "c.pt"), checkpoint_every=10,
              afe=pf.AFE(max_stages=2, grid=256, source="both"))
    small = pf.CrossAttentionNet(1, 1, hidden_channels=8, n_layers=1, n_base=16, n_scales=2, sigma=0.3)
    full = pf.solve(prob2, small, **kw)
    stop = pf.solve(prob2, small, callbacks=[lambda info: info.step == 44], **kw)
    assert stop.history["step"][-1] == 44
    resumed = pf.solve(prob2, small, resume=True, **kw)
    x = np.linspace(0, 1, 7)[:, None]
    assert np.allclose(resumed.evaluate(x), full.evaluate(x), atol=1e-6)
    assert resumed.history["afe/k"] == full.history["afe/k"]


def test_the_full_spectrum_keeps_the_mean_and_both_conjugates():
    """spectrum="full" is the seed's B: the mean counts (towards zeta and as a frequency) and +-k both
    appear; "half" drops the mean and keeps one member of each pair."""
    (x,) = _grid(256)
    u = 1.0 + 0.5 * np.cos(3 * np.pi * x + 0.2)
    assert _found(find_frequencies(u, 0.02, None, "all")) == {(3,)}
    full = find_frequencies(u, 0.02, None, "all", spectrum="full")
    assert _found(full) == {(0,), (3,), (-3,)} and full.zeta == pytest.approx(1.0)
    assert np.allclose(sorted(full.relative), [0.25, 0.25, 1.0])
    assert _found(find_frequencies(u, 0.3, None, "all", spectrum="full")) == {(0,)}  # 0.25 < 0.3


def test_seed_literal_preset_runs_the_recipe_as_written():
    """AFE.seed_literal(): plain DFT, all coefficients, the current zeta, zero padding, no caps; with no
    cap on stages they are as long as the first and repeat until K_post is stable."""
    from pinnfreq.afe import AFERun
    from pinnfreq.model import PINNModel

    preset = pf.AFE.seed_literal()
    assert (preset.window, preset.peaks, preset.padding, preset.max_new, preset.max_stages, preset.zeta,
            preset.spectrum) == (None, "all", "zero", None, None, "current", "full")
    prob, ref = _fit_problem()
    net = pf.CrossAttentionNet(1, 1, hidden_channels=32, n_layers=1, n_base=32, n_scales=2, sigma=0.2)
    run = AFERun(pf.AFE.seed_literal(first_stage=0.2), prob, PINNModel(net, [0], [1]), 100, 0, lambda k, v: None,
                 lambda text: None)
    assert run.boundaries == [20, 40, 60, 80, 100]
    sol = pf.solve(prob, net, steps=400, points=512, afe=pf.AFE.seed_literal(first_stage=0.5, threshold=0.05),
                   reference=ref, progress=False)
    added = [tuple(k) for k, a in zip(sol.history["afe/k"], sol.history["afe/k_added"]) if a]
    assert added and any(k[0] < 0 for k in added)  # both members of a conjugate pair, as in the seed
    assert sol.history["afe/step"] == [200, 400]  # one stage as long as the first, then the final analysis


def test_bad_afe_settings_are_named():
    with pytest.raises(ValueError, match="threshold"):
        pf.AFE(threshold=1.5)
    with pytest.raises(ValueError, match="source"):
        pf.AFE(source="error")
    with pytest.raises(ValueError, match="zeta must be 'running' or 'current'"):
        pf.AFE(zeta="max")
    with pytest.raises(ValueError, match="max_new must be an integer >= 1 or None"):
        pf.AFE(max_new=0)
    prob, _ = _fit_problem()
    with pytest.raises(ValueError, match="token network"):
        pf.solve(prob, pf.MLP(1, 1, 8, 2), steps=10, afe=pf.AFE(), progress=False)
    with pytest.raises(ValueError, match="Adam steps to split"):
        pf.solve(prob, steps=1, afe=pf.AFE(), progress=False)
    with pytest.raises(TypeError, match="pinnfreq.AFE"):
        pf.solve(prob, steps=10, afe={"threshold": 0.1}, progress=False)


def test_non_box_domains_fill_outside_with_the_nearest_inside_value():
    from pinnfreq.afe import AFERun
    from pinnfreq.model import PINNModel

    disk = pf.Disk([0, 0], 1.0)
    prob = pf.Problem(disk, "u", {"fit": lambda u, x, y: u - x})
    net = pf.CrossAttentionNet(2, 1, hidden_channels=8, n_layers=1, n_base=16, n_scales=2)
    model = PINNModel(net, [-1, -1], [1, 1])
    run = AFERun(pf.AFE(grid=32), prob, model, 100, 0, lambda *a: None, lambda *a: None)
    values, names = run.grid_signals()
    x, y = _grid(32, 2)
    inside = x**2 + y**2 <= 1
    with torch.no_grad():
        direct = net(torch.as_tensor(np.stack([x[inside], y[inside]], 1), dtype=torch.float32))[:, 0].numpy()
    assert names == ["u"] and np.allclose(values[..., 0][inside], direct, atol=1e-6)
    corner = values[0, 0, 0]  # (-1, -1) is outside; its nearest inside grid point is on the diagonal
    assert np.any(np.isclose(values[..., 0][inside], corner))
