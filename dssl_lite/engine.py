"""One local step for a chunk of clients, in place: what every executor runs.

An `Engine` holds what a chunk's step needs besides the clients' tensors: the process's objective
module for its config (`replica`: `functional_call` swaps a module's parameters while it runs, so
a lock keeps two threads from sharing it at once), the gradient function (traced and compiled once
per process), the per-client index table and sizes, each client's run
seed and number, and the dataset. `Engine.step` draws the chunk's batches (each client from its
own generator, seeded by run seed, client and step), computes its gradients (one vmap call, or the
per-client loop), and applies AdamW and the objective's `after_step` to the chunk's rows of the
working tensors, writing its losses. A chunk's numbers depend only on its clients and the step,
never on which thread or process computes it or which clients share its call.
"""
from __future__ import annotations

import json
import threading
from typing import Sequence

import torch

from .grads import Gradients
from .objectives import create_objective
from .optim import adamw_step
from .plan import client_seed, resolve

Params = dict[str, torch.Tensor]


_REPLICAS: dict = {}  # per process: (stack key, plan, device) -> (objective replica, its Gradients, a lock)
_REPLICAS_LOCK = threading.Lock()


def replica(cfg, channels: int, device: torch.device):
    """This process's objective module and gradient function for configs like `cfg` (the same
    `stack_key`: everything but seed, alpha and the graph), made once: a compiled step is traced
    once per process, not once per simulator, so a second Run starts at once. Its weights go
    unused (`functional_call` swaps in each chunk's), and its lock keeps two threads from swapping
    at once."""
    from .config import stack_key

    key = (stack_key(cfg), json.dumps(resolve(cfg).identity(), sort_keys=True), str(device))
    with _REPLICAS_LOCK:
        if key not in _REPLICAS:
            with torch.random.fork_rng(devices=[]):
                model = create_objective(cfg, channels).to(device)
            _REPLICAS[key] = (model, Gradients(model, cfg, resolve(cfg)), threading.Lock())
        return _REPLICAS[key]


class Engine:
    def __init__(self, cfgs: Sequence, data, index: torch.Tensor, sizes: torch.Tensor, device: torch.device):
        self.cfg = cfg = cfgs[0]
        K = cfg.clients
        self.model, self.grads, self.lock = replica(cfg, data.channels, device)
        self.plan = resolve(cfg)
        self.data, self.index, self.sizes, self.device = data, index, sizes, device
        self.seeds = [c.seed for c in cfgs for _ in range(K)]  # row -> its run's seed
        self.client = [k for _ in cfgs for k in range(K)]      # row -> its client number in the run

    def batch(self, rows: Sequence[int], step: int) -> Params:
        """Per-client batches `[C, B, ...]` for global rows `rows`, drawn with replacement from
        each client's data, all randomness outside vmap."""
        B, parts = self.cfg.batch_size, []
        for g in rows:
            gen = torch.Generator().manual_seed(client_seed(self.seeds[g], self.client[g], step))
            common = torch.Generator().manual_seed(client_seed(self.seeds[g], -1, step))
            pos = (torch.rand(B, generator=gen) * self.sizes[g]).long()
            x = self.data.train_x[self.index[g, pos].to(self.device)]
            parts.append(self.model.prepare(x, gen, common))
        return {n: torch.stack([p[n] for p in parts]) for n in parts[0]}

    def step(self, work: dict, lo: int, hi: int, rows: Sequence[int], step: int, opt_count: int,
             lr: float, losses: torch.Tensor) -> None:
        """One local step of work rows [lo, hi) (global rows `rows`), in place: `work` holds
        "params", "exp_avg", "exp_avg_sq" and "state" dicts of `[A, ...]` tensors; `opt_count`
        is how many AdamW steps their moments have taken."""
        cut = lambda d: {n: t[lo:hi] for n, t in d.items()}
        params, state = cut(work["params"]), cut(work["state"])
        with self.lock:
            grads, loss, aux = self.grads(params, self.batch(rows, step), state)
        adamw_step(params, grads, cut(work["exp_avg"]), cut(work["exp_avg_sq"]), opt_count, lr,
                   self.cfg.weight_decay)
        if state:
            with torch.no_grad():
                for n, t in self.model.after_step(state, params, aux).items():
                    state[n].copy_(t)
        losses[lo:hi] = loss.detach().float()
