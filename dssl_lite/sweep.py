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
skips everything finished and repeats nothing. A failed run leaves `error.json` and is retried
on the next start. The whole grid is validated before the first run: engine keys through
`config.from_dict`, notebook keys against the notebook's `parameters` cell (`ConfigError` names
the key; the CLI exits 2). Executors: `local` (in process, or `--workers N` processes) and `ray`
(one task per run; `--num-cpus`/`--num-gpus` per task; `--address` joins a cluster).
"""
from __future__ import annotations

import ast
import itertools
import json
import re
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Optional

import yaml

from .config import FIELD_NAMES, PRESETS, ConfigError, from_dict

TOP_KEYS = ("notebook", "preset", "parameters", "grid")
ENGINE_EXTRA = ("preset",)  # keys an engine run accepts beside config fields


# ----- reading and validating a grid -----
def notebook_parameters(nb_path) -> dict[str, Any]:
    """Names and default values (None when not a literal) of a notebook's `parameters` cell."""
    import nbformat

    nb = nbformat.read(str(nb_path), as_version=4)
    cell = next((c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if cell is None:
        raise ConfigError("notebook", f"{nb_path} has no cell tagged 'parameters'")
    out = {}
    for node in ast.parse(cell.source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        for t in targets:
            if isinstance(t, ast.Name):
                try:
                    out[t.id] = ast.literal_eval(node.value) if node.value is not None else None
                except ValueError:
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
        raise ConfigError(key, f"got {value!r}; allowed: a {type(default).__name__} like the default {default!r}")


def _engine_config(params: dict):
    params = dict(params)
    name = params.pop("preset", "live")
    if name not in PRESETS:
        raise ConfigError("preset", f"got {name!r}; allowed: {', '.join(PRESETS)}")
    return from_dict({**PRESETS[name], **params})


def run_name(values: dict) -> str:
    """A folder name from a run's grid values: `alpha-0.1__seed-0`."""
    def fmt(v):
        v = "-".join(map(fmt, v)) if isinstance(v, (list, tuple)) else ("iid" if v is None else str(v))
        return re.sub(r"[^A-Za-z0-9._-]+", "_", v)
    return "__".join(f"{k}-{fmt(v)}" for k, v in values.items())


def load_grid(path_or_dict, base_dir: Optional[Path] = None) -> dict:
    """Parse and validate a grid -> `{"notebook", "runs": [{"name", "params"}], "axes", ...}`.
    Raises `ConfigError` naming the first bad key before anything runs."""
    if isinstance(path_or_dict, dict):
        spec, base_dir = path_or_dict, Path(base_dir or ".")
    else:
        path = Path(path_or_dict)
        if not path.exists():
            raise ConfigError("grid", f"no such file: {path}")
        try:
            spec = yaml.safe_load(path.read_text())
        except yaml.YAMLError as e:
            raise ConfigError("grid", f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
        base_dir = Path(base_dir or path.parent)
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
    for k, vals in grid.items():
        if not isinstance(vals, list) or not vals:
            raise ConfigError(str(k), f"grid values must be a non-empty list; got {vals!r}")
        if k in fixed:
            raise ConfigError(str(k), "given both in parameters and in grid")

    notebook = spec.get("notebook")
    if notebook is not None:
        nb_path = Path(notebook)  # relative to the working directory, else to the grid file
        if not nb_path.exists() and not nb_path.is_absolute():
            nb_path = base_dir / notebook
        if not nb_path.exists():
            raise ConfigError("notebook", f"no such notebook: {nb_path}")
        if "preset" in spec:
            raise ConfigError("preset", "for notebook runs, set preset under parameters or grid")
        allowed = notebook_parameters(nb_path)
        allowed.pop("output_dir", None)  # the sweep sets it
    else:
        nb_path = None
        fixed = {**({"preset": spec["preset"]} if "preset" in spec else {}), **fixed}

    runs, names = [], set()
    keys = list(grid)
    for combo in itertools.product(*(grid[k] for k in keys)):
        values = dict(zip(keys, combo))
        params = {**fixed, **values}
        for k, v in params.items():
            if nb_path is not None:
                if k not in allowed:
                    raise ConfigError(k, f"not a parameter of {nb_path.name}; allowed: {', '.join(allowed)}")
                _check_type(k, v, allowed[k])
                if k == "preset" and v not in PRESETS:
                    raise ConfigError("preset", f"got {v!r}; allowed: {', '.join(PRESETS)}")
            elif k not in FIELD_NAMES and k not in ENGINE_EXTRA:
                raise ConfigError(k, f"unknown field; allowed: {', '.join(ENGINE_EXTRA + FIELD_NAMES)}")
        if nb_path is None:
            _engine_config(params)  # full validation of values (names the bad field)
        name = run_name(values)
        if name in names:
            raise ConfigError("grid", f"two runs map to the same folder {name!r}; make the values distinct")
        names.add(name)
        runs.append({"name": name, "params": params})
    return {"notebook": str(nb_path) if nb_path else None, "runs": runs, "axes": keys, "spec": spec}


# ----- one run, anywhere (in process, a worker process or a Ray task) -----
def execute(run: dict, notebook_json: Optional[str] = None) -> dict:
    """Compute one run in a scratch folder; -> {"name", "ok", "error", "seconds", "files"} with
    the produced files as bytes, so the caller (possibly on another machine) commits them."""
    t0 = time.perf_counter()
    files, error = {}, None
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
        except Exception as e:  # recorded as error.json; the sweep goes on
            error = {"message": f"{type(e).__name__}: {str(e).strip().splitlines()[-1] if str(e).strip() else ''}",
                     "traceback": traceback.format_exc()}
        for p in tmp.rglob("*"):
            if p.is_file():
                files[str(p.relative_to(tmp))] = p.read_bytes()
    return {"name": run["name"], "ok": error is None, "error": error,
            "seconds": time.perf_counter() - t0, "files": files}


def commit(out: Path, run: dict, outcome: dict) -> Path:
    """Write a run's files into a scratch folder under `out`, then rename it into place."""
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{run['name']}-", dir=out))
    for rel, data in outcome["files"].items():
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp / rel).write_bytes(data)
    (tmp / "run.json").write_text(json.dumps({"name": run["name"], "params": run["params"],
                                              "seconds": outcome["seconds"]}, indent=1, default=str))
    if not outcome["ok"]:
        (tmp / "result.json").unlink(missing_ok=True)
        (tmp / "error.json").write_text(json.dumps(outcome["error"], indent=1))
    final = out / run["name"]
    if final.exists():  # an earlier failed attempt; a finished run is never re-run
        shutil.rmtree(final)
    tmp.chmod(0o755)
    tmp.rename(final)
    return final


def is_finished(out: Path, name: str) -> bool:
    return (out / name / "result.json").exists()


# ----- executors -----
class RayStartError(RuntimeError):
    """Ray itself failed to start (not a run's failure); nothing was run."""



def _local(todo, notebook_json, workers):
    if workers <= 1:
        for r in todo:
            yield r, execute(r, notebook_json)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(execute, r, notebook_json): r for r in todo}
        for f in as_completed(futures):
            yield futures[f], f.result()


def _ray(todo, notebook_json, workers, num_cpus, num_gpus, address):
    try:
        import ray
    except ImportError:
        raise ConfigError("executor", "ray is not installed; pip install 'dssl-lite[ray]'") from None
    started = not ray.is_initialized()
    if started:
        kw = dict(address=address) if address else dict(num_cpus=max(1, int(round(num_cpus * max(workers, 1)))))
        for attempt in range(1 if address else 2):  # Ray's raylet gives its agents a fixed 15 s to
            try:                                     # start (ray-project/ray#65983); busy machines
                ray.init(include_dashboard=False, log_to_driver=False, **kw)  # miss it: retry once
                break
            except Exception as e:
                ray.shutdown()
                if attempt == (0 if address else 1):
                    raise RayStartError(f"Ray did not start ({type(e).__name__}: {e})") from e
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


def sweep(grid, out, executor: str = "local", workers: int = 1, num_cpus: float = 1,
          num_gpus: float = 0, address: Optional[str] = None, progress: bool = True) -> dict:
    """Run every unfinished run of `grid` (a path or a dict) into `out`; -> counts and the
    summary table. Example: `sweep("examples/grid_mim_vs_cl.yaml", "runs/mim_vs_cl")`."""
    from tqdm import tqdm

    if executor not in ("local", "ray"):
        raise ConfigError("executor", f"got {executor!r}; allowed: local, ray")
    g = load_grid(grid)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(".tmp-*"):  # scratch of a killed sweep: never a finished run
        shutil.rmtree(stale, ignore_errors=True)
    (out / "sweep.json").write_text(json.dumps({"notebook": g["notebook"], "axes": g["axes"],
                                                "spec": g["spec"]}, indent=1, default=str))
    todo = [r for r in g["runs"] if not is_finished(out, r["name"])]
    nb_json = Path(g["notebook"]).read_text() if g["notebook"] else None
    runs = (_local(todo, nb_json, workers) if executor == "local"
            else _ray(todo, nb_json, workers, num_cpus, num_gpus, address))
    failed = []
    bar = tqdm(total=len(g["runs"]), initial=len(g["runs"]) - len(todo), desc="sweep", unit="run",
               file=sys.stderr, disable=not progress)
    for r, outcome in runs:
        commit(out, r, outcome)
        if not outcome["ok"]:
            failed.append(r["name"])
            bar.write(f"run {r['name']} failed: {outcome['error']['message']}", file=sys.stderr)
        bar.update(1)
    bar.close()
    from .report import sweep_summary

    table = sweep_summary(out)
    return {"total": len(g["runs"]), "ran": len(todo), "skipped": len(g["runs"]) - len(todo),
            "failed": failed, "table": table}
