"""The suite's problems in DeepXDE (PyTorch backend), each set up the way DeepXDE's own
``examples/pinn_forward`` (or ``pinn_inverse``) script for that PDE sets it up: network, points,
optimiser, schedule, loss weights, hard constraints, Adam then L-BFGS where the example does so.
Where DeepXDE has no example for a PDE, the docstring of its entry says which example it follows.

Imported only by ``benchmarks/pinn_suite.py`` inside a child process with DeepXDE installed
(``.venv-bench``); DeepXDE is never a pinnfreq dependency.

Budget: Adam runs for the example's iterations or until its share of the wall-clock budget is spent
(half when L-BFGS follows, all otherwise); L-BFGS (DeepXDE's defaults: history 100, strong Wolfe)
until the budget ends. DeepXDE's L-BFGS calls callbacks every ``iter_per_step`` iterations (default
1000, with 1250 function evaluations); it is set to 10 iterations and 100 evaluations here, so the
deadline is met within about 10 iterations. The optimiser's state carries across those calls, so this
changes when the callback runs, not the iterations. (The evaluations must not bind first: DeepXDE
takes a call that made a single iteration for convergence and ends L-BFGS.)
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

os.environ.setdefault("DDE_BACKEND", "pytorch")

import deepxde as dde  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

try:
    from deepxde.nn import MsFFN, STMsFFN  # noqa: E402
except ImportError:  # DeepXDE <= 1.15 has them for TensorFlow only
    from .deepxde_msffn import MsFFN, STMsFFN  # noqa: E402


@dataclass
class Setup:
    """What one DeepXDE run needs: data, network, and the example's training plan."""

    data: Any
    net: Any
    adam_iterations: int
    lbfgs: bool
    lr: float = 1e-3
    decay: tuple | None = None
    loss_weights: list | None = None
    resample_every: int = 0  # PDEPointResampler(period=...), 0: none
    variables: dict[str, Any] = field(default_factory=dict)  # unknown parameters (inverse problems)
    normalise_initial_loss: bool = False  # wave_1d: loss weights 5 / initial losses


def _x(x, i):
    return x[:, i:i + 1]


def burgers1d() -> Setup:
    """examples/pinn_forward/Burgers.py (time domain [0, 1] instead of [0, 0.99])."""
    def pde(x, y):
        return dde.grad.jacobian(y, x, i=0, j=1) + y * dde.grad.jacobian(y, x, i=0, j=0) \
            - 0.01 / math.pi * dde.grad.hessian(y, x, i=0, j=0)
    geomtime = dde.geometry.GeometryXTime(dde.geometry.Interval(-1, 1), dde.geometry.TimeDomain(0, 1))
    bc = dde.icbc.DirichletBC(geomtime, lambda x: 0, lambda _, on: on)
    ic = dde.icbc.IC(geomtime, lambda x: -np.sin(np.pi * x[:, 0:1]), lambda _, on: on)
    data = dde.data.TimePDE(geomtime, pde, [bc, ic], num_domain=2540, num_boundary=80, num_initial=160)
    return Setup(data, dde.nn.FNN([2] + [20] * 3 + [1], "tanh", "Glorot normal"), 15000, True)


def burgers_inverse() -> Setup:
    """Burgers.py's set-up with nu a ``dde.Variable`` (as the pinn_inverse examples do, e.g.
    diffusion_1d_inverse.py) and the 200 noisy observations as a PointSetBC."""
    from pinnfreq.cli import load_problem_file
    from pathlib import Path

    module = load_problem_file(Path(__file__).resolve().parents[2] / "problems" / "burgers_inverse.py")
    points, values = module.observations()
    nu = dde.Variable(0.01)

    def pde(x, y):
        return dde.grad.jacobian(y, x, i=0, j=1) + y * dde.grad.jacobian(y, x, i=0, j=0) \
            - nu * dde.grad.hessian(y, x, i=0, j=0)
    geomtime = dde.geometry.GeometryXTime(dde.geometry.Interval(-1, 1), dde.geometry.TimeDomain(0, 1))
    bc = dde.icbc.DirichletBC(geomtime, lambda x: 0, lambda _, on: on)
    ic = dde.icbc.IC(geomtime, lambda x: -np.sin(np.pi * x[:, 0:1]), lambda _, on: on)
    obs = dde.icbc.PointSetBC(np.stack([points["x"], points["t"]], axis=1), values[:, None])
    data = dde.data.TimePDE(geomtime, pde, [bc, ic, obs], num_domain=2540, num_boundary=80, num_initial=160,
                            anchors=np.stack([points["x"], points["t"]], axis=1))
    return Setup(data, dde.nn.FNN([2] + [20] * 3 + [1], "tanh", "Glorot normal"), 15000, True, variables={"nu": nu})


