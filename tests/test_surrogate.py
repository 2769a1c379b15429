"""The surrogate model, its training, metrics, files and CLI."""

import json

import numpy as np
import pytest
import torch

from pinnfreq.cli import main
from pinnfreq.surrogate import metrics
from pinnfreq.surrogate.data import Trajectories
from pinnfreq.surrogate.export import load_rollout
from pinnfreq.surrogate.model import Surrogate
from pinnfreq.surrogate.train import TrainedSurrogate, train_surrogate


def advection(n=8, t=12, x=32, seed=0):
    """u(x, t) = f(x - t dx): every frame is the previous one shifted by one cell, a map a surrogate can learn."""
    rng = np.random.default_rng(seed)
    k = np.arange(1, 4)
    coef = rng.standard_normal((n, 3, 2))
    grid = np.arange(x) / x
    frames = []
    for j in range(t):
        s = 2 * np.pi * k[None, :, None] * (grid[None, None, :] - j / x)
        frames.append((coef[..., 0:1] * np.sin(s) + coef[..., 1:2] * np.cos(s)).sum(1))
    u = np.stack(frames, 1)[..., None].astype(np.float32)
    return Trajectories(u, {"t": np.arange(t, dtype=float), "x": grid}, {"frame_dt": 1.0})


@pytest.mark.parametrize("mixer", ["spectre", "magnitude", "softmax", "fno"])
@pytest.mark.parametrize("n_dims", [1, 2])
def test_model_shapes_and_rollout_length(mixer, n_dims):
    torch.manual_seed(0)
    grid = (16,) if n_dims == 1 else (8, 6)
    model = Surrogate(3, 2, n_dims, mixer, hidden_channels=16, n_layers=2, out_frames=2,
                      mixer_options={"n_modes": 3} if mixer == "fno" else {"n_heads": 2})
    frames = torch.randn(4, 3, *grid, 2)
    assert model(frames).shape == (4, 2, *grid, 2)
    assert model.rollout(frames, 5).shape == (4, 5, *grid, 2)
    with pytest.raises(ValueError, match="Surrogate takes"):
        model(torch.randn(4, 2, *grid, 2))


