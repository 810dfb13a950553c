"""What the teaching notebooks share: grids of runs over seeds, mean/spread tables, conclusions
computed from this run's numbers, and the `result.json` + `summary.csv` a sweep collects.

Notebooks stay thin: cell 1 holds parameters, cell 2 builds configs, the rest calls these.

Example:
    >>> cfgs = [preset("tiny", objective=o, alpha=a) for o in ("mim", "cl") for a in (0.1, 1.0)]
    >>> runs = run_grid(cfgs, seeds=[0, 1])
    >>> table = summarize(runs, by=["objective", "alpha"])
    >>> print(compare(table, "objective", "mim", "cl", over="alpha")["text"])
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np
import pandas as pd

from .config import Config
from .experiment import run
from .stats import trend  # noqa: F401  (re-exported for the notebooks)
from .storage import atomic_write

# What quick mode (CI, nbmake, `quick=True`) changes on top of a notebook's preset: a model and
# schedule small enough that every notebook finishes in well under a minute on 2 CPU cores.
QUICK = dict(rounds=2, local_steps=3, clients=6, width=32, depth=1, heads=2, batch_size=16)


def is_quick(quick: bool = False) -> bool:
    """Quick mode is on when asked for or when the CI environment variable is set (nbmake passes
    no parameters, so CI is how a test run asks for the small version)."""
    return bool(quick) or os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def seeds_for(seeds: Sequence[int], quick: bool) -> list[int]:
    """All seeds at full size; the first one in quick mode."""
    seeds = list(seeds)
    return seeds[:1] if quick else seeds


def run_grid(configs: Iterable[Config], seeds: Sequence[int], keep_simulators: bool = False,
             progress: bool = True):
    """Run every config at every seed -> DataFrame, one row per run (`Result.summary_row()`).

    With `keep_simulators`, also returns `{(i, seed): Simulator}` keyed by config index."""
    from tqdm.auto import tqdm

    jobs = [(i, c.replace(seed=int(s))) for i, c in enumerate(configs) for s in seeds]
    rows, sims = [], {}
    for i, cfg in tqdm(jobs, desc="runs", file=sys.stderr, disable=not progress):
        out = run(cfg, keep_simulator=keep_simulators)
        res, sim = out if keep_simulators else (out, None)
        rows.append({"config_index": i, **res.summary_row()})
        if keep_simulators:
            sims[(i, cfg.seed)] = sim
    df = pd.DataFrame(rows)
    if "alpha" in df:  # None (IID) sorts and plots badly; keep it as a label
        df["alpha"] = df["alpha"].astype(object).where(df["alpha"].notna(), "iid")
    return (df, sims) if keep_simulators else df


def summarize(runs: pd.DataFrame, by: Sequence[str],
              values: Sequence[str] = ("robustness", "accuracy", "iid_accuracy")) -> pd.DataFrame:
    """Mean, standard deviation (0 with one seed) and count over seeds for every group."""
    values = [v for v in values if v in runs]
    g = runs.groupby(list(by), sort=True, dropna=False)[values]
    out = g.agg(["mean", "std"])
    out.columns = [f"{v}_{stat}" for v, stat in out.columns]
    out = out.fillna({c: 0.0 for c in out.columns if c.endswith("_std")})
    out["seeds"] = g.size()
    return out.reset_index()


def compare(table: pd.DataFrame, column: str, a: str, b: str, over: str,
            value: str = "robustness") -> dict:
    """Where does `a` beat `b` on mean `value`, at each level of `over`? Returns counts, the
    per-level differences, how many exceed the seed spread, and one sentence saying so."""
    pa = table[table[column] == a].set_index(over)
    pb = table[table[column] == b].set_index(over)
    levels = [x for x in pa.index if x in pb.index]
    diff = {x: float(pa.loc[x, f"{value}_mean"] - pb.loc[x, f"{value}_mean"]) for x in levels}
    spread = {x: float(np.hypot(pa.loc[x, f"{value}_std"], pb.loc[x, f"{value}_std"])) for x in levels}
    wins = [x for x in levels if diff[x] > 0]
    clear = [x for x in wins if diff[x] > spread[x] > 0]
    seeds = int(min(pa["seeds"].min(), pb["seeds"].min())) if levels else 0
    text = (f"In this run {a}'s mean {value} exceeded {b}'s at {len(wins)} of {len(levels)} {over} "
            f"values" + (f" ({', '.join(map(str, wins))})" if wins else "") + ".")
    if seeds < 2:
        text += " With one seed there is no spread to judge these differences against."
    else:
        text += f" At {len(clear)} of them the gap was larger than the spread over {seeds} seeds."
    return {"wins": len(wins), "levels": len(levels), "clear": len(clear), "diff": diff,
            "spread": spread, "seeds": seeds, "text": text}


def verdict(holds: bool, claim: str) -> str:
    """One sentence: whether this run's numbers show `claim`, never a claim on the paper's word."""
    return (f"These numbers agree with the claim that {claim}." if holds else
            f"These numbers do not show that {claim}; at this scale the effect is absent or "
            f"smaller than the noise here (longer training, e.g. preset teach-long, and more "
            f"seeds would test it further).")


def judge(cmp: dict, claim: str) -> str:
    """The verdict on a `compare` result: agreement needs `a` ahead at most levels AND, with 2+
    seeds, by more than the seed spread at most levels; a majority of wins without that is only
    'pointing the same way'."""
    if not cmp["levels"]:
        return f"Nothing here tests the claim that {claim}."
    if cmp["wins"] <= cmp["levels"] / 2:
        return verdict(False, claim)
    if cmp["seeds"] >= 2 and cmp["clear"] > cmp["levels"] / 2:
        return verdict(True, claim)
    why = "there is one seed" if cmp["seeds"] < 2 else "most gaps are within the seed spread"
    return (f"These numbers point the same way as the claim that {claim}, but {why}, so this run "
            f"alone does not establish it.")


def judge_trend(rho: float, rise: float, spread: float, seeds: int, claim: str) -> str:
    """The verdict on a rising trend: a positive rank correlation is only 'pointing the same way'
    unless the rise from the lowest to the highest level also exceeds the seed spread there."""
    if not rho > 0:
        return verdict(False, claim)
    if seeds >= 2 and rise > spread:
        return verdict(True, claim)
    why = ("there is one seed" if seeds < 2 else
           f"the rise from the lowest to the highest level ({rise:.4f}) is within the seed spread ({spread:.4f})")
    return (f"These numbers point the same way as the claim that {claim}, but {why}, so this run "
            f"alone does not establish it.")


FLOOR_MARGIN = 0.02  # accuracy within this of the untrained encoder's counts as "at the floor"


def floor_note(cfg: Config, seeds: Sequence[int], table: pd.DataFrame) -> tuple[float, str]:
    """The random-encoder floor (untrained encoder, same probe and data, mean over `seeds`) and one
    sentence comparing the lowest mean accuracy in `table` with it. A robustness ratio of two
    accuracies at the floor measures nothing the objective learned, so the text says so."""
    from .findings import floor_accuracy  # memoised per seed

    floor = float(np.mean([floor_accuracy(cfg.replace(seed=s))[f"global_{cfg.probe}"] for s in seeds]))
    low = float(table["accuracy_mean"].min())
    text = (f" The untrained encoder's {cfg.probe} accuracy (the floor) is {floor:.3f}; the lowest "
            f"mean accuracy here is {low:.3f}")
    if low - floor < FLOOR_MARGIN:
        return floor, text + (", within 0.02 of the floor or below it: those runs learned little that a "
                              "random encoder lacks, so their robustness says little about the objective "
                              "(train longer, e.g. preset teach-long).")
    return floor, text + f", {low - floor:.3f} above it."


def plot_lines(table: pd.DataFrame, x: str, hue: str, value: str = "robustness", ax=None,
               logx: bool = False):
    """Mean +- std over seeds of `value` against `x`, one line per `hue` level -> axes."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(5, 3.5))[1]
    for level, g in table.groupby(hue, sort=True):
        g = g.sort_values(x)
        ax.errorbar(g[x], g[f"{value}_mean"], yerr=g[f"{value}_std"], marker="o", capsize=3, label=str(level))
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(f"{value} (mean +- std)")
    ax.legend(title=hue)
    return ax