def poisson1d_multiscale() -> Setup:
    """examples/pinn_forward/Poisson_multiscale_1d.py (the same PDE)."""
    def pde(x, y):
        return dde.grad.hessian(y, x) + (2 * np.pi) ** 2 * torch.sin(2 * np.pi * x) \
            + 0.1 * (50 * np.pi) ** 2 * torch.sin(50 * np.pi * x)
    geom = dde.geometry.Interval(0, 1)
    bc = dde.icbc.DirichletBC(geom, lambda x: 0 * x, lambda _, on: on)
    data = dde.data.PDE(geom, pde, bc, 1280, 2, train_distribution="pseudo")
    net = MsFFN([1] + [100] * 3 + [1], "tanh", "Glorot uniform", sigmas=[1, 10])
    return Setup(data, net, 20000, False, decay=("inverse time", 2000, 0.9), resample_every=1)


def poisson2d() -> Setup:
    """No example: Poisson_multiscale_1d.py's recipe (MsFFN with sigmas 1 and 10, inverse-time decay,
    resampling every step) on the 2-D chirp, with 4096 interior and 1024 boundary points."""
    mu = 50.0

    def second(s):
        return 2 * mu * torch.cos(mu * s**2) - 4 * mu**2 * s**2 * torch.sin(mu * s**2)

    def pde(x, y):
        lap = dde.grad.hessian(y, x, i=0, j=0) + dde.grad.hessian(y, x, i=1, j=1)
        return lap - (second(_x(x, 0)) + second(_x(x, 1)))
    geom = dde.geometry.Rectangle([-1, -1], [1, 1])
    bc = dde.icbc.DirichletBC(geom, lambda x: np.sin(mu * x[:, 0:1] ** 2) + np.sin(mu * x[:, 1:2] ** 2), lambda _, on: on)
    data = dde.data.PDE(geom, pde, bc, num_domain=4096, num_boundary=1024, train_distribution="pseudo")
    net = MsFFN([2] + [100] * 3 + [1], "tanh", "Glorot uniform", sigmas=[1, 10])
    return Setup(data, net, 20000, False, decay=("inverse time", 2000, 0.9), resample_every=1)


def helmholtz2d() -> Setup:
    """examples/pinn_forward/Helmholtz_Dirichlet_2d.py: 3 x 150 sin network, hard constraint (the
    transform adapted to [-1, 1]^2), 10 points per wavelength (0.5 in y), 5000 Adam steps."""
    def pde(x, y):
        q = (1 - np.pi**2 - 16 * np.pi**2) * torch.sin(np.pi * _x(x, 0)) * torch.sin(4 * np.pi * _x(x, 1))
        return dde.grad.hessian(y, x, i=0, j=0) + dde.grad.hessian(y, x, i=1, j=1) + y - q
    geom = dde.geometry.Rectangle([-1, -1], [1, 1])
    nx = int(2 / (0.5 / 10))
    data = dde.data.PDE(geom, pde, [], num_domain=nx**2, num_boundary=4 * nx)
    net = dde.nn.FNN([2] + [150] * 3 + [1], "sin", "Glorot uniform")
    net.apply_output_transform(lambda x, y: (1 - _x(x, 0) ** 2) * (1 - _x(x, 1) ** 2) * y)
    return Setup(data, net, 5000, False)


def _wave_like(pde, func, sigmas_x, sigmas_t, initial_velocity: bool) -> Setup:
    geomtime = dde.geometry.GeometryXTime(dde.geometry.Interval(0, 1), dde.geometry.TimeDomain(0, 1))
    conditions = [dde.icbc.DirichletBC(geomtime, func, lambda _, on: on),
                  dde.icbc.IC(geomtime, func, lambda _, on: on)]
    if initial_velocity:
        conditions.append(dde.icbc.OperatorBC(geomtime, lambda x, y, _: dde.grad.jacobian(y, x, i=0, j=1),
                                              lambda x, _: dde.utils.isclose(x[1], 0)))
    data = dde.data.TimePDE(geomtime, pde, conditions, num_domain=360, num_boundary=360, num_initial=360)
    net = STMsFFN([2] + [100] * 3 + [1], "tanh", "Glorot uniform", sigmas_x=sigmas_x, sigmas_t=sigmas_t)
    net.apply_feature_transform(lambda x: (x - 0.5) * 2 * np.sqrt(3))
    return Setup(data, net, 10000, False, decay=("inverse time", 2000, 0.9), resample_every=1,
                 normalise_initial_loss=True)


