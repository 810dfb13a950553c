"""`dssl-lite bench`: speed as a roofline, measured side by side in one process (not timed tests).

For the `live` model at 10, 100 and 1,000 clients, each execution strategy's client-steps per
second (one local step of one client: forward, backward, AdamW), against the machine's limit:
cores x the float32 matmul peak of one core (one thread, a large square matmul), divided by the
FLOPs of one client-step (counted by torch's flop counter, not guessed). Strategies:

- `vmap-all`: one vmap call over every client, all cores as intra-op threads (the engine before
  this one);
- `chunks`: vmap over chunks of at most 16 clients of a run, one chunk per worker process with one
  intra-op thread each (the CPU default);
- `loop`: the plain per-client loop, clients spread over the worker processes;
- each also with `torch.compile` (`+compile`), whose cold and warm compile seconds are reported.
"""
from __future__ import annotations

import contextlib
import os
import resource
import tempfile
import time
from typing import Optional

import torch
from torch.utils.flop_counter import FlopCounterMode

from .presets import preset
from .simulator import Simulator
from .workers import InThread, Processes

STRATEGIES = ("vmap-all", "chunks", "loop")


@contextlib.contextmanager
def threads(n: int):
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def matmul_gflops(n: int = 2048, repeats: int = 5, device=None, n_threads: int = 1) -> float:
    """Measured float32 matmul throughput with `n_threads` intra-op threads (1: one core's peak)."""
    with threads(n_threads):
        a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
        a @ b
        sync(device)
        t = time.perf_counter()
        for _ in range(repeats):
            a @ b
        sync(device)
        return 2 * n ** 3 * repeats / (time.perf_counter() - t) / 1e9


def sync(device):
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def peak_mb(device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # process peak RSS so far (Linux KiB)


def bench_config(clients: int, objective: str = "mim", device: str = "auto", **over):
    """The `live` model and batch at `clients` IID clients, on the embedded MNIST (4,000 training
    images, so even 1,000 clients get 4 each; batches are drawn with replacement)."""
    return preset("live", clients=clients, objective=objective, device=device, alpha=None,
                  dataset="mnist5k", min_client_size=1, **over)


def flops_per_client_step(objective: str = "mim", clients: int = 10) -> float:
    """FLOPs of one client's local step (forward and backward; AdamW's elementwise work is not
    counted by torch's flop counter), from a counted step of `clients` clients."""
    sim = Simulator(bench_config(clients, objective), executor=InThread())  # counted here, in this process
    with FlopCounterMode(display=False) as fc:
        sim.begin_round().step()
    return fc.get_total_flops() / clients


def _strategy_config(strategy: str, clients: int, objective: str, compiled: bool):
    over = {"strategy": "loop" if strategy == "loop" else "vmap", "compile": compiled}
    if strategy == "vmap-all":
        over["client_chunk"] = clients
    return bench_config(clients, objective, **over)


def time_strategy(strategy: str, clients: int, objective: str = "mim", compiled: bool = False,
                  min_seconds: float = 2.0) -> dict:
    """Steady client-steps per second of one strategy (after warm-up steps; the first step's
    seconds, which include compiling, reported apart)."""
    cores = os.cpu_count() or 1
    # vmap-all: one call in this thread (its own intra-op threads below); the others: every core's
    # worker process, whatever the job's size (small jobs run in this thread by default)
    os.environ["DSSL_WORKERS"] = str(cores)
    sim = Simulator(_strategy_config(strategy, clients, objective, compiled),
                    executor=InThread() if strategy == "vmap-all" else Processes())
    rnd = sim.begin_round()
    if strategy == "vmap-all":  # the engine before this one: one call, every core an intra-op thread
        c = sim.clients
        work = {"params": c.params, "exp_avg": c.moments.exp_avg, "exp_avg_sq": c.moments.exp_avg_sq, "state": {}}
        losses = torch.zeros(sim.N)

        def step():
            with threads(cores):
                sim.engine.step(work, 0, sim.N, range(sim.N), sim.step, c.moments.count, 1e-3, losses)
            c.moments.count += 1
            sim.step += 1
    else:
        step = rnd.step
    t = time.perf_counter()
    step()
    first = time.perf_counter() - t
    step()
    n, t = 0, time.perf_counter()
    while n < 2 or time.perf_counter() - t < min_seconds:
        step()
        n += 1
    secs = (time.perf_counter() - t) / n
    return {"strategy": strategy + ("+compile" if compiled else ""), "clients": clients,
            "client_steps_per_s": clients / secs, "first_step_seconds": first, "steps_timed": n}


def compile_seconds(objective: str = "mim", clients: int = 16) -> dict:
    """Seconds to compile one chunk's gradient function, cold (an empty inductor cache) and warm
    (the on-disk cache just written), in fresh processes."""
    import subprocess
    import sys

    code = ("import time, torch; torch.set_num_threads(1); from dssl_lite.bench import bench_config; "
            "from dssl_lite.simulator import Simulator; "
            f"s = Simulator(bench_config({clients}, {objective!r}, compile=True)); r = s.begin_round(); "
            "t = time.perf_counter(); r.step(); print(time.perf_counter() - t)")
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache, "DSSL_WORKERS": "1"}
        for label in ("cold", "warm"):
            res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=900)
            out[label] = float(res.stdout.strip().splitlines()[-1]) if res.returncode == 0 else None
    return out


