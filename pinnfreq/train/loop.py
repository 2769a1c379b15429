"""The one training loop: Adam, then optional L-BFGS, with checkpoints, resume and fault recovery.

The loop owns steps and phases, the time budget, history, the progress bar, checkpoints and exact
resume, recovery from non-finite losses and Ctrl-C. What the loss is comes from a subclass (the
objective): :class:`pinnfreq.train.trainer.Trainer` for PINNs (loss terms of a problem at collocation
points), :class:`pinnfreq.surrogate.train.SurrogateTrainer` for snapshot surrogates (minibatches of
frames). Everything that changes what a step does (loss balancing, causal weighting, adaptive
resampling, reference tracking, AFE) is a plug-in (:mod:`pinnfreq.train.plugins`): the loop calls its
hooks and checkpoints its state.

A subclass provides ``terms`` (the names of the loss terms), ``_term_losses()`` and ``identity()``, and
may override the other ``_``-hooks (``_prepare``, ``_before_step``, ``_learning_rate``,
``_adam_optimizer``, ``_logged``, ``_extra_state``, ``_load_extra``, ``_finish``).

The config it reads: ``steps`` (unless given), ``lbfgs_steps`` (0 when absent), ``lbfgs_share`` (0.5
when absent), ``lbfgs_resample_every`` (0 when absent), ``lr``,
``learning_rate(step, elapsed)`` (unless ``_learning_rate`` is overridden), ``time_budget``, ``checkpoint``,
``checkpoint_every``, ``resume``, ``progress``, ``log_every``, ``grad_clip``, ``to_dict()``.

Determinism is by construction: learning rates are a function of the step, and whatever is drawn at
a step (points, batches) comes from the seed and the step; so a run resumed from a checkpoint takes
exactly the steps of an uninterrupted one (time-budgeted schedules excepted: they read the clock).

Under ``torchrun`` (``pinnfreq.distributed``) every rank holds a replica and its own share of the
data; after each backward pass the gradients are averaged over the ranks (one all-reduce, as DDP's
reducer does; DDP's wrapper itself is not used because a PINN step calls the network several times
and through ``forward_jet``, not once through ``forward``). Everything that decides what happens next
is computed from values every rank shares: the loss terms (averaged with the same all-reduce that
carries each rank's Ctrl-C flag), rank 0's clock for the time budget. So L-BFGS, recovery from
non-finite losses, plug-ins and stopping agree on every rank; rank 0 alone writes checkpoints and shows
progress.
"""

from __future__ import annotations

import copy
import math
import signal
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import nn
from tqdm.auto import tqdm

from .. import distributed
from ..io.atomic import check_writable
from .checkpoint import load_checkpoint, save_checkpoint
from .plugins import Plugin

SNAPSHOT_EVERY = 25  # steps between in-memory copies of the last good state
MAX_RECOVERIES = 5  # consecutive non-finite losses before giving up
LBFGS_PATIENCE = 20  # L-BFGS iterations without improvement before the phase ends
UNBOUNDED_STEPS = 10**8  # with a time budget, step counts from here on only say "until the budget is spent"


@dataclass
class StepInfo:
    """What a callback sees after each step. Return True from the callback to stop training."""

    step: int
    phase: str
    loss: float
    terms: dict[str, float]
    model: nn.Module
    trainer: "Loop"


Callback = Callable[[StepInfo], Any]