def wave1d() -> Setup:
    """examples/pinn_forward/wave_1d.py (its PDE with c = 2 and this solution; STMsFFN, sigmas_x = [1],
    sigmas_t = [1, 10], loss weights 5 / initial losses, resampling every step)."""
    def pde(x, y):
        return dde.grad.hessian(y, x, i=1, j=1) - 4 * dde.grad.hessian(y, x, i=0, j=0)

    def func(x):
        return np.sin(np.pi * x[:, 0:1]) * np.cos(2 * np.pi * x[:, 1:2]) \
            + 0.5 * np.sin(5 * np.pi * x[:, 0:1]) * np.cos(10 * np.pi * x[:, 1:2])
    return _wave_like(pde, func, [1], [1, 10], True)


def heat1d_multiscale() -> Setup:
    """No example: wave_1d.py's recipe (the same paper's spatio-temporal multi-scale network) with
    sigmas_x = [1, 200] for the 250 periods per unit in x, sigmas_t = [1]."""
    k = 500 * np.pi

    def pde(x, y):
        return dde.grad.jacobian(y, x, i=0, j=1) - dde.grad.hessian(y, x, i=0, j=0) / k**2

    def func(x):
        return np.exp(-x[:, 1:2]) * np.sin(k * x[:, 0:1])
    return _wave_like(pde, func, [1, 200], [1], False)


def _periodic_time_pde(pde, x0: float, x1: float, u0: Callable, derivative_orders: tuple[int, ...], width: int,
                       depth: int, adam: int, output_transform=None) -> Setup:
    geomtime = dde.geometry.GeometryXTime(dde.geometry.Interval(x0, x1), dde.geometry.TimeDomain(0, 1))
    conditions = [dde.icbc.PeriodicBC(geomtime, 0, lambda _, on: on, derivative_order=k) for k in derivative_orders]
    if output_transform is None:
        conditions.append(dde.icbc.IC(geomtime, u0, lambda _, on: on))
    data = dde.data.TimePDE(geomtime, pde, conditions, num_domain=8000 if output_transform else 2540,
                            num_boundary=400 if output_transform else 80, num_initial=800 if output_transform else 160)
    net = dde.nn.FNN([2] + [width] * depth + [1], "tanh", "Glorot normal")
    if output_transform is not None:
        net.apply_output_transform(output_transform)
    return Setup(data, net, adam, True)


def allen_cahn() -> Setup:
    """examples/pinn_forward/Allen_Cahn.py (its diffusion 1e-3 replaced by this problem's 1e-4): 3 x 20
    tanh network, the hard constraint u = x^2 cos(pi x) + t (1 - x^2) N(x, t), 40000 Adam steps, L-BFGS."""
    def pde(x, y):
        return dde.grad.jacobian(y, x, i=0, j=1) - 1e-4 * dde.grad.hessian(y, x, i=0, j=0) - 5 * (y - y**3)
    def transform(x, y):
        return _x(x, 0) ** 2 * torch.cos(np.pi * _x(x, 0)) + _x(x, 1) * (1 - _x(x, 0) ** 2) * y
    geomtime = dde.geometry.GeometryXTime(dde.geometry.Interval(-1, 1), dde.geometry.TimeDomain(0, 1))
    data = dde.data.TimePDE(geomtime, pde, [], num_domain=8000, num_boundary=400, num_initial=800)
    net = dde.nn.FNN([2] + [20] * 3 + [1], "tanh", "Glorot normal")
    net.apply_output_transform(transform)
    return Setup(data, net, 40000, True)


def advection() -> Setup:
    """No example: Burgers.py's recipe (points, Adam then L-BFGS) with a 4 x 50 network and a PeriodicBC
    on x (as Poisson_periodic_1d.py uses it)."""
    def pde(x, y):
        return dde.grad.jacobian(y, x, i=0, j=1) + 50 * dde.grad.jacobian(y, x, i=0, j=0)
    return _periodic_time_pde(pde, 0, 2 * np.pi, lambda x: np.sin(x[:, 0:1]), (0,), 50, 4, 15000)


