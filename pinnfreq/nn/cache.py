"""Per-point-set memo for the Taylor engine: what depends only on the points is computed once.

The trainer keeps one dict per batch of collocation points (a new one at each resampling) and passes it
to ``forward_jet(x, cache=...)``; a network stores there what cannot change while the points stay
fixed (the Fourier features' waves and their derivatives), under a key that also names the jet's pairs,
dtype and device, so that anything else recomputes.
"""

from __future__ import annotations

from typing import Callable, Hashable, TypeVar

from ..jet import Jet


T = TypeVar("T")


def memo(cache: dict | None, name: str, key: Hashable, make: Callable[[], T]) -> T:
    """``make()``, or the value kept in ``cache[name]`` for the same ``key``. What is kept (a tensor, a
    jet, or a tuple of them) is detached: a constant of the points, not of the parameters, and no
    longer differentiable with respect to the points either."""
    if cache is None:
        return make()
    entry = cache.get(name)
    if entry is not None and entry[0] == key:
        return entry[1]
    value = make()
    value = tuple(v.detach() for v in value) if isinstance(value, tuple) else value.detach()
    cache[name] = (key, value)
    return value


def jet_key(x: Jet) -> tuple:
    """What a cached value computed from the input jet ``x`` depends on besides the points."""
    return (x.pairs, x.v.shape, x.v.dtype, x.v.device)
