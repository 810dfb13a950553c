"""The atlas: measured runs on a grid, shipped with the package, so every slider position that was
measured answers at once (the explorer draws it before anyone presses Run; quick notebooks read it).

An atlas is a CSV of rows of the runs table (`runs.py`: accuracy, IID accuracy, robustness, the
random-encoder floor, wall time, device, `Config.key()`, the package version and a hash of the
engine's source), so `verify` can re-run rows and say whether the engine has changed since. A grid file lists groups of settings; within a group every alpha trains
with its IID baseline (once per seed), side by side:

    preset: live
    seeds: [0, 1, 2, 3, 4]
    drift: false               # true: rows also carry the local-vs-global feature drift (finding 4)
    groups:
      - {objective: [mim, cl], topology: [fl], alpha: [0.01, 0.1, iid]}
      - {objective: [mim, cl], topology: [regular], degree: [4, 8], alpha: [0.01, iid]}

`build` is resumable: rows already in the file (same `Config.key()`) are skipped, and the file is
rewritten atomically after every group.
"""
from __future__ import annotations

import functools
import json
import math
import random
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import pandas as pd

from . import topologies
from .config import VIEWS, Config, from_dict
from .errors import ConfigError
from .results import engine_hash
from .runs import CsvStore, get_or_run, read_csv
from .sweep.grid import expand_groups
from .sweep.gridfile import read_grid as read_yaml

HERE = Path(__file__).resolve().parent
# the measured atlases, <preset>.csv: a wheel's copy, else the source checkout's data/atlas/
SHIPPED = next((d for d in (HERE / "_resources" / "atlas", HERE.parent / "data" / "atlas") if d.is_dir()),
               HERE.parent / "data" / "atlas")
TOLERANCE = 1e-6  # `verify`: a re-run row must match its atlas row this closely


# ----- grids -----
def expand(spec: dict, max_rows: int = 5000) -> list[Config]:
    """An atlas grid -> every config it names (`sweep.grid.expand_groups`, shared with sweeps)."""
    return expand_groups(spec, max_rows)


def read(path) -> pd.DataFrame:
    return read_csv(path)


def machine() -> dict:
    """What an atlas's numbers depend on besides the engine's source: the CPU model (its
    instruction set decides the last bits of every float32 sum) and torch's version."""
    import platform

    import torch

    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or platform.machine()
    return {"cpu": cpu, "torch": torch.__version__}


def machine_file(path) -> Path:
    """`live.csv` -> `live.machine.json`: the machines its rows were measured on."""
    return Path(path).with_suffix(".machine.json")


def built_on(path) -> list:
    """The machines (`machine()`) an atlas's rows were measured on; [] when not recorded."""
    from .storage import DamagedFile, read_json

    f = machine_file(path)
    if not f.exists():
        return []
    machines = read_json(f).get("machines")
    if not isinstance(machines, list):
        raise DamagedFile(f, "no list of machines")
    return machines


def build(spec: dict, out, preset_name: Optional[str] = None,
          on_group: Optional[Callable[[int, int, float], None]] = None,
          on_error: Optional[Callable[[int, int, Exception], None]] = None) -> pd.DataFrame:
    """Train every configuration of `spec` not yet in `out` (a CSV) and add its rows
    (`runs.get_or_run` over a `CsvStore`): runs sharing an IID baseline train together, and the
    file is rewritten after every group, so an interrupted build loses one group at most. One
    build at a time holds `out` (a second is refused, naming the first: each would rewrite the
    file from its own copy). A damaged `out` is refused before anything is written. The machine
    is recorded beside it (`machine_file`). A group whose workers die beyond repair goes to
    `on_error` and the build moves on."""
    from .storage import atomic_write, exclusive

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(out, out.with_name(f".{out.name}.lock"), "atlas build"):
        store = CsvStore(out)  # reads and checks the file first: a damaged one raises DamagedFile
        machines = built_on(out)
        if machine() not in machines:
            atomic_write(machine_file(out), json.dumps({"machines": machines + [machine()]}, indent=1))
        get_or_run(expand(spec), store, preset_name or spec.get("preset", "live"),
                   drift=bool(spec.get("drift")), on_group=on_group, on_error=on_error)
        return store.table


def difference(now, stored) -> float:
    """|now - stored|, infinite when either is missing or NaN: NaN is never identical."""
    try:
        d = abs(float(now) - float(stored))
    except (TypeError, ValueError):
        return math.inf
    return d if math.isfinite(d) else math.inf