def kdv() -> Setup:
    """No example: Burgers.py's recipe with a 4 x 50 network, u_xxx as the x-derivative of DeepXDE's
    Hessian entry, and PeriodicBCs on u and u_x (DeepXDE's PeriodicBC takes derivative orders 0 and 1)."""
    def pde(x, y):
        u_xx = dde.grad.hessian(y, x, i=0, j=0)
        u_xxx = dde.grad.jacobian(u_xx, x, i=0, j=0)
        return dde.grad.jacobian(y, x, i=0, j=1) + y * dde.grad.jacobian(y, x, i=0, j=0) + 0.022**2 * u_xxx
    return _periodic_time_pde(pde, -1, 1, lambda x: np.cos(np.pi * x[:, 0:1]), (0, 1), 50, 4, 15000)


def _navier_stokes(re: float):
    def pde(x, u):
        uu, vv = u[:, 0:1], u[:, 1:2]
        u_x, u_y = dde.grad.jacobian(u, x, i=0, j=0), dde.grad.jacobian(u, x, i=0, j=1)
        v_x, v_y = dde.grad.jacobian(u, x, i=1, j=0), dde.grad.jacobian(u, x, i=1, j=1)
        p_x, p_y = dde.grad.jacobian(u, x, i=2, j=0), dde.grad.jacobian(u, x, i=2, j=1)
        lap_u = dde.grad.hessian(u, x, component=0, i=0, j=0) + dde.grad.hessian(u, x, component=0, i=1, j=1)
        lap_v = dde.grad.hessian(u, x, component=1, i=0, j=0) + dde.grad.hessian(u, x, component=1, i=1, j=1)
        return [uu * u_x + vv * u_y + p_x - lap_u / re, uu * v_x + vv * v_y + p_y - lap_v / re, u_x + v_y]
    return pde


def kovasznay() -> Setup:
    """examples/pinn_forward/Kovasznay_flow.py (the same problem)."""
    re = 20.0
    lam = re / 2 - math.sqrt(re**2 / 4 + 4 * math.pi**2)
    geom = dde.geometry.Rectangle([-0.5, -0.5], [1, 1.5])
    u = lambda x: 1 - np.exp(lam * x[:, 0:1]) * np.cos(2 * np.pi * x[:, 1:2])  # noqa: E731
    v = lambda x: lam / (2 * np.pi) * np.exp(lam * x[:, 0:1]) * np.sin(2 * np.pi * x[:, 1:2])  # noqa: E731
    p = lambda x: 0.5 * (1 - np.exp(2 * lam * x[:, 0:1]))  # noqa: E731
    conditions = [dde.icbc.DirichletBC(geom, u, lambda _, on: on, component=0),
                  dde.icbc.DirichletBC(geom, v, lambda _, on: on, component=1),
                  dde.icbc.DirichletBC(geom, p, lambda x, on: on and dde.utils.isclose(x[0], 1), component=2)]
    data = dde.data.PDE(geom, _navier_stokes(re), conditions, num_domain=2601, num_boundary=400)
    return Setup(data, dde.nn.FNN([2] + 4 * [50] + [3], "tanh", "Glorot normal"), 30000, True)


def cavity() -> Setup:
    """No example: Kovasznay_flow.py's recipe (4 x 50 network, 2601 + 400 points, Adam then L-BFGS)
    with the cavity's walls, its lid and the pressure gauge p(0.5, 0.5) = 0 as a PointSetBC."""
    geom = dde.geometry.Rectangle([0, 0], [1, 1])
    lid = lambda x, on: on and dde.utils.isclose(x[1], 1)  # noqa: E731
    walls = lambda x, on: on and not dde.utils.isclose(x[1], 1)  # noqa: E731
    conditions = [dde.icbc.DirichletBC(geom, lambda x: 1, lid, component=0),
                  dde.icbc.DirichletBC(geom, lambda x: 0, walls, component=0),
                  dde.icbc.DirichletBC(geom, lambda x: 0, lambda _, on: on, component=1),
                  dde.icbc.PointSetBC(np.array([[0.5, 0.5]]), np.zeros((1, 1)), component=2)]
    data = dde.data.PDE(geom, _navier_stokes(100.0), conditions, num_domain=2601, num_boundary=400)
    return Setup(data, dde.nn.FNN([2] + 4 * [50] + [3], "tanh", "Glorot normal"), 30000, True)