def flat_metrics(table: pd.DataFrame, keys: Sequence[str], value: str = "robustness") -> dict:
    """`{"robustness_mean[objective=mim,alpha=0.1]": ...}`: a table's means (and stds) as flat
    scalars, so a sweep's summary can put every notebook's headline numbers in one row."""
    out = {}
    for r in table.to_dict("records"):
        tag = ",".join(f"{k}={r[k]}" for k in keys)
        out[f"{value}_mean[{tag}]"] = r[f"{value}_mean"]
        out[f"{value}_std[{tag}]"] = r[f"{value}_std"]
    return out


def _plain(v):
    if isinstance(v, (np.floating, np.integer, np.bool_)):
        return v.item()
    if isinstance(v, float) and v != v:
        return None
    return v


def write_result(output_dir, notebook: str, parameters: dict, metrics: dict, table: pd.DataFrame,
                 conclusion: str, runs: Optional[pd.DataFrame] = None) -> Path:
    """Write `result.json` (parameters, headline metrics, conclusion, table) and `summary.csv`
    (the table) into `output_dir`, atomically, for `dssl-lite sweep` to collect."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    records = [{k: _plain(v) for k, v in r.items()} for r in table.to_dict("records")]
    payload = {"notebook": notebook, "parameters": {k: _plain(v) for k, v in parameters.items()},
               "metrics": {k: _plain(v) for k, v in metrics.items()}, "conclusion": conclusion,
               "table": records}
    if runs is not None:
        payload["runs"] = [{k: _plain(v) for k, v in r.items()} for r in runs.to_dict("records")]
    atomic_write(out / "summary.csv", table.to_csv(index=False))
    atomic_write(out / "result.json", json.dumps(payload, indent=1, default=str))
    return out / "result.json"
