"""The multi-scale random Fourier feature bank of seed 000.

    omega_m ~ N(0, sigma^-2 I),  m = 1..M_base                     (fixed after sampling)
    omega_{m,k} = 2^k omega_m,  k = 0..K-1                         (dyadic scales, M = M_base K)
    b_{m,k} ~ U(0, 2 pi)                                           (fixed phases)
    a_{m,k} = exp(-beta |omega_{m,k}|),  beta >= 0 learnable       (frequency envelope)
    phi(x) = sqrt(2/M) [a_{m,k} cos(omega_{m,k}^T x + b_{m,k})]    (E|phi|^2 = 1 when a = 1)

Features are ordered scale-major (all of scale 0, then scale 1, ...), so that when ``M_base`` is a
multiple of the token width, each token of the grouping-by-reshape holds a single scale and the
cross-attention weights read as "how much of each scale" (the seed's stated purpose).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..jet import Jet
from .cache import jet_key, memo


class FourierFeatureBank(nn.Module):
    """phi: (n, in_channels) -> (n, n_features), ``n_features = n_base * n_scales``.

    Parameters
    ----------
    in_channels : int
    n_base : int
        Base frequencies M_base (paper default 128).
    n_scales : int
        Dyadic scales K: factors 2^0 .. 2^(K-1) (paper default 4).
    sigma : float
        Base frequencies have standard deviation 1/sigma; smaller sigma, wider spectrum.
    beta_init : float
        Initial envelope rate; beta = softplus(rho) keeps it >= 0 (paper: 0.1). The envelope starts by
        damping |omega| = 30 by e^-3 at 0.1; for solutions with higher frequencies (in the normalised
        box) start lower: on the 1-D Poisson benchmark (modes at |omega| = 3 and 78) 0.01 took the
        composite CA network from rel. L2 1.9 to 1.3e-2 (benchmarks/README.md).
    variant : {"seed", "paper"}
        "seed" follows seed 000 (scales 0..K-1, sqrt(2/M)); "paper" the arXiv text (scales 0..K,
        so K+1 scales, and sqrt(1/M)).
    """

    def __init__(self, in_channels: int, n_base: int = 128, n_scales: int = 4, sigma: float = 1.0,
                 beta_init: float = 0.1, variant: str = "seed"):
        super().__init__()
        if variant not in ("seed", "paper"):
            raise ValueError(f"variant must be 'seed' or 'paper', got {variant!r}")
        if n_base < 1 or n_scales < 1 or not sigma > 0 or beta_init < 0:
            raise ValueError(f"need n_base, n_scales >= 1, sigma > 0, beta_init >= 0; got {n_base}, {n_scales}, {sigma}, {beta_init}")
        scales = n_scales + (variant == "paper")
        base = torch.randn(n_base, in_channels) / sigma
        factors = 2.0 ** torch.arange(scales, dtype=base.dtype)
        omega = (factors[:, None, None] * base[None]).reshape(scales * n_base, in_channels)
        self.register_buffer("omega", omega)  # sampled once, saved with the model
        self.register_buffer("phase", 2 * math.pi * torch.rand(omega.shape[0]))
        self.norm = math.sqrt((2.0 if variant == "seed" else 1.0) / omega.shape[0])
        # softplus^-1(beta_init); a tiny floor stands in for beta = 0
        self.rho = nn.Parameter(torch.tensor(math.log(math.expm1(max(beta_init, 1e-8)))))

    def make_periodic(self, axis: int, period: float = 2.0) -> None:
        """Snap the frequencies along input ``axis`` to multiples of 2 pi / ``period`` (in the units the
        bank sees; the normalised box [-1, 1] has period 2), so that every feature, and any network that
        reads the input only through them, is exactly periodic along that axis."""
        step = 2 * math.pi / period
        with torch.no_grad():
            self.omega[:, axis] = torch.round(self.omega[:, axis] / step) * step

    @property
    def n_features(self) -> int:
        return self.omega.shape[0]

    @property
    def beta(self) -> Tensor:
        return F.softplus(self.rho)

    def amplitudes(self) -> Tensor:
        """a_{m,k}, shape (n_features,)."""
        return torch.exp(-self.beta * self.omega.norm(dim=1))

    def envelope(self) -> Tensor:
        """The factor of each feature, sqrt(2/M) a_{m,k}: (n_features,). The only part of phi that
        training changes (through beta)."""
        return self.norm * self.amplitudes()

    def forward(self, x: Tensor) -> Tensor:
        return self.envelope() * torch.cos(x @ self.omega.T + self.phase)

    def waves_jet(self, x: Jet, cache: dict | None = None) -> Jet:
        """cos(omega^T x + b) and its derivatives, without the envelope: constant for fixed points, so
        kept in ``cache`` (see :mod:`pinnfreq.nn.cache`)."""
        return memo(cache, "bank", jet_key(x), lambda: (x @ self.omega.T).shift(self.phase).cos())

    def forward_jet(self, x: Jet, cache: dict | None = None) -> Jet:
        return self.waves_jet(x, cache).scale(self.envelope())

    def first_layer_jet(self, x: Jet, layer: nn.Linear, cache: dict | None = None) -> Jet:
        """``layer(phi(x))`` in Taylor mode with the envelope folded into the weight, W diag(a), so that
        no per-point tensor is rescaled; the same as ``self.forward_jet(x).linear(layer)``."""
        w = layer.weight * self.envelope()
        return self.waves_jet(x, cache).map(lambda z: z @ w.T).shift(layer.bias)