def poisson_lshape() -> Setup:
    """examples/pinn_forward/Poisson_Lshape.py (its polygon, network and points; this problem's source
    and boundary values, which make the solution exact)."""
    def pde(x, y):
        f = 2 * np.pi**2 * torch.sin(np.pi * _x(x, 0)) * torch.sin(np.pi * _x(x, 1))
        return -dde.grad.hessian(y, x, i=0, j=0) - dde.grad.hessian(y, x, i=1, j=1) - f
    geom = dde.geometry.Polygon([[0, 0], [1, 0], [1, -1], [-1, -1], [-1, 1], [0, 1]])
    exact = lambda x: np.sin(np.pi * x[:, 0:1]) * np.sin(np.pi * x[:, 1:2]) + (x[:, 0:1] ** 2 - x[:, 1:2] ** 2) / 2  # noqa: E731
    bc = dde.icbc.DirichletBC(geom, exact, lambda _, on: on)
    data = dde.data.PDE(geom, pde, bc, num_domain=1200, num_boundary=120)
    # DeepXDE 1.15's Polygon samples float64 and PDE does not cast them: the PyTorch backend in float32
    # then fails on the first step. Cast the point sets as the other geometries already give them.
    for name in ("train_x_all", "train_x", "train_x_bc", "test_x"):
        setattr(data, name, getattr(data, name).astype(np.float32))
    return Setup(data, dde.nn.FNN([2] + [50] * 4 + [1], "tanh", "Glorot uniform"), 50000, True)


SETUPS: dict[str, Callable[[], Setup]] = {f.__name__: f for f in (
    burgers1d, burgers_inverse, poisson1d_multiscale, poisson2d, helmholtz2d, wave1d, heat1d_multiscale, allen_cahn,
    advection, kdv, kovasznay, cavity, poisson_lshape)}


class _Deadline(dde.callbacks.Callback):
    def __init__(self, deadline: float | None):
        super().__init__()
        self.deadline = deadline

    def on_epoch_end(self) -> None:
        if self.deadline is not None and time.perf_counter() > self.deadline:
            self.model.stop_training = True


def run(name: str, seed: int, budget: float | None, steps: int | None,
        points: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """Train problem ``name`` under a wall-clock ``budget`` (seconds) or for ``steps`` Adam steps (no
    L-BFGS) and predict at ``points`` (m, d). Returns predictions (m, n_fields) and run facts."""
    dde.config.set_random_seed(seed)
    dde.config.set_default_float("float32")
    setup = SETUPS[name]()
    model = dde.Model(setup.data, setup.net)
    external = list(setup.variables.values())
    start = time.perf_counter()
    lbfgs = setup.lbfgs and steps is None
    adam_deadline = None if budget is None else start + budget * (0.5 if lbfgs else 1.0)
    weights = setup.loss_weights
    if setup.normalise_initial_loss:
        model.compile("adam", lr=setup.lr)
        weights = list(5 / np.asarray(model.train(iterations=0, verbose=0)[0].loss_train[0]))
    model.compile("adam", lr=setup.lr, decay=setup.decay, loss_weights=weights, external_trainable_variables=external)
    callbacks = [_Deadline(adam_deadline)]
    if setup.resample_every:
        callbacks.append(dde.callbacks.PDEPointResampler(period=setup.resample_every))
    model.train(iterations=steps if steps is not None else setup.adam_iterations, callbacks=callbacks, verbose=0)
    adam_steps = model.train_state.step
    if lbfgs:
        dde.optimizers.set_LBFGS_options(maxiter=10**6)
        dde.optimizers.config.LBFGS_options["iter_per_step"] = 10
        dde.optimizers.config.LBFGS_options["fun_per_step"] = 100
        model.compile("L-BFGS", loss_weights=weights, external_trainable_variables=external)
        model.train(callbacks=[_Deadline(None if budget is None else start + budget)], verbose=0)
    seconds = time.perf_counter() - start
    pred = np.concatenate([model.predict(chunk.astype(np.float32)) for chunk in np.array_split(points, max(1, len(points) // 65536))])
    facts = {"adam_steps": int(adam_steps), "lbfgs_steps": int(model.train_state.step - adam_steps),
             "train_seconds": seconds, "parameters": {k: float(v.detach()) for k, v in setup.variables.items()}}
    return pred, facts
