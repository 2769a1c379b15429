"""Hard constraints: initial and boundary values imposed exactly by an output transform.

    u_f(x) = A_f(x) + B_f(x) N_f(x)

with N the network's output for field f, A_f a function that takes the prescribed values where they
are imposed and B_f one that vanishes there (Lagaris et al. 1998; Lu et al. 2021, the ``apply_output_
transform`` of DeepXDE's examples). A condition made exact this way leaves the loss: the optimiser only
has the equations (and the soft conditions) left to fit. What is imposed:

- ``Initial(u0)``: A = u0(x), B = tau, with tau = (t - t0) / (t1 - t0);
  ``Initial(u0, derivative=u1)``: A = u0 + (t - t0) u1, B = tau^2;
  with a ``time_scale`` s (in units of t1 - t0: the time the initial state takes to turn one radian,
  ``pinnfreq.defaults.initial_rate``), the factor in tau is instead
  ``(1 - exp(-(tau / s)^k)) / (1 - exp(-(1 / s)^k))`` (k = 1 or 2: the same order of contact at
  tau = 0; 1 at tau = 1; tau^k in the limit s -> infinity). With tau^k the network must carry
  N = (u - A) / tau^k, which for a solution turning fast is huge where tau is small: sin(x - 50 t)
  asks N ~ 50 cos(x) near t = 0 and ~2 / tau after; the wave's u0 cos(10 pi t) asks ~500 u0. With the
  scaled factor N = O(u) everywhere (120 s, medians of 3 seeds: advection at speed 50 0.73 -> 0.49, the
  wave 0.44 -> 0.31; benchmarks/README.md);
- ``Dirichlet(c, on=box.boundary)`` with a constant c, on a box (``Interval``, ``Rectangle``, ``Box``)
  factor of the domain, no ``where=``: A = c, B = prod_i (1 - xh_i^2) over that box's coordinates, xh_i
  the coordinate mapped to [-1, 1] (so B vanishes on every face and is 1 at the centre);
- ``Dirichlet(g, on=box.boundary)`` with a function g, same box, no initial condition on the field:
  A = the transfinite (Coons-Gordon) interpolant of g's boundary values, the Boolean sum
  1 - prod_i (1 - P_i) of the linear blends P_i g = (1 - xi_i) g|_{x_i = lo} + xi_i g|_{x_i = hi}
  (Gordon & Hall 1973; 3^m - 1 evaluations of g for m coordinates, every one on the boundary, so g
  need not mean anything inside). It equals g on every face. Where g jumps along the boundary (a
  lid's value meeting a wall's at a corner) the interpolant jumps inside the box too and the network
  would have to cancel it: such a g (sampled along lines across the faces, its largest step between
  neighbours not halving when the samples double) stays a loss term;
- ``Dirichlet(c or g, on=shape.boundary)`` on a 2-D factor of the domain that is not a box but is
  bounded by segments and whole circles (a ``Polygon``, a ``Disk``, CSG of rectangles, polygons and
  disks: :mod:`pinnfreq.geometry.distance`): B = phi / max phi, phi the boundary's approximate distance
  function (Sukumar & Srivastava 2022), A = c, or for a function g its transfinite blend from the
  boundary pieces' lines (g is never evaluated at the point itself, only on the lines of the pieces;
  not where a circle's centre lies in the domain, and not where g jumps along a piece);
- both on one field: A from the initial condition, B the product; only if A satisfies the Dirichlet
  value at that condition's own sample points (u0 = c on the faces, u1 = 0 there), else the Dirichlet
  condition stays in the loss.

Everything else stays a loss term: conditions with ``where=``, a function-valued Dirichlet condition
beside an initial one, Neumann, Robin, periodic and data conditions, and shapes with no distance
function here (3-D shapes other than boxes, arcs of circles).

In Taylor mode the jets of A and B (their values and derivatives at the points) are computed once per
point set by autograd and kept in the batch's cache: they are constants of the points.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch
from torch import Tensor

from .calling import call, required_names
from .conditions import Dirichlet, Initial, Value, as_column
from .geometry.base import Boundary, Geometry
from .geometry.distance import Pieces, blend, blendable, boundary_pieces, distance
from .geometry.product import Product
from .geometry.shapes import Box, Time
from .jet import Jet
from .nn.cache import memo

if TYPE_CHECKING:
    from .problem import Problem


@dataclass
class _Field:
    """The transform of one field: A = initial value (+ (t - t0) derivative) or constant; B = tau^order * D."""

    initial: Value | None = None
    derivative: Value | None = None
    constant: float = 0.0
    boundary: Value | None = None  # a function-valued Dirichlet value: A its transfinite interpolant
    faces: list[int] = field(default_factory=list)  # coordinates whose two faces the Dirichlet value holds on
    terms: list[str] = field(default_factory=list)  # the conditions made exact
    pieces: Pieces | None = None  # a shape that is not a box: its boundary's pieces, on the coordinates ``faces``
    peak: float = 1.0  # the largest distance to those pieces inside the shape: B = phi / peak


class HardConstraints(torch.nn.Module):
    """The output transform ``u = A + B N`` for a problem (see the module docstring).

    Build it with :meth:`from_problem`; ``terms`` names the conditions it makes exact.
    """

    def __init__(self, coordinates: Sequence[str], fields: Sequence[str], plans: dict[int, _Field],
                 lower: np.ndarray, upper: np.ndarray, time: int | None, time_scale: float | None = None):
        super().__init__()
        self.coordinates, self.fields, self.plans, self.time = tuple(coordinates), tuple(fields), plans, time
        self.time_scale = _checked_scale(time_scale)
        self.register_buffer("lower", torch.as_tensor(lower, dtype=torch.get_default_dtype()), persistent=False)
        self.register_buffer("upper", torch.as_tensor(upper, dtype=torch.get_default_dtype()), persistent=False)

    @property
    def terms(self) -> list[str]:
        return [t for p in self.plans.values() for t in p.terms]

    def describe(self) -> str:
        out = ", ".join(f"{self.fields[i]}: {' and '.join(p.terms)}"
                        + (" (through the boundary's distance function)" if p.pieces is not None else "")
                        for i, p in self.plans.items())
        if self.time_scale is not None and any(p.initial is not None for p in self.plans.values()):
            out += f" (the initial value's factor rising over a time scale {self.time_scale:.3g} of the interval)"
        return out

    @classmethod
    def from_problem(cls, problem: "Problem", time_scale: float | None = None,
                     distance: bool = False) -> "HardConstraints | None":
        """The transform for every condition of ``problem`` that can be imposed exactly; None if none can.
        ``time_scale``: s of the module docstring (None: the factor tau^k). ``distance``: Dirichlet values on
        2-D shapes that are not boxes too, through their distance functions (see ``TrainConfig.hard_constraints``
        for why not by default)."""
        lower, upper = problem.domain.bounds
        t = problem.coordinates.index(problem.time) if problem.time is not None else None
        shapes = _factors(problem.domain)
        plans: dict[int, _Field] = {}
        for c in problem.conditions:
            k = problem.fields.index(c.field) if c.field in problem.fields else None
            if isinstance(c, Initial) and type(c) is Initial and k is not None and k not in plans:
                asks_time = any(callable(v) and problem.time in required_names(v) for v in (c.value, c.derivative))
                if not asks_time:
                    plans[k] = _Field(initial=c.value, derivative=c.derivative, terms=[c.name])
        pending = []
        for c in problem.conditions:
            if (type(c) is Dirichlet and c.where is None and isinstance(c.on, Boundary) and c.on.geometry in shapes
                    and (callable(c.value) or np.ndim(c.value) == 0)):
                shape = c.on.geometry
                pieces = None if isinstance(shape, Box) or not distance else boundary_pieces(shape)
                if isinstance(shape, Box) or pieces is not None:
                    pending.append((problem.fields.index(c.field), c,
                                    [problem.coordinates.index(n) for n in shape.names], shape, pieces))
        for k, c, faces, shape, pieces in pending:
            plan = plans.setdefault(k, _Field())
            if plan.faces:
                continue  # one Dirichlet condition per field
            peak = 1.0 if pieces is None else _peak(shape, pieces)
            if callable(c.value):
                trial = _Field(boundary=c.value, faces=faces, terms=[c.name], pieces=pieces, peak=peak)
                if (plan.initial is None and (pieces is None or blendable(pieces, shape))
                        and cls._continuous(problem, trial, c) and cls._finite_blend(problem, trial, shape)):
                    plans[k] = trial
                elif not plan.terms:
                    del plans[k]
                continue
            trial = _Field(plan.initial, plan.derivative, float(c.value), faces=faces, terms=plan.terms + [c.name],
                           pieces=pieces, peak=peak)
            if plan.initial is None or cls._holds(problem, k, trial, c):
                plans[k] = trial
            elif not plan.terms:
                del plans[k]
        if not plans:
            return None
        out = cls(problem.coordinates, problem.fields, plans, lower, upper, t, time_scale)
        out._check_finite(problem)
        return out

    def _check_finite(self, problem: "Problem") -> None:
        """The initial values at the initial condition's points must be finite: the loss no longer sees them."""
        for k, plan in self.plans.items():
            if plan.initial is None:
                continue
            pts, _ = problem.condition(plan.terms[0]).sample(problem, 256, "sobol", 0)
            with torch.no_grad():
                a = self._particular(torch.as_tensor(pts, dtype=torch.float64), k)
            bad = int((~torch.isfinite(a)).sum())
            if bad:
                raise ValueError(f"condition {plan.terms[0]!r} gives non-finite values at {bad} of {len(a)} points "
                                 "before training: check the functions it calls (a division by zero, a log of a "
                                 "non-positive number?)")

    @classmethod
    def _holds(cls, problem: "Problem", k: int, plan: _Field, condition: Dirichlet) -> bool:
        """Whether A (from the initial condition) takes the Dirichlet value on that condition's points."""
        pts, _ = condition.sample(problem, 256, "sobol", 0)
        lower, upper = problem.domain.bounds
        t = problem.coordinates.index(problem.time)
        probe = cls(problem.coordinates, problem.fields, {k: plan}, lower, upper, t)
        with torch.no_grad():
            a = probe._particular(torch.as_tensor(pts, dtype=torch.float64), k).numpy()
        return bool(np.all(np.abs(a - plan.constant) <= 1e-6 * (1 + np.abs(a).max())))

    @classmethod
    def _continuous(cls, problem: "Problem", plan: _Field, condition: Dirichlet) -> bool:
        """Whether a function-valued Dirichlet value is continuous along the boundary (else its transfinite
        interpolant jumps inside the domain too): along lines across every face of a box, through its edges
        (or along every piece of another shape's boundary), the largest step between neighbouring samples
        halves when the samples double; a jump keeps it. Non-finite values there fail the test too."""
        lower, upper = problem.domain.bounds
        bases, _ = condition.sample(problem, 3, "sobol", 0)
        largest = []
        for n in (2048, 4096):
            lines = []
            for ends in ([] if plan.pieces is None else _piece_lines(plan.pieces, n)):
                line = np.repeat(bases, n, axis=0)
                line[:, plan.faces] = np.tile(ends, (len(bases), 1))
                lines.append(line)
            for i, j in (itertools.permutations(plan.faces, 2) if plan.pieces is None else ()):
                for end in (lower[i], upper[i]):
                    line = np.repeat(bases, n, axis=0)
                    line[:, i] = end
                    line[:, j] = np.tile(np.linspace(lower[j], upper[j], n), len(bases))
                    lines.append(line)
            x = torch.as_tensor(np.concatenate(lines), dtype=torch.float64)
            with torch.no_grad():
                g = _value(plan.boundary, {c: x[:, k] for k, c in enumerate(problem.coordinates)}, x,
                           f"condition {condition.name!r} value").reshape(-1, n)
            if not torch.isfinite(g).all():
                return False  # the loss term names the culprit
            largest.append(float(g.diff(dim=1).abs().max()))
            spread = float(g.max() - g.min())
        return largest[1] <= 0.75 * largest[0] or largest[0] <= 1e-9 * (1 + spread)

    @classmethod
    def _finite_blend(cls, problem: "Problem", plan: _Field, shape: Geometry) -> bool:
        """Whether a shape's blend of boundary values is finite inside it: it evaluates the value on the
        lines of the boundary's pieces, beyond the boundary, where a function may not be defined."""
        if plan.pieces is None:
            return True
        lower, upper = problem.domain.bounds
        x = lower + (upper - lower) * np.random.default_rng(0).random((4096, len(lower)))
        x = x[shape.contains(x[:, plan.faces])]
        probe = cls(problem.coordinates, problem.fields, {0: plan}, lower, upper, None)
        with torch.no_grad():
            return bool(torch.isfinite(probe._particular(torch.as_tensor(x, dtype=torch.float64), 0)).all())

    # -- saving: what a solution file records, and rebuilding from it ------------------------------
    def spec(self) -> dict:
        """A JSON-able description (the initial and boundary values themselves are functions: only whether
        they are there; the conditions' names find them in the problem when the file is read)."""
        return {"time": self.time, "time_scale": self.time_scale, "fields": {str(k): {
            "constant": p.constant, "faces": p.faces, "initial": p.initial is not None,
            "derivative": p.derivative is not None, "boundary": p.boundary is not None, "terms": p.terms,
            **({} if p.pieces is None else {"pieces": p.pieces.spec(), "peak": p.peak})}
            for k, p in self.plans.items()}}

    @classmethod
    def from_spec(cls, spec: dict, coordinates: Sequence[str], fields: Sequence[str], lower: np.ndarray,
                  upper: np.ndarray, problem: "Problem | None" = None) -> torch.nn.Module:
        """The transform a solution file describes. Initial values and function-valued Dirichlet values are
        functions that only the problem holds: without ``problem`` such a transform is a stand-in that refuses
        to evaluate."""
        plans = {}
        for k, p in spec["fields"].items():
            plan = _Field(constant=float(p["constant"]), faces=[int(i) for i in p["faces"]], terms=list(p["terms"]),
                          pieces=Pieces.from_spec(p["pieces"]) if "pieces" in p else None, peak=float(p.get("peak", 1.0)))
            if p["initial"] or p.get("boundary"):  # absent: older files, which had no function-valued ones
                if problem is None:
                    return _NeedsProblem([t for q in spec["fields"].values() for t in q["terms"]])
                kind = Initial if p["initial"] else Dirichlet
                condition = next((c for c in problem.conditions if c.name == plan.terms[0] and type(c) is kind), None)
                if condition is None or tuple(problem.fields) != tuple(fields):
                    raise ValueError(f"the problem given has no {'initial' if p['initial'] else 'Dirichlet'} condition "
                                     f"{plan.terms[0]!r} for the fields {tuple(fields)}: it is not the problem this "
                                     "solution was trained on")
                if p["initial"]:
                    plan.initial, plan.derivative = condition.value, condition.derivative
                else:
                    plan.boundary = condition.value
            plans[int(k)] = plan
        return cls(coordinates, fields, plans, lower, upper, spec["time"], spec.get("time_scale"))  # absent: older files

    # -- the transform -------------------------------------------------------------------------------
    def _particular(self, x: Tensor, k: int) -> Tensor:
        """A_k at points x (n, d): (n,)."""
        plan = self.plans[k]
        coords = {c: x[:, i] for i, c in enumerate(self.coordinates)}
        if plan.boundary is not None and plan.pieces is not None:
            return self._blend(x, plan)
        if plan.boundary is not None:
            return self._transfinite(x, plan)
        if plan.initial is None:
            return torch.full_like(x[:, 0], plan.constant)
        owner = f"condition {plan.terms[0]!r}"  # the initial condition, named as its loss term would be
        a = _value(plan.initial, coords, x, f"{owner} value")
        if plan.derivative is not None:
            t0 = self.lower[self.time].to(x)
            a = a + (x[:, self.time] - t0) * _value(plan.derivative, coords, x, f"{owner} derivative")
        return a

    def _transfinite(self, x: Tensor, plan: _Field) -> Tensor:
        """The Boolean sum of the linear blends of ``plan.boundary`` across the box's faces at x (n, d): (n,).
        Each subset S of the box's coordinates contributes (-1)^(|S|+1) times the blend of g at the 2^|S|
        points with those coordinates moved onto the faces."""
        lower, upper = self.lower.to(x), self.upper.to(x)
        cols = list(x.unbind(1))
        xi = {i: (cols[i] - lower[i]) / (upper[i] - lower[i]) for i in plan.faces}
        owner = f"condition {plan.terms[0]!r} value"
        total = torch.zeros_like(cols[0])
        for size in range(1, len(plan.faces) + 1):
            for subset in itertools.combinations(plan.faces, size):
                for ends in itertools.product((False, True), repeat=size):
                    moved, weight = list(cols), (-1.0) ** (size + 1)
                    for i, hi in zip(subset, ends):
                        moved[i] = torch.zeros_like(cols[i]) + (upper[i] if hi else lower[i])
                        weight = weight * (xi[i] if hi else 1 - xi[i])
                    coords = {c: moved[j] for j, c in enumerate(self.coordinates)}
                    total = total + weight * _value(plan.boundary, coords, x, owner)
        return total

    def _blend(self, x: Tensor, plan: _Field) -> Tensor:
        """The boundary value's transfinite blend from the pieces of a shape that is not a box, at x (n, d): (n,)."""
        owner = f"condition {plan.terms[0]!r} value"

        def g(on: Tensor) -> Tensor:  # points (n * p, 2) on the pieces' lines, p per point of x, in x's order
            moved = x.repeat_interleave(len(on) // len(x), 0).clone()
            moved[:, plan.faces] = on
            return _value(plan.boundary, {c: moved[:, j] for j, c in enumerate(self.coordinates)}, moved, owner)

        return blend(plan.pieces, g, x[:, plan.faces])

    def _multiplier(self, x: Tensor, k: int) -> Tensor:
        """B_k at points x (n, d): (n,)."""
        plan = self.plans[k]
        lower, upper = self.lower.to(x), self.upper.to(x)
        b = torch.ones_like(x[:, 0])
        if plan.pieces is not None:
            b = distance(plan.pieces, x[:, plan.faces]) / plan.peak
        for i in (plan.faces if plan.pieces is None else ()):
            xh = 2 * (x[:, i] - lower[i]) / (upper[i] - lower[i]) - 1
            b = b * (1 - xh * xh)
        if plan.initial is not None:
            tau = (x[:, self.time] - lower[self.time]) / (upper[self.time] - lower[self.time])
            k = 2 if plan.derivative is not None else 1
            s = self.time_scale
            b = b * (tau**k if s is None else -torch.expm1(-(tau / s) ** k) / -math.expm1(-(1 / s) ** k))
        return b

    def parts(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """A and B at points x (n, d), each (n, n_fields) (A = 0, B = 1 for fields without constraints)."""
        a = torch.zeros(x.shape[0], len(self.fields), dtype=x.dtype, device=x.device)
        b = torch.ones_like(a)
        cols_a, cols_b = list(a.unbind(1)), list(b.unbind(1))
        for k in self.plans:
            cols_a[k], cols_b[k] = self._particular(x, k), self._multiplier(x, k)
        return torch.stack(cols_a, 1), torch.stack(cols_b, 1)

    def forward(self, x: Tensor, out: Tensor) -> Tensor:
        """u = A + B N at physical points x (n, d), network output N (n, n_fields)."""
        a, b = self.parts(x)
        return a + b * out

    def jet(self, x: Tensor, pairs: Sequence[tuple[int, ...]], out: Jet, cache: dict | None = None) -> Jet:
        """The same in Taylor mode: ``out`` the network's jet at physical points x (n, d)."""
        a, b = memo(cache, "hard_constraints", (tuple(pairs), x.shape, x.dtype, x.device),
                    lambda: self._jets(x, pairs))
        return Jet(a.v + b.v * out.v, a.g + b.g * out.v + b.v * out.g,
                   a.h + b.h * out.v + b.v * out.h + b._cross(out), out.pairs)

    def _jets(self, x: Tensor, pairs: Sequence[tuple[int, ...]]) -> tuple[Jet, Jet]:
        """Jets of A and B at x by autograd (both are pointwise functions of the point); ``pairs`` may
        hold triples (i, j, k) after the pairs, as in :class:`Jet`."""
        third = any(len(p) == 3 for p in pairs)
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            both = torch.cat(self.parts(x), 1)  # (n, 2F)
            n, width = both.shape
            d = x.shape[1]
            g = torch.zeros(d, n, width, dtype=x.dtype, device=x.device)
            h = torch.zeros(len(pairs), n, width, dtype=x.dtype, device=x.device)
            for c in range(width):
                if not both.requires_grad:
                    break
                (grad,) = torch.autograd.grad(both[:, c].sum(), x, create_graph=True, allow_unused=True)
                if grad is None:
                    continue
                g[:, :, c] = grad.detach().T
                second: dict[int, Tensor | None] = {}  # d(grad_i)/dx, once per i
                for p, idx in enumerate(pairs):
                    i = idx[0]
                    if i not in second:
                        second[i] = torch.autograd.grad(grad[:, i].sum(), x, create_graph=third, retain_graph=True,
                                                        allow_unused=True)[0] if grad.requires_grad else None
                    if second[i] is None:
                        continue
                    if len(idx) == 2:
                        h[p, :, c] = second[i][:, idx[1]].detach()
                    elif second[i].requires_grad:
                        (t,) = torch.autograd.grad(second[i][:, idx[1]].sum(), x, retain_graph=True, allow_unused=True)
                        if t is not None:
                            h[p, :, c] = t[:, idx[2]].detach()
        f = len(self.fields)
        v = both.detach()
        tp = tuple(tuple(p) for p in pairs)
        return Jet(v[:, :f], g[..., :f], h[..., :f], tp), Jet(v[:, f:], g[..., f:], h[..., f:], tp)


class _NeedsProblem(torch.nn.Module):
    """Stands in for a transform whose initial or boundary values only the problem holds."""

    def __init__(self, terms: list[str]):
        super().__init__()
        self.terms = terms

    def forward(self, x: Tensor, out: Tensor) -> Tensor:
        raise ValueError(f"this solution was trained with {', '.join(self.terms)} imposed exactly through the "
                         "problem's initial- or boundary-value functions, which a file cannot hold: load it with "
                         "pinnfreq.Solution.load(path, problem=<the problem>) to evaluate it (the file's stored "
                         "grid, errors and history read without it, e.g. with h5py)")

    jet = forward


def _checked_scale(time_scale: float | None) -> float | None:
    if time_scale is None:
        return None
    if isinstance(time_scale, bool) or not isinstance(time_scale, (int, float)) or not math.isfinite(time_scale) \
            or time_scale <= 0:
        raise ValueError(f"time_scale must be a positive number (a fraction of the time interval) or None, "
                         f"got {time_scale!r}")
    return float(time_scale)


def _value(value: Value, coords: dict[str, Tensor], like: Tensor, owner: str) -> Tensor:
    out = call(value, coords) if callable(value) else value
    return as_column(out, like.shape[0], like, owner)


def _factors(domain: Geometry) -> list[Geometry]:
    """The spatial factors of the domain (itself, or the factors of a product but time)."""
    if isinstance(domain, Product):
        return [g for f in domain.factors for g in _factors(f)]
    return [] if isinstance(domain, Time) else [domain]


def _peak(shape: Geometry, pieces: Pieces) -> float:
    """The largest distance to the pieces at 4096 points inside ``shape`` (B's scale: at most about 1)."""
    x = torch.as_tensor(shape.sample(4096, "sobol", 0), dtype=torch.float64)
    return float(distance(pieces, x).max())


def _piece_lines(pieces: Pieces, n: int) -> list[np.ndarray]:
    """``n`` points along each piece (end points included), each (n, 2)."""
    s = np.linspace(0.0, 1.0, n)[:, None]
    out = [a + s * (b - a) for a, b in pieces.segments]
    angle = 2 * np.pi * s
    return out + [np.array([cx, cy]) + r * np.concatenate([np.cos(angle), np.sin(angle)], 1)
                  for cx, cy, r in pieces.circles]


__all__ = ["HardConstraints"]
