"""Posterior Fourier features: the tokens AFE appends to the cross-attention network (seed 000).

    phi_post(x) = s [cos(omega_j^T x + b_j)]_j,   s = sqrt(2 / M_post) per AFE stage

The frequencies are chosen from the spectrum of an intermediate solution (see :mod:`pinnfreq.afe`), not
sampled, and there is no envelope. The set grows stage by stage, so the buffers change size: loading a
state dict resizes them first, which keeps checkpoints and saved solutions loadable into a freshly
built model.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..jet import Jet
from .cache import jet_key, memo


class PostFeatures(nn.Module):
    """(n, in_channels) -> (n, n_features); ``n_features`` starts at 0 and grows with :meth:`extend`."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.register_buffer("omega", torch.zeros(0, in_channels))
        self.register_buffer("phase", torch.zeros(0))
        self.register_buffer("scale", torch.zeros(0))

    @property
    def n_features(self) -> int:
        return self.omega.shape[0]

    def extend(self, omega: Tensor, phase: Tensor, scale: Tensor) -> None:
        """Append features scale_j cos(omega_j^T x + phase_j); omega (m, in_channels), phase and scale (m,)."""
        like = dict(dtype=self.omega.dtype, device=self.omega.device)
        self.omega = torch.cat([self.omega, omega.to(**like)])
        self.phase = torch.cat([self.phase, phase.to(**like)])
        self.scale = torch.cat([self.scale, scale.to(**like)])

    def forward(self, x: Tensor) -> Tensor:
        return self.scale * torch.cos(x @ self.omega.T + self.phase)

    def waves_jet(self, x: Jet, cache: dict | None = None) -> Jet:
        """cos(omega^T x + b) and its derivatives, without the scale (kept in ``cache`` for fixed points
        and this many features)."""
        return memo(cache, "post", (jet_key(x), self.n_features),
                    lambda: (x @ self.omega.T).shift(self.phase).cos())

    def forward_jet(self, x: Jet, cache: dict | None = None) -> Jet:
        return self.waves_jet(x, cache).scale(self.scale)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # noqa: ANN001
        for name in ("omega", "phase", "scale"):
            if prefix + name in state_dict:
                incoming = state_dict[prefix + name]
                setattr(self, name, torch.empty(incoming.shape, dtype=self.omega.dtype, device=self.omega.device))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
