"""How far magnitude attention's truncated conjugate gradient is from solving (Z + eps I) mu = 1.

    python benchmarks/cg_residual.py                      # 256 .. 16384 tokens, 1 .. 50 iterations
    python benchmarks/cg_residual.py --tokens 256 1024 --quick

Keys come from a freshly initialised MagnitudeAttention (width 64, 4 heads, t = 1) applied to tokens
lifted from smooth periodic fields (sums of a few random sines, the kind of frame a surrogate sees):
neighbouring grid points give near-identical keys, which is what makes Z ill-conditioned. Prints the
relative residual ||(Z + eps I) mu_n - 1|| / ||1|| after n iterations (mean over 2 fields and the heads)
and the magnitude sum(mu_n) (the set's effective number of points) against n.
"""

from __future__ import annotations

import argparse
import platform

import numpy as np
import torch
from torch.nn import functional as F

from pinnfreq.surrogate.mixers import MagnitudeAttention, cg_residual, magnitude_weights

WIDTH, HEADS = 64, 4


def keys(n: int, fields: int, generator: torch.Generator) -> tuple[torch.Tensor, MagnitudeAttention]:
    """(fields, heads, n, d_k) keys of smooth random fields on n points."""
    torch.manual_seed(0)
    mixer, lift = MagnitudeAttention(WIDTH, HEADS), torch.nn.Linear(2, WIDTH)
    x = torch.arange(n, dtype=torch.float32) / n
    k = torch.arange(1, 5, dtype=torch.float32)
    amp = torch.randn(fields, 4, 1, generator=generator, dtype=torch.float32) / k[:, None]
    phase = 2 * np.pi * torch.rand(fields, 4, 1, generator=generator, dtype=torch.float32)
    u = (amp * torch.sin(2 * np.pi * k[:, None] * x + phase)).sum(1)  # (fields, n)
    with torch.no_grad():
        tokens = lift(torch.stack([u, x.expand_as(u)], -1))
        _, key, _ = (mixer.split_heads(t) for t in mixer.qkv(tokens).chunk(3, -1))
    return key, mixer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, nargs="*", default=[256, 1024, 4096, 16384])
    ap.add_argument("--iterations", type=int, nargs="*", default=[1, 3, 5, 10, 20])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.iterations = [1, 3, 5]
    fields = 2
    print(f"Truncated CG of magnitude attention (eps = 1e-3, t = 1, width {WIDTH}, {HEADS} heads), smooth fields; "
          f"{platform.processor() or platform.machine()}, float32\n")
    print("| tokens | " + " | ".join(f"{n} it." for n in args.iterations) + " |")
    print("|---|" + "---|" * len(args.iterations))
    for n in args.tokens:
        key, mixer = keys(n, fields, torch.Generator().manual_seed(1))
        t = F.softplus(mixer.t_raw).view(1, -1, 1, 1).detach()
        cells = []
        with torch.no_grad():
            for it in args.iterations:
                mu = magnitude_weights(key, t, mixer.eps, it, chunk=2048)
                res = float(cg_residual(key, t, mixer.eps, mu).mean())
                cells.append(f"{res:.2e} ({float(mu.sum(-1).mean()):.3g})")
        print(f"| {n} | " + " | ".join(cells) + " |", flush=True)
    print("\ncells: relative residual (magnitude sum(mu))")


if __name__ == "__main__":
    main()
