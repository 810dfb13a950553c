"""Warm-up: load the compiled local step into every worker before the first run, so that a
run neither waits for the workers to import torch nor for torch.compile (20-60 s the first time
on a machine, seconds from its on-disk cache afterwards). `dssl-lite warm` and the explorer's
opening call these."""
from __future__ import annotations

import threading
import time

from .simulator import Simulator
from .workers import Processes, pool, size


def start_in_background(cfgs=()) -> threading.Thread:
    """Start the pool now and load each config's compiled step into it (`warm`), off the
    caller's thread: the explorer calls this when it opens, so the first Run neither waits for
    the workers to import torch nor for a compile."""
    def start():
        try:
            if size() >= 2:
                pool()
            warm(cfgs)
        except Exception:  # a failed warm-up costs the first Run its speed, never the page
            pass
    t = threading.Thread(target=start, name="dssl-workers-start", daemon=True)
    t.start()
    return t


def warm(cfgs) -> float:
    """Compile the local step of each config (a compiled preset's chunk shapes) in every worker
    process now, filling torch.compile's on-disk cache (`grads.use_compile_cache`), so that a later
    process loads the kernels in seconds instead of compiling for 20-60 s. One step of a throwaway
    simulator per config; nothing is kept. -> seconds taken."""
    t = time.perf_counter()
    for cfg in cfgs:
        if not cfg.compile:
            continue
        sim = Simulator(cfg.replace(rounds=1, local_steps=1, alpha=None), executor=Processes())
        sim.begin_round().step()
        sim.executor.close()
    return time.perf_counter() - t
