"""PINN training: the loss terms of a problem at collocation points, on the one training loop
(:mod:`pinnfreq.train.loop`, which owns steps, phases, budget, history, checkpoints, resume and fault
recovery).

The collocation points of resampling round r come from ``(seed, term, r)``, so a run resumed from a
checkpoint takes exactly the steps of an uninterrupted one.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

import torch

from .. import distributed
from ..afe import AFE, AFERun
from ..model import PINNModel
from ..problem import Problem
from ..reference import Reference
from ..residuals import Batch
from .config import TrainConfig
from .loop import Callback, Loop, StepInfo
from .losses import Engine, check_problem, sample_batches, term_losses

LBFGS_ROUNDS = 2**40  # the point sets of L-BFGS's rounds are drawn as rounds LBFGS_ROUNDS + 1, + 2, ...
from .plugins import BALANCING, Plugin, ReferenceTracking

__all__ = ["Callback", "StepInfo", "Trainer"]


class Trainer(Loop):
    """Trains a :class:`PINNModel` on a :class:`Problem`: Adam, then optional L-BFGS (see the loop)."""

    def __init__(self, problem: Problem, model: PINNModel, config: TrainConfig,
                 reference: Reference | None = None, callbacks: Sequence[Callback] = (), afe: AFE | None = None,
                 ranks: distributed.Context | None = None, plugins: Sequence[Plugin] = ()):
        self.problem = problem
        self.name = problem.name
        unknown = [k for k in config.weights if k not in problem.terms]
        if unknown:
            raise ValueError(f"solve(): weights given for unknown term(s) {unknown}; terms are {problem.terms}")
        # conditions the model satisfies by construction (hard constraints, periodic banks) are no loss terms
        self.exact = model.exact_terms
        self.terms = [t for t in problem.terms if t not in self.exact]
        super().__init__(model, config, callbacks, ranks, [])
        self.weights = {t: float(config.weights.get(t, 1.0)) for t in self.terms}
        self._compiled = torch.compile(term_losses) if config.compile else None
        self._warm = False  # whether the current point set's caches are filled (see _term_losses)
        self.engine = Engine(config.engine)
        self._round: int | None = None
        self.batches = None
        self.plugins = self._checked_plugins(self._settings_plugins(config, reference, afe) + list(plugins))

    def _settings_plugins(self, config: TrainConfig, reference: Reference | None, afe: AFE | None) -> list[Plugin]:
        """The settings' plug-ins: loss balancing, reference tracking, AFE (the given ones follow them)."""
        out: list[Plugin] = []
        if config.adaptive_weights is not None:
            out.append(BALANCING[config.adaptive_weights](config.adapt_every))
        if reference is not None:
            out.append(ReferenceTracking(reference, config.eval_every))
        if afe is not None:
            out.append(AFERun(afe, self.problem, self.model, config.steps, config.seed, self.record, self._event))
        return out

    def evaluate(self) -> dict[str, float] | None:
        """Relative L2 error per field against the reference (recorded in the history); None without one."""
        tracker = self._plugin(ReferenceTracking)
        return None if tracker is None else tracker.evaluate(self)

    def set_batch(self, term: str, batch: Batch) -> None:
        """Train ``term`` on new points from the next step on (adaptive resampling)."""
        self.batches[term] = batch
        self._warm = False  # the new points' caches are empty

    def identity(self) -> dict[str, Any]:
        net = self.model.network
        return json.loads(json.dumps({
            "coordinates": self.problem.coordinates, "fields": self.problem.fields, "terms": self.problem.terms,
            "lower": self.model.lower.tolist(), "upper": self.model.upper.tolist(),
            "parameters": sorted(self.problem.parameters),
            "network": {"class": type(net).__name__, "config": getattr(net, "config", None)},
            **({"exact": self.exact} if self.exact else {}),  # absent without hard constraints (older files)
        }, default=str))

    # -- hooks of the loop ---------------------------------------------------------------------------
    def _prepare(self) -> None:
        self._ensure_batches()
        check_problem(self.problem, self.model, self.batches)

    def _before_step(self) -> None:
        self._ensure_batches()

    def _finish(self) -> None:
        self.evaluate()

    def _logged(self) -> dict[str, torch.Tensor]:
        return dict(self.model.unknowns)

    def _extra_state(self) -> dict[str, Any]:
        return {"engine": self.engine.state_dict()}

    def _load(self, state: dict[str, Any]) -> None:
        if "plugins" not in state:
            state = {**state, "plugins": _older_plugins(state)}
        super()._load(state)

    def _load_extra(self, state: dict[str, Any]) -> None:
        self.engine.load_state_dict(state.get("engine", {}))
        self._round = None
        self._ensure_batches()

    def _term_losses(self) -> dict[str, torch.Tensor]:
        """The loss terms at the current batches; with ``compile``, through ``torch.compile`` once the
        engine has learnt what each term reads (its first evaluation runs eagerly). If compilation
        fails (no C++ compiler, an operation it cannot trace), training goes on eagerly and says so."""
        reducers = {t: r for p in self.plugins for t, r in p.reducers(self).items()}
        args = (self.problem, self.model, self.batches, self.engine, reducers)
        # plug-ins that differentiate single terms (retain_graph: loss balancing) need an eager step:
        # compiled backward passes do not allow it
        single = any(p.needs_graph(self) for p in self.plugins)
        ready = len(self.engine.pairs) == len(self.terms)
        if self._compiled is not None and ready:
            nested = sorted(t for t, pairs in self.engine.pairs.items() if pairs is None)
            if nested:  # torch.compile cannot differentiate through nested autograd (no double backward)
                self._compiled = None
                self._event(f"step {self.taken()}: compile skipped: {', '.join(nested)} read(s) derivatives on nested "
                            "autograd (third order, or a network without Taylor mode), which torch.compile cannot "
                            "differentiate")
        if self._compiled is not None and ready and self._warm and not single:
            try:
                return self._compiled(*args)
            except Exception as err:  # noqa: BLE001 -- any compiler failure: fall back, never stop training
                self._compiled = None
                self._event(f"step {self.taken()}: torch.compile failed ({type(err).__name__}: {str(err)[:200]}); "
                            "training goes on without it", warn=True)
        out = term_losses(*args)
        # an eager pass with the pairs known has filled the point set's caches (Fourier waves, the jets of
        # hard constraints: computed with autograd, which a compiled graph cannot run)
        self._warm = ready
        return out

    def _ensure_batches(self) -> None:
        every = self.config.resample_every
        # L-BFGS keeps the last Adam step's points (its memory is of one objective) unless
        # lbfgs_resample_every says otherwise; Adam after a stalled L-BFGS resamples on, on the same clock
        adam = max(self.adam_clock() - 1, 0) if self.phase() == "lbfgs" else self.adam_clock()
        round_ = adam // every if every else 0
        lbfgs_round = self.lbfgs_round()
        if lbfgs_round:
            round_ = LBFGS_ROUNDS + lbfgs_round  # seeds of their own, apart from Adam's rounds
        if round_ != self._round:
            self.batches = sample_batches(self.problem, self.config, round_, self.device, self.dtype,
                                          self.ranks.rank, self.ranks.world, self.exact)
            if lbfgs_round and self._round is not None:  # a new objective: L-BFGS starts afresh
                self._make_optimizer()
            self._round = round_
            self._warm = False


def _older_plugins(state: dict[str, Any]) -> dict[str, dict]:
    """The plug-in states of a checkpoint written before the plug-ins (its own keys for gradient-norm
    weights and AFE), so that such checkpoints stay loadable."""
    out = {}
    if (state.get("config") or {}).get("adaptive_weights") == "gradnorm":
        out["gradnorm"] = {"factors": state.get("adaptive", {})}
    if state.get("afe") is not None:
        out["afe"] = state["afe"]
    return out
