"""MAR: MIM plus a local-to-global alignment regulariser (the paper's finding 3).

`mar` is MAR after the paper's released code (FedMAR-DecMAR), with three differences named below:
  loss_k = MAE loss + gamma_k * MMD(local latents, global latent)
- the local latents are the encoder's output tokens `[B, T, D]` (the visible patches), not
  pooled, with gradient; differs: this encoder has no class token (the code's latents include it);
- the *global latent* is a constant: during a round each client averages its detached latents
  element-wise over its local steps; at aggregation the round's participants' averages are
  averaged *unweighted* (FL), and next round every client aligns to it; the first round has no
  target, so no alignment; differs: in DecL the target mixes with the gossip weights, where the
  code's DecL runs with gamma 0 (its DecMAR is MIM);
- the kernel is the code's (`ammd.gaussian_kernel`): a Gaussian of the squared difference summed
  over dimension 2 of `[B, 1, T, D] - [1, B, T, D]`, the *token* axis, so the kernel matrices are
  `[B, B, D]`, one kernel per feature; the loss is sum(K_xx) / (B(B-1)) + sum(K_yy) / (B(B-1))
  - 2 mean(K_xy), diagonals kept (`ammd.mmd_loss`), with bandwidth the mean pairwise distance of
  the tokens within each local image (`ammd.mean_pairwise_distance`), without gradient. The two
  within-set terms sum over D times more entries than the cross term averages, so the loss mostly
  pushes a client's own features apart and only weakly pulls them to the target: it spreads
  features, where a textbook MMD^2 to a (near) single point collapses them (`mar-mmd`);
- gamma_k follows the code's cosine from `mar_weight` (0.1) down to `mar_weight / 100` (1e-3) by
  the client's selection count, saturating at cap = (sampled clients x rounds) // clients
  (`ammd.update_gamma_by_cosine`); `mar_schedule: constant` keeps `mar_weight` throughout (the
  readme's commands pass fixed values, 1e-3 in FL).

The MAE part is this package's MIM, whose target is per-patch normalised pixels (MAE's
`norm_pix_loss`); differs: the code's MAE loss is on raw pixels.

`mar-shared` is not the code's: at each step every client of a run hides the same patches (one mask
per step, used for reconstruction too); the code's shared-mask option draws one mask per round and
uses it only in an extra alignment pass.

`mar-mmd` is this package's earlier MAR: pooled latents, a textbook unbiased MMD^2 with a median
bandwidth, the target mixed with data-size weights. `mar-ref` aligns, with a fixed weight, to the
latents of the frozen encoder the client received at round start on the same batch.
"""
from __future__ import annotations

import math

import torch

from ..registry import OBJECTIVES, Param
from .mim import MASK_RATIO, MIM
from .parts import mmd2_unbiased, paper_mmd

MAR_WEIGHT = Param("mar_weight", 0.1, "MAR's alignment weight (mar: its annealed start value)", lo=0.0, hi=1e4)
MAR_SCHEDULE = Param("mar_schedule", "cosine", "MAR's weight over rounds: cosine (as the paper's code anneals it "
                     "to a hundredth) or constant", choices=("cosine", "constant"))
MAR_FIELDS = (MASK_RATIO, MAR_WEIGHT, MAR_SCHEDULE)  # the fields every annealed MAR reads


