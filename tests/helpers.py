"""Shared test helpers: residuals of a problem's terms for an exact (analytic) field."""

from __future__ import annotations

from typing import Callable

import torch

from pinnfreq.conditions import Context
from pinnfreq.diff import FieldStore
from pinnfreq.problem import Problem
from pinnfreq.train.losses import Batch, Engine, term_losses


def exact_residuals(problem: Problem, term: str, fn: Callable[[torch.Tensor], torch.Tensor], n: int = 64,
                    params: dict[str, float] | None = None) -> list[torch.Tensor]:
    """Residuals of ``term`` at its sampled points when the fields are ``fn(points) -> (n, n_fields)``."""
    pts, nrm = problem.sample(term, n, "sobol", 0)
    p = torch.as_tensor(pts, dtype=torch.float64).requires_grad_(True)
    store = FieldStore(p, fn(p), problem.coordinates, problem.fields, problem.spatial)
    normals = None if nrm is None else torch.as_tensor(nrm, dtype=torch.float64)
    parameters = {k: torch.tensor(v, dtype=torch.float64) for k, v in (params or {}).items()}
    return [r.detach() for r in problem.residuals(term, Context(store, parameters, normals))]


def assert_engines_agree(problem: Problem, model: torch.nn.Module, term: str, rtol: float) -> None:
    """``term``'s loss at 64 of its points in Taylor mode (once the engine has learnt its pairs) equals
    nested autograd's."""
    pts = torch.as_tensor(problem.sample(term, 64, "sobol", 0)[0])
    batches = {term: Batch(pts, None)}
    reference = term_losses(problem, model, batches, Engine("autograd"))
    engine = Engine("taylor")
    term_losses(problem, model, batches, engine)  # learns the pairs
    assert engine.pairs[term] is not None
    assert torch.allclose(term_losses(problem, model, batches, engine)[term], reference[term], rtol=rtol)


def max_abs(residuals: list[torch.Tensor]) -> float:
    return max(float(r.abs().max()) for r in residuals)
