"""Collocation batches and the per-term losses of a problem."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ..conditions import Context
from ..diff import FieldStore
from ..geometry.sampling import sub_seed
from ..model import PINNModel
from ..problem import Problem
from .config import TrainConfig


@dataclass
class Batch:
    """Points of one loss term: (n, d), with outward normals (n, d) where the term has them."""

    points: Tensor
    normals: Tensor | None


def term_points(problem: Problem, config: TrainConfig, term: str) -> int:
    if isinstance(config.points, dict):
        default = config.boundary_points if term not in problem.equations else 2000
        unknown = [k for k in config.points if k not in problem.terms]
        if unknown:
            raise ValueError(f"solve(): points given for unknown term(s) {unknown}; terms are {problem.terms}")
        return config.points.get(term, default)
    return config.points if term in problem.equations else config.boundary_points


def sample_batches(problem: Problem, config: TrainConfig, round_: int, device: torch.device,
                   dtype: torch.dtype) -> dict[str, Batch]:
    """Points for every term; the same ``(seed, round_)`` always gives the same points."""
    out = {}
    for k, term in enumerate(problem.terms):
        pts, nrm = problem.sample(term, term_points(problem, config, term), config.sampler, sub_seed(config.seed, k, round_))
        if len(pts) == 0:
            raise ValueError(f"term {term!r} samples no points")
        out[term] = Batch(torch.as_tensor(np.ascontiguousarray(pts), dtype=dtype, device=device),
                          None if nrm is None else torch.as_tensor(np.ascontiguousarray(nrm), dtype=dtype, device=device))
    return out


def term_losses(problem: Problem, model: PINNModel, batches: dict[str, Batch]) -> dict[str, Tensor]:
    """Mean squared residual of every term (a term with several residuals sums their means)."""
    losses = {}
    for term, batch in batches.items():
        ctx = context(problem, model, batch)
        losses[term] = sum(torch.mean(r**2) for r in problem.residuals(term, ctx))
    return losses


def context(problem: Problem, model: PINNModel, batch: Batch) -> Context:
    points = batch.points.detach().requires_grad_(True)
    store = FieldStore(points, model(points), problem.coordinates, problem.fields, problem.spatial)
    return Context(store, dict(model.unknowns.items()), batch.normals)


def check_problem(problem: Problem, model: PINNModel, batches: dict[str, Batch]) -> None:
    """Evaluate every term once before training: bad shapes and non-finite user values fail here."""
    for term, batch in batches.items():
        residuals = problem.residuals(term, context(problem, model, batch))
        problem.check_finite(term, residuals)
