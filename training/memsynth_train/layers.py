"""Small 1-D building blocks shared by the models."""

import math

import torch
from torch import nn
import torch.nn.functional as F


def groups_for(ch: int) -> int:
    for g in (32, 16, 8, 4, 2, 1):
        if ch % g == 0:
            return g
    return 1


class ResBlock1d(nn.Module):
    """GroupNorm → SiLU → conv(k3, dilation) twice, residual."""

    def __init__(self, ch: int, dilation: int = 1):
        super().__init__()
        self.n1 = nn.GroupNorm(groups_for(ch), ch)
        self.c1 = nn.Conv1d(ch, ch, 3, padding=dilation, dilation=dilation)
        self.n2 = nn.GroupNorm(groups_for(ch), ch)
        self.c2 = nn.Conv1d(ch, ch, 3, padding=1)

    def forward(self, x):
        h = self.c1(F.silu(self.n1(x)))
        h = self.c2(F.silu(self.n2(h)))
        return x + h


class ConvNeXt1d(nn.Module):
    """Vocos's ConvNeXt block: depthwise conv k7 → LayerNorm → pointwise MLP ×mult → layer scale."""

    def __init__(self, dim: int, mult: int = 3, layer_scale: float = 1e-2):
        super().__init__()
        self.dw = nn.Conv1d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pw1 = nn.Linear(dim, dim * mult)
        self.pw2 = nn.Linear(dim * mult, dim)
        self.gamma = nn.Parameter(torch.full((dim,), layer_scale))

    def forward(self, x):
        h = self.dw(x).transpose(1, 2)
        h = self.pw2(F.gelu(self.pw1(self.norm(h))))
        return x + (self.gamma * h).transpose(1, 2)


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of continuous t in [0, 1] (scaled by 1000), [B] → [B, dim]."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = (t.float() * 1000.0)[:, None] * freqs[None]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=-1)
