"""Networks. Each model is an ``nn.Module`` mapping (n, in_channels) -> (n, out_channels) that keeps
its constructor arguments in ``self.config`` and is registered by name for reloading."""

from .cross_attention import CrossAttentionNet
from .features import FourierFeatureBank
from .mlp import MLP
from .multiscale_ff import MultiScaleFourierNet
from .registry import MODELS, build, register
from .rff_mlp import RFFMLP

__all__ = ["CrossAttentionNet", "FourierFeatureBank", "MLP", "MODELS", "MultiScaleFourierNet", "RFFMLP", "build",
           "register"]
