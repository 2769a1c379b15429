"""``solve()``: train a network on a problem and return a :class:`Solution`."""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from . import distributed
from .afe import AFE
from .conditions import Periodic
from .constraints import HardConstraints
from .defaults import (data_frequencies, default_network, default_plugins, default_settings, plain_network,
                       time_scale)
from .model import PINNModel
from .nn import MLP, MODELS, build
from .problem import Problem
from .reference import Reference
from .solution import Solution
from .train.config import TrainConfig
from .train.plugins import Plugin
from .train.trainer import Callback, Trainer


def solve(problem: Problem, model: nn.Module | None = None, *, reference: Reference | None = None,
          callbacks: Sequence[Callback] = (), afe: AFE | None = None, plugins: Sequence[Plugin] = (),
          **settings: Any) -> Solution:
    """Train a PINN for ``problem``.

    Parameters
    ----------
    problem : Problem
    model : nn.Module, optional
        Maps (n, n_coordinates) normalised points to (n, n_fields); default: the network chosen for the
        problem and device by :func:`pinnfreq.defaults.default_network` -- the cross-attention network where
        the data carry high frequencies or several fields are coupled (and always with ``afe``), a tanh MLP
        for one field with smooth data, periodic coordinates embedded as (cos, sin) (what it chose is
        printed and kept in the history's events).
        A pinnfreq model is rebuilt from its configuration so that ``seed`` fixes its initial weights
        (``init="keep"`` keeps the weights it has, e.g. to warm-start); any other module keeps its own.
    reference : Reference, optional
        Measured against every ``eval_every`` steps and at the end (history ``rel_l2/<field>``).
    callbacks : sequence of callables
        Each is called with a :class:`~pinnfreq.train.trainer.StepInfo` after every step; returning
        True stops training.
    afe : AFE, optional
        Adaptive Frequency Enhancement during the Adam steps (needs a token network such as the
        default :class:`CrossAttentionNet`); what it finds is in the history under ``afe/`` and in
        its events.
    plugins : sequence of Plugin, optional
        Training techniques (:mod:`pinnfreq.train.plugins`): ``CausalWeighting()`` for evolution
        equations, ``RAD()`` adaptive resampling, a loss balancing (``GradNorm()``, ``LRAnnealing()``;
        or ``adaptive_weights=``), or your own subclass of ``Plugin``.
    **settings
        Any field of :class:`~pinnfreq.train.config.TrainConfig`: ``steps``, ``lbfgs_steps``, ``lr``,
        ``schedule``, ``points``, ``resample_every``, ``weights``, ``device``, ``dtype``, ``seed``,
        ``time_budget``, ``checkpoint``, ``checkpoint_every``, ``resume``, ...
        Under ``torchrun`` every rank trains on its own ``points`` (so the ranks together on
        ``points`` times the number of ranks) with averaged gradients, and returns the same solution.

    Returns
    -------
    Solution
        Also when training was interrupted by Ctrl-C (``solution.interrupted`` is then True and the
        checkpoint, if any, holds the last completed step).
    """
    if afe is not None and not isinstance(afe, AFE):
        raise TypeError(f"afe= takes a pinnfreq.AFE, got {type(afe).__name__}")
    if not isinstance(problem, Problem):
        raise TypeError(f"solve() takes a pinnfreq.Problem, got {type(problem).__name__}")
    unknown = [k for k in settings if k not in TrainConfig.__dataclass_fields__]
    if unknown:
        raise TypeError(f"solve() got unknown setting(s) {unknown}; see pinnfreq.TrainConfig")
    chosen: list[str] = []
    freq = data_frequencies(problem) if model is None else None  # the default network's probe, run once
    periodic: list[str] = []  # Periodic conditions the network satisfies by construction
    # (a bad hard_constraints value builds nothing here and is refused by TrainConfig below)
    hard = settings.get("hard_constraints", True)
    constraints = HardConstraints.from_problem(problem, time_scale(problem), distance=hard == "distance") \
        if hard is True or hard == "distance" else None
    if afe is None:  # AFE places its stages by the step count: it keeps the configured steps
        plain = model is None and plain_network(problem, freq) is not None
        plugins, chosen = default_plugins(problem, settings, plugins, plain)
        settings, more = default_settings(settings, _soft_conditions(problem, constraints, model is None), plain,
                                          steady=problem.time is None)
        chosen += more
    config = TrainConfig(**settings)
    # under torchrun: this rank's device, its share of the points, gradients averaged over the ranks
    ranks = distributed.context(config.device) if distributed.launched() else None
    device, dtype = (ranks.device if ranks else config.resolve_device()), config.torch_dtype()
    torch.manual_seed(config.seed)
    d, f = len(problem.coordinates), len(problem.fields)
    with _default_dtype(dtype):
        if model is None:
            network, why, periodic = default_network(problem, device, tokens=afe is not None, freq=freq,
                                                        budget=config.time_budget)
            chosen += why
        elif config.init == "seed" and type(model).__name__ in MODELS and hasattr(model, "config"):
            network = build(type(model).__name__, model.config)  # so that `seed` fixes the weights
        else:
            network = model
        if model is not None:
            periodic = _embedded_periodic(problem, network)
        lower, upper = problem.domain.bounds
        pinn = PINNModel(network, lower.tolist(), upper.tolist(), problem.parameters, constraints, periodic)
        pinn = pinn.to(device=device, dtype=dtype)
    _check_model(pinn, d, f, device, dtype)
    trainer = Trainer(problem, pinn, config, reference, callbacks, afe, ranks, plugins)
    if constraints is not None:
        chosen.append(f"hard constraints: {constraints.describe()} imposed exactly (hard_constraints=False: as losses)")
    for line in chosen:
        trainer.history["events"].append(f"chose {line}")
        if config.progress and (ranks is None or ranks.main):
            print(f"pinnfreq: {line}", flush=True)
    trainer.run()
    return Solution(pinn, problem.coordinates, problem.fields, problem.time, trainer.history, config.to_dict(),
                    reference=reference, contains=problem.domain.contains, name=problem.name,
                    interrupted=trainer.interrupted)


