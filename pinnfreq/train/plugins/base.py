"""The interface every training technique implements.

The training loop (:class:`pinnfreq.train.loop.Loop`, whose objectives are
:class:`pinnfreq.train.trainer.Trainer` for PINNs and :class:`pinnfreq.surrogate.train.SurrogateTrainer`
for surrogates) owns steps and phases, the time budget, history, progress, checkpoints and resume,
recovery from non-finite losses and Ctrl-C. Everything that changes what a step does is a plug-in: it
overrides the hooks it needs, and adding a technique is one new file. ``reducers`` and ``needs_graph``
are read by the PINN objective only (a surrogate's loss has no residuals). The hooks, in the order a step calls them:

``before_step(trainer)``
    Before the losses of a step are computed (Adam or L-BFGS: ``trainer.phase()`` tells).
``reducers(trainer)``
    ``{term: reducer}``: how a term's residuals become its loss (default: the mean square); a reducer
    takes ``(residuals, batch)`` and returns a scalar tensor. Read once per step.
``needs_graph(trainer)``
    True on steps where ``before_backward`` differentiates single terms (such steps run eagerly, not
    through ``torch.compile``).
``before_backward(trainer, losses)``
    Adam steps: the per-term losses, still carrying their graphs.
``term_factors()``
    ``{term: factor}``: multiplies the user's weight of each term (loss balancing).
``after_step(trainer)``
    After a step is counted (``trainer.step`` is the number of steps taken). Values of recent steps may
    still be on the device: call ``trainer.flush()`` before reading the history.
``state_dict()`` / ``load_state_dict(state)``
    Everything the plug-in needs to resume exactly; saved in checkpoints under its ``name``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..losses import Reducer
    from ..trainer import Trainer


class Plugin:
    """A training technique. Subclasses set ``name`` (unique in a run) and override the hooks they need."""

    name = "plugin"

    def attach(self, trainer: "Trainer") -> None:
        """Called once before training starts (and before a checkpoint is loaded into it); resets what an
        earlier run with the same plug-in object left, so that one object can serve several runs."""

    def before_step(self, trainer: "Trainer") -> None:
        pass

    def reducers(self, trainer: "Trainer") -> dict[str, "Reducer"]:
        return {}

    def needs_graph(self, trainer: "Trainer") -> bool:
        return False

    def before_backward(self, trainer: "Trainer", losses: dict) -> None:
        pass

    def term_factors(self) -> dict[str, float]:
        return {}

    def after_step(self, trainer: "Trainer") -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass

    def describe(self) -> str:
        """One line for the history's events."""
        return self.name
