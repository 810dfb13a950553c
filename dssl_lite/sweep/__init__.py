"""`dssl-lite sweep GRID.yaml --out DIR`: a YAML grid -> one folder per run, then a summary.

A grid file is either notebook runs (papermill) or engine runs (`run(cfg)`, no notebook):

    notebook: notebooks/03_mim_vs_cl.ipynb     # omit for engine runs
    parameters: {quick: true}                  # fixed for every run
    grid: {preset: [teach-mim-vs-cl], seeds: [[0], [1]]}

    preset: tiny                               # engine runs: preset + config fields
    parameters: {objective: mim}
    grid: {alpha: [0.1, 1.0], seed: [0, 1]}

Every run gets `DIR/<name>/` (name from its grid values) with `result.json`, `run.json` (its
parameters) and, for notebooks, the executed `notebook.ipynb`; an engine sweep's folder is a
`runs.FolderStore` (its rows are the runs table's). The package's modules, one job each:
`gridfile` (safe YAML), `notebook` (a notebook's parameters), `grid` (runs from axes, shared with
the atlas), `store` (the folder, committed runs, the lock) and `executors` (local, Ray).

A grid file runs code: a notebook path executes that notebook, and engine runs import
dssl-lite's own code only. Trust a grid file as you would a script.
"""
from __future__ import annotations

import errno
import math
import sys
from pathlib import Path
from typing import Optional

from ..errors import ConfigError, short
from ..storage import check_writable, no_space, write_json
from . import executors
from .executors import RayStartError, execute, local, ray_tasks  # noqa: F401  (the package's surface)
from .grid import MAX_RUNS, expand_groups, load_grid  # noqa: F401
from .gridfile import GridLoader, read_grid  # noqa: F401
from .store import (  # noqa: F401
    SweepError,
    SweepLocked,
    clean_scratch,
    commit,
    locked,
    run_state,
    set_aside,
)


class DiskFull(SweepError):
    """No room left to write a run; the finished ones are intact."""


def _check_resources(executor, workers, num_cpus, num_gpus) -> None:
    if executor not in ("local", "ray"):
        raise ConfigError("executor", f"got {short(executor)}; allowed: local, ray")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError("workers", f"got {short(workers)}; allowed: an integer >= 1")
    for name, v, lo in (("num_cpus", num_cpus, 0.0), ("num_gpus", num_gpus, None)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0 or v == lo:
            raise ConfigError(name, f"got {short(v)}; allowed: a number {'> 0' if lo is not None else '>= 0'}")


def sweep(grid, out, executor: str = "local", workers: int = 1, num_cpus: float = 1,
          num_gpus: float = 0, address: Optional[str] = None, progress: bool = True,
          max_runs: int = MAX_RUNS) -> dict:
    """Run every unfinished run of `grid` (a path or a dict) into `out`; -> counts and the
    summary table. Example: `sweep("examples/grid_mim_vs_cl.yaml", "runs/mim_vs_cl")`.
    Bad input is a ConfigError before anything runs; a folder in use or a full disk is a
    SweepError that keeps every finished run."""
    _check_resources(executor, workers, num_cpus, num_gpus)
    g = load_grid(grid, max_runs=max_runs)
    out = check_writable(out, "out", folder=True)
    with locked(out):
        try:
            return _sweep_locked(g, out, executor, workers, num_cpus, num_gpus, address, progress)
        except OSError as e:
            if not no_space(e):
                raise
            kept = sum(run_state(out, r, g["notebook"] is None) == "finished" for r in g["runs"])
            raise DiskFull(f"out: no space left under {out} ({e.strerror or e}); stopped with {kept} of "
                           f"{len(g['runs'])} runs finished and kept; free space and run the same command "
                           "to go on") from None


def _sweep_locked(g, out, executor, workers, num_cpus, num_gpus, address, progress) -> dict:
    from tqdm import tqdm

    from .summary import sweep_summary

    clean_scratch(out)  # the scratch of a killed sweep: never a finished run
    executors.clean_stale_scratch()  # and of its killed runs, in the temp directory
    write_json(out / "sweep.json", {"notebook": g["notebook"], "axes": g["axes"], "spec": g["spec"]})
    todo, damaged = [], []
    for r in g["runs"]:
        state = run_state(out, r, engine=g["notebook"] is None)
        if state.startswith("damaged"):
            dest = set_aside(out, r["name"])
            damaged.append(r["name"])
            print(f"sweep: {r['name']} is {state}; moved to {dest.relative_to(out)}, running it again",
                  file=sys.stderr)
        if state != "finished":
            todo.append(r)
    nb_json = Path(g["notebook"]).read_text() if g["notebook"] else None
    runs = (local(todo, nb_json, workers) if executor == "local"
            else ray_tasks(todo, nb_json, workers, num_cpus, num_gpus, address))
    failed = []
    bar = tqdm(total=len(g["runs"]), initial=len(g["runs"]) - len(todo), desc="sweep", unit="run",
               file=sys.stderr, disable=not progress)
    try:
        for r, outcome in runs:
            if outcome.get("no_space"):  # the run itself hit the full disk: not the run's fault
                raise OSError(errno.ENOSPC, outcome["error"]["message"])
            commit(out, r, outcome)
            if not outcome["ok"]:
                failed.append(r["name"])
                bar.write(f"run {r['name']} failed: {outcome['error']['message']}", file=sys.stderr)
            bar.update(1)
    finally:
        runs.close()  # stop the executor now (queued runs cancelled, Ray shut down)
        bar.close()
    table = sweep_summary(out)
    return {"total": len(g["runs"]), "ran": len(todo), "skipped": len(g["runs"]) - len(todo),
            "failed": failed, "damaged": damaged, "table": table}
