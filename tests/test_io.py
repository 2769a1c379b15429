"""Files read back equal: solution HDF5, VTU, XDMF time series, PNG, references; writes are atomic."""

import json
import math

import meshio
import numpy as np
import pytest
import torch

import pinnfreq as pf
from pinnfreq.io.hdf5 import write_h5

LINE = pf.Interval(-1, 1)


@pytest.fixture(scope="module")
def steady():
    disk = pf.Disk([0, 0], 1)
    prob = pf.Problem(disk, "u", lambda u, k: pf.laplacian(u) - k, [pf.Dirichlet(0.0, on=disk.boundary)],
                      parameters={"k": 0.5}, name="disk")
    return pf.solve(prob, pf.MLP(2, 1, 8, 2), steps=5, points=32, boundary_points=16, progress=False)


def heat_problem():
    return pf.Problem(LINE * pf.Time(0, 1), "u", lambda u: u.t - 0.1 * u.xx,
                      [pf.Initial(lambda x: torch.sin(math.pi * x)), pf.Dirichlet(0.0, on=LINE.boundary)],
                      name="heat")


@pytest.fixture(scope="module")
def unsteady():
    prob = heat_problem()
    x, t = np.linspace(-1, 1, 17), np.linspace(0, 1, 5)
    ref = pf.Reference({"u": np.sin(np.pi * x)[:, None] * np.exp(-0.1 * np.pi**2 * t)[None]}, axes={"x": x, "t": t})
    return pf.solve(prob, pf.MLP(2, 1, 8, 2), steps=5, points=32, progress=False, reference=ref, dtype="float64")


def test_solution_round_trip(steady, tmp_path):
    steady.save(tmp_path / "s.h5")
    back = pf.Solution.load(tmp_path / "s.h5")
    pts = np.random.default_rng(0).uniform(-0.7, 0.7, (50, 2))
    assert np.array_equal(back.evaluate(pts), steady.evaluate(pts))
    assert back.parameters == steady.parameters and back.coordinates == ("x", "y") and back.time is None
    assert back.history["loss"] == steady.history["loss"] and back.history["term/pde0"] == steady.history["term/pde0"]
    assert back.history["phase"] == steady.history["phase"] == ["adam"] * 5 and back.history["events"] == steady.history["events"]
    assert back.config == json.loads(json.dumps(steady.config, default=str))
    axes, values, mask = back.grid()
    assert mask.shape == (128, 128) and not mask.all() and np.isnan(values["u"][~mask]).all()
    import h5py
    with h5py.File(tmp_path / "s.h5") as f:
        assert f.attrs["pinnfreq_version"] == pf.__version__ and f.attrs["format"] == "pinnfreq.solution"
        assert json.loads(f.attrs["model"])["class"] == "MLP"


def test_time_dependent_round_trip_keeps_reference_and_error(unsteady, tmp_path):
    unsteady.save(tmp_path / "h.h5")
    import h5py
    with h5py.File(tmp_path / "h.h5") as f:
        assert f["grid/fields/u"].shape == (17, 5)
        assert np.allclose(f["error/u"][()], f["grid/fields/u"][()] - f["reference/u"][()])
        assert json.loads(f.attrs["errors"])["u"]["rel_l2"] == pytest.approx(unsteady.error()["u"]["rel_l2"])
    # the initial values are imposed exactly (hard constraints) through the problem's function: evaluating
    # the file's solution needs the problem, and says so without it
    with pytest.raises(ValueError, match=r"Solution.load\(path, problem="):
        pf.Solution.load(tmp_path / "h.h5").error()
    back = pf.Solution.load(tmp_path / "h.h5", problem=heat_problem())
    assert back.time == "t" and back.error()["u"] == pytest.approx(unsteady.error()["u"])


def test_vtu_export_reads_back(steady, tmp_path):
    steady.export(tmp_path / "s.vtu")
    mesh = meshio.read(tmp_path / "s.vtu")
    axes, values, mask = steady.grid()
    assert np.array_equal(mesh.point_data["u"], values["u"].ravel(), equal_nan=True)
    assert mesh.cells[0].type == "quad" and 0 < len(mesh.cells[0].data) < 127 * 127  # cells outside the disk dropped
    xs, ys = np.meshgrid(axes["x"], axes["y"], indexing="ij")
    assert np.allclose(mesh.points[:, 0], xs.ravel()) and np.allclose(mesh.points[:, 1], ys.ravel())
    with pytest.raises(ValueError, match="steady solution exports to .vtu"):
        steady.export(tmp_path / "s.xdmf")


def test_xdmf_time_series_reads_back(unsteady, tmp_path):
    path = unsteady.export(tmp_path / "h.xdmf")
    axes, values, _ = unsteady.grid()
    with meshio.xdmf.TimeSeriesReader(path) as reader:
        points, cells = reader.read_points_cells()
        assert np.allclose(points[:, 0], axes["x"]) and cells[0].type == "line"
        assert reader.num_steps == len(axes["t"])
        for k in range(reader.num_steps):
            t, point_data, _ = reader.read_data(k)
            assert t == pytest.approx(axes["t"][k])
            assert np.allclose(point_data["u"], values["u"][:, k])
            assert "u_error" in point_data
    assert (tmp_path / "h.xdmf.h5").exists()


