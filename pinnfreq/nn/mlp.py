"""The plain fully connected network, the baseline every comparison includes."""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from ..jet import Jet
from ..jet import activation as jet_activation
from .cache import jet_key, memo
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
    periodic : sequence of int
        Input axes along which the network is exactly periodic with period 2 (the normalised box
        [-1, 1] a PINN's network sees): each such coordinate x enters as (cos pi x, sin pi x), the
        periodic embedding of Dong & Ni (2021) and jaxpi, so the output and all its derivatives are
        periodic to round-off and a ``Periodic`` condition along it leaves the loss.
    frequencies : sequence of (axis, omega)
        Known angular frequencies (normalised box) along an input axis: each adds (cos omega x_axis,
        sin omega x_axis) to the input, features a tanh MLP would otherwise learn last (spectral bias).
        ``solve()``'s default puts octaves around the rate at which the initial state starts to turn
        here, along time (``pinnfreq.defaults.time_features``): sin(x) advected at speed 50 turns 25
        radians per unit of normalised time (120 s, median of 3 seeds: relative L2 0.83 -> 4.5e-3;
        benchmarks/README.md). In the spirit of the spatio-temporal Fourier features of Wang, Wang &
        Perdikaris (2021), which are random; these are given.

    Shapes: (n, in_channels) -> (n, out_channels). Weights use Xavier-normal initialisation.
    """

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int = 64, n_layers: int = 4,
                 activation: str = "tanh", periodic: Sequence[int] = (),
                 frequencies: Sequence[tuple[int, float]] = ()):
        super().__init__()
        if n_layers < 1 or hidden_channels < 1:
            raise ValueError(f"MLP needs n_layers >= 1 and hidden_channels >= 1, got {n_layers}, {hidden_channels}")
        periodic = sorted({int(a) for a in periodic})
        if any(not 0 <= a < in_channels for a in periodic):
            raise ValueError(f"MLP: periodic axes {periodic} out of range for {in_channels} input(s)")
        frequencies = [[int(a), float(w)] for a, w in frequencies]
        bad = [f for f in frequencies if not 0 <= f[0] < in_channels or not math.isfinite(f[1])]
        if bad:
            raise ValueError(f"MLP: frequencies {bad} need an input axis in [0, {in_channels}) and a finite omega")
        self.config = dict(in_channels=in_channels, out_channels=out_channels, hidden_channels=hidden_channels,
                           n_layers=n_layers, activation=activation, periodic=periodic, frequencies=frequencies)
        self.act = make_activation(activation)
        widths = [in_channels + len(periodic) + 2 * len(frequencies)] + [hidden_channels] * n_layers
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.out = nn.Linear(hidden_channels, out_channels)
        for layer in [*self.hidden, self.out]:
            nn.init.xavier_normal_(layer.weight)
            nn.init.zeros_(layer.bias)

    def embed(self, x: Tensor) -> Tensor:
        """(n, in_channels) -> (n, in_channels + len(periodic) + 2 len(frequencies)): the periodic axes
        as (cos, sin) of pi x, then the cos and sin of each given frequency."""
        axes, freqs = self.config["periodic"], self.config["frequencies"]
        if not axes and not freqs:
            return x
        rest = [a for a in range(x.shape[-1]) if a not in axes]
        angle = torch.cat([math.pi * x[..., axes]] + [w * x[..., a:a + 1] for a, w in freqs], -1)
        return torch.cat([x[..., rest], torch.cos(angle), torch.sin(angle)], -1)

    def forward(self, x: Tensor) -> Tensor:
        x = self.embed(x)
        for layer in self.hidden:
            x = self.act(layer(x))
        return self.out(x)

    def forward_jet(self, x: Jet, cache: dict | None = None, skip_first: bool = False) -> Jet:
        """Taylor mode; the embedding, a constant of the points, is kept in ``cache``. With
        ``skip_first``, ``x`` is already the first layer's pre-activation."""
        act = jet_activation(self.config["activation"])
        if (self.config["periodic"] or self.config["frequencies"]) and not skip_first:
            x = memo(cache, "mlp_embedding", jet_key(x), lambda: self._embed_jet(x))
        for k, layer in enumerate(self.hidden):
            x = act(x if skip_first and k == 0 else x.linear(layer))
        return x.linear(self.out)

    def _embed_jet(self, x: Jet) -> Jet:
        axes, freqs = self.config["periodic"], self.config["frequencies"]
        rest = [x.column(a).unsqueeze(-1) for a in range(x.v.shape[-1]) if a not in axes]
        angle = ([x.column(a).unsqueeze(-1).scale(math.pi) for a in axes]
                 + [x.column(a).unsqueeze(-1).scale(w) for a, w in freqs])
        return Jet.cat(rest + [a.cos() for a in angle] + [a.sin() for a in angle], -1)

