"""Self-supervised objectives: `mim` (MAE), `cl` (SimSiam), `mar` (MIM + MMD^2 alignment), `simclr`.

One contract, so the simulator treats them alike:
  `prepare(x, gen) -> batch`   all randomness (masks, augmentations), drawn *outside* vmap from an
                               explicit generator, so the vectorised path and the per-client loop
                               see the same numbers;
  `forward(batch, ref=None)`   the scalar loss for one client's batch; `ref` is the frozen
                               round-start encoder parameters (used by `mar` only).
Each objective owns its encoder (`.encoder`) plus its heads; all are trained and aggregated.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.models.vision_transformer import Block

from .models import create_encoder, no_fused_attention


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


class MIM(nn.Module):
    """MAE (He et al. 2022): mask `mask_ratio` of the patches, encode the visible ones, decode with
    one transformer block, MSE on masked patches against per-patch-normalised pixels. With a CNN
    encoder the masked patches are zeroed in pixel space and a linear head predicts them (SimMIM)."""

    def __init__(self, encoder: nn.Module, in_chans: int, mask_ratio: float = 0.75, heads: int = 4):
        super().__init__()
        self.encoder, self.mask_ratio = encoder, mask_ratio
        d, p, self.L = encoder.dim, encoder.patch_size, encoder.grid ** 2
        out = p * p * in_chans
        if encoder.masks_tokens:
            self.decoder_embed = nn.Linear(d, d)
            self.mask_token = nn.Parameter(torch.zeros(1, 1, d))
            self.decoder_pos = nn.Parameter(0.02 * torch.randn(1, self.L, d))
            self.decoder = no_fused_attention(Block(d, heads))
            self.decoder_norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, out)

    def prepare(self, x, gen):
        return {"x": x, "noise": torch.rand(x.shape[0], self.L, generator=gen).to(x.device)}

    def encode_masked(self, batch, params=None):
        """-> (latent tokens (B, L', D), keep (B, L_keep), mask (B, L) with 1 = masked)."""
        x, noise = batch["x"], batch["noise"]
        n_keep = max(1, int(round(self.L * (1 - self.mask_ratio))))
        order = noise.argsort(1)  # random permutation of patches per image
        rank = order.argsort(1)   # position of each patch in it
        keep, mask = order[:, :n_keep], (rank >= n_keep).to(x.dtype)
        enc = self.encoder if params is None else (lambda *a: torch.func.functional_call(self.encoder, params, a))
        if self.encoder.masks_tokens:
            return enc(x, keep), keep, mask
        p = self.encoder.patch_size
        g = self.encoder.grid
        pix_mask = mask.reshape(-1, 1, g, g).repeat_interleave(p, 2).repeat_interleave(p, 3)
        return enc(x * (1 - pix_mask)), keep, mask

    def decode(self, latent, keep):
        if not self.encoder.masks_tokens:
            return self.head(latent)
        t = self.decoder_embed(latent)  # (B, L_keep, D)
        b, n_keep, d = t.shape
        full = self.mask_token.expand(b, self.L, d)
        full = full.scatter(1, keep[..., None].expand(-1, -1, d), t)  # visible tokens back in place
        return self.head(self.decoder_norm(self.decoder(full + self.decoder_pos)))

    def mim_loss(self, batch, latent, keep, mask):
        target = patchify(batch["x"], self.encoder.patch_size)
        target = (target - target.mean(-1, keepdim=True)) / (target.var(-1, keepdim=True) + 1e-6).sqrt()
        err = ((self.decode(latent, keep) - target) ** 2).mean(-1)  # (B, L)
        return (err * mask).sum() / mask.sum()

    def forward(self, batch, ref=None):
        latent, keep, mask = self.encode_masked(batch)
        return self.mim_loss(batch, latent, keep, mask)


class MAR(MIM):
    """MIM plus local-to-global alignment: `mar_weight * MMD^2(local, reference)` between pooled
    latents of this client's encoder and the frozen round-start (received) encoder on the same
    visible patches. We use the unbiased MMD^2 with a median-heuristic Gaussian kernel."""

    needs_reference = True

    def __init__(self, encoder, in_chans, mask_ratio=0.75, heads=4, mar_weight=1.0):
        super().__init__(encoder, in_chans, mask_ratio, heads)
        self.mar_weight = mar_weight

    def forward(self, batch, ref=None):
        latent, keep, mask = self.encode_masked(batch)
        loss = self.mim_loss(batch, latent, keep, mask)
        if ref is None:
            return loss
        ref_latent, _, _ = self.encode_masked(batch, params=ref)
        return loss + self.mar_weight * mmd2_unbiased(latent.mean(1), ref_latent.mean(1).detach())


def _mlp(d_in, d_hidden, d_out, bn_out=True):
    # No bias before a BatchNorm: it would have an exactly-zero gradient, which Adam turns into
    # noise-driven +-lr steps (and makes the vmap and loop paths disagree for no reason).
    layers = [nn.Linear(d_in, d_hidden, bias=False), BatchNormNoStats(d_hidden), nn.ReLU(),
              nn.Linear(d_hidden, d_out, bias=not bn_out)]
    return nn.Sequential(*layers, *([BatchNormNoStats(d_out, affine=False)] if bn_out else []))


class SimSiam(nn.Module):
    """SimSiam (Chen & He 2021): two views, projector + predictor, negative cosine similarity with
    stop-gradient on the target branch. BatchNorm (batch statistics only) in both heads."""

    def __init__(self, encoder, proj_dim=128, pred_dim=32):
        super().__init__()
        self.encoder = encoder
        self.projector = _mlp(encoder.dim, proj_dim, proj_dim)
        self.predictor = _mlp(proj_dim, pred_dim, proj_dim, bn_out=False)

    def prepare(self, x, gen):
        return {"view1": augment(x, gen), "view2": augment(x, gen)}

    def forward(self, batch, ref=None):
        z1 = self.projector(self.encoder.features(batch["view1"]))
        z2 = self.projector(self.encoder.features(batch["view2"]))
        p1, p2 = self.predictor(z1), self.predictor(z2)
        cos = lambda p, z: F.cosine_similarity(p, z.detach(), dim=-1).mean()
        return -0.5 * (cos(p1, z2) + cos(p2, z1))


class SimCLR(nn.Module):
    """SimCLR (Chen et al. 2020): InfoNCE over in-batch negatives, temperature 0.2."""

    def __init__(self, encoder, proj_dim=128, temperature=0.2):
        super().__init__()
        self.encoder, self.t = encoder, temperature
        d = encoder.dim
        self.projector = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, proj_dim))

    prepare = SimSiam.prepare

    def forward(self, batch, ref=None):
        z = torch.cat([self.projector(self.encoder.features(batch[v])) for v in ("view1", "view2")])
        z = F.normalize(z, dim=-1)
        n = z.shape[0] // 2
        sim = z @ z.T / self.t - 1e9 * torch.eye(2 * n, device=z.device, dtype=z.dtype)
        target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
        return F.cross_entropy(sim, target)


def create_objective(cfg, in_chans: int) -> nn.Module:
    """Build the objective (with its encoder) a config names, e.g. `create_objective(Config(), 1)`."""
    enc = create_encoder(cfg.model, cfg.image_size, in_chans, cfg.width, cfg.depth, cfg.heads, cfg.patch_size)
    if cfg.objective == "mim":
        return MIM(enc, in_chans, cfg.mask_ratio, cfg.heads)
    if cfg.objective == "mar":
        return MAR(enc, in_chans, cfg.mask_ratio, cfg.heads, cfg.mar_weight)
    if cfg.objective == "cl":
        return SimSiam(enc)
    if cfg.objective == "simclr":
        return SimCLR(enc)
    raise ValueError(f"objective: got {cfg.objective!r}")


REGISTRY = ("mim", "cl", "mar", "simclr")
