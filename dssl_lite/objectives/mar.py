"""MAR: MIM plus a local-to-global alignment regulariser (the paper's finding 3).

`mar` follows the paper's released code (FedMAR/DecMAR):
  loss_k = MAE loss + gamma_k * MMD^2(local latents, global latent)
- the *global latent* is what the client received: during a round each client averages its
  pooled latents over its local steps (the paper's epoch-averaged latents); at aggregation that
  average is mixed exactly like the parameters (FedAvg over the round's participants, or one
  gossip step with the graph's weights in DecL), and next round every client aligns to it;
- gamma_k is per client, annealed on a cosine from `mar_weight` (0.1, as in the code) down to
  `mar_weight / 100` (1e-3) as the client is selected more often, against a cap of
  rounds x participation expected selections;
- MMD^2 is the unbiased estimator with a median-bandwidth Gaussian kernel (textbook, where the
  paper's code scales it unusually). Latents are mean-pooled over the visible tokens.

`mar-shared` is `mar` with the option the paper's code has of one shared mask: at each step every
client of a run hides the same patches (image i of every client's batch the same ones), so the
local latents and the global latent they are aligned to come from the same visible positions.

`mar-ref` is an earlier variant kept for comparison: it aligns, with the fixed weight
`mar_weight`, to the latents of the frozen encoder the client received at round start on the
same batch and visible patches.
"""
from __future__ import annotations

import math

import torch

from ..registry import OBJECTIVES
from .mim import MIM
from .parts import mmd2_unbiased


@OBJECTIVES.register("mar", "MIM + alignment to the global latent, annealed weight (the paper's MAR)")
class MAR(MIM):
    mixed_state = ("target", "has_target")
    fields = ("mask_ratio", "mar_weight")

    def __init__(self, encoder, in_chans, cfg):
        super().__init__(encoder, in_chans, cfg)
        self.gamma_max, self.gamma_min = cfg.mar_weight, cfg.mar_weight / 100
        self.cap = max(1.0, cfg.rounds * cfg.participation)  # expected selections of one client
        self.batch_size, self.dim = cfg.batch_size, encoder.dim

    def gamma(self, count: torch.Tensor) -> torch.Tensor:
        """Cosine from gamma_max (first selection) to gamma_min (at the cap and after)."""
        progress = ((count - 1) / max(self.cap - 1, 1.0)).clamp(0, 1)
        return self.gamma_min + 0.5 * (self.gamma_max - self.gamma_min) * (1 + torch.cos(math.pi * progress))

    def init_state(self, params):
        z = torch.zeros(self.batch_size, self.dim)
        zero = torch.zeros(())
        return {"latent_sum": z, "steps": zero, "target": z.clone(), "has_target": zero.clone(),
                "count": zero.clone()}

    def forward(self, batch, state):
        latent, keep, mask = self.encode_masked(batch)
        loss = self.mim_loss(batch, latent, keep, mask)
        pooled = latent.mean(1)  # (B, D)
        align = mmd2_unbiased(pooled, state["target"]) * state["has_target"]  # 0 before any target
        return loss + self.gamma(state["count"]) * align, {"latent": pooled.detach()}

    def round_start(self, state, params):
        return {**state, "count": state["count"] + 1, "latent_sum": torch.zeros_like(state["latent_sum"]),
                "steps": torch.zeros_like(state["steps"])}

    def after_step(self, state, params, aux):
        return {**state, "latent_sum": state["latent_sum"] + aux["latent"], "steps": state["steps"] + 1}

    def round_end(self, state):
        steps = state["steps"].clamp_min(1).reshape(-1, *[1] * (state["latent_sum"].dim() - 1))
        return {**state, "target": state["latent_sum"] / steps, "has_target": torch.ones_like(state["has_target"])}


@OBJECTIVES.register("mar-shared", "MAR with one mask per step shared by every client (the same visible patches)")
class MARSharedMask(MAR):
    def prepare(self, x, gen, common):
        """The run's one (batch, patches) noise draw for this step: every client of the run
        hides the same patches of image i of its batch."""
        return {"x": x, "noise": torch.rand(x.shape[0], self.L, generator=common).to(x.device)}


@OBJECTIVES.register("mar-ref", "MIM + alignment to the round-start model's latents, fixed weight (variant)")
class MARReference(MIM):
    PREFIX = "ref:"
    fields = ("mask_ratio", "mar_weight")

    def __init__(self, encoder, in_chans, cfg):
        super().__init__(encoder, in_chans, cfg)
        self.mar_weight = cfg.mar_weight

    def init_state(self, params):
        return {self.PREFIX + n[len("encoder."):]: t.detach().clone()
                for n, t in params.items() if n.startswith("encoder.")}

    def round_start(self, state, params):
        """Freeze what the client holds now (what it received) as its reference."""
        return {n: params["encoder." + n[len(self.PREFIX):]].detach().clone() for n in state}

    def forward(self, batch, state):
        latent, keep, mask = self.encode_masked(batch)
        loss = self.mim_loss(batch, latent, keep, mask)
        ref = {n[len(self.PREFIX):]: t for n, t in state.items()}
        ref_latent, _, _ = self.encode_masked(batch, params=ref)
        return loss + self.mar_weight * mmd2_unbiased(latent.mean(1), ref_latent.mean(1).detach()), {}
