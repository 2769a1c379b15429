"""Taylor-mode jets against nested autograd (the reference), to float64 round-off."""

import pytest
import torch

from pinnfreq.jet import Jet
from pinnfreq.nn import MLP, RFFMLP, CrossAttentionNet

PAIRS = [(0, 0), (1, 1), (0, 1)]


def _autograd(fn, x):
    x = x.detach().requires_grad_(True)
    u = fn(x)
    (g,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    second = {(i, j): torch.autograd.grad(g[:, i].sum(), x, retain_graph=True)[0][:, j] for i, j in PAIRS}
    return u.detach(), g.detach(), second


def assert_jet_matches_autograd(fn, jet_fn, x):
    u, g, second = _autograd(fn, x)
    j = jet_fn(Jet.input(x, PAIRS))
    assert torch.allclose(j.v, u, atol=1e-12)
    assert torch.allclose(j.g.permute(1, 0), g, atol=1e-12)
    for k, pair in enumerate(PAIRS):
        assert torch.allclose(j.h[k], second[pair], atol=1e-11), pair


def _x(n=40):
    torch.manual_seed(0)
    return (torch.rand(n, 2, dtype=torch.float64) * 2 - 1)


def test_elementary_rules():
    x = _x()
    assert_jet_matches_autograd(lambda p: torch.tanh(3 * p[:, 0] - p[:, 1]), lambda j: (j @ torch.tensor([3.0, -1.0], dtype=torch.float64)).tanh(), x)
    assert_jet_matches_autograd(lambda p: torch.sin(p[:, 0]) * torch.cos(2 * p[:, 1]),
           lambda j: j.column(0).sin() * j.column(1).scale(2.0).cos(), x)


def test_softmax_rule():
    w = torch.randn(2, 5, dtype=torch.float64)
    x = _x()
    for k in range(5):
        assert_jet_matches_autograd(lambda p, k=k: torch.softmax(torch.sin(p @ w), -1)[:, k],
               lambda j, k=k: (j @ w).sin().softmax(-1).column(k), x)


def _ca_with_afe_tokens():
    net = CrossAttentionNet(2, 1, hidden_channels=8, n_layers=2, n_base=16, n_scales=2)
    omega = torch.randint(-5, 6, (16, 2)).float() * torch.pi
    net.add_tokens(omega, torch.rand(16) * 6.28, torch.full((16,), 0.3))
    return net


@pytest.mark.parametrize("net", [
    lambda: MLP(2, 1, 16, 3),
    lambda: MLP(2, 1, 16, 2, activation="sin"),
    lambda: MLP(2, 1, 16, 2, periodic=[0]),
    lambda: MLP(2, 1, 16, 2, periodic=[0], frequencies=[(1, 7.5), (1, 15.0)]),
    lambda: RFFMLP(2, 1, hidden_channels=8, n_layers=2, n_base=16, n_scales=3),
    lambda: CrossAttentionNet(2, 1, hidden_channels=8, n_layers=3, n_base=16, n_scales=2),
    lambda: CrossAttentionNet(2, 1, hidden_channels=8, n_layers=2, n_base=16, n_scales=2, update="residual"),
    lambda: CrossAttentionNet(2, 1, hidden_channels=8, n_layers=2, n_base=16, n_scales=2, first_query="input"),
    lambda: CrossAttentionNet(2, 1, hidden_channels=8, n_layers=2, n_base=16, n_scales=2, n_heads=4),
    lambda: CrossAttentionNet(2, 1, hidden_channels=8, n_layers=2, n_base=16, n_scales=2, low_frequency=6),
    _ca_with_afe_tokens,
])
def test_networks_in_taylor_mode_match_autograd(net):
    torch.manual_seed(1)
    model = net().double()
    if hasattr(model, "logit_bias"):
        with torch.no_grad():
            model.logit_bias.normal_()
    assert_jet_matches_autograd(lambda p: model(p)[:, 0], lambda j: model.forward_jet(j).column(0), _x())


def test_parameter_gradients_through_jets_match():
    torch.manual_seed(2)
    model = CrossAttentionNet(2, 1, hidden_channels=8, n_layers=2, n_base=16, n_scales=2).double()
    x = _x()
    _, _, second = _autograd(lambda p: model(p)[:, 0], x)
    p = x.detach().requires_grad_(True)
    u = model(p)[:, 0]
    (g,) = torch.autograd.grad(u.sum(), p, create_graph=True)
    lap_ref = sum(torch.autograd.grad(g[:, i].sum(), p, create_graph=True)[0][:, i] for i in range(2))
    j = model.forward_jet(Jet.input(x, [(0, 0), (1, 1)]))
    lap_jet = j.h[..., 0].sum(0)
    params = list(model.parameters())
    ref = torch.autograd.grad((lap_ref**2).mean(), params, allow_unused=True)
    got = torch.autograd.grad((lap_jet**2).mean(), params, allow_unused=True)
    for a, b in zip(ref, got):
        assert (a is None and b is None) or torch.allclose(a, b, atol=1e-12)


def test_batched_matrix_product_rule():
    """Jet.bmm (one torch.bmm over product-rule-expanded components) against autograd, with a mixed pair."""
    torch.manual_seed(3)
    w1, w2 = torch.randn(2, 12, dtype=torch.float64), torch.randn(2, 20, dtype=torch.float64)

    def plain(p):
        return torch.bmm(torch.tanh(p @ w1).view(-1, 3, 4), torch.sin(p @ w2).view(-1, 4, 5)).flatten(1)

    def jet(j):
        return (j @ w1).tanh().reshape(len(j.v), 3, 4).bmm((j @ w2).sin().reshape(len(j.v), 4, 5))

    for k in (0, 7, 14):
        assert_jet_matches_autograd(lambda p, k=k: plain(p)[:, k], lambda j, k=k: jet(j).reshape(len(j.v), 15).column(k), _x())


@pytest.mark.parametrize("net", [
    lambda: CrossAttentionNet(2, 1, hidden_channels=8, n_layers=2, n_base=16, n_scales=2),
    lambda: CrossAttentionNet(2, 1, hidden_channels=8, n_layers=2, n_base=16, n_scales=2, n_heads=2, low_frequency=4),
    _ca_with_afe_tokens,
    lambda: RFFMLP(2, 1, hidden_channels=8, n_layers=2, n_base=16, n_scales=3),
    lambda: MLP(2, 1, 8, 2, periodic=[1], frequencies=[(1, 4.0)]),
])
def test_cached_features_give_the_same_values_and_gradients(net):
    """The per-point-set cache (waves kept, envelope applied per step, its gradient summed by chunks)
    changes nothing: values, derivatives and every parameter gradient, the envelope's included, equal
    those of plain autograd through an uncached jet."""
    torch.manual_seed(4)
    model = net().double()
    x = _x(300)

    def loss(j):
        return (j.h.sum(0) ** 2).mean() + (j.g**2).mean() + (j.v**2).mean()

    cache: dict = {}
    model.forward_jet(Jet.input(x, [(0, 0), (1, 1)]), cache=cache)  # fills it
    assert cache
    cached = model.forward_jet(Jet.input(x, [(0, 0), (1, 1)]), cache=cache)
    plain = model.forward_jet(Jet.input(x.clone().requires_grad_(True), [(0, 0), (1, 1)]))  # no constants
    for a, b in ((cached.v, plain.v), (cached.g, plain.g), (cached.h, plain.h)):
        assert torch.allclose(a, b, atol=1e-12)
    params = list(model.parameters())
    for a, b in zip(torch.autograd.grad(loss(cached), params), torch.autograd.grad(loss(plain), params)):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("width", [8, 16])
def test_envelope_gradient_over_many_chunks(monkeypatch, width):
    """The envelope's gradient, summed a chunk of points at a time, against central differences. The
    backward pass takes one of two routes by the waves' shape per point (rows against columns); the
    scores and the weighted sum take opposite ones, and swap them between 4 tokens of width 8 and 2
    of width 16."""
    import pinnfreq.jet as jet_module

    monkeypatch.setattr(jet_module._ScaledBmm, "CHUNK_ELEMENTS", 1000)  # a few points a chunk: many chunks
    torch.manual_seed(5)
    model = CrossAttentionNet(2, 1, hidden_channels=width, n_layers=2, n_base=16, n_scales=2).double()
    x, cache = _x(200), {}

    def loss():
        j = model.forward_jet(Jet.input(x, [(0, 0)]), cache=cache)
        return (j.h[0] ** 2).mean()

    (grad,) = torch.autograd.grad(loss(), [model.bank.rho])
    eps = 1e-6
    with torch.no_grad():
        model.bank.rho += eps
        up = loss()
        model.bank.rho -= 2 * eps
        down = loss()
        model.bank.rho += eps
    assert torch.allclose(grad, (up - down) / (2 * eps), rtol=1e-6)


def test_cache_follows_the_tokens_and_pairs():
    """AFE's new tokens or other derivative pairs recompute what is cached, never reuse it."""
    torch.manual_seed(6)
    model = CrossAttentionNet(2, 1, hidden_channels=8, n_layers=2, n_base=16, n_scales=2).double()
    x, cache = _x(), {}
    model.forward_jet(Jet.input(x, [(0, 0)]), cache=cache)
    model.add_tokens(torch.ones(8, 2, dtype=torch.float64) * 3.0, torch.zeros(8, dtype=torch.float64),
                     torch.full((8,), 0.3, dtype=torch.float64))
    for pairs in ([(0, 0)], [(0, 1)]):
        cached = model.forward_jet(Jet.input(x, pairs), cache=cache)
        fresh = model.forward_jet(Jet.input(x, pairs))
        assert torch.allclose(cached.h, fresh.h, atol=1e-12) and torch.allclose(cached.v, fresh.v, atol=1e-12)


def test_closed_store_refuses_derivatives_it_does_not_carry():
    from pinnfreq.diff import FieldStore

    x = _x()
    jet = MLP(2, 1, 8, 2).double().forward_jet(Jet.input(x, [(0, 0)]))
    store = FieldStore.from_jet(x.requires_grad_(True), jet, ("x", "y"), ("u",), closed=True)
    assert torch.equal(store.field("u").xx.value, jet.h[0][:, 0])
    with pytest.raises(RuntimeError, match=r"u\.yy was not asked for .* engine='autograd'"):
        store.field("u").yy.value


def test_unsupported_activation_is_named():
    with pytest.raises(NotImplementedError, match="gelu"):
        MLP(2, 1, 4, 1, activation="gelu").double().forward_jet(Jet.input(_x(), PAIRS))


def test_taylor_engine_trains_like_autograd():
    """Same problem, same seed: the two engines take the same steps up to round-off."""
    import math

    import pinnfreq as pf

    space = pf.Interval(-1, 1)
    prob = pf.Problem(space * pf.Time(0, 1), "u", lambda u: u.t + u * u.x - 0.05 * u.xx,
                      [pf.Initial(lambda x: -torch.sin(math.pi * x)), pf.Dirichlet(0.0, on=space.boundary)])
    runs = {e: pf.solve(prob, CrossAttentionNet(2, 1, hidden_channels=8, n_layers=2, n_base=16, n_scales=2),
                        steps=15, points=64, boundary_points=16, dtype="float64", engine=e, progress=False)
            for e in ("autograd", "taylor")}
    a, t = runs["autograd"].history["loss"], runs["taylor"].history["loss"]
    assert a[0] == t[0] and a != t[:1] * len(a)
    assert max(abs(x - y) / x for x, y in zip(a, t)) < 1e-10


def test_taylor_engine_carries_third_derivatives_where_the_network_can():
    """u.xxx through an MLP's jet (pairs and the triple), equal to nested autograd's losses; through a
    network whose jet knows second derivatives only, and past third order: autograd."""
    import pinnfreq as pf
    from pinnfreq.train.losses import Engine, sample_batches, term_losses
    from pinnfreq.train.config import TrainConfig
    from pinnfreq.model import PINNModel

    line = pf.Interval(0, 1)
    prob = pf.Problem(line, "u", {"kdv": lambda u: u.xxx + u * u.x, "poisson": lambda u: u.xx,
                                  "beam": lambda u: u.xxxx},
                      [pf.Dirichlet(0.0, on=line.boundary)])
    batches = sample_batches(prob, TrainConfig(points=16, boundary_points=4), 0, torch.device("cpu"), torch.float64)
    mlp = PINNModel(MLP(1, 1, 8, 2).double(), [0.0], [1.0])
    engine = Engine("taylor")
    first = term_losses(prob, mlp, batches, engine)  # autograd, learning what each term reads
    assert engine.pairs == {"kdv": [(0, 0), (0, 0, 0)], "poisson": [(0, 0)], "beam": None, "dirichlet": []}
    second = term_losses(prob, mlp, batches, engine)
    for k in first:
        assert torch.allclose(first[k], second[k], rtol=1e-12, atol=0)
    second_order_only = PINNModel(_SoftplusNet().double(), [0.0], [1.0])
    engine = Engine("taylor")
    first = term_losses(prob, second_order_only, batches, engine)
    assert engine.pairs["kdv"] is None and engine.pairs["poisson"] == [(0, 0)]
    second = term_losses(prob, second_order_only, batches, engine)
    assert torch.allclose(first["kdv"], second["kdv"], rtol=1e-12, atol=0)


class _SoftplusNet(torch.nn.Module):
    '''A user's network whose jet knows second derivatives only (elementwise given no third).'''

    def __init__(self):
        super().__init__()
        self.inner, self.outer = torch.nn.Linear(1, 8), torch.nn.Linear(8, 1)

    def forward(self, x):
        return self.outer(torch.nn.functional.softplus(self.inner(x)))

    def forward_jet(self, x):
        z = x.linear(self.inner)
        s = torch.sigmoid(z.v)
        return z.elementwise(torch.nn.functional.softplus(z.v), s, s * (1 - s)).linear(self.outer)


TRIPLES = [(0, 0, 0), (0, 0, 1), (0, 1, 1), (1, 1, 1)]


def assert_third_order_matches_autograd(fn, jet_fn, x):
    x = x.detach().requires_grad_(True)
    u = fn(x)
    (g,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    second = [torch.autograd.grad(g[:, i].sum(), x, create_graph=True)[0] for i in range(2)]
    j = jet_fn(Jet.input(x.detach(), PAIRS + TRIPLES))
    for k, (a, b) in enumerate(PAIRS):
        assert torch.allclose(j.h[k], second[a][:, b], atol=1e-11), (a, b)
    for k, (a, b, c) in enumerate(TRIPLES, len(PAIRS)):
        third = torch.autograd.grad(second[a][:, b].sum(), x, retain_graph=True)[0][:, c]
        assert torch.allclose(j.h[k], third, atol=1e-10), (a, b, c)


@pytest.mark.parametrize("case", [
    (lambda p: torch.tanh(3 * p[:, 0] - p[:, 1]) * torch.sin(p[:, 1]),
     lambda j: (j @ torch.tensor([3.0, -1.0], dtype=torch.float64)).tanh() * j.column(1).sin()),
    (lambda p: torch.cos(2 * p[:, 0] * p[:, 1]), lambda j: (j.column(0) * j.column(1)).scale(2.0).cos()),
], ids=["tanh-sin", "cos-of-product"])
def test_third_order_rules(case):
    assert_third_order_matches_autograd(*case, _x())


@pytest.mark.parametrize("net", [
    lambda: MLP(2, 1, 16, 3),
    lambda: MLP(2, 1, 16, 2, activation="sin", periodic=[0]),
    lambda: RFFMLP(2, 1, hidden_channels=8, n_layers=2, n_base=16, n_scales=3),
    lambda: CrossAttentionNet(2, 1, hidden_channels=8, n_layers=2, n_base=16, n_scales=2),
    lambda: CrossAttentionNet(2, 1, hidden_channels=8, n_layers=2, n_base=16, n_scales=2, n_heads=4,
                              update="residual", low_frequency=6),
    _ca_with_afe_tokens,
], ids=["mlp", "sin-periodic-mlp", "rff-mlp", "ca", "ca-heads-residual-low", "ca-afe"])
def test_networks_carry_third_derivatives(net):
    torch.manual_seed(1)
    model = net().double()
    assert_third_order_matches_autograd(lambda p: model(p)[:, 0], lambda j: model.forward_jet(j).column(0), _x())


def test_hard_constraints_carry_third_derivatives():
    """KdV's initial value imposed exactly: u = A + B N, A and B's jets by autograd up to third order."""
    import math

    import pinnfreq as pf
    from pinnfreq.constraints import HardConstraints
    from pinnfreq.model import PINNModel

    prob = pf.Problem(pf.Interval(-1, 1) * pf.Time(0, 1), "u", lambda u: u.t + u * u.x + 0.022**2 * u.xxx,
                      [pf.Initial(lambda x: torch.cos(math.pi * x))])
    torch.manual_seed(0)
    model = PINNModel(MLP(2, 1, 16, 2, periodic=[0]), [-1.0, 0.0], [1.0, 1.0], {},
                      HardConstraints.from_problem(prob, 0.3)).double()
    x = _x() * torch.tensor([1.0, 0.5], dtype=torch.float64) + torch.tensor([0.0, 0.5], dtype=torch.float64)
    assert_third_order_matches_autograd(lambda p: model(p)[:, 0], lambda j: _physical_jet(model, j), x)


def _physical_jet(model, j):
    """The model's jet at the physical points of the input jet ``j`` (PINNModel takes points, not jets)."""
    return model.forward_jet(j.v, j.pairs).column(0)


def test_triples_need_their_pairs_and_come_last():
    with pytest.raises(ValueError, match=r"needs the pairs \[\(0, 1\)\]"):
        Jet.input(_x(), [(0, 0), (0, 0, 1)])
    with pytest.raises(ValueError, match="pairs .*then triples"):
        Jet.input(_x(), [(0, 0, 0), (0, 0)])
    with pytest.raises(NotImplementedError, match="third derivative"):
        Jet.input(_x(), [(0, 0), (0, 0, 0)]).elementwise(*(torch.ones(40, 2, dtype=torch.float64),) * 3)


def test_softmax_and_per_point_products_carry_triples():
    w = torch.randn(2, 5, dtype=torch.float64)
    for k in range(5):
        assert_third_order_matches_autograd(lambda p, k=k: torch.softmax(torch.sin(p @ w), -1)[:, k],
                                            lambda j, k=k: (j @ w).sin().softmax(-1).column(k), _x())
    a, b = torch.randn(2, 6, dtype=torch.float64), torch.randn(2, 6, dtype=torch.float64)

    def plain(p):
        return torch.bmm(torch.tanh(p @ a).view(-1, 2, 3), torch.sin(p @ b).view(-1, 3, 2)).flatten(1)

    def jet(j):
        return Jet.bmm((j @ a).tanh().reshape(-1, 2, 3), (j @ b).sin().reshape(-1, 3, 2)).reshape(-1, 4)
    for k in range(4):
        assert_third_order_matches_autograd(lambda p, k=k: plain(p)[:, k], lambda j, k=k: jet(j).column(k), _x())


@pytest.mark.parametrize("pairs", [[], [(0, 1)], [(0, 0), (1, 1)], [(0, 0), (0, 1), (1, 1), (0, 0, 0), (0, 1, 1)]])
def test_products_equal_bmm(pairs):
    """Jet.products (every product of components, then the rule's sums) equals Jet.bmm (the rule's
    blocks as one left operand), values and derivatives, with two rows per point (heads)."""
    torch.manual_seed(8)
    j = Jet.input(torch.rand(7, 2, dtype=torch.float64), pairs)
    a = (j @ torch.randn(2, 6, dtype=torch.float64)).tanh().reshape(7, 2, 3)
    b = (j @ torch.randn(2, 12, dtype=torch.float64)).sin().reshape(7, 3, 4)
    side_by_side = b.components().permute(0, 2, 1, 3).reshape(7, 3, -1)  # (n, k, K r)
    expected, got = a.bmm(b), a.products(side_by_side)
    for e, g in ((expected.v, got.v), (expected.g, got.g), (expected.h, got.h)):
        assert e.shape == g.shape and torch.allclose(e, g, rtol=1e-12, atol=1e-14)
