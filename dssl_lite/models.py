"""Encoders from timm, sized for 16-32 px inputs and safe under `torch.func.vmap`.

Both expose the two calls the objectives need:
  `features(x)`            -> pooled features `[B, D]` (what probes and feature spaces see)
  `feature_map(x, keep)`   -> token features `[B, L', D]` of the kept patches (ViT) or `[B, L, D]`
                              for the full patch grid (ResNet; masking is done in pixel space).
vmap-safety: no BatchNorm running statistics (LayerNorm in the ViT, GroupNorm in the ResNet) and
timm's fused attention switched off (it has no vmap batching rule on CPU).
"""
from __future__ import annotations

import torch
import torch.nn as nn
from timm.models.resnet import BasicBlock, ResNet
from timm.models.vision_transformer import VisionTransformer

from .registry import ENCODERS


@ENCODERS.register("vit_tiny", "timm ViT, no class token, mean-pooled (MAE drops masked patches)")
class ViTEncoder(nn.Module):
    """timm's VisionTransformer without class token, mean-pooled, MAE-ready."""

    masks_tokens = True  # MAE drops masked patches before the encoder

    def __init__(self, image_size: int, patch_size: int, in_chans: int, width: int, depth: int, heads: int):
        super().__init__()
        self.vit = VisionTransformer(img_size=image_size, patch_size=patch_size, in_chans=in_chans,
                                     num_classes=0, global_pool="avg", embed_dim=width, depth=depth,
                                     num_heads=heads, class_token=False, fc_norm=False)
        no_fused_attention(self)
        self.dim = width
        self.patch_size = patch_size
        self.grid = image_size // patch_size

    def feature_map(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        t = self.vit.patch_embed(x) + self.vit.pos_embed  # (B, L, D)
        if keep is not None:  # keep: (B, L_keep) patch indices
            t = torch.gather(t, 1, keep[..., None].expand(-1, -1, t.shape[-1]))
        return self.vit.norm(self.vit.blocks(t))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_map(x).mean(1)  # (B, D)

    forward = feature_map  # so torch.func.functional_call(encoder, params, (x, keep)) works


def _group_norm(channels: int, **kw) -> nn.Module:
    return nn.GroupNorm(min(8, channels), channels, **kw)


@ENCODERS.register("resnet_small", "timm CIFAR-style ResNet with GroupNorm (MIM masks pixels, SimMIM-style)",
                   power_of_two_patch=True)
class ResNetEncoder(nn.Module):
    """A CIFAR-style timm ResNet (3x3 stem, no max-pool), GroupNorm, stride = patch_size."""

    masks_tokens = False  # a CNN cannot drop patches; MIM masks pixels instead (SimMIM-style)

    def __init__(self, image_size: int, patch_size: int, in_chans: int, width: int, depth: int = 0,
                 heads: int = 0):  # depth/heads: ViT fields, unused here
        super().__init__()
        stages = max(1, patch_size.bit_length())  # stride 1, then 2 per extra stage -> patch_size
        if 2 ** (stages - 1) != patch_size:
            raise ValueError("patch_size: resnet_small needs a power of two")
        chans = tuple(width * min(2 ** i, 4) for i in range(stages))
        self.net = ResNet(BasicBlock, layers=(1,) * stages, num_classes=0, in_chans=in_chans,
                          channels=chans, norm_layer=_group_norm)
        stem = self.net.bn1.num_channels  # timm's plain stem is 64 wide whatever stem_width says
        self.net.conv1 = nn.Conv2d(in_chans, stem, 3, 1, 1, bias=False)
        self.net.maxpool = nn.Identity()
        self.stages = stages
        self.dim = chans[-1]
        self.patch_size = patch_size
        self.grid = image_size // patch_size

    def feature_map(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        n = self.net
        f = n.act1(n.bn1(n.conv1(x)))
        for i in range(self.stages):  # timm's forward_features assumes 4 stages
            f = getattr(n, f"layer{i + 1}")(f)  # -> (B, D, g, g)
        return f.flatten(2).transpose(1, 2)  # (B, L, D)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_map(x).mean(1)

    forward = feature_map


def no_fused_attention(module: nn.Module) -> nn.Module:
    """Use timm's plain attention maths: the fused kernel has no vmap batching rule on CPU."""
    for m in module.modules():
        if hasattr(m, "fused_attn"):
            m.fused_attn = False
    return module


def create_encoder(name: str, image_size: int, in_chans: int, width: int = 64, depth: int = 2,
                   heads: int = 4, patch_size: int = 4) -> nn.Module:
    """A registered encoder by name, e.g. `create_encoder("vit_tiny", 16, 1)`."""
    return ENCODERS.get(name).obj(image_size, patch_size, in_chans, width, depth, heads)
