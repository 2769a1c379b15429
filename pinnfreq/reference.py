"""Reference solutions to measure errors against: a uniform grid (from a classical solver) or points."""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from .calling import call, describe
from .io.hdf5 import open_h5, write_h5


class Reference:
    """Field values on a tensor-product grid (``axes``) or at scattered ``points``.

    Parameters
    ----------
    fields : mapping field -> array
        On a grid: shape ``tuple(len(a) for a in axes.values())`` (``ij`` indexing, axes in the order
        given). At points: shape (m,).
    axes : mapping coordinate -> 1-D array, optional
    points : mapping coordinate -> array (m,), optional (exactly one of ``axes`` and ``points``)
    attrs : provenance (generator, parameters, resolution, errors), stored with the file.
    """

    def __init__(self, fields: Mapping[str, Any], axes: Mapping[str, Sequence[float]] | None = None,
                 points: Mapping[str, Sequence[float]] | None = None, attrs: Mapping[str, Any] | None = None):
        if (axes is None) == (points is None):
            raise ValueError("Reference needs exactly one of axes= (a grid) or points= (scattered)")
        self.attrs = dict(attrs or {})
        self.fields = {k: np.asarray(v, dtype=float) for k, v in fields.items()}
        if axes is not None:
            self.axes = {k: np.asarray(v, dtype=float).ravel() for k, v in axes.items()}
            shape = tuple(len(a) for a in self.axes.values())
            self._coords = None
        else:
            self.axes = None
            self._coords = {k: np.asarray(v, dtype=float).ravel() for k, v in points.items()}
            shape = (len(next(iter(self._coords.values()))),)
        for k, v in self.fields.items():
            if v.shape != shape:
                raise ValueError(f"Reference field {k!r} has shape {v.shape}, the grid/points give {shape}")
            if not np.all(np.isfinite(v)):
                raise ValueError(f"Reference field {k!r} is not finite everywhere")

    @classmethod
    def from_function(cls, fn: Callable[..., Any], axes: Mapping[str, Sequence[float]], fields: Sequence[str] = ("u",),
                      inside: Callable[[np.ndarray], np.ndarray] | None = None,
                      attrs: Mapping[str, Any] | None = None) -> "Reference":
        """An exact solution on a grid: ``fn`` takes the coordinates by name as float64 torch tensors
        (the same function a problem uses for its conditions) and returns a tensor for one field, or a
        tuple with one per field in ``fields`` order.

        ``inside`` (e.g. ``domain.contains``): keep only the grid points it accepts, as a scattered
        reference, for domains that are not boxes.
        """
        names = list(axes)
        mesh = np.meshgrid(*(np.asarray(a, dtype=float).ravel() for a in axes.values()), indexing="ij")
        points = np.stack([m.ravel() for m in mesh], axis=1)
        if inside is not None:
            points = points[np.asarray(inside(points), dtype=bool)]
        coords = {c: torch.as_tensor(points[:, i], dtype=torch.float64) for i, c in enumerate(names)}
        out = call(fn, coords)
        out = out if isinstance(out, (tuple, list)) else (out,)
        if len(out) != len(fields):
            raise ValueError(f"Reference.from_function: {describe(fn)} gave {len(out)} outputs for fields {tuple(fields)}")
        values = {f: torch.as_tensor(v, dtype=torch.float64).expand(len(points)).numpy() for f, v in zip(fields, out)}
        info = {"generator": "exact solution", "self_convergence_error": 0.0, **dict(attrs or {})}
        if inside is not None:
            return cls(values, points={c: points[:, i] for i, c in enumerate(names)}, attrs=info)
        return cls({f: v.reshape(mesh[0].shape) for f, v in values.items()}, axes=axes, attrs=info)

    @property
    def coordinates(self) -> tuple[str, ...]:
        return tuple(self.axes or self._coords)

    @property
    def is_grid(self) -> bool:
        return self.axes is not None

    def points(self, coordinates: Sequence[str] | None = None) -> np.ndarray:
        """All reference points as (m, d), columns in ``coordinates`` order (default: the reference's)."""
        order = tuple(coordinates or self.coordinates)
        if set(order) != set(self.coordinates):
            raise ValueError(f"the reference has coordinates {self.coordinates}, the problem {order}")
        if self.axes is not None:
            mesh = np.meshgrid(*self.axes.values(), indexing="ij")
            cols = dict(zip(self.axes, (m.ravel() for m in mesh)))
        else:
            cols = self._coords
        return np.stack([cols[c] for c in order], axis=1)

    def values(self, field: str) -> np.ndarray:
        """Values of ``field`` at ``points()``, shape (m,)."""
        return self.fields[field].ravel()

    # -- files ---------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write ``/axes`` (or ``/points``), ``/fields`` and provenance attributes, atomically."""
        groups: dict[str, dict[str, np.ndarray]] = {"fields": self.fields}
        groups["axes" if self.axes is not None else "points"] = self.axes if self.axes is not None else self._coords
        attrs = {"format": "pinnfreq.reference", "coordinates": json.dumps(list(self.coordinates))}
        attrs.update({k: (json.dumps(v) if isinstance(v, (dict, list, tuple)) else v) for k, v in self.attrs.items()})
        write_h5(path, groups, attrs)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Reference":
        with open_h5(path, "pinnfreq.reference") as f:
            coords = json.loads(f.attrs["coordinates"])
            kind = "axes" if "axes" in f else "points"
            where = {c: f[kind][c][()] for c in coords}
            fields = {k: f["fields"][k][()] for k in f["fields"]}
            attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()
                     if k not in ("format", "coordinates")}
        return cls(fields, **{kind: where}, attrs=attrs)
