"""Data-parallel PINN training under torchrun: 2 CPU processes (gloo) against one process."""

import json
import subprocess
import sys
import textwrap

import torch

import pinnfreq as pf

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]

PROBLEM = """
import math, torch
import pinnfreq as pf

def problem():
    line = pf.Interval(0.0, 1.0)
    return pf.Problem(line, "u", lambda u, x: u.xx + math.pi**2 * torch.sin(math.pi * x),
                      conditions=[pf.Dirichlet(0.0, on=line.boundary)])

# Adam steps with gradient-norm weights re-balanced every step, then L-BFGS: every decision the ranks must share
SETTINGS = dict(steps=3, lbfgs_steps=3, adaptive_weights="gradnorm", adapt_every=1, dtype="float64",
                device="cpu", progress=False, seed=3)
"""

SCRIPT = """
import json, sys, torch
import torch.distributed as dist
import pinnfreq as pf
sys.path.insert(0, sys.argv[1])
from case import problem, SETTINGS
sol = pf.solve(problem(), pf.MLP(1, 1, 8, 2), points=16, boundary_points=2, **SETTINGS)
rank = dist.get_rank()
torch.save(sol.model.state_dict(), f"{sys.argv[1]}/rank{rank}.pt")
json.dump(sol.history["loss"], open(f"{sys.argv[1]}/loss{rank}.json", "w"))
dist.destroy_process_group()
"""


def test_two_ranks_with_n_points_each_equal_one_process_with_the_2n(tmp_path):
    (tmp_path / "case.py").write_text(textwrap.dedent(PROBLEM))
    (tmp_path / "train.py").write_text(textwrap.dedent(SCRIPT))
    res = subprocess.run(TORCHRUN + [str(tmp_path / "train.py"), str(tmp_path)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    for name in ranks[0]:
        assert torch.equal(ranks[0][name], ranks[1][name]), name  # the replicas stay identical

    sys.path.insert(0, str(tmp_path))
    try:
        from case import SETTINGS, problem
    finally:
        sys.path.remove(str(tmp_path))
    alone = pf.solve(problem(), pf.MLP(1, 1, 8, 2), points=32, boundary_points=4, **SETTINGS)
    assert len(alone.history["loss"]) == 6
    losses = json.loads((tmp_path / "loss0.json").read_text())
    assert losses == json.loads((tmp_path / "loss1.json").read_text())
    for a, b in zip(losses, alone.history["loss"]):
        assert abs(a - b) <= 1e-10 * abs(b)  # the loss over both ranks' points is the one process's loss
    for name, value in alone.model.state_dict().items():
        assert torch.allclose(ranks[0][name], value, rtol=1e-9, atol=1e-12), name
    assert losses[-1] < losses[0]  # it trained, so the comparison means something


def test_solve_cli_under_torchrun_writes_the_files_once(tmp_path):
    out = tmp_path / "run"
    res = subprocess.run(TORCHRUN + ["-m", "pinnfreq", "solve", "problems/poisson1d_multiscale.py", "--steps", "2", "--lbfgs-steps", "0",
                                     "--device", "cpu", "--no-progress", "--out", str(out)],
                         cwd=pf.__path__[0] + "/..", capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    lines = res.stdout.splitlines()
    assert sum(x.startswith("solving poisson1d_multiscale") for x in lines) == 1
    assert sum(x.startswith("rel_l2=") for x in lines) == 1
    assert sorted(p.name for p in out.iterdir()) == ["poisson1d_multiscale.ckpt.pt", "poisson1d_multiscale.h5",
                                                     "poisson1d_multiscale.png", "poisson1d_multiscale.vtu"]
