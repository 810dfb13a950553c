"""Pieces the objectives share: batched augmentations, patches, MMD^2 and vmap-safe heads."""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Batched SimCLR-style views for small grey/colour images: random resized crop (affine grid),
    brightness/contrast jitter and pixel noise. Random numbers come from `gen` (CPU)."""
    n, dev = x.shape[0], x.device
    u = lambda *s: torch.rand(*s, generator=gen).to(dev)
    area = 0.35 + 0.65 * u(n)
    aspect = torch.exp((u(n) - 0.5) * 2 * math.log(4 / 3))
    sx, sy = (area * aspect).sqrt().clamp(max=1), (area / aspect).sqrt().clamp(max=1)
    tx, ty = (2 * u(n) - 1) * (1 - sx), (2 * u(n) - 1) * (1 - sy)
    zero = torch.zeros_like(sx)
    theta = torch.stack([torch.stack([sx, zero, tx], 1), torch.stack([zero, sy, ty], 1)], 1)  # (N, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    v = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    v = v * (0.6 + 0.8 * u(n, 1, 1, 1)) + (u(n, 1, 1, 1) - 0.5) * 0.8
    return v + 0.1 * torch.randn(x.shape, generator=gen).to(dev)


def two_views(x: torch.Tensor, gen: torch.Generator, common=None) -> dict[str, torch.Tensor]:
    return {"view1": augment(x, gen), "view2": augment(x, gen)}


def patchify(x: torch.Tensor, p: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, L, p*p*C), patches in row-major order (as timm's PatchEmbed)."""
    b, c, h, w = x.shape
    x = x.reshape(b, c, h // p, p, w // p, p)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(b, (h // p) * (w // p), p * p * c)


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Unbiased MMD^2 (Gretton et al. 2012) with a Gaussian kernel whose bandwidth is the median
    pairwise distance of the pooled sample (detached). x: (m, D), y: (n, D). vmap-safe."""
    z = torch.cat([x, y])
    sq = (z * z).sum(1)
    d2 = (sq[:, None] + sq[None, :] - 2 * z @ z.T).clamp_min(0)
    i, j = torch.triu_indices(len(z), len(z), 1, device=z.device)
    sigma2 = d2[i, j].detach().median().clamp_min(1e-6)
    k = torch.exp(-d2 / (2 * sigma2))
    m, n = len(x), len(y)
    kxx, kyy, kxy = k[:m, :m], k[m:, m:], k[:m, m:]
    off = lambda a, s: (a.sum() - a.diagonal().sum()) / (s * (s - 1))
    return off(kxx, m) + off(kyy, n) - 2 * kxy.mean()


def mean_token_distance(x: torch.Tensor) -> torch.Tensor:
    """The paper's bandwidth (`ammd.mean_pairwise_distance` on `[B, T, D]` latents): the mean of
    `cdist(x, x)`, the distances between the tokens of each image (zeros on the diagonal
    included), without gradient. vmap-safe."""
    x = x.detach()
    return ((x[:, :, None, :] - x[:, None, :, :]) ** 2).sum(-1).sqrt().mean()


def paper_mmd(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """MAR's alignment term as the paper's code writes it (`ammd.mmd_loss` with
    `ammd.gaussian_kernel` on token latents): x `[B, T, D]` local latents (with gradient), y
    `[B', T, D]` the global latent (a constant). The kernel sums the squared difference over
    dimension 2 of `[B, 1, T, D] - [1, B', T, D]`, the token axis, giving one kernel per feature
    `[B, B', D]`; diagonals are kept and the within-set sums are divided by B(B-1) while the cross
    term is a mean, so the within-set terms weigh about D times more."""
    sigma = mean_token_distance(x)
    kernel = lambda a, b: torch.exp(-((a.unsqueeze(1) - b.unsqueeze(0)) ** 2).sum(2) / (2 * sigma ** 2))
    bx, by = x.shape[0], y.shape[0]
    return kernel(x, x).sum() / (bx * (bx - 1)) + kernel(y, y).sum() / (by * (by - 1)) - 2 * kernel(x, y).mean()


class BatchNormNoStats(nn.Module):
    """BatchNorm1d that always uses the current batch's statistics and keeps no running buffers:
    vmap-safe, and per-client by construction (SimSiam collapses without BN in its heads)."""

    def __init__(self, dim: int, affine: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim)) if affine else None
        self.bias = nn.Parameter(torch.zeros(dim)) if affine else None

    def forward(self, x):  # (B, D)
        x = (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + 1e-5)
        return x if self.weight is None else x * self.weight + self.bias


def mlp(d_in: int, d_hidden: int, d_out: int, bn_out: bool = True) -> nn.Sequential:
    """Linear-BN-ReLU-Linear(-BN), the SimSiam/BYOL head. No bias before a BatchNorm: it would have
    an exactly-zero gradient, which Adam turns into noise-driven +-lr steps."""
    layers = [nn.Linear(d_in, d_hidden, bias=False), BatchNormNoStats(d_hidden), nn.ReLU(),
              nn.Linear(d_hidden, d_out, bias=not bn_out)]
    return nn.Sequential(*layers, *([BatchNormNoStats(d_out, affine=False)] if bn_out else []))