@pytest.mark.parametrize("n_dims", [1, 2])
def test_patch_tokens_keep_points_in_place(n_dims):
    """With an identity lift/projection pair, patching then unpatching returns every point to its place."""
    model = Surrogate(1, 1, n_dims, "softmax", hidden_channels=8, n_layers=1, patch=2, mixer_options={"n_heads": 1})
    grid = (8,) if n_dims == 1 else (4, 6)
    x = torch.randn(2, *grid, 3)
    tokens = model._patches(x, tuple(g // 2 for g in grid))
    assert tokens.shape == (2, int(np.prod(grid)) // 2**n_dims, 2**n_dims * 3)
    assert torch.equal(model._unpatch(tokens, tuple(g // 2 for g in grid)), x)
    assert model(torch.randn(3, 1, *grid, 1)).shape == (3, 1, *grid, 1)
    with pytest.raises(ValueError, match="patch=2 does not divide"):
        model(torch.randn(1, 1, *(g + 1 for g in grid), 1))


def test_increment_mode_starts_from_the_last_frame():
    model = Surrogate(2, 1, 1, "softmax", hidden_channels=8, n_layers=1, mixer_options={"n_heads": 1})
    last = model.project[-1]  # the projection MLP's output layer
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)
    frames = torch.randn(3, 2, 10, 1)
    assert torch.equal(model(frames), frames[:, -1:])


def test_metrics_on_known_errors():
    rng = np.random.default_rng(0)
    true = rng.standard_normal((3, 5, 32, 1))
    assert np.allclose(metrics.relative_l2(1.1 * true, true), 0.1)
    assert np.allclose(metrics.nrmse(1.1 * true, true), 0.1)
    x = np.arange(32) / 32
    low, high = np.sin(2 * np.pi * 2 * x), np.sin(2 * np.pi * 20 * x)
    t = np.broadcast_to(low + high, (1, 4, 32))[..., None]
    bands = metrics.band_errors(t + 0.5 * np.broadcast_to(high, (1, 4, 32))[..., None], t)
    assert bands["low"] < 1e-12 and bands["mid"] < 1e-12
    assert abs(bands["high"] - 0.5 / np.sqrt(2)) < 1e-12  # the RMS of 0.5 sin(...)
    drift = np.stack([np.roll(true[0, 0], s, 0) for s in range(5)])[None]
    assert metrics.high_correlation_time(drift, np.broadcast_to(true[:1, :1], drift.shape), frame_dt=0.5) == 0.5


def test_training_learns_advection_and_files_round_trip(tmp_path):
    traj = advection()
    model = Surrogate(2, 1, 1, "fno", hidden_channels=16, n_layers=2, mixer_options={"n_modes": 6})
    untrained = TrainedSurrogate(model, *_fit_parts(traj))
    before = untrained.evaluate(traj)[0]["rel_l2"]
    trained = train_surrogate(traj, model, epochs=20, batch_size=8, lr=5e-3, progress=False, test_fraction=0.25,
                              loss="relative")  # (no decay here, so the relative loss is well posed)
    summary, pred, true = trained.evaluate(traj)
    assert summary["rel_l2"] < 0.2 < before and pred.shape == true.shape == (2, 10, 32, 1)
    assert np.mean(trained.history["loss"][-5:]) < trained.history["loss"][0] / 5
    trained.save(tmp_path / "s.pt")
    back = TrainedSurrogate.load(tmp_path / "s.pt")
    assert np.array_equal(back.test_indices, trained.test_indices)
    assert np.allclose(back.predict(traj.u[:2, :2], 4), trained.predict(traj.u[:2, :2], 4))
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable surrogate file"):
        TrainedSurrogate.load(tmp_path / "bad.pt")


def _fit_parts(traj):
    from pinnfreq.surrogate.data import Normaliser, split

    train, test = split(traj, 0.25, 0)
    return Normaliser.fit(traj.u[train]), train, test


def test_pushforward_training_runs_and_rejects_bad_settings():
    traj = advection(n=4, t=8)
    model = Surrogate(2, 1, 1, "spectre", hidden_channels=16, n_layers=1, mixer_options={"n_heads": 2, "n_groups": 2})
    trained = train_surrogate(traj, model, epochs=2, pushforward=2, progress=False)
    assert int(trained.history["epoch"][-1]) == 1 and np.isfinite(trained.history["loss"]).all()  # two epochs
    assert len(trained.history["loss"]) == trained.history["step"][-1] + 1
    with pytest.raises(ValueError, match="schedule"):
        train_surrogate(traj, model, schedule="linear")
    with pytest.raises(ValueError, match="2-D grids"):
        train_surrogate(traj, Surrogate(2, 1, 2, "softmax", hidden_channels=8, n_layers=1), epochs=1)


def test_cosine_schedule_decays_over_the_time_budget_when_it_ends_first():
    from pinnfreq.surrogate.train import SurrogateConfig, _learning_rate

    cfg = SurrogateConfig(epochs=1000, lr=1e-3, time_budget=10.0)
    assert _learning_rate(cfg, 0, 10_000, 10, 0.0) == pytest.approx(1e-3)
    assert _learning_rate(cfg, 5, 10_000, 10, 5.0) == pytest.approx(0.5e-3)  # half the time: half the rate
    assert _learning_rate(cfg, 9, 10_000, 10, 11.0) == pytest.approx(0.0)
    steps_first = SurrogateConfig(epochs=1, lr=1e-3, time_budget=1e6)
    assert _learning_rate(steps_first, 5, 10, 10, 1.0) == pytest.approx(0.5e-3)  # the steps end first


def test_cli_train_rollout_evaluate(tmp_path, capsys):
    traj = advection(n=6, t=10, x=16)
    traj.save(tmp_path / "adv.h5")
    out = tmp_path / "run"
    code = main(["surrogate", "train", "--data", str(tmp_path / "adv.h5"), "--mixer", "magnitude", "--history", "2",
                 "--epochs", "2", "--hidden", "16", "--layers", "1", "--heads", "2", "--out", str(out), "--no-progress"])
    assert code == 0
    for name in ("surrogate.pt", "rollout.h5", "rollout.xdmf", "rollout.xdmf.h5", "rollout.png", "metrics.json"):
        assert (out / name).exists(), name
    saved = load_rollout(out / "rollout.h5")
    assert saved["prediction"].shape == (1, 8, 16, 1)  # one test trajectory; conditioning frames excluded
    assert np.isclose(saved["metrics"]["rel_l2"], json.loads((out / "metrics.json").read_text())["rel_l2"])
    assert main(["surrogate", "evaluate", "--model", str(out / "surrogate.pt"), "--data", str(tmp_path / "adv.h5"),
                 "--trajectories", "0,1"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("rel_l2=")
    assert main(["surrogate", "rollout", "--model", str(out / "surrogate.pt"), "--data", str(tmp_path / "adv.h5"),
                 "--trajectories", "9", "--out", str(tmp_path / "r")]) == 2
    assert "the dataset has 6 trajectories" in capsys.readouterr().err


def test_cli_data_selection_is_kept_with_the_model(tmp_path, capsys):
    advection(n=8, t=13, x=16).save(tmp_path / "adv.h5")
    out = tmp_path / "run"
    assert main(["surrogate", "train", "--data", str(tmp_path / "adv.h5"), "--mixer", "fno", "--history", "2",
                 "--epochs", "1", "--hidden", "8", "--layers", "1", "--out", str(out), "--no-progress",
                 "--max-trajectories", "6", "--stride-t", "2"]) == 0
    assert load_rollout(out / "rollout.h5")["prediction"].shape == (1, 5, 16, 1)  # 7 frames kept, 2 conditioning
    capsys.readouterr()
    assert main(["surrogate", "rollout", "--model", str(out / "surrogate.pt"), "--data", str(tmp_path / "adv.h5"),
                 "--out", str(tmp_path / "r")]) == 0  # the model's selection: the same frames
    assert load_rollout(tmp_path / "r" / "rollout.h5")["prediction"].shape == (1, 5, 16, 1)
    assert main(["surrogate", "evaluate", "--model", str(out / "surrogate.pt"), "--data", str(tmp_path / "adv.h5"),
                 "--trajectories", "7"]) == 2  # beyond the first 6
    assert "the dataset has 6 trajectories" in capsys.readouterr().err


def _assert_rebuilt_from_config(model):
    """A model built from ``model.config`` takes its weights and computes the same (B, 1, 16, 1) frames."""
    from pinnfreq.nn.registry import build

    twin = build("Surrogate", model.config)
    twin.load_state_dict(model.state_dict())
    x = torch.randn(2, 3, 16, 1)
    assert torch.equal(twin(x), model(x)) and model(x).shape == (2, 1, 16, 1)


def test_norm_option_removes_every_layernorm_and_is_rebuilt_from_the_config():
    model = Surrogate(3, 1, 1, "fno", hidden_channels=8, n_layers=2, norm="none")
    assert not any(isinstance(m, torch.nn.LayerNorm) for m in model.modules())
    _assert_rebuilt_from_config(model)
    with pytest.raises(ValueError, match="norm must be one of"):
        Surrogate(3, 1, 1, "fno", norm="batch")


def test_cli_training_is_repeatable_with_a_seed(tmp_path):
    advection(n=6, t=8, x=16).save(tmp_path / "adv.h5")
    states = []
    for run in ("a", "b"):
        assert main(["surrogate", "train", "--data", str(tmp_path / "adv.h5"), "--mixer", "fno", "--history", "2",
                     "--epochs", "1", "--hidden", "8", "--layers", "1", "--seed", "3", "--no-progress",
                     "--out", str(tmp_path / run)]) == 0
        states.append(torch.load(tmp_path / run / "surrogate.pt", weights_only=True)["state"])
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])  # initial weights seeded too


def test_fno_block_follows_neuraloperators_formula():
    from torch.nn import functional as F

    from pinnfreq.surrogate.blocks import FNOBlock
    from pinnfreq.surrogate.mixers import FNOMixer, SpectreMixer

    torch.manual_seed(0)
    x = torch.randn(2, 16, 8)
    block = FNOBlock(FNOMixer(8, n_modes=4), 8, mlp_ratio=0.5)
    assert block.skip is None  # the FNO layer holds its own linear skip
    with torch.no_grad():
        block.gate.copy_(torch.linspace(0.5, 1.5, 8))
        h = F.gelu(block.mixer(x, (16,)))
        assert torch.allclose(block(x, (16,)), F.gelu(block.mlp(h) + block.gate * h), atol=1e-6)
        last = FNOBlock(SpectreMixer(8, n_heads=2), 8, mlp_ratio=0.5, last=True)
        h = F.gelu(last.mixer(x, (16,)) + x @ last.skip.weight.T)  # other mixers get a linear skip, no bias
        assert last.skip.bias is None
        assert torch.allclose(last(x, (16,)), last.mlp(h) + last.gate * h, atol=1e-6)  # no activation at the end


def test_fno_design_options_are_rebuilt_from_the_config_and_checked():
    model = Surrogate(3, 1, 1, "fno", hidden_channels=8, n_layers=2, block="fno", norm="none", mlp_ratio=0.5,
                      lifting_channel_ratio=2, projection_channel_ratio=2, mixer_options={"n_modes": 5})
    assert model.lift[0].out_features == 16 and model.project[0].out_features == 16  # MLPs through 2 d channels
    assert model.blocks[0].mlp[0].out_features == 4
    _assert_rebuilt_from_config(model)
    with pytest.raises(ValueError, match="block must be one of"):
        Surrogate(3, 1, 1, "fno", block="resnet")
    with pytest.raises(ValueError, match="mlp_ratio must be positive"):
        Surrogate(3, 1, 1, "fno", mlp_ratio=0)


def test_training_stopped_and_resumed_equals_an_uninterrupted_run(tmp_path):
    """Surrogates train on the PINNs' loop: checkpoints, exact resume (batches and unrolls come from the
    seed and the step), callbacks."""
    traj = advection(n=6, t=10, x=16)
    settings = dict(epochs=3, batch_size=4, progress=False, pushforward=1, lr=3e-3)

    def model():
        torch.manual_seed(0)
        return Surrogate(2, 1, 1, "fno", hidden_channels=8, n_layers=1, mixer_options={"n_modes": 4})

    whole = train_surrogate(traj, model(), **settings)
    ckpt = str(tmp_path / "c.pt")
    first = train_surrogate(traj, model(), checkpoint=ckpt, checkpoint_every=1,
                            callbacks=[lambda info: info.step == 4], **settings)
    assert len(first.history["loss"]) == 5 and "stopped by a callback" in first.history["events"][-1]
    resumed = train_surrogate(traj, model(), checkpoint=ckpt, resume=True, **settings)
    assert resumed.history["loss"] == pytest.approx(whole.history["loss"], rel=1e-5)
    for a, b in zip(resumed.model.state_dict().values(), whole.model.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6)
    with pytest.raises(ValueError, match="belongs to another model or dataset"):
        other = Surrogate(2, 1, 1, "fno", hidden_channels=12, n_layers=1, mixer_options={"n_modes": 4})
        train_surrogate(traj, other, checkpoint=ckpt, resume=True, **settings)


def test_cli_train_resumes_from_its_checkpoint(tmp_path, capsys):
    advection(n=6, t=10, x=16).save(tmp_path / "adv.h5")
    args = ["surrogate", "train", "--data", str(tmp_path / "adv.h5"), "--mixer", "fno", "--history", "2",
            "--hidden", "8", "--layers", "1", "--no-progress", "--out", str(tmp_path / "run")]
    assert main(args + ["--epochs", "1"]) == 0
    steps = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["step"]
    assert main(args + ["--epochs", "2", "--resume"]) == 0
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert state["step"] == 2 * steps and f"step {steps}: resumed from" in " ".join(state["history"]["events"])


def test_files_written_before_the_fno_design_default_still_load(tmp_path):
    traj = advection(n=4, t=8)
    old = Surrogate(2, 1, 1, "spectre", hidden_channels=16, n_layers=1, block="pre-norm",
                    mixer_options={"n_heads": 2, "n_groups": 2})
    trained = TrainedSurrogate(old, *_fit_parts(traj))
    trained.save(tmp_path / "s.pt")
    state = torch.load(tmp_path / "s.pt", weights_only=True)
    for key in ("block", "lifting_channel_ratio", "projection_channel_ratio"):  # as such files were written
        del state["model_config"][key]
    torch.save(state, tmp_path / "old.pt")
    back = TrainedSurrogate.load(tmp_path / "old.pt")
    assert back.model.config["block"] == "pre-norm"
    assert np.allclose(back.predict(traj.u[:1, :2], 3), trained.predict(traj.u[:1, :2], 3))
