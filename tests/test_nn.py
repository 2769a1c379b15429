"""The feature bank, the cross-attention network (against a literal implementation of seed 000's
formulas) and the baselines."""

import math

import numpy as np
import pytest
import torch

import pinnfreq as pf
from pinnfreq.nn import MLP, MODELS, RFFMLP, CrossAttentionNet, FourierFeatureBank, MultiScaleFourierNet, build


def test_bank_has_unit_expected_norm_without_envelope():
    torch.manual_seed(0)
    bank = FourierFeatureBank(2, n_base=128, n_scales=4, sigma=0.5, beta_init=0.0).double()
    x = torch.rand(2000, 2, dtype=torch.float64) * 2 - 1
    phi = bank(x)
    assert phi.shape == (2000, 512)
    assert float((phi.detach()**2).sum(1).mean()) == pytest.approx(1.0, abs=0.03)


def test_bank_frequencies_are_dyadic_and_scale_major():
    bank = FourierFeatureBank(3, n_base=8, n_scales=3)
    base = bank.omega[:8]
    assert torch.allclose(bank.omega[8:16], 2 * base) and torch.allclose(bank.omega[16:], 4 * base)
    assert FourierFeatureBank(3, n_base=8, n_scales=3, variant="paper").n_features == 32


def test_beta_stays_non_negative_and_gets_gradients():
    bank = FourierFeatureBank(1, n_base=16, n_scales=2, beta_init=0.1)
    assert float(bank.beta.detach()) == pytest.approx(0.1)
    bank(torch.rand(10, 1)).sum().backward()
    assert bank.rho.grad is not None and float(bank.rho.grad) != 0
    opt = torch.optim.SGD(bank.parameters(), lr=100.0)
    for _ in range(50):  # push beta down as hard as possible
        opt.zero_grad()
        bank.beta.backward()
        opt.step()
        assert float(bank.beta.detach()) >= 0


def _literal_ca(net: CrossAttentionNet, x: torch.Tensor) -> torch.Tensor:
    """Seed 000 written out: project every token, single head."""
    phi = net.bank(x)
    h = phi.view(len(x), net.n_tokens, -1)
    q = torch.tanh(net.first(phi))
    d = q.shape[1]
    for l, layer in enumerate(net.layers):
        ql = q @ net.w_q[l]
        k = h @ net.w_k[l]
        v = h @ net.w_v[l]
        a = torch.softmax(torch.einsum("nd,ntd->nt", ql, k) / math.sqrt(d) + net.logit_bias[l], dim=-1)
        q = torch.tanh(layer(q + torch.einsum("nt,ntd->nd", a, v)))
    return net.readout(q)


def test_cross_attention_matches_the_literal_formulas():
    torch.manual_seed(1)
    net = CrossAttentionNet(2, 3, hidden_channels=16, n_layers=3, n_base=32, n_scales=2).double()
    with torch.no_grad():
        net.logit_bias.normal_()
    x = torch.rand(50, 2, dtype=torch.float64)
    assert torch.allclose(net(x), _literal_ca(net, x), atol=1e-12)


def test_multi_head_attention_matches_per_head_projection():
    torch.manual_seed(2)
    net = CrossAttentionNet(1, 1, hidden_channels=8, n_layers=1, n_base=16, n_scales=2, n_heads=2).double()
    x = torch.rand(7, 1, dtype=torch.float64)
    u, a = net(x, return_attention=True)
    phi = net.bank(x)
    h = phi.view(7, net.n_tokens, 8)
    q = torch.tanh(net.first(phi))
    ql, k, v = q @ net.w_q[0], h @ net.w_k[0], h @ net.w_v[0]
    out = []
    for i in range(2):
        sl = slice(4 * i, 4 * i + 4)
        ai = torch.softmax(torch.einsum("nd,ntd->nt", ql[:, sl], k[..., sl]) / 2.0, -1)
        assert torch.allclose(a[:, 0, i], ai, atol=1e-12)
        out.append(torch.einsum("nt,ntd->nd", ai, v[..., sl]))
    expected = net.readout(torch.tanh(net.layers[0](q + torch.cat(out, 1))))
    assert torch.allclose(u, expected, atol=1e-12)


def test_attention_weights_and_logit_bias():
    torch.manual_seed(3)
    net = CrossAttentionNet(2, 1, hidden_channels=16, n_layers=2, n_base=32, n_scales=2)
    x = torch.rand(20, 2)
    _, a = net(x, return_attention=True)
    assert a.shape == (20, 2, 1, 4) and torch.allclose(a.sum(-1), torch.ones(20, 2, 1))
    with torch.no_grad():
        net.logit_bias[:, 3] = -30.0  # AFE's mask at eta = -30: the last token is shut out
    _, a = net(x, return_attention=True)
    assert float(a[..., 3].detach().max()) < 1e-10


def test_token_width_must_divide_the_bank():
    with pytest.raises(ValueError, match=r"M = 96 features.*not a multiple of the token width hidden_channels=64"):
        CrossAttentionNet(1, 1, hidden_channels=64, n_base=48, n_scales=2)
    with pytest.raises(ValueError, match="n_heads=3 must divide"):
        CrossAttentionNet(1, 1, hidden_channels=64, n_heads=3)


