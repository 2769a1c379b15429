"""Calling user functions by argument name (fields, coordinates, parameters)."""

from __future__ import annotations

import inspect
from typing import Any, Callable, Mapping


def required_names(fn: Callable) -> list[str]:
    """Names ``fn`` asks for (parameters without defaults; ``**kwargs`` asks for nothing in particular)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError) as err:
        raise TypeError(f"cannot read the arguments of {describe(fn)}: {err}") from None
    names = []
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.kind is p.POSITIONAL_ONLY:
            raise TypeError(f"{describe(fn)}: positional-only argument {p.name!r}; arguments are matched by name")
        if p.default is p.empty:
            names.append(p.name)
    return names


def check_names(fn: Callable, available: Mapping[str, str], owner: str) -> None:
    """Raise a ValueError naming every argument of ``fn`` that is not available.

    ``available`` maps each name to what it is ("field", "coordinate", "parameter").
    """
    unknown = [n for n in required_names(fn) if n not in available]
    if unknown:
        kinds: dict[str, list[str]] = {}
        for n, kind in available.items():
            kinds.setdefault(kind, []).append(n)
        offer = "; ".join(f"{k}s: {', '.join(v)}" for k, v in kinds.items())
        raise ValueError(f"{owner} ({describe(fn)}) asks for {', '.join(map(repr, unknown))}, "
                         f"which is not defined ({offer})")


def call(fn: Callable, available: Mapping[str, Any]) -> Any:
    """Call ``fn`` with the arguments it names, taken from ``available``."""
    sig = inspect.signature(fn)
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return fn(**available)
    return fn(**{n: available[n] for n in sig.parameters if n in available})


def describe(fn: Callable) -> str:
    name = getattr(fn, "__name__", type(fn).__name__)
    code = getattr(fn, "__code__", None)
    where = f" at {code.co_filename}:{code.co_firstlineno}" if code is not None else ""
    return f"function {name!r}{where}" if name != "<lambda>" else f"lambda{where}"
