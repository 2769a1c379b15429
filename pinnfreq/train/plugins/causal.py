"""Causal weighting of evolution equations (Wang, Sankaran & Perdikaris 2022, "Respecting causality").

The time interval is cut into ``chunks`` equal slabs; L_i is the mean squared residual of the points in
slab i, and the equation's loss is

    L = (1 / M) sum_i w_i L_i,   w_i = exp(-epsilon * sum_{k<i} L_k)   (w_0 = 1, no gradient through w),

so a slab trains only once the slabs before it have small residuals: the network cannot fit late times
with a wrong early solution. ``epsilon`` is the paper's causality tolerance (jaxpi's default, 1.0, and
32 slabs, are the defaults here); the paper also anneals it upwards, which this plug-in does not. The
smallest weight is recorded (``causal/min_weight``): near 1, every slab is trained. Adam steps only:
L-BFGS steps (whose line search needs one fixed objective) take the plain mean square.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from ...residuals import Batch
from .base import Plugin

if TYPE_CHECKING:
    from ..losses import Reducer
    from ..trainer import Trainer


class CausalWeighting(Plugin):
    name = "causal"

    def __init__(self, epsilon: float = 1.0, chunks: int = 32):
        if not (isinstance(epsilon, (int, float)) and epsilon > 0):
            raise ValueError(f"CausalWeighting: epsilon must be positive, got {epsilon!r}")
        if not isinstance(chunks, int) or chunks < 2:
            raise ValueError(f"CausalWeighting: chunks must be an integer >= 2, got {chunks!r}")
        self.epsilon, self.chunks = float(epsilon), chunks
        self.weights: Tensor | None = None  # the last step's slab weights (on the device)

    def attach(self, trainer: "Trainer") -> None:
        problem = trainer.problem
        if problem.time is None:
            raise ValueError(f"causal weighting needs an evolution problem; {problem.name!r} has no time coordinate")
        self.column = problem.coordinates.index(problem.time)
        lower, upper = problem.domain.bounds
        self.t0, self.t1 = float(lower[self.column]), float(upper[self.column])
        self.terms = [t for t in problem.equations if t in trainer.terms]
        self.weights = None

    def reducers(self, trainer: "Trainer") -> dict[str, "Reducer"]:
        # Adam steps only: the weights move with the parameters, so under L-BFGS the objective would
        # change between the line search's evaluations (the paper trains with Adam alone)
        return {t: self.reduce for t in self.terms} if trainer.phase() == "adam" else {}

    def reduce(self, residuals: list[Tensor], batch: Batch) -> Tensor:
        if "causal" not in batch.cache:  # which slab each point is in, and the slabs' sizes: per point set
            t = batch.points[:, self.column].detach()
            slab = ((t - self.t0) / (self.t1 - self.t0) * self.chunks).long().clamp(0, self.chunks - 1)
            count = torch.zeros(self.chunks, dtype=t.dtype, device=t.device).index_add_(0, slab, torch.ones_like(t))
            batch.cache["causal"] = (slab, count.clamp(min=1))
        slab, count = batch.cache["causal"]
        per_point = sum(r**2 for r in residuals)
        slabs = torch.zeros(self.chunks, dtype=per_point.dtype, device=per_point.device).index_add(0, slab, per_point) / count
        weights = torch.exp(-self.epsilon * (torch.cumsum(slabs, 0) - slabs)).detach()
        self.weights = weights
        return torch.mean(weights * slabs)

    def after_step(self, trainer: "Trainer") -> None:
        if self.weights is not None and trainer.step % trainer.log_every == 0 and trainer.phase(trainer.step - 1) == "adam":
            trainer.record("causal/step", trainer.taken())
            trainer.record("causal/min_weight", float(self.weights.min()))

    def describe(self) -> str:
        return f"causal weighting of {', '.join(self.terms)} (epsilon {self.epsilon:g}, {self.chunks} time slabs)"

    def state_dict(self) -> dict[str, Any]:
        return {"epsilon": self.epsilon, "chunks": self.chunks}
