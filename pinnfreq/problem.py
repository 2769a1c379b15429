"""A PDE problem: a domain, fields, residual equations, conditions and unknown parameters.

The problem knows nothing about networks or training; ``solve()`` consumes it.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from .calling import call, check_names, describe
from .conditions import Condition, Context, as_column
from .geometry import Geometry, time_factor


class Problem:
    """A PDE to solve.

    Parameters
    ----------
    domain : Geometry
        Space, or space x ``Time(t0, t1)``; its coordinate names are what residuals may ask for.
    fields : str or sequence of str
        Names of the unknown fields, e.g. ``"u"`` or ``("u", "v", "p")``.
    equations : callable, sequence of callables, or mapping name -> callable
        Residual functions; each asks for fields, coordinates and parameters by argument name and
        returns a tensor of shape (n,) (or a tuple of them) that vanishes at the solution.
    conditions : sequence of Condition
    parameters : mapping name -> float, optional
        Unknown scalar parameters learnt with the fields (inverse problems), with initial guesses.
    name : str, optional
    """

    def __init__(self, domain: Geometry, fields: str | Sequence[str],
                 equations: Callable | Sequence[Callable] | Mapping[str, Callable],
                 conditions: Sequence[Condition] = (), parameters: Mapping[str, float] | None = None,
                 name: str | None = None):
        if not isinstance(domain, Geometry):
            raise TypeError(f"domain must be a pinnfreq geometry, got {type(domain).__name__}")
        self.domain = domain
        self.name = name or "problem"
        self.coordinates: tuple[str, ...] = domain.names
        tf = time_factor(domain)
        self.time: str | None = tf.names[0] if tf is not None else None
        self.spatial = tuple(c for c in self.coordinates if c != self.time)
        self.fields = (fields,) if isinstance(fields, str) else tuple(fields)
        if not self.fields:
            raise ValueError("a problem needs at least one field")
        self.parameters = {k: float(v) for k, v in (parameters or {}).items()}
        self._check_names_unique()
        self.equations = self._name_equations(equations)
        available = {**{f: "field" for f in self.fields}, **{c: "coordinate" for c in self.coordinates},
                     **{p: "parameter" for p in self.parameters}}
        for key, fn in self.equations.items():
            check_names(fn, available, f"equation {key!r}")
        self.conditions = list(conditions)
        for c in self.conditions:
            if not isinstance(c, Condition):
                raise TypeError(f"conditions must be pinnfreq conditions, got {type(c).__name__}")
        self._name_conditions()
        for c in self.conditions:
            c.bind(self)

    def __repr__(self) -> str:
        return (f"Problem({self.name!r}, domain={self.domain!r}, fields={self.fields}, "
                f"terms={self.terms}, parameters={list(self.parameters)})")

    @property
    def terms(self) -> list[str]:
        """Names of the loss terms: equations, then conditions."""
        return list(self.equations) + [c.name for c in self.conditions]

    def condition(self, name: str) -> Condition:
        return next(c for c in self.conditions if c.name == name)

    # -- evaluation --------------------------------------------------------------------------------
    def equation_residuals(self, key: str, ctx: Context) -> list[Tensor]:
        out = call(self.equations[key], ctx.available())
        parts = out if isinstance(out, (tuple, list)) else [out]
        owner = f"equation {key!r} ({describe(self.equations[key])})"
        return [as_column(p, ctx.n, ctx.store.points, owner) for p in parts]

    def residuals(self, term: str, ctx: Context) -> list[Tensor]:
        """The residual tensors (each (n,)) of one loss term at the context's points."""
        if term in self.equations:
            return self.equation_residuals(term, ctx)
        return self.condition(term).residuals(ctx)

    def sample(self, term: str, n: int, method: str = "sobol", seed: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
        """Points (and normals where the term has them) for one loss term."""
        if term in self.equations:
            return self.domain.sample(n, method, seed), None
        return self.condition(term).sample(self, n, method, seed)

    def check_finite(self, term: str, residuals: list[Tensor]) -> None:
        for i, r in enumerate(residuals):
            if not torch.isfinite(r).all():
                what = f"equation {term!r}" if term in self.equations else f"condition {term!r}"
                part = f" (output {i})" if len(residuals) > 1 else ""
                raise ValueError(f"{what}{part} gives non-finite values at {int((~torch.isfinite(r)).sum())} of "
                                 f"{r.numel()} points before training: check the functions it calls "
                                 "(a division by zero, a log of a non-positive number?)")

    # -- construction helpers ----------------------------------------------------------------------
    def _check_names_unique(self) -> None:
        seen: dict[str, str] = {}
        for kind, names in (("coordinate", self.coordinates), ("field", self.fields), ("parameter", self.parameters)):
            for n in names:
                if not n.isidentifier():
                    raise ValueError(f"{kind} name {n!r} must be a Python identifier")
                if n in seen:
                    raise ValueError(f"the name {n!r} is used by a {seen[n]} and a {kind}; names must differ")
                seen[n] = kind

    def _name_equations(self, equations: Any) -> dict[str, Callable]:
        if callable(equations):
            equations = [equations]
        if isinstance(equations, Mapping):
            named = dict(equations)
        else:
            named = {}
            for i, fn in enumerate(equations):
                key = getattr(fn, "__name__", "")
                key = key if key.isidentifier() and key not in named and key != "<lambda>" else f"pde{i}"
                named[key] = fn
        if not named:
            raise ValueError("a problem needs at least one equation")
        for key, fn in named.items():
            if not callable(fn):
                raise TypeError(f"equation {key!r} is not callable")
        return named

    def _name_conditions(self) -> None:
        taken = set(self.equations)
        for c in self.conditions:
            base, k = c.name, 1
            while c.name in taken:
                c.name = f"{base}{k}"
                k += 1
            taken.add(c.name)
