"""The bundled problem library: every exact solution satisfies its problem, every reference records
its error, every script runs end to end; the classical solvers behind the references."""

import functools
import importlib.metadata
import re
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

import pinnfreq as pf
from pinnfreq.cli import load_problem_file, run_script
from pinnfreq.numerics.spectral import allen_cahn, kdv, solve_semilinear, wavenumbers

from helpers import exact_residuals, max_abs

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = sorted(p.stem for p in (ROOT / "problems").glob("*.py"))
ANALYTIC = ["poisson1d_multiscale", "poisson2d", "helmholtz2d", "heat1d_multiscale", "wave1d", "advection",
            "kovasznay", "poisson_lshape"]


def _module(name):
    return load_problem_file(ROOT / "problems" / f"{name}.py")


def test_the_issue_s_problems_are_all_there():
    assert set(PROBLEMS) >= {"poisson1d_multiscale", "poisson2d", "helmholtz2d", "heat1d_multiscale", "wave1d",
                             "advection", "allen_cahn", "kdv", "burgers1d", "kovasznay", "cavity", "poisson_lshape",
                             "burgers_inverse"}


@pytest.mark.parametrize("name", ANALYTIC)
def test_exact_solution_satisfies_every_term(name):
    module = _module(name)
    problem = module.problem()

    def fields(p):
        coords = {c: p[:, i] for i, c in enumerate(problem.coordinates)}
        out = pf.calling.call(module.exact, coords)
        return torch.stack(list(out) if isinstance(out, tuple) else [out], dim=1)

    for term in problem.terms:
        assert max_abs(exact_residuals(problem, term, fields, n=256)) < 1e-7, term


@pytest.mark.parametrize("name", ANALYTIC)
def test_analytic_reference_is_the_exact_solution(name):
    module = _module(name)
    ref = module.reference()
    problem = module.problem()
    pts = ref.points(problem.coordinates)
    out = module.exact(*(torch.as_tensor(pts[:, i]) for i in range(pts.shape[1])))
    out = out if isinstance(out, tuple) else (out,)
    for f, v in zip(problem.fields, out):
        assert np.allclose(ref.values(f), v.numpy(), atol=1e-12)
    assert ref.attrs["self_convergence_error"] == 0.0


def test_lshape_reference_lies_inside_the_domain():
    module = _module("poisson_lshape")
    ref = module.reference()
    pts = ref.points(("x", "y"))
    assert not ref.is_grid and module.domain().contains(pts).all()
    assert not np.any((pts[:, 0] > 1e-9) & (pts[:, 1] > 1e-9))  # the removed quadrant
    # the grid less the removed quadrant's 101 x 101 points (its boundary counts as outside, csg.Difference)
    assert len(pts) == 201**2 - 101**2


def test_every_data_reference_records_its_error_and_data_stays_small():
    files = sorted((ROOT / "data").glob("*.h5"))
    assert sum(f.stat().st_size for f in files) < 20 * 2**20
    refs = [f for f in files if _format(f) == "pinnfreq.reference"]
    assert {f.stem for f in refs} >= {"burgers1d", "allen_cahn", "kdv", "cavity_re100"}
    for f in refs:
        ref = pf.Reference.load(f)
        assert 0 <= float(ref.attrs["self_convergence_error"]) < 1e-2, f.name
        assert ref.attrs["generator"]


@pytest.mark.parametrize("name, initial", [("allen_cahn", lambda x: x**2 * np.cos(np.pi * x)),
                                           ("kdv", lambda x: np.cos(np.pi * x))])
def test_periodic_references_start_from_their_initial_condition(name, initial):
    ref = _module(name).reference()
    assert np.allclose(ref.fields["u"][:, 0], initial(ref.axes["x"]), atol=1e-12)


def test_etdrk4_with_a_complex_operator_is_exact_on_linear_problems():
    # u_t + c u_x = 0 (L = -i c k) and u_t + d u_xxx = 0 (L = i d k^3): exact travelling waves
    n, length, times = 64, 2.0, np.array([0.0, 0.3, 1.0])
    x = -1 + 2 * np.arange(n) / n
    k = wavenumbers(n, length)
    zero = lambda u, _: np.zeros(len(k), dtype=complex)  # noqa: E731
    u = solve_semilinear(np.sin(3 * np.pi * x), length, -1j * 0.7 * k, 0.01, times, zero)
    assert np.abs(u - np.sin(3 * np.pi * (x[None] - 0.7 * times[:, None]))).max() < 1e-12
    u = solve_semilinear(np.cos(2 * np.pi * x), length, 1j * 0.05 * k**3, 0.01, times, zero)
    speed = -0.05 * (2 * np.pi) ** 2  # u_t = -d u_xxx for cos(a x) moves at -d a^2
    assert np.abs(u - np.cos(2 * np.pi * (x[None] - speed * times[:, None]))).max() < 1e-12


