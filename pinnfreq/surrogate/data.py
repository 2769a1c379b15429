"""Trajectory datasets: the HDF5 format, PDEBench files, and windows of (history -> next frames).

File layout (``format = "pinnfreq-trajectories"``): ``u`` (N, T, X[, Y], C) float32; ``axes/t``,
``axes/x``[, ``axes/y``]; root attributes for the equation, its parameters, the frame spacing, the
solver, the generator and its seed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset

from ..io.hdf5 import open_h5, write_h5

FORMAT = "pinnfreq-trajectories"


@dataclass
class Trajectories:
    """u (N, T, *grid, C) on a uniform grid; axes {"t": (T,), "x": (X,)[, "y": (Y,)]}; attrs: provenance."""

    u: np.ndarray
    axes: dict[str, np.ndarray]
    attrs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        u = self.u
        if u.ndim not in (4, 5):
            raise ValueError(f"trajectories must be (N, T, X, C) or (N, T, X, Y, C); got an array of rank {u.ndim} "
                             f"{tuple(u.shape)}")
        space = [k for k in ("x", "y") if k in self.axes][: u.ndim - 3]
        expected = {"t": u.shape[1], **{k: u.shape[2 + i] for i, k in enumerate(space)}}
        for k, n in expected.items():
            if k not in self.axes or len(self.axes[k]) != n:
                raise ValueError(f"axis {k!r} must have {n} values to match u {tuple(u.shape)}; "
                                 f"got {None if k not in self.axes else len(self.axes[k])}")
        if not np.all(np.isfinite(u)):
            raise ValueError(f"trajectories hold {int((~np.isfinite(u)).sum())} non-finite values")

    @property
    def grid(self) -> tuple[int, ...]:
        return tuple(self.u.shape[2:-1])

    @property
    def channels(self) -> int:
        return self.u.shape[-1]

    def save(self, path: str | os.PathLike) -> None:
        attrs = {"format": FORMAT, "format_version": 1,
                 **{k: (json.dumps(v) if isinstance(v, (dict, list, tuple)) else v) for k, v in self.attrs.items()}}
        write_h5(path, {"u": self.u.astype(np.float32), "axes": dict(self.axes)}, attrs)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Trajectories":
        with open_h5(path, FORMAT) as f:
            u = f["u"][()]
            axes = {k: f["axes"][k][()] for k in f["axes"]}
            attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()
                     if k not in ("format", "format_version")}
        try:
            return cls(u, axes, attrs)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None

    def subsample(self, n: int | None = None, stride_t: int = 1, stride_x: int = 1) -> "Trajectories":
        """The first ``n`` trajectories, every ``stride_t``-th frame and every ``stride_x``-th point per axis
        (PDEBench's ``reduced_resolution_t`` and ``reduced_resolution``)."""
        pick = _selection(self.u.shape[0], n, stride_t, stride_x, len(self.grid))
        axes = {k: np.asarray(v)[::stride_t if k == "t" else stride_x] for k, v in self.axes.items()}
        attrs = dict(self.attrs)
        if "frame_dt" in attrs:
            attrs["frame_dt"] = float(attrs["frame_dt"]) * stride_t
        return Trajectories(self.u[pick], axes, attrs)

    @classmethod
    def from_pdebench(cls, path: str | os.PathLike, field_names: Sequence[str] | None = None, n: int | None = None,
                      stride_t: int = 1, stride_x: int = 1) -> "Trajectories":
        """Read a PDEBench HDF5 file: either one array ``tensor`` (N, T, X[, Y]) with ``x-coordinate``,
        ``t-coordinate`` (1-D Burgers, advection, ...), or one group per sample ``0000/data``
        (T, X[, Y], C) with ``0000/grid/{x, y, t}`` (2-D diffusion-reaction, shallow water, ...).
        Only the selected part is read (``n``, ``stride_t``, ``stride_x`` as in :meth:`subsample`): the
        files hold gigabytes (1-D Burgers: 10000 x 201 x 1024)."""
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}: no such file")
        with h5py.File(path, "r") as f:
            if "tensor" in f:
                dims = f["tensor"].ndim - 2
                u = f["tensor"][_selection(f["tensor"].shape[0], n, stride_t, stride_x, dims)[:-1]][..., None]
                t = f["t-coordinate"][()][: f["tensor"].shape[1]][::stride_t]  # PDEBench stores T + 1 time edges
                axes = {"t": t, "x": f["x-coordinate"][()][::stride_x]}
                if "y-coordinate" in f:
                    axes["y"] = f["y-coordinate"][()][::stride_x]
            else:
                samples = sorted(k for k in f if isinstance(f[k], h5py.Group) and "data" in f[k])
                if not samples:
                    raise ValueError(f"{path}: neither a 'tensor' dataset nor per-sample groups with 'data': "
                                     "not a PDEBench file")
                samples = samples[:n]
                dims = f[samples[0]]["data"].ndim - 2
                pick = _selection(1, None, stride_t, stride_x, dims)[1:]
                u = np.stack([f[s]["data"][pick] for s in samples])  # per-sample data carry a channel axis
                grid = f[samples[0]]["grid"]
                axes = {k: grid[k][()][::stride_t if k == "t" else stride_x] for k in ("t", "x", "y") if k in grid}
        if field_names is not None and len(field_names) != u.shape[-1]:
            raise ValueError(f"{path}: {u.shape[-1]} channel(s), but field_names={list(field_names)}")
        attrs = {"source": f"PDEBench file {os.path.basename(path)}", "fields": list(field_names or [])}
        if len(axes["t"]) > 1:
            attrs["frame_dt"] = float(axes["t"][1] - axes["t"][0])
        return cls(u.astype(np.float32), axes, attrs)


