"""The bundled Burgers script and the `pinnfreq` command, end to end, as subprocesses."""

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import meshio

import pinnfreq as pf

ROOT = Path(__file__).resolve().parent.parent
FAST = ["--steps", "4", "--lbfgs-steps", "2", "--no-progress"]


def _run(args, **kw):
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300, **kw)


def _check_outputs(out: Path, stdout: str):
    assert re.fullmatch(r"rel_l2=\d\.\d+e[+-]\d+", stdout.strip().splitlines()[-1]), stdout
    sol = pf.Solution.load(out / "burgers1d.h5")
    assert sol.coordinates == ("x", "t") and sol.time == "t"
    with meshio.xdmf.TimeSeriesReader(out / "burgers1d.xdmf") as r:
        assert r.num_steps == 101
    assert (out / "burgers1d.png").read_bytes()[:4] == b"\x89PNG"
    return sol


def test_script_runs_end_to_end(tmp_path):
    res = _run(["problems/burgers1d.py", *FAST, "--out", str(tmp_path), "--seed", "3"])
    assert res.returncode == 0, res.stderr
    sol = _check_outputs(tmp_path, res.stdout)
    assert len(sol.history["step"]) == 6 and sol.config["seed"] == 3


def test_pinnfreq_command_runs_end_to_end(tmp_path):
    exe = Path(sys.executable).parent / "pinnfreq"
    assert exe.exists(), "the console script is installed with the package"
    res = subprocess.run([str(exe), "solve", "problems/burgers1d.py", *FAST, "--out", str(tmp_path),
                          "--device", "cpu", "--time-budget", "60"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    _check_outputs(tmp_path, res.stdout)


def test_user_mistakes_give_one_clear_line(tmp_path):
    res = _run(["-m", "pinnfreq.cli", "solve", "missing.py", "--out", str(tmp_path)])
    assert res.returncode == 2 and "missing.py: no such problem file" in res.stderr and "Traceback" not in res.stderr
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\n")
    res = _run(["-m", "pinnfreq.cli", "solve", str(bad), "--out", str(tmp_path)])
    assert res.returncode == 2 and "must define problem()" in res.stderr


def test_ctrl_c_leaves_checkpoint_and_loadable_solution(tmp_path):
    proc = subprocess.Popen([sys.executable, "problems/burgers1d.py", "--steps", "100000", "--no-progress",
                             "--checkpoint-every", "1", "--out", str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    ckpt = tmp_path / "burgers1d.ckpt.pt"
    try:
        line = proc.stdout.readline()  # printed just before training starts
        assert line.startswith("solving burgers1d"), line
        deadline = time.monotonic() + 120  # wait for a completed step, however loaded the machine is
        while not ckpt.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert ckpt.exists(), "no step completed within 120 s"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in out
    sol = pf.Solution.load(tmp_path / "burgers1d.h5")
    assert sol.interrupted and 0 < len(sol.history["step"]) < 100000
    with h5py.File(tmp_path / "burgers1d.h5") as f:
        assert bool(f.attrs["interrupted"])
    import torch
    state = torch.load(ckpt, weights_only=True)
    assert state["step"] == len(sol.history["step"])


def test_resume_from_the_cli(tmp_path):
    first = _run(["problems/burgers1d.py", "--steps", "6", "--lbfgs-steps", "0", "--no-progress", "--out", str(tmp_path)])
    assert first.returncode == 0, first.stderr
    second = _run(["problems/burgers1d.py", "--steps", "9", "--lbfgs-steps", "0", "--no-progress", "--resume",
                   "--out", str(tmp_path)])
    assert second.returncode == 0, second.stderr
    sol = pf.Solution.load(tmp_path / "burgers1d.h5")
    assert sol.history["step"] == list(range(9)) and any("resumed" in e for e in sol.history["events"])
