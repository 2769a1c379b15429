"""The per-term losses: terms that read the fields' values alone share one forward pass."""

import pytest
import torch

import pinnfreq as pf
from pinnfreq.model import PINNModel
from pinnfreq.nn import CrossAttentionNet
from pinnfreq.train.config import TrainConfig
from pinnfreq.train.losses import Engine, sample_batches, term_losses


@pytest.mark.parametrize("kind", ["autograd", "taylor"])
def test_terms_reading_values_alone_share_one_forward_pass(kind, monkeypatch):
    square = pf.Rectangle([0.0, 0.0], [1.0, 1.0])
    prob = pf.Problem(square, ("u", "v"), {"flow": lambda u, v: (u.xx + v.y, u * v.x)}, conditions=[
        pf.Dirichlet(1.0, on=square.boundary, field="u", name="wall"),
        pf.Neumann(0.0, on=square.boundary, field="v", name="flux"),
        pf.Data({"x": [0.5, 0.2], "y": [0.5, 0.1]}, {"v": [0.0, 0.3]}, name="gauge")])
    batches = sample_batches(prob, TrainConfig(points={"flow": 32, "wall": 16, "flux": 12}), 0, torch.device("cpu"), torch.float64)
    torch.manual_seed(0)
    model = PINNModel(CrossAttentionNet(2, 2, hidden_channels=8, n_layers=2, n_base=8, n_scales=2).double(),
                      [0.0, 0.0], [1.0, 1.0])
    engine = Engine(kind)
    first = term_losses(prob, model, batches, engine)  # each term on its own, learning what it reads
    assert engine.values_only == {"flow": False, "wall": True, "flux": False, "gauge": True}

    calls = []
    monkeypatch.setattr(PINNModel, "forward", lambda self, p, f=PINNModel.forward: calls.append(len(p)) or f(self, p))
    second = term_losses(prob, model, batches, engine)
    shared = len(batches["wall"].points) + len(batches["gauge"].points)
    assert shared in calls and len(batches["wall"].points) not in calls  # one pass for both
    for term in first:
        assert torch.allclose(first[term], second[term], rtol=1e-12, atol=1e-15), term
    params = list(model.parameters())
    for a, b in zip(torch.autograd.grad(sum(first.values()), params, allow_unused=True),
                    torch.autograd.grad(sum(second.values()), params, allow_unused=True)):
        assert (a is None) == (b is None) and (a is None or torch.allclose(a, b, rtol=1e-10, atol=1e-14))

    restored = Engine(kind)
    restored.load_state_dict(engine.state_dict())  # a resumed run keeps sharing
    assert restored.values_only == engine.values_only
