"""Training settings, validated before anything is sampled or trained."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from ..geometry import METHODS

SCHEDULES = (None, "constant", "exponential", "cosine")
DTYPES = {"float32": torch.float32, "float64": torch.float64}
INTERIOR_POINTS = 2000  # per equation, when ``points`` does not say


@dataclass
class TrainConfig:
    """Everything ``solve()`` needs besides the problem, the model and callbacks.

    steps : Adam steps.  lbfgs_steps : L-BFGS iterations after Adam (0: none).
    lr : Adam learning rate.  schedule : None/"constant", "exponential" (lr * decay_rate^(step/decay_steps)) or "cosine"
        (to 0 over Adam's steps, or over Adam's share of a time budget where that ends first; Adam taking over
        from a stalled L-BFGS then goes on at the rate reached).
    points : interior points per equation (int), or a mapping term -> count (conditions default to ``boundary_points``).
    resample_every : draw new collocation points every this many Adam steps (0: never).
    lbfgs_resample_every : draw new collocation points every this many L-BFGS iterations, L-BFGS starting
        afresh on them (its memory is of one objective); 0 (default): L-BFGS keeps the last Adam points.
        Where a fixed point set lets the fit go wrong between the points it helps (Burgers' shock, MLP,
        120 s, with ``lbfgs_share=0.75``: 3.7e-3-1.6e-2 over 5 seeds against 4.3e-3-2.7e-2); where the
        solution is smooth the restarts cost (the L-shaped Poisson problem 3x, the wave 2x worse).
    sampler : "sobol", "halton", "lhs" or "uniform".
    weights : loss weight per term (default 1).  adaptive_weights : "gradnorm" balances terms by their
        gradient norms every ``adapt_every`` steps (Wang et al. 2023), "annealing" by learning-rate
        annealing (Wang et al. 2021; ``pinnfreq.train.plugins.weighting``), None keeps the weights fixed.
    grad_clip : clip the gradient norm (None: no clipping).
    engine : "taylor" (default: one Taylor-mode forward pass carrying the derivatives each residual reads,
        where the network has ``forward_jet`` and the residual needs at most second derivatives, else
        autograd, per term; see ``pinnfreq.train.losses.Engine``) or "autograd" (nested reverse mode,
        the reference). Taylor mode took 2x less time per step for the default network
        (``benchmarks/step_cost.py``).
    device : "auto" (CUDA when present), "cpu", "cuda", "cuda:1", ...  dtype : "float32" or "float64".
    seed : fixes the network initialisation and every point set.
    init : "seed" rebuilds a pinnfreq model from its configuration under ``seed``; "keep" trains it as given.
    time_budget : seconds; when L-BFGS follows Adam, L-BFGS gets ``lbfgs_share`` of it (default half) and
        Adam the rest (if L-BFGS stalls, Adam takes what is left, and the L-BFGS result is kept if Adam ends
        at a higher loss). With a budget and no ``steps``/``lbfgs_steps``, ``solve()`` lets the budget alone
        decide (``pinnfreq.defaults``).
    lbfgs_share : the fraction of ``time_budget`` for L-BFGS when both optimisers run, in (0, 1).
    checkpoint : path of the checkpoint file (None: no checkpoints).  checkpoint_every : steps between them.
    resume : continue from ``checkpoint`` when it exists.
    eval_every : steps between evaluations against the reference.  progress : show a progress bar.
    compile : run the loss computation through ``torch.compile`` (from the second step; the first
        compilation takes 10-60 s on CPU, then the step of an MLP took half the time: see
        ``benchmarks/throughput.py``); falls back to eager execution, with a warning, if it fails.
    hard_constraints : impose initial values, and Dirichlet values on the faces of a box (constants, or
        functions through their transfinite interpolant), exactly through an output transform u = A + B N
        (``pinnfreq.constraints``); those conditions then leave the loss. False keeps every condition a loss term.
        ``"distance"``: also Dirichlet values on 2-D shapes that are not boxes (polygons, disks, CSG of them),
        with B the boundary's approximate distance function (``pinnfreq.geometry.distance``). Not the default:
        that B is not smooth at the boundary's corners, and N = (u - A) / B inherits it; on the L-shaped Poisson
        problem it was 5-7x ahead of the loss term at 400-1,300 steps but 3.5x behind at 120 s (medians of
        3 seeds; benchmarks/README.md), where a box's polynomial B stays smooth.
    log_every : steps between reads of the losses by the host (history, progress bar, the check for
        non-finite values, callbacks force every step); None: 1 on CPU, 25 on GPUs, where a read each
        step would stall the device.
    """

    steps: int = 5000
    lbfgs_steps: int = 0
    lr: float = 1e-3
    schedule: str | None = "exponential"
    decay_rate: float = 0.9
    decay_steps: int = 1000
    points: int | dict[str, int] = INTERIOR_POINTS
    boundary_points: int = 256
    resample_every: int = 0
    lbfgs_resample_every: int = 0
    sampler: str = "sobol"
    weights: dict[str, float] = field(default_factory=dict)
    adaptive_weights: str | None = None
    adapt_every: int = 100
    grad_clip: float | None = None
    engine: str = "taylor"
    device: str = "auto"
    dtype: str = "float32"
    seed: int = 0
    init: str = "seed"
    time_budget: float | None = None
    lbfgs_share: float = 0.5
    checkpoint: str | None = None
    checkpoint_every: int = 1000
    resume: bool = False
    eval_every: int = 500
    progress: bool = True
    log_every: int | None = None
    compile: bool = False
    hard_constraints: bool | str = True

    def __post_init__(self) -> None:
        def need(ok: bool, msg: str) -> None:
            if not ok:
                raise ValueError(f"solve(): {msg}")

        for name in ("steps", "lbfgs_steps", "resample_every", "lbfgs_resample_every", "boundary_points"):
            need(isinstance(getattr(self, name), int) and getattr(self, name) >= 0, f"{name} must be an integer >= 0, got {getattr(self, name)!r}")
        need(self.steps + self.lbfgs_steps > 0, "steps + lbfgs_steps must be positive")
        for name in ("checkpoint_every", "eval_every", "decay_steps", "adapt_every"):
            need(isinstance(getattr(self, name), int) and getattr(self, name) > 0, f"{name} must be a positive integer")
        need(math.isfinite(self.lr) and self.lr > 0, f"lr must be positive, got {self.lr!r}")
        need(self.schedule in SCHEDULES, f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        need(self.sampler in METHODS, f"sampler must be one of {METHODS}, got {self.sampler!r}")
        need(self.dtype in DTYPES, f"dtype must be one of {tuple(DTYPES)}, got {self.dtype!r}")
        need(self.engine in ("autograd", "taylor"), f"engine must be 'autograd' or 'taylor', got {self.engine!r}")
        need(self.init in ("seed", "keep"), f"init must be 'seed' or 'keep', got {self.init!r}")
        need(self.adaptive_weights in (None, "gradnorm", "annealing"),
             f"adaptive_weights must be None, 'gradnorm' or 'annealing', got {self.adaptive_weights!r}")
        need(self.time_budget is None or self.time_budget > 0, f"time_budget must be positive seconds, got {self.time_budget!r}")
        need(isinstance(self.lbfgs_share, (int, float)) and 0 < self.lbfgs_share < 1,
             f"lbfgs_share must be a fraction of the time budget in (0, 1), got {self.lbfgs_share!r}")
        need(self.grad_clip is None or self.grad_clip > 0, "grad_clip must be positive")
        need(isinstance(self.compile, bool), f"compile must be True or False, got {self.compile!r}")
        need(isinstance(self.hard_constraints, bool) or self.hard_constraints == "distance",
             f"hard_constraints must be True, False or 'distance', got {self.hard_constraints!r}")
        need(self.log_every is None or (isinstance(self.log_every, int) and self.log_every > 0),
             f"log_every must be a positive integer or None, got {self.log_every!r}")
        need(not self.resume or self.checkpoint is not None, "resume=True needs checkpoint=<path>")
        pts = self.points if isinstance(self.points, dict) else {"": self.points}
        for k, v in pts.items():
            need(isinstance(v, int) and v > 0, f"points{'[' + repr(k) + ']' if k else ''} must be a positive integer, got {v!r}")
        for k, v in self.weights.items():
            need(math.isfinite(float(v)) and float(v) >= 0, f"weight of {k!r} must be finite and >= 0, got {v!r}")

    def learning_rate(self, step: int, elapsed: float = 0.0) -> float:
        """The scheduled Adam learning rate at Adam's ``step``, ``elapsed`` seconds into training
        (stateless, so resuming is exact where the schedule does not read the clock)."""
        if self.schedule == "exponential":
            return self.lr * self.decay_rate ** (step / self.decay_steps)
        if self.schedule == "cosine":
            # with a time budget the cosine runs over whichever ends first, Adam's steps or Adam's share of
            # the budget: over the steps alone (10^8 placeholders under a budget) it would never decay
            done = min(step, self.steps) / max(self.steps, 1)
            if self.time_budget:
                done = max(done, elapsed / (self.time_budget * (1 - self.lbfgs_share if self.lbfgs_steps else 1)))
            return self.lr * 0.5 * (1 + math.cos(math.pi * min(done, 1.0)))
        return self.lr

    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    def resolve_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            dev = torch.device(self.device)
        except RuntimeError as err:
            raise ValueError(f"solve(): device {self.device!r} is not a device ({err})") from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"solve(): device {self.device!r} asked for, but CUDA is not available here")
        return dev

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
