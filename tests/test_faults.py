"""Nothing lost, nothing silent: outputs are probed before training, a write that fails late keeps the
result, stale temporaries are cleaned, kill -9 never leaves a half file, and every CLI command turns a
user mistake into one line before any expensive work. Real processes where the fault is a process's."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

import pinnfreq as pf
from pinnfreq.cli import write_results
from pinnfreq.io.atomic import check_writable, check_writable_folder
from pinnfreq.io.hdf5 import write_h5
from pinnfreq.train.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parent.parent
LINE = pf.Interval(-1, 1)
DEAD_PID = 4_194_399  # above Linux's largest pid_max (2^22): no process has it


def _problem():
    return pf.Problem(LINE, "u", lambda u, x: -u.xx - x, [pf.Dirichlet(0.0, on=LINE.boundary)])


def _solve(**kw):
    return pf.solve(_problem(), pf.MLP(1, 1, 8, 2), points=32, boundary_points=8, progress=False, **kw)


def _cli(*args, timeout=300):
    exe = Path(sys.executable).parent / "pinnfreq"
    return subprocess.run([str(exe), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


# -- outputs are checked before training ----------------------------------------------------------------
def test_unwritable_outputs_fail_before_training(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="the checkpoint .*a_file/c.pt cannot be written: .*a_file is a file"):
        _solve(steps=3, checkpoint=str(blocker / "c.pt"))
    with pytest.raises(ValueError, match="is a folder, not a file name"):
        _solve(steps=3, checkpoint=str(tmp_path))
    with pytest.raises(ValueError, match="is a file, not a folder"):
        check_writable_folder(blocker)
    assert check_writable(tmp_path / "new" / "deeper" / "x.h5") == tmp_path / "new" / "deeper" / "x.h5"
    assert not list((tmp_path / "new" / "deeper").iterdir())  # the probe is removed


@pytest.mark.parametrize("args", [
    ["solve", "problems/burgers1d.py", "--out", "{blocker}"],
    ["surrogate", "train", "--data", "data/burgers_sample.h5", "--out", "{blocker}"],
    ["data", "generate", "burgers", "--n", "2", "--out", "{blocker}/x.h5"],
])
def test_cli_refuses_an_unwritable_out_in_one_line_before_work(tmp_path, args):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    start = time.monotonic()
    res = _cli(*[a.format(blocker=blocker) for a in args])
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert re.fullmatch(r"pinnfreq: error: the --out (folder|file) .*a_file.* (is a file, not a folder|cannot be written: .*)\n",
                        res.stderr), res.stderr
    assert time.monotonic() - start < 60  # before any training or solving


# -- a late failure keeps the result -------------------------------------------------------------------
def test_a_checkpoint_that_cannot_be_written_late_does_not_end_the_run(tmp_path):
    folder = tmp_path / "ck"

    def break_the_folder(info):
        if info.step == 3:
            for f in folder.iterdir():
                f.unlink()
            folder.rmdir()
            folder.write_text("now a file")

    with pytest.warns(RuntimeWarning, match="could not write the checkpoint"):
        sol = _solve(steps=8, checkpoint=str(folder / "c.pt"), checkpoint_every=2, callbacks=[break_the_folder])
    assert len(sol.history["step"]) == 8
    assert any("result is kept in memory" in e for e in sol.history["events"])


def test_results_that_cannot_be_written_go_to_a_rescue_folder(tmp_path):
    sol = _solve(steps=2)
    out = tmp_path / "out"
    out.write_text("the folder became a file after training")
    written, failed = write_results(sol, out, "p")
    assert "could not write the results into" in failed and str(written[0].parent) in failed
    assert pf.Solution.load(written[0]).history["step"] == [0, 1]


def test_surrogate_budgets_are_validated_before_training(tmp_path):
    for budget in ("0", "-3", "nan"):
        res = _cli("surrogate", "train", "--data", "data/burgers_sample.h5", "--out", str(tmp_path / "s"),
                   "--time-budget", budget)
        assert res.returncode == 2 and "time_budget must be positive seconds" in res.stderr, res.stderr
        assert "rel_l2" not in res.stdout


# -- stale temporaries, kill -9 --------------------------------------------------------------------------
def test_the_next_write_removes_temporaries_of_dead_writers_only(tmp_path):
    dead = tmp_path / f".x.h5.{DEAD_PID}.abc.h5"
    alive = tmp_path / f".x.h5.{os.getppid()}.def.h5"
    other = tmp_path / f".y.h5.{DEAD_PID}.ghi.h5"
    for f in (dead, alive, other):
        f.write_bytes(b"half a file")
    write_h5(tmp_path / "x.h5", {"a": {"b": np.zeros(3)}}, {"format": "test"})
    assert not dead.exists() and alive.exists() and other.exists()
    with h5py.File(tmp_path / "x.h5") as f:
        assert f["a"]["b"].shape == (3,)


def test_kill_9_during_training_leaves_a_loadable_checkpoint_and_resume_continues(tmp_path):
    proc = subprocess.Popen([sys.executable, "problems/burgers1d.py", "--steps", "100000", "--lbfgs-steps", "0",
                             "--no-progress", "--checkpoint-every", "1", "--out", str(tmp_path)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = tmp_path / "burgers1d.ckpt.pt"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if ckpt.exists() and load_checkpoint(ckpt)["step"] >= 3:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # most likely in the middle of writing the next checkpoint
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    state = load_checkpoint(ckpt)  # never a half file under the real name
    step = int(state["step"])
    assert step >= 3
    res = subprocess.run([sys.executable, "problems/burgers1d.py", "--steps", str(step + 2), "--lbfgs-steps", "0",
                          "--no-progress", "--resume", "--out", str(tmp_path)], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    sol = pf.Solution.load(tmp_path / "burgers1d.h5")
    assert len(sol.history["step"]) == step + 2 and any("resumed" in e for e in sol.history["events"])
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".burgers1d.ckpt.pt.")]  # the killed one's


# -- one line from every command --------------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["data", "generate", "burgers", "--n", "2", "--out", "{tmp}/x.h5", "--set", "n_times=1"], "n_times must be >= 2"),
    (["data", "generate", "burgers", "--n", "2", "--out", "{tmp}/x.h5", "--set", "resolution=abc"],
     "resolution takes an integer"),
    (["data", "generate", "ks", "--n", "2", "--out", "{tmp}/x.h5", "--set", "viscosity=1"], "ks has no option 'viscosity'"),
    (["data", "generate", "navier-stokes", "--n", "2", "--out", "{tmp}/x.h5", "--set", "dt=0.3"],
     "must be multiples of dt"),
    (["solve", "{tmp}/typo.py", "--out", "{tmp}/o"], "AttributeError: 'y' is not a derivative"),
])
def test_cli_mistakes_give_one_line_before_expensive_work(tmp_path, args, message):
    (tmp_path / "typo.py").write_text(
        "import pinnfreq as pf\nline = pf.Interval(0, 1)\n"
        "def problem():\n    return pf.Problem(line, 'u', lambda u: u.y, [pf.Dirichlet(0.0, on=line.boundary)])\n")
    start = time.monotonic()
    res = _cli(*[a.format(tmp=tmp_path) for a in args])
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and message in res.stderr, res.stderr
    assert time.monotonic() - start < 60


def test_cli_resume_after_the_problem_file_changed_is_refused_in_one_line(tmp_path):
    script = (ROOT / "problems" / "burgers1d.py").read_text()
    first = tmp_path / "burgers1d.py"
    first.write_text(script.replace('Path(__file__).resolve().parent.parent / "data"', f'Path({str(ROOT)!r}) / "data"'))
    res = _cli("solve", str(first), "--steps", "3", "--lbfgs-steps", "0", "--no-progress", "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    first.write_text(first.read_text().replace("pf.Interval(-1.0, 1.0", "pf.Interval(-2.0, 2.0"))
    res = _cli("solve", str(first), "--steps", "5", "--lbfgs-steps", "0", "--no-progress", "--resume",
               "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert re.fullmatch(r"pinnfreq: error: the checkpoint .* belongs to another problem or network "
                        r"\(lower: checkpoint \[-1\.0, 0\.0\], now \[-2\.0, 0\.0\]; upper: .*\n", res.stderr), res.stderr
