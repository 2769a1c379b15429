"""Training techniques as plug-ins of the one training loop (see :mod:`.base` for the hooks)."""

from .base import Plugin
from .causal import CausalWeighting
from .handoff import BestStart
from .resampling import RAD
from .tracking import ReferenceTracking
from .weighting import BALANCING, GradNorm, LossBalancing, LRAnnealing

__all__ = ["BALANCING", "BestStart", "CausalWeighting", "GradNorm", "LRAnnealing", "LossBalancing", "Plugin", "RAD",
           "ReferenceTracking"]
