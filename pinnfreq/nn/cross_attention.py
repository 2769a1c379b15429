"""The cross-attention residual network over a multi-scale Fourier feature bank (seed 000).

    H(x)      = reshape(phi(x)) in R^{N_tok x d_q}                  (grouping by reshape)
    Q^(0)     = act(W^(0) phi(x) + b^(0))
    Q~^(l)    = Q^(l) + softmax(Q^(l) W_Q (H W_K)^T / sqrt(d_q) + M^(l)) H W_V
    Q^(l+1)   = act(W^(l+1) Q~^(l) + b^(l+1)),   l = 0..L-1
    u         = W_out Q^(L) + b_out

AFE (:mod:`pinnfreq.afe`) appends tokens of posterior features after the bank's (``add_tokens``);
the projections keep their shapes and each new token's ``logit_bias`` is its mask.

No token is ever projected: the scores are (Q W_Q W_K^T) . H_t and the output is
(sum_t a_t H_t) W_V, which is the same algebra with (n, d_q) products instead of (n, N_tok, d_q) ones.

Options that depart from the seed, each off by default:
``n_heads > 1`` (the paper's multi-head attention, scores scaled by sqrt(d_q / n_heads));
``update="residual"`` (the paper's Q^(l+1) = Q~ + act(W Q~ + b));
``first_query="input"`` ("NN-CA": Q^(0) from the raw coordinates instead of phi(x));
``low_frequency=w`` (u = u_h + alpha u_l with a small tanh MLP u_l of width w and learnable alpha:
PINN losses weight mode k by k^2 or k^4, so low modes are the slow ones there);
``variant="paper"`` in the feature bank (scales 0..K, sqrt(1/M)).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..jet import Jet, ScaledOperand
from ..jet import activation as jet_activation
from .cache import jet_key, memo
from .features import FourierFeatureBank
from .mlp import MLP
from .post_features import PostFeatures
from .registry import activation as make_activation
from .registry import register


@register
class CrossAttentionNet(nn.Module):
    """(n, in_channels) -> (n, out_channels).

    Parameters
    ----------
    in_channels, out_channels : int
    hidden_channels : int
        Token width and query width d_q (paper: 64). ``n_base * n_scales`` must be a multiple of it.
    n_layers : int
        Cross-attention blocks L (paper: 4).
    n_base, n_scales, sigma, beta_init, variant
        The feature bank (see :class:`FourierFeatureBank`).
    n_heads : int
        Attention heads; must divide hidden_channels.
    activation : str
    update : {"seed", "residual"}
    first_query : {"features", "input"}
    low_frequency : int or None
        Width of the low-frequency MLP of the composite output (None: off).
    """

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int = 64, n_layers: int = 4,
                 n_base: int = 128, n_scales: int = 4, sigma: float = 1.0, beta_init: float = 0.1,
                 variant: str = "seed", n_heads: int = 1, activation: str = "tanh", update: str = "seed",
                 first_query: str = "features", low_frequency: int | None = None):
        super().__init__()
        self.config = dict(in_channels=in_channels, out_channels=out_channels, hidden_channels=hidden_channels,
                           n_layers=n_layers, n_base=n_base, n_scales=n_scales, sigma=sigma, beta_init=beta_init,
                           variant=variant, n_heads=n_heads, activation=activation, update=update,
                           first_query=first_query, low_frequency=low_frequency)
        if update not in ("seed", "residual") or first_query not in ("features", "input"):
            raise ValueError(f"update must be 'seed' or 'residual' and first_query 'features' or 'input'; "
                             f"got {update!r}, {first_query!r}")
        d = hidden_channels
        if n_heads < 1 or d % n_heads:
            raise ValueError(f"n_heads={n_heads} must divide hidden_channels={d}")
        self.bank = FourierFeatureBank(in_channels, n_base, n_scales, sigma, beta_init, variant)
        m = self.bank.n_features
        if m % d:
            raise ValueError(f"the feature bank has M = {m} features (n_base={n_base} x {m // n_base} scales), "
                             f"not a multiple of the token width hidden_channels={d}; pick them so that d_q divides M")
        self.n_base_tokens, self.n_heads, self.update, self.first_query = m // d, n_heads, update, first_query
        self.act = make_activation(activation)
        self.first = nn.Linear(m if first_query == "features" else in_channels, d)
        self.w_q = nn.Parameter(torch.empty(n_layers, d, d))
        self.w_k = nn.Parameter(torch.empty(n_layers, d, d))
        self.w_v = nn.Parameter(torch.empty(n_layers, d, d))
        for w in (self.w_q, self.w_k, self.w_v):
            for layer in w:
                nn.init.xavier_normal_(layer)
        self.layers = nn.ModuleList(nn.Linear(d, d) for _ in range(n_layers))
        self.readout = nn.Linear(d, out_channels)
        for lin in [self.first, *self.layers, self.readout]:
            nn.init.xavier_normal_(lin.weight)
            nn.init.zeros_(lin.bias)
        self.low = MLP(in_channels, out_channels, low_frequency, 2) if low_frequency else None
        self.alpha = nn.Parameter(torch.tensor(1.0)) if low_frequency else None
        self.post = PostFeatures(in_channels)  # AFE's tokens, none until it adds some
        # an additive logit bias per layer and token (AFE's mask); zeros change nothing
        self.register_buffer("logit_bias", torch.zeros(n_layers, self.n_base_tokens))

    @property
    def n_tokens(self) -> int:
        """Tokens per point: the bank's M / d_q plus those AFE appended."""
        return self.logit_bias.shape[1]

    @property
    def token_width(self) -> int:
        """Features per token, d_q: new tokens come in multiples of it."""
        return self.config["hidden_channels"]

    def set_token_bias(self, tokens: slice, eta: float) -> None:
        """Set the additive logit bias of ``tokens`` in every layer (AFE's mask: very negative hides them)."""
        with torch.no_grad():
            self.logit_bias[:, tokens] = eta

    def add_tokens(self, omega: Tensor, phase: Tensor, scale: Tensor) -> slice:
        """Append tokens of posterior features scale_j cos(omega_j^T x + phase_j) (AFE); omega (m, in_channels),
        phase and scale (m,), m a multiple of the token width. Returns their token indices; their logit
        bias starts at 0."""
        d = self.config["hidden_channels"]
        if omega.ndim != 2 or omega.shape[1] != self.config["in_channels"] or omega.shape[0] % d or not len(omega):
            raise ValueError(f"new tokens need omega of shape (k * {d}, {self.config['in_channels']}); got {tuple(omega.shape)}")
        self.post.extend(omega, phase, scale)
        start = self.n_tokens
        self.logit_bias = torch.cat([self.logit_bias, self.logit_bias.new_zeros(len(self.layers), len(omega) // d)], 1)
        return slice(start, self.n_tokens)

    def tokens(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """phi(x) (n, M) of the bank and the tokens H (n, N_tok, d_q), AFE's appended after the bank's."""
        phi = self.bank(x)
        feats = torch.cat([phi, self.post(x)], 1) if self.post.n_features else phi
        return phi, feats.view(x.shape[0], self.n_tokens, -1)

    def forward(self, x: Tensor, return_attention: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """Fields (n, out_channels); with ``return_attention``, also the weights (n, L, heads, N_tok)."""
        phi, h = self.tokens(x)
        q = self.act(self.first(phi if self.first_query == "features" else x))
        weights = []
        for l, layer in enumerate(self.layers):
            scores = torch.bmm(self._keys(q, l), h.transpose(1, 2))  # (n, heads, N_tok)
            a = torch.softmax(scores * self._score_scale + self.logit_bias[l], -1)
            weights.append(a)
            q_tilde = q + self._values(torch.bmm(a, h), l)
            q = q_tilde + self.act(layer(q_tilde)) if self.update == "residual" else self.act(layer(q_tilde))
        u = self.readout(q)
        if self.low is not None:
            u = u + self.alpha * self.low(x)
        return (u, torch.stack(weights, dim=1)) if return_attention else u

    def forward_jet(self, x: Jet, cache: dict | None = None) -> Jet:
        """The same network in Taylor mode.

        ``cache``: a dict kept by the caller for one fixed set of points (``x`` the same every call).
        The features' waves cos(omega^T x + b) and their derivatives cannot change there, only the
        envelope, one factor per feature; they are computed once and kept in it, laid out for the
        token contractions. Derivatives beyond the jet's are then not available by autograd.
        """
        act = jet_activation(self.config["activation"])
        waves, waves_t = self._token_operands(x, cache)
        envelope = torch.cat([self.bank.envelope(), self.post.scale])
        c = 1 + len(x.g) + len(x.pairs)  # jet components: value, first derivatives, second-order pairs
        # the tokens (n, K N_tok, d_q): the waves times the envelope (Jet.bmm_operand: components stacked)
        tokens = ScaledOperand.make(waves, waves_t, envelope.view(self.n_tokens, -1).repeat(c, 1))
        q = self.bank.first_layer_jet(x, self.first, cache) if self.first_query == "features" else x.linear(self.first)
        q = act(q)
        for l, layer in enumerate(self.layers):
            s = q.map(lambda z, l=l: self._keys(z, l))  # (n, heads, d): linear in q
            scores = s.products(tokens.T)  # (n, heads, N_tok)
            a = scores.scale(self._score_scale).shift(self.logit_bias[l]).softmax(-1)
            mixed = a.bmm_operand_left(tokens)
            q_tilde = q + mixed.map(lambda z, l=l: self._values(z, l))
            q = q_tilde + act(q_tilde.linear(layer)) if self.update == "residual" else act(q_tilde.linear(layer))
        u = q.linear(self.readout)
        if self.low is not None:
            u = u + self.low.forward_jet(x).scale(self.alpha)
        return u

    def _token_operands(self, x: Jet, cache: dict | None) -> tuple[Tensor, Tensor]:
        """The tokens' waves (no envelope), components stacked, (n, K N_tok, d_q), and transposed,
        (n, d_q, K N_tok): the weighted sum's operand and the scores' (Jet.bmm_operand_left and
        Jet.products); kept in ``cache`` for fixed points (:mod:`pinnfreq.nn.cache`)."""
        def make() -> tuple[Tensor, Tensor]:
            waves = self.bank.waves_jet(x)
            if self.post.n_features:
                waves = Jet.cat([waves, self.post.waves_jet(x)], -1)
            stacked = waves.reshape(x.v.shape[0], self.n_tokens, -1).bmm_operand()
            return stacked, stacked.transpose(1, 2).contiguous()

        return memo(cache, "tokens", (jet_key(x), self.n_tokens), make)

    @property
    def _score_scale(self) -> float:
        return 1 / math.sqrt(self.config["hidden_channels"] // self.n_heads)

    def _keys(self, q: Tensor, l: int) -> Tensor:
        """(..., d) -> (..., heads, d): per head, the query mapped to key space, Q W_Q W_K^T, so that the
        scores are one product with the tokens (no token is ever projected)."""
        heads, d = self.n_heads, q.shape[-1]
        if heads == 1:  # one (d, d) product with W_Q W_K^T: per point a single matrix product
            return (q @ (self.w_q[l] @ self.w_k[l].T)).unsqueeze(-2)
        qh = (q @ self.w_q[l]).unflatten(-1, (heads, d // heads))
        return torch.einsum("...hc,ehc->...he", qh, self.w_k[l].view(d, heads, d // heads))

    def _values(self, mixed: Tensor, l: int) -> Tensor:
        """(..., heads, d) attention-weighted tokens -> (..., d): each head's slice of H W_V, concatenated."""
        heads, d = self.n_heads, mixed.shape[-1]
        if heads == 1:
            return mixed.squeeze(-2) @ self.w_v[l]
        out = torch.einsum("...he,ehc->...hc", mixed, self.w_v[l].view(d, heads, d // heads))
        return out.flatten(-2)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # noqa: ANN001
        if prefix + "logit_bias" in state_dict:  # AFE may have appended tokens: take the saved count
            self.logit_bias = self.logit_bias.new_zeros(state_dict[prefix + "logit_bias"].shape)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
