"""Training throughput: steps per second for a 2-D Laplacian residual, pinnfreq against DeepXDE and a
plain torch.autograd loop with the same network and points, and the cross-attention network against
the RFF-MLP on the same feature bank. Peak memory per collocation point.

    .venv-bench/bin/python benchmarks/throughput.py                 # 4,096 and 65,536 points, CPU (and CUDA)
    python benchmarks/throughput.py --quick                         # seconds: checks the script

The residual is -(u_xx + u_yy) = f on [-1, 1]^2 (interior points only, Sobol, the same for every
entry). Entries, each in its own process (so that peak memory is its own):

- ``pinnfreq MLP``: ``pf.solve`` with the 4 x 64 tanh MLP, default engine (Taylor mode), Adam;
  ``compiled``: the same with ``compile=True`` (its one-off compilation is excluded from the median,
  as warm-up; it is reported in the column ``first s``);
- ``DeepXDE MLP``: ``dde.nn.FNN([2, 64, 64, 64, 64, 1])``, ``dde.data.PDE`` on the same points
  (``anchors``, ``num_domain=0``), Adam, its own ``hessian``; PyTorch backend, float32;
- ``torch MLP``: the same MLP with nested ``torch.autograd.grad`` and Adam, nothing else;
- ``pinnfreq RFF-MLP`` and ``pinnfreq CA``: ``pf.solve`` with the default bank (M = 512 features,
  d_q = 64, 4 layers: the paper's size, ``solve()``'s default on GPUs; on CPUs the default is a
  quarter of it, ``pinnfreq.defaults``).

Times are the median over the steps after two warm-up steps. Peak memory: on CPU the growth of the
process's peak resident set during training, divided by the points; on CUDA
``torch.cuda.max_memory_allocated``. Last lines: ``pinnfreq_over_deepxde=<ratio>`` (pinnfreq's MLP
steps per second over DeepXDE's, compiled, the worst over point counts and devices; the eager ratio is
the line before) and
``ca_over_rff_mlp=<ratio>`` (CA step time over RFF-MLP step time, worst case).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENTRIES = ("pinnfreq MLP", "pinnfreq MLP compiled", "DeepXDE MLP", "torch MLP", "pinnfreq RFF-MLP", "pinnfreq CA")


def points(n: int):
    from scipy.stats import qmc

    return qmc.Sobol(2, scramble=True, seed=0).random(n) * 2 - 1


def source(x, y, lib):
    """f = 2 pi^2 sin(pi x) sin(pi y), so that u = sin(pi x) sin(pi y)."""
    return 2 * lib.pi**2 * lib.sin(lib.pi * x) * lib.sin(lib.pi * y)


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kilobytes


# -- the entries (each runs in a child process) ----------------------------------------------------------
def run_pinnfreq(name: str, x, steps: int, device: str) -> list[float]:
    import torch

    import pinnfreq as pf

    net = {"pinnfreq MLP": lambda: pf.MLP(2, 1, 64, 4), "pinnfreq MLP compiled": lambda: pf.MLP(2, 1, 64, 4),
           "pinnfreq RFF-MLP": lambda: pf.RFFMLP(2, 1, hidden_channels=64, n_layers=4),
           "pinnfreq CA": lambda: pf.CrossAttentionNet(2, 1)}[name]()
    square = pf.Rectangle((-1, -1), (1, 1))
    problem = pf.Problem(square, "u", lambda u, x, y: u.xx + u.yy + source(x, y, torch), conditions=[])
    problem.sample = lambda term, n, sampler, seed: (x, None)  # the shared points, not the sampler's
    sol = pf.solve(problem, net, steps=steps, points=len(x), device=device, progress=False, schedule=None,
                   compile=name.endswith("compiled"))
    if any("torch.compile failed" in e for e in sol.history["events"]):
        raise RuntimeError("torch.compile failed and training fell back to eager: " + sol.history["events"][-1])
    return list(sol.history["time"])


def run_deepxde(x, steps: int, device: str) -> list[float]:
    os.environ["DDE_BACKEND"] = "pytorch"
    import deepxde as dde
    import numpy as np
    import torch

    if device == "cuda":
        torch.set_default_device("cuda")

    def pde(p, u):
        return dde.grad.hessian(u, p, i=0, j=0) + dde.grad.hessian(u, p, i=1, j=1) \
            + source(p[:, 0:1], p[:, 1:2], torch)

    geom = dde.geometry.Rectangle([-1, -1], [1, 1])
    data = dde.data.PDE(geom, pde, [], num_domain=0, anchors=np.asarray(x, dtype=np.float32))
    model = dde.Model(data, dde.nn.FNN([2] + [64] * 4 + [1], "tanh", "Glorot normal"))
    model.compile("adam", lr=1e-3)
    stamps: list[float] = []

    class Clock(dde.callbacks.Callback):
        def on_batch_end(self):
            stamps.append(time.perf_counter())

    start = time.perf_counter()
    model.train(iterations=steps, display_every=10**9, callbacks=[Clock()], verbose=0)
    return [s - start for s in stamps]


def run_torch(x, steps: int, device: str) -> list[float]:
    import torch

    torch.manual_seed(0)
    layers, width = [], 2
    for _ in range(4):
        layers += [torch.nn.Linear(width, 64), torch.nn.Tanh()]
        width = 64
    net = torch.nn.Sequential(*layers, torch.nn.Linear(64, 1)).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    p = torch.as_tensor(x, dtype=torch.float32, device=device).requires_grad_(True)
    f = source(p[:, 0], p[:, 1], torch).detach()
    stamps, start = [], time.perf_counter()
    for _ in range(steps):
        u = net(p)[:, 0]
        (g,) = torch.autograd.grad(u.sum(), p, create_graph=True)
        lap = sum(torch.autograd.grad(g[:, i].sum(), p, create_graph=True)[0][:, i] for i in range(2))
        loss = ((lap + f) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device == "cuda":
            torch.cuda.synchronize()
        stamps.append(time.perf_counter() - start)
    return stamps


def run_one(spec: dict) -> dict:
    import torch

    torch.set_num_threads(spec["threads"])
    x = points(spec["points"])
    if spec["device"] == "cuda":
        torch.cuda.reset_peak_memory_stats()
    base = peak_rss_bytes()
    if spec["entry"] == "DeepXDE MLP":
        stamps = run_deepxde(x, spec["steps"], spec["device"])
    elif spec["entry"] == "torch MLP":
        stamps = run_torch(x, spec["steps"], spec["device"])
    else:
        stamps = run_pinnfreq(spec["entry"], x, spec["steps"], spec["device"])
    per_step = [b - a for a, b in zip(stamps[1:], stamps[2:])] or [stamps[-1]]  # after two warm-up steps
    peak = torch.cuda.max_memory_allocated() if spec["device"] == "cuda" else max(peak_rss_bytes() - base, 0)
    return {**spec, "ms_per_step": 1e3 * statistics.median(per_step), "peak_bytes": peak, "first_s": stamps[1]}


def launch(spec: dict) -> dict:
    res = subprocess.run([sys.executable, __file__, "--run-one", json.dumps(spec)], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "DDE_BACKEND": "pytorch"}, timeout=3600)
    if res.returncode != 0:
        lines = [line for line in res.stderr.strip().splitlines() if line.strip()]
        return {**spec, "error": lines[-1] if lines else f"exit {res.returncode}"}
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, nargs="+", default=[4096, 65536])
    ap.add_argument("--steps", type=int, default=12, help="steps per run (the first two are warm-up)")
    ap.add_argument("--entries", nargs="+", choices=ENTRIES, default=list(ENTRIES))
    ap.add_argument("--devices", nargs="+", default=None, help="cpu and/or cuda (default: cpu, and cuda when present)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--quick", action="store_true", help="512 points, 4 steps")
    ap.add_argument("--run-one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.run_one:
        print(json.dumps(run_one(json.loads(args.run_one))))
        return
    import torch

    threads = args.threads or torch.get_num_threads()
    devices = args.devices or (["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    if args.quick:
        args.points, args.steps = [512], 4
    print(f"hardware: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {threads} threads"
          + (f", {torch.cuda.get_device_name()}" if "cuda" in devices else "") + f"; torch {torch.__version__}")
    print(f"2-D Laplacian residual, float32, Adam; median ms per step over {args.steps - 2} steps after 2 warm-up\n")
    print("| device | points | entry | ms / step | steps / s | first s | peak MB | bytes / point |")
    print("|---|---|---|---|---|---|---|---|")
    results = {}
    for device in devices:
        for n in args.points:
            for entry in args.entries:
                r = launch({"entry": entry, "points": n, "steps": args.steps, "device": device, "threads": threads})
                results[(device, n, entry)] = r
                if "error" in r:
                    print(f"| {device} | {n} | {entry} | n/a ({r['error'][:80]}) | | | | |")
                    continue
                print(f"| {device} | {n} | {entry} | {r['ms_per_step']:.1f} | {1e3 / r['ms_per_step']:.1f} | "
                      f"{r['first_s']:.1f} | {r['peak_bytes'] / 2**20:.0f} | {r['peak_bytes'] / n:.0f} |", flush=True)

    def worst(a: str, b: str, fn) -> str:
        ratios = [fn(results[(d, n, a)]["ms_per_step"], results[(d, n, b)]["ms_per_step"])
                  for d in devices for n in args.points
                  if "ms_per_step" in results.get((d, n, a), {}) and "ms_per_step" in results.get((d, n, b), {})]
        return f"{max(ratios) if fn is _over else min(ratios):.2f}" if ratios else "n/a (not measured)"

    print("\npinnfreq MLP steps/s over DeepXDE's (worst case; eager, then compiled), CA step time over "
          "RFF-MLP's (worst case):\n")
    print(f"pinnfreq_eager_over_deepxde={worst('pinnfreq MLP', 'DeepXDE MLP', _speedup)}")
    print(f"pinnfreq_over_deepxde={worst('pinnfreq MLP compiled', 'DeepXDE MLP', _speedup)}")
    print(f"ca_over_rff_mlp={worst('pinnfreq CA', 'pinnfreq RFF-MLP', _over)}")


def _speedup(ours: float, theirs: float) -> float:
    return theirs / ours


def _over(ca: float, rff: float) -> float:
    return ca / rff


if __name__ == "__main__":
    main()
