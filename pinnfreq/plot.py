"""PNG figures of a solution: field, error against the reference, loss history."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .io.atomic import atomic_path

if TYPE_CHECKING:
    from .solution import Solution


def plot_solution(sol: "Solution", path: str | os.PathLike) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axes, values, _ = sol.grid()
    refs = sol._reference_on(axes)
    names = list(axes)
    panels = [(f, values[f]) for f in sol.fields] + [(f"{f} error", values[f] - refs[f]) for f in refs]
    fig, ax = plt.subplots(1, len(panels) + 1, figsize=(4.5 * (len(panels) + 1), 3.8), squeeze=False)
    for a, (title, v) in zip(ax[0], panels):
        if len(names) == 1:
            a.plot(axes[names[0]], v, label=title)
            if title in refs:
                a.plot(axes[names[0]], refs[title], "k--", label="reference")
            a.set_xlabel(names[0])
            a.legend()
        else:
            # two leading axes; higher dimensions show the mid slice of the rest
            v2 = v[(slice(None), slice(None)) + tuple(s // 2 for s in v.shape[2:])]
            err = "error" in title
            lim = float(np.nanmax(np.abs(v2))) if err else None  # errors: white is zero
            im = a.pcolormesh(axes[names[1]], axes[names[0]], v2, shading="auto", cmap="RdBu_r" if err else "viridis",
                              vmin=-lim if err else None, vmax=lim)
            a.set_xlabel(names[1])
            a.set_ylabel(names[0])
            fig.colorbar(im, ax=a)
        a.set_title(title)
    h = ax[0][-1]
    steps = np.asarray(sol.history.get("step", []))
    for key, vals in sol.history.items():
        if key.startswith("term/") and len(vals) == len(steps):
            h.semilogy(steps, vals, label=key[5:], lw=0.8)
    for key, vals in sol.history.items():
        if key.startswith("rel_l2/"):
            h.semilogy(sol.history["eval_step"], vals, "k.-", label=f"rel. L2 {key[7:]}")
    h.set_xlabel("step")
    h.set_title("training history")
    if h.get_legend_handles_labels()[0]:
        h.legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path