def test_plot_writes_a_png(unsteady, steady, tmp_path):
    for sol, name in ((unsteady, "h.png"), (steady, "s.png")):
        out = sol.plot(tmp_path / name)
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000


def test_call_broadcasts_coordinates(unsteady):
    x = np.linspace(-1, 1, 4)
    u = unsteady(x=x[:, None], t=np.array([[0.0, 0.5]]))
    assert u.shape == (4, 2)
    assert np.allclose(u[:, 1], unsteady.evaluate(np.stack([x, 0.5 + 0 * x], 1))[:, 0])
    with pytest.raises(ValueError, match=r"missing \['t'\]"):
        unsteady(x=x)


def test_reference_round_trip(tmp_path):
    ref = pf.Reference({"u": np.arange(6.0).reshape(2, 3)}, axes={"x": [0, 1], "t": [0, 1, 2]},
                       attrs={"generator": "test", "nu": 0.1})
    ref.save(tmp_path / "r.h5")
    back = pf.Reference.load(tmp_path / "r.h5")
    assert back.coordinates == ("x", "t") and np.array_equal(back.fields["u"], ref.fields["u"])
    assert back.attrs["generator"] == "test" and back.attrs["nu"] == 0.1
    assert np.array_equal(back.points(("t", "x"))[:, 1], [0, 0, 0, 1, 1, 1])
    with pytest.raises(ValueError, match="has shape"):
        pf.Reference({"u": np.zeros(3)}, axes={"x": [0, 1]})


def test_failed_write_keeps_the_old_file_and_leaves_no_debris(tmp_path):
    path = tmp_path / "f.h5"
    write_h5(path, {"a": np.arange(3)}, {"format": "x"})
    before = path.read_bytes()
    with pytest.raises(TypeError):
        write_h5(path, {"a": np.arange(4), "b": object()})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["f.h5"]


def test_grid_evaluation_streams_in_chunks_within_a_memory_bound(tmp_path):
    """evaluate_grid never builds the whole grid: with a small chunk, the memory it allocates besides
    its output stays a small fraction of the grid's points, and the values equal a plain evaluation;
    an h5py dataset can be the output (how a 10^7-point grid is written)."""
    import tracemalloc

    import h5py
    import numpy as np
    import torch

    from pinnfreq import Solution
    from pinnfreq.model import PINNModel
    from pinnfreq.nn import MLP

    torch.manual_seed(0)
    sol = Solution(PINNModel(MLP(3, 2, 8, 2), [0, 0, 0], [1, 2, 3]), ("x", "y", "t"), ("u", "v"), "t", {}, {})
    axes = {"x": np.linspace(0, 1, 40), "y": np.linspace(0, 2, 50), "t": np.linspace(0, 3, 60)}  # 120,000 points
    mesh = np.meshgrid(*axes.values(), indexing="ij")
    expected = sol.evaluate(np.stack([m.ravel() for m in mesh], axis=1))
    out = np.empty_like(expected)
    tracemalloc.start()
    sol.evaluate_grid(axes, chunk=1000, out=out)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert np.array_equal(out, expected)
    points_bytes = expected.shape[0] * 3 * 8  # what a full (m, 3) point array alone would take: 2.9 MB
    assert peak < points_bytes / 10, peak
    with h5py.File(tmp_path / "grid.h5", "w") as f:
        ds = f.create_dataset("values", shape=expected.shape, dtype="f8")
        sol.evaluate_grid(axes, chunk=7000, out=ds)
    with h5py.File(tmp_path / "grid.h5") as f:
        assert np.array_equal(f["values"][...], expected)
    with pytest.raises(ValueError, match="missing \\['t'\\]"):
        sol.evaluate_grid({"x": axes["x"], "y": axes["y"]})


def test_the_files_grid_and_the_error_are_evaluated_once_per_state_of_the_weights():
    """Writing a run's files reads the default grid 3 times and the error twice: one evaluation each,
    redone when a weight changes; callers get copies."""
    prob = heat_problem()
    x, t = np.linspace(-1, 1, 9), np.linspace(0, 1, 3)
    ref = pf.Reference({"u": np.sin(np.pi * x)[:, None] * np.exp(-0.1 * np.pi**2 * t)[None]}, axes={"x": x, "t": t})
    sol = pf.solve(prob, pf.MLP(2, 1, 8, 2), steps=2, points=16, progress=False, reference=ref, dtype="float64")
    calls = []
    sol.model.register_forward_hook(lambda *_: calls.append(1))
    first = sol.grid()
    first[1]["u"][:] = 7.0  # the caller's copy
    again = sol.grid()
    errors = [sol.error(), sol.error()]
    assert len(calls) == 2 and errors[0] == errors[1] and not np.any(again[1]["u"] == 7.0)
    with torch.no_grad():
        next(sol.model.parameters()).add_(0.1)
    moved = sol.grid()
    assert len(calls) == 3 and not np.allclose(moved[1]["u"], again[1]["u"])
    now = sol.error()
    assert now != errors[0] and len(calls) == 4
    other = pf.Reference({"u": ref.fields["u"]}, axes={"x": x, "t": t})
    assert sol.error(other) == now and len(calls) == 5  # another reference: evaluated anew
