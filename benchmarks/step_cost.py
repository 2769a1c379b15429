"""Cost of one PINN training step of the cross-attention network against an RFF-MLP of equal width and
depth on the same feature bank: forward, the Laplacian residual's second derivatives, backward, Adam.

    python benchmarks/step_cost.py                 # CPU (and CUDA when present), 1-D and 2-D inputs
    python benchmarks/step_cost.py --quick         # fewer repeats, to check it runs

Each timing is the median over ``--repeats`` runs of ``--steps`` steps, after warm-up; ratios are taken
within the same run, for both derivative engines (nested autograd; Taylor mode, with the feature bank's
waves kept per point set as the training loop keeps them). The last line is
``ca_over_rff_mlp=<ratio>``: CA against RFF-MLP, each with its faster engine, worst case.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from pinnfreq.jet import Jet
from pinnfreq.nn import MLP, RFFMLP, CrossAttentionNet


def step_fn(net: torch.nn.Module, x: torch.Tensor, opt: torch.optim.Optimizer, engine: str):
    pairs = [(i, i) for i in range(x.shape[1])]

    cache: dict = {}  # what the training loop keeps per point set (the waves of the feature bank)

    def laplacian() -> torch.Tensor:
        if engine == "taylor":  # one forward pass carrying u, grad u and the diagonal second derivatives
            return net.forward_jet(Jet.input(x, pairs), cache=cache).h[..., 0].sum(0)
        p = x.detach().requires_grad_(True)
        u = net(p)[:, 0]
        (g,) = torch.autograd.grad(u.sum(), p, create_graph=True)
        return sum(torch.autograd.grad(g[:, i].sum(), p, create_graph=True)[0][:, i] for i in range(p.shape[1]))

    def step() -> None:
        loss = ((laplacian() + 1.0) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def time_step(step, steps: int, repeats: int, device: torch.device) -> float:
    for _ in range(3):
        step()
    runs = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(steps):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        runs.append((time.perf_counter() - t) / steps)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=4096)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.points, args.steps, args.repeats = 512, 2, 3
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    bank = dict(hidden_channels=32, n_layers=4, n_base=48, n_scales=4)  # M = 192, d_q = 32, 6 tokens
    print(f"hardware: {platform.processor() or platform.machine()}, {torch.get_num_threads()} CPU threads"
          + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else "") + f"; torch {torch.__version__}")
    print(f"{args.points} points, float32, median of {args.repeats} x {args.steps} steps; M=192, d_q=32, 4 layers\n")
    print("| device | d_in | engine | MLP ms | RFF-MLP ms | CA ms | CA / RFF-MLP |")
    print("|---|---|---|---|---|---|---|")
    worst = 0.0
    for device in devices:
        for d in (1, 2):
            torch.manual_seed(0)
            x = torch.rand(args.points, d, device=device) * 2 - 1
            best = {}
            for engine in ("autograd", "taylor"):
                times = {}
                for name, net in (("mlp", MLP(d, 1, 32, 4)), ("rff", RFFMLP(d, 1, **bank)),
                                  ("ca", CrossAttentionNet(d, 1, **bank))):
                    net = net.to(device)
                    opt = torch.optim.Adam(net.parameters())
                    times[name] = time_step(step_fn(net, x, opt, engine), args.steps, args.repeats, device)
                    best[name] = min(best.get(name, float("inf")), times[name])
                print(f"| {device.type} | {d} | {engine} | {1e3 * times['mlp']:.1f} | {1e3 * times['rff']:.1f} | "
                      f"{1e3 * times['ca']:.1f} | {times['ca'] / times['rff']:.2f} |")
            worst = max(worst, best["ca"] / best["rff"])
    print("\nratio of each model's faster engine, worst case over devices and dimensions:")
    print(f"\nca_over_rff_mlp={worst:.2f}")


if __name__ == "__main__":
    main()
