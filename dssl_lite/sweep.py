"""`dssl-lite sweep GRID.yaml --out DIR`: a YAML grid -> one folder per run, then a summary.

A grid file is either notebook runs (papermill) or engine runs (`run(cfg)`, no notebook):

    notebook: notebooks/03_mim_vs_cl.ipynb     # omit for engine runs
    parameters: {quick: true}                  # fixed for every run
    grid: {preset: [teach-mim-vs-cl], seeds: [[0], [1]]}

    preset: tiny                               # engine runs: preset + config fields
    parameters: {objective: mim}
    grid: {alpha: [0.1, 1.0], seed: [0, 1]}

Every run gets `DIR/<name>/` (name from its grid values) with `result.json`, `run.json` (its
parameters) and, for notebooks, the executed `notebook.ipynb`. A run is computed in a scratch
folder and appears under its name by one rename, so a sweep killed at any moment and restarted
skips everything finished and repeats nothing. A run counts as finished only if its files parse
and validate; a damaged one is moved to `DIR/.damaged/` and run again. A failed run leaves
`error.json` and is retried on the next start. The whole grid is validated before the first
run: duplicate YAML keys, alias bombs and grids over the run cap are refused before anything is
expanded; engine keys go through `config.from_dict`, notebook keys against the notebook's
`parameters` cell (`ConfigError` names the key; the CLI exits 2). One sweep at a time holds a
folder (`DIR/.lock`); a full disk stops the sweep and keeps every finished run (`SweepError`;
the CLI exits 1). Executors: `local` (in process, or `--workers N` processes) and `ray` (one task
per run; `--num-cpus`/`--num-gpus` per task; a private Ray on 127.0.0.1 unless `--address`).

A grid file runs code: a notebook path executes that notebook, and engine runs import
dssl-lite's own code only. Trust a grid file as you would a script.
"""
from __future__ import annotations

import ast
import contextlib
import errno
import fcntl
import hashlib
import itertools
import json
import math
import os
import re
import shutil
import socket
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Optional

import yaml

from .config import FIELD_NAMES, PRESETS, ConfigError, from_dict
from .errors import short
from .results import Result
from .storage import DamagedFile, atomic_write, check_writable, fsync_dir, no_space, read_json, write_json

TOP_KEYS = ("notebook", "preset", "parameters", "grid")
ENGINE_EXTRA = ("preset",)  # keys an engine run accepts beside config fields
MAX_RUNS = 10_000           # default cap on one grid's runs (`max_runs=`, `--max-runs` raise it)
MAX_NODES = 100_000         # YAML values a grid file may stand for, each alias counted every time it is used
MAX_GRID_BYTES = 1 << 20    # a grid is a few lines: a bigger file is a mistake
LOCK = ".lock"              # in the sweep folder: who is sweeping it now


class SweepError(RuntimeError):
    """The sweep stopped for a reason outside the grid (folder in use, disk full, Ray not
    starting); every finished run is kept. The CLI prints it as one line and exits 1."""


class SweepLocked(SweepError):
    """Another sweep holds the folder."""


class DiskFull(SweepError):
    """No room left to write a run; the finished ones are intact."""


class RayStartError(SweepError):
    """Ray itself failed to start (not a run's failure); nothing was run."""


