"""A sweep folder: one sub-folder per run, each complete or absent, and one sweep at a time.

A run is computed elsewhere and committed here by one rename, so a folder under a run's name is
always complete; a run counts as finished only if its files parse and validate (a damaged one is
moved to `DIR/.damaged/`). `locked(out)` holds `DIR/.lock` for the whole sweep with the
`filelock` package (flock on POSIX, msvcrt on Windows), so a second sweep on the same folder
refuses at once, naming the first; the lock goes with its process, even on SIGKILL.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from ..errors import short
from ..results import Result
from ..storage import (
    DamagedFile,
    atomic_write,
    exclusive,
    fsync_dir,
    read_json,
    write_json,
)

LOCK = ".lock"              # in the sweep folder: the lock; `.lock.holder` says who holds it


class SweepError(RuntimeError):
    """The sweep stopped for a reason outside the grid (folder in use, disk full, Ray not
    starting); every finished run is kept. The CLI prints it as one line and exits 1."""


class SweepLocked(SweepError):
    """Another sweep holds the folder."""


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


def locked(out: Path):
    """Hold `out/.lock` for the whole sweep (`storage.exclusive`). Two sweeps on one folder would
    each run every run and replace each other's results; the second refuses at once, naming the
    first."""
    return exclusive(out, out / LOCK, "sweep", error=SweepLocked)


def clean_scratch(out: Path) -> None:
    """Remove the scratch of a killed sweep (never a finished run)."""
    for stale in out.glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
