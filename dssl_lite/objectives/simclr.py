"""SimCLR (Chen et al. 2020, "A Simple Framework for Contrastive Learning of Visual
Representations"): a second CL reference, with in-batch negatives."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..registry import OBJECTIVES
from . import Objective
from .parts import two_views


@OBJECTIVES.register("simclr", "contrastive CL (SimCLR): InfoNCE with in-batch negatives", colour="#d62728")
class SimCLR(Objective):
    """InfoNCE over in-batch negatives, temperature 0.2."""

    def __init__(self, encoder, in_chans, cfg, proj_dim=128, temperature=0.2):
        super().__init__()
        self.encoder, self.t = encoder, temperature
        d = encoder.dim
        self.projector = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, proj_dim))

    prepare = staticmethod(two_views)

    def forward(self, batch, state):
        z = torch.cat([self.projector(self.encoder.features(batch[v])) for v in ("view1", "view2")])
        z = F.normalize(z, dim=-1)
        n = z.shape[0] // 2
        sim = z @ z.T / self.t - 1e9 * torch.eye(2 * n, device=z.device, dtype=z.dtype)
        target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
        return F.cross_entropy(sim, target), {}
