"""Collocation batches and the per-term losses of a problem."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from ..geometry.sampling import sub_seed
from ..model import PINNModel
from ..problem import Problem
from ..residuals import Batch, context
from .config import INTERIOR_POINTS, TrainConfig


def term_points(problem: Problem, config: TrainConfig, term: str) -> int:
    if isinstance(config.points, dict):
        default = config.boundary_points if term not in problem.equations else INTERIOR_POINTS
        unknown = [k for k in config.points if k not in problem.terms]
        if unknown:
            raise ValueError(f"solve(): points given for unknown term(s) {unknown}; terms are {problem.terms}")
        return config.points.get(term, default)
    return config.points if term in problem.equations else config.boundary_points


def sample_batches(problem: Problem, config: TrainConfig, round_: int, device: torch.device,
                   dtype: torch.dtype, rank: int = 0, world: int = 1, skip: Sequence[str] = ()) -> dict[str, Batch]:
    """Points for every term but those in ``skip`` (conditions imposed exactly); the same ``(seed, round_)``
    always gives the same points.

    Under ``torch.distributed``, rank r of ``world`` takes the r-th share of the point set one process
    with ``world`` times the points would take, so the ranks together train on exactly that set. Shares
    are of the rows a term returns, which need not be the count asked for: a ``Periodic`` condition
    returns pairs of points, ``Data`` its fixed observations.
    """
    out = {}
    for k, term in enumerate(problem.terms):
        if term in skip:
            continue
        n = term_points(problem, config, term)
        pts, nrm = problem.sample(term, n * world, config.sampler, sub_seed(config.seed, k, round_))
        lo, hi = rank * len(pts) // world, (rank + 1) * len(pts) // world
        pts, nrm = pts[lo:hi], None if nrm is None else nrm[lo:hi]
        if len(pts) == 0:
            raise ValueError(f"term {term!r} samples no points" + (f" on rank {rank} of {world}" if world > 1 else ""))
        out[term] = Batch(torch.as_tensor(np.ascontiguousarray(pts), dtype=dtype, device=device),
                          None if nrm is None else torch.as_tensor(np.ascontiguousarray(nrm), dtype=dtype, device=device))
    return out


class Engine:
    """How derivatives are computed, per loss term.

    ``"autograd"``: nested reverse mode (the reference). ``"taylor"``: the first evaluation of a term
    runs on autograd and records which derivatives its residual reads; from then on one Taylor-mode
    forward pass carries the values, all first derivatives and exactly the second- and third-order
    derivatives it read (terms that read derivatives of order four or more, networks without
    ``forward_jet``, and third orders through a network whose jet cannot carry them stay on autograd).
    """

    def __init__(self, kind: str = "autograd"):
        self.kind = kind
        # term -> the jet's pairs (i, j) and triples (i, j, k) (see pinnfreq.jet), or None: autograd
        self.pairs: dict[str, list[tuple[int, ...]] | None] = {}
        # term -> whether its residual reads the fields' values alone (boundary values, data): such
        # terms then share one plain forward pass (with either engine)
        self.values_only: dict[str, bool] = {}

    def learn(self, term: str, requested: set[tuple[int, ...]], model: PINNModel, points: Tensor) -> None:
        """Decide ``term``'s derivatives from the multi-indices its residual read at ``points``."""
        self.values_only.setdefault(term, not any(any(orders) for orders in requested))
        if self.kind != "taylor" or term in self.pairs:
            return
        if any(sum(o) > 3 for o in requested) or not hasattr(model.network, "forward_jet"):
            self.pairs[term] = None
            return
        entries = set()
        for orders in requested:
            idx = tuple(i for i, k in enumerate(orders) for _ in range(k))
            if len(idx) == 3:  # a triple's rules read its three pairs
                entries.update({(idx[1], idx[2]), (idx[0], idx[2]), (idx[0], idx[1])})
            if len(idx) >= 2:
                entries.add(idx)
        pairs = sorted(entries, key=lambda p: (len(p), p))
        if len(pairs) and len(pairs[-1]) == 3:
            try:  # softmax and the cross-attention network's per-point products carry pairs only
                with torch.no_grad():
                    model.forward_jet(points[:1].detach(), pairs)
            except NotImplementedError:
                pairs = None
        self.pairs[term] = pairs

    def state_dict(self) -> dict:
        return {"kind": self.kind, "pairs": {t: (None if p is None else [list(q) for q in p]) for t, p in self.pairs.items()},
                "values_only": dict(self.values_only)}

    def load_state_dict(self, state: dict) -> None:
        self.pairs = {t: (None if p is None else [tuple(q) for q in p]) for t, p in state.get("pairs", {}).items()}
        self.values_only = dict(state.get("values_only", {}))


def mean_square(residuals: list[Tensor], batch: Batch) -> Tensor:  # noqa: ARG001 -- a Reducer
    """The default reduction of a term: the sum over its residual outputs of their mean squares."""
    return sum(torch.mean(r**2) for r in residuals)


Reducer = Callable[[list[Tensor], Batch], Tensor]


def term_losses(problem: Problem, model: PINNModel, batches: dict[str, Batch],
                engine: Engine | None = None, reducers: dict[str, Reducer] | None = None) -> dict[str, Tensor]:
    """The loss of every term: ``mean_square`` of its residuals, or what ``reducers[term]`` makes of them
    (plug-ins such as causal weighting).

    The terms ``engine`` has seen read the fields' values alone (boundary values, initial values, data)
    are evaluated in one forward pass over all their points: on small point sets a network call costs
    its operations' overhead, not its arithmetic (the cavity's three such terms were a sixth of its step).
    """
    shared = [t for t in batches if engine is not None and engine.values_only.get(t)]
    values = {}
    if shared:
        out = model(torch.cat([batches[t].points for t in shared]))
        values = dict(zip(shared, out.split([len(batches[t].points) for t in shared])))
    losses = {}
    for term, batch in batches.items():
        pairs = engine.pairs.get(term) if engine is not None else None
        ctx = context(problem, model, batch, pairs, values.get(term))
        losses[term] = (reducers or {}).get(term, mean_square)(problem.residuals(term, ctx), batch)
        if engine is not None:
            engine.learn(term, ctx.store.requested, model, batch.points)
    return losses


def check_problem(problem: Problem, model: PINNModel, batches: dict[str, Batch]) -> None:
    """Evaluate every term once before training, so that mistakes fail here with the culprit named:
    bad shapes, non-finite user values, a residual that raises, and an equation that cannot train
    (it returns a constant, a detached tensor, or values computed outside torch)."""
    params = [p for p in model.parameters() if p.requires_grad]
    for term, batch in batches.items():
        what = problem.describe(term)
        try:
            residuals = problem.residuals(term, context(problem, model, batch))
        except ValueError:  # pinnfreq's own checks (shapes, names) already name the culprit
            raise
        except Exception as err:
            raise ValueError(f"{what} failed before training: {type(err).__name__}: {err}") from err
        problem.check_finite(term, residuals)
        if term in problem.equations and params:
            for i, r in enumerate(residuals):
                grads = torch.autograd.grad(r.sum(), params, allow_unused=True, retain_graph=True) \
                    if r.requires_grad else [None]
                if all(g is None for g in grads):
                    part = f" (output {i})" if len(residuals) > 1 else ""
                    raise ValueError(
                        f"{what}{part} does not depend on the network: it returns a constant, a detached tensor, "
                        "or values computed outside torch (NumPy, float(), .item()), so it cannot train. Build it "
                        "from the fields with torch operations, e.g. u.t + u * u.x - nu * u.xx")
