"""`dssl-lite bench`: the vectorised path against the per-client loop on the same work.

Reported as ratios measured side by side in one process (not timed tests): client-steps per
second for both paths at several client counts, peak memory, the machine's float32 matmul
GFLOP/s and the fraction of it the vectorised engine achieves.
"""
from __future__ import annotations

import resource
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from .config import preset
from .simulator import Simulator


def matmul_gflops(n: int = 1024, repeats: int = 10, device=None) -> float:
    """Measured float32 matmul throughput: the machine's practical peak for this kind of work."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
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
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # process peak RSS (Linux KiB)


def time_steps(sim: Simulator, steps: int) -> float:
    """Seconds per local step (all clients), after one warm-up step."""
    sim.local_step()
    sync(sim.device)
    t = time.perf_counter()
    for _ in range(steps):
        sim.local_step()
    sync(sim.device)
    return (time.perf_counter() - t) / steps


def step_flops(sim: Simulator) -> int:
    with FlopCounterMode(display=False) as fc:
        sim.local_step()
    return fc.get_total_flops()


def live_seconds(objective: str = "mim", device: str = "auto") -> float:
    """The `live` preset end to end, cold: dataset load, non-IID run, its IID baseline (not
    cached) and both probes, as `dssl-lite run --preset live` does after Python has started."""
    from . import data, experiment

    data.load.cache_clear()
    experiment.clear_iid_cache()
    t = time.perf_counter()
    experiment.run(preset("live", objective=objective, device=device))
    return time.perf_counter() - t


def bench(clients=(10, 20, 100), steps: int = 5, objective: str = "mim", device: str = "auto",
          live: bool = True, live_objectives=("mim", "cl")) -> dict:
    """-> {"vectorized_vs_sequential": {K: ratio}, "matmul_gflops", "achieved_fraction", "runs",
    "live_seconds": {objective: s}} (the last only with `live`; measured first, each cold)."""
    live_s = {o: live_seconds(o, device) for o in live_objectives} if live else None
    runs, fraction = {}, 0.0
    for k in clients:
        row = {}
        for vec in (True, False):
            cfg = preset("live", clients=k, objective=objective, vectorized=vec, device=device, alpha=None)
            sim = Simulator(cfg)
            if sim.device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(sim.device)
            sec = time_steps(sim, steps)
            row["vectorized" if vec else "sequential"] = sec
            if vec:
                row["peak_mb"] = peak_mb(sim.device)
                row["flops_per_step"] = step_flops(sim)
        gflops = matmul_gflops(device=sim.device)
        row.update(vectorized_steps_per_s=k / row["vectorized"], sequential_steps_per_s=k / row["sequential"],
                   ratio=row["sequential"] / row["vectorized"],
                   achieved_gflops=row["flops_per_step"] / row["vectorized"] / 1e9)
        runs[str(k)] = row
        fraction = row["achieved_gflops"] / gflops
    return {"device": str(sim.device), "objective": objective, "steps": steps,
            "vectorized_vs_sequential": {k: r["ratio"] for k, r in runs.items()},
            "matmul_gflops": gflops, "achieved_fraction": fraction, "runs": runs,
            "live_seconds": live_s}


def format_bench(out: dict) -> str:
    """The bench result as the table `dssl-lite bench` prints."""
    lines = [f"device {out['device']}, matmul {out['matmul_gflops']:.1f} GFLOP/s",
             f"{'clients':>8}{'vec steps/s':>13}{'seq steps/s':>13}{'ratio':>8}{'peak MB':>9}"]
    for k, r in out["runs"].items():
        lines.append(f"{k:>8}{r['vectorized_steps_per_s']:>13.1f}{r['sequential_steps_per_s']:>13.1f}"
                     f"{r['ratio']:>8.2f}{r['peak_mb']:>9.0f}")
    lines.append(f"achieved fraction of matmul peak (vectorised, largest K): {out['achieved_fraction']:.3f}")
    if out.get("live_seconds"):
        per = ", ".join(f"{o} {s:.1f} s" for o, s in out["live_seconds"].items())
        lines.append(f"live preset end to end, cold, IID baseline included: {per} (goal <= 20 s on 2 CPU cores)")
    return "\n".join(lines)
