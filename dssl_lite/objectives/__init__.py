"""Self-supervised objectives, one file each, registered by name (`registry.OBJECTIVES`).

The contract every objective keeps, so the simulator treats them alike (`Objective` below):

  prepare(x, gen, common) -> batch
                                  one client's batch `x` [B, C, H, W] made ready, all randomness
                                  (masks, augmentations) drawn *outside* vmap from the client's
                                  own generator `gen` (seeded by run seed, client and step), or
                                  from `common`, the run's generator for this step (the same for
                                  every client: a shared mask); so every execution strategy sees
                                  the same numbers
  forward(batch, state) -> (loss, aux)
                                  one client's loss, called as `functional_call(obj, params, ...)`
                                  under vmap; `state` is the client's own state, `aux` feeds
                                  `after_step`
  init_state(params) -> state     one client's state at the start (default: none)
  round_start / after_step / round_end
                                  pure updates of the *stacked* state `[N, ...]` of the clients
                                  that train this round
  mixed_state                     the state entries averaged like the parameters (FedAvg or
                                  gossip; `mix_uniformly`: FL's average unweighted); the others
                                  stay with their client
  the config fields only it reads are declared where it is registered (`registry.Param`:
  `OBJECTIVES.register(name, help, params=(MASK_RATIO,))`); the others cannot change its numbers

Adding an objective is one file here that subclasses `Objective` and registers itself (every
module in this folder is imported); a file kept elsewhere joins through `DSSL_PLUGINS`
(`registry.plugins`).
"""
from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn as nn

from ..registry import OBJECTIVES, import_all

State = dict[str, torch.Tensor]


class Objective(nn.Module):
    """Base class: an objective owns its encoder (`.encoder`) and heads; all are trained and
    aggregated. Stateless by default; override the hooks to keep per-client state."""

    mixed_state: ClassVar[tuple[str, ...]] = ()
    mix_uniformly: ClassVar[bool] = False  # FL: mixed state averaged unweighted, not by data size

    def prepare(self, x: torch.Tensor, gen: torch.Generator, common: torch.Generator) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def forward(self, batch: dict, state: State) -> tuple[torch.Tensor, State]:
        raise NotImplementedError

    def init_state(self, params: dict[str, torch.Tensor]) -> State:
        return {}

    def round_start(self, state: State, params: dict[str, torch.Tensor]) -> State:
        return state

    def after_step(self, state: State, params: dict[str, torch.Tensor], aux: State) -> State:
        return state

    def round_end(self, state: State) -> State:
        return state


def create_objective(cfg, in_chans: int) -> Objective:
    """The objective (with its encoder) a config names, e.g. `create_objective(Config(), 1)`."""
    from ..models import create_encoder

    enc = create_encoder(cfg.model, cfg.image_size, in_chans, cfg.width, cfg.depth, cfg.heads, cfg.patch_size)
    return OBJECTIVES.get(cfg.objective).obj(enc, in_chans, cfg)


# Registration: each module in this folder registers its objectives when imported, these first
# (their order is the dropdown's), then any other, by name.
import_all(__name__, __path__, first=("mim", "mar", "simsiam", "simclr", "byol"))
from .parts import augment, mmd2_unbiased, paper_mmd, patchify  # noqa: E402,F401  (shared pieces, re-exported)
