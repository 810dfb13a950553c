"""`dssl-lite bench`: speed measured side by side in one run, reported as ratios (never timed tests).

For the `live` model at 10, 100 and 1,000 clients, client-steps per second (one local step of one
client: forward, backward, AdamW) of:
- `plain loop`: the baseline, the FedAvg loop a user would write (benchmarks/plain_loop.py: an
  `nn.Module` and a torch AdamW per client, clients over one worker process per core);
- the engine's strategies: `chunks` (eager vmap over chunks of a run's clients, worker processes),
  `chunks+compile` (the same, torch.compile'd: what a `live` run uses on CPU, `default: true`),
  `chunks+compile+bf16` (bfloat16 matmuls under autocast), `vmap-all` (one eager call, every core
  an intra-op thread) and `loop` (the engine's per-client oracle);
each against the machine's float32 FLOP limit: cores x one core's matmul peak (best of several
trials, reported with their spread; a machine busy at the start is flagged), divided by the FLOPs
of one client-step (torch's flop counter). The strategies run interleaved over `reps`
repetitions and every row reports its median and its ratio to the plain loop of the same run.
"""
from __future__ import annotations

import importlib
import json
import os
import resource
import statistics
import time
from pathlib import Path
from typing import Optional

import torch
from torch.utils.flop_counter import FlopCounterMode

from .presets import preset
from .simulator import Simulator
from .workers import InThread, Processes

STRATEGIES = ("plain loop", "chunks", "chunks+compile", "chunks+compile+bf16", "vmap-all", "loop")
OVERRIDES = {"chunks": dict(compile=False), "chunks+compile": dict(compile=True),
             "chunks+compile+bf16": dict(compile=True, precision="bfloat16"), "loop": dict(strategy="loop", compile=False),
             "plain loop": dict(compile=False)}


def bench_config(clients: int, objective: str = "mim", device: str = "auto", **over):
    """The `live` model and batch at `clients` IID clients, on the embedded MNIST (4,000 training
    images, so even 1,000 clients get 4 each; batches are drawn with replacement)."""
    return preset("live", clients=clients, objective=objective, device=device, alpha=None,
                  dataset="mnist5k", min_client_size=1, **over)


def default_strategy(cfg) -> str:
    """The strategy a run of `cfg` uses on CPU (`plan.resolve`): what `default: true` marks."""
    return "loop" if cfg.strategy == "loop" else "chunks+compile" if cfg.compile else "chunks"


