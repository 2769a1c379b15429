"""Accuracy and time of bundled problems solved with their default SETTINGS (or overrides).

    python benchmarks/pinn_accuracy.py                       # every problem in problems/, full settings
    python benchmarks/pinn_accuracy.py --quick               # a few steps each: checks the script runs
    python benchmarks/pinn_accuracy.py --problems burgers1d --steps 1000 --lbfgs-steps 1000

Prints a Markdown table: problem, model, steps taken (Adam + L-BFGS), seconds, relative L2 error.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch

import pinnfreq as pf
from pinnfreq.cli import load_problem_file

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", nargs="*", help="names in problems/ (default: all)")
    ap.add_argument("--quick", action="store_true", help="10 Adam + 5 L-BFGS steps, to check the script")
    ap.add_argument("--steps", type=int)
    ap.add_argument("--lbfgs-steps", type=int)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    names = args.problems or sorted(p.stem for p in (ROOT / "problems").glob("*.py"))
    print(f"hardware: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}, device {args.device}\n")
    print("| problem | model | Adam steps | L-BFGS steps | seconds | rel. L2 |")
    print("|---|---|---|---|---|---|")
    for name in names:
        module = load_problem_file(ROOT / "problems" / f"{name}.py")
        settings = dict(getattr(module, "SETTINGS", {}), device=args.device, progress=False)
        if args.quick:
            settings.update(steps=10, lbfgs_steps=5)
        if args.steps is not None:
            settings["steps"] = args.steps
        if args.lbfgs_steps is not None:
            settings["lbfgs_steps"] = args.lbfgs_steps
        start = time.perf_counter()
        sol = pf.solve(module.problem(), reference=module.reference(), **settings)
        seconds = time.perf_counter() - start
        phases = sol.history["phase"]
        adam = phases.count("adam")
        model = settings.get("model")
        desc = f"{type(model).__name__}{tuple(model.config.values())[2:4]}" if model is not None else "default"
        err = sol.error()
        print(f"| {name} | {desc} | {adam} | {len(phases) - adam} | {seconds:.0f} | "
              f"{max(e['rel_l2'] for e in err.values()):.2e} |")


if __name__ == "__main__":
    main()
