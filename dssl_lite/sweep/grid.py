"""Grids: a grid file's runs, named, counted and validated before anything runs.

Two formats share the same rules (values are lists; the number of runs is counted from the
axes before anything is expanded and capped; two values that are one run are an error):

- a **sweep** grid (`load_grid`): `notebook` (optional), `preset`, fixed `parameters` and the
  `grid` axes; each run gets a folder name from its grid values;
- an **atlas** grid (`expand_groups`): a `preset`, `seeds` and `groups` of field: [values].
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from pathlib import Path
from typing import Any, Optional

from ..config import Config, ConfigError, field_names, from_dict
from ..errors import short
from ..presets import PRESETS
from .gridfile import read_grid
from .notebook import check_values, notebook_parameters

TOP_KEYS = ("notebook", "preset", "parameters", "grid")
ENGINE_EXTRA = ("preset",)  # keys an engine run accepts beside config fields
MAX_RUNS = 10_000           # default cap on one grid's runs (`max_runs=`, `--max-runs` raise it)
ATLAS_KEYS = ("preset", "seeds", "groups", "drift")


def engine_config(params: dict) -> Config:
    """An engine run's parameters (a preset and config fields) as a validated Config."""
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
        check_values(nb_path, allowed, fixed, grid)
    else:
        nb_path = None
        fixed = {**({"preset": spec["preset"]} if "preset" in spec else {}), **fixed}
        for k in [*fixed, *grid]:
            if k not in field_names() and k not in ENGINE_EXTRA:
                raise ConfigError(k, f"unknown field; allowed: {', '.join(ENGINE_EXTRA + field_names())}")

    runs, names, seen = [], set(), {}
    keys = list(grid)
    for combo in itertools.product(*(grid[k] for k in keys)):
        values = dict(zip(keys, combo))
        params = {**fixed, **values}
        name = run_name(values)
        if nb_path is None:
            same = engine_config(params).to_json()  # full validation of values (names the bad field)
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




def expand_groups(spec: dict, max_rows: int = 5000) -> list[Config]:
    """An atlas grid (`preset`, `seeds`, `groups` of field: [values]) -> every config it names
    (non-IID and IID alike), each once, validated before any run."""
    if not isinstance(spec, dict):
        raise ConfigError("grid", f"expected a mapping with keys {', '.join(ATLAS_KEYS)}")
    for k in spec:
        if k not in ATLAS_KEYS:
            raise ConfigError(str(k), f"unknown key; allowed: {', '.join(ATLAS_KEYS)}")
    name = spec.get("preset", "live")
    if not isinstance(name, str) or name not in PRESETS:
        raise ConfigError("preset", f"got {short(name)}; allowed: one of {', '.join(PRESETS)}")
    if not isinstance(spec.get("drift", False), bool):
        raise ConfigError("drift", f"got {short(spec['drift'])}; allowed: true, false")
    seeds = spec.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool)
                                                           for s in seeds):
        raise ConfigError("seeds", f"got {short(seeds)}; allowed: a list of integers")
    groups = spec.get("groups")
    if not isinstance(groups, list) or not groups:
        raise ConfigError("groups", "give a list of groups, each a mapping of field: [values]")
    for g in groups:
        if not isinstance(g, dict) or not all(isinstance(v, list) and v for v in g.values()):
            raise ConfigError("groups", f"each group maps config fields to non-empty lists; got {short(g)}")
    count = len(seeds) * sum(math.prod(len(v) for v in g.values()) for g in groups)
    if count > max_rows:
        raise ConfigError("groups", f"{count:,} rows is more than the cap of {max_rows:,}")
    out, seen = [], set()
    for g in groups:
        for k in g:
            if k not in field_names() or k == "seed":
                raise ConfigError(str(k), f"not a config field an atlas varies; allowed: "
                                  f"{', '.join(f for f in field_names() if f != 'seed')}")
        for combo in itertools.product(*g.values(), seeds):
            cfg = from_dict({**PRESETS[name], **dict(zip([*g, "seed"], combo))})
            if cfg.key() not in seen:
                seen.add(cfg.key())
                out.append(cfg)
    return out
