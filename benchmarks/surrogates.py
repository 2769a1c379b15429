"""Surrogates on Burgers (PDEBench's nu = 0.01: viscosity 0.01/pi, its initial conditions and frames),
Kuramoto-Sivashinsky (L = 64) and Navier-Stokes (nu = 1e-3, 64 x 64): every mixer at matched parameter
counts, and neuraloperator's own FNO as the external peer, same data and same budget.

    python benchmarks/surrogates.py --cases burgers ks ns --time-budget 240 --seeds 0 1 2 --results r.jsonl --plot r.png
    python benchmarks/surrogates.py --mixers fno:norm=none spectre:d_gate=64    # variants: mixer:key=value,...
    python benchmarks/surrogates.py --quick                        # tiny data and budget: checks the script

A variant's keys go to the mixer, to the Surrogate (MODEL_KEYS: block, norm, mlp_ratio, ...; params: the
parameter count this row is matched to; width: a fixed width instead) or to the training (TRAIN_KEYS:
schedule, lr). The table gives the mean and spread over the seeds and the ratio to neuraloperator's FNO
at the same budget; ``--results`` keeps every run and resumes.

Data are generated on first use into benchmarks/data/ (git-ignored) with pinnfreq/numerics/trajectories.py.
Training: AdamW, cosine schedule, MSE loss (normalised units), 10 input frames, increments, the same time budget
per model. Metrics on held-out trajectories, autoregressive over the whole remaining horizon, the
conditioning frames excluded: mean relative L2 and nRMSE over the steps, Fourier-band errors,
high-correlation time. neuraloperator is not a dependency of pinnfreq: install it in the benchmark's
environment (``pip install neuraloperator``); without it that row is skipped.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import time
from pathlib import Path

import numpy as np
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
    # chaotic: frames every 0.5 time units over 40 (about two Lyapunov times at L = 64), after the transient
    "ks": dict(generator="ks", n=128, options=dict(resolution=256, t_end=40.0, n_times=81), patch=1),
}
HISTORY = 10


def dataset(case: str, quick: bool) -> Trajectories:
    spec = CASES[case]
    n, options = (12, {**spec["options"], "n_times": 16, "t_end": {"ns": 15.0, "ks": 7.5}.get(case, 0.75)}) if quick \
        else (spec["n"], spec["options"])
    path = ROOT / "data" / f"{case}{'_quick' if quick else ''}.h5"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        start = time.perf_counter()
        data = GENERATORS[spec["generator"]](n, seed=0, **options)
        Trajectories(data["u"], data["axes"], data["attrs"]).save(path)
        print(f"  generated {path} in {time.perf_counter() - start:.0f} s", flush=True)
    return Trajectories.load(path)


MODEL_KEYS = ("norm", "block", "mlp_ratio", "lifting_channel_ratio", "projection_channel_ratio", "increment", "patch",
              "params", "width")  # the parameter count to match for this row instead of --params, or a fixed width
TRAIN_KEYS = ("schedule", "lr")


def _value(text: str) -> int | float | str | bool:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def row_name(spec: str) -> str:
    """The name of a ``--mixers`` entry in the results: the spec, or "neuralop FNO[ n_modes=M]" for the peer."""
    return " ".join(["neuralop FNO", *spec.split(":")[1:]]) if spec.startswith("neuralop") else spec


def parse_mixer(spec: str) -> tuple[str, dict, dict, dict]:
    """"spectre" or "fno:n_modes=9,block=fno,schedule=step": a mixer, options of the mixer on top of the
    benchmark's, options of the Surrogate (MODEL_KEYS) and of the training (TRAIN_KEYS)."""
    name, _, rest = spec.partition(":")
    options = {k: _value(v) for k, v in (item.split("=") for item in rest.split(",") if item)}
    model_options = {k: options.pop(k) for k in MODEL_KEYS if k in options}
    train_options = {k: options.pop(k) for k in TRAIN_KEYS if k in options}
    return name, options, model_options, train_options