def _selection(total: int, n: int | None, stride_t: int, stride_x: int, dims: int) -> tuple[slice, ...]:
    """Index (trajectories, t, *space, channels) for :meth:`Trajectories.subsample`."""
    if (n is not None and n < 1) or stride_t < 1 or stride_x < 1:
        raise ValueError(f"need n >= 1 and strides >= 1; got n={n}, stride_t={stride_t}, stride_x={stride_x}")
    return (slice(0, min(n or total, total)), slice(None, None, stride_t), *(slice(None, None, stride_x),) * dims,
            slice(None))


def split(trajectories: Trajectories, test_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Trajectory indices (train, test): whole trajectories, never frames of one in both."""
    n = trajectories.u.shape[0]
    if not 0 < test_fraction < 1 or n < 2:
        raise ValueError(f"need 0 < test_fraction < 1 and at least 2 trajectories; got {test_fraction}, {n}")
    order = np.random.default_rng(seed).permutation(n)
    n_test = max(1, round(n * test_fraction))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


@dataclass
class Normaliser:
    """Per-channel affine normalisation, fitted on training trajectories only."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, u: np.ndarray) -> "Normaliser":
        axes = tuple(range(u.ndim - 1))
        return cls(u.mean(axes).astype(np.float32), np.maximum(u.std(axes), 1e-8).astype(np.float32))

    def encode(self, u: torch.Tensor) -> torch.Tensor:
        return (u - torch.as_tensor(self.mean, device=u.device)) / torch.as_tensor(self.std, device=u.device)

    def decode(self, u: torch.Tensor) -> torch.Tensor:
        return u * torch.as_tensor(self.std, device=u.device) + torch.as_tensor(self.mean, device=u.device)


class TrajectoryDataset(Dataset):
    """Windows of ``history`` frames (inputs) and the next ``horizon`` frames (targets), over every
    start time of the chosen trajectories; values normalised by ``normaliser``.

    Items: (inputs (history, *grid, C), targets (horizon, *grid, C)), float32 tensors.
    """

    def __init__(self, trajectories: Trajectories, indices: Sequence[int], history: int, horizon: int = 1,
                 normaliser: Normaliser | None = None):
        t = trajectories.u.shape[1]
        if history < 1 or horizon < 1 or history + horizon > t:
            raise ValueError(f"history={history} + horizon={horizon} frames do not fit trajectories of {t} frames")
        self.u = torch.as_tensor(trajectories.u[np.asarray(indices)])
        if normaliser is not None:
            self.u = normaliser.encode(self.u)
        self.history, self.horizon = history, horizon
        self.starts = t - history - horizon + 1

    def __len__(self) -> int:
        return self.u.shape[0] * self.starts

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        n, s = divmod(int(i), self.starts)
        window = self.u[n, s: s + self.history + self.horizon]
        return window[: self.history], window[self.history:]
