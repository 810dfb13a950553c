"""The execution plan: how a config's clients are computed, resolved from the config alone.

A plan says where the work runs (`device`), how each client's gradient is computed (`vmap` over a
chunk of clients, or the per-client `loop`, the oracle), how many clients share one call
(`chunk`) and whether that call is `torch.compile`d. It is a rule of the config, never of the
machine's cores or memory, so a run's numbers depend on the config only. Which workers compute
the chunks (this thread, or worker processes) is not part of the plan: a chunk's numbers do not
depend on who computes it, nor on which other clients share its call (tested), so `workers.py`
may choose freely by speed.

The randomness of a client's local step (its batch, masks, augmentations) comes from a generator
seeded by (run seed, client, step), so it too is the same whoever computes the client.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

CPU_CHUNK = 16            # clients per vmap call on CPU: activations stay within a core's cache
CPU_COMPILED_CHUNK = 5    # ... when compiled: one graph shape, and a 10-client run fills two cores
GPU_CHUNK_IMAGES = 1024   # images per vmap call on CUDA: bounds activation memory at 1,000 clients


@dataclass(frozen=True)
class Plan:
    device: str      # "cpu" | "cuda"
    strategy: str    # "vmap" | "loop"
    chunk: int       # at most this many clients of one run per call
    compile: bool    # torch.compile the chunk's gradient function

    def identity(self) -> dict:
        """What in the plan can move a number: chunking only matters to a compiled call
        (eager vmap gives every client the same numbers at any chunk size of 2 or more)."""
        out = {"device": self.device, "strategy": self.strategy}
        if self.compile:
            out.update(compile=True, chunk=self.chunk)
        return out


def resolve_device(name: str) -> torch.device:
    """`auto` = CUDA when torch sees a GPU; asking for CUDA without one is a ConfigError."""
    from .errors import ConfigError

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", "cuda requested but torch sees no GPU; allowed here: auto, cpu")
    return torch.device(name)


def resolve(cfg) -> Plan:
    """The plan for `cfg`: its device (`auto` = CUDA when present), vmap unless `strategy` is
    `loop`, `client_chunk` clients per call (0 = the device's rule) and `compile` as asked.
    A compiled call's numbers may depend on its chunk's size (one kernel per shape), so the rule
    depends on the config alone: on CPU, compiled chunks of at most `CPU_COMPILED_CHUNK`."""
    device = cfg.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    rule = (CPU_COMPILED_CHUNK if cfg.compile else CPU_CHUNK) if device == "cpu" else \
        max(1, GPU_CHUNK_IMAGES // cfg.batch_size)
    chunk = cfg.client_chunk or rule
    return Plan(device, "loop" if cfg.strategy == "loop" else "vmap", chunk, bool(cfg.compile))


def chunks(n: int, size: int) -> list[tuple[int, int]]:
    """`[lo, hi)` ranges splitting `n` clients into ceil(n / size) chunks whose sizes differ by at
    most one, so no chunk holds a single client when n >= 2 (vmap over one client takes another
    kernel path and rounds differently)."""
    if n <= 0:
        return []
    k = max(1, min(-(-n // size), n // 2))  # n // 2: every chunk keeps at least 2 clients
    cuts = [i * n // k for i in range(k + 1)]
    return [(cuts[i], cuts[i + 1]) for i in range(k)]


def client_seed(seed: int, client: int, step: int) -> int:
    """A 63-bit seed for one client's randomness at one local step (splitmix64 of the triple):
    independent streams that no other client or chunking can shift. `client` -1 is the run's
    shared stream (one mask for every client, `mar-shared`)."""
    x = (seed * 0x9E3779B97F4A7C15 + (client + 1) * 0xBF58476D1CE4E5B9 + step * 0x94D049BB133111EB) % 2**64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) % 2**64
    return (x ^ (x >> 31)) >> 1