# ----- the machine's limit -----
def matmul_gflops(n: int = 1024, repeats: int = 15, n_threads: int = 1, dtype=torch.float32) -> float:
    """Matmul throughput with `n_threads` intra-op threads, best of `repeats` (1: a core's peak)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
        a @ b
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - t)
        return 2 * n ** 3 / best / 1e9
    finally:
        torch.set_num_threads(before)


def busy_cores(window: float = 0.5) -> float:
    """How many cores other work keeps busy now: the machine's CPU time over `window` seconds
    (/proc/stat), in cores. Unlike the load average (a minute's decaying mean) it does not count
    a run that has just ended. Linux; elsewhere the load average."""
    def sample():
        with open("/proc/stat") as f:
            v = [float(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]  # total, idle + iowait
    try:
        t0, i0 = sample()
        time.sleep(window)
        t1, i1 = sample()
    except OSError:
        return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return (os.cpu_count() or 1) * (1 - (i1 - i0) / max(t1 - t0, 1e-9))


def core_peak(trials: int = 7) -> dict:
    """One core's float32 matmul peak: the best of `trials` (each itself a best of 15), their
    spread, and whether the machine was busy when measured (other work on over half a core,
    `busy_cores`; the 1-minute load average is recorded beside it)."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    busy = busy_cores()
    got = sorted(matmul_gflops() for _ in range(trials))
    bf16 = max(matmul_gflops(dtype=torch.bfloat16) for _ in range(3))
    return {"gflops": got[-1], "median": statistics.median(got), "low": got[0], "bfloat16_gflops": bf16,
            "load_average": load, "busy_cores": busy, "busy": busy > 0.5}


def flops_per_client_step(objective: str = "mim", clients: int = 10) -> float:
    """FLOPs of one client's local step (forward and backward; AdamW's elementwise work is not
    counted by torch's flop counter), from a counted eager step of `clients` clients."""
    sim = Simulator(bench_config(clients, objective, compile=False), executor=InThread())
    with FlopCounterMode(display=False) as fc:
        sim.begin_round().step()
    return fc.get_total_flops() / clients


# ----- one strategy, timed -----
def plain_loop():
    """benchmarks/plain_loop.py (the checkout's, or the copy a wheel carries), imported by name
    from its folder (its worker processes import it again by that name)."""
    import sys

    here = Path(__file__).resolve().parent
    for folder in (here.parent / "benchmarks", here / "_resources" / "benchmarks"):
        if (folder / "plain_loop.py").exists():
            if str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
            return importlib.import_module("plain_loop")
    raise FileNotFoundError("benchmarks/plain_loop.py is not installed with this copy of dssl-lite")


def time_strategy(strategy: str, clients: int, objective: str = "mim", min_seconds: float = 2.0) -> dict:
    """Steady client-steps per second of one strategy (after warm-up steps; the first step's
    seconds, which include compiling or loading compiled kernels, reported apart)."""
    cores = os.cpu_count() or 1
    if strategy == "plain loop":
        cfg = bench_config(clients, objective, **OVERRIDES[strategy])
        rounds = max(3, 2 + int(min_seconds * 300 // (clients * cfg.local_steps)))
        r = plain_loop().measure(cfg, rounds=rounds)
        return {"strategy": strategy, "clients": clients, "client_steps_per_s": r["client_steps_per_s"],
                "first_step_seconds": float("nan"), "checked": bool(r["losses_finite"] and r["weights_moved"] > 0)}
    over = dict(OVERRIDES.get(strategy, {}), **({"client_chunk": clients, "compile": False} if strategy == "vmap-all" else {}))
    os.environ["DSSL_WORKERS"] = str(cores)  # every core's worker, whatever the job's size
    sim = Simulator(bench_config(clients, objective, **over),
                    executor=InThread() if strategy == "vmap-all" else Processes())
    rnd = sim.begin_round()
    if strategy == "vmap-all":  # one call, every core an intra-op thread (the engine before this one)
        def step():
            torch.set_num_threads(cores)
            c = sim.clients
            work = {"params": c.params, "exp_avg": c.moments.exp_avg, "exp_avg_sq": c.moments.exp_avg_sq, "state": {}}
            sim.engine.step(work, 0, sim.N, range(sim.N), sim.step, c.moments.count, 1e-3, torch.zeros(sim.N))
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
    sim.executor.close()
    return {"strategy": strategy, "clients": clients, "client_steps_per_s": clients / secs,
            "first_step_seconds": first, "steps_timed": n, "checked": True}


# ----- the table -----
def bench(clients=(10, 100, 1000), objectives=("mim",), strategies=STRATEGIES, reps: int = 2,
          min_seconds: float = 2.0, plain_max: int = 100, loop_max: int = 100) -> dict:
    """Every strategy at every client count, interleaved over `reps` repetitions; per row the
    median, its ratio to the plain loop measured in this run and its fraction of the FLOP limit.
    The plain loop runs up to `plain_max` clients and the engine's loop up to `loop_max` (at
    1,000 clients either would take minutes a step)."""
    cores = os.cpu_count() or 1
    peak = core_peak()
    out = {"cores": cores, "core_peak": peak, "limit_gflops": cores * peak["gflops"], "torch": torch.__version__,
           "flops_per_client_step": {}, "limit_client_steps_per_s": {}, "rows": []}
    for obj in objectives:
        flops = flops_per_client_step(obj)
        limit = cores * peak["gflops"] * 1e9 / flops
        out["flops_per_client_step"][obj], out["limit_client_steps_per_s"][obj] = flops, limit
        default = default_strategy(bench_config(10, obj))
        for k in clients:
            todo = [s for s in strategies if not (s == "plain loop" and k > plain_max) and not (s == "loop" and k > loop_max)]
            got = {s: [] for s in todo}
            for _ in range(reps):
                for s in todo:
                    got[s].append(time_strategy(s, k, obj, min_seconds))
            base = statistics.median(r["client_steps_per_s"] for r in got["plain loop"]) if "plain loop" in got else None
            for s, rs in got.items():
                speed = statistics.median(r["client_steps_per_s"] for r in rs)
                out["rows"].append({"objective": obj, "clients": k, "strategy": s, "client_steps_per_s": speed,
                                    "repetitions": [round(r["client_steps_per_s"], 1) for r in rs],
                                    "first_step_seconds": min(r["first_step_seconds"] for r in rs),
                                    "fraction": speed / limit, "default": s == default,
                                    "vs_plain_loop": speed / base if base else None,
                                    "checked": all(r["checked"] for r in rs)})
    out["memory_mb_1000_clients"] = memory_at(1000)
    return out


def format_bench(out: dict) -> str:
    p = out["core_peak"]
    lines = [f"{out['cores']} cores; one core's float32 matmul peak {p['gflops']:.0f} GFLOP/s (trials {p['low']:.0f}-"
             f"{p['gflops']:.0f}, load average {p['load_average']:.1f}{': BUSY, numbers low' if p['busy'] else ''}); "
             f"limit {out['limit_gflops']:.0f} GFLOP/s"]
    for obj, f in out["flops_per_client_step"].items():
        lines.append(f"{obj}: {f / 1e9:.3f} GFLOP per client-step, at most {out['limit_client_steps_per_s'][obj]:,.0f} "
                     "client-steps/s")
    lines.append(f"{'objective':<10}{'clients':>8}  {'strategy':<22}{'steps/s':>9}{'vs plain':>9}{'of limit':>9}"
                 f"{'1st step s':>11}")
    for r in out["rows"]:
        vs = f"{r['vs_plain_loop']:.2f}x" if r["vs_plain_loop"] else "-"
        mark = "  (default)" if r["default"] else ""
        lines.append(f"{r['objective']:<10}{r['clients']:>8}  {r['strategy']:<22}{r['client_steps_per_s']:>9.0f}{vs:>9}"
                     f"{r['fraction']:>9.2f}{r['first_step_seconds']:>11.1f}{mark}")
    lines.append(f"1,000 clients: peak memory {out['memory_mb_1000_clients']:,.0f} MB")
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
        if sim.device.type == "cuda":
            torch.cuda.synchronize()
    key = "self_cuda_time_total" if sim.device.type == "cuda" else "self_cpu_time_total"
    return prof.key_averages().table(sort_by=key, row_limit=top)


def memory_at(clients: int, objective: str = "mim") -> float:
    """Peak MB of a fresh process that builds and steps `clients` clients (its peak resident set,
    Linux; the CUDA allocator's peak on a GPU): the bench's own process has held other runs."""
    import subprocess
    import sys

    code = f"from dssl_lite.bench import _memory_here; print(_memory_here({clients}, {objective!r}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"memory at {clients} clients: {done.stderr.strip().splitlines()[-1:]}")
    return float(done.stdout.split()[-1])


def _memory_here(clients: int, objective: str) -> float:
    sim = Simulator(bench_config(clients, objective), executor=InThread())
    sim.begin_round().step()
    if sim.device.type == "cuda":
        return torch.cuda.max_memory_allocated(sim.device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ----- the explorer's honest time: a Run measured, and its estimate scaled to the machine now -----
TIMINGS = "timings.json"  # beside the shipped atlases (atlas.SHIPPED)
KIN = {"mar": "mim", "mar-shared": "mim", "mar-mmd": "mim", "mar-ref": "mim", "simclr": "cl",
       "byol": "cl", "byol-local": "cl"}  # objectives timed alike (the same encoder passes)


def measure_timings(objectives=("mim", "cl"), seeds=(1, 3)) -> dict:
    """A Run as the explorer makes one, for each objective at `live`: the workers started and the
    step compiled when the page opens (not timed), then a Run of 1 and of 3 seeds with its IID
    references taken from the atlas where this CPU built it: the seconds to the first loss point
    and to the end, the client-steps per second trained, and what `estimate` said before."""
    from . import atlas, experiment, warmup
    from .atlas import machine

    warmup.start_in_background([preset("live", objective=o) for o in objectives]).join()
    out = {"cores": os.cpu_count() or 1, "core_peak_gflops": core_peak(3)["gflops"], **machine(),
           "load_average": os.getloadavg()[0], "busy_cores": busy_cores(), "seconds": {}, "first_loss_s": {},
           "estimate_s": {}, "client_steps_per_s": {}, "overhead_s": {}}
    for obj in objectives:
        cfg = preset("live", objective=obj)
        for n in seeds:
            experiment.forget()
            cfgs = [cfg.replace(seed=s) for s in range(n)]
            atlas.lend_baselines(cfgs)
            out["estimate_s"].setdefault(obj, {})[str(n)] = estimate(cfg, n)
            first, t0 = [], time.perf_counter()
            results = experiment.run_many(cfgs, on_round=lambda ph, rec: first or first.append(time.perf_counter()))
            total = time.perf_counter() - t0
            out["seconds"].setdefault(obj, {})[str(n)] = total
            out["first_loss_s"].setdefault(obj, {})[str(n)] = first[0] - t0
        train = max(h["seconds"] for r in results for h in r.history[-1:])
        out["client_steps_per_s"][obj] = max(seeds) * cfg.clients * cfg.rounds * cfg.local_steps / train
        out["overhead_s"][obj] = total - train
    return out


_local_peak: list = []


def estimate(cfg, seeds: int) -> Optional[float]:
    """Seconds a Run of `seeds` seeds of `cfg` should take on this machine now: the client-steps
    still to train (references the atlas lends or this process trained cost nothing) at the rate
    measured for the objective (`measure_timings`, shipped beside the atlases), scaled by this
    machine's core peak against the measuring machine's when the CPU differs (on the same CPU a
    matmul peak varies more from trial to trial than the runs do) and by what else runs now: with B cores
    kept busy by other work (`busy_cores`, beyond what was busy when it was measured) on C cores and
    W workers of ours, each gets C / max(C, B + W) of a core. None when nothing was measured."""
    from . import atlas, experiment

    path = atlas.SHIPPED / TIMINGS
    if not path.exists() or cfg.device == "cuda":
        return None
    t = json.loads(path.read_text())
    obj = cfg.objective if cfg.objective in t["client_steps_per_s"] else KIN.get(cfg.objective)
    if obj not in t["client_steps_per_s"] or not cfg.compile:
        return None  # measured for the compiled lesson scale only
    cores = os.cpu_count() or 1
    busy = max(0.0, busy_cores() - t.get("busy_cores", t.get("load_average", 0.0)))
    share = cores / max(cores, busy + min(cores, 2))
    per_run = cfg.clients * cfg.rounds * cfg.local_steps
    runs = sum(1 + experiment.uncached_baselines(cfg.replace(seed=s)) for s in range(cfg.seed, cfg.seed + seeds))
    speed = share
    if t.get("cpu") != atlas.machine()["cpu"] or cores != t["cores"]:  # another CPU: scale by its matmul peak
        if not _local_peak:  # measured as the timings' peak was (`core_peak(3)`): like against like
            _local_peak.append(max(matmul_gflops() for _ in range(3)))
        speed *= (_local_peak[0] * min(cores, 2)) / (t["core_peak_gflops"] * min(t["cores"], 2))
    return t["overhead_s"][obj] * seeds / 3 + runs * per_run / (t["client_steps_per_s"][obj] * speed)


def precision_markdown(base) -> str:
    """bfloat16 against float32 at `base` (the lesson scale): per objective, the paired differences
    of accuracy and robustness over the seeds both have, beside float32's own spread over seeds."""
    from . import atlas
    from .findings import label, paired
    from .findings.render import md_table
    from .stats import spread

    table, body = atlas.everything(), []
    for obj in ("mim", "cl"):
        b = base.replace(objective=obj, topology="fl")
        rows = label(table, [("float32", b), ("bfloat16", b.replace(precision="bfloat16"))])
        if rows["arm"].nunique() < 2:
            continue
        f32 = rows[rows["arm"] == "float32"]
        cells = []
        for col in ("accuracy", "robustness"):
            d = paired(rows, "bfloat16", "float32", col)
            cells.append(f"{d['mean']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}], {d['n']} seeds")
            cells.append(f"{spread(f32[col]):.3f}")
        body.append([obj.upper(), *cells])
    if not body:
        return "(not measured: dssl-lite atlas build examples/atlas_live_bf16.yaml --out data/atlas/live-bf16.csv)"
    return md_table(["objective", "bf16 - f32 accuracy (paired)", "f32 accuracy, sd over seeds",
                     "bf16 - f32 robustness (paired)", "f32 robustness, sd over seeds"], body)
