"""pinnfreq: physics-informed neural networks without spectral bias, and snapshot surrogates."""

__version__ = "0.1.0"

from .afe import AFE  # noqa: E402
from .conditions import Data, Dirichlet, Initial, Neumann, Periodic, Robin  # noqa: E402
from .diff import Field, d, div, grad, laplacian  # noqa: E402
from .geometry import Ball, Box, Disk, Interval, Polygon, Rectangle, Time  # noqa: E402
from .nn import MLP, RFFMLP, CrossAttentionNet, FourierFeatureBank, MultiScaleFourierNet  # noqa: E402
from .problem import Problem  # noqa: E402
from .reference import Reference  # noqa: E402
from .solution import Solution  # noqa: E402
from .solve import solve  # noqa: E402
from .train.config import TrainConfig  # noqa: E402
from .train.plugins import RAD, BestStart, CausalWeighting, GradNorm, LRAnnealing, Plugin  # noqa: E402
from . import cli  # noqa: E402

__all__ = [
    "AFE", "Ball", "BestStart", "CausalWeighting", "GradNorm", "LRAnnealing", "Plugin", "RAD", "Box", "CrossAttentionNet", "Data", "Dirichlet", "Disk", "Field", "FourierFeatureBank", "Initial",
    "Interval", "MLP", "MultiScaleFourierNet", "Neumann", "Periodic", "RFFMLP",
    "Polygon", "Problem", "Rectangle", "Reference", "Robin", "Solution", "Time", "TrainConfig", "d", "div",
    "cli", "grad", "laplacian", "solve", "__version__",
]
