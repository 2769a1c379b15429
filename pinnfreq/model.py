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
    constraints : HardConstraints, optional
        Output transform imposing initial/boundary values exactly (:mod:`pinnfreq.constraints`);
        it has no weights, so checkpoints and saved solutions hold the same tensors with or without it.
    periodic : sequence of str
        Names of the periodic conditions the network satisfies by construction (a bank snapped to the
        period); with the transform's, they are the conditions that leave the loss (``exact_terms``).
    """

    def __init__(self, network: nn.Module, lower: Sequence[float], upper: Sequence[float],
                 parameters: Mapping[str, float] | None = None, constraints: nn.Module | None = None,
                 periodic: Sequence[str] = ()):
        super().__init__()
        self.network = network
        self.constraints = constraints
        self.periodic = list(periodic)
        # float64, so that a model moved to float64 maps the box's ends to -1 and 1 exactly (a float32 2 pi
        # left a periodic embedding 2e-8 off at the upper end); ``.to(float32)`` rounds them as it must.
        self.register_buffer("lower", torch.as_tensor(list(lower), dtype=torch.float64))
        self.register_buffer("upper", torch.as_tensor(list(upper), dtype=torch.float64))
        self.unknowns = nn.ParameterDict({k: nn.Parameter(torch.tensor(float(v))) for k, v in (parameters or {}).items()})

    @property
    def dtype(self) -> torch.dtype:
        """The network's floating dtype (its first parameter's; the bounds' where it has none)."""
        return next(self.network.parameters(), self.lower).dtype

    @property
    def device(self) -> torch.device:
        return self.lower.device

    @property
    def exact_terms(self) -> list[str]:
        """The problem's conditions this model satisfies by construction."""
        return list(getattr(self.constraints, "terms", [])) + self.periodic

    def normalise(self, points: Tensor) -> Tensor:
        lower, upper = self.lower.to(points.dtype), self.upper.to(points.dtype)
        return 2 * (points - lower) / (upper - lower) - 1

    def forward(self, points: Tensor) -> Tensor:
        """(n, d) physical points -> (n, n_fields)."""
        out = self.network(self.normalise(points))
        return out if self.constraints is None else self.constraints(points, out)

    def forward_jet(self, points: Tensor, pairs: Sequence[tuple[int, ...]], cache: dict | None = None) -> Jet:
        """Values, first derivatives and the derivatives ``pairs`` (pairs, then triples) w.r.t. the physical
        coordinates, in Taylor mode (the network must implement ``forward_jet``).

        ``cache``: a dict for this one set of points, where the network keeps what depends on them alone
        (:mod:`pinnfreq.nn.cache`); passed on to networks whose ``forward_jet`` takes it.
        """
        if not hasattr(self.network, "forward_jet"):
            raise NotImplementedError(f"{type(self.network).__name__} has no Taylor-mode forward_jet")
        lower, upper = self.lower.to(points.dtype), self.upper.to(points.dtype)
        scale = 2 / (upper - lower)
        x = Jet.input(points, pairs).scale(scale).shift(-lower * scale - 1)
        if cache is not None and "cache" in inspect.signature(self.network.forward_jet).parameters:
            out = self.network.forward_jet(x, cache=cache)
        else:
            out = self.network.forward_jet(x)
        return out if self.constraints is None else self.constraints.jet(points, pairs, out, cache)
