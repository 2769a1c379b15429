"""Surrogates on Burgers (PDEBench's nu = 0.01: viscosity 0.01/pi, its initial conditions and frames)
and Navier-Stokes (nu = 1e-3, 64 x 64): every mixer at matched parameter counts, and neuraloperator's
own FNO as the external peer, same data and same budget.

    python benchmarks/surrogates.py --cases burgers ns --time-budget 240
    python benchmarks/surrogates.py --mixers fno:norm=none spectre:d_gate=64    # variants: mixer:key=value,...
    python benchmarks/surrogates.py --quick                        # tiny data and budget: checks the script

Data are generated on first use into benchmarks/data/ (git-ignored) with pinnfreq/numerics/trajectories.py.
Training: AdamW, cosine schedule, MSE loss (normalised units), 10 input frames, increments, the same time budget
per model. Metrics on held-out trajectories, autoregressive over the whole remaining horizon, the
conditioning frames excluded: mean relative L2 and nRMSE over the steps, Fourier-band errors,
high-correlation time. neuraloperator is not a dependency of pinnfreq: install it in the benchmark's
environment (``pip install neuraloperator``); without it that row is skipped.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch
from torch import nn

from pinnfreq.surrogate.data import Trajectories
from pinnfreq.surrogate.model import Surrogate
from pinnfreq.surrogate.train import train_surrogate
from pinnfreq.numerics.trajectories import GENERATORS

ROOT = Path(__file__).resolve().parent
CASES = {
    "burgers": dict(generator="burgers", n=400, options=dict(resolution=256, n_times=41), patch=1),  # PDEBench's frames
    "ns": dict(generator="navier-stokes", n=96, options=dict(resolution=64), patch=4),  # 256 tokens of 4 x 4 points
}
HISTORY = 10


def dataset(case: str, quick: bool) -> Trajectories:
    spec = CASES[case]
    n, options = (12, {**spec["options"], "n_times": 16, "t_end": 15.0 if case == "ns" else 0.75}) if quick \
        else (spec["n"], spec["options"])
    path = ROOT / "data" / f"{case}{'_quick' if quick else ''}.h5"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        start = time.perf_counter()
        data = GENERATORS[spec["generator"]](n, seed=0, **options)
        Trajectories(data["u"], data["axes"], data["attrs"]).save(path)
        print(f"  generated {path} in {time.perf_counter() - start:.0f} s", flush=True)
    return Trajectories.load(path)


def parse_mixer(spec: str) -> tuple[str, dict, dict]:
    """"spectre" or "spectre:d_gate=64,norm=none": a mixer, options of the mixer on top of the
    benchmark's, and options of the Surrogate (``norm``)."""
    name, _, rest = spec.partition(":")
    options = {k: (int(v) if v.lstrip("-").isdigit() else v) for k, v in (item.split("=") for item in rest.split(",") if item)}
    model_options = {k: options.pop(k) for k in ("norm",) if k in options}
    return name, options, model_options