class Loop:
    """The loop over steps; ``terms`` and the hooks come from the subclass (see the module's docstring)."""

    terms: list[str]
    name = "training"  # the progress bar's label
    trained_on = "problem or network"  # what a checkpoint's identity names (in the message of a mismatch)

    def __init__(self, model: nn.Module, config: Any, callbacks: Sequence[Callback] = (),
                 ranks: distributed.Context | None = None, plugins: Sequence[Plugin] = (), steps: int | None = None):
        self.model, self.config = model, config
        self.adam_steps = config.steps if steps is None else steps
        self.lbfgs_steps = getattr(config, "lbfgs_steps", 0)
        self.callbacks = list(callbacks)
        self.device, self.dtype = next(model.parameters()).device, next(model.parameters()).dtype
        self.ranks = ranks or distributed.Context(0, 1, self.device)
        self._interrupt_here = False  # Ctrl-C seen by this process; _stop once the ranks agree
        self._stop_flag: torch.Tensor | None = None  # under torchrun: whether any rank saw Ctrl-C
        self._pending: list[tuple] = []  # steps whose values are still on the device (see _flush)
        self.log_every = config.log_every or (1 if self.device.type == "cpu" else 25)
        self.weights: dict[str, float] = {}  # the user's weight per term (1 when absent)
        self.step, self.lr_scale, self.elapsed = 0, 1.0, 0.0
        self.adam_again: int | None = None  # the step from which Adam took over from a stalled L-BFGS
        self.adam_taken = 0  # Adam steps before L-BFGS began (the learning rate Adam resumes with)
        self._stalled_at: tuple[float, dict] | None = None  # loss and state where L-BFGS stalled
        # the keys every run has, also one that took no step (Ctrl-C before the first one ended)
        self.history: dict[str, list] = {"events": [], "step": [], "phase": [], "time": [], "loss": []}
        self.interrupted = False
        self.optimizer: torch.optim.Optimizer | None = None
        self._good: tuple[int, dict, dict] | None = None
        self._recoveries = 0
        self._stop = False
        self._bar: tqdm | None = None
        self.plugins = self._checked_plugins(plugins)

    def _checked_plugins(self, given: Sequence[Plugin]) -> list[Plugin]:
        for p in given:
            if not isinstance(p, Plugin):
                raise TypeError(f"plugins= takes pinnfreq plug-ins (pinnfreq.train.plugins.Plugin), got {type(p).__name__}")
        names = [p.name for p in given]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"two plug-ins named {twice} in one run (settings and plugins= may both add one: "
                             f"e.g. adaptive_weights and a balancing plug-in)")
        return list(given)

    def _plugin(self, kind: type) -> Any:
        return next((p for p in self.plugins if isinstance(p, kind)), None)

    @property
    def total_steps(self) -> int:
        return self.adam_steps + self.lbfgs_steps

    def phase(self, step: int | None = None) -> str:
        """"adam" or "lbfgs" at ``step``: Adam for the first ``steps``, then L-BFGS, then Adam again from
        ``adam_again`` when L-BFGS stalled with time left (see _record_step)."""
        s = self.step if step is None else step
        return "adam" if s < self.adam_steps or (self.adam_again is not None and s >= self.adam_again) else "lbfgs"

    def taken(self, step: int | None = None) -> int:
        """How many steps came before ``step`` (default: the current one), what the history, the events
        and callbacks number steps by. Under a time budget the phases' step counters are placeholders
        (10^9 Adam steps, then L-BFGS from there), so ``self.step`` jumps when Adam's share is spent;
        the count does not."""
        s = self.step if step is None else step
        if s < self.adam_steps:
            return s
        adam = self.adam_taken or self.adam_steps  # adam_taken is set at L-BFGS's first step (or Adam's stop)
        if self.adam_again is None or s < self.adam_again:
            return adam + s - self.adam_steps
        return adam + self.adam_again - self.adam_steps + s - self.adam_again

    def adam_clock(self) -> int:
        """Adam steps taken before this step (the clock of the learning-rate schedule and of resampling):
        the step itself in the first Adam phase, Adam's steps so far during L-BFGS, and Adam's steps
        before L-BFGS plus those since when Adam took over from a stalled L-BFGS."""
        if self.phase() == "lbfgs":
            return self.adam_taken
        return self.step if self.adam_again is None else self.adam_taken + self.step - self.adam_again

    def lbfgs_round(self) -> int:
        """How many times L-BFGS has started on new points (``lbfgs_resample_every``) by this step; 0
        outside L-BFGS and while it runs on the last Adam points."""
        every = getattr(self.config, "lbfgs_resample_every", 0)
        return (self.step - self.adam_steps) // every if every and self.phase() == "lbfgs" else 0

    # -- hooks of the objective ---------------------------------------------------------------------
    def identity(self) -> dict[str, Any]:
        """What a checkpoint belongs to; resuming into anything else is refused."""
        raise NotImplementedError

    def _term_losses(self) -> dict[str, torch.Tensor]:
        """This step's loss per term, with its graph."""
        raise NotImplementedError

    def _prepare(self) -> None:
        """Once before training (and before plug-ins attach): check the data against the model."""

    def _before_step(self) -> None:
        """Before the plug-ins' ``before_step``: bring this step's data in place."""

    def _learning_rate(self, adam_step: int) -> float:
        return self.config.learning_rate(adam_step, self.elapsed)

    def _adam_optimizer(self, params: list[nn.Parameter]) -> torch.optim.Optimizer:
        return torch.optim.Adam(params, lr=self.config.lr)

    def _logged(self) -> dict[str, torch.Tensor]:
        """Scalars recorded each step besides the losses (history key ``param/<name>``)."""
        return {}

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra(self, state: dict[str, Any]) -> None:
        pass

    def _finish(self) -> None:
        """After the last step, before the final checkpoint."""

    # -- public ------------------------------------------------------------------------------------
    def run(self) -> None:
        cfg = self.config
        previous = self._install_sigint()
        bar = None
        try:
            if cfg.checkpoint and self.ranks.main:
                check_writable(cfg.checkpoint, "checkpoint")
            self._prepare()
            for p in self.plugins:
                p.attach(self)
            if cfg.resume and cfg.checkpoint and Path(cfg.checkpoint).exists():
                self._load(load_checkpoint(cfg.checkpoint, self.device))
            else:
                if cfg.resume:
                    self._event(f"resume asked for, but there is no checkpoint at {cfg.checkpoint}: starting afresh",
                                warn=True)
                self._make_optimizer()
            self.snapshot()
            # with a time budget and steps too many to take in it (solve()'s defaults), a count of steps
            # taken and the budget, not a bar that cannot fill
            unbounded = cfg.time_budget is not None and self.total_steps >= UNBOUNDED_STEPS
            bar = self._bar = tqdm(total=None if unbounded else self.total_steps, initial=self.step,
                                   disable=not (cfg.progress and self.ranks.main), dynamic_ncols=True,
                                   mininterval=0.5,
                                   desc=f"{self.name} ({cfg.time_budget:g} s)" if unbounded else self.name)
            start = time.perf_counter() - self.elapsed
            first = self.step
            while self.step < self.total_steps and not self._stop:
                # a budget always allows one step, so that every finished run has trained
                if self.step > first and self._over_budget(self._clock(start)):
                    if self.phase() == "adam" and self.lbfgs_steps and self.adam_again is None:
                        self._event(f"step {self.taken()}: Adam's share of the time budget is spent; L-BFGS starts")
                        self.adam_taken, self.step = self.step, self.adam_steps
                        continue
                    self._event(f"step {self.taken()}: time budget of {cfg.time_budget:g} s spent")
                    break
                losses = self._adam_step() if self.phase() == "adam" else self._lbfgs_step()
                self.elapsed = time.perf_counter() - start
                self.step += 1
                if losses is not None:
                    self._queue(losses)
                    for p in self.plugins:
                        p.after_step(self)
                if cfg.checkpoint and self.step % cfg.checkpoint_every == 0:
                    self.flush()
                    if self.ranks.main:
                        self._save_or_warn(cfg.checkpoint)
            self.flush()
        except KeyboardInterrupt:  # a second Ctrl-C, or one outside the main thread
            self._stop = self.interrupted = True
        finally:
            self._restore_sigint(previous)
            if bar is not None:
                bar.close()
        if self.optimizer is None:  # interrupted before training began: nothing worth saving
            raise KeyboardInterrupt
        if self.interrupted:
            self._event(f"step {self.taken()}: interrupted", warn=True)
        elif self._stalled_at is not None and self.history["loss"] and self.history["loss"][-1] > self._stalled_at[0]:
            self.model.load_state_dict(self._stalled_at[1])
            self._event(f"step {self.taken()}: Adam after L-BFGS ended at a higher loss ({self.history['loss'][-1]:.3g} "
                        f"against {self._stalled_at[0]:.3g}); the L-BFGS result is kept")
        self._finish()
        if cfg.checkpoint and self.ranks.main:
            self._save_or_warn(cfg.checkpoint)

    def flush(self) -> None:
        """Bring the values of the steps still on the device to the history (see ``_flush``)."""
        self._flush(self._bar)

    def save(self, path: str) -> None:
        save_checkpoint(path, {
            "step": self.step, "lr_scale": self.lr_scale, "elapsed": self.elapsed,
            "adam_again": self.adam_again, "adam_taken": self.adam_taken,
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "optimizer_kind": type(self.optimizer).__name__,
            "history": self.history, "interrupted": self.interrupted, "config": self.config.to_dict(),
            "plugins": {p.name: p.state_dict() for p in self.plugins}, "identity": self.identity(),
            **self._extra_state(),
        })

    def _save_or_warn(self, path: str) -> None:
        """A checkpoint that cannot be written (a full disk, a folder gone) must not end the run:
        the result stays in memory and is returned; the history says what was not written."""
        try:
            self.save(path)
        except OSError as err:
            self._event(f"step {self.taken()}: could not write the checkpoint {path} ({err.strerror or err}); "
                        "training goes on, the result is kept in memory", warn=True)

    # -- steps -------------------------------------------------------------------------------------
    def term_weights(self) -> dict[str, float]:
        """The weight of each term now: the user's, times every plug-in's factor (loss balancing)."""
        out = {t: self.weights.get(t, 1.0) for t in self.terms}
        for p in self.plugins:
            for t, f in p.term_factors().items():
                out[t] *= f
        return out

    def _total(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        w = self.term_weights()
        return sum(w[t] * v for t, v in losses.items())

    def _adam_step(self) -> dict[str, torch.Tensor] | None:
        if isinstance(self.optimizer, torch.optim.LBFGS):  # taking over from a stalled L-BFGS
            self._make_optimizer()
            self.snapshot()
        self._before_step()
        for p in self.plugins:
            p.before_step(self)
        # after L-BFGS, Adam goes on at the learning rate it had reached (the schedule counts Adam steps)
        lr = self._learning_rate(self.adam_clock()) * self.lr_scale
        for g in self.optimizer.param_groups:
            g["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)
        losses = self._term_losses()
        for p in self.plugins:
            p.before_backward(self, losses)
        shared = self._shared(losses)
        # no host read here (it would stall a GPU every step): a non-finite loss is caught when the
        # queued values reach the host (_flush), and the last good state restored then
        self._total(losses).backward()
        self._average_gradients()
        if self.config.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        return {**shared, "_lr": lr}

    def _lbfgs_step(self) -> dict[str, torch.Tensor] | None:
        if not isinstance(self.optimizer, torch.optim.LBFGS):
            if self.step == self.adam_steps and not self.adam_taken:
                self.adam_taken = self.adam_steps  # Adam ran all its steps
            self._make_optimizer()
            self.snapshot()
        self._before_step()
        for p in self.plugins:
            p.before_step(self)
        seen: dict[str, dict[str, torch.Tensor]] = {}

        def closure() -> torch.Tensor:
            self.optimizer.zero_grad(set_to_none=True)
            losses = self._term_losses()
            shared = self._shared(losses)
            total = self._total(shared)
            seen.setdefault("first", shared)
            if torch.isfinite(total):
                self._total(losses).backward()
                self._average_gradients()
            return total

        self.optimizer.step(closure)
        losses = seen["first"]
        finite = torch.isfinite(self._total(losses)) and all(torch.isfinite(p).all() for p in self.model.parameters())
        if not finite:
            self._recover(losses)
            return None
        return {**losses, "_lr": 1.0}

    def _queue(self, losses: dict[str, torch.Tensor | float]) -> None:
        """Keep this step's values on the device; they reach the host every ``log_every`` steps (every
        step in L-BFGS, whose line search reads them anyway, or when callbacks want each step)."""
        lr = losses.pop("_lr")
        values = [v for v in losses.values()] + [v.detach().to(self.dtype) for v in self._logged().values()]
        self._pending.append((self.step - 1, self.elapsed, lr, torch.stack(values), self._stop_flag))
        if len(self._pending) >= self.log_every or self.phase(self.step - 1) == "lbfgs" or self.callbacks:
            self.flush()

    def _flush(self, bar: tqdm) -> None:
        """Bring the queued steps' values to the host (one transfer): check them, record them, move the
        progress bar, run the callbacks. A non-finite loss restores the last good state; the steps
        queued after it came from a bad state and are dropped."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        rows = torch.stack([p[3] for p in pending]).tolist()
        if any(bool(p[4]) for p in pending if p[4] is not None):
            self._stop = self.interrupted = True  # some rank was interrupted: every rank stops here
        for (step, elapsed, lr, _, _), row in zip(pending, rows):
            terms = dict(zip(self.terms, row))
            if not all(math.isfinite(v) for v in terms.values()):
                self._recover(terms)
                return
            self._record_step(step, elapsed, lr, terms, row[len(terms):], bar)
            if self._stop:
                break
        if self.step // SNAPSHOT_EVERY > self._good[0] // SNAPSHOT_EVERY:
            self.snapshot()  # everything up to here was finite

    def _record_step(self, step: int, elapsed: float, lr: float, terms: dict[str, float], logged: list[float],
                     bar: tqdm) -> None:
        self._recoveries = 0
        weights = self.term_weights()
        balanced = any(p.term_factors() for p in self.plugins)
        total = sum(weights[t] * v for t, v in terms.items())
        self.record("step", self.taken(step))
        self.record("phase", self.phase(step))
        self.record("time", elapsed)
        self.record("loss", total)
        self.record("lr", lr)
        for t, v in terms.items():
            self.record(f"term/{t}", v)
            if balanced:
                self.record(f"weight/{t}", weights[t])
        for k, v in zip(self._logged(), logged):
            self.record(f"param/{k}", v)
        if self.phase(step) == "lbfgs" and self._lbfgs_stalled():
            if self.config.time_budget is not None:
                # stopping would leave the rest of the budget unused: Adam takes it; if Adam ends worse than
                # L-BFGS left it, the L-BFGS result is restored at the end (run)
                self.adam_again = step + 1
                self._stalled_at = (total, copy.deepcopy(self.model.state_dict()))
                self._event(f"step {self.taken(step)}: L-BFGS made no progress for {LBFGS_PATIENCE} iterations; Adam takes "
                            "the rest of the time budget")
            else:
                self._event(f"step {self.taken(step)}: L-BFGS made no progress for {LBFGS_PATIENCE} iterations; stopping")
                self._stop = True
        bar.update(1)
        if step % 10 == 0 or step + 1 == self.total_steps:
            post = {"loss": f"{total:.2e}", **({t: f"{v:.1e}" for t, v in terms.items()} if len(terms) > 1 else {})}
            if self.history.get("eval_step"):
                post.update({k[7:]: f"{v[-1]:.2e}" for k, v in self.history.items() if k.startswith("rel_l2/")})
            bar.set_postfix(post, refresh=False)
        info = StepInfo(self.taken(step), self.phase(step), total, terms, self.model, self)
        for cb in self.callbacks:
            if cb(info) is True:
                self._event(f"step {self.taken(step)}: stopped by a callback")
                self._stop = True

    def _shared(self, losses: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The loss terms over all ranks' data (detached), which every decision uses; the same
        all-reduce tells every rank whether any rank was interrupted (Ctrl-C), read in _flush."""
        if not self.ranks.active:
            return {t: v.detach() for t, v in losses.items()}
        flat = torch.stack([v.detach() for v in losses.values()]
                           + [torch.tensor(float(self._interrupt_here), dtype=self.dtype, device=self.device)])
        torch.distributed.all_reduce(flat)
        self._stop_flag = flat[-1] > 0  # read with the losses, in _flush
        return dict(zip(losses, flat[:-1] / self.ranks.world))

    def _average_gradients(self) -> None:
        if self.ranks.active:
            for p in self.model.parameters():
                if p.grad is None:
                    p.grad = torch.zeros_like(p)
            self.ranks.average_([p.grad for p in self.model.parameters()])

    def _clock(self, start: float) -> float:
        """Seconds since ``start``; rank 0's under torchrun, so that all ranks stop at the same step."""
        elapsed = time.perf_counter() - start
        return elapsed if self.config.time_budget is None else self.ranks.from_main(elapsed)

    def _lbfgs_stalled(self) -> bool:
        losses = self.history["loss"]
        # a new point set raises the loss: progress counts from where L-BFGS last started afresh
        start = self.adam_steps + self.lbfgs_round() * getattr(self.config, "lbfgs_resample_every", 0)
        if len(losses) <= LBFGS_PATIENCE or self.step - start <= LBFGS_PATIENCE:
            return False
        recent = losses[-LBFGS_PATIENCE:]
        return min(recent) >= losses[-LBFGS_PATIENCE - 1] * (1 - 1e-12)

    # -- state ---------------------------------------------------------------------------------------
    def _make_optimizer(self) -> None:
        params = list(self.model.parameters())
        if self.phase() == "adam":
            self.optimizer = self._adam_optimizer(params)
        else:
            # one iteration per step (so steps, budgets and checkpoints stay fine-grained); max_eval must
            # be set, its default (max_iter * 5 // 4 = 1) would starve the line search
            self.optimizer = torch.optim.LBFGS(params, lr=1.0, max_iter=1, max_eval=30, history_size=50,
                                               line_search_fn="strong_wolfe", tolerance_grad=1e-11,
                                               tolerance_change=1e-14)

    def snapshot(self) -> None:
        """Make the current state the one a non-finite loss falls back to."""
        self._good = (self.step, copy.deepcopy(self.model.state_dict()), copy.deepcopy(self.optimizer.state_dict()))

    def _recover(self, losses: dict[str, torch.Tensor | float]) -> None:
        bad = [t for t, v in losses.items() if not math.isfinite(float(v))] or ["parameters"]
        self._recoveries += 1
        if self._recoveries > MAX_RECOVERIES:
            raise FloatingPointError(
                f"training diverged: non-finite loss ({', '.join(bad)}) {MAX_RECOVERIES} times in a row after "
                "restoring the last good state; lower lr, add grad_clip, or check the equations")
        step, model_state, opt_state = self._good
        self.model.load_state_dict(model_state)
        if self.phase() == "adam":
            self.optimizer.load_state_dict(opt_state)
            self.lr_scale *= 0.5
            what = "learning rate halved"
        else:
            self._make_optimizer()  # a fresh L-BFGS memory; the corrupted one led here
            what = "L-BFGS memory reset"
        self._event(f"step {self.taken()}: non-finite loss in {', '.join(bad)}; restored the state of step {step}, {what}",
                    warn=True)

    def _load(self, state: dict[str, Any]) -> None:
        saved_identity = state.get("identity")
        if saved_identity is not None and saved_identity != self.identity():
            now = self.identity()
            diff = "; ".join(f"{k}: checkpoint {saved_identity.get(k)!r}, now {now[k]!r}" for k in now
                             if saved_identity.get(k) != now[k])
            raise ValueError(f"the checkpoint {self.config.checkpoint} belongs to another {self.trained_on} ({diff}); "
                             "resume with the same ones, or train afresh without resume / with another checkpoint")
        saved = state.get("config", {})
        for key in ("steps", "lbfgs_steps", "seed", "dtype"):
            if key in saved and hasattr(self.config, key) and saved[key] != getattr(self.config, key):
                warnings.warn(f"resuming with {key}={getattr(self.config, key)!r}; the checkpoint used {saved[key]!r}",
                              stacklevel=3)
        try:
            self.model.load_state_dict(state["model"])
        except RuntimeError as err:
            raise ValueError(f"the checkpoint {self.config.checkpoint} holds a different model: {err}") from None
        self.step, self.lr_scale, self.elapsed = int(state["step"]), float(state["lr_scale"]), float(state["elapsed"])
        self.adam_again, self.adam_taken = state.get("adam_again"), int(state.get("adam_taken", 0))
        self.history = {**self.history, **state["history"]}
        saved_plugins = state.get("plugins", {})
        # plug-ins without state (reference tracking) may come and go; the others must match
        now = [p.name for p in self.plugins if p.state_dict()]
        if sorted(k for k, v in saved_plugins.items() if v) != sorted(now):
            raise ValueError(f"the checkpoint {self.config.checkpoint} was written with the plug-ins "
                             f"{sorted(saved_plugins) or 'none'}, this run has {sorted(now) or 'none'} (afe=, "
                             "adaptive_weights=, reference=, plugins=); resume it with the same ones")
        for p in self.plugins:
            if p.name in saved_plugins:
                p.load_state_dict(saved_plugins[p.name])
        self._make_optimizer()
        if type(self.optimizer).__name__ == state["optimizer_kind"]:
            self.optimizer.load_state_dict(state["optimizer"])
        self._load_extra(state)
        self._event(f"step {self.taken()}: resumed from {self.config.checkpoint}")

    def _over_budget(self, elapsed: float) -> bool:
        budget = self.config.time_budget
        if budget is None:
            return False
        adam_first = self.phase() == "adam" and self.lbfgs_steps and self.adam_again is None
        share = 1 - getattr(self.config, "lbfgs_share", 0.5) if adam_first else 1.0
        return elapsed > budget * share

    def record(self, key: str, value: Any) -> None:
        """Append ``value`` to the history under ``key`` (plug-ins record their own keys)."""
        self.history.setdefault(key, []).append(value)

    def _event(self, text: str, warn: bool = False) -> None:
        self.history["events"].append(text)
        if warn and self.ranks.main:
            warnings.warn(text, RuntimeWarning, stacklevel=3)

    # -- Ctrl-C: finish the current step, then checkpoint --------------------------------------------
    def _install_sigint(self) -> Any:
        if threading.current_thread() is not threading.main_thread():
            return None

        def handler(signum, frame):  # noqa: ARG001
            if self._interrupt_here:  # second Ctrl-C: stop now
                raise KeyboardInterrupt
            self._interrupt_here = True
            if not self.ranks.active:  # alone: stop after this step; under torchrun when the ranks agree
                self._stop = self.interrupted = True

        return signal.signal(signal.SIGINT, handler)

    def _restore_sigint(self, previous: Any) -> None:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
