"""Loss balancing: per-term factors on the user's weights, set from the terms' gradients.

``GradNorm`` (Wang, Wang & Perdikaris 2023, "expert's guide", the scheme jaxpi uses):
    w_t <- 0.9 w_t + 0.1 * sum_j |grad L_j| / |grad L_t|   (every term, equations included).
``LRAnnealing`` (Wang, Teng & Perdikaris 2021, "learning rate annealing", their algorithm 1):
    w_t <- 0.9 w_t + 0.1 * max|grad L_r| / mean|grad L_t|  for every condition t, where L_r are the
    equations (their weight stays 1); max and mean over the network's parameters.

Both update every ``every`` Adam steps, from the gradients of the terms over all ranks' points. A term
whose weighted loss is below ``SATISFIED`` of the weighted total is not weighted up (it may be weighted
down): it is satisfied, and its gradient is noise that a factor of thousands would make as loud as
the equations'. The lid-driven cavity's pressure gauge (one point, p = 0: met within a few steps,
loss ~1e-9) drove gradient-norm balancing's factor for it to 4.7e4 and the error (120 s, seed 0) from
0.24 with fixed weights to 0.65; with this rule 0.15-0.25 (3 seeds; benchmarks/README.md).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch

from .base import Plugin

SATISFIED = 1e-4  # a term below this fraction of the weighted total loss is not weighted up

if TYPE_CHECKING:
    from ..trainer import Trainer


class LossBalancing(Plugin):
    """Common part: the per-term gradients every ``every`` Adam steps, and the moving average."""

    name = "balancing"
    momentum = 0.9

    def __init__(self, every: int = 100):
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"{type(self).__name__}: every must be a positive integer, got {every!r}")
        self.every = every
        self.factors: dict[str, float] = {}

    def attach(self, trainer: "Trainer") -> None:
        self.factors = {t: 1.0 for t in trainer.terms}

    def needs_graph(self, trainer: "Trainer") -> bool:
        return trainer.phase() == "adam" and trainer.step % self.every == 0

    def before_backward(self, trainer: "Trainer", losses: dict) -> None:
        if not self.needs_graph(trainer):
            return
        params = [p for p in trainer.model.parameters() if p.requires_grad]
        grads = {}
        for t, v in losses.items():
            g = torch.autograd.grad(v, params, retain_graph=True, allow_unused=True)
            g = [torch.zeros_like(p) if gi is None else gi for gi, p in zip(g, params)]
            trainer.ranks.average_(g)  # the gradient of the loss over all ranks' points
            grads[t] = torch.cat([gi.reshape(-1) for gi in g])
        values = [v.detach().reshape(1).clone() for v in losses.values()]  # averaged in place: not the losses
        trainer.ranks.average_(values)  # every rank decides alike
        weights = trainer.term_weights()
        weighted = {t: weights[t] * float(v) for t, v in zip(losses, values)}
        total = sum(weighted.values())
        for t, target in self.targets(trainer, grads).items():
            if not (math.isfinite(target) and target > 0):
                continue
            if weighted[t] < SATISFIED * total:
                target = min(target, self.factors[t])
            self.factors[t] = self.momentum * self.factors[t] + (1 - self.momentum) * target

    def targets(self, trainer: "Trainer", grads: dict[str, torch.Tensor]) -> dict[str, float]:
        raise NotImplementedError

    def term_factors(self) -> dict[str, float]:
        return self.factors

    def state_dict(self) -> dict[str, Any]:
        return {"factors": dict(self.factors)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.factors.update(state["factors"])


class GradNorm(LossBalancing):
    name = "gradnorm"

    def targets(self, trainer: "Trainer", grads: dict[str, torch.Tensor]) -> dict[str, float]:
        norms = {t: float(g.norm()) for t, g in grads.items()}
        total = sum(norms.values())
        return {t: total / n for t, n in norms.items() if n > 0}

    def describe(self) -> str:
        return f"gradient-norm loss balancing every {self.every} steps"


class LRAnnealing(LossBalancing):
    name = "annealing"

    def targets(self, trainer: "Trainer", grads: dict[str, torch.Tensor]) -> dict[str, float]:
        equations = [t for t in grads if t in trainer.problem.equations]
        if not equations:
            return {}
        top = max(float(grads[t].abs().max()) for t in equations)
        return {t: top / float(g.abs().mean()) for t, g in grads.items()
                if t not in equations and float(g.abs().mean()) > 0}

    def describe(self) -> str:
        return f"learning-rate-annealing loss balancing every {self.every} steps"


BALANCING = {"gradnorm": GradNorm, "annealing": LRAnnealing}
