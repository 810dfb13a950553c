"""MIM: masked image modelling, MAE-style (He et al. 2022, "Masked Autoencoders Are Scalable
Vision Learners"; facebookresearch/mae `models_mae.py`)."""
from __future__ import annotations

import torch
import torch.nn as nn
from timm.models.vision_transformer import Block

from ..models import no_fused_attention
from ..registry import OBJECTIVES, Param
from . import Objective
from .parts import patchify

MASK_RATIO = Param("mask_ratio", 0.75, "share of each image's patches hidden (MIM and MAR)", lo=0.0, hi=0.95, lo_open=True)


@OBJECTIVES.register("mim", "masked image modelling (MAE): reconstruct 75 % hidden patches", params=(MASK_RATIO,), colour="#1f77b4")
class MIM(Objective):
    """Mask `mask_ratio` of the patches, encode the visible ones, decode with one transformer
    block, MSE on masked patches against per-patch-normalised pixels. With a CNN encoder the
    masked patches are zeroed in pixel space and a linear head predicts them (SimMIM)."""

    def __init__(self, encoder: nn.Module, in_chans: int, cfg):
        super().__init__()
        self.encoder, self.mask_ratio = encoder, cfg.mask_ratio
        d, p, self.L = encoder.dim, encoder.patch_size, encoder.grid ** 2
        if encoder.masks_tokens:
            self.decoder_embed = nn.Linear(d, d)
            self.mask_token = nn.Parameter(torch.zeros(1, 1, d))
            self.decoder_pos = nn.Parameter(0.02 * torch.randn(1, self.L, d))
            self.decoder = no_fused_attention(Block(d, cfg.heads))
            self.decoder_norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, p * p * in_chans)

    def prepare(self, x, gen, common):
        return {"x": x, "noise": torch.rand(x.shape[0], self.L, generator=gen).to(x.device)}

    def encode_masked(self, batch, params=None):
        """-> (latent tokens (B, L', D), keep (B, L_keep), mask (B, L) with 1 = masked).
        `params` (optional) encodes with other encoder weights (a frozen reference)."""
        x, noise = batch["x"], batch["noise"]
        n_keep = max(1, int(round(self.L * (1 - self.mask_ratio))))
        order = noise.argsort(1)  # random permutation of patches per image
        rank = order.argsort(1)   # position of each patch in it
        keep, mask = order[:, :n_keep], (rank >= n_keep).to(x.dtype)
        enc = self.encoder if params is None else (lambda *a: torch.func.functional_call(self.encoder, params, a))
        if self.encoder.masks_tokens:
            return enc(x, keep), keep, mask
        p, g = self.encoder.patch_size, self.encoder.grid
        pix_mask = mask.reshape(-1, 1, g, g).repeat_interleave(p, 2).repeat_interleave(p, 3)
        return enc(x * (1 - pix_mask)), keep, mask

    def decode(self, latent, keep):
        if not self.encoder.masks_tokens:
            return self.head(latent)
        t = self.decoder_embed(latent)  # (B, L_keep, D)
        b, n_keep, d = t.shape
        full = self.mask_token.expand(b, self.L, d).to(t.dtype)
        full = full.scatter(1, keep[..., None].expand(-1, -1, d), t)  # visible tokens back in place
        return self.head(self.decoder_norm(self.decoder(full + self.decoder_pos)))

    def mim_loss(self, batch, latent, keep, mask):
        target = patchify(batch["x"], self.encoder.patch_size)
        target = (target - target.mean(-1, keepdim=True)) / (target.var(-1, keepdim=True) + 1e-6).sqrt()
        err = ((self.decode(latent, keep) - target) ** 2).mean(-1)  # (B, L)
        return (err * mask).sum() / mask.sum()

    def forward(self, batch, state):
        latent, keep, mask = self.encode_masked(batch)
        return self.mim_loss(batch, latent, keep, mask), {}
