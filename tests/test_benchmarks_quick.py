"""Each benchmark script runs in its quick mode and prints its table (numbers are not checked here:
benchmarks measure, tests check properties)."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> str:
    res = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_step_cost_quick():
    out = _run("benchmarks/step_cost.py", "--quick")
    assert "| cpu | 2 | taylor |" in out
    assert re.fullmatch(r"ca_over_rff_mlp=\d+\.\d\d", out.strip().splitlines()[-1])


def test_third_order_quick():
    out = _run("benchmarks/third_order.py", "--quick")
    assert "| cpu | ca |" in out
    assert re.fullmatch(r"taylor_over_autograd_ca=\d+\.\d\d", out.strip().splitlines()[-1])


def test_pinn_accuracy_quick():
    out = _run("benchmarks/pinn_accuracy.py", "--quick", "--problems", "burgers1d")
    assert re.search(r"\| burgers1d \| MLP.* \| 10 \| 5 \| \d+ \| \d\.\d\de[+-]\d\d \|", out), out


def test_spectral_bias_quick(tmp_path):
    out = _run("benchmarks/spectral_bias.py", "--quick", "--cases", "regression", "poisson2d",
               "--models", "MLP", "CA", "--points", "64", "--out", str(tmp_path))
    assert "| poisson2d | CA |" in out and "k>=16" in out
    assert (tmp_path / "spectral_bias.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "spectral_bias.md").read_text().count("\n| ") == 5


def test_afe_quick():
    out = _run("benchmarks/afe.py", "--quick", "--cases", "paper1d")
    assert re.search(r"\| paper1d \| CA\+AFE\(residual\) \| 20 \| .* \| \d+: \(", out), out


def test_mixer_scaling_quick():
    out = _run("benchmarks/mixer_scaling.py", "--quick", "--mixers", "SPECTRE", "softmax")
    assert re.search(r"\| 512 \| [\d.]+ \| -?\d+ \| [\d.]+ \| -?\d+ \|", out), out


def test_surrogates_quick(tmp_path):
    results = tmp_path / "r.jsonl"
    args = ("benchmarks/surrogates.py", "--quick", "--cases", "burgers", "--mixers", "fno", "neuralop",
            "--results", str(results), "--plot", str(tmp_path / "r.png"))
    out = _run(*args)
    # case, mixer, budget, params, epochs, seeds, mean, spread, ratio to the peer ("-" without neuraloperator)
    row = r"\| burgers \| fno \| 5 \| \d+ \| [\d.]+ \| 1 \| [\d.]+e[+-]\d\d \| [\d.e+-]+ - [\d.e+-]+ \| ([\d.]+|-) \|"
    assert re.search(row, out), out
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
    again = _run(*args)  # every run is in the results file: nothing is trained twice
    assert re.search(row, again) and "seed 0 nrmse" not in again


def test_cg_residual_quick():
    out = _run("benchmarks/cg_residual.py", "--quick", "--tokens", "64", "128")
    assert re.search(r"\| 128 \| [\d.]+e-\d\d \([\d.]+\) \| [\d.]+e-\d\d \([\d.]+\) \| [\d.]+e-\d\d \([\d.]+\) \|", out), out


def test_pinn_suite_quick():
    out = _run("benchmarks/pinn_suite.py", "--quick", "--models", "default", "MLP", "deepxde", "default+causal",
               "default:resample_every=0,lr=0.01")
    assert "| problem | default | MLP | deepxde | default+causal | default:resample_every=0,lr=0.01 |" in out, out
    assert re.search(r"\| poisson1d_multiscale \| \d\.\d\de[+-]\d\d \[5\] \| \d\.\d\de[+-]\d\d \[5\] \|", out), out
    # a technique row: causal weighting applies to the evolution problem only
    assert re.search(r"\| poisson1d_multiscale \|.*\| not applicable \|", out), out
    assert re.search(r"\| burgers_inverse \|.*\| \d\.\d\de[+-]\d\d \[5\] \| [\d.e+-]* \|$", out, re.M), out
    assert re.search(r"recovered by default: nu=[\d.e+-]+ \(rel\. error", out), out
    last = out.strip().splitlines()[-1]
    assert re.fullmatch(r"default_over_deepxde_worst=(\d+(\.\d+)?(e[+-]\d+)?|n/a .*)", last), last


def test_pinn_suite_names_a_bad_entry():
    res = subprocess.run([sys.executable, "benchmarks/pinn_suite.py", "--quick", "--models", "default:lr"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "entry 'default:lr': expected default:KEY=VALUE" in res.stderr, res.stderr


def test_throughput_quick():
    out = _run("benchmarks/throughput.py", "--quick", "--entries", "pinnfreq MLP", "torch MLP", "pinnfreq RFF-MLP",
               "pinnfreq CA")
    assert re.search(r"\| cpu \| 512 \| pinnfreq CA \| [\d.]+ \| [\d.]+ \| [\d.]+ \| \d+ \| \d+ \|", out), out
    assert out.strip().splitlines()[-2] == "pinnfreq_over_deepxde=n/a (not measured)"
    assert re.fullmatch(r"ca_over_rff_mlp=\d+\.\d\d", out.strip().splitlines()[-1])
