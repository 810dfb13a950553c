"""One runs table: every measured run is one row of one schema, wherever it is stored.

A row is a run's identity (`Config.key()`, the config, and the fields that vary most, for
reading by eye) and its numbers (accuracies, robustness, the random-encoder floor, the setting's
descriptors, the feature drift when measured) with its provenance (seconds, device, version,
engine). `get_or_run(configs, store)` returns the rows of `configs` in order, training only the
runs the store lacks (each beside the baselines it needs) and adding them. Two stores hold the
shipped and swept numbers: `CsvStore` (an atlas file) and `FolderStore` (a sweep folder of
`result.json` files); runs trained in this process are remembered by `experiment.MEMORY`.

Example:
    >>> rows = get_or_run([preset("tiny", seed=s) for s in (0, 1)])
    >>> rows[["seed", "accuracy", "robustness", "floor"]]
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import pandas as pd

from .config import Config, from_dict
from .errors import WorkerError, short
from .results import Result, engine_hash
from .storage import DamagedFile, atomic_write

# The fields that vary most between rows, copied out of the config so a table reads by eye.
SETTING = ["preset", "objective", "topology", "degree", "alpha", "mar_weight", "participation", "seed"]
NUMBERS = ["accuracy", "iid_accuracy", "robustness", "drop",
           # both references and both DecL evaluations, whichever the config's headline is
           "robustness_fl_iid", "robustness_same_graph", "fl_iid_accuracy", "same_graph_iid_accuracy",
           "accuracy_average", "accuracy_local_mean",
           # the global (averaged) model judged on every image, by cross-validated kNN
           "accuracy_all", "iid_accuracy_all", "robustness_all", "robustness_all_same_graph",
           "global_knn", "global_linear", "heterogeneity", "spectral_gap", "average_degree", "floor", "cka", "mmd2",
           # what the run's communication cost (`traffic.communication`)
           "bytes_per_round", "bytes_per_client_per_round", "bytes_busiest_per_round", "total_bytes"]
PROVENANCE = ["seconds", "device", "version", "engine"]
COLUMNS = ["key", *SETTING, *NUMBERS, *PROVENANCE, "config"]


def row(result: Result, preset_name: str = "", floor: float = math.nan, drift: Optional[dict] = None) -> dict:
    """A `Result` as one row of the runs table."""
    from . import __version__
    from .traffic import communication

    cfg = from_dict(result.config)
    numbers = {**result.metrics, **(drift or {}), "floor": floor, **communication(cfg)}
    out = {"key": cfg.key(), "preset": preset_name, **{k: getattr(cfg, k) for k in SETTING[1:]}}
    out["alpha"] = math.nan if cfg.alpha is None else cfg.alpha
    out.update({k: numbers.get(k, math.nan) for k in NUMBERS})
    out.update(seconds=result.seconds, device=cfg.plan()["device"], version=__version__,
               engine=engine_hash(), config=cfg.to_json())
    return out


def with_reference(rows: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Rows with `robustness` and `iid_accuracy` against `reference` ("fl-iid": FL's IID accuracy,
    one scale for every graph; "same-graph": an IID run on the row's own graph). Every row records
    both, so this only picks a column."""
    if reference not in ("fl-iid", "same-graph"):
        raise ValueError(f"reference: got {reference!r}; allowed: fl-iid, same-graph")
    tag = reference.replace("-", "_")
    acc = "fl_iid_accuracy" if reference == "fl-iid" else "same_graph_iid_accuracy"
    return rows.assign(robustness=rows[f"robustness_{tag}"], iid_accuracy=rows[acc])


def frame(rows: Sequence[dict]) -> pd.DataFrame:
    """Rows as a DataFrame, schema columns first (extra columns, e.g. an arm label, kept after)."""
    df = pd.DataFrame(list(rows))
    if not len(df):
        return pd.DataFrame(columns=COLUMNS)
    return df[[c for c in COLUMNS if c in df] + [c for c in df if c not in COLUMNS]]


# ----- stores -----
class CsvStore:
    """Rows in one CSV file (an atlas): read once, rewritten atomically on every `add`."""

    def __init__(self, path, writable: bool = True):
        self.path, self.writable = Path(path), writable
        self.table = read_csv(self.path)

    def get(self, keys: Sequence[str]) -> dict[str, dict]:
        have = self.table[self.table["key"].isin(set(keys))] if len(self.table) else self.table
        return {r["key"]: r for r in have.to_dict("records")}

    def add(self, rows: Sequence[dict]) -> None:
        if not self.writable:
            raise PermissionError(f"{self.path} is read-only here")
        new = frame(rows)
        self.table = new if not len(self.table) else pd.concat(
            [self.table[~self.table["key"].isin(set(new["key"]))], new], ignore_index=True)
        atomic_write(self.path, frame(self.table.to_dict("records")).to_csv(index=False))