def live_seconds(objective: str = "mim", seeds: int = 1) -> float:
    """The `live` preset end to end, cold: `seeds` non-IID runs and their IID baselines (not
    cached) and the probes, as `dssl-lite run --preset live` does after Python has started."""
    from . import data, experiment

    data.load.cache_clear()
    experiment.forget()
    t = time.perf_counter()
    experiment.run_seeds(preset("live", objective=objective), range(seeds))
    return time.perf_counter() - t


def roofline(clients=(10, 100, 1000), objectives=("mim", "cl"), compiled=(False, True),
             strategies=STRATEGIES, min_seconds: float = 2.0) -> dict:
    """The roofline table: per objective, strategy and client count, client-steps/s and the
    fraction of the machine's limit (cores x one core's matmul peak / FLOPs per client-step)."""
    cores = os.cpu_count() or 1
    peak = matmul_gflops()
    out = {"cores": cores, "core_peak_gflops": peak, "limit_gflops": cores * peak, "rows": []}
    for obj in objectives:
        flops = flops_per_client_step(obj)
        limit = cores * peak * 1e9 / flops
        out.setdefault("flops_per_client_step", {})[obj] = flops
        out.setdefault("limit_client_steps_per_s", {})[obj] = limit
        for k in clients:
            for s in strategies:
                for c in compiled:
                    if s == "loop" and c:
                        continue  # one compiled graph per client shape is the vmap path's job
                    row = time_strategy(s, k, obj, c, min_seconds)
                    row.update(objective=obj, fraction=row["client_steps_per_s"] / limit)
                    out["rows"].append(row)
    return out


def format_roofline(out: dict) -> str:
    lines = [f"{out['cores']} cores, one core's float32 matmul peak {out['core_peak_gflops']:.0f} GFLOP/s, "
             f"limit {out['limit_gflops']:.0f} GFLOP/s"]
    for obj, f in out["flops_per_client_step"].items():
        lines.append(f"{obj}: {f / 1e9:.3f} GFLOP per client-step, limit "
                     f"{out['limit_client_steps_per_s'][obj]:.0f} client-steps/s")
    lines.append(f"{'objective':<10}{'clients':>8}  {'strategy':<18}{'steps/s':>9}{'of limit':>10}{'1st step s':>11}")
    for r in out["rows"]:
        lines.append(f"{r['objective']:<10}{r['clients']:>8}  {r['strategy']:<18}{r['client_steps_per_s']:>9.0f}"
                     f"{r['fraction']:>10.2f}{r['first_step_seconds']:>11.1f}")
    return "\n".join(lines)


def bench(clients=(10, 100, 1000), objective="mim", live: bool = True, compiled=(False, True),
          min_seconds: float = 2.0) -> dict:
    """The roofline for `objective` (a name or several), plus the `live` preset end to end (1 and
    3 seeds, cold)."""
    objectives = (objective,) if isinstance(objective, str) else tuple(objective)
    out = roofline(clients, objectives, compiled, min_seconds=min_seconds)
    if live:
        out["live_seconds"] = {f"{o}, {n} seed{'s' if n > 1 else ''}": live_seconds(o, n)
                               for o in ("mim", "cl") for n in (1, 3)}
    return out


