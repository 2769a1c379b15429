"""L-BFGS starts from the best of Adam's last states, judged on L-BFGS's own points.

Adam with new points every 100 steps (and RAD's draws) is noisy: now and then a step spikes the loss,
and where that happens just before Adam's share of a time budget ends, L-BFGS starts from the spiked
state and refines it into a worse minimum. Seen on Burgers at 120 s (seed 2, relative L2 by reference
tracking): 0.039 at Adam step 2,500, 0.14 at 2,600 where L-BFGS took over, 0.078 at the end; seeds
whose last Adam states were calm ended at 2.5e-3-6e-3.

Every ``every`` Adam steps the network's state is kept (the last ``keep`` of them, copies on the
device: no host read during Adam). When L-BFGS first starts, each kept state and the current one are
evaluated on the points L-BFGS is about to train on, the same loss for all, and L-BFGS starts from the
lowest (one host read, once). The choice is recorded in the events.

Not a default: with it on, Burgers at 120 s still missed its shock in 2 of 5 runs (0.12, 0.098; the
other failure mode, L-BFGS refining a misplaced shock on RAD's concentrated points, is what the
default's ``RAD(lbfgs="both")`` addresses; benchmarks/README.md). Opt in with ``plugins=[pf.BestStart()]``.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

import torch

from .base import Plugin

if TYPE_CHECKING:
    from ..trainer import Trainer


class BestStart(Plugin):
    name = "best_start"

    def __init__(self, every: int = 100, keep: int = 4):
        if not isinstance(every, int) or every < 1 or not isinstance(keep, int) or keep < 1:
            raise ValueError(f"BestStart: every and keep must be positive integers, got {every!r}, {keep!r}")
        self.every, self.keep = every, keep
        self.states: deque = deque(maxlen=keep)
        self.done = False

    def attach(self, trainer: "Trainer") -> None:
        self.states, self.done = deque(maxlen=self.keep), False

    def after_step(self, trainer: "Trainer") -> None:
        if self.done or trainer.phase(trainer.step - 1) != "adam" or trainer.adam_clock() % self.every:
            return
        self.states.append((trainer.adam_clock(), {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}))

    def before_step(self, trainer: "Trainer") -> None:
        if self.done or trainer.phase() != "lbfgs":
            return
        self.done = True
        if not self.states:
            return
        current = (trainer.adam_clock(), {k: v.detach().clone() for k, v in trainer.model.state_dict().items()})
        candidates = [*self.states, current]
        losses = []
        for _, state in candidates:
            trainer.model.load_state_dict(state)
            with torch.enable_grad():  # the residuals differentiate the network with respect to its inputs
                shared = trainer._shared(trainer._term_losses())
            losses.append(trainer._total(shared).detach())
        values = torch.stack(losses).tolist()  # the one host read
        best = min(range(len(values)), key=values.__getitem__)
        trainer.model.load_state_dict(candidates[best][1])
        self.states.clear()
        if best != len(candidates) - 1:
            trainer.snapshot()  # the state a non-finite L-BFGS step would go back to
            trainer._event(f"step {trainer.taken()}: L-BFGS takes over from Adam's state of step {candidates[best][0]} "
                           f"(loss {values[best]:.3g} on L-BFGS's points against {values[-1]:.3g} at Adam's last step)")

    def state_dict(self) -> dict[str, Any]:
        return {"done": self.done, "states": [(s, {k: v.cpu() for k, v in st.items()}) for s, st in self.states]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.done = bool(state["done"])
        self.states = deque(((int(s), dict(st)) for s, st in state["states"]), maxlen=self.keep)

    def describe(self) -> str:
        return f"L-BFGS starts from the best of Adam's last {self.keep} states (kept every {self.every} steps)"