REQUIRED = ("config", "accuracy", "iid_accuracy", "robustness")  # what every stored row must hold


def read_csv(path) -> pd.DataFrame:
    """An atlas or runs CSV as a frame (empty with the schema's columns when absent). A file that
    does not parse, lacks a required column or holds a config that is not one is `DamagedFile`,
    named with what is wrong: never a traceback, never silently extended."""
    path = Path(path)
    if not path.exists():
        return pd.DataFrame(columns=COLUMNS)
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as e:
        raise DamagedFile(path, f"not a CSV table: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    except OSError as e:
        raise DamagedFile(path, f"cannot read it: {e.strerror or e}") from None
    missing = [c for c in REQUIRED if c not in table]
    if missing:
        raise DamagedFile(path, f"no column {', '.join(missing)}; a runs table has {', '.join(REQUIRED)} and more")
    for col in REQUIRED[1:]:
        bad = np.flatnonzero(~np.isfinite(pd.to_numeric(table[col], errors="coerce").to_numpy(float)))
        if len(bad):  # NaN is never a measurement
            value = table[col].iloc[bad[0]]
            value = value.item() if isinstance(value, np.generic) else value  # nan, not np.float64(nan)
            raise DamagedFile(path, f"row {bad[0] + 1}: {col} is {short(value)}, not a number")
    configs = []
    for i, text in enumerate(table["config"]):
        try:
            configs.append(from_dict(json.loads(text)))
        except (TypeError, ValueError) as e:  # JSONDecodeError and ConfigError are ValueErrors
            raise DamagedFile(path, f"row {i + 1}: its config is not a valid config ({short(str(e))})") from None
    if "key" not in table:  # written before configs had a canonical key
        table["key"] = [c.key() for c in configs]
    if "average_degree" not in table:  # written before rows carried the setting's descriptors
        from .federation import Federation

        table["average_degree"] = [Federation.from_config(c).average_degree for c in configs]
    if "total_bytes" not in table:  # written before rows carried their communication
        from .traffic import communication

        table = table.assign(**pd.DataFrame([communication(c) for c in configs], index=table.index))
    return table


class FolderStore:
    """Rows read from a sweep folder: every `<run>/result.json` that holds an engine `Result`."""

    def __init__(self, folder):
        self.folder = Path(folder)

    def rows(self) -> list[dict]:
        out = []
        for path in sorted(self.folder.glob("*/result.json")):
            try:
                res = Result.load(path)
            except DamagedFile:
                continue  # the sweep's report lists damaged runs; a table has none
            out.append({**row(res, floor=res.metrics.get("floor", math.nan)), "run": path.parent.name})
        return out

    def get(self, keys: Sequence[str]) -> dict[str, dict]:
        want = set(keys)
        return {r["key"]: r for r in self.rows() if r["key"] in want}


# ----- the one way to get numbers -----
def get_or_run(configs: Sequence[Config], store=None, preset_name: str = "", drift: bool = False,
               on_group: Optional[Callable[[int, int, float], None]] = None, stop=None,
               on_error: Optional[Callable[[int, int, Exception], None]] = None) -> pd.DataFrame:
    """The rows of `configs`, in order: read from `store` where it has them, recalled from the
    runs trained in this process, trained otherwise (runs that share a baseline train together,
    see `experiment.run_many`), and added to the store. With `drift`, rows also carry the
    local-vs-global feature drift (finding 4), which needs each run's trained simulator. With
    `on_error`, a group whose worker processes die beyond repair is reported to it and skipped
    (its rows are missing from the result); without it, the error is raised."""
    import time

    from . import experiment
    from .evaluate import floor
    from .features import local_drift

    have = store.get([c.key() for c in configs]) if store is not None else {}
    lacking = lambda c: c.key() not in have or (drift and _nan(have[c.key()].get("cka")))
    groups: dict[str, list[Config]] = {}
    for c in {c.key(): c for c in configs if lacking(c)}.values():
        groups.setdefault(experiment.iid_key(c), []).append(c)
    for i, members in enumerate(groups.values()):
        t0 = time.perf_counter()
        try:
            if drift:  # the drift needs each trained simulator
                new = []
                for c in members:
                    res, sim = experiment.run(c, stop, keep_simulator=True)
                    new.append(row(res, preset_name, floor(c), local_drift(sim, seed=c.seed)))
            else:
                results = experiment.run_many(members, stop, reuse=True)
                new = [row(r, preset_name, floor(c)) for c, r in zip(members, results)]
        except WorkerError as e:  # a worker died beyond repair: this group is lost, not the others
            if on_error is None:
                raise
            on_error(i + 1, len(groups), e)
            continue
        for r in new:
            have[r["key"]] = r
        if store is not None:
            store.add(new)
        if on_group:
            on_group(i + 1, len(groups), time.perf_counter() - t0)
    return frame([have[c.key()] for c in configs if c.key() in have])


def _nan(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))
