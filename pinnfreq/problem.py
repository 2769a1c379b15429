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
    def describe(self, term: str) -> str:
        """How errors name a term: ``equation 'burgers' (function 'burgers' at file:line)``."""
        if term in self.equations:
            return f"equation {term!r} ({describe(self.equations[term])})"
        return f"condition {term!r}"

    def equation_residuals(self, key: str, ctx: Context) -> list[Tensor]:
        out = call(self.equations[key], ctx.available())
        parts = out if isinstance(out, (tuple, list)) else [out]
        owner = self.describe(key)
        if out is None or any(p is None for p in parts):
            raise ValueError(f"{owner} returned None: a forgotten return?")
        if any(isinstance(p, (np.ndarray, np.generic)) for p in parts):
            raise ValueError(f"{owner} returned a NumPy value: use torch operations (torch.sin, not np.sin) so "
                             "that derivatives reach the network")
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
                what = self.describe(term)
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
        _check_derivative_spelling(self.coordinates)

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


def _check_derivative_spelling(coordinates: Sequence[str]) -> None:
    """Derivatives are spelt by chaining coordinate names (``u.xt``), so the names must not shadow a
    field's own attributes, and every chain must split into names in one way only (coordinates ``x``
    and ``xx`` make ``u.xx`` ambiguous). The second is the Sardinas-Patterson test for a code."""
    from .diff import Field

    reserved = [c for c in coordinates if hasattr(Field, c)]
    if reserved:
        raise ValueError(f"coordinate name(s) {reserved} clash with a field's own attributes (u.value, u.diff, "
                         "u.shape), so u.<name> could not mean a derivative: rename them")
    names = set(coordinates)

    def suffixes(a: set[str], b: set[str]) -> set[str]:
        return {w[len(v):] for v in a for w in b if w != v and w.startswith(v)}

    dangling = suffixes(names, names)
    seen: set[str] = set()
    while dangling - seen:
        if dangling & names:
            raise ValueError(f"the coordinate names {sorted(names)} make derivative names ambiguous: some chain of "
                             "them splits into coordinates in two ways (as 'x' and 'xx' make u.xx either d2u/dx2 "
                             "or du/dxx): rename them")
        seen |= dangling
        dangling = (suffixes(names, dangling) | suffixes(dangling, names)) - {""}
