"""Who computes the chunks of a local step: an executor. `InThread` (this thread; on a GPU the
one call that takes every chunk) or `Processes` (worker processes on the simulator's tensors in
shared memory). A simulator is handed one (`Simulator(cfg, executor=...)`; by default `for_job`
picks), attaches its engine and tensors to it, and asks it each local step to compute its chunks
in place; nothing else of the simulator is the executor's business.

Python threads share one interpreter lock: two threads stepping these small models measured only
1.4x one thread, two processes 1.9-2x (docs/speed.md). So on CPU the chunks of a big job go to a
pool of worker processes, one intra-op thread each, that step the clients' tensors in shared
memory (`share_memory_`: no copies) with an `Engine` of their own. A chunk's numbers do not
depend on who computes it (tests/test_workers.py), so the choice is by speed alone: `for_job`
picks the pool for jobs big enough to repay its start-up (about 3 s, once per process), this
thread otherwise; `DSSL_WORKERS=1` keeps everything in this thread, `DSSL_WORKERS=N` sets the
pool's size (default: the machine's cores).
"""
from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import sys
import threading
import traceback
import weakref
from typing import Optional

import torch

from .errors import WorkerError

POOL_MIN_CLIENT_STEPS = 2000  # clients x rounds x local steps below which the pool does not pay
_pool: Optional["Pool"] = None
_pool_lock = threading.Lock()
_ids = itertools.count()


def size() -> int:
    """Worker processes to use: `DSSL_WORKERS`, else the machine's cores (1 = none)."""
    env = os.environ.get("DSSL_WORKERS", "")
    return max(1, int(env)) if env.strip().isdigit() else (os.cpu_count() or 1)


def for_job(device: torch.device, client_steps: int) -> "Executor":
    """The executor for a job of `client_steps` client-steps: worker processes on a CPU job big
    enough to repay them, this thread otherwise."""
    if device.type != "cpu" or size() < 2 or client_steps < POOL_MIN_CLIENT_STEPS:
        return InThread()
    return Processes()


class Executor:
    """Computes a local step's chunks of stacked clients, in place. `attach` hands it the
    simulator's engine and tensors once; `step` computes every chunk `(lo, hi)` of `jobs` on
    `work` (the attached tensors, or a working copy of some clients' rows) for the global rows
    `rows` and returns their losses `[len(rows)]`."""

    def attach(self, engine, tensors: dict, configs: list) -> None:
        self.engine = engine

    def step(self, work: dict, jobs: list, rows: list, step: int, opt_count: int, lr: float) -> torch.Tensor:
        raise NotImplementedError

    def recover(self) -> None:
        """After a `WorkerError`: end what is left of the failed workers (none may write on)."""

    def close(self) -> None:
        pass


class InThread(Executor):
    """Every chunk in this thread, with one intra-op thread as the workers have (a matmul's
    summation order depends on its thread count; the numbers must not)."""

    def step(self, work, jobs, rows, step, opt_count, lr):
        losses = torch.zeros(len(rows))
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            for lo, hi in jobs:
                self.engine.step(work, lo, hi, rows[lo:hi], step, opt_count, lr, losses)
        finally:
            torch.set_num_threads(before)
        return losses


class Processes(Executor):
    """The chunks spread over the process-wide pool of worker processes, which step the attached
    tensors in shared memory. A working copy of some clients (sampled clients train a copy of
    their rows) is not shared, so it is computed in this thread."""

    def __init__(self):
        self.pool, self.key, self.tensors, self.here = None, None, None, InThread()

    def attach(self, engine, tensors, configs):
        self.here.attach(engine, tensors, configs)
        for d in tensors.values():
            for t in (d.values() if isinstance(d, dict) else [d]):
                t.share_memory_()
        self.tensors, self.configs = tensors, configs
        self.pool = pool()
        self.key = self.pool.attach({"configs": configs}, tensors)
        self._forget = weakref.finalize(self, self.pool.detach, self.key)

    def step(self, work, jobs, rows, step, opt_count, lr):
        if work["params"] is not self.tensors["params"]:
            return self.here.step(work, jobs, rows, step, opt_count, lr)
        self.pool.step(self.key, jobs, step, opt_count, lr)
        return self.tensors["losses"].clone()

    def recover(self):
        """End every worker, then start a new pool and attach to it again."""
        self.pool.kill()
        self._forget.detach()
        self.attach(self.here.engine, self.tensors, self.configs)

    def close(self):
        if self.pool is not None:
            self._forget()


def pool() -> "Pool":
    """The process-wide pool, started on first use (and stopped at exit)."""
    global _pool
    with _pool_lock:
        if _pool is None or not _pool.alive() or len(_pool.procs) != size():
            if _pool is not None:
                _pool.close()
            _pool = Pool(size())
            atexit.register(_pool.close)
        return _pool


