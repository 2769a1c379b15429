"""The plain fully connected network, the baseline every comparison includes."""

from __future__ import annotations

from torch import Tensor, nn

from ..jet import Jet
from ..jet import activation as jet_activation
from .registry import activation as make_activation, register


@register
class MLP(nn.Module):
    """Fully connected network: ``n_layers`` hidden layers of ``hidden_channels`` units.

    Parameters
    ----------
    in_channels, out_channels : int
        Input coordinates and output fields.
    hidden_channels : int
    n_layers : int
        Number of hidden layers (>= 1).
    activation : str
        ``tanh`` (default), ``sin``, ``gelu``, ``silu`` or ``relu``; PINNs need a smooth one.

    Shapes: (n, in_channels) -> (n, out_channels). Weights use Xavier-normal initialisation.
    """

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int = 64, n_layers: int = 4,
                 activation: str = "tanh"):
        super().__init__()
        if n_layers < 1 or hidden_channels < 1:
            raise ValueError(f"MLP needs n_layers >= 1 and hidden_channels >= 1, got {n_layers}, {hidden_channels}")
        self.config = dict(in_channels=in_channels, out_channels=out_channels, hidden_channels=hidden_channels,
                           n_layers=n_layers, activation=activation)
        self.act = make_activation(activation)
        widths = [in_channels] + [hidden_channels] * n_layers
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.out = nn.Linear(hidden_channels, out_channels)
        for layer in [*self.hidden, self.out]:
            nn.init.xavier_normal_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.hidden:
            x = self.act(layer(x))
        return self.out(x)

    def forward_jet(self, x: Jet, cache: dict | None = None, skip_first: bool = False) -> Jet:  # noqa: ARG002
        """Taylor mode (nothing here depends on the points alone, so ``cache`` is unused); with
        ``skip_first``, ``x`` is already the first layer's pre-activation."""
        act = jet_activation(self.config["activation"])
        for k, layer in enumerate(self.hidden):
            x = act(x if skip_first and k == 0 else x.linear(layer))
        return x.linear(self.out)