@pytest.mark.parametrize("options", [dict(update="residual"), dict(first_query="input"), dict(low_frequency=8),
                                     dict(variant="paper", n_base=16), dict(n_heads=4, activation="sin")])
def test_options_give_finite_smooth_outputs(options):
    torch.manual_seed(4)
    kw = dict(hidden_channels=16, n_layers=2, n_base=32, n_scales=2) | options
    net = CrossAttentionNet(2, 2, **kw).double()
    x = torch.rand(9, 2, dtype=torch.float64, requires_grad=True)
    u = net(x)
    (g,) = torch.autograd.grad(u[:, 0].sum(), x, create_graph=True)
    (gg,) = torch.autograd.grad(g[:, 0].sum(), x)
    assert u.shape == (9, 2) and torch.isfinite(gg).all()
    if options.get("low_frequency"):
        assert net.alpha is not None and net.low is not None


@pytest.mark.parametrize("cls, kw", [(CrossAttentionNet, dict(hidden_channels=16, n_base=32, n_scales=2)),
                                     (RFFMLP, dict(hidden_channels=16, n_base=32, n_scales=2)),
                                     (MultiScaleFourierNet, dict(hidden_channels=16, sigmas=[1, 5], n_features=8)),
                                     (MLP, dict(hidden_channels=16, periodic=[1], frequencies=[(0, 12.5)]))])
def test_models_reload_identically_from_config_and_state(cls, kw):
    torch.manual_seed(5)
    net = cls(2, 1, **kw)
    again = build(cls.__name__, net.config)
    x = torch.rand(11, 2)
    assert not torch.allclose(again(x), net(x))  # a fresh bank (or fresh weights) is a different network...
    again.load_state_dict(net.state_dict())
    assert torch.equal(again(x), net(x))  # ...until the sampled one is loaded
    assert cls.__name__ in MODELS


def test_mlp_periodic_embedding_is_exactly_periodic_in_every_derivative():
    torch.manual_seed(6)
    net = MLP(2, 1, 16, 2, periodic=[0]).double()
    t = torch.rand(7, 1, dtype=torch.float64)
    ends = [torch.cat([torch.full_like(t, e), t], 1).requires_grad_(True) for e in (-1.0, 1.0)]
    (u0, g0, h0), (u1, g1, h1) = (_value_gradient_curvature(net, p) for p in ends)
    assert torch.allclose(u0, u1, atol=1e-13) and torch.allclose(g0, g1, atol=1e-12) and torch.allclose(h0, h1, atol=1e-11)
    assert net.hidden[0].in_features == 3  # x as (cos pi x, sin pi x), t as itself
    with pytest.raises(ValueError, match="periodic axes \\[2\\] out of range"):
        MLP(2, 1, periodic=[2])


def test_mlp_frequencies_enter_as_cos_and_sin():
    net = MLP(2, 1, 8, 1, frequencies=[(1, 25.0)]).double()
    x = torch.rand(9, 2, dtype=torch.float64)
    t = x[:, 1:]
    assert torch.equal(net.embed(x), torch.cat([x, torch.cos(25 * t), torch.sin(25 * t)], 1))
    assert net.hidden[0].in_features == 4
    with pytest.raises(ValueError, match="frequencies \\[\\[2, 1.0\\]\\] need an input axis"):
        MLP(2, 1, frequencies=[(2, 1.0)])


def _value_gradient_curvature(net, p):
    u = net(p)
    (g,) = torch.autograd.grad(u.sum(), p, create_graph=True)
    (h,) = torch.autograd.grad(g[:, 0].sum(), p)
    return u, g, h


def test_cross_attention_net_trains_and_saves_through_solve(tmp_path):
    line = pf.Interval(0, 1)
    prob = pf.Problem(line, "u", lambda u, x: u.xx + (2 * math.pi) ** 2 * torch.sin(2 * math.pi * x),
                      [pf.Dirichlet(0.0, on=line.boundary)])
    sol = pf.solve(prob, CrossAttentionNet(1, 1, hidden_channels=8, n_layers=2, n_base=16, n_scales=2),
                   steps=20, points=32, progress=False)
    assert sol.history["loss"][-1] < sol.history["loss"][0]
    sol.save(tmp_path / "ca.h5")
    back = pf.Solution.load(tmp_path / "ca.h5")
    xs = np.linspace(0, 1, 13)
    assert np.array_equal(back(x=xs), sol(x=xs)) and type(back.model.network).__name__ == "CrossAttentionNet"


def test_solve_uses_the_cross_attention_network_by_default_for_high_frequency_data():
    line = pf.Interval(0, 1)  # sin(80 x) has |omega| 40 in the normalised box: beyond the plain MLP's 20
    prob = pf.Problem(line, "u", lambda u, x: u.xx + torch.sin(80 * x), [pf.Dirichlet(0.0, on=line.boundary)])
    sol = pf.solve(prob, steps=1, points=8, boundary_points=2, progress=False)
    net = sol.model.network
    assert isinstance(net, CrossAttentionNet)
    # on a CPU, the seed's architecture at the size that fits it (pinnfreq.defaults), and the reasons recorded
    assert (net.config["hidden_channels"], net.config["n_layers"], net.bank.n_features) == (32, 2, 128)
    assert any(e.startswith("chose network: cross-attention") for e in sol.history["events"])
