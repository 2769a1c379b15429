"""Training a surrogate on the one training loop (:mod:`pinnfreq.train.loop`: time budget, history,
progress bar, checkpoints and exact resume, Ctrl-C, recovery from non-finite losses, plug-ins):
teacher forcing plus an optional pushforward (unrolled) loss, AdamW with a schedule, evaluation by
autoregressive rollout on held-out trajectories, and a reloadable file."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from .. import distributed
from ..io.atomic import atomic_path
from ..nn.registry import build
from ..train.loop import Callback, Loop
from ..train.plugins import Plugin
from . import metrics
from .data import Normaliser, Trajectories, TrajectoryDataset, split
from .model import Surrogate


@dataclass
class SurrogateConfig:
    """epochs, batch_size, lr, weight_decay : AdamW settings; schedule : "cosine", "step" (halve every
    ``step_every`` epochs, FNO's choice) or None.  loss : "mse" (in normalised units) or "relative"
    (relative L2 per sample, FNO's; ill-posed on data that decay by orders of magnitude: measured
    losses of 1e4 on Burgers trajectories whose late frames were 1e-9 of the first).  pushforward :
    extra model calls unrolled without gradient before the loss on the last one (Brandstetter et al.
    2022; 0: teacher forcing only).  test_fraction, seed : the split by trajectory (seed also: the
    initial batches' order and the unrolls).
    device : "auto", "cpu", "cuda", ... (under torchrun: "auto", "cuda" or "cpu"; each rank takes its own
    GPU, and batch_size is per rank)  time_budget : seconds of training at most; the cosine schedule
    then decays over the budget when that ends first.  checkpoint, checkpoint_every, resume : a
    checkpoint file written every ``checkpoint_every`` steps and at the end; ``resume`` continues from it
    (exactly: batches and unrolls are drawn from the seed and the step).  grad_clip : clip the gradient
    norm (None: no clipping).  log_every : steps between reads of the loss by the host (None: 1 on CPU,
    25 on GPUs)."""

    epochs: int = 20
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-4
    schedule: str | None = "cosine"
    step_every: int = 100
    loss: str = "mse"
    pushforward: int = 0
    test_fraction: float = 0.2
    seed: int = 0
    device: str = "auto"
    time_budget: float | None = None
    progress: bool = True
    checkpoint: str | None = None
    checkpoint_every: int = 200
    resume: bool = False
    grad_clip: float | None = None
    log_every: int | None = None

    def __post_init__(self) -> None:
        checks = [(self.epochs >= 1 and self.batch_size >= 1, "epochs and batch_size must be >= 1"),
                  (math.isfinite(self.lr) and self.lr > 0, f"lr must be positive, got {self.lr}"),
                  (self.schedule in (None, "cosine", "step"), f"schedule must be None, 'cosine' or 'step', got {self.schedule!r}"),
                  (self.loss in ("relative", "mse"), f"loss must be 'relative' or 'mse', got {self.loss!r}"),
                  (self.pushforward >= 0, "pushforward must be >= 0"),
                  (self.time_budget is None or (math.isfinite(self.time_budget) and self.time_budget > 0),
                   f"time_budget must be positive seconds, got {self.time_budget!r}"),
                  (self.checkpoint_every >= 1, "checkpoint_every must be >= 1"),
                  (not self.resume or self.checkpoint is not None, "resume=True needs checkpoint=<path>"),
                  (self.grad_clip is None or self.grad_clip > 0, "grad_clip must be positive"),
                  (self.log_every is None or self.log_every >= 1, "log_every must be >= 1 or None")]
        for ok, msg in checks:
            if not ok:
                raise ValueError(f"SurrogateConfig: {msg}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainedSurrogate:
    """A trained model with what it needs to run on new data: the normaliser, the split, the history."""

    model: Surrogate
    normaliser: Normaliser
    train_indices: np.ndarray
    test_indices: np.ndarray
    history: dict[str, list] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    data_attrs: dict[str, Any] = field(default_factory=dict)

    def predict(self, frames: np.ndarray, n_steps: int) -> np.ndarray:
        """Roll out ``n_steps`` frames after ``frames`` (N, h, *grid, C), physical units in and out."""
        device = next(self.model.parameters()).device
        self.model.eval()
        x = self.normaliser.encode(torch.as_tensor(np.ascontiguousarray(frames), dtype=torch.float32, device=device))
        out = [self.model.rollout(chunk, n_steps) for chunk in x.split(8)]
        return self.normaliser.decode(torch.cat(out)).cpu().numpy()

    def evaluate(self, trajectories: Trajectories, indices: np.ndarray | None = None) -> tuple[dict, np.ndarray, np.ndarray]:
        """Metrics of full rollouts from the first ``history`` frames of each chosen trajectory, with the
        predictions and the truth (conditioning frames excluded)."""
        idx = self.test_indices if indices is None else np.asarray(indices)
        h = self.model.history
        u = trajectories.u[idx]
        pred = self.predict(u[:, :h], u.shape[1] - h)
        true = u[:, h:]
        frame_dt = float(trajectories.attrs.get("frame_dt", 1.0))
        return metrics.summary(pred, true, frame_dt), pred, true

    def save(self, path: str | os.PathLike) -> None:
        state = {"format": "pinnfreq-surrogate", "class": type(self.model).__name__, "model_config": self.model.config,
                 "state": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
                 "mean": torch.as_tensor(self.normaliser.mean), "std": torch.as_tensor(self.normaliser.std),
                 "train_indices": self.train_indices.tolist(), "test_indices": self.test_indices.tolist(),
                 "history": self.history, "config": self.config,
                 "data_attrs": {k: (v.item() if isinstance(v, np.generic) else v) for k, v in self.data_attrs.items()
                                if isinstance(v, (str, int, float, bool, np.generic))}}
        with atomic_path(path, suffix=".pt") as tmp:
            torch.save(state, tmp)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "cpu") -> "TrainedSurrogate":
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}: no such surrogate file")
        try:
            state = torch.load(path, map_location=device, weights_only=True)
        except Exception as err:  # noqa: BLE001 - torch raises several types for foreign or truncated files
            raise ValueError(f"{path}: not a readable surrogate file ({type(err).__name__}: {err})") from None
        if not isinstance(state, dict) or state.get("format") != "pinnfreq-surrogate":
            raise ValueError(f"{path}: not a pinnfreq surrogate file")
        config = state["model_config"]
        if state["class"] == "Surrogate" and "block" not in config:  # written before the FNO design was the default
            config = {"block": "pre-norm", "lifting_channel_ratio": 0, "projection_channel_ratio": 0, **config}
        model = build(state["class"], config).to(device)
        model.load_state_dict(state["state"])
        return cls(model, Normaliser(state["mean"].numpy(), state["std"].numpy()), np.array(state["train_indices"]),
                   np.array(state["test_indices"]), state["history"], state["config"], state["data_attrs"])


class SurrogateTrainer(Loop):
    """The snapshot objective on the training loop: one loss term (``cfg.loss``) on a minibatch of
    windows per step. Batches are drawn without replacement from a permutation per epoch seeded by
    ``(seed, epoch)``; under torchrun rank r takes the r-th ``batch_size`` slice of each step's share,
    so two ranks of batch b take the step one process takes with batch 2 b."""

    trained_on = "model or dataset"

    def __init__(self, trajectories: Trajectories, model: Surrogate, config: SurrogateConfig,
                 ranks: distributed.Context | None = None, callbacks: Sequence[Callback] = (),
                 plugins: Sequence[Plugin] = ()):
        if len(trajectories.grid) != model.n_dims or trajectories.channels != model.channels:
            raise ValueError(f"the model takes {model.n_dims}-D grids of {model.channels} channel(s); the data are "
                             f"{len(trajectories.grid)}-D with {trajectories.channels}")
        self.train_indices, self.test_indices = split(trajectories, config.test_fraction, config.seed)
        self.normaliser = Normaliser.fit(trajectories.u[self.train_indices])
        k = model.out_frames
        self.data = TrajectoryDataset(trajectories, self.train_indices, model.history, k * (1 + config.pushforward),
                                      self.normaliser)
        ranks = ranks or distributed.Context(0, 1, next(model.parameters()).device)
        # fewer windows than a batch per rank: the windows are shared out evenly instead
        self.rank_batch = min(config.batch_size, len(self.data) // ranks.world)
        if self.rank_batch < 1:
            raise ValueError(f"{len(self.data)} training windows cannot be shared by {ranks.world} ranks")
        self.global_batch = self.rank_batch * ranks.world
        self.per_epoch = max(1, len(self.data) // self.global_batch)
        self.shape = list(trajectories.u.shape)
        self.terms = [config.loss]
        super().__init__(model, config, callbacks, ranks, plugins, steps=config.epochs * self.per_epoch)
        self.name = f"surrogate ({model.config['mixer']})"
        self._perm: tuple[int, torch.Tensor] | None = None
        self.batch: tuple[torch.Tensor, torch.Tensor] | None = None

    def identity(self) -> dict[str, Any]:
        return {"model": {"class": type(self.model).__name__, "config": self.model.config}, "data": self.shape,
                "train": self.train_indices.tolist()}

    def _prepare(self) -> None:
        self.model.train()  # SPECTRE's wavelet refinement acts in training mode only; predict() leaves eval mode

    def _before_step(self) -> None:
        epoch, i = divmod(self.step, self.per_epoch)
        if self._perm is None or self._perm[0] != epoch:
            g = torch.Generator().manual_seed(self.config.seed * 1_000_003 + epoch)
            self._perm = (epoch, torch.randperm(len(self.data), generator=g))
        b = self.rank_batch
        start = i * self.global_batch + self.ranks.rank * b
        items = [self.data[int(j)] for j in self._perm[1][start: start + b]]
        self.batch = (torch.stack([x for x, _ in items]).to(self.device), torch.stack([y for _, y in items]).to(self.device))

    def _term_losses(self) -> dict[str, torch.Tensor]:
        x, y = self.batch
        cfg, model, k = self.config, self.model, self.model.out_frames
        # pushforward: 0..pushforward unrolled calls, drawn per step as Brandstetter et al. do (always
        # unrolling never trains on true inputs: measured rel. L2 0.07 -> 1.9 on Burgers), no gradient
        unroll = 0
        if cfg.pushforward:
            g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + self.step)  # the same on every rank
            unroll = int(torch.randint(cfg.pushforward + 1, (), generator=g))
        with torch.no_grad():
            for _ in range(unroll):
                x = torch.cat([x, model(x)], 1)[:, -model.history:]
        return {cfg.loss: _loss(model(x), y[:, unroll * k: (unroll + 1) * k], cfg.loss)}

    def _learning_rate(self, adam_step: int) -> float:
        return _learning_rate(self.config, adam_step, self.adam_steps, self.per_epoch, self.elapsed)

    def _adam_optimizer(self, params: list) -> torch.optim.Optimizer:
        return torch.optim.AdamW(params, lr=self.config.lr, weight_decay=self.config.weight_decay)

    def _record_step(self, step: int, *args: Any) -> None:
        self.record("epoch", step / self.per_epoch)
        super()._record_step(step, *args)


def train_surrogate(trajectories: Trajectories, model: Surrogate, config: SurrogateConfig | None = None,
                    callbacks: Sequence[Callback] = (), plugins: Sequence[Plugin] = (),
                    **settings: Any) -> TrainedSurrogate:
    """Train ``model`` on the training split of ``trajectories``; settings as in :class:`SurrogateConfig`.
    ``callbacks`` and ``plugins`` as in :func:`pinnfreq.solve`."""
    cfg = config or SurrogateConfig(**settings)
    ctx = distributed.context(cfg.device)  # one process, or this rank's share under torchrun
    torch.manual_seed(cfg.seed)
    model.to(ctx.device)
    trainer = SurrogateTrainer(trajectories, model, cfg, ctx, callbacks, plugins)
    trainer.run()
    result = TrainedSurrogate(model, trainer.normaliser, trainer.train_indices, trainer.test_indices, trainer.history,
                              asdict(cfg), dict(trajectories.attrs))
    if ctx.active:
        result.config["world_size"] = ctx.world
    return result


def _learning_rate(cfg: SurrogateConfig, step: int, total: int, per_epoch: int, elapsed: float) -> float:
    if cfg.schedule == "cosine":
        # with a time budget the schedule runs over whichever ends first, the steps or the time: a cosine
        # over the epochs alone would hold the rate near its peak when the budget cuts training short
        done = step / max(total, 1)
        if cfg.time_budget:
            done = max(done, elapsed / cfg.time_budget)
        return cfg.lr * 0.5 * (1 + math.cos(math.pi * min(done, 1.0)))
    if cfg.schedule == "step":
        return cfg.lr * 0.5 ** (step // max(cfg.step_every * per_epoch, 1))
    return cfg.lr


def _loss(pred: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "mse":
        return torch.mean((pred - target) ** 2)
    dims = tuple(range(1, pred.ndim))
    return torch.mean(torch.sqrt(((pred - target) ** 2).sum(dims) / ((target**2).sum(dims) + 1e-12)))