# a stored row's numbers as the metrics `experiment.recall` reads for a reference run
REFERENCE_METRICS = {"accuracy": "accuracy", "accuracy_average": "accuracy_average",
                     "accuracy_local_mean": "accuracy_local_mean", "global_knn": "global_knn",
                     "global_knn_all": "accuracy_all", "heterogeneity": "heterogeneity",
                     "spectral_gap": "spectral_gap", "average_degree": "average_degree"}


def lend_baselines(cfgs) -> int:
    """Let the IID references of `cfgs` come from the shipped atlases instead of training them,
    where a row for exactly that run (its key) was built on this CPU model with this torch: there
    the engine reproduces it to the last digit (tests/test_atlas_fresh.py), so the number is the
    one training would give, and a Run takes half the time. -> how many were lent (0 on another
    machine). The explorer and the demo call it; `atlas verify` never does."""
    from . import experiment

    table = everything()
    if not len(table):
        return 0
    here = machine()
    mine = {f for f in set(table["source"]) if here in built_on(SHIPPED / f)}
    rows = table[table["source"].isin(mine)].set_index("key")
    lent = 0
    for c in {b.train_key(): b for cfg in cfgs for b in experiment.baselines(cfg)}.values():
        if c.train_key() in experiment.MEMORY or c.train_key() not in rows.index:
            continue
        r = rows.loc[c.train_key()]
        metrics = {m: float(r[col]) for m, col in REFERENCE_METRICS.items() if col in r and r[col] == r[col]}
        experiment.remember(c, metrics, [], float(r["seconds"]))
        lent += 1
    return lent


def verify(path, rows: int = 3, seed: int = 0) -> dict:
    """Re-run `rows` random rows of an atlas (each with its IID baseline, retrained) and compare
    every number; -> {"rows", "max_difference", "ok", "same_engine", ...}. `ok` only when every
    difference is within TOLERANCE: on the same engine and CPU the numbers are identical."""
    from .experiment import forget, run

    table = read(path)
    if not len(table):
        raise ConfigError("atlas", f"{path} has no rows")
    pick = random.Random(seed).sample(range(len(table)), min(rows, len(table)))
    checked, worst = [], 0.0
    for i in pick:
        r = table.iloc[i]
        cfg = from_dict(json.loads(r["config"]))
        forget()
        res = run(cfg)
        diff = max(difference(res.metrics[k], r[k]) for k in ("accuracy", "iid_accuracy", "robustness"))
        worst = max(worst, diff)
        checked.append({"row": int(i), "key": r["key"], "accuracy": res.accuracy,
                        "atlas_accuracy": float(r["accuracy"]), "robustness": res.robustness,
                        "atlas_robustness": float(r["robustness"]), "difference": diff})
    engines = sorted(set(table["engine"].astype(str)))
    machines = built_on(path)
    return {"rows": checked, "max_difference": worst, "ok": worst <= TOLERANCE, "atlas_engine": engines,
            "engine": engine_hash(), "same_engine": engines == [engine_hash()],
            "built_on": machines, "machine": machine(), "same_machine": machine() in machines}


def describe(paths) -> str:
    """A markdown table of atlas files: rows, seeds, what they hold and where they were built."""
    lines = ["| file | preset | rows | seeds | objectives | graphs | alpha | built on |", "|" + "---|" * 8]
    for p in paths:
        t = read(p)
        if not len(t):
            continue
        alphas = sorted(set(t["alpha"].dropna()))
        graphs = sorted(set(topologies.label(a, int(b)) for a, b in zip(t["topology"], t["degree"])))
        where = "; ".join(f"{m['cpu']}, torch {m['torch']}" for m in built_on(p)) or "not recorded"
        seeds = sorted(set(int(s) for s in t["seed"]))
        lines.append(f"| `{Path(p).name}` | {', '.join(sorted(set(t['preset'].astype(str))))} | {len(t)} | "
                     f"{seeds[0]}-{seeds[-1]} | {', '.join(sorted(set(t['objective'])))} | {', '.join(graphs)} | "
                     f"{', '.join(f'{a:g}' for a in alphas)}, IID | {where} |")
    return "\n".join(lines)


# ----- reading it for the explorer and the notebooks -----
@functools.lru_cache(maxsize=8)
def shipped(preset_name: str) -> pd.DataFrame:
    """The atlas shipped for a preset (empty when none was measured), with match keys."""
    return with_keys(read(SHIPPED / f"{preset_name}.csv"))


