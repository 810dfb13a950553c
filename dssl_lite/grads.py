"""Gradients of every training client's loss: one `vmap` over clients, or the per-client loop.

Both paths call the same pure function, one client's loss as a `functional_call` of the shared
objective module, so the loop is the oracle the vectorised path is tested against. Randomness is
drawn before either path runs (see `Simulator.sample_batch`): both see identical inputs.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch.func import functional_call, grad_and_value, vmap

Params = dict[str, torch.Tensor]
AUTO_CHUNK_IMAGES = 1024  # images per vmap call when `client_chunk` is 0 (see `chunk_size`)


def chunk_size(cfg, clients: int) -> Optional[int]:
    """Clients per vmap call: `client_chunk`, or by default as many as hold AUTO_CHUNK_IMAGES
    images in one call, which bounds the activations' memory however many clients there are
    (1,000 clients of the live model stay within 4 GiB). Chunking changes no number (tested), and
    it is a rule of the config alone, never of the machine's memory."""
    chunk = cfg.client_chunk or max(1, AUTO_CHUNK_IMAGES // cfg.batch_size)
    return None if chunk >= clients else chunk


class Gradients:
    """`grads(params, batch, state) -> (grads [A, ...], losses [A], aux [A, ...])` for the A
    clients given (stacked), with the objective module `model` of one config."""

    def __init__(self, model: torch.nn.Module, cfg):
        self.model, self.cfg = model, cfg
        self.one = grad_and_value(self._client_loss, has_aux=True)

    def _client_loss(self, params, batch, state):
        return functional_call(self.model, params, (batch, state))

    def __call__(self, params: Params, batch: Params, state: Params):
        cfg = self.cfg
        with torch.autocast(batch_device(batch).type, torch.bfloat16, enabled=cfg.precision == "bfloat16"):
            if cfg.vectorized:
                return self.vmapped(params, batch, state)
            outs = []
            for k in range(next(iter(params.values())).shape[0]):
                pick = lambda d: {n: t[k] for n, t in d.items()}
                outs.append(self.one(pick(params), pick(batch), pick(state)))
        stack = lambda key, f: {n: torch.stack([f(o)[n] for o in outs]) for n in key}
        grads = stack(params, lambda o: o[0])
        aux = stack(outs[0][1][1], lambda o: o[1][1])
        return grads, torch.stack([o[1][0] for o in outs]), aux

    def vmapped(self, params, batch, state):
        """vmap over the clients, chunk by chunk, each chunk's results written straight into
        full-size buffers (vmap's own `chunk_size` would hold every chunk's output and their
        concatenation at once: a second copy of all gradients at 1,000 clients)."""
        f = vmap(self.one)
        n = next(iter(params.values())).shape[0]
        chunk = chunk_size(self.cfg, n)
        if chunk is None:
            grads, (losses, aux) = f(params, batch, state)
            return grads, losses, aux
        out = None
        for i in range(0, n, chunk):
            part = lambda d: {k: t[i: i + chunk] for k, t in d.items()}
            g, (loss, a) = f(part(params), part(batch), part(state))
            if out is None:
                out = [{k: t.new_empty((n, *t.shape[1:])) for k, t in d.items()} for d in (g, {"loss": loss}, a)]
            for buf, d in zip(out, (g, {"loss": loss}, a)):
                for k, t in d.items():
                    buf[k][i: i + chunk] = t
            del g, loss, a
        return out[0], out[1]["loss"], out[2]


def batch_device(batch: Params) -> torch.device:
    return next(iter(batch.values())).device
