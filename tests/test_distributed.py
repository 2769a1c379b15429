"""Data-parallel surrogate training under torchrun: 2 CPU processes, gloo backend."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from pinnfreq.distributed import context
from pinnfreq.surrogate.data import Trajectories
from pinnfreq.surrogate.model import Surrogate
from pinnfreq.surrogate.train import train_surrogate

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]

# 3 training trajectories x 4 windows = 12 samples: one step of 12 in one process, of 6 per rank in two
SETTINGS = dict(epochs=1, test_fraction=0.25, schedule=None, lr=1e-2, progress=False, device="cpu")

SCRIPT = """
import sys, torch
import torch.distributed as dist
from pinnfreq.surrogate.data import Trajectories
from pinnfreq.surrogate.model import Surrogate
from pinnfreq.surrogate.train import train_surrogate
torch.manual_seed(0)
model = Surrogate(2, 1, 1, "fno", hidden_channels=8, n_layers=1)
trained = train_surrogate(Trajectories.load(sys.argv[1]), model, batch_size=6, **{settings})
torch.save(model.state_dict(), sys.argv[2] + f"/rank{{dist.get_rank()}}.pt")
assert trained.config["world_size"] == 2
dist.destroy_process_group()
"""


def _data(path):
    rng = np.random.default_rng(0)
    u = rng.standard_normal((4, 6, 16, 1)).astype(np.float32)
    Trajectories(u, {"t": np.arange(6.0), "x": np.arange(16) / 16}).save(path)
    return path


def _run(args, cwd):
    return subprocess.run(TORCHRUN + args, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_two_ranks_take_the_step_one_process_takes_on_the_whole_batch(tmp_path, monkeypatch):
    data = _data(tmp_path / "d.h5")
    (tmp_path / "train.py").write_text(textwrap.dedent(SCRIPT.format(settings=SETTINGS)))
    res = _run([str(tmp_path / "train.py"), str(data), str(tmp_path)], tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    for name in ranks[0]:
        assert torch.equal(ranks[0][name], ranks[1][name]), name  # the replicas stay identical

    for var in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    torch.manual_seed(0)
    alone = Surrogate(2, 1, 1, "fno", hidden_channels=8, n_layers=1)
    before = {k: v.clone() for k, v in alone.state_dict().items()}
    train_surrogate(Trajectories.load(data), alone, batch_size=12, **SETTINGS)
    moved = 0
    for name, value in alone.state_dict().items():
        assert torch.allclose(ranks[0][name], value, rtol=1e-4, atol=1e-6), name  # averaged gradients = full batch
        moved += int(not torch.equal(value, before[name]))
    assert moved > 0  # the step did change the weights, so the comparison means something


def test_cli_under_torchrun_writes_the_files_once(tmp_path):
    data = _data(tmp_path / "d.h5")
    out = tmp_path / "run"
    res = _run(["-m", "pinnfreq", "surrogate", "train", "--data", str(data), "--mixer", "fno", "--history", "2",
                "--epochs", "2", "--hidden", "8", "--layers", "1", "--device", "cpu", "--no-progress",
                "--out", str(out)], tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("training a fno surrogate") == 1 and res.stdout.count("rel_l2=") == 1
    state = torch.load(out / "surrogate.pt", weights_only=True)
    assert state["config"]["world_size"] == 2 and len(state["history"]["loss"]) == 2


def test_single_process_context_and_bad_devices(monkeypatch):
    for var in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    ctx = context("cpu")
    assert (ctx.rank, ctx.world, ctx.main, ctx.active) == (0, 1, True, False)
    assert ctx.from_main(2.5) == 2.5 and ctx.mean(3.0) == 3.0
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="sees no CUDA device"):
            context("cuda")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ValueError, match="each rank takes cuda:LOCAL_RANK"):
        context("cuda:1")
