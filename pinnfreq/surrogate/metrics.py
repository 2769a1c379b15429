"""Rollout metrics as the field reports them. Every function takes predictions and truth of the
predicted frames only, (N, T, *grid, C): the conditioning frames are never counted (PDEBench issue 41).
"""

from __future__ import annotations

import numpy as np

BANDS = {"low": (0, 4), "mid": (4, 12), "high": (12, np.inf)}  # PDEBench's Fourier bands, |k| in cycles per box


def _space(a: np.ndarray) -> tuple[int, ...]:
    return tuple(range(2, a.ndim - 1))


def relative_l2(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """||pred - true|| / ||true|| over space and channels, per trajectory and step: (N, T)."""
    axes = _space(pred) + (pred.ndim - 1,)
    return np.sqrt(((pred - true) ** 2).sum(axes) / np.maximum((true**2).sum(axes), 1e-30))


def nrmse(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """PDEBench's nRMSE: RMSE over space / RMS of the truth, per channel, averaged over channels: (N, T)."""
    axes = _space(pred)
    return (np.sqrt(((pred - true) ** 2).mean(axes)) / np.maximum(np.sqrt((true**2).mean(axes)), 1e-30)).mean(-1)


def band_errors(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """RMS of the error's component in the low (|k| < 4), mid (4 <= |k| < 12) and high (|k| >= 12)
    Fourier bands (|k| in cycles per box), over everything: PDEBench's fRMSE, computed by Parseval as
    sqrt(sum over the band of |e^_k|^2) / (grid points)."""
    axes = _space(pred)
    ep = np.fft.fftn(pred - true, axes=axes)
    k = np.meshgrid(*[np.fft.fftfreq(n, 1 / n) for n in pred.shape[2:-1]], indexing="ij")
    radius = np.sqrt(sum(ki**2 for ki in k))
    points = int(np.prod(pred.shape[2:-1]))
    out = {}
    for name, (lo, hi) in BANDS.items():
        band = (radius >= lo) & (radius < hi)
        if band.any():
            power = (np.abs(ep[(slice(None), slice(None), band)]) ** 2).sum(-2)  # (N, T, C)
            out[name] = float(np.sqrt(power.mean()) / points)
    return out


def correlation(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Pearson correlation over space and channels, per trajectory and step: (N, T)."""
    axes = _space(pred) + (pred.ndim - 1,)
    p = pred - pred.mean(axes, keepdims=True)
    t = true - true.mean(axes, keepdims=True)
    return (p * t).sum(axes) / np.maximum(np.sqrt((p**2).sum(axes) * (t**2).sum(axes)), 1e-30)


def high_correlation_time(pred: np.ndarray, true: np.ndarray, frame_dt: float = 1.0, level: float = 0.8) -> float:
    """Mean over trajectories of the time until the correlation first drops below ``level`` (the whole
    rollout when it never does), in units of ``frame_dt``."""
    corr = correlation(pred, true)
    below = corr < level
    steps = np.where(below.any(1), below.argmax(1), corr.shape[1])
    return float(steps.mean() * frame_dt)


def summary(pred: np.ndarray, true: np.ndarray, frame_dt: float = 1.0) -> dict[str, object]:
    """Everything above: per-step curves (mean over trajectories) and their means over the horizon."""
    rel, nr = relative_l2(pred, true), nrmse(pred, true)
    return {"rel_l2": float(rel.mean()), "nrmse": float(nr.mean()), "rel_l2_per_step": rel.mean(0).tolist(),
            "nrmse_per_step": nr.mean(0).tolist(), "bands": band_errors(pred, true),
            "high_correlation_time": high_correlation_time(pred, true, frame_dt)}
