"""BYOL (Grill et al. 2020, "Bootstrap Your Own Latent"): an online network predicts a slowly
moving (EMA) target network's projection of another view.

The target is per-client state owned by the simulator. `byol` averages it like the parameters
(FedBYOL: the server also aggregates target networks); `byol-local` keeps every client's target
to itself (only the online network is shared).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.func import functional_call

from ..registry import OBJECTIVES
from . import Objective
from .parts import mlp, two_views

TARGET = "target:"  # state keys: "target:" + the online parameter's name (encoder.* and projector.*)


@OBJECTIVES.register("byol", "BYOL: predict an EMA target's view; targets averaged too (FedBYOL)", colour="#8c564b")
class BYOL(Objective):
    mixed_state = (TARGET,)
    decay = 0.99  # EMA of the target; BYOL's 0.996 suits 10^5 steps, this suits 10^2-10^3

    def __init__(self, encoder, in_chans, cfg, proj_dim=128, pred_dim=64):
        super().__init__()
        self.encoder = encoder
        self.projector = mlp(encoder.dim, proj_dim, proj_dim, bn_out=False)
        self.predictor = mlp(proj_dim, pred_dim, proj_dim, bn_out=False)

    prepare = staticmethod(two_views)

    def init_state(self, params):
        return {TARGET + n: t.detach().clone() for n, t in params.items()
                if n.startswith(("encoder.", "projector."))}

    def _target(self, state, x):
        sub = lambda prefix: {n[len(TARGET) + len(prefix):]: t for n, t in state.items()
                              if n.startswith(TARGET + prefix)}
        f = functional_call(self.encoder, sub("encoder."), (x,)).mean(1)
        return functional_call(self.projector, sub("projector."), (f,)).detach()

    def forward(self, batch, state):
        v1, v2 = batch["view1"], batch["view2"]
        p1 = self.predictor(self.projector(self.encoder.features(v1)))
        p2 = self.predictor(self.projector(self.encoder.features(v2)))
        t1, t2 = self._target(state, v1), self._target(state, v2)
        loss = lambda p, t: (2 - 2 * F.cosine_similarity(p, t, dim=-1)).mean()
        return 0.5 * (loss(p1, t2) + loss(p2, t1)), {}

    @torch.no_grad()
    def after_step(self, state, params, aux):
        return {n: self.decay * t + (1 - self.decay) * params[n[len(TARGET):]] for n, t in state.items()}


@OBJECTIVES.register("byol-local", "BYOL with every client's EMA target kept local (online net shared)", colour="#c49c94")
class BYOLLocal(BYOL):
    mixed_state = ()
