"""Flower's simulation engine against dssl-lite on the same FedAvg self-supervised job.

    .venv/bin/python benchmarks/flower/run.py            # 10, 100 and 1,000 clients, 3 repetitions
    .venv/bin/python benchmarks/flower/run.py --quick    # smoke test: 2 clients, 2 rounds, once

The job is the `live` preset's MIM run, IID, read from the config (model, rounds, local steps,
batch size, AdamW settings). `job.record` writes it down once per client count: initial weights,
client sizes and every batch and mask dssl-lite's generator draws. Then, repetition after
repetition, each engine runs it in a fresh process, the two back to back in alternating order:
`dssl_app.py` (`Simulator(cfg).rounds()`, the project's python) and `flower_app.py` (Flower's
`run_simulation`, Ray, one CPU per client actor, from its own venv). This process times each
child from launch to exit, samples its process tree's memory, and at the end compares the final
global weights of the two engines. Results go to OUT/results.json and OUT/results.md.

Flower is not a dependency of dssl-lite: it lives in `benchmarks/flower/.venv`, created here on
first use, which sees torch, timm and dssl_lite through a `.pth` file (this checkout first, then
the site-packages of the python running this script). Telemetry of both Flower and Ray is off.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FLOWER = "flwr[simulation]==1.42.0"
ENGINES = ("dssl-lite", "flower")


# ----- the Flower venv -----
def flower_python(venv: Path) -> Path:
    """The python of Flower's own venv, created and filled on first use."""
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = subprocess.check_output([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   text=True).strip()
    # Written every time, so a moved checkout or another project venv still resolves.
    Path(site, "dssl_lite_project.pth").write_text(f"{ROOT}\n{sysconfig.get_paths()['purelib']}\n")
    check = [py, "-c", "import flwr, ray, torch, dssl_lite"]
    if subprocess.run(check, capture_output=True).returncode:
        print(f"installing {FLOWER} into {venv} (once) ...", flush=True)
        subprocess.run([py, "-m", "pip", "install", "-q", FLOWER], check=True)
        subprocess.run(check, check=True)  # torch and dssl_lite come through the .pth file
    return py


# ----- measuring one child process -----
def _ppids() -> dict[int, int]:
    """{pid: parent pid} of every process (Linux /proc)."""
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
                out[int(d)] = int(stat[stat.rindex(")") + 2:].split()[1])
            except (OSError, ValueError):
                pass
    return out


def _kb(path: str, field: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreeMemory(threading.Thread):
    """Peak summed RSS and PSS of a process and all its descendants, sampled every `every` s.

    RSS counts pages shared between processes (torch's libraries, Ray's object store) once per
    process, so a tree's RSS sum overstates what it holds; PSS splits shared pages between their
    users, so the PSS sum is the tree's real footprint. Both are reported."""

    def __init__(self, pid: int, every: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.every, self.done = pid, every, threading.Event()
        self.rss_mb = self.pss_mb = 0.0
        self.seen: set[int] = set()

    def run(self):
        while not self.done.is_set():
            parents, tree, grew = _ppids(), {self.pid}, True
            while grew:
                kids = {p for p, pp in parents.items() if pp in tree} - tree
                tree |= kids
                grew = bool(kids)
            self.seen |= tree
            rss = sum(_kb(f"/proc/{p}/status", "VmRSS:") for p in tree)
            pss = sum(_kb(f"/proc/{p}/smaps_rollup", "Pss:") for p in tree)
            self.rss_mb, self.pss_mb = max(self.rss_mb, rss / 1024), max(self.pss_mb, pss / 1024)
            self.done.wait(self.every)

    def stop(self, linger: float = 60) -> float:
        """Stop sampling; wait (up to `linger` s) until every process seen has exited, so that
        nothing of this run (a Ray raylet, a worker) still runs during the next. -> seconds waited."""
        self.done.set()
        self.join()
        t = time.time()
        while time.time() - t < linger and any(Path(f"/proc/{p}").exists() for p in self.seen - {self.pid}):
            time.sleep(0.2)
        return time.time() - t


def run_engine(engine: str, python: Path, job_dir: Path, out: Path, cpus: int) -> dict:
    """Run one engine on a recorded job in a fresh process; time it and watch its memory."""
    out.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env.update(PYTHONPATH=str(ROOT), OMP_WAIT_POLICY="PASSIVE", FLWR_TELEMETRY_ENABLED="0",
               RAY_USAGE_STATS_ENABLED="0")
    script = HERE / ("dssl_app.py" if engine == "dssl-lite" else "flower_app.py")
    load = os.getloadavg()[0]
    with open(out / "log.txt", "w") as log:
        t0 = time.time()
        proc = subprocess.Popen([str(python), str(script), str(job_dir), str(out), str(cpus)],
                                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=HERE)
        mem = TreeMemory(proc.pid)
        mem.start()
        rc = proc.wait()
        t1 = time.time()
    linger = mem.stop()
    if rc:
        raise RuntimeError(f"{engine} exited with {rc}; see {out / 'log.txt'}")
    timing = json.loads((out / "timing.json").read_text())
    ends = [t - t0 for t in timing["round_end"]]
    rounds = [b - a for a, b in zip(ends, ends[1:])]
    return {"engine": engine, "end_to_end_s": t1 - t0, "first_round_s": ends[0],
            "steady_round_s": statistics.median(rounds) if rounds else None, "round_end_s": ends,
            "python_start_s": timing["launched"] - t0, "after_last_round_s": t1 - t0 - ends[-1],
            "peak_rss_tree_mb": mem.rss_mb, "peak_pss_tree_mb": mem.pss_mb,
            "peak_rss_process_mb": timing.get("peak_rss_mb"), "processes": len(mem.seen),
            "lingered_s": linger, "load_1min_before": load, "load_1min_after": os.getloadavg()[0]}


# ----- the benchmark -----
def benchmark(clients, reps: int, rounds, cpus: int, out: Path) -> dict:
    import torch

    import job
    from dssl_lite import preset

    py = flower_python(HERE / ".venv")
    work = HERE / ".work"  # recorded jobs (about 1.4 MB of batches per client), logs, final weights
    shutil.rmtree(work, ignore_errors=True)
    jobs, runs, agree = {}, [], []
    for k in clients:
        cfg = preset("live", objective="mim", alpha=None, clients=k, device="cpu")
        jobs[k] = job.record(cfg.replace(rounds=rounds or cfg.rounds), work / f"job_{k}")
    for rep in range(reps):
        for k in clients:
            order = ENGINES if rep % 2 == 0 else ENGINES[::-1]  # alternate who goes first
            for engine in order:
                where = work / f"{engine}_{k}_{rep}"
                r = run_engine(engine, py if engine == "flower" else Path(sys.executable), jobs[k], where, cpus)
                runs.append({"clients": k, "rep": rep, **r})
                print(f"rep {rep} clients {k:>4} {engine:>9}: {r['end_to_end_s']:6.1f} s end to end, "
                      f"first round {r['first_round_s']:5.1f} s, steady round "
                      f"{r['steady_round_s'] or float('nan'):5.2f} s, PSS {r['peak_pss_tree_mb']:6.0f} MB, "
                      f"load {r['load_1min_before']:.1f}", flush=True)
            load = lambda e: torch.load(work / f"{e}_{k}_{rep}" / "final.pt", weights_only=True)
            agree.append({"clients": k, "rep": rep,
                          **job.agreement(load("flower"), load("dssl-lite"), torch.load(jobs[k] / "init.pt", weights_only=True))})
    versions = subprocess.check_output(
        [py, "-c", "import flwr, ray, torch; print(flwr.__version__, ray.__version__, torch.__version__)"],
        text=True).split()
    return {"config": job.spec(str(jobs[clients[0]]))["config"].as_dict() | {"clients": list(clients)},
            "reps": reps, "cpus": cpus, "machine": machine(), "commit": git_commit(),
            "versions": dict(zip(("flwr", "ray", "torch"), versions)),
            "summary": summarise(runs, agree), "runs": runs, "agreement": agree}


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"cpu": model, "cores_usable": len(os.sched_getaffinity(0)), "python": platform.python_version(),
            "load_1_5_15_at_end": os.getloadavg()}


def git_commit() -> str:
    try:
        head = subprocess.check_output(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], text=True).strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "diff", "--quiet", "HEAD"]).returncode
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