# ----- reading and validating a grid -----
class GridLoader(yaml.SafeLoader):
    """YAML's safe loader, stricter: a key given twice is an error (plain YAML keeps the last one
    silently), and a document whose aliases stand for more than MAX_NODES values is refused
    before anything is built (a ten-line "billion laughs" file otherwise expands for hours)."""

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None:
            _expanded_size(node, {}, set())
        return node

    def construct_mapping(self, node, deep=False):
        first: dict = {}  # key -> the line it was first given on
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` may be overridden: allowed
                continue
            key, line = self.construct_object(key_node, deep=True), key_node.start_mark.line + 1
            try:
                if key in first:
                    raise ConfigError(str(key), f"given twice in the grid file (lines {first[key]} and "
                                      f"{line}); YAML would keep only the last: remove one")
                first[key] = line
            except TypeError:  # unhashable: SafeLoader names that error itself
                continue
        return super().construct_mapping(node, deep)


def _expanded_size(node, memo: dict, path: set) -> int:
    """How many values `node` stands for with every alias expanded; memoised per node, so the
    cost is linear in the file. ConfigError as soon as it passes MAX_NODES or contains itself."""
    if id(node) in memo:
        return memo[id(node)]
    if id(node) in path:
        raise ConfigError("grid", f"an alias contains itself (line {node.start_mark.line + 1})")
    path.add(id(node))
    children = (node.value if isinstance(node, yaml.SequenceNode) else
                [n for kv in node.value for n in kv] if isinstance(node, yaml.MappingNode) else [])
    size = 1
    for child in children:
        size += _expanded_size(child, memo, path)
        if size > MAX_NODES:
            raise ConfigError("grid", f"its aliases expand to more than {MAX_NODES:,} values (from line "
                              f"{node.start_mark.line + 1}); refused")
    path.discard(id(node))
    memo[id(node)] = size
    return size


def read_grid(path) -> Any:
    """A grid file's YAML, read with `GridLoader`; every problem is a one-line ConfigError."""
    path = Path(path)
    if not path.exists():
        raise ConfigError("grid", f"no such file: {path}")
    if not path.is_file():
        raise ConfigError("grid", f"{path} is not a file")
    if path.stat().st_size > MAX_GRID_BYTES:
        raise ConfigError("grid", f"{path} is {path.stat().st_size:,} bytes; a grid file is at most "
                          f"{MAX_GRID_BYTES:,}")
    try:
        return yaml.load(path.read_text(), Loader=GridLoader)
    except ConfigError:
        raise
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        why = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError("grid", f"{path} is not valid YAML: {why}"
                          + (f" (line {mark.line + 1})" if mark else "")) from None
    except UnicodeDecodeError:
        raise ConfigError("grid", f"{path} is not UTF-8 text") from None
    except RecursionError:
        raise ConfigError("grid", f"{path} nests too deeply") from None
    except ValueError as e:  # e.g. an integer of 5,000 digits
        raise ConfigError("grid", f"{path}: {str(e)[:80]}") from None


def notebook_parameters(nb_path) -> dict[str, Any]:
    """Names and default values (None when not a literal) of a notebook's `parameters` cell."""
    import nbformat

    try:
        nb = nbformat.read(str(nb_path), as_version=4)
        cell = next((c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
        body = ast.parse(cell.source).body if cell is not None else None
    except Exception as e:  # not JSON, not a notebook, a cell that does not parse: nbformat has many
        raise ConfigError("notebook", f"{nb_path} is not a readable notebook ({type(e).__name__})") from None
    if body is None:
        raise ConfigError("notebook", f"{nb_path} has no cell tagged 'parameters'")
    out = {}
    for node in body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        for t in targets:
            if isinstance(t, ast.Name):
                try:
                    out[t.id] = ast.literal_eval(node.value) if node.value is not None else None
                except (ValueError, TypeError, SyntaxError, RecursionError):  # not a literal
                    out[t.id] = None
    return out


def _check_type(key: str, value: Any, default: Any) -> None:
    if default is None:
        return
    kinds = {bool: (bool,), int: (int,), float: (int, float), str: (str,), list: (list, tuple),
             tuple: (list, tuple), dict: (dict,)}
    ok = isinstance(value, kinds.get(type(default), (object,)))
    if type(default) in (int, float) and isinstance(value, bool):
        ok = False
    if not ok:
        raise ConfigError(key, f"got {short(value)}; allowed: a {type(default).__name__} like the default {short(default)}")


def _engine_config(params: dict):
    params = dict(params)
    name = params.pop("preset", "live")
    if not isinstance(name, str) or name not in PRESETS:
        raise ConfigError("preset", f"got {short(name)}; allowed: {', '.join(PRESETS)}")
    return from_dict({**PRESETS[name], **params})


def _label(value: Any) -> str:
    """A grid value as a folder-name piece (`0.1`, `iid`, `0-1`); a long one is cut and hashed, so
    names stay well under the file system's 255 bytes and stay distinct."""
    text = "-".join(map(_label, value)) if isinstance(value, (list, tuple)) else ("iid" if value is None else str(value))
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", text)
    return text if len(text) <= 48 else f"{text[:36]}~{hashlib.sha1(text.encode()).hexdigest()[:8]}"


def run_name(values: dict) -> str:
    """A folder name from a run's grid values: `alpha-0.1__seed-0`."""
    name = "__".join(f"{_label(k)}-{_label(v)}" for k, v in values.items())
    return name if len(name) <= 200 else f"{name[:180]}~{hashlib.sha1(name.encode()).hexdigest()[:12]}"


def _canonical(value: Any) -> Any:
    """The value a run would see: 0 and 0.0 are one seed, so they must not be two runs."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    return value


def load_grid(path_or_dict, base_dir: Optional[Path] = None, max_runs: int = MAX_RUNS) -> dict:
    """Parse and validate a grid -> `{"notebook", "runs": [{"name", "params"}], "axes", ...}`.
    Raises `ConfigError` naming the first bad key before anything runs. The number of runs is
    the product of the axes' lengths, counted before anything is expanded and capped at
    `max_runs`; two runs that are one config (`seed: [0, 0.0]`) are an error, not a repeat."""
    if isinstance(path_or_dict, dict):
        spec, base_dir = path_or_dict, Path(base_dir or ".")
    else:
        spec = read_grid(path_or_dict)
        base_dir = Path(base_dir or Path(path_or_dict).parent)
    if not isinstance(spec, dict):
        raise ConfigError("grid", "the file must be a mapping with keys: " + ", ".join(TOP_KEYS))
    for k in spec:
        if k not in TOP_KEYS:
            raise ConfigError(str(k), f"unknown top-level key; allowed: {', '.join(TOP_KEYS)}")
    fixed, grid = spec.get("parameters") or {}, spec.get("grid")
    if not isinstance(fixed, dict):
        raise ConfigError("parameters", "must be a mapping of name: value")
    if not isinstance(grid, dict) or not grid:
        raise ConfigError("grid", "empty grid: give at least one key with a non-empty list of values")
    for k in [*fixed, *grid]:
        if not isinstance(k, str):
            raise ConfigError("grid", f"key {short(k)} is not a name")
    for k, vals in grid.items():
        if not isinstance(vals, list) or not vals:
            raise ConfigError(k, f"grid values must be a non-empty list; got {short(vals)}")
        if k in fixed:
            raise ConfigError(k, "given both in parameters and in grid")
    total = math.prod(len(v) for v in grid.values())
    if total > max_runs:
        sizes = " x ".join(f"{len(v)} {k[:20]}" for k, v in grid.items())
        raise ConfigError("grid", f"{total:,} runs ({sizes}) is more than the cap of {max_runs:,}; "
                          "raise it with --max-runs if you mean it")

    notebook = spec.get("notebook")
    if notebook is not None:
        if not isinstance(notebook, str):
            raise ConfigError("notebook", f"got {short(notebook)}; allowed: a path to a .ipynb file")
        nb_path = Path(notebook)  # relative to the working directory, else to the grid file
        if not nb_path.exists() and not nb_path.is_absolute():
            nb_path = base_dir / notebook
        if not nb_path.is_file():
            raise ConfigError("notebook", f"no such notebook: {nb_path}")
        if "preset" in spec:
            raise ConfigError("preset", "for notebook runs, set preset under parameters or grid")
        allowed = notebook_parameters(nb_path)
        allowed.pop("output_dir", None)  # the sweep sets it
        _check_notebook_values(nb_path, allowed, fixed, grid)
    else:
        nb_path = None
        fixed = {**({"preset": spec["preset"]} if "preset" in spec else {}), **fixed}
        for k in [*fixed, *grid]:
            if k not in FIELD_NAMES and k not in ENGINE_EXTRA:
                raise ConfigError(k, f"unknown field; allowed: {', '.join(ENGINE_EXTRA + FIELD_NAMES)}")

    runs, names, seen = [], set(), {}
    keys = list(grid)
    for combo in itertools.product(*(grid[k] for k in keys)):
        values = dict(zip(keys, combo))
        params = {**fixed, **values}
        name = run_name(values)
        if nb_path is None:
            same = _engine_config(params).to_json()  # full validation of values (names the bad field)
        else:
            same = json.dumps(_canonical(params), sort_keys=True, default=str)
        if name in names:
            raise ConfigError("grid", f"two runs map to the same folder {name!r}; make the values distinct")
        if same in seen:
            raise ConfigError("grid", f"runs {seen[same]!r} and {name!r} are the same run (one value "
                              "written two ways); keep one")
        names.add(name)
        seen[same] = name
        runs.append({"name": name, "params": params})
    return {"notebook": str(nb_path) if nb_path else None, "runs": runs, "axes": keys, "spec": spec}


def _check_notebook_values(nb_path: Path, allowed: dict, fixed: dict, grid: dict) -> None:
    """Each notebook key must be in its `parameters` cell, each value of the default's type."""
    for k, vals in [*((k, [v]) for k, v in fixed.items()), *grid.items()]:
        if k not in allowed:
            raise ConfigError(k, f"not a parameter of {nb_path.name}; allowed: {', '.join(allowed)}")
        for v in vals:
            _check_type(k, v, allowed[k])
            if k == "preset" and (not isinstance(v, str) or v not in PRESETS):
                raise ConfigError("preset", f"got {short(v)}; allowed: {', '.join(PRESETS)}")


# ----- one run, anywhere (in process, a worker process or a Ray task) -----
def execute(run: dict, notebook_json: Optional[str] = None) -> dict:
    """Compute one run in a scratch folder; -> {"name", "ok", "error", "seconds", "files"} with
    the produced files as bytes, so the caller (possibly on another machine) commits them."""
    t0 = time.perf_counter()
    files, error, full = {}, None, False
    with tempfile.TemporaryDirectory(prefix="dssl-run-") as tmp:
        tmp = Path(tmp)
        try:
            if notebook_json is None:
                from .experiment import run as run_experiment

                run_experiment(_engine_config(run["params"])).save(tmp / "result.json")
            else:
                import papermill as pm

                (tmp / "input.ipynb").write_text(notebook_json)
                try:
                    pm.execute_notebook(str(tmp / "input.ipynb"), str(tmp / "notebook.ipynb"),
                                        parameters={**run["params"], "output_dir": "."}, cwd=str(tmp),
                                        kernel_name="python3", progress_bar=False, log_output=False)
                finally:
                    (tmp / "input.ipynb").unlink()
                if not (tmp / "result.json").exists():
                    raise RuntimeError("the notebook finished without writing result.json")
        except Exception as e:  # recorded as error.json; the sweep goes on (unless the disk is full)
            error = {"message": f"{type(e).__name__}: {str(e).strip().splitlines()[-1] if str(e).strip() else ''}",
                     "traceback": traceback.format_exc()}
            full = no_space(e)
        for p in tmp.rglob("*"):
            if p.is_file():
                files[str(p.relative_to(tmp))] = p.read_bytes()
    return {"name": run["name"], "ok": error is None, "error": error, "no_space": full,
            "seconds": time.perf_counter() - t0, "files": files}


def commit(out: Path, run: dict, outcome: dict) -> Path:
    """Write a run's files (each fsynced) into a scratch folder under `out`, then rename it into
    place: a folder under a run's name is always complete. An earlier failed attempt is swapped
    out rather than deleted first, so there is no moment with neither; on any error (a full disk)
    the scratch folder is removed and the old state stays."""
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{run['name']}-", dir=out))
    try:
        for rel, data in outcome["files"].items():
            if outcome["ok"] or rel != "result.json":  # a failed run's partial result is not a result
                atomic_write(tmp / rel, data)
        write_json(tmp / "run.json", {"name": run["name"], "params": run["params"], "seconds": outcome["seconds"]})
        if not outcome["ok"]:
            write_json(tmp / "error.json", outcome["error"])
        tmp.chmod(0o755)
        final = out / run["name"]
        if final.exists():  # an earlier failed attempt; a finished run is never re-run
            old = final.rename(tmp.with_name(tmp.name + "-old"))  # a .tmp-* name: cleaned if we die here
            tmp.rename(final)
            shutil.rmtree(old)
        else:
            tmp.rename(final)
        fsync_dir(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def run_state(out: Path, run: dict, engine: bool) -> str:
    """"finished" only if the run's files parse and belong to it (an engine result must also hold
    its config and metrics); "todo" if it never finished (absent or failed: run it); otherwise
    "damaged (why)". Existence alone is not enough: a truncated result.json is not a result."""
    d = out / run["name"]
    if not (d / "result.json").exists():
        return "todo"
    try:
        meta = read_json(d / "run.json")
        if meta.get("name") != run["name"]:
            raise DamagedFile(d / "run.json", f"names run {short(meta.get('name'))}")
        Result.load(d / "result.json") if engine else read_json(d / "result.json")
    except DamagedFile as e:
        return f"damaged ({e})"
    return "finished"


def set_aside(out: Path, name: str) -> Path:
    """Move a damaged run's folder into `out/.damaged/` (kept for a look, out of the summary)."""
    dest = out / ".damaged" / f"{name}.{time.strftime('%Y%m%d-%H%M%S')}.{time.time_ns() % 10**9}"
    dest.parent.mkdir(exist_ok=True)
    (out / name).rename(dest)
    return dest


@contextlib.contextmanager
def locked(out: Path):
    """Hold `out/.lock` exclusively (flock) for the whole sweep, with the holder written inside.
    Two sweeps on one folder would each run every run and replace each other's results; the
    second now refuses at once, naming the first. The kernel drops the lock when its process
    dies, even by SIGKILL, so a lock file left behind never blocks anyone."""
    f = open(out / LOCK, "a+")
    try:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip()[:200] or "holder unknown"
            raise SweepLocked(f"out: {out} is in use by another sweep ({holder}); wait for it to "
                              "finish or give another --out") from None
        f.truncate(0)
        f.write(f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        f.flush()
        yield
    finally:
        f.close()


# ----- executors -----
def _local(todo, notebook_json, workers):
    if workers <= 1:
        for r in todo:
            yield r, execute(r, notebook_json)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"))
    try:
        futures = {pool.submit(execute, r, notebook_json): r for r in todo}
        for f in as_completed(futures):
            yield futures[f], f.result()
    finally:  # a sweep that stops early (disk full) must not wait for the queued runs
        pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _loopback_only():
    """Make a local Ray listen on 127.0.0.1 only. Its GCS, raylet and workers bind 0.0.0.0 unless
    the node address is exactly 127.0.0.1 (gcs_server.cc; binding the node address instead,
    ray-project/ray#59852, was reverted in #60003), and `ray.init` replaces 127.0.0.1 by the
    machine's LAN address unless its multi-node switch is off (`services.get_node_ip_address`).
    So the switch is off while this process starts Ray; the processes it starts get the address."""
    from ray._private import ray_constants

    old = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = old


def _start_ray(ray, address, cpus):
    """Join the cluster at `address` (only when given), else start a private local Ray on
    127.0.0.1 without a dashboard: a sweep never joins a cluster it was not told about (no
    RAY_ADDRESS, no `ray start` leftovers) and never opens a port to the network."""
    if address:
        kw = dict(address=address)
    else:
        kw = dict(address="local", num_cpus=cpus, _node_ip_address="127.0.0.1")
    for attempt in range(1 if address else 2):  # Ray's raylet gives its agents a fixed 15 s to
        try:                                     # start (ray-project/ray#65983); busy machines
            with contextlib.nullcontext() if address else _loopback_only():  # miss it: retry once
                ray.init(include_dashboard=False, log_to_driver=False, **kw)
            break
        except Exception as e:
            ray.shutdown()
            if attempt == (0 if address else 1):
                raise RayStartError(f"Ray did not start ({type(e).__name__}: {e})") from e
    if not address and ray.util.get_node_ip_address() != "127.0.0.1":
        ray.shutdown()
        raise RayStartError("this Ray would listen beyond 127.0.0.1; refused (start one yourself and "
                            "pass --address to use it)")


def _ray(todo, notebook_json, workers, num_cpus, num_gpus, address):
    try:
        import ray
    except ImportError:
        raise ConfigError("executor", "ray is not installed; pip install 'dssl-lite[ray]'") from None
    started = not ray.is_initialized()
    if started:
        _start_ray(ray, address, max(1, int(round(num_cpus * max(workers, 1)))))
    try:
        task = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus, max_retries=0)(execute)
        nb_ref = ray.put(notebook_json)
        limit = workers if workers > 1 else len(todo)  # workers caps tasks in flight
        pending, queue = {}, list(todo)
        while queue or pending:
            while queue and len(pending) < limit:
                r = queue.pop(0)
                pending[task.remote(r, nb_ref)] = r
            done, _ = ray.wait(list(pending), num_returns=1)
            r = pending.pop(done[0])
            try:
                outcome = ray.get(done[0])
            except Exception as e:  # the task itself died (worker lost, out of memory)
                outcome = {"name": r["name"], "ok": False, "seconds": 0.0, "files": {},
                           "error": {"message": f"ray task failed: {type(e).__name__}: {e}"}}
            yield r, outcome
    finally:
        if started:
            ray.shutdown()


# ----- the sweep -----
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

    from .report import sweep_summary

    for stale in out.glob(".tmp-*"):  # scratch of a killed sweep: never a finished run
        shutil.rmtree(stale, ignore_errors=True)
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
    runs = (_local(todo, nb_json, workers) if executor == "local"
            else _ray(todo, nb_json, workers, num_cpus, num_gpus, address))
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
