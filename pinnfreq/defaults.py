"""What ``solve()`` chooses when the user gives a problem and nothing else.

The choices, each recorded in the history's events with its reason:

- **The bank's frequencies from the problem's data.** The sources (the equations evaluated at u = 0),
  the initial values and the Dirichlet values are known before training; their spectra on a grid of
  the domain's box say which angular frequencies (in the normalised box [-1, 1]^d the network sees) the
  solution must carry along each coordinate. The seed's bank (sigma = 1, K = 4 dyadic scales) reaches
  about |omega| = 20; where the data need more along a coordinate, the bank's frequencies along it
  are stretched by the factor that covers them with a 1.5x margin, the envelope's beta_init divided by
  the same factor (the seed's 0.1 at the seed's scale: a fixed 0.1 damps |omega| = 80 by e^-8 and
  blocks exactly the frequencies the data ask for), and, stretched 2x or more, the composite
  low-frequency output is switched on (a stretched bank has fewer slow features; PINN losses weight mode k by k^2 or more, so the low
  modes are the slow ones).
- **The data's spectral lines as tokens.** Where the data beyond the bank's reach are a few sharp
  spectral lines (sin(500 pi x), not a chirp: ``spectral_lines``), each line becomes Fourier features
  at exactly its frequency, appended as tokens (AFE's features, taken from the data before training
  instead of from the solution during it), where the bank would otherwise be stretched more than
  MAX_STRETCH to reach them; the bank then keeps the seed's scale, the lines carrying the high
  frequencies. A bank of 128 features stretched 59x for the heat equation's sin(500 pi x) fits the
  collocation points and nothing between them (120 s, 3 seeds: 0.88-1.08; with the line as a token
  and the seed's bank: 0.024-0.028). Nearer (the multi-scale Poisson 1-D, 5.9x) the stretch alone
  did better than with the line as a token too (benchmarks/README.md).
- **The time scale of the initial state.** Along time the data (initial values) show nothing of how
  fast the solution turns: sin(x) advected at speed 50 is smooth data and a solution with 8 periods in
  t. The equations at u = u0 give the initial u_t (``initial_rate``); the part of it out of phase with
  u0 (a travelling wave's, not a decay's) counts as a frequency along time. Where it turns a period or
  more over the interval, the hard constraints' factor in time rises over one radian of the turn
  (``time_scale``; :mod:`pinnfreq.constraints`), so that the network carries values of the solution's
  size instead of (u - u0) / tau^k: at 120 s over 3 seeds, advection 0.73 -> 0.49, the wave 0.44 -> 0.31.
- **A plain network where one smooth field is sought.** For one field whose data carry no frequency
  above |omega| = 20 (``MLP_REACH``, the seed's bank's reach), the network is
  a tanh MLP, 4 x 50 (the size of DeepXDE's examples; 4 x 32 for a forward problem on a budget under
  LONG_BUDGET, whose extra steps paid there: ``mlp_size``): at equal time its steps cost a third of the
  cross-attention network's, and on such problems that decided the race (120 s, 2-3 seeds, with new
  points every 100 Adam steps; benchmarks/README.md): Burgers 1.6e-2-2.7e-2 against the CPU-size
  cross-attention network's 9.4e-2-0.17, the L-shaped Poisson problem 3.4e-4 against 1.0e-3-2.8e-3,
  inverse Burgers 2.9e-2 against 7.2e-2; Helmholtz (1.5e-3) and the wave equation (0.44) as with the
  cross-attention network. An empirical rule, from the bundled suite: on the two flows (three fields
  with a pressure) the MLP failed where the cross-attention network did not (Kovasznay 1.02 in one
  run of three, the cavity 1.2 against 0.6; measured before loss balancing stopped weighting up the cavity's
  satisfied pressure gauge, not measured again since). The cross-attention network is what the package is for:
  data with frequencies a plain network learns late (spectral bias; it won by 30x on the multi-scale
  Poisson problem).
  High frequencies the data do not announce (a shock forming from smooth data) are not seen by this
  rule. A periodic coordinate x enters the MLP as (cos pi x, sin pi x) in the normalised box (the
  periodic embedding of Dong & Ni 2021, as in jaxpi), so the condition holds exactly and leaves the
  loss: on Allen-Cahn and KdV (120 s, 3 seeds) 0.05 and 0.30 against the cross-attention network's
  0.50 and 0.65. Its conditions that stay loss terms get 1,024 points each (``CONDITION_POINTS``): the
  L-shaped Poisson problem's error sat at its boundary with 256.
- **The MLP's features along time at the initial state's rate.** Where the initial state turns more
  than a period over the interval, the MLP also sees cos and sin of TIME_OCTAVES times that rate
  (``time_features``): the frequency along time no data show is handed to the network instead of
  learnt last. Advection at speed 50 had the cross-attention network (its bank stretched along t);
  with the features the MLP takes it from 0.83 to 4.5e-3, and the wave from 0.36 to 4.8e-2 (120 s,
  medians of 3 seeds on a 2-core Xeon; DeepXDE 0.90 and 1.0: benchmarks/README.md). The time axis's
  rate then no longer counts against MLP_REACH.
- **A size that fits the device.** At equal wall-clock time, fewer and dearer steps lose: on a CPU the
  network is the seed's architecture at a quarter of the paper's width (M = 128 features, d_q = 32,
  L = 2 blocks), about 8x cheaper a step (``benchmarks/step_cost.py``); on a GPU the paper's sizes.
- **Fewer, cheaper steps' worth of points for a steady problem**: the plain MLP on a problem without
  time trains on STEADY_POINTS interior points per equation below LONG_BUDGET, not 2,000: at equal time
  the steps pay more than the points there (elliptic regularity keeps the solution smooth between
  them), where on evolution problems the points paid more (the wave, Burgers' shock).
- **Periodic coordinates exactly periodic**: for each ``Periodic`` condition, the MLP's input embedding
  above, or the bank's frequencies along its coordinate snapped to multiples of 2 pi / period (the
  cross-attention network reads the input only through the bank): periodic to round-off, and the
  condition leaves the loss.
- **Adam, then L-BFGS**, each for half of a time budget (the budget binds, not a step count), as
  DeepXDE's examples do. Measured at 120 s (benchmarks/README.md), L-BFGS for three quarters of the
  budget (``lbfgs_share=0.75``) helped the smooth problems (Helmholtz 1.5e-3 -> 6.0e-4, Allen-Cahn
  5.0e-2 -> 2.9e-2, KdV 0.30 -> 0.18, inverse Burgers 2.9e-2 -> 1.3e-2, medians of 3 seeds) but lost
  Burgers' shock (median of 5 seeds 1.6e-2 -> 5.9e-2, three runs at 0.06-0.22) while L-BFGS trained
  on RAD's last draw alone: half stays the default, except for the plain MLP on an evolution problem,
  where EVOLUTION_LBFGS_SHARE (0.75) of a budget under LONG_BUDGET goes to L-BFGS (at 120 s on an AMD
  EPYC, the wave 0.51 -> 0.37, KdV 0.44 -> 0.31; with L-BFGS on RAD's last draw and as many uniform
  points, Burgers held, 7.1e-3 over 5 runs without a missed shock, and Allen-Cahn gained, 0.28-0.36 ->
  0.17). With
  L-BFGS also on new points every 200 iterations (``lbfgs_resample_every=200``) Burgers came to
  6.8e-3 (3.7e-3-1.6e-2, 5 seeds), but the L-shape (1.1e-3 against 3.5e-4) and the wave (0.93 against 0.44)
  lost more: not a default either; nor with half the budget for L-BFGS (Burgers 1.6e-2 -> 9.4e-3,
  Allen-Cahn 5e-2 -> 8e-2, Helmholtz 1.5e-3 -> 2.2e-3, the L-shape 3.8e-4 -> 9e-4; medians over 2-5
  seeds). And
  gradient-norm loss balancing where conditions stay loss terms (a satisfied one, such as a pressure gauge,
  not weighted up: ``pinnfreq.train.plugins.weighting.SATISFIED``); without a budget, the configured
  steps and weights. For the cross-attention network the collocation points stay fixed below a budget
  of LONG_BUDGET = 300 s (new points every 100 Adam steps did not pay at 120 s over 3-4 seeds; at 600 s
  they did: long fits of one point set drift); for the MLP they are drawn anew every 100
  Adam steps: with fixed points its Burgers fits missed the shock in 2 of 3 runs (benchmarks/README.md),
  the equations' points where the residual is large (RAD, ``default_plugins``).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from .afe import post_features
from .calling import call
from .conditions import Context, Dirichlet, Initial, Periodic
from .diff import FieldStore
from .nn import MLP, CrossAttentionNet
from .problem import Problem
from .train.config import TrainConfig
from .train.plugins import RAD, CausalWeighting, Plugin

BANK_REACH = 20.0  # |omega| the seed's bank covers at sigma = 1: ~2.5 sigma^-1 2^(K-1), K = 4
MARGIN = 1.5
# the highest |omega| of the data (as data_frequencies measures it) below which the default is a plain MLP:
# Helmholtz (sin(pi x) sin(4 pi y), measured 15.7) and Kovasznay flow (15.7) were won by the MLP at 120 s
MLP_REACH = 20.0
LINES, LINE_POINTS = 16, 4096  # the spectral probe's lines per coordinate and points per line
BIN = 2 * math.pi / (2.0 * LINE_POINTS / (LINE_POINTS - 1))  # its frequency resolution: the lines span a length 2
TURNS = 2 * math.pi  # the initial state turning a full period over the time interval: the hard constraints rise faster
PEAK_AMPLITUDE = 1e-2  # a peak of the data's spectrum is a line above this fraction of the top
MAX_LINES = 32  # lines per coordinate at most (one token of the CPU-size network)
SHARP = 10.0  # a line stands this many times above the amplitude 3 bins away
EXPLAINED = 0.9  # lines explaining this fraction of the data's energy beyond the bank's reach count
# a bank stretched further than this to reach spectral lines keeps the seed's scale instead (the lines are
# tokens): measured between the multi-scale Poisson 1-D's 5.9x (the stretch alone best: with its line as a
# token too, 120 s, 3 seeds, 4.9e-3-8.9e-3 against 5.9e-4-2.8e-3) and the heat equation's 59x
MAX_STRETCH = 10.0
# from this time budget (s) on, the cross-attention network also trains on new points every 100 Adam steps:
# between the 120 s where that did not pay and the 600 s where it did (benchmarks/README.md)
LONG_BUDGET = 300.0
# points per condition that stays a loss term, for the plain MLP (TrainConfig's 256 otherwise): with 256 the
# L-shaped Poisson problem's error sat at its boundary (rms 1e-3 within 0.02 of it, 6e-5 deep inside; 120 s,
# 3 seeds: 3.4e-4-4.5e-4 with 256, 2.3e-4-3.1e-4 with 1024). Not for the cross-attention network, whose
# dearer steps the extra points cost: the cavity 0.15-0.25 -> 0.21-0.28, Kovasznay flow 2.4e-3 -> 3.7e-3 (seed 0)
CONDITION_POINTS = 1024
# the plain MLP's points redrawn where the residual is large (RAD, k = 1), every RAD_EVERY Adam steps, with a
# uniform share c / (1 + c): at 120 s, medians of 3 seeds, Burgers 1.6e-2 (uniform) -> 6.1e-3 (c = 1) -> 3.3e-3
# (c = 3); KdV, the one problem it costs, 0.30 -> 0.56 (c = 1) -> 0.44 (c = 3); the L-shape 1.4e-4 with c = 1
RAD_EVERY, RAD_C = 100, 3.0
# the plain MLP's size (hidden width, hidden layers): DeepXDE's examples' 4 x 50 from LONG_BUDGET on and where
# parameters are unknown; narrower below it for forward problems, whose extra steps paid there (see mlp_size)
MLP_SIZE, MLP_SIZE_SHORT = (50, 4), (32, 4)
# RAD only for equations of at most this derivative order: KdV (u_xxx), the suite's one third-order equation, lost
# with it at every budget measured (Intel Xeon: 120 s 0.30 -> 0.50 over 5 seeds, 600 s 0.040 -> 0.11; AMD EPYC:
# 120 s over 5 seeds, at ~1,500 steps, 0.49 -> 0.44; 600 s, seed 0, 0.17 -> 0.061); the second-order ones
# (Burgers, inverse Burgers, Allen-Cahn) gained or held
RAD_MAX_ORDER = 2
# interior points per equation for the plain MLP on a steady problem (TrainConfig's 2,000 otherwise): at 120 s on an
# AMD EPYC (about half the Xeon's steps), medians of 3 seeds, 2,000 -> 1,000 points took the L-shaped Poisson problem
# from 1.1e-3 to 2.7e-4 and Helmholtz from 1.6e-3 to 8.6e-4 (more steps pay where elliptic regularity keeps the
# solution smooth between points); on evolution problems they did not pay: the wave 0.35 -> 0.80, Burgers 5.9e-3 ->
# 3.8e-2, inverse Burgers 1.5e-2 -> 2.6e-2 (Allen-Cahn 8.7e-2 -> 5.4e-2); benchmarks/README.md
STEADY_POINTS = 1000
# L-BFGS's share of a budget under LONG_BUDGET for the plain MLP on an evolution problem: L-BFGS's longer run pays.
# At 120 s on the AMD EPYC, medians of 3 seeds: the wave 0.51 -> 0.37, KdV 0.44 (5 seeds) -> 0.31 (uniform points);
# with RAD's points (L-BFGS on its last draw and as many uniform points) Burgers 7.5e-3 (4 runs) -> 7.1e-3 (5 runs, no
# missed shock), Allen-Cahn 0.28-0.36 -> 0.17 (3 seeds). Burgers had lost its shock at 0.75 while L-BFGS trained
# on RAD's last draw alone (Intel Xeon, 1.6e-2 -> 5.9e-2). On the steady problems it lost (Helmholtz 9.7e-4 ->
# 1.3e-3, the L-shape 6.5e-4 -> 7.9e-4); not measured at 300 s or more
EVOLUTION_LBFGS_SHARE = 0.75
# the MLP's features along time, as multiples of the initial state's rate (``time_features``): at 120 s,
# seed 0, the single rate gave advection 6.1e-3 and the wave 0.53; these octaves 1.1e-2 and 5.9e-2
TIME_OCTAVES = (0.25, 0.5, 1.0, 2.0)
RELATIVE_AMPLITUDE = 1e-2  # a frequency counts when its windowed amplitude exceeds this fraction of the peak


def data_frequencies(problem: Problem) -> np.ndarray:
    """Per coordinate, the highest angular frequency (in the normalised box [-1, 1]^d) in the problem's
    known data: sources, initial values, Dirichlet values; along time, also the initial state's rate of
    change (:func:`initial_rate`). Shape (d,); 0 where nothing varies.

    Measured along LINES lines per coordinate (the other coordinates at scattered positions in the
    box), LINE_POINTS points each: a resolution no full grid of the box affords in 2-D or 3-D.
    """
    out = np.array([max((_highest_frequency(amp) for amp in spectra), default=0.0) for spectra in _spectra(problem)])
    if problem.time is not None:
        lower, upper = problem.domain.bounds
        axis = problem.coordinates.index(problem.time)
        out[axis] = max(out[axis], initial_rate(problem) * (upper[axis] - lower[axis]) / 2)
    return out


def spectral_lines(problem: Problem) -> list[tuple[np.ndarray, float]]:
    """Per coordinate, the data's spectral lines beyond the bank's reach and how much of the data they explain.

    In the data's spectra along the probe's lines (:func:`data_frequencies`), a line is a local maximum
    above PEAK_AMPLITUDE of the function's top, beyond |omega| = BANK_REACH (normalised box), standing
    SHARP times above the amplitude 3 bins away (past a Hann main lobe a sinusoid's leakage is ~1e-3 of
    it; a chirp's ripple is not), located between bins by a parabola through the log amplitudes (the
    shape of a Hann peak: ~1e-3 bin for a clean sinusoid). Returns, per coordinate, the lines' |omega|
    (strongest first, at most MAX_LINES) and the least, over the data functions, of the fraction of their
    energy beyond BANK_REACH (in bins above RELATIVE_AMPLITUDE of the top: what :func:`data_frequencies`
    counts) within the main lobes (+-2 bins) of the lines: 1 for sin(500 pi x), or for data with nothing
    beyond the bank's reach; 0 for a chirp's continuous spectrum.
    """
    out = []
    for spectra in _spectra(problem):
        lines: dict[float, float] = {}
        explained = 1.0
        for amp in spectra:
            beyond = np.arange(len(amp)) * BIN > BANK_REACH
            near = np.zeros(len(amp), bool)
            for k in np.nonzero(beyond[3:-3])[0] + 3:
                if (amp[k] >= PEAK_AMPLITUDE * amp.max() and amp[k] >= amp[k - 1] and amp[k] > amp[k + 1]
                        and amp[k] >= SHARP * max(amp[k - 3], amp[k + 3])):
                    a, b, c = np.log(amp[k - 1:k + 2])
                    w = round((k + 0.5 * (a - c) / (a - 2 * b + c)) * BIN, 6)  # a local maximum: a - 2b + c < 0
                    lines[w] = max(lines.get(w, 0.0), amp[k] / amp.max())
                    near[k - 2:k + 3] = True
            seen = beyond & (amp >= RELATIVE_AMPLITUDE * amp.max())
            if seen.any():
                explained = min(explained, float((amp[seen & near] ** 2).sum() / (amp[seen] ** 2).sum()))
        out.append((np.array(sorted(lines, key=lambda w: -lines[w])[:MAX_LINES]), explained))
    return out


def _spectra(problem: Problem) -> list[list[np.ndarray]]:
    """Per coordinate, per data function that varies along it: the Hann-windowed amplitude spectrum along
    LINES lines of LINE_POINTS points (the other coordinates at scattered positions), summed over the lines."""
    d = len(problem.coordinates)
    lower, upper = problem.domain.bounds
    rng = np.random.default_rng(0)
    out = []
    for axis in range(d):
        mesh = np.repeat(lower + (upper - lower) * rng.random((LINES, d)), LINE_POINTS, axis=0)
        mesh[:, axis] = np.tile(np.linspace(lower[axis], upper[axis], LINE_POINTS), LINES)
        spectra = []
        for values in _data_on(problem, mesh):
            v = np.where(np.isfinite(values), values, 0.0).reshape(LINES, LINE_POINTS)
            v = v - v.mean(1, keepdims=True)
            if np.ptp(v) > 1e-9 * (1 + np.abs(values).max()):  # not round-off of a constant
                spectra.append(np.abs(np.fft.rfft(v * np.hanning(LINE_POINTS), axis=-1)).sum(0))
        out.append(spectra)
    return out


def initial_rate(problem: Problem, n: int = 4096) -> float:
    """How fast the initial state starts to move, in radians per unit time: the time frequency the
    solution starts with, which no data show (sin(x) advected at speed 50 oscillates 50 times faster
    in time than its data announce).

    The equations evaluated at u(x, t) = u0(x) (initial values held in time, so u_t = 0) give -u_t(., t0)
    for a first-order evolution, -u_tt(., t0) for a second-order one (an initial velocity is given).
    For a travelling wave u = A sin(k x - w t), rms(u_t) / rms(u - mean u) = w; for a first-order
    evolution only the part of u_t out of phase with u0 counts (what is in phase, u_t = -lambda u0, is
    decay or growth: the heat equation's sin(k x) decays at k^2 without turning); for a second-order one
    rms(u_tt - mean u_tt) / rms(u - mean u) = w^2. 0 where there is no time, no initial value that varies, or the
    equations need more than u0 (a function outside torch, an unknown field). A heuristic: several
    modes decaying at different rates also leave an out-of-phase part.
    """
    initial = [c for c in problem.conditions if isinstance(c, Initial)]
    if problem.time is None or not initial:
        return 0.0
    lower, upper = problem.domain.bounds
    x = torch.as_tensor(lower + (upper - lower) * np.random.default_rng(1).random((n, len(lower))),
                        dtype=torch.float64).requires_grad_(True)
    coords = {c: x[:, i] for i, c in enumerate(problem.coordinates)}
    zero = _zero(x)
    columns = [zero] * len(problem.fields)
    deviations, second_order = [], False
    try:
        for c in initial:
            u0 = zero + torch.as_tensor(call(c.value, coords), dtype=torch.float64)
            columns[problem.fields.index(c.field)] = u0
            deviations.append((u0 - u0.mean()).detach())
            second_order |= c.derivative is not None
        ctx = _context(problem, x, columns)
        rates = [r.detach() for key in problem.equations for r in problem.equation_residuals(key, ctx)]
    except Exception:  # noqa: BLE001 -- a probe: what it cannot evaluate tells nothing
        return 0.0
    spread = max(float(d.pow(2).mean().sqrt()) for d in deviations)
    if not math.isfinite(spread) or spread < 1e-12 or not rates or not all(bool(torch.isfinite(r).all()) for r in rates):
        return 0.0
    if second_order:
        return math.sqrt(max(float((r - r.mean()).pow(2).mean().sqrt()) for r in rates) / spread)
    basis = torch.stack([torch.ones(n, dtype=torch.float64), *deviations], 1)  # constant level and u0's shape
    out = 0.0
    for r in rates:
        coef = torch.linalg.lstsq(basis, r[:, None]).solution
        turning = float((r[:, None] - basis @ coef).pow(2).mean().sqrt())
        out = max(out, turning if turning > 1e-6 * float(r.pow(2).mean().sqrt()) else 0.0)
    return out / spread


def time_scale(problem: Problem) -> float | None:
    """The time the initial state takes to turn one radian, as a fraction of the time interval (the hard
    constraints' ``time_scale``: their factor in time rises over it), or None where the state turns less
    than a full period (TURNS radians) over the whole interval (heat: 0; Burgers, Allen-Cahn, KdV: 1.6 rad)
    or nothing is known of it (see :func:`initial_rate`)."""
    if problem.time is None:
        return None
    lower, upper = problem.domain.bounds
    axis = problem.coordinates.index(problem.time)
    turns = initial_rate(problem) * float(upper[axis] - lower[axis])
    return 1.0 / turns if turns > TURNS else None


def _data_on(problem: Problem, mesh: np.ndarray) -> list[np.ndarray]:
    """The sources and the initial/Dirichlet value functions evaluated at the points ``mesh`` (N, d)."""
    x = torch.as_tensor(mesh, dtype=torch.float64).requires_grad_(True)
    coords = {c: x[:, i] for i, c in enumerate(problem.coordinates)}
    out = []
    ctx = _context(problem, x, [_zero(x)] * len(problem.fields))  # the equations at u = 0
    for key in problem.equations:
        try:
            out += [r.detach().numpy() for r in problem.equation_residuals(key, ctx)]
        except Exception:  # noqa: BLE001 -- a probe: an equation that needs more than u = 0 tells nothing
            continue
    for c in problem.conditions:
        if isinstance(c, (Initial, Dirichlet)):
            for value in (c.value, getattr(c, "derivative", None)):
                if callable(value):
                    try:
                        with torch.no_grad():
                            v = call(value, coords)
                        out.append(np.broadcast_to(torch.as_tensor(v, dtype=torch.float64).detach().numpy(),
                                                   (len(mesh),)).copy())
                    except Exception:  # noqa: BLE001 -- same
                        continue
    return out


def _test_fields(problem: Problem, n: int) -> tuple[Tensor, list[Tensor]]:
    """``n`` random points of the domain's box (float64, requiring grad) and a smooth test field per field
    there: a product of sines across the box, its phase different for each field."""
    lower, upper = problem.domain.bounds
    rng = np.random.default_rng(2)
    x = torch.as_tensor(lower + (upper - lower) * rng.random((n, len(lower))), dtype=torch.float64).requires_grad_(True)
    z = (x - torch.as_tensor(lower)) / torch.as_tensor(np.where(upper > lower, upper - lower, 1.0))
    phases = torch.as_tensor(rng.random((len(problem.fields), len(lower))))
    return x, [torch.sin(math.pi * (0.5 + z + p)).prod(1) for p in phases]


def nonlinear(problem: Problem, n: int = 256) -> bool:
    """Whether the equations are nonlinear in the fields: R[2 phi] - R[0] differs from 2 (R[phi] - R[0])
    for a smooth test field phi (:func:`_test_fields`). False where the equations cannot be evaluated on
    such fields (a function outside torch)."""
    x, fields = _test_fields(problem, n)

    def at(scale: float) -> Tensor:
        ctx = _context(problem, x, [_zero(x) + scale * f for f in fields])
        return torch.cat([r.detach().reshape(-1) for key in problem.equations
                          for r in problem.equation_residuals(key, ctx)])

    try:
        r0, r1, r2 = at(0.0), at(1.0), at(2.0)
    except Exception:  # noqa: BLE001 -- a probe: what it cannot evaluate tells nothing
        return False
    if not all(bool(torch.isfinite(r).all()) for r in (r0, r1, r2)):
        return False
    return float((r2 - r0 - 2 * (r1 - r0)).norm()) > 1e-6 * float((r1 - r0).norm() + (r2 - r0).norm())


def derivative_order(problem: Problem) -> int:
    """The highest total order of the derivatives the equations read (``u.t + u * u.x + c * u.xxx``: 3),
    found by evaluating them once on the test fields of :func:`_test_fields`; 0 where they cannot be
    evaluated there."""
    x, fields = _test_fields(problem, 8)
    ctx = _context(problem, x, fields)
    try:
        for key in problem.equations:
            problem.equation_residuals(key, ctx)
    except Exception:  # noqa: BLE001 -- a probe, as in nonlinear
        return 0
    return max((sum(o) for o in ctx.store.requested), default=0)


def _zero(x: Tensor) -> Tensor:
    """0 at each point of ``x`` (n, d), as a function of ``x`` whose derivatives of every order stay in
    the autograd graph (and are 0)."""
    return x.sum(1).exp() * 0


def _context(problem: Problem, x: Tensor, columns: list[Tensor]) -> Context:
    """What the equations see at the points ``x`` (float64, requiring grad) when the fields take the values
    ``columns`` (one (n,) tensor per field, functions of ``x``)."""
    store = FieldStore(x, torch.stack(columns, 1), problem.coordinates, problem.fields, problem.spatial)
    return Context(store, {k: torch.tensor(v, dtype=torch.float64) for k, v in problem.parameters.items()})


def _highest_frequency(amp: np.ndarray) -> float:
    """The highest angular frequency of a spectrum from :func:`_spectra` whose amplitude exceeds
    RELATIVE_AMPLITUDE of the peak."""
    return np.nonzero(amp >= RELATIVE_AMPLITUDE * amp.max())[0].max() * BIN


def time_features(problem: Problem) -> list[tuple[int, float]]:
    """The plain MLP's Fourier features along time, as ``MLP(frequencies=...)`` takes them: octaves
    around the rate w at which the initial state starts to turn (:func:`initial_rate`, in the normalised
    box), TIME_OCTAVES times w, where it turns more than a full period over the time interval (as for
    :func:`time_scale`); else none. The rate is an average over the initial state's modes (the wave's
    sin(pi x) + 0.5 sin(5 pi x) turn at pi and 5 pi; its rate reads 15.2), so the features span two
    octaves below it and one above rather than the one frequency. Advection of sin(x) at speed 50 over
    t in [0, 1]: w = 24.8 (normalised), the solution's own frequency in time."""
    if time_scale(problem) is None:
        return []
    lower, upper = problem.domain.bounds
    axis = problem.coordinates.index(problem.time)
    w = initial_rate(problem) * float(upper[axis] - lower[axis]) / 2
    return [(axis, m * w) for m in TIME_OCTAVES]


def plain_network(problem: Problem, freq: np.ndarray | None = None,
                  features: list[tuple[int, float]] | None = None) -> str | None:
    """Why ``problem`` gets the plain MLP by default (one field, smooth data), or None
    where the cross-attention network is the default. ``freq``: ``data_frequencies(problem)`` where the
    caller has it (the probe takes up to a few tenths of a second); ``features``: ``time_features(problem)``.
    Along time, a frequency no higher than the initial rate the MLP gets features at does not count
    against ``MLP_REACH`` (the features carry it)."""
    freq = data_frequencies(problem) if freq is None else freq
    features = time_features(problem) if features is None else features
    need = freq.copy()
    for axis, w in features:
        need[axis] = 0.0 if need[axis] <= w * (1 + 1e-9) else need[axis]  # the data's, beyond the features
    if len(problem.fields) > 1 or need.max() > MLP_REACH:
        return None
    parts = ", ".join(f"{c}: |omega| {w:.0f}" for c, w in zip(problem.coordinates, freq))
    periodic = sorted({c.coordinate for c in problem.conditions if isinstance(c, Periodic)})
    embedding = f", {', '.join(periodic)} entering as (cos, sin): exactly periodic" if periodic else ""
    for a in sorted({a for a, _ in features}):
        ws = ", ".join(f"{w:.3g}" for b, w in features if b == a)
        embedding += (f", {problem.coordinates[a]} also as cos and sin of ({ws}) {problem.coordinates[a]}: octaves "
                      "around the initial state's rate of turning")
    return (f"network: a tanh MLP{embedding}: one field, the data's frequencies ({parts}) at most "
            f"{MLP_REACH:g}{' beside that rate' if features else ''}: there the cheaper steps win at equal time "
            "(model=pf.CrossAttentionNet(...) for the cross-attention network)")


def mlp_size(problem: Problem, budget: float | None) -> tuple[int, int, str]:
    """The plain MLP's hidden width and layers for ``problem`` on a time ``budget`` (None: no budget, only
    steps), and why. A budget under LONG_BUDGET narrows it also where steps were given beside it.

    At equal time a narrower network takes more steps, and below LONG_BUDGET those paid on the forward
    problems of the suite: at 120 s on an AMD EPYC (one thread, seeds 0-1; benchmarks/README.md), 4 x 32
    against 4 x 50 took 1.6-1.8x the steps and Allen-Cahn from 0.068-0.11 to 0.026-0.034, Helmholtz from
    7.9e-4-1.3e-3 to 3.3e-4-4.0e-4, the L-shape from 1.1e-4-1.4e-4 to 6.8e-5-8.0e-5, KdV from 0.13-0.17 to
    0.10-0.15; Burgers, the wave and advection stayed within their spread. 3 x 20 (3x the steps) lost the
    wave (7.9e-3 -> 3.6e-2). Inverse Burgers lost (8.6e-3-1.2e-2 against 1.8e-2-2.4e-2; 4 x 64 and 6 x 50
    no better than 4 x 50), so a problem with unknown parameters keeps 4 x 50, as longer budgets do (not
    measured narrower there)."""
    if budget is not None and budget < LONG_BUDGET and not problem.parameters:
        width, depth = MLP_SIZE_SHORT
        return width, depth, f"{depth} x {width} (a forward problem on a budget under {LONG_BUDGET:g} s: more steps pay)"
    width, depth = MLP_SIZE
    return width, depth, f"{depth} x {width}"


def default_network(problem: Problem, device: torch.device, tokens: bool = False,
                    freq: np.ndarray | None = None, budget: float | None = None) -> tuple[nn.Module, list[str], list[str]]:
    """The network for ``problem`` on ``device`` (a tanh MLP for one field with smooth data, else the
    cross-attention network; always the latter with ``tokens``, for AFE), the reasons for its settings,
    and the periodic conditions it satisfies exactly (the MLP's embedding, or the bank snapped to the
    period: they leave the loss). ``freq`` as for :func:`plain_network`; ``budget``, the time budget in
    seconds (None: no budget, only steps), sizes the MLP (:func:`mlp_size`)."""
    d, f = len(problem.coordinates), len(problem.fields)
    freq = data_frequencies(problem) if freq is None else freq
    features = time_features(problem)
    plain = None if tokens else plain_network(problem, freq, features)
    periodic = [c for c in problem.conditions if isinstance(c, Periodic)]
    if plain is not None:
        axes = [problem.coordinates.index(c.coordinate) for c in periodic]
        width, depth, size = mlp_size(problem, budget)
        net = MLP(d, f, hidden_channels=width, n_layers=depth, periodic=axes, frequencies=features)
        return net, [plain, f"MLP size: {size}"], [c.name for c in periodic]
    # spectral lines the bank would have to stretch past MAX_STRETCH to reach become tokens of their own where
    # they explain the data along a coordinate; the bank reaches only what is left (along time: the initial
    # state's rate)
    need, lines = freq.copy(), []
    periodic_axes = {problem.coordinates.index(c.coordinate) for c in periodic}
    for axis, (ws, explained) in enumerate(spectral_lines(problem) if (freq > MAX_STRETCH * BANK_REACH / MARGIN).any()
                                           else []):
        if len(ws) and explained >= EXPLAINED and MARGIN * freq[axis] / BANK_REACH > MAX_STRETCH:
            if axis in periodic_axes:  # snapped like the bank: multiples of 2 pi / 2, the normalised period
                ws = list(dict.fromkeys(math.pi * np.maximum(1, np.round(ws / math.pi))))  # strongest first
            lines += [(axis, float(w)) for w in ws]
            need[axis] = 0.0
            if problem.coordinates[axis] == problem.time:
                lower, upper = problem.domain.bounds
                need[axis] = initial_rate(problem) * (upper[axis] - lower[axis]) / 2
    stretch = np.maximum(1.0, MARGIN * need / BANK_REACH)
    reasons = []
    if device.type == "cpu":
        size = dict(hidden_channels=32, n_layers=2, n_base=32, n_scales=4)
        reasons.append("network: cross-attention over the Fourier bank at CPU size (M=128, d_q=32, L=2; the "
                       "paper's M=512, d_q=64, L=4 takes ~8x longer a step)")
    else:
        size = {}
        reasons.append("network: cross-attention over the Fourier bank at the paper's size (M=512, d_q=64, L=4)")
    # far beyond the seed's bank its slow features thin out: a small MLP of the raw coordinates adds them
    # (not with a periodic coordinate: the MLP would break the periodicity the bank is snapped to)
    wide = bool((stretch >= 2).any()) and not periodic
    beta = 0.1 / float(stretch.max())
    net = CrossAttentionNet(d, f, beta_init=beta, low_frequency=32 if wide else None, **size)
    if (stretch > 1).any():
        with torch.no_grad():
            net.bank.omega.mul_(torch.as_tensor(stretch, dtype=net.bank.omega.dtype))
        parts = ", ".join(f"{c}: |omega| {w:.0f} -> x{s:.1f}" for c, w, s in zip(problem.coordinates, freq, stretch))
        reasons.append(f"bank: the data's frequencies exceed the bank's reach {BANK_REACH:g} ({parts}); "
                       f"frequencies stretched, beta_init {beta:.3g}" + (", low-frequency output on" if wide else ""))
    else:
        rest = "what the spectral lines leave is" if lines else "the data's frequencies are"
        reasons.append(f"bank: the seed's (sigma=1, beta_init=0.1); {rest} within its reach")
    if lines:
        reasons.append(_add_line_tokens(net, lines, problem.coordinates))
    for c in periodic:
        net.bank.make_periodic(problem.coordinates.index(c.coordinate))
    if periodic:
        names = sorted({c.coordinate for c in periodic})
        reasons.append(f"periodic: the bank's frequencies along {', '.join(names)} snapped to multiples of 2 pi / "
                       f"period, so {', '.join(c.name for c in periodic)} hold exactly")
    return net, reasons, [c.name for c in periodic]


def _add_line_tokens(net: CrossAttentionNet, lines: list[tuple[int, float]], coordinates: Sequence[str]) -> str:
    """Append tokens of Fourier features at the data's spectral lines (AFE's features, built before training
    from the data instead of from the solution so far: ``pinnfreq.afe.post_features``, each line along its
    coordinate, the tokens filled by cycling through the lines with random phases). Returns the reason."""
    k = np.zeros((len(lines), net.config["in_channels"]))
    for row, (axis, w) in enumerate(lines):
        k[row, axis] = w / math.pi  # post_features' omega = pi k (the normalised box has length 2)
    generator = torch.Generator().manual_seed(int(torch.randint(2**31 - 1, ())))  # from the run's seed
    omega, phase, scale = post_features(k, net.token_width, "repeat", generator, net.bank.omega.dtype)
    tokens = net.add_tokens(omega, phase, scale)
    parts = ", ".join(f"{coordinates[a]}: |omega| {w:.1f}" for a, w in lines)
    return (f"tokens: the data's spectral lines beyond the bank's reach ({parts}) as {tokens.stop - tokens.start} "
            "token(s) of Fourier features at those frequencies")


def default_settings(settings: dict[str, Any], soft_conditions: Sequence[str] = (),
                     plain: bool = False, steady: bool = False) -> tuple[dict[str, Any], list[str]]:
    """Fill in what the user left out when a time budget is all they gave: Adam for half the budget,
    then L-BFGS (``TrainConfig.lbfgs_share``); where conditions remain loss terms beside the equations
    (``soft_conditions``), gradient-norm loss balancing (on the L-shaped Poisson problem it took the
    default's error from 1.7e-2 to 2.7e-3 at 120 s, on Kovasznay flow from 3.1e-2 to 1.5e-2;
    benchmarks/README.md); and for the plain MLP (``plain``), new collocation points every 100 Adam steps
    (its fixed-point fits of Burgers miss the shock in most runs: 2.9e-2-8.6e-2 against 1.6e-2-2.7e-2
    with new points, at a cost on the smooth problems that keeps them ahead of DeepXDE); for the
    cross-attention network the same from a budget of LONG_BUDGET seconds on (at 120 s it did not pay over
    3-4 seeds; at 600 s, seed 0: Kovasznay flow 1.6e-2 -> 7.1e-3, the heat problem 0.12 -> 0.026); and for
    the MLP, CONDITION_POINTS points for each condition that stays a loss term, and on a ``steady`` problem
    (no time coordinate) STEADY_POINTS interior points per equation below LONG_BUDGET (more, cheaper steps);
    on an evolution problem, EVOLUTION_LBFGS_SHARE of a budget under LONG_BUDGET for L-BFGS."""
    out = dict(settings)
    reasons = []
    if out.get("time_budget") and "steps" not in out and "lbfgs_steps" not in out:
        out.update(steps=10**9, lbfgs_steps=10**9)
        evolution = plain and not steady and out["time_budget"] < LONG_BUDGET
        out.setdefault("lbfgs_share", EVOLUTION_LBFGS_SHARE if evolution else TrainConfig.lbfgs_share)
        reasons.append(f"optimiser: Adam for {1 - out['lbfgs_share']:.0%} of the time budget, then L-BFGS for the rest"
                       + (" (an evolution problem on a short budget: L-BFGS's longer run pays)"
                          if evolution and "lbfgs_share" not in settings else ""))
        if plain and "resample_every" not in out:
            out["resample_every"] = 100
            reasons.append("collocation points: new ones every 100 Adam steps (the MLP's fits of fixed points "
                           "can be wrong between them: a shock missed)")
        elif out["time_budget"] >= LONG_BUDGET and "resample_every" not in out:
            out["resample_every"] = 100
            reasons.append(f"collocation points: new ones every 100 Adam steps (a budget of {LONG_BUDGET:g} s or "
                           "more: long fits of fixed points drift between them)")
        if plain and steady and "points" not in out and out["time_budget"] < LONG_BUDGET:
            out["points"] = STEADY_POINTS
            reasons.append(f"collocation points: {STEADY_POINTS} per equation (a steady problem on a budget under "
                           f"{LONG_BUDGET:g} s: more, cheaper steps pay where the solution is smooth between points)")
        if soft_conditions and plain and "boundary_points" not in out:
            out["boundary_points"] = CONDITION_POINTS
            reasons.append(f"condition points: {CONDITION_POINTS} for each of {', '.join(soft_conditions)} (they stay "
                           "loss terms; with fewer the error sat at the boundary)")
        if soft_conditions and "adaptive_weights" not in out and "weights" not in out:
            out["adaptive_weights"] = "gradnorm"
            reasons.append(f"loss weights: balanced by gradient norms (the conditions {', '.join(soft_conditions)} "
                           "stay loss terms beside the equations)")
    return out, reasons


def default_plugins(problem: Problem, settings: dict[str, Any], plugins: Sequence[Plugin],
                    plain: bool = False) -> tuple[list[Plugin], list[str]]:
    """The training techniques a time budget alone brings.

    - Causal weighting for inverse evolution problems (unknown parameters and a time coordinate). On
      inverse Burgers at 120 s it took the relative L2 from 0.072 / 0.054 / 0.046 to 0.021 / 0.048 / 0.027
      (seeds 0 / 1 / 2) and nu's relative error from 2.0 / 1.15 / 1.02 to 0.34 / 1.03 / 0.37; on the
      forward evolution problems it did not pay and stays off (benchmarks/README.md, the technique rows).
    - For the plain MLP (``plain``) and nonlinear equations (:func:`nonlinear`), residual-based
      resampling of the equations' points (RAD, every RAD_EVERY Adam steps, c = RAD_C) where the user set
      no resampling of their own (``resample_every``). The MLP's points were redrawn uniformly every 100
      steps; drawn where the residual is large instead, Burgers' shock gets them: at 120 s, medians over
      3-5 seeds, Burgers 1.6e-2 -> 4.0e-3, inverse Burgers 2.7e-2 -> 2.0e-2 (nu's error 0.17-0.37 ->
      0.05-0.07); at 600 s (seed 0) Burgers 6.3e-3 -> 1.2e-3. Allen-Cahn alike, KdV lost (0.30 -> 0.50).
      Linear equations with smooth data form no fronts for the points to gather at: there RAD gained
      a little at 120 s (Helmholtz 1.5e-3 -> 9.6e-4, the L-shape 2.5e-4 -> 2.0e-4) and at 600 s lost
      the wave (0.13 and 0.19, seeds 0 and 1, against 3.1e-3 with uniform points in the same session)
      and Helmholtz (1.5e-4 -> 3.9e-4), the L-shape gaining (7.8e-5 -> 5.8e-5; benchmarks/README.md):
      linear equations keep uniform points. L-BFGS trains on RAD's last set and as many uniform points
      (``lbfgs="both"``): on RAD's last set alone (``"last"``, the default until 2026-12-03) Burgers missed
      its shock in 3 of 7 runs at 120 s on an AMD EPYC (0.07-0.24; the others 2.5e-3-1.3e-2), and with
      both sets in none of 3 (7.3e-3-1.1e-2; 5 of 5 on a Xeon earlier, median 3.6e-3), at a cost
      elsewhere: Allen-Cahn 0.12-0.13 -> 0.22-0.36, inverse Burgers 1.4e-2 -> 1.6e-2-2.0e-2 (the worst
      ratio to DeepXDE over the suite goes from Burgers' 1.8-10 to about 1.06; benchmarks/README.md). A
      uniform set alone took KdV from 0.50 to 0.29 but Burgers from 4.0e-3 to 2.1e-2; the residual's
      concentration does not tell KdV from Burgers.
      The derivatives' order does (:func:`derivative_order`): equations of order above RAD_MAX_ORDER
      (KdV's u_xxx) keep uniform points, a rule fitted to the one third-order equation of the suite.
      The cross-attention network keeps its fixed points at short budgets (RAD there lost on the smooth
      problems)."""
    out = list(plugins)
    budget_only = settings.get("time_budget") and "steps" not in settings and "lbfgs_steps" not in settings
    if not budget_only:
        return out, []
    names = {getattr(p, "name", None) for p in out}
    why = []
    if problem.time is not None and problem.parameters and "causal" not in names:
        causal = CausalWeighting()
        out.append(causal)
        why.append(f"causal weighting of the equations in time (epsilon {causal.epsilon:g}, {causal.chunks} slabs): "
                   f"an inverse evolution problem (unknown {', '.join(sorted(problem.parameters))})")
    if plain and "rad" not in names and "resample_every" not in settings and nonlinear(problem):
        order = derivative_order(problem)
        if order <= RAD_MAX_ORDER:
            rad = RAD(every=RAD_EVERY, c=RAD_C, lbfgs="both")
            out.append(rad)
            why.append(f"collocation points of the equations: redrawn every {rad.every} Adam steps where the residual "
                       f"is large (RAD, k={rad.k:g}, c={rad.c:g}: a {1 / (1 + rad.c):.0%} share by residual, the rest "
                       "uniform); L-BFGS on the last draw and as many uniform points (on the last draw alone "
                       "Burgers missed its shock in 3 of 7 runs)")
        else:
            why.append(f"collocation points of the equations: uniform, not by residual (derivatives of order {order}: "
                       "RAD lost the suite's third-order equation, KdV, at every budget measured)")
    return out, why


__all__ = ["data_frequencies", "default_network", "default_plugins", "default_settings", "derivative_order",
           "initial_rate", "nonlinear", "plain_network", "time_scale"]