def format_bench(out: dict) -> str:
    lines = [format_roofline(out)]
    if out.get("live_seconds"):
        per = ", ".join(f"{k} {s:.1f} s" for k, s in out["live_seconds"].items())
        lines.append(f"live preset end to end, cold, IID baselines included: {per}")
    return "\n".join(lines)


def profile_step(clients: int = 100, objective: str = "mim", steps: int = 3, top: int = 15,
                 device: str = "auto") -> str:
    """Where one chunk's local step goes: torch.profiler's table of the top operators by self
    CPU time (CUDA time on a GPU), over `steps` steps after a warm-up, in this thread."""
    from torch.profiler import ProfilerActivity, profile

    sim = Simulator(bench_config(clients, objective, device), executor=InThread())  # profiled in this process
    rnd = sim.begin_round()
    rnd.step()
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if sim.device.type == "cuda" else [])
    with profile(activities=acts) as prof:
        for _ in range(steps):
            rnd.step()
        sync(sim.device)
    key = "self_cuda_time_total" if sim.device.type == "cuda" else "self_cpu_time_total"
    return prof.key_averages().table(sort_by=key, row_limit=top)


def memory_at(clients: int, objective: str = "mim") -> float:
    """Peak MB of a process that builds and steps `clients` clients (chunked, this thread)."""
    sim = Simulator(bench_config(clients, objective), executor=InThread())
    sim.begin_round().step()
    return peak_mb(sim.device)




# ----- the explorer's honest time: measured seconds, scaled to this machine -----
TIMINGS = "timings.json"  # beside the shipped atlases (atlas.SHIPPED)
KIN = {"mar": "mim", "mar-shared": "mim", "mar-mmd": "mim", "mar-ref": "mim", "simclr": "cl",
       "byol": "cl", "byol-local": "cl"}  # objectives timed alike (the same encoder passes)


def measure_timings(objectives=("mim", "cl"), seeds=(1, 3)) -> dict:
    """What the explorer's estimate scales and the README quotes: for each objective, the wall
    seconds of a cold `live` Run of 1 and of 3 seeds (non-IID runs and their references, stacked,
    on every core), the client-steps per second of the largest and the seconds outside training
    (probes, set-up); with this machine's core peak, CPU and torch."""
    from . import experiment, workers
    from .atlas import machine

    workers.pool()  # the explorer starts its workers when it opens
    out = {"cores": os.cpu_count() or 1, "core_peak_gflops": matmul_gflops(), **machine(),
           "seconds": {}, "client_steps_per_s": {}, "overhead_s": {}}
    for obj in objectives:
        cfg = preset("live", objective=obj)
        for n in seeds:
            experiment.forget()
            t0 = time.perf_counter()
            results = experiment.run_seeds(cfg, range(n))
            total = time.perf_counter() - t0
            out["seconds"].setdefault(obj, {})[str(n)] = total
        train = max(h["seconds"] for r in results for h in r.history[-1:])
        steps = max(seeds) * 2 * cfg.clients * cfg.rounds * cfg.local_steps  # FL: each seed and its IID run
        out["client_steps_per_s"][obj] = steps / train
        out["overhead_s"][obj] = total - train
    return out


_local_peak: list = []


def estimate(cfg, seeds: int) -> Optional[float]:
    """Seconds a Run of `seeds` seeds of `cfg` should take on this machine: its client-steps
    (the runs and their references not yet trained here) at the rate measured for the
    objective (`measure_timings`, shipped beside the atlases), scaled by this machine's cores
    and core peak against the measuring machine's. None when nothing was measured."""
    import json

    from . import atlas, experiment

    path = atlas.SHIPPED / TIMINGS
    if not path.exists() or cfg.device == "cuda":
        return None
    t = json.loads(path.read_text())
    obj = cfg.objective if cfg.objective in t["client_steps_per_s"] else KIN.get(cfg.objective)
    if obj not in t["client_steps_per_s"]:
        return None
    if not _local_peak:
        _local_peak.append(matmul_gflops(1024, 3))
    per_run = cfg.clients * cfg.rounds * cfg.local_steps
    runs = sum(1 + experiment.uncached_baselines(cfg.replace(seed=s)) for s in range(cfg.seed, cfg.seed + seeds))
    speed = (_local_peak[0] * min(os.cpu_count() or 1, 2)) / (t["core_peak_gflops"] * min(t["cores"], 2))
    return t["overhead_s"][obj] * seeds / 3 + runs * per_run / (t["client_steps_per_s"][obj] * speed)