class Pool:
    """`n` spawned worker processes. `attach` gives them a simulator's engine spec and shared
    tensors; `step` has each compute its share of the chunks, in place; `detach` forgets it."""

    def __init__(self, n: int):
        import torch.multiprocessing as mp

        ctx = mp.get_context("spawn")
        self.conns, self.procs, self.lock = [], [], threading.Lock()
        with _main_not_rerun():
            for i in range(n):
                parent, child = ctx.Pipe()
                p = ctx.Process(target=_serve, args=(child,), name=f"dssl-worker-{i}", daemon=True)
                p.start()
                child.close()
                self.conns.append(parent)
                self.procs.append(p)
        self._gather("start")

    def alive(self) -> bool:
        return all(p.is_alive() for p in self.procs)

    def attach(self, spec: dict, tensors: dict) -> int:
        key = next(_ids)
        with self.lock:
            self._send(self.conns, ("attach", key, spec, tensors), "attach")
            self._gather("attach")
        return key

    def detach(self, key: int) -> None:
        with self.lock:
            if self.alive():
                try:
                    self._send(self.conns, ("detach", key), "detach")
                    self._gather("detach")
                except WorkerError:
                    pass  # a dead pool forgets everything anyway

    def step(self, key: int, jobs: list, step: int, opt_count: int, lr: float) -> None:
        """Every chunk `(lo, hi)` of `jobs` stepped once, spread over the workers (largest first)."""
        shares = [[] for _ in self.conns]
        load = [0] * len(self.conns)
        for lo, hi in sorted(jobs, key=lambda j: j[0] - j[1]):
            i = load.index(min(load))
            shares[i].append((lo, hi))
            load[i] += hi - lo
        with self.lock:
            busy = [c for c, share in zip(self.conns, shares) if share]
            for c, share in zip(self.conns, shares):
                if share:
                    self._send([c], ("step", key, share, step, opt_count, lr), "step")
            self._gather("step", busy)

    def _send(self, conns, msg, what: str) -> None:
        for c in conns:
            try:
                c.send(msg)
            except (OSError, EOFError):
                p = self.procs[self.conns.index(c)]
                raise WorkerError(f"worker {p.name} died before {what} (exit code {p.exitcode})") from None

    def _gather(self, what: str, conns=None) -> None:
        for c, p in zip(self.conns, self.procs):
            if conns is not None and c not in conns:
                continue
            try:
                while not c.poll(1.0):
                    if not p.is_alive():
                        raise EOFError
                reply = c.recv()
            except (OSError, EOFError):
                raise WorkerError(f"worker {p.name} died during {what} (exit code {p.exitcode})") from None
            if reply[0] != "ok":
                raise WorkerError(f"worker {p.name} failed during {what}:\n{reply[1]}")

    def kill(self) -> None:
        """End every worker at once (after one died mid-step: none may go on writing)."""
        for p in self.procs:
            if p.is_alive():
                p.kill()
        for p in self.procs:
            p.join(5)

    def close(self) -> None:
        for c, p in zip(self.conns, self.procs):
            try:
                if p.is_alive():
                    c.send(("quit",))
            except (OSError, BrokenPipeError):
                pass
        for p in self.procs:
            p.join(5)
            if p.is_alive():
                p.kill()


@contextlib.contextmanager
def _main_not_rerun():
    """A spawned worker needs only `_serve`, not the caller's script: hide `__main__`'s file and
    spec while the workers start, so a script without an `if __name__ == "__main__":` guard is not
    run again in each worker (multiprocessing's spawn re-imports it by default)."""
    main = sys.modules.get("__main__")
    saved = {k: getattr(main, k) for k in ("__file__", "__spec__") if main is not None and hasattr(main, k)}
    try:
        for k in saved:
            setattr(main, k, None)
        yield
    finally:
        for k, v in saved.items():
            setattr(main, k, v)


def _serve(conn) -> None:
    """A worker's loop: build engines, step chunks, report "ok" or the traceback."""
    os.environ["DSSL_WORKERS"] = "1"  # a worker never starts workers of its own
    torch.set_num_threads(1)
    from . import data
    from .config import from_dict
    from .engine import Engine

    engines, tensors = {}, {}
    conn.send(("ok",))
    while True:
        msg = conn.recv()
        try:
            if msg[0] == "quit":
                return
            if msg[0] == "attach":
                _, key, spec, ts = msg
                cfgs = [from_dict(c) for c in spec["configs"]]
                ds = data.load(cfgs[0].dataset, cfgs[0].image_size)
                engines[key] = Engine(cfgs, ds, ts["index"], ts["sizes"], torch.device("cpu"))
                tensors[key] = ts
            elif msg[0] == "detach":
                engines.pop(msg[1], None)
                tensors.pop(msg[1], None)
            elif msg[0] == "step":
                _, key, share, step, opt_count, lr = msg
                work = tensors[key]
                for lo, hi in share:
                    engines[key].step(work, lo, hi, range(lo, hi), step, opt_count, lr, work["losses"])
            conn.send(("ok",))
        except Exception:
            conn.send(("error", traceback.format_exc()))
