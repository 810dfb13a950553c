"""What the teaching notebooks share: grids of runs over seeds, mean/spread tables, conclusions
computed from this run's numbers, and the `result.json` + `summary.csv` a sweep collects.

Notebooks stay thin: after the install cell, one cell holds the parameters, the next resolves
them (`setup`) and builds configs, the rest calls these and draws. What each notebook computes
and concludes is a function here (the last section), so it is tested, linted and reused.

Example:
    >>> cfgs = [preset("tiny", objective=o, alpha=a) for o in ("mim", "cl") for a in (0.1, 1.0)]
    >>> runs = run_grid(cfgs, seeds=[0, 1])
    >>> table = summarize(runs, by=["objective", "alpha"])
    >>> print(conclude_mim_vs_cl(runs, cfgs[0], [0, 1])[0])
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Iterable, NamedTuple, Optional, Sequence

import numpy as np
import pandas as pd

from .config import Config
from .experiment import run
from .runs import with_reference  # noqa: F401  (notebook 04: study.with_reference)
from .stats import trend
from .storage import atomic_write

# What quick mode (CI, nbmake, `quick=True`) changes on top of a notebook's preset: a model and
# schedule small enough that every notebook finishes in well under a minute on 2 CPU cores (eager:
# compiling a new shape would cost more than these few steps).
QUICK = dict(rounds=2, local_steps=3, clients=6, width=32, depth=1, heads=2, batch_size=16, compile=False)


def is_quick(quick: bool = False) -> bool:
    """Quick mode is on when asked for or when the CI environment variable is set (nbmake passes
    no parameters, so CI is how a test run asks for the small version)."""
    return bool(quick) or os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def seeds_for(seeds: Sequence[int], quick: bool) -> list[int]:
    """All seeds at full size; the first one in quick mode."""
    seeds = list(seeds)
    return seeds[:1] if quick else seeds


def run_grid(configs: Iterable[Config], seeds: Sequence[int], progress: bool = True) -> pd.DataFrame:
    """Every config at every seed -> rows of the runs table (`runs.get_or_run`: runs trained
    earlier in this process are not trained again), with `config_index` and alpha "iid" labels."""
    from tqdm.auto import tqdm

    from .runs import get_or_run

    jobs = [(i, c.replace(seed=int(s))) for i, c in enumerate(configs) for s in seeds]
    with tqdm(total=len(jobs), desc="runs", file=sys.stderr, disable=not progress) as bar:
        rows = get_or_run([c for _, c in jobs], on_group=lambda i, n, sec: (setattr(bar, "total", n), bar.update(1)))
    return _for_tables(rows.assign(config_index=[i for i, _ in jobs]))


def _for_tables(rows: pd.DataFrame) -> pd.DataFrame:
    """IID (NaN alpha) as the label "iid", which sorts and plots as a category."""
    rows = rows.copy()
    rows["alpha"] = rows["alpha"].astype(object).where(rows["alpha"].notna(), "iid")
    return rows


def summarize(runs: pd.DataFrame, by: Sequence[str],
              values: Sequence[str] = ("robustness", "accuracy", "iid_accuracy")) -> pd.DataFrame:
    """Mean, spread (1 sd over seeds, `stats.spread`; 0 with one seed) and count per group."""
    values = [v for v in values if v in runs]
    g = runs.groupby(list(by), sort=True, dropna=False)[values]
    out = g.agg(["mean", "std"])
    out.columns = [f"{v}_{stat}" for v, stat in out.columns]
    out = out.fillna({c: 0.0 for c in out.columns if c.endswith("_std")})
    out["seeds"] = g.size()
    return out.reset_index()


def measure(configs: Sequence[Config], seeds: Sequence[int], source: str,
            preset_name: str = "live") -> tuple[pd.DataFrame, str]:
    """The runs a notebook compares -> (rows of the runs table, one per config and seed, and a
    sentence saying where the numbers come from). `source="atlas"` reads the preset's shipped
    atlas (instant: what quick mode and CI show); `"train"` trains them now."""
    if source == "train":
        return run_grid(configs, seeds), f"Numbers trained now, in this notebook ({len(seeds)} seeds)."
    from . import atlas

    table = atlas.everything()
    have = {k: r for k, r in zip(table["key"], table.to_dict("records"))} if len(table) else {}
    jobs = [(i, c.replace(seed=int(s))) for i, c in enumerate(configs) for s in seeds]
    missing = [c for _, c in jobs if c.key() not in have]
    if missing:
        raise ValueError(f"the shipped atlases lack {len(missing)} of these runs (preset {preset_name!r}); "
                         f"run with quick=False to train them, or build them (dssl-lite atlas build)")
    rows = pd.DataFrame([{**have[c.key()], "config_index": i} for i, c in jobs])
    files = ", ".join(sorted(set(rows["source"].astype(str))))
    return _for_tables(rows), (f"Numbers from the shipped atlas ({files}; seeds {sorted(set(rows['seed']))}, "
                               f"measured by `dssl-lite atlas build`): nothing was trained here. Set "
                               f"quick=False to train them now.")


def plain_verdict(holds: bool, claim: str) -> str:
    """For notebooks 01 and 02, whose claims are arithmetic, not noisy: shows or not."""
    return f"Verdict: shows that {claim}." if holds else f"Verdict: does not show that {claim}."


def plot_lines(table: pd.DataFrame, x: str, hue: str, value: str = "robustness", ax=None,
               logx: bool = False):
    """Mean +- std over seeds of `value` against `x`, one line per `hue` level -> axes. An
    objective or a graph is drawn in its registry colour, as in the explorer and the docs."""
    import matplotlib.pyplot as plt

    from .registry import OBJECTIVES, TOPOLOGIES

    registry = {"objective": OBJECTIVES, "topology": TOPOLOGIES}.get(hue)
    ax = ax or plt.subplots(figsize=(5, 3.5))[1]
    for level, g in table.groupby(hue, sort=True):
        g = g.sort_values(x)
        colour = registry.colour(level) if registry is not None and level in registry else None
        ax.errorbar(g[x], g[f"{value}_mean"], yerr=g[f"{value}_std"], marker="o", capsize=3, label=str(level),
                    color=colour)
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


# ----- what each teaching notebook computes; its cells only call these and draw -----
class Setup(NamedTuple):
    """What every notebook's set-up cell resolves: quick mode, the seeds to run and the config
    fields quick mode shrinks (empty at full size)."""

    quick: bool
    seeds: list
    overrides: dict


def setup(quick: bool, seeds: Sequence[int]) -> Setup:
    """`quick, run_seeds, over = study.setup(quick, seeds)`: one line instead of three per notebook."""
    quick = is_quick(quick)
    return Setup(quick, seeds_for(seeds, quick), dict(QUICK) if quick else {})


def partition_stats(labels: np.ndarray, num_classes: int, clients: int, alphas: Sequence[float],
                    seeds: Sequence[int], min_client_size: int) -> pd.DataFrame:
    """Notebook 01: one row per (alpha, seed) Dirichlet split: its heterogeneity, the classes a
    client holds (those making up at least 5% of its images, mean over clients) and the client sizes."""
    from .partition import heterogeneity, label_histogram, partition

    rows = []
    for a in alphas:
        for s in seeds:
            hist = label_histogram(labels, partition(labels, clients, a, s, min_client_size), num_classes)
            share = hist / hist.sum(1, keepdims=True)
            rows.append({"alpha": a, "seed": s, "heterogeneity": heterogeneity(hist),
                         "classes_held": float((share >= 0.05).sum(1).mean()),
                         "smallest_client": int(hist.sum(1).min()), "largest_client": int(hist.sum(1).max())})
    return pd.DataFrame(rows)


def conclude_non_iid(table: pd.DataFrame) -> tuple[str, dict]:
    """Notebook 01's conclusion and headline metrics from its per-alpha table."""
    h = table.set_index("alpha")["heterogeneity_mean"]
    rho = trend(table["alpha"], table["heterogeneity_mean"])
    steps_down = int((np.diff(h.sort_index().values) < 0).sum())
    lo, hi = h.index.min(), h.index.max()
    held = table.set_index("alpha")["classes_held_mean"]
    text = (f"In this run heterogeneity went from {h[lo]:.2f} at alpha={lo} to {h[hi]:.2f} at alpha={hi} "
            f"(it fell at {steps_down} of {len(h) - 1} steps up in alpha; Spearman rho = {rho:.2f}); "
            f"a client held on average {held[lo]:.1f} classes at alpha={lo} and {held[hi]:.1f} at alpha={hi}. "
            + plain_verdict(rho < 0, "smaller alpha gives more heterogeneous clients"))
    metrics = {"spearman_alpha_heterogeneity": rho, **flat_metrics(table, ["alpha"], "heterogeneity"),
               **flat_metrics(table, ["alpha"], "classes_held")}
    return text, metrics


