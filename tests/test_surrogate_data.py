"""Trajectory generators, the dataset file, PDEBench files, windows and the split."""

import h5py
import numpy as np
import pytest
import torch

from pinnfreq.cli import main
from pinnfreq.surrogate.data import Normaliser, Trajectories, TrajectoryDataset, split
from solvers.random_fields import gaussian_random_field
from solvers.trajectories import GENERATORS


@pytest.fixture(scope="module")
def burgers():
    return GENERATORS["burgers"](6, seed=1, resolution=64, solve_resolution=256, n_times=11, t_end=0.5, dt=1e-3)


def test_burgers_conserves_mass_and_decays(burgers):
    u = burgers["u"][..., 0]
    mass = u.mean(-1)
    assert np.allclose(mass, mass[:, :1], atol=1e-5)  # (u^2/2)_x and u_xx integrate to 0 on a period
    energy = (u**2).mean(-1)
    assert np.all(np.diff(energy, axis=1) <= 1e-7)  # viscosity only removes energy
    assert burgers["u"].dtype == np.float32 and burgers["axes"]["x"].shape == (64,)
    assert 0 < burgers["attrs"]["self_convergence"] < 1e-3  # against twice the resolution, half the step


def test_ks_and_navier_stokes_generators_run_and_conserve_their_means():
    ks = GENERATORS["ks"](2, resolution=64, length=32.0, t_end=5.0, n_times=6, burn_in=1.0, dt=0.05)
    assert ks["u"].shape == (2, 6, 64, 1) and np.allclose(ks["u"].mean(2), ks["u"][:, :1].mean(2), atol=1e-5)
    ns = GENERATORS["navier-stokes"](2, resolution=16, solve_resolution=32, t_end=2.0, n_times=3)
    assert ns["u"].shape == (2, 3, 16, 16, 1) and np.abs(ns["u"].mean((2, 3))).max() < 1e-5  # zero-mean vorticity


def test_gaussian_random_field_has_the_prescribed_spectrum():
    rng = np.random.default_rng(0)
    u = gaussian_random_field(rng, 4000, (32,), alpha=2.0, tau=3.0, sigma=1.0)
    power = (np.abs(np.fft.fft(u, axis=1)) ** 2).mean(0)
    k = np.fft.fftfreq(32, 1 / 32)
    expected = 2 * 32**2 * ((2 * np.pi * k) ** 2 + 9.0) ** -2.0  # E|u^_k|^2 of the construction
    expected[0] = 0
    assert np.allclose(power[1:8], expected[1:8], rtol=0.1) and power[0] < 1e-20


def test_trajectory_files_round_trip_and_bad_ones_are_named(burgers, tmp_path):
    traj = Trajectories(burgers["u"], burgers["axes"], burgers["attrs"])
    traj.save(tmp_path / "b.h5")
    back = Trajectories.load(tmp_path / "b.h5")
    assert np.array_equal(back.u, traj.u) and np.array_equal(back.axes["t"], traj.axes["t"])
    assert back.attrs["nu"] == 0.01 and back.grid == (64,) and back.channels == 1
    with pytest.raises(ValueError, match="rank 3"):
        Trajectories(np.zeros((2, 3, 4), np.float32), {"t": np.arange(3), "x": np.arange(4)})
    with pytest.raises(ValueError, match="axis 'x' must have 4 values"):
        Trajectories(np.zeros((2, 3, 4, 1), np.float32), {"t": np.arange(3), "x": np.arange(5)})
    (tmp_path / "junk.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        Trajectories.load(tmp_path / "junk.h5")


def test_pdebench_layouts_are_read(tmp_path):
    u = np.random.default_rng(0).standard_normal((3, 6, 16)).astype(np.float32)
    with h5py.File(tmp_path / "1D_Burgers.hdf5", "w") as f:
        f["tensor"] = u
        f["x-coordinate"] = np.linspace(0, 1, 16)
        f["t-coordinate"] = np.linspace(0, 2, 7)  # PDEBench keeps T + 1 time values
    one = Trajectories.from_pdebench(tmp_path / "1D_Burgers.hdf5")
    assert one.u.shape == (3, 6, 16, 1) and np.array_equal(one.u[..., 0], u) and len(one.axes["t"]) == 6
    with h5py.File(tmp_path / "2D_diff-react.h5", "w") as f:
        for i in range(2):
            f[f"{i:04d}/data"] = np.full((4, 8, 8, 2), i, np.float32)
            for k, n in (("t", 4), ("x", 8), ("y", 8)):
                f[f"{i:04d}/grid/{k}"] = np.linspace(0, 1, n)
    two = Trajectories.from_pdebench(tmp_path / "2D_diff-react.h5")
    assert two.u.shape == (2, 4, 8, 8, 2) and two.u[1].min() == 1 and two.grid == (8, 8)
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["something"] = np.zeros(3)
    with pytest.raises(ValueError, match="not a PDEBench file"):
        Trajectories.from_pdebench(tmp_path / "other.h5")


def test_windows_split_and_normalisation(burgers):
    traj = Trajectories(burgers["u"], burgers["axes"])
    train, test = split(traj, 0.34, seed=0)
    assert len(test) == 2 and not set(train) & set(test) and sorted([*train, *test]) == list(range(6))
    norm = Normaliser.fit(traj.u[train])
    ds = TrajectoryDataset(traj, train, history=3, horizon=2, normaliser=norm)
    assert len(ds) == 4 * (11 - 5 + 1)
    x, y = ds[8]  # trajectory 1 of the training set, start 1
    n, s = train[1], 1
    raw = torch.as_tensor(traj.u[n, s: s + 5])
    assert torch.allclose(norm.decode(torch.cat([x, y])), raw, atol=1e-6) and x.shape == (3, 64, 1)
    with pytest.raises(ValueError, match="do not fit"):
        TrajectoryDataset(traj, train, history=10, horizon=2)


def test_cli_generates_a_dataset(tmp_path, capsys):
    out = tmp_path / "ks.h5"
    code = main(["data", "generate", "ks", "--n", "2", "--out", str(out), "--no-progress", "--set", "resolution=32",
                 "--set", "t_end=2", "--set", "n_times=3", "--set", "burn_in=0.5"])
    assert code == 0 and Trajectories.load(out).u.shape == (2, 3, 32, 1)
    assert main(["data", "generate", "ks", "--n", "2", "--out", str(out), "--set", "colour=blue"]) == 2
    assert "colour" in capsys.readouterr().err
