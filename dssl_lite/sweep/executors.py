"""Where a sweep's runs execute: in this process, in worker processes, or as Ray tasks.

Every executor maps `execute` over the runs and yields `(run, outcome)` as each finishes; an
outcome carries the run's files as bytes, so the caller (possibly on another machine) commits
them. A local Ray is private and bound to 127.0.0.1; only an explicit address joins a cluster.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
import traceback
from pathlib import Path
from typing import Iterator, Optional

from ..errors import ConfigError
from ..storage import no_space
from .store import SweepError

SCRATCH = "dssl-run-"  # a run's scratch folder in the temp directory: dssl-run-<pid>-<random>


def clean_stale_scratch(root: Optional[Path] = None) -> list[Path]:
    """Remove the scratch folders of killed runs from the temp directory: those whose process is
    gone (a SIGKILL skips `TemporaryDirectory`'s clean-up). A live process's folder is kept."""
    removed = []
    for p in Path(root or tempfile.gettempdir()).glob(SCRATCH + "*"):
        pid = p.name[len(SCRATCH):].split("-")[0]
        if p.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


class RayStartError(SweepError):
    """Ray itself failed to start (not a run's failure); nothing was run."""


def execute(run: dict, notebook_json: Optional[str] = None) -> dict:
    """Compute one run in a scratch folder; -> {"name", "ok", "error", "seconds", "files"} with
    the produced files as bytes, so the caller (possibly on another machine) commits them."""
    t0 = time.perf_counter()
    files, error, full = {}, None, False
    with tempfile.TemporaryDirectory(prefix=f"{SCRATCH}{os.getpid()}-") as tmp:
        tmp = Path(tmp)
        try:
            if notebook_json is None:
                from ..experiment import run as run_experiment
                from .grid import engine_config

                run_experiment(engine_config(run["params"])).save(tmp / "result.json")
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


# ----- executors -----
def local(todo, notebook_json, workers) -> Iterator[tuple[dict, dict]]:
    """In this process (`workers` 1) or in `workers` spawned processes."""
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


def ray_tasks(todo, notebook_json, workers, num_cpus, num_gpus, address) -> Iterator[tuple[dict, dict]]:
    """One Ray task per run (`num_cpus`/`num_gpus` each), at most `workers` in flight."""
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


