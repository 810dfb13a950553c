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
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # process peak RSS so far (Linux KiB)


def time_steps(sim: Simulator, steps: int) -> float:
    """Seconds per local step (all clients), after one warm-up step."""
    rnd = sim.begin_round()
    rnd.step()
    sync(sim.device)
    t = time.perf_counter()
    for _ in range(steps):
        rnd.step()
    sync(sim.device)
    return (time.perf_counter() - t) / steps


def step_flops(sim: Simulator) -> int:
    rnd = sim.begin_round()
    with FlopCounterMode(display=False) as fc:
        rnd.step()
    return fc.get_total_flops()


def live_seconds(objective: str = "mim", device: str = "auto") -> float:
    """The `live` preset end to end, cold: dataset load, non-IID run, its IID baseline (not
    cached) and both probes, as `dssl-lite run --preset live` does after Python has started."""
    from . import data, experiment

    data.load.cache_clear()
    experiment.forget()
    t = time.perf_counter()
    experiment.run(preset("live", objective=objective, device=device))
    return time.perf_counter() - t


def bench_config(clients: int, objective: str = "mim", device: str = "auto", vectorized: bool = True):
    """The `live` model and batch at `clients` IID clients, on the embedded MNIST (4,000 training
    images, so even 1,000 clients get 4 each; batches are drawn with replacement)."""
    return preset("live", clients=clients, objective=objective, vectorized=vectorized, device=device,
                  alpha=None, dataset="mnist5k", min_client_size=1)


def bench(clients=(10, 100, 1000), steps: int = 5, objective: str = "mim", device: str = "auto",
          live: bool = True, live_objectives=("mim", "cl")) -> dict:
    """-> {"vectorized_vs_sequential": {K: ratio}, "matmul_gflops", "achieved_fraction", "runs",
    "live_seconds": {objective: s}} (the last only with `live`; measured first, each cold). The
    per-client loop is timed on fewer steps at large K (it is the slow reference)."""
    live_s = {o: live_seconds(o, device) for o in live_objectives} if live else None
    runs, gflops = {}, None
    for k in clients:
        row = {}
        for vec in (True, False):
            sim = Simulator(bench_config(k, objective, device, vec))
            if sim.device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(sim.device)
            sec = time_steps(sim, steps if vec else max(1, steps * 100 // max(k, 100)))
            row["vectorized" if vec else "sequential"] = sec
            if vec:
                row["peak_mb"] = peak_mb(sim.device)
                row["flops_per_step"] = step_flops(sim)
        gflops = gflops or matmul_gflops(device=sim.device)
        row.update(vectorized_steps_per_s=k / row["vectorized"], sequential_steps_per_s=k / row["sequential"],
                   ratio=row["sequential"] / row["vectorized"],
                   achieved_gflops=row["flops_per_step"] / row["vectorized"] / 1e9)
        row["achieved_fraction"] = row["achieved_gflops"] / gflops
        runs[str(k)] = row
    return {"device": str(sim.device), "objective": objective, "steps": steps,
            "vectorized_vs_sequential": {k: r["ratio"] for k, r in runs.items()},
            "matmul_gflops": gflops, "achieved_fraction": {k: r["achieved_fraction"] for k, r in runs.items()},
            "runs": runs, "live_seconds": live_s}


def profile_step(clients: int = 100, objective: str = "mim", steps: int = 3, top: int = 15,
                 device: str = "auto") -> str:
    """Where one vmapped local step's time goes: torch.profiler's table of the top operators by
    self CPU time (CUDA time on a GPU), over `steps` steps after a warm-up."""
    from torch.profiler import ProfilerActivity, profile

    sim = Simulator(bench_config(clients, objective, device))
    rnd = sim.begin_round()
    rnd.step()
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if sim.device.type == "cuda" else [])
    with profile(activities=acts) as prof:
        for _ in range(steps):
            rnd.step()
        sync(sim.device)
    key = "self_cuda_time_total" if sim.device.type == "cuda" else "self_cpu_time_total"
    return prof.key_averages().table(sort_by=key, row_limit=top)


def format_bench(out: dict) -> str:
    """The bench result as the table `dssl-lite bench` prints."""
    lines = [f"device {out['device']}, matmul {out['matmul_gflops']:.1f} GFLOP/s",
             f"{'clients':>8}{'vec steps/s':>13}{'seq steps/s':>13}{'ratio':>8}{'of peak':>9}{'peak MB':>9}"]
    for k, r in out["runs"].items():
        lines.append(f"{k:>8}{r['vectorized_steps_per_s']:>13.1f}{r['sequential_steps_per_s']:>13.1f}"
                     f"{r['ratio']:>8.2f}{r['achieved_fraction']:>9.3f}{r['peak_mb']:>9.0f}")
    lines.append("of peak = the vectorised step's FLOP/s (torch's flop counter) over the measured matmul peak")
    if out.get("live_seconds"):
        per = ", ".join(f"{o} {s:.1f} s" for o, s in out["live_seconds"].items())
        lines.append(f"live preset end to end, cold, IID baseline included: {per} (goal <= 20 s on 2 CPU cores)")
    return "\n".join(lines)
