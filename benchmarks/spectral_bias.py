"""Spectral bias: how fast each model learns each frequency of a known solution.

Cases (seed 000 / the backbone paper, and Wang, Wang & Perdikaris 2021):
  regression  u = sin(pi x) + sin(5 pi x) + sin(20 pi x) on [-1, 1], fitted directly (residual u - f)
  poisson1d   -u'' = f on [0, 1], u = sin(2 pi x) + 0.1 sin(50 pi x), Dirichlet
  poisson2d   -lap u = f on [-1, 1]^2, u = sin(mu x^2) + sin(mu y^2), mu = 50, Dirichlet

For each model the per-frequency relative error |u_pred^(k) - u^(k)| / |u^(k)| (1-D: the modes of the
solution; 2-D: radial bands k < 4, 4 <= k < 16, k >= 16 of the radial wavenumber, in cycles over the box) is recorded
every ``--every`` steps, and the final relative L2 error. Writes a Markdown table (stdout and
``OUT/spectral_bias.md``) and a PNG of the curves (``OUT/spectral_bias.png``).

    python benchmarks/spectral_bias.py --out benchmarks/results            # CPU-sized run
    python benchmarks/spectral_bias.py --quick                             # a few steps: checks it runs
"""

from __future__ import annotations

import argparse
import math
import platform
import time
from pathlib import Path

import numpy as np
import torch

import pinnfreq as pf
from pinnfreq.nn import MLP, RFFMLP, CrossAttentionNet, MultiScaleFourierNet

MU = 50.0


def _exact_2d(x, y):
    return torch.sin(MU * x**2) + torch.sin(MU * y**2)


def _f_2d(x, y):  # -lap u for u = sin(mu x^2) + sin(mu y^2)
    return sum(-2 * MU * torch.cos(MU * s**2) + 4 * MU**2 * s**2 * torch.sin(MU * s**2) for s in (x, y))


def case(name: str):
    """(problem, exact(np grid axes) -> u, grid axes, spectral measure, sigma of the bank)."""
    if name == "regression":
        line = pf.Interval(-1, 1)
        f = lambda x: torch.sin(math.pi * x) + torch.sin(5 * math.pi * x) + torch.sin(20 * math.pi * x)  # noqa: E731
        prob = pf.Problem(line, "u", {"fit": lambda u, x: u - f(x)}, name=name)
        return prob, f, {"x": np.linspace(-1, 1, 512, endpoint=False)}, {"k=1": 1, "k=5": 5, "k=20": 20}, 0.25
    if name == "poisson1d":
        line = pf.Interval(0, 1)
        f = lambda x: torch.sin(2 * math.pi * x) + 0.1 * torch.sin(50 * math.pi * x)  # noqa: E731
        rhs = lambda x: (2 * math.pi) ** 2 * torch.sin(2 * math.pi * x) + 0.1 * (50 * math.pi) ** 2 * torch.sin(50 * math.pi * x)  # noqa: E731
        prob = pf.Problem(line, "u", {"poisson": lambda u, x: -u.xx - rhs(x)}, name=name,
                          conditions=[pf.Dirichlet(0.0, on=line.boundary)])
        return prob, f, {"x": np.linspace(0, 1, 512, endpoint=False)}, {"k=1": 1, "k=25": 25}, 0.2
    if name == "poisson2d":
        square = pf.Rectangle([-1, -1], [1, 1])
        prob = pf.Problem(square, "u", {"poisson": lambda u, x, y: -pf.laplacian(u) - _f_2d(x, y)}, name=name,
                          conditions=[pf.Dirichlet(_exact_2d, on=square.boundary)])
        g = np.linspace(-1, 1, 128, endpoint=False)
        return prob, _exact_2d, {"x": g, "y": g}, {"k<4": (0, 4), "4<=k<16": (4, 16), "k>=16": (16, 1e9)}, 0.15
    raise ValueError(name)


def models(d: int, sigma: float, beta_init: float = 0.1) -> dict[str, torch.nn.Module]:
    bank = dict(hidden_channels=64, n_layers=4, n_base=128, n_scales=4, sigma=sigma, beta_init=beta_init)
    return {"MLP": MLP(d, 1, 64, 4), "RFF-MLP": RFFMLP(d, 1, **bank),
            "MSFF": MultiScaleFourierNet(d, 1, 64, 4, sigmas=(1.0, 10.0), n_features=128),
            "CA": CrossAttentionNet(d, 1, **bank),
            "CA+low": CrossAttentionNet(d, 1, **bank, low_frequency=32)}


def spectral_errors(pred: np.ndarray, exact: np.ndarray, measure: dict) -> dict[str, float]:
    if pred.ndim == 1:
        p, e = np.fft.rfft(pred), np.fft.rfft(exact)
        return {k: float(abs(p[i] - e[i]) / abs(e[i])) for k, i in measure.items()}
    p, e = np.fft.fft2(pred), np.fft.fft2(exact)
    kx = np.fft.fftfreq(pred.shape[0], 1 / pred.shape[0])
    radius = np.hypot(kx[:, None], kx[None, :])
    out = {}
    for k, (lo, hi) in measure.items():
        band = (radius >= lo) & (radius < hi)
        out[k] = float(np.linalg.norm((p - e)[band]) / np.linalg.norm(e[band]))
    return out


