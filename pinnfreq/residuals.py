"""Point sets and pointwise residuals: what the training loop and its plug-ins evaluate.

Public so that techniques (AFE's residual spectra, adaptive resampling, causal weighting) compute
residuals the way the loss does without reaching into the trainer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from .conditions import Context
from .diff import FieldStore
from .model import PINNModel
from .problem import Problem


@dataclass
class Batch:
    """Points of one loss term: (n, d), with outward normals (n, d) where the term has them.

    ``cache`` holds what the network (and the plug-ins) compute from these points alone
    (:mod:`pinnfreq.nn.cache`); a new batch (a resampling) starts empty.
    """

    points: Tensor
    normals: Tensor | None
    cache: dict = field(default_factory=dict, repr=False)


def context(problem: Problem, model: PINNModel, batch: Batch, pairs: list[tuple[int, ...]] | None = None,
            values: Tensor | None = None) -> Context:
    """The fields and their derivatives at ``batch``'s points, as a residual function reads them:
    nested autograd (``pairs=None``) or one Taylor-mode pass carrying ``pairs`` (and triples); or, given
    the network's ``values`` (n, n_fields) at the points, the values alone (no derivative can be read)."""
    if values is not None:
        store = FieldStore(batch.points, values, problem.coordinates, problem.fields, problem.spatial)
        store.closed = True
        return Context(store, dict(model.unknowns.items()), batch.normals)
    points = batch.points.detach().requires_grad_(True)
    if pairs is None:
        store = FieldStore(points, model(points), problem.coordinates, problem.fields, problem.spatial)
    else:
        store = FieldStore.from_jet(points, model.forward_jet(points, pairs, batch.cache), problem.coordinates,
                                    problem.fields, problem.spatial, closed=True)
    return Context(store, dict(model.unknowns.items()), batch.normals)


def residuals(problem: Problem, model: PINNModel, term: str, points: Tensor, normals: Tensor | None = None,
              chunk: int = 8192) -> list[Tensor]:
    """The residuals of ``term`` at ``points`` (n, d), detached, one (n,) tensor per residual output;
    evaluated ``chunk`` points at a time so that large candidate sets fit in memory."""
    parts = []
    for i in range(0, len(points), chunk):
        sl = slice(i, i + chunk)
        batch = Batch(points[sl], None if normals is None else normals[sl])
        parts.append([r.detach() for r in problem.residuals(term, context(problem, model, batch))])
    return [torch.cat([p[j] for p in parts]) for j in range(len(parts[0]))]
