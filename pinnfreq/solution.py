"""A trained solution: evaluate it anywhere, compare it, save/load it, export it, plot it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import torch

from . import __version__
from .constraints import HardConstraints
from .io.hdf5 import open_h5, read_flat, write_h5
from .model import PINNModel
from .nn import build
from .reference import Reference

FORMAT = "pinnfreq.solution"
DEFAULT_GRID = {1: 512, 2: 128, 3: 40, 4: 16}


class Solution:
    """The result of ``solve()``.

    Attributes
    ----------
    coordinates, fields : tuple of str
    time : str or None
        The time coordinate of a time-dependent problem.
    parameters : dict of float
        Learnt values of the unknown parameters.
    history : dict of lists
        Per step (``step``: steps taken, 0, 1, 2, ...; ``phase``: "adam" or "lbfgs"): every loss term,
        the learning rate; evaluations against the reference (at ``eval_step``); events.
    config : dict
        The training configuration.
    interrupted : bool
        True when training was stopped by Ctrl-C before its end.
    """

    def __init__(self, model: PINNModel, coordinates: tuple[str, ...], fields: tuple[str, ...], time: str | None,
                 history: dict[str, list], config: Mapping[str, Any], reference: Reference | None = None,
                 contains: Callable[[np.ndarray], np.ndarray] | None = None, name: str = "solution",
                 interrupted: bool = False, grid: dict[str, Any] | None = None):
        self.model = model.eval()
        self.coordinates, self.fields, self.time = tuple(coordinates), tuple(fields), time
        self.history, self.config = history, dict(config)
        self.reference, self.name, self.interrupted = reference, name, interrupted
        self._contains = contains
        self._grid = grid  # a stored evaluation grid (from a loaded file)
        # the last default-grid evaluation and the last reference comparison, each with the weights it was
        # made with: writing a run's files (HDF5, XDMF, PNG, errors) would evaluate the network 5 times
        self._memo: dict[str, tuple[Any, Any]] = {}

    def __repr__(self) -> str:
        return f"Solution({self.name!r}, coordinates={self.coordinates}, fields={self.fields})"

    @property
    def parameters(self) -> dict[str, float]:
        return {k: float(v.detach()) for k, v in self.model.unknowns.items()}

    # -- evaluation ----------------------------------------------------------------------------------
    def evaluate(self, points: np.ndarray, chunk: int = 65536, out: Any = None) -> np.ndarray:
        """Field values at physical points (m, d) -> (m, n_fields), ``chunk`` points at a time, without
        autograd; written into ``out`` (anything sliceable of that shape, e.g. an h5py dataset) when given."""
        p = np.asarray(points, dtype=float)
        if p.ndim != 2 or p.shape[1] != len(self.coordinates):
            raise ValueError(f"points must be (m, {len(self.coordinates)}) with columns {self.coordinates}, got {p.shape}")
        out = np.empty((len(p), len(self.fields))) if out is None else out
        for start in range(0, len(p), chunk):
            out[start:start + chunk] = self._values(p[start:start + chunk])
        return out

    def evaluate_grid(self, axes: Mapping[str, np.ndarray], chunk: int = 65536, out: Any = None) -> np.ndarray:
        """Field values on the tensor grid of ``axes`` (one 1-D array per coordinate, ``ij`` order),
        flattened: (prod(len(axis)), n_fields). Streams: only ``chunk`` grid points exist at a time, so
        besides ``out`` (pass an h5py dataset or a memmap for grids larger than memory) the memory used is
        bounded by the chunk, also for 10^7 points."""
        total = int(np.prod([len(axes[c]) for c in self._check_axes(axes)]))
        out = np.empty((total, len(self.fields))) if out is None else out
        for start, block in self._grid_chunks(axes, chunk):
            out[start:start + len(block)] = self._values(block)
        return out

    def _check_axes(self, axes: Mapping[str, np.ndarray]) -> tuple[str, ...]:
        missing = [c for c in self.coordinates if c not in axes]
        if missing:
            raise ValueError(f"a grid needs an axis for every coordinate {self.coordinates}; missing {missing}")
        return self.coordinates

    def _grid_chunks(self, axes: Mapping[str, np.ndarray], chunk: int) -> Iterator[tuple[int, np.ndarray]]:
        """(start, points (k, d)) over the flattened ``ij`` grid, ``chunk`` points at a time."""
        vectors = [np.asarray(axes[c], dtype=float).ravel() for c in self._check_axes(axes)]
        shape = tuple(len(v) for v in vectors)
        total = int(np.prod(shape))
        for start in range(0, total, chunk):
            index = np.unravel_index(np.arange(start, min(start + chunk, total)), shape)
            yield start, np.stack([v[i] for v, i in zip(vectors, index)], axis=1)

    def _weights_key(self) -> tuple:
        """Changes whenever a weight or buffer of the network changes (in-place updates bump a tensor's
        version), so a memoised evaluation is never stale."""
        return tuple((id(t), t._version) for t in [*self.model.parameters(), *self.model.buffers()])

    def _memoised(self, name: str, key: Any, compute: Callable[[], Any]) -> Any:
        key = (key, self._weights_key())
        if name not in self._memo or self._memo[name][0] != key:
            self._memo[name] = (key, compute())
        return self._memo[name][1]

    def _values(self, block: np.ndarray) -> np.ndarray:
        ref = next(self.model.parameters())
        with torch.no_grad():
            return self.model(torch.as_tensor(block, dtype=ref.dtype, device=ref.device)).double().cpu().numpy()

    def __call__(self, **coords: Any) -> np.ndarray | dict[str, np.ndarray]:
        """``sol(x=..., t=...)``: coordinates broadcast together; one field gives an array of the
        broadcast shape, several give a dict field -> array."""
        missing = [c for c in self.coordinates if c not in coords]
        extra = [c for c in coords if c not in self.coordinates]
        if missing or extra:
            raise ValueError(f"give every coordinate {self.coordinates} by name (missing {missing}, unknown {extra})")
        arrays = np.broadcast_arrays(*(np.asarray(coords[c], dtype=float) for c in self.coordinates))
        shape = arrays[0].shape
        values = self.evaluate(np.stack([a.ravel() for a in arrays], axis=1))
        out = {f: values[:, i].reshape(shape) for i, f in enumerate(self.fields)}
        return out[self.fields[0]] if len(self.fields) == 1 else out

    def grid(self, n: int | Mapping[str, int] | None = None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
        """Evaluate on a uniform grid of the bounding box (``ij`` indexing, axes in coordinate order).

        ``n`` is the points per axis; by default the reference grid when there is one, else a size
        set by the dimension. Returns ``axes``, ``values`` (field -> array, NaN outside the domain)
        and ``mask`` (True inside).
        """
        if n is None and self._grid is not None:
            axes, mask = self._grid["axes"], self._grid["mask"]
        elif n is None and self.reference is not None and self.reference.is_grid:
            axes = {c: self.reference.axes[c] for c in self.coordinates}
            mask = None
        else:
            counts = n if isinstance(n, Mapping) else {c: n or DEFAULT_GRID.get(len(self.coordinates), 12) for c in self.coordinates}
            lo, hi = self.model.lower.cpu().numpy(), self.model.upper.cpu().numpy()
            axes = {c: np.linspace(lo[i], hi[i], int(counts[c])) for i, c in enumerate(self.coordinates)}
            mask = None
        if n is None:  # the grid every file of a run is written on; copies, so that a caller's edits stay theirs
            axes, values, mask = self._memoised("grid", None, lambda: self._grid_values(axes, mask))
            return dict(axes), {f: v.copy() for f, v in values.items()}, mask.copy()
        return self._grid_values(axes, mask)

    def _grid_values(self, axes: Mapping[str, np.ndarray], mask: np.ndarray | None) -> tuple:
        shape = tuple(len(axes[c]) for c in self.coordinates)
        if mask is None:
            mask = np.ones(shape, bool)
            if self._contains is not None:
                flat = mask.reshape(-1)
                for start, block in self._grid_chunks(axes, 65536):
                    flat[start:start + len(block)] = self._contains(block)
        values = self.evaluate_grid(axes)
        out = {f: np.where(mask, values[:, i].reshape(shape), np.nan) for i, f in enumerate(self.fields)}
        return axes, out, mask

    def error(self, reference: Reference | None = None) -> dict[str, dict[str, float]]:
        """Relative L2 and max absolute error per field against ``reference`` (default: the run's)."""
        reference = reference or self.reference
        if reference is None:
            raise ValueError("no reference to compare with: pass one, or give solve() reference=")
        pred = self._memoised("error", reference, lambda: self.evaluate(reference.points(self.coordinates)))
        out = {}
        for i, f in enumerate(self.fields):
            if f not in reference.fields:
                continue
            ref = reference.values(f)
            diff = pred[:, i] - ref
            out[f] = {"rel_l2": float(np.linalg.norm(diff) / max(np.linalg.norm(ref), 1e-300)),
                      "max_abs": float(np.abs(diff).max())}
        if not out:
            raise ValueError(f"the reference has none of the fields {self.fields}")
        return out

    def _reference_on(self, axes: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Reference fields transposed to ``axes`` when the reference is that very grid, else {}."""
        ref = self.reference
        if ref is None or not ref.is_grid or set(ref.axes) != set(self.coordinates) \
                or not all(np.array_equal(ref.axes[c], axes[c]) for c in self.coordinates):
            return {}
        order = [list(ref.axes).index(c) for c in self.coordinates]
        return {f: np.transpose(v, order) for f, v in ref.fields.items() if f in self.fields}

    # -- files ---------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """HDF5 file: grid axes and fields, reference and error when known, history, configuration,
        model weights and the package version. Written atomically; ``Solution.load`` rebuilds it."""
        axes, values, mask = self.grid()
        for f, v in values.items():
            if not np.all(np.isfinite(v[mask])):
                raise ValueError(f"refusing to save {path}: field {f!r} is not finite on the grid")
        groups: dict[str, Any] = {"grid": {"axes": axes, "mask": mask, "fields": values}}
        attrs: dict[str, Any] = {}
        ref = self._reference_on(axes)
        if ref:
            groups["reference"] = ref
            groups["error"] = {f: values[f] - ref[f] for f in ref}
        if self.reference is not None:
            attrs["errors"] = json.dumps(self.error())
        groups["history"] = {k: v for k, v in self.history.items() if k != "events"}
        groups["history"]["events"] = list(self.history.get("events", [])) or np.zeros(0)
        groups["model"] = {k: v.detach().cpu().numpy() for k, v in self.model.state_dict().items()}
        net = self.model.network
        attrs.update({
            "format": FORMAT, "format_version": 1, "pinnfreq_version": __version__, "name": self.name,
            "coordinates": json.dumps(self.coordinates), "fields": json.dumps(self.fields),
            "time": self.time or "", "parameters": json.dumps(self.parameters),
            "model": json.dumps({"class": type(net).__name__, "config": getattr(net, "config", None)}),
            "config": json.dumps(self.config, default=str), "interrupted": self.interrupted,
        })
        if isinstance(self.model.constraints, HardConstraints):
            attrs["constraints"] = json.dumps(self.model.constraints.spec())
        write_h5(path, groups, attrs)

    @classmethod
    def load(cls, path: str | os.PathLike, problem: Any = None) -> "Solution":
        """Rebuild a saved solution. No problem script is needed, except for a solution trained with
        initial values imposed exactly (hard constraints): those are the problem's functions, so pass
        ``problem=`` to evaluate it."""
        with open_h5(path, FORMAT) as f:
            spec = json.loads(f.attrs["model"])
            if spec.get("config") is None:
                raise ValueError(f"{path}: the network {spec['class']!r} is not a registered pinnfreq model; "
                                 "rebuild it yourself and load the weights from /model")
            state = {k: torch.as_tensor(f["model"][k][()]) for k in f["model"]}
            history: dict[str, list] = {k: v.tolist() for k, v in read_flat(f["history"]).items()}
            history["events"] = list(history.get("events", []))
            for key, values in history.items():  # text (events, phases) comes back from HDF5 as bytes
                if values and isinstance(values[0], bytes):
                    history[key] = [v.decode() for v in values]
            coords = tuple(json.loads(f.attrs["coordinates"]))
            grid = {"axes": {c: f["grid"]["axes"][c][()] for c in coords}, "mask": f["grid"]["mask"][()]}
            fields = tuple(json.loads(f.attrs["fields"]))
            reference = None
            if "reference" in f:
                reference = Reference({k: f["reference"][k][()] for k in f["reference"]}, axes=grid["axes"])
            attrs = {k: f.attrs[k] for k in ("time", "name", "config", "interrupted", "parameters")}
            constraints = json.loads(f.attrs["constraints"]) if "constraints" in f.attrs else None
        network = build(spec["class"], spec["config"])
        params = json.loads(attrs["parameters"])
        lower, upper = state["lower"].numpy(), state["upper"].numpy()
        hard = None if constraints is None else HardConstraints.from_spec(constraints, coords, fields, lower, upper,
                                                                            problem)
        model = PINNModel(network, lower.tolist(), upper.tolist(), params, hard)
        model = model.to(state["lower"].dtype)
        model.load_state_dict(state)
        return cls(model, coords, fields, attrs["time"] or None, history, json.loads(attrs["config"]),
                   reference=reference, name=str(attrs["name"]), interrupted=bool(attrs["interrupted"]), grid=grid)

    def export(self, path: str | os.PathLike) -> Path:
        """ParaView output: ``.vtu`` for a steady problem, ``.xdmf`` (time series) for a time-dependent one."""
        from .io.vtk import write_vtu, write_xdmf_series

        path = Path(path)
        axes, values, mask = self.grid()
        for f, r in self._reference_on(axes).items():
            values[f"{f}_error"] = values[f] - r
        if self.time is None:
            if path.suffix != ".vtu":
                raise ValueError(f"a steady solution exports to .vtu, got {path.name}")
            write_vtu(path, axes, values, mask)
        else:
            if path.suffix != ".xdmf":
                raise ValueError(f"a time-dependent solution exports to .xdmf, got {path.name}")
            k = self.coordinates.index(self.time)
            space = {c: a for c, a in axes.items() if c != self.time}
            moved = {f: np.moveaxis(v, k, -1) for f, v in values.items()}
            space_mask = np.moveaxis(mask, k, -1).all(axis=-1)
            write_xdmf_series(path, space, axes[self.time], moved, space_mask)
        return path

    def plot(self, path: str | os.PathLike) -> Path:
        """PNG with each field, its error against the reference when known, and the loss history."""
        from .plot import plot_solution

        return plot_solution(self, path)
