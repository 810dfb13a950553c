"""AdamW on stacked client tensors, and the learning-rate schedule.

torch's AdamW is elementwise, so one fused call on `[N, ...]` tensors is N independent optimizers:
every client keeps its own moments. The moments are plain tensors here (not hidden in an
`torch.optim.Optimizer`), so a client's whole state is one explicit structure the simulator can
copy, slice and restore. The fused functional call is bit for bit torch's `AdamW(fused=True)`
(tests/test_optim.py), whatever slice of the clients it is given.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.optim.adamw import adamw

Params = dict[str, torch.Tensor]
BETAS, EPS = (0.9, 0.95), 1e-8


@dataclass
class Moments:
    """AdamW's state for stacked parameters: first and second moments, and how many steps they
    have taken (the same for every client that trains in a round)."""

    exp_avg: Params
    exp_avg_sq: Params
    count: int = 0

    @classmethod
    def zeros(cls, params: Params) -> "Moments":
        return cls({n: torch.zeros_like(p) for n, p in params.items()},
                   {n: torch.zeros_like(p) for n, p in params.items()}, 0)

    def clone(self) -> "Moments":
        copy = lambda d: {n: t.clone() for n, t in d.items()}
        return Moments(copy(self.exp_avg), copy(self.exp_avg_sq), self.count)

    def copy_(self, other: "Moments") -> None:
        for mine, theirs in ((self.exp_avg, other.exp_avg), (self.exp_avg_sq, other.exp_avg_sq)):
            for n, t in theirs.items():
                mine[n].copy_(t)
        self.count = other.count

    def zero_(self) -> None:
        """A fresh AdamW, in place."""
        for d in (self.exp_avg, self.exp_avg_sq):
            for t in d.values():
                t.zero_()
        self.count = 0


def decays(name: str, p: torch.Tensor) -> bool:
    """Weight decay on matrices and kernels only (the usual timm/MAE grouping); `p` is stacked
    `[N, ...]`, so a per-client matrix has 3 dimensions."""
    return p.dim() - 1 >= 2


@torch.no_grad()
def adamw_step(params: Params, grads: Params, exp_avg: Params, exp_avg_sq: Params, count: int,
               lr: float, weight_decay: float) -> None:
    """One AdamW step for every client given (any rows of the stack), in place (fused kernels);
    `count` is how many steps the moments have taken before this one."""
    for decay in (True, False):
        names = [n for n, p in params.items() if decays(n, p) == decay]
        if names:
            adamw([params[n] for n in names], [grads[n].to(params[n].dtype) for n in names],
                  [exp_avg[n] for n in names], [exp_avg_sq[n] for n in names], [],
                  [torch.tensor(float(count)) for _ in names], fused=True, amsgrad=False, beta1=BETAS[0],
                  beta2=BETAS[1], lr=lr, weight_decay=weight_decay if decay else 0.0, eps=EPS,
                  maximize=False)


def lr_at(cfg, step: int) -> float:
    """Linear warm-up over `warmup_steps`, then constant or cosine decay to 0 at the last step."""
    total = cfg.rounds * cfg.local_steps
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.lr_schedule == "cosine":
        progress = (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps)
        return 0.5 * cfg.lr * (1 + math.cos(math.pi * min(progress, 1.0)))
    return cfg.lr
