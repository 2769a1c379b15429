"""Token mixers with one interface, ``mixer(x, shape=None, mask=None)``: (B, N, d) -> (B, N, d)."""

from .base import Mixer
from .fno import FNOMixer
from .magnitude import MagnitudeAttention, cg_residual, conjugate_gradient, magnitude_weights
from .softmax import SoftmaxAttention
from .spectre import SpectreMixer

__all__ = ["FNOMixer", "MagnitudeAttention", "Mixer", "SoftmaxAttention", "SpectreMixer", "cg_residual", "conjugate_gradient",
           "magnitude_weights"]
