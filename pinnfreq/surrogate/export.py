"""Rollouts to files: HDF5 (truth, prediction, metrics), XDMF for ParaView, and a PNG of truth
against prediction."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..io.hdf5 import open_h5, write_h5
from ..io.vtk import write_xdmf_series

FORMAT = "pinnfreq-rollout"


def save_rollout(path: str | os.PathLike, pred: np.ndarray, true: np.ndarray, axes: dict[str, np.ndarray],
                 indices: np.ndarray, summary: dict[str, Any], conditioning: int) -> None:
    """``pred``/``true`` (N, T, *grid, C) of the predicted frames; ``axes`` with ``t`` of every frame."""
    write_h5(path, {"prediction": pred.astype(np.float32), "truth": true.astype(np.float32),
                    "trajectory": np.asarray(indices), "axes": axes,
                    "metrics": {"rel_l2_per_step": summary["rel_l2_per_step"], "nrmse_per_step": summary["nrmse_per_step"]}},
             {"format": FORMAT, "metrics": json.dumps(summary), "conditioning_frames": conditioning})


def load_rollout(path: str | os.PathLike) -> dict[str, Any]:
    with open_h5(path, FORMAT) as f:
        return {"prediction": f["prediction"][()], "truth": f["truth"][()], "trajectory": f["trajectory"][()],
                "axes": {k: f["axes"][k][()] for k in f["axes"]}, "metrics": json.loads(f.attrs["metrics"])}


def export_xdmf(path: str | os.PathLike, pred: np.ndarray, true: np.ndarray, axes: dict[str, np.ndarray],
                times: np.ndarray) -> Path:
    """One trajectory (T, *grid, C) as an XDMF time series with truth, prediction and error per channel."""
    space = {k: v for k, v in axes.items() if k != "t"}
    fields = {}
    for c in range(pred.shape[-1]):
        suffix = f"_{c}" if pred.shape[-1] > 1 else ""
        for name, values in (("truth", true), ("prediction", pred), ("error", pred - true)):
            fields[name + suffix] = np.moveaxis(values[..., c], 0, -1)
    write_xdmf_series(path, space, times, fields)
    return Path(path)


def plot_rollout(path: str | os.PathLike, pred: np.ndarray, true: np.ndarray, axes: dict[str, np.ndarray],
                 times: np.ndarray) -> None:
    """Truth, prediction and error of one trajectory (T, *grid, C), first channel: space-time images
    in 1-D, three snapshots in 2-D."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io.atomic import atomic_path

    p, t = pred[..., 0], true[..., 0]
    if p.ndim == 2:
        fig, axs = plt.subplots(1, 3, figsize=(13, 3.6))
        extent = [axes["x"][0], axes["x"][-1], times[-1], times[0]]
        lim = np.abs(t).max()
        for ax, data, title in zip(axs, (t, p, p - t), ("truth", "prediction", "error")):
            im = ax.imshow(data, aspect="auto", extent=extent, cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set(title=title, xlabel="x", ylabel="t")
            fig.colorbar(im, ax=ax)
    else:
        picks = sorted({0, len(times) // 2, len(times) - 1})
        fig, axs = plt.subplots(3, len(picks), figsize=(3.6 * len(picks), 9.5), squeeze=False)
        lim = np.abs(t).max()
        for j, i in enumerate(picks):
            for r, (data, title) in enumerate(((t[i], "truth"), (p[i], "prediction"), (p[i] - t[i], "error"))):
                im = axs[r, j].imshow(data.T, origin="lower", cmap="RdBu_r", vmin=-lim, vmax=lim)
                axs[r, j].set_title(f"{title}, t = {times[i]:.3g}")
                fig.colorbar(im, ax=axs[r, j])
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
