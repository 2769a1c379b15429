"""Baseline: the same multi-scale Fourier feature bank fed to a plain MLP (no attention)."""

from __future__ import annotations

from torch import Tensor, nn

from ..jet import Jet
from .features import FourierFeatureBank
from .mlp import MLP
from .registry import register


@register
class RFFMLP(nn.Module):
    """(n, in_channels) -> (n, out_channels): ``MLP(phi(x))`` with ``n_layers`` hidden layers.

    Takes the feature-bank arguments of :class:`CrossAttentionNet`, so the two compare on one bank.
    """

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int = 64, n_layers: int = 4,
                 n_base: int = 128, n_scales: int = 4, sigma: float = 1.0, beta_init: float = 0.1,
                 variant: str = "seed", activation: str = "tanh"):
        super().__init__()
        self.config = dict(in_channels=in_channels, out_channels=out_channels, hidden_channels=hidden_channels,
                           n_layers=n_layers, n_base=n_base, n_scales=n_scales, sigma=sigma, beta_init=beta_init,
                           variant=variant, activation=activation)
        self.bank = FourierFeatureBank(in_channels, n_base, n_scales, sigma, beta_init, variant)
        self.mlp = MLP(self.bank.n_features, out_channels, hidden_channels, n_layers, activation)

    def forward(self, x: Tensor) -> Tensor:
        return self.mlp(self.bank(x))

    def forward_jet(self, x: Jet, cache: dict | None = None) -> Jet:
        """Taylor mode; ``cache`` keeps the bank's waves for fixed points (:mod:`pinnfreq.nn.cache`)."""
        return self.mlp.forward_jet(self.bank.first_layer_jet(x, self.mlp.hidden[0], cache), skip_first=True)