METRICS = ("end_to_end_s", "first_round_s", "steady_round_s", "peak_rss_tree_mb", "peak_pss_tree_mb")


def summarise(runs: list[dict], agree: list[dict]) -> dict:
    """Per client count: each engine's median and range over repetitions; the ratio Flower /
    dssl-lite of each metric, taken within a repetition (the two ran back to back, so slow drifts
    in the machine's load cancel) and summarised the same way; the worst weight agreement."""
    stats = lambda v: {"median": statistics.median(v), "min": min(v), "max": max(v)}
    out = {}
    for k in sorted({r["clients"] for r in runs}):
        row = {}
        for e in ENGINES:
            mine = [r for r in runs if r["clients"] == k and r["engine"] == e]
            row[e] = {m: stats(v) for m in METRICS if (v := [r[m] for r in mine if r[m] is not None])}
        pairs = [{e: r for r in runs if r["clients"] == k and r["rep"] == rep for e in [r["engine"]]}
                 for rep in sorted({r["rep"] for r in runs})]
        row["ratio"] = {m: stats([p["flower"][m] / p["dssl-lite"][m] for p in pairs])
                        for m in METRICS if all(p[e][m] is not None for p in pairs for e in ENGINES)}
        mine = [a for a in agree if a["clients"] == k]
        row["agreement"] = {m: max(a[m] for a in mine) for m in ("max_abs_diff", "rel_l2", "rel_to_update")}
        out[str(k)] = row
    return out