@functools.lru_cache(maxsize=1)
def everything() -> pd.DataFrame:
    """Every shipped atlas as one table, each run once (by its key), with match keys and the file
    it came from (`source`): a finding finds its rows by their settings, wherever they were built."""
    parts = [shipped(p.stem).assign(source=p.name) for p in sorted(SHIPPED.glob("*.csv"))]
    parts = [p for p in parts if len(p)]
    if not parts:
        return with_keys(read(SHIPPED / "none.csv"))
    return pd.concat(parts, ignore_index=True).drop_duplicates("key").reset_index(drop=True)


def setting_key(config, drop: tuple) -> str:
    """A config's identity (`Config.identity`, defaults dropped, so a field added since a row was
    measured does not un-match it) without its execution plan and the fields in `drop`: rows
    with equal keys differ only there."""
    cfg = config if isinstance(config, Config) else from_dict(config)
    ident = {k: v for k, v in cfg.identity().items() if k not in drop and k != "plan" and k not in VIEWS}
    return json.dumps(ident, sort_keys=True)


ALONG = {"alpha": ("alpha", "seed"), "degree": ("topology", "degree", "seed", "mixing", "gossip_steps")}
GRAPH_FIELDS = ("mixing", "gossip_steps")  # read by DecL graphs only: matched separately on the degree axis


def graph_fields(cfg: Config) -> str:
    """What a DecL graph's rows must share with the query beyond the curve key ("" for FL, which
    reads none of it): so FL and the graphs lie on one degree curve whatever FL's unused values."""
    return "" if cfg.is_federated else json.dumps({k: getattr(cfg, k) for k in GRAPH_FIELDS})


def with_keys(table: pd.DataFrame) -> pd.DataFrame:
    """Add, per row, the setting without the x-axis field(s) and the seed (rows with equal keys
    lie on one curve) and without the seed alone (`setting`: what a finding's arm matches)."""
    table = table.copy()
    configs = [from_dict(json.loads(c)) for c in table["config"]] if len(table) else []
    for x, drop in ALONG.items():
        table[f"key_{x}"] = [setting_key(c, drop) for c in configs]
    table["graph_fields"] = [graph_fields(c) for c in configs]
    table["setting"] = [c.replace(seed=0).train_key() for c in configs]  # findings.label_rows matches it
    return table


def curve(table: pd.DataFrame, cfg: Config, x: str = "alpha") -> pd.DataFrame:
    """The measured curve through `cfg`'s setting along `x`: robustness (against `cfg`'s
    `reference`; mean, sd and n over seeds), accuracies and seconds, per alpha (IID at inf) or per
    graph (every graph, FL included, at `cfg`'s alpha, by average degree, with its `label` and the
    megabytes it sends per round, `mb_per_round`).
    Every other field must equal `cfg`'s. Empty when the atlas lacks it."""
    empty = pd.DataFrame(columns=["x", "label", "family", "robustness_mean", "robustness_sd", "n"])
    if not len(table):
        return empty
    t = table[table[f"key_{x}"] == setting_key(cfg, ALONG[x])]
    col = {"fl-iid": "robustness_fl_iid", "same-graph": "robustness_same_graph"}[cfg.reference]
    t = t.assign(r=t[col] if col in t else t["robustness"])
    if x == "degree":
        want = json.dumps({k: getattr(cfg, k) for k in GRAPH_FIELDS})
        t = t[(t["graph_fields"] == "") | (t["graph_fields"] == want)]
        t = t[t["alpha"].isna()] if cfg.alpha is None else t[np.isclose(t["alpha"], cfg.alpha)]
        t = t.assign(label=[topologies.label(a, b) for a, b in zip(t["topology"], t["degree"])],
                     family=np.where(t["topology"] == "fl", "FL", "DecL"))
        by = ["label", "family"]
    else:
        t = t.assign(x=t["alpha"].fillna(np.inf), label="", family="FL" if cfg.is_federated else "DecL")
        by = ["x", "label", "family"]
    if not len(t):
        return empty
    out = t.groupby(by).agg(
        robustness_mean=("r", "mean"), robustness_sd=("r", "std"), accuracy_mean=("accuracy", "mean"),
        iid_accuracy_mean=("iid_accuracy", "mean"), floor=("floor", "mean"), seconds=("seconds", "mean"),
        n=("r", "size"), **({"x": ("average_degree", "mean"), "mb_per_round": ("bytes_per_round", "mean")}
                             if x == "degree" else {})).reset_index()
    if x == "degree":
        out["mb_per_round"] /= 1e6
    return out.sort_values("x").reset_index(drop=True).fillna({"robustness_sd": 0.0})


def read_grid(path) -> dict:
    """A grid file through the sweep's safe YAML reader (duplicate keys and alias bombs refused)."""
    return read_yaml(path)
