"""``pinnfreq surrogate train | rollout | evaluate``."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..distributed import finish, is_main
from ..io.atomic import atomic_path, check_writable_folder


def _add_selection(parser: argparse.ArgumentParser, defaults: str) -> None:
    parser.add_argument("--max-trajectories", type=int, help=f"use the first N trajectories only ({defaults})")
    parser.add_argument("--stride-t", type=int, help=f"every K-th frame, PDEBench's reduced_resolution_t ({defaults})")
    parser.add_argument("--stride-x", type=int, help=f"every K-th point per axis, PDEBench's reduced_resolution ({defaults})")


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("surrogate", help="train, roll out and evaluate snapshot surrogates")
    actions = p.add_subparsers(dest="action", required=True)
    train = actions.add_parser("train", help="train on a trajectory dataset, then roll out the test trajectories")
    train.add_argument("--data", type=Path, required=True, help="trajectory .h5 (pinnfreq data generate) or PDEBench file")
    train.add_argument("--mixer", default="spectre", choices=("spectre", "magnitude", "softmax", "fno"))
    train.add_argument("--history", type=int, default=10, help="input frames (default 10)")
    train.add_argument("--out-frames", type=int, default=1, help="frames predicted per call")
    train.add_argument("--hidden", type=int, default=64)
    train.add_argument("--layers", type=int, default=4)
    train.add_argument("--heads", type=int, help="attention heads of the mixer")
    train.add_argument("--modes", type=int, help="Fourier modes of the FNO mixer")
    train.add_argument("--patch", type=int, default=1, help="tokens are patches of this many points per axis")
    train.add_argument("--no-increment", action="store_true", help="predict frames, not increments")
    train.add_argument("--norm", choices=("layer", "none"), help="normalisation in the blocks (default: the block's)")
    train.add_argument("--block", default="fno", choices=("fno", "pre-norm"), help="block design (default fno)")
    train.add_argument("--mlp-ratio", type=float, help="channel MLP width over --hidden (default: the block's)")
    train.add_argument("--lifting-ratio", type=float, help="lifting MLP width over --hidden (0: one linear map)")
    train.add_argument("--projection-ratio", type=float, help="projection MLP width over --hidden (0: one linear map)")
    train.add_argument("--epochs", type=int, default=20)
    train.add_argument("--batch-size", type=int, default=16)
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--pushforward", type=int, default=0, help="at most N unrolled calls without gradient before the loss, drawn per batch from 0..N (0: off)")
    train.add_argument("--time-budget", type=float)
    train.add_argument("--device", default="auto")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", type=Path, default=Path("results/surrogate"))
    train.add_argument("--no-progress", action="store_true")
    train.add_argument("--checkpoint", type=Path, help="checkpoint file, written every --checkpoint-every steps and "
                       "at the end (default: OUT/checkpoint.pt)")
    train.add_argument("--checkpoint-every", type=int, default=200, help="steps between checkpoints (default 200)")
    train.add_argument("--resume", action="store_true", help="continue from the checkpoint (same data and options)")
    _add_selection(train, "default: all")
    for name, text in (("rollout", "roll out a trained surrogate and write .h5, .xdmf and .png"),
                       ("evaluate", "print the rollout metrics of a trained surrogate")):
        q = actions.add_parser(name, help=text)
        q.add_argument("--model", type=Path, required=True, help="surrogate.pt written by 'surrogate train'")
        q.add_argument("--data", type=Path, required=True)
        q.add_argument("--trajectories", default="test", help="'test' (the held-out split), 'all', or indices 0,3,5")
        q.add_argument("--device", default="cpu")
        _add_selection(q, "default: as the model was trained")
        if name == "rollout":
            q.add_argument("--out", type=Path, default=Path("results/rollout"))


def load_data(path: Path, selection: dict | None = None):
    """Our trajectory file or a PDEBench file, subsampled by ``selection`` (n, stride_t, stride_x)."""
    from .data import Trajectories

    import h5py

    if not path.exists():
        raise FileNotFoundError(f"{path}: no such dataset")
    try:
        with h5py.File(path, "r") as f:
            ours = f.attrs.get("format") in ("pinnfreq-trajectories", b"pinnfreq-trajectories")
    except OSError as err:
        raise ValueError(f"{path}: not a readable HDF5 file ({err})") from None
    selection = selection or {}
    return Trajectories.load(path).subsample(**selection) if ours else Trajectories.from_pdebench(path, **selection)


def _data_selection(args: argparse.Namespace, stored: dict | None = None) -> dict:
    """The data selection of the command line; options not given fall back to ``stored`` (the model's)."""
    given = {"n": args.max_trajectories, "stride_t": args.stride_t, "stride_x": args.stride_x}
    stored = stored or {}
    return {k: v if v is not None else stored.get(k, None if k == "n" else 1) for k, v in given.items()}


def run(args: argparse.Namespace) -> int:
    return {"train": _train, "rollout": _rollout, "evaluate": _evaluate}[args.action](args)


def _train(args: argparse.Namespace) -> int:
    import torch

    from .model import Surrogate
    from .train import SurrogateConfig, train_surrogate

    if is_main():
        check_writable_folder(args.out, "--out folder")
    checkpoint = str(args.checkpoint or args.out / "checkpoint.pt")
    if is_main():
        check_writable_folder(Path(checkpoint).parent, "--checkpoint folder")
    cfg = SurrogateConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, pushforward=args.pushforward,
                          time_budget=args.time_budget, device=args.device, seed=args.seed,
                          progress=not args.no_progress, checkpoint=checkpoint,
                          checkpoint_every=args.checkpoint_every, resume=args.resume)  # checked before the data are read
    selection = _data_selection(args)
    data = load_data(args.data, selection)
    options = {}
    if args.heads is not None:
        options["n_heads"] = args.heads
    if args.modes is not None:
        options["n_modes"] = args.modes
    design = {k: v for k, v in (("norm", args.norm), ("block", args.block), ("mlp_ratio", args.mlp_ratio),
                                ("lifting_channel_ratio", args.lifting_ratio),
                                ("projection_channel_ratio", args.projection_ratio)) if v is not None}
    torch.manual_seed(args.seed)  # the initial weights too: --seed makes the run repeatable
    model = Surrogate(args.history, data.channels, len(data.grid), args.mixer, args.hidden, args.layers,
                      out_frames=args.out_frames, increment=not args.no_increment, mixer_options=options,
                      grid=data.grid, patch=args.patch, **design)
    n_params = sum(p.numel() for p in model.parameters())
    if is_main():
        print(f"training a {args.mixer} surrogate ({n_params} parameters) on {args.data}: u {tuple(data.u.shape)}", flush=True)
    trained = train_surrogate(data, model, cfg)
    if not is_main():
        finish()
        return 0  # under torchrun rank 0 writes the files
    trained.config["data_selection"] = selection  # so that rollout/evaluate pick the same frames by default
    out, failed = args.out, ""
    try:
        summary = _write_all(trained, data, out)
    except OSError as err:  # after all the training: keep the result, somewhere
        out = Path(tempfile.mkdtemp(prefix="pinnfreq-surrogate-"))
        failed = f"could not write into {args.out} ({err.strerror or err}); the model and rollouts are in {out} instead"
        summary = _write_all(trained, data, out)
    finish()
    print(f"wrote {out / 'surrogate.pt'} and the test rollouts in {out}/")
    _print(summary)
    if failed:
        print(f"pinnfreq: error: {failed}", file=sys.stderr)
        return 1
    return 0


