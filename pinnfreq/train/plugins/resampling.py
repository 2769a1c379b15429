"""Residual-based adaptive distribution, RAD (Wu, Zhu, Tan, Kartha & Lu 2023).

Every ``every`` Adam steps the equations' collocation points are redrawn from a candidate pool of
``pool`` times as many points, each with probability

    p(x) ~ |r(x)|^k / mean |r|^k + c,

so that points gather where the residual is large while ``c`` keeps a uniform share (k = 1, c = 1 is the
paper's recommended default; k -> 0 or c -> inf is uniform resampling). The pool and the draw come from
``(seed, term, round)``, and the points in use are checkpointed, so a resumed run trains on the same
points. At each draw the history records ``rad_step`` and, per term, ``rad_top_tenth/<term>``: the share
of the pool's summed |residual| held by its top tenth of points (0.1 for a flat residual, towards 1 for
one concentrated on a front). L-BFGS needs a fixed loss (its memory is of one objective): it trains on
the last set (``lbfgs="last"``), on a uniform draw of as many points made when it starts
(``lbfgs="uniform"``), or on both together (``lbfgs="both"``: twice the points, each iteration about
twice the cost). With ``lbfgs_resample_every`` (L-BFGS restarting on new points every so many
iterations) and ``lbfgs="last"``, each restart trains on a new residual-based draw (``rad_step`` records
it too) instead of the trainer's uniform points.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ...geometry.sampling import sub_seed
from ...residuals import Batch, residuals
from .base import Plugin

if TYPE_CHECKING:
    from ..trainer import Trainer


LBFGS_POINTS = ("last", "uniform", "both")


class RAD(Plugin):
    name = "rad"

    def __init__(self, every: int = 500, k: float = 1.0, c: float = 1.0, pool: int = 8, lbfgs: str = "last"):
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"RAD: every must be a positive integer, got {every!r}")
        if not (k >= 0 and c >= 0 and k + c > 0):
            raise ValueError(f"RAD: k and c must be >= 0 and not both 0, got k={k!r}, c={c!r}")
        if not isinstance(pool, int) or pool < 1:
            raise ValueError(f"RAD: pool must be an integer >= 1, got {pool!r}")
        if lbfgs not in LBFGS_POINTS:
            raise ValueError(f"RAD: lbfgs must be one of {LBFGS_POINTS}, got {lbfgs!r}")
        self.every, self.k, self.c, self.pool, self.lbfgs = every, float(k), float(c), pool, lbfgs
        self.points: dict[str, torch.Tensor] = {}  # the redrawn points in use, per term
        self.rounds = 0
        self.uniform_drawn = False  # lbfgs "uniform" or "both": L-BFGS's uniform points drawn
        self.lbfgs_rounds = 0  # L-BFGS restarts (lbfgs_resample_every) drawn for

    def attach(self, trainer: "Trainer") -> None:
        self.terms = [t for t in trainer.problem.equations if t in trainer.terms]
        self.device, self.dtype = trainer.device, trainer.dtype
        self.points, self.rounds = {}, 0  # a plug-in passed to several solve() calls starts afresh in each
        self.uniform_drawn, self.lbfgs_rounds = False, 0
        self.n: dict[str, int] = {}  # points per term, as the trainer draws them

    def before_step(self, trainer: "Trainer") -> None:
        for term in self.terms:  # read before any of ours are put back
            self.n.setdefault(term, len(trainer.batches[term].points))
        if self.lbfgs != "last" and trainer.phase() == "lbfgs" and not self.uniform_drawn:
            self.uniform_drawn = True
            for term in self.terms:
                uniform = self.candidates(trainer, term, 1, 20_000)
                last = self.points.get(term, trainer.batches[term].points)
                self.points[term] = uniform if self.lbfgs == "uniform" else torch.cat([last, uniform])
        if self.lbfgs == "last" and trainer.phase() == "lbfgs" and trainer.lbfgs_round() > self.lbfgs_rounds:
            self.lbfgs_rounds = trainer.lbfgs_round()  # L-BFGS restarts on new points: a draw of ours
            self._redraw(trainer)
        # a resampling of the trainer (resample_every) or a resume brings its own batches: put ours back
        for term, pts in self.points.items():
            if trainer.batches[term].points is not pts:
                trainer.set_batch(term, Batch(pts, None))

    def after_step(self, trainer: "Trainer") -> None:
        if trainer.phase(trainer.step - 1) != "adam" or trainer.step % self.every != 0:
            return
        self._redraw(trainer)

    def _redraw(self, trainer: "Trainer") -> None:
        self.rounds += 1
        trainer.record("rad_step", trainer.taken())
        for term in self.terms:
            self.points[term] = self.draw(trainer, term)
            trainer.set_batch(term, Batch(self.points[term], None))

    def candidates(self, trainer: "Trainer", term: str, factor: int, round_: int) -> torch.Tensor:
        """``factor`` x this rank's points of ``term``, drawn uniformly (seeded apart from the trainer's
        rounds); each rank gets its own share of one draw, as the trainer's points are shared."""
        n = self.n[term]
        seed = sub_seed(trainer.config.seed, trainer.problem.terms.index(term), 10_000 + round_)
        pool, _ = trainer.problem.sample(term, factor * n * trainer.ranks.world, trainer.config.sampler, seed)
        pool = torch.as_tensor(np.ascontiguousarray(pool), dtype=trainer.dtype, device=trainer.device)
        return pool[trainer.ranks.rank * factor * n:(trainer.ranks.rank + 1) * factor * n].contiguous()

    def draw(self, trainer: "Trainer", term: str) -> torch.Tensor:
        n = self.n.setdefault(term, len(trainer.batches[term].points))
        seed = sub_seed(trainer.config.seed, trainer.problem.terms.index(term), 10_000 + self.rounds)
        pool = self.candidates(trainer, term, self.pool, self.rounds)
        r = sum(q**2 for q in residuals(trainer.problem, trainer.model, term, pool)).sqrt().double()
        # how concentrated the residual is: the share of sum |r| held by the pool's top tenth (0.1: flat)
        top = r.flatten().sort(descending=True).values
        share = top[: max(1, len(top) // 10)].sum() / top.sum().clamp(min=1e-300)
        trainer.record(f"rad_top_tenth/{term}", float(share))
        density = r**self.k
        p = density / density.mean().clamp(min=1e-300) + self.c
        gen = torch.Generator(device="cpu").manual_seed(seed + trainer.ranks.rank)
        chosen = torch.multinomial(p.cpu(), n, replacement=False, generator=gen)
        return pool[chosen.to(pool.device)].contiguous()

    def describe(self) -> str:
        lbfgs = dict(last="the last set", uniform="uniform points", both="the last set and as many uniform points")
        return (f"RAD resampling of {', '.join(self.terms)} every {self.every} steps (k={self.k:g}, c={self.c:g}; "
                f"L-BFGS on {lbfgs[self.lbfgs]})")

    def state_dict(self) -> dict[str, Any]:
        return {"rounds": self.rounds, "points": {t: p.cpu() for t, p in self.points.items()},
                "uniform_drawn": self.uniform_drawn, "lbfgs_rounds": self.lbfgs_rounds}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rounds = int(state["rounds"])
        self.uniform_drawn = bool(state.get("uniform_drawn", False))  # absent in older checkpoints
        self.lbfgs_rounds = int(state.get("lbfgs_rounds", 0))
        self.points = {t: torch.as_tensor(p).to(device=self.device, dtype=self.dtype)
                       for t, p in state["points"].items()}
