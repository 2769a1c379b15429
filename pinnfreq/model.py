"""The trainable object of a PINN: a network on normalised coordinates plus unknown parameters."""

from __future__ import annotations

import inspect
from typing import Mapping, Sequence

import torch
from torch import Tensor, nn

from .jet import Jet


class PINNModel(nn.Module):
    """Maps physical points to field values, and holds the problem's unknown parameters.

    The network sees ``2 (p - lower) / (upper - lower) - 1``: the domain's bounding box mapped to
    [-1, 1]^d, where all frequencies of the Fourier-feature models are expressed.

    Parameters
    ----------
    network : nn.Module, (n, d) -> (n, n_fields)
    lower, upper : sequence of float, length d
        Bounding box of the domain.
    parameters : mapping name -> initial value
    """

    def __init__(self, network: nn.Module, lower: Sequence[float], upper: Sequence[float],
                 parameters: Mapping[str, float] | None = None):
        super().__init__()
        self.network = network
        self.register_buffer("lower", torch.as_tensor(list(lower), dtype=torch.get_default_dtype()))
        self.register_buffer("upper", torch.as_tensor(list(upper), dtype=torch.get_default_dtype()))
        self.unknowns = nn.ParameterDict({k: nn.Parameter(torch.tensor(float(v))) for k, v in (parameters or {}).items()})

    def normalise(self, points: Tensor) -> Tensor:
        return 2 * (points - self.lower) / (self.upper - self.lower) - 1

    def forward(self, points: Tensor) -> Tensor:
        """(n, d) physical points -> (n, n_fields)."""
        return self.network(self.normalise(points))

    def forward_jet(self, points: Tensor, pairs: Sequence[tuple[int, int]], cache: dict | None = None) -> Jet:
        """Values, first derivatives and the second derivatives ``pairs`` with respect to the physical
        coordinates, in Taylor mode (the network must implement ``forward_jet``).

        ``cache``: a dict for this one set of points, where the network keeps what depends on them alone
        (:mod:`pinnfreq.nn.cache`); passed on to networks whose ``forward_jet`` takes it.
        """
        if not hasattr(self.network, "forward_jet"):
            raise NotImplementedError(f"{type(self.network).__name__} has no Taylor-mode forward_jet")
        scale = 2 / (self.upper - self.lower)
        x = Jet.input(points, pairs).scale(scale).shift(-self.lower * scale - 1)
        if cache is not None and "cache" in inspect.signature(self.network.forward_jet).parameters:
            return self.network.forward_jet(x, cache=cache)
        return self.network.forward_jet(x)