def test_kdv_conserves_mass_and_energy_and_allen_cahn_keeps_its_bounds():
    n, times = 256, np.linspace(0, 1, 5)
    x = -1 + 2 * np.arange(n) / n
    u = kdv(np.cos(np.pi * x), 2.0, 0.022, 1e-4, times)
    assert np.abs(u.mean(1) - u[0].mean()).max() < 1e-10
    assert np.abs((u**2).mean(1) - (u[0] ** 2).mean()).max() < 1e-5  # KdV's second invariant
    n = 1024  # resolves the interfaces (width ~ sqrt(1e-4 / 5)); 256 points overshoot by 8e-4 (Gibbs)
    x = -1 + 2 * np.arange(n) / n
    v = allen_cahn(x**2 * np.cos(np.pi * x), 2.0, 1e-4, 5.0, 1e-3, times)
    assert np.abs(v).max() <= 1 + 1e-9  # a maximum principle: |u0| <= 1 stays within [-1, 1]


def test_cavity_solver_agrees_with_ghia_and_is_divergence_free():
    sys.path.insert(0, str(ROOT))
    from solvers.cavity import ghia_difference, solve

    state = solve(32, tol=1e-7)
    u, v, h = state["u"], state["v"], state["h"]
    div = (u[1:, :] - u[:-1, :] + v[:, 1:] - v[:, :-1]) / h
    assert np.abs(div).max() < 1e-8
    assert ghia_difference(state) < 1e-2


def test_reference_from_function():
    ref = pf.Reference.from_function(lambda x, y: (x + y, x * y), {"x": [0.0, 1.0], "y": [0.0, 2.0, 3.0]},
                                     fields=("a", "b"))
    assert ref.fields["a"].shape == (2, 3) and ref.fields["b"][1, 2] == 3.0
    with pytest.raises(ValueError, match="gave 2 outputs for fields \\('u',\\)"):
        pf.Reference.from_function(lambda x: (x, x), {"x": [0.0]})


def test_only_pinnfreq_is_installed_at_the_top_level():
    top = importlib.metadata.distribution("pinnfreq").read_text("top_level.txt")
    assert top is None or top.split() == ["pinnfreq"]
    from pinnfreq.numerics.trajectories import GENERATORS  # what `pinnfreq data generate` needs

    assert set(GENERATORS) == {"burgers", "ks", "navier-stokes"}


@pytest.mark.parametrize("name", PROBLEMS)
def test_problem_script_runs_end_to_end(name, tmp_path, capsys):
    code = run_script(str(ROOT / "problems" / f"{name}.py"),
                      ["--steps", "2", "--lbfgs-steps", "1", "--no-progress", "--out", str(tmp_path), "--seed", "1"])
    out = capsys.readouterr().out
    assert code == 0
    assert re.search(r"rel_l2=\d\.\d+e[+-]\d+\s*$", out), out
    sol = pf.Solution.load(tmp_path / f"{name}.h5")
    assert len(sol.history["step"]) == 3
    exported = tmp_path / f"{name}.{'xdmf' if sol.time else 'vtu'}"
    assert exported.exists() and (tmp_path / f"{name}.png").exists()
    if hasattr(_module(name), "TRUE_PARAMETERS"):
        assert re.search(r"nu=[\d.e+-]+ \(true 0\.00318\d*, rel\. error [\d.e+-]+\)", out), out


def _format(path: Path) -> str:
    with h5py.File(path, "r") as f:
        return f.attrs.get("format", "")


def test_a_problem_file_s_residuals_compile(tmp_path, monkeypatch):
    """A problem file loaded by path is importable under its name, as TorchDynamo needs to guard on the
    globals its residual functions read (before, every compiled run of a bundled problem fell back to
    eager: "No module named 'pinnfreq_problem_tiny'"); a residual that reads no global traces either way.
    The aot_eager backend runs Dynamo's tracing, where it failed, without Inductor's C++ build (30 s
    cold; tests/test_solve.py compiles with Inductor)."""
    path = tmp_path / "tiny.py"
    path.write_text("import math\n\nimport torch\n\nimport pinnfreq as pf\n\nK = math.pi\n\n\n"
                    "def poisson(u, x):\n    return u.xx + K**2 * torch.sin(K * x)\n\n\ndef problem():\n"
                    "    line = pf.Interval(0, 1)\n"
                    "    return pf.Problem(line, 'u', poisson, [pf.Dirichlet(0.0, on=line.boundary)])\n")
    module = load_problem_file(path)
    assert sys.modules[module.__name__] is module
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="aot_eager"))
    sol = pf.solve(module.problem(), pf.MLP(1, 1, 8, 1), steps=4, points=16, boundary_points=4, compile=True,
                   hard_constraints=False, progress=False)
    assert not [e for e in sol.history["events"] if "compile" in e], sol.history["events"]