def matched(mixer: str, grid: tuple[int, ...], target: int, patch: int) -> Surrogate:
    """The Surrogate with this mixer whose parameter count is closest to ``target`` (width searched)."""
    n_dims = len(grid)
    mixer, extra, model_options = parse_mixer(mixer)
    options = {"n_modes": min(12 if n_dims == 2 else 16, min(grid) // patch // 2)} if mixer == "fno" else {"n_heads": 4}
    options.update(extra)
    best = None
    for width in range(16, 257, 16):  # 4 heads x 4 SPECTRE groups
        model = Surrogate(HISTORY, 1, n_dims, mixer, hidden_channels=width, n_layers=4, mixer_options=options, grid=grid,
                          patch=patch, **model_options)
        size = sum(p.numel() for p in model.parameters())
        if best is None or abs(size - target) < abs(best[0] - target):
            best = (size, model)
    return best[1]


class NeuralopFNO(nn.Module):
    """neuraloperator's FNO behind the Surrogate interface (history frames as channels, increments)."""

    def __init__(self, n_dims: int, target: int):
        from neuralop.models import FNO

        super().__init__()
        self.history, self.channels, self.n_dims, self.out_frames = HISTORY, 1, n_dims, 1
        modes = (16,) if n_dims == 1 else (12, 12)
        best = None
        for width in range(8, 129, 4):
            net = FNO(n_modes=modes, hidden_channels=width, in_channels=HISTORY, out_channels=1, n_layers=4)
            size = sum(p.numel() for p in net.parameters())
            if best is None or abs(size - target) < abs(best[0] - target):
                best = (size, net)
        self.net = best[1]
        self.config = {"mixer": "neuralop FNO"}

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = frames[..., 0]  # (B, h, *grid): the frames are the channels
        return frames[:, -1:] + self.net(x)[:, :, ..., None]

    @torch.no_grad()
    def rollout(self, frames: torch.Tensor, n_steps: int) -> torch.Tensor:
        out, window = [], frames
        for _ in range(n_steps):
            out.append(self(window))
            window = torch.cat([window, out[-1]], 1)[:, -self.history:]
        return torch.cat(out, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", nargs="*", default=["burgers", "ns"])
    ap.add_argument("--mixers", nargs="*", default=["spectre", "spectre:d_gate=64", "magnitude", "softmax", "fno", "neuralop"],
                    help="mixers, each optionally with options: spectre:d_gate=64")
    ap.add_argument("--params", type=int, default=200_000, help="parameter count to match")
    ap.add_argument("--time-budget", type=float, default=300.0, help="training seconds per model")
    ap.add_argument("--epochs", type=int, default=1000, help="upper bound; the time budget usually ends training")
    ap.add_argument("--pushforward", type=int, default=0, help="unrolled calls before the loss (0: teacher forcing)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.params, args.time_budget, args.epochs = 20_000, 5.0, 1
    rows = []
    for case in args.cases:
        data = dataset(case, args.quick)
        n_dims = len(data.grid)
        for mixer in args.mixers:
            torch.manual_seed(0)
            if mixer == "neuralop":
                try:
                    model = NeuralopFNO(n_dims, args.params)
                except ImportError:
                    print("  neuraloperator is not installed: its row is skipped", flush=True)
                    continue
            else:
                model = matched(mixer, data.grid, args.params, CASES[case]["patch"])
            start = time.perf_counter()
            trained = train_surrogate(data, model, epochs=args.epochs, batch_size=16, lr=1e-3, seed=0,
                                      pushforward=args.pushforward,
                                      time_budget=args.time_budget, device=args.device, progress=False)
            seconds = time.perf_counter() - start
            summary = trained.evaluate(data)[0]
            rows.append(dict(case=case, mixer=mixer if mixer != "neuralop" else model.config["mixer"], params=sum(p.numel() for p in model.parameters()),
                             epochs=len(trained.history["epoch"]), seconds=seconds, **summary))
            print(f"  {case:8s} {rows[-1]['mixer']:13s} rel_l2={summary['rel_l2']:.3e} nrmse={summary['nrmse']:.3e} "
                  f"{seconds:.0f}s", flush=True)
    print(f"\nSurrogates, {HISTORY} input frames, same time budget ({args.time_budget:g} s) per model; "
          f"pushforward {args.pushforward}; {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}\n")
    print("| case | mixer | params | epochs | train s | rel. L2 | nRMSE | low / mid / high band | corr. time |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        bands = " / ".join(f"{r['bands'][b]:.2e}" for b in ("low", "mid", "high") if b in r["bands"])
        print(f"| {r['case']} | {r['mixer']} | {r['params']} | {r['epochs']} | {r['seconds']:.0f} | {r['rel_l2']:.3e} | "
              f"{r['nrmse']:.3e} | {bands} | {r['high_correlation_time']:.3g} |")


if __name__ == "__main__":
    main()