COLUMNS = (("end_to_end_s", "end to end (s)", ".1f"), ("first_round_s", "first round (s)", ".1f"),
           ("steady_round_s", "steady round (s)", ".2f"), ("peak_rss_tree_mb", "peak RSS, tree (MB)", ".0f"),
           ("peak_pss_tree_mb", "peak PSS, tree (MB)", ".0f"))


def markdown(res: dict) -> str:
    """The summary as markdown tables: median over repetitions [min-max]; ratios are Flower over
    dssl-lite within each repetition."""
    cfg, m, v = res["config"], res["machine"], res["versions"]
    loads = [r["load_1min_before"] for r in res["runs"]]
    head = (f"Job: `live` preset, {cfg['objective']}, IID, {cfg['rounds']} rounds x {cfg['local_steps']} local "
            f"steps, batch {cfg['batch_size']}, {cfg['model']} width {cfg['width']} depth {cfg['depth']}; "
            f"{res['reps']} repetition(s), engines interleaved. Machine: {m['cpu']}, {res['cpus']} cores used, "
            f"load average (1 min) {min(loads):.1f} to {max(loads):.1f} before the runs; flwr {v['flwr']}, "
            f"ray {v['ray']}, torch {v['torch']}; commit {res['commit']}.")

    def cell(s, metric, fmt, unit=""):
        if metric not in s:
            return "-"
        x = s[metric]
        return f"{x['median']:{fmt}}{unit} [{x['min']:{fmt}}-{x['max']:{fmt}}]"

    lines = [head, "", "| clients | engine | " + " | ".join(c[1] for c in COLUMNS) + " |",
             "|---" * (len(COLUMNS) + 2) + "|"]
    for k, row in res["summary"].items():
        for e in ENGINES:
            lines.append(f"| {k} | {e} | " + " | ".join(cell(row[e], c, f) for c, _, f in COLUMNS) + " |")
        lines.append(f"| {k} | **Flower / dssl-lite** | "
                     + " | ".join(cell(row["ratio"], c, ".1f", "x") for c, _, _ in COLUMNS) + " |")
    lines += ["", "Final global weights, Flower against dssl-lite (worst repetition):", "",
              "| clients | max abs difference | relative L2 | relative to the training update |", "|---|---|---|---|"]
    for k, row in res["summary"].items():
        a = row["agreement"]
        lines.append(f"| {k} | {a['max_abs_diff']:.2e} | {a['rel_l2']:.2e} | {a['rel_to_update']:.2e} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, nargs="+", default=[10, 100, 1000], help="client counts (default: 10 100 1000)")
    p.add_argument("--reps", type=int, default=3, help="repetitions of each engine at each client count")
    p.add_argument("--rounds", type=int, default=None, help="override the preset's rounds")
    p.add_argument("--cpus", type=int, default=len(os.sched_getaffinity(0)),
                   help="cores for both engines: dssl-lite's torch threads, Ray's CPUs (default: all usable)")
    p.add_argument("--quick", action="store_true", help="smoke test: 2 clients, 2 rounds, 1 repetition")
    p.add_argument("--out", type=Path, default=None, help="results folder (default: benchmarks/flower/results)")
    a = p.parse_args(argv)
    if a.quick:
        a.clients, a.rounds, a.reps = [2], 2, 1
    out = a.out or HERE / ("results-quick" if a.quick else "results")
    sys.path[:0] = [str(HERE), str(ROOT)]  # job.py, and this checkout's dssl_lite
    res = benchmark(a.clients, a.reps, a.rounds, a.cpus, out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(res, indent=1))
    (out / "results.md").write_text(markdown(res))
    print(markdown(res))


if __name__ == "__main__":
    main()
