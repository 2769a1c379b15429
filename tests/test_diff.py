"""Derivatives against analytic ones, to float64 round-off, and their reuse."""

import math

import pytest
import torch

import pinnfreq as pf
from pinnfreq.diff import FieldStore


def _store(fn, n=64, coords=("x", "t"), spatial=("x",)):
    g = torch.Generator().manual_seed(0)
    p = (torch.rand(n, len(coords), generator=g, dtype=torch.float64) * 2 - 1).requires_grad_(True)
    return FieldStore(p, fn(p), coords, ("u", "v")[: fn(p).shape[1]], spatial), p.detach()


def test_derivatives_up_to_third_order_and_mixed():
    a, b = 1.7, -0.6

    def f(p):
        x, t = p[:, 0], p[:, 1]
        return (torch.sin(a * x) * torch.exp(b * t) + x**3 * t**2)[:, None]

    store, p = _store(f)
    u = store.field("u")
    x, t = p[:, 0], p[:, 1]
    s, c, e = torch.sin(a * x), torch.cos(a * x), torch.exp(b * t)
    expected = {
        "x": a * c * e + 3 * x**2 * t**2,
        "t": b * s * e + 2 * x**3 * t,
        "xx": -a * a * s * e + 6 * x * t**2,
        "xt": a * b * c * e + 6 * x**2 * t,
        "tt": b * b * s * e + 2 * x**3,
        "xxx": -(a**3) * c * e + 6 * t**2,
        "xxt": -a * a * b * s * e + 12 * x * t,
        "xtt": a * b * b * c * e + 6 * x**2,
        "ttt": b**3 * s * e,
    }
    for name, want in expected.items():
        got = getattr(u, name).value.detach()
        assert torch.allclose(got, want, rtol=1e-13, atol=1e-13), name
    assert torch.equal(u.tx.value, u.xt.value)  # one cache entry for both spellings
    assert torch.allclose(pf.d(u, "x", "x", "t").value, expected["xxt"], rtol=1e-13, atol=1e-13)


def test_each_derivative_computed_once_and_siblings_shared():
    store, _ = _store(lambda p: (p[:, :1] ** 4) * torch.cos(p[:, 1:]))
    u = store.field("u")
    assert store.backward_passes == 0  # fields are lazy
    _ = u.xx.value
    assert store.backward_passes == 2  # u -> (u.x, u.t), u.x -> (u.xx, u.xt)
    _ = [f.value for f in (u.x, u.t, u.xt, u.tx, u.xx)]
    assert store.backward_passes == 2
    _ = u.xxx.value
    assert store.backward_passes == 3


def test_laplacian_grad_div_use_spatial_coordinates_only():
    def f(p):
        x, y, t = p[:, 0], p[:, 1], p[:, 2]
        return torch.stack([x**2 * y + t**3, torch.sin(x) * y**2], dim=1)

    store, p = _store(f, coords=("x", "y", "t"), spatial=("x", "y"))
    u, v = store.field("u"), store.field("v")
    x, y = p[:, 0], p[:, 1]
    assert torch.allclose(pf.laplacian(u), 2 * y, atol=1e-13)  # u_tt = 6t is excluded
    assert torch.allclose(pf.grad(u), torch.stack([2 * x * y, x**2], 1), atol=1e-13)
    assert torch.allclose(pf.div(u, v), 2 * x * y + 2 * torch.sin(x) * y, atol=1e-13)
    with pytest.raises(ValueError, match="2 components"):
        pf.div(u)


def test_fields_behave_like_tensors():
    store, p = _store(lambda p: torch.exp(p[:, :1]))
    u = store.field("u")
    x = p[:, 0]
    assert torch.allclose(torch.sin(u), torch.sin(torch.exp(x)))
    assert torch.allclose(2 * u - u * u.x + 1 / u + u**2, 2 * torch.exp(x) - torch.exp(2 * x) + torch.exp(-x) + torch.exp(2 * x))


def test_unknown_derivative_names_fail_clearly():
    store, _ = _store(lambda p: p[:, :1])
    u = store.field("u")
    with pytest.raises(AttributeError, match="not a derivative"):
        _ = u.xz
    with pytest.raises(KeyError, match="unknown coordinate"):
        pf.d(u, "z")


def test_multi_letter_coordinates_parse():
    store, p = _store(lambda p: (p[:, :1] ** 2) * p[:, 1:], coords=("x1", "x2"), spatial=("x1", "x2"))
    u = store.field("u")
    assert torch.allclose(u.x1x2.value, 2 * p[:, 0], atol=1e-14)
    assert torch.allclose(u.x1x1.value, 2 * p[:, 1], atol=1e-14)


def test_derivatives_of_a_network_match_finite_differences():
    torch.manual_seed(0)
    net = pf.MLP(2, 1, hidden_channels=16, n_layers=2).double()
    store, p = _store(net)
    h = 1e-4
    e = torch.tensor([h, 0.0], dtype=torch.float64)
    fd = (net(p + e) - 2 * net(p) + net(p - e))[:, 0] / h**2
    assert torch.allclose(store.field("u").xx.value.detach(), fd.detach(), atol=1e-5)
    assert math.isfinite(float(store.field("u").xt.value.detach().sum()))
