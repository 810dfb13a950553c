"""Gradients of a chunk of clients' losses: one `vmap` call (eager or `torch.compile`d), or the
per-client loop.

Every path calls the same pure function, one client's loss as a `functional_call` of an objective
module, so the loop is the oracle the vectorised path is tested against. Randomness is drawn
before any path runs (`Engine.batch`): all see identical inputs.
"""
from __future__ import annotations

import logging
import os

import torch
from torch.func import functional_call, grad_and_value, vmap

Params = dict[str, torch.Tensor]


def use_compile_cache() -> str:
    """Keep torch.compile's kernels in the per-user cache folder (`~/.cache/dssl-lite/inductor`,
    or `TORCHINDUCTOR_CACHE_DIR` when set), not in /tmp: compiled once (at install, by
    `dssl-lite warm`), a later process loads them in seconds instead of compiling for 20-60 s."""
    if "TORCHINDUCTOR_CACHE_DIR" not in os.environ:
        from platformdirs import user_cache_dir

        os.environ["TORCHINDUCTOR_CACHE_DIR"] = os.path.join(user_cache_dir("dssl-lite"), "inductor")
    # inductor looks for a CUDA toolkit on every CPU compile and warns when there is none
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
    return os.environ["TORCHINDUCTOR_CACHE_DIR"]


class Gradients:
    """`grads(params, batch, state) -> (grads [C, ...], losses [C], aux [C, ...])` for the C
    clients given (stacked), with one config's objective module `model` and execution `plan`."""

    def __init__(self, model: torch.nn.Module, cfg, plan):
        self.model, self.cfg, self.plan = model, cfg, plan
        self.one = grad_and_value(self._client_loss, has_aux=True)
        self.many = vmap(self.one)
        if plan.compile:
            use_compile_cache()
            self.many = torch.compile(self.many, dynamic=False)  # one graph per chunk shape

    def _client_loss(self, params, batch, state):
        return functional_call(self.model, params, (batch, state))

    def __call__(self, params: Params, batch: Params, state: Params):
        device = next(iter(batch.values())).device
        with torch.autocast(device.type, torch.bfloat16, enabled=self.cfg.precision == "bfloat16"):
            if self.plan.strategy == "vmap":
                grads, (losses, aux) = self.many(params, batch, state)
                return grads, losses, aux
            outs = []
            for k in range(next(iter(params.values())).shape[0]):
                pick = lambda d: {n: t[k] for n, t in d.items()}
                outs.append(self.one(pick(params), pick(batch), pick(state)))
        stack = lambda key, f: {n: torch.stack([f(o)[n] for o in outs]) for n in key}
        return stack(params, lambda o: o[0]), torch.stack([o[1][0] for o in outs]), stack(outs[0][1][1], lambda o: o[1][1])
