"""Adaptive Frequency Enhancement (seed 000): new Fourier tokens from the spectrum of the solution so far.

At each stage boundary of the Adam phase:

1. evaluate the network on a uniform grid of the normalised box [-1, 1]^d (every input coordinate,
   time included), n points per axis, endpoint excluded;
2. take the n-d DFT; zeta = the largest magnitude outside the constant mode;
   K_post = {k : |u^_k| > lambda zeta}, each conjugate pair +-k counted once (the member whose first
   non-zero index is positive);
3. omega_k = 2 pi k / L per axis with L = 2 (the normalised box), i.e. omega = pi k;
4. phi_post = sqrt(2 / M_post) cos(omega^T x + b), b ~ U(0, 2 pi), grouped into tokens of width d_q and
   appended to the network's tokens; W_Q, W_K, W_V keep their shapes and training goes on from the
   current weights (and the current optimiser state);
5. the new tokens' logit bias eta follows the mask schedule over the stage (default: -6 for 70% of
   it, then a cosine release to 0), so they enter smoothly;
6. the next boundary repeats 1-2; when K_post is stable (overlap with the previous set >= the
   configured value; identical by default) or holds nothing new, AFE stops and training goes on.

Departures from the seed's literal recipe, each an option:

- ``window="hann"``: the DFT assumes the solution periodic on the box; when it is not, the jump at
  the box's edges leaks into every bin (magnitudes ~ 1/k), and a threshold of 2% of the peak then
  picks dozens of spurious low frequencies. A Hann window takes the jump away (leakage ~ 1/k^3) and
  scales every peak alike, so the relative threshold is unchanged. Chosen over an even extension,
  which removes the jump but turns each sinusoid into a mirrored pair on a doubled period.
  ``window=None`` is the seed's plain DFT.
- ``peaks="local"``: only local maxima of |u^| count. A windowed peak spreads over its neighbours
  (the Hann main lobe is 2 bins wide each side), and without this a single mode would come back as
  three. ``peaks="all"`` is the seed's literal set.
- ``padding="repeat"``: M_post is rarely a multiple of d_q. The token is filled by cycling through
  the frequencies (strongest first), each copy with its own random phase, and normalised by
  sqrt(2 / M_post) over the features built: two phases of one frequency span both its sine and
  cosine, which one fixed phase cannot. ``padding="zero"`` keeps the seed's |K_post| features
  (sqrt(2 / |K_post|)) and fills the token with zeros.
- ``zeta="running"``: zeta is the largest magnitude seen so far for the signal (this analysis or an
  earlier one), not only the current one (``zeta="current"``, the seed's). For the solution this changes nothing (its leading mode stays); for a
  residual it is what makes the recipe stop: once a stage has captured the missing modes, what is
  left of the residual is broadband and ~100x smaller, and relative to itself hundreds of its local
  maxima clear 2% (measured on the paper's 1-D case: turning them into tokens took the rel. L2 from
  0.010 to 0.071). Relative to the earlier zeta they do not, and AFE ends.
- ``max_new``: at most this many new frequencies per stage, the strongest (a broadband solution,
  e.g. a chirp, would otherwise add hundreds of tokens). ``max_new=None`` is the seed's (no cap).
- ``spectrum="half"``: the constant mode is left out (its "frequency" is a constant token) and of each
  conjugate pair +-k (equal magnitudes for a real field) one member counts. ``spectrum="full"`` is the
  seed's B, every index: the mean counts towards zeta and can become a token, and both members of a
  pair become features (with independent phases).
- ``max_stages``: the seed repeats the analysis until K_post is stable and gives no stage length; here
  the Adam steps after the first stage are split into ``max_stages`` stages, and ``max_stages=None``
  repeats stages as long as the first until K_post is stable or the Adam steps end.

``AFE.seed_literal()`` switches every one of these departures off, to reproduce seed 000 as written.
- ``source="residual"`` (or ``"both"``): the spectrum of the equations' residuals instead of (or
  besides) the solution's. A frequency the network has not learnt at all is absent from the solution
  (so the seed's recipe cannot add it), but it is the leading part of the residual: for a linear
  equation with constant coefficients the residual's modes are the error's, weighted by the operator
  (k^2 for -u''), and for a data fit the residual is the error itself.
- Domains that are not boxes: grid points outside the domain take the value of the nearest inside
  point (``scipy.ndimage.distance_transform_edt``). The network's values there are meaningless
  extrapolation, and zeros would put a jump along the domain's boundary; the nearest-value fill is
  continuous there.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .model import PINNModel
from .problem import Problem
from .residuals import residuals
from .train.plugins.base import Plugin

RELEASES = ("cosine", "linear")
SOURCES = ("solution", "residual", "both")
ROUNDOFF = 1e-6  # spectra below this fraction of the signal's size count as a constant (float32 noise)
CHUNK = 8192  # grid points per evaluation (the residual needs derivatives, so a graph per chunk)


@dataclass
class AFE:
    """Adaptive Frequency Enhancement settings; pass as ``solve(problem, afe=AFE(...))``.

    threshold : lambda in (0, 1): a frequency counts when its magnitude exceeds lambda * zeta
        (paper's 1-D case: 0.02).
    first_stage : fraction of the Adam steps trained on the base bank before the first analysis.
    max_stages : analyses that may add tokens; the remaining Adam steps are split evenly between them.
        (The paper's 1-D case: 10^4 steps, first_stage 0.5, one stage.) A last analysis at the end of
        the Adam phase is only recorded. None: stages as long as the first until K_post is stable.
    grid : points per axis of the DFT grid (int or one per coordinate); default 4096 in 1-D, else the
        power of two with at most 2^16 grid points.
    window : "hann" or None.  peaks : "local" or "all".  padding : "repeat" or "zero" (see module notes).
    max_new : most frequencies added per stage (None: no cap).
    zeta : "running" (the largest seen so far) or "current" (this spectrum's, the seed's).
    spectrum : "half" (no constant mode, one member per conjugate pair) or "full" (the seed's B).
    mask : eta, the logit bias of new tokens at the start of their stage (< 0).
    hold : fraction of the stage for which eta is held; release : "cosine" or "linear" rise to 0 after.
    stable_overlap : |K_s & K_{s-1}| / |K_s | K_{s-1}| at or above which K_post counts as stable.
    fields : fields whose spectra are analysed (default all; K_post is the union).
    source : "solution" (the seed), "residual" (the equations' residuals) or "both" (see module notes).
    """

    threshold: float = 0.02
    first_stage: float = 0.5
    max_stages: int = 2
    grid: int | Sequence[int] | None = None
    window: str | None = "hann"
    peaks: str = "local"
    padding: str = "repeat"
    max_new: int = 64
    mask: float = -6.0
    hold: float = 0.7
    release: str = "cosine"
    stable_overlap: float = 1.0
    fields: Sequence[str] | None = None
    source: str = "solution"
    zeta: str = "running"
    spectrum: str = "half"

    @classmethod
    def seed_literal(cls, **overrides: Any) -> "AFE":
        """Seed 000 as written: plain DFT, every coefficient of B above lambda * zeta with zeta from the
        current spectrum, |K_post| features with zero padding, no cap on new frequencies or stages."""
        settings = dict(window=None, peaks="all", padding="zero", max_new=None, max_stages=None, zeta="current",
                        spectrum="full")
        return cls(**{**settings, **overrides})

    def __post_init__(self) -> None:
        checks = [
            (0 < self.threshold < 1, f"threshold (lambda) must lie in (0, 1), got {self.threshold!r}"),
            (0 < self.first_stage < 1, f"first_stage must lie in (0, 1), got {self.first_stage!r}"),
            (self.max_stages is None or (isinstance(self.max_stages, int) and self.max_stages >= 1),
             f"max_stages must be an integer >= 1 or None, got {self.max_stages!r}"),
            (self.window in (None, "hann"), f"window must be 'hann' or None, got {self.window!r}"),
            (self.peaks in ("local", "all"), f"peaks must be 'local' or 'all', got {self.peaks!r}"),
            (self.padding in ("repeat", "zero"), f"padding must be 'repeat' or 'zero', got {self.padding!r}"),
            (self.max_new is None or (isinstance(self.max_new, int) and self.max_new >= 1),
             f"max_new must be an integer >= 1 or None, got {self.max_new!r}"),
            (self.zeta in ("running", "current"), f"zeta must be 'running' or 'current', got {self.zeta!r}"),
            (self.spectrum in ("half", "full"), f"spectrum must be 'half' or 'full', got {self.spectrum!r}"),
            (math.isfinite(self.mask) and self.mask <= 0, f"mask (eta) must be finite and <= 0, got {self.mask!r}"),
            (0 <= self.hold <= 1, f"hold must lie in [0, 1], got {self.hold!r}"),
            (self.release in RELEASES, f"release must be one of {RELEASES}, got {self.release!r}"),
            (0 < self.stable_overlap <= 1, f"stable_overlap must lie in (0, 1], got {self.stable_overlap!r}"),
            (self.source in SOURCES, f"source must be one of {SOURCES}, got {self.source!r}"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(f"AFE: {msg}")

    def eta(self, fraction: float) -> float:
        """The new tokens' logit bias ``fraction`` of the way through their stage."""
        if fraction < self.hold:
            return self.mask
        rise = min((fraction - self.hold) / max(1 - self.hold, 1e-12), 1.0)
        return self.mask * (0.5 * (1 + math.cos(math.pi * rise)) if self.release == "cosine" else 1 - rise)

    def grid_shape(self, d: int) -> tuple[int, ...]:
        if self.grid is None:
            return (4096,) if d == 1 else (2 ** (16 // d),) * d
        shape = (self.grid,) * d if isinstance(self.grid, int) else tuple(self.grid)
        if len(shape) != d or any(not isinstance(n, int) or n < 8 for n in shape):
            raise ValueError(f"AFE: grid must be one integer >= 8 per coordinate ({d}), got {self.grid!r}")
        return shape

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Peaks:
    """Frequencies found in one spectrum: k (m, d) integer indices (cycles per box), strongest first;
    relative (m,) = |u^_k| / max(zeta, reference); zeta of this spectrum."""

    k: np.ndarray
    relative: np.ndarray
    zeta: float


def find_frequencies(values: np.ndarray, threshold: float, window: str | None = "hann",
                     peaks: str = "local", reference: float = 0.0, spectrum: str = "half") -> Peaks:
    """K_post of a field sampled on a uniform periodic grid of the box (any dimension).

    Parameters
    ----------
    values : (n_1, ..., n_d) array
    threshold : lambda; window, peaks : see :class:`AFE`.
    reference : a zeta from earlier analyses; the threshold is lambda * max(zeta, reference).
    spectrum : "half" or "full" (see :class:`AFE`).
    """
    v = np.asarray(values, dtype=np.float64)
    level = float(np.abs(v).max()) if v.size else 0.0
    if spectrum == "half":
        v = v - v.mean()
    if window == "hann":
        for axis, n in enumerate(v.shape):
            w = 0.5 * (1 - np.cos(2 * np.pi * np.arange(n) / n))
            v = v * w.reshape([-1 if a == axis else 1 for a in range(v.ndim)])
    mag = np.abs(np.fft.fftn(v)) / v.size
    k = np.stack(np.meshgrid(*[np.fft.fftfreq(n, 1 / n).astype(int) for n in v.shape], indexing="ij"), -1)
    # one member of each conjugate pair: the first non-zero index is positive (this also drops k = 0)
    first = np.take_along_axis(k, np.argmax(k != 0, axis=-1)[..., None], -1)[..., 0]
    canonical = first > 0 if spectrum == "half" else np.ones(first.shape, bool)
    zeta = float(mag[canonical].max()) if canonical.any() else 0.0
    top = max(zeta, reference)
    if not np.isfinite(top) or top <= ROUNDOFF * level:  # a constant, up to round-off
        return Peaks(np.zeros((0, v.ndim), dtype=int), np.zeros(0), zeta)
    keep = canonical & (mag > threshold * top)
    if peaks == "local":
        for shift in itertools.product((-1, 0, 1), repeat=v.ndim):
            if any(shift):
                keep &= mag >= np.roll(mag, shift, axis=tuple(range(v.ndim)))
    order = np.argsort(-mag[keep], kind="stable")
    return Peaks(k[keep][order], mag[keep][order] / top, zeta)


def post_features(k: np.ndarray, width: int, padding: str, generator: torch.Generator,
                  dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """omega (M, d), phases (M,) and scales (M,) of the tokens for frequencies ``k`` (strongest first),
    M a multiple of ``width``: omega = 2 pi k / L with L = 2, the normalised box."""
    m = len(k)
    size = math.ceil(m / width) * width
    idx = np.arange(size) % m
    omega = torch.as_tensor(np.pi * k[idx], dtype=dtype)
    phase = 2 * math.pi * torch.rand(size, generator=generator, dtype=dtype)
    if padding == "repeat":
        scale = torch.full((size,), math.sqrt(2 / size), dtype=dtype)
    else:  # the seed's |K_post| features; the rest of the token is zero
        scale = torch.where(torch.arange(size) < m, math.sqrt(2 / m), 0.0).to(dtype)
        omega[m:] = 0
    return omega, phase, scale


class AFERun(Plugin):
    """AFE during one training run, a plug-in of the training loop: stage boundaries, the mask schedule,
    analyses, and their record. It talks to the network through its token interface (``token_width``,
    ``add_tokens``, ``set_token_bias``).

    ``record(key, value)`` and ``event(text)`` write to the run's history.
    """

    name = "afe"

    def __init__(self, afe: AFE, problem: Problem, model: PINNModel, adam_steps: int, seed: int,
                 record: Callable[[str, Any], None], event: Callable[[str], None]):
        network = model.network
        if not all(hasattr(network, a) for a in ("token_width", "add_tokens", "set_token_bias")):
            raise ValueError(f"AFE appends tokens to a token network (CrossAttentionNet); {type(network).__name__} has none")
        unknown = [f for f in (afe.fields or ()) if f not in problem.fields]
        if unknown:
            raise ValueError(f"AFE: fields {unknown} are not fields of the problem {problem.fields}")
        first = round(afe.first_stage * adam_steps)
        stages = afe.max_stages or max((adam_steps - first) // max(first, 1), 1)  # None: as long as the first
        length = (adam_steps - first) // stages
        if first < 1 or length < 1:
            raise ValueError(f"AFE needs Adam steps to split: steps={adam_steps} leaves {first} base steps and "
                             f"{length} per stage (first_stage={afe.first_stage}, max_stages={afe.max_stages})")
        self.afe, self.problem, self.model, self.seed = afe, problem, model, seed
        self.record, self.event = record, event
        self.boundaries = [first + s * length for s in range(stages)] + [adam_steps]
        self.length = length
        self.shape = afe.grid_shape(len(problem.coordinates))
        self.fields = [problem.fields.index(f) for f in (afe.fields or problem.fields)]
        # state (checkpointed): analyses done, frequencies with tokens, the stage being released, finished
        self.analyses = 0
        self.zeta: dict[str, float] = {}  # largest zeta seen per analysed signal
        self.added: list[tuple[int, ...]] = []
        self.previous: list[tuple[int, ...]] | None = None
        self.releasing: tuple[int, int, int] | None = None  # (first token, end token, start step)
        self.finished = False

    # -- plug-in hooks ---------------------------------------------------------------------------------
    def before_step(self, trainer: Any) -> None:
        if trainer.phase() == "adam":
            self.release(trainer.step)

    def after_step(self, trainer: Any) -> None:
        if self.due(trainer.step):
            trainer.flush()
            self.analyse(trainer.step, trainer.evaluate())
            trainer.snapshot()  # a later recovery must not fall back to fewer tokens

    # -- per step --------------------------------------------------------------------------------------
    def release(self, step: int) -> None:
        """Set the logit bias of the tokens being released; record eta."""
        eta = 0.0
        if self.releasing is not None:
            lo, hi, start = self.releasing
            fraction = (step - start) / self.length
            eta = self.afe.eta(fraction) if fraction < 1 else 0.0
            self.model.network.set_token_bias(slice(lo, hi), eta)
            if fraction >= 1:
                self.releasing = None
        self.record("afe/eta", eta)

    def due(self, step: int) -> bool:
        """Whether an analysis is due after ``step`` Adam steps."""
        return self.analyses < len(self.boundaries) and step == self.boundaries[self.analyses]

    # -- at a boundary ---------------------------------------------------------------------------------
    def analyse(self, step: int, errors: dict[str, float] | None) -> None:
        """Find K_post on the current solution, record it, and append tokens (unless stable or final)."""
        final = self.analyses == len(self.boundaries) - 1
        self.analyses += 1
        values, names = self.grid_signals()
        found: dict[tuple[int, ...], float] = {}
        zetas = []
        for i, name in enumerate(names):
            earlier = self.zeta.get(name, 0.0) if self.afe.zeta == "running" else 0.0
            peaks = find_frequencies(values[..., i], self.afe.threshold, self.afe.window, self.afe.peaks, earlier,
                                     self.afe.spectrum)
            self.zeta[name] = max(self.zeta.get(name, 0.0), peaks.zeta)
            zetas.append(peaks.zeta)
            self.record(f"afe/zeta/{name}", peaks.zeta)
            for k, r in zip(map(tuple, peaks.k.tolist()), peaks.relative.tolist()):
                found[k] = max(found.get(k, 0.0), r)
        ranked = sorted(found, key=lambda k: -found[k])
        overlap = _overlap(ranked, self.previous)
        unseen = [k for k in ranked if k not in self.added]
        new = unseen[: self.afe.max_new] if self.afe.max_new else unseen
        stable = self.previous is not None and overlap >= self.afe.stable_overlap
        self.previous = ranked
        for key, value in (("step", step), ("n_found", len(ranked)), ("n_new", 0 if final or stable else len(new)),
                           ("overlap", overlap), ("stable", int(stable)), ("final", int(final))):
            self.record(f"afe/{key}", value)
        for f, e in (errors or {}).items():
            self.record(f"afe/rel_l2/{f}", e)
        for k in ranked:
            self.record("afe/k", list(k))
            self.record("afe/k_analysis", self.analyses)
            self.record("afe/k_relative", found[k])
            self.record("afe/k_added", int(k in new and not (final or stable)))
        lengths = (self.problem.domain.bounds[1] - self.problem.domain.bounds[0]).tolist()
        listed = ", ".join(_describe(k, lengths) for k in ranked[:12]) + (" ..." if len(ranked) > 12 else "")
        head = f"AFE analysis {self.analyses} at step {step}: "
        if not ranked:
            self.finished = True
            self.event(head + f"no frequency above {self.afe.threshold:g} zeta (zeta = {max(zetas, default=0):.3g}); "
                       "no tokens added, AFE ends")
        elif final:
            self.event(head + f"{len(ranked)} frequencies above {self.afe.threshold:g} zeta after the last stage "
                       f"({listed}); stable: {stable}")
        elif stable or not new:
            self.finished = True
            self.event(head + f"K_post is stable ({len(ranked)} frequencies, overlap {overlap:.2f}): {listed}; "
                       "AFE ends, training goes on")
        else:
            capped = f" (of {len(unseen)}: the cap max_new)" if len(unseen) > len(new) else ""
            tokens = self.add(new)
            self.event(head + f"{len(ranked)} frequencies above {self.afe.threshold:g} zeta ({listed}); "
                       f"{len(new)} new{capped}, {tokens} token(s) appended")
        if self.finished or final:
            self.analyses = len(self.boundaries)

    def add(self, new: list[tuple[int, ...]]) -> int:
        net = self.model.network
        width = net.token_width
        gen = torch.Generator().manual_seed(self.seed * 7919 + self.analyses)
        omega, phase, scale = post_features(np.array(new), width, self.afe.padding, gen, self.model.dtype)
        device = self.model.device
        tokens = net.add_tokens(omega.to(device), phase.to(device), scale.to(device))
        self.added += new
        self.releasing = (tokens.start, tokens.stop, self.boundaries[self.analyses - 1])
        net.set_token_bias(tokens, self.afe.eta(0.0))
        return tokens.stop - tokens.start

    def grid_signals(self) -> tuple[np.ndarray, list[str]]:
        """The analysed signals on the grid, (*grid, n_signals), and their names: the chosen fields
        and/or every equation residual. Outside a non-box domain each grid point takes the value of the
        nearest inside point."""
        axes = [np.linspace(-1, 1, n, endpoint=False) for n in self.shape]
        x = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(axes))
        lower, upper = (np.asarray(b, dtype=np.float64) for b in self.problem.domain.bounds)
        physical = lower + (x + 1) / 2 * (upper - lower)
        inside = np.asarray(self.problem.domain.contains(physical), dtype=bool)
        if not inside.any():
            raise ValueError("AFE: no point of its grid lies inside the domain; use a finer grid")
        like = dict(dtype=self.model.dtype, device=self.model.device)
        columns, names = [], []
        if self.afe.source in ("solution", "both"):
            with torch.no_grad():
                out = torch.cat([self.model(p) for p in torch.as_tensor(physical[inside], **like).split(CHUNK)])
            columns += [out[:, i].cpu().double().numpy() for i in self.fields]
            names += [self.problem.fields[i] for i in self.fields]
        if self.afe.source in ("residual", "both"):
            for term in self.problem.equations:
                parts = [self.residuals(term, torch.as_tensor(p, **like)) for p in np.array_split(physical[inside], max(1, inside.sum() // CHUNK))]
                for j in range(len(parts[0])):
                    columns.append(np.concatenate([p[j] for p in parts]))
                    names.append(f"residual:{term}" + (f":{j}" if len(parts[0]) > 1 else ""))
        out = np.zeros((inside.size, len(columns)))
        out[inside] = np.stack(columns, 1)
        out = out.reshape(*self.shape, -1)
        inside = inside.reshape(self.shape)
        if not inside.all():
            from scipy import ndimage  # only for non-box domains; a third of a second of `import pinnfreq`

            nearest = ndimage.distance_transform_edt(~inside, return_distances=False, return_indices=True)
            out = out[tuple(nearest)]
        return out, names

    def residuals(self, term: str, points: torch.Tensor) -> list[np.ndarray]:
        return [r.cpu().double().numpy() for r in residuals(self.problem, self.model, term, points)]

    # -- checkpoints -------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"analyses": self.analyses, "added": [list(k) for k in self.added],
                "previous": None if self.previous is None else [list(k) for k in self.previous],
                "releasing": self.releasing, "finished": self.finished, "zeta": dict(self.zeta),
                "settings": self.afe.to_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.analyses, self.finished = int(state["analyses"]), bool(state["finished"])
        self.zeta = {k: float(v) for k, v in state["zeta"].items()}
        self.added = [tuple(k) for k in state["added"]]
        self.previous = None if state["previous"] is None else [tuple(k) for k in state["previous"]]
        self.releasing = None if state["releasing"] is None else tuple(state["releasing"])


def _overlap(a: Sequence, b: Sequence | None) -> float:
    if b is None:
        return 0.0
    union = set(a) | set(b)
    return len(set(a) & set(b)) / len(union) if union else 1.0


def _describe(k: tuple[int, ...], lengths: Sequence[float]) -> str:
    """k in cycles per box, and in cycles per unit of each physical coordinate when they differ."""
    per_unit = tuple(round(ki / li, 4) for ki, li in zip(k, lengths))
    text = "k=(" + ", ".join(map(str, k)) + ")"
    return text if all(abs(p - ki) < 1e-9 for p, ki in zip(per_unit, k)) else text + f" [{', '.join(f'{p:g}' for p in per_unit)}/unit]"