class _Aligned(MIM):
    """What the MAR variants share: MIM, per-client latent sums over the round, a target that
    is mixed at aggregation (the participants' plain average in FL, as the code's server takes
    it), and the alignment weight gamma_k."""

    mixed_state = ("target", "has_target")
    mix_uniformly = True

    def __init__(self, encoder, in_chans, cfg):
        super().__init__(encoder, in_chans, cfg)
        self.gamma_max, self.gamma_min, self.schedule = cfg.mar_weight, cfg.mar_weight / 100, cfg.mar_schedule
        sampled = max(1, int(round(cfg.participation * cfg.clients)))
        self.cap = (sampled * cfg.rounds) // cfg.clients  # the code's c_cap: expected selections
        self.batch_size, self.dim = cfg.batch_size, encoder.dim
        # the encoder's output tokens: the visible patches (ViT), or every patch (a CNN masks pixels)
        self.tokens = max(1, int(round(self.L * (1 - self.mask_ratio)))) if encoder.masks_tokens else self.L

    def gamma(self, count: torch.Tensor) -> torch.Tensor:
        """The weight at a client's `count`-th selection: the code recomputes gamma from the
        count *before* the round, so the first selection gets `mar_weight`."""
        if self.schedule == "constant":
            return torch.full_like(count, self.gamma_max)
        progress = ((count - 1) / self.cap).clamp(0, 1) if self.cap > 0 else torch.ones_like(count)
        return self.gamma_min + 0.5 * (self.gamma_max - self.gamma_min) * (1 + torch.cos(math.pi * progress))

    def latent_shape(self) -> tuple:
        return (self.batch_size, self.tokens, self.dim)

    def init_state(self, params):
        z = torch.zeros(self.latent_shape())
        zero = torch.zeros(())
        return {"latent_sum": z, "steps": zero, "target": z.clone(), "has_target": zero.clone(),
                "count": zero.clone()}

    def round_start(self, state, params):
        return {**state, "count": state["count"] + 1, "latent_sum": torch.zeros_like(state["latent_sum"]),
                "steps": torch.zeros_like(state["steps"])}

    def after_step(self, state, params, aux):
        return {**state, "latent_sum": state["latent_sum"] + aux["latent"], "steps": state["steps"] + 1}

    def round_end(self, state):
        steps = state["steps"].clamp_min(1).reshape(-1, *[1] * (state["latent_sum"].dim() - 1))
        return {**state, "target": state["latent_sum"] / steps, "has_target": torch.ones_like(state["has_target"])}


@OBJECTIVES.register("mar", "MAR after the paper's code: MIM + its token-level MMD to the global latent, annealed weight",
                     params=MAR_FIELDS, colour="#2ca02c")
class MAR(_Aligned):
    def forward(self, batch, state):
        latent, keep, mask = self.encode_masked(batch)  # (B, T, D)
        loss = self.mim_loss(batch, latent, keep, mask)
        align = paper_mmd(latent, state["target"]) * state["has_target"]  # 0 before any target
        return loss + self.gamma(state["count"]) * align, {"latent": latent.detach()}


@OBJECTIVES.register("mar-shared", "MAR with one mask per step shared by every client (not the paper's code's shared mask)",
                     params=MAR_FIELDS, colour="#98df8a")
class MARSharedMask(MAR):
    def prepare(self, x, gen, common):
        """The run's one (batch, patches) noise draw for this step: every client of the run
        hides the same patches of image i of its batch."""
        return {"x": x, "noise": torch.rand(x.shape[0], self.L, generator=common).to(x.device)}


@OBJECTIVES.register("mar-mmd", "MAR variant: MIM + textbook MMD^2 of pooled latents to the global latent", params=MAR_FIELDS, colour="#17becf")
class MARMMD(_Aligned):
    def latent_shape(self) -> tuple:
        return (self.batch_size, self.dim)

    def forward(self, batch, state):
        latent, keep, mask = self.encode_masked(batch)
        loss = self.mim_loss(batch, latent, keep, mask)
        pooled = latent.mean(1)  # (B, D)
        align = mmd2_unbiased(pooled, state["target"]) * state["has_target"]
        return loss + self.gamma(state["count"]) * align, {"latent": pooled.detach()}


@OBJECTIVES.register("mar-ref", "MIM + alignment to the round-start model's latents, fixed weight (variant)",
                     params=(MASK_RATIO, MAR_WEIGHT), colour="#9edae5")
class MARReference(MIM):
    PREFIX = "ref:"

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