def topology_for_degree(clients: int, degree: int) -> str:
    """The graph a node degree names on `clients` nodes: 2 is the ring, clients-1 the complete
    graph, anything between a random regular graph."""
    return "ring" if degree == 2 else "complete" if degree == clients - 1 else "regular"


def degree_graph(clients: int, degree: int, seed: int) -> tuple[str, np.ndarray]:
    """`(topology name, adjacency)` of a seeded graph with this node degree."""
    from .topologies import adjacency

    topo = topology_for_degree(clients, degree)
    if topo == "regular" and (clients * degree) % 2:
        raise ValueError(f"a {degree}-regular graph on {clients} nodes needs K*d even")
    return topo, adjacency(topo, clients, degree, np.random.default_rng(seed + 1))


def gossip_runs(clients: int, degrees: Sequence[int], seeds: Sequence[int], steps: int,
                dim: int) -> tuple[pd.DataFrame, dict]:
    """Notebook 02: every client starts with a random vector `[dim]` and gossips `x <- W x` with
    Metropolis weights for `steps` steps. Gossip keeps the mean fixed, so the disagreement
    `||x_t - mean|| / ||x_0 - mean||` measures how far from consensus the clients still are.
    -> one row per (degree, seed) and `{(degree, seed): disagreement per step}`."""
    from .topologies import average_degree, metropolis_weights, spectral_gap

    rows, curves = [], {}
    for d in degrees:
        for s in seeds:
            topo, adj = degree_graph(clients, d, s)
            w = metropolis_weights(adj)
            x = np.random.default_rng(s).normal(size=(clients, dim))
            mean = x.mean(0, keepdims=True)
            e0 = np.linalg.norm(x - mean)
            err = [1.0]
            for _ in range(steps):
                x = w @ x
                err.append(float(np.linalg.norm(x - mean) / e0))
            err = np.array(err)
            hit = np.flatnonzero(err <= 0.01)
            curves[(d, s)] = err
            rows.append({"degree": d, "topology": topo, "seed": s, "average_degree": average_degree(adj),
                         "spectral_gap": spectral_gap(w),
                         "steps_to_1pct": float(hit[0]) if len(hit) else float("nan"),
                         "final_error": float(err[-1])})
    return pd.DataFrame(rows), curves


