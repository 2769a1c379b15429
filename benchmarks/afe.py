"""The cross-attention network with and without Adaptive Frequency Enhancement, at equal total steps.

    python benchmarks/afe.py                                  # every case, the steps below
    python benchmarks/afe.py --cases paper1d --steps 2000     # one case, other length
    python benchmarks/afe.py --quick                          # 20 steps per run: checks the script

Cases: the AFE paper's 1-D fit (sin 2 pi 2x + 0.5 sin(2 pi 20x + 0.3) + 0.5 cos(2 pi 40x - 0.2)), the
two Poisson problems of the backbone benchmark (benchmarks/spectral_bias.py), and Burgers
(problems/burgers1d.py). Variants: no AFE; AFE as the seed has it (the solution's spectrum); AFE on
the equations' residual spectrum (``source="residual"``). AFE: first half of the steps on the base bank,
then one stage (the paper's 1-D schedule), eta = -6 for 70% of it, cosine release. Prints a Markdown
table: relative L2 at the end, seconds, and the frequencies the first analysis found.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

import pinnfreq as pf
from pinnfreq.cli import load_problem_file

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from spectral_bias import case as spectral_case  # noqa: E402

VARIANTS = {"CA": None, "CA+AFE": "solution", "CA+AFE(residual)": "residual"}


def paper_target(x):
    return (torch.sin(2 * math.pi * 2 * x) + 0.5 * torch.sin(2 * math.pi * 20 * x + 0.3)
            + 0.5 * torch.cos(2 * math.pi * 40 * x - 0.2))


def setup(name: str) -> dict:
    """Problem, reference, network factory and settings of one case."""
    if name == "paper1d":
        line = pf.Interval(0, 1)
        prob = pf.Problem(line, "u", {"fit": lambda u, x: u - paper_target(x)}, name=name)
        xs = np.linspace(0, 1, 4096)
        ref = pf.Reference({"u": paper_target(torch.as_tensor(xs)).numpy()}, axes={"x": xs})
        # the paper's AFE network: M_base 128, K = 4, d_q = 64, 3 blocks; its (undisclosed) sigma: 1 here
        net = lambda: pf.CrossAttentionNet(1, 1, hidden_channels=64, n_layers=3)  # noqa: E731
        return dict(problem=prob, reference=ref, net=net, steps=4000, settings=dict(points=2048))
    if name in ("poisson1d", "poisson2d"):
        prob, exact, axes, _, sigma = spectral_case(name)
        mesh = np.meshgrid(*axes.values(), indexing="ij")
        ref = pf.Reference({"u": exact(*(torch.as_tensor(m) for m in mesh)).numpy()}, axes=axes)
        d = len(axes)
        # the settings that worked best for the backbone (benchmarks/README.md): beta_init 0.01
        net = lambda: pf.CrossAttentionNet(d, 1, hidden_channels=64, n_layers=4, sigma=sigma, beta_init=0.01)  # noqa: E731
        points = {"poisson": 1024, "dirichlet": 2} if d == 1 else {"poisson": 2048, "dirichlet": 1024}
        return dict(problem=prob, reference=ref, net=net, steps=1500 if d == 1 else 600,
                    settings=dict(points=points, weights={"dirichlet": 100.0}, resample_every=1, grad_clip=1.0))
    if name == "burgers":
        module = load_problem_file(ROOT / "problems" / "burgers1d.py")
        net = lambda: pf.CrossAttentionNet(2, 1, hidden_channels=32, n_layers=4, n_base=48, sigma=0.5)  # noqa: E731
        return dict(problem=module.problem(), reference=module.reference(), net=net, steps=2000,
                    settings=dict(points={"burgers": 2000, "initial": 256, "dirichlet": 256}, resample_every=100))
    raise ValueError(f"unknown case {name!r}")


def run(name: str, steps: int | None, device: str) -> list[dict]:
    spec = setup(name)
    steps = steps or spec["steps"]
    rows = []
    for label, source in VARIANTS.items():
        afe = None if source is None else pf.AFE(max_stages=1, source=source)
        start = time.perf_counter()
        sol = pf.solve(spec["problem"], spec["net"](), steps=steps, lr=1e-3, afe=afe, reference=spec["reference"],
                       device=device, progress=False, eval_every=max(steps // 2, 1), **spec["settings"])
        seconds = time.perf_counter() - start
        h = sol.history
        found = [tuple(k) for k, a in zip(h.get("afe/k", []), h.get("afe/k_analysis", [])) if a == 1]
        listed = " ".join("(" + ",".join(map(str, k)) + ")" for k in found[:8]) + (" ..." if len(found) > 8 else "")
        mid = h["rel_l2/u"][h["eval_step"].index(steps // 2)] if steps // 2 in h["eval_step"] else float("nan")
        rows.append(dict(case=name, model=label, steps=steps, seconds=seconds, mid=mid, rel_l2=h["rel_l2/u"][-1],
                         found=(f"{len(found)}: {listed}" if afe else "—")))
        print(f"  {name:9s} {label:17s} rel_l2={rows[-1]['rel_l2']:.3e} {seconds:6.1f}s", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", nargs="*", default=["paper1d", "poisson1d", "poisson2d", "burgers"])
    ap.add_argument("--steps", type=int, help="total Adam steps per run (default: per case)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--quick", action="store_true", help="20 steps per run: checks the script runs")
    args = ap.parse_args()
    steps = 20 if args.quick else args.steps
    rows = []
    for name in args.cases:
        torch.manual_seed(0)
        rows += run(name, steps, args.device)
    print(f"\nAFE at equal total steps; Adam lr 1e-3; {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}, device {args.device}\n")
    print("| case | model | steps | rel. L2 at half | rel. L2 | seconds | first analysis: frequencies (cycles per box) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['model']} | {r['steps']} | {r['mid']:.2e} | {r['rel_l2']:.2e} | {r['seconds']:.0f} | {r['found']} |")


if __name__ == "__main__":
    main()
