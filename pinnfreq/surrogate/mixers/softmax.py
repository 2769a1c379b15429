"""Standard multi-head softmax attention (the baseline), via ``scaled_dot_product_attention``."""

from __future__ import annotations

from typing import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from .base import Mixer, check_tokens


class SoftmaxAttention(Mixer):
    """(B, N, d) -> (B, N, d): softmax(Q K^T / sqrt(d_k)) V per head; padded keys are never attended."""

    def __init__(self, hidden_channels: int, n_heads: int = 4):
        super().__init__(hidden_channels, n_heads)
        self.qkv = nn.Linear(hidden_channels, 3 * hidden_channels, bias=False)
        self.out_proj = nn.Linear(hidden_channels, hidden_channels, bias=False)

    def forward(self, x: Tensor, shape: Sequence[int] | None = None, mask: Tensor | None = None) -> Tensor:
        check_tokens(x, self.hidden_channels, shape, mask, "SoftmaxAttention")
        q, k, v = (self.split_heads(t) for t in self.qkv(x).chunk(3, -1))
        keep = None if mask is None else mask.bool()[:, None, None, :]
        return self.out_proj(self.merge_heads(F.scaled_dot_product_attention(q, k, v, attn_mask=keep)))