def _soft_conditions(problem: Problem, hard: HardConstraints | None, default_network: bool) -> list[str]:
    """The conditions that will stay loss terms: not imposed by hard constraints, nor (for the default
    network, periodic by construction) periodic."""
    exact = set(hard.terms if hard is not None else [])
    return [c.name for c in problem.conditions
            if c.name not in exact and not (default_network and isinstance(c, Periodic))]


def _embedded_periodic(problem: Problem, network: nn.Module) -> list[str]:
    """The problem's periodic conditions a user's ``MLP(periodic=...)`` satisfies by its embedding
    (period: the box along that coordinate), so that they leave the loss as for the default network."""
    axes = set(network.config["periodic"]) if isinstance(network, MLP) else set()
    return [c.name for c in problem.conditions
            if isinstance(c, Periodic) and problem.coordinates.index(c.coordinate) in axes]


def _check_model(pinn: PINNModel, d: int, f: int, device: torch.device, dtype: torch.dtype) -> None:
    with torch.no_grad():
        try:
            out = pinn(torch.zeros(3, d, device=device, dtype=dtype))
        except RuntimeError as err:
            raise ValueError(f"the model does not take {d} input coordinates: {err}") from None
    if tuple(out.shape) != (3, f):
        raise ValueError(f"the model maps (n, {d}) to {tuple(out.shape)[1:]} per point; the problem has {f} field(s)")


class _default_dtype:
    def __init__(self, dtype: torch.dtype):
        self.dtype = dtype

    def __enter__(self) -> None:
        self.previous = torch.get_default_dtype()
        torch.set_default_dtype(self.dtype)

    def __exit__(self, *exc: Any) -> None:
        torch.set_default_dtype(self.previous)