def run_case(name: str, steps: int, every: int, device: str, only: list[str] | None, points: int | None,
             beta_init: float = 0.1, sigma: float | None = None) -> list[dict]:
    prob, exact_fn, axes, measure, case_sigma = case(name)
    sigma = sigma or case_sigma
    d = len(axes)
    mesh = np.meshgrid(*axes.values(), indexing="ij")
    exact = exact_fn(*(torch.as_tensor(m) for m in mesh)).numpy()
    points = {"fit": 1024, "poisson": points or (1024 if d == 1 else 4096), "dirichlet": 2 if d == 1 else 1024}
    rows = []
    for label, net in models(d, sigma, beta_init).items():
        if only and label not in only:
            continue
        curve = {"step": [], **{k: [] for k in measure}}

        def track(info, mesh=mesh, curve=curve):
            if info.step % every == 0 or info.step == steps - 1:
                with torch.no_grad():
                    pts = torch.as_tensor(np.stack([m.ravel() for m in mesh], 1), dtype=torch.float32,
                                          device=next(info.model.parameters()).device)
                    pred = info.model(pts)[:, 0].cpu().double().numpy().reshape(mesh[0].shape)
                curve["step"].append(info.step)
                for k, v in spectral_errors(pred, exact, measure).items():
                    curve[k].append(v)

        weights = {"dirichlet": 100.0} if "dirichlet" in prob.terms else {}
        start = time.perf_counter()
        sol = pf.solve(prob, net, steps=steps, lr=1e-3, schedule="exponential", decay_steps=max(steps // 5, 1),
                       points={t: points[t] for t in prob.terms}, weights=weights, resample_every=1, device=device,
                       progress=False, callbacks=[track], grad_clip=1.0)
        seconds = time.perf_counter() - start
        pred = sol.evaluate(np.stack([m.ravel() for m in mesh], 1))[:, 0]
        rel = float(np.linalg.norm(pred - exact.ravel()) / np.linalg.norm(exact))
        rows.append(dict(case=name, model=label, seconds=seconds, rel_l2=rel, curve=curve, measure=list(measure),
                         params=sum(p.numel() for p in net.parameters())))
        print(f"  {name:10s} {label:8s} rel_l2={rel:.3e} {seconds:6.1f}s " +
              " ".join(f"{k}:{curve[k][-1]:.2e}" for k in measure), flush=True)
    return rows


def write_outputs(rows: list[dict], out: Path, header: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    lines = [header, "", "| case | model | params | seconds | rel. L2 | final per-frequency rel. error |", "|---|---|---|---|---|---|"]
    for r in rows:
        freq = ", ".join(f"{k}: {r['curve'][k][-1]:.2e}" for k in r["measure"])
        lines.append(f"| {r['case']} | {r['model']} | {r['params']} | {r['seconds']:.0f} | {r['rel_l2']:.2e} | {freq} |")
    table = "\n".join(lines)
    print("\n" + table)
    (out / "spectral_bias.md").write_text(table + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = list(dict.fromkeys(r["case"] for r in rows))
    fig, axs = plt.subplots(1, len(cases), figsize=(5.5 * len(cases), 4), squeeze=False)
    styles = ["-", "--", ":"]
    for ax, c in zip(axs[0], cases):
        for i, r in enumerate(x for x in rows if x["case"] == c):
            for j, k in enumerate(r["measure"]):
                ax.semilogy(r["curve"]["step"], r["curve"][k], styles[j % 3], color=f"C{i}", label=f"{r['model']} {k}")
        ax.set_title(c)
        ax.set_xlabel("step")
        ax.set_ylabel("relative error of the mode")
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(out / "spectral_bias.png", dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", nargs="*", default=["regression", "poisson1d", "poisson2d"])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    ap.add_argument("--models", nargs="*", help="a subset of MLP, RFF-MLP, MSFF, CA, CA+low")
    ap.add_argument("--points", type=int, help="interior points of the Poisson cases (default 1024 in 1-D, 4096 in 2-D)")
    ap.add_argument("--beta-init", type=float, default=0.1, help="initial envelope rate of the bank (paper: 0.1)")
    ap.add_argument("--sigma", type=float, help="bank sigma for every case (default: 0.25, 0.2, 0.15 per case)")
    ap.add_argument("--quick", action="store_true", help="20 steps per model: checks the script runs")
    args = ap.parse_args()
    if args.quick:
        args.steps, args.every = 20, 10
    header = (f"Spectral bias, {args.steps} Adam steps per model (lr 1e-3, exponential decay, grad clip 1), "
              f"beta_init {args.beta_init:g}; float32; {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
              f"torch {torch.__version__}, device {args.device}")
    rows = []
    for name in args.cases:
        torch.manual_seed(0)
        rows += run_case(name, args.steps, args.every, args.device, args.models, args.points, args.beta_init,
                         args.sigma)
    write_outputs(rows, args.out, header)


if __name__ == "__main__":
    main()
