"""Every client's state in one explicit structure: parameters, the objective's state and AdamW's
moments, each stacked `[N, ...]` (N = stacked runs x clients).

A round works on a `ClientState` (everyone's, or a copy of the sampled clients' rows), and the
simulator's snapshots are copies of one. Nothing else about a client lives anywhere else.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from .optim import Moments

Params = dict[str, torch.Tensor]


@dataclass
class ClientState:
    params: Params                 # the model, [N, ...] per tensor
    state: Params                  # the objective's per-client state (BYOL's target, MAR's latents)
    moments: Optional[Moments]     # AdamW's (None in a copy of some rows: they get a fresh one)

    @property
    def size(self) -> int:
        return next(iter(self.params.values())).shape[0]

    def clone(self) -> "ClientState":
        copy = lambda d: {n: t.clone() for n, t in d.items()}
        return ClientState(copy(self.params), copy(self.state),
                           None if self.moments is None else self.moments.clone())

    def rows(self, idx: torch.Tensor) -> "ClientState":
        """A copy of the clients `idx` (their moments start fresh: see `Simulator.begin_round`)."""
        take = lambda d: {n: t[idx].clone() for n, t in d.items()}
        return ClientState(take(self.params), take(self.state), None)

    @torch.no_grad()
    def put(self, idx: Optional[torch.Tensor], work: "ClientState") -> None:
        """Write `work` (the clients `idx`, or everyone when None) back into this state."""
        for mine, theirs in ((self.params, work.params), (self.state, work.state)):
            for n, t in theirs.items():
                if idx is None:
                    if mine[n] is not t:
                        mine[n].copy_(t)
                else:
                    mine[n][idx] = t

    @torch.no_grad()
    def copy_(self, other: "ClientState") -> None:
        """Become `other` (same shapes), in place."""
        self.put(None, other)
        if other.moments is not None:
            self.moments.copy_(other.moments)
