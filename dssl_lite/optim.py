"""AdamW on stacked client parameters `[K, ...]`: every client keeps its own moments, one call
updates all of them. The same object serves the vectorised path and the per-client oracle."""
from __future__ import annotations

import torch


class StackedAdamW:
    """Decoupled weight decay (Loshchilov & Hutter 2019) on matrices only; biases, norms and
    embeddings-as-vectors are not decayed (the usual timm/MAE grouping)."""

    def __init__(self, params: dict[str, torch.Tensor], lr=1e-3, weight_decay=0.05, betas=(0.9, 0.95), eps=1e-8):
        self.lr, self.wd, self.betas, self.eps = lr, weight_decay, betas, eps
        self.m = {n: torch.zeros_like(p) for n, p in params.items()}
        self.v = {n: torch.zeros_like(p) for n, p in params.items()}
        # per-parameter dim without the client axis decides decay: matrices and conv kernels only
        self.decay = {n: p.dim() - 1 >= 2 for n, p in params.items()}
        self.t = 0

    @torch.no_grad()
    def step(self, params: dict[str, torch.Tensor], grads: dict[str, torch.Tensor]) -> None:
        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        for n, p in params.items():
            g = grads[n]
            self.m[n].mul_(b1).add_(g, alpha=1 - b1)
            self.v[n].mul_(b2).addcmul_(g, g, value=1 - b2)
            if self.decay[n] and self.wd:
                p.mul_(1 - self.lr * self.wd)
            denom = (self.v[n] / c2).sqrt_().add_(self.eps)
            p.addcdiv_(self.m[n], denom, value=-self.lr / c1)