def conclude_mixing(table: pd.DataFrame) -> tuple[str, dict]:
    """Notebook 02's conclusion and headline metrics from its per-degree table."""
    first, last = table.iloc[0], table.iloc[-1]
    rho_gap = trend(table["average_degree_mean"], table["spectral_gap_mean"])
    steps = table["steps_to_1pct_mean"]

    def fmt(v):
        return "not within the simulated steps" if np.isnan(v) else f"{v:.0f} step" + ("s" if v != 1 else "")

    text = (f"In this run the spectral gap went from {first.spectral_gap_mean:.3f} at degree {first.degree} "
            f"to {last.spectral_gap_mean:.3f} at degree {last.degree} (Spearman rho with degree = {rho_gap:.2f}); "
            f"reaching 1% disagreement took {fmt(first.steps_to_1pct_mean)} on the sparsest graph and "
            f"{fmt(last.steps_to_1pct_mean)} on the densest. "
            + plain_verdict(rho_gap > 0 and (np.isnan(steps.iloc[0]) or steps.iloc[0] >= steps.iloc[-1]),
                      "more connections mix faster (larger spectral gap, fewer gossip steps to consensus)"))
    metrics = {"spearman_degree_gap": rho_gap, **flat_metrics(table, ["degree"], "spectral_gap"),
               **flat_metrics(table, ["degree"], "steps_to_1pct")}
    return text, metrics


def feature_space_runs(configs: dict[str, Config], seeds: Sequence[int], n_points: int):
    """Notebook 06: train every objective's config at every seed and measure its local models'
    feature spaces against the global one -> (one metrics row per model and seed, the first seed's
    `FeatureSpaces` for the pictures)."""
    from . import features

    frames, first = [], None
    for s in seeds:
        sims = {o: run(cfg.replace(seed=s), keep_simulator=True)[1] for o, cfg in configs.items()}
        fs = features.feature_spaces(sims, n_points=n_points, seed=s)
        first = first or fs
        frames.append(fs.to_frame().assign(seed=s))
    return pd.concat(frames, ignore_index=True), first
