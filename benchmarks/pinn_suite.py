"""The PINN race: every bundled problem x every network, and DeepXDE, at equal wall-clock time.

    .venv-bench/bin/python benchmarks/pinn_suite.py --budget 120 --seeds 0 1 2 --jsonl benchmarks/results/suite_120s.jsonl
    .venv-bench/bin/python benchmarks/pinn_suite.py --steps 2000                     # equal steps instead
    python benchmarks/pinn_suite.py --quick                                          # seconds: checks the script

Entries (``--models``):
- ``default``: ``pf.solve(problem, time_budget=B)`` -- no model, no settings: the product;
- ``settings``: the problem file's own SETTINGS (a hand-set baseline), under the same budget;
- ``MLP``, ``RFF-MLP``, ``MSFF``, ``CA``, ``CA+AFE``: the problem's SETTINGS (points, weights, dtype,
  L-BFGS or not) with that network (sizes in ``NETWORKS``); the budget binds, not the file's steps;
- ``deepxde``: DeepXDE (PyTorch backend) configured as its own example for the PDE
  (``benchmarks/peers/deepxde_suite.py``); needs DeepXDE installed in this Python, else the row says so.
- ``default:KEY=VALUE,...``: the default with settings of ``solve()`` given (values read as JSON, else
  as strings), e.g. ``default:resample_every=100`` for the default on new points every 100 Adam steps;
- technique rows, the default with one training technique added or taken away (``TECHNIQUES``):
  ``default+causal`` (``CausalWeighting()``, evolution problems only), ``default+rad`` (``RAD()``),
  ``default+annealing`` (learning-rate-annealing loss balancing instead of gradient norms),
  ``default-hard`` (``hard_constraints=False``: every condition a loss term).

Each run is a separate process (same Python, same threads), so no library's global state leaks into
another's run. Both sides are measured on the problem's reference grid (``reference()``) with the same
metric: relative L2 per field, combined as sqrt(mean over fields of its square). With a budget, the
wall-clock limit covers training (Adam, then L-BFGS where the configuration has it); ``seconds`` is
that training time. With ``--steps N`` every entry takes N Adam steps and no L-BFGS.

Output: one JSON line per run (``--jsonl``, appended; runs already in the file are not repeated, so a
long run can be resumed), then a Markdown table: the median relative L2 over seeds (and the spread,
min-max, with several seeds) per problem and entry, the column ``default / DeepXDE`` (ratio of
medians), and the last line ``default_over_deepxde_worst=<max ratio>``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = ("burgers1d", "poisson1d_multiscale", "poisson2d", "helmholtz2d", "heat1d_multiscale", "wave1d",
            "advection", "allen_cahn", "kdv", "kovasznay", "cavity", "poisson_lshape", "burgers_inverse")
ENTRIES = ("default", "settings", "MLP", "RFF-MLP", "MSFF", "CA", "CA+AFE", "deepxde", "default+causal",
           "default+rad", "default+rad-last", "default+best-start", "default+annealing", "default-hard")
# technique rows: the default with one technique added or removed (None: it does not apply to the problem)
TECHNIQUES = {
    "default+causal": lambda pf, problem: dict(plugins=[pf.CausalWeighting()]) if problem.time else None,
    "default+rad": lambda pf, problem: dict(plugins=[pf.RAD()]),
    # the default's RAD (pinnfreq.defaults: every RAD_EVERY Adam steps, c = RAD_C) with L-BFGS on its last draw
    # only: the default until 2026-12-03 (since then L-BFGS trains on the last draw and as many uniform points)
    "default+rad-last": lambda pf, problem: dict(plugins=[pf.RAD(every=pf.defaults.RAD_EVERY, c=pf.defaults.RAD_C,
                                                                 lbfgs="last")]),
    "default+best-start": lambda pf, problem: dict(plugins=[pf.BestStart()]),
    "default+annealing": lambda pf, problem: dict(adaptive_weights="annealing"),
    "default-hard": lambda pf, problem: dict(hard_constraints=False),
}
QUICK_PROBLEMS = ("poisson1d_multiscale", "burgers_inverse")


def entry_settings(entry: str) -> dict | None:
    """The settings of a ``default:KEY=VALUE,...`` entry (None for any other entry)."""
    if not entry.startswith("default:"):
        return None
    out = {}
    for part in entry[len("default:"):].split(","):
        name, sep, text = part.partition("=")
        if not sep or not name:
            raise ValueError(f"entry {entry!r}: expected default:KEY=VALUE[,KEY=VALUE...]")
        try:
            out[name] = json.loads(text)
        except ValueError:
            out[name] = text
    return out


def entry_name(text: str) -> str:
    """argparse type of ``--models``: a known entry, or a ``default:KEY=VALUE,...`` variant."""
    if text in ENTRIES:
        return text
    try:
        if entry_settings(text) is not None:
            return text
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    raise argparse.ArgumentTypeError(f"unknown entry {text!r}; entries: {', '.join(ENTRIES)}, or default:KEY=VALUE,...")


def networks(d: int, f: int) -> dict:
    """The networks of the model rows (the same sizes on every problem)."""
    import pinnfreq as pf

    return {
        "MLP": lambda: pf.MLP(d, f, hidden_channels=64, n_layers=4),
        "RFF-MLP": lambda: pf.RFFMLP(d, f, hidden_channels=64, n_layers=4, n_base=64, n_scales=4),
        "MSFF": lambda: pf.MultiScaleFourierNet(d, f, hidden_channels=64, n_layers=4, sigmas=(1.0, 10.0)),
        "CA": lambda: pf.CrossAttentionNet(d, f),
        "CA+AFE": lambda: pf.CrossAttentionNet(d, f),
    }


# -- one run (in a child process) ----------------------------------------------------------------------
def run_one(spec: dict) -> dict:
    import numpy as np
    import torch

    import pinnfreq as pf
    from pinnfreq.cli import load_problem_file

    module = load_problem_file(ROOT / "problems" / f"{spec['problem']}.py")
    reference = module.reference()
    entry, budget, steps, seed = spec["entry"], spec["budget"], spec["steps"], spec["seed"]
    problem = module.problem()
    points = reference.points(problem.coordinates)
    fields = [f for f in problem.fields if f in reference.fields]
    if entry == "deepxde":
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from peers.deepxde_suite import run

        torch.set_num_threads(spec["threads"])
        pred, facts = run(spec["problem"], seed, budget, steps, points)
        pred = {f: pred[:, problem.fields.index(f)] for f in fields}
        params = facts.pop("parameters")
    else:
        torch.set_num_threads(spec["threads"])
        settings: dict = {}
        afe = None
        if entry in TECHNIQUES:
            settings = TECHNIQUES[entry](pf, problem)
            if settings is None:
                return {**spec, "error": "not applicable"}
        elif entry_settings(entry) is not None:
            settings = entry_settings(entry)
        elif entry != "default":
            settings = dict(getattr(module, "SETTINGS", {}))
            if entry != "settings":
                settings["model"] = networks(len(problem.coordinates), len(problem.fields))[entry]()
            afe = pf.AFE() if entry == "CA+AFE" else None
        if steps is not None:
            settings.update(steps=steps, lbfgs_steps=0)
        else:
            settings["time_budget"] = budget
            if entry != "default" and entry not in TECHNIQUES and entry_settings(entry) is None:
                lbfgs = settings.get("lbfgs_steps", 0) > 0
                settings.update(steps=_adam_steps(problem, settings, afe, budget * (0.5 if lbfgs else 1.0)),
                                lbfgs_steps=10**6 if lbfgs else 0)
        settings.update(seed=seed, device=spec["device"], progress=False)
        start = time.perf_counter()
        sol = pf.solve(problem, afe=afe, **settings)
        phases = sol.history.get("phase", [])
        adam = phases.count("adam")
        facts = {"adam_steps": adam, "lbfgs_steps": len(phases) - adam,
                 "train_seconds": sol.history["time"][-1] if sol.history.get("time") else 0.0,
                 "solve_seconds": time.perf_counter() - start}
        values = sol.evaluate(points)
        pred = {f: values[:, problem.fields.index(f)] for f in fields}
        params = sol.parameters
    per_field = {f: float(np.linalg.norm(pred[f] - reference.values(f)) / np.linalg.norm(reference.values(f)))
                 for f in fields}
    out = {**spec, **facts, "finished": time.strftime("%Y-%m-%dT%H:%M:%S"), "rel_l2_fields": per_field,
           "rel_l2": math.sqrt(sum(e**2 for e in per_field.values()) / len(per_field)), "parameters": params}
    truth = getattr(module, "TRUE_PARAMETERS", {})
    if truth:
        out["parameter_errors"] = {k: abs(params[k] - v) / abs(v) for k, v in truth.items() if k in params}
    return out


def _adam_steps(problem, settings: dict, afe, seconds: float) -> int:
    """Adam steps for a model row: effectively unlimited (the budget binds) unless AFE needs to know
    where its stages fall; then the steps that fit in ``seconds``, from a short timed run."""
    if afe is None:
        return 10**6
    import pinnfreq as pf

    probe = dict(settings, steps=12, lbfgs_steps=0, progress=False, eval_every=10**6)
    probe.pop("time_budget", None)
    sol = pf.solve(problem, **probe)
    per_step = (sol.history["time"][-1] - sol.history["time"][1]) / 10  # the first step warms up
    return max(10, int(seconds / per_step))


# -- the orchestrator ------------------------------------------------------------------------------------
def deepxde_available() -> bool:
    probe = subprocess.run([sys.executable, "-c", "import deepxde"], capture_output=True,
                           env={**os.environ, "DDE_BACKEND": "pytorch"})
    return probe.returncode == 0


def launch(spec: dict, timeout: float) -> dict:
    env = {**os.environ, "DDE_BACKEND": "pytorch", "PYTHONPATH": str(ROOT)}
    try:
        res = subprocess.run([sys.executable, __file__, "--run-one", json.dumps(spec)], capture_output=True,
                             text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {**spec, "error": f"no result within {timeout:.0f} s"}
    if res.returncode != 0:
        lines = [line for line in res.stderr.strip().splitlines() if line.strip()]
        return {**spec, "error": lines[-1] if lines else f"exit {res.returncode}"}
    return json.loads(res.stdout.strip().splitlines()[-1])


def key(r: dict) -> tuple:
    return (r["problem"], r["entry"], r["seed"], r["budget"], r["steps"], r["device"])


def table(results: list[dict], problems: list[str], entries: list[str]) -> list[str]:
    def cell(rows: list[dict]) -> tuple[str, float | None]:
        errs = [r["rel_l2"] for r in rows if "rel_l2" in r]
        if not errs:
            return ((rows[0].get("error", "")[:40] or "failed") if rows else "", None)
        med = statistics.median(errs)
        spread = f" ({min(errs):.1e}-{max(errs):.1e})" if len(errs) > 1 else ""
        steps = statistics.median(r["adam_steps"] + r["lbfgs_steps"] for r in rows if "rel_l2" in r)
        return f"{med:.2e}{spread} [{steps:.0f}]", med

    lines = ["| problem | " + " | ".join(entries) + " | default / DeepXDE |",
             "|---|" + "---|" * (len(entries) + 1)]
    ratios = []
    for p in problems:
        cells, medians = [], {}
        for e in entries:
            text, med = cell([r for r in results if r["problem"] == p and r["entry"] == e])
            cells.append(text)
            medians[e] = med
        ratio = ""
        if medians.get("default") is not None and medians.get("deepxde"):
            ratios.append(medians["default"] / medians["deepxde"])
            ratio = f"{ratios[-1]:.3g}"
        lines.append(f"| {p} | " + " | ".join(cells) + f" | {ratio} |")
    params = [r for r in results if r.get("parameter_errors")]
    for e in entries:
        rows = [r for r in params if r["entry"] == e]
        if rows:
            found = ", ".join(f"{k}={r['parameters'][k]:.4g} (rel. error {v:.1e}, seed {r['seed']})"
                              for r in rows for k, v in r["parameter_errors"].items())
            lines.append(f"\nrecovered by {e}: {found}")
    lines.append("")
    lines.append(f"default_over_deepxde_worst={max(ratios):.3g}" if ratios else
                 "default_over_deepxde_worst=n/a (no problem has both a default and a DeepXDE result)")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", nargs="+", choices=PROBLEMS)
    ap.add_argument("--models", nargs="+", type=entry_name, metavar="ENTRY",
                    help=f"entries to run (default: all): {', '.join(ENTRIES)}, or default:KEY=VALUE,...")
    ap.add_argument("--budget", type=float, default=120.0, help="wall-clock seconds of training per run (default 120)")
    ap.add_argument("--steps", type=int, help="a fixed number of Adam steps instead of a time budget")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    ap.add_argument("--threads", type=int, default=torch_threads())
    ap.add_argument("--run-limit", type=float,
                    help="seconds after which a run is stopped and recorded as unmeasured "
                         "(default: 3 x the budget + 300 s; 480 s with --steps)")
    ap.add_argument("--jsonl", type=Path, help="append one JSON line per run; runs already there are skipped")
    ap.add_argument("--quick", action="store_true", help=f"5 Adam steps on {', '.join(QUICK_PROBLEMS)}")
    ap.add_argument("--table-only", action="store_true", help="print the table of the runs in --jsonl; run nothing")
    ap.add_argument("--run-one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.run_one:
        print(json.dumps(run_one(json.loads(args.run_one))))
        return
    problems = list(args.problems or (QUICK_PROBLEMS if args.quick else PROBLEMS))
    entries = list(args.models or (("default", "MLP", "deepxde") if args.quick else ENTRIES))
    steps, budget = (5, None) if args.quick else (args.steps, None if args.steps else args.budget)
    have_dde = "deepxde" in entries and deepxde_available()
    done: dict[tuple, dict] = {}
    if args.jsonl and args.jsonl.exists():
        for line in args.jsonl.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                done[key(r)] = r
    print(f"hardware: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {args.threads} threads, "
          f"device {args.device}, python {platform.python_version()}; "
          f"{'budget ' + str(budget) + ' s' if budget else str(steps) + ' Adam steps'} per run; seeds {args.seeds}",
          flush=True)
    results = []
    for p in problems:
        for e in entries:
            for s in args.seeds:
                spec = {"problem": p, "entry": e, "seed": s, "budget": budget, "steps": steps, "device": args.device,
                        "threads": args.threads}
                if key(spec) in done and "rel_l2" in done[key(spec)]:
                    results.append(done[key(spec)])
                    continue
                if args.table_only:
                    results.append({**spec, "error": "not measured"})
                    continue
                if e == "deepxde" and not have_dde:
                    results.append({**spec, "error": "DeepXDE not installed"})
                    continue
                r = launch(spec, timeout=args.run_limit or (budget or 60) * 3 + 300)
                results.append(r)
                print(json.dumps(r), flush=True)
                if args.jsonl:
                    args.jsonl.parent.mkdir(parents=True, exist_ok=True)
                    with args.jsonl.open("a") as fh:
                        fh.write(json.dumps(r) + "\n")
    print("\nrelative L2 on the reference grid, median over seeds (min-max), [steps taken: Adam + L-BFGS]\n")
    print("\n".join(table(results, problems, entries)))


def torch_threads() -> int:
    return min(os.cpu_count() or 1, 16)


if __name__ == "__main__":
    main()
