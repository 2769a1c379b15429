"""Reference tracking: the relative L2 error per field against a reference, every ``every`` steps
(history ``eval_step`` and ``rel_l2/<field>``) and at the end of training."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from ...reference import Reference
from .base import Plugin

if TYPE_CHECKING:
    from ..trainer import Trainer


class ReferenceTracking(Plugin):
    name = "reference"

    def __init__(self, reference: Reference, every: int = 500):
        self.reference, self.every = reference, every

    def attach(self, trainer: "Trainer") -> None:
        self.points = torch.as_tensor(self.reference.points(trainer.problem.coordinates), dtype=trainer.dtype,
                                      device=trainer.device)

    def after_step(self, trainer: "Trainer") -> None:
        if trainer.step % self.every == 0:
            trainer.flush()  # the history in step order: this step's losses before its errors
            self.evaluate(trainer)

    def evaluate(self, trainer: "Trainer") -> dict[str, float]:
        """Relative L2 error per field (recorded once per step)."""
        with torch.no_grad():
            pred = torch.cat([trainer.model(p) for p in self.points.split(65536)]).cpu().double().numpy()
        errors = {}
        for i, f in enumerate(trainer.problem.fields):
            if f in self.reference.fields:
                ref = self.reference.values(f)
                errors[f] = float(((pred[:, i] - ref) ** 2).sum() ** 0.5 / max((ref**2).sum() ** 0.5, 1e-300))
        history = trainer.history
        if errors and (not history.get("eval_step") or history["eval_step"][-1] != trainer.taken()):
            trainer.record("eval_step", trainer.taken())
            for f, e in errors.items():
                trainer.record(f"rel_l2/{f}", e)
        return errors
