"""Forward + backward time and peak memory of each token mixer against the number of tokens.

    python benchmarks/mixer_scaling.py                           # 1k .. 64k tokens, 1-D, CPU (or CUDA when present)
    python benchmarks/mixer_scaling.py --tokens 1024 4096 --quick

Each point: median of ``--repeats`` timed forward+backward passes (after one warm-up) of a batch of 1,
width 64, 4 heads; peak memory from a fresh subprocess (CPU: growth of the resident set; CUDA:
``max_memory_allocated``). A point is skipped when its estimated memory exceeds ``--max-gib``.
Prints a Markdown table and the fitted exponent of time ~ N^p per mixer (least squares in log-log over
the measured points from 4k tokens on, where fixed overheads no longer dominate).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

from pinnfreq.surrogate.mixers import FNOMixer, MagnitudeAttention, SoftmaxAttention, SpectreMixer

WIDTH, HEADS = 64, 4


def make(name: str) -> torch.nn.Module:
    return {"SPECTRE": lambda: SpectreMixer(WIDTH, HEADS, n_fft="same"),
            "magnitude": lambda: MagnitudeAttention(WIDTH, HEADS),  # matrix-free beyond 2048 tokens
            "magnitude-dense": lambda: MagnitudeAttention(WIDTH, HEADS, chunk=None),  # Z formed and kept
            "softmax": lambda: SoftmaxAttention(WIDTH, HEADS),
            "FNO": lambda: FNOMixer(WIDTH, n_modes=16)}[name]()


def estimated_gib(name: str, n: int) -> float:
    """Rough working memory: the N x N kernel per head (several copies for CG and its backward) for
    magnitude attention with Z formed; blocks of 2048 rows when matrix-free; linear in N otherwise
    (softmax attention uses a fused kernel)."""
    if name == "magnitude-dense" or (name == "magnitude" and n <= 2048):
        return 12 * HEADS * n * n * 4 / 2**30
    if name == "magnitude":
        return 4 * HEADS * 2048 * n * 4 / 2**30
    return 200 * n * WIDTH * 4 / 2**30


def measure(name: str, n: int, repeats: int, device: str) -> dict:
    """Runs in a subprocess: time and peak memory of one configuration."""
    import resource

    torch.manual_seed(0)
    mixer = make(name).to(device)
    x = torch.randn(1, n, WIDTH, device=device, requires_grad=True)

    def step():
        mixer(x).square().mean().backward()
        if device == "cuda":
            torch.cuda.synchronize()

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    step()
    peak = (torch.cuda.max_memory_allocated() / 2**20 if device == "cuda"
            else (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return {"ms": 1000 * statistics.median(times), "peak_mib": peak}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, nargs="*", default=[1024, 2048, 4096, 8192, 16384, 32768, 65536])
    ap.add_argument("--mixers", nargs="*", default=["SPECTRE", "magnitude", "softmax", "FNO"])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--max-gib", type=float, default=8.0)
    ap.add_argument("--quick", action="store_true", help="two small sizes, 2 repeats")
    ap.add_argument("--one", nargs=2, help=argparse.SUPPRESS)  # internal: measure one point and print JSON
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]), args.repeats, args.device)))
        return
    if args.quick:
        args.tokens, args.repeats = [256, 512], 2
    rows = {}
    for name in args.mixers:
        for n in args.tokens:
            if estimated_gib(name, n) > args.max_gib:
                rows[name, n] = None
                continue
            out = subprocess.run([sys.executable, __file__, "--one", name, str(n), "--repeats", str(args.repeats),
                                  "--device", args.device], capture_output=True, text=True)
            rows[name, n] = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else None
            print(f"  {name:9s} N={n:6d} {rows[name, n]}", file=sys.stderr, flush=True)
    print(f"Mixer forward+backward, batch 1, width {WIDTH}, {HEADS} heads; device {args.device}; "
          f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}\n")
    print("| tokens | " + " | ".join(f"{m} ms | {m} MiB" for m in args.mixers) + " |")
    print("|---|" + "---|---|" * len(args.mixers))
    for n in args.tokens:
        cells = []
        for m in args.mixers:
            r = rows[m, n]
            cells += ["—", "—"] if r is None else [f"{r['ms']:.1f}", f"{r['peak_mib']:.0f}"]
        print(f"| {n} | " + " | ".join(cells) + " |")
    print()
    for m in args.mixers:
        pts = [(n, rows[m, n]["ms"]) for n in args.tokens if rows[m, n] is not None and n >= min(4096, max(args.tokens))]
        if len(pts) >= 2:
            p = np.polyfit(np.log([a for a, _ in pts]), np.log([b for _, b in pts]), 1)[0]
            print(f"exponent {m}: time ~ N^{p:.2f} ({pts[0][0]}..{pts[-1][0]} tokens)")


if __name__ == "__main__":
    main()
