"""Command line: ``pinnfreq solve problems/burgers1d.py --steps 2000 --out results/``;
``pinnfreq data generate burgers --n 64 --out data/burgers.h5``;
``pinnfreq surrogate train --data data/burgers_sample.h5 --mixer spectre``.

A problem file defines ``problem()`` (returning a Problem) and optionally ``reference()`` (a
Reference), ``SETTINGS`` (default keyword arguments of ``solve()``, including ``model``) and, for an
inverse problem, ``TRUE_PARAMETERS`` (name -> value, to report the error of what was learnt). Bundled
problem scripts call :func:`run_script` under ``if __name__ == "__main__"``, so both
``python problems/x.py`` and ``pinnfreq solve problems/x.py`` take the same options.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import math
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Sequence

from . import distributed
from .io.atomic import check_writable, check_writable_folder


def load_problem_file(path: str | Path) -> ModuleType:
    """Import a problem file by path and check that it has ``problem()``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such problem file")
    spec = importlib.util.spec_from_file_location(f"pinnfreq_problem_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    # registered under its name, as an import would: torch.compile re-imports the module of each traced function
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    if not callable(getattr(module, "problem", None)):
        raise ValueError(f"{path}: a problem file must define problem() returning a pinnfreq.Problem")
    return module


def add_solve_options(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--steps", type=int, help="Adam steps (default: the file's SETTINGS)")
    ap.add_argument("--lbfgs-steps", type=int, help="L-BFGS iterations after Adam")
    ap.add_argument("--time-budget", type=float, help="seconds of training at most")
    ap.add_argument("--device", help="auto (default), cpu, cuda, cuda:1, ...")
    ap.add_argument("--dtype", choices=("float32", "float64"))
    ap.add_argument("--seed", type=int)
    ap.add_argument("--out", type=Path, default=Path("results"), help="folder for .h5, .xdmf/.vtu, .png (default results/)")
    ap.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    ap.add_argument("--checkpoint-every", type=int, help="steps between checkpoints (default 1000)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")


def run_problem(path: str | Path, args: argparse.Namespace) -> int:
    import pinnfreq as pf

    module = load_problem_file(path)
    stem = Path(path).stem
    settings = dict(getattr(module, "SETTINGS", {}))
    for key in ("steps", "lbfgs_steps", "time_budget", "device", "dtype", "seed", "checkpoint_every"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    main = distributed.is_main()  # under torchrun, rank 0 alone prints and writes
    out: Path = check_writable_folder(args.out, "--out folder") if main else Path(args.out)
    settings.update(checkpoint=str(out / f"{stem}.ckpt.pt"), resume=args.resume, progress=not args.no_progress)
    reference = module.reference() if callable(getattr(module, "reference", None)) else None
    problem = module.problem()
    if main:
        print(f"solving {problem.name}: terms {', '.join(problem.terms)}; results in {out}/", flush=True)
    start = time.perf_counter()
    sol = pf.solve(problem, reference=reference, **settings)
    seconds = time.perf_counter() - start
    distributed.finish()
    if not main:
        return 130 if sol.interrupted else 0
    written, failed = write_results(sol, out, stem)
    steps = len(sol.history["step"])
    print(f"{'interrupted' if sol.interrupted else 'trained'}: {steps} steps in {seconds:.1f} s; "
          f"wrote {', '.join(map(str, written))}")
    truth = getattr(module, "TRUE_PARAMETERS", {})
    for name, value in sol.parameters.items():
        known = f" (true {truth[name]:.6g}, rel. error {abs(value - truth[name]) / abs(truth[name]):.2e})" \
            if name in truth else ""
        print(f"{name}={value:.6g}{known}")
    if reference is not None:
        errors = sol.error()
        for f, e in errors.items():
            print(f"{f}: rel_l2={e['rel_l2']:.3e} max_abs={e['max_abs']:.3e}")
        total = math.sqrt(sum(e["rel_l2"] ** 2 for e in errors.values()) / len(errors))
        print(f"rel_l2={total:.6e}")
    else:
        print(f"loss={sol.history['loss'][-1]:.6e}" if sol.history["loss"] else "loss=nan (no step was taken)")
    if failed:
        print(f"pinnfreq: error: {failed}", file=sys.stderr)
        return 1
    return 130 if sol.interrupted else 0


def write_results(sol, out: Path, stem: str) -> tuple[list[Path], str]:
    """Write ``<stem>.h5``, the ParaView file and the PNG into ``out``. A write that fails after all the
    training (the disk filled, the folder vanished) does not lose the result: the files go to a fresh
    temporary folder instead, and the returned message says what could not be written where."""
    def write_all(folder: Path) -> list[Path]:
        sol.save(folder / f"{stem}.h5")
        exported = sol.export(folder / f"{stem}.{'xdmf' if sol.time else 'vtu'}")
        return [folder / f"{stem}.h5", exported, sol.plot(folder / f"{stem}.png")]

    try:
        return write_all(out), ""
    except OSError as err:
        rescue = Path(tempfile.mkdtemp(prefix=f"pinnfreq-{stem}-"))
        return write_all(rescue), (f"could not write the results into {out} ({err.strerror or err}); "
                                   f"they are in {rescue} instead")


def run_script(path: str, argv: Sequence[str] | None = None) -> int:
    """Entry point of a bundled problem script: the options of ``pinnfreq solve``."""
    ap = argparse.ArgumentParser(prog=Path(path).name, description=f"Solve {Path(path).stem} and write results.")
    add_solve_options(ap)
    return _guard(lambda: run_problem(path, ap.parse_args(argv)))


def generate_data(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from .numerics.trajectories import GENERATORS
    from .surrogate.data import Trajectories

    if args.n < 1:
        raise ValueError(f"--n must be a positive number of trajectories, got {args.n}")
    generator = GENERATORS[args.equation]
    options = generator_options(generator, args.equation, args.set or [])
    check_writable(args.out, "--out file")
    with tqdm(total=args.n, desc=f"{args.equation} trajectories", disable=args.no_progress) as bar:
        data = generator(args.n, seed=args.seed, progress=bar.update, **options)
    out = Trajectories(data["u"], data["axes"], {**data["attrs"], "generator": f"pinnfreq data generate {args.equation}"})
    out.save(args.out)
    print(f"wrote {args.out}: u {tuple(out.u.shape)} (trajectories, times, grid..., channels)")
    return 0


def generator_options(generator, equation: str, items: Sequence[str]) -> dict:
    """``--set key=value`` items as keyword arguments of ``generator``, each converted to the type of
    its default, so that unknown keys and bad values fail before anything is solved."""
    from .numerics.trajectories import check_options

    params = {k: p for k, p in inspect.signature(generator).parameters.items() if k not in ("n", "seed", "progress")}
    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set takes key=value, got {item!r}")
        if key not in params:
            raise ValueError(f"--set {key}: {equation} has no option {key!r}; its options are {', '.join(params)}")
        kind = type(params[key].default)
        try:
            options[key] = kind(value) if kind in (int, float, str) else value
        except ValueError:
            raise ValueError(f"--set {key}={value}: {key} takes {'an integer' if kind is int else 'a number'}") from None
    check_options(generator, **options)
    return options


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="pinnfreq", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p_solve = sub.add_parser("solve", help="solve a problem file and write .h5, .xdmf/.vtu and .png")
    p_solve.add_argument("problem", type=Path, help="a problem file, e.g. problems/burgers1d.py")
    add_solve_options(p_solve)
    p_data = sub.add_parser("data", help="trajectory datasets for surrogates")
    data_sub = p_data.add_subparsers(dest="action", required=True)
    p_gen = data_sub.add_parser("generate", help="solve random initial conditions and write an HDF5 dataset")
    p_gen.add_argument("equation", choices=("burgers", "ks", "navier-stokes"))
    p_gen.add_argument("--n", type=int, default=32, help="trajectories (default 32)")
    p_gen.add_argument("--seed", type=int, default=0)
    p_gen.add_argument("--out", type=Path, required=True, help="the .h5 file to write")
    p_gen.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="generator option, e.g. resolution=128, t_end=10 (repeatable)")
    p_gen.add_argument("--no-progress", action="store_true")
    from .surrogate import cli as surrogate_cli

    surrogate_cli.add_commands(sub)
    args = ap.parse_args(argv)
    if args.command == "data":
        return _guard(lambda: generate_data(args))
    if args.command == "surrogate":
        return _guard(lambda: surrogate_cli.run(args))
    return _guard(lambda: run_problem(args.problem, args))


def _guard(fn) -> int:
    """User mistakes print one clear line instead of a traceback."""
    try:
        return fn()
    except (ValueError, TypeError, KeyError, OSError) as err:
        print(f"pinnfreq: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
