"""CL: SimSiam (Chen & He 2021, "Exploring Simple Siamese Representation Learning")."""
from __future__ import annotations

import torch.nn.functional as F

from ..registry import OBJECTIVES
from . import Objective
from .parts import mlp, two_views


@OBJECTIVES.register("cl", "contrastive-style CL (SimSiam): two views agree, stop-gradient, no negatives", colour="#ff7f0e")
class SimSiam(Objective):
    """Two views, projector + predictor, negative cosine similarity with stop-gradient on the
    target branch. BatchNorm (batch statistics only) in both heads."""

    def __init__(self, encoder, in_chans, cfg, proj_dim=128, pred_dim=32):
        super().__init__()
        self.encoder = encoder
        self.projector = mlp(encoder.dim, proj_dim, proj_dim)
        self.predictor = mlp(proj_dim, pred_dim, proj_dim, bn_out=False)

    prepare = staticmethod(two_views)

    def forward(self, batch, state):
        z1 = self.projector(self.encoder.features(batch["view1"]))
        z2 = self.projector(self.encoder.features(batch["view2"]))
        p1, p2 = self.predictor(z1), self.predictor(z2)
        cos = lambda p, z: F.cosine_similarity(p, z.detach(), dim=-1).mean()
        return -0.5 * (cos(p1, z2) + cos(p2, z1)), {}
