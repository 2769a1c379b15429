"""Cost of one PINN training step whose residual reads a third derivative (KdV: u_t + u u_x + d u_xxx):
Taylor mode carrying the triple (x, x, x) against nested reverse-mode autograd, for the default MLP of
the KdV problem and the cross-attention network.

    python benchmarks/third_order.py               # CPU (and CUDA when present)
    python benchmarks/third_order.py --quick       # fewer repeats, to check it runs

Each timing is the median over ``--repeats`` runs of ``--steps`` steps (forward, the residual's
derivatives, backward, Adam) after warm-up. The last lines: ``taylor_over_autograd_<network>=<ratio>``
(time per step, below 1 where Taylor mode is faster).
"""

from __future__ import annotations

import argparse
import platform

import torch

from pinnfreq.jet import Jet
from pinnfreq.nn import MLP, CrossAttentionNet
from step_cost import time_step

DISPERSION = 0.022**2
PAIRS = [(0, 0), (0, 0, 0)]  # u_xx (which the triple's rules read), then u_xxx


def kdv_step(net: torch.nn.Module, x: torch.Tensor, opt: torch.optim.Optimizer, engine: str):
    cache: dict = {}  # what the training loop keeps per point set

    def residual() -> torch.Tensor:
        if engine == "taylor":
            j = net.forward_jet(Jet.input(x, PAIRS), cache=cache)
            u, u_x, u_t, u_xxx = j.v[:, 0], j.g[0][:, 0], j.g[1][:, 0], j.h[1][:, 0]
        else:
            p = x.detach().requires_grad_(True)
            u = net(p)[:, 0]
            (g,) = torch.autograd.grad(u.sum(), p, create_graph=True)
            u_x, u_t = g[:, 0], g[:, 1]
            (u_xx,) = torch.autograd.grad(u_x.sum(), p, create_graph=True)
            (u_xxx,) = torch.autograd.grad(u_xx[:, 0].sum(), p, create_graph=True)
            u_xxx = u_xxx[:, 0]
        return u_t + u * u_x + DISPERSION * u_xxx

    def step() -> None:
        loss = (residual() ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=2000)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.points, args.steps, args.repeats = 64, 1, 1
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    networks = {
        "mlp": lambda: MLP(2, 1, hidden_channels=50, n_layers=4, periodic=[0]),  # the KdV problem's default
        "ca": lambda: CrossAttentionNet(2, 1),
    }
    print(f"hardware: {platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}; "
          f"{args.points} points, median of {args.repeats} x {args.steps} steps")
    print("\n| device | network | autograd [ms] | Taylor [ms] | Taylor / autograd |\n|---|---|---|---|---|")
    ratios: dict[str, float] = {}
    for device in devices:
        for name, make in networks.items():
            torch.manual_seed(0)
            x = (torch.rand(args.points, 2, device=device) * 2 - 1)
            times = {}
            for engine in ("autograd", "taylor"):
                net = make().to(device)
                opt = torch.optim.Adam(net.parameters(), lr=1e-3)
                times[engine] = time_step(kdv_step(net, x, opt, engine), args.steps, args.repeats, device)
            ratio = times["taylor"] / times["autograd"]
            ratios[name] = max(ratios.get(name, 0.0), ratio)
            print(f"| {device.type} | {name} | {times['autograd'] * 1e3:.1f} | {times['taylor'] * 1e3:.1f} | {ratio:.2f} |")
    print()
    for name, ratio in ratios.items():
        print(f"taylor_over_autograd_{name}={ratio:.2f}")


if __name__ == "__main__":
    main()
