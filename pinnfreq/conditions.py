"""Boundary, initial, periodic and data conditions.

Each condition knows where its points lie (``sample``) and what must vanish there (``residuals``).
Values are numbers or functions of coordinates by name, e.g. ``lambda x: -torch.sin(math.pi * x)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from .calling import call, check_names, describe
from .diff import FieldStore
from .geometry import Region, sample_region, time_factor
from .geometry.sampling import sub_seed

if TYPE_CHECKING:
    from .problem import Problem

Value = float | Callable[..., Any]


class Context:
    """What a residual can read at one batch: fields with derivatives, coordinates, parameters, normals."""

    def __init__(self, store: FieldStore, parameters: Mapping[str, Tensor], normals: Tensor | None = None):
        self.store, self.parameters, self.normals = store, parameters, normals

    @property
    def n(self) -> int:
        return self.store.points.shape[0]

    def coordinates(self) -> dict[str, Tensor]:
        return {c: self.store.coordinate(c) for c in self.store.coordinates}

    def available(self) -> dict[str, Any]:
        out: dict[str, Any] = {f: self.store.field(f) for f in self.store.fields}
        out.update(self.coordinates())
        out.update(self.parameters)
        return out


def as_column(value: Any, n: int, like: Tensor, owner: str) -> Tensor:
    """``value`` as a tensor of shape (n,): scalars broadcast, (n, 1) is squeezed, anything else is an error."""
    t = torch.as_tensor(value.value if hasattr(value, "_store") else value, dtype=like.dtype, device=like.device)
    if t.ndim == 2 and t.shape[1] == 1 and t.shape[0] == n:
        t = t[:, 0]
    if t.ndim == 0:
        return t.expand(n)
    if tuple(t.shape) != (n,):
        hint = " (an (n, 1) tensor met an (n,) one?)" if tuple(t.shape) == (n, n) else ""
        raise ValueError(f"{owner} gave shape {tuple(t.shape)}, expected ({n},) or a scalar{hint}")
    return t


class Condition:
    """Base class: a named set of points and residuals that must vanish there."""

    default_name = "condition"

    def __init__(self, field: str | None = None, name: str | None = None):
        self.field = field
        self.name = name or self.default_name

    def bind(self, problem: "Problem") -> None:
        """Check the condition against the problem (before any training) and fill in defaults."""
        if self.field is None:
            if len(problem.fields) != 1:
                raise ValueError(f"condition {self.name!r}: the problem has fields {problem.fields}; say which with field=")
            self.field = problem.fields[0]
        if self.field not in problem.fields:
            raise ValueError(f"condition {self.name!r}: unknown field {self.field!r}; fields are {problem.fields}")

    def sample(self, problem: "Problem", n: int, method: str, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
        raise NotImplementedError

    def residuals(self, ctx: Context) -> list[Tensor]:
        raise NotImplementedError

    def _value(self, value: Value, ctx: Context, what: str = "value") -> Tensor:
        like = ctx.store.points
        owner = f"condition {self.name!r} {what}"
        out = call(value, ctx.coordinates()) if callable(value) else value
        return as_column(out, ctx.n, like, owner)

    def _check_value(self, value: Value, problem: "Problem", what: str = "value") -> None:
        if callable(value):
            check_names(value, {c: "coordinate" for c in problem.coordinates}, f"condition {self.name!r} {what}")
        elif not np.isfinite(np.asarray(value, dtype=float)).all():
            raise ValueError(f"condition {self.name!r}: {what} {value!r} is not finite")


class _OnRegion(Condition):
    """A condition on a region (a boundary or a slice), optionally restricted by ``where``."""

    def __init__(self, on: Region, field: str | None = None, where: Callable[..., Any] | None = None,
                 name: str | None = None):
        super().__init__(field, name)
        self.on, self.where = on, where

    def bind(self, problem: "Problem") -> None:
        super().bind(problem)
        if not hasattr(self.on, "geometry"):
            raise TypeError(f"condition {self.name!r}: on= takes a region such as space.boundary, got {self.on!r}")
        try:
            sample_region(problem.domain, self.on, 1)
        except ValueError as err:
            raise ValueError(f"condition {self.name!r}: {err}") from None
        if self.where is not None:
            check_names(self.where, {c: "coordinate" for c in problem.coordinates}, f"condition {self.name!r} where=")

    def sample(self, problem: "Problem", n: int, method: str, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
        if self.where is None:
            return sample_region(problem.domain, self.on, n, method, seed)
        pts, nrm, total, factor = [], [], 0, 2
        for attempt in range(8):  # up to ~3e4 candidates per wanted point (capped at 2e6 a round)
            p, q = sample_region(problem.domain, self.on, min((n - total) * factor + 16, 2_000_000), method,
                                 sub_seed(seed, attempt))
            coords = {c: p[:, i] for i, c in enumerate(problem.coordinates)}
            keep = np.broadcast_to(np.asarray(call(self.where, coords), dtype=bool), (len(p),))
            pts.append(p[keep])
            nrm.append(q[keep] if q is not None else None)
            total += int(keep.sum())
            if total >= n:
                break
            factor *= 4
        if total == 0:
            raise ValueError(f"condition {self.name!r}: no point of {self.on!r} satisfies where= "
                             f"({describe(self.where)}); the condition would sample nothing")
        p = np.concatenate(pts)
        if total < n:  # a tiny piece of boundary: repeat what was found rather than fail
            p = np.resize(p, (n, p.shape[1]))
        q = None if nrm[0] is None else np.resize(np.concatenate(nrm), (len(p), p.shape[1]))
        return p[:n], None if q is None else q[:n]

    def _normal_derivative(self, ctx: Context) -> Tensor:
        if ctx.normals is None:
            raise ValueError(f"condition {self.name!r}: {self.on!r} has no normals (is it a slice?)")
        u = ctx.store.field(self.field)
        return sum(ctx.normals[:, i] * u.diff(c).value
                   for i, c in enumerate(ctx.store.coordinates) if c in ctx.store.spatial)


class _ValueOnRegion(_OnRegion):
    """A condition ``something(u) = value`` on a region."""

    def __init__(self, value: Value, on: Region, field: str | None = None, where: Callable | None = None,
                 name: str | None = None):
        super().__init__(on, field, where, name)
        self.value = value

    def bind(self, problem: "Problem") -> None:
        super().bind(problem)
        self._check_value(self.value, problem)


class Dirichlet(_ValueOnRegion):
    """``u = value`` on a region."""

    default_name = "dirichlet"

    def residuals(self, ctx: Context) -> list[Tensor]:
        return [ctx.store.field(self.field).value - self._value(self.value, ctx)]


class Neumann(_ValueOnRegion):
    """``du/dn = value`` on a region (``n`` the geometry's outward normal)."""

    default_name = "neumann"

    def residuals(self, ctx: Context) -> list[Tensor]:
        return [self._normal_derivative(ctx) - self._value(self.value, ctx)]


class Robin(_OnRegion):
    """``alpha u + beta du/dn = value`` on a region."""

    default_name = "robin"

    def __init__(self, alpha: Value, beta: Value, value: Value, on: Region, field: str | None = None,
                 where: Callable | None = None, name: str | None = None):
        super().__init__(on, field, where, name)
        self.alpha, self.beta, self.value = alpha, beta, value

    def bind(self, problem: "Problem") -> None:
        super().bind(problem)
        for what in ("alpha", "beta", "value"):
            self._check_value(getattr(self, what), problem, what)

    def residuals(self, ctx: Context) -> list[Tensor]:
        u = ctx.store.field(self.field).value
        return [self._value(self.alpha, ctx, "alpha") * u + self._value(self.beta, ctx, "beta") * self._normal_derivative(ctx)
                - self._value(self.value, ctx)]


class Initial(Condition):
    """``u(., t0) = value`` and, when ``derivative`` is given, ``u_t(., t0) = derivative``."""

    default_name = "initial"

    def __init__(self, value: Value, derivative: Value | None = None, field: str | None = None, name: str | None = None):
        super().__init__(field, name)
        self.value, self.derivative = value, derivative

    def bind(self, problem: "Problem") -> None:
        super().bind(problem)
        if problem.time is None:
            raise ValueError(f"condition {self.name!r}: Initial needs a time-dependent domain (space * pinnfreq.Time(...))")
        self._check_value(self.value, problem)
        if self.derivative is not None:
            self._check_value(self.derivative, problem, "derivative")

    def sample(self, problem: "Problem", n: int, method: str, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
        return sample_region(problem.domain, time_factor(problem.domain).start, n, method, seed)

    def residuals(self, ctx: Context) -> list[Tensor]:
        u = ctx.store.field(self.field)
        out = [u.value - self._value(self.value, ctx)]
        if self.derivative is not None:
            t = next(c for c in ctx.store.coordinates if c not in ctx.store.spatial)
            out.append(u.diff(t).value - self._value(self.derivative, ctx, "derivative"))
        return out


class Periodic(Condition):
    """``u`` and its first ``derivatives`` derivatives along ``coordinate`` agree at both ends of the box.

    Its points come in pairs, (lower end, upper end) at the same other coordinates, interleaved (rows
    2i and 2i + 1), so that any contiguous even-length share of them (a rank's) still holds whole pairs.
    """

    default_name = "periodic"

    def __init__(self, coordinate: str, field: str | None = None, derivatives: int = 1, name: str | None = None):
        super().__init__(field, name)
        self.coordinate, self.derivatives = coordinate, int(derivatives)

    def bind(self, problem: "Problem") -> None:
        super().bind(problem)
        if self.coordinate not in problem.coordinates:
            raise ValueError(f"condition {self.name!r}: unknown coordinate {self.coordinate!r}; coordinates are {problem.coordinates}")
        lo, hi = self._faces(problem, 64, "sobol", 0)
        if not (problem.domain.contains(lo).all() and problem.domain.contains(hi).all()):
            raise ValueError(f"condition {self.name!r}: the domain is not a box along {self.coordinate!r}, "
                             "so its two ends do not match point for point")

    def _faces(self, problem: "Problem", n: int, method: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
        i = problem.coordinates.index(self.coordinate)
        lower, upper = problem.domain.bounds
        p = problem.domain.sample(n, method, seed)
        lo, hi = p.copy(), p.copy()
        lo[:, i], hi[:, i] = lower[i], upper[i]
        return lo, hi

    def sample(self, problem: "Problem", n: int, method: str, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
        lo, hi = self._faces(problem, n, method, seed)
        return np.stack([lo, hi], 1).reshape(2 * len(lo), -1), None

    def residuals(self, ctx: Context) -> list[Tensor]:
        v = ctx.store.field(self.field)
        out = []
        for _ in range(self.derivatives + 1):
            out.append(v.value[0::2] - v.value[1::2])
            v = v.diff(self.coordinate)
        return out


class Data(Condition):
    """Observations ``u(points) = values`` (inverse problems, or data-assisted fits).

    Parameters
    ----------
    points : mapping of coordinate name to array (n,), or array (n, d) in coordinate order
    values : array (n,) for one field, or mapping of field name to array (n,)
    """

    default_name = "data"

    def __init__(self, points: Mapping[str, Sequence[float]] | np.ndarray, values: Any, name: str | None = None):
        super().__init__(None, name)
        self.points, self.values = points, values

    def bind(self, problem: "Problem") -> None:
        coords = problem.coordinates
        if isinstance(self.points, Mapping):
            missing = [c for c in coords if c not in self.points]
            extra = [c for c in self.points if c not in coords]
            if missing or extra:
                raise ValueError(f"condition {self.name!r}: points need the coordinates {coords} "
                                 f"(missing {missing}, unknown {extra})")
            p = np.stack([np.asarray(self.points[c], dtype=float).ravel() for c in coords], axis=1)
        else:
            p = np.asarray(self.points, dtype=float)
        if p.ndim != 2 or p.shape[1] != len(coords) or len(p) == 0:
            raise ValueError(f"condition {self.name!r}: points must be (n, {len(coords)}) with n > 0, got shape {p.shape}")
        vals = self.values if isinstance(self.values, Mapping) else {(problem.fields[0] if len(problem.fields) == 1 else "?"): self.values}
        unknown = [f for f in vals if f not in problem.fields]
        if unknown:
            raise ValueError(f"condition {self.name!r}: values for unknown field(s) {unknown}; fields are {problem.fields}")
        self._points = p
        self._values = {f: np.asarray(v, dtype=float).ravel() for f, v in vals.items()}
        for f, v in self._values.items():
            if v.shape != (len(p),):
                raise ValueError(f"condition {self.name!r}: {len(v)} values of {f!r} for {len(p)} points")
            if not np.all(np.isfinite(v)) or not np.all(np.isfinite(p)):
                raise ValueError(f"condition {self.name!r}: observations of {f!r} are not all finite")

    def sample(self, problem: "Problem", n: int, method: str, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
        return self._points, None  # observations are fixed; n is ignored

    def residuals(self, ctx: Context) -> list[Tensor]:
        like = ctx.store.points
        return [ctx.store.field(f).value - torch.as_tensor(v, dtype=like.dtype, device=like.device)
                for f, v in self._values.items()]


__all__ = ["Condition", "Context", "Data", "Dirichlet", "Initial", "Neumann", "Periodic", "Robin"]
