"""Networks. Each model is an ``nn.Module`` mapping (n, in_channels) -> (n, out_channels) that keeps
its constructor arguments in ``self.config`` and is registered by name for reloading."""

from .mlp import MLP
from .registry import MODELS, build, register

__all__ = ["MLP", "MODELS", "build", "register"]