def _write_all(trained, data, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    trained.save(out / "surrogate.pt")
    return _write_rollouts(trained, data, trained.test_indices, out)


def _select(spec: str, trained, data) -> np.ndarray:
    if spec == "test":
        return trained.test_indices
    if spec == "all":
        return np.arange(data.u.shape[0])
    try:
        idx = np.array([int(s) for s in spec.split(",")])
    except ValueError:
        raise ValueError(f"--trajectories takes 'test', 'all' or indices like 0,3,5; got {spec!r}") from None
    if idx.min() < 0 or idx.max() >= data.u.shape[0]:
        raise ValueError(f"--trajectories {spec}: the dataset has {data.u.shape[0]} trajectories")
    return idx


def _loaded(args: argparse.Namespace):
    from .train import TrainedSurrogate

    trained = TrainedSurrogate.load(args.model, args.device)
    data = load_data(args.data, _data_selection(args, trained.config.get("data_selection")))
    if len(data.grid) != trained.model.n_dims or data.channels != trained.model.channels:
        raise ValueError(f"{args.model} takes {trained.model.n_dims}-D grids of {trained.model.channels} channel(s); "
                         f"{args.data} is {len(data.grid)}-D with {data.channels}")
    return trained, data


def _rollout(args: argparse.Namespace) -> int:
    check_writable_folder(args.out, "--out folder")
    trained, data = _loaded(args)
    summary = _write_rollouts(trained, data, _select(args.trajectories, trained, data), args.out)
    print(f"wrote rollout.h5, rollout.xdmf, rollout.png in {args.out}/")
    _print(summary)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    trained, data = _loaded(args)
    summary, _, _ = trained.evaluate(data, _select(args.trajectories, trained, data))
    _print(summary)
    return 0


def _write_rollouts(trained, data, indices: np.ndarray, out: Path) -> dict:
    from .export import export_xdmf, plot_rollout, save_rollout

    summary, pred, true = trained.evaluate(data, indices)
    h = trained.model.history
    save_rollout(out / "rollout.h5", pred, true, data.axes, indices, summary, h)
    times = np.asarray(data.axes["t"])[h:]
    export_xdmf(out / "rollout.xdmf", pred[0], true[0], data.axes, times)
    plot_rollout(out / "rollout.png", pred[0], true[0], data.axes, times)
    with atomic_path(out / "metrics.json", suffix=".json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1))
    return summary


def _print(summary: dict) -> None:
    bands = ", ".join(f"{k} {v:.3e}" for k, v in summary["bands"].items())
    print(f"bands: {bands}; high-correlation time {summary['high_correlation_time']:.3g}")
    print(f"nrmse={summary['nrmse']:.4e}")
    print(f"rel_l2={summary['rel_l2']:.4e}")
