"""Fields with lazy, cached derivatives: ``u.x``, ``u.xx``, ``u.xt``, ``d(u, "x", "x")``, ``laplacian(u)``.

A :class:`FieldStore` holds the network output at a batch of points and computes derivatives on
demand with reverse-mode autograd. A derivative is a multi-index over the coordinates, so ``u.xt``
and ``u.tx`` are one entry; one backward pass of a parent (say ``u.x``) yields *all* its children
(``u.xx``, ``u.xt``) at once, and they are cached for the rest of the step. This class is the seam
a forward-mode/Taylor engine replaces without any change to problem definitions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import torch
from torch import Tensor

if TYPE_CHECKING:
    from .jet import Jet


class FieldStore:
    """Values and derivatives of the fields at one batch of points.

    Parameters
    ----------
    points : Tensor, shape (n, d), requires_grad
        The points, columns ordered as ``coordinates``.
    values : Tensor, shape (n, n_fields)
        The network output at ``points`` (a function of ``points`` in the autograd graph).
    coordinates, fields : sequence of str
        Names of the columns of ``points`` and of ``values``.
    spatial : sequence of str
        The coordinates ``laplacian``/``grad``/``div`` act on (all but time).
    """

    def __init__(self, points: Tensor, values: Tensor, coordinates: Sequence[str], fields: Sequence[str],
                 spatial: Sequence[str] | None = None):
        self.points = points
        self.coordinates = tuple(coordinates)
        self.fields = tuple(fields)
        self.spatial = tuple(spatial if spatial is not None else coordinates)
        zero = (0,) * len(self.coordinates)
        self._cache: dict[tuple[int, tuple[int, ...]], Tensor] = {(i, zero): values[:, i] for i in range(len(self.fields))}
        self.backward_passes = 0  # for tests of reuse
        self.requested: set[tuple[int, ...]] = set()  # derivative multi-indices asked for (engine probing)
        self.closed = False

    @classmethod
    def from_jet(cls, points: Tensor, jet: "Jet", coordinates: Sequence[str], fields: Sequence[str],
                 spatial: Sequence[str] | None = None, closed: bool = False) -> "FieldStore":
        """A store pre-filled from Taylor mode: values, all first derivatives, the jet's second-order
        pairs and third-order triples. Anything else is computed on demand by autograd from these
        entries, unless ``closed`` (the network kept parts of the jet as constants of the points, so
        autograd would miss them): then asking for it raises."""
        store = cls(points, jet.v, coordinates, fields, spatial)
        store.closed = closed
        d = len(store.coordinates)
        for f in range(len(store.fields)):
            for i in range(d):
                store._cache[(f, _raise((0,) * d, i))] = jet.g[i][:, f]
            for k, idx in enumerate(jet.pairs):  # pairs (i, j) and triples (i, j, k)
                orders = (0,) * d
                for i in idx:
                    orders = _raise(orders, i)
                store._cache[(f, orders)] = jet.h[k][:, f]
        return store

    def field(self, name: str) -> "Field":
        if name not in self.fields:
            raise KeyError(f"unknown field {name!r}; fields are {self.fields}")
        return Field(self, self.fields.index(name), (0,) * len(self.coordinates))

    def coordinate(self, name: str) -> Tensor:
        return self.points[:, self.coordinates.index(name)]

    def parse(self, attr: str) -> tuple[int, ...]:
        """Split an attribute such as ``"xt"`` into coordinate indices, e.g. ``(0, 1)``."""
        if attr in self.coordinates:
            return (self.coordinates.index(attr),)
        for name in sorted(self.coordinates, key=len, reverse=True):
            if attr.startswith(name):
                try:
                    return (self.coordinates.index(name),) + self.parse(attr[len(name):])
                except AttributeError:
                    continue
        raise AttributeError(
            f"{attr!r} is not a derivative: spell one with the coordinates {self.coordinates}, e.g. "
            f"u.{self.coordinates[0]}{self.coordinates[0]}, or use pinnfreq.d(u, ...)")

    def get(self, field: int, orders: tuple[int, ...]) -> Tensor:
        """The derivative of ``field`` with multi-index ``orders``, shape (n,)."""
        self.requested.add(orders)
        key = (field, orders)
        if key not in self._cache and self.closed:
            name = self.fields[field] + "." + "".join(c * k for c, k in zip(self.coordinates, orders))
            raise RuntimeError(
                f"{name} was not asked for when the engine learnt which derivatives this term reads (its "
                "first evaluation); a residual must read the same derivatives every time, or train with "
                "engine='autograd' (which holds only terms that read values alone to this)")
        if key not in self._cache:
            parents = [j for j, k in enumerate(orders) if k > 0]
            # prefer a parent already computed; its backward pass gives this entry and its siblings
            j = next((j for j in parents if (field, _lower(orders, j)) in self._cache), parents[0])
            parent = _lower(orders, j)
            value = self.get(field, parent)
            (g,) = torch.autograd.grad(value, self.points, torch.ones_like(value), create_graph=True,
                                       allow_unused=True)
            self.backward_passes += 1
            if g is None:  # the parent does not depend on the points: all its derivatives vanish
                g = torch.zeros_like(self.points)
            for i in range(len(self.coordinates)):
                self._cache.setdefault((field, _raise(parent, i)), g[:, i])
        return self._cache[key]


def _lower(orders: tuple[int, ...], j: int) -> tuple[int, ...]:
    return orders[:j] + (orders[j] - 1,) + orders[j + 1:]


def _raise(orders: tuple[int, ...], j: int) -> tuple[int, ...]:
    return orders[:j] + (orders[j] + 1,) + orders[j + 1:]


def _unwrap(x):
    if isinstance(x, Field):
        return x.value
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v) for v in x)
    if isinstance(x, dict):
        return {k: _unwrap(v) for k, v in x.items()}
    return x


class Field:
    """A field (or one of its derivatives) at the batch's points; behaves like a tensor of shape (n,).

    ``u.x`` is the derivative along coordinate ``x``; ``u.xxt`` chains names. Arithmetic and torch
    functions (``torch.sin(u)``) see the plain tensor ``u.value``.
    """

    __slots__ = ("_store", "_field", "_orders")

    def __init__(self, store: FieldStore, field: int, orders: tuple[int, ...]):
        self._store, self._field, self._orders = store, field, orders

    @property
    def value(self) -> Tensor:
        return self._store.get(self._field, self._orders)

    def diff(self, *coordinates: str) -> "Field":
        orders = self._orders
        for c in coordinates:
            if c not in self._store.coordinates:
                raise KeyError(f"unknown coordinate {c!r}; coordinates are {self._store.coordinates}")
            orders = _raise(orders, self._store.coordinates.index(c))
        return Field(self._store, self._field, orders)

    def __getattr__(self, attr: str) -> "Field":
        if attr.startswith("_"):
            raise AttributeError(attr)
        return self.diff(*(self._store.coordinates[i] for i in self._store.parse(attr)))

    def __repr__(self) -> str:
        name = self._store.fields[self._field]
        suffix = "".join(c * k for c, k in zip(self._store.coordinates, self._orders))
        return f"Field({name}{'.' + suffix if suffix else ''}, n={len(self._store.points)})"

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return func(*_unwrap(args), **_unwrap(kwargs or {}))

    # arithmetic returns plain tensors
    def __add__(self, o): return self.value + _unwrap(o)
    def __radd__(self, o): return _unwrap(o) + self.value
    def __sub__(self, o): return self.value - _unwrap(o)
    def __rsub__(self, o): return _unwrap(o) - self.value
    def __mul__(self, o): return self.value * _unwrap(o)
    def __rmul__(self, o): return _unwrap(o) * self.value
    def __truediv__(self, o): return self.value / _unwrap(o)
    def __rtruediv__(self, o): return _unwrap(o) / self.value
    def __pow__(self, o): return self.value ** _unwrap(o)
    def __rpow__(self, o): return _unwrap(o) ** self.value
    def __neg__(self): return -self.value
    def __pos__(self): return self.value
    def __abs__(self): return self.value.abs()
    def __getitem__(self, idx): return self.value[idx]

    @property
    def shape(self) -> torch.Size:
        return self.value.shape


def d(u: Field, *coordinates: str) -> Field:
    """``d(u, "x", "y")`` is the mixed derivative d^2 u / dx dy."""
    return u.diff(*coordinates)


def grad(u: Field) -> Tensor:
    """Spatial gradient, shape (n, n_spatial) (time excluded)."""
    return torch.stack([u.diff(c).value for c in u._store.spatial], dim=1)


def laplacian(u: Field) -> Tensor:
    """Sum of second derivatives over the spatial coordinates, shape (n,)."""
    return sum(u.diff(c, c).value for c in u._store.spatial)


def div(*components: Field) -> Tensor:
    """Divergence of a vector field given by its spatial components, in coordinate order; shape (n,)."""
    spatial = components[0]._store.spatial
    if len(components) != len(spatial):
        raise ValueError(f"div needs {len(spatial)} components (one per spatial coordinate {spatial}), got {len(components)}")
    return sum(f.diff(c).value for f, c in zip(components, spatial))


