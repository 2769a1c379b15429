"""Trajectory generators, the dataset file, PDEBench files, windows and the split."""

import h5py
import numpy as np
import pytest
import torch

from pinnfreq.cli import main
from pinnfreq.surrogate.data import Normaliser, Trajectories, TrajectoryDataset, split
from pinnfreq.numerics.random_fields import gaussian_random_field, sine_superposition
from pinnfreq.numerics.trajectories import GENERATORS


@pytest.fixture(scope="module")
def burgers():
    return GENERATORS["burgers"](6, seed=1, resolution=256, solve_resolution=256, n_times=11, t_end=0.5, dt=1e-3)


def test_burgers_conserves_mass_and_decays(burgers):
    u = burgers["u"][..., 0]
    mass = u.mean(-1)
    assert np.allclose(mass, mass[:, :1], atol=1e-5)  # (u^2/2)_x and u_xx integrate to 0 on a period
    energy = (u**2).mean(-1)
    assert np.all(np.diff(energy, axis=1) <= 1e-7)  # viscosity only removes energy
    assert burgers["u"].dtype == np.float32 and burgers["axes"]["x"].shape == (256,)
    assert 0 < burgers["attrs"]["self_convergence"] < 1e-3  # against twice the resolution, half the step


def test_ks_and_navier_stokes_generators_run_and_conserve_their_means():
    ks = GENERATORS["ks"](2, resolution=64, length=32.0, t_end=5.0, n_times=6, burn_in=1.0, dt=0.05)
    assert ks["u"].shape == (2, 6, 64, 1) and np.allclose(ks["u"].mean(2), ks["u"][:, :1].mean(2), atol=1e-5)
    ns = GENERATORS["navier-stokes"](2, resolution=16, solve_resolution=32, t_end=2.0, n_times=3)
    assert ns["u"].shape == (2, 3, 16, 16, 1) and np.abs(ns["u"].mean((2, 3))).max() < 1e-5  # zero-mean vorticity


def test_pdebench_initial_conditions_follow_its_recipe():
    rng, x = np.random.default_rng(0), np.arange(256) / 256
    u = sine_superposition(rng, 4000, x, 1.0, p_abs=0.0, p_window=0.0)
    spec = np.abs(np.fft.rfft(u, axis=1)) / 256
    assert spec[:, 9:].max() < 1e-10  # waves of k c_k cycles, k <= 4, c_k <= 2
    n_waves = (spec[:, 1:9] > 1e-9).sum(1)
    assert set(np.unique(n_waves)) <= {1, 2} and abs((n_waves == 1).mean() - 0.25) < 0.03  # equal draws: 1 wave
    assert np.abs(spec[:, 0]).max() > 0.5  # the unchosen wavenumbers' constants A_k sin(phi_k)
    assert abs(u.mean()) < 0.05  # ... symmetric, and the sign flip too
    one_signed = sine_superposition(rng, 200, x, 1.0, p_abs=1.0, p_window=0.0)
    assert np.all((one_signed >= 0).all(1) | (one_signed <= 0).all(1))
    mixed = sine_superposition(rng, 4000, x, 1.0)
    windowed = np.abs(mixed[:, x < 0.05]).max(1) < 1e-3  # the window is ~0 below x_L - 0.05 >= 0.05
    assert abs(windowed.mean() - 0.1) < 0.02


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
    assert back.attrs["nu"] == 0.01 and back.grid == (256,) and back.channels == 1
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
    part = Trajectories.from_pdebench(tmp_path / "1D_Burgers.hdf5", n=2, stride_t=2, stride_x=4)
    assert np.array_equal(part.u[..., 0], u[:2, ::2, ::4]) and np.allclose(part.axes["t"], [0, 2 / 3, 4 / 3])
    assert part.attrs["frame_dt"] == pytest.approx(2 / 3) and np.array_equal(part.u, one.subsample(2, 2, 4).u)
    with pytest.raises(ValueError, match="strides >= 1"):
        one.subsample(stride_x=0)
    with h5py.File(tmp_path / "2D_diff-react.h5", "w") as f:
        for i in range(2):
            f[f"{i:04d}/data"] = np.full((4, 8, 8, 2), i, np.float32)
            for k, n in (("t", 4), ("x", 8), ("y", 8)):
                f[f"{i:04d}/grid/{k}"] = np.linspace(0, 1, n)
    two = Trajectories.from_pdebench(tmp_path / "2D_diff-react.h5")
    assert two.u.shape == (2, 4, 8, 8, 2) and two.u[1].min() == 1 and two.grid == (8, 8)
    assert Trajectories.from_pdebench(tmp_path / "2D_diff-react.h5", n=1, stride_x=2).u.shape == (1, 4, 4, 4, 2)
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
    assert torch.allclose(norm.decode(torch.cat([x, y])), raw, atol=1e-6) and x.shape == (3, 256, 1)
    with pytest.raises(ValueError, match="do not fit"):
        TrajectoryDataset(traj, train, history=10, horizon=2)


def test_cli_generates_a_dataset(tmp_path, capsys):
    out = tmp_path / "ks.h5"
    code = main(["data", "generate", "ks", "--n", "2", "--out", str(out), "--no-progress", "--set", "resolution=32",
                 "--set", "t_end=2", "--set", "n_times=3", "--set", "burn_in=0.5"])
    assert code == 0 and Trajectories.load(out).u.shape == (2, 3, 32, 1)
    assert main(["data", "generate", "ks", "--n", "2", "--out", str(out), "--set", "colour=blue"]) == 2
    assert "colour" in capsys.readouterr().err