def matched(mixer: str, grid: tuple[int, ...], target: int, patch: int) -> Surrogate:
    """The Surrogate with this mixer whose parameter count is closest to ``target`` (width searched)."""
    n_dims = len(grid)
    mixer, extra, model_options, _ = parse_mixer(mixer)
    patch = model_options.pop("patch", patch)
    target = model_options.pop("params", target)
    widths = [model_options.pop("width")] if "width" in model_options else None
    # FNO modes: 16 in 1-D (9 would be neuraloperator's (16,), see FNOMixer; 16 measured better on
    # Burgers), 6 in 2-D (neuraloperator's (12, 12): 6 rows of each sign; more would not fit 200k
    # parameters at width 16)
    options = {"n_modes": min(6 if n_dims == 2 else 16, min(grid) // patch // 2)} if mixer == "fno" else {"n_heads": 4}
    options.update(extra)
    best = None
    # widths: multiples of 16 for 4 heads x 4 SPECTRE groups; of 4 for the FNO layer (no heads)
    for width in widths or (range(8, 257, 4) if mixer == "fno" else range(16, 257, 16)):
        model = Surrogate(HISTORY, 1, n_dims, mixer, hidden_channels=width, n_layers=4, mixer_options=options, grid=grid,
                          patch=patch, **model_options)
        size = sum(p.numel() for p in model.parameters())
        if best is None or abs(size - target) < abs(best[0] - target):
            best = (size, model)
    return best[1]


class NeuralopFNO(nn.Module):
    """neuraloperator's FNO behind the Surrogate interface (history frames as channels, increments)."""

    def __init__(self, n_dims: int, target: int, n_modes: int | None = None):
        from neuralop.models import FNO

        super().__init__()
        self.history, self.channels, self.n_dims, self.out_frames = HISTORY, 1, n_dims, 1
        # its examples' modes, or n_modes per axis (its counting: m keeps m // 2 + 1 rfft modes)
        modes = (n_modes or 16,) if n_dims == 1 else (n_modes or 12,) * 2
        best = None
        for width in range(8, 129, 4):
            net = FNO(n_modes=modes, hidden_channels=width, in_channels=HISTORY, out_channels=1, n_layers=4)
            size = sum(p.numel() for p in net.parameters())
            if best is None or abs(size - target) < abs(best[0] - target):
                best = (size, net)
        self.net = best[1]
        self.config = {"mixer": "neuralop FNO" + (f" n_modes={n_modes}" if n_modes else "")}

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


def run_one(case: str, spec: str, data: Trajectories, args: argparse.Namespace, seed: int) -> dict:
    torch.manual_seed(seed)
    _, _, _, train_options = parse_mixer(spec)
    if spec.startswith("neuralop"):
        model = NeuralopFNO(len(data.grid), args.params, parse_mixer(spec)[1].get("n_modes"))
    else:
        model = matched(spec, data.grid, args.params, CASES[case]["patch"])
    start = time.perf_counter()
    settings = dict(epochs=args.epochs, batch_size=16, lr=1e-3, seed=seed, pushforward=args.pushforward,
                    time_budget=args.time_budget, device=args.device, progress=False)
    trained = train_surrogate(data, model, **{**settings, **train_options})
    seconds = time.perf_counter() - start
    summary, pred, true = trained.evaluate(data)
    # rollout stability: nRMSE of each predicted frame, averaged over the test trajectories
    axes = tuple(range(2, pred.ndim))
    per_frame = np.sqrt(((pred - true) ** 2).mean(axes) / (true**2).mean(axes)).mean(0)
    return dict(case=case, mixer=row_name(spec), seed=seed,
                params=sum(p.numel() for p in model.parameters()), epochs=_epochs(trained.history["epoch"]),
                seconds=seconds, time_budget=args.time_budget, threads=torch.get_num_threads(),
                per_frame=per_frame.tolist(), **summary)


def _epochs(epoch: list[float]) -> float:
    """Epochs trained, from the fractional epoch recorded at each step."""
    return epoch[-1] + (epoch[1] - epoch[0] if len(epoch) > 1 else 1.0)


def table(rows: list[dict]) -> None:
    """Mean and spread (min - max) over the seeds of each (case, mixer), and the ratio to the peer."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["case"], r["mixer"], r["time_budget"]), []).append(r)
    peer = {(c, b): np.mean([r["nrmse"] for r in rs]) for (c, m, b), rs in groups.items() if m == "neuralop FNO"}
    print("| case | mixer | budget s | params | epochs | seeds | nRMSE mean | min - max | / neuralop FNO | corr. time |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (case, mixer, budget), rs in groups.items():
        e = [r["nrmse"] for r in rs]
        ratio = f"{np.mean(e) / peer[case, budget]:.2f}" if (case, budget) in peer else "-"
        print(f"| {case} | {mixer} | {budget:g} | {rs[0]['params']} | {np.median([r['epochs'] for r in rs]):.3g} | "
              f"{len(rs)} | {np.mean(e):.3e} | {min(e):.2e} - {max(e):.2e} | {ratio} | "
              f"{np.mean([r['high_correlation_time'] for r in rs]):.3g} |")


def plot_stability(rows: list[dict], path: Path) -> None:
    """Error against rollout time per case, one line per mixer (mean over seeds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = sorted({r["case"] for r in rows})
    fig, axes = plt.subplots(1, len(cases), figsize=(5 * len(cases), 3.5), squeeze=False)
    for ax, case in zip(axes[0], cases):
        for mixer in dict.fromkeys(r["mixer"] for r in rows if r["case"] == case):
            curves = np.array([r["per_frame"] for r in rows if r["case"] == case and r["mixer"] == mixer])
            ax.semilogy(np.arange(1, curves.shape[1] + 1), curves.mean(0), label=mixer)
        ax.set(title=case, xlabel="rollout step", ylabel="nRMSE of the frame")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", nargs="*", default=["burgers", "ns"], choices=sorted(CASES))
    ap.add_argument("--mixers", nargs="*", default=["spectre", "spectre:d_gate=64", "magnitude", "softmax", "fno", "neuralop"],
                    help="mixers, each optionally with options: spectre:d_gate=64")
    ap.add_argument("--params", type=int, default=200_000, help="parameter count to match")
    ap.add_argument("--time-budget", type=float, default=300.0, help="training seconds per model")
    ap.add_argument("--epochs", type=int, default=1000, help="upper bound; the time budget usually ends training")
    ap.add_argument("--pushforward", type=int, default=0, help="unrolled calls before the loss (0: teacher forcing)")
    ap.add_argument("--seeds", type=int, nargs="*", default=[0], help="seeds: initial weights, batches and the train/test split of trajectories")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--results", type=Path, default=None,
                    help="JSON lines file: each run is appended, runs already there are skipped, the table covers all")
    ap.add_argument("--plot", type=Path, default=None, help="write the rollout-stability plot here (PNG)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.params, args.time_budget, args.epochs = 20_000, 5.0, 1
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = [json.loads(line) for line in args.results.read_text().splitlines()] if args.results and args.results.exists() else []
    done = {(r["case"], r["mixer"], r["seed"], r["time_budget"]) for r in rows}
    for case in args.cases:
        data = dataset(case, args.quick)
        for spec in args.mixers:
            if spec.startswith("neuralop") and importlib.util.find_spec("neuralop") is None:
                print("  neuraloperator is not installed: its row is skipped", flush=True)
                continue
            for seed in args.seeds:
                name = row_name(spec)
                if (case, name, seed, args.time_budget) in done:
                    continue
                row = run_one(case, spec, data, args, seed)
                rows.append(row)
                if args.results:
                    with open(args.results, "a") as f:
                        f.write(json.dumps(row) + "\n")
                print(f"  {case:8s} {row['mixer']:13s} seed {seed} nrmse={row['nrmse']:.3e} epochs={row['epochs']:.3g} "
                      f"{row['seconds']:.0f}s", flush=True)
    print(f"\nSurrogates, {HISTORY} input frames, same time budget per model; pushforward {args.pushforward}; "
          f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}\n")
    table(rows)
    if args.plot:
        plot_stability(rows, args.plot)


if __name__ == "__main__":
    main()
