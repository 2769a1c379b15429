"""Models by name, so a saved solution can rebuild its network from ``(name, config)`` alone."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

MODELS: dict[str, type[nn.Module]] = {}


def register(cls: type[nn.Module]) -> type[nn.Module]:
    """Class decorator: make ``cls`` loadable by name. Its instances must keep ``self.config``,
    the keyword arguments that rebuild them."""
    MODELS[cls.__name__] = cls
    return cls


def build(name: str, config: dict[str, Any]) -> nn.Module:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models are {sorted(MODELS)}")
    return MODELS[name](**config)


class Sin(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(x)


_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "tanh": nn.Tanh, "sin": Sin, "gelu": nn.GELU, "silu": nn.SiLU, "relu": nn.ReLU,
}


def activation(name: str) -> nn.Module:
    if name not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(_ACTIVATIONS)}")
    return _ACTIVATIONS[name]()
